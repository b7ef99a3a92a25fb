//! The relay descriptor, `GET /.well-known/tigress-relay`: what the relay serves and allows,
//! from its configuration.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tigress_relay::AttestationPolicy;

use crate::support::TestRelay;

async fn descriptor(relay: &TestRelay) -> Value {
    let reply = relay.send(Method::GET, "/.well-known/tigress-relay", None, None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json()
}

#[tokio::test]
async fn the_descriptor_says_what_the_relay_serves_and_allows() {
    let relay = TestRelay::start_with(|config| {
        config.limits.max_lifetime = Duration::from_secs(3 * 86400);
        config.limits.max_wait = Duration::from_secs(25);
        config.limits.max_messages = 12;
    })
    .await;
    assert_eq!(
        descriptor(&relay).await,
        json!({
            "versions": ["v1"],
            "mailboxPath": "/v1/m",
            "extensions": ["messageLog", "waitingReads", "maxReceivers", "pin", "compatibilityProfile"],
            "limits": {
                "maxLifetimeSeconds": 3 * 86400,
                "defaultLifetimeSeconds": 48 * 3600,
                "maxBodyBytes": 65536,
                "maxMessages": 12,
                "maxWaitSeconds": 25,
            },
            "pushTokenTypes": [],
            "attestationRequired": false,
        })
    );
}

#[tokio::test]
async fn a_relay_that_requires_attestation_says_so() {
    let keys = Arc::new(tigress_attest::TrustedKeys::new());
    let relay =
        TestRelay::start_with(|config| config.attestation = AttestationPolicy::Verify(keys)).await;
    let described = descriptor(&relay).await;
    assert_eq!(described["attestationRequired"], json!(true));
    assert!(described["extensions"].as_array().unwrap().contains(&json!("deviceAttestation")));
}
