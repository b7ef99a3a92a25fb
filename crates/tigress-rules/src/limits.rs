//! The operator's limits on requests, stored fields and mailbox lifetimes. Data only: the relay
//! reads them from its configuration, and the rules below check requests against them.

use std::time::Duration;

/// Limits on requests and stored fields. Every default is safe for a public relay.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Longest `displayInformation.title`, in characters.
    pub max_title_chars: usize,
    /// Longest `displayInformation.description`, in characters.
    pub max_description_chars: usize,
    /// Longest `displayInformation.imageURL`, in characters.
    pub max_image_url_chars: usize,
    /// Longest `payload.type`, in characters.
    pub max_payload_type_chars: usize,
    /// Longest `notificationToken.type`, in characters.
    pub max_token_type_chars: usize,
    /// Longest `notificationToken.tokenData`, in characters.
    pub max_token_data_chars: usize,
    /// Lifetime of a mailbox created without an expiration.
    pub default_lifetime: Duration,
    /// Longest lifetime; later expirations are clamped to it.
    pub max_lifetime: Duration,
    /// How long one request may take, once its headers are in, before it is answered 408.
    pub request_timeout: Duration,
    /// How long a client may take to send its request headers before the connection is closed.
    pub header_read_timeout: Duration,
    /// Most messages in one mailbox's log, the create payload included (409 beyond).
    pub max_messages: u64,
    /// Longest `Prefer: wait` honoured on a read; longer waits are shortened to it.
    pub max_wait: Duration,
    /// Most client connections open at once; beyond, new ones are closed at once. Keep it below
    /// the process's descriptor limit.
    pub max_connections: usize,
    /// How long a connection may stay silent both ways before it is closed. Never shorter than a
    /// waiting read can be silent (`request_timeout` + `max_wait`, and a second).
    pub idle_timeout: Duration,
}

impl Limits {
    /// The caps of one mailbox's message log: `max_messages`, and at most that many bodies'
    /// worth of bytes.
    pub fn log(&self) -> LogLimits {
        LogLimits {
            max_messages: self.max_messages,
            max_bytes: self.max_messages.saturating_mul(self.max_body_bytes as u64),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_title_chars: 200,
            max_description_chars: 1000,
            max_image_url_chars: 2048,
            max_payload_type_chars: 64,
            max_token_type_chars: 128,
            max_token_data_chars: 4096,
            default_lifetime: Duration::from_secs(48 * 3600),
            max_lifetime: Duration::from_secs(7 * 24 * 3600),
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_messages: 64,
            max_wait: Duration::from_secs(60),
            max_connections: 4096,
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Caps on one mailbox's message log.
#[derive(Clone, Copy, Debug)]
pub struct LogLimits {
    /// Most messages, the create payload included.
    pub max_messages: u64,
    /// Most bytes of `payload.data`, summed over the log.
    pub max_bytes: u64,
}
