//! Delivers the store's outbox of lifecycle events to the operator's endpoints
//! (docs/EVENTS.md).
//!
//! At least once and in order per mailbox: the store hands out only each mailbox's oldest
//! undelivered event, and the loop asks again only once every attempt of the last batch has
//! ended, so a mailbox's next event is never sent before its previous one was received (or
//! given up). An event leaves the outbox only after a 2xx answer; a relay that dies in between
//! sends it again after its restart, with the same `webhook-id`.

use std::sync::Arc;
use std::time::Duration;

use tigress_webhooks::{Deliverer, EventsConfig};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::metrics::{EventOutcome, Metrics};
use crate::store::{MailboxStore, PendingEvent};

/// Most events attempted at once (of as many mailboxes).
const BATCH: usize = 64;

/// How often the outbox is looked at when no commit says so: retries come due on their own.
const POLL: Duration = Duration::from_secs(1);

/// What the loop needs.
pub struct Outbox {
    pub store: Arc<dyn MailboxStore>,
    pub config: Arc<EventsConfig>,
    pub deliverer: Deliverer,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
}

/// Delivers events until the task is aborted.
pub async fn deliver_forever(outbox: Outbox) {
    let outbox = Arc::new(outbox);
    loop {
        let attempted = match outbox.store.due_events(outbox.clock.unix_now(), BATCH).await {
            Ok(due) => {
                let attempted = due.len();
                let mut attempts = JoinSet::new();
                for pending in due {
                    attempts.spawn(Arc::clone(&outbox).attempt(pending));
                }
                while attempts.join_next().await.is_some() {}
                attempted
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the event outbox");
                0
            }
        };
        if attempted < BATCH {
            tokio::select! {
                () = outbox.store.outbox_changed() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

impl Outbox {
    /// One attempt at one event, and what the outbox records of it.
    async fn attempt(self: Arc<Self>, pending: PendingEvent) {
        let now = self.clock.unix_now();
        let name = pending.endpoint.as_str();
        let age = u64::try_from(now.saturating_sub(pending.recorded_at)).unwrap_or(0);
        if age > self.config.give_up_after.as_secs() {
            tracing::warn!(endpoint = name, failures = pending.failures, "event abandoned");
            self.metrics.event(name, EventOutcome::Abandoned);
            self.record(self.store.event_done(pending.key).await);
            return;
        }
        let Some(endpoint) = self.config.endpoint(name) else {
            // Another relay of the store may know it (its configuration is being rolled out);
            // if none does, the event is given up after its time like any other.
            let later = now.saturating_add(secs(self.config.max_retry_interval));
            self.record(self.store.event_failed(pending.key, pending.failures, later).await);
            return;
        };
        match self.deliverer.deliver(endpoint, &pending.event, now).await {
            Ok(()) => {
                self.metrics.event(name, EventOutcome::Delivered);
                self.record(self.store.event_done(pending.key).await);
            }
            Err(e) => {
                let failures = pending.failures.saturating_add(1);
                let next = now.saturating_add(secs(self.config.retry_delay(failures)).max(1));
                tracing::info!(endpoint = name, failures, error = %e, "event delivery failed");
                self.metrics.event(name, EventOutcome::Failed);
                self.record(self.store.event_failed(pending.key, failures, next).await);
            }
        }
    }

    /// An outbox write that failed leaves the event to be sent again: at least once.
    fn record(&self, result: Result<(), crate::store::StoreError>) {
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record an event's delivery");
        }
    }
}

/// Whole seconds, saturating.
fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
