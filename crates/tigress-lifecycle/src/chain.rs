//! Grants, chains of them back to the owner, and terminations (docs/LIFECYCLE.md, "Passing it
//! on" and "Taking it back").
//!
//! The owner signs a [`Grant`] to the first holder's key; a holder whose profile allows it signs
//! a grant to the next one, naming its own grant as the parent. A verifier (a vehicle, a lock)
//! that knows the owner's key checks the whole chain with [`verify_chain`]: every signature, every
//! link, every profile within its parent's, the time, and the owner's terminations, any of which
//! covers the keys passed on below it.

use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::profile::{Profile, Widening};
use crate::signed::{BadSignature, Bytes, DeviceKey, PublicKey, Signed, Statement};

/// A grant's random identifier; base64url in JSON.
pub type GrantId = Bytes<16>;

/// The longest chain a verifier looks at: a profile's depth is a `u8`, but a verifier bounds
/// its work whatever a chain claims.
pub const MAX_CHAIN: usize = 16;

/// A key granted to `holder`, with what it may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Grant {
    /// Its identifier, which a termination names.
    pub id: GrantId,
    /// The grant this one was passed on from; none for the owner's own.
    pub parent: Option<GrantId>,
    /// The key that holds it.
    pub holder: PublicKey,
    /// What it may do.
    pub profile: Profile,
}

impl Statement for Grant {
    const DOMAIN: &'static str = "grant";
}

impl Grant {
    /// A fresh grant of `profile` to `holder`, passed on from `parent` when given.
    pub fn new(
        rng: &mut (impl RngCore + CryptoRng),
        holder: PublicKey,
        profile: Profile,
        parent: Option<&Grant>,
    ) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self { id: Bytes(id), parent: parent.map(|parent| parent.id), holder, profile }
    }
}

/// The owner takes back a key, and every key passed on from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Termination {
    /// The grant taken back.
    pub grant: GrantId,
    /// When (Unix seconds): for the record; a termination holds from the moment it is known.
    pub at: i64,
}

impl Statement for Termination {
    const DOMAIN: &'static str = "termination";
}

/// Why a chain was refused: the first check that failed, and at which key (0 is the owner's
/// grant).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Nothing to check.
    #[error("the chain holds no key")]
    Empty,
    /// Longer than [`MAX_CHAIN`].
    #[error("the chain holds more than {MAX_CHAIN} keys")]
    TooLong,
    /// A signature that does not verify.
    #[error("key {index}: {source}")]
    Signature {
        /// Which key.
        index: usize,
        /// The failure.
        source: BadSignature,
    },
    /// The first grant is not the owner's, or names a parent.
    #[error("key 0 was not granted by the owner")]
    NotFromOwner,
    /// A grant not signed by the holder of the one before, or not naming it as its parent.
    #[error("key {index} was not passed on by the holder of key {}", index - 1)]
    BrokenLink {
        /// Which key.
        index: usize,
    },
    /// A profile wider than its parent's.
    #[error("key {index} is wider than the key it came from: {widening}")]
    Widened {
        /// Which key.
        index: usize,
        /// How.
        widening: Widening,
    },
    /// Outside a grant's validity.
    #[error("key {index} is not valid at {now}")]
    NotValidNow {
        /// Which key.
        index: usize,
        /// The time checked.
        now: i64,
    },
    /// Taken back by the owner (this key, or one it was passed on from).
    #[error("key {index} was terminated by the owner")]
    Terminated {
        /// The key the termination named.
        index: usize,
    },
}

/// What a chain that passed every check grants, to whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<'a> {
    /// The last grant: the key being checked.
    pub grant: &'a Grant,
    /// How many times it was passed on from the owner's grant.
    pub depth: usize,
}

/// Checks `chain` (the owner's grant first, the key being checked last) against the owner's
/// key, the owner's `terminations` and the time `now`. Terminations not signed by the owner are
/// no terminations, and are ignored.
pub fn verify_chain<'a>(
    chain: &'a [Signed<Grant>],
    owner: &PublicKey,
    terminations: &[Signed<Termination>],
    now: i64,
) -> Result<Verified<'a>, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    if chain.len() > MAX_CHAIN {
        return Err(ChainError::TooLong);
    }
    let taken_back: Vec<&GrantId> = terminations
        .iter()
        .filter(|termination| termination.signer == *owner)
        .filter_map(|termination| termination.verify().ok())
        .map(|termination| &termination.grant)
        .collect();
    let mut parent: Option<&Signed<Grant>> = None;
    for (index, signed) in chain.iter().enumerate() {
        let grant = signed.verify().map_err(|source| ChainError::Signature { index, source })?;
        match parent {
            None if signed.signer != *owner || grant.parent.is_some() => {
                return Err(ChainError::NotFromOwner);
            }
            None => {}
            Some(parent) => {
                let linked = signed.signer == parent.statement.holder
                    && grant.parent == Some(parent.statement.id);
                if !linked {
                    return Err(ChainError::BrokenLink { index });
                }
                grant
                    .profile
                    .check_within(&parent.statement.profile)
                    .map_err(|widening| ChainError::Widened { index, widening })?;
            }
        }
        if !grant.profile.valid_at(now) {
            return Err(ChainError::NotValidNow { index, now });
        }
        if taken_back.contains(&&grant.id) {
            return Err(ChainError::Terminated { index });
        }
        parent = Some(signed);
    }
    let last = &chain[chain.len() - 1].statement;
    Ok(Verified { grant: last, depth: chain.len() - 1 })
}

/// Why a receiving device refuses a key before provisioning it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiveError {
    /// The chain fails a check.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The key is granted to another device's key.
    #[error("the key is granted to another device")]
    NotMine,
    /// The profile granted is not the one the share offered.
    #[error("the key grants another profile than the one offered")]
    NotOffered,
}

/// What the receiving device checks before it provisions a key: the chain, that the key is
/// its own, and that it grants the very profile it was offered.
pub fn check_received<'a>(
    chain: &'a [Signed<Grant>],
    owner: &PublicKey,
    own_key: &DeviceKey,
    offered: &Profile,
    now: i64,
) -> Result<Verified<'a>, ReceiveError> {
    let verified = verify_chain(chain, owner, &[], now)?;
    if verified.grant.holder != own_key.public() {
        return Err(ReceiveError::NotMine);
    }
    if verified.grant.profile != *offered {
        return Err(ReceiveError::NotOffered);
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::OsRng;

    use super::*;
    use crate::profile::Limit;

    fn profile(depth: u8) -> Profile {
        Profile {
            role: "guest".into(),
            not_before: 0,
            not_after: 1_000,
            limits: BTreeMap::from([("maxSpeedKmh".into(), Limit::Max(120))]),
            share_depth: depth,
            onward_roles: Default::default(),
        }
    }

    /// Owner → friend → friend's friend.
    fn two_hops() -> (DeviceKey, DeviceKey, DeviceKey, Vec<Signed<Grant>>) {
        let (owner, friend, third) = (
            DeviceKey::generate(&mut OsRng),
            DeviceKey::generate(&mut OsRng),
            DeviceKey::generate(&mut OsRng),
        );
        let first = Grant::new(&mut OsRng, friend.public(), profile(1), None);
        let second = Grant::new(&mut OsRng, third.public(), profile(0), Some(&first));
        let chain = vec![owner.sign(first), friend.sign(second)];
        (owner, friend, third, chain)
    }

    #[test]
    fn a_chain_passed_on_within_its_profile_verifies() {
        let (owner, _, third, chain) = two_hops();
        let verified = verify_chain(&chain, &owner.public(), &[], 500).unwrap();
        assert_eq!(verified.grant.holder, third.public());
        assert_eq!(verified.depth, 1);
        assert!(check_received(&chain, &owner.public(), &third, &profile(0), 500).is_ok());
    }

    #[test]
    fn each_check_names_itself() {
        let (owner, friend, third, chain) = two_hops();
        let owner_key = owner.public();
        assert_eq!(verify_chain(&[], &owner_key, &[], 500), Err(ChainError::Empty));
        let stranger = DeviceKey::generate(&mut OsRng);
        assert_eq!(
            verify_chain(&chain, &stranger.public(), &[], 500),
            Err(ChainError::NotFromOwner)
        );
        assert_eq!(
            verify_chain(&chain, &owner_key, &[], 1_000),
            Err(ChainError::NotValidNow { index: 0, now: 1_000 })
        );

        // Forged: the friend's friend's grant re-signed by a stranger.
        let mut forged = chain.clone();
        forged[1] = stranger.sign(chain[1].statement.clone());
        assert_eq!(
            verify_chain(&forged, &owner_key, &[], 500),
            Err(ChainError::BrokenLink { index: 1 })
        );
        // Tampered: a faster car after signing.
        let mut tampered = chain.clone();
        tampered[1].statement.profile.limits.insert("maxSpeedKmh".into(), Limit::Max(200));
        assert!(matches!(
            verify_chain(&tampered, &owner_key, &[], 500),
            Err(ChainError::Signature { index: 1, .. })
        ));
        // Widened, and signed so by the friend.
        let mut wide = chain[1].statement.clone();
        wide.profile.limits.insert("maxSpeedKmh".into(), Limit::Max(200));
        let widened = vec![chain[0].clone(), friend.sign(wide)];
        assert!(matches!(
            verify_chain(&widened, &owner_key, &[], 500),
            Err(ChainError::Widened { index: 1, widening: Widening::Limit(_) })
        ));
        // Too deep: the friend's friend passes it on although its depth is 0.
        let fourth = DeviceKey::generate(&mut OsRng);
        let onward = Grant::new(&mut OsRng, fourth.public(), profile(0), Some(&chain[1].statement));
        let deep = vec![chain[0].clone(), chain[1].clone(), third.sign(onward)];
        assert!(matches!(
            verify_chain(&deep, &owner_key, &[], 500),
            Err(ChainError::Widened { index: 2, widening: Widening::Depth })
        ));
    }

    #[test]
    fn a_termination_covers_the_key_and_all_passed_on_from_it_and_only_the_owners_counts() {
        let (owner, friend, third, chain) = two_hops();
        let owner_key = owner.public();
        let first = chain[0].statement.id;
        let by_owner = owner.sign(Termination { grant: first, at: 400 });
        assert_eq!(
            verify_chain(&chain, &owner_key, std::slice::from_ref(&by_owner), 500),
            Err(ChainError::Terminated { index: 0 })
        );
        assert_eq!(
            verify_chain(&chain[..1], &owner_key, std::slice::from_ref(&by_owner), 500),
            Err(ChainError::Terminated { index: 0 })
        );
        // A holder cannot take back the owner's key, nor forge the owner's termination.
        let by_friend = friend.sign(Termination { grant: first, at: 400 });
        let mut forged = by_owner.clone();
        forged.statement.grant = chain[1].statement.id;
        assert!(verify_chain(&chain, &owner_key, &[by_friend, forged], 500).is_ok());
        // Refused on receipt: another device's key, another profile than offered.
        let other = DeviceKey::generate(&mut OsRng);
        assert_eq!(
            check_received(&chain, &owner_key, &other, &profile(0), 500),
            Err(ReceiveError::NotMine)
        );
        assert_eq!(
            check_received(&chain, &owner_key, &third, &profile(1), 500),
            Err(ReceiveError::NotOffered)
        );
    }
}
