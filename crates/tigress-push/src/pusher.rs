//! The front door: providers by token type, delivered in the background with bounded retries.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::config::{ConfigError, PushConfig};
use crate::{Apns, Fcm, Provider, PushError, WebPush};

/// Delivers content-free pushes through the provider of each token type.
///
/// Cheap to clone: the providers are shared.
#[derive(Clone)]
pub struct Pusher {
    providers: HashMap<&'static str, Arc<dyn Provider>>,
    retry: RetryPolicy,
    in_flight: Arc<InFlight>,
}

/// Most deliveries in flight at once, over every provider: each holds a socket, and clients
/// trigger them.
pub const MAX_IN_FLIGHT: usize = 256;
/// Most deliveries in flight to one endpoint host the token chose (Web Push): one client's
/// endpoints cannot take every slot, nor make the relay flood a host of its choosing.
pub const MAX_PER_HOST: usize = 8;

/// The deliveries in flight, bounded over all and per chosen host. A delivery past either bound
/// is shed at once ([`Delivery::Shed`]) rather than queued, so a flood costs no memory.
struct InFlight {
    all: Arc<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, usize>>,
}

impl InFlight {
    fn new(all: usize, per_host: usize) -> Arc<Self> {
        Arc::new(Self { all: Arc::new(Semaphore::new(all)), per_host, hosts: Mutex::default() })
    }

    /// A slot for one delivery (to `host`, when the token chose it), or `None` when full.
    fn take(self: &Arc<Self>, host: Option<String>) -> Option<Slot> {
        let permit = Arc::clone(&self.all).try_acquire_owned().ok()?;
        if let Some(host) = &host {
            let mut hosts = self.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = hosts.entry(host.clone()).or_insert(0);
            if *count >= self.per_host {
                return None;
            }
            *count += 1;
        }
        Some(Slot { _permit: permit, host, in_flight: Arc::clone(self) })
    }
}

/// One delivery's place in [`InFlight`], given back on drop. The host table holds only hosts
/// with deliveries in flight, so it never exceeds [`MAX_IN_FLIGHT`] entries.
struct Slot {
    _permit: OwnedSemaphorePermit,
    host: Option<String>,
    in_flight: Arc<InFlight>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(host) = self.host.take() else {
            return;
        };
        let mut hosts =
            self.in_flight.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = hosts.get_mut(&host) {
            *count -= 1;
            if *count == 0 {
                hosts.remove(&host);
            }
        }
    }
}

impl Pusher {
    /// A pusher over `providers`, keyed by [`Provider::token_type`].
    ///
    /// A later provider replaces an earlier one with the same token type.
    pub fn new(providers: Vec<Arc<dyn Provider>>, retry: RetryPolicy) -> Self {
        Self::with_bounds(providers, retry, MAX_IN_FLIGHT, MAX_PER_HOST)
    }

    /// Like [`Pusher::new`], with other bounds on the deliveries in flight (over all, and per
    /// host a token chose).
    pub fn with_bounds(
        providers: Vec<Arc<dyn Provider>>,
        retry: RetryPolicy,
        max_in_flight: usize,
        max_per_host: usize,
    ) -> Self {
        let providers = providers.into_iter().map(|p| (p.token_type(), p)).collect();
        Self { providers, retry, in_flight: InFlight::new(max_in_flight, max_per_host) }
    }

    /// Builds the providers `config` names, with the default [`RetryPolicy`].
    ///
    /// An empty configuration gives a pusher that supports no token type.
    pub fn from_config(config: &PushConfig) -> Result<Self, ConfigError> {
        let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
        if let Some(apns) = &config.apns {
            providers.push(Arc::new(Apns::new(apns)?));
        }
        if let Some(fcm) = &config.fcm {
            providers.push(Arc::new(Fcm::new(fcm)?));
        }
        if let Some(web_push) = &config.web_push {
            providers.push(Arc::new(WebPush::new(web_push)?));
        }
        Ok(Self::new(providers, RetryPolicy::default()))
    }

    /// Whether a provider for `token_type` is configured: the relay's
    /// `isPushNotificationSupported` for a token of this type.
    pub fn supports(&self, token_type: &str) -> bool {
        self.providers.contains_key(token_type)
    }

    /// The token types a provider is configured for, sorted.
    pub fn token_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self.providers.keys().map(|kind| kind.to_string()).collect();
        types.sort();
        types
    }

    /// Wakes the device behind `token_data`, in the background.
    ///
    /// Returns at once; the handle resolves to the outcome, which the caller may ignore or await
    /// (to drop a token on [`Delivery::Gone`]). A [`PushError::Transient`] failure is retried with
    /// exponential back-off as the [`RetryPolicy`] says; anything else ends the delivery.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, like [`tokio::spawn`].
    pub fn notify(&self, token_type: &str, token_data: &str) -> JoinHandle<Delivery> {
        self.notify_with_topic(token_type, token_data, None)
    }

    /// [`Pusher::notify`] for a token that named its own APNs topic (`tokenTopic`): APNs pushes
    /// with it when the operator allowed it ([`crate::ApnsConfig::topics`]), and with the
    /// configured topic otherwise.
    pub fn notify_with_topic(
        &self,
        token_type: &str,
        token_data: &str,
        topic: Option<&str>,
    ) -> JoinHandle<Delivery> {
        let Some(provider) = self.providers.get(token_type).cloned() else {
            // The type is the client's input: it is not logged.
            tracing::debug!("push skipped: no provider for the token type");
            return tokio::spawn(async { Delivery::Unsupported });
        };
        let Some(slot) = self.in_flight.take(provider.destination(token_data)) else {
            tracing::debug!("push shed: too many deliveries in flight");
            return tokio::spawn(async { Delivery::Shed });
        };
        let token_data = token_data.to_owned();
        let topic = topic.map(str::to_owned);
        let retry = self.retry;
        tokio::spawn(async move {
            let delivery = deliver(provider.as_ref(), &token_data, topic.as_deref(), retry).await;
            drop(slot);
            delivery
        })
    }
}

impl fmt::Debug for Pusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut token_types: Vec<_> = self.providers.keys().collect();
        token_types.sort();
        f.debug_struct("Pusher")
            .field("token_types", &token_types)
            .field("retry", &self.retry)
            .finish()
    }
}

/// The outcome of [`Pusher::notify`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// The provider accepted the push.
    Delivered,
    /// The push was not delivered: a permanent [`PushError::Rejected`], or the last
    /// [`PushError::Transient`] once the attempts ran out. Keep the token.
    Failed(PushError),
    /// The provider says the token is invalid or unregistered: drop it.
    Gone,
    /// No provider is configured for the token type: nothing was sent.
    Unsupported,
    /// Too many deliveries were in flight, over all or to the token's host: nothing was sent.
    Shed,
}

/// How often, and how patiently, a transiently failing push is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. `0` is taken as `1`.
    pub attempts: u32,
    /// Pause after the first failed attempt; it doubles after each further one.
    pub first_delay: Duration,
    /// Longest pause between two attempts.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The pause after failed attempt number `attempt` (counted from 1).
    fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1_u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

impl Default for RetryPolicy {
    /// Four attempts, pausing 200 ms, 400 ms and 800 ms (doubling, capped at 5 s).
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Runs the attempts of one delivery. Logs the provider name and the outcome, nothing else.
async fn deliver(
    provider: &dyn Provider,
    token_data: &str,
    topic: Option<&str>,
    retry: RetryPolicy,
) -> Delivery {
    let name = provider.token_type();
    let attempts = retry.attempts.max(1);
    let mut attempt = 1;
    loop {
        match provider.send(token_data, topic).await {
            Ok(()) => {
                tracing::debug!(provider = name, attempt, "push delivered");
                return Delivery::Delivered;
            }
            Err(PushError::Gone) => {
                tracing::info!(provider = name, attempt, "push token is gone");
                return Delivery::Gone;
            }
            Err(PushError::Transient(reason)) if attempt < attempts => {
                let delay = retry.delay_after(attempt);
                tracing::debug!(provider = name, attempt, %reason, ?delay, "push failed; retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(error) => {
                tracing::warn!(provider = name, attempt, %error, "push not delivered");
                return Delivery::Failed(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider whose every delivery waits until the test lets it go.
    struct Stalled(Arc<tokio::sync::Notify>);

    #[async_trait::async_trait]
    impl Provider for Stalled {
        fn token_type(&self) -> &'static str {
            "test.stalled"
        }

        fn destination(&self, token_data: &str) -> Option<String> {
            token_data.split_once('/').map(|(host, _)| host.to_owned())
        }

        async fn send(&self, _token_data: &str, _topic: Option<&str>) -> Result<(), PushError> {
            self.0.notified().await;
            Ok(())
        }
    }

    /// Review finding 3: deliveries had no bound, so a few mailboxes could open hundreds of
    /// sockets to endpoints their clients chose.
    #[tokio::test]
    async fn deliveries_in_flight_are_bounded_over_all_and_per_chosen_host() {
        let release = Arc::new(tokio::sync::Notify::new());
        let provider: Arc<dyn Provider> = Arc::new(Stalled(Arc::clone(&release)));
        let pusher = Pusher::with_bounds(vec![provider], RetryPolicy::default(), 5, 2);
        let mut held = Vec::new();
        for token in ["a.example/1", "a.example/2", "b.example/1", "b.example/2", "c.example/1"] {
            held.push(pusher.notify("test.stalled", token));
        }
        // A third to one host, and a sixth over all, are shed at once.
        let shed = pusher.notify("test.stalled", "c.example/2");
        assert_eq!(shed.await.unwrap(), Delivery::Shed, "over the total");
        // Notify only wakes waiters already registered: keep waking until all are through.
        while !held.iter().all(JoinHandle::is_finished) {
            release.notify_waiters();
            tokio::task::yield_now().await;
        }
        for handle in held {
            assert_eq!(handle.await.unwrap(), Delivery::Delivered);
        }
        // Slots come back with the deliveries; the per-host bound holds on its own.
        let first = pusher.notify("test.stalled", "a.example/3");
        let second = pusher.notify("test.stalled", "a.example/4");
        let third = pusher.notify("test.stalled", "a.example/5");
        assert_eq!(third.await.unwrap(), Delivery::Shed, "over the host's bound");
        assert_eq!(pusher.in_flight.hosts.lock().unwrap().len(), 1);
        while !(first.is_finished() && second.is_finished()) {
            release.notify_waiters();
            tokio::task::yield_now().await;
        }
        assert_eq!(first.await.unwrap(), Delivery::Delivered);
        assert_eq!(second.await.unwrap(), Delivery::Delivered);
        assert!(pusher.in_flight.hosts.lock().unwrap().is_empty(), "the host table drained");
    }

    #[test]
    fn delays_double_from_the_first_and_stop_at_the_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
        };
        let delays: Vec<_> = (1..=5).map(|n| policy.delay_after(n).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn delays_do_not_overflow_after_many_attempts() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_after(u32::MAX), policy.max_delay);
        assert_eq!(policy.delay_after(40), policy.max_delay);
    }

    #[test]
    fn default_policy_is_four_attempts_from_200_ms_capped_at_5_s() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.attempts, 4);
        assert_eq!(policy.delay_after(1), Duration::from_millis(200));
        assert_eq!(policy.delay_after(3), Duration::from_millis(800));
        assert_eq!(policy.max_delay, Duration::from_secs(5));
    }
}
