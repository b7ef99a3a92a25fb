//! Readers waiting for a mailbox to change (`Prefer: wait`), without a thread each.
//!
//! A waiter subscribes *before* it reads the store, then sleeps until a writer calls
//! [`Waiters::wake`] after its commit. Because the subscription precedes the read, a write that
//! lands between the read and the sleep still wakes it: no wake-up is lost. One watch channel
//! serves every waiter of a mailbox, and it is dropped with its last waiter.
//!
//! When several relays share a store, writes through another relay arrive through a
//! [`WakeFeed`]: a subscription is complete only once the feed confirms that it will hear of
//! every later write, so the same ordering argument holds across processes.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use tigress_proto::MailboxId;
use tokio::sync::watch;

use crate::store::StoreError;

/// The confirmation of a [`WakeFeed::listen`].
pub type Listening = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;

/// Tells this relay of writes made through other relays that share its store.
pub trait WakeFeed: Send + Sync + 'static {
    /// Starts listening for writes to `id`, for one more waiter. The request is registered
    /// before this returns; the future resolves once every later write will be heard of. Each
    /// call is paired with one [`WakeFeed::unlisten`], whether or not the future succeeded or
    /// was awaited at all.
    fn listen(&self, id: MailboxId) -> Listening;

    /// One waiter of `id` has gone.
    fn unlisten(&self, id: MailboxId);
}

/// The registry of waiting readers, by mailbox.
#[derive(Default)]
pub struct Waiters {
    channels: Mutex<HashMap<[u8; 16], watch::Sender<u64>>>,
    feed: OnceLock<Arc<dyn WakeFeed>>,
}

impl Waiters {
    /// Adds the feed of writes through other relays; a second feed is refused.
    pub fn attach_feed(&self, feed: Arc<dyn WakeFeed>) -> Result<(), Arc<dyn WakeFeed>> {
        self.feed.set(feed)
    }

    /// Registers interest in `id`; the subscription sees every wake after this call returns.
    /// Fails only when the wake feed cannot listen (its store is unavailable).
    pub async fn subscribe(self: &Arc<Self>, id: MailboxId) -> Result<Subscription, StoreError> {
        let key = *id.as_bytes();
        let receiver = {
            let mut channels =
                self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            channels.entry(key).or_insert_with(|| watch::channel(0).0).subscribe()
        };
        let feed = self.feed.get().map(|feed| (Arc::clone(feed), id));
        // Built before the feed is asked, so that dropping it (an error, or the request
        // going away mid-await) always pairs the listen with its unlisten.
        let subscription =
            Subscription { receiver: Some(receiver), key, waiters: Arc::clone(self), feed };
        if let Some((feed, id)) = &subscription.feed {
            feed.listen(*id).await?;
        }
        Ok(subscription)
    }

    /// Wakes every reader of this relay waiting on `id`. Call after the change is committed.
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
    feed: Option<(Arc<dyn WakeFeed>, MailboxId)>,
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
        drop(channels);
        if let Some((feed, id)) = self.feed.take() {
            feed.unlisten(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn id() -> MailboxId {
        MailboxId::random(&mut rand::rngs::OsRng)
    }

    #[tokio::test]
    async fn a_wake_after_subscribing_is_never_lost() {
        let waiters = Arc::new(Waiters::default());
        let mailbox = id();
        let mut subscription = waiters.subscribe(mailbox).await.unwrap();
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
        let mut on_a = waiters.subscribe(a).await.unwrap();
        waiters.wake(b);
        let slept = tokio::time::timeout(Duration::from_millis(50), on_a.changed()).await;
        assert!(slept.is_err(), "a wake of another mailbox woke this one");
    }

    /// A feed that counts, and confirms when told to.
    #[derive(Default)]
    struct CountingFeed {
        listens: AtomicUsize,
        unlistens: AtomicUsize,
        fail: bool,
        confirm: tokio::sync::Notify,
    }

    impl WakeFeed for Arc<CountingFeed> {
        fn listen(&self, _id: MailboxId) -> Listening {
            self.listens.fetch_add(1, Ordering::SeqCst);
            let feed = Arc::clone(self);
            Box::pin(async move {
                if feed.fail {
                    return Err(StoreError::Unavailable);
                }
                feed.confirm.notified().await;
                Ok(())
            })
        }

        fn unlisten(&self, _id: MailboxId) {
            self.unlistens.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_subscription_waits_for_the_feed_and_pairs_every_listen_with_an_unlisten() {
        let feed = Arc::new(CountingFeed::default());
        let waiters = Arc::new(Waiters::default());
        assert!(waiters.attach_feed(Arc::new(Arc::clone(&feed))).is_ok());
        let mailbox = id();

        // Not complete until the feed confirms.
        let pending = tokio::time::timeout(Duration::from_millis(50), waiters.subscribe(mailbox));
        assert!(pending.await.is_err(), "subscribed before the feed confirmed");
        // That abandoned subscription was unlistened when its future was dropped.
        assert_eq!(feed.listens.load(Ordering::SeqCst), 1);
        assert_eq!(feed.unlistens.load(Ordering::SeqCst), 1);

        let subscribing = tokio::spawn({
            let waiters = Arc::clone(&waiters);
            async move { waiters.subscribe(mailbox).await.map(drop) }
        });
        while feed.listens.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        feed.confirm.notify_one();
        subscribing.await.unwrap().expect("confirmed");
        assert_eq!(feed.unlistens.load(Ordering::SeqCst), 2);
        assert_eq!(waiters.mailboxes_waited_on(), 0);
    }

    #[tokio::test]
    async fn a_feed_that_cannot_listen_fails_the_subscription() {
        let feed = Arc::new(CountingFeed { fail: true, ..CountingFeed::default() });
        let waiters = Arc::new(Waiters::default());
        assert!(waiters.attach_feed(Arc::new(Arc::clone(&feed))).is_ok());
        let result = waiters.subscribe(id()).await;
        assert!(matches!(result, Err(StoreError::Unavailable)));
        assert_eq!(feed.unlistens.load(Ordering::SeqCst), 1);
        assert_eq!(waiters.mailboxes_waited_on(), 0);
    }

    #[tokio::test]
    async fn the_last_subscription_removes_the_channel() {
        let waiters = Arc::new(Waiters::default());
        let mailbox = id();
        let first = waiters.subscribe(mailbox).await.unwrap();
        let second = waiters.subscribe(mailbox).await.unwrap();
        assert_eq!(waiters.mailboxes_waited_on(), 1);
        drop(first);
        assert_eq!(waiters.mailboxes_waited_on(), 1);
        drop(second);
        assert_eq!(waiters.mailboxes_waited_on(), 0);
    }
}
