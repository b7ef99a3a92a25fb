//! The ordered message log and waiting reads (extension): no message is lost when one side
//! writes twice, and a waiting reader wakes as soon as its peer writes.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tigress_relay::Clock;

use crate::support::*;

fn seqs_and_writers(body: &Value) -> Vec<(u64, String)> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap(), m["from"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn no_message_is_lost_when_one_side_writes_twice() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({"accessRights": "RWD"})).await;
    let receiver = new_uuid();
    let (first, _) = read(&relay, &path, &receiver, 0, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let body = first.json();
    assert_eq!(seqs_and_writers(&body), vec![(1, "sender".to_owned())], "the invitation is seq 1");
    assert_eq!((body["lastSeq"].as_u64(), body["role"].as_str()), (Some(1), Some("receiver")));

    assert_eq!(write(&relay, &path, &sender, "U0VDT05E").await.status, StatusCode::OK);
    assert_eq!(write(&relay, &path, &sender, "VEhJUkQ=").await.status, StatusCode::OK);
    let (next, _) = read(&relay, &path, &receiver, 1, None).await;
    let body = next.json();
    assert_eq!(seqs_and_writers(&body), vec![(2, "sender".into()), (3, "sender".into())]);
    assert_eq!(body["messages"][0]["payload"]["data"], "U0VDT05E");
    assert_eq!(body["messages"][1]["payload"]["data"], "VEhJUkQ=");
    // Draft clients keep seeing the single slot: the latest message.
    assert_eq!(body["payload"]["data"], "VEhJUkQ=");
    assert_eq!(body["lastSeq"], 3);

    assert_eq!(write(&relay, &path, &receiver, "UkVQTFk=").await.status, StatusCode::OK);
    let (sender_view, _) = read(&relay, &path, &sender, 3, None).await;
    assert_eq!(seqs_and_writers(&sender_view.json()), vec![(4, "receiver".into())]);
    assert_eq!(sender_view.json()["role"], "sender");
}

#[tokio::test]
async fn a_full_log_is_refused_with_409_and_keeps_what_it_has() {
    let relay = TestRelay::start_with(|c| c.limits.max_messages = 3).await;
    let (path, sender) = relay.create(json!({})).await;
    assert_eq!(write(&relay, &path, &sender, "Mg==").await.status, StatusCode::OK);
    assert_eq!(write(&relay, &path, &sender, "Mw==").await.status, StatusCode::OK);
    let full = write(&relay, &path, &sender, "NA==").await;
    assert_eq!((full.status, full.code().as_str()), (StatusCode::CONFLICT, "mailbox_full"));
    let (view, _) = read(&relay, &path, &sender, 0, None).await;
    assert_eq!(view.json()["lastSeq"], 3);
    assert_eq!(view.json()["payload"]["data"], "Mw==");
}

#[tokio::test]
async fn a_waiting_reader_wakes_when_its_peer_writes() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({"accessRights": "RWD"})).await;
    let receiver = new_uuid();
    read(&relay, &path, &receiver, 0, None).await;

    let waiting = spawn_read(&relay, &path, &receiver, 1, Some(30));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the reader waits while nothing is new");
    let written = Instant::now();
    assert_eq!(write(&relay, &path, &sender, "TkVX").await.status, StatusCode::OK);
    let (reply, _) = waiting.await.unwrap();
    assert!(
        written.elapsed() < Duration::from_secs(10),
        "woken by the write, not by the 30 s wait"
    );
    assert_eq!(seqs_and_writers(&reply.json()), vec![(2, "sender".into())]);
    assert_eq!(reply.header("preference-applied"), Some("wait=30"));
}

#[tokio::test]
async fn news_already_there_is_answered_at_once() {
    let relay = TestRelay::start().await;
    let (path, _) = relay.create(json!({})).await;
    let (reply, took) = read(&relay, &path, &new_uuid(), 0, Some(30)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(seqs_and_writers(&reply.json()), vec![(1, "sender".into())]);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn a_wait_ends_empty_after_its_time_and_the_relay_caps_it() {
    let relay = TestRelay::start_with(|c| c.limits.max_wait = Duration::from_secs(1)).await;
    let (path, sender) = relay.create(json!({})).await;
    let (reply, took) = read(&relay, &path, &sender, 1, Some(100)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("preference-applied"), Some("wait=1"));
    assert!(reply.json()["messages"].as_array().unwrap().is_empty());
    assert!(took >= Duration::from_millis(900), "answered before the wait ended: {took:?}");
}

#[tokio::test]
async fn ones_own_write_does_not_end_ones_wait() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let waiting = spawn_read(&relay, &path, &sender, 1, Some(2));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(write(&relay, &path, &sender, "T1dO").await.status, StatusCode::OK);
    let (reply, took) = waiting.await.unwrap();
    assert!(took >= Duration::from_millis(1800), "woken by its own write: {took:?}");
    assert_eq!(
        seqs_and_writers(&reply.json()),
        vec![(2, "sender".into())],
        "its own message is listed"
    );
}

#[tokio::test]
async fn deleting_or_expiring_a_mailbox_ends_every_wait_on_it() {
    let clock = Clock::movable();
    let relay = TestRelay::start_with(|c| c.clock = clock.clone()).await;
    let (path, sender) = relay.create(json!({})).await;
    let receiver = new_uuid();
    read(&relay, &path, &receiver, 0, None).await;
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let (http, url, claim) = (relay.http.clone(), relay.url(&path), receiver.clone());
            tokio::spawn(async move {
                http.post(url)
                    .header(CLAIM_HEADER, claim)
                    .header("Prefer", "wait=30")
                    .json(&json!({"after": 1}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deleted = Instant::now();
    assert_eq!(
        relay.send(Method::DELETE, &path, Some(&sender), None, None).await.status,
        StatusCode::OK
    );
    for waiter in waiters {
        assert_eq!(waiter.await.unwrap(), StatusCode::NOT_FOUND);
    }
    assert!(deleted.elapsed() < Duration::from_secs(10));

    let soon = tigress_proto::expiration::format(clock.unix_now() + 2);
    let (path, sender) = relay.create(json!({"expiration": soon})).await;
    let wait = spawn_read(&relay, &path, &sender, 1, Some(30));
    // The relay's clock, not real time, reaches the expiry.
    tokio::time::sleep(Duration::from_millis(300)).await;
    clock.advance(Duration::from_secs(3));
    let (reply, took) = wait.await.unwrap();
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert!(took < Duration::from_secs(10), "the wait ended at expiry: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_write_wakes_hundreds_of_waiting_readers() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let claim = new_uuid();
    read(&relay, &path, &claim, 0, None).await;
    let waiters: Vec<_> = (0..300)
        .map(|_| {
            let (http, url, claim) = (reqwest::Client::new(), relay.url(&path), claim.clone());
            tokio::spawn(async move {
                let response = http
                    .post(url)
                    .header(CLAIM_HEADER, claim)
                    .header("Prefer", "wait=30")
                    .json(&json!({"after": 1}))
                    .send()
                    .await
                    .unwrap();
                response.json::<Value>().await.unwrap()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(write(&relay, &path, &sender, "QUxM").await.status, StatusCode::OK);
    for waiter in waiters {
        let body =
            tokio::time::timeout(Duration::from_secs(20), waiter).await.expect("woken").unwrap();
        assert_eq!(body["lastSeq"], 2);
    }
}
