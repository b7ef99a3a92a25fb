//! Both roles of the car-key share, driven over a [`Transfer`].

use std::time::Duration;

use rand::rngs::OsRng;
use tigress_client::{
    AccessRights, Client, ReceivedShare, Share, ShareOptions, Transfer, Vertical,
};

use crate::cert::{CarKeyError, FriendKey, Offer, OwnerKey, ProvisionedKey, Step};

/// Why the exchange did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The relay or the transfer failed (unreachable, gone, tampered with).
    #[error(transparent)]
    Client(#[from] tigress_client::Error),
    /// A message was not the expected car-key step, or did not verify.
    #[error(transparent)]
    CarKey(#[from] CarKeyError),
    /// The peer did not answer in time.
    #[error("the other device did not answer within {0:?}")]
    TimedOut(Duration),
    /// The share ended (the mailbox is gone) without the friend's signed "done": the key may or
    /// may not have arrived. Only the friend's confirmation says it did.
    #[error("the share ended without the friend's device confirming that it holds the key")]
    NotConfirmed,
}

/// What the owner's side is doing, for progress messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerEvent {
    /// The invitation is out; waiting for the friend's device.
    WaitingForRequest,
    /// The friend's key-creation request arrived.
    RequestReceived,
    /// The signed key is sent; waiting for the friend's device to finish.
    SignedKeySent,
    /// The friend's device confirmed, signed, that it holds the key; the share is closed.
    Finished,
}

/// What the friend's side is doing, for progress messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FriendEvent {
    /// A key pair was made and the key-creation request sent; waiting for the owner.
    RequestSent,
    /// The owner's signed key arrived and verified.
    KeyVerified,
    /// The signed confirmation is sent to the owner.
    Confirmed,
    /// The mailbox is deleted (by the owner once it read the confirmation, or by this device
    /// after waiting for it): the share is over.
    Closed,
}

/// An invitation the relay holds, waiting for the friend.
pub struct OwnerShare {
    share: Share,
    transfer: Transfer,
    offer: Offer,
    key: OwnerKey,
}

/// Creates the share: the invitation as the first message, vertical `c`, and the `RWD` rights
/// the friend needs to answer.
pub async fn offer_as_owner(
    client: &Client,
    offer: Offer,
    key: OwnerKey,
    mut options: ShareOptions,
) -> Result<OwnerShare, ExchangeError> {
    options.vertical = Some(Vertical::Car);
    options.access_rights = Some(AccessRights { read: true, write: true, delete: true });
    let invitation = key.invitation(&offer).to_info();
    let (share, transfer) = client.start_transfer(&invitation, options).await?;
    Ok(OwnerShare { share, transfer, offer, key })
}

impl OwnerShare {
    /// The share to send to the friend.
    pub fn share(&self) -> &Share {
        &self.share
    }

    /// Answers the friend's device: waits (up to `patience` for each step) for its key-creation
    /// request, signs its key, and waits until it has verified the key and closed the share.
    pub async fn complete(
        mut self,
        patience: Duration,
        mut on_event: impl FnMut(OwnerEvent),
    ) -> Result<(), ExchangeError> {
        on_event(OwnerEvent::WaitingForRequest);
        let request = next_step(&mut self.transfer, patience).await?;
        let Step::KeyCreationRequest { friend_public_key } = request else {
            return Err(unexpected("key-creation request", &request));
        };
        on_event(OwnerEvent::RequestReceived);
        let signed = self.key.sign(&self.offer, &friend_public_key)?;
        self.transfer.send(&Step::SignedKey(signed.clone()).to_info()).await?;
        on_event(OwnerEvent::SignedKeySent);
        // Only the friend's signed "done" is success: a mailbox that vanished says nothing of
        // whether the key arrived (docs/SECURITY.md).
        let done = match self.transfer.next_message(patience).await {
            Ok(Some(info)) => Step::from_info(&info)?,
            Ok(None) => return Err(ExchangeError::TimedOut(patience)),
            Err(tigress_client::Error::Gone) => return Err(ExchangeError::NotConfirmed),
            Err(e) => return Err(e.into()),
        };
        crate::cert::verify_done(&signed, &done)?;
        self.transfer.finish().await?;
        on_event(OwnerEvent::Finished);
        Ok(())
    }

    /// Withdraws the invitation: deletes the mailbox.
    pub async fn cancel(self) -> Result<(), ExchangeError> {
        Ok(self.transfer.cancel().await?)
    }
}

/// What the friend's device holds at the end.
pub struct FriendOutcome {
    /// The certificate, its signature and the owner key that signed it.
    pub provisioned: ProvisionedKey,
    /// The device's own key pair (its private half would stay in the secure element).
    pub device_key: FriendKey,
}

/// Plays the friend's device on a received car-key share: makes a key pair, sends the
/// key-creation request, verifies the owner's signed key against the invitation, and deletes
/// the mailbox.
pub async fn accept_as_friend(
    received: ReceivedShare,
    patience: Duration,
    mut on_event: impl FnMut(FriendEvent),
) -> Result<FriendOutcome, ExchangeError> {
    let invitation = Step::from_info(received.provisioning())?;
    if !matches!(invitation, Step::Invitation { .. }) {
        return Err(unexpected("invitation", &invitation));
    }
    let mut transfer = received.into_transfer()?;
    let device_key = FriendKey::generate(&mut OsRng);
    transfer.send(&device_key.request().to_info()).await?;
    on_event(FriendEvent::RequestSent);
    let answer = next_step(&mut transfer, patience).await?;
    let Step::SignedKey(signed) = answer else {
        return Err(unexpected("signed key", &answer));
    };
    let provisioned = device_key.verify(&invitation, &signed)?;
    on_event(FriendEvent::KeyVerified);
    transfer.send(&device_key.done(&signed).to_info()).await?;
    on_event(FriendEvent::Confirmed);
    // The owner deletes the mailbox once it has read the confirmation; deleting it here at once
    // could erase the confirmation before the owner reads it. An owner that does not come back
    // in time leaves it to this device.
    match transfer.next_message(patience).await {
        Err(tigress_client::Error::Gone) => {}
        Ok(None) => transfer.finish().await?,
        Ok(Some(info)) => return Err(unexpected("end of the share", &Step::from_info(&info)?)),
        Err(e) => return Err(e.into()),
    }
    on_event(FriendEvent::Closed);
    Ok(FriendOutcome { provisioned, device_key })
}

async fn next_step(transfer: &mut Transfer, patience: Duration) -> Result<Step, ExchangeError> {
    let info = transfer.next_message(patience).await?.ok_or(ExchangeError::TimedOut(patience))?;
    Ok(Step::from_info(&info)?)
}

fn unexpected(expected: &'static str, got: &Step) -> ExchangeError {
    ExchangeError::CarKey(CarKeyError::UnexpectedStep { expected, got: got.name() })
}
