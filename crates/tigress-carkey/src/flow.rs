//! Both roles of the car-key share and of its termination, driven over a [`Transfer`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::OsRng;
use tigress_client::{
    AccessRights, Client, ReceivedShare, Share, ShareOptions, Transfer, Vertical,
};
use tigress_lifecycle::{DeviceKey, Grant, Profile, Signed, Termination};

use crate::steps::{self, CarKeyError, HeldKey, Sharer, Step, unexpected};

/// Why an exchange did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The relay or the transfer failed (unreachable, gone, tampered with).
    #[error(transparent)]
    Client(#[from] tigress_client::Error),
    /// A message was not the expected car-key step, or did not pass its checks.
    #[error(transparent)]
    CarKey(#[from] CarKeyError),
    /// The other device did not answer in time: the share timed out.
    #[error("the share timed out: the other device did not answer within {0:?}")]
    TimedOut(Duration),
    /// The share ended (the mailbox is gone) without the signed confirmation: the key may or
    /// may not have arrived. Only the confirmation says it did.
    #[error("the share ended without the other device's signed confirmation")]
    NotConfirmed,
}

/// What the sharing side is doing, for progress messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharerEvent {
    /// The invitation is out; waiting for the friend's device.
    WaitingForRequest,
    /// The friend's key-creation request arrived.
    RequestReceived,
    /// The grant is sent; waiting for the friend's confirmation.
    GrantSent,
    /// The friend's device confirmed, signed, that it holds the key; the share is closed.
    Confirmed,
}

/// What the receiving side is doing, for progress messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FriendEvent {
    /// A key pair was made and the key-creation request sent; waiting for the sharer.
    RequestSent,
    /// The grant arrived and passed every check.
    KeyVerified,
    /// The signed confirmation is sent.
    Confirmed,
    /// The mailbox is deleted: the share is over.
    Closed,
}

/// An invitation the relay holds, waiting for the friend.
pub struct Offering {
    share: Share,
    transfer: Transfer,
    sharer: Sharer,
    offered: Profile,
    /// What to seal for the vehicle in the grant, and its key.
    vehicle: Option<(tigress_jwe::PublicJwk, serde_json::Value)>,
}

/// Creates the share: the invitation as the first message, vertical `c`, and the `RWD` rights
/// the friend needs to answer. A sharer passing a key on may not offer more than it holds.
pub async fn offer(
    client: &Client,
    sharer: Sharer,
    offered: Profile,
    mut options: ShareOptions,
) -> Result<Offering, ExchangeError> {
    options.vertical = Some(Vertical::Car);
    options.access_rights = Some(AccessRights { read: true, write: true, delete: true });
    let invitation = sharer.invitation(&offered)?.to_info();
    let (share, transfer) = client.start_transfer(&invitation, options).await?;
    Ok(Offering { share, transfer, sharer, offered, vehicle: None })
}

impl Offering {
    /// The share to send to the friend.
    pub fn share(&self) -> &Share {
        &self.share
    }

    /// Seals `part` (any JSON: a pairing code, the vehicle maker's token) for the vehicle's
    /// key, to travel with the grant: the friend's device carries it unread and shows it to the
    /// vehicle, which opens it ([`crate::vehicle::open_part`]).
    pub fn seal_for_vehicle(
        mut self,
        vehicle: tigress_jwe::PublicJwk,
        part: serde_json::Value,
    ) -> Self {
        self.vehicle = Some((vehicle, part));
        self
    }

    /// Answers the friend's device: waits (up to `patience` for each step) for its key-creation
    /// request, grants its key, and waits for its signed confirmation. Returns the grant, which
    /// the owner keeps to take the key back.
    pub async fn complete(
        mut self,
        patience: Duration,
        mut on_event: impl FnMut(SharerEvent),
    ) -> Result<Signed<Grant>, ExchangeError> {
        on_event(SharerEvent::WaitingForRequest);
        let request = next_step(&mut self.transfer, patience).await?;
        let Step::KeyCreationRequest { holder } = request else {
            return Err(unexpected("key-creation request", &request).into());
        };
        on_event(SharerEvent::RequestReceived);
        let chain = self.sharer.grant(&mut OsRng, &self.offered, holder);
        let grant = chain.last().cloned().expect("a grant was just made");
        let vehicle = self.vehicle.as_ref().map(|(key, part)| {
            let mut document = serde_json::json!({"content": {"vehicle": part}});
            let binding = self.share.secret().share_binding();
            let fields = [(steps::VEHICLE_PART, key)];
            tigress_jwe::seal_fields(
                &mut OsRng,
                &mut document,
                &fields,
                tigress_jwe::Algorithm::EcdhEsA256Kw,
                &binding,
            )
            .expect("the vehicle's part is a member of this document");
            document["content"]["vehicle"].take()
        });
        self.transfer.send(&Step::Grant { chain, vehicle }.to_info()).await?;
        on_event(SharerEvent::GrantSent);
        let confirmation = confirmation(&mut self.transfer, patience).await?;
        steps::check_confirmation(&grant.statement, &confirmation)?;
        self.transfer.finish().await?;
        on_event(SharerEvent::Confirmed);
        Ok(grant)
    }

    /// Withdraws the invitation: deletes the mailbox.
    pub async fn cancel(self) -> Result<(), ExchangeError> {
        Ok(self.transfer.cancel().await?)
    }
}

/// Plays the friend's device on a received car-key share: checks the invitation, makes a key
/// pair, sends the key-creation request, checks the grant (chain, own key, the profile offered),
/// confirms it signed, and waits for the sharer to close the share. Returns what it keeps.
pub async fn accept(
    received: ReceivedShare,
    patience: Duration,
    mut on_event: impl FnMut(FriendEvent),
) -> Result<HeldKey, ExchangeError> {
    let invitation = Step::from_info(received.provisioning())?;
    steps::check_invitation(&invitation, unix_now())?;
    let binding = received.share_binding();
    let mut transfer = received.into_transfer()?;
    let device_key = DeviceKey::generate(&mut OsRng);
    transfer.send(&Step::KeyCreationRequest { holder: device_key.public() }.to_info()).await?;
    on_event(FriendEvent::RequestSent);
    let granted = next_step(&mut transfer, patience).await?;
    let mut held = steps::accept_grant(&invitation, &granted, &device_key, unix_now())?;
    if let Step::Grant { vehicle: Some(sealed), .. } = granted {
        held.vehicle = Some(steps::VehiclePart { sealed, share: binding });
    }
    on_event(FriendEvent::KeyVerified);
    transfer.send(&steps::provisioned(&held, unix_now()).to_info()).await?;
    on_event(FriendEvent::Confirmed);
    wait_for_close(transfer, patience).await?;
    on_event(FriendEvent::Closed);
    Ok(held)
}

/// A termination the relay holds, waiting for the holder's device.
pub struct TerminationShare {
    share: Share,
    transfer: Transfer,
    grant: Signed<Grant>,
    termination: Signed<Termination>,
}

/// The owner takes back `grant` (and every key passed on from it): signs the termination and
/// sends it to the holder's device through a new share.
pub async fn send_termination(
    client: &Client,
    owner: &DeviceKey,
    grant: Signed<Grant>,
    mut options: ShareOptions,
) -> Result<TerminationShare, ExchangeError> {
    options.vertical = Some(Vertical::Car);
    options.access_rights = Some(AccessRights { read: true, write: true, delete: true });
    let step = steps::terminate(owner, grant.statement.id, unix_now());
    let Step::Termination { termination } = &step else { unreachable!("terminate makes one") };
    let termination = termination.clone();
    let (share, transfer) = client.start_transfer(&step.to_info(), options).await?;
    Ok(TerminationShare { share, transfer, grant, termination })
}

impl TerminationShare {
    /// The share to send to the holder's device.
    pub fn share(&self) -> &Share {
        &self.share
    }

    /// The termination, for the verifiers (the vehicle) to be given.
    pub fn termination(&self) -> &Signed<Termination> {
        &self.termination
    }

    /// Waits for the holder's proof of deletion, checks it, and closes the share.
    pub async fn complete(mut self, patience: Duration) -> Result<Step, ExchangeError> {
        let proof = confirmation(&mut self.transfer, patience).await?;
        steps::check_proof(&self.grant.statement, &self.termination, &proof)?;
        self.transfer.finish().await?;
        Ok(proof)
    }
}

/// Plays the holder's device on a received termination: checks it is for `held`, answers with
/// the signed proof of deletion, and waits for the owner to close the share. The caller then
/// deletes the key.
pub async fn answer_termination(
    received: ReceivedShare,
    held: &HeldKey,
    patience: Duration,
) -> Result<(), ExchangeError> {
    let termination = Step::from_info(received.provisioning())?;
    let proof = steps::answer_termination(held, &termination, unix_now())?;
    let mut transfer = received.into_transfer()?;
    transfer.send(&proof.to_info()).await?;
    wait_for_close(transfer, patience).await
}

/// The other side's signed answer; a mailbox gone before it says nothing (docs/SECURITY.md).
async fn confirmation(transfer: &mut Transfer, patience: Duration) -> Result<Step, ExchangeError> {
    match transfer.next_message(patience).await {
        Ok(Some(info)) => Ok(Step::from_info(&info)?),
        Ok(None) => Err(ExchangeError::TimedOut(patience)),
        Err(tigress_client::Error::Gone) => Err(ExchangeError::NotConfirmed),
        Err(e) => Err(e.into()),
    }
}

/// The other side deletes the mailbox once it has read the last message; deleting it here at
/// once could erase that message first. Another side that does not come back in time leaves it
/// to this one.
async fn wait_for_close(mut transfer: Transfer, patience: Duration) -> Result<(), ExchangeError> {
    match transfer.next_message(patience).await {
        Err(tigress_client::Error::Gone) => Ok(()),
        Ok(None) => Ok(transfer.finish().await?),
        Ok(Some(info)) => Err(unexpected("end of the share", &Step::from_info(&info)?).into()),
        Err(e) => Err(e.into()),
    }
}

async fn next_step(transfer: &mut Transfer, patience: Duration) -> Result<Step, ExchangeError> {
    let info = transfer.next_message(patience).await?.ok_or(ExchangeError::TimedOut(patience))?;
    Ok(Step::from_info(&info)?)
}

/// Unix seconds now; 0 before 1970.
pub fn unix_now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}
