//! Provisioning Information: the plaintext JSON inside every payload (§12).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `digitalwallet.carkey.ccc`: a CCC Digital Key (Release 3).
pub const FORMAT_CAR_KEY_CCC: &str = "digitalwallet.carkey.ccc";
/// `digitalwallet.generic.authorizationToken`: a pass redeemed with an authorization token.
pub const FORMAT_AUTHORIZATION_TOKEN: &str = "digitalwallet.generic.authorizationToken";
/// The draft -03 name of [`FORMAT_AUTHORIZATION_TOKEN`], still accepted.
pub const FORMAT_AUTHORIZATION_TOKEN_LEGACY: &str = "digitalwallet.authorizationToken";

/// `{format, content, …}`. Members a format adds at the top level are kept in `extra`, so a
/// message can be read and written back without losing them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvisioningInformation {
    /// Tells the two clients how to read `content`.
    pub format: String,
    /// The format-specific object. Draft -03 called it `genericData`; both are read.
    #[serde(alias = "genericData")]
    pub content: Value,
    /// Other top-level members.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why Provisioning Information was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisioningError {
    /// The plaintext is not the JSON object of §12 (`format` and `content` are required).
    #[error("not Provisioning Information: {0}")]
    NotJson(#[from] serde_json::Error),
    /// `format` is empty; every share must name its format.
    #[error("the format must not be empty")]
    EmptyFormat,
    /// `content` must be a JSON object.
    #[error("the content must be a JSON object")]
    ContentNotObject,
}

impl ProvisioningInformation {
    /// Builds Provisioning Information, checking that `format` is named and `content` is an
    /// object.
    pub fn new(format: impl Into<String>, content: Value) -> Result<Self, ProvisioningError> {
        let info = Self { format: format.into(), content, extra: Map::new() };
        info.check()?;
        Ok(info)
    }

    /// Reads decrypted plaintext.
    pub fn from_slice(plaintext: &[u8]) -> Result<Self, ProvisioningError> {
        let info: Self = serde_json::from_slice(plaintext)?;
        info.check()?;
        Ok(info)
    }

    /// The plaintext to encrypt.
    pub fn to_vec(&self) -> Vec<u8> {
        // Serialising a struct of strings and `Value`s cannot fail.
        serde_json::to_vec(self).expect("Provisioning Information serialises")
    }

    fn check(&self) -> Result<(), ProvisioningError> {
        if self.format.is_empty() {
            return Err(ProvisioningError::EmptyFormat);
        }
        if !self.content.is_object() {
            return Err(ProvisioningError::ContentNotObject);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_legacy_generic_data_and_keeps_unknown_members() {
        let text =
            br#"{"format":"digitalwallet.authorizationToken","genericData":{"t":"x"},"seq":3}"#;
        let info = ProvisioningInformation::from_slice(text).unwrap();
        assert_eq!(info.format, FORMAT_AUTHORIZATION_TOKEN_LEGACY);
        assert_eq!(info.content["t"], "x");
        assert_eq!(info.extra["seq"], 3);
        let again = ProvisioningInformation::from_slice(&info.to_vec()).unwrap();
        assert_eq!(again, info);
    }

    #[test]
    fn rejects_missing_format_or_non_object_content() {
        assert!(ProvisioningInformation::from_slice(br#"{"content":{}}"#).is_err());
        assert!(ProvisioningInformation::from_slice(br#"{"format":"f","content":3}"#).is_err());
        assert!(ProvisioningInformation::from_slice(br#"{"format":"","content":{}}"#).is_err());
        assert!(ProvisioningInformation::from_slice(b"\xff").is_err());
    }
}
