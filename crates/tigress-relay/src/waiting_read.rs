//! The waiting read (`Prefer: wait`, an extension of §6.3): read, and while the peer has written
//! nothing new, sleep until a write wakes us ([`crate::waiters`]), the wait ends or the mailbox
//! expires, then read again. Time comes from the relay's [`Clock`], so a test that moves it ends
//! a wait or reaches an expiry at once.

use std::sync::Arc;
use std::time::Duration;

use tigress_proto::MailboxId;
use tigress_proto::wire::{NotificationToken, Party};

use crate::clock::Clock;
use crate::mailbox::{self, ClaimHash};
use crate::store::{MailboxStore, ReadView, StoreError};
use crate::waiters::Waiters;

/// One waiting read of one mailbox by one caller.
pub struct WaitingRead<'a> {
    /// Where the mailbox is.
    pub store: &'a dyn MailboxStore,
    /// Who wakes the waiter.
    pub waiters: &'a Arc<Waiters>,
    /// The relay's time.
    pub clock: &'a Clock,
    /// The mailbox.
    pub id: MailboxId,
    /// The caller's claim hash.
    pub caller: ClaimHash,
    /// The caller's push token, stored by the first read only.
    pub token: Option<NotificationToken>,
    /// The caller's cursor: the last seq it has seen.
    pub after: u64,
}

impl WaitingRead<'_> {
    /// Reads until the peer has written after the cursor, `wait` has passed, or the mailbox goes
    /// away (deleted: woken at once; expired: woken at its expiry; both then fail as not found).
    /// A sender's wait also ends when a receiver binds or relinquishes. `on_read` sees each read,
    /// so that a read which bound a receiver is announced at once.
    pub async fn run(
        mut self,
        wait: Duration,
        on_read: impl Fn(&ReadView),
    ) -> Result<ReadView, StoreError> {
        let deadline = self.clock.instant() + wait;
        // Subscribe before reading, so a write between the read and the sleep still wakes us;
        // the subscription outlives the loop, so each wake costs no new subscription.
        let mut subscription = self.waiters.subscribe(self.id).await?;
        let mut bound_at_start = None;
        loop {
            let now = self.clock.unix_now();
            let view =
                self.store.read(self.id, self.caller, self.token.take(), self.after, now).await?;
            on_read(&view);
            let bound_at_start = *bound_at_start.get_or_insert(view.receiver_bound);
            let binding_changed =
                view.role == Party::Sender && view.receiver_bound != bound_at_start;
            let expiry = self.clock.instant()
                + Duration::from_secs(u64::try_from(view.expires_at - now).unwrap_or(0));
            if mailbox::has_news(&view.messages, view.role)
                || binding_changed
                || self.clock.instant() >= deadline
            {
                return Ok(view);
            }
            tokio::select! {
                () = subscription.changed() => {}
                () = self.clock.sleep_until(deadline.min(expiry)) => {}
            }
        }
    }
}
