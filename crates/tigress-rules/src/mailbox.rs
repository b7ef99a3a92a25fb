//! The mailbox rules as plain functions: who may do what (§8, §9), expiry (§10), idempotency
//! (§7) and the validation of what a sender may store (§6.1). Every function takes `now` and
//! does no I/O, so each store applies the same rules atomically inside its own transaction.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tigress_proto::aead::decode_lenient;
use tigress_proto::wire::{DisplayInformation, Message, NotificationToken, Party, Payload};
use tigress_proto::{AccessRights, DeviceClaim, RequestId, expiration};

use crate::limits::Limits;
pub use crate::limits::LogLimits;

/// A digest of a device claim, as the stores keep it. Claims are bearer secrets: only their
/// digests are stored, and digests are compared in constant time.
///
/// Two kinds exist (docs/SECURITY.md, "The relay keeps no identity"): the keyed one, an
/// HMAC-SHA-256 under the relay's [`ClaimKey`], which a copy of the store alone cannot test a
/// guessed claim against; and the plain SHA-256 one, which relays without a key store and
/// which older mailboxes hold.
#[derive(Clone, Copy)]
pub struct ClaimHash(pub [u8; 32]);

impl ClaimHash {
    /// The plain digest. The domain prefix keeps these digests apart from any other SHA-256 use.
    pub fn of(claim: &DeviceClaim) -> Self {
        Self(
            Sha256::new()
                .chain_update(b"tigress/claim/v1\0")
                .chain_update(claim.as_bytes())
                .finalize()
                .into(),
        )
    }

    /// The keyed digest, under `key`.
    pub fn keyed(key: &ClaimKey, claim: &DeviceClaim) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
        mac.update(b"tigress/claim/v2\0");
        mac.update(claim.as_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// The relay's secret for keyed claim digests: 32 random bytes, kept outside the store (in a
/// file of its own), shared by every relay of one store.
#[derive(Clone)]
pub struct ClaimKey([u8; 32]);

impl ClaimKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key's bytes, to write it out.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for ClaimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimKey(..)")
    }
}

/// Who is calling, as the stores compare it: the digest that a write stores (keyed when the
/// relay has a key) and, on a relay with a key, the plain digest too, which mailboxes made
/// before the key hold. Matching either proves knowledge of the claim, so accepting the plain
/// one weakens nothing; it only lets those mailboxes live out their lifetime.
#[derive(Clone, Copy)]
pub struct Caller {
    /// What a bind or a request record stores.
    pub hash: ClaimHash,
    /// The plain digest, when `hash` is keyed.
    pub legacy: Option<ClaimHash>,
}

impl Caller {
    /// The caller of `claim` on a relay with `key`, or without one.
    pub fn of(claim: &DeviceClaim, key: Option<&ClaimKey>) -> Self {
        match key {
            Some(key) => {
                Self { hash: ClaimHash::keyed(key, claim), legacy: Some(ClaimHash::of(claim)) }
            }
            None => Self { hash: ClaimHash::of(claim), legacy: None },
        }
    }

    /// Whether a stored digest is this caller's, of either kind.
    pub fn matches(&self, stored: &ClaimHash) -> bool {
        // Both compared, so that the time taken does not say which kind matched.
        let keyed = self.hash.matches(stored);
        let legacy = self.legacy.is_some_and(|legacy| legacy.matches(stored));
        keyed | legacy
    }

    /// The digests to look a request record up by: the stored kind first.
    pub fn digests(&self) -> impl Iterator<Item = &ClaimHash> {
        std::iter::once(&self.hash).chain(self.legacy.as_ref())
    }
}

impl From<ClaimHash> for Caller {
    /// A caller known by one digest only.
    fn from(hash: ClaimHash) -> Self {
        Self { hash, legacy: None }
    }
}

/// A SHA-256 digest of a `Mailbox-Request-ID`; only the digest is kept for de-duplication.
#[derive(Clone, Copy)]
pub struct RequestHash(pub [u8; 32]);

impl RequestHash {
    /// Hashes a request id.
    pub fn of(id: &RequestId) -> Self {
        Self(
            Sha256::new()
                .chain_update(b"tigress/request/v1\0")
                .chain_update(id.as_str())
                .finalize()
                .into(),
        )
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// The state-changing operations that are de-duplicated by request id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// CreateMailbox.
    Create = 0,
    /// UpdateMailbox.
    Update = 1,
    /// RelinquishMailbox.
    Relinquish = 2,
}

impl Operation {
    /// The stored code.
    pub fn code(self) -> i64 {
        self as i64
    }
}

/// Why a party may not do what it asked. Each maps to a 401 (§8 table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// A receiver is bound and the caller is neither party.
    #[error("another device has already claimed this mailbox")]
    AlreadyClaimed,
    /// The caller's claim is not a party of this mailbox.
    #[error("the device claim is not a party of this mailbox")]
    NotAParty,
    /// The receiver lacks the access right for this operation.
    #[error("the receiver's access rights do not allow this operation")]
    RightMissing,
    /// Only the bound receiver may relinquish.
    #[error("only the bound receiver may relinquish the mailbox")]
    NotReceiver,
    /// The message log is at its cap (count or bytes); the transfer should finish or start over.
    #[error("the mailbox's message log is full")]
    LogFull,
    /// No receiver is bound, but as many as `maxReceivers` allows have bound before.
    #[error("this share accepts no more receivers")]
    NoReceiversLeft,
}

/// The facts about a mailbox that the rules look at.
pub struct Parties<'a> {
    /// Hash of the sender's claim.
    pub sender: &'a ClaimHash,
    /// Hash of the bound receiver's claim, if one is bound.
    pub receiver: Option<&'a ClaimHash>,
    /// The receiver's rights.
    pub rights: AccessRights,
    /// How many more receivers may bind; `None` for no cap.
    pub binds_left: Option<u32>,
}

impl Parties<'_> {
    /// Which party the caller is. A claim equal to the sender's is always the sender (§8).
    pub fn role_of(&self, caller: &Caller) -> Option<Party> {
        if caller.matches(self.sender) {
            return Some(Party::Sender);
        }
        match self.receiver {
            Some(receiver) if caller.matches(receiver) => Some(Party::Receiver),
            _ => None,
        }
    }
}

/// What a read does for this caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadAccess {
    /// The caller is already a party.
    Party(Party),
    /// The receiver slot is empty: the caller binds as receiver (first come, first bound).
    Binds,
}

/// Decides a ReadSecureContent (§8, first column).
pub fn decide_read(parties: &Parties<'_>, caller: &Caller) -> Result<ReadAccess, Denial> {
    match (parties.role_of(caller), parties.receiver) {
        (Some(role), _) => Ok(ReadAccess::Party(role)),
        (None, None) if parties.binds_left == Some(0) => Err(Denial::NoReceiversLeft),
        (None, None) => Ok(ReadAccess::Binds),
        (None, Some(_)) => Err(Denial::AlreadyClaimed),
    }
}

/// Decides an UpdateMailbox: the sender always, the receiver with `W` (§8, §9). Only a read
/// binds, so an unknown claim is refused even while the receiver slot is empty.
pub fn decide_update(parties: &Parties<'_>, caller: &Caller) -> Result<Party, Denial> {
    match parties.role_of(caller) {
        Some(Party::Sender) => Ok(Party::Sender),
        Some(Party::Receiver) if parties.rights.write => Ok(Party::Receiver),
        Some(Party::Receiver) => Err(Denial::RightMissing),
        None => Err(Denial::NotAParty),
    }
}

/// Decides a DeleteMailbox: the sender always, the receiver with `D`.
pub fn decide_delete(parties: &Parties<'_>, caller: &Caller) -> Result<Party, Denial> {
    match parties.role_of(caller) {
        Some(Party::Sender) => Ok(Party::Sender),
        Some(Party::Receiver) if parties.rights.delete => Ok(Party::Receiver),
        Some(Party::Receiver) => Err(Denial::RightMissing),
        None => Err(Denial::NotAParty),
    }
}

/// Decides a RelinquishMailbox: only the bound receiver.
pub fn decide_relinquish(parties: &Parties<'_>, caller: &Caller) -> Result<(), Denial> {
    match parties.role_of(caller) {
        Some(Party::Receiver) => Ok(()),
        _ => Err(Denial::NotReceiver),
    }
}

/// The last de-duplicated request of one claim on one mailbox.
pub struct RequestRecord {
    /// Which operation it was.
    pub operation: Operation,
    /// Digest of its request id.
    pub request: RequestHash,
}

/// Whether a request repeats the claim's last successful request: then it is answered 201 and
/// nothing is done again (§7). Only the latest id per claim is remembered, and only for the same
/// operation.
pub fn is_replay(
    last: Option<&RequestRecord>,
    operation: Operation,
    request: Option<&RequestHash>,
) -> bool {
    match (last, request) {
        (Some(last), Some(request)) => last.operation == operation && last.request.matches(request),
        _ => false,
    }
}

/// Whether one more message of `size` bytes fits a log of `count` messages and `bytes` bytes.
pub fn check_append(count: u64, bytes: u64, size: u64, limits: &LogLimits) -> Result<(), Denial> {
    if count >= limits.max_messages || bytes.saturating_add(size) > limits.max_bytes {
        return Err(Denial::LogFull);
    }
    Ok(())
}

/// Whether a waiting reader has news: a message from its peer among those after its cursor.
/// Its own messages do not end a wait.
pub fn has_news(messages: &[Message], reader: Party) -> bool {
    messages.iter().any(|m| m.from != reader)
}

/// Whether a mailbox that expires at `expires_at` is gone at `now` (both Unix seconds).
pub fn is_expired(expires_at: i64, now: i64) -> bool {
    expires_at <= now
}

/// Why a create or update request was refused. Each maps to a 400 with its own code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// `accessRights` is malformed.
    #[error("{0}")]
    AccessRights(String),
    /// `expiration` is malformed or not in the future.
    #[error("{0}")]
    Expiration(String),
    /// `imageURL` is not an https URL.
    #[error("displayInformation.imageURL must be an https URL")]
    ImageUrl,
    /// `displayInformationUrl` is not an https URL without credentials or fragment.
    #[error("displayInformationUrl must be an https URL without credentials or fragment")]
    DisplayUrl,
    /// A field is empty or too long.
    #[error("{0}")]
    Field(String),
    /// `payload` is malformed.
    #[error("{0}")]
    Payload(String),
    /// `maxReceivers` is out of range.
    #[error("mailboxConfiguration.maxReceivers must be from 1 to {MAX_RECEIVERS}")]
    MaxReceivers,
    /// `eventEndpoint` names none of the relay's event endpoints.
    #[error("mailboxConfiguration.eventEndpoint names no event endpoint of this relay")]
    EventEndpoint,
    /// The body is not JSON of the expected shape, or is missing where one is required.
    #[error("{0}")]
    Body(String),
}

impl Invalid {
    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AccessRights(_) => "invalid_access_rights",
            Self::Expiration(_) => "invalid_expiration",
            Self::ImageUrl => "invalid_image_url",
            Self::DisplayUrl => "invalid_display_url",
            Self::Field(_) => "invalid_field",
            Self::Payload(_) => "invalid_payload",
            Self::MaxReceivers => "invalid_max_receivers",
            Self::EventEndpoint => "unknown_event_endpoint",
            Self::Body(_) => "malformed_body",
        }
    }
}

fn check_text(name: &str, value: &str, max_chars: usize, allow_empty: bool) -> Result<(), Invalid> {
    if !allow_empty && value.is_empty() {
        return Err(Invalid::Field(format!("{name} must not be empty")));
    }
    if value.chars().count() > max_chars {
        return Err(Invalid::Field(format!("{name} is longer than {max_chars} characters")));
    }
    Ok(())
}

/// Checks a payload: `type` a short non-empty string, `data` non-empty base64 (§13). The relay
/// neither restricts the algorithm nor looks inside.
pub fn check_payload(payload: &Payload, limits: &Limits) -> Result<(), Invalid> {
    if payload.kind.is_empty() || payload.kind.chars().count() > limits.max_payload_type_chars {
        return Err(Invalid::Payload(format!(
            "payload.type must be 1 to {} characters",
            limits.max_payload_type_chars
        )));
    }
    if payload.data.is_empty() || decode_lenient(&payload.data).is_none() {
        return Err(Invalid::Payload("payload.data must be non-empty base64".into()));
    }
    Ok(())
}

/// Checks the public display information; `imageURL` must be `https` (the relay never fetches it).
pub fn check_display(display: &DisplayInformation, limits: &Limits) -> Result<(), Invalid> {
    check_text("displayInformation.title", &display.title, limits.max_title_chars, false)?;
    check_text(
        "displayInformation.description",
        &display.description,
        limits.max_description_chars,
        true,
    )?;
    check_text(
        "displayInformation.imageURL",
        &display.image_url,
        limits.max_image_url_chars,
        false,
    )?;
    match https_url(&display.image_url) {
        Some(_) => Ok(()),
        None => Err(Invalid::ImageUrl),
    }
}

/// Checks `displayInformationUrl` (compatibility profile): an `https` URL of the sender's
/// vendor's page, as long as an image URL may be, with no credentials and no fragment. The
/// relay never fetches it; only a viewer's browser or app may.
pub fn check_display_url(raw: &str, limits: &Limits) -> Result<(), Invalid> {
    check_text("displayInformationUrl", raw, limits.max_image_url_chars, false)?;
    if is_https_link(raw) { Ok(()) } else { Err(Invalid::DisplayUrl) }
}

/// Whether `raw` is an `https` URL with a host and without credentials or fragment: what the
/// relay accepts as a link on its preview page (a sender's page, an operator's store page).
pub fn is_https_link(raw: &str) -> bool {
    https_url(raw).is_some_and(|url| url.fragment().is_none())
}

/// `raw` parsed, when it is an `https` URL with a host and no credentials, free of whitespace
/// and control characters (which the WHATWG parser would quietly strip). The text itself must
/// begin `https://` and hold no backslash: the parser would also read `https:host` or
/// `https:\\host` as https, and what is kept and linked is the text as sent.
fn https_url(raw: &str) -> Option<url::Url> {
    if raw.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\') {
        return None;
    }
    if !raw.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) {
        return None;
    }
    let url = url::Url::parse(raw).ok()?;
    let has_host = url.host_str().is_some_and(|h| !h.is_empty());
    let plain = url.username().is_empty() && url.password().is_none();
    (url.scheme() == "https" && has_host && plain).then_some(url)
}

/// The longest `tokenTopic`: APNs topics are bundle ids (at most 155 characters) with an
/// optional suffix such as `.voip`.
pub const MAX_TOKEN_TOPIC_CHARS: usize = 200;

/// Checks a push token: both members present, non-empty and bounded; the optional
/// `tokenTopic` a bundle id's characters (letters, digits, `.`, `-`, `_`).
pub fn check_token(token: &NotificationToken, limits: &Limits) -> Result<(), Invalid> {
    check_text("notificationToken.type", &token.kind, limits.max_token_type_chars, false)?;
    check_text(
        "notificationToken.tokenData",
        &token.token_data,
        limits.max_token_data_chars,
        false,
    )?;
    if let Some(topic) = &token.topic {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
        if topic.is_empty() || topic.len() > MAX_TOKEN_TOPIC_CHARS || !topic.chars().all(allowed) {
            return Err(Invalid::Field(format!(
                "notificationToken.tokenTopic must be 1 to {MAX_TOKEN_TOPIC_CHARS} letters, \
                 digits, dots, hyphens or underscores"
            )));
        }
    }
    Ok(())
}

/// Parses `accessRights`, `"RD"` when absent (§9).
pub fn resolve_rights(requested: Option<&str>) -> Result<AccessRights, Invalid> {
    match requested {
        None => Ok(AccessRights::default()),
        Some(text) => text.parse().map_err(|e: tigress_proto::access::AccessRightsError| {
            Invalid::AccessRights(e.to_string())
        }),
    }
}

/// The expiry instant of a new mailbox (§10): the default lifetime when absent; 400 when not in
/// the future; clamped to the maximum lifetime.
pub fn resolve_expiration(
    requested: Option<&str>,
    now: i64,
    limits: &Limits,
) -> Result<i64, Invalid> {
    let latest = now.saturating_add(seconds(limits.max_lifetime));
    let Some(text) = requested else {
        return Ok(now.saturating_add(seconds(limits.default_lifetime)).min(latest));
    };
    let at = expiration::parse(text).map_err(|e| Invalid::Expiration(e.to_string()))?;
    if at <= now {
        return Err(Invalid::Expiration("expiration must be in the future".into()));
    }
    Ok(at.min(latest))
}

/// The largest `maxReceivers` a sender may ask for: a cap is meant to be small.
pub const MAX_RECEIVERS: u32 = 1000;

/// Checks `mailboxConfiguration.maxReceivers`; `None` (no cap) is the drafts' behaviour.
pub fn resolve_max_receivers(requested: Option<u32>) -> Result<Option<u32>, Invalid> {
    match requested {
        Some(n) if !(1..=MAX_RECEIVERS).contains(&n) => Err(Invalid::MaxReceivers),
        other => Ok(other),
    }
}

/// How many more receivers may bind, when `max` may ever bind and `bound` have.
pub fn binds_left(max: Option<u32>, bound: u32) -> Option<u32> {
    max.map(|max| max.saturating_sub(bound))
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> ClaimHash {
        ClaimHash::of(&DeviceClaim::random(&mut rand::rngs::OsRng))
    }

    #[test]
    fn keyed_digests_differ_by_key_and_a_keyed_caller_matches_either_kind() {
        let claim = DeviceClaim::random(&mut rand::rngs::OsRng);
        let key = ClaimKey::from_bytes([7; 32]);
        let other_key = ClaimKey::from_bytes([8; 32]);
        let keyed = ClaimHash::keyed(&key, &claim);
        let plain = ClaimHash::of(&claim);
        assert!(!keyed.matches(&plain));
        assert!(!keyed.matches(&ClaimHash::keyed(&other_key, &claim)));
        assert!(keyed.matches(&ClaimHash::keyed(&key, &claim)));

        let caller = Caller::of(&claim, Some(&key));
        assert!(caller.hash.matches(&keyed), "writes store the keyed digest");
        assert!(caller.matches(&keyed) && caller.matches(&plain));
        assert!(!caller.matches(&ClaimHash::keyed(&other_key, &claim)));
        let unkeyed = Caller::of(&claim, None);
        assert!(unkeyed.hash.matches(&plain) && unkeyed.legacy.is_none());
        assert!(!unkeyed.matches(&keyed));
        assert!(format!("{key:?}").ends_with("(..)"), "the key is never printed");
    }

    #[test]
    fn a_sender_of_a_mailbox_made_before_the_key_is_still_its_sender() {
        let claim = DeviceClaim::random(&mut rand::rngs::OsRng);
        let plain = ClaimHash::of(&claim);
        let parties = Parties {
            sender: &plain,
            receiver: None,
            rights: AccessRights::default(),
            binds_left: None,
        };
        let caller = Caller::of(&claim, Some(&ClaimKey::from_bytes([1; 32])));
        // Not a stranger who would bind as receiver.
        assert_eq!(decide_read(&parties, &caller), Ok(ReadAccess::Party(Party::Sender)));
    }

    #[test]
    fn follows_the_binding_table() {
        let (sender, receiver, stranger) = (claim(), claim(), claim());
        let unbound = Parties {
            sender: &sender,
            receiver: None,
            rights: AccessRights::default(),
            binds_left: None,
        };
        assert_eq!(decide_read(&unbound, &sender.into()), Ok(ReadAccess::Party(Party::Sender)));
        assert_eq!(decide_read(&unbound, &stranger.into()), Ok(ReadAccess::Binds));
        assert_eq!(decide_update(&unbound, &stranger.into()), Err(Denial::NotAParty));
        assert_eq!(decide_delete(&unbound, &stranger.into()), Err(Denial::NotAParty));
        assert_eq!(decide_relinquish(&unbound, &sender.into()), Err(Denial::NotReceiver));

        let bound = Parties { receiver: Some(&receiver), ..unbound };
        assert_eq!(decide_read(&bound, &receiver.into()), Ok(ReadAccess::Party(Party::Receiver)));
        assert_eq!(decide_read(&bound, &stranger.into()), Err(Denial::AlreadyClaimed));
        assert_eq!(decide_update(&bound, &receiver.into()), Err(Denial::RightMissing));
        assert_eq!(decide_update(&bound, &sender.into()), Ok(Party::Sender));
        assert_eq!(decide_delete(&bound, &receiver.into()), Ok(Party::Receiver));
        assert_eq!(decide_relinquish(&bound, &receiver.into()), Ok(()));
        assert_eq!(decide_relinquish(&bound, &stranger.into()), Err(Denial::NotReceiver));

        let writable = Parties { rights: "RWD".parse().unwrap(), ..bound };
        assert_eq!(decide_update(&writable, &receiver.into()), Ok(Party::Receiver));
        let read_only = Parties { rights: "R".parse().unwrap(), ..writable };
        assert_eq!(decide_delete(&read_only, &receiver.into()), Err(Denial::RightMissing));
        assert_eq!(decide_delete(&read_only, &sender.into()), Ok(Party::Sender));
    }

    #[test]
    fn max_receivers_caps_binding_only() {
        let (sender, receiver, stranger) = (claim(), claim(), claim());
        let exhausted = Parties {
            sender: &sender,
            receiver: None,
            rights: AccessRights::default(),
            binds_left: binds_left(Some(2), 2),
        };
        assert_eq!(decide_read(&exhausted, &stranger.into()), Err(Denial::NoReceiversLeft));
        assert_eq!(decide_read(&exhausted, &sender.into()), Ok(ReadAccess::Party(Party::Sender)));
        assert_eq!(decide_update(&exhausted, &sender.into()), Ok(Party::Sender));
        // A bound receiver is already counted: it reads on, and strangers are told it is claimed.
        let bound = Parties { receiver: Some(&receiver), ..exhausted };
        assert_eq!(decide_read(&bound, &receiver.into()), Ok(ReadAccess::Party(Party::Receiver)));
        assert_eq!(decide_read(&bound, &stranger.into()), Err(Denial::AlreadyClaimed));
        let one_left = Parties { binds_left: binds_left(Some(3), 2), ..exhausted };
        assert_eq!(decide_read(&one_left, &stranger.into()), Ok(ReadAccess::Binds));
        assert_eq!(binds_left(None, 7), None);
        assert_eq!(binds_left(Some(1), 5), Some(0));

        assert_eq!(resolve_max_receivers(None), Ok(None));
        assert_eq!(resolve_max_receivers(Some(1)), Ok(Some(1)));
        assert_eq!(resolve_max_receivers(Some(MAX_RECEIVERS)), Ok(Some(MAX_RECEIVERS)));
        assert_eq!(resolve_max_receivers(Some(0)), Err(Invalid::MaxReceivers));
        assert_eq!(resolve_max_receivers(Some(MAX_RECEIVERS + 1)), Err(Invalid::MaxReceivers));
    }

    #[test]
    fn a_claim_equal_to_the_senders_is_the_sender() {
        let sender = claim();
        let parties = Parties {
            sender: &sender,
            receiver: Some(&sender),
            rights: AccessRights::default(),
            binds_left: None,
        };
        assert_eq!(parties.role_of(&sender.into()), Some(Party::Sender));
    }

    #[test]
    fn replays_only_the_latest_request_of_the_same_operation() {
        let id = RequestHash::of(&"a".parse().unwrap());
        let other = RequestHash::of(&"b".parse().unwrap());
        let record = RequestRecord { operation: Operation::Update, request: id };
        assert!(is_replay(Some(&record), Operation::Update, Some(&id)));
        assert!(!is_replay(Some(&record), Operation::Update, Some(&other)));
        assert!(!is_replay(Some(&record), Operation::Relinquish, Some(&id)));
        assert!(!is_replay(None, Operation::Update, Some(&id)));
        assert!(!is_replay(Some(&record), Operation::Update, None));
    }

    #[test]
    fn defaults_rejects_and_clamps_expirations() {
        let limits = Limits::default();
        let now = 2_000_000_000;
        assert_eq!(resolve_expiration(None, now, &limits), Ok(now + 48 * 3600));
        let past = expiration::format(now - 1);
        assert!(matches!(
            resolve_expiration(Some(&past), now, &limits),
            Err(Invalid::Expiration(_))
        ));
        let same = expiration::format(now);
        assert!(resolve_expiration(Some(&same), now, &limits).is_err());
        assert!(resolve_expiration(Some("soon"), now, &limits).is_err());
        let far = expiration::format(now + 30 * 24 * 3600);
        assert_eq!(resolve_expiration(Some(&far), now, &limits), Ok(now + 7 * 24 * 3600));
        let near = expiration::format(now + 60);
        assert_eq!(resolve_expiration(Some(&near), now, &limits), Ok(now + 60));
    }

    #[test]
    fn image_url_must_be_https() {
        let limits = Limits::default();
        let display = |url: &str| DisplayInformation {
            title: "t".into(),
            description: String::new(),
            image_url: url.into(),
        };
        assert!(check_display(&display("https://img.example/a.png"), &limits).is_ok());
        for bad in [
            "http://img.example/a.png",
            "javascript:alert(1)",
            "https://",
            "https://u:p@h/x",
            "data:image/png;base64,AA",
            "https://a b/",
        ] {
            assert_eq!(check_display(&display(bad), &limits), Err(Invalid::ImageUrl), "{bad}");
        }
    }

    #[test]
    fn display_url_must_be_https_without_credentials_or_fragment() {
        let limits = Limits::default();
        assert_eq!(check_display_url("https://vendor.example/share/x?lang=en", &limits), Ok(()));
        for bad in [
            "http://vendor.example/s",
            "https://vendor.example/s#frag",
            "https://u:p@vendor.example/s",
            "https://u@vendor.example/s",
            "https://",
            "javascript:alert(1)",
            "https://vendor.example/a b",
            "https://vendor.example/\n",
            "https:vendor.example/s",
            "https:/vendor.example/s",
            "https:\\\\vendor.example\\s",
            "https://vendor.example\\@evil.example/",
        ] {
            assert_eq!(check_display_url(bad, &limits), Err(Invalid::DisplayUrl), "{bad}");
        }
        let long = format!("https://vendor.example/{}", "a".repeat(limits.max_image_url_chars));
        assert_eq!(check_display_url(&long, &limits).unwrap_err().code(), "invalid_field");
        assert_eq!(check_display_url("", &limits).unwrap_err().code(), "invalid_field");
    }

    #[test]
    fn a_token_topic_is_a_bundle_id() {
        let limits = Limits::default();
        let token = |topic: &str| NotificationToken {
            topic: Some(topic.into()),
            ..NotificationToken::new("com.apple.apns", "00ff")
        };
        assert_eq!(check_token(&token("com.example.wallet.voip"), &limits), Ok(()));
        let longest = "a".repeat(MAX_TOKEN_TOPIC_CHARS);
        assert_eq!(check_token(&token(&longest), &limits), Ok(()));
        for bad in ["", "com.example wallet", "com.example/x", "é", &format!("{longest}a")] {
            let refused = check_token(&token(bad), &limits).unwrap_err();
            assert!(refused.to_string().contains("tokenTopic"), "{bad}: {refused}");
        }
    }

    #[test]
    fn payload_needs_a_type_and_base64_data() {
        let limits = Limits::default();
        let payload = |kind: &str, data: &str| Payload { kind: kind.into(), data: data.into() };
        assert!(check_payload(&payload("AEAD_AES_128_GCM", "AAAA"), &limits).is_ok());
        assert!(check_payload(&payload("SOMETHING_NEW", "AAAA"), &limits).is_ok());
        assert!(check_payload(&payload("", "AAAA"), &limits).is_err());
        assert!(check_payload(&payload("AEAD_AES_128_GCM", ""), &limits).is_err());
        assert!(check_payload(&payload("AEAD_AES_128_GCM", "@@@"), &limits).is_err());
    }
}
