//! The car-key messages, what each device keeps, and the checks each side makes. No I/O.
//!
//! The statements are those of [`tigress_lifecycle`]: a [`Profile`] offered, a chain of
//! [`Grant`]s back to the owner, a [`Provisioned`] confirmation, a [`Termination`] and a
//! [`Deleted`] proof. A car's profile carries three limits of its own: [`VEHICLE`] (exactly the
//! vehicle's id), [`ENTITLEMENTS`] (any of `unlock`, `lock`, `drive`, …) and, when set,
//! [`MAX_SPEED`] (at most so many km/h).

use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tigress_lifecycle::{
    Bytes, ChainError, ConfirmError, Deleted, DeviceKey, Grant, GrantId, Limit, Profile,
    Provisioned, PublicKey, ReceiveError, Signed, Termination, Widening, check_deleted,
    check_provisioned, check_received, verify_chain,
};
use tigress_proto::ProvisioningInformation;
use tigress_proto::provisioning::FORMAT_CAR_KEY_CCC;

/// The limit naming the vehicle: `{"exactly": "<vehicle id>"}`.
pub const VEHICLE: &str = "vehicle";
/// The limit of what the key may do: `{"anyOf": ["unlock", "lock", "drive"]}`.
pub const ENTITLEMENTS: &str = "entitlements";
/// The limit on speed: `{"max": <km/h>}`.
pub const MAX_SPEED: &str = "maxSpeedKmh";

/// The messages of the car-key share and of its termination, as the `content` of
/// `digitalwallet.carkey.ccc` Provisioning Information, told apart by `step`
/// (docs/MESSAGES.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "camelCase", deny_unknown_fields)]
pub enum Step {
    /// Message 1, sharer → friend: what is offered, the owner's key, and the sharer's own chain
    /// (empty when the sharer is the owner).
    #[serde(rename_all = "camelCase")]
    Invitation {
        /// The profile the friend's key will have.
        offered: Profile,
        /// The owner's public key, at the root of every chain of this car.
        owner: PublicKey,
        /// The sharer's chain, when it passes on a key it holds.
        chain: Vec<Signed<Grant>>,
    },
    /// Message 2, friend → sharer: the friend's device made a key pair.
    #[serde(rename_all = "camelCase")]
    KeyCreationRequest {
        /// Its public key.
        holder: PublicKey,
    },
    /// Message 3, sharer → friend: the whole chain, the new grant to the friend's key last.
    Grant {
        /// The owner's grant first.
        chain: Vec<Signed<Grant>>,
        /// A part sealed for the vehicle, which the friend's device carries unread and shows
        /// the vehicle (`{"jwe": …}` at `/content/vehicle`, docs/MESSAGES.md, "Sealed fields").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vehicle: Option<serde_json::Value>,
    },
    /// Message 4, friend → sharer: the friend's device holds the key, signed with it.
    Provisioned {
        /// Signed by the key just granted.
        confirmation: Signed<Provisioned>,
    },
    /// A termination share's message 1, owner → holder: the key is taken back.
    Termination {
        /// Signed by the owner.
        termination: Signed<Termination>,
    },
    /// Its message 2, holder → owner: the key is deleted, signed with it.
    Deleted {
        /// Signed by the key taken back.
        proof: Signed<Deleted>,
    },
}

impl Step {
    /// As Provisioning Information of format `digitalwallet.carkey.ccc`.
    pub fn to_info(&self) -> ProvisioningInformation {
        // A step is keys, strings, numbers and lists: it always serialises to a JSON object.
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
            Self::Grant { .. } => "grant",
            Self::Provisioned { .. } => "provisioned confirmation",
            Self::Termination { .. } => "termination",
            Self::Deleted { .. } => "proof of deletion",
        }
    }
}

/// Why a car-key message was refused, naming the check that failed.
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
    /// The sharer's own chain, or the chain granted, fails a check.
    #[error("the key's chain is refused: {0}")]
    Chain(#[from] ChainError),
    /// The chain granted is not for this device, or not what was offered.
    #[error("the key granted is refused: {0}")]
    Received(#[from] ReceiveError),
    /// The chain granted does not extend the chain the invitation showed.
    #[error("the key granted does not come from the key the invitation showed")]
    OtherSharer,
    /// The sharer offers more than its own key allows.
    #[error("the offer is wider than the key it would be passed on from: {0}")]
    OfferTooWide(Widening),
    /// A confirmation or proof is not signed by the key it speaks for, or speaks of another.
    #[error("the confirmation is refused: {0}")]
    Confirmation(#[from] ConfirmError),
    /// A termination not signed by this key's owner, or for a key not in this key's chain.
    #[error("the termination is not for this key: {0}")]
    NotOurTermination(&'static str),
}

/// What a device keeps of a key it holds: its own secret key, the owner's public key and the
/// chain. Its secret would stay in the secure element; here it is a file readable by its user
/// only.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeldKey {
    /// The device key's 32-byte secret.
    pub device_key: Bytes<32>,
    /// The owner's public key.
    pub owner: PublicKey,
    /// The chain, the grant to this device's key last.
    pub chain: Vec<Signed<Grant>>,
    /// The part sealed for the vehicle, if the sharer gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<VehiclePart>,
}

/// A part sealed for the vehicle, as the holder carries it: the sealed value and the binding of
/// the share it came in, which the vehicle opens it with.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VehiclePart {
    /// `{"jwe": "<compact JWE>"}`.
    pub sealed: serde_json::Value,
    /// The share binding it is sealed for.
    pub share: String,
}

/// Where the vehicle's part sits in the grant message's content.
pub const VEHICLE_PART: &str = "/content/vehicle";

impl HeldKey {
    /// The device key.
    pub fn key(&self) -> DeviceKey {
        DeviceKey::from_secret(self.device_key.0)
    }

    /// The grant to this device: the chain's last.
    pub fn grant(&self) -> &Signed<Grant> {
        self.chain.last().expect("a held key has a chain")
    }
}

/// Who shares: the owner itself, or a device passing on a key it holds.
pub enum Sharer {
    /// The owner, with its key.
    Owner(DeviceKey),
    /// A holder, with what it holds.
    Holder(HeldKey),
}

impl Sharer {
    /// The owner's public key.
    pub fn owner(&self) -> PublicKey {
        match self {
            Self::Owner(key) => key.public(),
            Self::Holder(held) => held.owner,
        }
    }

    /// The chain the sharer shows: none for the owner.
    pub fn chain(&self) -> &[Signed<Grant>] {
        match self {
            Self::Owner(_) => &[],
            Self::Holder(held) => &held.chain,
        }
    }

    /// The invitation offering `offered`, refused up front when the sharer's own key could not
    /// pass it on: a device does not offer what it may not give.
    pub fn invitation(&self, offered: &Profile) -> Result<Step, CarKeyError> {
        if let Self::Holder(held) = self {
            offered
                .check_within(&held.grant().statement.profile)
                .map_err(CarKeyError::OfferTooWide)?;
        }
        Ok(Step::Invitation {
            offered: offered.clone(),
            owner: self.owner(),
            chain: self.chain().to_vec(),
        })
    }

    /// Signs the grant of `offered` to `holder`, passed on from the sharer's own; the whole
    /// chain to send.
    pub fn grant(
        &self,
        rng: &mut (impl RngCore + CryptoRng),
        offered: &Profile,
        holder: PublicKey,
    ) -> Vec<Signed<Grant>> {
        let (key, parent) = match self {
            Self::Owner(key) => (DeviceKey::from_secret(key.secret()), None),
            Self::Holder(held) => (held.key(), Some(&held.grant().statement)),
        };
        let grant = Grant::new(rng, holder, offered.clone(), parent);
        let mut chain = self.chain().to_vec();
        chain.push(key.sign(grant));
        chain
    }
}

/// The friend's check of an invitation before it answers: a sharer that passes a key on shows
/// a chain that verifies now, and offers no more than it holds.
pub fn check_invitation(invitation: &Step, now: i64) -> Result<(), CarKeyError> {
    let Step::Invitation { offered, owner, chain } = invitation else {
        return Err(unexpected("invitation", invitation));
    };
    if let Some(last) = chain.last() {
        verify_chain(chain, owner, &[], now)?;
        offered.check_within(&last.statement.profile).map_err(CarKeyError::OfferTooWide)?;
    }
    Ok(())
}

/// The friend's check of the grant before it provisions the key: the chain verifies, extends
/// the invitation's, grants this device's key, and grants exactly what was offered. Returns
/// what the device keeps.
pub fn accept_grant(
    invitation: &Step,
    granted: &Step,
    device_key: &DeviceKey,
    now: i64,
) -> Result<HeldKey, CarKeyError> {
    let Step::Invitation { offered, owner, chain: shown } = invitation else {
        return Err(unexpected("invitation", invitation));
    };
    let Step::Grant { chain, .. } = granted else {
        return Err(unexpected("grant", granted));
    };
    check_received(chain, owner, device_key, offered, now)?;
    if chain.len() != shown.len() + 1 || chain[..shown.len()] != shown[..] {
        return Err(CarKeyError::OtherSharer);
    }
    Ok(HeldKey {
        device_key: Bytes(device_key.secret()),
        owner: *owner,
        chain: chain.clone(),
        vehicle: None,
    })
}

/// The friend's "provisioned" confirmation, signed with its new key.
pub fn provisioned(held: &HeldKey, now: i64) -> Step {
    let grant = held.grant().statement.id;
    Step::Provisioned { confirmation: held.key().sign(Provisioned { grant, at: now }) }
}

/// The sharer's check of the friend's confirmation for the grant it made.
pub fn check_confirmation(grant: &Grant, step: &Step) -> Result<(), CarKeyError> {
    let Step::Provisioned { confirmation } = step else {
        return Err(unexpected("provisioned confirmation", step));
    };
    Ok(check_provisioned(confirmation, grant)?)
}

/// The owner's termination of `grant`, at `now`.
pub fn terminate(owner: &DeviceKey, grant: GrantId, now: i64) -> Step {
    Step::Termination { termination: owner.sign(Termination { grant, at: now }) }
}

/// The holder's answer to a termination: checked to come from its key's owner and to name its
/// own grant or one it came from, then the proof that it deleted the key (signed with it; the
/// caller deletes the key).
pub fn answer_termination(held: &HeldKey, step: &Step, now: i64) -> Result<Step, CarKeyError> {
    let Step::Termination { termination } = step else {
        return Err(unexpected("termination", step));
    };
    if termination.signer != held.owner {
        return Err(CarKeyError::NotOurTermination("not signed by the key's owner"));
    }
    let ended = termination
        .verify()
        .map_err(|_| CarKeyError::NotOurTermination("its signature does not verify"))?;
    if !held.chain.iter().any(|grant| grant.statement.id == ended.grant) {
        return Err(CarKeyError::NotOurTermination("it names a key this one does not come from"));
    }
    let deleted =
        Deleted { grant: held.grant().statement.id, termination: termination.signature, at: now };
    Ok(Step::Deleted { proof: held.key().sign(deleted) })
}

/// The owner's check of a proof of deletion, from the holder of `grant`, for `termination`.
pub fn check_proof(
    grant: &Grant,
    termination: &Signed<Termination>,
    step: &Step,
) -> Result<(), CarKeyError> {
    let Step::Deleted { proof } = step else {
        return Err(unexpected("proof of deletion", step));
    };
    Ok(check_deleted(proof, grant, termination)?)
}

/// A car profile: `role`, valid from `not_before` until `not_after`, for `vehicle`, with these
/// entitlements, a speed limit when given, and how many times it may be passed on.
pub fn car_profile(
    role: &str,
    (not_before, not_after): (i64, i64),
    vehicle: &str,
    entitlements: &[&str],
    max_speed: Option<u64>,
    share_depth: u8,
) -> Profile {
    let mut limits = std::collections::BTreeMap::from([
        (VEHICLE.to_owned(), Limit::Exactly(vehicle.to_owned())),
        (
            ENTITLEMENTS.to_owned(),
            Limit::AnyOf(entitlements.iter().map(|e| (*e).to_owned()).collect()),
        ),
    ]);
    if let Some(max) = max_speed {
        limits.insert(MAX_SPEED.to_owned(), Limit::Max(max));
    }
    Profile {
        role: role.to_owned(),
        not_before,
        not_after,
        limits,
        share_depth,
        onward_roles: Default::default(),
    }
}

pub(crate) fn unexpected(expected: &'static str, got: &Step) -> CarKeyError {
    CarKeyError::UnexpectedStep { expected, got: got.name() }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;

    const NOW: i64 = 1_900_000_000;

    fn offered(depth: u8) -> Profile {
        car_profile(
            "guest",
            (NOW - 60, NOW + 3600),
            "vehicle-7f3a",
            &["unlock", "drive"],
            Some(120),
            depth,
        )
    }

    /// The four messages between `sharer` and a new device, each through its wire form.
    fn exchange(sharer: &Sharer, offer: &Profile) -> Result<(HeldKey, Grant), CarKeyError> {
        let wire = |step: Step| Step::from_info(&step.to_info()).unwrap();
        let invitation = wire(sharer.invitation(offer)?);
        check_invitation(&invitation, NOW)?;
        let device = DeviceKey::generate(&mut OsRng);
        let Step::KeyCreationRequest { holder } =
            wire(Step::KeyCreationRequest { holder: device.public() })
        else {
            unreachable!()
        };
        let granted =
            wire(Step::Grant { chain: sharer.grant(&mut OsRng, offer, holder), vehicle: None });
        let held = accept_grant(&invitation, &granted, &device, NOW)?;
        let grant = held.grant().statement.clone();
        check_confirmation(&grant, &wire(provisioned(&held, NOW)))?;
        Ok((held, grant))
    }

    #[test]
    fn a_key_passed_on_verifies_and_a_termination_of_its_parent_is_answered() {
        let owner = DeviceKey::generate(&mut OsRng);
        let (friend, friend_grant) =
            exchange(&Sharer::Owner(DeviceKey::from_secret(owner.secret())), &offered(1)).unwrap();
        let narrower =
            car_profile("guest", (NOW - 60, NOW + 600), "vehicle-7f3a", &["unlock"], Some(80), 0);
        let (third, _) = exchange(&Sharer::Holder(friend.clone()), &narrower).unwrap();
        assert_eq!(third.chain.len(), 2);
        assert!(verify_chain(&third.chain, &owner.public(), &[], NOW).is_ok());

        // The owner terminates the friend's grant: both the friend and the third device answer it.
        let termination = terminate(&owner, friend_grant.id, NOW);
        for held in [&friend, &third] {
            let proof = answer_termination(held, &termination, NOW).unwrap();
            let Step::Termination { termination: signed } = &termination else { unreachable!() };
            check_proof(&held.grant().statement, signed, &proof).unwrap();
        }
        // A stranger's termination, or one for another car's key, is refused.
        let stranger = terminate(&DeviceKey::generate(&mut OsRng), friend_grant.id, NOW);
        assert!(matches!(
            answer_termination(&friend, &stranger, NOW),
            Err(CarKeyError::NotOurTermination(_))
        ));
        let elsewhere = terminate(&owner, Bytes([9; 16]), NOW);
        assert!(matches!(
            answer_termination(&friend, &elsewhere, NOW),
            Err(CarKeyError::NotOurTermination(_))
        ));
    }

    #[test]
    fn each_bad_share_is_refused_with_the_check_that_failed() {
        let owner = Sharer::Owner(DeviceKey::generate(&mut OsRng));
        let (friend, _) = exchange(&owner, &offered(0)).unwrap();
        // A key that may not be passed on is not offered onward.
        let onward = exchange(&Sharer::Holder(friend), &offered(0));
        assert!(matches!(onward, Err(CarKeyError::OfferTooWide(Widening::Depth))), "{onward:?}");

        // A grant of another profile than offered, or to another key, or from another sharer.
        let invitation = owner.invitation(&offered(0)).unwrap();
        let device = DeviceKey::generate(&mut OsRng);
        let mut wider = offered(0);
        wider.limits.insert(MAX_SPEED.into(), Limit::Max(250));
        let other_profile =
            Step::Grant { chain: owner.grant(&mut OsRng, &wider, device.public()), vehicle: None };
        let refused = accept_grant(&invitation, &other_profile, &device, NOW);
        assert!(
            matches!(refused, Err(CarKeyError::Received(ReceiveError::NotOffered))),
            "{refused:?}"
        );
        let someone_else = DeviceKey::generate(&mut OsRng).public();
        let other_key = Step::Grant {
            chain: owner.grant(&mut OsRng, &offered(0), someone_else),
            vehicle: None,
        };
        let refused = accept_grant(&invitation, &other_key, &device, NOW);
        assert!(
            matches!(refused, Err(CarKeyError::Received(ReceiveError::NotMine))),
            "{refused:?}"
        );
        let impostor = Sharer::Owner(DeviceKey::generate(&mut OsRng));
        let forged = Step::Grant {
            chain: impostor.grant(&mut OsRng, &offered(0), device.public()),
            vehicle: None,
        };
        let refused = accept_grant(&invitation, &forged, &device, NOW);
        assert!(
            matches!(
                refused,
                Err(CarKeyError::Received(ReceiveError::Chain(ChainError::NotFromOwner)))
            ),
            "{refused:?}"
        );
        // Expired by the time it arrives.
        let granted = Step::Grant {
            chain: owner.grant(&mut OsRng, &offered(0), device.public()),
            vehicle: None,
        };
        let late = accept_grant(&invitation, &granted, &device, NOW + 7200);
        assert!(matches!(
            late,
            Err(CarKeyError::Received(ReceiveError::Chain(ChainError::NotValidNow { .. })))
        ));
        // A confirmation signed by another key.
        let held = accept_grant(&invitation, &granted, &device, NOW).unwrap();
        let mut stranger = held.clone();
        stranger.device_key = Bytes(DeviceKey::generate(&mut OsRng).secret());
        let refused = check_confirmation(&held.grant().statement, &provisioned(&stranger, NOW));
        assert!(matches!(refused, Err(CarKeyError::Confirmation(ConfirmError::NotTheHolder))));
    }

    #[test]
    fn other_formats_and_unknown_members_are_refused() {
        let other = ProvisioningInformation::new(
            "digitalwallet.generic.authorizationToken",
            serde_json::json!({}),
        )
        .unwrap();
        assert!(matches!(Step::from_info(&other), Err(CarKeyError::NotACarKey(_))));
        let extra = ProvisioningInformation::new(
            FORMAT_CAR_KEY_CCC,
            serde_json::json!({"step": "keyCreationRequest", "holder": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "note": 1}),
        )
        .unwrap();
        assert!(matches!(Step::from_info(&extra), Err(CarKeyError::Malformed(_))));
    }
}
