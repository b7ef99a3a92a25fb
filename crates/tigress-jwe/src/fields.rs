//! Sealing and opening members of Provisioning Information, named by JSON Pointers (RFC 6901)
//! from its root (`/content/authorizationToken`).
//!
//! A sealed member is replaced by `{"jwe": "<compact JWE>"}`; the JWE's plaintext is the
//! member's JSON, so any value (a string, a number, an object) comes back exactly. Only members
//! of `content` may be sealed: `format` says how to read the rest. Every operation works on a
//! copy and changes the document only when all of its fields succeeded: nothing half-sealed,
//! nothing half-opened.

use rand_core::{CryptoRng, RngCore};
use serde_json::{Map, Value};

use crate::jwe::{self, Algorithm, Binding, Envelope, OpenError};
use crate::jwk::{PrivateJwk, PublicJwk};

/// The member a sealed value is held in.
pub const SEALED_MEMBER: &str = "jwe";

/// The longest member sealed, as JSON.
pub const MAX_FIELD: usize = 32 * 1024;

/// Why fields could not be sealed or opened; the document is left as it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The pointer is not a JSON Pointer to a member of `content`.
    #[error("`{0}` is not a JSON Pointer to a member of /content")]
    Pointer(String),
    /// The pointer names nothing in the document.
    #[error("`{0}` names no member of the Provisioning Information")]
    NoSuchField(String),
    /// The member is sealed already (or named twice).
    #[error("`{0}` is sealed already")]
    AlreadySealed(String),
    /// The member is too large to seal.
    #[error("`{0}` is longer than {MAX_FIELD} bytes as JSON")]
    TooLarge(String),
    /// A sealed member could not be opened.
    #[error("`{pointer}`: {error}")]
    Open {
        /// Where.
        pointer: String,
        /// Why.
        error: OpenError,
    },
    /// A sealed member opened to something that is not JSON.
    #[error("`{0}` opened to something that is not JSON")]
    NotJson(String),
}

/// A sealed member found in a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedField {
    /// Where it is.
    pub pointer: String,
    /// What its header says (for whom, how, bound to what), or why it cannot be read.
    pub envelope: Result<Envelope, OpenError>,
    /// The sealed value, as it is to be forwarded.
    pub compact: String,
}

/// Seals each `(pointer, recipient)` of `fields` in `info`, bound to `share` (the mailbox id).
pub fn seal_fields(
    rng: &mut (impl RngCore + CryptoRng),
    info: &mut Value,
    fields: &[(&str, &PublicJwk)],
    algorithm: Algorithm,
    share: &str,
) -> Result<(), FieldError> {
    let mut sealed = info.clone();
    for &(pointer, recipient) in fields {
        if !pointer.starts_with("/content/") {
            return Err(FieldError::Pointer(pointer.into()));
        }
        let target =
            sealed.pointer_mut(pointer).ok_or_else(|| FieldError::NoSuchField(pointer.into()))?;
        if is_sealed(target) {
            return Err(FieldError::AlreadySealed(pointer.into()));
        }
        let plaintext = serde_json::to_vec(target).expect("a JSON value encodes");
        if plaintext.len() > MAX_FIELD {
            return Err(FieldError::TooLarge(pointer.into()));
        }
        let binding = Binding { share, pointer };
        let compact = jwe::seal(rng, &plaintext, recipient, algorithm, binding);
        *target = Value::Object(Map::from_iter([(SEALED_MEMBER.into(), Value::String(compact))]));
    }
    *info = sealed;
    Ok(())
}

/// Every sealed member of `info`'s content, in document order.
pub fn sealed_fields(info: &Value) -> Vec<SealedField> {
    let mut found = Vec::new();
    if let Some(content) = info.get("content") {
        walk(content, "/content".into(), &mut found);
    }
    found
}

/// Opens every member of `info` sealed for `key` (by its `kid`), bound to `share`; the pointers
/// opened. Members sealed for other keys stay sealed.
pub fn unseal_fields(
    info: &mut Value,
    key: &PrivateJwk,
    share: &str,
) -> Result<Vec<String>, FieldError> {
    let mut opened = info.clone();
    let mut pointers = Vec::new();
    for field in sealed_fields(info) {
        let for_this_key = field.envelope.as_ref().map_or(true, |envelope| envelope.kid == key.kid);
        if !for_this_key {
            continue;
        }
        let binding = Binding { share, pointer: &field.pointer };
        let plaintext = jwe::open(&field.compact, key, binding)
            .map_err(|error| FieldError::Open { pointer: field.pointer.clone(), error })?;
        let value: Value = serde_json::from_slice(&plaintext)
            .map_err(|_| FieldError::NotJson(field.pointer.clone()))?;
        let target = opened.pointer_mut(&field.pointer).expect("the field was just found");
        *target = value;
        pointers.push(field.pointer);
    }
    *info = opened;
    Ok(pointers)
}

/// `{"jwe": "<string>"}` and nothing else.
fn is_sealed(value: &Value) -> bool {
    value.as_object().is_some_and(|object| {
        object.len() == 1 && object.get(SEALED_MEMBER).is_some_and(Value::is_string)
    })
}

fn walk(value: &Value, pointer: String, found: &mut Vec<SealedField>) {
    if is_sealed(value) {
        let compact = value[SEALED_MEMBER].as_str().unwrap_or_default().to_owned();
        found.push(SealedField { envelope: jwe::inspect(&compact), compact, pointer });
        return;
    }
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                walk(member, format!("{pointer}/{}", escape(name)), found);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(item, format!("{pointer}/{index}"), found);
            }
        }
        _ => {}
    }
}

/// A member name as a JSON Pointer reference token (RFC 6901 section 3).
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;
    use serde_json::json;

    use super::*;

    const SHARE: &str = "5b1c0e9a-3f0d-4c7a-9a51-2b8e7d6c5f40";

    fn info() -> Value {
        json!({"format": "digitalwallet.generic.authorizationToken",
               "content": {"roomNumber": "412", "authorizationToken": "tok-9f2",
                           "access/codes": {"gate": 7140}, "doors": ["lobby", "spa"]}})
    }

    #[test]
    fn fields_seal_for_their_issuers_and_open_exactly_with_the_right_key() {
        let (hotel, vendor) = (
            PrivateJwk::generate(&mut OsRng, "hotel-pms").unwrap(),
            PrivateJwk::generate(&mut OsRng, "lock-cloud").unwrap(),
        );
        let mut sealed = info();
        let fields = [
            ("/content/authorizationToken", &hotel.public()),
            ("/content/access~1codes/gate", &vendor.public()),
            ("/content/doors/1", &hotel.public()),
        ];
        seal_fields(&mut OsRng, &mut sealed, &fields, Algorithm::EcdhEsA256Kw, SHARE).unwrap();
        let text = sealed.to_string();
        assert!(!text.contains("tok-9f2") && !text.contains("7140") && !text.contains("spa"));
        assert_eq!(sealed["content"]["roomNumber"], "412");
        let found = sealed_fields(&sealed);
        let pointers: Vec<&str> = found.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/content/access~1codes/gate", "/content/authorizationToken", "/content/doors/1"]
        );
        assert_eq!(found[0].envelope.as_ref().unwrap().kid, "lock-cloud");

        let mut opened = sealed.clone();
        let by_hotel = unseal_fields(&mut opened, &hotel, SHARE).unwrap();
        assert_eq!(by_hotel, ["/content/authorizationToken", "/content/doors/1"]);
        assert_eq!(opened["content"]["doors"], json!(["lobby", "spa"]));
        assert!(is_sealed(&opened["content"]["access/codes"]["gate"]), "the vendor's stays sealed");
        unseal_fields(&mut opened, &vendor, SHARE).unwrap();
        assert_eq!(opened, info());
    }

    #[test]
    fn bad_pointers_and_moved_values_change_nothing() {
        let key = PrivateJwk::generate(&mut OsRng, "k").unwrap();
        let public = key.public();
        let mut document = info();
        for (pointer, error) in [
            ("/format", FieldError::Pointer("/format".into())),
            ("content/roomNumber", FieldError::Pointer("content/roomNumber".into())),
            ("/content/nothing", FieldError::NoSuchField("/content/nothing".into())),
        ] {
            let fields = [("/content/roomNumber", &public), (pointer, &public)];
            assert_eq!(
                seal_fields(&mut OsRng, &mut document, &fields, Algorithm::EcdhEs, SHARE),
                Err(error)
            );
            assert_eq!(document, info(), "half-sealed after {pointer}");
        }
        let twice = [("/content/roomNumber", &public), ("/content/roomNumber", &public)];
        let refused = seal_fields(&mut OsRng, &mut document, &twice, Algorithm::EcdhEs, SHARE);
        assert_eq!(refused, Err(FieldError::AlreadySealed("/content/roomNumber".into())));

        // A value moved to another member, or opened for another share, is refused whole.
        let fields = [("/content/roomNumber", &public), ("/content/authorizationToken", &public)];
        seal_fields(&mut OsRng, &mut document, &fields, Algorithm::EcdhEs, SHARE).unwrap();
        let mut moved = document.clone();
        let value = moved["content"]["roomNumber"].take();
        moved["content"]["doors"] = value;
        let before = moved.clone();
        let error = unseal_fields(&mut moved, &key, SHARE).unwrap_err();
        assert!(
            matches!(&error, FieldError::Open { error: OpenError::OtherField(_), .. }),
            "{error}"
        );
        assert_eq!(moved, before);
        let mut pasted = document.clone();
        let error = unseal_fields(&mut pasted, &key, "0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40");
        assert!(matches!(error, Err(FieldError::Open { error: OpenError::OtherShare, .. })));
    }
}
