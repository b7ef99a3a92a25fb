//! Hostile and malformed input: each answered with a clear 4xx and no change to any mailbox.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

/// Sends a raw body with the given claim to `path`.
async fn raw(
    relay: &TestRelay,
    method: Method,
    path: &str,
    claim: &str,
    body: &'static str,
) -> Reply {
    let reply = relay
        .http
        .request(method, relay.url(path))
        .header(CLAIM_HEADER, claim)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    Reply::from(reply).await
}

fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    *body.pointer_mut(pointer).unwrap() = value;
    body
}

fn add(mut body: Value, member: &str, value: Value) -> Value {
    body[member] = value;
    body
}

fn without(mut body: Value, parent: &str, member: &str) -> Value {
    body.pointer_mut(parent).unwrap().as_object_mut().unwrap().remove(member);
    body
}

#[tokio::test]
async fn refuses_bad_create_requests_and_creates_nothing() {
    let relay = TestRelay::start().await;
    let base = create_body();
    let long = "x".repeat(5000);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("no payload", without(base.clone(), "", "payload"), "malformed_body"),
        ("no title", without(base.clone(), "/displayInformation", "title"), "malformed_body"),
        ("no imageURL", without(base.clone(), "/displayInformation", "imageURL"), "malformed_body"),
        ("payload a string", with(base.clone(), "/payload", json!("AAAA")), "malformed_body"),
        (
            "title a number",
            with(base.clone(), "/displayInformation/title", json!(5)),
            "malformed_body",
        ),
        ("null data", with(base.clone(), "/payload/data", Value::Null), "malformed_body"),
        (
            "bad base64",
            with(base.clone(), "/payload/data", json!("!!not base64!!")),
            "invalid_payload",
        ),
        ("empty data", with(base.clone(), "/payload/data", json!("")), "invalid_payload"),
        ("empty type", with(base.clone(), "/payload/type", json!("")), "invalid_payload"),
        (
            "empty title",
            with(base.clone(), "/displayInformation/title", json!("")),
            "invalid_field",
        ),
        (
            "long title",
            with(base.clone(), "/displayInformation/title", json!(long.clone())),
            "invalid_field",
        ),
        (
            "long description",
            with(base.clone(), "/displayInformation/description", json!(long.clone())),
            "invalid_field",
        ),
        (
            "http image",
            with(base.clone(), "/displayInformation/imageURL", json!("http://img.example/a.png")),
            "invalid_image_url",
        ),
        (
            "script image",
            with(base.clone(), "/displayInformation/imageURL", json!("javascript:alert(1)")),
            "invalid_image_url",
        ),
        (
            "relative image",
            with(base.clone(), "/displayInformation/imageURL", json!("/a.png")),
            "invalid_image_url",
        ),
        (
            "token without data",
            add(base.clone(), "notificationToken", json!({"type": "com.apple.apns"})),
            "malformed_body",
        ),
        (
            "empty token data",
            add(base.clone(), "notificationToken", json!({"type": "t", "tokenData": ""})),
            "invalid_field",
        ),
        (
            "bad rights",
            add(base.clone(), "mailboxConfiguration", json!({"accessRights": "RX"})),
            "invalid_access_rights",
        ),
        (
            "empty rights",
            add(base.clone(), "mailboxConfiguration", json!({"accessRights": ""})),
            "invalid_access_rights",
        ),
        (
            "repeated rights",
            add(base.clone(), "mailboxConfiguration", json!({"accessRights": "RR"})),
            "invalid_access_rights",
        ),
        (
            "past expiration",
            add(
                base.clone(),
                "mailboxConfiguration",
                json!({"expiration": "2001-01-01T00:00:00Z"}),
            ),
            "invalid_expiration",
        ),
        (
            "malformed expiration",
            add(base.clone(), "mailboxConfiguration", json!({"expiration": "next tuesday"})),
            "invalid_expiration",
        ),
        (
            "numeric expiration",
            add(base.clone(), "mailboxConfiguration", json!({"expiration": 1234})),
            "malformed_body",
        ),
    ];
    for (name, body, code) in cases {
        let reply = relay
            .send(Method::POST, "/v1/m", Some(&new_uuid()), Some(&new_uuid()), Some(&body))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}: {}", reply.text);
        assert_eq!(reply.code(), code, "{name}");
        assert!(!reply.json()["message"].as_str().unwrap().is_empty());
    }
    for text in ["", "{", "[]", "null", "{\"payload\":", "\u{0}", "{\"a\":1}{}"] {
        let reply = raw(&relay, Method::POST, "/v1/m", &new_uuid(), text).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::BAD_REQUEST, "malformed_body"),
            "{text:?}"
        );
    }
    assert_eq!(relay.mailbox_rows(), 0);
}

#[tokio::test]
async fn refuses_bad_updates_and_keeps_the_message() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    for body in [
        json!({}),
        json!({"payload": {"type": "AEAD_AES_128_GCM"}}),
        json!({"payload": payload("@@@@")}),
        json!({"payload": payload("AAAA"), "notificationToken": {"tokenData": "x"}}),
    ] {
        let reply =
            relay.send(Method::PUT, &path, Some(&sender), Some(&new_uuid()), Some(&body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.text);
    }
    let huge = json!({"payload": payload(&"A".repeat(65 * 1024))});
    let reply = relay.send(Method::PUT, &path, Some(&sender), Some(&new_uuid()), Some(&huge)).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let read = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    assert_eq!(read.json()["payload"], create_body()["payload"]);
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_accepted_and_a_configured_limit_is_enforced() {
    let relay = TestRelay::start_with(|c| c.limits.max_body_bytes = 2048).await;
    let mut body = create_body();
    body["payload"]["data"] = json!("A".repeat(1400));
    assert_eq!(
        relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await.status,
        StatusCode::OK
    );
    body["payload"]["data"] = json!("A".repeat(2100));
    assert_eq!(
        relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn bad_mailbox_ids_and_path_games_are_not_found() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let id = path.rsplit('/').next().unwrap().to_owned();
    let braced = format!("/v1/m/{{{id}}}");
    let simple = format!("/v1/m/{}", id.replace('-', ""));
    let extra = format!("{path}/extra");
    let trailing = format!("{path}/");
    let dotted = format!("/v1/m/../m/{id}x");
    let upper = format!("/v1/m/{}", uuid::Uuid::new_v4().to_string().to_uppercase());
    for bad in [
        "/v1/m/not-a-uuid",
        "/v1/m/%00",
        "/v1/m/%ff%fe",
        &braced,
        &simple,
        &extra,
        &trailing,
        &dotted,
        &upper,
        "/v1//m",
        "/V1/m",
    ] {
        let reply = relay.send(Method::POST, bad, Some(&sender), None, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{bad}: {}", reply.text);
        assert_eq!(reply.code(), "not_found");
    }
    // The real mailbox is untouched: no one was bound by any of that.
    assert_eq!(
        relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_claims_and_request_ids_are_refused() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    for claim in [
        "",
        "1234",
        "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
        "{00000000-0000-0000-0000-000000000000}",
        "00000000000000000000000000000000",
    ] {
        let reply = relay.send(Method::POST, &path, Some(claim), None, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{claim:?}");
        let reply =
            relay.send(Method::POST, "/v1/m", Some(claim), None, Some(&create_body())).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "create with {claim:?}");
    }
    let long_id = "r".repeat(200);
    let reply = relay
        .send(
            Method::PUT,
            &path,
            Some(&sender),
            Some(&long_id),
            Some(&json!({"payload": payload("AAAA")})),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request_id")
    );
    assert_eq!(relay.mailbox_rows(), 1);
    // Still nobody bound.
    assert_eq!(
        relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_members_and_query_parameters_are_ignored() {
    let relay = TestRelay::start().await;
    let mut body = create_body();
    body["mailboxIdentifier"] = json!("00000000-0000-4000-8000-000000000000");
    body["future"] = json!({"nested": [1, 2, 3]});
    let reply =
        relay.send(Method::POST, "/v1/m?v=c&x=1", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(
        !reply.json()["urlLink"].as_str().unwrap().contains("00000000-0000-4000-8000-000000000000")
    );
    let path = mailbox_path(&reply);
    assert_eq!(
        relay
            .send(Method::POST, &format!("{path}?v=c"), Some(&new_uuid()), None, None)
            .await
            .status,
        StatusCode::OK
    );
}

/// Serde's derived structs also read a JSON array, member by member in order; the API's bodies
/// are objects, and an array where an object belongs is refused, not read by position.
#[tokio::test]
async fn arrays_in_place_of_objects_are_refused() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let display = json!(["Room 412", "Hotel key", "https://img.example/hotel.png"]);
    let cases: Vec<(Method, &str, Value)> = vec![
        (Method::POST, path.as_str(), json!([null, null])),
        (Method::POST, path.as_str(), json!({"notificationToken": ["com.apple.apns", "abc"]})),
        (Method::PUT, path.as_str(), json!([["AEAD_AES_128_GCM", "AAAA"], null])),
        (Method::PUT, path.as_str(), json!({"payload": ["AEAD_AES_128_GCM", "AAAA"]})),
        (
            Method::POST,
            "/v1/m",
            json!([create_body()["payload"], create_body()["displayInformation"], null, null]),
        ),
        (Method::POST, "/v1/m", add(create_body(), "displayInformation", display)),
        (Method::POST, "/v1/m", add(create_body(), "mailboxConfiguration", json!(["RWD"]))),
    ];
    for (method, target, body) in cases {
        let reply = relay.send(method.clone(), target, Some(&sender), None, Some(&body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{method} {body}: {}", reply.text);
        assert_eq!(reply.code(), "malformed_body", "{method} {body}");
    }
    assert_eq!(relay.mailbox_rows(), 1, "nothing was created");
    let read = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    assert_eq!(read.json()["lastSeq"], 1, "nothing was written");
}
