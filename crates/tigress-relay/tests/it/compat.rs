//! The compatibility profile's new shapes as bad input meets them: `displayInformationUrl` in
//! place of `displayInformation`, and `notificationToken.tokenTopic`. Each refusal is a 400
//! naming the field, and nothing is stored. (The accepted shapes are exercised end to end by the
//! conformance vectors, `conformance.rs`.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn url_create(url: &str) -> Value {
    let mut body = create_body();
    body.as_object_mut().unwrap().remove("displayInformation");
    body["displayInformationUrl"] = json!(url);
    body
}

async fn refused(relay: &TestRelay, body: &Value, code: &str, names: &str) {
    let reply = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.text);
    assert_eq!(reply.code(), code, "{body}");
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains(names), "{body}: the message names {names}: {message}");
    assert_eq!(relay.mailbox_rows(), 0, "nothing stored for {body}");
}

#[tokio::test]
async fn a_create_needs_exactly_one_of_the_two_display_members() {
    let relay = TestRelay::start().await;
    let mut both = create_body();
    both["displayInformationUrl"] = json!("https://vendor.example/share/1");
    let names = "displayInformation and displayInformationUrl";
    refused(&relay, &both, "invalid_field", names).await;
    let mut neither = create_body();
    neither.as_object_mut().unwrap().remove("displayInformation");
    refused(&relay, &neither, "invalid_field", names).await;
    refused(&relay, &url_create(""), "invalid_field", "displayInformationUrl").await;
    let long = format!("https://vendor.example/{}", "a".repeat(2048));
    refused(&relay, &url_create(&long), "invalid_field", "displayInformationUrl").await;
    for bad in [
        "http://vendor.example/share/1",
        "https://vendor.example/share/1#fragment",
        "https://user:pass@vendor.example/share/1",
        "https://vendor.example/share 1",
        "javascript:alert(1)",
    ] {
        refused(&relay, &url_create(bad), "invalid_display_url", "displayInformationUrl").await;
    }
    let not_a_string = json!({"payload": payload("AAAA"), "displayInformationUrl": 7});
    refused(&relay, &not_a_string, "malformed_body", "displayInformationUrl").await;
}

#[tokio::test]
async fn a_malformed_token_topic_is_refused_on_every_operation_that_takes_a_token() {
    let relay = TestRelay::start().await;
    let token =
        |topic: Value| json!({"type": "com.apple.apns", "tokenData": "00ff", "tokenTopic": topic});
    for topic in [json!(""), json!("com.example wallet"), json!("x".repeat(201)), json!(["a"])] {
        let mut body = create_body();
        body["notificationToken"] = token(topic.clone());
        let reply = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{topic}: {}", reply.text);
        assert!(reply.text.contains("tokenTopic"), "{topic}: {}", reply.text);
    }
    assert_eq!(relay.mailbox_rows(), 0);
    let (path, sender) = relay.create(json!({"accessRights": "RWD"})).await;
    let bad = token(json!("a/b"));
    let read = relay
        .send(
            Method::POST,
            &path,
            Some(&new_uuid()),
            None,
            Some(&json!({"notificationToken": bad})),
        )
        .await;
    assert_eq!((read.status, read.code()), (StatusCode::BAD_REQUEST, "invalid_field".into()));
    let update = json!({"payload": payload("QkJC"), "notificationToken": bad});
    let reply = relay.send(Method::PUT, &path, Some(&sender), None, Some(&update)).await;
    assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, "invalid_field".into()));
    let view = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    assert_eq!(view.json()["lastSeq"], 1, "the refused update wrote nothing");
    assert_eq!(view.json()["receiverBound"], false, "the refused read bound no one");
}
