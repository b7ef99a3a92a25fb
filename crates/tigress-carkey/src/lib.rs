//! The stateful share of a car key, format `digitalwallet.carkey.ccc`, vertical `c`.
//!
//! It models the exchange of a Car Connectivity Consortium Digital Key share in four messages
//! through a Tigress transfer, with real Ed25519 signatures and real checks:
//!
//! 1. **Invitation** (owner → friend): the vehicle, the entitlements offered, the validity, and
//!    the owner's public key. It travels as the share's first message, so the share's secret
//!    authenticates it.
//! 2. **Key-creation request** (friend → owner): the friend's device makes a key pair and sends
//!    its public key.
//! 3. **Signed key** (owner → friend): the owner's key signs a certificate binding the friend's
//!    public key to the vehicle, the entitlements and the validity. The friend's device checks the
//!    signature against the invitation's owner key and that the certificate grants what was
//!    offered, to its own key; it then holds a provisioned key.
//! 4. **Done** (friend → owner): the friend's device signs the certificate with its new key. The
//!    owner checks it and deletes the mailbox; only this says the key arrived (a mailbox that
//!    vanished says nothing, docs/SECURITY.md). A friend whose owner does not come back deletes
//!    the mailbox itself.
//!
//! [`cert`] holds the messages and the cryptography, without I/O; [`flow`] drives both roles
//! over a [`tigress_client::Transfer`]. It models the shape of the exchange, not the CCC
//! specification's binary formats, and it does not talk to a vehicle.
#![warn(missing_docs)]

pub mod cert;
pub mod flow;

pub use cert::{
    CarKeyError, FriendKey, KeyCertificate, Offer, OwnerKey, ProvisionedKey, SignedKey, Step,
    verify_done,
};
pub use flow::{
    ExchangeError, FriendEvent, FriendOutcome, OwnerEvent, OwnerShare, accept_as_friend,
    offer_as_owner,
};
