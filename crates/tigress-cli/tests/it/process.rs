//! The relay as a separate process, as operators run it: durability across `kill -9`, the TLS
//! rule at start-up, and logs that never hold a claim, request id, token, payload, share URL,
//! secret or client address.

use serde_json::{Value, json};

use crate::support::{Relay, tigress};

fn create_body(data: &str) -> Value {
    json!({
        "payload": {"type": "AEAD_AES_128_GCM", "data": data},
        "displayInformation": {"title": "Front door", "description": "Home key", "imageURL": "https://img.example/door.png"},
        "notificationToken": {"type": "com.apple.apns", "tokenData": "token-data-marker-5e1f"},
        "mailboxConfiguration": {"accessRights": "RWD"}
    })
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    claim: &str,
    id: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = http
        .request(method, url)
        .header("Mailbox-Device-Claim", claim)
        .header("Mailbox-Request-ID", id);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("the relay answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let relay = Relay::start();
    let http = reqwest::Client::new();
    let base = relay.base().to_owned();
    let mut created = Vec::new();
    for i in 0..20 {
        let claim = uuid();
        let (status, body) = send(
            &http,
            reqwest::Method::POST,
            &format!("{base}/v1/m"),
            &claim,
            &uuid(),
            Some(&create_body(&format!("QUFB{i:04}"))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        created.push((body["urlLink"].as_str().unwrap().to_owned(), claim));
    }
    // One update acknowledged right before the kill.
    let (last_url, last_claim) = created.last().unwrap().clone();
    let update = json!({"payload": {"type": "AEAD_AES_128_GCM", "data": "VVBEQVRFRA=="}});
    assert_eq!(
        send(&http, reqwest::Method::PUT, &last_url, &last_claim, &uuid(), Some(&update)).await.0,
        200
    );

    let dir = relay.kill_9();
    let relay = Relay::start_in(dir, &[], &[]);
    let base_after = relay.base().to_owned();
    for (url, claim) in &created {
        let url = url.replace(&base, &base_after);
        let (status, body) = send(&http, reqwest::Method::POST, &url, claim, &uuid(), None).await;
        assert_eq!(status, 200, "a mailbox acknowledged before kill -9 is gone: {body}");
    }
    let url = last_url.replace(&base, &base_after);
    let (_, body) = send(&http, reqwest::Method::POST, &url, &last_claim, &uuid(), None).await;
    assert_eq!(body["payload"]["data"], "VVBEQVRFRA==", "the acknowledged update survived");
}

#[test]
fn refuses_plain_http_on_a_public_address_and_names_tls() {
    let dir = tempfile::tempdir().unwrap();
    let output = tigress()
        .args(["relay", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TLS"), "{stderr}");
}

#[tokio::test]
async fn logs_hold_no_claim_request_id_token_payload_url_secret_or_client_address() {
    let relay = Relay::start_in(
        tempfile::tempdir().unwrap(),
        &["--log-format", "json"],
        &[("RUST_LOG", "debug")],
    );
    let http = reqwest::Client::new();
    let base = relay.base().to_owned();
    let (sender, receiver) = (uuid(), uuid());
    let ids: Vec<String> = (0..5).map(|i| format!("request-id-marker-{i}-{}", uuid())).collect();
    let data = "Q0lQSEVSVEVYVE1BUktFUg==";
    let (status, created) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/v1/m"),
        &sender,
        &ids[0],
        Some(&create_body(data)),
    )
    .await;
    assert_eq!(status, 200);
    let url = created["urlLink"].as_str().unwrap().to_owned();
    let mailbox_id = url.rsplit('/').next().unwrap().to_owned();
    assert_eq!(send(&http, reqwest::Method::POST, &url, &receiver, &ids[1], None).await.0, 200);
    assert_eq!(
        send(
            &http,
            reqwest::Method::PUT,
            &url,
            &receiver,
            &ids[2],
            Some(&json!({"payload": {"type": "AEAD_AES_128_GCM", "data": data}}))
        )
        .await
        .0,
        200
    );
    assert_eq!(send(&http, reqwest::Method::POST, &url, &uuid(), &ids[3], None).await.0, 401);
    assert_eq!(send(&http, reqwest::Method::DELETE, &url, &sender, &ids[4], None).await.0, 200);
    // The compatibility profile's shapes: a vendor's page for the preview, a token's topic.
    let shipped = json!({
        "payload": {"type": "AEAD_AES_128_GCM", "data": data},
        "displayInformationUrl": "https://wallet.example/display-url-marker-31",
        "notificationToken":
            {"type": "com.apple.apns", "tokenData": "00ff", "tokenTopic": "topic.marker.42"}
    });
    let (status, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/v1/m"),
        &uuid(),
        &uuid(),
        Some(&shipped),
    )
    .await;
    assert_eq!(status, 200);

    // A whole share and receive through the CLI, with its secret.
    let content = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(content.path(), r#"{"lock": "front-door", "code": "content-marker-77"}"#)
        .unwrap();
    let shared = tigress()
        .args([
            "share",
            "--relay",
            &base,
            "--format",
            "digitalwallet.generic.authorizationToken",
            "--content",
        ])
        .arg(content.path())
        .args([
            "--title",
            "Door",
            "--description",
            "Front door",
            "--image-url",
            "https://img.example/d.png",
        ])
        .output()
        .unwrap();
    assert!(shared.status.success(), "{}", String::from_utf8_lossy(&shared.stderr));
    let share_url = String::from_utf8(shared.stdout).unwrap().trim().to_owned();
    let secret = share_url.rsplit('#').next().unwrap().to_owned();
    let received = tigress().args(["receive", &share_url, "--yes"]).output().unwrap();
    assert!(received.status.success(), "{}", String::from_utf8_lossy(&received.stderr));

    let log = relay.log();
    assert!(log.contains("\"route\""), "the relay logged its requests as JSON:\n{log}");
    let share_mailbox = share_url
        .split('#')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let mut forbidden = vec![
        sender.clone(),
        receiver.clone(),
        data.to_owned(),
        "token-data-marker-5e1f".into(),
        url.clone(),
        mailbox_id,
        share_url.clone(),
        secret,
        share_mailbox,
        "content-marker-77".into(),
        "display-url-marker-31".into(),
        "topic.marker.42".into(),
    ];
    forbidden.extend(ids.iter().cloned());
    for value in &forbidden {
        assert!(!log.contains(value.as_str()), "the log holds {value:?}:\n{log}");
        assert!(!log.contains(&value.to_uppercase()), "the log holds {value:?} in upper case");
    }
    // The only address in the log is the relay's own listening address, never a client's.
    let own = format!("127.0.0.1:{}", relay.port());
    for (at, _) in log.match_indices("127.0.0.1:") {
        let rest = &log[at..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
            .unwrap_or(rest.len());
        assert_eq!(&rest[..end], own, "a client address is in the log:\n{log}");
    }
}

#[test]
fn ctrl_c_shuts_the_relay_down_gracefully() {
    let mut relay = Relay::start();
    let status = std::process::Command::new("kill")
        .args(["-INT", &relay.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let exit = relay.wait();
    assert!(exit.success(), "{exit}; log:\n{}", relay.log());
    assert!(relay.log().contains("shutting down"), "{}", relay.log());
}

#[test]
fn an_unknown_key_in_the_push_configuration_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("push.toml");
    std::fs::write(
        &file,
        "[web_push]\nsubject = \"mailto:ops@relay.example\"\nvapid_key = \"x\"\n",
    )
    .unwrap();
    let output = tigress()
        .args(["relay", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--push-config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("vapid_key"), "{stderr}");
}

#[tokio::test]
async fn a_configured_provider_makes_push_supported_for_its_token_type() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("push.toml");
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    std::fs::write(&file, format!("[web_push]\nsubject = \"mailto:ops@relay.example\"\nvapid_private_key_pem = '''\n{key}'''\n")).unwrap();
    let relay = Relay::start_with(&["--push-config", file.to_str().unwrap()]);
    assert_web_push_supported(&relay).await;
}

#[tokio::test]
async fn a_push_table_in_the_configuration_file_runs_its_provider_and_prints_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.toml");
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    std::fs::write(&file, format!("max_messages = 32\n[push.web_push]\nsubject = \"mailto:ops@relay.example\"\nvapid_private_key_pem = '''\n{key}'''\n")).unwrap();

    let printed =
        tigress().args(["relay", "--print-config", "--config"]).arg(&file).output().unwrap();
    assert!(printed.status.success(), "{printed:?}");
    let printed = String::from_utf8(printed.stdout).unwrap();
    assert!(printed.contains("vapid_private_key_pem = \"[redacted]\""), "{printed}");
    assert!(printed.contains("subject = \"mailto:ops@relay.example\""), "{printed}");
    let key_body = key.lines().nth(1).unwrap();
    assert!(!printed.contains(key_body), "the private key was printed:\n{printed}");

    let relay = Relay::start_with(&["--config", file.to_str().unwrap()]);
    assert_web_push_supported(&relay).await;
}

/// A create with a Web Push token is told push is supported; one with an APNs token is not.
async fn assert_web_push_supported(relay: &Relay) {
    let http = reqwest::Client::new();
    let mut body = create_body("QUFB");
    for (kind, supported) in [("org.w3.webpush", true), ("com.apple.apns", false)] {
        body["notificationToken"] = json!({"type": kind, "tokenData": "{\"endpoint\":\"https://push.example/x\",\"keys\":{\"p256dh\":\"a\",\"auth\":\"b\"}}"});
        let (status, created) = send(
            &http,
            reqwest::Method::POST,
            &format!("{}/v1/m", relay.base()),
            &uuid(),
            &uuid(),
            Some(&body),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        assert_eq!(created["isPushNotificationSupported"], supported, "{kind}");
    }
}

/// Runs `tigress relay --print-config` with `args` and `env`, and returns its stdout.
fn print_config(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> String {
    let output = tigress()
        .args(["relay", "--print-config"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_configuration_file_sets_the_relay_and_variables_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.toml");
    std::fs::write(
        &file,
        "max_title_chars = 5\ncreates_per_minute = 7\nmax_wait = \"3s\"\nsweep_interval = \"9s\"\n",
    )
    .unwrap();
    let config = [std::ffi::OsStr::new("--config"), file.as_os_str()];

    let from_file = print_config(&config, &[]);
    for line in
        ["max_title_chars = 5 # file", "creates_per_minute = 7 # file", "max_wait = \"3s\" # file"]
    {
        assert!(from_file.contains(line), "{line} in:\n{from_file}");
    }
    let mut args = config.to_vec();
    args.extend(["--max-wait", "4s"].map(std::ffi::OsStr::new));
    let overridden =
        print_config(&args, &[("TIGRESS_CREATES_PER_MINUTE", "9"), ("TIGRESS_MAX_WAIT", "8s")]);
    for line in [
        "max_title_chars = 5 # file",
        "creates_per_minute = 9 # environment",
        "max_wait = \"4s\" # flag",
        "sweep_interval = \"9s\" # file",
        "max_body_bytes = 65536 # default",
    ] {
        assert!(overridden.contains(line), "{line} in:\n{overridden}");
    }

    // The running relay takes the file's values: a title over 5 characters is refused.
    let relay = Relay::start_with(&["--config", file.to_str().unwrap()]);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/m", relay.base());
    let mut body = create_body("QUFB");
    let (status, answer) =
        send(&http, reqwest::Method::POST, &url, &uuid(), &uuid(), Some(&body)).await;
    assert_eq!(status, 400, "{answer}");
    body["displayInformation"]["title"] = json!("Door");
    let (status, answer) =
        send(&http, reqwest::Method::POST, &url, &uuid(), &uuid(), Some(&body)).await;
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn a_bad_configuration_file_stops_the_relay_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.toml");
    for (text, named) in [
        ("max_title_chars = 5\nmax_tilte_chars = 6\n", "unknown key `max_tilte_chars`"),
        ("max_wait = \"soon\"\n", "`max_wait`"),
    ] {
        std::fs::write(&file, text).unwrap();
        let output = tigress()
            .args(["relay", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named) && stderr.contains("relay.toml"), "{stderr}");
        assert!(!dir.path().join("data").exists(), "the relay started");
    }
}

/// The repository's `deploy/` directory.
fn deploy_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

#[test]
fn the_example_configuration_file_is_accepted() {
    let file = deploy_dir().join("relay.toml");
    let printed = print_config(&[std::ffi::OsStr::new("--config"), file.as_os_str()], &[]);
    for line in [
        "listen = \"[::]:443\" # file",
        "tls_key = \"/etc/tigress/tls/privkey.pem\" # file",
        "log_format = \"json\" # file",
        "max_mailboxes = 1000000 # file",
    ] {
        assert!(printed.contains(line), "{line} in:\n{printed}");
    }
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_and_runs_a_valid_command() {
    let unit = std::fs::read_to_string(deploy_dir().join("tigress-relay.service")).unwrap();
    let exec_start = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    let binary = env!("CARGO_BIN_EXE_tigress");
    let args: Vec<&str> = exec_start
        .strip_prefix("/usr/local/bin/tigress ")
        .expect("ExecStart runs /usr/local/bin/tigress")
        .split_whitespace()
        .collect();

    // The command line, with the example configuration in place of /etc/tigress/relay.toml.
    let example = deploy_dir().join("relay.toml");
    let output = tigress()
        .args(args.iter().map(|arg| {
            if *arg == "/etc/tigress/relay.toml" { example.as_os_str() } else { arg.as_ref() }
        }))
        .arg("--print-config")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    // systemd's own check of the unit, with the binary where ExecStart expects it.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("tigress-relay.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/tigress", binary)).unwrap();
    let verified = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze could not run ({e}); install it: apt-get install systemd")
        });
    let complaints = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success() && complaints.trim().is_empty(), "{complaints}");
}

#[tokio::test]
async fn metrics_listen_serves_openmetrics_on_its_own_port() {
    let relay = Relay::start_with(&["--metrics-listen", "127.0.0.1:0"]);
    let metrics_url =
        relay.metrics_url().expect("the relay reported its metrics address").to_owned();
    let http = reqwest::Client::new();
    let (status, _) = send(
        &http,
        reqwest::Method::POST,
        &format!("{}/v1/m", relay.base()),
        &uuid(),
        &uuid(),
        Some(&create_body("QUFB")),
    )
    .await;
    assert_eq!(status, 200);

    let response = http.get(&metrics_url).send().await.unwrap();
    assert_eq!(response.status(), 200, "log:\n{}", relay.log());
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(
        text.contains("tigress_http_requests_total{operation=\"create\",status=\"200\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("\ntigress_mailboxes 1\n"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    // The public listener does not serve them.
    let public = http.get(format!("{}/metrics", relay.base())).send().await.unwrap();
    assert_eq!(public.status(), 404);
    assert!(relay.log().contains("metrics listening"), "{}", relay.log());
}
