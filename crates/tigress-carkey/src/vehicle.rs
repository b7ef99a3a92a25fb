//! The vehicle's side: whether a key may do what it asks, now.
//!
//! A vehicle knows its own id, its owner's public key and the terminations the owner gave it.
//! It checks the key's whole chain ([`tigress_lifecycle::verify_chain`]: signatures, links,
//! each profile within its parent's, the time, the terminations), then that the key is for this
//! vehicle and grants the entitlement asked for. A real vehicle would also have the device
//! prove that it holds the key's secret; that exchange is the Digital Key specification's own.

use tigress_lifecycle::{ChainError, Grant, Limit, PublicKey, Signed, Termination, verify_chain};

use crate::steps::{ENTITLEMENTS, MAX_SPEED, VEHICLE, VEHICLE_PART, VehiclePart};

/// Opens the part the sharer sealed for the vehicle, which the holder presents: with the
/// vehicle's private key, for the share it came in.
pub fn open_part(
    key: &tigress_jwe::PrivateJwk,
    part: &VehiclePart,
) -> Result<serde_json::Value, tigress_jwe::FieldError> {
    let mut document = serde_json::json!({"content": {"vehicle": part.sealed}});
    tigress_jwe::unseal_fields(&mut document, key, &part.share)?;
    Ok(document.pointer(VEHICLE_PART).cloned().unwrap_or_default())
}

/// A vehicle that checks keys.
#[derive(Clone, Debug)]
pub struct Vehicle {
    /// Its id, as a key's [`VEHICLE`] limit names it.
    pub id: String,
    /// Its owner's public key.
    pub owner: PublicKey,
    /// The owner's terminations it has been given.
    pub terminations: Vec<Signed<Termination>>,
}

/// What a vehicle allows a key it admitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// The key's role.
    pub role: String,
    /// How many times it was passed on from the owner's grant.
    pub depth: usize,
    /// Its speed limit, if any.
    pub max_speed: Option<u64>,
}

/// Why a vehicle refused a key: the check that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The chain fails a check (which, and at which key: 0 is the owner's grant).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The key is for another vehicle.
    #[error("the key is for another vehicle")]
    OtherVehicle,
    /// The key does not grant what was asked.
    #[error("the key does not allow `{0}`")]
    NotEntitled(String),
}

impl Vehicle {
    /// Whether the key shown as `chain` may do `action` at `now`.
    pub fn admit(
        &self,
        chain: &[Signed<Grant>],
        action: &str,
        now: i64,
    ) -> Result<Admitted, Refusal> {
        let verified = verify_chain(chain, &self.owner, &self.terminations, now)?;
        let profile = &verified.grant.profile;
        if profile.limits.get(VEHICLE) != Some(&Limit::Exactly(self.id.clone())) {
            return Err(Refusal::OtherVehicle);
        }
        match profile.limits.get(ENTITLEMENTS) {
            Some(Limit::AnyOf(allowed)) if allowed.contains(action) => {}
            _ => return Err(Refusal::NotEntitled(action.to_owned())),
        }
        let max_speed = match profile.limits.get(MAX_SPEED) {
            Some(Limit::Max(max)) => Some(*max),
            _ => None,
        };
        Ok(Admitted { role: profile.role.clone(), depth: verified.depth, max_speed })
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;
    use tigress_lifecycle::DeviceKey;

    use super::*;
    use crate::steps::{Sharer, car_profile};

    const NOW: i64 = 1_900_000_000;

    #[test]
    fn admits_what_the_key_allows_and_refuses_the_rest() {
        let owner = DeviceKey::generate(&mut OsRng);
        let profile =
            car_profile("guest", (NOW, NOW + 60), "vehicle-7f3a", &["drive"], Some(90), 0);
        let sharer = Sharer::Owner(DeviceKey::from_secret(owner.secret()));
        let chain = sharer.grant(&mut OsRng, &profile, DeviceKey::generate(&mut OsRng).public());
        let car =
            Vehicle { id: "vehicle-7f3a".into(), owner: owner.public(), terminations: vec![] };
        let admitted = car.admit(&chain, "drive", NOW).unwrap();
        assert_eq!(
            (admitted.role.as_str(), admitted.depth, admitted.max_speed),
            ("guest", 0, Some(90))
        );
        assert_eq!(car.admit(&chain, "unlock", NOW), Err(Refusal::NotEntitled("unlock".into())));
        let other = Vehicle { id: "vehicle-0000".into(), ..car.clone() };
        assert_eq!(other.admit(&chain, "drive", NOW), Err(Refusal::OtherVehicle));
        assert!(matches!(
            car.admit(&chain, "drive", NOW + 60),
            Err(Refusal::Chain(ChainError::NotValidNow { .. }))
        ));
        let taken_back = owner.sign(Termination { grant: chain[0].statement.id, at: NOW });
        let told = Vehicle { terminations: vec![taken_back], ..car };
        assert_eq!(
            told.admit(&chain, "drive", NOW),
            Err(Refusal::Chain(ChainError::Terminated { index: 0 }))
        );
    }
}
