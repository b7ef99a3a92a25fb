//! A PIN second factor the relay cannot break (Tigress extension).
//!
//! `tigress share … --pin` holds the credential back until the receiver proves a short PIN that
//! the sender tells it over another channel (by voice, for instance). The two devices run SPAKE2
//! over Ed25519 through the mailbox, inside the transfer's
//! [`Conversation`](crate::transfer::Conversation), so every message below is a
//! [`ProvisioningInformation`] plaintext that the conversation encrypts under the share's secret
//! and binds to the mailbox, writer, position and predecessor. The credential itself only enters
//! the mailbox once both sides have confirmed the PAKE key.
//!
//! ```text
//! sender (A)                                        receiver (B)
//!   invitation {version, pake, attempts}   ──────▶  (the create payload, no credential)
//!                                          ◀──────  attempt n {B's PAKE message}
//!   challenge n {A's PAKE message, MAC_A}  ──────▶  verifies MAC_A
//!                         right PIN:       ◀──────  proof n {MAC_B}
//!   credential n {AES-256-GCM under K_cred} ─────▶  opens the Provisioning Information
//!                         wrong PIN:       ◀──────  mismatch n
//!   failure n {attemptsLeft, ended}        ──────▶  may try again (attempt n+1) or stops
//! ```
//!
//! The parties take turns: the sender writes exactly one reply to each receiver message, and the
//! receiver writes only when it holds the turn, so the conversation's chain never forks.
//!
//! # Key schedule
//!
//! - `pw = HMAC-SHA256(key = secret, "tigress-pin-v1" ‖ 0x00 ‖ PIN)`: without the share's secret
//!   nobody can even make an attempt, and the PIN's digits never enter the PAKE as such.
//! - SPAKE2 (A = sender, B = receiver) with identities `"tigress-pin-v1 sender" ‖ mailbox` and
//!   `"tigress-pin-v1 receiver" ‖ mailbox` (the mailbox id's 16 bytes): the PAKE key `K` of one
//!   mailbox is worthless in any other. Each attempt draws fresh scalars on both sides.
//! - `PRK = HKDF-Extract(salt = secret, K)`; `kc_sender`, `kc_receiver`, `K_cred` =
//!   `HKDF-Expand(PRK, "tigress-pin-v1" ‖ 0 ‖ purpose ‖ 0 ‖ mailbox ‖ n₃₂, 32)` with purposes
//!   `sender-confirm`, `receiver-confirm`, `credential`.
//! - `T = "tigress-pin-v1" ‖ 0 ‖ mailbox ‖ n₃₂ ‖ msg_A ‖ msg_B` (both PAKE messages are 33
//!   bytes); `MAC_A = HMAC(kc_sender, "tigress-pin-v1" ‖ 0 ‖ "sender" ‖ 0 ‖ T)`, `MAC_B` likewise
//!   with `kc_receiver` and `"receiver"`. MACs are compared in constant time.
//! - The credential is `nonce ‖ AES-256-GCM(K_cred, nonce, plaintext)` with a random nonce.
//!
//! # Security argument
//!
//! SPAKE2 gives an active attacker one password guess per run: its PAKE message commits it to one
//! guess, and the key it ends with matches the honest side's only if that guess was right, so
//! `MAC_A` (or the absence of a valid `MAC_B`) tells it about that one guess alone; testing another
//! PIN against the transcript would need a Diffie-Hellman solution. The sender counts every
//! attempt message as one attempt, whether or not a proof follows, and ends the share after
//! [`MAX_ATTEMPTS`] failures, so a holder of the link and secret but not the PIN wins with a
//! probability of at most 3 / 10⁶ for a six-digit PIN. The relay holds only ciphertext under the
//! share's secret: it can withhold, delay or delete messages (the conversation's binding catches
//! reordering, replay and reflection), but it learns neither the PIN nor the credential, and it
//! cannot even make a guess. The receiver verifies the sender's MAC before it proves anything, so
//! a fake sender learns nothing about the PIN beyond one guess either.
//!
//! # Limits
//!
//! - Availability: whoever holds a leaked link and binds the mailbox first can burn the attempts
//!   and end the share. The PIN keeps the credential safe, not the share alive.
//! - The sender's device must be online while the receiver proves the PIN; it derives the keys and
//!   writes the credential then, not at creation.
//! - The PIN is as strong as its length: six digits make one million candidates.
//! - SPAKE2's state in the `spake2` crate (its copy of `pw` and the ephemeral scalar) is not wiped
//!   on drop; this module wipes its own copies.

use std::fmt;
use std::str::FromStr;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::traits::IsIdentity;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use spake2::{Ed25519Group, Identity, Password, Spake2};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::aead::Secret;
use crate::ids::MailboxId;
use crate::provisioning::ProvisioningInformation;

/// The label that versions and separates every derivation of this exchange.
const LABEL: &[u8] = b"tigress-pin-v1";
/// The PAKE named in the invitation.
pub const PAKE_NAME: &str = "SPAKE2-Ed25519";
/// The invitation's `version`.
pub const VERSION: u32 = 1;
/// Failed attempts after which the sender ends the share.
pub const MAX_ATTEMPTS: u32 = 3;
/// The most attempts a receiver accepts from an invitation; more would make the PIN guessable.
const MAX_ADVERTISED_ATTEMPTS: u32 = 10;

/// Format of the sender's first message: the share needs a PIN.
pub const FORMAT_INVITATION: &str = "org.tigress.pin.invitation";
/// Format of the receiver's PAKE message for one attempt.
pub const FORMAT_ATTEMPT: &str = "org.tigress.pin.attempt";
/// Format of the sender's PAKE message and key confirmation.
pub const FORMAT_CHALLENGE: &str = "org.tigress.pin.challenge";
/// Format of the receiver's key confirmation.
pub const FORMAT_PROOF: &str = "org.tigress.pin.proof";
/// Format of the receiver's notice that the sender's confirmation did not verify.
pub const FORMAT_MISMATCH: &str = "org.tigress.pin.mismatch";
/// Format of the credential, encrypted under the key both sides confirmed.
pub const FORMAT_CREDENTIAL: &str = "org.tigress.pin.credential";
/// Format of the sender's verdict on a failed attempt.
pub const FORMAT_FAILURE: &str = "org.tigress.pin.failure";

/// SPAKE2 messages are a side byte and a compressed Edwards point.
const PAKE_MESSAGE_LEN: usize = 33;
const SIDE_A: u8 = b'A';
const SIDE_B: u8 = b'B';
const NONCE_LEN: usize = 12;

type HmacSha256 = Hmac<Sha256>;

// ---------------------------------------------------------------------------------------------
// The PIN

/// Why a PIN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a PIN must be {min} to {max} ASCII digits", min = Pin::MIN_LEN, max = Pin::MAX_LEN)]
pub struct PinFormatError;

/// A PIN of 4 to 12 ASCII digits. Its `Debug` and `Display` output is redacted and its memory is
/// wiped on drop; [`Pin::reveal`] is the one way to read it, for showing it to the sender's user.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// The shortest PIN accepted.
    pub const MIN_LEN: usize = 4;
    /// The longest PIN accepted.
    pub const MAX_LEN: usize = 12;
    /// The length of a generated PIN.
    pub const GENERATED_LEN: usize = 6;

    /// Checks and wraps a PIN typed by a user.
    pub fn new(digits: &str) -> Result<Self, PinFormatError> {
        // Only ASCII digits: other Unicode digits would look alike on two keyboards yet hash
        // differently.
        let ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit());
        if ok { Ok(Self(Zeroizing::new(digits.to_owned()))) } else { Err(PinFormatError) }
    }

    /// Draws six uniformly random digits.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut digits = Zeroizing::new(String::with_capacity(Self::GENERATED_LEN));
        while digits.len() < Self::GENERATED_LEN {
            let mut byte = [0u8; 1];
            rng.fill_bytes(&mut byte);
            // 250 is the largest multiple of 10 that fits a byte: rejecting 250..=255 keeps every
            // digit equally likely (a plain `% 10` would favour 0 to 5).
            if byte[0] < 250 {
                digits.push(char::from(b'0' + byte[0] % 10));
            }
            byte.zeroize();
        }
        Self(digits)
    }

    /// The digits, for the sender's user to read out. Never put them in a message or a log.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl FromStr for Pin {
    type Err = PinFormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(..)")
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a PIN-exchange message was refused. Each means the peer does not follow the exchange (it
/// holds the share's secret, since the conversation opened its message); the caller should end
/// the transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// The message's format is not one this side expects at this point of the exchange.
    #[error("unexpected message {format:?} at this point of the PIN exchange")]
    Unexpected {
        /// The message's format.
        format: String,
    },
    /// The message's content is not the JSON object its format prescribes.
    #[error("malformed {format} message")]
    Malformed {
        /// The message's format.
        format: &'static str,
    },
    /// The message is about another attempt than the current one.
    #[error("the message is about attempt {got}, the current attempt is {expected}")]
    WrongAttempt {
        /// The current attempt.
        expected: u32,
        /// The message's attempt.
        got: u32,
    },
    /// The invitation names a version, PAKE or number of attempts this client does not accept.
    #[error("the invitation asks for an unsupported PIN exchange")]
    Unsupported,
    /// The sender does not know its mailbox yet; call [`PinSender::set_mailbox`] first.
    #[error("the mailbox is not known yet")]
    MailboxUnknown,
    /// The credential could not be decrypted or is not Provisioning Information.
    #[error("the credential could not be opened")]
    Credential,
    /// The exchange is over (delivered or ended); no message is expected any more.
    #[error("the PIN exchange is over")]
    Finished,
}

// ---------------------------------------------------------------------------------------------
// Message contents

#[derive(Serialize, Deserialize)]
struct InvitationContent {
    version: u32,
    pake: String,
    attempts: u32,
}

#[derive(Serialize, Deserialize)]
struct AttemptContent {
    attempt: u32,
    pake: String,
}

#[derive(Serialize, Deserialize)]
struct ChallengeContent {
    attempt: u32,
    pake: String,
    mac: String,
}

#[derive(Serialize, Deserialize)]
struct ProofContent {
    attempt: u32,
    mac: String,
}

#[derive(Serialize, Deserialize)]
struct MismatchContent {
    attempt: u32,
}

#[derive(Serialize, Deserialize)]
struct CredentialContent {
    attempt: u32,
    data: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureContent {
    attempt: u32,
    attempts_left: u32,
    ended: bool,
}

fn message(format: &str, content: &impl Serialize) -> ProvisioningInformation {
    // The contents are numbers, booleans and strings: they always serialise to an object.
    let content = serde_json::to_value(content).expect("a PIN message content is JSON");
    ProvisioningInformation::new(format, content).expect("a PIN message content is an object")
}

fn parse<T: DeserializeOwned>(
    info: &ProvisioningInformation,
    format: &'static str,
) -> Result<T, PinError> {
    serde_json::from_value(info.content.clone()).map_err(|_| PinError::Malformed { format })
}

fn decode(text: &str, format: &'static str) -> Result<Vec<u8>, PinError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| PinError::Malformed { format })
}

fn failure(attempt: u32, attempts_left: u32) -> ProvisioningInformation {
    message(FORMAT_FAILURE, &FailureContent { attempt, attempts_left, ended: attempts_left == 0 })
}

// ---------------------------------------------------------------------------------------------
// Key schedule

/// The SPAKE2 password: the PIN keyed by the share's secret.
fn password(secret: &Secret, pin: &Pin) -> Zeroizing<[u8; 32]> {
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(secret.key_bytes()).expect("HMAC takes any key");
    mac.update(LABEL);
    mac.update(&[0]);
    mac.update(pin.reveal().as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// The SPAKE2 identities of A (sender) and B (receiver), bound to the mailbox.
fn identities(mailbox: &MailboxId) -> (Identity, Identity) {
    let id = |role: &[u8]| {
        let mut bytes = LABEL.to_vec();
        bytes.push(b' ');
        bytes.extend_from_slice(role);
        bytes.extend_from_slice(mailbox.as_bytes());
        Identity::new(&bytes)
    };
    (id(b"sender"), id(b"receiver"))
}

/// The keys of one attempt.
struct AttemptKeys {
    kc_sender: Zeroizing<[u8; 32]>,
    kc_receiver: Zeroizing<[u8; 32]>,
    k_cred: Zeroizing<[u8; 32]>,
}

fn derive_keys(pake_key: &[u8], secret: &Secret, mailbox: &MailboxId, n: u32) -> AttemptKeys {
    let hkdf = Hkdf::<Sha256>::new(Some(secret.key_bytes()), pake_key);
    let expand = |purpose: &[u8]| {
        let mut info = LABEL.to_vec();
        info.push(0);
        info.extend_from_slice(purpose);
        info.push(0);
        info.extend_from_slice(mailbox.as_bytes());
        info.extend_from_slice(&n.to_be_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        hkdf.expand(&info, key.as_mut()).expect("32 bytes is a valid HKDF-SHA256 length");
        key
    };
    AttemptKeys {
        kc_sender: expand(b"sender-confirm"),
        kc_receiver: expand(b"receiver-confirm"),
        k_cred: expand(b"credential"),
    }
}

/// What both confirmation MACs cover. Both PAKE messages have a fixed length, so plain
/// concatenation is unambiguous.
fn transcript(mailbox: &MailboxId, n: u32, msg_a: &[u8], msg_b: &[u8]) -> Vec<u8> {
    let mut t = LABEL.to_vec();
    t.push(0);
    t.extend_from_slice(mailbox.as_bytes());
    t.extend_from_slice(&n.to_be_bytes());
    t.extend_from_slice(msg_a);
    t.extend_from_slice(msg_b);
    t
}

fn confirmation(key: &[u8; 32], role: &[u8], transcript: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(LABEL);
    mac.update(&[0]);
    mac.update(role);
    mac.update(&[0]);
    mac.update(transcript);
    mac.finalize().into_bytes().into()
}

fn verify(expected: &[u8; 32], got: &[u8]) -> bool {
    // `ct_eq` on slices of different lengths is false without looking at the contents.
    expected.as_slice().ct_eq(got).into()
}

/// Checks a peer's PAKE message before SPAKE2 uses it: the right side byte and a point of the
/// prime-order subgroup. The `spake2` crate does not clear the cofactor, so a point with a
/// small-order component would leak the low bits of this side's ephemeral scalar into the key.
fn valid_pake_message(msg: &[u8], side: u8) -> bool {
    if msg.len() != PAKE_MESSAGE_LEN || msg[0] != side {
        return false;
    }
    CompressedEdwardsY::from_slice(&msg[1..])
        .ok()
        .and_then(|c| c.decompress())
        .is_some_and(|p| p.is_torsion_free() && !p.is_identity())
}

// ---------------------------------------------------------------------------------------------
// Sender

/// The invitation a [`PinSender`] sends, for callers that must create the mailbox (and so learn
/// the share's secret) before they can build the sender: it depends on nothing secret.
pub fn invitation() -> ProvisioningInformation {
    invitation_with(MAX_ATTEMPTS)
}

fn invitation_with(attempts: u32) -> ProvisioningInformation {
    message(
        FORMAT_INVITATION,
        &InvitationContent { version: VERSION, pake: PAKE_NAME.to_owned(), attempts },
    )
}

/// Where the sender's side of the exchange stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderStatus {
    /// Waiting for the receiver's next message; `attempts_left` more attempts may start.
    Waiting {
        /// Attempts the receiver may still start.
        attempts_left: u32,
    },
    /// The receiver proved the PIN and the reply carries the credential.
    Delivered,
    /// Too many failed attempts: delete the mailbox and tell the user the share was ended.
    Ended,
}

/// The sender's reply to one receiver message, and where the exchange stands after it.
#[derive(Debug)]
pub struct SenderStep {
    /// The message to seal in the conversation and send. Every receiver message gets exactly one.
    pub reply: ProvisioningInformation,
    /// The status after this step.
    pub status: SenderStatus,
}

/// An attempt whose challenge is out, awaiting the receiver's proof.
struct Pending {
    n: u32,
    transcript: Vec<u8>,
    kc_receiver: Zeroizing<[u8; 32]>,
    k_cred: Zeroizing<[u8; 32]>,
}

enum SenderState {
    /// No attempt open: the next message must be an attempt.
    Idle,
    Challenged(Pending),
    Delivered,
    Ended,
}

/// The sender's side: holds the credential until the receiver proves the PIN.
///
/// Build it with the share's secret, the PIN and the credential, send [`PinSender::invitation`]
/// as the create payload, set the mailbox once the relay has chosen it, then feed it every
/// message of the receiver and send each reply.
pub struct PinSender {
    secret: Secret,
    password: Zeroizing<[u8; 32]>,
    credential: ProvisioningInformation,
    mailbox: Option<MailboxId>,
    max_attempts: u32,
    attempts_used: u32,
    state: SenderState,
}

impl PinSender {
    /// Starts the sender's side for `credential`, protected by `pin` and the share's `secret`.
    /// The PIN itself is not kept: only the password derived from it and the secret.
    pub fn new(secret: &Secret, pin: &Pin, credential: ProvisioningInformation) -> Self {
        Self {
            secret: secret.clone(),
            password: password(secret, pin),
            credential,
            mailbox: None,
            max_attempts: MAX_ATTEMPTS,
            attempts_used: 0,
            state: SenderState::Idle,
        }
    }

    /// The first message of the conversation: what the mailbox holds at creation. It names the
    /// PAKE and the attempts, and carries nothing of the credential.
    pub fn invitation(&self) -> ProvisioningInformation {
        invitation_with(self.max_attempts)
    }

    /// Sets the mailbox, once the relay has chosen it; the PAKE is bound to it.
    pub fn set_mailbox(&mut self, mailbox: MailboxId) {
        self.mailbox = Some(mailbox);
    }

    /// Where the exchange stands.
    pub fn status(&self) -> SenderStatus {
        match self.state {
            SenderState::Delivered => SenderStatus::Delivered,
            SenderState::Ended => SenderStatus::Ended,
            _ => SenderStatus::Waiting { attempts_left: self.attempts_left() },
        }
    }

    /// Attempts the receiver may still start.
    pub fn attempts_left(&self) -> u32 {
        self.max_attempts - self.attempts_used
    }

    /// Handles one message of the receiver (as opened by the conversation) and says what to send.
    pub fn handle(
        &mut self,
        message: &ProvisioningInformation,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<SenderStep, PinError> {
        if matches!(self.state, SenderState::Delivered | SenderState::Ended) {
            return Err(PinError::Finished);
        }
        let mailbox = self.mailbox.ok_or(PinError::MailboxUnknown)?;
        let reply = match message.format.as_str() {
            FORMAT_ATTEMPT => self.on_attempt(parse(message, FORMAT_ATTEMPT)?, mailbox, rng)?,
            FORMAT_PROOF => self.on_proof(parse(message, FORMAT_PROOF)?, rng)?,
            FORMAT_MISMATCH => {
                let content: MismatchContent = parse(message, FORMAT_MISMATCH)?;
                self.take_pending(content.attempt)?;
                self.fail(content.attempt)
            }
            other => return Err(PinError::Unexpected { format: other.to_owned() }),
        };
        Ok(SenderStep { reply, status: self.status() })
    }

    fn on_attempt(
        &mut self,
        content: AttemptContent,
        mailbox: MailboxId,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<ProvisioningInformation, PinError> {
        // A new attempt while a challenge is out means the previous one failed: it was already
        // counted when it arrived, so skipping the proof saves an attacker nothing.
        if let SenderState::Challenged(pending) = &self.state {
            if self.attempts_used >= self.max_attempts {
                let n = pending.n;
                self.state = SenderState::Ended;
                return Ok(failure(n, 0));
            }
        }
        let expected = self.attempts_used + 1;
        if content.attempt != expected {
            return Err(PinError::WrongAttempt { expected, got: content.attempt });
        }
        // Counted before anything is checked: every attempt message costs one attempt.
        self.attempts_used = expected;
        self.state = SenderState::Idle;
        let n = expected;

        let msg_b = match URL_SAFE_NO_PAD.decode(&content.pake) {
            Ok(msg) if valid_pake_message(&msg, SIDE_B) => msg,
            _ => return Ok(self.fail(n)),
        };
        let (id_a, id_b) = identities(&mailbox);
        let (spake, msg_a) = Spake2::<Ed25519Group>::start_a_with_rng(
            &Password::new(self.password.as_slice()),
            &id_a,
            &id_b,
            &mut *rng,
        );
        let Ok(pake_key) = spake.finish(&msg_b).map(Zeroizing::new) else {
            return Ok(self.fail(n));
        };
        let keys = derive_keys(&pake_key, &self.secret, &mailbox, n);
        let transcript = transcript(&mailbox, n, &msg_a, &msg_b);
        let mac = confirmation(&keys.kc_sender, b"sender", &transcript);
        self.state = SenderState::Challenged(Pending {
            n,
            transcript,
            kc_receiver: keys.kc_receiver,
            k_cred: keys.k_cred,
        });
        Ok(message(
            FORMAT_CHALLENGE,
            &ChallengeContent {
                attempt: n,
                pake: URL_SAFE_NO_PAD.encode(&msg_a),
                mac: URL_SAFE_NO_PAD.encode(mac),
            },
        ))
    }

    fn on_proof(
        &mut self,
        content: ProofContent,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<ProvisioningInformation, PinError> {
        let got = decode(&content.mac, FORMAT_PROOF)?;
        let pending = self.take_pending(content.attempt)?;
        let expected = confirmation(&pending.kc_receiver, b"receiver", &pending.transcript);
        if !verify(&expected, &got) {
            return Ok(self.fail(pending.n));
        }
        let cipher = Aes256Gcm::new_from_slice(pending.k_cred.as_slice())
            .expect("32-byte key by construction");
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let plaintext = Zeroizing::new(self.credential.to_vec());
        let sealed = cipher
            .encrypt(aes_gcm::Nonce::from_slice(&nonce), plaintext.as_slice())
            .expect("plaintext within AES-GCM limits");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        self.state = SenderState::Delivered;
        Ok(message(
            FORMAT_CREDENTIAL,
            &CredentialContent { attempt: pending.n, data: URL_SAFE_NO_PAD.encode(blob) },
        ))
    }

    /// Takes the open attempt `n`, leaving the state `Idle`; a message about any other attempt
    /// is refused and changes nothing.
    fn take_pending(&mut self, n: u32) -> Result<Pending, PinError> {
        match std::mem::replace(&mut self.state, SenderState::Idle) {
            SenderState::Challenged(pending) if pending.n == n => Ok(pending),
            SenderState::Challenged(pending) => {
                let expected = pending.n;
                self.state = SenderState::Challenged(pending);
                Err(PinError::WrongAttempt { expected, got: n })
            }
            other => {
                self.state = other;
                Err(PinError::Unexpected { format: "a reply to no challenge".to_owned() })
            }
        }
    }

    /// Records that attempt `n` failed (it is already counted) and says so to the receiver.
    fn fail(&mut self, n: u32) -> ProvisioningInformation {
        let left = self.attempts_left();
        self.state = if left == 0 { SenderState::Ended } else { SenderState::Idle };
        failure(n, left)
    }
}

impl fmt::Debug for PinSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinSender")
            .field("status", &self.status())
            .field("attempts_used", &self.attempts_used)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Receiver

/// What the receiver learnt from a message of the sender.
#[derive(Debug)]
pub enum ReceiverEvent {
    /// The invitation: the share needs a PIN; ask the user for it and call
    /// [`PinReceiver::attempt`].
    PinRequired {
        /// Attempts the sender allows.
        attempts: u32,
    },
    /// The sender proved it knows the same PIN: send `proof` and wait for the credential.
    Confirmed {
        /// The message to send.
        proof: ProvisioningInformation,
    },
    /// The PIN was wrong (or the sender is not the one who knows it). Send `notice`, then wait
    /// for the sender's verdict before trying again.
    WrongPin {
        /// Attempts left after this one, as the invitation announced them.
        attempts_left: u32,
        /// The message to send.
        notice: ProvisioningInformation,
    },
    /// The sender counted the attempt as failed; the user may try another PIN.
    MayRetry {
        /// Attempts left, by the sender's count.
        attempts_left: u32,
    },
    /// The sender ended the share after too many failed attempts.
    Ended,
    /// The credential, opened.
    Delivered(ProvisioningInformation),
}

enum ReceiverState {
    AwaitingInvitation,
    Ready { n: u32 },
    Attempting { n: u32, spake: Box<Spake2<Ed25519Group>>, msg_b: Vec<u8> },
    Confirmed { n: u32, k_cred: Zeroizing<[u8; 32]> },
    AwaitingVerdict { n: u32 },
    Delivered,
    Ended,
}

/// The receiver's side: proves the PIN, then opens the credential.
pub struct PinReceiver {
    secret: Secret,
    mailbox: MailboxId,
    max_attempts: u32,
    state: ReceiverState,
}

impl PinReceiver {
    /// Starts the receiver's side for the share's `secret` and `mailbox` (both from the share URL).
    pub fn new(secret: &Secret, mailbox: MailboxId) -> Self {
        Self {
            secret: secret.clone(),
            mailbox,
            max_attempts: 0,
            state: ReceiverState::AwaitingInvitation,
        }
    }

    /// Whether the first message of a share asks for a PIN, so that a client can choose between
    /// this exchange and a plain share.
    pub fn is_invitation(message: &ProvisioningInformation) -> bool {
        message.format == FORMAT_INVITATION
    }

    /// Whether it is the receiver's turn to start an attempt.
    pub fn can_attempt(&self) -> bool {
        matches!(self.state, ReceiverState::Ready { .. })
    }

    /// Starts an attempt with the PIN the user typed; send the returned message.
    pub fn attempt(
        &mut self,
        pin: &Pin,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<ProvisioningInformation, PinError> {
        let ReceiverState::Ready { n } = self.state else {
            return Err(match self.state {
                ReceiverState::Delivered | ReceiverState::Ended => PinError::Finished,
                _ => PinError::Unexpected { format: FORMAT_ATTEMPT.to_owned() },
            });
        };
        let password = password(&self.secret, pin);
        let (id_a, id_b) = identities(&self.mailbox);
        let (spake, msg_b) = Spake2::<Ed25519Group>::start_b_with_rng(
            &Password::new(password.as_slice()),
            &id_a,
            &id_b,
            &mut *rng,
        );
        let pake = URL_SAFE_NO_PAD.encode(&msg_b);
        self.state = ReceiverState::Attempting { n, spake: Box::new(spake), msg_b };
        Ok(message(FORMAT_ATTEMPT, &AttemptContent { attempt: n, pake }))
    }

    /// Handles one message of the sender (as opened by the conversation).
    pub fn handle(&mut self, message: &ProvisioningInformation) -> Result<ReceiverEvent, PinError> {
        match message.format.as_str() {
            FORMAT_INVITATION => self.on_invitation(parse(message, FORMAT_INVITATION)?),
            FORMAT_CHALLENGE => self.on_challenge(parse(message, FORMAT_CHALLENGE)?),
            FORMAT_CREDENTIAL => self.on_credential(parse(message, FORMAT_CREDENTIAL)?),
            FORMAT_FAILURE => self.on_failure(parse(message, FORMAT_FAILURE)?),
            other => Err(PinError::Unexpected { format: other.to_owned() }),
        }
    }

    fn unexpected(&self, format: &str) -> PinError {
        match self.state {
            ReceiverState::Delivered | ReceiverState::Ended => PinError::Finished,
            _ => PinError::Unexpected { format: format.to_owned() },
        }
    }

    fn on_invitation(&mut self, content: InvitationContent) -> Result<ReceiverEvent, PinError> {
        if !matches!(self.state, ReceiverState::AwaitingInvitation) {
            return Err(self.unexpected(FORMAT_INVITATION));
        }
        if content.version != VERSION
            || content.pake != PAKE_NAME
            || !(1..=MAX_ADVERTISED_ATTEMPTS).contains(&content.attempts)
        {
            return Err(PinError::Unsupported);
        }
        self.max_attempts = content.attempts;
        self.state = ReceiverState::Ready { n: 1 };
        Ok(ReceiverEvent::PinRequired { attempts: content.attempts })
    }

    fn on_challenge(&mut self, content: ChallengeContent) -> Result<ReceiverEvent, PinError> {
        let ReceiverState::Attempting { n, .. } = self.state else {
            return Err(self.unexpected(FORMAT_CHALLENGE));
        };
        if content.attempt != n {
            return Err(PinError::WrongAttempt { expected: n, got: content.attempt });
        }
        let msg_a = decode(&content.pake, FORMAT_CHALLENGE)?;
        let mac = decode(&content.mac, FORMAT_CHALLENGE)?;
        let ReceiverState::Attempting { spake, msg_b, .. } =
            std::mem::replace(&mut self.state, ReceiverState::AwaitingVerdict { n })
        else {
            unreachable!("checked above");
        };
        let keys = valid_pake_message(&msg_a, SIDE_A)
            .then(|| spake.finish(&msg_a).ok())
            .flatten()
            .map(|key| derive_keys(&Zeroizing::new(key), &self.secret, &self.mailbox, n));
        let transcript = transcript(&self.mailbox, n, &msg_a, &msg_b);
        match keys {
            Some(keys) if verify(&confirmation(&keys.kc_sender, b"sender", &transcript), &mac) => {
                let proof = confirmation(&keys.kc_receiver, b"receiver", &transcript);
                self.state = ReceiverState::Confirmed { n, k_cred: keys.k_cred };
                Ok(ReceiverEvent::Confirmed {
                    proof: message(
                        FORMAT_PROOF,
                        &ProofContent { attempt: n, mac: URL_SAFE_NO_PAD.encode(proof) },
                    ),
                })
            }
            // A wrong PIN, or a sender that does not know the PIN: the same to this side, and
            // this side proves nothing in either case.
            _ => Ok(ReceiverEvent::WrongPin {
                attempts_left: self.max_attempts.saturating_sub(n),
                notice: message(FORMAT_MISMATCH, &MismatchContent { attempt: n }),
            }),
        }
    }

    fn on_credential(&mut self, content: CredentialContent) -> Result<ReceiverEvent, PinError> {
        let ReceiverState::Confirmed { n, k_cred } = &self.state else {
            return Err(self.unexpected(FORMAT_CREDENTIAL));
        };
        if content.attempt != *n {
            return Err(PinError::WrongAttempt { expected: *n, got: content.attempt });
        }
        let blob = decode(&content.data, FORMAT_CREDENTIAL)?;
        if blob.len() < NONCE_LEN {
            return Err(PinError::Credential);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let cipher =
            Aes256Gcm::new_from_slice(k_cred.as_slice()).expect("32-byte key by construction");
        let plaintext = cipher
            .decrypt(aes_gcm::Nonce::from_slice(nonce), sealed)
            .map(Zeroizing::new)
            .map_err(|_| PinError::Credential)?;
        let info =
            ProvisioningInformation::from_slice(&plaintext).map_err(|_| PinError::Credential)?;
        self.state = ReceiverState::Delivered;
        Ok(ReceiverEvent::Delivered(info))
    }

    fn on_failure(&mut self, content: FailureContent) -> Result<ReceiverEvent, PinError> {
        // The sender may refuse an attempt at any point after it was sent: a malformed PAKE
        // message, a mismatch, or a proof it could not verify.
        let n = match self.state {
            ReceiverState::Attempting { n, .. }
            | ReceiverState::AwaitingVerdict { n }
            | ReceiverState::Confirmed { n, .. } => n,
            _ => return Err(self.unexpected(FORMAT_FAILURE)),
        };
        if content.attempt != n {
            return Err(PinError::WrongAttempt { expected: n, got: content.attempt });
        }
        // The invitation's count binds the sender too: a sender (or a relay forging its
        // messages) that keeps saying attempts are left would otherwise get unlimited online
        // guesses from an app that retries. The receiver counts for itself and believes the
        // sender only when it says fewer are left.
        let attempts_left = content.attempts_left.min(self.max_attempts.saturating_sub(n));
        if content.ended || attempts_left == 0 {
            self.state = ReceiverState::Ended;
            return Ok(ReceiverEvent::Ended);
        }
        self.state = ReceiverState::Ready { n: n + 1 };
        Ok(ReceiverEvent::MayRetry { attempts_left })
    }
}

impl fmt::Debug for PinReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinReceiver")
            .field("can_attempt", &self.can_attempt())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::{OsRng, StdRng};
    use serde_json::json;

    use super::*;
    use crate::aead::Algorithm;
    use crate::transfer::Conversation;
    use crate::wire::Party;

    const PIN: &str = "48150392";
    const MARKER: &str = "CREDENTIAL-MARKER-7f3a";

    fn pin(digits: &str) -> Pin {
        Pin::new(digits).unwrap()
    }

    fn credential(filler: usize) -> ProvisioningInformation {
        let token = format!("{MARKER}{}", "x".repeat(filler));
        ProvisioningInformation::new(
            "digitalwallet.generic.authorizationToken",
            json!({"token": token}),
        )
        .unwrap()
    }

    /// Both sides of one share, with every PIN message carried through a real conversation (as
    /// the client will), and a log of every plaintext in order.
    struct Share {
        secret: Secret,
        mailbox: MailboxId,
        sender: PinSender,
        receiver: PinReceiver,
        s_conv: Conversation,
        r_conv: Conversation,
        log: Vec<ProvisioningInformation>,
    }

    impl Share {
        fn new(sender_pin: &str, info: ProvisioningInformation) -> Self {
            let secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
            let mailbox = MailboxId::random(&mut OsRng);
            Self::with(&secret, mailbox, &secret, mailbox, sender_pin, info)
        }

        /// A share whose receiver may hold another secret or mailbox than the sender.
        fn with(
            secret: &Secret,
            mailbox: MailboxId,
            r_secret: &Secret,
            r_mailbox: MailboxId,
            sender_pin: &str,
            info: ProvisioningInformation,
        ) -> Self {
            let mut sender = PinSender::new(secret, &pin(sender_pin), info);
            let mut s_conv = Conversation::new(Party::Sender, secret.clone());
            let invitation = sender.invitation();
            let sealed = s_conv.seal(&invitation, &mut OsRng);
            sender.set_mailbox(mailbox);
            s_conv.set_mailbox(mailbox);
            // The conversation runs under the sender's secret and mailbox: a receiver with another
            // secret could not open a single message, so only the PIN layer sees the mismatch.
            let mut r_conv = Conversation::new(Party::Receiver, secret.clone());
            r_conv.set_mailbox(mailbox);
            let opened = r_conv.open(&sealed, Party::Sender).unwrap().unwrap();
            let mut receiver = PinReceiver::new(r_secret, r_mailbox);
            assert!(PinReceiver::is_invitation(&opened));
            let event = receiver.handle(&opened).unwrap();
            assert!(matches!(event, ReceiverEvent::PinRequired { attempts: 3 }), "{event:?}");
            Self {
                secret: secret.clone(),
                mailbox,
                sender,
                receiver,
                s_conv,
                r_conv,
                log: vec![invitation],
            }
        }

        /// Carries a receiver message to the sender and the reply back.
        fn exchange(
            &mut self,
            message: ProvisioningInformation,
        ) -> (SenderStatus, ProvisioningInformation) {
            let sealed = self.r_conv.seal(&message, &mut OsRng);
            self.log.push(message);
            let opened = self.s_conv.open(&sealed, Party::Receiver).unwrap().unwrap();
            let step = self.sender.handle(&opened, &mut OsRng).unwrap();
            let sealed = self.s_conv.seal(&step.reply, &mut OsRng);
            self.log.push(step.reply);
            (step.status, self.r_conv.open(&sealed, Party::Sender).unwrap().unwrap())
        }

        /// One attempt with `digits`, as an honest receiver runs it, to the sender's last reply.
        fn attempt(&mut self, digits: &str) -> (ReceiverEvent, SenderStatus) {
            let attempt = self.receiver.attempt(&pin(digits), &mut OsRng).unwrap();
            let (_, challenge) = self.exchange(attempt);
            let reply = match self.receiver.handle(&challenge).unwrap() {
                ReceiverEvent::Confirmed { proof } => proof,
                ReceiverEvent::WrongPin { notice, .. } => notice,
                other => panic!("{other:?}"),
            };
            let (status, verdict) = self.exchange(reply);
            (self.receiver.handle(&verdict).unwrap(), status)
        }
    }

    #[test]
    fn the_right_pin_delivers_exactly_the_credential_and_nothing_before_the_proof_carries_it() {
        let mut sizes = Vec::new();
        for filler in [0, 4000] {
            let info = credential(filler);
            let mut share = Share::new(PIN, info.clone());
            let (event, status) = share.attempt(PIN);
            let ReceiverEvent::Delivered(got) = event else { panic!("{event:?}") };
            assert_eq!(got, info, "the receiver gets exactly the credential");
            assert_eq!(status, SenderStatus::Delivered);
            assert_eq!(share.sender.status(), SenderStatus::Delivered);

            let formats: Vec<_> = share.log.iter().map(|m| m.format.as_str()).collect();
            assert_eq!(
                formats,
                [
                    FORMAT_INVITATION,
                    FORMAT_ATTEMPT,
                    FORMAT_CHALLENGE,
                    FORMAT_PROOF,
                    FORMAT_CREDENTIAL
                ]
            );
            for message in &share.log[..4] {
                let text = String::from_utf8(message.to_vec()).unwrap();
                assert!(!text.contains(MARKER), "{} carries the credential", message.format);
            }
            sizes.push(share.log.iter().map(|m| m.to_vec().len()).collect::<Vec<_>>());
        }
        // Only the credential message grows with the credential: nothing before it carries the
        // credential, not even encrypted.
        assert_eq!(sizes[0][..4], sizes[1][..4]);
        assert!(sizes[1][4] >= sizes[0][4] + 4000);
    }

    #[test]
    fn a_wrong_pin_is_reported_and_counted_and_a_later_right_pin_still_works() {
        let info = credential(10);
        let mut share = Share::new(PIN, info.clone());

        let attempt = share.receiver.attempt(&pin("11111111"), &mut OsRng).unwrap();
        let (_, challenge) = share.exchange(attempt);
        let ReceiverEvent::WrongPin { attempts_left: 2, notice } =
            share.receiver.handle(&challenge).unwrap()
        else {
            panic!("the receiver learns of the wrong PIN from the sender's MAC")
        };
        assert!(!share.receiver.can_attempt(), "it waits for the sender's verdict");
        let (status, verdict) = share.exchange(notice);
        assert_eq!(status, SenderStatus::Waiting { attempts_left: 2 });
        let event = share.receiver.handle(&verdict).unwrap();
        assert!(matches!(event, ReceiverEvent::MayRetry { attempts_left: 2 }), "{event:?}");

        let (event, status) = share.attempt("22222222");
        assert!(matches!(event, ReceiverEvent::MayRetry { attempts_left: 1 }), "{event:?}");
        assert_eq!(status, SenderStatus::Waiting { attempts_left: 1 });

        let (event, status) = share.attempt(PIN);
        assert!(matches!(&event, ReceiverEvent::Delivered(got) if *got == info), "{event:?}");
        assert_eq!(status, SenderStatus::Delivered);
    }

    #[test]
    fn three_wrong_pins_end_the_share() {
        let mut share = Share::new(PIN, credential(10));
        share.attempt("00000000");
        share.attempt("00000001");
        let (event, status) = share.attempt("00000002");
        assert!(matches!(event, ReceiverEvent::Ended), "{event:?}");
        assert_eq!(status, SenderStatus::Ended);
        assert!(!share.log.iter().any(|m| m.format == FORMAT_CREDENTIAL));
        // Nothing more is accepted on either side, not even the right PIN.
        assert_eq!(share.receiver.attempt(&pin(PIN), &mut OsRng).unwrap_err(), PinError::Finished);
        let late = message(FORMAT_ATTEMPT, &AttemptContent { attempt: 4, pake: String::new() });
        assert_eq!(share.sender.handle(&late, &mut OsRng).unwrap_err(), PinError::Finished);
    }

    /// An attacker with the link sends attempt after attempt and never a proof or a mismatch:
    /// each attempt message is counted when it arrives.
    /// Review finding 8: the receiver took the sender's `attemptsLeft` on trust, so a fake sender
    /// that always answered "99 left" got as many guesses as the app would retry.
    #[test]
    fn the_receiver_stops_after_the_invitations_attempts_whatever_the_sender_says() {
        let secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
        let mailbox = MailboxId::random(&mut OsRng);
        let mut receiver = PinReceiver::new(&secret, mailbox);
        let event = receiver.handle(&invitation_with(3)).unwrap();
        assert!(matches!(event, ReceiverEvent::PinRequired { attempts: 3 }), "{event:?}");
        for n in 1..=3 {
            receiver.attempt(&pin("12345678"), &mut OsRng).unwrap();
            let event = receiver.handle(&failure(n, 99)).unwrap();
            match n {
                3 => assert!(matches!(event, ReceiverEvent::Ended), "{event:?}"),
                _ => assert!(
                    matches!(event, ReceiverEvent::MayRetry { attempts_left } if attempts_left == 3 - n),
                    "{event:?}"
                ),
            }
        }
        assert!(!receiver.can_attempt());
        assert!(matches!(receiver.attempt(&pin("12345678"), &mut OsRng), Err(PinError::Finished)));
    }

    #[test]
    fn an_attacker_who_skips_the_proof_still_burns_attempts() {
        let secret = Secret::generate(Algorithm::Aes256Gcm, &mut OsRng);
        let mailbox = MailboxId::random(&mut OsRng);
        let mut sender = PinSender::new(&secret, &pin(PIN), credential(10));
        sender.set_mailbox(mailbox);
        let attacker_attempt = |n: u32| {
            // A fresh receiver per attempt: the attacker restarts its side each time.
            let mut attacker = PinReceiver::new(&secret, mailbox);
            attacker.max_attempts = 3;
            attacker.state = ReceiverState::Ready { n };
            attacker.attempt(&pin("99999999"), &mut OsRng).unwrap()
        };
        for (n, left) in [(1, 2), (2, 1), (3, 0)] {
            let step = sender.handle(&attacker_attempt(n), &mut OsRng).unwrap();
            assert_eq!(step.reply.format, FORMAT_CHALLENGE);
            assert_eq!(step.status, SenderStatus::Waiting { attempts_left: left });
        }
        let step = sender.handle(&attacker_attempt(4), &mut OsRng).unwrap();
        assert_eq!(step.status, SenderStatus::Ended);
        let verdict: FailureContent = parse(&step.reply, FORMAT_FAILURE).unwrap();
        assert!(verdict.ended && verdict.attempts_left == 0);
    }

    #[test]
    fn another_secret_or_mailbox_makes_the_pake_fail() {
        let secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
        let other_secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
        let mailbox = MailboxId::random(&mut OsRng);
        let other_mailbox = MailboxId::random(&mut OsRng);
        for (r_secret, r_mailbox) in [(&other_secret, mailbox), (&secret, other_mailbox)] {
            let mut share = Share::with(&secret, mailbox, r_secret, r_mailbox, PIN, credential(1));
            let attempt = share.receiver.attempt(&pin(PIN), &mut OsRng).unwrap();
            let (_, challenge) = share.exchange(attempt);
            let event = share.receiver.handle(&challenge).unwrap();
            assert!(matches!(event, ReceiverEvent::WrongPin { .. }), "{event:?}");
        }
        // The control: the same secret and mailbox succeed.
        let mut share = Share::with(&secret, mailbox, &secret, mailbox, PIN, credential(1));
        assert!(matches!(share.attempt(PIN).0, ReceiverEvent::Delivered(_)));
    }

    fn tampered_b64(text: &str) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(text).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn set(
        message: &ProvisioningInformation,
        key: &str,
        value: serde_json::Value,
    ) -> ProvisioningInformation {
        let mut message = message.clone();
        message.content[key] = value;
        message
    }

    #[test]
    fn tampered_pake_messages_and_macs_fail_cleanly() {
        // The identity point and a point of order 8 (with the right side byte), a point off the
        // curve, a truncated message and one with the wrong side byte.
        let identity = [&[SIDE_B][..], &[1u8], &[0u8; 31]].concat();
        let mut order_8 = [0u8; 33];
        order_8[0] = SIDE_B;
        order_8[1..].copy_from_slice(&[
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ]);
        let off_curve = [&[SIDE_B][..], &[2u8], &[0u8; 31]].concat();
        let short = vec![SIDE_B; 20];
        let mut share = Share::new(PIN, credential(1));
        let honest = share.receiver.attempt(&pin(PIN), &mut OsRng).unwrap();
        let mut wrong_side =
            URL_SAFE_NO_PAD.decode(honest.content["pake"].as_str().unwrap()).unwrap();
        wrong_side[0] = SIDE_A;
        for (i, bad) in
            [identity, order_8.to_vec(), off_curve, short, wrong_side].iter().enumerate()
        {
            let mut sender = PinSender::new(&share.secret, &pin(PIN), credential(1));
            sender.set_mailbox(share.mailbox);
            let step = sender
                .handle(&set(&honest, "pake", json!(URL_SAFE_NO_PAD.encode(bad))), &mut OsRng)
                .unwrap();
            assert_eq!(step.reply.format, FORMAT_FAILURE, "case {i}");
            assert_eq!(step.status, SenderStatus::Waiting { attempts_left: 2 }, "case {i}");
        }

        // A tampered challenge (PAKE message or MAC): the receiver reports a wrong PIN.
        let (_, challenge) = share.exchange(honest);
        for key in ["pake", "mac"] {
            let mut receiver = PinReceiver::new(&share.secret, share.mailbox);
            receiver.max_attempts = 3;
            receiver.state = ReceiverState::Ready { n: 1 };
            let attempt = receiver.attempt(&pin(PIN), &mut OsRng).unwrap();
            let mut sender = PinSender::new(&share.secret, &pin(PIN), credential(1));
            sender.set_mailbox(share.mailbox);
            let challenge = sender.handle(&attempt, &mut OsRng).unwrap().reply;
            let value = tampered_b64(challenge.content[key].as_str().unwrap());
            let event = receiver.handle(&set(&challenge, key, json!(value))).unwrap();
            assert!(matches!(event, ReceiverEvent::WrongPin { .. }), "{key}: {event:?}");
        }

        // A tampered proof: the sender counts a failed attempt and sends no credential.
        let ReceiverEvent::Confirmed { proof } = share.receiver.handle(&challenge).unwrap() else {
            panic!("the honest challenge verifies")
        };
        let forged =
            set(&proof, "mac", json!(tampered_b64(proof.content["mac"].as_str().unwrap())));
        let step = share.sender.handle(&forged, &mut OsRng).unwrap();
        assert_eq!(step.reply.format, FORMAT_FAILURE);
        assert_eq!(step.status, SenderStatus::Waiting { attempts_left: 2 });
        assert!(matches!(
            share.receiver.handle(&step.reply).unwrap(),
            ReceiverEvent::MayRetry { .. }
        ));

        // A tampered credential: an error, not a panic nor a wrong credential.
        let mut share = Share::new(PIN, credential(1));
        let attempt = share.receiver.attempt(&pin(PIN), &mut OsRng).unwrap();
        let (_, challenge) = share.exchange(attempt);
        let ReceiverEvent::Confirmed { proof } = share.receiver.handle(&challenge).unwrap() else {
            panic!()
        };
        let (_, sealed) = share.exchange(proof);
        let data = sealed.content["data"].as_str().unwrap();
        for bad in [tampered_b64(data), URL_SAFE_NO_PAD.encode([0u8; 5])] {
            let result = share.receiver.handle(&set(&sealed, "data", json!(bad)));
            assert_eq!(result.unwrap_err(), PinError::Credential);
        }
        assert!(matches!(share.receiver.handle(&sealed).unwrap(), ReceiverEvent::Delivered(_)));
    }

    #[test]
    fn malformed_contents_are_errors_not_panics() {
        let mut share = Share::new(PIN, credential(1));
        let attempt = share.receiver.attempt(&pin(PIN), &mut OsRng).unwrap();
        let bad_attempts = [
            json!({}),
            json!({"attempt": "1", "pake": "AAAA"}),
            json!({"attempt": 1}),
            json!({"attempt": -1, "pake": "AAAA"}),
            json!({"attempt": 1, "pake": 7}),
            json!({"attempt": 2, "pake": attempt.content["pake"]}),
        ];
        for content in bad_attempts {
            let message = ProvisioningInformation::new(FORMAT_ATTEMPT, content.clone()).unwrap();
            assert!(share.sender.handle(&message, &mut OsRng).is_err(), "{content}");
        }
        let unknown = ProvisioningInformation::new("org.tigress.pin.other", json!({})).unwrap();
        assert!(share.sender.handle(&unknown, &mut OsRng).is_err());
        assert!(share.receiver.handle(&unknown).is_err());
        // None of that cost an attempt or disturbed the exchange.
        assert_eq!(share.sender.attempts_left(), 3);
        let (_, challenge) = share.exchange(attempt);

        for content in [
            json!({"attempt": 1, "pake": "not base64!", "mac": "AAAA"}),
            json!({"attempt": 1, "pake": challenge.content["pake"]}),
            json!({
                "attempt": 2,
                "pake": challenge.content["pake"],
                "mac": challenge.content["mac"],
            }),
            json!([1, 2]),
        ] {
            let message = ProvisioningInformation {
                format: FORMAT_CHALLENGE.to_owned(),
                content: content.clone(),
                extra: Default::default(),
            };
            assert!(share.receiver.handle(&message).is_err(), "{content}");
        }
        for content in
            [json!({"version": 2, "pake": PAKE_NAME, "attempts": 3}), json!({"version": 1})]
        {
            let message = ProvisioningInformation::new(FORMAT_INVITATION, content).unwrap();
            assert!(PinReceiver::new(&share.secret, share.mailbox).handle(&message).is_err());
        }
        let bad_proof =
            ProvisioningInformation::new(FORMAT_PROOF, json!({"attempt": 1, "mac": "%%"})).unwrap();
        assert!(share.sender.handle(&bad_proof, &mut OsRng).is_err());
        // The honest challenge still verifies after the malformed ones were refused.
        assert!(matches!(
            share.receiver.handle(&challenge).unwrap(),
            ReceiverEvent::Confirmed { .. }
        ));
    }

    #[test]
    fn the_pin_never_appears_in_any_message() {
        let mut share = Share::new(PIN, credential(10));
        share.attempt("31415926");
        share.attempt(PIN);
        let pw = password(&share.secret, &pin(PIN));
        let needles = [
            PIN.as_bytes().to_vec(),
            pw.to_vec(),
            URL_SAFE_NO_PAD.encode(pw.as_slice()).into_bytes(),
            base64::engine::general_purpose::STANDARD.encode(pw.as_slice()).into_bytes(),
            pw.iter().map(|b| format!("{b:02x}")).collect::<String>().into_bytes(),
        ];
        assert_eq!(share.log.len(), 9);
        for message in &share.log {
            let bytes = message.to_vec();
            for needle in &needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                    "{} carries the PIN or its password",
                    message.format
                );
            }
        }
        let shown = format!("{:?} {:?} {:?}", share.sender, share.receiver, pin(PIN));
        assert!(!shown.contains(PIN));
    }

    /// Whether `candidate` verifies against the sender's MAC of a recorded attempt, checked
    /// offline by the attempt's author: it replays its own ephemeral scalar (from `seed`) with
    /// the candidate's password, keeps the recorded PAKE messages in the transcript, and lets
    /// this module's receiver check the recorded challenge.
    fn verifies_offline(
        secret: &Secret,
        mailbox: &MailboxId,
        seed: u64,
        candidate: &str,
        attempt: &ProvisioningInformation,
        challenge: &ProvisioningInformation,
    ) -> bool {
        let (id_a, id_b) = identities(mailbox);
        let pw = password(secret, &pin(candidate));
        let (spake, _) = Spake2::<Ed25519Group>::start_b_with_rng(
            &Password::new(pw.as_slice()),
            &id_a,
            &id_b,
            StdRng::seed_from_u64(seed),
        );
        let msg_b = URL_SAFE_NO_PAD.decode(attempt.content["pake"].as_str().unwrap()).unwrap();
        let mut receiver = PinReceiver::new(secret, *mailbox);
        receiver.max_attempts = MAX_ATTEMPTS;
        receiver.state = ReceiverState::Attempting { n: 1, spake: Box::new(spake), msg_b };
        matches!(receiver.handle(challenge).unwrap(), ReceiverEvent::Confirmed { .. })
    }

    /// A sanity check, not a proof: the transcript of one failed attempt does not let its author
    /// test other PINs against the sender's MAC.
    #[test]
    fn a_failed_attempt_gives_no_offline_test_of_other_pins() {
        let run = |guess: &str, seed: u64| {
            let secret = Secret::generate(Algorithm::Aes128Gcm, &mut OsRng);
            let mailbox = MailboxId::random(&mut OsRng);
            let mut sender = PinSender::new(&secret, &pin(PIN), credential(1));
            sender.set_mailbox(mailbox);
            let mut receiver = PinReceiver::new(&secret, mailbox);
            receiver.handle(&sender.invitation()).unwrap();
            let attempt = receiver.attempt(&pin(guess), &mut StdRng::seed_from_u64(seed)).unwrap();
            let challenge = sender.handle(&attempt, &mut OsRng).unwrap().reply;
            (secret, mailbox, attempt, challenge)
        };

        // The control: for an attempt with the right PIN the replay verifies, so a failure to
        // verify below means something.
        let (secret, mailbox, attempt, challenge) = run(PIN, 7);
        assert!(verifies_offline(&secret, &mailbox, 7, PIN, &attempt, &challenge));

        let (secret, mailbox, attempt, challenge) = run("12345678", 8);
        for candidate in [PIN, "12345678", "00000000", "48150393", "99999999"] {
            assert!(
                !verifies_offline(&secret, &mailbox, 8, candidate, &attempt, &challenge),
                "the transcript confirmed candidate {candidate} offline"
            );
        }
    }

    /// A scripted random source, to check how `generate` treats each byte.
    struct Script(Vec<u8>);

    impl RngCore for Script {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for byte in dest {
                *byte = self.0.remove(0);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl CryptoRng for Script {}

    #[test]
    fn pins_are_four_to_twelve_ascii_digits_and_redacted() {
        for good in ["0000", "123456", "012345678901"] {
            assert_eq!(Pin::new(good).unwrap().reveal(), good);
            assert_eq!(good.parse::<Pin>().unwrap().reveal(), good);
        }
        for bad in
            ["", "123", "1234567890123", "12a4", "12 34", " 1234", "١٢٣٤", "１２３４", "-1234"]
        {
            assert_eq!(Pin::new(bad), Err(PinFormatError), "{bad:?}");
        }
        let secret = pin("97531");
        assert!(!format!("{secret:?}").contains("97531"));
        assert!(!secret.to_string().contains("97531"));
    }

    #[test]
    fn generated_pins_are_six_digits_without_modulo_bias() {
        // 250..=255 are rejected; 249 is 9, 0 is 0, 137 is 7.
        let mut script = Script(vec![250, 255, 249, 0, 137, 252, 10, 5, 99]);
        assert_eq!(Pin::generate(&mut script).reveal(), "907059");
        assert!(script.0.is_empty());

        let mut counts = [0u32; 10];
        for _ in 0..2000 {
            let pin = Pin::generate(&mut OsRng);
            assert_eq!(pin.reveal().len(), 6);
            for b in pin.reveal().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 12 000 digits: each about 1 200; the bounds are many standard deviations wide.
        assert!(counts.iter().all(|&c| (1000..1400).contains(&c)), "{counts:?}");
    }
}
