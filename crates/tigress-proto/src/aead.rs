//! Payload encryption: AES-GCM with a 12-byte random nonce and empty associated data (§13).
//!
//! `data` is `base64(nonce ‖ ciphertext ‖ tag)`. One secret protects every message of a transfer,
//! in both directions.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::wire::Payload;

/// Nonce length in bytes.
const NONCE_LEN: usize = 12;
/// Tag length in bytes.
const TAG_LEN: usize = 16;

/// The AEAD algorithms of §13.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `AEAD_AES_128_GCM`, with a 16-byte secret.
    Aes128Gcm,
    /// `AEAD_AES_256_GCM`, with a 32-byte secret.
    Aes256Gcm,
}

impl Algorithm {
    /// The `payload.type` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Gcm => "AEAD_AES_128_GCM",
            Self::Aes256Gcm => "AEAD_AES_256_GCM",
        }
    }

    /// Looks an algorithm up by its `payload.type` name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "AEAD_AES_128_GCM" => Some(Self::Aes128Gcm),
            "AEAD_AES_256_GCM" => Some(Self::Aes256Gcm),
            _ => None,
        }
    }

    /// The secret length this algorithm needs.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm => 32,
        }
    }
}

/// Why a payload could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// `payload.type` names no algorithm this client knows; the sender used a newer algorithm.
    #[error("unknown payload type")]
    UnknownAlgorithm,
    /// The secret's length does not fit `payload.type`; the secret is not the one for this share.
    #[error("the secret's length does not match the payload type")]
    KeyLengthMismatch,
    /// The payload could not be decrypted: wrong secret, or the payload was altered. Deliberately
    /// one error for every cause, so that it reveals nothing.
    #[error("the payload could not be decrypted: wrong secret or tampered payload")]
    Undecryptable,
}

/// Why a secret could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the secret must be base64 of a 16-byte or 32-byte key")]
pub struct SecretError;

/// The symmetric key of one transfer, held only by the two devices. Its memory is wiped on drop
/// and its `Debug` output is redacted.
#[derive(Clone)]
pub struct Secret {
    algorithm: Algorithm,
    key: Zeroizing<Vec<u8>>,
}

impl Secret {
    /// Draws a fresh secret for `algorithm`.
    pub fn generate(algorithm: Algorithm, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut key = Zeroizing::new(vec![0u8; algorithm.key_len()]);
        rng.fill_bytes(&mut key);
        Self { algorithm, key }
    }

    /// The share's name in the binding of its sealed fields (docs/MESSAGES.md, "Sealed fields"):
    /// 16 bytes derived from the secret with HKDF-SHA-256, in base64url. Both devices know it
    /// before the first message is written (a mailbox id comes only with the relay's answer);
    /// it tells nothing of the secret, and the relay never sees it.
    pub fn share_binding(&self) -> String {
        let mut binding = [0u8; 16];
        hkdf::Hkdf::<sha2::Sha256>::new(None, &self.key)
            .expand(b"tigress/sealed-field/share/v1", &mut binding)
            .expect("16 bytes is a valid HKDF-SHA-256 length");
        URL_SAFE_NO_PAD.encode(binding)
    }

    /// Parses a secret from base64: standard or url-safe, padded or not (§14). The algorithm
    /// follows from the length.
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        if text.len() > 64 {
            return Err(SecretError);
        }
        let key = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .map(Zeroizing::new)
            .ok_or(SecretError)?;
        let algorithm = match key.len() {
            16 => Algorithm::Aes128Gcm,
            32 => Algorithm::Aes256Gcm,
            _ => return Err(SecretError),
        };
        Ok(Self { algorithm, key })
    }

    /// Standard base64 with padding, as placed in a share URL's fragment.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key.as_slice())
    }

    /// The algorithm this secret is for.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key's bytes, for keys derived from the share's secret inside this crate (the PIN
    /// exchange). Never leaves the crate, so no caller can log or store the raw key.
    pub(crate) fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    /// Encrypts `plaintext` under a fresh random nonce drawn from `rng`.
    pub fn seal(&self, plaintext: &[u8], rng: &mut (impl RngCore + CryptoRng)) -> Payload {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        self.seal_with_nonce(&nonce, plaintext)
    }

    /// Encrypts with a given nonce. Private so that no caller can reuse a nonce; tests use it to
    /// replay known vectors.
    fn seal_with_nonce(&self, nonce: &[u8; NONCE_LEN], plaintext: &[u8]) -> Payload {
        let nonce_ref = Nonce::from_slice(nonce);
        // Encryption fails only for plaintexts beyond 64 GiB, far past any request limit, and
        // the key length is fixed by construction; both `expect`s hold by invariant.
        let sealed = match self.algorithm {
            Algorithm::Aes128Gcm => Aes128Gcm::new_from_slice(&self.key)
                .expect("16-byte key by construction")
                .encrypt(nonce_ref, plaintext),
            Algorithm::Aes256Gcm => Aes256Gcm::new_from_slice(&self.key)
                .expect("32-byte key by construction")
                .encrypt(nonce_ref, plaintext),
        }
        .expect("plaintext within AES-GCM limits");
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(nonce);
        blob.extend_from_slice(&sealed);
        Payload { kind: self.algorithm.name().to_owned(), data: STANDARD.encode(blob) }
    }

    /// Decrypts and verifies a payload.
    pub fn open(&self, payload: &Payload) -> Result<Vec<u8>, OpenError> {
        let algorithm = Algorithm::from_name(&payload.kind).ok_or(OpenError::UnknownAlgorithm)?;
        if algorithm.key_len() != self.key.len() {
            return Err(OpenError::KeyLengthMismatch);
        }
        let blob = decode_lenient(&payload.data).ok_or(OpenError::Undecryptable)?;
        // Check the length before splitting: nonce and tag must both be there.
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Undecryptable);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::from_slice(nonce);
        let opened = match algorithm {
            Algorithm::Aes128Gcm => {
                Aes128Gcm::new_from_slice(&self.key).map(|c| c.decrypt(nonce, sealed))
            }
            Algorithm::Aes256Gcm => {
                Aes256Gcm::new_from_slice(&self.key).map(|c| c.decrypt(nonce, sealed))
            }
        };
        match opened {
            Ok(Ok(plaintext)) => Ok(plaintext),
            _ => Err(OpenError::Undecryptable),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

/// Decodes base64 in any of the spellings §13 allows: standard or url-safe, padded or not.
pub fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// NIST GCM test vector (AES-128, 96-bit IV, empty AAD), from the GCM specification's test
    /// case 3.
    #[test]
    fn matches_the_gcm_specification_vector() {
        let secret = Secret {
            algorithm: Algorithm::Aes128Gcm,
            key: Zeroizing::new(hex("feffe9928665731c6d6a8f9467308308")),
        };
        let nonce: [u8; 12] = hex("cafebabefacedbaddecaf888").try_into().unwrap();
        let plaintext = hex(concat!(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
        ));
        let payload = secret.seal_with_nonce(&nonce, &plaintext);
        let blob = decode_lenient(&payload.data).unwrap();
        let expected_tail = hex("4d5c2af327cd64a62cf35abd2ba6fab4");
        assert_eq!(&blob[..12], &nonce);
        assert_eq!(&blob[blob.len() - 16..], expected_tail.as_slice());
        assert_eq!(secret.open(&payload).unwrap(), plaintext);
    }

    #[test]
    fn round_trips_both_key_sizes() {
        for algorithm in [Algorithm::Aes128Gcm, Algorithm::Aes256Gcm] {
            let secret = Secret::generate(algorithm, &mut rand::rngs::OsRng);
            let payload = secret.seal(b"{\"format\":\"x\"}", &mut rand::rngs::OsRng);
            assert_eq!(payload.kind, algorithm.name());
            assert_eq!(secret.open(&payload).unwrap(), b"{\"format\":\"x\"}");
            let again = Secret::from_base64(&secret.to_base64()).unwrap();
            assert_eq!(again.open(&payload).unwrap(), b"{\"format\":\"x\"}");
        }
    }

    #[test]
    fn rejects_tampering_wrong_keys_and_short_blobs() {
        let secret = Secret::generate(Algorithm::Aes128Gcm, &mut rand::rngs::OsRng);
        let mut payload = secret.seal(b"hello", &mut rand::rngs::OsRng);
        let other = Secret::generate(Algorithm::Aes128Gcm, &mut rand::rngs::OsRng);
        assert_eq!(other.open(&payload), Err(OpenError::Undecryptable));

        let big = Secret::generate(Algorithm::Aes256Gcm, &mut rand::rngs::OsRng);
        assert_eq!(big.open(&payload), Err(OpenError::KeyLengthMismatch));

        let mut blob = decode_lenient(&payload.data).unwrap();
        blob[14] ^= 1;
        payload.data = STANDARD.encode(&blob);
        assert_eq!(secret.open(&payload), Err(OpenError::Undecryptable));

        payload.data = STANDARD.encode([0u8; 27]);
        assert_eq!(secret.open(&payload), Err(OpenError::Undecryptable));
        payload.data = "not base64!".into();
        assert_eq!(secret.open(&payload), Err(OpenError::Undecryptable));
        payload.kind = "AES128".into();
        assert_eq!(secret.open(&payload), Err(OpenError::UnknownAlgorithm));
    }

    #[test]
    fn accepts_url_safe_and_unpadded_secrets() {
        let secret = Secret::from_base64("hXlr6aRC7KgJpOLTNZaLsw==").unwrap();
        assert_eq!(secret.algorithm(), Algorithm::Aes128Gcm);
        assert!(Secret::from_base64("hXlr6aRC7KgJpOLTNZaLsw").is_ok());
        assert!(Secret::from_base64("_-_-_-_-_-_-_-_-_-_-_w").is_ok());
        assert!(Secret::from_base64("aGVsbG8=").is_err());
    }

    #[test]
    fn debug_output_hides_the_key() {
        let secret = Secret::from_base64("hXlr6aRC7KgJpOLTNZaLsw==").unwrap();
        assert!(!format!("{secret:?}").contains("hXlr"));
    }
}
