//! The `tigress` command end to end: share and receive through a real relay.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{DeadAddress, Relay, assert_exit, run, run_with_stdin, stderr, stdout};

const FORMAT: &str = "digitalwallet.generic.authorizationToken";

fn content() -> Value {
    json!({"authorizationToken": "tok-5b1c", "pass": {"room": 12, "nights": [1, 2, 3]}})
}

fn expected() -> Value {
    json!({"format": FORMAT, "content": content()})
}

/// Writes the content file and returns its path.
fn content_file(relay: &Relay, text: &str) -> PathBuf {
    let path = relay.scratch().join("content.json");
    fs::write(&path, text).unwrap();
    path
}

/// `tigress share` arguments for `relay_url`, with `extra` appended.
fn share_args<'a>(relay_url: &'a str, content: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "share",
        "--relay",
        relay_url,
        "--format",
        FORMAT,
        "--content",
        content,
        "--title",
        "Room 12",
        "--description",
        "Hotel room key",
        "--image-url",
        "https://img.example/key.png",
    ];
    args.extend_from_slice(extra);
    args
}

/// Shares the standard content through `relay` and returns stdout's lines.
fn share(relay: &Relay, extra: &[&str]) -> Vec<String> {
    let path = content_file(relay, &content().to_string());
    let path = path.to_str().unwrap();
    let output = run(&share_args(relay.base(), path, extra));
    assert_exit(&output, 0);
    stdout(&output).lines().map(str::to_owned).collect()
}

/// Asserts that `output` succeeded and that its stdout is exactly the shared JSON.
#[track_caller]
fn assert_received(output: &std::process::Output) {
    assert_exit(output, 0);
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("stdout is not only JSON ({e}):\n{}", stdout(output));
    });
    assert_eq!(printed, expected());
}

fn secret_bytes(url: &str) -> usize {
    let (_, secret) = url.split_once('#').expect("the URL carries its secret");
    STANDARD.decode(secret).unwrap().len()
}

#[test]
fn shares_and_receives_with_aes_128_then_the_mailbox_is_gone() {
    let relay = Relay::start();
    let lines = share(&relay, &["--vertical", "h", "--expires-in", "2h"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let url = &lines[0];
    assert!(url.starts_with(&format!("{}/v1/m/", relay.base())), "{url}");
    assert!(url.contains("?v=h#"), "{url}");
    assert_eq!(secret_bytes(url), 16);

    let received = run(&["receive", url]);
    assert_received(&received);
    let shown = stderr(&received);
    assert!(shown.contains("Room 12") && shown.contains("Hotel room key"), "{shown}");
    assert!(shown.contains("home key"), "{shown}");
    assert!(shown.contains("(in 1h 59m)") || shown.contains("(in 2h)"), "{shown}");

    let again = run(&["receive", url]);
    assert_exit(&again, 4);
    assert!(stdout(&again).is_empty());
    assert!(stderr(&again).contains("expired or no longer exists"));
}

#[test]
fn shares_and_receives_with_aes_256() {
    let relay = Relay::start();
    let url = share(&relay, &["--aes-256"]).remove(0);
    assert_eq!(secret_bytes(&url), 32);
    assert_received(&run(&["receive", &url]));
    assert_exit(&run(&["receive", &url]), 4);
}

#[test]
fn a_secret_sent_separately_is_given_with_the_secret_option() {
    let relay = Relay::start();
    let lines = share(&relay, &["--separate-secret", "--vertical", "c"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (url, secret) = (&lines[0], &lines[1]);
    assert!(!url.contains('#'), "{url}");
    assert!(url.ends_with("?v=c"), "{url}");
    assert_eq!(STANDARD.decode(secret).unwrap().len(), 16);

    let without = run(&["receive", url]);
    assert_exit(&without, 2);
    assert!(stderr(&without).contains("--secret"), "{}", stderr(&without));

    let received = run(&["receive", url, "--secret", secret]);
    assert_received(&received);
    assert!(stderr(&received).contains("car key"));
}

#[test]
fn reads_the_content_from_stdin() {
    let relay = Relay::start();
    let input = content().to_string();
    let output = run_with_stdin(&share_args(relay.base(), "-", &[]), input.as_bytes());
    assert_exit(&output, 0);
    let url = stdout(&output).trim().to_owned();
    assert_received(&run(&["receive", &url, "--yes"]));
}

#[test]
fn a_kept_share_cannot_be_received_by_a_second_device() {
    let relay = Relay::start();
    let url = share(&relay, &[]).remove(0);
    let first = run(&["receive", &url, "--keep"]);
    assert_received(&first);
    assert!(stderr(&first).contains("kept"));

    let second = run(&["receive", &url]);
    assert_exit(&second, 3);
    assert!(stdout(&second).is_empty());
    assert!(stderr(&second).contains("already been accepted by another device"));
}

#[test]
fn a_wrong_secret_fails_and_leaves_the_share_for_the_right_one() {
    let relay = Relay::start();
    let lines = share(&relay, &["--separate-secret"]);
    let (url, secret) = (&lines[0], &lines[1]);
    let wrong = STANDARD.encode([7u8; 16]);
    assert_ne!(&wrong, secret);

    let failed = run(&["receive", url, "--secret", &wrong]);
    assert_exit(&failed, 5);
    assert!(stdout(&failed).is_empty());
    assert!(stderr(&failed).contains("wrong secret or tampered payload"));

    // The failed attempt gave its binding up, so the right secret still works.
    assert_received(&run(&["receive", url, "--secret", secret]));
}

#[test]
fn an_unreachable_relay_exits_6() {
    let dead = DeadAddress::new();
    let dead = dead.http_url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("content.json");
    fs::write(&path, content().to_string()).unwrap();
    let shared = run(&share_args(&dead, path.to_str().unwrap(), &[]));
    assert_exit(&shared, 6);
    assert!(stdout(&shared).is_empty());
    assert!(stderr(&shared).contains("could not be reached"), "{}", stderr(&shared));

    let url = format!("{dead}/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40#hXlr6aRC7KgJpOLTNZaLsw==");
    assert_exit(&run(&["receive", &url]), 6);
}

#[test]
fn content_that_is_not_a_json_object_is_refused_before_anything_is_sent() {
    // Nothing listens on this port: reaching out would exit 6 instead.
    let dead = DeadAddress::new();
    let dead = dead.http_url();
    let dir = tempfile::tempdir().unwrap();
    for (text, complaint) in [
        ("token=abc", "is not valid JSON"),
        ("[1, 2]", "must be a JSON object, not an array"),
        ("\"abc\"", "must be a JSON object, not a string"),
    ] {
        let path = dir.path().join("content.json");
        fs::write(&path, text).unwrap();
        let output = run(&share_args(&dead, path.to_str().unwrap(), &[]));
        assert_exit(&output, 1);
        assert!(stdout(&output).is_empty());
        assert!(stderr(&output).contains(complaint), "{}", stderr(&output));
    }
    let output = run_with_stdin(&share_args(&dead, "-", &[]), b"42");
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("must be a JSON object, not a number"));
}

#[test]
fn the_qr_code_goes_to_stderr_and_stdout_stays_the_url() {
    let relay = Relay::start();
    let path = content_file(&relay, &content().to_string());
    let output = run(&share_args(relay.base(), path.to_str().unwrap(), &["--qr"]));
    assert_exit(&output, 0);
    let printed = stdout(&output);
    assert_eq!(printed.lines().count(), 1, "{printed}");
    assert!(printed.starts_with(relay.base()) && printed.contains('#'));
    let drawn = stderr(&output);
    assert!(drawn.lines().filter(|line| line.contains('█')).count() > 10, "{drawn}");
    assert_received(&run(&["receive", printed.trim()]));
}

#[test]
fn a_relay_with_a_private_certificate_needs_its_ca_certificate() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    fs::write(&cert, certified.cert.pem()).unwrap();
    fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let relay = Relay::start_tls(&cert, &key);
    let path = content_file(&relay, &content().to_string());
    let path = path.to_str().unwrap();

    let untrusted = run(&share_args(relay.base(), path, &[]));
    assert_exit(&untrusted, 6);

    let ca = cert.to_str().unwrap();
    let output = run(&share_args(relay.base(), path, &["--ca-cert", ca]));
    assert_exit(&output, 0);
    let url = stdout(&output).trim().to_owned();
    assert!(url.starts_with("https://"), "{url}");
    assert_exit(&run(&["receive", &url]), 6);
    assert_received(&run(&["receive", &url, "--ca-cert", ca]));
}

#[test]
fn the_health_check_asks_the_relay_its_settings_describe_and_checks_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let write_certificate = |name: &str| {
        let certified = rcgen::generate_simple_self_signed(vec!["relay.test".into()]).unwrap();
        let (cert, key) =
            (dir.path().join(format!("{name}.crt")), dir.path().join(format!("{name}.key")));
        fs::write(&cert, certified.cert.pem()).unwrap();
        fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        (cert, key)
    };
    let (cert, key) = write_certificate("served");
    let (other_cert, _) = write_certificate("other");
    let (cert, key, other_cert) =
        (cert.to_str().unwrap(), key.to_str().unwrap(), other_cert.to_str().unwrap());
    let relay = Relay::start_with(&[
        "--tls-cert",
        cert,
        "--tls-key",
        key,
        "--public-url",
        "https://relay.test",
    ]);
    let listen = relay.base().strip_prefix("https://").unwrap().to_owned();
    let check = |cert: &str, public_url: &str| {
        let mut command = crate::support::tigress();
        command.env_clear().args(["relay", "--health-check", "--public-url", public_url]);
        command.env("TIGRESS_LISTEN", &listen).env("TIGRESS_TLS_CERT", cert);
        command.env("TIGRESS_TLS_KEY", key).output().unwrap()
    };

    let healthy = check(cert, "https://relay.test");
    assert_exit(&healthy, 0);
    assert_eq!(stdout(&healthy), "healthy\n");
    // Another certificate than the relay's own, or another name than the one it holds: the
    // check fails rather than trusting whatever answers.
    let other = check(other_cert, "https://relay.test");
    assert_exit(&other, 6);
    assert!(stderr(&other).contains("is not healthy"), "{}", stderr(&other));
    assert_exit(&check(cert, "https://elsewhere.test"), 6);

    drop(relay);
    let stopped = check(cert, "https://relay.test");
    assert_exit(&stopped, 6);
    assert!(stderr(&stopped).contains("could not be reached"), "{}", stderr(&stopped));
}

#[test]
fn the_health_check_of_a_plain_relay_on_loopback() {
    let relay = Relay::start();
    let listen = relay.base().strip_prefix("http://").unwrap().to_owned();
    let output = run(&["relay", "--health-check", "--listen", &listen]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "healthy\n");
}

#[test]
fn sighup_makes_the_relay_serve_its_renewed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (old_ca, new_ca) = (dir.path().join("old-ca.pem"), dir.path().join("new-ca.pem"));
    let issue = |ca: &PathBuf| {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        fs::write(&cert, certified.cert.pem()).unwrap();
        fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        fs::write(ca, certified.cert.pem()).unwrap();
    };
    issue(&old_ca);
    let relay = Relay::start_tls(&cert, &key);
    let path = content_file(&relay, &content().to_string());
    let path = path.to_str().unwrap();
    let share_trusting =
        |ca: &PathBuf| run(&share_args(relay.base(), path, &["--ca-cert", ca.to_str().unwrap()]));
    assert_exit(&share_trusting(&old_ca), 0);

    issue(&new_ca);
    let status =
        Command::new("kill").args(["-HUP", &relay.pid().to_string()]).status().expect("run kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !relay.log().contains("reloaded the TLS certificate") {
        assert!(std::time::Instant::now() < deadline, "no reload; log:\n{}", relay.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_exit(&share_trusting(&new_ca), 0);
    assert_exit(&share_trusting(&old_ca), 6);
}

#[test]
fn every_command_s_help_shows_an_example() {
    for command in [&[][..], &["relay"], &["share"], &["receive"], &["inspect"], &["completions"]] {
        let mut args = command.to_vec();
        args.push("--help");
        let output = run(&args);
        assert_exit(&output, 0);
        let help = stdout(&output);
        assert!(help.contains("Examples:"), "{args:?}:\n{help}");
        let example = format!("tigress {}", command.first().unwrap_or(&""));
        assert!(help.contains(example.trim_end()), "{args:?}:\n{help}");
    }
    let receive = stdout(&run(&["receive", "--help"]));
    for code in ["3  the share was already accepted", "6  the relay could not be reached"] {
        assert!(receive.contains(code), "{receive}");
    }
}

#[test]
fn invalid_arguments_exit_2() {
    assert_exit(&run(&["receive"]), 2);
    assert_exit(&run(&["relay", "--tls-cert", "cert.pem"]), 2);
    let bad = run(&["receive", "https://relay.example/v2/m/x#secret-in-url"]);
    assert_exit(&bad, 2);
    assert!(!stderr(&bad).contains("secret-in-url"), "{}", stderr(&bad));
}

#[test]
fn declining_at_the_prompt_exits_7_and_leaves_the_share() {
    let relay = Relay::start();
    let url = share(&relay, &[]).remove(0);
    // `script` gives the receiver a terminal, so that it asks; "n" declines.
    let command = format!("'{}' receive '{url}'", env!("CARGO_BIN_EXE_tigress"));
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().expect("piped stdin").write_all(b"n\n")?;
            child.wait_with_output()
        })
        .expect("run `script` (util-linux) to give tigress a terminal");
    assert_exit(&output, 7);
    let screen = stdout(&output);
    assert!(screen.contains("Accept this share? [y/N]"), "{screen}");
    assert!(screen.contains("declined"), "{screen}");
    assert!(!screen.contains("authorizationToken\""), "{screen}");

    assert_received(&run(&["receive", &url]));
}

#[test]
fn the_relay_logs_json_and_stops_gracefully_on_sigterm() {
    let mut relay = Relay::start_with(&["--log-format", "json"]);
    let status =
        Command::new("kill").args(["-TERM", &relay.pid().to_string()]).status().expect("run kill");
    assert!(status.success());
    let exit = relay.wait();
    assert!(exit.success(), "{exit}; log:\n{}", relay.log());
    let log = relay.log();
    assert!(log.contains("shutting down"), "{log}");
    for line in log.lines() {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(event["level"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn max_receivers_1_makes_the_first_claim_final() {
    let relay = Relay::start();
    let url = share(&relay, &["--max-receivers", "1"]).remove(0);
    let mailbox = url.split(['?', '#']).next().unwrap().to_owned();
    let http = reqwest::Client::new();
    let claim = uuid::Uuid::new_v4().to_string();
    let send = |method: reqwest::Method, claim: &str| {
        let request = http.request(method, &mailbox).header("Mailbox-Device-Claim", claim);
        async move { request.send().await.expect("the relay answers").status().as_u16() }
    };
    // One device opens the share and lets it go again.
    assert_eq!(send(reqwest::Method::POST, &claim).await, 200);
    assert_eq!(send(reqwest::Method::PATCH, &claim).await, 200);
    // The share is unclaimed, but it was meant for one device only.
    let url_for_blocking = url.clone();
    let second =
        tokio::task::spawn_blocking(move || run(&["receive", &url_for_blocking])).await.unwrap();
    assert_exit(&second, 3);
    assert!(stdout(&second).is_empty());

    let invalid = run(&share_args(relay.base(), "-", &["--max-receivers", "0"]));
    assert_exit(&invalid, 2);
}

#[test]
fn a_relay_that_requires_attestation_takes_only_shares_attested_with_a_trusted_key() {
    let keys_dir = tempfile::tempdir().unwrap();
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let trusted = keys_dir.path().join("makers.toml");
    let entry = format!(
        "[[key]]\nid = \"maker-1\"\npublic_key = \"\"\"\n{}\"\"\"\n",
        pair.public_key_pem()
    );
    fs::write(&trusted, entry).unwrap();
    let private = keys_dir.path().join("device-maker.pem");
    fs::write(&private, pair.serialize_pem()).unwrap();
    let private = private.to_str().unwrap();

    let relay = Relay::start_with(&["--attestation-keys", trusted.to_str().unwrap()]);
    let url = share(&relay, &["--attestation-key", private, "--attestation-key-id", "maker-1"]);
    assert_received(&run(&["receive", &url[0]]));

    let content = content_file(&relay, &content().to_string());
    let content = content.to_str().unwrap();
    let unattested = run(&share_args(relay.base(), content, &[]));
    assert_exit(&unattested, 1);
    assert!(stderr(&unattested).contains("attestation"), "{}", stderr(&unattested));
    let wrong_id = ["--attestation-key", private, "--attestation-key-id", "maker-2"];
    let refused = run(&share_args(relay.base(), content, &wrong_id));
    assert_exit(&refused, 1);
    assert!(stderr(&refused).contains("trusted device maker"), "{}", stderr(&refused));

    // The token names the path of the create, the relay's own segment included.
    let keys = trusted.to_str().unwrap();
    let other = Relay::start_with(&["--attestation-keys", keys, "--mailbox-path-segment", "mb"]);
    let attested = ["--attestation-key", private, "--attestation-key-id", "maker-1"];
    let segment = ["--mailbox-path-segment", "mb"];
    let content = content_file(&other, &self::content().to_string());
    let shared = run(&share_args(
        other.base(),
        content.to_str().unwrap(),
        &[&attested[..], &segment].concat(),
    ));
    assert_exit(&shared, 0);
    assert_received(&run(&["receive", stdout(&shared).trim()]));

    // A keys file that is not one stops the relay before it listens, naming the file.
    fs::write(&trusted, "[[key]]\nid = \"maker-1\"\npublic_key = \"not a key\"\n").unwrap();
    let listen = "127.0.0.1:0";
    let data = keys_dir.path().join("data");
    let bad = run(&[
        "relay",
        "--listen",
        listen,
        "--data-dir",
        data.to_str().unwrap(),
        "--attestation-keys",
        trusted.to_str().unwrap(),
    ]);
    assert_exit(&bad, 2);
    assert!(
        stderr(&bad).contains("makers.toml") && stderr(&bad).contains("maker-1"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn inspect_explains_a_share_url_without_the_relay_or_its_secret() {
    // No relay runs: inspect never contacts one.
    let url = "https://relay.example/v1/m/5b1c0e9a-3f0d-4c7a-9a51-2b8e7d6c5f40?v=h#hXlr6aRC7KgJpOLTNZaLsw==";
    let shown = run(&["inspect", url]);
    assert_exit(&shown, 0);
    let text = stdout(&shown);
    for expected in
        ["https://relay.example", "5b1c0e9a-3f0d-4c7a-9a51-2b8e7d6c5f40", "home key", "128-bit"]
    {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    assert!(!text.contains("hXlr6aRC7KgJpOLTNZaLsw"), "the secret is never printed: {text}");

    let json = run(&["inspect", "--json", url.split('#').next().unwrap()]);
    assert_exit(&json, 0);
    let explained: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(explained["mailbox"], "5b1c0e9a-3f0d-4c7a-9a51-2b8e7d6c5f40");
    assert_eq!(explained["vertical"], "h");
    assert_eq!(explained["hasSecret"], false);
    assert_eq!(explained["secretBits"], Value::Null);

    assert_exit(&run(&["inspect", "https://relay.example/not-a-share"]), 2);
}

#[test]
fn share_and_receive_speak_json_when_asked() {
    let relay = Relay::start();
    let lines = share(&relay, &["--json", "--separate-secret", "--vertical", "c"]);
    assert_eq!(lines.len(), 1, "one JSON object: {lines:?}");
    let shared: Value = serde_json::from_str(&lines[0]).unwrap();
    let url = shared["shareUrl"].as_str().unwrap();
    assert!(!url.contains('#') && url.ends_with("?v=c"), "{url}");
    assert_eq!(shared["relay"], relay.base());
    assert!(url.contains(shared["mailbox"].as_str().unwrap()));
    let secret = shared["secret"].as_str().unwrap();

    let received = run(&["receive", url, "--secret", secret, "--yes", "--json"]);
    assert_exit(&received, 0);
    let printed: Value = serde_json::from_str(stdout(&received).trim()).unwrap();
    assert_eq!(printed["provisioningInformation"], expected());
    assert_eq!(printed["displayInformation"]["title"], "Room 12");
    assert_eq!(printed["vertical"], "c");
    assert!(printed["expiration"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = run(&["completions", shell]);
        assert_exit(&output, 0);
        let script = stdout(&output);
        for command in ["share", "receive", "relay", "inspect"] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
    assert_exit(&run(&["completions", "tcsh"]), 2);
}

#[tokio::test]
async fn app_links_from_a_file_are_served_and_a_malformed_one_stops_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apps.toml");
    let fingerprint = ["AB"; 32].join(":");
    fs::write(
        &file,
        format!(
            "apple_app_ids = [\"ABCDE12345.com.example.wallet\"]\napp_name = \"Example \
             Wallet\"\nplay_store_url = \"https://play.example/store/apps/details?id=w\"\n\
             [[android]]\npackage = \"com.example.wallet\"\nsha256_cert_fingerprints = \
             [\"{fingerprint}\"]\n"
        ),
    )
    .unwrap();
    let relay = Relay::start_with(&["--app-links", file.to_str().unwrap()]);
    let get = |path: &str| {
        let url = format!("{}{path}", relay.base());
        async move {
            let response = reqwest::get(url).await.expect("the relay answers");
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, apple) = get("/.well-known/apple-app-site-association").await;
    assert_eq!(status, 200);
    assert_eq!(apple["applinks"]["details"][0]["appIDs"][0], "ABCDE12345.com.example.wallet");
    let (status, android) = get("/.well-known/assetlinks.json").await;
    assert_eq!(status, 200);
    assert_eq!(android[0]["target"]["sha256_cert_fingerprints"][0], fingerprint.as_str());
    // The preview page names the app and links to its store page.
    let path = content_file(&relay, &content().to_string());
    let shared = run(&share_args(relay.base(), path.to_str().unwrap(), &[]));
    assert_exit(&shared, 0);
    let page = reqwest::get(stdout(&shared).trim()).await.unwrap().text().await.unwrap();
    assert!(page.contains("Open this link with Example Wallet"), "{page}");
    assert!(page.contains("href=\"https://play.example/store/apps/details?id=w\""), "{page}");

    // An unknown member is refused by name, before the relay listens.
    fs::write(&file, "apple_app_id = [\"ABCDE12345.com.example.wallet\"]\n").unwrap();
    let data = dir.path().join("data");
    let args = ["relay", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()];
    let bad = run(&[&args[..], &["--app-links", file.to_str().unwrap()]].concat());
    assert_exit(&bad, 2);
    assert!(stderr(&bad).contains("apple_app_id"), "{}", stderr(&bad));
}

#[test]
fn inspect_relay_shows_what_the_relay_serves_and_allows() {
    let relay = Relay::start();
    let described = run(&["inspect", "--json", "--relay", relay.base()]);
    assert_exit(&described, 0);
    let descriptor: Value = serde_json::from_str(&stdout(&described)).unwrap();
    assert_eq!(descriptor["versions"], serde_json::json!(["v1"]));
    assert_eq!(descriptor["mailboxPath"], "/v1/m");
    assert_eq!(descriptor["attestationRequired"], false);

    let text = run(&["inspect", "--relay", relay.base()]);
    assert_exit(&text, 0);
    let text = stdout(&text);
    for expected in ["messageLog", "waitingReads", "not required", "168 h"] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    // Neither a share URL nor --relay: a usage error.
    assert_exit(&run(&["inspect"]), 2);
}

#[test]
fn a_share_may_give_its_preview_as_the_url_of_a_page_and_the_receiver_sees_it() {
    let relay = Relay::start();
    let path = content_file(&relay, &content().to_string());
    let page = "https://wallet.example/share/og/1";
    let mut args = vec!["share", "--relay", relay.base(), "--format", FORMAT, "--content"];
    args.push(path.to_str().unwrap());
    let output = run(&[args.as_slice(), &["--display-url", page]].concat());
    assert_exit(&output, 0);
    let url = stdout(&output).trim().to_owned();

    let received = run(&["receive", &url, "--json"]);
    assert_exit(&received, 0);
    let printed: Value = serde_json::from_slice(&received.stdout).unwrap();
    assert_eq!(printed["displayInformationUrl"], page, "{printed}");
    assert_eq!(printed["displayInformation"], Value::Null, "{printed}");
    assert!(stderr(&received).contains(page), "{}", stderr(&received));

    // The relay refuses a page that is not https, and says which member.
    let refused = run(&[args.as_slice(), &["--display-url", "http://wallet.example/s"]].concat());
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("displayInformationUrl"), "{}", stderr(&refused));
    // The page and the inline texts exclude each other.
    let both = run(&[args.as_slice(), &["--display-url", page, "--title", "T"]].concat());
    assert_exit(&both, 2);
}

#[test]
fn a_relay_may_serve_another_mailbox_path_and_share_follows_it() {
    let relay = Relay::start_with(&["--mailbox-path-segment", "mailbox"]);
    let described = run(&["inspect", "--json", "--relay", relay.base()]);
    let descriptor: Value = serde_json::from_str(&stdout(&described)).unwrap();
    assert_eq!(descriptor["mailboxPath"], "/v1/mailbox");

    // A share under the default path finds no mailboxes there, and says where to look.
    let path = content_file(&relay, &content().to_string());
    let args = share_args(relay.base(), path.to_str().unwrap(), &[]);
    let refused = run(&args);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("mailboxPath"), "{}", stderr(&refused));

    let output = run(&[args.as_slice(), &["--mailbox-path-segment", "mailbox"]].concat());
    assert_exit(&output, 0);
    let url = stdout(&output).trim().to_owned();
    assert!(url.contains("/v1/mailbox/"), "{url}");
    assert_received(&run(&["receive", &url]));

    // A segment that is not one path segment of plain characters is a usage error, by name.
    for bad in ["a/b", "M", ""] {
        let data = tempfile::tempdir().unwrap();
        let relay_args = ["relay", "--listen", "127.0.0.1:0", "--data-dir"];
        let data = data.path().to_str().unwrap();
        let refused = run(&[&relay_args[..], &[data, "--mailbox-path-segment", bad]].concat());
        assert_exit(&refused, 2);
        assert!(stderr(&refused).contains("--mailbox-path-segment"), "{}", stderr(&refused));
        let refused = run(&[args.as_slice(), &["--mailbox-path-segment", bad]].concat());
        assert_exit(&refused, 2);
    }
}
