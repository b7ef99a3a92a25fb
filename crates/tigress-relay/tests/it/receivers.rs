//! The sender's control over who binds: `maxReceivers` caps the receivers that may ever bind,
//! and the sender sees (`receiverBound`) and is woken when a receiver binds or lets go.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestRelay, create_body, new_uuid, read, spawn_read};

#[tokio::test]
async fn max_receivers_caps_binds_across_relinquishes() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({"maxReceivers": 2})).await;
    for _ in 0..2 {
        let receiver = new_uuid();
        let (bound, _) = read(&relay, &path, &receiver, 0, None).await;
        assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
        assert_eq!(bound.json()["receiverBound"], true);
        let let_go =
            relay.send(Method::PATCH, &path, Some(&receiver), Some(&new_uuid()), None).await;
        assert_eq!(let_go.status, StatusCode::OK, "{}", let_go.text);
    }
    let (third, _) = read(&relay, &path, &new_uuid(), 0, None).await;
    assert_eq!(third.status, StatusCode::UNAUTHORIZED);
    assert_eq!(third.code(), "receivers_exhausted");
    let (own, _) = read(&relay, &path, &sender, 0, None).await;
    assert_eq!(own.status, StatusCode::OK, "the sender reads on");
    assert_eq!(own.json()["receiverBound"], false);
}

#[tokio::test]
async fn max_receivers_out_of_range_is_400_and_nothing_is_stored() {
    let relay = TestRelay::start().await;
    for (value, code) in [
        (json!(0), "invalid_max_receivers"),
        (json!(1001), "invalid_max_receivers"),
        (json!(-1), "malformed_body"),
        (json!("2"), "malformed_body"),
    ] {
        let mut body = create_body();
        body["mailboxConfiguration"] = json!({"maxReceivers": value});
        let reply = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{value}: {}", reply.text);
        assert_eq!(reply.code(), code, "{value}");
    }
    assert_eq!(relay.mailbox_rows(), 0);
}

#[tokio::test]
async fn the_sender_sees_and_is_woken_by_a_bind_and_a_relinquish() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let (before, _) = read(&relay, &path, &sender, 1, None).await;
    assert_eq!(before.json()["receiverBound"], false);

    // The sender waits past its own first message; the bind ends the wait.
    let waiting = spawn_read(&relay, &path, &sender, 1, Some(20));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let receiver = new_uuid();
    let (bound, _) = read(&relay, &path, &receiver, 0, None).await;
    assert_eq!(bound.status, StatusCode::OK);
    let (woken, waited) = waiting.await.unwrap();
    assert_eq!(woken.status, StatusCode::OK, "{}", woken.text);
    assert_eq!(woken.json()["receiverBound"], true);
    assert!(woken.json()["messages"].as_array().unwrap().is_empty());
    assert!(waited < Duration::from_secs(10), "woken by the bind, not the timeout: {waited:?}");

    // And again when the receiver lets the share go.
    let waiting = spawn_read(&relay, &path, &sender, 1, Some(20));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let let_go = relay.send(Method::PATCH, &path, Some(&receiver), Some(&new_uuid()), None).await;
    assert_eq!(let_go.status, StatusCode::OK);
    let (woken, waited) = waiting.await.unwrap();
    assert_eq!(woken.json()["receiverBound"], false);
    assert!(waited < Duration::from_secs(10), "{waited:?}");

    // A receiver's wait is not ended by binding changes: it waits for the sender's messages.
    let (_, waited) = read(&relay, &path, &new_uuid(), 1, Some(1)).await;
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
}
