//! One attempt at delivering one event: a signed `POST` whose 2xx answer is the receipt.

use std::time::Duration;

use crate::{Endpoint, Event, EventsConfig, signature};

/// Longest wait for a TCP and TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest wait for a whole attempt, answer included: a receiver that hangs is retried later
/// instead of holding its mailbox's later events.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an attempt failed. Says neither the URL nor anything of the event.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No answer: connection, TLS or time-out.
    #[error("{0}")]
    Transport(&'static str),
    /// An answer other than 2xx.
    #[error("the endpoint answered {0}")]
    Status(u16),
    /// The `ca_file` could not be read or holds no certificate.
    #[error("the events' ca_file: {0}")]
    CaFile(String),
}

/// Posts events. One client for every endpoint: its connections are kept and reused.
#[derive(Clone, Debug)]
pub struct Deliverer {
    client: reqwest::Client,
}

impl Deliverer {
    /// A client trusting the public roots and the configuration's `ca_file`, following no
    /// redirect (a redirect could lead to an address the operator never configured).
    pub fn new(config: &EventsConfig) -> Result<Self, DeliveryError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(ATTEMPT_TIMEOUT)
            .https_only(true)
            .user_agent(concat!("tigress-webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| DeliveryError::CaFile(format!("{}: {e}", path.display())))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|_| DeliveryError::CaFile(format!("{}: not PEM", path.display())))?;
            if roots.is_empty() {
                return Err(DeliveryError::CaFile(format!("{}: no certificate", path.display())));
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let client = builder
            .build()
            .map_err(|_| DeliveryError::Transport("the HTTP client could not be built"))?;
        Ok(Self { client })
    }

    /// Posts `event` to `endpoint`, signed at `now` (Unix seconds): `Ok` on a 2xx answer.
    pub async fn deliver(
        &self,
        endpoint: &Endpoint,
        event: &Event,
        now: i64,
    ) -> Result<(), DeliveryError> {
        let (id, body) = (event.webhook_id(), event.body());
        let signed = signature(&endpoint.secret, &id, now, &body);
        let response = self
            .client
            .post(endpoint.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signed)
            .body(body)
            .send()
            .await
            .map_err(|e| DeliveryError::Transport(transport(&e)))?;
        let status = response.status();
        // The answer's body is not read: only its status counts, and an endpoint's body is no
        // business of the relay.
        drop(response);
        if status.is_success() { Ok(()) } else { Err(DeliveryError::Status(status.as_u16())) }
    }
}

/// What failed, without the URL reqwest would print.
fn transport(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "the attempt timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the attempt failed"
    }
}
