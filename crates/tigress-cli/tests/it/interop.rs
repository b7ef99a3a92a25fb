//! Interoperability with an independent client: `interop/tigress_py.py`, written in Python from
//! the protocol digest alone (urllib and `cryptography`), shares to and receives from the CLI
//! through the relay.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::{Relay, tigress};

fn python_client() -> Command {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/tigress_py.py");
    let check = Command::new("python3").args(["-c", "import cryptography"]).output();
    match check {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "the interoperability tests need python3 with the cryptography package: \
             python3 -m pip install cryptography (scripts/test installs it)"
        ),
    }
    let mut command = Command::new("python3");
    command.arg(script);
    command
}

fn succeeded(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({:?}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn content() -> Value {
    json!({"roomNumber": "412", "authorizationToken": "interop-token", "nested": {"floors": [4, 12]}})
}

#[test]
fn the_cli_receives_what_the_python_client_shares() {
    let relay = Relay::start();
    for aes_256 in [false, true] {
        let mut share = python_client();
        share.args([
            "share",
            relay.base(),
            "digitalwallet.generic.authorizationToken",
            &content().to_string(),
            "--vertical",
            "h",
        ]);
        if aes_256 {
            share.arg("--aes-256");
        }
        let url = succeeded(share.output().unwrap(), "the Python share");
        let received = succeeded(
            tigress().args(["receive", &url, "--yes"]).output().unwrap(),
            "tigress receive",
        );
        let info: Value = serde_json::from_str(&received).expect("receive prints JSON only");
        assert_eq!(info["format"], "digitalwallet.generic.authorizationToken");
        assert_eq!(info["content"], content(), "aes_256={aes_256}");
        // tigress receive deleted the mailbox: the Python client finds it gone.
        let again = python_client().args(["receive", &url]).output().unwrap();
        assert!(!again.status.success());
    }
}

#[test]
fn the_python_client_receives_what_the_cli_shares() {
    let relay = Relay::start();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), content().to_string()).unwrap();
    for aes_256 in [false, true] {
        let mut share = tigress();
        share
            .args([
                "share",
                "--relay",
                relay.base(),
                "--format",
                "digitalwallet.carkey.ccc",
                "--content",
            ])
            .arg(file.path())
            .args([
                "--title",
                "Car",
                "--description",
                "Car key",
                "--image-url",
                "https://img.example/car.png",
                "--vertical",
                "c",
            ]);
        if aes_256 {
            share.arg("--aes-256");
        }
        let url = succeeded(share.output().unwrap(), "tigress share");
        assert!(url.contains("?v=c#"), "{url}");
        let received = succeeded(
            python_client().args(["receive", &url]).output().unwrap(),
            "the Python receive",
        );
        let info: Value = serde_json::from_str(&received).unwrap();
        assert_eq!(info["format"], "digitalwallet.carkey.ccc");
        assert_eq!(info["content"], content(), "aes_256={aes_256}");
    }
}
