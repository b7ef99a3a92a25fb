//! The entitlement profile: what a shared key may do, for how long, and whether its holder may
//! pass it on (docs/LIFECYCLE.md, "The profile").
//!
//! A vertical names its own limits; the rules here only need to know how to tell whether one
//! value is narrower than another, so every limit is one of three kinds: a ceiling, a set of
//! what is allowed, or a value that must stay exactly as it is.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One of a vertical's limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Limit {
    /// At most this much (a car's maximum speed in km/h, a lock's openings a day).
    Max(u64),
    /// Only these (a car's entitlements, a lock's weekdays).
    AnyOf(BTreeSet<String>),
    /// Exactly this, passed on unchanged (an opaque value only the verifier understands).
    Exactly(String),
}

impl Limit {
    /// Whether `self`, in a key passed on, allows no more than `parent` did.
    pub fn within(&self, parent: &Limit) -> bool {
        match (self, parent) {
            (Limit::Max(child), Limit::Max(parent)) => child <= parent,
            (Limit::AnyOf(child), Limit::AnyOf(parent)) => child.is_subset(parent),
            (Limit::Exactly(child), Limit::Exactly(parent)) => child == parent,
            _ => false,
        }
    }
}

/// What a shared key may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// The owner's name for the kind of key (`co-owner`, `guest`, `service`): roles are not
    /// ordered, so a key passed on keeps its role unless the profile names it in `onwardRoles`.
    pub role: String,
    /// Valid from (Unix seconds, inclusive).
    pub not_before: i64,
    /// Valid until (Unix seconds, exclusive).
    pub not_after: i64,
    /// The vertical's limits, by name.
    pub limits: BTreeMap<String, Limit>,
    /// How many times more the key may be passed on: 0, not at all; 1, its holder may share it
    /// with one more device, which may not share it further; and so on.
    pub share_depth: u8,
    /// Roles other than its own that a holder may give a key it passes on.
    pub onward_roles: BTreeSet<String>,
}

/// The first way in which a profile is wider than the one it came from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Widening {
    /// The parent may not be passed on at all, or not this deep.
    #[error("the key it came from may not be passed on further")]
    Depth,
    /// Valid before or after the parent.
    #[error("valid outside the key it came from ({not_before}..{not_after})")]
    Validity {
        /// The parent's start.
        not_before: i64,
        /// The parent's end.
        not_after: i64,
    },
    /// A role the parent may not hand out.
    #[error("the role {0:?} is not the parent's own nor one it may hand out")]
    Role(String),
    /// An onward role the parent could not hand out.
    #[error("may hand out the role {0:?}, which the key it came from may not")]
    OnwardRole(String),
    /// A limit of the parent dropped or loosened.
    #[error("the limit {0:?} is missing or wider than in the key it came from")]
    Limit(String),
}

impl Profile {
    /// Whether this profile may be held when the key it was passed on from has `parent`: the
    /// first way it is wider, if any. A child may add limits (that only narrows it).
    pub fn check_within(&self, parent: &Profile) -> Result<(), Widening> {
        if parent.share_depth == 0 || self.share_depth >= parent.share_depth {
            return Err(Widening::Depth);
        }
        if self.not_before < parent.not_before || self.not_after > parent.not_after {
            return Err(Widening::Validity {
                not_before: parent.not_before,
                not_after: parent.not_after,
            });
        }
        if self.role != parent.role && !parent.onward_roles.contains(&self.role) {
            return Err(Widening::Role(self.role.clone()));
        }
        if let Some(role) = self
            .onward_roles
            .iter()
            .find(|role| **role != parent.role && !parent.onward_roles.contains(*role))
        {
            return Err(Widening::OnwardRole(role.clone()));
        }
        for (name, limit) in &parent.limits {
            if !self.limits.get(name).is_some_and(|child| child.within(limit)) {
                return Err(Widening::Limit(name.clone()));
            }
        }
        Ok(())
    }

    /// Whether `now` is within the validity.
    pub fn valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest() -> Profile {
        Profile {
            role: "guest".into(),
            not_before: 100,
            not_after: 200,
            limits: BTreeMap::from([
                ("maxSpeedKmh".into(), Limit::Max(120)),
                ("entitlements".into(), Limit::AnyOf(["open".into(), "drive".into()].into())),
                ("vehicle".into(), Limit::Exactly("VIN123".into())),
            ]),
            share_depth: 1,
            onward_roles: BTreeSet::new(),
        }
    }

    fn child_of(parent: &Profile) -> Profile {
        Profile { share_depth: parent.share_depth - 1, ..parent.clone() }
    }

    #[test]
    fn a_copy_one_level_down_is_within_and_each_widening_is_named() {
        let parent = guest();
        assert_eq!(child_of(&parent).check_within(&parent), Ok(()));

        let mut deep = child_of(&parent);
        deep.share_depth = 1;
        assert_eq!(deep.check_within(&parent), Err(Widening::Depth));

        let mut late = child_of(&parent);
        late.not_after = 201;
        assert!(matches!(late.check_within(&parent), Err(Widening::Validity { .. })));

        let mut faster = child_of(&parent);
        faster.limits.insert("maxSpeedKmh".into(), Limit::Max(130));
        assert_eq!(faster.check_within(&parent), Err(Widening::Limit("maxSpeedKmh".into())));

        let mut dropped = child_of(&parent);
        dropped.limits.remove("vehicle");
        assert_eq!(dropped.check_within(&parent), Err(Widening::Limit("vehicle".into())));

        let mut more = child_of(&parent);
        more.limits.insert("entitlements".into(), Limit::AnyOf(["trunk".into()].into()));
        assert_eq!(more.check_within(&parent), Err(Widening::Limit("entitlements".into())));

        let mut promoted = child_of(&parent);
        promoted.role = "co-owner".into();
        assert_eq!(promoted.check_within(&parent), Err(Widening::Role("co-owner".into())));
    }

    #[test]
    fn narrowing_and_adding_limits_stays_within() {
        let parent = guest();
        let mut child = child_of(&parent);
        child.not_before = 150;
        child.limits.insert("maxSpeedKmh".into(), Limit::Max(80));
        child.limits.insert("entitlements".into(), Limit::AnyOf(["open".into()].into()));
        child.limits.insert("hours".into(), Limit::Exactly("08-18".into()));
        assert_eq!(child.check_within(&parent), Ok(()));
    }

    #[test]
    fn a_role_handed_out_must_be_named_by_the_parent() {
        let mut owner = guest();
        owner.role = "co-owner".into();
        owner.share_depth = 2;
        owner.onward_roles = ["guest".into()].into();
        let mut guest_key = child_of(&owner);
        guest_key.role = "guest".into();
        assert_eq!(guest_key.check_within(&owner), Ok(()));
        guest_key.onward_roles = ["service".into()].into();
        assert_eq!(guest_key.check_within(&owner), Err(Widening::OnwardRole("service".into())));
    }
}
