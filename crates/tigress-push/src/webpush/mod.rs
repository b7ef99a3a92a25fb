//! Web Push: RFC 8030 delivery, RFC 8291 message encryption, RFC 8292 VAPID.
//!
//! Each push is `POST <endpoint>` with `TTL`, `Urgency: high`, `Content-Encoding: aes128gcm`, a
//! VAPID `Authorization: vapid t=<JWT>, k=<public key>` and the encrypted
//! [`WEB_PUSH_PLAINTEXT`]. UnifiedPush distributors accept the same requests.
//!
//! Endpoints are client input, so unless
//! [`WebPushConfig::danger_allow_insecure_endpoints`] is set they must be https and reach only
//! public addresses: the literal host and every resolved address are checked before connecting,
//! and again by the resolver the connection uses. A refused endpoint is [`PushError::Rejected`].

mod address;
mod ece;

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::json;
use url::{Host, Url};

use crate::config::{ConfigError, WebPushConfig};
use crate::http::{self, transport_error};
use crate::jwt::Es256;
use crate::{KEEP_UNDELIVERED_SECS, Provider, PushError, WEB_PUSH};

/// The plaintext of every Web Push message: it says that something changed, and nothing else.
pub const WEB_PUSH_PLAINTEXT: &str = r#"{"changed":true}"#;

/// Lifetime of a VAPID JWT. RFC 8292 §2 allows at most 24 hours; half that leaves room for clock
/// skew.
const VAPID_LIFETIME: u64 = 12 * 3600;

/// Longest subscription accepted (the relay caps `tokenData` at 4 KiB too).
const MAX_SUBSCRIPTION: usize = 4096;

/// Delivers [`WEB_PUSH`] subscriptions.
pub struct WebPush {
    client: reqwest::Client,
    vapid: Es256,
    vapid_public: String,
    subject: String,
    allow_insecure: bool,
}

impl WebPush {
    /// Checks the configuration, reads the VAPID key and sets up the HTTP client.
    pub fn new(config: &WebPushConfig) -> Result<Self, ConfigError> {
        if !is_subject(&config.subject) {
            return Err(ConfigError::InvalidField {
                provider: WEB_PUSH,
                field: "subject",
                reason: "not a mailto: or https: URL",
            });
        }
        let vapid =
            Es256::from_pem(config.vapid_private_key_pem.expose_secret()).map_err(|reason| {
                ConfigError::InvalidKey {
                    provider: WEB_PUSH,
                    field: "vapid_private_key_pem",
                    reason,
                }
            })?;
        let allow_insecure = config.danger_allow_insecure_endpoints;
        let mut client = http::client_builder();
        if !allow_insecure {
            // A proxy would resolve the endpoint itself, past the address check.
            client = client.dns_resolver(Arc::new(address::PublicOnly)).no_proxy();
        }
        let client = client
            .build()
            .map_err(|source| ConfigError::HttpClient { provider: WEB_PUSH, source })?;
        Ok(Self {
            client,
            vapid_public: URL_SAFE_NO_PAD.encode(vapid.public_key_uncompressed()),
            vapid,
            subject: config.subject.clone(),
            allow_insecure,
        })
    }

    /// The endpoint, if it may be sent to (see the module docs).
    async fn allowed_endpoint(&self, endpoint: &str) -> Result<Url, PushError> {
        let rejected = |why: &str| PushError::Rejected(format!("the Web Push endpoint {why}"));
        let url = Url::parse(endpoint).map_err(|_| rejected("is not a URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(rejected("carries credentials"));
        }
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            _ => return Err(rejected("is not https")),
        }
        let Some(host) = url.host() else {
            return Err(rejected("has no host"));
        };
        if self.allow_insecure {
            return Ok(url);
        }
        let not_public = || rejected("is not a public address");
        match host {
            Host::Ipv4(ip) if !address::is_public(ip.into()) => return Err(not_public()),
            Host::Ipv6(ip) if !address::is_public(ip.into()) => return Err(not_public()),
            Host::Ipv4(_) | Host::Ipv6(_) => {}
            Host::Domain(name) => {
                let port = url.port_or_known_default().unwrap_or(443);
                let addrs: Vec<_> = tokio::net::lookup_host((name, port))
                    .await
                    .map_err(|_| {
                        PushError::Transient("the Web Push endpoint's host is unknown".to_owned())
                    })?
                    .collect();
                if addrs.is_empty() || addrs.iter().any(|addr| !address::is_public(addr.ip())) {
                    return Err(not_public());
                }
            }
        }
        Ok(url)
    }

    /// The VAPID `Authorization` value for `endpoint` at `now` (RFC 8292 §3).
    fn authorization(&self, endpoint: &Url, now: u64) -> String {
        let header = json!({"typ": "JWT", "alg": "ES256"});
        let claims = json!({
            "aud": endpoint.origin().ascii_serialization(),
            "exp": now + VAPID_LIFETIME,
            "sub": self.subject,
        });
        let jwt = self.vapid.sign(&header, &claims);
        format!("vapid t={jwt}, k={}", self.vapid_public)
    }
}

impl fmt::Debug for WebPush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebPush")
            .field("vapid_public_key", &self.vapid_public)
            .field("danger_allow_insecure_endpoints", &self.allow_insecure)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Provider for WebPush {
    fn token_type(&self) -> &'static str {
        WEB_PUSH
    }

    fn destination(&self, token_data: &str) -> Option<String> {
        let subscription = Subscription::parse(token_data).ok()?;
        Url::parse(&subscription.endpoint).ok()?.host_str().map(str::to_ascii_lowercase)
    }

    async fn send(&self, token_data: &str, _topic: Option<&str>) -> Result<(), PushError> {
        let subscription = Subscription::parse(token_data)?;
        let endpoint = self.allowed_endpoint(&subscription.endpoint).await?;
        let body = ece::encrypt(
            WEB_PUSH_PLAINTEXT.as_bytes(),
            &subscription.receiver,
            &mut rand_core::OsRng,
        )
        .map_err(|_| PushError::Rejected("the message does not fit one record".to_owned()))?;
        let authorization = self.authorization(&endpoint, http::unix_now());
        let response = self
            .client
            .post(endpoint)
            .header("ttl", KEEP_UNDELIVERED_SECS)
            .header("urgency", "high")
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(AUTHORIZATION, authorization)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if address::is_not_public(&e) {
                    return PushError::Rejected(address::NotPublic.to_string());
                }
                transport_error(&e)
            })?;
        outcome(response.status())
    }
}

/// What the push service's answer means (RFC 8030 §5 and §7.3, RFC 8292 §4).
fn outcome(status: StatusCode) -> Result<(), PushError> {
    if status.is_success() {
        return Ok(());
    }
    if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
        return Err(PushError::Gone);
    }
    let said = format!("the push service answered {}", status.as_u16());
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(PushError::Transient(said));
    }
    Err(PushError::Rejected(said))
}

/// A parsed `PushSubscription`.
struct Subscription {
    endpoint: String,
    receiver: ece::Receiver,
}

impl Subscription {
    /// Reads the JSON form browsers give (`PushSubscription.toJSON()`); other members, like
    /// `expirationTime`, are ignored.
    fn parse(token_data: &str) -> Result<Self, PushError> {
        #[derive(Deserialize)]
        struct Json {
            endpoint: String,
            keys: Keys,
        }
        #[derive(Deserialize)]
        struct Keys {
            p256dh: String,
            auth: String,
        }

        let rejected = |why: &str| PushError::Rejected(format!("the Web Push subscription {why}"));
        if token_data.len() > MAX_SUBSCRIPTION {
            return Err(rejected("is too long"));
        }
        let json: Json = serde_json::from_str(token_data).map_err(|_| rejected("is malformed"))?;
        let public = decode_b64url(&json.keys.p256dh)
            .and_then(|bytes| p256::PublicKey::from_sec1_bytes(&bytes).ok())
            .ok_or(rejected("has a p256dh that is not a P-256 public key"))?;
        let auth = decode_b64url(&json.keys.auth)
            .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
            .ok_or(rejected("has an auth secret that is not 16 bytes"))?;
        Ok(Self { endpoint: json.endpoint, receiver: ece::Receiver { public, auth } })
    }
}

/// Decodes base64url, with or without padding; standard base64 is accepted too.
fn decode_b64url(value: &str) -> Option<Vec<u8>> {
    let normalized: String = value
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(normalized).ok()
}

/// Whether a VAPID subject is a `mailto:` or `https:` URL (RFC 8292 §2.1).
fn is_subject(value: &str) -> bool {
    match Url::parse(value) {
        Ok(url) if url.scheme() == "mailto" => url.path().contains('@'),
        Ok(url) if url.scheme() == "https" => url.host().is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;

    use super::*;

    fn subscription(endpoint: &str, p256dh: &str, auth: &str) -> String {
        json!({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}).to_string()
    }

    fn receiver_keys() -> (String, String) {
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let public = secret.public_key().to_encoded_point(false);
        (URL_SAFE_NO_PAD.encode(public.as_bytes()), URL_SAFE_NO_PAD.encode([9; 16]))
    }

    #[test]
    fn parses_a_browser_subscription_and_ignores_other_members() {
        let (p256dh, auth) = receiver_keys();
        let mut json: serde_json::Value =
            serde_json::from_str(&subscription("https://push.example/x", &p256dh, &auth)).unwrap();
        json["expirationTime"] = serde_json::Value::Null;
        let parsed = Subscription::parse(&json.to_string()).unwrap();
        assert_eq!(parsed.endpoint, "https://push.example/x");
        assert_eq!(parsed.receiver.auth, [9; 16]);
    }

    #[test]
    fn rejects_malformed_subscriptions() {
        let (p256dh, auth) = receiver_keys();
        let bad = [
            String::new(),
            "{".into(),
            "\"https://push.example/x\"".into(),
            json!({"endpoint": "https://push.example/x"}).to_string(),
            subscription("https://push.example/x", "AAAA", &auth),
            subscription("https://push.example/x", &p256dh, "AAAA"),
            subscription("https://push.example/x", &p256dh, "not base64!"),
            subscription(&format!("https://push.example/{}", "x".repeat(5000)), &p256dh, &auth),
        ];
        for token in bad {
            assert!(matches!(Subscription::parse(&token), Err(PushError::Rejected(_))), "{token}");
        }
    }

    #[test]
    fn decodes_padded_and_standard_base64_too() {
        assert_eq!(decode_b64url("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_b64url("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_b64url("***"), None);
    }

    #[test]
    fn subject_is_mailto_or_https() {
        assert!(is_subject("mailto:push@relay.example"));
        assert!(is_subject("https://relay.example/contact"));
        assert!(!is_subject("mailto:nobody"));
        assert!(!is_subject("http://relay.example"));
        assert!(!is_subject("push@relay.example"));
    }

    #[test]
    fn answers_map_to_gone_transient_or_rejected() {
        let status = |code| StatusCode::from_u16(code).unwrap();
        assert_eq!(outcome(status(201)), Ok(()));
        assert_eq!(outcome(status(404)), Err(PushError::Gone));
        assert_eq!(outcome(status(410)), Err(PushError::Gone));
        assert!(matches!(outcome(status(429)), Err(PushError::Transient(_))));
        assert!(matches!(outcome(status(502)), Err(PushError::Transient(_))));
        assert!(matches!(outcome(status(413)), Err(PushError::Rejected(_))));
        assert!(matches!(outcome(status(403)), Err(PushError::Rejected(_))));
    }
}
