//! The relay's rules, with no I/O: who may do what to a mailbox ([`mailbox`]: the binding table,
//! rights, idempotency, expiry), how every request body is parsed and checked ([`body`]), the
//! operator's [`Limits`] (the preview page is `tigress-preview`'s). Every function takes the time
//! as an argument, so each store applies the same rules inside its own transaction, tests need
//! no clock, and the fuzz targets build without the relay's I/O stack.
//!
//! Like `tigress-proto`, this crate depends on no async runtime, HTTP stack or database, and
//! builds for `wasm32-unknown-unknown`; `scripts/test` checks both.
//!
//! § numbers refer to the sections of docs/PROTOCOL.md.

pub mod body;
pub mod limits;
pub mod mailbox;

pub use limits::{Limits, LogLimits};
