//! A multi-message transfer, from either side.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::{Runtime, Slot};
use crate::{ProvisioningInfo, PushToken, Role, TigressError};

/// One device's side of a transfer (`Transfer` in the bindings). Calls run one at a time: a
/// call waits for the one before it, e.g. `finish` for a pending `next_message`.
pub struct Transfer {
    role: Role,
    transfer: Slot<tigress_client::Transfer>,
    runtime: Runtime,
}

impl Transfer {
    pub(crate) fn new(transfer: tigress_client::Transfer, runtime: Runtime) -> Self {
        let role = Role::from_sdk(transfer.role());
        Self { role, transfer: Slot::new("transfer", transfer), runtime }
    }

    /// This device's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Registers this device's push token with its next message.
    pub fn set_push_token(&self, token: Arc<PushToken>) -> Result<(), TigressError> {
        let token = token.sdk().clone();
        self.transfer.with(|transfer| {
            transfer.set_push_token(token);
            Ok(())
        })
    }

    /// Sends the next message.
    pub fn send(&self, message: Arc<ProvisioningInfo>) -> Result<(), TigressError> {
        self.transfer.with(|transfer| self.runtime.block_on(transfer.send(message.sdk())))
    }

    /// Waits up to `timeout_ms` for the peer's next message.
    pub fn next_message(
        &self,
        timeout_ms: u32,
    ) -> Result<Option<Arc<ProvisioningInfo>>, TigressError> {
        let timeout = Duration::from_millis(timeout_ms.into());
        self.transfer.with(|transfer| {
            let message = self.runtime.block_on(transfer.next_message(timeout))?;
            Ok(message.map(ProvisioningInfo::from_sdk))
        })
    }

    /// Ends the transfer: deletes the share and every message.
    pub fn finish(&self) -> Result<(), TigressError> {
        let transfer = self.transfer.take()?;
        self.runtime.block_on(transfer.finish())
    }

    /// Aborts the transfer: deletes the share.
    pub fn cancel(&self) -> Result<(), TigressError> {
        let transfer = self.transfer.take()?;
        self.runtime.block_on(transfer.cancel())
    }
}

impl fmt::Debug for Transfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transfer").field("role", &self.role).finish_non_exhaustive()
    }
}
