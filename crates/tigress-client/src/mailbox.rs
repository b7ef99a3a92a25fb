//! Single operations on an existing mailbox, for flows with several round trips (§5, §6).

use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use tigress_proto::flow::{
    HttpRequest, HttpResponse, check_response, delete_request, read_request, relinquish_request,
    update_request, wait_request,
};
use tigress_proto::wire::{Party, ReadMailboxResponse, UpdateMailboxRequest};
use tigress_proto::{DeviceClaim, ProvisioningInformation, RequestId, Secret, ShareUrl};

use crate::{Client, Error};

/// The longest single wait for a binding asked of the relay; relays cap it anyway.
const LONGEST_BINDING_WAIT: Duration = Duration::from_secs(30);

impl Client {
    /// Reads and decrypts the mailbox's current message as the holder of `claim`: the sender, the
    /// bound receiver, or a fresh claim, which binds as the receiver if the slot is free (§8).
    ///
    /// The slot holds the last message written by either side; telling one's own from the peer's
    /// is up to the format's content (§12).
    pub async fn read(
        &self,
        share: &ShareUrl,
        claim: &DeviceClaim,
        secret: &Secret,
    ) -> Result<ProvisioningInformation, Error> {
        let id = RequestId::random(&mut OsRng);
        let response = self.send(read_request(share, claim, &id)).await?;
        check_response(&response, Some(&id), true)?;
        let read: ReadMailboxResponse = serde_json::from_slice(&response.body)
            .map_err(|e| Error::Protocol(format!("read answer: {e}")))?;
        let plaintext = secret.open(&read.payload).map_err(Error::Decrypt)?;
        ProvisioningInformation::from_slice(&plaintext).map_err(Error::InvalidContent)
    }

    /// Whether a receiver is bound to the sender's share now (`receiverBound`, an extension):
    /// the sender learns that its share was opened, or relinquished again. `claim` must be the
    /// sender's; a receiver's read would be answered for the receiver.
    pub async fn receiver_bound(
        &self,
        share: &ShareUrl,
        claim: &DeviceClaim,
    ) -> Result<bool, Error> {
        let (bound, _) = self.sender_view(share, claim, None).await?;
        Ok(bound)
    }

    /// Waits up to `timeout` for a receiver to bind to the sender's share, with waiting reads
    /// that the relay ends when the binding changes (docs/MESSAGES.md). `true` as soon as one is
    /// bound (at once if one already is), `false` if none bound in time.
    pub async fn wait_for_receiver(
        &self,
        share: &ShareUrl,
        claim: &DeviceClaim,
        timeout: Duration,
    ) -> Result<bool, Error> {
        let deadline = Instant::now() + timeout;
        let (mut bound, mut last_seq) = self.sender_view(share, claim, None).await?;
        while !bound {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // Whole seconds, at least one, as `Prefer: wait` counts them; a relay may answer
            // sooner (a message, its own cap), and the loop then asks again.
            let wait = left.min(LONGEST_BINDING_WAIT).as_secs().max(1);
            (bound, last_seq) = self.sender_view(share, claim, Some((last_seq, wait))).await?;
        }
        Ok(bound)
    }

    /// Reads as the sender, waiting `(after, seconds)` for news when given, and returns
    /// `receiverBound` and the log's last `seq`.
    async fn sender_view(
        &self,
        share: &ShareUrl,
        claim: &DeviceClaim,
        wait: Option<(u64, u64)>,
    ) -> Result<(bool, u64), Error> {
        let id = RequestId::random(&mut OsRng);
        let response = match wait {
            None => self.send(read_request(share, claim, &id)).await?,
            Some((after, seconds)) => {
                let request = wait_request(share, claim, &id, after, seconds);
                self.send_allowing(request, Duration::from_secs(seconds)).await?
            }
        };
        check_response(&response, Some(&id), true)?;
        let read: ReadMailboxResponse = serde_json::from_slice(&response.body)
            .map_err(|e| Error::Protocol(format!("read answer: {e}")))?;
        if read.role != Some(Party::Sender) {
            return Err(Error::Protocol("the read was not answered for the share's sender".into()));
        }
        let bound = read.receiver_bound.ok_or_else(|| {
            Error::Protocol("the relay does not say whether a receiver is bound".into())
        })?;
        Ok((bound, read.last_seq.unwrap_or(0)))
    }

    /// Encrypts `info` under `secret` and replaces the mailbox's message with it, as the sender
    /// or as a receiver granted `W` (§6.2).
    ///
    /// This is the drafts' single-slot operation: the message carries no conversation binding.
    /// For several round trips prefer a [`crate::Transfer`], which binds every message.
    ///
    /// Sent once more with the same request id if the answer is lost; the relay does not apply a
    /// repeat twice (§7).
    pub async fn update(
        &self,
        share: &ShareUrl,
        claim: &DeviceClaim,
        secret: &Secret,
        info: &ProvisioningInformation,
    ) -> Result<(), Error> {
        let id = RequestId::random(&mut OsRng);
        let body = UpdateMailboxRequest {
            payload: secret.seal(&info.to_vec(), &mut OsRng),
            notification_token: None,
        };
        let response = self.send_retrying(|| update_request(share, claim, &id, &body)).await?;
        check_response(&response, Some(&id), false)?;
        Ok(())
    }

    /// Gives up the receiver binding, so that the next fresh claim that reads becomes the
    /// receiver (§6.6). Only the bound receiver may do this.
    ///
    /// Sent once more with the same request id if the answer is lost (§7).
    pub async fn relinquish(&self, share: &ShareUrl, claim: &DeviceClaim) -> Result<(), Error> {
        let id = RequestId::random(&mut OsRng);
        let response = self.send_retrying(|| relinquish_request(share, claim, &id)).await?;
        check_response(&response, Some(&id), false)?;
        Ok(())
    }

    /// Deletes the mailbox, ending the transfer for both sides (§6.5): the sender's way to
    /// cancel, and the receiver's duty once done (if granted `D`). A mailbox already gone gives
    /// [`Error::Gone`].
    ///
    /// Not retried: a repeated delete is answered 404, which would hide whether the first worked.
    pub async fn delete(&self, share: &ShareUrl, claim: &DeviceClaim) -> Result<(), Error> {
        let id = RequestId::random(&mut OsRng);
        let response = self.send(delete_request(share, claim, &id)).await?;
        check_response(&response, Some(&id), false)?;
        Ok(())
    }

    /// Sends a de-duplicated request, and once more if it failed in transit. `build` must give
    /// the same request (same request id) both times.
    async fn send_retrying(&self, build: impl Fn() -> HttpRequest) -> Result<HttpResponse, Error> {
        match self.send(build()).await {
            Err(Error::Unreachable(_)) => {
                tracing::debug!("a request failed in transit; sending it again");
                self.send(build()).await
            }
            other => other,
        }
    }
}
