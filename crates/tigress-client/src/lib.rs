//! Async client SDK for Secure Credential Transfer.
//!
//! [`Client`] drives the sans-I/O state machines of `tigress-proto` over HTTPS (reqwest with
//! rustls): it sends the requests they ask for and hands the answers back. It adds no protocol
//! logic of its own beyond one retry of a state-changing request whose answer was lost, which the
//! relay's `Mailbox-Request-ID` de-duplication makes safe (§7).
//!
//! - A sender calls [`Client::share`] and gives the receiver [`Share::url`]; with
//!   [`Share::claim`] it can later [`Client::update`] or cancel ([`Client::delete`]) the share.
//! - A receiver calls [`Client::receive`], looks at [`PendingShare::preview`], then
//!   [`PendingShare::accept`]s (or declines) and [`ReceivedShare::finish`]es, which deletes the
//!   mailbox unless asked to keep it.
//! - For flows with several round trips (a car key), the sender calls
//!   [`Client::start_transfer`] and the receiver [`ReceivedShare::into_transfer`]; each side then
//!   [`Transfer::send`]s messages and waits for the peer's with [`Transfer::next_message`], and
//!   one side [`Transfer::finish`]es. Every message is bound to the conversation, so the relay
//!   cannot reflect, replay, reorder or drop one unnoticed.
//! - For a share that needs a PIN, the sender calls [`Client::share_with_pin`] and
//!   [`PinShare::deliver`]; the receiver, whose [`ReceivedShare::needs_pin`], continues with
//!   [`ReceivedShare::into_pin_exchange`] and [`PinExchange::attempt`]. The credential leaves the
//!   sender's device only after the PIN is proven, under a key the relay cannot derive.
//! - [`Client::read`], [`Client::update`], [`Client::relinquish`] and [`Client::delete`] are the
//!   single operations.
//!
//! It does not store anything, run a relay, or retry beyond that one repeat. It never logs
//! claims, request ids, secrets, payloads or share URLs: the only log events are content-free
//! `debug` lines about requests sent.
//!
//! Section numbers (§) refer to the project's protocol digest, `PROTOCOL.md`.
#![warn(missing_docs)]

mod client;
mod error;
mod mailbox;
mod pin;
mod receive;
mod share;
mod transfer;

pub use client::{Client, ClientBuilder, DEFAULT_TIMEOUT};
pub use error::Error;
pub use pin::{PinAttempt, PinEvent, PinExchange, PinOutcome, PinShare};
pub use receive::{PendingShare, ReceivedShare};
pub use share::Share;
pub use tigress_attest;
pub use tigress_proto::Pin;
pub use tigress_proto::flow::{Preview, ShareOptions};
pub use tigress_proto::wire::{DisplayInformation, NotificationToken, Party};
pub use tigress_proto::{
    AccessRights, Algorithm, DeviceClaim, ProvisioningInformation, Secret, ShareUrl, Vertical,
};
pub use transfer::Transfer;
