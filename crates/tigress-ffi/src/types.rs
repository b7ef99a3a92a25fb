//! The records and enums of the interface, and their conversions to and from the SDK's types.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tigress_client::{
    AccessRights, Algorithm, Display, DisplayInformation, Party, ProvisioningInformation,
    ShareOptions,
};

use crate::TigressError;

/// Provisioning Information: the credential, or one message of a transfer.
///
/// `Debug` shows the format only: the content is the credential.
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisioningInfo {
    /// Tells both apps how to read `content_json`.
    pub format: String,
    /// The format's content: a JSON object, as text.
    pub content_json: String,
}

impl ProvisioningInfo {
    /// Parses the content and checks the §12 rules (a named format, an object as content).
    pub(crate) fn to_sdk(&self) -> Result<ProvisioningInformation, TigressError> {
        let content = serde_json::from_str(&self.content_json)
            .map_err(|e| TigressError::invalid("content_json is not JSON", e))?;
        ProvisioningInformation::new(self.format.clone(), content)
            .map_err(|e| TigressError::invalid("invalid Provisioning Information", e))
    }

    /// The format and the content; other top-level members (if a format adds any) are not
    /// carried across.
    pub(crate) fn from_sdk(info: &ProvisioningInformation) -> Self {
        Self { format: info.format.clone(), content_json: info.content.to_string() }
    }
}

impl fmt::Debug for ProvisioningInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisioningInfo").field("format", &self.format).finish_non_exhaustive()
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
            max_receivers: None,
            notification_token: None,
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

fn unix_now() -> i64 {
    // A clock before 1970 is a broken clock; the relay then refuses the expiry, which says so.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ShareSettings {
        ShareSettings {
            title: "Room 12".into(),
            description: "Hotel key".into(),
            image_url: "https://img.example/k.png".into(),
            vertical: Some(Vertical::Home),
            access_rights: Some("rwd".into()),
            expires_in_seconds: Some(60),
            aes_256: true,
        }
    }

    #[test]
    fn settings_become_share_options() {
        let options = settings().to_sdk().unwrap();
        assert_eq!(options.access_rights.unwrap().to_string(), "RWD");
        assert_eq!(options.vertical, Some(tigress_client::Vertical::Home));
        assert_eq!(options.algorithm, Algorithm::Aes256Gcm);
        let left = options.expires_at.unwrap() - unix_now();
        assert!((59..=60).contains(&left), "{left}");
    }

    #[test]
    fn rejects_access_rights_with_other_letters() {
        let bad = ShareSettings { access_rights: Some("RX".into()), ..settings() };
        assert!(matches!(bad.to_sdk(), Err(TigressError::InvalidInput(_))));
    }

    #[test]
    fn rejects_content_that_is_not_a_json_object() {
        for content_json in ["{", "[1]", "\"text\""] {
            let info = ProvisioningInfo { format: "f".into(), content_json: content_json.into() };
            assert!(matches!(info.to_sdk(), Err(TigressError::InvalidInput(_))), "{content_json}");
        }
        let unnamed = ProvisioningInfo { format: String::new(), content_json: "{}".into() };
        assert!(matches!(unnamed.to_sdk(), Err(TigressError::InvalidInput(_))));
    }

    #[test]
    fn provisioning_info_round_trips_and_its_debug_hides_the_content() {
        let info = ProvisioningInfo {
            format: "digitalwallet.carkey.ccc".into(),
            content_json: r#"{"token":"very-secret"}"#.into(),
        };
        assert_eq!(ProvisioningInfo::from_sdk(&info.to_sdk().unwrap()), info);
        let debug = format!("{info:?}");
        assert!(debug.contains("carkey") && !debug.contains("very-secret"), "{debug}");
    }
}
