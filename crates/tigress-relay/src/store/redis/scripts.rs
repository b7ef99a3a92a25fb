//! The Lua scripts (one file each in `scripts/`) and the named fields of what each takes and
//! answers.
//!
//! A script takes its keys in `KEYS` (the router needs them for the slot) and everything else as
//! one JSON object in `ARGV[1]`; it answers one JSON object. Values that may be absent are left
//! out rather than sent as `null` (Lua's `cjson.decode` turns `null` into a sentinel that is
//! truthy), and numbers that may exceed 2^53 travel as decimal strings, since cjson reads every
//! number as a double. Each `.lua` file starts with what it takes and what it answers.

use serde::{Deserialize, Serialize};

use super::cluster::Lua;

/// The scripts, hashed once; sent by hash, and by text to a node that lacks them.
pub struct Scripts {
    pub claim_created: Lua,
    pub create: Lua,
    pub created: Lua,
    pub delete: Lua,
    pub event_done: Lua,
    pub event_head: Lua,
    pub event_retry: Lua,
    pub events_due: Lua,
    pub forget_token: Lua,
    pub read: Lua,
    pub refused: Lua,
    pub relinquish: Lua,
    pub update: Lua,
}

/// A mailbox script: `scripts/mailbox.lua` (the decoded input and the rules' shared helpers),
/// then the script's own file.
macro_rules! mailbox_script {
    ($file:literal) => {
        Lua::new(concat!(
            include_str!("scripts/mailbox.lua"),
            include_str!(concat!("scripts/", $file))
        ))
    };
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            claim_created: Lua::new(include_str!("scripts/claim_created.lua")),
            create: mailbox_script!("create.lua"),
            created: mailbox_script!("created.lua"),
            delete: mailbox_script!("delete.lua"),
            event_done: Lua::new(include_str!("scripts/event_done.lua")),
            event_head: Lua::new(include_str!("scripts/event_head.lua")),
            event_retry: Lua::new(include_str!("scripts/event_retry.lua")),
            events_due: Lua::new(include_str!("scripts/events_due.lua")),
            forget_token: mailbox_script!("forget_token.lua"),
            read: mailbox_script!("read.lua"),
            refused: mailbox_script!("refused.lua"),
            relinquish: mailbox_script!("relinquish.lua"),
            update: mailbox_script!("update.lua"),
        }
    }
}

/// What every mailbox script answers: its `status`, and the script's own fields when it did
/// something.
#[derive(Debug, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Answer<T> {
    Ok(T),
    Replayed(T),
    /// Missing, expired or deleted.
    Nf,
    /// `denial` names a [`crate::mailbox::Denial`].
    Denied {
        denial: String,
    },
}

/// The answer of a script that has nothing to say beyond its status (create, delete,
/// forget_token, relinquish).
#[derive(Debug, Deserialize)]
pub struct Done {}

/// `claim_created.lua`'s input.
#[derive(Serialize)]
pub struct ClaimCreatedInput<'a> {
    /// The mailbox id that step 1 read, absent when the key was missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<&'a str>,
    pub id: &'a str,
    pub expires_at: i64,
}

/// `claim_created.lua`'s answer (a plain object: it is not a mailbox script).
#[derive(Debug, Deserialize)]
pub struct ClaimCreatedAnswer {
    pub claimed: bool,
}

/// `create.lua`'s input; it answers [`Done`].
#[derive(Serialize)]
pub struct CreateInput<'a> {
    pub now: i64,
    pub expires_at: i64,
    pub sender: &'a str,
    pub rights: &'a str,
    pub write: bool,
    pub delete: bool,
    pub payload_type: &'a str,
    pub payload_data: &'a str,
    pub size: usize,
    pub title: &'a str,
    pub description: &'a str,
    pub image_url: &'a str,
    /// `displayInformationUrl`, instead of the three above (then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_url: Option<&'a str>,
    /// The first log element, `s` and the payload's JSON.
    pub entry: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_receivers: Option<u32>,
    /// The event endpoint's name, when the create named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<&'a str>,
}

/// `created.lua`'s input.
#[derive(Serialize)]
pub struct CreatedInput<'a> {
    pub now: i64,
    pub sender: &'a str,
    pub record: &'a str,
}

/// `created.lua`'s answer.
#[derive(Debug, Deserialize)]
pub struct CreatedAnswer {
    /// The sender's push token type.
    pub token_type: Option<String>,
}

/// `delete.lua`'s input; it answers [`Done`].
#[derive(Serialize)]
pub struct DeleteInput<'a> {
    pub now: i64,
    pub caller: &'a str,
    /// The caller's plain digest, when `caller` is keyed (mailboxes made before the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy: Option<&'a str>,
}

/// `forget_token.lua`'s input; it answers [`Done`].
#[derive(Serialize)]
pub struct ForgetTokenInput<'a> {
    pub now: i64,
    /// `s` or `r`.
    pub role: &'a str,
    pub token_data: &'a str,
}

/// `read.lua`'s input.
#[derive(Serialize)]
pub struct ReadInput<'a> {
    pub now: i64,
    pub caller: &'a str,
    /// The caller's plain digest, when `caller` is keyed (mailboxes made before the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy: Option<&'a str>,
    /// The cursor, a decimal string: the client chooses it, up to `u64::MAX`.
    pub after: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_data: Option<&'a str>,
}

/// `read.lua`'s answer.
#[derive(Debug, Deserialize)]
pub struct ReadAnswer {
    /// `s` or `r`.
    pub role: String,
    pub payload_type: String,
    pub payload_data: String,
    pub title: String,
    pub description: String,
    pub image_url: String,
    /// `displayInformationUrl`, when the sender gave it instead.
    pub display_url: Option<String>,
    /// Decimal, as stored.
    pub expires_at: String,
    /// Decimal, as stored.
    pub last_seq: String,
    pub receiver_bound: bool,
    pub just_bound: bool,
    /// The sender's token, only when this read bound the receiver.
    pub sender_token_type: Option<String>,
    pub sender_token_data: Option<String>,
    /// The log elements after the cursor; cjson would encode an empty list as `{}`, so the
    /// script leaves it out instead.
    #[serde(default)]
    pub messages: Vec<String>,
}

/// `relinquish.lua`'s input; it answers [`Done`].
#[derive(Serialize)]
pub struct RelinquishInput<'a> {
    pub now: i64,
    pub caller: &'a str,
    /// The caller's plain digest, when `caller` is keyed (mailboxes made before the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<&'a str>,
}

/// `update.lua`'s input.
#[derive(Serialize)]
pub struct UpdateInput<'a> {
    pub now: i64,
    pub caller: &'a str,
    /// The caller's plain digest, when `caller` is keyed (mailboxes made before the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy: Option<&'a str>,
    pub payload_type: &'a str,
    pub payload_data: &'a str,
    pub size: usize,
    /// The log element's payload JSON; the script prefixes the writer's role.
    pub entry: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<&'a str>,
    /// Decimal strings: operator settings, not bounded by 2^53.
    pub max_messages: String,
    pub max_bytes: String,
}

/// `update.lua`'s answer.
#[derive(Debug, Deserialize)]
pub struct UpdateAnswer {
    /// The caller's push token type.
    pub token_type: Option<String>,
    /// The peer to wake (`s` or `r`) and its token, all three or none.
    pub peer: Option<String>,
    pub peer_token_type: Option<String>,
    pub peer_token_data: Option<String>,
}

/// Whether a mailbox script recorded an event (`ev`), read from any script's answer.
#[derive(Debug, Default, Deserialize)]
pub struct Evented {
    #[serde(default)]
    pub ev: bool,
}

/// `refused.lua`'s and `event_head.lua`'s input.
#[derive(Serialize)]
pub struct NowInput {
    pub now: i64,
}

/// `events_due.lua`'s input.
#[derive(Serialize)]
pub struct EventsDueInput {
    pub now: i64,
    /// When the lease on each claimed mailbox ends.
    pub lease: i64,
    pub limit: usize,
}

/// `event_head.lua`'s answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum EventHead {
    /// Nothing is left of the mailbox's events.
    Gone,
    /// Nothing to send until the mailbox expires (`exp`, decimal) or changes.
    Idle { exp: String },
    /// The oldest undelivered event.
    Due {
        endpoint: String,
        /// Decimal.
        seq: String,
        /// As recorded: [`StoredEvent`].
        event: String,
        failures: u32,
        /// Decimal: when it is due (0 at first).
        next: String,
    },
}

/// An event as `mailbox.lua`'s `record_event` writes it.
#[derive(Debug, Deserialize)]
pub struct StoredEvent {
    /// Its type.
    pub k: String,
    /// A message's writer and place (decimal).
    pub w: Option<String>,
    pub m: Option<String>,
    /// When it happened and when it was recorded.
    pub at: i64,
    pub r: i64,
}

/// `event_done.lua`'s input.
#[derive(Serialize)]
pub struct EventDoneInput {
    /// Decimal.
    pub seq: String,
}

/// `event_retry.lua`'s input.
#[derive(Serialize)]
pub struct EventRetryInput {
    /// Decimals.
    pub seq: String,
    pub failures: String,
    pub next: String,
}
