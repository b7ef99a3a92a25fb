//! §7: `Mailbox-Request-ID` de-duplication.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_repeated_create_answers_201_with_the_original_body_and_creates_nothing() {
    let relay = TestRelay::start().await;
    let (claim, id) = (new_uuid(), new_uuid());
    let first =
        relay.send(Method::POST, "/v1/m", Some(&claim), Some(&id), Some(&create_body())).await;
    assert_eq!(first.status, StatusCode::OK);
    let mut different = create_body();
    different["displayInformation"]["title"] = json!("Something else");
    let again = relay.send(Method::POST, "/v1/m", Some(&claim), Some(&id), Some(&different)).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.json(), first.json(), "the 201 repeats the original body");
    assert_eq!(relay.mailbox_rows(), 1);
    let preview = relay
        .http
        .get(relay.url(&mailbox_path(&first)))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let preview: serde_json::Value = preview.json().await.unwrap();
    assert_eq!(preview["displayInformation"]["title"], "Room 412", "the repeated body was ignored");

    // The same id from another claim is another request.
    let other =
        relay.send(Method::POST, "/v1/m", Some(&new_uuid()), Some(&id), Some(&create_body())).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_ne!(other.json()["urlLink"], first.json()["urlLink"]);
    // Without a request id nothing is de-duplicated.
    let bare1 = relay.send(Method::POST, "/v1/m", Some(&claim), None, Some(&create_body())).await;
    let bare2 = relay.send(Method::POST, "/v1/m", Some(&claim), None, Some(&create_body())).await;
    assert_eq!((bare1.status, bare2.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(relay.mailbox_rows(), 4);
}

#[tokio::test]
async fn a_repeated_update_does_not_overwrite_a_newer_message() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({"accessRights": "RWD"})).await;
    let receiver = new_uuid();
    relay.send(Method::POST, &path, Some(&receiver), None, None).await;

    let id = new_uuid();
    let first = json!({"payload": payload("MTExMTExMTExMTExMTExMTExMTExMTEx")});
    assert_eq!(
        relay.send(Method::PUT, &path, Some(&sender), Some(&id), Some(&first)).await.status,
        StatusCode::OK
    );
    // The receiver answers; then the sender's first update arrives again (a network retry).
    let reply = json!({"payload": payload("MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIy")});
    assert_eq!(
        relay
            .send(Method::PUT, &path, Some(&receiver), Some(&new_uuid()), Some(&reply))
            .await
            .status,
        StatusCode::OK
    );
    let retry = relay.send(Method::PUT, &path, Some(&sender), Some(&id), Some(&first)).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.json(), json!({"isPushNotificationSupported": false}));
    let read = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    assert_eq!(read.json()["payload"], reply["payload"], "the retry did not overwrite");
}

#[tokio::test]
async fn only_the_latest_request_id_is_remembered() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let (old, new) = (new_uuid(), new_uuid());
    let a = json!({"payload": payload("QUFBQQ==")});
    let b = json!({"payload": payload("QkJCQg==")});
    assert_eq!(
        relay.send(Method::PUT, &path, Some(&sender), Some(&old), Some(&a)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        relay.send(Method::PUT, &path, Some(&sender), Some(&new), Some(&b)).await.status,
        StatusCode::OK
    );
    // The older id runs again.
    assert_eq!(
        relay.send(Method::PUT, &path, Some(&sender), Some(&old), Some(&a)).await.status,
        StatusCode::OK
    );
    let read = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    assert_eq!(read.json()["payload"], a["payload"]);
}

#[tokio::test]
async fn a_failed_request_is_not_recorded() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let id = new_uuid();
    let bad = json!({"payload": {"type": "AEAD_AES_128_GCM", "data": "%%%"}});
    assert_eq!(
        relay.send(Method::PUT, &path, Some(&sender), Some(&id), Some(&bad)).await.status,
        StatusCode::BAD_REQUEST
    );
    let good = json!({"payload": payload("R09PRA==")});
    assert_eq!(
        relay.send(Method::PUT, &path, Some(&sender), Some(&id), Some(&good)).await.status,
        StatusCode::OK,
        "the retry after a 400 is processed"
    );

    // A create refused for a bad field, then retried fixed, creates.
    let claim = new_uuid();
    let mut broken = create_body();
    broken["displayInformation"]["imageURL"] = json!("http://plain.example/x.png");
    assert_eq!(
        relay.send(Method::POST, "/v1/m", Some(&claim), Some(&id), Some(&broken)).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        relay
            .send(Method::POST, "/v1/m", Some(&claim), Some(&id), Some(&create_body()))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_repeated_relinquish_answers_201_and_does_not_unbind_the_next_receiver() {
    let relay = TestRelay::start().await;
    let (path, _) = relay.create(json!({})).await;
    let first = new_uuid();
    relay.send(Method::POST, &path, Some(&first), None, None).await;
    let id = new_uuid();
    let done = relay.send(Method::PATCH, &path, Some(&first), Some(&id), None).await;
    assert_eq!((done.status, done.text.as_str()), (StatusCode::OK, ""));
    let second = new_uuid();
    assert_eq!(
        relay.send(Method::POST, &path, Some(&second), None, None).await.status,
        StatusCode::OK
    );
    let again = relay.send(Method::PATCH, &path, Some(&first), Some(&id), None).await;
    assert_eq!((again.status, again.text.as_str()), (StatusCode::CREATED, ""));
    assert_eq!(
        relay.send(Method::POST, &path, Some(&second), None, None).await.status,
        StatusCode::OK,
        "still bound"
    );
    assert_eq!(
        relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn reads_and_deletes_are_not_de_duplicated() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let id = new_uuid();
    for _ in 0..2 {
        assert_eq!(
            relay.send(Method::POST, &path, Some(&sender), Some(&id), None).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        relay.send(Method::DELETE, &path, Some(&sender), Some(&id), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        relay.send(Method::DELETE, &path, Some(&sender), Some(&id), None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The shipped wallet spells the header `Mailbox-Request-Id`; header names are case-blind, and
/// this keeps that spelling covered over the wire, as it is sent.
#[tokio::test]
async fn the_mailbox_request_id_spelling_of_shipped_clients_deduplicates_too() {
    let relay = TestRelay::start().await;
    let (claim, id) = (new_uuid(), new_uuid());
    let send = || {
        relay
            .http
            .post(relay.url("/v1/m"))
            .header(CLAIM_HEADER, &claim)
            .header("Mailbox-Request-Id", &id)
            .json(&create_body())
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["mailbox-request-id"], id.as_str(), "echoed");
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED, "a replay");
    assert_eq!(relay.mailbox_rows(), 1);
}
