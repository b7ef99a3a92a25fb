//! Compact JWTs signed with ES256 (APNs, VAPID) or RS256 (the FCM service account).
//!
//! Only signing lives here: the providers verify nothing, their servers do.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::Value;

/// A P-256 key signing JWTs with ES256 (ECDSA over SHA-256, `r || s` signature, RFC 7518 §3.4).
pub(crate) struct Es256 {
    key: p256::ecdsa::SigningKey,
}

impl Es256 {
    /// Reads a P-256 private key from PKCS#8 PEM or SEC1 PEM.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, &'static str> {
        let pem = normalize_pem(pem);
        let secret = p256::SecretKey::from_pkcs8_pem(&pem)
            .or_else(|_| p256::SecretKey::from_sec1_pem(&pem))
            .map_err(|_| "not a P-256 private key in PKCS#8 or SEC1 PEM")?;
        Ok(Self { key: p256::ecdsa::SigningKey::from(secret) })
    }

    /// The public key as an uncompressed point (65 bytes, `0x04 || x || y`).
    pub(crate) fn public_key_uncompressed(&self) -> Vec<u8> {
        self.key.verifying_key().to_encoded_point(false).as_bytes().to_vec()
    }

    /// Signs `claims` under `header`, which must name `"alg": "ES256"`.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let mut jwt = signing_input(header, claims);
        let signature: p256::ecdsa::Signature = self.key.sign(jwt.as_bytes());
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut jwt);
        jwt
    }
}

/// An RSA key signing JWTs with RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3).
///
/// Signing uses `ring`, whose RSA private-key operations run in constant time.
pub(crate) struct Rs256 {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl Rs256 {
    /// Reads an RSA private key (2048 bits or more) from PKCS#8 PEM or PKCS#1 PEM.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, &'static str> {
        let pem = normalize_pem(pem);
        let (label, der) = p256::pkcs8::der::SecretDocument::from_pem(&pem)
            .map_err(|_| "not a PEM private key")?;
        let key = match label {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(der.as_bytes()),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(der.as_bytes()),
            _ => return Err("not a PKCS#8 or PKCS#1 private key"),
        }
        .map_err(|_| "not an RSA private key of 2048 bits or more")?;
        Ok(Self { key, rng: SystemRandom::new() })
    }

    /// Signs `claims` under `header`, which must name `"alg": "RS256"`.
    ///
    /// Fails only if the system's random generator does (RSA blinding needs it).
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> Result<String, SigningFailed> {
        let mut jwt = signing_input(header, claims);
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, jwt.as_bytes(), &mut signature)
            .map_err(|_| SigningFailed)?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jwt);
        Ok(jwt)
    }
}

/// The system's random generator failed while signing.
#[derive(Debug)]
pub(crate) struct SigningFailed;

/// `base64url(header) "." base64url(claims)`, the part a JWS signature covers.
fn signing_input(header: &Value, claims: &Value) -> String {
    let mut input = URL_SAFE_NO_PAD.encode(header.to_string());
    input.push('.');
    URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut input);
    input
}

/// Turns literal `\n` sequences into line breaks, for a PEM pasted from a JSON key file as is.
fn normalize_pem(pem: &str) -> Cow<'_, str> {
    if pem.contains('\n') || !pem.contains("\\n") {
        return Cow::Borrowed(pem.trim());
    }
    Cow::Owned(pem.trim().replace("\\n", "\n"))
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::Verifier as _;
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    use serde_json::json;

    use super::*;

    fn test_key() -> p256::SecretKey {
        p256::SecretKey::random(&mut rand_core::OsRng)
    }

    fn split(jwt: &str) -> (Value, Value, Vec<u8>) {
        let parts: Vec<_> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "a compact JWS has three parts");
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).unwrap();
        let header = serde_json::from_slice(&decode(parts[0])).unwrap();
        let claims = serde_json::from_slice(&decode(parts[1])).unwrap();
        (header, claims, decode(parts[2]))
    }

    #[test]
    fn es256_jwt_verifies_with_the_public_key() {
        let secret = test_key();
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let signer = Es256::from_pem(&pem).unwrap();
        let header = json!({"alg": "ES256", "kid": "KEY"});
        let claims = json!({"iss": "TEAM", "iat": 1});
        let jwt = signer.sign(&header, &claims);

        let (got_header, got_claims, signature) = split(&jwt);
        assert_eq!((got_header, got_claims), (header, claims));
        let signature = p256::ecdsa::Signature::from_slice(&signature).unwrap();
        let message = &jwt[..jwt.rfind('.').unwrap()];
        let verifying = p256::ecdsa::VerifyingKey::from(secret.public_key());
        verifying.verify(message.as_bytes(), &signature).unwrap();
        assert_eq!(
            signer.public_key_uncompressed(),
            secret.public_key().to_encoded_point(false).as_bytes()
        );
    }

    #[test]
    fn reads_p256_keys_in_sec1_pem_and_with_escaped_line_breaks() {
        let secret = test_key();
        let sec1 = secret.to_sec1_pem(LineEnding::LF).unwrap();
        assert!(Es256::from_pem(&sec1).is_ok());
        let escaped = secret.to_pkcs8_pem(LineEnding::LF).unwrap().replace('\n', "\\n");
        assert!(Es256::from_pem(&escaped).is_ok());
    }

    #[test]
    fn rejects_keys_of_the_wrong_kind() {
        assert!(Es256::from_pem("").is_err());
        assert!(
            Es256::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
        let ec = test_key().to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(Rs256::from_pem(&ec).is_err(), "an EC key is not an RSA key");
        assert!(Rs256::from_pem("garbage").is_err());
    }
}
