//! Typed configuration of the providers, loaded by the relay binary and passed in.
//!
//! Private keys are given as PEM *text* (the file's contents, not a path), so the binary decides
//! where they come from. They sit in [`SecretString`] and never reach `Debug` output.

use secrecy::SecretString;
use serde::Deserialize;

/// Which push providers to run. Each one left out is not supported.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// Apple Push Notification service, for [`crate::APNS`] tokens.
    #[serde(default)]
    pub apns: Option<ApnsConfig>,
    /// Firebase Cloud Messaging (HTTP v1), for [`crate::FCM`] tokens.
    #[serde(default)]
    pub fcm: Option<FcmConfig>,
    /// Web Push, for [`crate::WEB_PUSH`] subscriptions.
    #[serde(default)]
    pub web_push: Option<WebPushConfig>,
}

/// Apple Push Notification service with token-based (JWT) authentication.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsConfig {
    /// Where to send, [`ApnsConfig::PRODUCTION_URL`] by default; [`ApnsConfig::SANDBOX_URL`] for
    /// development builds of the app. Must be https, except to a loopback address (tests).
    #[serde(default = "ApnsConfig::production_url")]
    pub base_url: String,
    /// The 10-character Team ID of the Apple developer account: the JWT's `iss`.
    pub team_id: String,
    /// The 10-character Key ID of the APNs signing key: the JWT's `kid`.
    pub key_id: String,
    /// The contents of the `AuthKey_<key id>.p8` file: a P-256 private key in PKCS#8 PEM
    /// (`-----BEGIN PRIVATE KEY-----`). SEC1 PEM (`BEGIN EC PRIVATE KEY`) is accepted too.
    pub private_key_pem: SecretString,
    /// The app's bundle id: the `apns-topic` header.
    pub topic: String,
    /// Other topics of this key that a token may name as its own (`tokenTopic`), e.g. the
    /// bundle ids of the key's other apps or `<bundle id>.voip`. A token naming a topic not
    /// listed here (nor `topic`) is pushed to with `topic`.
    #[serde(default)]
    pub topics: Vec<String>,
}

impl ApnsConfig {
    /// The production APNs server.
    pub const PRODUCTION_URL: &str = "https://api.push.apple.com";
    /// The development APNs server, for apps signed with a development profile.
    pub const SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";

    fn production_url() -> String {
        Self::PRODUCTION_URL.to_owned()
    }
}

/// Firebase Cloud Messaging HTTP v1, authenticated as a Google service account.
///
/// The fields come from the service account's JSON key file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmConfig {
    /// Where to send, [`FcmConfig::DEFAULT_BASE_URL`] by default. Must be https, except to a
    /// loopback address (tests).
    #[serde(default = "FcmConfig::default_base_url")]
    pub base_url: String,
    /// Where to exchange the signed assertion for an access token, the key file's `token_uri`;
    /// [`FcmConfig::DEFAULT_TOKEN_URL`] by default. Must be https, except to a loopback address.
    #[serde(default = "FcmConfig::default_token_url")]
    pub token_url: String,
    /// The Firebase project id, the key file's `project_id`.
    pub project_id: String,
    /// The service account, the key file's `client_email`.
    pub client_email: String,
    /// The key file's `private_key`: an RSA private key (2048 bits or more) in PKCS#8 PEM
    /// (`-----BEGIN PRIVATE KEY-----`). PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`) is accepted too.
    pub private_key_pem: SecretString,
}

impl FcmConfig {
    /// The FCM server.
    pub const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";
    /// Google's OAuth 2.0 token endpoint.
    pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

    fn default_base_url() -> String {
        Self::DEFAULT_BASE_URL.to_owned()
    }

    fn default_token_url() -> String {
        Self::DEFAULT_TOKEN_URL.to_owned()
    }
}

/// Web Push (RFC 8030) with VAPID (RFC 8292) and message encryption (RFC 8291).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebPushConfig {
    /// The application server's VAPID key: a P-256 private key in PKCS#8 or SEC1 PEM. Its public
    /// key is the `applicationServerKey` the apps subscribe with.
    pub vapid_private_key_pem: SecretString,
    /// A contact for the push services: `mailto:…` or an `https:` URL (the JWT's `sub`).
    pub subject: String,
    /// Also deliver to `http:` endpoints and to loopback, private, link-local and other
    /// non-public addresses. Off by default: a subscription's endpoint is client input, and
    /// following it blindly would let anyone make the relay send requests into its own network.
    /// Only tests turn this on.
    #[serde(default)]
    pub danger_allow_insecure_endpoints: bool,
}

/// A configuration the providers cannot run with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The HTTP client could not be set up. Nothing in the configuration can fix this; report it.
    #[error("{provider}: cannot set up the HTTP client")]
    HttpClient {
        /// The provider's token type.
        provider: &'static str,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// A field is empty or malformed: fix that field.
    #[error("{provider}: `{field}` is {reason}")]
    InvalidField {
        /// The provider's token type.
        provider: &'static str,
        /// The field's name in the configuration.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The private key is not a key of the kind the provider needs, in a PEM it can read: check
    /// the key file and its type (P-256 for APNs and VAPID, RSA for FCM).
    #[error("{provider}: `{field}` is not usable: {reason}")]
    InvalidKey {
        /// The provider's token type.
        provider: &'static str,
        /// The field's name in the configuration.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}
