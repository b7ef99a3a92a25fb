//! The sharing lifecycle above the relay, for any vertical: what a shared key may do (a signed
//! [`Profile`]), passing it on (a chain of [`Grant`]s back to the owner), taking it back (the
//! owner's [`Termination`], which covers every key passed on below), and what the holder signs
//! back ([`Provisioned`], [`Deleted`]). Plain data and checks, without I/O; the statements
//! travel through Tigress mailboxes, which never see them in the clear. The rules are in
//! docs/LIFECYCLE.md.
#![warn(missing_docs)]

pub mod chain;
pub mod confirm;
pub mod profile;
pub mod signed;

pub use chain::{
    ChainError, Grant, GrantId, MAX_CHAIN, ReceiveError, Termination, Verified, check_received,
    verify_chain,
};
pub use confirm::{ConfirmError, Deleted, Provisioned, check_deleted, check_provisioned};
pub use profile::{Limit, Profile, Widening};
pub use signed::{BadSignature, Bytes, DeviceKey, PublicKey, Signed, Statement};
