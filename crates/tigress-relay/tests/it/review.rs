//! Regressions for the findings of the independent review of the relay (docs/SECURITY.md): each
//! test failed before its fix.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::RelayConfig;

use crate::support::{TestRelay, new_uuid};

async fn relays() -> Vec<(&'static str, TestRelay)> {
    let mut relays = vec![("sqlite", TestRelay::start().await)];
    #[cfg(feature = "redis")]
    {
        let nodes = crate::store_contract::redis_nodes();
        let redis =
            |c: &mut RelayConfig| c.store = tigress_relay::StoreConfig::RedisCluster { nodes };
        relays.push(("redis", TestRelay::start_with(redis).await));
    }
    relays
}

/// A cursor past what JSON holds exactly used to fail in the store after the bind (Redis: the
/// script bound, then LRANGE failed; SQLite: beyond i64) with a 500, leaving a receiver bound
/// that nobody announced. It is now refused before the store is touched, and binds nobody.
#[tokio::test]
async fn a_huge_cursor_is_refused_before_anything_binds() {
    for (store, relay) in relays().await {
        let (path, sender) = relay.create(json!({})).await;
        for after in ["100000000000000000", "9223372036854775808", "18446744073709551615"] {
            let body: serde_json::Value =
                serde_json::from_str(&format!(r#"{{"after":{after}}}"#)).unwrap();
            let refused =
                relay.send(Method::POST, &path, Some(&new_uuid()), None, Some(&body)).await;
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{store} {after}: {}",
                refused.text
            );
            assert_eq!(refused.code(), "invalid_field", "{store} {after}");
        }
        let own = relay.send(Method::POST, &path, Some(&sender), None, None).await;
        assert_eq!(own.status, StatusCode::OK, "{store}: {}", own.text);
        assert_eq!(own.json()["receiverBound"], false, "{store}: a refused read bound a receiver");
        // The largest cursor allowed reads (no messages after it) and binds as usual.
        let largest = json!({"after": tigress_relay::body::MAX_CURSOR});
        let read = relay.send(Method::POST, &path, Some(&new_uuid()), None, Some(&largest)).await;
        assert_eq!(read.status, StatusCode::OK, "{store}: {}", read.text);
        assert_eq!(read.json()["messages"], json!([]), "{store}");
    }
}
