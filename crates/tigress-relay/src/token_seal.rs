//! Push tokens as the stores keep them: each token's data sealed at rest (AES-256-GCM, the
//! token type as associated data) under a key derived from the relay's claim key, which lives
//! outside the store, so that a copy of the store does not say which devices held which shares.
//! The relay opens a token only to push to it. See docs/SECURITY.md.
//!
//! The stores hold a token's type and one string, its stored data, in these forms:
//! - `sealed1.` and the base64url of nonce ‖ ciphertext ‖ tag, sealing the token's data;
//! - `sealed2.` and the same, sealing a token with an APNs topic (`tokenTopic`): one byte of
//!   the topic's length, the topic, then the data;
//! - plain, for tokens stored by a relay without a key: the data itself, or `topic1.`, the
//!   base64url of the topic, a dot and the data when the token has a topic.
//!
//! A store written before topics existed holds only the first and the plain data form; both
//! still open as they did.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::Sha256;
use tigress_proto::wire::NotificationToken;

use crate::mailbox::ClaimKey;

const SEALED: &str = "sealed1.";
const SEALED_WITH_TOPIC: &str = "sealed2.";
const PLAIN_WITH_TOPIC: &str = "topic1.";
const NONCE_LEN: usize = 12;

/// A stored token, opened: where to push and, when the client named one, the APNs topic.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedToken {
    /// The token's data, as the client sent it.
    pub token_data: String,
    /// `tokenTopic`, as the client sent it.
    pub topic: Option<String>,
}

impl std::fmt::Debug for OpenedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the token nor its topic belongs in a log.
        f.debug_struct("OpenedToken").finish_non_exhaustive()
    }
}

/// `token` as a store keeps it: sealed when the relay has a seal, plain otherwise.
pub fn stored_form(seal: Option<&TokenSeal>, token: NotificationToken) -> NotificationToken {
    match seal {
        Some(seal) => seal.seal(token),
        None => plain_form(token),
    }
}

/// A stored token, opened to push to. `None` when it does not open (sealed under another key,
/// or tampered with).
pub fn open_stored(seal: Option<&TokenSeal>, stored: &NotificationToken) -> Option<OpenedToken> {
    let data = &stored.token_data;
    if data.starts_with(SEALED) || data.starts_with(SEALED_WITH_TOPIC) {
        return seal?.open(stored);
    }
    Some(open_plain(data))
}

fn plain_form(token: NotificationToken) -> NotificationToken {
    let token_data = match &token.topic {
        Some(topic) => {
            format!("{PLAIN_WITH_TOPIC}{}.{}", URL_SAFE_NO_PAD.encode(topic), token.token_data)
        }
        None => token.token_data,
    };
    NotificationToken { kind: token.kind, token_data, topic: None }
}

fn open_plain(data: &str) -> OpenedToken {
    let with_topic = data.strip_prefix(PLAIN_WITH_TOPIC).and_then(|rest| {
        let (topic, token_data) = rest.split_once('.')?;
        let topic = String::from_utf8(URL_SAFE_NO_PAD.decode(topic).ok()?).ok()?;
        Some(OpenedToken { token_data: token_data.to_owned(), topic: Some(topic) })
    });
    // A plain token that merely looks like the topic form is pushed to as it is.
    with_topic.unwrap_or_else(|| OpenedToken { token_data: data.to_owned(), topic: None })
}

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

    /// `token` with its data, and its topic when it has one, sealed.
    pub fn seal(&self, token: NotificationToken) -> NotificationToken {
        let (prefix, plain) = match &token.topic {
            // The limits keep topics far below 256 bytes; a longer one cannot be framed.
            Some(topic) if topic.len() <= usize::from(u8::MAX) => {
                let mut plain = vec![topic.len() as u8];
                plain.extend_from_slice(topic.as_bytes());
                plain.extend_from_slice(token.token_data.as_bytes());
                (SEALED_WITH_TOPIC, plain)
            }
            _ => (SEALED, token.token_data.into_bytes()),
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload { msg: &plain, aad: token.kind.as_bytes() };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM seals any token the limits let in");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        NotificationToken {
            kind: token.kind,
            token_data: format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)),
            topic: None,
        }
    }

    /// A stored token, opened to push to: unsealed when sealed, as it is when plain (stored
    /// before the relay had a key). `None` when it does not open (another key, or tampered).
    pub fn open(&self, stored: &NotificationToken) -> Option<OpenedToken> {
        let data = &stored.token_data;
        let (with_topic, sealed) =
            match (data.strip_prefix(SEALED), data.strip_prefix(SEALED_WITH_TOPIC)) {
                (Some(sealed), _) => (false, sealed),
                (None, Some(sealed)) => (true, sealed),
                (None, None) => return Some(open_plain(data)),
            };
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN)?;
        let payload = Payload { msg: ciphertext, aad: stored.kind.as_bytes() };
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), payload).ok()?;
        if !with_topic {
            return Some(OpenedToken { token_data: String::from_utf8(plain).ok()?, topic: None });
        }
        let (&length, rest) = plain.split_first()?;
        let (topic, token_data) = rest.split_at_checked(usize::from(length))?;
        Some(OpenedToken {
            token_data: String::from_utf8(token_data.to_vec()).ok()?,
            topic: Some(String::from_utf8(topic.to_vec()).ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(data: &str) -> NotificationToken {
        NotificationToken::new("com.apple.apns", data)
    }

    fn with_topic(data: &str, topic: &str) -> NotificationToken {
        NotificationToken { topic: Some(topic.into()), ..token(data) }
    }

    fn opened(data: &str, topic: Option<&str>) -> Option<OpenedToken> {
        Some(OpenedToken { token_data: data.into(), topic: topic.map(String::from) })
    }

    #[test]
    fn a_sealed_token_hides_its_data_and_opens_under_its_key_only() {
        let seal = TokenSeal::new(&ClaimKey::from_bytes([3; 32]));
        let sealed = seal.seal(token("device-token-0123"));
        assert!(sealed.token_data.starts_with("sealed1."), "{}", sealed.token_data);
        assert!(!sealed.token_data.contains("device-token"), "{}", sealed.token_data);
        assert_eq!(sealed.kind, "com.apple.apns");
        assert_eq!(seal.open(&sealed), opened("device-token-0123", None));
        // Fresh nonces: the same token seals differently each time.
        assert_ne!(seal.seal(token("device-token-0123")).token_data, sealed.token_data);

        let other = TokenSeal::new(&ClaimKey::from_bytes([4; 32]));
        assert_eq!(other.open(&sealed), None);
        let moved = NotificationToken { kind: "fcm".into(), ..sealed.clone() };
        assert_eq!(seal.open(&moved), None, "the type is bound to the data");
        for broken in ["sealed1.", "sealed1.!!", "sealed1.AAAA", "sealed2.", "sealed2.AAAA"] {
            assert_eq!(seal.open(&token(broken)), None, "{broken}");
        }
    }

    #[test]
    fn a_topic_is_sealed_with_its_token() {
        let seal = TokenSeal::new(&ClaimKey::from_bytes([3; 32]));
        let sealed = seal.seal(with_topic("device-token-0123", "com.example.wallet"));
        assert!(sealed.token_data.starts_with("sealed2."), "{}", sealed.token_data);
        assert!(!sealed.token_data.contains("example"), "{}", sealed.token_data);
        assert_eq!(sealed.topic, None, "the store never sees the topic apart");
        assert_eq!(seal.open(&sealed), opened("device-token-0123", Some("com.example.wallet")));
        let stored = stored_form(Some(&seal), with_topic("t", "com.example.wallet"));
        assert_eq!(open_stored(Some(&seal), &stored), opened("t", Some("com.example.wallet")));
        assert_eq!(open_stored(None, &stored), None, "a sealed token needs the key");
    }

    #[test]
    fn without_a_key_tokens_and_topics_are_kept_plain_and_read_back() {
        let stored = stored_form(None, with_topic("abc.def", "com.example.wallet"));
        assert!(stored.token_data.starts_with("topic1."), "{}", stored.token_data);
        assert_eq!(open_stored(None, &stored), opened("abc.def", Some("com.example.wallet")));
        let stored = stored_form(None, token("abc"));
        assert_eq!(stored.token_data, "abc");
        assert_eq!(open_stored(None, &stored), opened("abc", None));
        // Data that only looks like the topic form is pushed to as it is.
        assert_eq!(open_stored(None, &token("topic1.!!.x")), opened("topic1.!!.x", None));
    }

    #[test]
    fn a_token_stored_before_the_key_is_pushed_to_as_it_is() {
        let seal = TokenSeal::new(&ClaimKey::from_bytes([3; 32]));
        assert_eq!(seal.open(&token("plain-token")), opened("plain-token", None));
        assert_eq!(open_stored(Some(&seal), &token("plain-token")), opened("plain-token", None));
    }
}
