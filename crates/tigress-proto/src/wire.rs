//! The v1 wire types of the relay API (§3, §6) and the error envelope shared by relay and SDK.
//!
//! Unknown JSON members are ignored on input (§2), so no type here denies unknown fields.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `Mailbox-Request-ID`, echoed and de-duplicated (§7).
pub const HEADER_REQUEST_ID: &str = "mailbox-request-id";
/// `Mailbox-Device-Claim`, the bearer claim (§8).
pub const HEADER_DEVICE_CLAIM: &str = "mailbox-device-claim";
/// Older spellings of the claim header; the canonical one wins when both are present (§3).
pub const LEGACY_DEVICE_CLAIM_HEADERS: [&str; 2] = ["deviceclaim", "device-claim"];
/// `Mailbox-Device-Attestation`, opaque and optional (§3).
pub const HEADER_DEVICE_ATTESTATION: &str = "mailbox-device-attestation";
/// Older spellings of the attestation header.
pub const LEGACY_DEVICE_ATTESTATION_HEADERS: [&str; 2] =
    ["deviceattestation", "device-attestation"];

/// The path prefix of mailboxes on a relay with the default segment (`share_url::DEFAULT_MAILBOX_SEGMENT`).
pub const MAILBOX_PATH: &str = "/v1/m";

/// An encrypted message: the AEAD name and `base64(nonce ‖ ciphertext ‖ tag)` (§13).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payload {
    /// AEAD name, e.g. `AEAD_AES_128_GCM`. The relay does not restrict it.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    #[serde(rename = "type")]
    pub kind: String,
    /// Standard base64 of nonce, ciphertext and tag.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub data: String,
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ciphertext stays out of debug output and logs.
        f.debug_struct("Payload").field("type", &self.kind).finish_non_exhaustive()
    }
}

/// The public link-preview text of a share. Not encrypted: anyone with the URL can read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisplayInformation {
    /// Short title, e.g. "Car Key".
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub title: String,
    /// One or two sentences.
    pub description: String,
    /// An `https` URL of a picture. The relay never fetches it.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    #[serde(rename = "imageURL")]
    pub image_url: String,
}

/// What a share's preview shows: the inline text, or the page of the sender's vendor
/// (`displayInformationUrl`, compatibility profile). A mailbox has exactly one of the two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Display {
    /// `displayInformation`.
    Inline(DisplayInformation),
    /// `displayInformationUrl`: an `https` URL that only a viewer's browser or app may fetch.
    Url(String),
}

impl Display {
    /// From the two wire members; `None` unless exactly one is present.
    pub fn from_members(
        information: Option<DisplayInformation>,
        url: Option<String>,
    ) -> Option<Self> {
        match (information, url) {
            (Some(information), None) => Some(Self::Inline(information)),
            (None, Some(url)) => Some(Self::Url(url)),
            _ => None,
        }
    }

    /// The two wire members, one of them `None`.
    pub fn into_members(self) -> (Option<DisplayInformation>, Option<String>) {
        match self {
            Self::Inline(information) => (Some(information), None),
            Self::Url(url) => (None, Some(url)),
        }
    }

    /// The inline text, if the sender gave it.
    pub fn information(&self) -> Option<&DisplayInformation> {
        match self {
            Self::Inline(information) => Some(information),
            Self::Url(_) => None,
        }
    }

    /// The sender's page, if it gave one.
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Inline(_) => None,
            Self::Url(url) => Some(url),
        }
    }
}

impl From<DisplayInformation> for Display {
    fn from(information: DisplayInformation) -> Self {
        Self::Inline(information)
    }
}

/// A push token of one party (§15).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationToken {
    /// Token type, e.g. `com.apple.apns`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    #[serde(rename = "type")]
    pub kind: String,
    /// Vendor-defined token data.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    #[serde(rename = "tokenData")]
    pub token_data: String,
    /// The APNs topic to push with, e.g. the app's bundle id (compatibility profile). Used when
    /// it is one of the topics the relay's operator configured; the configured default
    /// otherwise. Never logged.
    #[serde(rename = "tokenTopic", default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl NotificationToken {
    /// A token of type `kind` with this data and no topic.
    pub fn new(kind: impl Into<String>, token_data: impl Into<String>) -> Self {
        Self { kind: kind.into(), token_data: token_data.into(), topic: None }
    }
}

impl fmt::Debug for NotificationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationToken").field("type", &self.kind).finish_non_exhaustive()
    }
}

/// Mailbox settings chosen by the sender at creation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailboxConfiguration {
    /// The receiver's rights, letters of `RWD`; `"RD"` when absent (§9).
    #[serde(rename = "accessRights", default, skip_serializing_if = "Option::is_none")]
    pub access_rights: Option<String>,
    /// RFC 3339 instant; the relay's default lifetime when absent, clamped to its maximum (§10).
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// How many distinct receivers may ever bind, across relinquishes (extension); no cap when
    /// absent, as in the drafts.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    #[serde(rename = "maxReceivers", default, skip_serializing_if = "Option::is_none")]
    pub max_receivers: Option<u32>,
    /// The name of one of the relay's event endpoints (extension): the relay then sends that
    /// endpoint the mailbox's lifecycle events. Never a URL: only the operator configures where
    /// events go.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9._-]+$")
    )]
    #[serde(rename = "eventEndpoint", default, skip_serializing_if = "Option::is_none")]
    pub event_endpoint: Option<String>,
}

/// Body of CreateMailbox, `POST /v1/m` (§6.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateMailboxRequest {
    /// The first encrypted message.
    pub payload: Payload,
    /// The public preview text. Exactly one of it and `displayInformationUrl` is present.
    #[serde(rename = "displayInformation", default, skip_serializing_if = "Option::is_none")]
    pub display_information: Option<DisplayInformation>,
    /// Instead of `displayInformation` (compatibility profile): the `https` URL of the sender's
    /// vendor's page with OpenGraph tags. The relay never fetches it.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, pattern = "^https://"))]
    #[serde(rename = "displayInformationUrl", default, skip_serializing_if = "Option::is_none")]
    pub display_information_url: Option<String>,
    /// The sender's push token, if any.
    #[serde(rename = "notificationToken", default, skip_serializing_if = "Option::is_none")]
    pub notification_token: Option<NotificationToken>,
    /// Access rights and expiration.
    #[serde(rename = "mailboxConfiguration", default, skip_serializing_if = "Option::is_none")]
    pub mailbox_configuration: Option<MailboxConfiguration>,
}

/// Response of CreateMailbox: 200, or 201 with the same body for a repeated request id (§7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateMailboxResponse {
    /// `{relay}/v1/m/{id}`, with no query and no fragment. Clients treat it as opaque.
    #[serde(rename = "urlLink")]
    pub url_link: String,
    /// Whether the relay can push to the token type the caller gave.
    #[serde(rename = "isPushNotificationSupported")]
    pub is_push_notification_supported: bool,
}

/// Body of UpdateMailbox, `PUT /v1/m/{id}` (§6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateMailboxRequest {
    /// The new message; replaces the slot.
    pub payload: Payload,
    /// Replaces the caller's push token when present.
    #[serde(rename = "notificationToken", default, skip_serializing_if = "Option::is_none")]
    pub notification_token: Option<NotificationToken>,
}

/// Response of UpdateMailbox: 200, or 201 repeating it for a repeated request id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateMailboxResponse {
    /// Whether the relay can push to the caller's own token type.
    #[serde(rename = "isPushNotificationSupported")]
    pub is_push_notification_supported: bool,
}

/// `Prefer` (RFC 7240), sent on a read to wait for the peer's next message: `wait=N` seconds.
pub const HEADER_PREFER: &str = "prefer";
/// `Preference-Applied`, answered when the relay honoured `Prefer: wait`.
pub const HEADER_PREFERENCE_APPLIED: &str = "preference-applied";

/// Optional body of ReadSecureContentFromMailbox, `POST /v1/m/{id}` (§6.3 resolution).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadMailboxRequest {
    /// Stores the caller's push token.
    #[serde(rename = "notificationToken", default, skip_serializing_if = "Option::is_none")]
    pub notification_token: Option<NotificationToken>,
    /// The caller's cursor (extension): the highest `seq` it has seen. The response lists the
    /// messages after it; a waiting read waits for a message from the peer after it. 0 when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The bound receiver.
    Receiver,
    /// The creator of the mailbox.
    Sender,
}

impl Party {
    /// The other party.
    pub fn peer(self) -> Self {
        match self {
            Self::Receiver => Self::Sender,
            Self::Sender => Self::Receiver,
        }
    }

    /// `"sender"` or `"receiver"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receiver => "receiver",
            Self::Sender => "sender",
        }
    }
}

/// One entry of a mailbox's ordered message log (extension). The create payload is `seq` 1,
/// from the sender; each accepted Update appends the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// Who wrote it.
    pub from: Party,
    /// The encrypted message.
    pub payload: Payload,
}

/// Response of ReadSecureContentFromMailbox (§6.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadMailboxResponse {
    /// The current slot content, whoever wrote it.
    pub payload: Payload,
    /// The public preview text, when the sender gave it inline.
    #[serde(rename = "displayInformation", default, skip_serializing_if = "Option::is_none")]
    pub display_information: Option<DisplayInformation>,
    /// The sender's page of preview text, when it gave that instead (compatibility profile).
    #[serde(rename = "displayInformationUrl", default, skip_serializing_if = "Option::is_none")]
    pub display_information_url: Option<String>,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub expiration: String,
    /// The messages after the caller's cursor, oldest first (extension; empty from relays that
    /// keep only the draft's single slot).
    #[serde(default)]
    pub messages: Vec<Message>,
    /// The highest `seq` in the log (extension; absent from relays without a log).
    #[serde(rename = "lastSeq", default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
    /// Which party the caller is (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Party>,
    /// Whether a receiver is bound now (extension): the sender learns that its share was
    /// opened, and that it was relinquished.
    #[serde(rename = "receiverBound", default, skip_serializing_if = "Option::is_none")]
    pub receiver_bound: Option<bool>,
}

/// The preview as JSON: `GET /v1/m/{id}` with `Accept: application/json` (our extension).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewResponse {
    /// The public preview text, when the sender gave it inline.
    #[serde(rename = "displayInformation", default, skip_serializing_if = "Option::is_none")]
    pub display_information: Option<DisplayInformation>,
    /// The sender's page of preview text, when it gave that instead (compatibility profile).
    #[serde(rename = "displayInformationUrl", default, skip_serializing_if = "Option::is_none")]
    pub display_information_url: Option<String>,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub expiration: String,
}

/// What a relay serves, at `GET /.well-known/tigress-relay` (our extension): clients read it
/// once per relay to keep allow-lists and decide what to offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RelayDescriptor {
    /// The API versions served, e.g. `["v1"]`.
    pub versions: Vec<String>,
    /// The path of CreateMailbox; a mailbox is this path, a slash and its id.
    pub mailbox_path: String,
    /// The extensions beyond the drafts: `messageLog`, `waitingReads`, `maxReceivers`, `pin`
    /// (the relay carries the PIN protocol's messages), `compatibilityProfile` (the shapes shipped
    /// wallets send: `displayInformationUrl`, `tokenTopic`), `deviceAttestation` (when required).
    pub extensions: Vec<String>,
    /// The limits a client should stay within.
    pub limits: DescriptorLimits,
    /// The `notificationToken.type`s the relay can push to; empty when it pushes to none.
    pub push_token_types: Vec<String>,
    /// Whether every create must carry a device attestation.
    pub attestation_required: bool,
}

/// The limits of a [`RelayDescriptor`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DescriptorLimits {
    /// The longest lifetime of a share, in seconds; later expirations are clamped to it.
    pub max_lifetime_seconds: u64,
    /// The lifetime of a share created without an expiration, in seconds.
    pub default_lifetime_seconds: u64,
    /// The largest request body, in bytes.
    pub max_body_bytes: u64,
    /// The most messages in a mailbox's log, the first included.
    pub max_messages: u64,
    /// The longest `Prefer: wait` a read waits, in seconds.
    pub max_wait_seconds: u64,
}

/// The JSON body of every error the relay answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `claim_rejected`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_uses_the_draft_member_names() {
        let json = r#"{"payload":{"type":"AEAD_AES_128_GCM","data":"AAAA"},
            "displayInformation":{"title":"t","description":"d","imageURL":"https://x/y.png"},
            "notificationToken":{"type":"com.apple.apns","tokenData":"abc"},
            "mailboxConfiguration":{"accessRights":"RWD","expiration":"2030-01-01T00:00:00Z"},
            "somethingNew":42}"#;
        let request: CreateMailboxRequest = serde_json::from_str(json).unwrap();
        assert_eq!(request.display_information.unwrap().image_url, "https://x/y.png");
        assert_eq!(request.notification_token.unwrap().token_data, "abc");
        let config = request.mailbox_configuration.unwrap();
        assert_eq!(config.access_rights.as_deref(), Some("RWD"));
    }

    #[test]
    fn token_object_needs_both_members() {
        let json = r#"{"notificationToken":{"type":"com.apple.apns"}}"#;
        assert!(serde_json::from_str::<ReadMailboxRequest>(json).is_err());
    }

    #[test]
    fn debug_output_hides_ciphertext_and_tokens() {
        let payload = Payload { kind: "AEAD_AES_128_GCM".into(), data: "c2VjcmV0".into() };
        assert!(!format!("{payload:?}").contains("c2VjcmV0"));
        let token = NotificationToken::new("t", "device-token");
        assert!(!format!("{token:?}").contains("device-token"));
    }
}
