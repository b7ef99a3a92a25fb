//! The receiver's objects: a share being previewed, and a share received.

use std::fmt;
use std::sync::Arc;

use crate::runtime::{Runtime, Slot};
use crate::{PinExchange, Preview, ProvisioningInfo, TigressError, Transfer};

/// A share whose preview has been fetched, waiting for the user's decision (`PendingShare` in
/// the bindings).
pub struct PendingShare {
    preview: Preview,
    pending: Slot<tigress_client::PendingShare>,
    client: tigress_client::Client,
    runtime: Runtime,
}

impl PendingShare {
    pub(crate) fn new(
        pending: tigress_client::PendingShare,
        client: tigress_client::Client,
        runtime: Runtime,
    ) -> Self {
        let preview = Preview::from_sdk(pending.preview());
        Self { preview, pending: Slot::new("pending share", pending), client, runtime }
    }

    /// The public preview.
    pub fn preview(&self) -> Preview {
        self.preview.clone()
    }

    /// Binds this device as the receiver and decrypts the credential. Uses this object up, even
    /// on failure: after [`TigressError::Decrypt`] the binding is given back, and the app can
    /// `receive` the share again with the right secret.
    pub fn accept(&self) -> Result<Arc<ReceivedShare>, TigressError> {
        let pending = self.pending.take()?;
        let received = self.runtime.block_on(pending.accept())?;
        Ok(Arc::new(ReceivedShare::new(received, self.client.clone(), self.runtime.clone())))
    }

    /// Declines: nothing is sent or bound. Declining twice, or after accepting, does nothing.
    pub fn decline(&self) {
        if let Ok(pending) = self.pending.take() {
            pending.decline();
        }
    }
}

impl fmt::Debug for PendingShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingShare").field("preview", &self.preview).finish_non_exhaustive()
    }
}

/// A share received and decrypted (`ReceivedShare` in the bindings).
///
/// `Debug` is redacted: it holds the credential and the receiver's claim.
pub struct ReceivedShare {
    info: Arc<ProvisioningInfo>,
    received: Slot<tigress_client::ReceivedShare>,
    client: tigress_client::Client,
    runtime: Runtime,
}

impl ReceivedShare {
    fn new(
        received: tigress_client::ReceivedShare,
        client: tigress_client::Client,
        runtime: Runtime,
    ) -> Self {
        let info = ProvisioningInfo::from_sdk(received.provisioning().clone());
        Self { info, received: Slot::new("received share", received), client, runtime }
    }

    /// The decrypted credential. Still available after [`ReceivedShare::finish`].
    pub fn provisioning_information(&self) -> Arc<ProvisioningInfo> {
        self.info.clone()
    }

    /// Deletes the share on the relay.
    pub fn finish(&self) -> Result<(), TigressError> {
        let received = self.received.take()?;
        self.runtime.block_on(received.finish(false))
    }

    /// Continues as the receiver of a transfer.
    pub fn into_transfer(&self) -> Result<Arc<Transfer>, TigressError> {
        let transfer = self.received.take()?.into_transfer()?;
        Ok(Arc::new(Transfer::new(transfer, self.runtime.clone())))
    }

    /// Reads and decrypts the share's current message again: the sender may have replaced it
    /// (`ShareHandle.update`) since this device accepted.
    pub fn read(&self) -> Result<Arc<ProvisioningInfo>, TigressError> {
        self.received.with(|received| {
            let (url, claim, secret) = (received.share_url(), received.claim(), received.secret());
            let info = self.runtime.block_on(self.client.read(url, claim, secret))?;
            Ok(ProvisioningInfo::from_sdk(info))
        })
    }

    /// Answers the sender by replacing the share's message (needs the `W` right). For several
    /// round trips prefer `into_transfer`, which binds every message to the conversation.
    pub fn update(&self, message: Arc<ProvisioningInfo>) -> Result<(), TigressError> {
        self.received.with(|received| {
            let (url, claim, secret) = (received.share_url(), received.claim(), received.secret());
            self.runtime.block_on(self.client.update(url, claim, secret, message.sdk()))
        })
    }

    /// Gives up this device's binding, leaving the share on the relay for the next receiver
    /// (when the sender allowed several, `ShareSettings.max_receivers`). Uses the share up.
    pub fn relinquish(&self) -> Result<(), TigressError> {
        let received = self.received.take()?;
        let (share, claim) = (received.share_url(), received.claim());
        self.runtime.block_on(self.client.relinquish(share, claim))
    }

    /// Whether the share holds a PIN invitation rather than the credential: then ask the user
    /// for the PIN the sender told them and continue with [`ReceivedShare::into_pin_exchange`].
    pub fn needs_pin(&self) -> bool {
        self.received.with(|received| Ok(received.needs_pin())).unwrap_or(false)
    }

    /// Continues a share that [`needs a PIN`](ReceivedShare::needs_pin).
    pub fn into_pin_exchange(&self) -> Result<Arc<PinExchange>, TigressError> {
        let received = self.received.take()?;
        if !received.needs_pin() {
            return Err(TigressError::invalid("share", "it holds no PIN invitation"));
        }
        Ok(PinExchange::new(received.into_pin_exchange()?, self.runtime.clone()))
    }
}

impl fmt::Debug for ReceivedShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceivedShare(..)")
    }
}
