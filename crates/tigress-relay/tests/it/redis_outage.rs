//! Relays on a Redis Cluster whose nodes fail: a node that stops answering costs 503s (with
//! `Retry-After`) for the mailboxes it holds and nothing else, and the relay recovers by itself;
//! a dropped pub/sub connection loses no wake-up. Each test starts a cluster of its own on its own
//! ports (tigress-test-support's `RedisCluster`), so that stopping a node disturbs no other test.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::StoreConfig;
use tigress_test_support::RedisCluster;

use crate::redis_relay::tag_of;
use crate::support::{Reply, TestRelay, create_body, new_uuid, read, spawn_read, write};

/// A connection to the node on `port` alone.
async fn node(port: u16) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Whether the node on `port` holds mailbox `path` (another node answers `MOVED`).
async fn holds(port: u16, path: &str) -> bool {
    let key = format!("tigress:{{{}}}:box", tag_of(path));
    let exists: Result<i64, _> =
        redis::cmd("EXISTS").arg(key).query_async(&mut node(port).await).await;
    exists == Ok(1)
}

async fn relay_on(cluster: &RedisCluster) -> TestRelay {
    let nodes = cluster.nodes();
    TestRelay::start_with(|config| config.store = StoreConfig::RedisCluster { nodes }).await
}

#[tokio::test]
async fn a_node_that_stops_answering_costs_503s_for_its_own_mailboxes_and_the_relay_recovers() {
    let cluster = RedisCluster::start(&[7111, 7112, 7113]);
    let relay = relay_on(&cluster).await;
    let victim = cluster.ports()[0];

    // Mailboxes on the victim and elsewhere, two of each at least.
    let (mut on_victim, mut elsewhere) = (Vec::new(), Vec::new());
    while on_victim.len() < 2 || elsewhere.len() < 2 {
        assert!(on_victim.len() + elsewhere.len() < 100, "ids never spread over the nodes");
        let (path, sender) = relay.create(json!({"accessRights": "RW"})).await;
        if holds(victim, &path).await {
            on_victim.push((path, sender));
        } else {
            elsewhere.push((path, sender));
        }
    }

    let health = relay.send(Method::GET, "/healthz", None, None, None).await;
    assert_eq!(health.status, StatusCode::OK, "every node answers: {}", health.text);

    cluster.signal(victim, "-STOP");
    // One master of three down: the relay cannot serve every mailbox, and says so.
    let health = relay.send(Method::GET, "/healthz", None, None, None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "one node down: {}", health.text);
    for (path, sender) in &on_victim {
        let (reply, _) = read(&relay, path, sender, 0, None).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.text);
        assert_eq!(reply.code(), "unavailable", "{}", reply.text);
        assert!(reply.header("retry-after").is_some(), "503 without Retry-After");
    }
    for (path, sender) in &elsewhere {
        let (reply, _) = read(&relay, path, sender, 0, None).await;
        assert_eq!(reply.status, StatusCode::OK, "a mailbox on a live node: {}", reply.text);
    }
    // New mailboxes land wherever their id hashes: each is made, or refused with a 503.
    for _ in 0..6 {
        let created =
            relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&create_body())).await;
        assert!(
            [StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE].contains(&created.status),
            "{} {}",
            created.status,
            created.text
        );
    }

    cluster.signal(victim, "-CONT");
    for (path, sender) in &on_victim {
        let reply = eventually_ok(&relay, path, sender).await;
        assert_eq!(reply.json()["payload"], create_body()["payload"], "{}", reply.text);
    }
    let health = relay.send(Method::GET, "/healthz", None, None, None).await;
    assert_eq!(health.status, StatusCode::OK, "the node is back: {}", health.text);
}

/// Reads until the relay answers 200, for up to 20 s.
async fn eventually_ok(relay: &TestRelay, path: &str, claim: &str) -> Reply {
    let started = Instant::now();
    loop {
        let (reply, _) = read(relay, path, claim, 0, None).await;
        if reply.status == StatusCode::OK {
            return reply;
        }
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.text);
        assert!(started.elapsed() < Duration::from_secs(20), "the relay did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn waiting_readers_are_woken_after_their_pubsub_connection_drops() {
    let cluster = RedisCluster::start(&[7121, 7122, 7123]);
    let (a, b) = (relay_on(&cluster).await, relay_on(&cluster).await);
    let (path, sender) = a.create(json!({"accessRights": "RW"})).await;
    let receiver = new_uuid();
    assert_eq!(read(&b, &path, &receiver, 0, None).await.0.status, StatusCode::OK);

    let waiting = spawn_read(&b, &path, &receiver, 1, Some(15));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Relay B's subscription goes with its connection; B must notice and subscribe again.
    for &port in cluster.ports() {
        let _: i64 = redis::cmd("CLIENT")
            .arg(&["KILL", "TYPE", "pubsub"])
            .query_async(&mut node(port).await)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let written = write(&a, &path, &sender, "c2Vjb25k").await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text);

    let (reply, took) = waiting.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["messages"][0]["payload"]["data"], "c2Vjb25k");
    assert!(took < Duration::from_secs(7), "woken after {took:?}, not by the write");
}

#[tokio::test]
async fn a_reader_waiting_through_a_failover_wakes_on_the_next_write() {
    let cluster = tigress_test_support::RedisCluster::start(&[7241, 7242, 7243, 7244, 7245, 7246]);
    let on_cluster = |config: &mut tigress_relay::RelayConfig| {
        config.store = StoreConfig::RedisCluster { nodes: cluster.nodes() };
    };
    let (a, b) = (TestRelay::start_with(on_cluster).await, TestRelay::start_with(on_cluster).await);
    let (path, sender) = a.create(json!({"accessRights": "RW"})).await;
    let receiver = new_uuid();
    assert_eq!(read(&b, &path, &receiver, 0, None).await.0.status, StatusCode::OK);
    let slot = cluster.slot_of(&format!("tigress:{{{}}}:box", tag_of(&path)));

    let waiting = spawn_read(&b, &path, &receiver, 1, Some(50));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = cluster.kill_master_of(slot);
    let promoted = cluster.wait_for_failover(killed, Duration::from_secs(30));
    assert_ne!(promoted, killed);

    // The writer's relay follows the failover; until it does, its answer is a 503.
    let started = Instant::now();
    loop {
        let written = write(&a, &path, &sender, "YWZ0ZXIgZmFpbG92ZXI").await;
        if written.status == StatusCode::OK {
            break;
        }
        assert_eq!(written.status, StatusCode::SERVICE_UNAVAILABLE, "{}", written.text);
        assert!(started.elapsed() < Duration::from_secs(20), "relay A never followed the failover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The reader waited through it on relay B, subscribed again on the promoted master, and
    // was woken by the write: not a 503, not the end of its wait.
    let (reply, took) = waiting.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["messages"][0]["payload"]["data"], "YWZ0ZXIgZmFpbG92ZXI");
    assert!(took < Duration::from_secs(45), "woken after {took:?}, at the end of its wait");
}
