//! UniFFI bindings of the Tigress client SDK: one interface definition, `src/tigress.udl`, from
//! which the Kotlin (Android), Swift (iOS) and Python bindings are generated.
//!
//! The library wraps [`tigress_client`] in a small blocking API for apps:
//!
//! - [`TigressClient::share`] encrypts a credential ([`ProvisioningInfo`]) and returns a
//!   [`ShareHandle`] whose URL the app gives the receiver;
//! - [`TigressClient::receive`] returns a [`PendingShare`] with its [`Preview`]; accepting it
//!   decrypts the credential ([`ReceivedShare`]), and [`ReceivedShare::finish`] deletes the share;
//! - for several round trips (a car key), [`TigressClient::start_transfer`] and
//!   [`ReceivedShare::into_transfer`] give each side a [`Transfer`] to send and wait on;
//! - the sender sees and waits for the receiver's binding ([`ShareHandle::wait_for_receiver`]);
//!   both sides may read and replace the share's one message ([`ShareHandle::read`],
//!   [`ReceivedShare::update`]);
//! - PIN shares ([`PinShareHandle`], [`PinExchange`]), push tokens ([`PushToken`]) and device
//!   attestation by a key the platform holds ([`DeviceAttester`]);
//! - every failure is one [`TigressError`] variant with a reason, never carrying a secret.
//!
//! **Why UDL.** The interface is written once in UDL, a file that reads as the API itself and is
//! the single source both for the Rust scaffolding (`build.rs`) and for the bindings
//! (`uniffi-bindgen generate --library`, docs/EMBEDDING.md). Proc-macros would spread the same
//! definition over the Rust types; the UDL keeps what apps see in one reviewable place.
//!
//! **Threading.** Every method blocks its calling thread until the relay has answered (seconds
//! at most, or a transfer's `next_message` timeout). Apps call it off the main thread: a Kotlin
//! coroutine on `Dispatchers.IO`, a Swift `Task.detached` or background queue, a Python thread.
//! Behind it one multi-thread tokio runtime (two workers) is owned by each [`TigressClient`] and
//! shared with every object made from it. Blocking methods were chosen over UniFFI's async
//! support because they behave the same in all three languages and need no foreign event loop;
//! a call from inside a tokio runtime is refused with [`TigressError::Internal`]. (UniFFI's
//! `suspend` functions would also need a kotlinx-coroutines newer than the tests can fetch;
//! docs/EMBEDDING.md, "The threading rule".)
//!
//! It does not store anything, log anything, or expose the device claims: they stay inside the
//! objects. `Debug` of every type is redacted, and what holds a credential or a push token is an
//! object rather than a record, so that no foreign `toString()` prints it.
//!
//! The generated scaffolding is the crate's only `unsafe` code (the `extern "C"` functions the
//! foreign languages call); it is allowed in the private `scaffolding` module alone.
//!
//! § numbers refer to the sections of docs/PROTOCOL.md.
#![warn(missing_docs)]

mod attest;
mod client;
mod error;
mod pin;
mod receive;
mod runtime;
mod transfer;
mod types;

use std::sync::Arc;

pub use attest::{AttestationAlgorithm, DeviceAttester};
pub use client::{ShareHandle, TigressClient};
pub use error::TigressError;
pub use pin::{PinDelivery, PinDeliveryOutcome, PinExchange, PinShareHandle};
pub use receive::{PendingShare, ReceivedShare};
pub use transfer::Transfer;
pub use types::{
    Preview, ProvisioningInfo, PushToken, RelayDescriptor, Role, ShareSettings, Vertical,
};

/// A share created by [`TigressClient::start_transfer`], and the sender's side of its transfer.
#[derive(Debug)]
pub struct StartedTransfer {
    /// The share, whose URL the receiver needs.
    pub share: Arc<ShareHandle>,
    /// The sender's side of the transfer.
    pub transfer: Arc<Transfer>,
}

/// The code generated from `src/tigress.udl` by `build.rs`: the `extern "C"` functions that the
/// bindings call, which lift their arguments, call the types above and lower the results.
#[allow(unsafe_code, missing_docs, unreachable_pub)]
mod scaffolding {
    use super::*;

    uniffi::include_scaffolding!("tigress");
}

// The generated trait impls name the crate's FFI tag by its path at the crate root.
#[doc(hidden)]
pub use scaffolding::UniFfiTag;
