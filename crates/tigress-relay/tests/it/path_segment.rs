//! A relay configured with another mailbox path segment (`/v1/mailbox` instead of `/v1/m`, for
//! clients built with that path): every mailbox operation answers there and not under `/v1/m`,
//! and what names the path (share links, the descriptor, the OpenAPI document, the universal
//! links file) names the configured one.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::app_links::AppLinks;

use crate::support::*;

const SEGMENT: &str = "mailbox";

async fn relay() -> TestRelay {
    TestRelay::start_with(|config| {
        config.mailbox_segment = SEGMENT.parse().unwrap();
        config.app_links = AppLinks {
            apple_app_ids: vec!["ABCDE12345.com.example.wallet".into()],
            ..Default::default()
        };
    })
    .await
}

#[tokio::test]
async fn every_mailbox_operation_answers_under_the_configured_segment_only() {
    let relay = relay().await;
    let (sender, receiver) = (new_uuid(), new_uuid());
    let mut body = create_body();
    body["mailboxConfiguration"] = json!({"accessRights": "RWD"});
    let refused =
        relay.send(Method::POST, "/v1/m", Some(&sender), Some(&new_uuid()), Some(&body)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    assert_eq!(relay.mailbox_rows(), 0);

    let created = relay
        .send(Method::POST, "/v1/mailbox", Some(&sender), Some(&new_uuid()), Some(&body))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let link = created.json()["urlLink"].as_str().unwrap().to_owned();
    let prefix = format!("{}/v1/mailbox/", relay.base());
    let id =
        link.strip_prefix(&prefix).unwrap_or_else(|| panic!("{link} under {prefix}")).to_owned();
    let path = format!("/v1/mailbox/{id}");

    let preview = relay.send(Method::GET, &path, None, None, None).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert!(preview.text.contains(&link), "the page's og:url is the link: {}", preview.text);
    let old = relay.send(Method::GET, &format!("/v1/m/{id}"), None, None, None).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);

    let (first, _) = read(&relay, &path, &receiver, 0, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json()["displayInformation"]["title"], "Room 412");
    let answer = write(&relay, &path, &receiver, "BBBB").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let (reply, _) = read(&relay, &path, &sender, 1, None).await;
    assert_eq!(reply.json()["payload"]["data"], "BBBB", "{}", reply.text);

    let deleted = relay.send(Method::DELETE, &path, Some(&sender), None, None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(relay.mailbox_rows(), 0);
    let gone = relay.send(Method::GET, &path, None, None, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_descriptor_openapi_and_universal_links_name_the_configured_path() {
    let relay = relay().await;
    let descriptor = relay.send(Method::GET, "/.well-known/tigress-relay", None, None, None).await;
    assert_eq!(descriptor.json()["mailboxPath"], "/v1/mailbox", "{}", descriptor.text);

    let openapi = relay.send(Method::GET, "/openapi.json", None, None, None).await.json();
    let paths = openapi["paths"].as_object().unwrap();
    assert!(
        paths.contains_key("/v1/mailbox") && paths.contains_key("/v1/mailbox/{id}"),
        "{paths:?}"
    );
    assert!(!paths.keys().any(|p| p.starts_with("/v1/m/") || p == "/v1/m"), "{paths:?}");

    let apple =
        relay.send(Method::GET, "/.well-known/apple-app-site-association", None, None, None).await;
    assert_eq!(
        apple.json()["applinks"]["details"][0]["components"][0],
        json!({"/": "/v1/mailbox/*", "comment": "Tigress share links"})
    );
}

#[tokio::test]
async fn metrics_count_the_configured_routes_as_mailbox_operations() {
    let relay = TestRelay::start_with(|config| {
        config.mailbox_segment = SEGMENT.parse().unwrap();
        crate::metrics::with_metrics(config);
    })
    .await;
    let body = create_body();
    let sender = new_uuid();
    let created = relay
        .send(Method::POST, "/v1/mailbox", Some(&sender), Some(&new_uuid()), Some(&body))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let scrape = crate::metrics::Scrape::of(&relay).await;
    assert_eq!(scrape.requests("create", 200), 1.0, "{}", scrape.text);
}
