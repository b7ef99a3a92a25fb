//! A Python program shares a credential through the relay and Python processes receive it,
//! through the generated binding: `tests/python/share_and_receive.py`.

use std::path::Path;
use std::time::Duration;

use crate::support::{TestRelay, assert_lines_in_order, python_package, python3};

/// Longer than the script's own waits (15 s each), short enough to end a hung run.
const PATIENCE: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_shares_receives_and_round_trips_through_a_running_relay() {
    let relay = TestRelay::start().await;
    let package = python_package();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/share_and_receive.py");

    let mut command = tokio::process::Command::from(python3());
    command
        .arg(&script)
        .arg(relay.base_url())
        .env("PYTHONPATH", package.path())
        .env("PYTHONUNBUFFERED", "1")
        .kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("the Python program ends in time")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}\n{stdout}\n{stderr}", output.status.code());

    // Every step printed, in the order the two sides depend on each other.
    let expected = [
        "sender: bad input refused",
        "sender: shared the hotel key",
        "receiver: a wrong secret fails to decrypt",
        "receiver: preview checked",
        "receiver: decrypted the credential the sender shared",
        "receiver: a second receiver gets AlreadyClaimed",
        "receiver: finished; the share is gone",
        "sender: the share is gone after the receiver finished",
        "sender: round trip 1: answered the receiver's request",
        "sender: round trip 2: answered the receiver's request",
        "sender: finished the transfer",
        "sender: done",
    ];
    assert_lines_in_order(&stdout, &expected);
    // The receiver's lines race the sender's; the sender's "done" waits for the receiver.
    let receiver_lines = [
        "receiver: round trip 1: got the sender's answer",
        "receiver: round trip 2: got the sender's answer",
        "receiver: the transfer ended when the sender finished",
    ];
    for line in receiver_lines {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    // Nothing secret reaches the output: no share URL was printed.
    assert!(!stdout.contains("/v1/m/"), "{stdout}");
    relay.stop().await;
}
