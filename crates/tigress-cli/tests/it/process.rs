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

#[tokio::test]
async fn metrics_listen_serves_openmetrics_on_its_own_port() {
    let port = crate::support::free_port();
    let relay = Relay::start_with(&["--metrics-listen", &format!("127.0.0.1:{port}")]);
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

    let response = http.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap();
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
