//! Shares protected by a PIN (`tigress_proto::pin`): the credential stays on the sender's device
//! until the receiver proves a PIN that the sender told it over another channel. Both sides run
//! the exchange over a [`Transfer`], so each message is also bound to the conversation.

use std::fmt;
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use tigress_proto::flow::ShareOptions;
use tigress_proto::pin::{self, Pin, PinReceiver, PinSender, ReceiverEvent, SenderStatus};
use tigress_proto::{AccessRights, ProvisioningInformation};

use crate::{Client, Error, ReceivedShare, Share, Transfer};

/// What happened on the sender's side of a PIN share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinEvent {
    /// A receiver's attempt failed; `attempts_left` more may come.
    WrongPin {
        /// Attempts the receiver may still make.
        attempts_left: u32,
    },
}

/// How a PIN share ended on the sender's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinOutcome {
    /// The receiver proved the PIN and the credential was sent to it.
    Delivered,
    /// Too many wrong PINs: the share was ended and its mailbox deleted.
    Ended,
    /// No receiver finished within the patience given: the share was ended and deleted.
    TimedOut,
}

/// The sender's side of a PIN share: created, waiting for a receiver to prove the PIN.
pub struct PinShare {
    share: Share,
    transfer: Transfer,
    sender: PinSender,
}

impl Client {
    /// Creates a share whose credential `info` is sent only to a receiver that proves `pin`. The
    /// mailbox holds an invitation, not the credential; give the receiver [`PinShare::share`]'s
    /// URL and tell it the PIN over another channel, then call [`PinShare::deliver`], which
    /// waits for the receiver. The receiver gets the `RWD` rights whatever `options` say: it
    /// writes its attempts and deletes the mailbox once done.
    pub async fn share_with_pin(
        &self,
        info: &ProvisioningInformation,
        mut options: ShareOptions,
        pin: &Pin,
    ) -> Result<PinShare, Error> {
        options.access_rights = Some(AccessRights { read: true, write: true, delete: true });
        let (share, transfer) = self.start_transfer(&pin::invitation(), options).await?;
        let mut sender = PinSender::new(share.secret(), pin, info.clone());
        sender.set_mailbox(share.url().mailbox());
        Ok(PinShare { share, transfer, sender })
    }
}

impl PinShare {
    /// The share: its URL for the receiver, and the sender's claim.
    pub fn share(&self) -> &Share {
        &self.share
    }

    /// Answers the receiver's messages until it has proven the PIN and received the credential,
    /// or until it has used up its attempts or `patience` runs out; in those two cases the share
    /// is deleted. `on_event` hears of each failed attempt.
    pub async fn deliver(
        mut self,
        patience: Duration,
        mut on_event: impl FnMut(PinEvent),
    ) -> Result<PinOutcome, Error> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(message) = self.transfer.next_message(left).await? else {
                self.transfer.cancel().await?;
                return Ok(PinOutcome::TimedOut);
            };
            let step = match self.sender.handle(&message, &mut OsRng) {
                Ok(step) => step,
                Err(e) => {
                    // Only the holder of the secret can write a message the conversation
                    // accepts; one that breaks the exchange ends it.
                    self.transfer.cancel().await?;
                    return Err(Error::Protocol(format!("the PIN exchange broke: {e}")));
                }
            };
            self.transfer.send(&step.reply).await?;
            match step.status {
                SenderStatus::Delivered => return Ok(PinOutcome::Delivered),
                SenderStatus::Ended => {
                    self.transfer.cancel().await?;
                    return Ok(PinOutcome::Ended);
                }
                SenderStatus::Waiting { attempts_left } => {
                    if message.format == pin::FORMAT_MISMATCH {
                        on_event(PinEvent::WrongPin { attempts_left });
                    }
                }
            }
        }
    }
}

impl fmt::Debug for PinShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinShare(..)")
    }
}

/// The result of one PIN attempt on the receiver's side.
#[derive(Debug)]
pub enum PinAttempt {
    /// The PIN was right: the credential. Call [`PinExchange::finish`] to delete the mailbox.
    Delivered(ProvisioningInformation),
    /// The PIN was wrong; another may be tried while `attempts_left` is above zero.
    WrongPin {
        /// Attempts left, by the sender's count.
        attempts_left: u32,
    },
    /// The sender ended the share after too many wrong PINs.
    Ended,
}

/// The receiver's side of a PIN share, once the invitation is read.
pub struct PinExchange {
    transfer: Transfer,
    receiver: PinReceiver,
}

impl ReceivedShare {
    /// Whether this share holds a PIN invitation instead of the credential: then continue with
    /// [`ReceivedShare::into_pin_exchange`].
    pub fn needs_pin(&self) -> bool {
        PinReceiver::is_invitation(self.provisioning())
    }

    /// Continues a share that [`needs a PIN`](ReceivedShare::needs_pin).
    pub fn into_pin_exchange(self) -> Result<PinExchange, Error> {
        let mut receiver = PinReceiver::new(self.secret(), self.share_url().mailbox());
        receiver.handle(self.provisioning()).map_err(pin_error)?;
        Ok(PinExchange { transfer: self.into_transfer()?, receiver })
    }
}

impl PinExchange {
    /// Whether another attempt may be made.
    pub fn can_attempt(&self) -> bool {
        self.receiver.can_attempt()
    }

    /// Proves `pin` to the sender, waiting up to `patience` for each of its answers (the
    /// sender's device must be online).
    pub async fn attempt(&mut self, pin: &Pin, patience: Duration) -> Result<PinAttempt, Error> {
        let message = self.receiver.attempt(pin, &mut OsRng).map_err(pin_error)?;
        self.transfer.send(&message).await?;
        loop {
            let Some(answer) = self.transfer.next_message(patience).await? else {
                return Err(Error::Protocol("the sender did not answer in time".into()));
            };
            match self.receiver.handle(&answer).map_err(pin_error)? {
                ReceiverEvent::Confirmed { proof } => self.transfer.send(&proof).await?,
                ReceiverEvent::WrongPin { notice, .. } => self.transfer.send(&notice).await?,
                ReceiverEvent::MayRetry { attempts_left } => {
                    return Ok(PinAttempt::WrongPin { attempts_left });
                }
                ReceiverEvent::Ended => return Ok(PinAttempt::Ended),
                ReceiverEvent::Delivered(info) => return Ok(PinAttempt::Delivered(info)),
                ReceiverEvent::PinRequired { .. } => {
                    return Err(Error::Protocol("a second PIN invitation".into()));
                }
            }
        }
    }

    /// Ends the exchange: deletes the mailbox, erasing every message.
    pub async fn finish(self) -> Result<(), Error> {
        self.transfer.finish().await
    }
}

impl fmt::Debug for PinExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinExchange(..)")
    }
}

fn pin_error(e: pin::PinError) -> Error {
    Error::Protocol(format!("the PIN exchange broke: {e}"))
}
