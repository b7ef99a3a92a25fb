//! Readers waiting for a mailbox to change (`Prefer: wait`), without a thread each.
//!
//! A waiter subscribes *before* it reads the store, then sleeps until a writer calls
//! [`Waiters::wake`] after its commit. Because the subscription precedes the read, a write that
//! lands between the read and the sleep still wakes it: no wake-up is lost. One watch channel
//! serves every waiter of a mailbox, and it is dropped with its last waiter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tigress_proto::MailboxId;
use tokio::sync::watch;

/// The registry of waiting readers, by mailbox.
#[derive(Default)]
pub struct Waiters {
    channels: Mutex<HashMap<[u8; 16], watch::Sender<u64>>>,
}

impl Waiters {
    /// Registers interest in `id`; the subscription sees every wake after this call.
    pub fn subscribe(self: &Arc<Self>, id: MailboxId) -> Subscription {
        let key = *id.as_bytes();
        let mut channels = self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let receiver = channels.entry(key).or_insert_with(|| watch::channel(0).0).subscribe();
        Subscription { receiver: Some(receiver), key, waiters: Arc::clone(self) }
    }

    /// Wakes every reader waiting on `id`. Call after the change is committed.
    pub fn wake(&self, id: MailboxId) {
        let channels = self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sender) = channels.get(id.as_bytes()) {
            sender.send_modify(|version| *version = version.wrapping_add(1));
        }
    }

    /// How many mailboxes have waiting readers.
    pub fn mailboxes_waited_on(&self) -> usize {
        self.channels.lock().map_or(0, |channels| channels.len())
    }
}

/// One reader's interest in one mailbox. Dropping it removes the mailbox's channel when it was
/// the last.
pub struct Subscription {
    receiver: Option<watch::Receiver<u64>>,
    key: [u8; 16],
    waiters: Arc<Waiters>,
}

impl Subscription {
    /// Resolves at the next wake after the subscription (or the last `changed`).
    pub async fn changed(&mut self) {
        if let Some(receiver) = &mut self.receiver {
            // The sender lives in the registry at least as long as this subscription.
            let _ = receiver.changed().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        drop(self.receiver.take());
        let mut channels =
            self.waiters.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if channels.get(&self.key).is_some_and(|sender| sender.receiver_count() == 0) {
            channels.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn id() -> MailboxId {
        MailboxId::random(&mut rand::rngs::OsRng)
    }

    #[tokio::test]
    async fn a_wake_after_subscribing_is_never_lost() {
        let waiters = Arc::new(Waiters::default());
        let mailbox = id();
        let mut subscription = waiters.subscribe(mailbox);
        // The write lands before the reader starts to sleep.
        waiters.wake(mailbox);
        tokio::time::timeout(Duration::from_secs(1), subscription.changed())
            .await
            .expect("the earlier wake is seen");
    }

    #[tokio::test]
    async fn wakes_only_the_mailbox_written() {
        let waiters = Arc::new(Waiters::default());
        let (a, b) = (id(), id());
        let mut on_a = waiters.subscribe(a);
        waiters.wake(b);
        let slept = tokio::time::timeout(Duration::from_millis(50), on_a.changed()).await;
        assert!(slept.is_err(), "a wake of another mailbox woke this one");
    }

    #[test]
    fn the_last_subscription_removes_the_channel() {
        let waiters = Arc::new(Waiters::default());
        let mailbox = id();
        let first = waiters.subscribe(mailbox);
        let second = waiters.subscribe(mailbox);
        assert_eq!(waiters.mailboxes_waited_on(), 1);
        drop(first);
        assert_eq!(waiters.mailboxes_waited_on(), 1);
        drop(second);
        assert_eq!(waiters.mailboxes_waited_on(), 0);
    }
}
