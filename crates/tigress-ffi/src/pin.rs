//! PIN shares (docs/PROTOCOL.md, PIN shares): the sender's handle, which shows the PIN and
//! delivers the credential to a receiver that proves it, and the receiver's exchange, which
//! tries PINs.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rand::rngs::OsRng;
use tigress_client::{Client, Pin, PinAttempt, PinOutcome, Share};

use crate::runtime::{Runtime, Slot};
use crate::{ProvisioningInfo, TigressError};

/// How a PIN share ended on the sender's side (`PinOutcome` in the bindings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinDeliveryOutcome {
    /// The receiver proved the PIN and has the credential.
    Delivered,
    /// The receiver used up its attempts; the share was deleted.
    Ended,
    /// No receiver finished in time; the share was deleted.
    TimedOut,
}

/// What [`PinShareHandle::deliver`] saw (`PinDelivery` in the bindings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinDelivery {
    /// How it ended.
    pub outcome: PinDeliveryOutcome,
    /// Wrong PINs the receiver tried on the way.
    pub wrong_attempts: u32,
}

/// The sender's side of a PIN share (`PinShareHandle` in the bindings).
///
/// `Debug` is redacted: it holds the PIN, the URL and the sender's claim.
pub struct PinShareHandle {
    share: Share,
    pin: Pin,
    delivery: Slot<tigress_client::PinShare>,
    client: Client,
    runtime: Runtime,
}

impl PinShareHandle {
    pub(crate) fn create(
        client: &Client,
        runtime: &Runtime,
        credential: Arc<ProvisioningInfo>,
        settings: crate::ShareSettings,
        pin: Option<String>,
    ) -> Result<Self, TigressError> {
        let options = settings.to_sdk()?;
        let pin = match pin {
            Some(digits) => Pin::new(&digits).map_err(|e| TigressError::invalid("pin", e))?,
            None => Pin::generate(&mut OsRng),
        };
        let delivery = runtime.block_on(client.share_with_pin(credential.sdk(), options, &pin))?;
        Ok(Self {
            share: delivery.share().clone(),
            pin,
            delivery: Slot::new("PIN share", delivery),
            client: client.clone(),
            runtime: runtime.clone(),
        })
    }

    /// The URL for the receiver, secret included.
    pub fn url(&self) -> String {
        self.share.url().to_string()
    }

    /// The PIN to show the sender, who tells it to the receiver over another channel.
    pub fn pin(&self) -> String {
        self.pin.reveal().to_owned()
    }

    /// Waits up to `timeout_ms` for the receiver, answering its attempts, until it has the
    /// credential, has used up its attempts, or the time runs out. Uses the handle up.
    pub fn deliver(&self, timeout_ms: u32) -> Result<PinDelivery, TigressError> {
        let delivery = self.delivery.take()?;
        let patience = Duration::from_millis(timeout_ms.into());
        let mut wrong_attempts = 0;
        let outcome = self.runtime.block_on(delivery.deliver(patience, |_| wrong_attempts += 1))?;
        let outcome = match outcome {
            PinOutcome::Delivered => PinDeliveryOutcome::Delivered,
            PinOutcome::Ended => PinDeliveryOutcome::Ended,
            PinOutcome::TimedOut => PinDeliveryOutcome::TimedOut,
        };
        Ok(PinDelivery { outcome, wrong_attempts })
    }

    /// Deletes the share on the relay.
    pub fn cancel(&self) -> Result<(), TigressError> {
        let (url, claim) = (self.share.url(), self.share.claim());
        self.runtime.block_on(self.client.delete(url, claim))
    }
}

impl fmt::Debug for PinShareHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinShareHandle(..)")
    }
}

/// The receiver's side of a PIN share (`PinExchange` in the bindings).
///
/// `Debug` is redacted.
pub struct PinExchange {
    exchange: Slot<tigress_client::PinExchange>,
    attempts_left: AtomicU32,
    runtime: Runtime,
}

impl PinExchange {
    pub(crate) fn new(exchange: tigress_client::PinExchange, runtime: Runtime) -> Arc<Self> {
        let attempts_left = AtomicU32::new(tigress_client::PIN_MAX_ATTEMPTS);
        Arc::new(Self { exchange: Slot::new("PIN exchange", exchange), attempts_left, runtime })
    }

    /// Attempts the sender still allows, by its count after the last wrong PIN.
    pub fn attempts_left(&self) -> u32 {
        self.attempts_left.load(Ordering::Relaxed)
    }

    /// Proves `pin` to the sender, waiting up to `timeout_ms` for each of its answers (the
    /// sender's device must be online): the credential when the PIN is right;
    /// [`TigressError::WrongPin`] when it is not and another may be tried
    /// ([`PinExchange::attempts_left`]); [`TigressError::TooManyAttempts`] once the sender ended
    /// the share.
    pub fn attempt(
        &self,
        pin: String,
        timeout_ms: u32,
    ) -> Result<Arc<ProvisioningInfo>, TigressError> {
        let pin = Pin::new(&pin).map_err(|e| TigressError::invalid("pin", e))?;
        let patience = Duration::from_millis(timeout_ms.into());
        let attempt = self
            .exchange
            .with(|exchange| self.runtime.block_on(exchange.attempt(&pin, patience)))?;
        match attempt {
            PinAttempt::Delivered(info) => Ok(ProvisioningInfo::from_sdk(info)),
            PinAttempt::WrongPin { attempts_left } => {
                self.attempts_left.store(attempts_left, Ordering::Relaxed);
                Err(TigressError::WrongPin {
                    reason: format!("the PIN is not the sender's; {attempts_left} attempts left"),
                    attempts_left,
                })
            }
            PinAttempt::Ended => {
                self.attempts_left.store(0, Ordering::Relaxed);
                Err(TigressError::TooManyAttempts {
                    reason: "the sender ended the share after too many wrong PINs".into(),
                })
            }
        }
    }

    /// Ends the exchange: deletes the share on the relay, erasing every message.
    pub fn finish(&self) -> Result<(), TigressError> {
        let exchange = self.exchange.take()?;
        self.runtime.block_on(exchange.finish())
    }
}

impl fmt::Debug for PinExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinExchange(..)")
    }
}
