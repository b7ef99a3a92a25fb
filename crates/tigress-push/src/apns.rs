//! Apple Push Notification service: HTTP/2 with token-based (JWT) authentication.
//!
//! Sends a background push, which wakes the app without showing anything:
//! `POST /3/device/<token>` with `apns-push-type: background`, `apns-priority: 5`, an
//! `apns-expiration` a day ahead and the body [`BODY`].

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::config::{ApnsConfig, ConfigError};
use crate::http::{self, read_capped, transport_error};
use crate::jwt::Es256;
use crate::{APNS, KEEP_UNDELIVERED_SECS, Provider, PushError};

/// The whole notification: "new content is available", nothing else.
const BODY: &str = r#"{"aps":{"content-available":1}}"#;

/// How long one provider token is used. Apple refuses tokens older than an hour and throttles
/// providers that make new ones more often than every 20 minutes.
const TOKEN_REUSE: Duration = Duration::from_secs(50 * 60);

/// Longest device token accepted, in hex digits (Apple's tokens are 32 bytes today and may grow).
const MAX_DEVICE_TOKEN_HEX: usize = 200;

/// Delivers [`APNS`] tokens.
pub struct Apns {
    client: reqwest::Client,
    base_url: String,
    topic: HeaderValue,
    /// The topics a token may choose, [`ApnsConfig::topics`] and the default.
    allowed_topics: Vec<(String, HeaderValue)>,
    token: ProviderToken,
}

impl Apns {
    /// Checks the configuration, reads the signing key and sets up the HTTP/2 client.
    ///
    /// APNs speaks only HTTP/2: over https the client offers only `h2` in ALPN; over plain http
    /// (a loopback test server) it speaks HTTP/2 from the first byte.
    pub fn new(config: &ApnsConfig) -> Result<Self, ConfigError> {
        let invalid = |field, reason| ConfigError::InvalidField { provider: APNS, field, reason };
        let base_url = http::service_url(APNS, "base_url", &config.base_url)?;
        if !is_identifier(&config.team_id) {
            return Err(invalid("team_id", "empty or not alphanumeric"));
        }
        if !is_identifier(&config.key_id) {
            return Err(invalid("key_id", "empty or not alphanumeric"));
        }
        let topic = HeaderValue::from_str(&config.topic)
            .ok()
            .filter(|topic| !topic.is_empty())
            .ok_or(invalid("topic", "empty or not a header value"))?;
        let mut allowed_topics = vec![(config.topic.clone(), topic.clone())];
        for other in &config.topics {
            let value = HeaderValue::from_str(other)
                .ok()
                .filter(|value| !value.is_empty())
                .ok_or(invalid("topics", "an entry is empty or not a header value"))?;
            allowed_topics.push((other.clone(), value));
        }
        let key = Es256::from_pem(config.private_key_pem.expose_secret()).map_err(|reason| {
            ConfigError::InvalidKey { provider: APNS, field: "private_key_pem", reason }
        })?;
        let client = http::client_builder()
            .http2_prior_knowledge()
            .build()
            .map_err(|source| ConfigError::HttpClient { provider: APNS, source })?;
        let token = ProviderToken::new(key, config.team_id.clone(), config.key_id.clone());
        Ok(Self { client, base_url, topic, allowed_topics, token })
    }
}

impl Apns {
    /// The `apns-topic` of a push to a token that named `requested`: it, when the operator
    /// allowed it; the configured topic otherwise. Never logged: a topic hints at the app a
    /// party uses.
    fn topic_for(&self, requested: Option<&str>) -> HeaderValue {
        requested
            .and_then(|requested| self.allowed_topics.iter().find(|(name, _)| name == requested))
            .map_or_else(|| self.topic.clone(), |(_, value)| value.clone())
    }
}

impl fmt::Debug for Apns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Apns").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Provider for Apns {
    fn token_type(&self) -> &'static str {
        APNS
    }

    async fn send(&self, token_data: &str, topic: Option<&str>) -> Result<(), PushError> {
        let device = device_token(token_data)?;
        let topic = self.topic_for(topic);
        let url = format!("{}/3/device/{device}", self.base_url);
        let mut refreshed = false;
        loop {
            let now = http::unix_now();
            let jwt = self.token.current(Instant::now(), now);
            let response = self
                .client
                .post(&url)
                .header(AUTHORIZATION, format!("bearer {jwt}"))
                .header("apns-topic", topic.clone())
                .header("apns-push-type", "background")
                .header("apns-priority", "5")
                .header("apns-expiration", now + KEEP_UNDELIVERED_SECS)
                .header(CONTENT_TYPE, "application/json")
                .body(BODY)
                .send()
                .await
                .map_err(|e| transport_error(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let reason = reason(&read_capped(response).await);
            // Apple's clock decides when a token is too old; a fresh one is worth one more try.
            if status == StatusCode::FORBIDDEN
                && reason.as_deref() == Some("ExpiredProviderToken")
                && !refreshed
            {
                self.token.forget(&jwt);
                refreshed = true;
                continue;
            }
            return Err(failure(status, reason.as_deref()));
        }
    }
}

/// The JWT that authenticates this provider to APNs, reused for [`TOKEN_REUSE`].
struct ProviderToken {
    key: Es256,
    team_id: String,
    key_id: String,
    cached: Mutex<Option<Issued>>,
}

struct Issued {
    jwt: String,
    at: Instant,
}

impl ProviderToken {
    fn new(key: Es256, team_id: String, key_id: String) -> Self {
        Self { key, team_id, key_id, cached: Mutex::new(None) }
    }

    /// The token to send at `now`: the cached one while young enough, else a new one issued at
    /// `unix_now` (seconds since the epoch).
    fn current(&self, now: Instant, unix_now: u64) -> String {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(issued) = cached.as_ref() {
            if now.saturating_duration_since(issued.at) < TOKEN_REUSE {
                return issued.jwt.clone();
            }
        }
        let header = json!({"alg": "ES256", "kid": self.key_id});
        let claims = json!({"iss": self.team_id, "iat": unix_now});
        let jwt = self.key.sign(&header, &claims);
        *cached = Some(Issued { jwt: jwt.clone(), at: now });
        jwt
    }

    /// Drops `jwt` from the cache, unless another request has already replaced it.
    fn forget(&self, jwt: &str) {
        let mut cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.as_ref().is_some_and(|issued| issued.jwt == jwt) {
            *cached = None;
        }
    }
}

/// The device token if it is hex of a plausible length, so it is safe in the URL path.
fn device_token(token_data: &str) -> Result<&str, PushError> {
    let hex = token_data.bytes().all(|b| b.is_ascii_hexdigit());
    if token_data.is_empty() || token_data.len() > MAX_DEVICE_TOKEN_HEX || !hex {
        return Err(PushError::Rejected("the APNs device token is not hex".to_owned()));
    }
    Ok(token_data)
}

/// Apple's `reason` from an error answer `{"reason": "BadDeviceToken"}`, if it is a plain code.
fn reason(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    http::error_code(value.get("reason")?.as_str()?).map(str::to_owned)
}

/// What an unsuccessful answer means for the token.
fn failure(status: StatusCode, reason: Option<&str>) -> PushError {
    let gone = status == StatusCode::GONE
        || (status == StatusCode::BAD_REQUEST
            && matches!(reason, Some("BadDeviceToken" | "Unregistered")));
    if gone {
        return PushError::Gone;
    }
    let said = match reason {
        Some(reason) => format!("APNs answered {} {reason}", status.as_u16()),
        None => format!("APNs answered {}", status.as_u16()),
    };
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return PushError::Transient(said);
    }
    PushError::Rejected(said)
}

/// Whether a Team ID or Key ID looks like one (Apple's are 10 upper-case letters and digits).
fn is_identifier(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};

    use super::*;

    fn provider_token() -> ProviderToken {
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        ProviderToken::new(Es256::from_pem(&pem).unwrap(), "TEAM".into(), "KEY".into())
    }

    #[test]
    fn provider_token_is_reused_for_fifty_minutes_then_renewed() {
        let token = provider_token();
        let start = Instant::now();
        let first = token.current(start, 1_000);
        assert_eq!(token.current(start + Duration::from_secs(49 * 60), 3_940), first);
        let renewed = token.current(start + Duration::from_secs(50 * 60), 4_000);
        assert_ne!(renewed, first);
        assert_eq!(token.current(start + Duration::from_secs(51 * 60), 4_060), renewed);
    }

    #[test]
    fn forgotten_provider_token_is_renewed_at_once() {
        let token = provider_token();
        let now = Instant::now();
        let first = token.current(now, 1_000);
        token.forget("some other token");
        assert_eq!(token.current(now, 1_000), first);
        token.forget(&first);
        assert_ne!(token.current(now, 1_001), first);
    }

    #[test]
    fn device_token_must_be_hex() {
        assert_eq!(device_token("00ffAB12"), Ok("00ffAB12"));
        for bad in ["", "xyz", "00ff/../x", "00ff?x=1", "00 ff", "é", &"a".repeat(201)] {
            assert!(matches!(device_token(bad), Err(PushError::Rejected(_))), "{bad:?}");
        }
    }

    #[test]
    fn answers_map_to_gone_transient_or_rejected() {
        let status = |code| StatusCode::from_u16(code).unwrap();
        assert_eq!(failure(status(410), Some("Unregistered")), PushError::Gone);
        assert_eq!(failure(status(410), None), PushError::Gone);
        assert_eq!(failure(status(400), Some("BadDeviceToken")), PushError::Gone);
        assert_eq!(failure(status(400), Some("Unregistered")), PushError::Gone);
        assert!(matches!(failure(status(400), Some("BadTopic")), PushError::Rejected(_)));
        assert!(matches!(failure(status(403), None), PushError::Rejected(_)));
        assert!(matches!(failure(status(429), None), PushError::Transient(_)));
        assert!(matches!(failure(status(500), None), PushError::Transient(_)));
        assert!(matches!(failure(status(503), None), PushError::Transient(_)));
        assert_eq!(
            failure(status(400), Some("BadTopic")),
            PushError::Rejected("APNs answered 400 BadTopic".into())
        );
    }

    #[test]
    fn reason_is_read_only_when_it_is_a_plain_code() {
        assert_eq!(reason(br#"{"reason":"BadDeviceToken"}"#).as_deref(), Some("BadDeviceToken"));
        assert_eq!(reason(br#"{"reason":"has spaces and 0123abcd"}"#), None);
        assert_eq!(reason(b"not json"), None);
        assert_eq!(reason(b""), None);
    }
}
