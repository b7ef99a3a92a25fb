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
        // A parked reader holds only what it needs to wake: each read is boxed, so its state
        // (and the view it returns) is not part of the parked future, and every view is gone
        // before the reader parks. Each parked reader's memory counts (docs/PERFORMANCE.md).
        //
        // A first read checks the mailbox and the caller before anything is subscribed: a wait on
        // a mailbox that does not exist, or is not the caller's, costs one read and holds nothing.
        let bound_at_start = {
            let first = Box::pin(read(token)).await?;
            if mailbox::has_news(&first.messages, first.role) {
                return Ok(first);
            }
            first.receiver_bound
        };
        // Subscribe, then read again, so a write between any read and the sleep still wakes us;
        // the subscription outlives the loop, so each wake costs no new subscription.
        let mut subscription = self.waiters.subscribe(self.id).await?;
        loop {
            let now = self.clock.unix_now();
            let wake_by = match Box::pin(read(None)).await {
                Ok(view) => {
                    let binding_changed =
                        view.role == Party::Sender && view.receiver_bound != bound_at_start;
                    if mailbox::has_news(&view.messages, view.role)
                        || binding_changed
                        || self.clock.instant() >= deadline
                    {
                        return Ok(view);
                    }
                    let left = u64::try_from(view.expires_at - now).unwrap_or(0);
                    deadline.min(self.clock.instant() + Duration::from_secs(left))
                }
                // The store cannot serve this mailbox for now (its Redis node is failing over,
                // say): keep waiting, and read again when woken (a re-subscription wakes every
                // reader of the mailbox) or after a pause. At the deadline, the error is the
                // answer.
                Err(StoreError::Unavailable) if self.clock.instant() < deadline => {
                    deadline.min(self.clock.instant() + UNAVAILABLE_PAUSE)
                }
                Err(e) => return Err(e),
            };
            tokio::select! {
                () = subscription.changed() => {}
                () = self.clock.sleep_until(wake_by) => {}
            }
        }
    }
}
