//! `tigress share --pin` and `tigress receive --pin` between two processes and a relay: the key
//! reaches the device that proves the PIN, and a wrong PIN gets nothing.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Relay, assert_exit, describe, run, stderr, stdout, tigress};

const CONTENT: &str = r#"{"authorizationToken": "tok-pin-77", "room": 12}"#;

/// Starts `tigress share --pin [PIN]` in the background; returns the process, the share URL
/// and the PIN the sender's user is shown.
fn share_with_pin(relay: &Relay, pin: Option<&str>) -> (Child, String, String) {
    let content = relay.scratch().join("pin-content.json");
    std::fs::write(&content, CONTENT).unwrap();
    let mut command = tigress();
    command.args([
        "share",
        "--relay",
        relay.base(),
        "--format",
        "digitalwallet.generic.authorizationToken",
    ]);
    command.arg("--content").arg(&content);
    command.args([
        "--title",
        "Room 12",
        "--description",
        "Hotel",
        "--image-url",
        "https://img.example/k.png",
    ]);
    command.args(["--patience", "30s", "--pin"]);
    command.args(pin);
    let mut sender =
        command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start tigress");
    let mut url = String::new();
    BufReader::new(sender.stdout.take().unwrap()).read_line(&mut url).unwrap();
    // The PIN line comes on stderr, after the share is created.
    let mut stderr = BufReader::new(sender.stderr.take().unwrap());
    let mut shown = String::new();
    let pin = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no PIN shown:\n{shown}");
        shown.push_str(&line);
        if let Some(rest) = line.strip_prefix("PIN: ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep the rest of stderr readable for the test.
    sender.stderr = None;
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
    });
    (sender, url.trim().to_owned(), pin)
}

fn wait(mut child: Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "the sender did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_receiver_with_the_pin_gets_the_key_and_the_pin_is_never_in_the_url() {
    let relay = Relay::start();
    let (sender, url, pin) = share_with_pin(&relay, Some("4821"));
    assert_eq!(pin, "4821");
    assert!(!url.contains("4821"), "the PIN is not in the link");

    let received = run(&["receive", &url, "--yes", "--pin", "4821"]);
    assert_exit(&received, 0);
    let printed: Value = serde_json::from_str(&stdout(&received)).expect("only JSON on stdout");
    assert_eq!(printed["content"], serde_json::from_str::<Value>(CONTENT).unwrap());
    assert_eq!(printed["format"], json!("digitalwallet.generic.authorizationToken"));
    assert_eq!(wait(sender), 0);
    assert!(!relay.log().contains("4821"), "the relay never sees the PIN");
    // The receiver deleted the mailbox once done.
    assert_exit(&run(&["receive", &url, "--yes", "--pin", "4821"]), 4);
}

#[test]
fn a_generated_pin_is_shown_once_and_a_wrong_one_gets_nothing() {
    let relay = Relay::start();
    let (sender, url, pin) = share_with_pin(&relay, None);
    assert!(pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()), "{pin}");
    let wrong = if pin == "000000" { "111111" } else { "000000" };

    let refused = run(&["receive", &url, "--yes", "--pin", wrong]);
    assert_exit(&refused, 8);
    assert!(stdout(&refused).is_empty(), "nothing received: {}", describe(&refused));
    assert!(stderr(&refused).contains("wrong PIN"), "{}", stderr(&refused));
    // The receiver gave up and deleted the share, so the sender stops at once, with code 8.
    assert_eq!(wait(sender), 8);
}

#[test]
fn a_pin_share_received_without_a_pin_and_no_terminal_is_a_usage_error() {
    let relay = Relay::start();
    let (sender, url, _) = share_with_pin(&relay, Some("123456"));
    let without = run(&["receive", &url, "--yes"]);
    assert_exit(&without, 2);
    assert!(stderr(&without).contains("--pin"), "{}", stderr(&without));
    assert_eq!(wait(sender), 8);
    let bad = run(&[
        "share",
        "--relay",
        relay.base(),
        "--format",
        "x",
        "--content",
        "-",
        "--title",
        "t",
        "--description",
        "d",
        "--image-url",
        "https://img.example/k.png",
        "--pin",
        "12ab",
    ]);
    assert_exit(&bad, 2);
    assert!(stderr(&bad).contains("invalid --pin"), "{}", stderr(&bad));
}
