//! The receiver's side of a one-message share: preview, decide, read, decrypt, delete (§5).

use std::fmt;

use rand::rngs::OsRng;
use tigress_proto::flow::{self, Preview};
use tigress_proto::{DeviceClaim, ProvisioningInformation, Secret, ShareUrl};

use crate::{Client, Error, Transfer};

impl Client {
    /// Starts receiving `share`, decrypting with `secret` (from the URL's fragment or from a
    /// separate channel), and fetches the public preview. Nothing is bound yet: the share stays
    /// open to other devices until [`PendingShare::accept`].
    ///
    /// Every request goes to the share's mailbox URL; the fragment is never sent.
    pub async fn receive(&self, share: &ShareUrl, secret: Secret) -> Result<PendingShare, Error> {
        let mut receiver = flow::Receiver::new(share, secret.clone(), &mut OsRng);
        drive(self, &mut receiver).await?;
        let preview = receiver
            .preview()
            .filter(|_| receiver.is_deciding())
            .cloned()
            .ok_or_else(|| Error::Protocol("the preview did not arrive".into()))?;
        let share = share.without_secret();
        Ok(PendingShare { client: self.clone(), share, secret, receiver, preview })
    }
}

/// A share whose preview has been fetched, waiting for the user's decision.
pub struct PendingShare {
    client: Client,
    share: ShareUrl,
    secret: Secret,
    receiver: flow::Receiver,
    preview: Preview,
}

impl PendingShare {
    /// The public preview: title, description, image URL, expiry and vertical. It is not
    /// authenticated: anyone holding the link could have read it, and the relay could alter it.
    pub fn preview(&self) -> &Preview {
        &self.preview
    }

    /// Accepts the share: reads the mailbox with a fresh claim (which binds this device as the
    /// receiver), then verifies and decrypts the payload.
    ///
    /// If decryption fails ([`Error::Decrypt`], [`Error::InvalidContent`]), the binding is given
    /// up again, so the share can still be received with the right secret.
    pub async fn accept(mut self) -> Result<ReceivedShare, Error> {
        self.receiver.accept();
        if let Err(error) = drive(&self.client, &mut self.receiver).await {
            if let Error::Decrypt(_) | Error::InvalidContent(_) = &error {
                // Best effort: the error to report is the decryption failure.
                let claim = *self.receiver.claim();
                if self.client.relinquish(&self.share, &claim).await.is_err() {
                    tracing::debug!("could not give up the binding after a failed decryption");
                }
            }
            return Err(error);
        }
        if self.receiver.received().is_none() {
            return Err(Error::Protocol("the read ended without a payload".into()));
        }
        Ok(ReceivedShare {
            client: self.client,
            share: self.share,
            secret: self.secret,
            receiver: self.receiver,
        })
    }

    /// Declines the share. Nothing is sent, nothing is bound, and the link still works.
    pub fn decline(mut self) {
        self.receiver.decline();
    }

    /// Accepts when `accept` is true; otherwise declines and returns [`Error::Declined`].
    pub async fn decide(self, accept: bool) -> Result<ReceivedShare, Error> {
        if !accept {
            self.decline();
            return Err(Error::Declined);
        }
        self.accept().await
    }
}

impl fmt::Debug for PendingShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingShare").field("preview", &self.preview).finish_non_exhaustive()
    }
}

/// A share received and decrypted; this device is its bound receiver.
pub struct ReceivedShare {
    client: Client,
    share: ShareUrl,
    secret: Secret,
    receiver: flow::Receiver,
}

impl ReceivedShare {
    /// The members of the Provisioning Information sealed for a third party, which this device
    /// forwards as they are (docs/MESSAGES.md, "Sealed fields"); each says for whom (`kid`).
    pub fn sealed_fields(&self) -> Vec<tigress_jwe::SealedField> {
        let document = serde_json::to_value(self.provisioning()).unwrap_or_default();
        tigress_jwe::sealed_fields(&document)
    }

    /// The name of this share in its sealed fields' binding: what their recipient opens them
    /// with ([`tigress_jwe::unseal_fields`]), forwarded with them.
    pub fn share_binding(&self) -> String {
        self.secret.share_binding()
    }

    /// The decrypted Provisioning Information.
    pub fn provisioning(&self) -> &ProvisioningInformation {
        // `PendingShare::accept` builds a `ReceivedShare` only once the payload is decrypted.
        self.receiver.received().expect("a received share holds its payload")
    }

    /// This device's receiver claim, for [`Client::update`] or [`Client::relinquish`] on a share
    /// that is kept. Keep it as secret as the share URL.
    pub fn claim(&self) -> &DeviceClaim {
        self.receiver.claim()
    }

    /// Continues as a multi-message [`Transfer`] instead of finishing: this device answers the
    /// sender through the mailbox (which needs the `W` right).
    pub fn into_transfer(self) -> Result<Transfer, Error> {
        let session = self
            .receiver
            .into_session()
            .ok_or_else(|| Error::Protocol("the share did not become a transfer".into()))?;
        Ok(Transfer::new(self.client, session))
    }

    /// The secret the share was decrypted with, for [`Client::read`] and [`Client::update`] on
    /// a share that is kept.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The share, without its secret.
    pub fn share_url(&self) -> &ShareUrl {
        &self.share
    }

    /// Ends the transfer: deletes the mailbox (as every client should once done), or leaves it
    /// for later rounds when `keep` is true. Deleting needs the `D` right, which is the default.
    pub async fn finish(mut self, keep: bool) -> Result<(), Error> {
        self.receiver.finish(keep);
        drive(&self.client, &mut self.receiver).await?;
        if !self.receiver.is_done() {
            return Err(Error::Protocol("the transfer did not finish".into()));
        }
        Ok(())
    }
}

impl fmt::Debug for ReceivedShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceivedShare(..)")
    }
}

/// Runs the receiver until it waits for a decision or is done.
async fn drive(client: &Client, receiver: &mut flow::Receiver) -> Result<(), Error> {
    while let Some(request) = receiver.poll_request() {
        let response = client.send(request).await?;
        receiver.handle_response(response)?;
    }
    Ok(())
}
