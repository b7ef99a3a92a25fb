//! The Secure Credential Transfer protocol, without I/O.
//!
//! This crate holds what both ends of a transfer must agree on: the v1 wire types of the relay API
//! ([`wire`]), the domain identifiers ([`ids`]), access rights and expiration rules, the share URL
//! ([`ShareUrl`]), payload encryption ([`aead`]), Provisioning Information, the sender and receiver
//! state machines ([`flow`]) that say which HTTP request to send next, and the PIN exchange
//! ([`pin`]) that holds a credential back until the receiver proves a second factor.
//!
//! It does not open sockets, read clocks or draw randomness on its own: the clock and the random
//! number generator come in as arguments, and the caller carries the requests. That keeps it
//! embeddable in mobile bindings and WebAssembly. `tigress-client` drives it over HTTPS;
//! `tigress-relay` uses its wire types and rules.
//!
//! § numbers refer to the sections of docs/PROTOCOL.md.
//!
//! ```
//! use tigress_proto::{Algorithm, ProvisioningInformation, Secret, ShareUrl};
//!
//! // The sender encrypts Provisioning Information under a fresh secret...
//! let rng = &mut rand_core::OsRng;
//! let secret = Secret::generate(Algorithm::Aes128Gcm, rng);
//! let info = ProvisioningInformation::new("digitalwallet.generic.authorizationToken",
//!     serde_json::json!({"token": "b5d3"})).unwrap();
//! let payload = secret.seal(&info.to_vec(), rng);
//!
//! // ...and puts the secret in the fragment of the relay's `urlLink`.
//! let link = "https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40";
//! let share = ShareUrl::from_url_link(link).unwrap().with_secret(secret);
//! let text = share.to_string();
//!
//! // The receiver parses the URL; requests go to the mailbox URL, never with the fragment.
//! let received: ShareUrl = text.parse().unwrap();
//! assert_eq!(received.mailbox_url(), link);
//! let plaintext = received.secret().unwrap().open(&payload).unwrap();
//! assert_eq!(ProvisioningInformation::from_slice(&plaintext).unwrap(), info);
//! ```
#![warn(missing_docs)]

pub mod access;
pub mod aead;
pub mod expiration;
pub mod flow;
pub mod ids;
pub mod pin;
pub mod provisioning;
pub mod share_url;
pub mod transfer;
pub mod wire;

pub use access::AccessRights;
pub use aead::{Algorithm, OpenError, Secret};
pub use ids::{DeviceClaim, MailboxId, RequestId};
pub use pin::{Pin, PinReceiver, PinSender};
pub use provisioning::ProvisioningInformation;
pub use share_url::{ShareUrl, Vertical};
