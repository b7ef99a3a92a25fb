//! Attacks payload decoding with arbitrary bytes: as a JSON `Payload`, as base64 text for
//! `decode_lenient` and `Secret::from_base64`, and as `payload.data` for `Secret::open` under a
//! fixed key. Asserts nothing panics, that no payload the fuzzer builds opens (it does not know
//! the key), that base64 and secrets round-trip, and that the input sealed as plaintext opens to
//! itself and fails to open after any one bit of it is flipped.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use tigress_fuzz::{FixedRng, secret_128, secret_256};
use tigress_proto::aead::{Algorithm, decode_lenient};
use tigress_proto::wire::Payload;
use tigress_proto::{OpenError, Secret};

fuzz_target!(|data: &[u8]| {
    let secrets = [secret_128(), secret_256()];

    // A payload as the relay serves it.
    if let Ok(payload) = serde_json::from_slice::<Payload>(data) {
        for secret in &secrets {
            assert!(secret.open(&payload).is_err(), "a forged payload opened");
        }
        let json = serde_json::to_vec(&payload).expect("a payload serialises");
        let again: Payload = serde_json::from_slice(&json).expect("a serialised payload parses");
        assert!(again == payload, "a payload changed on a JSON round trip");
    }

    if let Ok(text) = std::str::from_utf8(data) {
        // `payload.data` in any base64 spelling.
        if let Some(bytes) = decode_lenient(text) {
            let canonical = STANDARD.encode(&bytes);
            assert!(decode_lenient(&canonical) == Some(bytes), "base64 does not round-trip");
        }
        for secret in &secrets {
            for algorithm in [Algorithm::Aes128Gcm, Algorithm::Aes256Gcm] {
                let payload = Payload { kind: algorithm.name().to_owned(), data: text.to_owned() };
                let opened = secret.open(&payload);
                if algorithm != secret.algorithm() {
                    assert_eq!(opened, Err(OpenError::KeyLengthMismatch));
                } else {
                    assert!(opened.is_err(), "a forged payload opened");
                }
            }
        }
        // A secret as typed or pasted (`--secret`, the URL fragment).
        if let Ok(secret) = Secret::from_base64(text) {
            let again = Secret::from_base64(&secret.to_base64()).expect("a rendered secret parses");
            assert!(
                again.algorithm() == secret.algorithm() && again.to_base64() == secret.to_base64(),
                "a secret changed on a round trip"
            );
        }
    }

    // The input as plaintext: it opens to itself, and not at all once altered.
    let mut rng = FixedRng::new(data.len() as u64);
    for secret in &secrets {
        let payload = secret.seal(data, &mut rng);
        assert_eq!(payload.kind, secret.algorithm().name());
        assert!(secret.open(&payload).as_deref() == Ok(data), "a sealed payload did not open");

        let mut blob = decode_lenient(&payload.data).expect("seal writes base64");
        // Nonce, ciphertext and tag.
        assert_eq!(blob.len(), 12 + data.len() + 16);
        // The input's first two bytes choose the bit, so every position gets its turn.
        let pick = u16::from_le_bytes([
            data.first().copied().unwrap_or(0),
            data.get(1).copied().unwrap_or(0),
        ]);
        let bit = usize::from(pick) % (blob.len() * 8);
        blob[bit / 8] ^= 1 << (bit % 8);
        let tampered = Payload { kind: payload.kind.clone(), data: STANDARD.encode(&blob) };
        assert_eq!(secret.open(&tampered), Err(OpenError::Undecryptable));
    }
});
