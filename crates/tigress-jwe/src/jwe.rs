//! Compact JWE (RFC 7516) with `ECDH-ES` or `ECDH-ES+A256KW` on P-256 and `A256GCM` (RFC 7518
//! sections 4.6 and 5.3), and the binding of a sealed value to its share and field.
//!
//! The protected header is `{"alg", "enc", "kid", "epk", "tigress": {"share", "ptr"}}`. It is the
//! AEAD's associated data (RFC 7516 section 5.1 step 14), so the share and the field it names are
//! authenticated with the value: a value cut from one share and pasted into another, or moved to
//! another field, no longer matches what its recipient expects, and one whose header was altered
//! no longer decrypts.

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdh::diffie_hellman;
use p256::{PublicKey, SecretKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::jwk::{JwkError, Members, PrivateJwk, PublicJwk};

/// The longest sealed value opened (its compact form): a credential's field, with room.
pub const MAX_SEALED: usize = 64 * 1024;

/// The longest protected header decoded.
const MAX_HEADER: usize = 4096;

const ENC: &str = "A256GCM";

/// How the content key reaches the recipient (RFC 7518 section 4.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `ECDH-ES`: the agreed key is the content key (direct key agreement).
    EcdhEs,
    /// `ECDH-ES+A256KW`: the agreed key wraps a random content key (AES key wrap).
    EcdhEsA256Kw,
}

impl Algorithm {
    /// Its `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdhEs => "ECDH-ES",
            Self::EcdhEsA256Kw => "ECDH-ES+A256KW",
        }
    }

    fn of(name: &str) -> Option<Self> {
        match name {
            "ECDH-ES" => Some(Self::EcdhEs),
            "ECDH-ES+A256KW" => Some(Self::EcdhEsA256Kw),
            _ => None,
        }
    }
}

/// What a sealed value is bound to: the share (its mailbox id) and the field's JSON Pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The share the value travels in, as both its sender and its recipient name it (the
    /// mailbox id, where the flow knows it before sealing).
    pub share: &'a str,
    /// The field: a JSON Pointer (RFC 6901) into the Provisioning Information.
    pub pointer: &'a str,
}

/// Why a sealed value could not be opened. Nothing of the plaintext is in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Longer than [`MAX_SEALED`].
    #[error("the sealed value is longer than {MAX_SEALED} bytes")]
    TooLong,
    /// Not five base64url parts, or a part of the wrong size, or a header that is not ours.
    #[error("not a sealed value: {0}")]
    Malformed(String),
    /// An `alg` other than the two accepted.
    #[error("unsupported key management algorithm `{0}`")]
    Algorithm(String),
    /// An `enc` other than `A256GCM`.
    #[error("unsupported content encryption `{0}`")]
    Encryption(String),
    /// Sealed for another key.
    #[error("sealed for key `{0}`, not this one")]
    OtherKey(String),
    /// The ephemeral key is not a P-256 point.
    #[error("the ephemeral key is refused: {0}")]
    EphemeralKey(JwkError),
    /// Bound to another share: cut from one share and pasted into this one.
    #[error("sealed for another share")]
    OtherShare,
    /// Bound to another field: moved within the share.
    #[error("sealed for the field {0}, not this one")]
    OtherField(String),
    /// The content key does not unwrap or the content does not decrypt: altered in transit.
    #[error("the sealed value was altered, or truncated")]
    Tampered,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    enc: String,
    kid: String,
    epk: Members,
    tigress: BindingMembers,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingMembers {
    share: String,
    ptr: String,
}

/// Seals `plaintext` for `recipient`, bound to `binding`, as a compact JWE.
pub fn seal(
    rng: &mut (impl RngCore + CryptoRng),
    plaintext: &[u8],
    recipient: &PublicJwk,
    algorithm: Algorithm,
    binding: Binding<'_>,
) -> String {
    let ephemeral = SecretKey::random(rng);
    let agreed = agree(&ephemeral, &recipient.key);
    let (cek, encrypted_key) = match algorithm {
        Algorithm::EcdhEs => (concat_kdf(agreed.as_ref(), ENC, b"", b"", 256), Vec::new()),
        Algorithm::EcdhEsA256Kw => {
            let kek = concat_kdf(agreed.as_ref(), algorithm.name(), b"", b"", 256);
            let mut cek = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(cek.as_mut());
            let kek = aes_kw::KekAes256::from(<[u8; 32]>::try_from(&kek[..]).expect("32 bytes"));
            let wrapped = kek.wrap_vec(cek.as_ref()).expect("a 32-byte key wraps");
            (Zeroizing::new(cek.to_vec()), wrapped)
        }
    };
    let header = Header {
        alg: algorithm.name().into(),
        enc: ENC.into(),
        kid: recipient.kid.clone(),
        epk: Members::of(&ephemeral.public_key(), None),
        tigress: BindingMembers { share: binding.share.into(), ptr: binding.pointer.into() },
    };
    let protected = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("a header encodes"));
    let mut iv = [0u8; 12];
    rng.fill_bytes(&mut iv);
    let cipher = Aes256Gcm::new_from_slice(&cek).expect("a 32-byte key");
    let sealed = cipher
        .encrypt(Nonce::from_slice(&iv), Payload { msg: plaintext, aad: protected.as_bytes() })
        .expect("AES-GCM encrypts any length a field has");
    let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
    [
        protected,
        URL_SAFE_NO_PAD.encode(encrypted_key),
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag),
    ]
    .join(".")
}

/// What a sealed value says of itself without opening it: for whom and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The recipient key's `kid`.
    pub kid: String,
    /// The key management algorithm.
    pub algorithm: Algorithm,
    /// The share it is bound to.
    pub share: String,
    /// The field it is bound to.
    pub pointer: String,
}

/// Reads a sealed value's header, with every check but the recipient's key.
pub fn inspect(compact: &str) -> Result<Envelope, OpenError> {
    let (header, algorithm) = checked_header(&Parts::split(compact)?)?;
    header.epk.point().map_err(OpenError::EphemeralKey)?;
    Ok(Envelope {
        kid: header.kid,
        algorithm,
        share: header.tigress.share,
        pointer: header.tigress.ptr,
    })
}

/// The header, with its `alg` and `enc` checked.
fn checked_header(parts: &Parts<'_>) -> Result<(Header, Algorithm), OpenError> {
    let header = parts.header()?;
    let algorithm =
        Algorithm::of(&header.alg).ok_or_else(|| OpenError::Algorithm(cut(&header.alg)))?;
    if header.enc != ENC {
        return Err(OpenError::Encryption(cut(&header.enc)));
    }
    Ok((header, algorithm))
}

/// Opens a sealed value with `key`, which must be the one it names, bound to `expected`.
pub fn open(compact: &str, key: &PrivateJwk, expected: Binding<'_>) -> Result<Vec<u8>, OpenError> {
    let parts = Parts::split(compact)?;
    let (header, algorithm) = checked_header(&parts)?;
    if header.kid != key.kid {
        return Err(OpenError::OtherKey(cut(&header.kid)));
    }
    if header.tigress.share != expected.share {
        return Err(OpenError::OtherShare);
    }
    if header.tigress.ptr != expected.pointer {
        return Err(OpenError::OtherField(cut(&header.tigress.ptr)));
    }
    let ephemeral = header.epk.point().map_err(OpenError::EphemeralKey)?;
    let encrypted_key = parts.decode(1, "encrypted key")?;
    let (iv, ciphertext, tag) =
        (parts.decode(2, "iv")?, parts.decode(3, "ciphertext")?, parts.decode(4, "tag")?);
    if iv.len() != 12 || tag.len() != 16 {
        return Err(OpenError::Malformed("an iv of 12 bytes and a tag of 16".into()));
    }
    let agreed = agree(&key.secret, &ephemeral);
    let cek = match algorithm {
        Algorithm::EcdhEs => {
            if !encrypted_key.is_empty() {
                return Err(OpenError::Malformed("ECDH-ES has no encrypted key".into()));
            }
            concat_kdf(agreed.as_ref(), ENC, b"", b"", 256)
        }
        Algorithm::EcdhEsA256Kw => {
            if encrypted_key.len() != 40 {
                return Err(OpenError::Malformed("a wrapped key of 40 bytes".into()));
            }
            let kek = concat_kdf(agreed.as_ref(), algorithm.name(), b"", b"", 256);
            let kek = aes_kw::KekAes256::from(<[u8; 32]>::try_from(&kek[..]).expect("32 bytes"));
            Zeroizing::new(kek.unwrap_vec(&encrypted_key).map_err(|_| OpenError::Tampered)?)
        }
    };
    let cipher = Aes256Gcm::new_from_slice(&cek).map_err(|_| OpenError::Tampered)?;
    let mut sealed = ciphertext;
    sealed.extend_from_slice(&tag);
    cipher
        .decrypt(Nonce::from_slice(&iv), Payload { msg: &sealed, aad: parts.protected.as_bytes() })
        .map_err(|_| OpenError::Tampered)
}

/// The five parts of a compact JWE.
struct Parts<'a> {
    protected: &'a str,
    all: [&'a str; 5],
}

impl<'a> Parts<'a> {
    fn split(compact: &'a str) -> Result<Self, OpenError> {
        if compact.len() > MAX_SEALED {
            return Err(OpenError::TooLong);
        }
        let parts: Vec<&str> = compact.split('.').collect();
        let all: [&str; 5] = parts
            .try_into()
            .map_err(|_| OpenError::Malformed("a compact JWE has five parts".into()))?;
        Ok(Self { protected: all[0], all })
    }

    fn header(&self) -> Result<Header, OpenError> {
        if self.protected.len() > MAX_HEADER {
            return Err(OpenError::Malformed("a protected header that long".into()));
        }
        let bytes = self.decode(0, "protected header")?;
        serde_json::from_slice(&bytes).map_err(|e| OpenError::Malformed(format!("header: {e}")))
    }

    fn decode(&self, index: usize, what: &str) -> Result<Vec<u8>, OpenError> {
        URL_SAFE_NO_PAD
            .decode(self.all[index])
            .map_err(|_| OpenError::Malformed(format!("the {what} is not base64url")))
    }
}

/// The shared secret Z: the x-coordinate of the ECDH product (RFC 7518 section 4.6.2).
fn agree(secret: &SecretKey, public: &PublicKey) -> Zeroizing<[u8; 32]> {
    let shared = diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
    Zeroizing::new((*shared.raw_secret_bytes()).into())
}

/// The Concat KDF of NIST SP 800-56A as RFC 7518 section 4.6.2 uses it, for up to 256 bits (one round
/// of SHA-256): `AlgorithmID` is `alg` (or `enc` for direct agreement), `PartyUInfo` and
/// `PartyVInfo` are `apu` and `apv` (empty unless given), `SuppPubInfo` is the key's length in
/// bits.
pub(crate) fn concat_kdf(
    z: &[u8],
    algorithm_id: &str,
    apu: &[u8],
    apv: &[u8],
    bits: u32,
) -> Zeroizing<Vec<u8>> {
    assert!(bits <= 256 && bits % 8 == 0, "one round of SHA-256");
    let length_prefixed = |data: &[u8]| {
        let mut out = u32::try_from(data.len()).expect("short").to_be_bytes().to_vec();
        out.extend_from_slice(data);
        out
    };
    let mut hash = Sha256::new();
    hash.update(1u32.to_be_bytes());
    hash.update(z);
    hash.update(length_prefixed(algorithm_id.as_bytes()));
    hash.update(length_prefixed(apu));
    hash.update(length_prefixed(apv));
    hash.update(bits.to_be_bytes());
    let digest = hash.finalize();
    Zeroizing::new(digest[..(bits / 8) as usize].to_vec())
}

fn cut(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;

    /// RFC 7518 Appendix C: Alice's ephemeral key and Bob's key agree on Z, and the Concat KDF
    /// with `A128GCM`, apu "Alice" and apv "Bob" derives `VqqN6vgjbSBcIijNcacQGg`.
    #[test]
    fn the_rfc_7518_appendix_c_example_derives_its_key() {
        let alice = r#"{"kty":"EC","crv":"P-256","kid":"alice",
            "x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
            "y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
            "d":"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"}"#;
        let bob = r#"{"kty":"EC","crv":"P-256","kid":"bob",
            "x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
            "y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",
            "d":"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"}"#;
        let (alice, bob) = (PrivateJwk::parse(alice).unwrap(), PrivateJwk::parse(bob).unwrap());
        let z = agree(&alice.secret, &bob.public().key);
        assert_eq!(*z, *agree(&bob.secret, &alice.public().key));
        let key = concat_kdf(z.as_ref(), "A128GCM", b"Alice", b"Bob", 128);
        assert_eq!(URL_SAFE_NO_PAD.encode(&key[..]), "VqqN6vgjbSBcIijNcacQGg");
    }

    /// RFC 3394 section 4.6: 256 bits of key data wrapped with a 256-bit key.
    #[test]
    fn aes_key_wrap_matches_rfc_3394() {
        let hex = |text: &str| -> Vec<u8> {
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
                .collect()
        };
        let kek: [u8; 32] = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
            .try_into()
            .unwrap();
        let data = hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
        let wrapped = aes_kw::KekAes256::from(kek).wrap_vec(&data).unwrap();
        assert_eq!(
            wrapped,
            hex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")
        );
    }

    fn key() -> PrivateJwk {
        PrivateJwk::generate(&mut OsRng, "issuer-1").unwrap()
    }

    const HERE: Binding<'static> = Binding {
        share: "5b1c0e9a-3f0d-4c7a-9a51-2b8e7d6c5f40",
        pointer: "/content/authorizationToken",
    };

    #[test]
    fn both_algorithms_round_trip_and_say_what_they_are() {
        let key = key();
        for algorithm in [Algorithm::EcdhEs, Algorithm::EcdhEsA256Kw] {
            let sealed = seal(&mut OsRng, b"\"room-412-token\"", &key.public(), algorithm, HERE);
            assert_eq!(open(&sealed, &key, HERE).unwrap(), b"\"room-412-token\"");
            let envelope = inspect(&sealed).unwrap();
            assert_eq!((envelope.kid.as_str(), envelope.algorithm), ("issuer-1", algorithm));
            assert_eq!(
                (envelope.share.as_str(), envelope.pointer.as_str()),
                (HERE.share, HERE.pointer)
            );
            assert!(!sealed.contains("room-412"));
        }
    }

    #[test]
    fn tampered_moved_readdressed_and_truncated_values_are_refused() {
        let key = key();
        let sealed = seal(&mut OsRng, b"\"token\"", &key.public(), Algorithm::EcdhEsA256Kw, HERE);
        let parts: Vec<&str> = sealed.split('.').collect();
        let with = |index: usize, part: &str| {
            let mut parts = parts.clone();
            parts[index] = part;
            parts.join(".")
        };
        let flip = |part: &str| {
            let mut bytes = URL_SAFE_NO_PAD.decode(part).unwrap();
            bytes[0] ^= 1;
            URL_SAFE_NO_PAD.encode(bytes)
        };
        assert_eq!(open(&with(3, &flip(parts[3])), &key, HERE), Err(OpenError::Tampered));
        assert_eq!(open(&with(1, &flip(parts[1])), &key, HERE), Err(OpenError::Tampered));
        assert_eq!(
            open(&with(4, &parts[4][..10]), &key, HERE)
                .map_err(|e| matches!(e, OpenError::Malformed(_))),
            Err(true)
        );
        assert!(matches!(open(&parts[..4].join("."), &key, HERE), Err(OpenError::Malformed(_))));
        let moved = Binding { pointer: "/content/roomNumber", ..HERE };
        assert_eq!(open(&sealed, &key, moved), Err(OpenError::OtherField(HERE.pointer.into())));
        let pasted = Binding { share: "0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40", ..HERE };
        assert_eq!(open(&sealed, &key, pasted), Err(OpenError::OtherShare));
        let other = PrivateJwk::generate(&mut OsRng, "issuer-2").unwrap();
        assert_eq!(open(&sealed, &other, HERE), Err(OpenError::OtherKey("issuer-1".into())));
        // The same kid on another key: the agreement differs, the key does not unwrap.
        let impostor = PrivateJwk::generate(&mut OsRng, "issuer-1").unwrap();
        assert_eq!(open(&sealed, &impostor, HERE), Err(OpenError::Tampered));
        // A header re-encoded to move the value: the AAD changes, and decryption fails.
        let header = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let rebound = URL_SAFE_NO_PAD.encode(header.replace("authorizationToken", "roomNumber"));
        assert_eq!(open(&with(0, &rebound), &key, moved), Err(OpenError::Tampered));
        assert_eq!(open(&"a".repeat(MAX_SEALED + 1), &key, HERE), Err(OpenError::TooLong));
    }

    #[test]
    fn unknown_algorithms_curves_and_points_are_refused() {
        let key = key();
        let sealed = seal(&mut OsRng, b"1", &key.public(), Algorithm::EcdhEs, HERE);
        let parts: Vec<&str> = sealed.split('.').collect();
        let header = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let rewrite = |from: &str, to: &str| {
            let mut rebuilt = parts.clone();
            let header = URL_SAFE_NO_PAD.encode(header.replace(from, to));
            rebuilt[0] = &header;
            open(&rebuilt.join("."), &key, HERE)
        };
        assert_eq!(
            rewrite("\"ECDH-ES\"", "\"RSA-OAEP\""),
            Err(OpenError::Algorithm("RSA-OAEP".into()))
        );
        assert_eq!(
            rewrite("A256GCM", "A128CBC-HS256"),
            Err(OpenError::Encryption("A128CBC-HS256".into()))
        );
        assert!(matches!(
            rewrite("P-256", "P-384"),
            Err(OpenError::EphemeralKey(JwkError::Curve(_)))
        ));
        let x = header.split("\"x\":\"").nth(1).unwrap()[..43].to_owned();
        // Another last character, whatever it was: (x', y) is then not on the curve.
        let last = if x.ends_with('A') { "B" } else { "A" };
        let off_curve = format!("{}{last}", &x[..42]);
        assert!(matches!(rewrite(&x, &off_curve), Err(OpenError::EphemeralKey(_))));
        assert!(matches!(
            rewrite("\"kid\"", "\"crit\":[\"x\"],\"kid\""),
            Err(OpenError::Malformed(_))
        ));
    }
}
