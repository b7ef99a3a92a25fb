//! The car-key share across two processes, as two people at two terminals, and the demo.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Relay, describe, run, stdout, tigress};

const OFFER: &str = r#"{"vehicleId": "vehicle-7f3a", "entitlements": ["unlock", "drive"],
    "validFrom": "2030-06-01T08:00:00Z", "validUntil": "2030-06-03T20:00:00Z"}"#;

#[test]
fn the_owner_and_the_friend_complete_a_car_key_share_from_two_terminals() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let offer = dir.path().join("offer.json");
    std::fs::write(&offer, OFFER).unwrap();
    let owner_key = dir.path().join("owner.seed");
    let mut owner = tigress()
        .args([
            "share",
            "--relay",
            relay.base(),
            "--format",
            "digitalwallet.carkey.ccc",
            "--content",
        ])
        .arg(&offer)
        .args([
            "--title",
            "Car key",
            "--description",
            "Weekend loan",
            "--image-url",
            "https://img.example/car.png",
            "--stateful",
            "--owner-key",
        ])
        .arg(&owner_key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(owner.stdout.take().unwrap()).read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(url.contains("?v=c#"), "{url}");
    assert!(owner_key.exists(), "the owner key was saved");

    let device_key = dir.path().join("device.seed");
    let friend = run(&["receive", &url, "--yes", "--key-out", device_key.to_str().unwrap()]);
    assert!(friend.status.success(), "{}", describe(&friend));
    let key: Value =
        serde_json::from_str(&stdout(&friend)).expect("stdout is the provisioned key as JSON");
    let certificate = &key["provisionedKey"]["signed"]["certificate"];
    assert_eq!(certificate["vehicleId"], "vehicle-7f3a");
    assert_eq!(certificate["entitlements"], serde_json::json!(["unlock", "drive"]));
    assert_eq!(certificate["friendPublicKey"], key["devicePublicKey"]);
    assert!(std::fs::read_to_string(&device_key).unwrap().trim().len() >= 43);

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = owner.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the owner's side did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut owner_stderr = String::new();
    std::io::Read::read_to_string(&mut owner.stderr.take().unwrap(), &mut owner_stderr).unwrap();
    assert!(status.success(), "{owner_stderr}");
    assert!(owner_stderr.contains("signing its key"), "{owner_stderr}");
    assert!(owner_stderr.contains("Done."), "{owner_stderr}");

    // The mailbox is gone: the same link now finds nothing.
    assert_eq!(run(&["receive", &url, "--yes"]).status.code(), Some(4));
}

#[test]
fn stateful_shares_need_a_car_key_offer() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("c.json");
    std::fs::write(&content, r#"{"token": "abc"}"#).unwrap();
    let base = [
        "share",
        "--relay",
        relay.base(),
        "--content",
        content.to_str().unwrap(),
        "--title",
        "t",
        "--description",
        "d",
        "--image-url",
        "https://i.example/x.png",
        "--stateful",
        "--format",
    ];
    let other_format = run(&[&base[..], &["digitalwallet.generic.authorizationToken"]].concat());
    assert_eq!(other_format.status.code(), Some(2), "{}", describe(&other_format));
    let not_an_offer = run(&[&base[..], &["digitalwallet.carkey.ccc"]].concat());
    assert_eq!(not_an_offer.status.code(), Some(2), "{}", describe(&not_an_offer));
}

#[test]
fn the_demo_narrates_the_whole_exchange() {
    let output = run(&["demo", "car-key"]);
    assert!(output.status.success(), "{}", describe(&output));
    let text = stdout(&output);
    for step in [
        "[relay]",
        "created the share",
        "key-creation request",
        "signs the friend's public key",
        "verified the owner's signature",
        "deleted the mailbox",
        "holds a key for vehicle-7f3a",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
    assert!(
        !text.contains('#') || text.contains("#<secret>"),
        "the demo does not print the secret:\n{text}"
    );
}
