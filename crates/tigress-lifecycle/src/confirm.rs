//! What the holder's device signs back to the owner: that a key is provisioned, and that a key
//! taken back is deleted (docs/LIFECYCLE.md, "Confirmations").

use serde::{Deserialize, Serialize};

use crate::chain::{Grant, GrantId, Termination};
use crate::signed::{BadSignature, Bytes, Signed, Statement};

/// The holder's device holds the key, ready to use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provisioned {
    /// The grant provisioned.
    pub grant: GrantId,
    /// When (Unix seconds).
    pub at: i64,
}

impl Statement for Provisioned {
    const DOMAIN: &'static str = "provisioned";
}

/// The holder's device deleted a key, answering the owner's termination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deleted {
    /// The grant deleted.
    pub grant: GrantId,
    /// The signature of the termination answered, so that a proof answers one termination.
    pub termination: Bytes<64>,
    /// When (Unix seconds).
    pub at: i64,
}

impl Statement for Deleted {
    const DOMAIN: &'static str = "deleted";
}

/// Why a confirmation is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    /// Its signature does not verify.
    #[error(transparent)]
    Signature(#[from] BadSignature),
    /// Not signed by the key the grant was made to.
    #[error("not signed by the key the grant was made to")]
    NotTheHolder,
    /// About another grant, or another termination.
    #[error("it confirms another grant or answers another termination")]
    Elsewhere,
}

/// Checks that the holder of `grant` signed `confirmation` for it.
pub fn check_provisioned(
    confirmation: &Signed<Provisioned>,
    grant: &Grant,
) -> Result<(), ConfirmError> {
    let provisioned = confirmation.verify()?;
    if confirmation.signer != grant.holder {
        return Err(ConfirmError::NotTheHolder);
    }
    if provisioned.grant != grant.id {
        return Err(ConfirmError::Elsewhere);
    }
    Ok(())
}

/// Checks that the holder of `grant` signed `proof` in answer to `termination`.
pub fn check_deleted(
    proof: &Signed<Deleted>,
    grant: &Grant,
    termination: &Signed<Termination>,
) -> Result<(), ConfirmError> {
    let deleted = proof.verify()?;
    if proof.signer != grant.holder {
        return Err(ConfirmError::NotTheHolder);
    }
    if deleted.grant != grant.id || deleted.termination != termination.signature {
        return Err(ConfirmError::Elsewhere);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::OsRng;

    use super::*;
    use crate::profile::Profile;
    use crate::signed::DeviceKey;

    #[test]
    fn only_the_holder_confirms_and_only_what_it_was_asked() {
        let (owner, friend) = (DeviceKey::generate(&mut OsRng), DeviceKey::generate(&mut OsRng));
        let profile = Profile {
            role: "guest".into(),
            not_before: 0,
            not_after: 10,
            limits: BTreeMap::new(),
            share_depth: 0,
            onward_roles: Default::default(),
        };
        let grant = Grant::new(&mut OsRng, friend.public(), profile, None);
        let provisioned = friend.sign(Provisioned { grant: grant.id, at: 1 });
        assert_eq!(check_provisioned(&provisioned, &grant), Ok(()));
        let by_owner = owner.sign(Provisioned { grant: grant.id, at: 1 });
        assert_eq!(check_provisioned(&by_owner, &grant), Err(ConfirmError::NotTheHolder));

        let termination = owner.sign(Termination { grant: grant.id, at: 2 });
        let proof =
            friend.sign(Deleted { grant: grant.id, termination: termination.signature, at: 3 });
        assert_eq!(check_deleted(&proof, &grant, &termination), Ok(()));
        let another = owner.sign(Termination { grant: grant.id, at: 5 });
        assert_eq!(check_deleted(&proof, &grant, &another), Err(ConfirmError::Elsewhere));
        let mut altered = proof.clone();
        altered.statement.at = 4;
        assert!(matches!(
            check_deleted(&altered, &grant, &termination),
            Err(ConfirmError::Signature(_))
        ));
    }
}
