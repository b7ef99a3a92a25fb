//! The stateful share of a car key, format `digitalwallet.carkey.ccc`, vertical `c`, with its
//! lifecycle (docs/LIFECYCLE.md).
//!
//! The share is four messages through a Tigress transfer, with the signed statements of
//! [`tigress_lifecycle`]:
//!
//! 1. **Invitation** (sharer → friend): the profile offered (role, validity, the vehicle, its
//!    entitlements and speed limit, how deep it may be passed on), the owner's public key, and,
//!    when the sharer passes on a key it holds, its own chain. It travels as the share's first
//!    message, so the share's secret authenticates it.
//! 2. **Key-creation request** (friend → sharer): the friend's device makes a key pair and
//!    sends its public key.
//! 3. **Grant** (sharer → friend): the whole chain, ending with the sharer's signed grant of
//!    the offered profile to the friend's key. The friend's device checks the chain, that the
//!    grant is for its own key and that it grants exactly what was offered; only then does it
//!    hold the key.
//! 4. **Provisioned** (friend → sharer): the friend's device signs, with its new key, that it
//!    holds it. Only this says the key arrived.
//!
//! Taking a key back is a second share from the owner: a signed **termination** of a grant
//! (which covers every key passed on from it), answered by the holder's signed **proof of
//! deletion**. A [`Vehicle`] checks a key's chain, the owner's terminations, the vehicle and
//! the entitlement asked for.
//!
//! [`steps`] holds the messages and the checks, without I/O; [`flow`] drives the roles over a
//! [`tigress_client::Transfer`]. It models the shape of the exchange, not the CCC
//! specification's binary formats, and it does not talk to a real vehicle.
#![warn(missing_docs)]

pub mod flow;
pub mod steps;
pub mod vehicle;

pub use flow::{
    ExchangeError, FriendEvent, Offering, SharerEvent, TerminationShare, accept,
    answer_termination, offer, send_termination,
};
pub use steps::{CarKeyError, HeldKey, Sharer, Step, VehiclePart, car_profile};
pub use vehicle::{Admitted, Refusal, Vehicle, open_part};
