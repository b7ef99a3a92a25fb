//! What the fuzz targets share: a fixed secret of each size and a deterministic random number
//! generator, so that a crash input replays to the very same nonces and ciphertexts.

use rand_core::{CryptoRng, RngCore};
use tigress_proto::Secret;

/// A fixed 16-byte secret (`AEAD_AES_128_GCM`). Fuzz inputs are never sealed under a random key:
/// a crash must replay byte for byte.
pub fn secret_128() -> Secret {
    Secret::from_base64("AAECAwQFBgcICQoLDA0ODw==").expect("16 bytes of base64")
}

/// A fixed 32-byte secret (`AEAD_AES_256_GCM`).
pub fn secret_256() -> Secret {
    Secret::from_base64("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=").expect("32 bytes of base64")
}

/// A splitmix64 stream. Not a cryptographic generator: the APIs under test take `CryptoRng` only
/// to draw nonces and ids, and in a fuzz run those must be reproducible rather than secret.
pub struct FixedRng(u64);

impl FixedRng {
    /// A stream that starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        // The high half of a splitmix64 output is as well mixed as the whole.
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// Only for fuzzing: see [`FixedRng`].
impl CryptoRng for FixedRng {}
