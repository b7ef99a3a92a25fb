//! Lifecycle events (docs/EVENTS.md) delivered to a real HTTPS receiver: every event of a
//! mailbox's life in order and validly signed, also as an independent implementation (Python's
//! `hmac`) checks it; a receiver down for a while then back; events given up after their time;
//! a create that names an endpoint the relay does not have. The main cases run on both stores;
//! on the shared test Redis Cluster each test names its endpoint uniquely, since every relay of
//! a cluster delivers every mailbox's events.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tigress_relay::{RelayConfig, StoreConfig};
use tigress_test_support::{Received, WebhookReceiver};
use tigress_webhooks::{EventsConfig, Secret};

use crate::support::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The stores the main cases run on.
#[derive(Clone, Copy, Debug)]
enum Store {
    Sqlite,
    Redis,
}

impl Store {
    /// The endpoint's name: unique on the shared cluster.
    fn endpoint(self) -> String {
        match self {
            Store::Sqlite => "fleet".into(),
            Store::Redis => format!("fleet-{}", &new_uuid()[..8]),
        }
    }

    fn configure(self, config: &mut RelayConfig) {
        if let Store::Redis = self {
            config.store =
                StoreConfig::RedisCluster { nodes: tigress_test_support::redis_cluster_nodes() };
        }
    }
}

/// The events configuration of a relay that sends to `receiver` as endpoint `name`.
fn events_to(
    receiver: &WebhookReceiver,
    name: &str,
    adjust: impl FnOnce(&mut String),
) -> EventsConfig {
    let mut text = format!(
        "ca_file = {:?}\nmax_retry_interval = \"1s\"\n\
         [[endpoint]]\nname = \"{name}\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n",
        receiver.ca_file(),
        receiver.url()
    );
    adjust(&mut text);
    toml::from_str(&text).expect("a valid events configuration")
}

/// A relay on `store` sending to `receiver`; it and the endpoint's name.
async fn relay_to(store: Store, receiver: &WebhookReceiver) -> (TestRelay, String) {
    let name = store.endpoint();
    let events = events_to(receiver, &name, |_| {});
    let relay = TestRelay::start_with(move |config| {
        store.configure(config);
        config.events = events;
    })
    .await;
    (relay, name)
}

/// Creates a mailbox that names endpoint `name`; its path and the sender's claim.
async fn create_with_events(relay: &TestRelay, name: &str) -> (String, String) {
    relay.create(json!({"accessRights": "RWD", "eventEndpoint": name})).await
}

/// The mailbox id of a path `/v1/m/{id}`.
fn id_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap()
}

/// The accepted events, each once (the first accepted copy), grouped by mailbox in arrival order.
fn by_mailbox(received: &[Received]) -> BTreeMap<String, Vec<Value>> {
    let mut seen = std::collections::HashSet::new();
    let mut mailboxes: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in received.iter().filter(|r| r.accepted) {
        if seen.insert(r.id.clone()) {
            let body = r.json();
            let id = body["data"]["mailboxId"].as_str().unwrap().to_owned();
            mailboxes.entry(id).or_default().push(body);
        }
    }
    mailboxes
}

fn summary(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let data = &e["data"];
            match (data.get("writer"), data.get("messageSeq")) {
                (Some(writer), Some(seq)) => {
                    format!(
                        "{} {} {} {}",
                        data["sequence"],
                        e["type"].as_str().unwrap(),
                        writer.as_str().unwrap(),
                        seq
                    )
                }
                _ => format!("{} {}", data["sequence"], e["type"].as_str().unwrap()),
            }
        })
        .collect()
}

/// Every request's signature checked by `tigress_webhooks::verify`, and its timestamp recent.
fn assert_signed(received: &[Received]) {
    let secret = Secret::parse(SECRET).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    for r in received {
        let timestamp: i64 = r.timestamp.parse().expect("webhook-timestamp is a number");
        assert!((now - timestamp).abs() < 120, "timestamp {timestamp} is not recent ({now})");
        assert!(
            tigress_webhooks::verify(&secret, &r.id, timestamp, &r.body, &r.signature),
            "a bad signature on {}",
            r.id
        );
    }
}

#[tokio::test]
async fn a_mailboxs_life_arrives_in_order_and_signed_on_sqlite() {
    a_mailboxs_life_arrives_in_order_and_signed(Store::Sqlite).await;
}

#[tokio::test]
async fn a_mailboxs_life_arrives_in_order_and_signed_on_redis() {
    a_mailboxs_life_arrives_in_order_and_signed(Store::Redis).await;
}

async fn a_mailboxs_life_arrives_in_order_and_signed(store: Store) {
    let receiver = WebhookReceiver::start().await;
    let (relay, name) = relay_to(store, &receiver).await;
    let descriptor = relay.send(Method::GET, "/.well-known/tigress-relay", None, None, None).await;
    let (path, sender) = create_with_events(&relay, &name).await;
    // A mailbox that names no endpoint sends nothing.
    let (quiet, quiet_sender) = relay.create(json!({"accessRights": "RWD"})).await;
    let reader = new_uuid();
    assert_eq!(read(&relay, &path, &reader, 0, None).await.0.status, StatusCode::OK);
    assert_eq!(read(&relay, &quiet, &reader, 0, None).await.0.status, StatusCode::OK);
    let stranger = new_uuid();
    assert_eq!(read(&relay, &path, &stranger, 0, None).await.0.status, StatusCode::UNAUTHORIZED);
    assert_eq!(read(&relay, &quiet, &stranger, 0, None).await.0.status, StatusCode::UNAUTHORIZED);
    assert_eq!(write(&relay, &path, &reader, "UkVDRUlWRVI=").await.status, StatusCode::OK);
    assert_eq!(write(&relay, &path, &sender, "U0VOREVS").await.status, StatusCode::OK);
    assert_eq!(write(&relay, &quiet, &quiet_sender, "U0VOREVS").await.status, StatusCode::OK);
    let relinquished =
        relay.send(Method::PATCH, &path, Some(&reader), Some(&new_uuid()), None).await;
    assert_eq!(relinquished.status, StatusCode::OK, "{}", relinquished.text);
    let deleted = relay.send(Method::DELETE, &path, Some(&sender), None, None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);

    let received = receiver.wait_for_accepted(7, Duration::from_secs(20)).await;
    let mailboxes = by_mailbox(&received);
    assert_eq!(mailboxes.keys().collect::<Vec<_>>(), [id_of(&path)], "events of other mailboxes");
    assert_eq!(
        summary(&mailboxes[id_of(&path)]),
        [
            "1 mailbox.created",
            "2 mailbox.bound",
            "3 mailbox.refused_claim",
            "4 mailbox.message_written \"receiver\" 2",
            "5 mailbox.message_written \"sender\" 3",
            "6 mailbox.relinquished",
            "7 mailbox.deleted",
        ]
        .map(|s| s.replace('"', ""))
    );
    assert_eq!(received.len(), 7, "duplicates with a receiver that was always up");
    assert_signed(&received);
    for r in &received {
        let body = r.json();
        let data: Vec<&String> = body["data"].as_object().unwrap().keys().collect();
        for key in &data {
            assert!(
                ["mailboxId", "sequence", "writer", "messageSeq"].contains(&key.as_str()),
                "an event carries {key}: {body}"
            );
        }
        let text = String::from_utf8_lossy(&r.body);
        for secret in [&sender, &reader, &stranger] {
            assert!(!text.contains(secret.as_str()), "an event carries a claim: {text}");
        }
        assert!(!text.contains("UkVDRUlWRVI") && !text.contains("Room 412"), "{text}");
        assert_eq!(r.id, format!("evt_{}_{}", id_of(&path), body["data"]["sequence"]));
    }
    assert!(descriptor.json()["extensions"].as_array().unwrap().contains(&json!("events")));
    assert!(independent_check(&received, receiver.dir()), "Python's hmac refused a signature");
}

/// Python's standard library checks each signature on its own (the Standard Webhooks
/// recipe): base64-decode the secret after `whsec_`, HMAC-SHA256 over `id.timestamp.body`.
/// `true` when every signature matched and a tampered body did not.
fn independent_check(received: &[Received], dir: &std::path::Path) -> bool {
    let mut cases: Vec<Value> = received
        .iter()
        .map(|r| json!({"id": r.id, "timestamp": r.timestamp, "signature": r.signature, "body": String::from_utf8(r.body.clone()).unwrap(), "valid": true}))
        .collect();
    let mut tampered = cases[0].clone();
    tampered["body"] = json!(tampered["body"].as_str().unwrap().replace("created", "deleted"));
    tampered["valid"] = json!(false);
    cases.push(tampered);
    let file = dir.join("received.json");
    std::fs::write(&file, serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = r#"
import base64, hashlib, hmac, json, sys
secret = base64.b64decode(sys.argv[1].removeprefix("whsec_"))
cases = json.load(open(sys.argv[2]))
for case in cases:
    signed = f"{case['id']}.{case['timestamp']}.{case['body']}".encode()
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    given = [s.removeprefix("v1,") for s in case["signature"].split(" ")]
    ok = any(hmac.compare_digest(expected, g) for g in given)
    if ok != case["valid"]:
        sys.exit(f"case {case['id']}: signature valid={ok}, expected {case['valid']}")
print(f"checked {len(cases)} signatures")
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script, SECRET])
        .arg(&file)
        .output()
        .expect("python3 runs (apt-get install python3)");
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.status.success()
}

#[tokio::test]
async fn a_receiver_down_for_a_while_loses_nothing_on_sqlite() {
    a_receiver_down_for_a_while_loses_nothing_and_gets_each_mailbox_in_order(Store::Sqlite).await;
}

#[tokio::test]
async fn a_receiver_down_for_a_while_loses_nothing_on_redis() {
    a_receiver_down_for_a_while_loses_nothing_and_gets_each_mailbox_in_order(Store::Redis).await;
}

async fn a_receiver_down_for_a_while_loses_nothing_and_gets_each_mailbox_in_order(store: Store) {
    let mut receiver = WebhookReceiver::start_down();
    let (relay, name) = relay_to(store, &receiver).await;
    let mut paths = Vec::new();
    for _ in 0..5 {
        let (path, sender) = create_with_events(&relay, &name).await;
        let reader = new_uuid();
        assert_eq!(read(&relay, &path, &reader, 0, None).await.0.status, StatusCode::OK);
        for n in 0..3 {
            let writer = if n % 2 == 0 { &reader } else { &sender };
            assert_eq!(write(&relay, &path, writer, "QUJD").await.status, StatusCode::OK);
        }
        paths.push(path);
    }
    // Connections refused for three seconds: retried at 1 s intervals.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(receiver.received().is_empty());
    receiver.come_up().await;
    // Then 503 for a while: attempts arrive and are refused.
    receiver.set_unavailable(true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let refused = receiver.received().len();
    receiver.set_unavailable(false);

    let received = receiver.wait_for_accepted(25, Duration::from_secs(30)).await;
    let mailboxes = by_mailbox(&received);
    assert_eq!(mailboxes.len(), 5);
    for path in &paths {
        let events = summary(&mailboxes[id_of(path)]);
        assert_eq!(
            events,
            [
                "1 mailbox.created",
                "2 mailbox.bound",
                "3 mailbox.message_written receiver 2",
                "4 mailbox.message_written sender 3",
                "5 mailbox.message_written receiver 4",
            ]
        );
    }
    // In order as they arrived, refused attempts included: no mailbox's event came before its
    // previous one was accepted.
    let mut accepted_up_to: BTreeMap<String, u64> = BTreeMap::new();
    for r in &received {
        let body = r.json();
        let (mailbox, sequence) = (
            body["data"]["mailboxId"].as_str().unwrap().to_owned(),
            body["data"]["sequence"].as_u64().unwrap(),
        );
        let done = accepted_up_to.entry(mailbox).or_insert(0);
        assert!(sequence <= *done + 1, "event {sequence} sent before {} was received", *done + 1);
        if r.accepted {
            *done = (*done).max(sequence);
        }
    }
    assert_signed(&received);
    let accepted = received.iter().filter(|r| r.accepted).count();
    eprintln!(
        "events on {store:?}: 25 written, {accepted} accepted ({} duplicates), {refused} attempts \
         answered 503, 0 lost",
        accepted - 25
    );
    assert!(refused > 0, "no attempt reached the receiver while it answered 503");
}

#[tokio::test]
async fn events_past_their_time_are_given_up_and_counted() {
    let receiver = WebhookReceiver::start_down();
    let events =
        events_to(&receiver, "fleet", |text| text.insert_str(0, "give_up_after = \"2s\"\n"));
    let relay = TestRelay::start_with(move |config| {
        config.events = events;
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let (path, _) = create_with_events(&relay, "fleet").await;
    assert_eq!(read(&relay, &path, &new_uuid(), 0, None).await.0.status, StatusCode::OK);
    let metrics = format!("http://{}/metrics", relay.relay().metrics_addr().unwrap());
    let mut scraped = String::new();
    for _ in 0..100 {
        scraped = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
        if scraped.contains("tigress_events_total{endpoint=\"fleet\",outcome=\"abandoned\"} 2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        scraped.contains("tigress_events_total{endpoint=\"fleet\",outcome=\"abandoned\"} 2"),
        "{scraped}"
    );
    assert!(
        scraped.contains("tigress_events_total{endpoint=\"fleet\",outcome=\"failed\"}"),
        "{scraped}"
    );
    let rows: i64 = {
        let file = relay.inner.dir().join("data/tigress.sqlite3");
        let conn =
            rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(rows, 0, "given-up events stay in the outbox");
}

#[tokio::test]
async fn an_expired_mailbox_is_reported_on_sqlite() {
    an_expired_mailbox_is_reported(Store::Sqlite).await;
}

#[tokio::test]
async fn an_expired_mailbox_is_reported_on_redis() {
    an_expired_mailbox_is_reported(Store::Redis).await;
}

/// On SQLite when the sweep erases it; on Redis when the delivery loop finds it past its time.
/// The mailbox lives three seconds: a clock moved ahead would also move the shared cluster's
/// index of due events for every other test's relay.
async fn an_expired_mailbox_is_reported(store: Store) {
    let receiver = WebhookReceiver::start().await;
    let name = store.endpoint();
    let events = events_to(&receiver, &name, |_| {});
    let relay = TestRelay::start_with(move |config| {
        store.configure(config);
        config.events = events;
        config.sweep_interval = Duration::from_millis(200);
    })
    .await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let expiration = tigress_proto::expiration::format(now.as_secs() as i64 + 3);
    let configuration = json!({"eventEndpoint": name, "expiration": expiration});
    let (path, _) = relay.create(configuration).await;
    let received = receiver.wait_for_accepted(2, Duration::from_secs(70)).await;
    let events = &by_mailbox(&received)[id_of(&path)];
    assert_eq!(summary(events), ["1 mailbox.created", "2 mailbox.expired"]);
    // Dated when it expired, not when it was noticed.
    assert_eq!(events[1]["timestamp"], json!(expiration));
}

#[tokio::test]
async fn a_create_naming_an_endpoint_the_relay_lacks_is_refused() {
    let receiver = WebhookReceiver::start().await;
    let (relay, _) = relay_to(Store::Sqlite, &receiver).await;
    let mut body = create_body();
    body["mailboxConfiguration"] = json!({"eventEndpoint": "https://attacker.example/"});
    let reply = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "unknown_event_endpoint");
    assert_eq!(relay.mailbox_rows(), 0);
    // And a relay without endpoints refuses every name.
    let plain = TestRelay::start().await;
    body["mailboxConfiguration"] = json!({"eventEndpoint": "fleet"});
    let reply = plain.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "unknown_event_endpoint")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
}
