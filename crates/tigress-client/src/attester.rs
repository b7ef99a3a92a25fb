//! Who makes a create's device attestation (`Mailbox-Device-Attestation`): a device maker's key
//! held in this process ([`SigningKey`]), or a key the platform holds and only signs with (a
//! phone's keystore or secure enclave), behind this trait.

use tigress_attest::{Binding, SigningKey};

/// Makes the attestation token of one create request.
pub trait Attester: Send + Sync {
    /// The token for the create `binding`, made at `now` (Unix seconds), or why none could be
    /// made (the platform refused to sign, say). Tokens are single-use: make a new one each time.
    fn attest(&self, binding: &Binding<'_>, now: i64) -> Result<String, String>;
}

impl Attester for SigningKey {
    fn attest(&self, binding: &Binding<'_>, now: i64) -> Result<String, String> {
        Ok(self.issue(binding, now))
    }
}
