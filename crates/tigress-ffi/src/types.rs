//! The records and enums of the interface, and their conversions to and from the SDK's types.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tigress_client::{
    AccessRights, Algorithm, Display, DisplayInformation, NotificationToken, Party,
    ProvisioningInformation, ShareOptions,
};

use crate::TigressError;

/// Provisioning Information: the credential, or one message of a transfer
/// (`ProvisioningInfo` in the bindings).
///
/// An object rather than a record so that no language prints the credential: a record becomes a
/// Kotlin data class, a Swift struct or a Python dataclass, whose `toString()`, `description` or
/// `repr()` shows every field. `Debug` shows the format only. Checked when made: a named format,
/// JSON object content, and extra members that do not repeat the reserved ones (§12).
#[derive(Clone)]
pub struct ProvisioningInfo {
    info: ProvisioningInformation,
}

impl ProvisioningInfo {
    /// Parses `content_json` and `extra_json` (JSON objects as text; empty counts as `{}`).
    pub fn new(
        format: String,
        content_json: String,
        extra_json: String,
    ) -> Result<Self, TigressError> {
        let content = serde_json::from_str(&content_json)
            .map_err(|e| TigressError::invalid("content_json is not JSON", e))?;
        let extra_json = if extra_json.trim().is_empty() { "{}" } else { &extra_json };
        let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(extra_json)
            .map_err(|e| TigressError::invalid("extra_json is not a JSON object", e))?;
        if let Some(name) =
            ["format", "content", "genericData"].iter().find(|n| extra.contains_key(**n))
        {
            return Err(TigressError::invalid(
                "extra_json",
                format!("{name} is not an extra member"),
            ));
        }
        let mut info = ProvisioningInformation::new(format, content)
            .map_err(|e| TigressError::invalid("invalid Provisioning Information", e))?;
        info.extra = extra;
        Ok(Self { info })
    }

    /// Tells both apps how to read the content.
    pub fn format(&self) -> String {
        self.info.format.clone()
    }

    /// The format's content: a JSON object, as text.
    pub fn content_json(&self) -> String {
        self.info.content.to_string()
    }

    /// The other top-level members, a JSON object as text (`{}` for none).
    pub fn extra_json(&self) -> String {
        serde_json::Value::Object(self.info.extra.clone()).to_string()
    }

    /// The SDK's value, already checked.
    pub(crate) fn sdk(&self) -> &ProvisioningInformation {
        &self.info
    }

    /// Wraps what the SDK decrypted.
    pub(crate) fn from_sdk(info: ProvisioningInformation) -> Arc<Self> {
        Arc::new(Self { info })
    }
}

impl fmt::Debug for ProvisioningInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisioningInfo")
            .field("format", &self.info.format)
            .finish_non_exhaustive()
    }
}

/// How a share is shown to the receiver and how long it lives.
#[derive(Clone, Debug)]
pub struct ShareSettings {
    /// The preview's title.
    pub title: String,
    /// The preview's description.
    pub description: String,
    /// An https URL of the preview's picture.
    pub image_url: String,
    /// The kind of key; general access when `None`.
    pub vertical: Option<Vertical>,
    /// Letters of `RWD`; the relay's default (`RD`) when `None`.
    pub access_rights: Option<String>,
    /// Seconds from now until the share expires; the relay's default when `None`.
    pub expires_in_seconds: Option<u32>,
    /// AES-256-GCM instead of AES-128-GCM.
    pub aes_256: bool,
    /// How many receiver devices may bind in turn (each after the last relinquished); the
    /// relay's default (one) when `None`.
    pub max_receivers: Option<u32>,
    /// The sender's push token, so that the relay wakes the sender when the receiver writes.
    pub push_token: Option<Arc<PushToken>>,
}

/// A device's push token (`PushToken` in the bindings), checked when made.
///
/// An object rather than a record, like [`ProvisioningInfo`], so that no language prints it:
/// the data and the topic address one device. `Debug` names the type only.
#[derive(Clone, PartialEq, Eq)]
pub struct PushToken {
    token: NotificationToken,
}

impl PushToken {
    /// `token_type` is `com.apple.apns`, `com.google.fcm` or `org.w3.webpush`; `token_data` the
    /// token as the platform gave it (hex for APNs, the registration token for FCM, the
    /// subscription JSON for Web Push); `topic` the APNs topic (the app's bundle id) for an app
    /// with several.
    pub fn new(
        token_type: String,
        token_data: String,
        topic: Option<String>,
    ) -> Result<Self, TigressError> {
        if token_type.is_empty() || token_data.is_empty() {
            return Err(TigressError::invalid("push_token", "the type and data must not be empty"));
        }
        if topic.as_deref().is_some_and(str::is_empty) {
            return Err(TigressError::invalid("push_token.topic", "it must not be empty"));
        }
        let mut token = NotificationToken::new(&token_type, &token_data);
        token.topic = topic;
        Ok(Self { token })
    }

    /// The token's type, as given.
    pub fn token_type(&self) -> String {
        self.token.kind.clone()
    }

    pub(crate) fn sdk(&self) -> &NotificationToken {
        &self.token
    }
}

impl fmt::Debug for PushToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushToken").field("token_type", &self.token.kind).finish_non_exhaustive()
    }
}

impl ShareSettings {
    pub(crate) fn to_sdk(&self) -> Result<ShareOptions, TigressError> {
        let access_rights = self
            .access_rights
            .as_deref()
            .map(str::parse::<AccessRights>)
            .transpose()
            .map_err(|e| TigressError::invalid("access_rights", e))?;
        let expires_at = self.expires_in_seconds.map(|seconds| unix_now() + i64::from(seconds));
        Ok(ShareOptions {
            display: Display::Inline(DisplayInformation {
                title: self.title.clone(),
                description: self.description.clone(),
                image_url: self.image_url.clone(),
            }),
            access_rights,
            expires_at,
            vertical: self.vertical.map(Vertical::to_sdk),
            algorithm: if self.aes_256 { Algorithm::Aes256Gcm } else { Algorithm::Aes128Gcm },
            max_receivers: self.max_receivers,
            notification_token: self.push_token.as_ref().map(|token| token.sdk().clone()),
            // Events are the vendor's app's choice, not yet offered through the bindings.
            event_endpoint: None,
        })
    }
}

/// The public preview of a share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// As the sender wrote it.
    pub title: String,
    /// As the sender wrote it.
    pub description: String,
    /// As the sender wrote it; the app decides whether to load it.
    pub image_url: String,
    /// The sender's vendor's page, when it gave that instead of the text (then empty).
    pub display_url: Option<String>,
    /// From the share URL.
    pub vertical: Vertical,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub expiration: String,
}

impl Preview {
    pub(crate) fn from_sdk(preview: &tigress_client::Preview) -> Self {
        let inline = preview.display.information();
        let text = |field: fn(&DisplayInformation) -> &String| inline.map(field).cloned();
        Self {
            title: text(|d| &d.title).unwrap_or_default(),
            description: text(|d| &d.description).unwrap_or_default(),
            image_url: text(|d| &d.image_url).unwrap_or_default(),
            display_url: preview.display.url().map(str::to_owned),
            vertical: Vertical::from_sdk(preview.vertical),
            expiration: preview.expiration.clone(),
        }
    }
}

/// The kind of key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vertical {
    /// General access: hotel rooms, offices and the like.
    Access,
    /// A car key.
    Car,
    /// A home key.
    Home,
}

impl Vertical {
    fn to_sdk(self) -> tigress_client::Vertical {
        match self {
            Self::Access => tigress_client::Vertical::Access,
            Self::Car => tigress_client::Vertical::Car,
            Self::Home => tigress_client::Vertical::Home,
        }
    }

    fn from_sdk(vertical: tigress_client::Vertical) -> Self {
        match vertical {
            tigress_client::Vertical::Access => Self::Access,
            tigress_client::Vertical::Car => Self::Car,
            tigress_client::Vertical::Home => Self::Home,
        }
    }
}

/// A device's side of a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The device that accepted the share.
    Receiver,
    /// The device that created the share.
    Sender,
}

impl Role {
    pub(crate) fn from_sdk(party: Party) -> Self {
        match party {
            Party::Receiver => Self::Receiver,
            Party::Sender => Self::Sender,
        }
    }
}

/// What a relay serves and allows (`RelayDescriptor` in the bindings; docs/API.md, "Relay
/// descriptor").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayDescriptor {
    /// API versions, e.g. `v1`.
    pub versions: Vec<String>,
    /// Where mailboxes are created, e.g. `/v1/m`.
    pub mailbox_path: String,
    /// Extensions: `messageLog`, `waitingReads`, `maxReceivers`, `pin`, `compatibilityProfile`,
    /// `deviceAttestation`.
    pub extensions: Vec<String>,
    /// The longest lifetime of a share, in seconds.
    pub max_lifetime_seconds: u64,
    /// The largest request body, in bytes.
    pub max_body_bytes: u64,
    /// The push token types the relay delivers to.
    pub push_token_types: Vec<String>,
    /// Whether every create must carry a device attestation.
    pub attestation_required: bool,
}

impl RelayDescriptor {
    pub(crate) fn from_sdk(descriptor: tigress_client::RelayDescriptor) -> Self {
        Self {
            versions: descriptor.versions,
            mailbox_path: descriptor.mailbox_path,
            extensions: descriptor.extensions,
            max_lifetime_seconds: descriptor.limits.max_lifetime_seconds,
            max_body_bytes: descriptor.limits.max_body_bytes,
            push_token_types: descriptor.push_token_types,
            attestation_required: descriptor.attestation_required,
        }
    }
}

fn unix_now() -> i64 {
    // A clock before 1970 is a broken clock; the relay then refuses the expiry, which says so.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apns() -> Arc<PushToken> {
        let token = PushToken::new(
            "com.apple.apns".into(),
            "00ff".into(),
            Some("com.example.wallet".into()),
        );
        Arc::new(token.unwrap())
    }

    fn settings() -> ShareSettings {
        ShareSettings {
            title: "Room 12".into(),
            description: "Hotel key".into(),
            image_url: "https://img.example/k.png".into(),
            vertical: Some(Vertical::Home),
            access_rights: Some("rwd".into()),
            expires_in_seconds: Some(60),
            aes_256: true,
            max_receivers: Some(2),
            push_token: Some(apns()),
        }
    }

    fn info(
        format: &str,
        content_json: &str,
        extra_json: &str,
    ) -> Result<ProvisioningInfo, TigressError> {
        ProvisioningInfo::new(format.into(), content_json.into(), extra_json.into())
    }

    #[test]
    fn settings_become_share_options() {
        let options = settings().to_sdk().unwrap();
        assert_eq!(options.access_rights.unwrap().to_string(), "RWD");
        assert_eq!(options.vertical, Some(tigress_client::Vertical::Home));
        assert_eq!(options.algorithm, Algorithm::Aes256Gcm);
        let left = options.expires_at.unwrap() - unix_now();
        assert!((59..=60).contains(&left), "{left}");
        assert_eq!(options.max_receivers, Some(2));
        let token = options.notification_token.unwrap();
        assert_eq!((token.kind.as_str(), token.token_data.as_str()), ("com.apple.apns", "00ff"));
        assert_eq!(token.topic.as_deref(), Some("com.example.wallet"));
    }

    #[test]
    fn a_push_token_needs_a_type_and_data_and_hides_both_in_debug() {
        let empty = PushToken::new(String::new(), "x".into(), None);
        assert!(
            matches!(empty, Err(TigressError::InvalidInput { reason }) if reason.contains("push_token"))
        );
        let no_topic = PushToken::new("com.apple.apns".into(), "x".into(), Some(String::new()));
        assert!(
            matches!(no_topic, Err(TigressError::InvalidInput { reason }) if reason.contains("topic"))
        );
        let debug = format!("{:?} {:?}", apns(), settings());
        assert!(!debug.contains("00ff") && !debug.contains("com.example.wallet"), "{debug}");
    }

    #[test]
    fn rejects_access_rights_with_other_letters() {
        let bad = ShareSettings { access_rights: Some("RX".into()), ..settings() };
        assert!(matches!(bad.to_sdk(), Err(TigressError::InvalidInput { .. })));
    }

    #[test]
    fn rejects_content_that_is_not_a_json_object() {
        for content_json in ["{", "[1]", "\"text\""] {
            assert!(
                matches!(info("f", content_json, "{}"), Err(TigressError::InvalidInput { .. })),
                "{content_json}"
            );
        }
        for (format, extra) in [("", "{}"), ("f", r#"{"content":1}"#), ("f", "[]")] {
            assert!(
                matches!(info(format, "{}", extra), Err(TigressError::InvalidInput { .. })),
                "{format:?} {extra}"
            );
        }
    }

    #[test]
    fn provisioning_info_round_trips_and_its_debug_hides_the_content() {
        let made =
            info("digitalwallet.carkey.ccc", r#"{"token":"very-secret"}"#, r#"{"version":2}"#);
        let made = made.unwrap();
        assert_eq!(made.sdk().extra["version"], 2, "other top-level members are kept");
        let back = ProvisioningInfo::from_sdk(made.sdk().clone());
        assert_eq!(back.format(), "digitalwallet.carkey.ccc");
        assert_eq!(back.content_json(), r#"{"token":"very-secret"}"#);
        assert_eq!(back.extra_json(), r#"{"version":2}"#);
        assert_eq!(info("f", "{}", "").unwrap().extra_json(), "{}", "empty extra is none");
        let debug = format!("{made:?}");
        assert!(debug.contains("carkey") && !debug.contains("very-secret"), "{debug}");
    }
}
