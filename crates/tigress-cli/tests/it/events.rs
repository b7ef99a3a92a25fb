//! Lifecycle events from a `tigress relay` process (`--events-config`): events committed but
//! not yet delivered when the relay is killed with `kill -9` are delivered after its restart,
//! in order, signed, none lost; on the SQLite store and on the Redis Cluster.

use std::time::Duration;

use serde_json::{Value, json};
use tigress_test_support::WebhookReceiver;

use crate::support::Relay;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    claim: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url).header("Mailbox-Device-Claim", claim);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("the relay answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn events_committed_before_kill_9_are_delivered_after_the_restart_on_sqlite() {
    events_committed_before_kill_9_are_delivered_after_the_restart(None).await;
}

#[tokio::test]
async fn events_committed_before_kill_9_are_delivered_after_the_restart_on_redis() {
    let store = tigress_test_support::redis_cluster_url();
    events_committed_before_kill_9_are_delivered_after_the_restart(Some(&store)).await;
}

/// On `store` (`None`: SQLite in the relay's directory).
async fn events_committed_before_kill_9_are_delivered_after_the_restart(store: Option<&str>) {
    // Unique on the shared cluster, whose every relay delivers every mailbox's events.
    let name = format!("fleet-{}", &uuid()[..8]);
    let mut receiver = WebhookReceiver::start_down();
    let events = receiver.dir().join("events.toml");
    std::fs::write(
        &events,
        format!(
            "ca_file = {:?}\nmax_retry_interval = \"1s\"\n\
             [[endpoint]]\nname = \"{name}\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
            receiver.ca_file(),
            receiver.url()
        ),
    )
    .unwrap();
    let mut options = vec!["--events-config", events.to_str().unwrap()];
    if let Some(store) = store {
        options.extend(["--store", store]);
    }
    let relay = Relay::start_in(tempfile::tempdir().unwrap(), &options, &[]);
    let http = reqwest::Client::new();
    let base = relay.base().to_owned();
    let (sender, reader) = (uuid(), uuid());
    let create = json!({
        "payload": {"type": "AEAD_AES_128_GCM", "data": "QUFBQQ=="},
        "displayInformation": {"title": "Car", "description": "Car key", "imageURL": "https://img.example/car.png"},
        "mailboxConfiguration": {"accessRights": "RWD", "eventEndpoint": name}
    });
    let (status, body) =
        send(&http, reqwest::Method::POST, &format!("{base}/v1/m"), &sender, Some(&create)).await;
    assert_eq!(status, 200, "{body}");
    let url = body["urlLink"].as_str().unwrap().to_owned();
    assert_eq!(send(&http, reqwest::Method::POST, &url, &reader, None).await.0, 200);
    let update = json!({"payload": {"type": "AEAD_AES_128_GCM", "data": "VVBEQVRF"}});
    assert_eq!(send(&http, reqwest::Method::PUT, &url, &reader, Some(&update)).await.0, 200);
    // Three events committed; the receiver refuses connections, so none is delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.received().is_empty());

    let dir = relay.kill_9();
    receiver.come_up().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "delivered by a killed relay");
    let _relay = Relay::start_in(dir, &options, &[]);
    let received = receiver.wait_for_accepted(3, Duration::from_secs(20)).await;
    let kinds: Vec<(u64, String)> = received
        .iter()
        .map(|r| {
            let body = r.json();
            (body["data"]["sequence"].as_u64().unwrap(), body["type"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (1, "mailbox.created".to_owned()),
            (2, "mailbox.bound".to_owned()),
            (3, "mailbox.message_written".to_owned())
        ]
    );
    let secret = tigress_webhooks::Secret::parse(SECRET).unwrap();
    for r in &received {
        let timestamp = r.timestamp.parse().unwrap();
        assert!(tigress_webhooks::verify(&secret, &r.id, timestamp, &r.body, &r.signature));
    }
    eprintln!(
        "events on {}: 3 committed before kill -9, {} delivered after the restart, 0 lost",
        store.map_or("sqlite", |_| "redis"),
        received.len()
    );
}
