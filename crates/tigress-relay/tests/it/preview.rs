//! §11: the preview page and its JSON form. Both bind nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn serves_escaped_opengraph_tags_without_any_script() {
    let relay = TestRelay::start().await;
    let mut body = create_body();
    body["displayInformation"] = json!({
        "title": "<script>alert('t')</script>\" onload=\"x",
        "description": "Tom & Jerry's <b>car</b>",
        "imageURL": "https://img.example/car.png?size=2&x=\"><script>"
    });
    let created = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let path = mailbox_path(&created);
    let page = Reply::from(relay.http.get(relay.url(&path)).send().await.unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let html = page.text.to_lowercase();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("onload=\""), "{html}");
    assert!(page.text.contains(r#"<meta property="og:title" content="&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;&quot; onload=&quot;x">"#), "{}", page.text);
    assert!(page.text.contains(
        r#"<meta property="og:description" content="Tom &amp; Jerry&#39;s &lt;b&gt;car&lt;/b&gt;">"#
    ));
    assert!(page.text.contains(r#"<meta property="og:image" content="https://img.example/car.png?size=2&amp;x=&quot;&gt;&lt;script&gt;">"#));
    assert!(
        page.text
            .contains(&format!(r#"<meta property="og:url" content="{}{path}">"#, relay.base()))
    );
    assert!(page.text.contains(r#"<meta property="og:type" content="website">"#));
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; img-src https:; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
        // No other site may frame the page (review finding 9), and HTTPS sticks.
        ("x-frame-options", "DENY"),
        ("strict-transport-security", "max-age=31536000"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        ("x-robots-tag", "noindex"),
    ] {
        assert_eq!(page.header(name), Some(value), "{name}");
    }
}

#[tokio::test]
async fn answers_json_when_asked_and_head_without_a_body() {
    let relay = TestRelay::start().await;
    let (path, _) = relay.create(json!({})).await;
    let reply = Reply::from(
        relay.http.get(relay.url(&path)).header("accept", "application/json").send().await.unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["displayInformation"], create_body()["displayInformation"]);
    assert!(body["expiration"].as_str().unwrap().ends_with('Z'));
    assert!(body.get("payload").is_none(), "the preview never carries the payload");

    // A browser's Accept (HTML and anything) still gets the page.
    let browser = relay
        .http
        .get(relay.url(&path))
        .header("accept", "text/html,application/json;q=0.9,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert!(browser.headers()["content-type"].to_str().unwrap().starts_with("text/html"));

    let head = relay.http.head(relay.url(&path)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(head.bytes().await.unwrap().is_empty());
    let missing = relay
        .http
        .head(relay.url("/v1/m/00000000-0000-4000-8000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn previews_bind_nothing_even_with_a_claim() {
    let relay = TestRelay::start().await;
    let (path, _) = relay.create(json!({})).await;
    let bot = new_uuid();
    for _ in 0..3 {
        let page =
            relay.http.get(relay.url(&path)).header(CLAIM_HEADER, &bot).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
    }
    let receiver = new_uuid();
    assert_eq!(
        relay.send(Method::POST, &path, Some(&receiver), None, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        relay.send(Method::POST, &path, Some(&bot), None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}
