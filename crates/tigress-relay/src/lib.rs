//! The Secure Credential Transfer relay: an HTTPS service of short-lived mailboxes that hold
//! ciphertext it cannot read.
//!
//! [`app`] builds the axum router over a [`store::MailboxStore`]; [`start`] and [`run_until`] run
//! it on a TCP listener, with TLS (rustls) or, on loopback or behind a TLS-terminating proxy,
//! plain HTTP. The rules of the protocol are plain functions in the `tigress-rules` crate,
//! re-exported here as [`mailbox`] and [`body`], and the preview page is the `tigress-preview`
//! crate's, re-exported as [`preview`]; the embedded SQLite store is in
//! [`store::sqlite`], and the Redis Cluster store shared by several relays in `store::redis`
//! (Cargo feature `redis`). The relay never sees a share's secret, never stores a device
//! claim or request id in the clear, and never logs claims, request ids, tokens, payloads, share
//! URLs or client addresses.
//!
//! After an update it wakes the other party with a content-free push ([`tigress_push`]) when
//! that party registered a token of a configured type. It does not link the client SDK.
//!
//! [`metrics`] counts requests, waiting reads, pushes and the store's commits, and serves them to
//! Prometheus on a listener of their own when `metrics_listen` is set; no label identifies a
//! mailbox, claim, token or client.
//!
//! § numbers refer to the sections of docs/PROTOCOL.md.

pub mod app_links;
mod claim_key;
pub mod clock;
pub mod config;
mod connections;
mod descriptor;
pub mod error;
mod events;
pub mod http;
pub mod metrics;
pub mod rate_limit;
pub mod routes;
mod server;
pub mod store;
pub mod token_seal;
pub mod waiters;
mod waiting_read;

pub use tigress_preview as preview;
pub use tigress_rules::{body, mailbox};

pub use clock::Clock;
pub use config::{
    AbuseLimits, AttestationPolicy, ClaimKeyConfig, Durability, Limits, MailboxSegment,
    ProxyNetworks, RelayConfig, StoreConfig, TlsFiles,
};
pub use http::{AppState, Settings, Shared, app};
pub use metrics::Metrics;
pub use server::{RunningRelay, run_until, start, start_with_pusher};
