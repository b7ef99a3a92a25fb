//! Binding every message of a transfer to its mailbox, writer, position and predecessor, so that
//! the relay (which stores and serves the ciphertext) cannot reflect, replay, reorder or drop
//! messages unnoticed.
//!
//! Both devices share one secret in both directions (§13), so AES-GCM alone cannot tell who wrote
//! a message or where it belongs. Each plaintext therefore carries, next to `format` and
//! `content`, a member the drafts allow formats to add (§12):
//!
//! ```json
//! "messageBinding": {"mailbox": "0e5b…5f40", "from": "receiver", "seq": 2, "prev": "<base64url SHA-256>"}
//! ```
//!
//! `seq` counts the messages of the conversation from 1 (the invitation), across both parties;
//! `prev` is the SHA-256 of the previous message's whole plaintext, so the messages form one
//! chain; `mailbox` is absent only from the invitation, which is encrypted before the relay
//! chooses the mailbox id (the per-share secret already confines it to this share). Clients that
//! ignore unknown members still read the `format` and `content` as usual.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aead::{OpenError, Secret};
use crate::ids::MailboxId;
use crate::provisioning::{ProvisioningError, ProvisioningInformation};
use crate::wire::{Party, Payload};

/// The name of the binding member in every plaintext.
pub const BINDING_MEMBER: &str = "messageBinding";

#[derive(Debug, Serialize, Deserialize)]
struct Binding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mailbox: Option<String>,
    from: Party,
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// Why a message of a transfer was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The message could not be decrypted: wrong secret or tampered payload.
    #[error("could not decrypt the message: {0}")]
    Open(#[from] OpenError),
    /// The plaintext is not Provisioning Information.
    #[error("the message is not valid: {0}")]
    Provisioning(#[from] ProvisioningError),
    /// The plaintext carries no valid binding member; it cannot be placed in the conversation.
    #[error("the message carries no valid {BINDING_MEMBER}")]
    MissingBinding,
    /// This device's own message was presented as the peer's: the relay reflected it back.
    #[error("this device's own message was presented as the peer's (reflected)")]
    Reflected,
    /// A message claims to be this device's own, but this device never sent it.
    #[error("a message claims to come from this device, which never sent it")]
    NotSentByUs,
    /// The message was already received: the relay replayed it.
    #[error("message {got} was already received (replayed); expected message {expected}")]
    Replayed {
        /// The next message the conversation expects.
        expected: u64,
        /// The message's own position.
        got: u64,
    },
    /// A message is missing before this one, or the messages come out of order.
    #[error("message {got} arrived while message {expected} is missing (dropped or reordered)")]
    OutOfOrder {
        /// The next message the conversation expects.
        expected: u64,
        /// The message's own position.
        got: u64,
    },
    /// The message belongs to another mailbox.
    #[error("the message belongs to another mailbox")]
    WrongMailbox,
    /// The message does not follow the previous one: the chain of hashes is broken.
    #[error("the message does not follow the previous one (broken chain)")]
    BrokenChain,
}

/// One side of a transfer's conversation: seals outgoing messages with their binding and checks
/// incoming ones against it.
pub struct Conversation {
    me: Party,
    secret: Secret,
    mailbox: Option<MailboxId>,
    next_seq: u64,
    last_hash: Option<[u8; 32]>,
    sent: Vec<(u64, [u8; 32])>,
}

impl Conversation {
    /// Starts a conversation for `me`, encrypting under `secret`.
    pub fn new(me: Party, secret: Secret) -> Self {
        Self { me, secret, mailbox: None, next_seq: 1, last_hash: None, sent: Vec::new() }
    }

    /// Sets the mailbox, once known (the sender learns it from the create response).
    pub fn set_mailbox(&mut self, mailbox: MailboxId) {
        self.mailbox = Some(mailbox);
    }

    /// This side's role.
    pub fn me(&self) -> Party {
        self.me
    }

    /// The secret of the transfer.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Adds the binding to `info`, encrypts it, and makes it the head of the chain.
    pub fn seal(
        &mut self,
        info: &ProvisioningInformation,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Payload {
        let binding = Binding {
            mailbox: self.mailbox.map(|m| m.to_string()),
            from: self.me,
            seq: self.next_seq,
            prev: self.last_hash.map(|h| URL_SAFE_NO_PAD.encode(h)),
        };
        let mut bound = info.clone();
        // A binding is plain strings and numbers; turning it into a JSON value cannot fail.
        let value = serde_json::to_value(&binding).expect("a binding is JSON");
        bound.extra.insert(BINDING_MEMBER.to_owned(), value);
        let plaintext = bound.to_vec();
        let hash: [u8; 32] = Sha256::digest(&plaintext).into();
        self.sent.push((self.next_seq, hash));
        self.advance(hash);
        self.secret.seal(&plaintext, rng)
    }

    /// Opens a message the relay lists as written by `listed_from`. Returns the peer's
    /// Provisioning Information (without the binding member), or `None` for this device's own
    /// message coming back as its own.
    pub fn open(
        &mut self,
        payload: &Payload,
        listed_from: Party,
    ) -> Result<Option<ProvisioningInformation>, TransferError> {
        let (info, hash, binding) = self.decrypt(payload)?;
        let binding = binding.ok_or(TransferError::MissingBinding)?;
        if binding.from == self.me {
            if listed_from != self.me {
                return Err(TransferError::Reflected);
            }
            let ours = self.sent.iter().any(|(seq, sent)| *seq == binding.seq && *sent == hash);
            return if ours { Ok(None) } else { Err(TransferError::NotSentByUs) };
        }
        self.check_position(&binding)?;
        self.advance(hash);
        Ok(Some(info))
    }

    /// Opens the first message of a share, which a sender written to the drafts alone sends
    /// without a binding. Returns the information and whether it was bound; the conversation
    /// continues from it either way.
    pub fn open_first(
        &mut self,
        payload: &Payload,
    ) -> Result<(ProvisioningInformation, bool), TransferError> {
        let (info, hash, binding) = self.decrypt(payload)?;
        let bound = binding.is_some();
        match binding {
            // The first message is the peer's. One that names this device as its writer is this
            // device's own message reflected back, or a forgery.
            Some(binding) if binding.from == self.me => {
                let ours = self.sent.iter().any(|(_, sent)| *sent == hash);
                return Err(if ours {
                    TransferError::Reflected
                } else {
                    TransferError::NotSentByUs
                });
            }
            Some(binding) => self.check_position(&binding)?,
            None if self.next_seq == 1 => {}
            None => return Err(TransferError::MissingBinding),
        }
        self.advance(hash);
        Ok((info, bound))
    }

    fn decrypt(
        &self,
        payload: &Payload,
    ) -> Result<(ProvisioningInformation, [u8; 32], Option<Binding>), TransferError> {
        let plaintext = self.secret.open(payload)?;
        let hash: [u8; 32] = Sha256::digest(&plaintext).into();
        let mut info = ProvisioningInformation::from_slice(&plaintext)?;
        let binding = match info.extra.remove(BINDING_MEMBER) {
            None => None,
            // Only the object form: serde would also read a struct from a JSON array of its
            // members in order, a spelling no client writes and none should be able to slip in.
            Some(value @ serde_json::Value::Object(_)) => {
                Some(serde_json::from_value(value).map_err(|_| TransferError::MissingBinding)?)
            }
            Some(_) => return Err(TransferError::MissingBinding),
        };
        Ok((info, hash, binding))
    }

    fn check_position(&self, binding: &Binding) -> Result<(), TransferError> {
        let expected = self.next_seq;
        if binding.seq < expected {
            return Err(TransferError::Replayed { expected, got: binding.seq });
        }
        if binding.seq > expected {
            return Err(TransferError::OutOfOrder { expected, got: binding.seq });
        }
        let mailbox_matches = match (&binding.mailbox, self.mailbox) {
            (None, _) => binding.seq == 1,
            (Some(named), Some(ours)) => *named == ours.to_string(),
            (Some(_), None) => false,
        };
        if !mailbox_matches {
            return Err(TransferError::WrongMailbox);
        }
        let prev = self.last_hash.map(|h| URL_SAFE_NO_PAD.encode(h));
        if binding.prev != prev {
            return Err(TransferError::BrokenChain);
        }
        Ok(())
    }

    fn advance(&mut self, hash: [u8; 32]) {
        self.last_hash = Some(hash);
        self.next_seq += 1;
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;
    use serde_json::json;

    use super::*;
    use crate::aead::Algorithm;

    fn info(step: &str) -> ProvisioningInformation {
        ProvisioningInformation::new("digitalwallet.carkey.ccc", json!({"step": step})).unwrap()
    }

    /// A sender and receiver after the invitation, on mailbox `id`.
    fn pair() -> (Conversation, Conversation, Payload) {
        let secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
        let id = MailboxId::random(&mut OsRng);
        let mut sender = Conversation::new(Party::Sender, secret.clone());
        let invitation = sender.seal(&info("invite"), &mut OsRng);
        sender.set_mailbox(id);
        let mut receiver = Conversation::new(Party::Receiver, secret);
        receiver.set_mailbox(id);
        let got = receiver.open(&invitation, Party::Sender).unwrap().unwrap();
        assert_eq!(got.content["step"], "invite");
        assert!(!got.extra.contains_key(BINDING_MEMBER), "the binding is taken off");
        (sender, receiver, invitation)
    }

    #[test]
    fn accepts_a_conversation_in_order_from_both_sides() {
        let (mut sender, mut receiver, invitation) = pair();
        // The sender sees its own invitation listed as its own: skipped, not an error.
        assert!(sender.open(&invitation, Party::Sender).unwrap().is_none());
        let request = receiver.seal(&info("key-creation-request"), &mut OsRng);
        assert_eq!(
            sender.open(&request, Party::Receiver).unwrap().unwrap().content["step"],
            "key-creation-request"
        );
        // One side writes twice in a row; both arrive in order.
        let a = sender.seal(&info("signing-1"), &mut OsRng);
        let b = sender.seal(&info("signing-2"), &mut OsRng);
        assert!(receiver.open(&request, Party::Receiver).unwrap().is_none());
        assert_eq!(receiver.open(&a, Party::Sender).unwrap().unwrap().content["step"], "signing-1");
        assert_eq!(receiver.open(&b, Party::Sender).unwrap().unwrap().content["step"], "signing-2");
    }

    #[test]
    fn rejects_a_message_reflected_back_to_its_author() {
        let (_, mut receiver, _) = pair();
        let mine = receiver.seal(&info("request"), &mut OsRng);
        let result = receiver.open(&mine, Party::Sender);
        assert!(matches!(result, Err(TransferError::Reflected)), "{result:?}");
    }

    #[test]
    fn rejects_a_replayed_message() {
        let (_, mut receiver, invitation) = pair();
        let result = receiver.open(&invitation, Party::Sender);
        assert!(
            matches!(result, Err(TransferError::Replayed { expected: 2, got: 1 })),
            "{result:?}"
        );
    }

    #[test]
    fn rejects_reordered_messages_and_a_message_after_a_dropped_one() {
        let (mut sender, mut receiver, _) = pair();
        let first = sender.seal(&info("one"), &mut OsRng);
        let second = sender.seal(&info("two"), &mut OsRng);
        let result = receiver.open(&second, Party::Sender);
        assert!(
            matches!(result, Err(TransferError::OutOfOrder { expected: 2, got: 3 })),
            "{result:?}"
        );
        // In order it is fine.
        receiver.open(&first, Party::Sender).unwrap();
        receiver.open(&second, Party::Sender).unwrap();
    }

    #[test]
    fn rejects_a_message_of_another_mailbox_or_chain() {
        let secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
        let (mut sender, mut receiver) = (
            Conversation::new(Party::Sender, secret.clone()),
            Conversation::new(Party::Receiver, secret.clone()),
        );
        let invitation = sender.seal(&info("invite"), &mut OsRng);
        sender.set_mailbox(MailboxId::random(&mut OsRng));
        receiver.set_mailbox(MailboxId::random(&mut OsRng));
        receiver.open(&invitation, Party::Sender).unwrap();
        let next = sender.seal(&info("two"), &mut OsRng);
        assert!(matches!(receiver.open(&next, Party::Sender), Err(TransferError::WrongMailbox)));

        // Same mailbox, but a different history: the chain does not match.
        let id = MailboxId::random(&mut OsRng);
        let mut other = Conversation::new(Party::Sender, secret.clone());
        other.seal(&info("a different invitation"), &mut OsRng);
        other.set_mailbox(id);
        let mut victim = Conversation::new(Party::Receiver, secret);
        victim.set_mailbox(id);
        victim.open(&invitation, Party::Sender).unwrap();
        let forged_next = other.seal(&info("two"), &mut OsRng);
        assert!(matches!(
            victim.open(&forged_next, Party::Sender),
            Err(TransferError::BrokenChain)
        ));
    }

    /// Found by the `binding` fuzz target: `open_first` did not look at the writer, so the sender
    /// took its own invitation, and a receiver a first message naming the receiver, as the
    /// peer's.
    #[test]
    fn rejects_a_first_message_that_names_this_device_as_its_writer() {
        let secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
        let mut sender = Conversation::new(Party::Sender, secret.clone());
        let invitation = sender.seal(&info("invite"), &mut OsRng);
        let result = sender.open_first(&invitation);
        assert!(matches!(result, Err(TransferError::Reflected)), "{result:?}");

        let forged = br#"{"format":"f","content":{},"messageBinding":{"from":"receiver","seq":1}}"#;
        let mut receiver = Conversation::new(Party::Receiver, secret.clone());
        let result = receiver.open_first(&secret.seal(forged, &mut OsRng));
        assert!(matches!(result, Err(TransferError::NotSentByUs)), "{result:?}");
    }

    /// A binding written as a JSON array of its members was read as if it were the object; the
    /// `binding` fuzz target holds every accepted binding to the object form.
    #[test]
    fn rejects_a_binding_that_is_not_an_object() {
        let secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
        let array = br#"{"format":"f","content":{},"messageBinding":[null,"sender",1]}"#;
        let mut receiver = Conversation::new(Party::Receiver, secret.clone());
        let result = receiver.open(&secret.seal(array, &mut OsRng), Party::Sender);
        assert!(matches!(result, Err(TransferError::MissingBinding)), "{result:?}");
        let result = receiver.open_first(&secret.seal(array, &mut OsRng));
        assert!(matches!(result, Err(TransferError::MissingBinding)), "{result:?}");
    }

    #[test]
    fn accepts_an_unbound_first_message_from_a_draft_client() {
        let secret = Secret::generate(Algorithm::Aes256Gcm, &mut OsRng);
        let plain = secret.seal(&info("legacy").to_vec(), &mut OsRng);
        let mut receiver = Conversation::new(Party::Receiver, secret);
        let (info, bound) = receiver.open_first(&plain).unwrap();
        assert_eq!((info.content["step"].as_str(), bound), (Some("legacy"), false));
        assert!(matches!(receiver.open(&plain, Party::Sender), Err(TransferError::MissingBinding)));
    }
}
