//! Keys and signed statements: Ed25519 over a domain-separated, canonical JSON encoding
//! (docs/LIFECYCLE.md, "Signatures").
//!
//! A statement is signed over `tigress/<kind>/v1\0` followed by its JSON, and checked by
//! encoding the statement as received again: the types refuse unknown members and their maps
//! are ordered, so an encoding is canonical and a member added in transit fails to parse rather
//! than slipping past the signature.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::{CryptoRng, RngCore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A device's (or the owner's) signing key. Its secret never leaves the device.
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    /// A fresh key.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self(SigningKey::from_bytes(&seed))
    }

    /// The key from its 32-byte secret.
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&secret))
    }

    /// The 32-byte secret, to keep it on the device.
    pub fn secret(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Its public half.
    pub fn public(&self) -> PublicKey {
        Bytes(self.0.verifying_key().to_bytes())
    }

    /// Signs `statement`.
    pub fn sign<T: Statement>(&self, statement: T) -> Signed<T> {
        let signature = self.0.sign(&signing_input(&statement)).to_bytes();
        Signed { statement, signer: self.public(), signature: Bytes(signature) }
    }
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DeviceKey").field(&self.public()).finish()
    }
}

/// An Ed25519 public key; base64url in JSON.
pub type PublicKey = Bytes<32>;

/// A fixed number of bytes, base64url (no padding) in JSON.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> std::fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<const N: usize> Serialize for Bytes<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<'de, const N: usize> Deserialize<'de> for Bytes<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Checked before decoding: base64 of N bytes is never longer than this.
        if text.len() > N.div_ceil(3) * 4 {
            return Err(serde::de::Error::custom(format!("expected {N} bytes of base64url")));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&text)
            .map_err(|_| serde::de::Error::custom("expected base64url without padding"))?;
        let bytes: [u8; N] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom(format!("expected {N} bytes of base64url")))?;
        Ok(Self(bytes))
    }
}

/// A kind of statement that can be signed.
pub trait Statement: Serialize + DeserializeOwned {
    /// The domain, so that no statement's signature is valid as another kind's.
    const DOMAIN: &'static str;
}

/// A statement with its signer and signature. Only [`Signed::verify`] says the signature is
/// good; holding one proves nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signed<T> {
    /// What was signed.
    pub statement: T,
    /// Who signed it.
    pub signer: PublicKey,
    /// The Ed25519 signature.
    pub signature: Bytes<64>,
}

/// A signature that does not verify, or a signer that is not a valid key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not verify under its signer's key")]
pub struct BadSignature;

impl<T: Statement> Signed<T> {
    /// Checks the signature against the named signer (strict verification: no malleable or
    /// small-order forms).
    pub fn verify(&self) -> Result<&T, BadSignature> {
        let key = VerifyingKey::from_bytes(&self.signer.0).map_err(|_| BadSignature)?;
        let signature = Signature::from_bytes(&self.signature.0);
        key.verify_strict(&signing_input(&self.statement), &signature).map_err(|_| BadSignature)?;
        Ok(&self.statement)
    }
}

fn signing_input<T: Statement>(statement: &T) -> Vec<u8> {
    let mut input = format!("tigress/{}/v1\0", T::DOMAIN).into_bytes();
    // A statement is plain data (strings, numbers, ordered maps): encoding it cannot fail.
    serde_json::to_writer(&mut input, statement).expect("a statement encodes as JSON");
    input
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Note {
        text: String,
    }

    impl Statement for Note {
        const DOMAIN: &'static str = "test-note";
    }

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let key = DeviceKey::generate(&mut OsRng);
        let signed = key.sign(Note { text: "hello".into() });
        assert_eq!(signed.verify().unwrap().text, "hello");

        let mut altered = signed.clone();
        altered.statement.text = "hellO".into();
        assert_eq!(altered.verify(), Err(BadSignature));

        let mut other_signer = signed.clone();
        other_signer.signer = DeviceKey::generate(&mut OsRng).public();
        assert_eq!(other_signer.verify(), Err(BadSignature));

        let json = serde_json::to_string(&signed).unwrap();
        let back: Signed<Note> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.verify().unwrap().text, "hello");
    }

    #[test]
    fn a_member_added_in_transit_or_a_wrong_length_is_refused() {
        let key = DeviceKey::generate(&mut OsRng);
        let json = serde_json::to_value(key.sign(Note { text: "x".into() })).unwrap();
        let mut extra = json.clone();
        extra["statement"]["admin"] = true.into();
        assert!(serde_json::from_value::<Signed<Note>>(extra).is_err());
        let mut short = json;
        short["signer"] = "AAAA".into();
        assert!(serde_json::from_value::<Signed<Note>>(short).is_err());
    }
}
