//! Device attestation on CreateMailbox under the operator's policy: a relay that trusts some
//! device makers' keys creates a mailbox only for a fresh token, signed by one of them, bound
//! to that very request, asserting user presence. Each refusal is 401 with its own code, and
//! nothing is stored.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use tigress_attest::{Binding, SigningKey, TrustedKeys};
use tigress_relay::AttestationPolicy;

use crate::support::{CLAIM_HEADER, REQUEST_ID_HEADER, TestRelay, create_body, new_uuid};

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A device maker's key of `algorithm`, and its public key in PEM.
fn maker(algorithm: &'static rcgen::SignatureAlgorithm, id: &str) -> (SigningKey, String) {
    let pair = rcgen::KeyPair::generate_for(algorithm).unwrap();
    (SigningKey::from_pkcs8_pem(id, &pair.serialize_pem()).unwrap(), pair.public_key_pem())
}

struct Makers {
    es256: SigningKey,
    eddsa: SigningKey,
}

/// A relay that trusts an ES256 and an EdDSA device maker.
async fn attesting_relay() -> (TestRelay, Makers) {
    let (es256, es256_public) = maker(&rcgen::PKCS_ECDSA_P256_SHA256, "maker-p256");
    let (eddsa, eddsa_public) = maker(&rcgen::PKCS_ED25519, "maker-ed25519");
    let mut trusted = TrustedKeys::new();
    trusted.add("maker-p256", &es256_public).unwrap();
    trusted.add("maker-ed25519", &eddsa_public).unwrap();
    let policy = AttestationPolicy::Verify(Arc::new(trusted));
    let relay = TestRelay::start_with(|config| config.attestation = policy).await;
    (relay, Makers { es256, eddsa })
}

/// A create request's parts: claim, request id and the exact body bytes.
struct Create {
    claim: String,
    request_id: String,
    body: Vec<u8>,
}

impl Create {
    fn new() -> Self {
        Self {
            claim: new_uuid(),
            request_id: new_uuid(),
            body: serde_json::to_vec(&create_body()).unwrap(),
        }
    }

    fn token(&self, key: &SigningKey, audience: &str, at: i64) -> String {
        key.issue(&Binding { audience, claim: &self.claim, body: &self.body }, at)
    }

    async fn send(&self, relay: &TestRelay, header: Option<(&str, &str)>) -> (StatusCode, String) {
        let mut request = relay
            .http
            .post(relay.url("/v1/m"))
            .header(CLAIM_HEADER, &self.claim)
            .header(REQUEST_ID_HEADER, &self.request_id)
            .header("content-type", "application/json")
            .body(self.body.clone());
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        let code = body["code"].as_str().unwrap_or_default().to_owned();
        (status, code)
    }
}

const HEADER: &str = "Mailbox-Device-Attestation";

#[tokio::test]
async fn a_fresh_bound_token_from_a_trusted_maker_creates_and_a_retry_replays() {
    let (relay, makers) = attesting_relay().await;
    for key in [&makers.es256, &makers.eddsa] {
        let create = Create::new();
        let token = create.token(key, &relay.base(), now());
        assert_eq!(create.send(&relay, Some((HEADER, &token))).await.0, StatusCode::OK, "{key:?}");
        // The same request sent again (its answer lost) is the same create: 201.
        assert_eq!(create.send(&relay, Some((HEADER, &token))).await.0, StatusCode::CREATED);
        // The drafts' older spelling of the header is accepted too.
        let legacy = Create::new();
        let token = legacy.token(key, &relay.base(), now());
        let sent = legacy.send(&relay, Some(("deviceAttestation", &token))).await;
        assert_eq!(sent.0, StatusCode::OK);
    }
    assert_eq!(relay.mailbox_rows(), 4);
}

#[tokio::test]
async fn every_refusal_is_401_with_its_own_code_and_stores_nothing() {
    let (relay, makers) = attesting_relay().await;
    let base = relay.base();
    let create = Create::new();
    let (stranger, _) = maker(&rcgen::PKCS_ECDSA_P256_SHA256, "maker-p256");
    let other = Create::new();
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("missing", None, "attestation_required"),
        ("garbage", Some("not.a.token".into()), "attestation_malformed"),
        ("untrusted", Some(create.token(&stranger, &base, now())), "attestation_untrusted"),
        ("stale", Some(create.token(&makers.es256, &base, now() - 600)), "attestation_stale"),
        (
            "another relay",
            Some(create.token(&makers.eddsa, "https://other.example", now())),
            "attestation_unbound",
        ),
        // A token seen on one create, moved onto another.
        ("moved", Some(other.token(&makers.es256, &base, now())), "attestation_unbound"),
    ];
    for (case, token, code) in cases {
        let header = token.as_deref().map(|token| (HEADER, token));
        let (status, answered) = create.send(&relay, header).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(answered, code, "{case}");
    }
    assert_eq!(relay.mailbox_rows(), 0);
}

#[tokio::test]
async fn without_a_policy_the_header_is_ignored() {
    let relay = TestRelay::start().await;
    let create = Create::new();
    assert_eq!(create.send(&relay, Some((HEADER, "anything at all"))).await.0, StatusCode::OK);
    assert_eq!(Create::new().send(&relay, None).await.0, StatusCode::OK);
}
