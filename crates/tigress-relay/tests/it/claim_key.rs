//! Claims are stored as digests keyed by a secret kept outside the store, and mailboxes stored
//! with plain digests (before the relay had a key) keep working when a key arrives.

use std::os::unix::fs::PermissionsExt as _;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_proto::DeviceClaim;
use tigress_relay::ClaimKeyConfig;
use tigress_relay::mailbox::{ClaimHash, ClaimKey};

use crate::support::*;

/// The sender's and receiver's digests as the SQLite file holds them.
fn stored_claims(relay: &TestRelay) -> (Vec<u8>, Vec<u8>) {
    let path = relay.inner.dir().join("data/tigress.sqlite3");
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row("SELECT sender_claim, receiver_claim FROM mailboxes", [], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })
    .unwrap()
}

fn key_of(relay: &TestRelay) -> ClaimKey {
    let path = relay.inner.dir().join("data/claim-key");
    let text = std::fs::read_to_string(&path).expect("the relay made its key file");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the key file is the relay user's alone");
    let bytes: Vec<u8> =
        (0..32).map(|i| u8::from_str_radix(&text.trim()[2 * i..2 * i + 2], 16).unwrap()).collect();
    ClaimKey::from_bytes(bytes.try_into().unwrap())
}

fn claim(text: &str) -> DeviceClaim {
    text.parse().unwrap()
}

#[tokio::test]
async fn claims_are_stored_as_digests_under_a_key_kept_outside_the_store() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let receiver = new_uuid();
    assert_eq!(read(&relay, &path, &receiver, 0, None).await.0.status, StatusCode::OK);

    let key = key_of(&relay);
    let (stored_sender, stored_receiver) = stored_claims(&relay);
    for (stored, text) in [(&stored_sender, &sender), (&stored_receiver, &receiver)] {
        assert_eq!(stored[..], ClaimHash::keyed(&key, &claim(text)).0, "keyed digest stored");
        assert_ne!(stored[..], ClaimHash::of(&claim(text)).0, "not the plain digest");
    }
}

#[tokio::test]
async fn push_tokens_are_sealed_at_rest() {
    let relay = TestRelay::start().await;
    let token_data = format!("push-token-marker-{}", new_uuid());
    let mut body = create_body();
    body["notificationToken"] = json!({"type": "com.example.push", "tokenData": token_data});
    let created = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);

    let path = relay.inner.dir().join("data/tigress.sqlite3");
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let stored: String =
        conn.query_row("SELECT sender_token_data FROM mailboxes", [], |row| row.get(0)).unwrap();
    assert!(stored.starts_with("sealed1."), "the token is stored sealed");
    assert!(!stored.contains("push-token-marker"));
    let key = key_of(&relay);
    let sealed = tigress_proto::wire::NotificationToken::new("com.example.push", stored);
    let opened = tigress_relay::token_seal::TokenSeal::new(&key).open(&sealed);
    assert_eq!(opened.map(|o| o.token_data), Some(token_data), "and opens under the relay's key");
}

#[tokio::test]
async fn mailboxes_stored_with_plain_digests_keep_working_once_the_relay_has_a_key() {
    let mut relay = TestRelay::start_with(|config| config.claim_key = ClaimKeyConfig::Off).await;
    let (path, sender) = relay.create(json!({"accessRights": "RW"})).await;
    let receiver = new_uuid();
    assert_eq!(read(&relay, &path, &receiver, 0, None).await.0.status, StatusCode::OK);
    let request_id = new_uuid();
    let update = json!({"payload": payload("Zmlyc3Q")});
    let first =
        relay.send(Method::PUT, &path, Some(&sender), Some(&request_id), Some(&update)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let (stored_sender, _) = stored_claims(&relay);
    assert_eq!(stored_sender[..], ClaimHash::of(&claim(&sender)).0, "a relay without a key");

    relay.inner.restart_with(|_| {}).await;
    assert!(relay.inner.dir().join("data/claim-key").exists(), "the key is made on this start");

    // The sender is still the sender: its read does not bind it as a receiver...
    let (by_sender, _) = read(&relay, &path, &sender, 0, None).await;
    assert_eq!(by_sender.status, StatusCode::OK, "{}", by_sender.text);
    // ...the receiver is still the receiver, and a stranger is still refused.
    let (by_receiver, _) = read(&relay, &path, &receiver, 0, None).await;
    assert_eq!(by_receiver.status, StatusCode::OK, "{}", by_receiver.text);
    let (by_stranger, _) = read(&relay, &path, &new_uuid(), 0, None).await;
    assert_eq!(by_stranger.status, StatusCode::UNAUTHORIZED, "{}", by_stranger.text);
    assert_eq!(by_stranger.code(), "already_claimed");
    // A request recorded under the plain digest is still recognised as a replay.
    let again =
        relay.send(Method::PUT, &path, Some(&sender), Some(&request_id), Some(&update)).await;
    assert_eq!(again.status, StatusCode::CREATED, "a replay: {}", again.text);
    let (after, _) = read(&relay, &path, &receiver, 1, None).await;
    assert_eq!(after.json()["messages"].as_array().map(Vec::len), Some(1), "{}", after.text);
    // What the parties write now is stored under the key: the receiver lets go, another binds.
    let relinquished = relay.send(Method::PATCH, &path, Some(&receiver), None, None).await;
    assert_eq!(relinquished.status, StatusCode::OK, "{}", relinquished.text);
    let newcomer = new_uuid();
    assert_eq!(read(&relay, &path, &newcomer, 0, None).await.0.status, StatusCode::OK);
    let (_, stored_receiver) = stored_claims(&relay);
    assert_eq!(stored_receiver[..], ClaimHash::keyed(&key_of(&relay), &claim(&newcomer)).0);
}
