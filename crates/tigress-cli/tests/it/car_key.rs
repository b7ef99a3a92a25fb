//! The car key's life across processes, as people at terminals: the owner shares with a
//! profile, the friend receives, the vehicle admits the key, the owner revokes it, the friend's
//! device deletes it and proves so, the vehicle refuses it. And the demo.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::support::{Relay, describe, run, stderr, stdout, tigress};

fn profile(depth: u8) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({
        "role": "guest", "notBefore": now - 60, "notAfter": now + 3600, "shareDepth": depth,
        "onwardRoles": [],
        "limits": {"vehicle": {"exactly": "vehicle-7f3a"}, "entitlements": {"anyOf": ["unlock", "drive"]},
                   "maxSpeedKmh": {"max": 120}}
    })
}

/// Starts a process whose first stdout line is a share URL; the process and the URL.
fn start_sharing(args: &[&str]) -> (Child, String) {
    let mut child =
        tigress().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(url.contains("?v=c#"), "{url}");
    (child, url)
}

/// Waits for `child` to end; its success and stderr.
fn finish(mut child: Child) -> (bool, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the sharing side did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    child.stderr.take().unwrap().read_to_string(&mut text).unwrap();
    (status.success(), text)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_car_key_shared_admitted_revoked_deleted_and_refused_from_the_terminal() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let (offer, owner_key, grant, key, termination) = (
        dir.path().join("guest.json"),
        dir.path().join("owner.key"),
        dir.path().join("grant.json"),
        dir.path().join("car-key.json"),
        dir.path().join("termination.json"),
    );
    std::fs::write(&offer, profile(0).to_string()).unwrap();
    let (owner, url) = start_sharing(&[
        "share",
        "--relay",
        relay.base(),
        "--format",
        "digitalwallet.carkey.ccc",
        "--profile",
        path(&offer),
        "--title",
        "Car key",
        "--description",
        "Weekend loan",
        "--image-url",
        "https://img.example/car.png",
        "--stateful",
        "--owner-key",
        path(&owner_key),
        "--grant-out",
        path(&grant),
    ]);
    let friend = run(&["receive", &url, "--yes", "--key-out", path(&key)]);
    assert!(friend.status.success(), "{}", describe(&friend));
    let shown: Value = serde_json::from_str(&stdout(&friend)).expect("stdout is the key as JSON");
    assert_eq!(
        shown["chain"][0]["statement"]["profile"]["limits"]["maxSpeedKmh"],
        json!({"max": 120})
    );
    assert!(!stdout(&friend).contains("deviceKey"), "the secret went to stdout");
    let (ok, owner_stderr) = finish(owner);
    assert!(ok, "{owner_stderr}");
    assert!(owner_stderr.contains("confirmed, signed"), "{owner_stderr}");
    let owner_public = owner_stderr
        .split("Its public key, for the vehicle: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the owner's public key is shown")
        .to_owned();
    assert_eq!(shown["owner"], json!(owner_public));

    let verify = |action: &str, extra: &[&str]| {
        let args = [
            &[
                "verify",
                "--owner",
                &owner_public,
                "--vehicle",
                "vehicle-7f3a",
                "--action",
                action,
                "--key",
                path(&key),
            ][..],
            extra,
        ]
        .concat();
        run(&args)
    };
    let admitted = verify("drive", &[]);
    assert!(admitted.status.success(), "{}", describe(&admitted));
    assert!(
        stdout(&admitted).contains("admitted:") && stdout(&admitted).contains("120 km/h"),
        "{}",
        describe(&admitted)
    );
    let not_entitled = verify("lock", &[]);
    assert_eq!(not_entitled.status.code(), Some(9), "{}", describe(&not_entitled));
    assert!(stderr(&not_entitled).contains("does not allow `lock`"), "{}", describe(&not_entitled));
    let kept = std::fs::read_to_string(&key).unwrap();

    let (revoker, termination_url) = start_sharing(&[
        "revoke",
        "--relay",
        relay.base(),
        "--owner-key",
        path(&owner_key),
        "--grant",
        path(&grant),
        "--termination-out",
        path(&termination),
    ]);
    let deleted = run(&["receive", &termination_url, "--yes", "--key", path(&key)]);
    assert!(deleted.status.success(), "{}", describe(&deleted));
    assert!(!key.exists(), "the key file was not deleted");
    let (ok, revoke_stderr) = finish(revoker);
    assert!(ok && revoke_stderr.contains("proved"), "{revoke_stderr}");

    // The vehicle, given the termination, refuses the key (a copy kept from before).
    std::fs::write(&key, kept).unwrap();
    let refused = verify("drive", &["--termination", path(&termination)]);
    assert_eq!(refused.status.code(), Some(9), "{}", describe(&refused));
    assert!(
        stderr(&refused).contains("key 0 was terminated by the owner"),
        "{}",
        describe(&refused)
    );
}

#[test]
fn bad_profiles_keys_and_terminations_are_refused_with_what_is_wrong() {
    let relay = Relay::start();
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("c.json");
    std::fs::write(&content, r#"{"token": "abc"}"#).unwrap();
    let base = [
        "share",
        "--relay",
        relay.base(),
        "--content",
        path(&content),
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
    let not_a_profile = run(&[&base[..], &["digitalwallet.carkey.ccc"]].concat());
    assert_eq!(not_a_profile.status.code(), Some(2), "{}", describe(&not_a_profile));
    assert!(
        stderr(&not_a_profile).contains("a car-key profile is"),
        "{}",
        describe(&not_a_profile)
    );

    // The vehicle's check of `key` for `owner`, to drive vehicle `v`.
    let verify_with = |owner: &str, key: &Path| {
        run(&[
            "verify",
            "--owner",
            owner,
            "--vehicle",
            "v",
            "--action",
            "drive",
            "--key",
            path(key),
        ])
    };
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "[1, 2]").unwrap();
    let owner = "A".repeat(43);
    let verify = verify_with(&owner, &junk);
    assert_eq!(verify.status.code(), Some(2), "{}", describe(&verify));
    assert!(stderr(&verify).contains("not a key's chain"), "{}", describe(&verify));
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    let verify = verify_with(&owner, &empty);
    assert_eq!(verify.status.code(), Some(9), "{}", describe(&verify));
    let bad_owner = verify_with("short", &empty);
    assert_eq!(bad_owner.status.code(), Some(2), "{}", describe(&bad_owner));
}

#[test]
fn the_demo_narrates_the_whole_life() {
    let output = run(&["demo", "car-key"]);
    assert!(output.status.success(), "{}", describe(&output));
    let text = stdout(&output);
    for step in [
        "[relay]",
        "created the share",
        "key-creation request",
        "checked the chain back to the owner",
        "carries the part sealed for the vehicle",
        "opens the part sealed for it: {\"immobilizerCode\":\"7f3a-91c2\"}",
        "passes on to a third device",
        "admits the third device's key to drive",
        "refuses it to unlock",
        "signs a termination",
        "proof of deletion",
        "refuses the third device's key: key 0 was terminated by the owner",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
    assert!(
        !text.contains('#') || text.contains("#<secret>"),
        "the demo does not print the secret:\n{text}"
    );
}
