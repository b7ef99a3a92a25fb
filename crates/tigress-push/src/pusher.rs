//! The front door: providers by token type, delivered in the background with bounded retries.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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
}

impl Pusher {
    /// A pusher over `providers`, keyed by [`Provider::token_type`].
    ///
    /// A later provider replaces an earlier one with the same token type.
    pub fn new(providers: Vec<Arc<dyn Provider>>, retry: RetryPolicy) -> Self {
        let providers = providers.into_iter().map(|p| (p.token_type(), p)).collect();
        Self { providers, retry }
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
        let Some(provider) = self.providers.get(token_type).cloned() else {
            // The type is the client's input: it is not logged.
            tracing::debug!("push skipped: no provider for the token type");
            return tokio::spawn(async { Delivery::Unsupported });
        };
        let token_data = token_data.to_owned();
        let retry = self.retry;
        tokio::spawn(async move { deliver(provider.as_ref(), &token_data, retry).await })
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
async fn deliver(provider: &dyn Provider, token_data: &str, retry: RetryPolicy) -> Delivery {
    let name = provider.token_type();
    let attempts = retry.attempts.max(1);
    let mut attempt = 1;
    loop {
        match provider.send(token_data).await {
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
