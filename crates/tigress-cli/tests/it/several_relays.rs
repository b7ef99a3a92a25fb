//! Three `tigress relay` processes on one Redis Cluster (`TIGRESS_TEST_REDIS`, started by
//! `scripts/test`), as behind a load balancer: any relay serves any request of any mailbox, a
//! reader waiting on one wakes when its peer writes through another, a transfer survives the
//! loss of a relay, and the claim race has exactly one winner across relays.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Relay, assert_exit, run, stdout};

fn three_relays() -> [Relay; 3] {
    let store = tigress_test_support::redis_cluster_url();
    [(); 3].map(|()| Relay::start_with(&["--store", &store]))
}

/// `url` (a mailbox URL on any relay) as served by `relay`, the way a load balancer would send
/// the request there.
fn through(relay: &Relay, url: &str) -> String {
    let path = &url[url.find("/v1/m/").expect("a mailbox URL")..];
    format!("{}{path}", relay.base())
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn payload(data: &str) -> Value {
    json!({"type": "AEAD_AES_128_GCM", "data": data})
}

/// Sends one request; answers the status, the body, and how long it took.
async fn send(
    method: reqwest::Method,
    url: &str,
    claim: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value, Duration) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let mut request = http.request(method, url).header("Mailbox-Device-Claim", claim);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let started = Instant::now();
    let response = request.send().await.expect("the relay answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), started.elapsed())
}

async fn create(relay: &Relay, sender: &str) -> String {
    let body = json!({
        "payload": payload("Zmlyc3Q="),
        "displayInformation": {"title": "Car", "description": "Car key", "imageURL": "https://img.example/car.png"},
        "mailboxConfiguration": {"accessRights": "RWD"}
    });
    let url = format!("{}/v1/m", relay.base());
    let (status, body, _) = send(reqwest::Method::POST, &url, sender, &[], Some(body)).await;
    assert_eq!(status, 200, "{body}");
    body["urlLink"].as_str().expect("urlLink").to_owned()
}

async fn read(url: &str, claim: &str, after: u64, wait: Option<u64>) -> (u16, Value, Duration) {
    let wait = wait.map(|seconds| format!("wait={seconds}"));
    let headers: Vec<(&str, &str)> = wait.iter().map(|wait| ("Prefer", wait.as_str())).collect();
    send(reqwest::Method::POST, url, claim, &headers, Some(json!({"after": after}))).await
}

async fn write(url: &str, claim: &str, data: &str) -> u16 {
    let request_id = uuid();
    let headers = [("Mailbox-Request-ID", request_id.as_str())];
    let body = json!({"payload": payload(data)});
    send(reqwest::Method::PUT, url, claim, &headers, Some(body)).await.0
}

fn last_data(body: &Value) -> &str {
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["payload"]["data"].as_str())
        .unwrap_or("")
}

#[tokio::test]
async fn a_transfer_crosses_three_relays_and_survives_losing_one() {
    let [a, b, c] = three_relays();
    let (sender, receiver) = (uuid(), uuid());
    let url = create(&a, &sender).await;

    // The receiver claims through B.
    let (status, body, _) = read(&through(&b, &url), &receiver, 0, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "receiver");

    // It waits on C and is woken by the sender's write through A.
    let waiting = tokio::spawn({
        let on_c = through(&c, &url);
        let receiver = receiver.clone();
        async move { read(&on_c, &receiver, 1, Some(20)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(write(&url, &sender, "c2Vjb25k").await, 200);
    let (status, body, took) = waiting.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(last_data(&body), "c2Vjb25k");
    assert!(took < Duration::from_secs(10), "woken after {took:?}: not by the write through A");

    // C dies while the receiver waits on it; the receiver carries on through B.
    let waiting = tokio::spawn({
        let on_c = through(&c, &url);
        let receiver = receiver.clone();
        async move {
            let http = reqwest::Client::new();
            http.post(on_c)
                .header("Mailbox-Device-Claim", receiver)
                .header("Prefer", "wait=20")
                .json(&json!({"after": 2}))
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(c.kill_9());
    assert!(waiting.await.unwrap().is_err(), "a killed relay still answered");
    assert_eq!(write(&url, &sender, "dGhpcmQ=").await, 200);
    let (status, body, _) = read(&through(&b, &url), &receiver, 2, Some(20)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(last_data(&body), "dGhpcmQ=");

    // The receiver answers through B, the sender reads it through A and ends the transfer.
    assert_eq!(write(&through(&b, &url), &receiver, "ZG9uZQ==").await, 200);
    let (status, body, _) = read(&url, &sender, 3, Some(20)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(last_data(&body), "ZG9uZQ==");
    let (status, _, _) = send(reqwest::Method::DELETE, &url, &sender, &[], None).await;
    assert_eq!(status, 200);
    let (status, _, _) = read(&through(&b, &url), &receiver, 0, None).await;
    assert_eq!(status, 404, "the mailbox outlived its delete on another relay");
}

#[tokio::test]
async fn exactly_one_of_concurrent_first_reads_across_relays_binds() {
    let relays = three_relays();
    let url = create(&relays[0], &uuid()).await;
    let readers: Vec<_> = (0..30)
        .map(|i| {
            let url = through(&relays[i % 3], &url);
            tokio::spawn(async move { read(&url, &uuid(), 0, None).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for reader in readers {
        statuses.push(reader.await.unwrap());
    }
    let bound = statuses.iter().filter(|&&status| status == 200).count();
    assert_eq!(bound, 1, "statuses: {statuses:?}");
    assert!(statuses.iter().all(|&status| status == 200 || status == 401), "{statuses:?}");
}

#[test]
fn the_cli_shares_through_one_relay_and_receives_through_another() {
    let [a, b, c] = three_relays();
    let content = a.scratch().join("key.json");
    std::fs::write(&content, r#"{"key":"front door"}"#).unwrap();
    let shared = run(&[
        "share",
        "--relay",
        a.base(),
        "--format",
        "org.example.key",
        "--content",
        content.to_str().unwrap(),
        "--title",
        "Front door",
        "--description",
        "Home key",
        "--image-url",
        "https://img.example/door.png",
    ]);
    assert_exit(&shared, 0);
    let url = stdout(&shared).trim().to_owned();

    let received = run(&["receive", &through(&b, &url)]);
    assert_exit(&received, 0);
    let printed: Value = serde_json::from_slice(&received.stdout).unwrap();
    assert_eq!(printed, json!({"format": "org.example.key", "content": {"key": "front door"}}));
    // Received and deleted through B: gone through C as well.
    assert_exit(&run(&["receive", &through(&c, &url)]), 4);
}
