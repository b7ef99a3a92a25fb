//! Mailbox storage behind one domain-level trait. Each method is one atomic operation inside its
//! backend, applying the rules of [`crate::mailbox`]; handlers never compose get and put.

use std::sync::Arc;

use tigress_proto::AccessRights;
use tigress_proto::MailboxId;
use tigress_proto::wire::{Display, NotificationToken, Payload};

use tigress_proto::wire::{Message, Party};
use tigress_webhooks::{EndpointName, Event};

use crate::mailbox::{Caller, ClaimHash, Denial, RequestHash};

#[cfg(feature = "redis")]
pub mod redis;
pub mod sqlite;

/// What went wrong in the store.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// No such mailbox, or it has expired or been deleted: one answer for all three.
    #[error("no such mailbox")]
    NotFound,
    /// The mailbox's state does not allow this caller to do this.
    #[error(transparent)]
    Conflict(#[from] Denial),
    /// The store cannot serve now (shutting down, overloaded); the caller may retry later.
    #[error("the store is unavailable")]
    Unavailable,
    /// The store holds as many mailboxes as the operator allows; a create may succeed later.
    #[error("the store is full")]
    Full,
    /// The backend failed; the details are for the operator's log only.
    #[error("storage backend failure: {0}")]
    Backend(Arc<dyn std::error::Error + Send + Sync>),
}

/// A mailbox to create.
pub struct NewMailbox {
    /// Chosen by the relay from a CSPRNG.
    pub id: MailboxId,
    /// Hash of the sender's claim.
    pub sender: ClaimHash,
    /// The first message.
    pub payload: Payload,
    /// Public preview text.
    pub display: Display,
    /// The receiver's rights.
    pub rights: AccessRights,
    /// Unix seconds.
    pub expires_at: i64,
    /// The sender's push token.
    pub sender_token: Option<NotificationToken>,
    /// How many distinct receivers may ever bind; `None` for no cap.
    pub max_receivers: Option<u32>,
    /// The operator's endpoint that hears of this mailbox's life, if the create named one
    /// (docs/EVENTS.md): every change then writes an event to the outbox in the same commit.
    pub events: Option<EndpointName>,
}

/// Which event of the outbox: a mailbox's event of this sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKey {
    /// The mailbox.
    pub mailbox: MailboxId,
    /// The event's place among the mailbox's events.
    pub sequence: u64,
}

/// An event in the outbox, waiting for delivery.
#[derive(Clone, Debug)]
pub struct PendingEvent {
    /// Which one.
    pub key: EventKey,
    /// The endpoint it goes to.
    pub endpoint: String,
    /// The event.
    pub event: Event,
    /// Unix seconds when it entered the outbox (after its mailbox expired, for an expiry):
    /// its delivery is given up `give_up_after` from then.
    pub recorded_at: i64,
    /// Attempts that failed so far.
    pub failures: u32,
}

/// Whether an operation ran now or repeated an earlier one (§7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done now: answer 200.
    Done,
    /// The claim's last request had this id: nothing was done again; answer 201.
    Replayed,
}

/// Result of a create: the mailbox (the original one on a replay) and the sender's token type.
pub struct Created {
    /// 200 or 201.
    pub outcome: Outcome,
    /// The mailbox id to put in `urlLink`.
    pub id: MailboxId,
    /// The sender's token type, for `isPushNotificationSupported`.
    pub token_type: Option<String>,
}

/// Result of an update.
pub struct Updated {
    /// 200 or 201.
    pub outcome: Outcome,
    /// The caller's token type after the update.
    pub token_type: Option<String>,
    /// The other party and its push token, to wake it (none on a replay: nothing new was
    /// written).
    pub peer_token: Option<(Party, NotificationToken)>,
}

/// The preview: what anyone with the URL may see.
pub struct PreviewView {
    /// Public text.
    pub display: Display,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What a party reads.
pub struct ReadView {
    /// The current slot.
    pub payload: Payload,
    /// Public text.
    pub display: Display,
    /// Unix seconds.
    pub expires_at: i64,
    /// The caller's role (a fresh claim that just bound is the receiver).
    pub role: Party,
    /// The log's messages after the caller's cursor, oldest first.
    pub messages: Vec<Message>,
    /// The highest `seq` in the log.
    pub last_seq: u64,
    /// Whether a receiver is bound, after this read.
    pub receiver_bound: bool,
    /// Whether this read bound the caller as the receiver.
    pub just_bound: bool,
    /// When `just_bound`: the sender's push token, to tell it its share was opened.
    pub sender_token: Option<NotificationToken>,
}

/// The mailbox store. `now` is Unix seconds; every operation treats a mailbox with
/// `expires_at <= now` as absent.
#[async_trait::async_trait]
pub trait MailboxStore: Send + Sync + 'static {
    /// Creates a mailbox, unless `request` repeats the sender claim's last create (then the
    /// original mailbox is returned as [`Outcome::Replayed`]).
    async fn create(
        &self,
        mailbox: NewMailbox,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Created, StoreError>;

    /// The public preview; binds nothing.
    async fn preview(&self, id: MailboxId, now: i64) -> Result<PreviewView, StoreError>;

    /// Reads the secure content and the messages after `after`; a fresh claim binds as receiver
    /// when the slot is empty, and of any number of concurrent first reads exactly one binds.
    /// `token` replaces the caller's.
    async fn read(
        &self,
        id: MailboxId,
        caller: Caller,
        token: Option<NotificationToken>,
        after: u64,
        now: i64,
    ) -> Result<ReadView, StoreError>;

    /// The same read when it changes nothing (the caller is a party already): its view, or
    /// `None` when it would bind a receiver, or when the store cannot tell without writing (the
    /// default). The relay answers such reads directly, without the task that makes a write's
    /// announcement outlive a dropped request; the others go to [`read`](Self::read).
    async fn read_unchanged(
        &self,
        id: MailboxId,
        caller: Caller,
        after: u64,
        now: i64,
    ) -> Result<Option<ReadView>, StoreError> {
        let _ = (id, caller, after, now);
        Ok(None)
    }

    /// Appends a message to the log (it becomes the payload slot too) and replaces the caller's
    /// token when given. A full log is [`Denial::LogFull`].
    async fn update(
        &self,
        id: MailboxId,
        caller: Caller,
        payload: Payload,
        token: Option<NotificationToken>,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Updated, StoreError>;

    /// Deletes the mailbox and erases its contents.
    async fn delete(&self, id: MailboxId, caller: Caller, now: i64) -> Result<(), StoreError>;

    /// Unbinds the receiver (clearing its claim and token).
    async fn relinquish(
        &self,
        id: MailboxId,
        caller: Caller,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Outcome, StoreError>;

    /// Drops `role`'s push token if it is still `token_data` (the provider said it is gone).
    async fn forget_token(
        &self,
        id: MailboxId,
        role: Party,
        token_data: String,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Remembers that the relay accepted the device attestation token of digest `digest` (never
    /// the token) for a create with `request` (its request id's digest, if any), until `until`
    /// (Unix seconds; gone when `until <= now`), so that it holds across every relay of the
    /// store. `true` when this is the token's first use, or a repeat of the same request id (the
    /// client's retry, which [`MailboxStore::create`] answers as a replay); `false` when the
    /// token was already accepted for another request, or for a create without a request id.
    /// A first use is recorded; a repeat changes nothing.
    async fn remember_attestation(
        &self,
        digest: [u8; 32],
        request: Option<RequestHash>,
        until: i64,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Erases every mailbox expired at `now`, and the attestations remembered until then;
    /// returns how many mailboxes.
    async fn sweep(&self, now: i64) -> Result<u64, StoreError>;

    /// Whether the store answers (for `/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Whether the store keeps an outbox of lifecycle events (docs/EVENTS.md): the relay
    /// refuses to start with event endpoints on a store that does not.
    fn keeps_events(&self) -> bool {
        false
    }

    /// Records a refused claim on mailbox `id` (a read by a device that is not a party) in its
    /// outbox, when it has an endpoint; nothing else changes.
    async fn record_refused_claim(&self, id: MailboxId, now: i64) -> Result<(), StoreError> {
        let _ = (id, now);
        Ok(())
    }

    /// The outbox's events due at `now`, at most `limit`: of each mailbox only its oldest
    /// undelivered event, so that a mailbox's events are delivered in order.
    async fn due_events(&self, now: i64, limit: usize) -> Result<Vec<PendingEvent>, StoreError> {
        let _ = (now, limit);
        Ok(Vec::new())
    }

    /// Removes an event from the outbox: delivered, or given up.
    async fn event_done(&self, key: EventKey) -> Result<(), StoreError> {
        let _ = key;
        Ok(())
    }

    /// Records a failed attempt: the event is due again at `next_attempt` (Unix seconds).
    async fn event_failed(
        &self,
        key: EventKey,
        failures: u32,
        next_attempt: i64,
    ) -> Result<(), StoreError> {
        let _ = (key, failures, next_attempt);
        Ok(())
    }

    /// Resolves when an event may have been written since the last call (every commit, for
    /// the SQLite store); never, by default. The deliverer also looks at the outbox every
    /// second, for retries that come due.
    async fn outbox_changed(&self) {
        std::future::pending::<()>().await;
    }
}
