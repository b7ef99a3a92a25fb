//! The relay's typed configuration, built once by the binary and passed down by value.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the relay needs to run.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite store.
    pub data_dir: PathBuf,
    /// Public base URL used in `urlLink` and the preview's `og:url`, e.g.
    /// `https://relay.example`. Derived from the listen address when `None`.
    pub public_url: Option<String>,
    /// Certificate chain and private key (PEM) to serve TLS with.
    pub tls: Option<TlsFiles>,
    /// Serve plain HTTP on a non-loopback address, because a TLS-terminating proxy sits in front.
    pub insecure_plain_http: bool,
    /// Request and field limits.
    pub limits: Limits,
    /// How often expired mailboxes are erased.
    pub sweep_interval: Duration,
    /// Whether commits wait for the disk. Only benchmarks turn this off.
    pub durability: Durability,
    /// Push providers to wake the other party after an update; none by default.
    pub push: tigress_push::PushConfig,
}

impl RelayConfig {
    /// A configuration with safe defaults, listening on `listen` and storing under `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            data_dir: data_dir.into(),
            public_url: None,
            tls: None,
            insecure_plain_http: false,
            limits: Limits::default(),
            sweep_interval: Duration::from_secs(60),
            durability: Durability::Full,
            push: tigress_push::PushConfig::default(),
        }
    }
}

/// PEM files for TLS.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How commits reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a success response means the change is on disk. The default.
    Full,
    /// `synchronous=OFF`: for measuring what durability costs; a crash may lose recent changes.
    DangerOff,
}

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
}

impl Limits {
    /// The caps of one mailbox's message log: `max_messages`, and at most that many bodies'
    /// worth of bytes.
    pub fn log(&self) -> crate::mailbox::LogLimits {
        crate::mailbox::LogLimits {
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
        }
    }
}
