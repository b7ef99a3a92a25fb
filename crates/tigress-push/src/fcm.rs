//! Firebase Cloud Messaging HTTP v1, authenticated as a Google service account.
//!
//! The service account signs an RS256 assertion and trades it for an OAuth 2.0 access token
//! (the JWT-bearer grant, RFC 7523), which is cached until shortly before it expires. Each push
//! is `POST /v1/projects/<project id>/messages:send` with a data message that carries no data:
//!
//! ```json
//! {"message":{"token":"<tokenData>","data":{},"android":{"priority":"high"}}}
//! ```
//!
//! High priority is what lets the message wake an Android app in Doze.

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::config::{ConfigError, FcmConfig};
use crate::http::{self, read_capped, transport_error};
use crate::jwt::Rs256;
use crate::{FCM, Provider, PushError};

/// The OAuth 2.0 scope that allows sending messages.
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// The JWT-bearer grant type (RFC 7523 §2.1).
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Lifetime asked for in the assertion; Google allows at most an hour.
const ASSERTION_LIFETIME: u64 = 3600;

/// An access token is renewed this long before it expires, so it never expires in flight.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Longest registration token accepted (the relay caps `tokenData` at 4 KiB too).
const MAX_REGISTRATION_TOKEN: usize = 4096;

/// Delivers [`FCM`] tokens.
pub struct Fcm {
    client: reqwest::Client,
    send_url: String,
    token_url: String,
    client_email: String,
    key: Rs256,
    access: tokio::sync::Mutex<Option<AccessToken>>,
}

struct AccessToken {
    value: SecretString,
    expires: Instant,
}

impl Fcm {
    /// Checks the configuration, reads the service account's key and sets up the HTTP client.
    pub fn new(config: &FcmConfig) -> Result<Self, ConfigError> {
        let invalid = |field, reason| ConfigError::InvalidField { provider: FCM, field, reason };
        let base_url = http::service_url(FCM, "base_url", &config.base_url)?;
        let token_url = http::service_url(FCM, "token_url", &config.token_url)?;
        if !is_project_id(&config.project_id) {
            return Err(invalid("project_id", "empty or not a project id"));
        }
        if !config.client_email.contains('@') {
            return Err(invalid("client_email", "not an e-mail address"));
        }
        let key = Rs256::from_pem(config.private_key_pem.expose_secret()).map_err(|reason| {
            ConfigError::InvalidKey { provider: FCM, field: "private_key_pem", reason }
        })?;
        let client = http::client_builder()
            .build()
            .map_err(|source| ConfigError::HttpClient { provider: FCM, source })?;
        Ok(Self {
            client,
            send_url: format!("{base_url}/v1/projects/{}/messages:send", config.project_id),
            token_url,
            client_email: config.client_email.clone(),
            key,
            access: tokio::sync::Mutex::new(None),
        })
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    ///
    /// The lock is held across the exchange, so concurrent pushes share one exchange.
    async fn access_token(&self) -> Result<SecretString, PushError> {
        let mut access = self.access.lock().await;
        let now = Instant::now();
        if let Some(token) = access.as_ref() {
            if now + RENEW_BEFORE_EXPIRY < token.expires {
                return Ok(token.value.clone());
            }
        }
        let token = self.exchange(now).await?;
        let value = token.value.clone();
        *access = Some(token);
        Ok(value)
    }

    /// Drops `used` from the cache, unless another request has already replaced it.
    async fn forget(&self, used: &SecretString) {
        let mut access = self.access.lock().await;
        if access.as_ref().is_some_and(|t| t.value.expose_secret() == used.expose_secret()) {
            *access = None;
        }
    }

    /// Trades a freshly signed assertion for an access token (RFC 7523 §2.1).
    async fn exchange(&self, now: Instant) -> Result<AccessToken, PushError> {
        let iat = http::unix_now();
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME,
        });
        let assertion = self.key.sign(&header, &claims).map_err(|_| {
            PushError::Transient("could not sign the service account assertion".to_owned())
        })?;
        let response = self
            .client
            .post(&self.token_url)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", assertion.as_str())])
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = response.status();
        let body = read_capped(response).await;
        if !status.is_success() {
            return Err(token_endpoint_failure(status, &body));
        }
        let granted: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            PushError::Transient("the FCM token endpoint's answer is unreadable".to_owned())
        })?;
        Ok(AccessToken {
            value: granted.access_token,
            expires: now + Duration::from_secs(granted.expires_in),
        })
    }
}

impl fmt::Debug for Fcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fcm").field("send_url", &self.send_url).finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Provider for Fcm {
    fn token_type(&self) -> &'static str {
        FCM
    }

    async fn send(&self, token_data: &str, _topic: Option<&str>) -> Result<(), PushError> {
        let token = registration_token(token_data)?;
        let message = json!({
            "message": {"token": token, "data": {}, "android": {"priority": "high"}}
        });
        let mut renewed = false;
        loop {
            let access = self.access_token().await?;
            let response = self
                .client
                .post(&self.send_url)
                .bearer_auth(access.expose_secret())
                .json(&message)
                .send()
                .await
                .map_err(|e| transport_error(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            // A revoked or expired access token: one more try with a new one.
            if status == StatusCode::UNAUTHORIZED && !renewed {
                self.forget(&access).await;
                renewed = true;
                continue;
            }
            return Err(failure(status, &ErrorCodes::read(&read_capped(response).await)));
        }
    }
}

/// The token endpoint's success answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    expires_in: u64,
}

/// The codes in an FCM error answer:
/// `{"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED", …}], …}}`.
#[derive(Debug, Default, PartialEq, Eq)]
struct ErrorCodes {
    status: Option<String>,
    error_code: Option<String>,
}

impl ErrorCodes {
    fn read(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self::default();
        };
        let error = &value["error"];
        let code = |v: &serde_json::Value| v.as_str().and_then(http::error_code).map(str::to_owned);
        let error_code = error["details"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|detail| code(&detail["errorCode"]));
        Self { status: code(&error["status"]), error_code }
    }

    fn is(&self, code: &str) -> bool {
        self.error_code.as_deref() == Some(code) || self.status.as_deref() == Some(code)
    }
}

/// What an unsuccessful answer to messages:send means for the token.
///
/// 404 and `UNREGISTERED` mean the app was uninstalled or the token expired. The message is fixed,
/// so a 400 `INVALID_ARGUMENT` can only be about the token: it is malformed or not a token.
fn failure(status: StatusCode, codes: &ErrorCodes) -> PushError {
    let gone = status == StatusCode::NOT_FOUND
        || codes.is("UNREGISTERED")
        || (status == StatusCode::BAD_REQUEST && codes.is("INVALID_ARGUMENT"));
    if gone {
        return PushError::Gone;
    }
    let said = match codes.error_code.as_deref().or(codes.status.as_deref()) {
        Some(code) => format!("FCM answered {} {code}", status.as_u16()),
        None => format!("FCM answered {}", status.as_u16()),
    };
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return PushError::Transient(said);
    }
    PushError::Rejected(said)
}

/// What an unsuccessful answer from the token endpoint means: a refused service account is
/// [`PushError::Rejected`] (fix the configuration), an outage is transient.
fn token_endpoint_failure(status: StatusCode, body: &[u8]) -> PushError {
    let error = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().and_then(http::error_code).map(str::to_owned));
    let said = match error {
        Some(error) => format!("the FCM token endpoint answered {} {error}", status.as_u16()),
        None => format!("the FCM token endpoint answered {}", status.as_u16()),
    };
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return PushError::Transient(said);
    }
    PushError::Rejected(said)
}

/// The registration token, if it is plausible: FCM's are printable ASCII without spaces.
fn registration_token(token_data: &str) -> Result<&str, PushError> {
    let printable = token_data.bytes().all(|b| b.is_ascii_graphic());
    if token_data.is_empty() || token_data.len() > MAX_REGISTRATION_TOKEN || !printable {
        return Err(PushError::Rejected("the FCM registration token is malformed".to_owned()));
    }
    Ok(token_data)
}

/// Whether the value can be a Firebase project id, safe in the URL path.
fn is_project_id(value: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':');
    !value.is_empty() && value.len() <= 128 && value.bytes().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn reads_the_error_code_from_the_details() {
        let body = br#"{"error":{"code":404,"message":"Requested entity was not found.",
            "status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode":"UNREGISTERED"}]}}"#;
        let codes = ErrorCodes::read(body);
        assert_eq!(codes.status.as_deref(), Some("NOT_FOUND"));
        assert_eq!(codes.error_code.as_deref(), Some("UNREGISTERED"));
        assert_eq!(ErrorCodes::read(b"<html>"), ErrorCodes::default());
    }

    #[test]
    fn answers_map_to_gone_transient_or_rejected() {
        let codes = |status: &str, code: &str| ErrorCodes {
            status: Some(status.into()),
            error_code: Some(code.into()),
        };
        let none = ErrorCodes::default();
        assert_eq!(failure(status(404), &none), PushError::Gone);
        assert_eq!(failure(status(404), &codes("NOT_FOUND", "UNREGISTERED")), PushError::Gone);
        assert_eq!(
            failure(status(400), &codes("INVALID_ARGUMENT", "INVALID_ARGUMENT")),
            PushError::Gone
        );
        assert!(matches!(failure(status(429), &none), PushError::Transient(_)));
        assert!(matches!(failure(status(500), &none), PushError::Transient(_)));
        assert!(matches!(failure(status(503), &none), PushError::Transient(_)));
        assert_eq!(
            failure(status(403), &codes("PERMISSION_DENIED", "SENDER_ID_MISMATCH")),
            PushError::Rejected("FCM answered 403 SENDER_ID_MISMATCH".into())
        );
        assert!(matches!(failure(status(401), &none), PushError::Rejected(_)));
    }

    #[test]
    fn token_endpoint_refusal_is_rejected_and_outage_transient() {
        let refused = token_endpoint_failure(status(400), br#"{"error":"invalid_grant"}"#);
        assert_eq!(
            refused,
            PushError::Rejected("the FCM token endpoint answered 400 invalid_grant".into())
        );
        assert!(matches!(token_endpoint_failure(status(503), b""), PushError::Transient(_)));
    }

    #[test]
    fn registration_token_must_be_printable_ascii() {
        assert!(registration_token("abc:APA91b-_x").is_ok());
        for bad in ["", "a b", "a\nb", "é", &"a".repeat(4097)] {
            assert!(matches!(registration_token(bad), Err(PushError::Rejected(_))), "{bad:?}");
        }
    }

    #[test]
    fn project_id_must_be_safe_in_a_path() {
        assert!(is_project_id("tigress-12345"));
        assert!(!is_project_id(""));
        assert!(!is_project_id("a/b"));
        assert!(!is_project_id("a?b"));
    }
}
