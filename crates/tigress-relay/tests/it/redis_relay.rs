//! Relays on the Redis Cluster store: the main flows answer like SQLite's, and several relays on
//! one cluster behave as one (a reader waiting on one wakes when its peer writes through
//! another).

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_proto::MailboxId;
use tigress_relay::StoreConfig;
use tigress_relay::store::redis::wake::{RedisWakeFeed, channel_name};
use tigress_relay::waiters::Waiters;

use crate::store_contract::redis_nodes;
use crate::support::{
    TestRelay, create_body, mailbox_path, new_uuid, payload, read, spawn_read, write,
};

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

/// The hex of a mailbox path's id: the hash tag of its keys and its wake channel.
pub fn tag_of(path: &str) -> String {
    path.rsplit('/').next().unwrap().replace('-', "")
}

/// How many subscribers the cluster counts on mailbox `path`'s wake channel, over all nodes.
async fn wake_subscribers(nodes: &[String], path: &str) -> i64 {
    let channel = format!("tigress:{{{}}}:wake", tag_of(path));
    let mut total = 0;
    for node in nodes {
        let client = redis::Client::open(format!("redis://{node}")).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let (_, count): (String, i64) = redis::cmd("PUBSUB")
            .arg("SHARDNUMSUB")
            .arg(&channel)
            .query_async(&mut conn)
            .await
            .unwrap();
        total += count;
    }
    total
}

#[tokio::test]
async fn a_reader_waiting_on_one_relay_wakes_when_the_peer_writes_through_another() {
    let (a, b) = (redis_relay().await, redis_relay().await);
    let (path, sender) = a.create(json!({"accessRights": "RW"})).await;
    let receiver = new_uuid();
    let (bound, _) = read(&b, &path, &receiver, 0, None).await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);

    let waiting = spawn_read(&b, &path, &receiver, 1, Some(15));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = write(&a, &path, &sender, "c2Vjb25k").await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text);

    let (reply, took) = waiting.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["messages"][0]["payload"]["data"], "c2Vjb25k");
    // Without the wake-up from relay A, the read would end only at its 15 s wait.
    assert!(took < Duration::from_secs(7), "woken after {took:?}, not by the write");
}

#[tokio::test]
async fn a_sender_waiting_on_one_relay_learns_of_a_bind_through_another() {
    let (a, b) = (redis_relay().await, redis_relay().await);
    let (path, sender) = a.create(json!({})).await;
    let waiting = spawn_read(&b, &path, &sender, 1, Some(15));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (bound, _) = read(&a, &path, &new_uuid(), 0, None).await;
    assert_eq!(bound.status, StatusCode::OK);
    let (woken, waited) = waiting.await.unwrap();
    assert_eq!(woken.json()["receiverBound"], true, "{}", woken.text);
    assert!(waited < Duration::from_secs(10), "woken by the bind: {waited:?}");
}

#[tokio::test]
async fn a_delete_through_one_relay_ends_waits_on_another() {
    let (a, b) = (redis_relay().await, redis_relay().await);
    let (path, sender) = a.create(json!({"accessRights": "RW"})).await;
    let receiver = new_uuid();
    assert_eq!(read(&b, &path, &receiver, 0, None).await.0.status, StatusCode::OK);

    let waiting = spawn_read(&b, &path, &receiver, 1, Some(15));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deleted = a.send(Method::DELETE, &path, Some(&sender), None, None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);

    let (reply, took) = waiting.await.unwrap();
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert!(took < Duration::from_secs(7), "woken after {took:?}, not by the delete");
}

#[tokio::test]
async fn each_relay_holds_one_subscription_per_mailbox_however_many_wait() {
    let nodes = redis_nodes();
    let (a, b) = (redis_relay().await, redis_relay().await);
    let (path, sender) = a.create(json!({"accessRights": "RW"})).await;
    let receiver = new_uuid();
    assert_eq!(read(&b, &path, &receiver, 0, None).await.0.status, StatusCode::OK);

    let mut waiting: Vec<_> =
        (0..20).map(|_| spawn_read(&b, &path, &receiver, 1, Some(15))).collect();
    waiting.extend((0..5).map(|_| spawn_read(&a, &path, &receiver, 1, Some(15))));
    // Sample while the 25 readers settle: never more than one subscription per relay.
    let mut counts = Vec::new();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        counts.push(wake_subscribers(&nodes, &path).await);
    }
    assert!(counts.iter().all(|&count| count <= 2), "subscriptions seen: {counts:?}");
    assert_eq!(counts.last(), Some(&2), "subscriptions seen: {counts:?}");

    let written = write(&a, &path, &sender, "c2Vjb25k").await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.text);
    for reader in waiting {
        let (reply, took) = reader.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert!(took < Duration::from_secs(7), "woken after {took:?}, not by the write");
    }
}

#[tokio::test]
async fn a_write_racing_the_start_of_a_wait_on_another_relay_is_never_lost() {
    let (a, b) = (redis_relay().await, redis_relay().await);
    // Each write is sent at once after its wait, so some land before the reader's subscription
    // and some after: either way the reader must get the message now, not at the end of its wait.
    let mut waits = Vec::new();
    for i in 0..30 {
        let (path, sender) = a.create(json!({"accessRights": "RW"})).await;
        let receiver = new_uuid();
        assert_eq!(read(&b, &path, &receiver, 0, None).await.0.status, StatusCode::OK);
        waits.push(spawn_read(&b, &path, &receiver, 1, Some(15)));
        // 0 to 3 ms: the write lands before, during or after the reader's subscription.
        tokio::time::sleep(Duration::from_micros(1000 * (i % 4))).await;
        assert_eq!(write(&a, &path, &sender, "cmFjZQ==").await.status, StatusCode::OK);
    }
    for waiting in waits {
        let (reply, took) = waiting.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.json()["messages"][0]["payload"]["data"], "cmFjZQ==");
        assert!(took < Duration::from_secs(7), "a wake-up was lost: woken after {took:?}");
    }
}

#[tokio::test]
async fn a_subscription_is_in_place_at_the_node_when_subscribe_returns() {
    let nodes = redis_nodes();
    let mut conns = Vec::new();
    for node in &nodes {
        let client = redis::Client::open(format!("redis://{node}")).unwrap();
        conns.push(client.get_multiplexed_async_connection().await.unwrap());
    }
    let waiters = Arc::new(Waiters::default());
    let feed = RedisWakeFeed::connect(&nodes, Arc::downgrade(&waiters)).await.unwrap();
    assert!(waiters.attach_feed(Arc::new(feed)).is_ok());
    for _ in 0..20 {
        let id = MailboxId::random(&mut rand::rngs::OsRng);
        let channel = channel_name(&id);
        let mut subscription = waiters.subscribe(id).await.unwrap();
        // A reader reads right after this point: from now on the node must count this relay's
        // subscription, and a write's publish must reach it.
        let mut subscribers = 0;
        let mut delivered = 0;
        for conn in &mut conns {
            let (_, count): (String, i64) = redis::cmd("PUBSUB")
                .arg("SHARDNUMSUB")
                .arg(&channel)
                .query_async(conn)
                .await
                .unwrap();
            subscribers += count;
            // Nodes that do not own the channel answer MOVED.
            let published: Result<i64, _> =
                redis::cmd("SPUBLISH").arg(&channel).arg("").query_async(conn).await;
            delivered += published.unwrap_or(0);
        }
        assert_eq!((subscribers, delivered), (1, 1), "subscribe returned before the node knew");
        tokio::time::timeout(Duration::from_secs(5), subscription.changed())
            .await
            .expect("the publish woke the subscriber");
    }
}

/// Review finding 5: a waiting read subscribed to the wake channel before any check, so waits
/// on random mailbox ids (or on others' mailboxes) held subscriptions on the cluster for seconds
/// after their 404 or 401. The mailbox and the caller are now checked by a read first.
#[tokio::test]
async fn a_wait_on_a_mailbox_that_is_not_the_callers_subscribes_to_nothing() {
    let nodes = redis_nodes();
    let relay = redis_relay().await;
    let (path, _) = relay.create(json!({})).await;
    read(&relay, &path, &new_uuid(), 0, None).await;
    let random = format!("/v1/m/{}", uuid::Uuid::new_v4());
    for (path, refused) in [(&random, StatusCode::NOT_FOUND), (&path, StatusCode::UNAUTHORIZED)] {
        let (reply, _) = read(&relay, path, &new_uuid(), 0, Some(5)).await;
        assert_eq!(reply.status, refused, "{}", reply.text);
        assert_eq!(wake_subscribers(&nodes, path).await, 0, "a refused wait left a subscription");
    }
}
