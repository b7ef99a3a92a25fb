//! Device attestation for CreateMailbox (`Mailbox-Device-Attestation`), as Tigress defines it:
//! a compact JWS signed by a device maker's key (ES256 or EdDSA), bound to one create request,
//! fresh, and asserting that a user was present. The drafts leave the header's content to each
//! vendor; a relay whose operator trusts some makers' keys can require it ([`TrustedKeys`]), and
//! a device (or the CLI, for tests) makes it with a [`SigningKey`].
//!
//! The token's claims:
//!
//! | claim | value |
//! |---|---|
//! | `aud` | the relay's public base URL, e.g. `https://relay.example` |
//! | `htm`, `htu` | `POST` and the create's path, `/v1/m` or the relay's own segment: the one request it is for |
//! | `bdy` | base64url SHA-256 of the exact request body |
//! | `clm` | base64url SHA-256 of the sender's `Mailbox-Device-Claim` (lower-case UUID) |
//! | `rid` | base64url SHA-256 of the exact `Mailbox-Request-ID`; absent for a create without one |
//! | `iat` | Unix seconds when it was made |
//! | `up` | `true`: the user was present (the device maker's own check) |
//!
//! Binding the body and the claim means a token seen in transit or at the relay cannot be moved
//! onto any other mailbox: a different share has a different body. Binding the request id means
//! the same token cannot start a second create of the same body either: the relay remembers each
//! token it accepted until it goes stale ([`Verified::fresh_until`]) and refuses it for any other
//! request ([`AttestationError::Replayed`]), while the very same request sent again only repeats
//! that create (the relay answers a repeated `Mailbox-Request-ID` with the same mailbox).
//!
//! The request id travels as a digest, like the claim: a token is readable by whoever sees it
//! (a proxy's log, a crash report), and a request id with its claim is what asks the relay for a
//! create's answer again, so the token never carries either in the clear. A digest is also of
//! fixed size, whatever the id's length. No I/O here: the caller passes the time.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The longest token a relay reads; longer is refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 4096;
/// How old a token may be.
pub const MAX_AGE_SECONDS: i64 = 120;
/// How far ahead of the relay's clock a token's `iat` may be.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 30;

/// The request a token is for.
#[derive(Clone, Copy, Debug)]
pub struct Binding<'a> {
    /// The relay's public base URL, without a trailing slash.
    pub audience: &'a str,
    /// The create's path: `/v1/m`, or `/v1/{segment}` on a relay configured with another.
    pub path: &'a str,
    /// The sender's device claim, as sent (a UUID; compared lower-case).
    pub claim: &'a str,
    /// The exact bytes of the request body.
    pub body: &'a [u8],
    /// The request's `Mailbox-Request-ID` as sent (compared exactly), or `None` without one.
    pub request_id: Option<&'a str>,
}

/// What a token that passed [`TrustedKeys::verify`] tells the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified<'a> {
    /// The id of the trusted key that signed it: the device maker (tenant) it comes from.
    pub key_id: &'a str,
    /// The last second (Unix) at which the token is still fresh; a relay that remembers used
    /// tokens need not remember it longer (plus the clock skew between its relays).
    pub fresh_until: i64,
}

/// Why a token was refused. Each is a 401 at the relay, with its own code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// The relay requires attestation and the request has none.
    #[error("this relay requires a device attestation on create")]
    Missing,
    /// Not a well-formed token of a supported algorithm, or too long.
    #[error("the device attestation is not a well-formed ES256 or EdDSA token")]
    Malformed,
    /// Signed by a key the relay does not trust, or the signature does not verify.
    #[error("the device attestation is not signed by a trusted device maker")]
    Untrusted,
    /// Too old, or from the future.
    #[error("the device attestation is not fresh")]
    Stale,
    /// Made for another relay, request, body, claim or request id.
    #[error("the device attestation was made for another request")]
    Unbound,
    /// Already accepted for another create (the relay remembers tokens until they go stale);
    /// the device makes a new token for each create.
    #[error("the device attestation was already used for another create")]
    Replayed,
    /// It does not assert that a user was present.
    #[error("the device attestation does not assert user presence")]
    NoUserPresence,
}

impl AttestationError {
    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "attestation_required",
            Self::Malformed => "attestation_malformed",
            Self::Untrusted => "attestation_untrusted",
            Self::Stale => "attestation_stale",
            Self::Unbound => "attestation_unbound",
            Self::Replayed => "attestation_replayed",
            Self::NoUserPresence => "attestation_no_user_presence",
        }
    }
}

/// A key that cannot be read.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(&'static str);

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    aud: String,
    htm: String,
    htu: String,
    bdy: String,
    clm: String,
    /// Absent when the create has no request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rid: Option<String>,
    iat: i64,
    up: bool,
}

impl Claims {
    fn of(binding: &Binding<'_>, issued_at: i64) -> Self {
        Self {
            aud: binding.audience.trim_end_matches('/').to_owned(),
            htm: "POST".into(),
            htu: binding.path.to_owned(),
            bdy: digest(binding.body),
            clm: digest(binding.claim.to_ascii_lowercase().as_bytes()),
            rid: binding.request_id.map(|id| digest(id.as_bytes())),
            iat: issued_at,
            up: true,
        }
    }
}

fn digest(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

enum Signer {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

/// A device maker's private key, issuing tokens under its key id.
pub struct SigningKey {
    id: String,
    key: Signer,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.id)
    }
}

impl SigningKey {
    /// Reads a PKCS#8 PEM private key, P-256 (ES256) or Ed25519 (EdDSA).
    pub fn from_pkcs8_pem(id: impl Into<String>, pem: &str) -> Result<Self, KeyError> {
        let key = if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            Signer::Es256(key)
        } else if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            Signer::EdDsa(key)
        } else {
            return Err(KeyError("not a P-256 or Ed25519 private key in PKCS#8 PEM"));
        };
        Ok(Self { id: id.into(), key })
    }

    /// A token for the create request `binding`, made at `now` (Unix seconds).
    pub fn issue(&self, binding: &Binding<'_>, now: i64) -> String {
        self.sign_claims(&Claims::of(binding, now))
    }

    fn sign_claims(&self, claims: &Claims) -> String {
        let algorithm = match self.key {
            Signer::Es256(_) => Algorithm::Es256,
            Signer::EdDsa(_) => Algorithm::EdDsa,
        };
        let unsigned = UnsignedToken::with_claims(&self.id, algorithm, claims);
        let signature = match &self.key {
            Signer::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(unsigned.signing_input());
                signature.to_bytes().to_vec()
            }
            Signer::EdDsa(key) => key.sign(unsigned.signing_input()).to_bytes().to_vec(),
        };
        unsigned.with_raw_signature(&signature)
    }
}

/// The signature algorithm of a device maker's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256 (`ES256`).
    Es256,
    /// Ed25519 (`EdDSA`).
    EdDsa,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// A token for a key this crate does not hold: one in a phone's keystore or secure enclave,
/// which signs but never hands its private key out. The caller has the platform sign
/// [`UnsignedToken::signing_input`] and completes the token with [`UnsignedToken::finish`].
#[derive(Debug)]
pub struct UnsignedToken {
    algorithm: Algorithm,
    input: String,
}

impl UnsignedToken {
    /// The token for the create request `binding`, made at `now` (Unix seconds), to be signed
    /// by the key `key_id` of `algorithm`.
    pub fn new(key_id: &str, algorithm: Algorithm, binding: &Binding<'_>, now: i64) -> Self {
        Self::with_claims(key_id, algorithm, &Claims::of(binding, now))
    }

    fn with_claims(key_id: &str, algorithm: Algorithm, claims: &Claims) -> Self {
        let header = Header { alg: algorithm.name().into(), kid: key_id.to_owned() };
        let mut input = encode_json(&header);
        input.push('.');
        input.push_str(&encode_json(claims));
        Self { algorithm, input }
    }

    /// The bytes the key signs (the JWS signing input). For ES256 the platform hashes them
    /// with SHA-256 itself, as `SHA256withECDSA` on Android and
    /// `ecdsaSignatureMessageX962SHA256` on Apple platforms do.
    pub fn signing_input(&self) -> &[u8] {
        self.input.as_bytes()
    }

    /// The token, with the platform's `signature`. ES256: DER, as both platforms give it, or
    /// the 64 bytes `r ‖ s`; EdDSA: the 64 bytes. The signature is not verified here (the
    /// public key is the relay's to know), only its form.
    pub fn finish(self, signature: &[u8]) -> Result<String, KeyError> {
        let raw = match self.algorithm {
            Algorithm::Es256 => p256::ecdsa::Signature::from_der(signature)
                .or_else(|_| p256::ecdsa::Signature::from_slice(signature))
                .map_err(|_| KeyError("not an ES256 signature (DER or 64 bytes)"))?
                .to_bytes()
                .to_vec(),
            Algorithm::EdDsa if signature.len() == ed25519_dalek::SIGNATURE_LENGTH => {
                signature.to_vec()
            }
            Algorithm::EdDsa => return Err(KeyError("not an Ed25519 signature (64 bytes)")),
        };
        Ok(self.with_raw_signature(&raw))
    }

    /// The token with a signature already in the JWS form (`r ‖ s` for ES256).
    fn with_raw_signature(self, raw: &[u8]) -> String {
        let mut token = self.input;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(raw, &mut token);
        token
    }
}

fn encode_json(value: &impl Serialize) -> String {
    // Serialising these plain structs cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

enum Verifier {
    Es256(p256::ecdsa::VerifyingKey),
    EdDsa(ed25519_dalek::VerifyingKey),
}

/// The device makers' public keys a relay trusts, by key id.
#[derive(Default)]
pub struct TrustedKeys {
    keys: HashMap<String, Verifier>,
}

impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<_> = self.keys.keys().collect();
        ids.sort();
        f.debug_tuple("TrustedKeys").field(&ids).finish()
    }
}

impl TrustedKeys {
    /// No key yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the public key `pem` (SPKI PEM, P-256 or Ed25519) under `id`.
    pub fn add(&mut self, id: impl Into<String>, pem: &str) -> Result<(), KeyError> {
        let key = if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            Verifier::Es256(key)
        } else if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            Verifier::EdDsa(key)
        } else {
            return Err(KeyError("not a P-256 or Ed25519 public key in PEM"));
        };
        self.keys.insert(id.into(), key);
        Ok(())
    }

    /// How many keys are trusted.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks `token` for the create request `binding` at `now` (Unix seconds): a trusted
    /// signature first, then freshness, the binding and user presence. It does not know whether
    /// the token was used before: that is the caller's to remember.
    pub fn verify<'k>(
        &'k self,
        token: &str,
        binding: &Binding<'_>,
        now: i64,
    ) -> Result<Verified<'k>, AttestationError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AttestationError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AttestationError::Malformed);
        };
        let header: Header = decode_json(header)?;
        let signature =
            URL_SAFE_NO_PAD.decode(signature).map_err(|_| AttestationError::Malformed)?;
        let (key_id, key) =
            self.keys.get_key_value(&header.kid).ok_or(AttestationError::Untrusted)?;
        // The key decides the algorithm, never the token's header: a header naming another
        // algorithm than the key's (or `none`) is refused, so no algorithm can be swapped in.
        let signed = &token.as_bytes()[..token.len() - signature_text_len(token)];
        let verified = match (key, header.alg.as_str()) {
            (Verifier::Es256(key), "ES256") => p256::ecdsa::Signature::from_slice(&signature)
                .map_err(|_| AttestationError::Malformed)
                .map(|signature| key.verify(signed, &signature).is_ok())?,
            (Verifier::EdDsa(key), "EdDSA") => {
                let signature = ed25519_dalek::Signature::from_slice(&signature)
                    .map_err(|_| AttestationError::Malformed)?;
                key.verify_strict(signed, &signature).is_ok()
            }
            _ => return Err(AttestationError::Untrusted),
        };
        if !verified {
            return Err(AttestationError::Untrusted);
        }
        let claims: Claims = decode_json(claims)?;
        if claims.iat > now.saturating_add(MAX_CLOCK_SKEW_SECONDS)
            || claims.iat < now.saturating_sub(MAX_AGE_SECONDS)
        {
            return Err(AttestationError::Stale);
        }
        let expected = Claims::of(binding, claims.iat);
        let bound = claims.aud == expected.aud
            && claims.htm == expected.htm
            && claims.htu == expected.htu
            && claims.bdy == expected.bdy
            && claims.clm == expected.clm
            && claims.rid == expected.rid;
        if !bound {
            return Err(AttestationError::Unbound);
        }
        if !claims.up {
            return Err(AttestationError::NoUserPresence);
        }
        Ok(Verified { key_id, fresh_until: claims.iat.saturating_add(MAX_AGE_SECONDS) })
    }
}

/// A digest of `token` by which a relay remembers that it accepted it, without keeping the token.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::new().chain_update(b"tigress/attestation/v1\0").chain_update(token).finalize().into()
}

/// The length of the signature part and the dot before it.
fn signature_text_len(token: &str) -> usize {
    token.rsplit_once('.').map_or(0, |(_, signature)| signature.len() + 1)
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, AttestationError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| AttestationError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AttestationError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 2_000_000_000;
    const CLAIM: &str = "0E5B6A1C-3F0D-4C7A-9A51-2B8E7D6C5F40";

    fn binding(body: &[u8]) -> Binding<'_> {
        Binding {
            audience: "https://relay.example",
            path: "/v1/m",
            claim: CLAIM,
            body,
            request_id: None,
        }
    }

    /// A key pair of `algorithm`: the signer and a trust store holding its public key.
    fn maker(algorithm: &'static rcgen::SignatureAlgorithm, id: &str) -> (SigningKey, TrustedKeys) {
        let pair = rcgen::KeyPair::generate_for(algorithm).unwrap();
        let signer = SigningKey::from_pkcs8_pem(id, &pair.serialize_pem()).unwrap();
        let mut trusted = TrustedKeys::new();
        trusted.add(id, &pair.public_key_pem()).unwrap();
        (signer, trusted)
    }

    fn makers() -> Vec<(SigningKey, TrustedKeys)> {
        vec![
            maker(&rcgen::PKCS_ECDSA_P256_SHA256, "maker-es256"),
            maker(&rcgen::PKCS_ED25519, "maker-eddsa"),
        ]
    }

    #[test]
    fn a_token_verifies_for_its_own_request_only() {
        for (signer, trusted) in makers() {
            let body = br#"{"payload":{}}"#;
            let token = signer.issue(&binding(body), NOW);
            let verified = trusted.verify(&token, &binding(body), NOW).expect("verifies");
            assert_eq!(
                verified,
                Verified { key_id: &signer.id, fresh_until: NOW + MAX_AGE_SECONDS }
            );
            // The claim is compared without regard to case, as UUIDs are.
            let lower = Binding { claim: &CLAIM.to_lowercase(), ..binding(body) };
            assert!(trusted.verify(&token, &lower, NOW + 5).is_ok());
            let other_body = binding(br#"{"payload":{"x":1}}"#);
            assert_eq!(trusted.verify(&token, &other_body, NOW), Err(AttestationError::Unbound));
            let other_claim =
                Binding { claim: "1e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40", ..binding(body) };
            assert_eq!(trusted.verify(&token, &other_claim, NOW), Err(AttestationError::Unbound));
            let other_relay = Binding { audience: "https://other.example", ..binding(body) };
            let other_path = Binding { path: "/v1/mailbox", ..binding(body) };
            assert_eq!(trusted.verify(&token, &other_relay, NOW), Err(AttestationError::Unbound));
            assert_eq!(trusted.verify(&token, &other_path, NOW), Err(AttestationError::Unbound));
        }
    }

    /// Review finding: the request id was not bound, so one token could start any number of
    /// creates of the same body, each with its own request id.
    #[test]
    fn a_token_signed_by_a_platform_key_verifies_in_der_or_raw_form() {
        let body = b"{}";
        // An ES256 key whose signatures come back in DER, as Android's and Apple's do.
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let platform = p256::ecdsa::SigningKey::from_pkcs8_pem(&pair.serialize_pem()).unwrap();
        let mut trusted = TrustedKeys::new();
        trusted.add("phone", &pair.public_key_pem()).unwrap();
        for der in [true, false] {
            let unsigned = UnsignedToken::new("phone", Algorithm::Es256, &binding(body), NOW);
            let signature: p256::ecdsa::Signature = platform.sign(unsigned.signing_input());
            let bytes =
                if der { signature.to_der().as_bytes().to_vec() } else { signature.to_vec() };
            let token = unsigned.finish(&bytes).unwrap();
            let verified = trusted.verify(&token, &binding(body), NOW).unwrap();
            assert_eq!(verified.key_id, "phone", "der: {der}");
        }
        let unsigned = UnsignedToken::new("phone", Algorithm::Es256, &binding(body), NOW);
        assert!(unsigned.finish(&[0x30, 0x02, 0x01]).is_err(), "not a signature");
        let unsigned = UnsignedToken::new("phone", Algorithm::EdDsa, &binding(body), NOW);
        assert!(unsigned.finish(&[0; 63]).is_err(), "an Ed25519 signature has 64 bytes");
    }

    #[test]
    fn a_token_is_bound_to_its_request_id_or_to_having_none() {
        for (signer, trusted) in makers() {
            let with = |id| Binding { request_id: id, ..binding(b"{}") };
            let token = signer.issue(&with(Some("req-1")), NOW);
            assert!(trusted.verify(&token, &with(Some("req-1")), NOW).is_ok());
            for other in [Some("req-2"), Some("REQ-1"), Some("req-1 "), None] {
                assert_eq!(
                    trusted.verify(&token, &with(other), NOW),
                    Err(AttestationError::Unbound),
                    "{other:?}"
                );
            }
            // A token made without a request id is good only for a create without one.
            let bare = signer.issue(&with(None), NOW);
            assert!(trusted.verify(&bare, &with(None), NOW).is_ok());
            assert_eq!(
                trusted.verify(&bare, &with(Some("req-1")), NOW),
                Err(AttestationError::Unbound)
            );
            // The token carries a digest of the id, never the id itself.
            let claims = URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap();
            let claims = String::from_utf8(claims).unwrap();
            assert!(!claims.contains("req-1"), "{claims}");
            assert!(claims.contains(&format!("\"rid\":\"{}\"", digest(b"req-1"))), "{claims}");
            assert!(
                !String::from_utf8(
                    URL_SAFE_NO_PAD.decode(bare.split('.').nth(1).unwrap()).unwrap()
                )
                .unwrap()
                .contains("rid")
            );
        }
    }

    #[test]
    fn token_digests_tell_tokens_apart_and_hold_nothing_of_them() {
        let (signer, _) = maker(&rcgen::PKCS_ED25519, "maker");
        let one = signer.issue(&binding(b"{}"), NOW);
        let two = signer.issue(&binding(b"{}"), NOW + 1);
        assert_eq!(token_digest(&one), token_digest(&one));
        assert_ne!(token_digest(&one), token_digest(&two));
        assert_ne!(token_digest(&one), <[u8; 32]>::from(Sha256::digest(one.as_bytes())));
    }

    #[test]
    fn only_fresh_tokens_pass() {
        for (signer, trusted) in makers() {
            let token = signer.issue(&binding(b"{}"), NOW);
            assert!(trusted.verify(&token, &binding(b"{}"), NOW + MAX_AGE_SECONDS).is_ok());
            let late = NOW + MAX_AGE_SECONDS + 1;
            assert_eq!(trusted.verify(&token, &binding(b"{}"), late), Err(AttestationError::Stale));
            let early = NOW - MAX_CLOCK_SKEW_SECONDS - 1;
            assert_eq!(
                trusted.verify(&token, &binding(b"{}"), early),
                Err(AttestationError::Stale)
            );
        }
    }

    #[test]
    fn untrusted_keys_forged_signatures_and_swapped_algorithms_are_refused() {
        let [(es, es_trust), (ed, ed_trust)]: [_; 2] = makers().try_into().unwrap();
        let token = es.issue(&binding(b"{}"), NOW);
        assert_eq!(ed_trust.verify(&token, &binding(b"{}"), NOW), Err(AttestationError::Untrusted));
        // A key under a trusted id, but not the trusted key.
        let (impostor, _) = maker(&rcgen::PKCS_ECDSA_P256_SHA256, "maker-es256");
        let forged = impostor.issue(&binding(b"{}"), NOW);
        assert_eq!(
            es_trust.verify(&forged, &binding(b"{}"), NOW),
            Err(AttestationError::Untrusted)
        );
        // Claims changed after signing.
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let mut claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(rest.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        claims["iat"] = serde_json::json!(NOW + 1);
        let edited = format!("{head}.{}.{signature}", encode_json(&claims));
        assert_eq!(
            es_trust.verify(&edited, &binding(b"{}"), NOW),
            Err(AttestationError::Untrusted)
        );
        // The header names another algorithm than the key's, or none.
        for alg in ["EdDSA", "none", "HS256"] {
            let header = encode_json(&Header { alg: alg.into(), kid: "maker-es256".into() });
            let swapped = format!("{header}.{}", token.split_once('.').unwrap().1);
            assert_eq!(
                es_trust.verify(&swapped, &binding(b"{}"), NOW),
                Err(AttestationError::Untrusted),
                "{alg}"
            );
        }
        let ed_token = ed.issue(&binding(b"{}"), NOW);
        assert!(ed_trust.verify(&ed_token, &binding(b"{}"), NOW).is_ok());
    }

    #[test]
    fn user_presence_is_required() {
        let (signer, trusted) = maker(&rcgen::PKCS_ED25519, "maker");
        let mut claims = Claims::of(&binding(b"{}"), NOW);
        claims.up = false;
        let token = signer.sign_claims(&claims);
        assert_eq!(
            trusted.verify(&token, &binding(b"{}"), NOW),
            Err(AttestationError::NoUserPresence)
        );
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let (_, trusted) = maker(&rcgen::PKCS_ECDSA_P256_SHA256, "maker");
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        for token in ["", ".", "..", "a.b.c", "a.b.c.d", "e30.e30.", &long, "é.é.é"] {
            assert_eq!(
                trusted.verify(token, &binding(b"{}"), NOW),
                Err(AttestationError::Malformed),
                "{token:?}"
            );
        }
        let header = encode_json(&Header { alg: "ES256".into(), kid: "maker".into() });
        let short_signature = format!("{header}.e30.AAAA");
        assert_eq!(
            trusted.verify(&short_signature, &binding(b"{}"), NOW),
            Err(AttestationError::Malformed)
        );
    }

    #[test]
    fn keys_that_are_not_keys_are_refused() {
        assert!(SigningKey::from_pkcs8_pem("k", "not a key").is_err());
        assert!(
            TrustedKeys::new()
                .add("k", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .is_err()
        );
        // A private key is not a public key.
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        assert!(TrustedKeys::new().add("k", &pair.serialize_pem()).is_err());
    }
}
