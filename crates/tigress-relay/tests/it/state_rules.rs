//! A property test of the relay's state rules: random sequences of reads, updates, deletes,
//! relinquishes and the passing of time, from the sender and three other claims, with request
//! ids drawn from a small set so that repeats happen, and with or without a `maxReceivers` cap.
//! Each store's answers are compared with a model written from the tables of docs/PROTOCOL.md (§7
//! idempotency, §8 binding, §9 rights, §10 expiry) and the cap's rule, not from the relay's own
//! rule functions.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use tigress_proto::wire::Party;
use tigress_proto::{MailboxId, RequestId};
use tigress_relay::mailbox::{ClaimHash, Denial, RequestHash};
use tigress_relay::store::{MailboxStore, Outcome, StoreError};

use crate::store_contract::{self, Backend};

/// Claim 0 is the sender; 1 to 3 are other devices.
const CLAIMS: usize = 4;
/// Request ids 0 to 2; the create uses id 0.
const REQUEST_IDS: usize = 3;
/// The contract suite's log cap: the create's message and three more.
const MAX_MESSAGES: u64 = 4;

#[derive(Clone, Copy, Debug)]
enum Op {
    Read { claim: usize },
    Update { claim: usize, request: Option<usize> },
    Delete { claim: usize },
    Relinquish { claim: usize, request: Option<usize> },
    Wait { seconds: i64 },
}

/// What an operation answered, in the terms of the protocol's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// 200; for a read, as which party.
    Done(Option<Party>),
    /// 201: a repeat of the claim's last request id, nothing done again.
    Replayed,
    /// 401, 409.
    Denied(Denial),
    /// 404.
    NotFound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Create,
    Update,
    Relinquish,
}

/// The protocol's tables, for one mailbox.
struct Model {
    rights_write: bool,
    rights_delete: bool,
    expires_at: i64,
    now: i64,
    deleted: bool,
    receiver: Option<usize>,
    /// `maxReceivers`, and how many receivers have bound so far.
    max_receivers: Option<u32>,
    binds: u32,
    messages: u64,
    /// §7: the last successful de-duplicated request of each claim.
    last: HashMap<usize, (Kind, usize)>,
}

impl Model {
    fn gone(&self) -> bool {
        self.deleted || self.now >= self.expires_at
    }

    fn replays(&self, claim: usize, kind: Kind, request: Option<usize>) -> bool {
        request.is_some_and(|request| self.last.get(&claim) == Some(&(kind, request)))
    }

    fn apply(&mut self, op: Op) -> Option<Answer> {
        if let Op::Wait { seconds } = op {
            self.now += seconds;
            return None;
        }
        if self.gone() {
            return Some(Answer::NotFound);
        }
        let receiver = |claim| self.receiver == Some(claim);
        Some(match op {
            Op::Wait { .. } => unreachable!(),
            Op::Read { claim: 0 } => Answer::Done(Some(Party::Sender)),
            Op::Read { claim } if receiver(claim) => Answer::Done(Some(Party::Receiver)),
            Op::Read { claim } => match self.receiver {
                None if self.max_receivers.is_some_and(|max| self.binds >= max) => {
                    Answer::Denied(Denial::NoReceiversLeft)
                }
                None => {
                    self.receiver = Some(claim);
                    self.binds += 1;
                    Answer::Done(Some(Party::Receiver))
                }
                Some(_) => Answer::Denied(Denial::AlreadyClaimed),
            },
            Op::Update { claim, request } => {
                if self.replays(claim, Kind::Update, request) {
                    return Some(Answer::Replayed);
                }
                let allowed = claim == 0 || (receiver(claim) && self.rights_write);
                if !allowed {
                    let denial =
                        if receiver(claim) { Denial::RightMissing } else { Denial::NotAParty };
                    return Some(Answer::Denied(denial));
                }
                if self.messages >= MAX_MESSAGES {
                    return Some(Answer::Denied(Denial::LogFull));
                }
                self.messages += 1;
                if let Some(request) = request {
                    self.last.insert(claim, (Kind::Update, request));
                }
                Answer::Done(None)
            }
            Op::Delete { claim } => {
                if claim == 0 || (receiver(claim) && self.rights_delete) {
                    self.deleted = true;
                    Answer::Done(None)
                } else if receiver(claim) {
                    Answer::Denied(Denial::RightMissing)
                } else {
                    Answer::Denied(Denial::NotAParty)
                }
            }
            Op::Relinquish { claim, request } => {
                if self.replays(claim, Kind::Relinquish, request) {
                    return Some(Answer::Replayed);
                }
                if !receiver(claim) {
                    return Some(Answer::Denied(Denial::NotReceiver));
                }
                self.receiver = None;
                if let Some(request) = request {
                    self.last.insert(claim, (Kind::Relinquish, request));
                }
                Answer::Done(None)
            }
        })
    }
}

/// One store call, its result put in the same terms as the model's.
async fn run(
    store: &dyn MailboxStore,
    id: MailboxId,
    claims: &[ClaimHash],
    requests: &[RequestHash],
    op: Op,
    now: i64,
) -> Answer {
    let request = |index: Option<usize>| index.map(|i| requests[i]);
    let result = match op {
        Op::Wait { .. } => unreachable!(),
        Op::Read { claim } => store
            .read(id, claims[claim].into(), None, 0, now)
            .await
            .map(|view| Answer::Done(Some(view.role))),
        Op::Update { claim, request: index } => store
            .update(
                id,
                claims[claim].into(),
                store_contract::payload("AAAA"),
                None,
                request(index),
                now,
            )
            .await
            .map(|updated| outcome(updated.outcome)),
        Op::Delete { claim } => {
            store.delete(id, claims[claim].into(), now).await.map(|()| Answer::Done(None))
        }
        Op::Relinquish { claim, request: index } => {
            store.relinquish(id, claims[claim].into(), request(index), now).await.map(outcome)
        }
    };
    match result {
        Ok(answer) => answer,
        Err(StoreError::NotFound) => Answer::NotFound,
        Err(StoreError::Conflict(denial)) => Answer::Denied(denial),
        Err(e) => panic!("the store failed: {e}"),
    }
}

fn outcome(outcome: Outcome) -> Answer {
    match outcome {
        Outcome::Done => Answer::Done(None),
        Outcome::Replayed => Answer::Replayed,
    }
}

fn op() -> impl Strategy<Value = Op> {
    let claim = 0..CLAIMS;
    let request = proptest::option::weighted(0.8, 0..REQUEST_IDS);
    prop_oneof![
        3 => claim.clone().prop_map(|claim| Op::Read { claim }),
        3 => (claim.clone(), request.clone()).prop_map(|(claim, request)| Op::Update { claim, request }),
        1 => claim.clone().prop_map(|claim| Op::Delete { claim }),
        2 => (claim, request).prop_map(|(claim, request)| Op::Relinquish { claim, request }),
        1 => (1i64..40).prop_map(|seconds| Op::Wait { seconds }),
    ]
}

fn rights() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["R", "RW", "RD", "RWD", "dwr", "Wr"])
}

/// Runs `cases` random sequences against the store `backend` makes.
fn check_store(backend: impl std::future::Future<Output = Backend>, cases: u32) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend = runtime.block_on(backend);
    let store: Arc<dyn MailboxStore> = Arc::clone(&backend.store);
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    let max_receivers = proptest::option::of(1u32..4);
    proptest!(config, |(rights in rights(), max_receivers in max_receivers.clone(), lifetime in 30i64..120, ops in prop::collection::vec(op(), 1..30))| {
        runtime.block_on(async {
            let claims: Vec<ClaimHash> = (0..CLAIMS).map(|_| store_contract::claim().1).collect();
            let requests: Vec<RequestHash> = (0..REQUEST_IDS)
                .map(|_| RequestHash::of(&RequestId::random(&mut rand::rngs::OsRng)))
                .collect();
            let now = store_contract::now();
            let mut mailbox = store_contract::new_mailbox(claims[0], rights, now + lifetime);
            mailbox.sender_token = None;
            mailbox.max_receivers = max_receivers;
            let id = mailbox.id;
            store.create(mailbox, Some(requests[0]), now).await.expect("create");
            let upper = rights.to_ascii_uppercase();
            let mut model = Model {
                rights_write: upper.contains('W'),
                rights_delete: upper.contains('D'),
                expires_at: now + lifetime,
                now,
                deleted: false,
                receiver: None,
                max_receivers,
                binds: 0,
                messages: 1,
                last: HashMap::from([(0, (Kind::Create, 0))]),
            };
            for (step, op) in ops.iter().enumerate() {
                let Some(expected) = model.apply(*op) else { continue };
                let answered = run(store.as_ref(), id, &claims, &requests, *op, model.now).await;
                prop_assert_eq!(answered, expected, "step {} ({:?}) of {:?}", step, op, ops);
            }
            Ok(())
        })?;
    });
}

#[test]
fn sqlite_follows_the_state_tables() {
    check_store(store_contract::sqlite(), 256);
}

#[cfg(feature = "redis")]
#[test]
fn redis_follows_the_state_tables() {
    check_store(store_contract::redis(), 96);
}
