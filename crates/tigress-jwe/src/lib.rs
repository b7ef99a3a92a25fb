//! Field-level encryption: members of a credential's Provisioning Information sealed for a
//! third party (its issuer: a car maker's server, a hotel's property system, a lock vendor's
//! cloud), so that the receiving device carries them but cannot read them (docs/MESSAGES.md,
//! "Sealed fields"; docs/SECURITY.md).
//!
//! A sealed value is a compact JWE (RFC 7516) for the recipient's P-256 key, with `ECDH-ES` or
//! `ECDH-ES+A256KW` and `A256GCM` (RFC 7518), whose protected header binds it to the share and
//! the field ([`jwe`]); keys are JWKs with a `kid` ([`jwk`]); [`fields`] seals and opens members
//! named by JSON Pointers (RFC 6901), all of them or none. Built on the RustCrypto crates already
//! in the tree (`p256`, `aes-gcm`, `sha2`) and `aes-kw`, checked against the RFCs' published
//! examples and an independent implementation (Python's `jwcrypto`). Randomness comes in as an
//! argument; no I/O.

pub mod fields;
pub mod jwe;
pub mod jwk;

pub use fields::{FieldError, SealedField, seal_fields, sealed_fields, unseal_fields};
pub use jwe::{Algorithm, Binding, Envelope, OpenError, inspect, open, seal};
pub use jwk::{JwkError, PrivateJwk, PublicJwk};
