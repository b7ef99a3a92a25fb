//! Single operations on an existing mailbox, for flows with several round trips (§5, §6).

use rand::rngs::OsRng;
use tigress_proto::flow::{
    HttpRequest, HttpResponse, check_response, delete_request, read_request, relinquish_request,
    update_request,
};
use tigress_proto::wire::{ReadMailboxResponse, UpdateMailboxRequest};
use tigress_proto::{DeviceClaim, ProvisioningInformation, RequestId, Secret, ShareUrl};

use crate::{Client, Error};

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
