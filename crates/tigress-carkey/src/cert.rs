//! The car-key messages, keys, certificate signing and verification. No I/O.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tigress_proto::ProvisioningInformation;
use tigress_proto::provisioning::FORMAT_CAR_KEY_CCC;

/// Domain separation for certificate signatures.
const SIGNATURE_CONTEXT: &[u8] = b"tigress/carkey/certificate/v1\0";
/// Domain separation for the friend's "done": it signs the certificate it now holds.
const DONE_CONTEXT: &[u8] = b"tigress/carkey/done/v1\0";

/// What the owner offers: which vehicle, which rights, for how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    /// An opaque vehicle identifier the car recognises (no personal data).
    pub vehicle_id: String,
    /// Rights granted, e.g. `["unlock", "lock", "drive"]`.
    pub entitlements: Vec<String>,
    /// RFC 3339 start of validity.
    pub valid_from: String,
    /// RFC 3339 end of validity.
    pub valid_until: String,
}

/// The certificate the owner signs for the friend's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCertificate {
    /// The friend's Ed25519 public key, base64.
    pub friend_public_key: String,
    /// The vehicle.
    pub vehicle_id: String,
    /// The rights granted.
    pub entitlements: Vec<String>,
    /// Start of validity.
    pub valid_from: String,
    /// End of validity.
    pub valid_until: String,
}

/// A certificate with the owner's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedKey {
    /// What is signed.
    pub certificate: KeyCertificate,
    /// Ed25519 signature by the owner key over the certificate, base64.
    pub signature: String,
}

/// The messages of the exchange, as the `content` of `digitalwallet.carkey.ccc` Provisioning
/// Information, told apart by `step`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "camelCase")]
pub enum Step {
    /// Message 1, owner → friend.
    #[serde(rename_all = "camelCase")]
    Invitation {
        /// What is offered.
        offer: Offer,
        /// The owner's Ed25519 public key, base64.
        owner_public_key: String,
    },
    /// Message 2, friend → owner.
    #[serde(rename_all = "camelCase")]
    KeyCreationRequest {
        /// The friend's new Ed25519 public key, base64.
        friend_public_key: String,
    },
    /// Message 3, owner → friend.
    SignedKey(SignedKey),
    /// Message 4, friend → owner: the friend's device holds and verified the key. Signed by the
    /// key the certificate names, over that certificate, so only that device can say it.
    Done {
        /// Ed25519 signature by the friend's key, base64.
        signature: String,
    },
}

impl Step {
    /// As Provisioning Information of format `digitalwallet.carkey.ccc`.
    pub fn to_info(&self) -> ProvisioningInformation {
        // A step is strings and lists of strings: it always serialises to a JSON object.
        let content = serde_json::to_value(self).expect("a step is a JSON object");
        ProvisioningInformation::new(FORMAT_CAR_KEY_CCC, content).expect("a step is an object")
    }

    /// Reads a step from Provisioning Information.
    pub fn from_info(info: &ProvisioningInformation) -> Result<Self, CarKeyError> {
        if info.format != FORMAT_CAR_KEY_CCC {
            return Err(CarKeyError::NotACarKey(info.format.clone()));
        }
        serde_json::from_value(info.content.clone())
            .map_err(|e| CarKeyError::Malformed(e.to_string()))
    }

    /// The step's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Invitation { .. } => "invitation",
            Self::KeyCreationRequest { .. } => "key-creation request",
            Self::SignedKey(_) => "signed key",
            Self::Done { .. } => "done",
        }
    }
}

/// What the friend's device ends with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedKey {
    /// The signed certificate.
    pub signed: SignedKey,
    /// The owner's public key that signed it, base64.
    pub owner_public_key: String,
}

/// Why a car-key message was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarKeyError {
    /// The share is not a car key.
    #[error("not a car key share (format {0})")]
    NotACarKey(String),
    /// The message does not follow the car-key format.
    #[error("malformed car-key message: {0}")]
    Malformed(String),
    /// A step came where another was expected.
    #[error("expected the {expected}, got the {got}")]
    UnexpectedStep {
        /// The step expected.
        expected: &'static str,
        /// The step received.
        got: &'static str,
    },
    /// A key is not valid base64 of an Ed25519 key.
    #[error("invalid {0}")]
    BadKey(&'static str),
    /// The owner's signature does not verify.
    #[error("the owner's signature on the key certificate does not verify")]
    BadSignature,
    /// The friend's "done" is not signed by the key the certificate names.
    #[error("the friend's confirmation does not verify")]
    BadConfirmation,
    /// The certificate is for another public key than this device's.
    #[error("the certificate was issued for another device's key")]
    WrongKey,
    /// The certificate grants something other than what the invitation offered.
    #[error("the certificate does not match the offer: {0}")]
    TermsChanged(&'static str),
}

/// The owner's signing key (on a phone, it would live in the secure element).
pub struct OwnerKey(SigningKey);

impl OwnerKey {
    /// A fresh key.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(SigningKey::from_bytes(&seed(rng)))
    }

    /// A key from its 32-byte seed in base64.
    pub fn from_base64(text: &str) -> Result<Self, CarKeyError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| CarKeyError::BadKey("owner key"))?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| CarKeyError::BadKey("owner key"))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The seed in base64, to keep the key.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// The public key in base64, as carried in the invitation.
    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.0.verifying_key().to_bytes())
    }

    /// The invitation for `offer`.
    pub fn invitation(&self, offer: &Offer) -> Step {
        Step::Invitation { offer: offer.clone(), owner_public_key: self.public_base64() }
    }

    /// Signs the friend's key for what `offer` grants.
    pub fn sign(&self, offer: &Offer, friend_public_key: &str) -> Result<SignedKey, CarKeyError> {
        public_key(friend_public_key, "friend public key")?;
        let certificate = KeyCertificate {
            friend_public_key: friend_public_key.to_owned(),
            vehicle_id: offer.vehicle_id.clone(),
            entitlements: offer.entitlements.clone(),
            valid_from: offer.valid_from.clone(),
            valid_until: offer.valid_until.clone(),
        };
        let signature = self.0.sign(&signed_bytes(&certificate));
        Ok(SignedKey { certificate, signature: STANDARD.encode(signature.to_bytes()) })
    }
}

impl fmt::Debug for OwnerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnerKey").field(&self.public_base64()).finish()
    }
}

/// The friend's device key, made for this share.
pub struct FriendKey(SigningKey);

impl FriendKey {
    /// A fresh key pair.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self(SigningKey::from_bytes(&seed(rng)))
    }

    /// The key-creation request carrying the public key.
    pub fn request(&self) -> Step {
        Step::KeyCreationRequest { friend_public_key: self.public_base64() }
    }

    /// The public key in base64.
    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.0.verifying_key().to_bytes())
    }

    /// The last message: this device holds `signed` (after [`FriendKey::verify`]).
    pub fn done(&self, signed: &SignedKey) -> Step {
        let signature = self.0.sign(&done_bytes(&signed.certificate));
        Step::Done { signature: STANDARD.encode(signature.to_bytes()) }
    }

    /// The private seed in base64, to store the provisioned key.
    pub fn secret_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// Checks the owner's answer against the invitation: the signature verifies under the
    /// invitation's owner key, the certificate is for this key, and it grants exactly the
    /// vehicle and validity offered, with no entitlement beyond the offer.
    pub fn verify(
        &self,
        invitation: &Step,
        signed: &SignedKey,
    ) -> Result<ProvisionedKey, CarKeyError> {
        let Step::Invitation { offer, owner_public_key } = invitation else {
            return Err(CarKeyError::UnexpectedStep {
                expected: "invitation",
                got: invitation.name(),
            });
        };
        let owner = public_key(owner_public_key, "owner public key")?;
        let bytes = STANDARD.decode(&signed.signature).map_err(|_| CarKeyError::BadSignature)?;
        let signature = Signature::from_slice(&bytes).map_err(|_| CarKeyError::BadSignature)?;
        owner
            .verify(&signed_bytes(&signed.certificate), &signature)
            .map_err(|_| CarKeyError::BadSignature)?;

        let certificate = &signed.certificate;
        if certificate.friend_public_key != self.public_base64() {
            return Err(CarKeyError::WrongKey);
        }
        if certificate.vehicle_id != offer.vehicle_id {
            return Err(CarKeyError::TermsChanged("another vehicle"));
        }
        if certificate.valid_from != offer.valid_from
            || certificate.valid_until != offer.valid_until
        {
            return Err(CarKeyError::TermsChanged("another validity"));
        }
        if !certificate.entitlements.iter().all(|e| offer.entitlements.contains(e)) {
            return Err(CarKeyError::TermsChanged("an entitlement that was not offered"));
        }
        Ok(ProvisionedKey { signed: signed.clone(), owner_public_key: owner_public_key.clone() })
    }
}

impl fmt::Debug for FriendKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FriendKey").field(&self.public_base64()).finish()
    }
}

/// Checks the friend's [`Step::Done`] for the certificate the owner sent: signed by the key that
/// certificate names.
pub fn verify_done(signed: &SignedKey, done: &Step) -> Result<(), CarKeyError> {
    let Step::Done { signature } = done else {
        return Err(CarKeyError::UnexpectedStep { expected: "done", got: done.name() });
    };
    let friend = public_key(&signed.certificate.friend_public_key, "friend public key")?;
    let bytes = STANDARD.decode(signature).map_err(|_| CarKeyError::BadConfirmation)?;
    let signature = Signature::from_slice(&bytes).map_err(|_| CarKeyError::BadConfirmation)?;
    friend
        .verify(&done_bytes(&signed.certificate), &signature)
        .map_err(|_| CarKeyError::BadConfirmation)
}

fn done_bytes(certificate: &KeyCertificate) -> Vec<u8> {
    let mut bytes = DONE_CONTEXT.to_vec();
    bytes.extend(serde_json::to_vec(certificate).expect("a certificate is JSON"));
    bytes
}

/// The bytes signed: a context string, then the certificate's JSON. serde_json writes a struct's
/// fields in declaration order with one escaping, so the verifier rebuilds the same bytes.
fn signed_bytes(certificate: &KeyCertificate) -> Vec<u8> {
    let mut bytes = SIGNATURE_CONTEXT.to_vec();
    // A certificate is strings and a list of strings: serialising it cannot fail.
    bytes.extend(serde_json::to_vec(certificate).expect("a certificate is JSON"));
    bytes
}

fn public_key(text: &str, what: &'static str) -> Result<VerifyingKey, CarKeyError> {
    let bytes = STANDARD.decode(text).map_err(|_| CarKeyError::BadKey(what))?;
    let array: [u8; 32] = bytes.try_into().map_err(|_| CarKeyError::BadKey(what))?;
    VerifyingKey::from_bytes(&array).map_err(|_| CarKeyError::BadKey(what))
}

fn seed(rng: &mut (impl RngCore + CryptoRng)) -> [u8; 32] {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    seed
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;

    fn offer() -> Offer {
        Offer {
            vehicle_id: "vehicle-7f3a".into(),
            entitlements: vec!["unlock".into(), "lock".into(), "drive".into()],
            valid_from: "2030-06-01T08:00:00Z".into(),
            valid_until: "2030-06-03T20:00:00Z".into(),
        }
    }

    #[test]
    fn a_signed_key_verifies_and_round_trips_as_provisioning_information() {
        let (owner, friend) = (OwnerKey::generate(&mut OsRng), FriendKey::generate(&mut OsRng));
        let invitation = owner.invitation(&offer());
        let invitation = Step::from_info(&invitation.to_info()).unwrap();
        let Step::KeyCreationRequest { friend_public_key } =
            Step::from_info(&friend.request().to_info()).unwrap()
        else {
            panic!("not a request");
        };
        let signed = owner.sign(&offer(), &friend_public_key).unwrap();
        let Step::SignedKey(signed) = Step::from_info(&Step::SignedKey(signed).to_info()).unwrap()
        else {
            panic!("not a signed key");
        };
        let provisioned = friend.verify(&invitation, &signed).unwrap();
        assert_eq!(provisioned.owner_public_key, owner.public_base64());
        assert_eq!(provisioned.signed.certificate.entitlements.len(), 3);

        // Only the device the certificate names can confirm it.
        let done = Step::from_info(&friend.done(&signed).to_info()).unwrap();
        assert!(verify_done(&signed, &done).is_ok());
        let other = FriendKey::generate(&mut OsRng).done(&signed);
        assert!(matches!(verify_done(&signed, &other), Err(CarKeyError::BadConfirmation)));
        let mut other_terms = signed.clone();
        other_terms.certificate.valid_until = "2031-01-01T00:00:00Z".into();
        assert!(matches!(verify_done(&other_terms, &done), Err(CarKeyError::BadConfirmation)));
    }

    #[test]
    fn refuses_a_forged_or_altered_certificate() {
        let (owner, friend) = (OwnerKey::generate(&mut OsRng), FriendKey::generate(&mut OsRng));
        let invitation = owner.invitation(&offer());
        let signed = owner.sign(&offer(), &friend.public_base64()).unwrap();

        let impostor =
            OwnerKey::generate(&mut OsRng).sign(&offer(), &friend.public_base64()).unwrap();
        assert!(matches!(friend.verify(&invitation, &impostor), Err(CarKeyError::BadSignature)));

        let mut widened = signed.clone();
        widened.certificate.entitlements.push("sell".into());
        assert!(matches!(friend.verify(&invitation, &widened), Err(CarKeyError::BadSignature)));

        let mut garbled = signed.clone();
        garbled.signature = STANDARD.encode([7u8; 64]);
        assert!(matches!(friend.verify(&invitation, &garbled), Err(CarKeyError::BadSignature)));
    }

    #[test]
    fn refuses_a_certificate_for_another_key_or_other_terms() {
        let (owner, friend) = (OwnerKey::generate(&mut OsRng), FriendKey::generate(&mut OsRng));
        let invitation = owner.invitation(&offer());
        let other = FriendKey::generate(&mut OsRng);
        let for_other = owner.sign(&offer(), &other.public_base64()).unwrap();
        assert!(matches!(friend.verify(&invitation, &for_other), Err(CarKeyError::WrongKey)));

        let mut more = offer();
        more.entitlements.push("sell".into());
        let too_much = owner.sign(&more, &friend.public_base64()).unwrap();
        assert!(matches!(friend.verify(&invitation, &too_much), Err(CarKeyError::TermsChanged(_))));

        let mut longer = offer();
        longer.valid_until = "2031-01-01T00:00:00Z".into();
        let too_long = owner.sign(&longer, &friend.public_base64()).unwrap();
        assert!(matches!(friend.verify(&invitation, &too_long), Err(CarKeyError::TermsChanged(_))));

        let mut fewer = offer();
        fewer.entitlements.truncate(1);
        assert!(
            friend
                .verify(&invitation, &owner.sign(&fewer, &friend.public_base64()).unwrap())
                .is_ok()
        );
    }

    #[test]
    fn owner_keys_round_trip_and_bad_keys_are_refused() {
        let owner = OwnerKey::generate(&mut OsRng);
        assert_eq!(
            OwnerKey::from_base64(&owner.to_base64()).unwrap().public_base64(),
            owner.public_base64()
        );
        assert!(OwnerKey::from_base64("short").is_err());
        assert!(owner.sign(&offer(), "not base64!").is_err());
        let other_format = ProvisioningInformation::new(
            "digitalwallet.generic.authorizationToken",
            serde_json::json!({}),
        )
        .unwrap();
        assert!(matches!(Step::from_info(&other_format), Err(CarKeyError::NotACarKey(_))));
    }
}
