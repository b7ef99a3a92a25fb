//! The six operations end to end, expiry, and the headers every response carries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_proto::expiration;
use tigress_relay::Clock;

use crate::support::*;

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn share_read_update_relinquish_and_delete_a_mailbox() {
    let relay = TestRelay::start().await;
    let sender = new_uuid();
    let created = relay
        .send(Method::POST, "/v1/m", Some(&sender), Some(&new_uuid()), Some(&create_body()))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let link = created.json()["urlLink"].as_str().unwrap().to_owned();
    let id = link.rsplit('/').next().unwrap().to_owned();
    assert_eq!(link, format!("{}/v1/m/{id}", relay.base()));
    let parsed = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(id, id.to_lowercase());
    assert_eq!(created.json()["isPushNotificationSupported"], false);
    let path = mailbox_path(&created);

    // The first fresh claim to read binds as receiver and sees the sender's payload.
    let receiver = new_uuid();
    let read = relay.send(Method::POST, &path, Some(&receiver), None, None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let body = read.json();
    assert_eq!(body["payload"], create_body()["payload"]);
    assert_eq!(body["displayInformation"], create_body()["displayInformation"]);
    let expires = expiration::parse(body["expiration"].as_str().unwrap()).unwrap();
    assert!(body["expiration"].as_str().unwrap().ends_with('Z'));
    assert!((expires - (now() + 48 * 3600)).abs() <= 5, "default lifetime is 48 h");

    // The sender writes; both parties read the latest message.
    let update = json!({"payload": payload("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")});
    let updated =
        relay.send(Method::PUT, &path, Some(&sender), Some(&new_uuid()), Some(&update)).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.json(), json!({"isPushNotificationSupported": false}));
    for claim in [&sender, &receiver] {
        let read = relay.send(Method::POST, &path, Some(claim), None, None).await;
        assert_eq!(read.json()["payload"], update["payload"]);
    }

    // The receiver lets go; a new device binds and sees the slot as it is.
    let relinquished =
        relay.send(Method::PATCH, &path, Some(&receiver), Some(&new_uuid()), None).await;
    assert_eq!(relinquished.status, StatusCode::OK, "{}", relinquished.text);
    assert_eq!(
        relay.send(Method::POST, &path, Some(&receiver), None, None).await.status,
        StatusCode::OK,
        "the slot is empty again: the old claim binds anew like any other"
    );
    let third = new_uuid();
    assert_eq!(
        relay.send(Method::POST, &path, Some(&third), None, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Delete ends it for everyone, and a repeat is 404.
    assert_eq!(
        relay.send(Method::DELETE, &path, Some(&sender), Some(&new_uuid()), None).await.status,
        StatusCode::OK
    );
    for (method, claim) in [
        (Method::DELETE, &sender),
        (Method::POST, &receiver),
        (Method::PUT, &sender),
        (Method::PATCH, &receiver),
    ] {
        let body = (method == Method::PUT).then_some(&update);
        let reply = relay.send(method.clone(), &path, Some(claim), Some(&new_uuid()), body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} after delete");
        assert_eq!(reply.code(), "not_found");
    }
    assert_eq!(
        relay.http.get(relay.url(&path)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(relay.mailbox_rows(), 0, "the row is gone, not flagged");
}

#[tokio::test]
async fn expired_mailboxes_are_gone_at_once_and_swept() {
    // The relay's clock is moved past the expiry instead of waiting for it.
    let clock = Clock::movable();
    let relay = TestRelay::start_with(|c| {
        c.sweep_interval = Duration::from_millis(300);
        c.clock = clock.clone();
    })
    .await;
    let soon = expiration::format(clock.unix_now() + 2);
    let (path, sender) = relay.create(json!({"expiration": soon})).await;
    assert_eq!(
        relay.send(Method::POST, &path, Some(&sender), None, None).await.status,
        StatusCode::OK
    );
    clock.advance(Duration::from_secs(3));
    let update = json!({"payload": payload("AAAA")});
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let body = (method == Method::PUT).then_some(&update);
        let reply = relay.send(method.clone(), &path, Some(&sender), Some(&new_uuid()), body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} after expiry");
    }
    assert_eq!(
        relay.http.get(relay.url(&path)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // The sweeper erases the row within a few intervals.
    let mut rows = relay.mailbox_rows();
    for _ in 0..50 {
        if rows == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        rows = relay.mailbox_rows();
    }
    assert_eq!(rows, 0, "the sweeper erased the expired mailbox");
}

#[tokio::test]
async fn expirations_are_normalised_and_clamped_to_the_maximum() {
    let relay = TestRelay::start().await;
    let far = expiration::format(now() + 30 * 24 * 3600);
    let (path, sender) = relay.create(json!({"expiration": far})).await;
    let read = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    let got = expiration::parse(read.json()["expiration"].as_str().unwrap()).unwrap();
    assert!((got - (now() + 7 * 24 * 3600)).abs() <= 5, "clamped to 7 days");

    // An offset and fractional seconds come back as whole-second UTC.
    let (path, sender) = relay.create(json!({"expiration": "2099-01-01T02:00:00.75+02:00"})).await;
    let read = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    let shown = read.json()["expiration"].as_str().unwrap().to_owned();
    assert!(shown.ends_with('Z') && !shown.contains('.'), "{shown}");
}

#[tokio::test]
async fn every_response_echoes_the_request_id() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let cases = [
        (Method::POST, "/v1/m".to_owned(), None), // 400 missing claim
        (Method::POST, path.clone(), Some(sender.clone())), // 200 read
        (Method::GET, path.clone(), None),        // 200 preview
        (Method::GET, "/v1/m/nope".to_owned(), None), // 404
        (Method::GET, "/v2/m".to_owned(), None),  // 404 fallback
        (Method::PATCH, path.clone(), Some(sender.clone())), // 401
        (Method::GET, "/v1/m".to_owned(), None),  // 405
        (Method::GET, "/healthz".to_owned(), None), // 200
    ];
    for (method, path, claim) in cases {
        let id = new_uuid();
        let reply = relay.send(method.clone(), &path, claim.as_deref(), Some(&id), None).await;
        assert_eq!(
            reply.header("mailbox-request-id"),
            Some(id.as_str()),
            "{method} {path} -> {}",
            reply.status
        );
    }
    let big = "A".repeat(70 * 1024);
    let id = new_uuid();
    let reply = relay
        .send(
            Method::POST,
            "/v1/m",
            Some(&new_uuid()),
            Some(&id),
            Some(&json!({"payload": payload(&big)})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.header("mailbox-request-id"), Some(id.as_str()));
}

#[tokio::test]
async fn unknown_versions_and_methods_answer_json_errors() {
    let relay = TestRelay::start().await;
    for (method, path, status, code) in [
        (Method::POST, "/v2/m", StatusCode::NOT_FOUND, "not_found"),
        (Method::GET, "/", StatusCode::NOT_FOUND, "not_found"),
        (Method::GET, "/v1/m", StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        (Method::DELETE, "/healthz", StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    ] {
        let reply = relay.send(method, path, Some(&new_uuid()), None, None).await;
        assert_eq!((reply.status, reply.code().as_str()), (status, code), "{path}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }
    let health = relay.send(Method::GET, "/healthz", None, None, None).await;
    assert_eq!((health.status, health.text.as_str()), (StatusCode::OK, "ok\n"));
}

#[tokio::test]
async fn push_is_not_supported_for_any_token_type_yet() {
    let relay = TestRelay::start().await;
    let mut body = create_body();
    body["notificationToken"] = json!({"type": "com.apple.apns", "tokenData": "abcdef"});
    let reply =
        relay.send(Method::POST, "/v1/m", Some(&new_uuid()), Some(&new_uuid()), Some(&body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["isPushNotificationSupported"], false);
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let relay =
        TestRelay::start_with(|c| c.limits.header_read_timeout = Duration::from_millis(300)).await;
    let addr = relay.relay().local_addr();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"POST /v1/m HTTP/1.1\r\nHost: relay\r\n").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the relay kept a connection with unfinished headers open");
}
