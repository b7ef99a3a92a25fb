//! Push tokens sealed at rest: the stores keep each token's data encrypted (AES-256-GCM, the
//! token type as associated data) under a key derived from the relay's claim key, which lives
//! outside the store, so that a copy of the store does not say which devices held which shares.
//! The relay opens a token only to push to it. See docs/SECURITY.md.
//!
//! A sealed token's data is `sealed1.` and the base64url of nonce ‖ ciphertext ‖ tag. Tokens
//! stored before the relay had a key are plain; they are pushed to as they are.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::Sha256;
use tigress_proto::wire::NotificationToken;

use crate::mailbox::ClaimKey;

const PREFIX: &str = "sealed1.";
const NONCE_LEN: usize = 12;

/// Seals and opens push tokens under one key.
pub struct TokenSeal {
    cipher: Aes256Gcm,
}

impl TokenSeal {
    /// The seal of a relay whose claim key is `key`: its own key, derived with HKDF-SHA-256,
    /// so that the claim digests and the tokens never share one.
    pub fn new(key: &ClaimKey) -> Self {
        let mut derived = [0u8; 32];
        Hkdf::<Sha256>::new(None, key.as_bytes())
            .expand(b"tigress/push-token/v1", &mut derived)
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        Self { cipher: Aes256Gcm::new(&derived.into()) }
    }

    /// `token` with its data sealed.
    pub fn seal(&self, token: NotificationToken) -> NotificationToken {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload { msg: token.token_data.as_bytes(), aad: token.kind.as_bytes() };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM seals any token the limits let in");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        NotificationToken {
            kind: token.kind,
            token_data: format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)),
        }
    }

    /// The data of a stored token, to push to: opened when sealed, as it is when plain (stored
    /// before the relay had a key). `None` when it does not open (another key, or tampered).
    pub fn open(&self, token: &NotificationToken) -> Option<String> {
        let Some(sealed) = token.token_data.strip_prefix(PREFIX) else {
            return Some(token.token_data.clone());
        };
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN)?;
        let payload = Payload { msg: ciphertext, aad: token.kind.as_bytes() };
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), payload).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(data: &str) -> NotificationToken {
        NotificationToken { kind: "com.apple.apns".into(), token_data: data.into() }
    }

    #[test]
    fn a_sealed_token_hides_its_data_and_opens_under_its_key_only() {
        let seal = TokenSeal::new(&ClaimKey::from_bytes([3; 32]));
        let sealed = seal.seal(token("device-token-0123"));
        assert!(!sealed.token_data.contains("device-token"), "{}", sealed.token_data);
        assert_eq!(sealed.kind, "com.apple.apns");
        assert_eq!(seal.open(&sealed).as_deref(), Some("device-token-0123"));
        // Fresh nonces: the same token seals differently each time.
        assert_ne!(seal.seal(token("device-token-0123")).token_data, sealed.token_data);

        let other = TokenSeal::new(&ClaimKey::from_bytes([4; 32]));
        assert_eq!(other.open(&sealed), None);
        let moved = NotificationToken { kind: "fcm".into(), ..sealed.clone() };
        assert_eq!(seal.open(&moved), None, "the type is bound to the data");
        for broken in ["sealed1.", "sealed1.!!", "sealed1.AAAA"] {
            assert_eq!(seal.open(&token(broken)), None, "{broken}");
        }
    }

    #[test]
    fn a_token_stored_before_the_key_is_pushed_to_as_it_is() {
        let seal = TokenSeal::new(&ClaimKey::from_bytes([3; 32]));
        assert_eq!(seal.open(&token("plain-token")).as_deref(), Some("plain-token"));
    }
}
