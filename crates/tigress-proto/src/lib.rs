//! The Secure Credential Transfer protocol, without I/O.
//!
//! This crate holds what both ends of a transfer must agree on: the v1 wire types of the relay API
//! ([`wire`]), the domain identifiers ([`ids`]), access rights and expiration rules, the share URL
//! ([`ShareUrl`]), payload encryption ([`aead`]), Provisioning Information, and the sender and
//! receiver state machines ([`flow`]) that say which HTTP request to send next.
//!
//! It does not open sockets, read clocks or draw randomness on its own: the clock and the random
//! number generator come in as arguments, and the caller carries the requests. That keeps it
//! embeddable in mobile bindings and WebAssembly. `tigress-client` drives it over HTTPS;
//! `tigress-relay` uses its wire types and rules.
//!
//! Section numbers (§) refer to the project's protocol digest, `PROTOCOL.md`.
#![warn(missing_docs)]

pub mod access;
pub mod aead;
pub mod expiration;
pub mod flow;
pub mod ids;
pub mod provisioning;
pub mod share_url;
pub mod wire;

pub use access::AccessRights;
pub use aead::{Algorithm, OpenError, Secret};
pub use ids::{DeviceClaim, MailboxId, RequestId};
pub use provisioning::ProvisioningInformation;
pub use share_url::{ShareUrl, Vertical};
