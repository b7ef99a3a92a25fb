//! A relay started with the Redis Cluster store answers the main flows like the SQLite one.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::StoreConfig;

use crate::store_contract::redis_nodes;
use crate::support::{TestRelay, create_body, mailbox_path, new_uuid, payload};

async fn redis_relay() -> TestRelay {
    let nodes = redis_nodes();
    TestRelay::start_with(|config| config.store = StoreConfig::RedisCluster { nodes }).await
}

#[tokio::test]
async fn create_read_update_delete_round_trip_on_redis() {
    let relay = redis_relay().await;
    let (sender, receiver) = (new_uuid(), new_uuid());
    let mut body = create_body();
    body["mailboxConfiguration"] = json!({"accessRights": "RWD"});
    let request_id = new_uuid();
    let created =
        relay.send(Method::POST, "/v1/m", Some(&sender), Some(&request_id), Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let path = mailbox_path(&created);
    let replayed =
        relay.send(Method::POST, "/v1/m", Some(&sender), Some(&request_id), Some(&body)).await;
    assert_eq!(replayed.status, StatusCode::CREATED, "{}", replayed.text);
    assert_eq!(mailbox_path(&replayed), path);

    let read = relay.send(Method::POST, &path, Some(&receiver), None, None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let stranger = relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await;
    assert_eq!(stranger.status, StatusCode::UNAUTHORIZED, "{}", stranger.text);

    let update = json!({"payload": payload("QUJDRA==")});
    let preview = relay.send(Method::GET, &path, None, None, None).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.text.contains("Room 412"), "{}", preview.text);
    let updated =
        relay.send(Method::PUT, &path, Some(&receiver), Some(&new_uuid()), Some(&update)).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let read = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert!(read.text.contains("QUJDRA=="), "{}", read.text);

    let deleted = relay.send(Method::DELETE, &path, Some(&sender), None, None).await;
    assert!(deleted.status.is_success(), "{}", deleted.text);
    let gone = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
}

#[tokio::test]
async fn health_check_reaches_redis() {
    let relay = redis_relay().await;
    let health = relay.send(Method::GET, "/healthz", None, None, None).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
}
