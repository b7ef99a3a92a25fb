//! The client object, and the handle of a share it created.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tigress_client::{Client, Secret, Share, ShareUrl};

use crate::attest::PlatformAttester;
use crate::runtime::Runtime;
use crate::{
    AttestationAlgorithm, DeviceAttester, PendingShare, PinShareHandle, ProvisioningInfo,
    RelayDescriptor, ShareSettings, StartedTransfer, TigressError, Transfer,
};

/// A client of one relay (`TigressClient` in the bindings). Thread-safe; one per app is enough.
pub struct TigressClient {
    client: Client,
    runtime: Runtime,
}

impl TigressClient {
    /// A client of the relay at `relay_url`, also trusting the certificates of `ca_cert_pem`.
    pub fn new(relay_url: String, ca_cert_pem: Option<String>) -> Result<Self, TigressError> {
        Self::build(relay_url, ca_cert_pem, None)
    }

    /// A client that attests each share it creates with the app's `attester`, whose key the
    /// relay's operator trusts under `key_id`.
    pub fn with_attester(
        relay_url: String,
        ca_cert_pem: Option<String>,
        key_id: String,
        algorithm: AttestationAlgorithm,
        attester: Box<dyn DeviceAttester>,
    ) -> Result<Self, TigressError> {
        let attester = PlatformAttester::new(key_id, algorithm, attester)?;
        Self::build(relay_url, ca_cert_pem, Some(Arc::new(attester)))
    }

    fn build(
        relay_url: String,
        ca_cert_pem: Option<String>,
        attester: Option<Arc<dyn tigress_client::Attester>>,
    ) -> Result<Self, TigressError> {
        let runtime = Runtime::new()?;
        let client = {
            let _inside = runtime.enter();
            let mut builder = Client::builder(&relay_url);
            if let Some(pem) = ca_cert_pem {
                builder = builder.root_certificate_pem(pem.into_bytes());
            }
            if let Some(attester) = attester {
                builder = builder.attester(attester);
            }
            builder.build()?
        };
        Ok(Self { client, runtime })
    }

    /// Encrypts `credential` under a fresh secret and creates a share of it.
    pub fn share(
        &self,
        credential: Arc<ProvisioningInfo>,
        settings: ShareSettings,
    ) -> Result<Arc<ShareHandle>, TigressError> {
        let options = settings.to_sdk()?;
        let share = self.runtime.block_on(self.client.share(credential.sdk(), options))?;
        Ok(Arc::new(self.handle(share)))
    }

    /// Shares `first_message` and continues as the sender of a transfer.
    pub fn start_transfer(
        &self,
        first_message: Arc<ProvisioningInfo>,
        settings: ShareSettings,
    ) -> Result<StartedTransfer, TigressError> {
        let options = settings.to_sdk()?;
        let (share, transfer) =
            self.runtime.block_on(self.client.start_transfer(first_message.sdk(), options))?;
        Ok(StartedTransfer {
            share: Arc::new(self.handle(share)),
            transfer: Arc::new(Transfer::new(transfer, self.runtime.clone())),
        })
    }

    /// Creates a share whose credential is sent only to a receiver that proves a PIN: `pin`
    /// (4 to 12 digits), or six random digits when `None`; [`PinShareHandle::pin`] tells which.
    pub fn share_with_pin(
        &self,
        credential: Arc<ProvisioningInfo>,
        settings: ShareSettings,
        pin: Option<String>,
    ) -> Result<Arc<PinShareHandle>, TigressError> {
        let handle =
            PinShareHandle::create(&self.client, &self.runtime, credential, settings, pin)?;
        Ok(Arc::new(handle))
    }

    /// What the relay serves and allows (`GET /.well-known/tigress-relay`), read once per
    /// client and then kept.
    pub fn descriptor(&self) -> Result<RelayDescriptor, TigressError> {
        let descriptor = self.runtime.block_on(self.client.descriptor())?;
        Ok(RelayDescriptor::from_sdk(descriptor))
    }

    /// Fetches the preview of the share at `share_url`, decrypting later with its fragment.
    pub fn receive(&self, share_url: String) -> Result<Arc<PendingShare>, TigressError> {
        let share = parse_share_url(&share_url)?;
        let secret = share.secret().cloned().ok_or_else(|| {
            TigressError::invalid(
                "share_url",
                "it carries no secret after '#'; pass the secret to receive_with_secret",
            )
        })?;
        self.receive_share(&share, secret)
    }

    /// Fetches the preview of the share at `share_url`, decrypting later with `secret`.
    pub fn receive_with_secret(
        &self,
        share_url: String,
        secret: String,
    ) -> Result<Arc<PendingShare>, TigressError> {
        let share = parse_share_url(&share_url)?;
        let secret =
            Secret::from_base64(&secret).map_err(|e| TigressError::invalid("secret", e))?;
        self.receive_share(&share, secret)
    }

    fn receive_share(
        &self,
        share: &ShareUrl,
        secret: Secret,
    ) -> Result<Arc<PendingShare>, TigressError> {
        let pending = self.runtime.block_on(self.client.receive(share, secret))?;
        Ok(Arc::new(PendingShare::new(pending, self.client.clone(), self.runtime.clone())))
    }

    fn handle(&self, share: Share) -> ShareHandle {
        ShareHandle { share, client: self.client.clone(), runtime: self.runtime.clone() }
    }
}

impl fmt::Debug for TigressClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TigressClient").field("client", &self.client).finish_non_exhaustive()
    }
}

/// A share the relay holds (`ShareHandle` in the bindings). The sender's claim never leaves it.
///
/// `Debug` is redacted: the URL and the claim are capabilities.
pub struct ShareHandle {
    share: Share,
    client: Client,
    runtime: Runtime,
}

impl ShareHandle {
    /// The URL for the receiver, secret included.
    pub fn url(&self) -> String {
        self.share.url().to_string()
    }

    /// The URL without its secret.
    pub fn url_without_secret(&self) -> String {
        self.share.url().without_secret().to_string()
    }

    /// The secret alone, base64.
    pub fn secret(&self) -> String {
        self.share.secret().to_base64()
    }

    /// Deletes the share on the relay.
    pub fn cancel(&self) -> Result<(), TigressError> {
        let (url, claim) = (self.share.url(), self.share.claim());
        self.runtime.block_on(self.client.delete(url, claim))
    }

    /// Whether a receiver device is bound to the share now (it accepted, and has not
    /// relinquished).
    pub fn receiver_bound(&self) -> Result<bool, TigressError> {
        let (url, claim) = (self.share.url(), self.share.claim());
        self.runtime.block_on(self.client.receiver_bound(url, claim))
    }

    /// Waits up to `timeout_ms` for a receiver to bind: `true` once one is (at once if one
    /// already is), `false` if none did in time.
    pub fn wait_for_receiver(&self, timeout_ms: u32) -> Result<bool, TigressError> {
        let (url, claim) = (self.share.url(), self.share.claim());
        let timeout = Duration::from_millis(timeout_ms.into());
        self.runtime.block_on(self.client.wait_for_receiver(url, claim, timeout))
    }

    /// Reads and decrypts the share's current message: the sender's own, or the receiver's
    /// answer once it wrote one (the single-message exchange of §6.2).
    pub fn read(&self) -> Result<Arc<ProvisioningInfo>, TigressError> {
        let (url, claim, secret) = (self.share.url(), self.share.claim(), self.share.secret());
        let info = self.runtime.block_on(self.client.read(url, claim, secret))?;
        Ok(ProvisioningInfo::from_sdk(info))
    }

    /// Replaces the share's message with `message`, encrypted under the share's secret.
    pub fn update(&self, message: Arc<ProvisioningInfo>) -> Result<(), TigressError> {
        let (url, claim, secret) = (self.share.url(), self.share.claim(), self.share.secret());
        self.runtime.block_on(self.client.update(url, claim, secret, message.sdk()))
    }
}

impl fmt::Debug for ShareHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShareHandle(..)")
    }
}

fn parse_share_url(text: &str) -> Result<ShareUrl, TigressError> {
    text.trim().parse().map_err(|e| TigressError::invalid("share_url", e))
}
