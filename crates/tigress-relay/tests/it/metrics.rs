//! The metrics listener (`metrics_listen`): scraped over real HTTP while the relay serves real
//! requests, with no label that names a mailbox, claim, request id, token or client.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::RelayConfig;

use crate::support::*;

/// The operations, push providers and outcomes a label may name, and the label names.
const OPERATIONS: [&str; 11] = [
    "create",
    "delete",
    "descriptor",
    "healthz",
    "openapi",
    "other",
    "preview",
    "read",
    "read_wait",
    "relinquish",
    "update",
];
const LABELS: [&str; 5] = ["le", "operation", "outcome", "provider", "status"];

/// Turns the metrics listener on, on a free loopback port.
pub fn with_metrics(config: &mut RelayConfig) {
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
}

/// A relay whose metrics listener is on.
async fn relay() -> TestRelay {
    TestRelay::start_with(with_metrics).await
}

/// A scrape of the relay's metrics listener.
pub struct Scrape {
    pub text: String,
}

impl Scrape {
    /// `GET /metrics` on the relay's metrics listener; checks the status and content type.
    pub async fn of(relay: &TestRelay) -> Self {
        let addr = metrics_addr(relay);
        let response = relay.http.get(format!("http://{addr}/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
        let text = response.text().await.unwrap();
        assert!(text.ends_with("# EOF\n"), "an OpenMetrics exposition ends with # EOF:\n{text}");
        Self { text }
    }

    /// The value of the sample written exactly `series` (name and labels, as exposed), if any.
    pub fn value(&self, series: &str) -> Option<f64> {
        self.text.lines().find_map(|line| {
            let value = line.strip_prefix(series)?.strip_prefix(' ')?;
            value.split(' ').next()?.parse().ok()
        })
    }

    /// Like [`Scrape::value`], failing the test when the series is missing.
    #[track_caller]
    pub fn must(&self, series: &str) -> f64 {
        self.value(series).unwrap_or_else(|| panic!("no {series} in\n{}", self.text))
    }

    /// `tigress_http_requests_total` of one operation and status; 0 when never counted.
    pub fn requests(&self, operation: &str, status: u16) -> f64 {
        let series =
            format!("tigress_http_requests_total{{operation=\"{operation}\",status=\"{status}\"}}");
        self.value(&series).unwrap_or(0.0)
    }
}

fn metrics_addr(relay: &TestRelay) -> SocketAddr {
    relay.relay().metrics_addr().expect("the metrics listener is on")
}

/// Scrapes until `series` has `want`, for values that change in the background.
async fn eventually(relay: &TestRelay, series: &str, want: f64) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let scrape = Scrape::of(relay).await;
        if scrape.value(series) == Some(want) || Instant::now() > deadline {
            assert_eq!(scrape.value(series), Some(want), "{series} in\n{}", scrape.text);
            return scrape;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn each_operation_is_counted_once_with_its_status_and_latency() {
    let relay = relay().await;
    let before = Scrape::of(&relay).await;
    assert_eq!(before.must("tigress_mailboxes"), 0.0);
    assert_eq!(before.requests("create", 200), 0.0);

    let sender = new_uuid();
    let request_id = new_uuid();
    let mut body = create_body();
    body["mailboxConfiguration"] = json!({"accessRights": "RWD"});
    let created =
        relay.send(Method::POST, "/v1/m", Some(&sender), Some(&request_id), Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK);
    let path = mailbox_path(&created);
    let replay =
        relay.send(Method::POST, "/v1/m", Some(&sender), Some(&request_id), Some(&body)).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    let after_create = Scrape::of(&relay).await;
    assert_eq!(after_create.must("tigress_mailboxes"), 1.0);

    let receiver = new_uuid();
    assert_eq!(relay.send(Method::GET, &path, None, None, None).await.status, StatusCode::OK);
    assert_eq!(read(&relay, &path, &receiver, 0, None).await.0.status, StatusCode::OK);
    assert_eq!(write(&relay, &path, &receiver, "UkVQTFk=").await.status, StatusCode::OK);
    let deleted = relay.send(Method::DELETE, &path, Some(&sender), None, None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    let gone = relay.send(Method::DELETE, &path, Some(&sender), None, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let unknown = relay.send(Method::GET, "/no/such/route", None, None, None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let scrape = Scrape::of(&relay).await;
    let counted = [
        ("create", 200, 1.0),
        ("create", 201, 1.0),
        ("preview", 200, 1.0),
        ("read", 200, 1.0),
        ("update", 200, 1.0),
        ("delete", 200, 1.0),
        ("delete", 404, 1.0),
        ("other", 404, 1.0),
        ("relinquish", 200, 0.0),
        ("read_wait", 200, 0.0),
    ];
    for (operation, status, count) in counted {
        assert_eq!(scrape.requests(operation, status), count, "{operation} {status}");
    }
    let latency = |operation: &str| {
        let series =
            format!("tigress_http_request_duration_seconds_count{{operation=\"{operation}\"}}");
        scrape.must(&series)
    };
    assert_eq!(latency("create"), 2.0);
    assert_eq!(latency("delete"), 2.0);
    assert_eq!(latency("relinquish"), 0.0, "every operation's series exists from the start");
    assert!(scrape.must("tigress_http_request_duration_seconds_sum{operation=\"create\"}") > 0.0);

    assert_eq!(scrape.must("tigress_mailboxes"), 0.0, "1 after the create, 0 after the delete");
    // The create, the binding read, the update and the delete each went through a commit.
    assert!(scrape.must("tigress_sqlite_commit_batch_size_count") >= 1.0, "{}", scrape.text);
    assert!(scrape.must("tigress_sqlite_commit_batch_size_sum") >= 4.0, "{}", scrape.text);
    assert!(scrape.must("tigress_sqlite_commit_duration_seconds_count") >= 1.0);
    assert!(scrape.must("tigress_sqlite_commit_duration_seconds_sum") > 0.0);
}

#[tokio::test]
async fn a_parked_read_counts_as_waiting_until_it_is_answered() {
    let relay = relay().await;
    let (path, sender) = relay.create(json!({})).await;
    assert_eq!(Scrape::of(&relay).await.must("tigress_waiting_reads"), 0.0);

    // The sender waits for a receiver's message that never comes; its delete ends the wait.
    let parked = spawn_read(&relay, &path, &sender, 1, Some(30));
    eventually(&relay, "tigress_waiting_reads", 1.0).await;
    let deleted = relay.send(Method::DELETE, &path, Some(&sender), None, None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    let (answer, _) = parked.await.unwrap();
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "the deleted mailbox is gone");

    let scrape = eventually(&relay, "tigress_waiting_reads", 0.0).await;
    assert_eq!(scrape.requests("read_wait", 404), 1.0);
    assert_eq!(scrape.requests("read", 404), 0.0, "a waiting read is counted apart");
}

#[tokio::test]
async fn no_metric_names_a_mailbox_claim_request_id_token_or_client() {
    let relay = relay().await;
    let (sender, receiver) = (new_uuid(), new_uuid());
    let request_id = format!("request-marker-{}", new_uuid());
    let token = format!("token-marker-{}", new_uuid());
    let client = "198.51.100.77";
    let mut body = create_body();
    body["notificationToken"] = json!({"type": "com.example.marker", "tokenData": token});
    body["mailboxConfiguration"] = json!({"accessRights": "RWD"});
    let created = relay
        .http
        .post(relay.url("/v1/m"))
        .header(CLAIM_HEADER, &sender)
        .header(REQUEST_ID_HEADER, &request_id)
        .header("X-Forwarded-For", client)
        .json(&body)
        .send()
        .await
        .unwrap();
    let created = Reply::from(created).await;
    assert_eq!(created.status, StatusCode::OK);
    let path = mailbox_path(&created);
    let id = path.trim_start_matches("/v1/m/").to_owned();
    read(&relay, &path, &receiver, 0, None).await;
    write(&relay, &path, &receiver, "UkVQTFk=").await;
    // Paths that are not routes, with identifying text in them, and a refused claim.
    relay.send(Method::GET, &format!("/v1/m/{id}/extra"), None, None, None).await;
    relay.send(Method::GET, &format!("/{token}"), None, None, None).await;
    relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await;
    relay.send(Method::DELETE, &path, Some(&sender), Some(&request_id), None).await;

    let scrape = Scrape::of(&relay).await;
    let local = relay.relay().local_addr().to_string();
    let secrets = [&id, &sender, &receiver, &request_id, &token, client, &local, "127.0.0.1"];
    for secret in secrets.map(|secret| secret as &str) {
        assert!(!scrape.text.contains(secret), "{secret} in\n{}", scrape.text);
    }
    // Every label is one of a fixed few, with a value from a fixed set.
    for line in scrape.text.lines().filter(|line| !line.starts_with('#')) {
        let Some((_, labels)) = line.split_once('{') else {
            continue;
        };
        let labels = labels.split_once('}').unwrap().0;
        for pair in labels.split(',') {
            let (name, value) = pair.split_once('=').unwrap();
            let value = value.trim_matches('"');
            assert!(LABELS.contains(&name), "label {name} in {line}");
            match name {
                "operation" => assert!(OPERATIONS.contains(&value), "{line}"),
                "status" => assert!(value.parse::<u16>().is_ok_and(|s| s >= 100), "{line}"),
                "le" => assert!(value == "+Inf" || value.parse::<f64>().is_ok(), "{line}"),
                _ => assert!(!value.contains("marker"), "{line}"),
            }
        }
    }
    assert_eq!(scrape.requests("read", 401), 1.0, "the refused claim, by its status only");
}

#[tokio::test]
async fn without_metrics_listen_no_listener_is_bound_and_the_api_has_no_metrics() {
    let relay = TestRelay::start().await;
    assert_eq!(relay.relay().metrics_addr(), None);
    let reply = relay.send(Method::GET, "/metrics", None, None, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(!reply.text.contains("tigress_"), "{}", reply.text);
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_only_and_stops_with_the_relay() {
    let mut relay = relay().await;
    let addr = metrics_addr(&relay);
    assert_ne!(addr.port(), relay.relay().local_addr().port());
    // The API is not on the metrics listener, nor the metrics on the API's.
    let api = relay.http.get(format!("http://{addr}/healthz")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let posted = relay.http.post(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(posted.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(relay.send(Method::GET, "/metrics", None, None, None).await.status, 404);
    Scrape::of(&relay).await;

    relay.inner.shutdown().await;
    let fresh = reqwest::Client::new();
    let after = fresh.get(format!("http://{addr}/metrics")).send().await;
    assert!(after.is_err(), "the metrics listener still answers after shutdown: {after:?}");
}

#[tokio::test]
async fn a_metrics_address_in_use_fails_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    config.metrics_listen = Some(taken.local_addr().unwrap());
    let error = tigress_relay::start(config).await.err().expect("the start fails");
    assert!(format!("{error:#}").contains("metrics"), "{error:#}");
}
