//! Device attestation on CreateMailbox under the operator's policy: a relay that trusts some
//! device makers' keys creates a mailbox only for a fresh token, signed by one of them, bound
//! to that very request (its request id included), asserting user presence, and used for no
//! other create. Each refusal is 401 with its own code, and nothing is stored.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use tigress_attest::{Binding, SigningKey, TrustedKeys};
use tigress_relay::{AbuseLimits, AttestationPolicy, RelayConfig};

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

/// Two device makers, ES256 and EdDSA, and the policy that trusts both.
fn makers() -> (Makers, AttestationPolicy) {
    let (es256, es256_public) = maker(&rcgen::PKCS_ECDSA_P256_SHA256, "maker-p256");
    let (eddsa, eddsa_public) = maker(&rcgen::PKCS_ED25519, "maker-ed25519");
    let mut trusted = TrustedKeys::new();
    trusted.add("maker-p256", &es256_public).unwrap();
    trusted.add("maker-ed25519", &eddsa_public).unwrap();
    (Makers { es256, eddsa }, AttestationPolicy::Verify(Arc::new(trusted)))
}

/// A relay that trusts an ES256 and an EdDSA device maker.
async fn attesting_relay() -> (TestRelay, Makers) {
    attesting_relay_with(|_| {}).await
}

async fn attesting_relay_with(adjust: impl FnOnce(&mut RelayConfig)) -> (TestRelay, Makers) {
    let (makers, policy) = makers();
    let relay = TestRelay::start_with(|config| {
        config.attestation = policy;
        adjust(config);
    })
    .await;
    (relay, makers)
}

/// A create request's parts: claim, request id (if any) and the exact body bytes.
struct Create {
    claim: String,
    request_id: Option<String>,
    body: Vec<u8>,
}

/// A relay's answer to a create: its status, and its error code or `urlLink`.
struct Answer {
    status: StatusCode,
    code: String,
    url_link: String,
}

impl Create {
    fn new() -> Self {
        Self {
            claim: new_uuid(),
            request_id: Some(new_uuid()),
            body: serde_json::to_vec(&create_body()).unwrap(),
        }
    }

    /// The same claim and body with another request id (or none).
    fn with_request_id(&self, request_id: Option<String>) -> Self {
        Self { claim: self.claim.clone(), request_id, body: self.body.clone() }
    }

    fn token(&self, key: &SigningKey, audience: &str, at: i64) -> String {
        let binding = Binding {
            audience,
            path: "/v1/m",
            claim: &self.claim,
            body: &self.body,
            request_id: self.request_id.as_deref(),
        };
        key.issue(&binding, at)
    }

    async fn send(&self, relay: &TestRelay, header: Option<(&str, &str)>) -> (StatusCode, String) {
        let answer = self.send_to(relay, &relay.base(), header).await;
        (answer.status, answer.code)
    }

    /// Sends the create to the relay listening at `base`.
    async fn send_to(&self, relay: &TestRelay, base: &str, header: Option<(&str, &str)>) -> Answer {
        let mut request = relay
            .http
            .post(format!("{base}/v1/m"))
            .header(CLAIM_HEADER, &self.claim)
            .header("content-type", "application/json")
            .body(self.body.clone());
        if let Some(id) = &self.request_id {
            request = request.header(REQUEST_ID_HEADER, id);
        }
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        let text = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
        Answer { status, code: text("code"), url_link: text("urlLink") }
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

/// Review finding: one token could be replayed for many creates. It is now bound to its request
/// id, so another request id is `attestation_unbound`; and the relay remembers every token it
/// accepted, so a token made for a create without a request id starts one create only.
#[tokio::test]
async fn a_token_starts_one_create_only() {
    let (relay, makers) = attesting_relay().await;
    let base = relay.base();
    for key in [&makers.es256, &makers.eddsa] {
        let first = Create::new();
        let token = first.token(key, &base, now());
        assert_eq!(first.send(&relay, Some((HEADER, &token))).await.0, StatusCode::OK);
        for other in [Some(new_uuid()), None] {
            let moved = first.with_request_id(other);
            let answered = moved.send(&relay, Some((HEADER, &token))).await;
            assert_eq!(answered, (StatusCode::UNAUTHORIZED, "attestation_unbound".into()));
        }
        // Made without a request id, a token is good for one create without one.
        let bare = first.with_request_id(None);
        let token = bare.token(key, &base, now());
        assert_eq!(bare.send(&relay, Some((HEADER, &token))).await.0, StatusCode::OK);
        let again = bare.send(&relay, Some((HEADER, &token))).await;
        assert_eq!(again, (StatusCode::UNAUTHORIZED, "attestation_replayed".into()));
        let with_id = first.with_request_id(Some(new_uuid()));
        let answered = with_id.send(&relay, Some((HEADER, &token))).await;
        assert_eq!(answered, (StatusCode::UNAUTHORIZED, "attestation_unbound".into()));
    }
    assert_eq!(relay.mailbox_rows(), 4);
}

#[tokio::test]
async fn the_same_token_and_request_id_again_is_the_same_create() {
    let (relay, makers) = attesting_relay().await;
    let create = Create::new();
    let token = create.token(&makers.eddsa, &relay.base(), now());
    let first = create.send_to(&relay, &relay.base(), Some((HEADER, &token))).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.code);
    for _ in 0..2 {
        let again = create.send_to(&relay, &relay.base(), Some((HEADER, &token))).await;
        assert_eq!(again.status, StatusCode::CREATED, "{}", again.code);
        assert_eq!(again.url_link, first.url_link);
    }
    assert_eq!(relay.mailbox_rows(), 1);
}

/// Over a tenant's quota its creates are 429; another tenant's devices, on the same address,
/// still create. The quota is by the key that verified the token, not by address.
#[tokio::test]
async fn a_tenant_over_its_quota_is_429_and_another_tenant_still_creates() {
    let (relay, makers) = attesting_relay_with(|config| {
        config.abuse = AbuseLimits { tenant_creates_per_minute: 2, ..AbuseLimits::default() };
    })
    .await;
    let base = relay.base();
    for _ in 0..2 {
        let create = Create::new();
        let token = create.token(&makers.es256, &base, now());
        assert_eq!(create.send(&relay, Some((HEADER, &token))).await.0, StatusCode::OK);
    }
    let over = Create::new();
    let token = over.token(&makers.es256, &base, now());
    let mut request = relay
        .http
        .post(relay.url("/v1/m"))
        .header(CLAIM_HEADER, &over.claim)
        .header(HEADER, &token)
        .header("content-type", "application/json")
        .body(over.body.clone());
    if let Some(id) = &over.request_id {
        request = request.header(REQUEST_ID_HEADER, id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    // Two a minute: one every 30 s.
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    for _ in 0..2 {
        let create = Create::new();
        let token = create.token(&makers.eddsa, &base, now());
        assert_eq!(create.send(&relay, Some((HEADER, &token))).await.0, StatusCode::OK);
    }
    assert_eq!(relay.mailbox_rows(), 4);
}

/// On a Redis Cluster the relays share what they remember: a token accepted by one relay is
/// refused by another (and the same request again is the same create, on either).
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_token_accepted_by_one_relay_is_refused_by_another_on_the_same_cluster() {
    use tigress_relay::StoreConfig;

    let (makers, policy) = makers();
    let public = "https://relay.example";
    let start = || {
        let policy = policy.clone();
        TestRelay::start_with(move |config| {
            config.store =
                StoreConfig::RedisCluster { nodes: crate::store_contract::redis_nodes() };
            config.public_url = Some(public.into());
            config.attestation = policy;
        })
    };
    let (one, two) = (start().await, start().await);
    let (at_one, at_two) = (one.relay().listen_url(), two.relay().listen_url());
    for key in [&makers.es256, &makers.eddsa] {
        let bare = Create { request_id: None, ..Create::new() };
        let token = bare.token(key, public, now());
        let first = bare.send_to(&one, &at_one, Some((HEADER, &token))).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.code);
        let again = bare.send_to(&two, &at_two, Some((HEADER, &token))).await;
        assert_eq!(
            (again.status, again.code.as_str()),
            (StatusCode::UNAUTHORIZED, "attestation_replayed")
        );

        let create = Create::new();
        let token = create.token(key, public, now());
        let first = create.send_to(&one, &at_one, Some((HEADER, &token))).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.code);
        let retry = create.send_to(&two, &at_two, Some((HEADER, &token))).await;
        assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.code);
        assert_eq!(retry.url_link, first.url_link);
    }
}
