//! Lifecycle events of a mailbox, sent to the owner's backend as Standard Webhooks.
//!
//! The relay keeps each event in its store's outbox and hands it here to be delivered: this
//! crate says what an event carries ([`Event`], never a claim, payload, token, address or
//! display information), how it is signed ([`signature`], HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`), which endpoints an operator configured
//! ([`EventsConfig`]), how long to wait before trying again ([`EventsConfig::retry_delay`]) and
//! how one attempt is made ([`Deliverer`]). The outbox, its order and its durability are the
//! store's (docs/EVENTS.md).

mod config;
mod delivery;
mod event;
mod signature;

pub use config::{ConfigError, Endpoint, EndpointName, EventsConfig, Secret};
pub use delivery::{Deliverer, DeliveryError};
pub use event::{Event, EventKind, Writer};
pub use signature::{signature, verify};
