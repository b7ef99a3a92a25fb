//! Content-free push notifications that wake a Secure Credential Transfer device.
//!
//! After an UpdateMailbox the relay wakes the *other* party's device (§15). A push from this crate
//! carries nothing that identifies a share: no mailbox id, claim, payload or sender, only
//! "something changed". The device maps its per-share token to the mailbox itself and reads it.
//!
//! [`Pusher`] holds one [`Provider`] per token type and delivers in the background with bounded
//! retries ([`RetryPolicy`]); [`Pusher::notify`] hands back a [`Delivery`] so the relay can drop a
//! token the provider called [`Delivery::Gone`]. [`Pusher::from_config`] builds the providers
//! named in a [`PushConfig`].
//!
//! ```no_run
//! # use tigress_push::{ConfigError, PushConfig};
//! # async fn after_update(config: &PushConfig) -> Result<(), ConfigError> {
//! use tigress_push::{Delivery, Pusher};
//!
//! let pusher = Pusher::from_config(config)?;
//! // The other party's token, as stored with the mailbox.
//! let (token_type, token_data) = ("com.apple.apns", "5b2d1c0a9e8f7d6c5b4a39281706f5e4");
//! let delivery = pusher.notify(token_type, token_data);
//! // The update's answer does not wait; whoever awaits the handle can drop a dead token.
//! if let Ok(Delivery::Gone) = delivery.await {
//!     // forget the token
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Token types
//!
//! A mailbox's notification token is `{type, tokenData}`. The types this crate delivers:
//!
//! - [`APNS`], `com.apple.apns`: `tokenData` is the device token in hex. Delivered by [`Apns`]:
//!   Apple Push Notification service over HTTP/2, with token (JWT) authentication.
//! - [`FCM`], `com.google.fcm`: `tokenData` is the FCM registration token. Delivered by [`Fcm`]:
//!   Firebase Cloud Messaging HTTP v1, as an OAuth 2.0 service account.
//! - [`WEB_PUSH`], `org.w3.webpush`: `tokenData` is a JSON `PushSubscription`,
//!   `{"endpoint": "https://…", "keys": {"p256dh": "<b64url>", "auth": "<b64url>"}}`. Delivered
//!   by [`WebPush`]: RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID. UnifiedPush
//!   distributors take the same.
//!
//! Only `com.apple.apns` is named by the drafts; the other two are this project's identifiers.
//! Other types are stored by the relay but never pushed ([`Pusher::supports`] is `false`).
//!
//! # What is sent
//!
//! - APNs: a background push, `{"aps":{"content-available":1}}`, priority 5, kept for a day if
//!   the device is offline.
//! - FCM: `{"message":{"token":"<tokenData>","data":{},"android":{"priority":"high"}}}`, a data
//!   message with no data.
//! - Web Push: the encrypted plaintext `{"changed":true}`, [`WEB_PUSH_PLAINTEXT`], kept for a day
//!   if the device is offline.
//!
//! # What it does not do
//!
//! It does not store tokens, decide whom to wake, or talk to the relay's store: the relay calls
//! [`Pusher::notify`] and drops a token on [`Delivery::Gone`]. It never logs token data, Web Push
//! endpoints, JWTs, access tokens or keys; log events name only the provider and the outcome.
//!
//! § numbers refer to the sections of docs/PROTOCOL.md; those after an RFC's number, to that RFC.
#![warn(missing_docs)]

mod apns;
mod config;
mod fcm;
mod http;
mod jwt;
mod pusher;
mod webpush;

pub use apns::Apns;
pub use config::{ApnsConfig, ConfigError, FcmConfig, PushConfig, WebPushConfig};
pub use fcm::Fcm;
pub use pusher::{Delivery, MAX_IN_FLIGHT, MAX_PER_HOST, Pusher, RetryPolicy};
pub use webpush::{WEB_PUSH_PLAINTEXT, WebPush};

/// Token type of Apple Push Notification service tokens; `tokenData` is the device token in hex.
pub const APNS: &str = "com.apple.apns";

/// Token type of Firebase Cloud Messaging tokens; `tokenData` is the FCM registration token.
pub const FCM: &str = "com.google.fcm";

/// Token type of Web Push subscriptions (browsers and UnifiedPush distributors); `tokenData` is the
/// JSON `PushSubscription` with `endpoint` and `keys.p256dh`, `keys.auth`.
pub const WEB_PUSH: &str = "org.w3.webpush";

/// How long a push service keeps an undelivered wake-up for an offline device, in seconds: a day.
const KEEP_UNDELIVERED_SECS: u64 = 24 * 3600;

/// One push service, able to deliver a content-free wake-up to a token of one type.
///
/// Implementations must never log token data, and their error messages must not contain it:
/// [`Pusher`] logs those messages.
#[async_trait::async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The token type this provider delivers to, e.g. [`APNS`].
    fn token_type(&self) -> &'static str;

    /// The host a delivery for `token_data` goes to, when the token chooses it (a Web Push
    /// endpoint): [`Pusher`] bounds the deliveries in flight to each such host. `None` for
    /// providers with one fixed host.
    fn destination(&self, _token_data: &str) -> Option<String> {
        None
    }

    /// Makes one delivery attempt to the device named by `token_data`; `topic` is the token's
    /// own APNs topic (`tokenTopic`), if it named one, which only [`Apns`] uses.
    ///
    /// [`Pusher`] does the retrying; an implementation tries once.
    async fn send(&self, token_data: &str, topic: Option<&str>) -> Result<(), PushError>;
}

/// Why one delivery attempt failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The provider says the token is invalid or no longer registered: drop the token, it will
    /// never work again.
    #[error("the push token is no longer valid")]
    Gone,
    /// The attempt failed for good: malformed token data, a Web Push endpoint that is not allowed,
    /// or a request the provider refused. Trying the same token again will not help; the message
    /// says why, without token data.
    #[error("push rejected: {0}")]
    Rejected(String),
    /// The attempt failed for now (network, timeout, rate limit, provider outage): try again
    /// later. The message says why, without token data.
    #[error("push failed for now: {0}")]
    Transient(String),
}
