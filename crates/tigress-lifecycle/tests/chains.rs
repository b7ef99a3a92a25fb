//! Generated chains checked against an independent statement of the rules: each chain is
//! described by plain numbers and flags (a [`Hop`] per key), built into real signed grants, and
//! the verifier's verdict compared with what [`expected`] works out from the numbers alone, in
//! the order docs/LIFECYCLE.md gives the checks. Every kind of verdict must turn up.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::rngs::OsRng;
use tigress_lifecycle::{
    Bytes, ChainError, DeviceKey, Grant, Limit, Profile, Signed, Termination, Widening,
    verify_chain,
};

/// One key of a chain, as plain data.
#[derive(Clone, Debug)]
struct Hop {
    depth: u8,
    not_before: i64,
    not_after: i64,
    /// `None`: the speed limit left out.
    speed: Option<u64>,
    /// Role `b` rather than `a`.
    role_b: bool,
    /// May hand out role `b`.
    onward_b: bool,
    /// Signed by the right key (else by a stranger).
    signer_ok: bool,
    /// Names the right parent (none for the first).
    link_ok: bool,
    /// Changed after it was signed.
    tampered: bool,
    /// The owner took it back; and separately, a holder tried to.
    terminated: bool,
    terminated_by_holder: bool,
}

fn hop() -> impl Strategy<Value = Hop> {
    let mostly = |p: f64| proptest::bool::weighted(p);
    (
        (0u8..4, 0i64..6, 14i64..20, proptest::option::weighted(0.9, 60u64..140)),
        (mostly(0.15), mostly(0.15), mostly(0.95), mostly(0.95), mostly(0.04)),
        (mostly(0.05), mostly(0.1)),
    )
        .prop_map(
            |(
                (depth, not_before, not_after, speed),
                (role_b, onward_b, signer_ok, link_ok, tampered),
                (terminated, terminated_by_holder),
            )| Hop {
                depth,
                not_before,
                not_after,
                speed,
                role_b,
                onward_b,
                signer_ok,
                link_ok,
                tampered,
                terminated,
                terminated_by_holder,
            },
        )
}

/// The outcome, in words: what the rules say, with no call into the library.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Verdict {
    Ok,
    Signature(usize),
    NotFromOwner,
    BrokenLink(usize),
    Depth(usize),
    Validity(usize),
    Role(usize),
    OnwardRole(usize),
    Limit(usize),
    NotValidNow(usize),
    Terminated(usize),
}

impl Verdict {
    fn kind(&self) -> &'static str {
        match self {
            Verdict::Ok => "accepted",
            Verdict::Signature(_) => "signature",
            Verdict::NotFromOwner => "not from the owner",
            Verdict::BrokenLink(_) => "broken link",
            Verdict::Depth(_) => "too deep",
            Verdict::Validity(_) => "validity widened",
            Verdict::Role(_) => "role widened",
            Verdict::OnwardRole(_) => "onward role widened",
            Verdict::Limit(_) => "limit widened",
            Verdict::NotValidNow(_) => "not valid now",
            Verdict::Terminated(_) => "terminated",
        }
    }
}

/// The rules, over the numbers: for each key in turn, its signature; who signed it and what it
/// names as its parent; for a key passed on, depth, validity, role, onward roles and limits
/// against the key before; the time; the owner's terminations.
fn expected(hops: &[Hop], now: i64) -> Verdict {
    for (i, hop) in hops.iter().enumerate() {
        if hop.tampered {
            return Verdict::Signature(i);
        }
        if !(hop.signer_ok && hop.link_ok) {
            return if i == 0 { Verdict::NotFromOwner } else { Verdict::BrokenLink(i) };
        }
        if i > 0 {
            let parent = &hops[i - 1];
            if parent.depth == 0 || hop.depth + 1 > parent.depth {
                return Verdict::Depth(i);
            }
            if hop.not_before < parent.not_before || hop.not_after > parent.not_after {
                return Verdict::Validity(i);
            }
            let parent_may_give_b = parent.role_b || parent.onward_b;
            if hop.role_b != parent.role_b && !(hop.role_b && parent_may_give_b) {
                return Verdict::Role(i);
            }
            if hop.onward_b && !parent_may_give_b {
                return Verdict::OnwardRole(i);
            }
            if let Some(ceiling) = parent.speed {
                if hop.speed.is_none_or(|speed| speed > ceiling) {
                    return Verdict::Limit(i);
                }
            }
        }
        if !(hop.not_before <= now && now < hop.not_after) {
            return Verdict::NotValidNow(i);
        }
        if hop.terminated {
            return Verdict::Terminated(i);
        }
    }
    Verdict::Ok
}

fn profile_of(hop: &Hop) -> Profile {
    let role = |b: bool| if b { "b" } else { "a" }.to_owned();
    Profile {
        role: role(hop.role_b),
        not_before: hop.not_before,
        not_after: hop.not_after,
        limits: hop
            .speed
            .map(|speed| ("speed".to_owned(), Limit::Max(speed)))
            .into_iter()
            .collect(),
        share_depth: hop.depth,
        onward_roles: if hop.onward_b { BTreeSet::from([role(true)]) } else { BTreeSet::new() },
    }
}

/// What the verifier says of the chain the hops describe.
fn verdict_of(hops: &[Hop], now: i64) -> Verdict {
    let owner = DeviceKey::generate(&mut OsRng);
    let stranger = DeviceKey::generate(&mut OsRng);
    let holders: Vec<DeviceKey> = hops.iter().map(|_| DeviceKey::generate(&mut OsRng)).collect();
    let mut chain: Vec<Signed<Grant>> = Vec::new();
    let mut terminations = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let parent = chain.last().map(|signed| &signed.statement);
        let mut grant = Grant::new(&mut OsRng, holders[i].public(), profile_of(hop), parent);
        if !hop.link_ok {
            grant.parent = Some(Bytes([7; 16]));
        }
        let issuer = if i == 0 { &owner } else { &holders[i - 1] };
        let mut signed = if hop.signer_ok { issuer } else { &stranger }.sign(grant);
        if hop.tampered {
            signed.statement.profile.not_after += 1;
        }
        if hop.terminated {
            terminations.push(owner.sign(Termination { grant: signed.statement.id, at: now }));
        }
        if hop.terminated_by_holder {
            terminations.push(holders[i].sign(Termination { grant: signed.statement.id, at: now }));
        }
        chain.push(signed);
    }
    match verify_chain(&chain, &owner.public(), &terminations, now) {
        Ok(verified) => {
            assert_eq!(verified.depth, hops.len() - 1);
            Verdict::Ok
        }
        Err(ChainError::Signature { index, .. }) => Verdict::Signature(index),
        Err(ChainError::NotFromOwner) => Verdict::NotFromOwner,
        Err(ChainError::BrokenLink { index }) => Verdict::BrokenLink(index),
        Err(ChainError::Widened { index, widening }) => match widening {
            Widening::Depth => Verdict::Depth(index),
            Widening::Validity { .. } => Verdict::Validity(index),
            Widening::Role(_) => Verdict::Role(index),
            Widening::OnwardRole(_) => Verdict::OnwardRole(index),
            Widening::Limit(_) => Verdict::Limit(index),
        },
        Err(ChainError::NotValidNow { index, .. }) => Verdict::NotValidNow(index),
        Err(ChainError::Terminated { index }) => Verdict::Terminated(index),
        Err(other) => panic!("a verdict the rules never give here: {other}"),
    }
}

#[test]
fn the_verifier_agrees_with_the_rules_on_generated_chains() {
    const CASES: u32 = 3_000;
    // A fixed seed, so that the tally below is the same in every run.
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(Config { cases: CASES, ..Config::default() }, rng);
    let tally = std::cell::RefCell::new(BTreeMap::<&'static str, u32>::new());
    let chains = (proptest::collection::vec(hop(), 1..6), 0i64..20);
    runner
        .run(&chains, |(hops, now)| {
            let (want, got) = (expected(&hops, now), verdict_of(&hops, now));
            prop_assert_eq!(&got, &want, "hops {:?}, now {}", hops, now);
            *tally.borrow_mut().entry(want.kind()).or_default() += 1;
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    eprintln!("verdicts over {CASES} generated chains: {tally:?}");
    let kinds = [
        "accepted",
        "signature",
        "not from the owner",
        "broken link",
        "too deep",
        "validity widened",
        "role widened",
        "onward role widened",
        "limit widened",
        "not valid now",
        "terminated",
    ];
    for kind in kinds {
        assert!(tally.get(kind).is_some_and(|&n| n >= 5), "too few chains {kind}: {tally:?}");
    }
}
