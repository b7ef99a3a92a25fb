//! P-256 keys as JSON Web Keys (RFC 7517, RFC 7518 section 6.2): `{"kty": "EC", "crv": "P-256", "x",
//! "y", "kid"}`, and `d` for a private key. Every key has a `kid`, which a sealed value names so
//! that its recipient picks the key to open it with.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::{Coordinates, FromEncodedPoint as _, ToEncodedPoint as _};
use p256::{EncodedPoint, FieldBytes, PublicKey, SecretKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

/// The longest `kid` accepted.
const MAX_KID: usize = 128;

/// The longest JWK text read: a P-256 key is about 250 bytes.
pub(crate) const MAX_JWK: usize = 4096;

/// Why a JWK was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    /// Not a JSON object of the JWK members, or too long.
    #[error("not a JWK: {0}")]
    Malformed(String),
    /// `kty` is not `EC`.
    #[error("unsupported key type `{0}`: only EC keys on P-256")]
    KeyType(String),
    /// `crv` is not `P-256`.
    #[error("unsupported curve `{0}`: only P-256")]
    Curve(String),
    /// A coordinate or the private scalar is not 32 bytes of base64url.
    #[error("`{0}` is not 32 bytes of base64url")]
    Coordinate(&'static str),
    /// `x` and `y` are not a point on P-256.
    #[error("the point is not on the P-256 curve")]
    OffCurve,
    /// `d` is not a valid private key, or not the one of `x` and `y`.
    #[error("the private key `d` does not match the public key")]
    Mismatch,
    /// No `kid`, or an empty or too long one.
    #[error("a key needs a `kid` of 1 to {MAX_KID} characters")]
    Kid,
    /// A private key where a public one was expected, or the reverse.
    #[error("{0}")]
    Kind(&'static str),
}

/// The members of a JWK as they travel.
#[derive(Serialize, Deserialize)]
pub(crate) struct Members {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

impl Members {
    /// The public point, checked to be on the curve.
    pub(crate) fn point(&self) -> Result<PublicKey, JwkError> {
        if self.kty != "EC" {
            return Err(JwkError::KeyType(truncate(&self.kty)));
        }
        if self.crv != "P-256" {
            return Err(JwkError::Curve(truncate(&self.crv)));
        }
        let (x, y) = (coordinate(&self.x, "x")?, coordinate(&self.y, "y")?);
        let point = EncodedPoint::from_affine_coordinates(&x, &y, false);
        Option::from(PublicKey::from_encoded_point(&point)).ok_or(JwkError::OffCurve)
    }

    pub(crate) fn of(key: &PublicKey, kid: Option<&str>) -> Self {
        let point = key.to_encoded_point(false);
        let (x, y) = match point.coordinates() {
            Coordinates::Uncompressed { x, y } => (x.to_vec(), y.to_vec()),
            // An uncompressed encoding always has both coordinates.
            _ => unreachable!("an uncompressed point"),
        };
        Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(x),
            y: URL_SAFE_NO_PAD.encode(y),
            d: None,
            kid: kid.map(str::to_owned),
        }
    }

    fn kid(&self) -> Result<String, JwkError> {
        match &self.kid {
            Some(kid) if !kid.is_empty() && kid.chars().count() <= MAX_KID => Ok(kid.clone()),
            _ => Err(JwkError::Kid),
        }
    }
}

/// A recipient's public key: what a sender seals to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicJwk {
    /// Its `kid`.
    pub kid: String,
    pub(crate) key: PublicKey,
}

/// A recipient's private key: what it opens sealed values with.
#[derive(Clone)]
pub struct PrivateJwk {
    /// Its `kid`.
    pub kid: String,
    pub(crate) secret: SecretKey,
}

impl std::fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateJwk").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl PublicJwk {
    /// Reads a public JWK; a private one (with `d`) is refused, so that a private key is never
    /// handed to a sender by mistake.
    pub fn parse(text: &str) -> Result<Self, JwkError> {
        let members = members(text)?;
        if members.d.is_some() {
            return Err(JwkError::Kind("a private key (with `d`) where a public key was expected"));
        }
        Ok(Self { kid: members.kid()?, key: members.point()? })
    }

    /// As JWK JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Members::of(&self.key, Some(&self.kid))).expect("a JWK encodes")
    }
}

impl PrivateJwk {
    /// A new key pair with this `kid`.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng), kid: &str) -> Result<Self, JwkError> {
        if kid.is_empty() || kid.chars().count() > MAX_KID {
            return Err(JwkError::Kid);
        }
        Ok(Self { kid: kid.to_owned(), secret: SecretKey::random(rng) })
    }

    /// Reads a private JWK, checking that `d` is the private key of `x` and `y`.
    pub fn parse(text: &str) -> Result<Self, JwkError> {
        let members = members(text)?;
        let public = members.point()?;
        let d = members.d.as_deref().ok_or(JwkError::Kind("a public key (no `d`)"))?;
        let d = coordinate(d, "d")?;
        let secret = SecretKey::from_bytes(&d).map_err(|_| JwkError::Mismatch)?;
        if secret.public_key() != public {
            return Err(JwkError::Mismatch);
        }
        Ok(Self { kid: members.kid()?, secret })
    }

    /// Its public half.
    pub fn public(&self) -> PublicJwk {
        PublicJwk { kid: self.kid.clone(), key: self.secret.public_key() }
    }

    /// As JWK JSON, `d` included.
    pub fn to_json(&self) -> String {
        let mut members = Members::of(&self.secret.public_key(), Some(&self.kid));
        members.d = Some(URL_SAFE_NO_PAD.encode(self.secret.to_bytes()));
        serde_json::to_string(&members).expect("a JWK encodes")
    }
}

fn members(text: &str) -> Result<Members, JwkError> {
    if text.len() > MAX_JWK {
        return Err(JwkError::Malformed(format!("longer than {MAX_JWK} bytes")));
    }
    serde_json::from_str(text).map_err(|e| JwkError::Malformed(e.to_string()))
}

/// 32 bytes of base64url, checked for length before decoding.
fn coordinate(text: &str, name: &'static str) -> Result<FieldBytes, JwkError> {
    if text.len() != 43 {
        return Err(JwkError::Coordinate(name));
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| JwkError::Coordinate(name))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| JwkError::Coordinate(name))?;
    Ok(bytes.into())
}

/// A value from the input, cut short for an error message.
fn truncate(text: &str) -> String {
    text.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7517 Appendix A.2's P-256 private key (its `kid` is "1").
    const RFC_7517_PRIVATE: &str = r#"{"kty":"EC","crv":"P-256",
        "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
        "d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE","use":"enc","kid":"1"}"#;

    #[test]
    fn the_rfc_key_reads_and_round_trips() {
        // Members of no concern here (`use`) are left alone, and dropped when written again.
        let private = PrivateJwk::parse(RFC_7517_PRIVATE).unwrap();
        assert_eq!(private.kid, "1");
        let public = private.public();
        assert_eq!(PublicJwk::parse(&public.to_json()).unwrap(), public);
        assert_eq!(PrivateJwk::parse(&private.to_json()).unwrap().public(), public);
        assert!(public.to_json().contains("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"));
    }

    #[test]
    fn bad_keys_are_refused_with_what_is_wrong() {
        let text = RFC_7517_PRIVATE.replace(r#","use":"enc""#, "");
        let public = PrivateJwk::parse(&text).unwrap().public().to_json();
        let with = |from: &str, to: &str| public.replace(from, to);
        assert_eq!(
            PublicJwk::parse(&with("\"EC\"", "\"RSA\"")),
            Err(JwkError::KeyType("RSA".into()))
        );
        assert_eq!(PublicJwk::parse(&with("P-256", "P-384")), Err(JwkError::Curve("P-384".into())));
        // y of another point: x and y are then not on the curve.
        let off = with(
            "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
            "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyA",
        );
        assert_eq!(PublicJwk::parse(&off), Err(JwkError::OffCurve));
        assert_eq!(
            PublicJwk::parse(&with("MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "MKBC")),
            Err(JwkError::Coordinate("x"))
        );
        assert_eq!(PublicJwk::parse(&with(r#","kid":"1""#, "")), Err(JwkError::Kid));
        assert!(matches!(PublicJwk::parse(&text), Err(JwkError::Kind(_))));
        assert!(matches!(PrivateJwk::parse(&public), Err(JwkError::Kind(_))));
        let other_d = text.replace(
            "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE",
            "970MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE",
        );
        assert_eq!(PrivateJwk::parse(&other_d).err(), Some(JwkError::Mismatch));
        assert!(matches!(PublicJwk::parse(&"x".repeat(MAX_JWK + 1)), Err(JwkError::Malformed(_))));
    }
}
