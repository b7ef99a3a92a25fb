//! The waiting read (`Prefer: wait`, an extension of §6.3): read, and while the peer has written
//! nothing new, sleep until a write wakes us ([`crate::waiters`]), the wait ends or the mailbox
//! expires, then read again. Time comes from the relay's [`Clock`], so a test that moves it ends
//! a wait or reaches an expiry at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tigress_proto::MailboxId;
use tigress_proto::wire::{NotificationToken, Party};

use crate::clock::Clock;
use crate::mailbox;
use crate::store::{ReadView, StoreError};
use crate::waiters::Waiters;

/// How long a waiting read whose store is unavailable waits before it reads again, when nothing
/// wakes it sooner.
const UNAVAILABLE_PAUSE: Duration = Duration::from_millis(500);

/// One waiting read of one mailbox.
pub struct WaitingRead<'a> {
    /// Who wakes the waiter.
    pub waiters: &'a Arc<Waiters>,
    /// The relay's time.
    pub clock: &'a Clock,
    /// The mailbox.
    pub id: MailboxId,
}

impl WaitingRead<'_> {
    /// Reads (with `read`, given the caller's push token the first time only) until the peer has
    /// written after the cursor, `wait` has passed, or the mailbox goes away (deleted: woken at
    /// once; expired: woken at its expiry; both then fail as not found). A sender's wait also
    /// ends when a receiver binds or relinquishes.
    pub async fn run<Read, Reading>(
        self,
        wait: Duration,
        token: Option<NotificationToken>,
        read: Read,
    ) -> Result<ReadView, StoreError>
    where
        Read: Fn(Option<NotificationToken>) -> Reading,
        Reading: Future<Output = Result<ReadView, StoreError>>,
    {
        let deadline = self.clock.instant() + wait;
        // A first read checks the mailbox and the caller before anything is subscribed: a wait on
        // a mailbox that does not exist, or is not the caller's, costs one read and holds nothing.
        let first = read(token).await?;
        let bound_at_start = first.receiver_bound;
        if mailbox::has_news(&first.messages, first.role) {
            return Ok(first);
        }
        // Subscribe, then read again, so a write between any read and the sleep still wakes us;
        // the subscription outlives the loop, so each wake costs no new subscription.
        let mut subscription = self.waiters.subscribe(self.id).await?;
        loop {
            let now = self.clock.unix_now();
            let view = match read(None).await {
                Ok(view) => view,
                // The store cannot serve this mailbox for now (its Redis node is failing over,
                // say): keep waiting, and read again when woken (a re-subscription wakes every
                // reader of the mailbox) or after a pause. At the deadline, the error is the
                // answer.
                Err(StoreError::Unavailable) if self.clock.instant() < deadline => {
                    let retry = self.clock.instant() + UNAVAILABLE_PAUSE;
                    tokio::select! {
                        () = subscription.changed() => {}
                        () = self.clock.sleep_until(deadline.min(retry)) => {}
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
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
