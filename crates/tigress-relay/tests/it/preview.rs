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

/// The page in the viewer's language, naming the kind of key of the link's `?v=`, when it
/// expires, the configured app and its store pages, and what the relay cannot see.
#[tokio::test]
async fn the_page_speaks_the_viewer_s_language_and_says_what_to_do_next() {
    let relay = TestRelay::start_with(|config| {
        config.app_links.offer = tigress_relay::app_links::AppOffer {
            name: Some("Example Wallet".into()),
            app_store_url: Some("https://apps.apple.example/app/id123".into()),
            play_store_url: Some(
                "https://play.google.example/store/apps/details?id=com.example".into(),
            ),
        };
    })
    .await;
    let mut body = create_body();
    body["mailboxConfiguration"] = json!({"expiration": expires_in(3 * 3600 + 600)});
    let created = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let path = mailbox_path(&created);
    let get = |query: &str, language: Option<&str>| {
        let mut request = relay.http.get(relay.url(&format!("{path}{query}")));
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        async move { Reply::from(request.send().await.unwrap()).await }
    };

    let cases = [
        (
            None,
            "en",
            [
                "Car key",
                "in 3 hours",
                "Open this link with Example Wallet",
                "cannot read it or use it",
            ],
        ),
        (
            Some("de-DE,de;q=0.9,en;q=0.5"),
            "de",
            [
                "Autoschlüssel",
                "noch 3 Stunden",
                "Öffne diesen Link mit Example Wallet",
                "weder lesen noch benutzen",
            ],
        ),
        (
            Some("fr-CH, fr;q=0.9"),
            "fr",
            [
                "Clé de voiture",
                "dans 3 heures",
                "Ouvrez ce lien avec Example Wallet",
                "ni la lire ni l&#39;utiliser",
            ],
        ),
        (
            Some("es-MX"),
            "es",
            [
                "Llave de coche",
                "en 3 horas",
                "Abre este enlace con Example Wallet",
                "no puede leerla ni usarla",
            ],
        ),
        (
            Some("ja"),
            "ja",
            [
                "車のキー",
                "あと 3 時間",
                "Example Wallet で開いて",
                "読むことも使うこともできません",
            ],
        ),
        (
            Some("zh-CN,zh;q=0.9"),
            "zh-Hans",
            ["车钥匙", "3 小时后", "请用 Example Wallet 打开", "无法读取或使用"],
        ),
        (
            Some("ko-KR, pl;q=0.5"),
            "en",
            ["Car key", "in 3 hours", "Example Wallet", "cannot read it or use it"],
        ),
    ];
    for (language, tag, expected) in cases {
        let page = get("?v=c", language).await;
        assert_eq!(page.status, StatusCode::OK, "{language:?}");
        assert_eq!(page.header("content-language"), Some(tag), "{language:?}");
        assert_eq!(page.header("vary"), Some("accept, accept-language"));
        assert!(page.text.contains(&format!("<html lang=\"{tag}\">")), "{language:?}");
        for text in expected.iter().chain(&[
            "https://apps.apple.example/app/id123",
            "Google Play",
            "Room 412",
        ]) {
            assert!(page.text.contains(text), "{language:?} lacks {text}:\n{}", page.text);
        }
    }
    // The kind of key follows the link: a home key, and none named without `v`.
    assert!(get("?v=h", None).await.text.contains("Home key"));
    let bare = get("", None).await.text;
    assert!(!bare.contains("Kind of key"), "{bare}");
    // The expiry is written as an instant too, in UTC.
    let stamp = created_expiry(&relay, &path).await;
    assert!(bare.contains(&format!("<time datetime=\"{stamp}\">")), "{stamp}: {bare}");
}

/// An RFC 3339 expiration `seconds` from now.
fn expires_in(seconds: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    at.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The mailbox's expiration, from the JSON preview.
async fn created_expiry(relay: &TestRelay, path: &str) -> String {
    let request = relay.http.get(relay.url(path)).header("accept", "application/json");
    let reply = Reply::from(request.send().await.unwrap()).await;
    reply.json()["expiration"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn store_pages_that_are_not_https_stop_the_relay_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tigress_relay::RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.app_links.offer.play_store_url = Some("http://play.example/x".into());
    let error = tigress_relay::start(config).await.err().expect("the relay refuses to start");
    assert!(format!("{error:#}").contains("play_store_url"), "{error:#}");
}
