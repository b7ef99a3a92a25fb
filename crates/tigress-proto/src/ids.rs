//! Domain identifiers: mailbox ids, device claims and request ids (§1, §3, §8).

use std::fmt;
use std::str::FromStr;

use rand_core::{CryptoRng, RngCore};
use uuid::Uuid;

/// Why an identifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The value is not a UUID in its hyphenated form; send a hyphenated UUID.
    #[error("not a hyphenated UUID")]
    NotUuid,
    /// The request id is empty, too long, or holds characters other than visible ASCII.
    #[error("request id must be 1 to {max} visible ASCII characters", max = RequestId::MAX_LEN)]
    BadRequestId,
}

fn parse_hyphenated_uuid(text: &str) -> Result<Uuid, IdError> {
    // `Uuid::parse_str` also accepts braced, URN and simple forms; the wire uses the hyphenated
    // form only, and one spelling per value keeps paths and logs unambiguous.
    if text.len() != 36 {
        return Err(IdError::NotUuid);
    }
    Uuid::try_parse(text).map_err(|_| IdError::NotUuid)
}

fn random_v4(rng: &mut (impl RngCore + CryptoRng)) -> Uuid {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A mailbox identifier: a UUID v4 chosen by the relay from a CSPRNG (§1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MailboxId(Uuid);

impl MailboxId {
    /// Draws a fresh random identifier.
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(random_v4(rng))
    }

    /// The 16 bytes of the UUID, as stored by the relay.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// Rebuilds an identifier from its 16 stored bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }
}

impl FromStr for MailboxId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hyphenated_uuid(s).map(Self)
    }
}

impl fmt::Display for MailboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lower-case hyphenated, as §4 requires.
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for MailboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A mailbox id is half of a share URL: keep it out of debug output and logs.
        f.write_str("MailboxId(..)")
    }
}

/// A device claim: a client-chosen UUID that acts as a bearer token for one role in one mailbox
/// (§8). Its `Debug` output is redacted; compare claims only through hashes in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeviceClaim(Uuid);

impl DeviceClaim {
    /// Draws a fresh random claim (UUID v4), as clients must for every mailbox and role.
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(random_v4(rng))
    }

    /// The 16 bytes of the claim.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The header value: the lower-case hyphenated UUID.
    pub fn to_header_value(&self) -> String {
        self.0.hyphenated().to_string()
    }
}

impl FromStr for DeviceClaim {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hyphenated_uuid(s).map(Self)
    }
}

impl fmt::Debug for DeviceClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceClaim(..)")
    }
}

/// A `Mailbox-Request-ID`: an opaque string the relay echoes and de-duplicates on (§7).
#[derive(Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The longest request id the relay accepts; a UUID needs 36.
    pub const MAX_LEN: usize = 128;

    /// A fresh random request id (a UUID v4), one per new operation.
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(random_v4(rng).hyphenated().to_string())
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RequestId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let visible = s.bytes().all(|b| b.is_ascii_graphic());
        if s.is_empty() || s.len() > Self::MAX_LEN || !visible {
            return Err(IdError::BadRequestId);
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestId(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_id_round_trips_in_lower_case() {
        let id: MailboxId = "0E5B6A1C-3F0D-4C7A-9A51-2B8E7D6C5F40".parse().unwrap();
        assert_eq!(id.to_string(), "0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40");
        assert_eq!(MailboxId::from_bytes(*id.as_bytes()), id);
    }

    #[test]
    fn rejects_uuid_forms_other_than_hyphenated() {
        for bad in [
            "0e5b6a1c3f0d4c7a9a512b8e7d6c5f40",
            "{0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40}",
            "urn:uuid:0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40",
            "0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f4g",
            "",
        ] {
            assert_eq!(bad.parse::<DeviceClaim>(), Err(IdError::NotUuid), "{bad}");
        }
    }

    #[test]
    fn random_ids_are_version_4() {
        let id = MailboxId::random(&mut rand::rngs::OsRng);
        assert_eq!(Uuid::from_bytes(*id.as_bytes()).get_version_num(), 4);
    }

    #[test]
    fn debug_output_hides_claims_and_ids() {
        let claim = DeviceClaim::random(&mut rand::rngs::OsRng);
        let shown = format!("{claim:?}");
        assert!(!shown.contains(&claim.to_header_value()));
    }

    #[test]
    fn request_ids_are_bounded_visible_ascii() {
        assert!("abc-123".parse::<RequestId>().is_ok());
        assert!("".parse::<RequestId>().is_err());
        assert!("has space".parse::<RequestId>().is_err());
        assert!("x".repeat(129).parse::<RequestId>().is_err());
        assert!("x".repeat(128).parse::<RequestId>().is_ok());
    }
}
