//! The app link files a phone fetches to open share links in the wallet app: served from the
//! configuration as JSON without a redirect, 404 when not configured, and a malformed entry stops
//! the relay at start with the entry named.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::app_links::{AndroidApp, AppLinks};

use crate::support::TestRelay;

const FINGERPRINT: &str = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5";

fn sample() -> AppLinks {
    AppLinks {
        apple_app_ids: vec!["ABCDE12345.com.example.wallet".into()],
        android: vec![AndroidApp {
            package: "com.example.wallet".into(),
            sha256_cert_fingerprints: vec![FINGERPRINT.into()],
        }],
        offer: Default::default(),
    }
}

#[tokio::test]
async fn configured_apps_get_their_files_as_json() {
    let relay = TestRelay::start_with(|config| config.app_links = sample()).await;

    let apple =
        relay.send(Method::GET, "/.well-known/apple-app-site-association", None, None, None).await;
    assert_eq!(apple.status, StatusCode::OK, "{}", apple.text);
    assert_eq!(apple.header("content-type"), Some("application/json"));
    assert_eq!(
        apple.json(),
        json!({"applinks": {"details": [{
            "appIDs": ["ABCDE12345.com.example.wallet"],
            "components": [{"/": "/v1/m/*", "comment": "Tigress share links"}],
        }]}})
    );

    let android = relay.send(Method::GET, "/.well-known/assetlinks.json", None, None, None).await;
    assert_eq!(android.status, StatusCode::OK, "{}", android.text);
    assert_eq!(android.header("content-type"), Some("application/json"));
    assert_eq!(
        android.json(),
        json!([{
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {
                "namespace": "android_app",
                "package_name": "com.example.wallet",
                "sha256_cert_fingerprints": [FINGERPRINT],
            },
        }])
    );
}

#[tokio::test]
async fn without_apps_the_files_are_404() {
    let relay = TestRelay::start().await;
    for path in ["/.well-known/apple-app-site-association", "/.well-known/assetlinks.json"] {
        let reply = relay.send(Method::GET, path, None, None, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.text);
    }
}

#[tokio::test]
async fn a_malformed_app_stops_the_relay_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tigress_relay::RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
    let mut links = sample();
    links.android[0].sha256_cert_fingerprints.push("not a fingerprint".into());
    config.app_links = links;
    let error = tigress_relay::start(config).await.err().expect("the relay refuses to start");
    let message = format!("{error:#}");
    assert!(message.contains("android[0].sha256_cert_fingerprints[1]"), "{message}");
}
