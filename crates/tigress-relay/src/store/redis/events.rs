//! The outbox of lifecycle events on the Redis Cluster (docs/EVENTS.md).
//!
//! A mailbox's events live in its own events hash (`tigress:{<id>}:ev`), written by the very
//! script that makes the change, so they are as durable as the change and never sent for a
//! change that was not made. To find them, every relay's delivery loop reads one sorted set,
//! [`EVENTS_DUE`], of mailboxes scored by when to look at each next:
//!
//! - a create that names an endpoint indexes its mailbox *before* creating it (an entry for a
//!   mailbox that never came is found empty and dropped);
//! - a script that recorded an event says so (`ev`), and the relay moves the mailbox to the
//!   front; if that step is lost (a relay stopped in between), the entry is still there and is
//!   looked at within [`REVISIT`] anyway;
//! - the loop claims due mailboxes for a [`LEASE`] (`events_due.lua`), so that one relay at a
//!   time sends a mailbox's events, in order; a relay that dies holding one leaves it to
//!   another after the lease;
//! - `event_head.lua` answers each mailbox's oldest undelivered event, and notices an expiry:
//!   Redis erases an expired mailbox's keys by itself, but not its events hash, so when a
//!   mailbox is past its expiry with nothing left to send, its `mailbox.expired` is recorded
//!   there.

use tigress_proto::MailboxId;
use tigress_webhooks::{Event, EventKind};

use super::RedisStore;
use super::cluster::Request;
use super::error::{Corrupt, backend};
use super::keys::{EVENTS_DUE, Keys, hex, parse_id};
use super::scripts::{
    EventDoneInput, EventHead, EventRetryInput, EventsDueInput, NowInput, StoredEvent,
};
use crate::store::{EventKey, PendingEvent, StoreError};

/// How long a relay holds the mailboxes it claimed: longer than an attempt may take (10 s).
const LEASE: i64 = 30;

/// The longest a mailbox with an endpoint waits to be looked at, whatever its index says: the
/// bound on the delay of an event whose relay stopped before it could index it.
const REVISIT: i64 = 60;

impl RedisStore {
    /// Scores mailbox `id` at `at` in the index (0: at once), and wakes this relay's loop.
    pub(super) async fn index_events(&self, id: &MailboxId, at: i64) -> Result<(), StoreError> {
        self.index_quietly(id, at).await?;
        self.outbox.notify_one();
        Ok(())
    }

    /// After a script that recorded an event: the mailbox to the front of the index. A failure
    /// here only delays the event (to [`REVISIT`] at most).
    pub(super) async fn look_at_events(&self, id: &MailboxId) {
        if let Err(e) = self.index_events(id, 0).await {
            tracing::warn!(error = %e, "could not index a recorded event; it waits for the revisit");
        }
    }

    async fn unindex(&self, member: &str) -> Result<(), StoreError> {
        let remove = redis::cmd("ZREM").arg(EVENTS_DUE).arg(member).clone();
        let (_, _): (i64, _) = self.cluster.write(EVENTS_DUE, &Request::Command(remove)).await?;
        Ok(())
    }

    /// Claims the due mailboxes and answers the oldest undelivered event of each that is due;
    /// the others are scored again for when they will be.
    pub(super) async fn claim_due_events(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<Vec<PendingEvent>, StoreError> {
        let input = EventsDueInput { now, lease: now.saturating_add(LEASE), limit };
        let input = serde_json::to_string(&input).map_err(backend)?;
        let claim =
            Request::Script { lua: &self.scripts.events_due, keys: &[EVENTS_DUE], args: &[&input] };
        let (claimed, _): (Vec<String>, _) = self.cluster.write(EVENTS_DUE, &claim).await?;
        let mut pending = Vec::with_capacity(claimed.len());
        for member in claimed {
            let Some(id) = parse_id(&member) else {
                self.unindex(&member).await?;
                continue;
            };
            // One mailbox's trouble (a migration in progress) must not hold back the others:
            // its lease runs out and it is tried again.
            match self.head(&id, now).await {
                Ok(Some(event)) => pending.push(event),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not read a mailbox's events"),
            }
        }
        Ok(pending)
    }

    /// The oldest undelivered event of mailbox `id` when due now; otherwise scores the mailbox
    /// for later, or drops it from the index when nothing is left.
    async fn head(&self, id: &MailboxId, now: i64) -> Result<Option<PendingEvent>, StoreError> {
        let keys = Keys::of(id);
        let input = serde_json::to_string(&NowInput { now }).map_err(backend)?;
        let head = Request::Script {
            lua: &self.scripts.event_head,
            keys: &[&keys.mailbox, &keys.events],
            args: &[&input],
        };
        let (answer, _): (String, _) = self.cluster.write(&keys.mailbox, &head).await?;
        let answer: EventHead =
            serde_json::from_str(&answer).map_err(|_| backend(Corrupt("event_head answer")))?;
        let revisit = now.saturating_add(REVISIT);
        match answer {
            EventHead::Gone => {
                self.unindex(&hex(id.as_bytes())).await?;
                Ok(None)
            }
            EventHead::Idle { exp } => {
                let exp: i64 = exp.parse().map_err(|_| backend(Corrupt("event expiry")))?;
                self.index_quietly(id, exp.min(revisit)).await?;
                Ok(None)
            }
            EventHead::Due { endpoint, seq, event, failures, next } => {
                let next: i64 = next.parse().map_err(|_| backend(Corrupt("event retry")))?;
                if next > now {
                    self.index_quietly(id, next.min(revisit)).await?;
                    return Ok(None);
                }
                let sequence: u64 = seq.parse().map_err(|_| backend(Corrupt("event seq")))?;
                let stored: StoredEvent =
                    serde_json::from_str(&event).map_err(|_| backend(Corrupt("event")))?;
                let message_seq = stored.m.as_deref().map(str::parse).transpose();
                let message_seq = message_seq.map_err(|_| backend(Corrupt("event message")))?;
                let kind = EventKind::from_parts(&stored.k, stored.w.as_deref(), message_seq)
                    .ok_or_else(|| backend(Corrupt("event kind")))?;
                Ok(Some(PendingEvent {
                    key: EventKey { mailbox: *id, sequence },
                    endpoint,
                    event: Event { mailbox: id.to_string(), sequence, at: stored.at, kind },
                    recorded_at: stored.r,
                    failures,
                }))
            }
        }
    }

    /// Scores mailbox `id` at `at` without waking the loop (it is the loop that does it).
    async fn index_quietly(&self, id: &MailboxId, at: i64) -> Result<(), StoreError> {
        let add = redis::cmd("ZADD").arg(EVENTS_DUE).arg(at).arg(hex(id.as_bytes())).clone();
        let (_, _): (i64, _) = self.cluster.write(EVENTS_DUE, &Request::Command(add)).await?;
        Ok(())
    }

    /// The mailbox's oldest event was delivered or given up: the next one is looked at now.
    pub(super) async fn finish_event(&self, key: EventKey) -> Result<(), StoreError> {
        let keys = Keys::of(&key.mailbox);
        let input = EventDoneInput { seq: key.sequence.to_string() };
        let input = serde_json::to_string(&input).map_err(backend)?;
        let done = Request::Script {
            lua: &self.scripts.event_done,
            keys: &[&keys.events],
            args: &[&input],
        };
        let (_, _): (String, _) = self.cluster.write(&keys.events, &done).await?;
        self.index_events(&key.mailbox, 0).await
    }

    /// An attempt failed: the event is due again at `next_attempt`.
    pub(super) async fn retry_event(
        &self,
        key: EventKey,
        failures: u32,
        next_attempt: i64,
    ) -> Result<(), StoreError> {
        let keys = Keys::of(&key.mailbox);
        let input = EventRetryInput {
            seq: key.sequence.to_string(),
            failures: failures.to_string(),
            next: next_attempt.to_string(),
        };
        let input = serde_json::to_string(&input).map_err(backend)?;
        let retry = Request::Script {
            lua: &self.scripts.event_retry,
            keys: &[&keys.events],
            args: &[&input],
        };
        let (_, _): (String, _) = self.cluster.write(&keys.events, &retry).await?;
        self.index_quietly(&key.mailbox, next_attempt).await
    }
}
