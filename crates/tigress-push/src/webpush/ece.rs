//! Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188).
//!
//! The body is one record: the header `salt (16) || rs (4) || idlen (1) || keyid (65)`, where
//! keyid is the sender's ephemeral public key, then the AES-128-GCM ciphertext of
//! `plaintext || 0x02` (the last-record delimiter, no padding).

use aes_gcm::aead::{Aead as _, KeyInit as _};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use rand_core::CryptoRngCore;
use sha2::Sha256;

/// The record size written in the header. One record holds the whole message, which must leave
/// room for the delimiter and the tag.
const RECORD_SIZE: u32 = 0x1000;

/// The delimiter ending the last (here, only) record (RFC 8188 §2).
const LAST_RECORD: u8 = 0x02;

/// The AES-GCM tag length.
const TAG_LEN: usize = 16;

/// Length of an uncompressed P-256 point.
const POINT_LEN: u8 = 65;

/// The subscription's keys: the user agent's public key and its authentication secret.
pub(crate) struct Receiver {
    pub(crate) public: PublicKey,
    pub(crate) auth: [u8; 16],
}

/// The message is too long for one record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooLong;

/// Encrypts `plaintext` for `receiver` with a fresh ephemeral key and salt from `rng`.
pub(crate) fn encrypt(
    plaintext: &[u8],
    receiver: &Receiver,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, TooLong> {
    let ephemeral = SecretKey::random(rng);
    let mut salt = [0; 16];
    rng.fill_bytes(&mut salt);
    encrypt_with(plaintext, receiver, &ephemeral, salt)
}

/// [`encrypt`] with the ephemeral key and salt given, so the RFC's example can be replayed.
fn encrypt_with(
    plaintext: &[u8],
    receiver: &Receiver,
    ephemeral: &SecretKey,
    salt: [u8; 16],
) -> Result<Vec<u8>, TooLong> {
    if plaintext.len() + 1 + TAG_LEN > RECORD_SIZE as usize {
        return Err(TooLong);
    }
    let ua_public = receiver.public.to_encoded_point(false);
    let as_public = ephemeral.public_key().to_encoded_point(false);
    let shared =
        p256::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), receiver.public.as_affine());

    // RFC 8291 §3.3: the input keying material mixes in the auth secret and both public keys.
    let mut key_info = b"WebPush: info\x00".to_vec();
    key_info.extend_from_slice(ua_public.as_bytes());
    key_info.extend_from_slice(as_public.as_bytes());
    let mut ikm = [0; 32];
    expand(
        &Hkdf::<Sha256>::new(Some(&receiver.auth), shared.raw_secret_bytes()),
        &key_info,
        &mut ikm,
    );

    // RFC 8188 §2.2 and §2.3: the content-encryption key and nonce come from the salt.
    let prk = Hkdf::<Sha256>::new(Some(&salt), &ikm);
    let mut cek = [0; 16];
    expand(&prk, b"Content-Encoding: aes128gcm\x00", &mut cek);
    let mut nonce = [0; 12];
    // The first record's sequence number is 0, so its nonce is the derived one unchanged.
    expand(&prk, b"Content-Encoding: nonce\x00", &mut nonce);

    let mut record = Vec::with_capacity(plaintext.len() + 1);
    record.extend_from_slice(plaintext);
    record.push(LAST_RECORD);
    let cipher = Aes128Gcm::new(&cek.into());
    // The length check above keeps the record far below AES-GCM's limit.
    let ciphertext =
        cipher.encrypt(Nonce::from_slice(&nonce), record.as_slice()).map_err(|_| TooLong)?;

    let mut body = Vec::with_capacity(16 + 4 + 1 + 65 + ciphertext.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(POINT_LEN);
    body.extend_from_slice(as_public.as_bytes());
    body.extend_from_slice(&ciphertext);
    Ok(body)
}

/// HKDF-Expand into `out`.
fn expand(prk: &Hkdf<Sha256>, info: &[u8], out: &mut [u8]) {
    // Safe: every output here is at most 32 bytes, far below HKDF-SHA-256's 8160-byte limit.
    prk.expand(info, out).expect("HKDF output length within the limit");
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(value: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(value).unwrap()
    }

    /// RFC 8291 §5 and Appendix A: the example message, byte for byte.
    #[test]
    fn reproduces_the_rfc_8291_example() {
        let receiver = Receiver {
            public: PublicKey::from_sec1_bytes(&b64(
                "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            ))
            .unwrap(),
            auth: b64("BTBZMqHH6r4Tts7J_aSIgg").try_into().unwrap(),
        };
        let ephemeral =
            SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).unwrap();
        let salt = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();

        let body =
            encrypt_with(b"When I grow up, I want to be a watermelon", &receiver, &ephemeral, salt)
                .unwrap();

        assert_eq!(
            URL_SAFE_NO_PAD.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInm\
             YWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNW\
             QexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn fresh_key_and_salt_for_every_message() {
        let secret = SecretKey::random(&mut rand_core::OsRng);
        let receiver = Receiver { public: secret.public_key(), auth: [7; 16] };
        let one = encrypt(b"{}", &receiver, &mut rand_core::OsRng).unwrap();
        let two = encrypt(b"{}", &receiver, &mut rand_core::OsRng).unwrap();
        assert_eq!(one.len(), 16 + 4 + 1 + 65 + 2 + 1 + 16);
        assert_ne!(one[..16], two[..16], "salt");
        assert_ne!(one[21..86], two[21..86], "ephemeral key");
    }

    #[test]
    fn refuses_a_message_longer_than_one_record() {
        let secret = SecretKey::random(&mut rand_core::OsRng);
        let receiver = Receiver { public: secret.public_key(), auth: [7; 16] };
        let long = vec![b'x'; RECORD_SIZE as usize];
        assert_eq!(encrypt(&long, &receiver, &mut rand_core::OsRng), Err(TooLong));
    }
}
