//! Device attestation by a key the platform holds: the app's [`DeviceAttester`] signs, the
//! library builds the token around the signature ([`tigress_client::tigress_attest`]).

use std::fmt;

use tigress_client::tigress_attest::{self, Binding, UnsignedToken};

use crate::TigressError;

/// The algorithm of an app's attestation key (`AttestationAlgorithm` in the bindings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttestationAlgorithm {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

/// The app's signer (`DeviceAttester` in the bindings, a callback interface).
pub trait DeviceAttester: Send + Sync {
    /// Signs `signing_input` with the platform's key: ES256 in DER or `r ‖ s`, EdDSA 64 bytes.
    fn sign(&self, signing_input: Vec<u8>) -> Result<Vec<u8>, TigressError>;
}

/// The SDK's [`tigress_client::Attester`] made of the app's signer and its key's id.
pub(crate) struct PlatformAttester {
    key_id: String,
    algorithm: tigress_attest::Algorithm,
    signer: Box<dyn DeviceAttester>,
}

impl PlatformAttester {
    pub(crate) fn new(
        key_id: String,
        algorithm: AttestationAlgorithm,
        signer: Box<dyn DeviceAttester>,
    ) -> Result<Self, TigressError> {
        if key_id.is_empty() {
            return Err(TigressError::invalid("key_id", "it must not be empty"));
        }
        let algorithm = match algorithm {
            AttestationAlgorithm::Es256 => tigress_attest::Algorithm::Es256,
            AttestationAlgorithm::EdDsa => tigress_attest::Algorithm::EdDsa,
        };
        Ok(Self { key_id, algorithm, signer })
    }
}

impl tigress_client::Attester for PlatformAttester {
    fn attest(&self, binding: &Binding<'_>, now: i64) -> Result<String, String> {
        let unsigned = UnsignedToken::new(&self.key_id, self.algorithm, binding, now);
        let signature =
            self.signer.sign(unsigned.signing_input().to_vec()).map_err(|e| e.to_string())?;
        unsigned.finish(&signature).map_err(|e| format!("the attester's signature: {e}"))
    }
}

impl fmt::Debug for PlatformAttester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformAttester").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}
