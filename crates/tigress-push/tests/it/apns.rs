//! APNs against a local HTTP/2 server that checks what Apple checks.

use std::sync::Arc;

use axum::http::Version;
use serde_json::json;
use tigress_push::{APNS, Apns, ApnsConfig, Delivery, PushError, Pusher};

use crate::support::{Server, fast_retry, keys, p256_key, unix_now, verify_es256};

const TEAM_ID: &str = "TEAM123456";
const KEY_ID: &str = "KEY7654321";
const TOPIC: &str = "com.example.wallet";
/// A second app of the same key, that tokens may name.
const OTHER_TOPIC: &str = "com.example.wallet.voip";
const DEVICE: &str = "5b2d1c0a9e8f7d6c5b4a39281706f5e4d3c2b1a0ffeeddccbbaa998877665544";

/// A pusher with APNs pointed at `server`, and the key's public half.
fn pusher(server: &Server, attempts: u32) -> (Pusher, p256::ecdsa::VerifyingKey) {
    let (key, pem) = p256_key();
    let config = ApnsConfig {
        base_url: server.url.clone(),
        team_id: TEAM_ID.into(),
        key_id: KEY_ID.into(),
        private_key_pem: pem,
        topic: TOPIC.into(),
        topics: vec![OTHER_TOPIC.into()],
    };
    let apns = Apns::new(&config).unwrap();
    (Pusher::new(vec![Arc::new(apns)], fast_retry(attempts)), key.public_key().into())
}

#[tokio::test]
async fn delivers_a_background_push_over_http2_with_a_valid_provider_token() {
    let server = Server::scripted(&[]).await;
    let (pusher, public) = pusher(&server, 1);

    assert_eq!(pusher.notify(APNS, DEVICE).await.unwrap(), Delivery::Delivered);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.version, Version::HTTP_2, "APNs only speaks HTTP/2");
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/3/device/{DEVICE}"));
    assert_eq!(request.header("apns-topic"), TOPIC);
    assert_eq!(request.header("apns-push-type"), "background");
    assert_eq!(request.header("apns-priority"), "5");
    let expiration: i64 = request.header("apns-expiration").parse().unwrap();
    assert!(expiration > unix_now() && expiration <= unix_now() + 24 * 3600, "kept a day at most");

    let jwt = request.header("authorization").strip_prefix("bearer ").expect("a bearer token");
    let (header, claims) = verify_es256(jwt, &public);
    assert_eq!(header, json!({"alg": "ES256", "kid": KEY_ID}));
    assert_eq!(keys(&claims), ["iat", "iss"]);
    assert_eq!(claims["iss"], TEAM_ID);
    let iat = claims["iat"].as_i64().expect("a numeric iat");
    assert!((iat - unix_now()).abs() <= 60, "iat is now");

    assert_eq!(request.json(), json!({"aps": {"content-available": 1}}), "nothing but a wake-up");
}

#[tokio::test]
async fn a_token_s_own_topic_is_used_only_when_the_operator_listed_it() {
    let server = Server::scripted(&[]).await;
    let (pusher, _) = pusher(&server, 1);
    for requested in [Some(OTHER_TOPIC), Some("com.attacker.app"), None] {
        let delivery = pusher.notify_with_topic(APNS, DEVICE, requested).await.unwrap();
        assert_eq!(delivery, Delivery::Delivered, "{requested:?}");
    }
    let topics: Vec<String> =
        server.requests().iter().map(|r| r.header("apns-topic").to_owned()).collect();
    assert_eq!(topics, [OTHER_TOPIC, TOPIC, TOPIC], "an unlisted topic falls back to the default");
}

#[tokio::test]
async fn reuses_the_provider_token_for_the_next_push() {
    let server = Server::scripted(&[]).await;
    let (pusher, _) = pusher(&server, 1);

    assert_eq!(pusher.notify(APNS, DEVICE).await.unwrap(), Delivery::Delivered);
    assert_eq!(pusher.notify(APNS, DEVICE).await.unwrap(), Delivery::Delivered);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("authorization"), requests[1].header("authorization"));
}

#[tokio::test]
async fn answer_410_means_the_token_is_gone() {
    let server = Server::scripted(&[(410, r#"{"reason":"Unregistered","timestamp":1}"#)]).await;
    let (pusher, _) = pusher(&server, 3);

    assert_eq!(pusher.notify(APNS, DEVICE).await.unwrap(), Delivery::Gone);
    assert_eq!(server.requests().len(), 1, "no retry");
}

#[tokio::test]
async fn answer_400_bad_device_token_means_the_token_is_gone() {
    let server = Server::scripted(&[(400, r#"{"reason":"BadDeviceToken"}"#)]).await;
    let (pusher, _) = pusher(&server, 3);

    assert_eq!(pusher.notify(APNS, DEVICE).await.unwrap(), Delivery::Gone);
    assert_eq!(server.requests().len(), 1, "no retry");
}

#[tokio::test]
async fn answer_503_is_retried_and_then_delivered() {
    let server = Server::scripted(&[(503, r#"{"reason":"ServiceUnavailable"}"#)]).await;
    let (pusher, _) = pusher(&server, 3);

    assert_eq!(pusher.notify(APNS, DEVICE).await.unwrap(), Delivery::Delivered);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn other_4xx_answers_are_rejected_without_retrying() {
    let server = Server::scripted(&[(400, r#"{"reason":"BadTopic"}"#)]).await;
    let (pusher, _) = pusher(&server, 3);

    let delivery = pusher.notify(APNS, DEVICE).await.unwrap();
    assert_eq!(
        delivery,
        Delivery::Failed(PushError::Rejected("APNs answered 400 BadTopic".into()))
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_expired_provider_token_is_renewed_once() {
    let expired = (403, r#"{"reason":"ExpiredProviderToken"}"#);
    let server = Server::scripted(&[expired, expired]).await;
    let (pusher, _) = pusher(&server, 1);

    // One renewal within the attempt; a second refusal is the configuration's fault.
    let delivery = pusher.notify(APNS, DEVICE).await.unwrap();
    assert!(matches!(delivery, Delivery::Failed(PushError::Rejected(_))), "{delivery:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_device_token_that_is_not_hex_is_never_sent() {
    let server = Server::scripted(&[]).await;
    let (pusher, _) = pusher(&server, 3);

    for token in ["", "../../3/device/00", "00ff?x=1", "zz"] {
        let delivery = pusher.notify(APNS, token).await.unwrap();
        assert!(matches!(delivery, Delivery::Failed(PushError::Rejected(_))), "{token:?}");
    }
    assert!(server.requests().is_empty());
}
