//! `redis_replica_acks`: a write the replicas do not acknowledge in time is answered 503 with
//! `Retry-After`, and the client's retry with the same `Mailbox-Request-ID` is answered as a
//! replay of that write, never done twice. The test pauses every replica of a cluster of its
//! own, so that no write can reach one.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::StoreConfig;
use tigress_test_support::RedisCluster;

use crate::support::{Reply, TestRelay, create_body, mailbox_path, new_uuid, payload, read};

/// Keys held by the masters (the replicas hold copies).
fn keys_on_masters(cluster: &RedisCluster) -> u64 {
    let masters = cluster.masters();
    masters.iter().map(|&port| cluster.cli(port, &["DBSIZE"]).trim().parse::<u64>().unwrap()).sum()
}

fn assert_unavailable(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {}", reply.text);
    assert!(reply.header("retry-after").is_some(), "{what}: 503 without Retry-After");
}

#[tokio::test]
async fn unacknowledged_writes_are_503_and_their_retries_are_replays() {
    let cluster = RedisCluster::start(&[7231, 7232, 7233, 7234, 7235, 7236]);
    let nodes = cluster.nodes();
    let relay = TestRelay::start_with(|config| {
        config.store = StoreConfig::RedisCluster { nodes };
        config.redis_replica_acks = 1;
    })
    .await;
    let masters = cluster.masters();
    let replicas: Vec<u16> =
        cluster.ports().iter().copied().filter(|port| !masters.contains(port)).collect();
    assert_eq!(replicas.len(), 3, "one replica per master");

    // With the replicas answering, writes succeed.
    let (path, sender) = relay.create(json!({"accessRights": "RW"})).await;
    let receiver = new_uuid();
    assert_eq!(read(&relay, &path, &receiver, 0, None).await.0.status, StatusCode::OK);

    for &port in &replicas {
        cluster.signal(port, "-STOP");
    }
    let before = keys_on_masters(&cluster);
    let (creator, create_id) = (new_uuid(), new_uuid());
    let body = create_body();
    let created = relay.send(Method::POST, "/v1/m", Some(&creator), Some(&create_id), Some(&body));
    assert_unavailable(&created.await, "a create no replica holds");
    let (update_id, update) = (new_uuid(), json!({"payload": payload("dW5yZXBsaWNhdGVk")}));
    let updated = relay.send(Method::PUT, &path, Some(&sender), Some(&update_id), Some(&update));
    assert_unavailable(&updated.await, "an update no replica holds");
    let (reading, _) = read(&relay, &path, &receiver, 0, None).await;
    assert_unavailable(&reading, "a read, which may bind, answered from what no replica holds");

    for &port in &replicas {
        cluster.signal(port, "-CONT");
    }
    // The retries, with the same request ids, once the replicas are back.
    let retried = relay.send(Method::POST, "/v1/m", Some(&creator), Some(&create_id), Some(&body));
    let retried = retried.await;
    assert_eq!(retried.status, StatusCode::CREATED, "a replay of the create: {}", retried.text);
    let again = relay.send(Method::POST, "/v1/m", Some(&creator), Some(&create_id), Some(&body));
    let again = again.await;
    assert_eq!(mailbox_path(&again), mailbox_path(&retried), "one mailbox for one request id");
    // The mailbox, its log, its requests, its events and its create record: one mailbox's
    // keys, no more.
    assert_eq!(keys_on_masters(&cluster), before + 5, "a second mailbox was made");
    let (by_creator, _) = read(&relay, &mailbox_path(&retried), &creator, 0, None).await;
    assert_eq!(by_creator.status, StatusCode::OK, "{}", by_creator.text);

    let retried = relay.send(Method::PUT, &path, Some(&sender), Some(&update_id), Some(&update));
    let retried = retried.await;
    assert_eq!(retried.status, StatusCode::CREATED, "a replay of the update: {}", retried.text);
    let (log, _) = read(&relay, &path, &receiver, 1, None).await;
    let messages = log.json()["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 1, "the update is in the log once: {}", log.text);
    assert_eq!(messages[0]["payload"]["data"], "dW5yZXBsaWNhdGVk");
}

#[tokio::test]
async fn replica_acks_are_refused_on_the_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tigress_relay::RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.redis_replica_acks = 1;
    let error = tigress_relay::start(config).await.err().expect("the relay refuses to start");
    assert!(error.to_string().contains("Redis Cluster store only"), "{error:#}");
}
