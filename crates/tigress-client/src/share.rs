//! The sender's side of a one-message share (§5).

use std::fmt;

use rand::rngs::OsRng;
use tigress_proto::flow::{self, ShareOptions};
use tigress_proto::{DeviceClaim, ProvisioningInformation, Secret, ShareUrl};

use crate::{Client, Error};

/// A share the relay has accepted: the URL to give the receiver, and the sender's claim.
///
/// `Debug` is redacted: the URL and the claim are capabilities.
#[derive(Clone)]
pub struct Share {
    url: ShareUrl,
    claim: DeviceClaim,
}

impl Share {
    /// The share URL with vertical and secret (`…/v1/m/{id}?v=…#secret`). Prefer sending
    /// [`ShareUrl::without_secret`] and [`Share::secret`] over separate channels (§14).
    pub fn url(&self) -> &ShareUrl {
        &self.url
    }

    /// The secret that encrypts the share.
    pub fn secret(&self) -> &Secret {
        // `Client::share` checks that the URL carries the secret before building a `Share`.
        self.url
            .secret()
            .expect("a share's URL always carries its secret")
    }

    /// The sender's device claim, needed to [`Client::update`] or [`Client::delete`] the share.
    /// Keep it as secret as the share URL.
    pub fn claim(&self) -> &DeviceClaim {
        &self.claim
    }
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Share(..)")
    }
}

impl Client {
    /// Encrypts `info` under a fresh secret and creates a mailbox holding it.
    ///
    /// A create whose answer was lost (a transport error) is sent once more with the same
    /// `Mailbox-Request-ID`; the relay answers such a repeat with the original mailbox (§7), so
    /// the retry never creates a second one.
    pub async fn share(
        &self,
        info: &ProvisioningInformation,
        options: ShareOptions,
    ) -> Result<Share, Error> {
        let mut sender = flow::Sender::new(self.relay_base(), info, options, &mut OsRng);
        let mut retried = false;
        while let Some(request) = sender.poll_request() {
            match self.send(request).await {
                Ok(response) => sender.handle_response(response)?,
                Err(Error::Unreachable(_)) if !retried => {
                    tracing::debug!("the create request failed in transit; sending it again");
                    retried = true;
                    sender.handle_transport_error();
                }
                Err(e) => return Err(e),
            }
        }
        let url = sender
            .share_url()
            .filter(|url| url.secret().is_some())
            .ok_or_else(|| Error::Protocol("the create request ended without a share".into()))?
            .clone();
        Ok(Share {
            url,
            claim: *sender.claim(),
        })
    }
}
