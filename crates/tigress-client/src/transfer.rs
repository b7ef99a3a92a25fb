//! A multi-message transfer: both devices send messages and wait for the peer's through the
//! mailbox's message log, with waiting reads (`Prefer: wait`).

use std::fmt;
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use tigress_proto::ProvisioningInformation;
use tigress_proto::flow::{HttpRequest, Session};
use tigress_proto::wire::{NotificationToken, Party};

use crate::{Client, Error};

/// The longest single wait asked of the relay; relays cap it anyway (60 s by default).
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// One device's side of a transfer. Each message it sends or accepts is bound to the
/// conversation (mailbox, writer, position, previous message), so a relay that reflects,
/// replays, reorders or drops a message is caught with [`Error::Transfer`].
pub struct Transfer {
    client: Client,
    session: Session,
}

impl Transfer {
    pub(crate) fn new(client: Client, session: Session) -> Self {
        Self { client, session }
    }

    /// This device's role in the transfer.
    pub fn role(&self) -> Party {
        self.session.role()
    }

    /// Registers this device's push token with its next message, so the relay wakes the device
    /// when the peer writes. On such a push, call [`Transfer::next_message`]: the message is
    /// already there and it returns at once. Without push, `next_message` waits on the relay.
    pub fn set_push_token(&mut self, token: NotificationToken) {
        self.session.set_push_token(token);
    }

    /// Sends the next message. A send lost in transit is repeated once with the same request id,
    /// so the relay never appends it twice.
    pub async fn send(&mut self, info: &ProvisioningInformation) -> Result<(), Error> {
        let request = self.session.send(info, &mut OsRng);
        let response = self.send_retrying(request, Duration::ZERO).await?;
        self.session.handle_response(response)?;
        Ok(())
    }

    /// Waits up to `timeout` for the peer's next message; `None` when none came in time.
    /// Messages the peer sent in a row are returned one by one, in order.
    pub async fn next_message(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<ProvisioningInformation>, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(info) = self.session.next_message() {
                return Ok(Some(info));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // Whole seconds, at least one, as `Prefer: wait` counts them.
            let wait = left.min(LONGEST_WAIT).as_secs().max(1);
            let request = self.session.wait(wait, &mut OsRng);
            let response = self.send_retrying(request, Duration::from_secs(wait)).await?;
            self.session.handle_response(response)?;
        }
    }

    /// Ends the transfer successfully: deletes the mailbox, erasing every message.
    pub async fn finish(mut self) -> Result<(), Error> {
        self.close().await
    }

    /// Aborts the transfer: deletes the mailbox, so the peer's next wait ends with
    /// [`Error::Gone`].
    pub async fn cancel(mut self) -> Result<(), Error> {
        self.close().await
    }

    async fn close(&mut self) -> Result<(), Error> {
        let request = self.session.close(&mut OsRng);
        let response = self.client.send(request).await?;
        self.session.handle_response(response)?;
        Ok(())
    }

    async fn send_retrying(
        &self,
        request: HttpRequest,
        wait: Duration,
    ) -> Result<tigress_proto::flow::HttpResponse, Error> {
        match self.client.send_allowing(request.clone(), wait).await {
            Err(Error::Unreachable(_)) => {
                tracing::debug!("a transfer request failed in transit; sending it again");
                self.client.send_allowing(request, wait).await
            }
            other => other,
        }
    }
}

impl fmt::Debug for Transfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transfer").field("role", &self.role()).finish_non_exhaustive()
    }
}
