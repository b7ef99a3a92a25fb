//! The Redis Cluster store, so that several relays can serve the same mailboxes.
//!
//! Every operation that decides something is one Lua script run on the node that owns the
//! mailbox: the script applies the rules of [`crate::mailbox`] re-expressed in a few lines of Lua,
//! and the contract suite (`tests/it/store_contract.rs`) runs the same cases against this store
//! and SQLite to show that they agree. Expiry is Redis's own: every key of a mailbox gets
//! `EXPIREAT expires_at` when it is written, and every script also treats
//! `expires_at <= now` as absent, so a mailbox is gone at the same second on every relay.
//! [`MailboxStore::sweep`] therefore has nothing to do.
//!
//! # Key layout
//!
//! The keys of one mailbox share the hash tag of its id (32 lowercase hex digits), so they live
//! in one slot and one script may touch them all:
//!
//! - `tigress:{<id>}:box`, a hash: `s` and `r` (sender and receiver claim hashes, hex), `rights`,
//!   `w` and `d` (`1` when the receiver may write or delete), `exp`, `pt` and `pd` (the payload
//!   slot), `ti`, `de` and `im` (display information; empty when `du` holds the
//!   `displayInformationUrl` instead), `stk`/`std` and `rtk`/`rtd` (the sender's
//!   and receiver's push tokens), `seq` (the log's last seq) and `bytes` (its payload bytes).
//! - `tigress:{<id>}:log`, a list: message `seq` is element `seq - 1`, stored as `s` or `r`
//!   followed by the payload's JSON.
//! - `tigress:{<id>}:req`, a hash from claim hash (hex) to `<operation code>:<request hash hex>`:
//!   the last de-duplicated request of each claim (§7).
//! - `tigress:{<id>}:ev`, a hash: the mailbox's lifecycle events, when its create named an
//!   endpoint; it outlives the mailbox until they are delivered (`events.rs`, docs/EVENTS.md).
//!   For any other mailbox, a placeholder that expires with it, so that every mailbox has the
//!   same keys.
//! - `tigress:{<id>}:wake`, a shard channel (not a key): updates and deletes publish an empty
//!   message to it in the same script, for readers waiting on other relays
//!   ([`wake`]).
//! - `tigress:{events}:due`, one sorted set for the whole cluster: the mailboxes with events to
//!   look at, scored by when (`events.rs`).
//!
//! Claims and request ids are only ever stored as the digests [`ClaimHash`] and [`RequestHash`].
//! Scripts compare those digests with `==`; like SQLite's index lookups, this is safe because they
//! are hashes of secrets, not the secrets.
//!
//! # Create de-duplication
//!
//! A replayed create is found by the claim and request id alone, before any mailbox id is known,
//! so it needs a key of its own: `tigress:{<claim hash>}:created:<request hash>`, holding the
//! mailbox id, with the mailbox's expiry. It lives in another slot than the mailbox, so a create
//! with a request id takes up to three steps, each atomic:
//!
//! 1. read the key; when it names a live mailbox whose request record for this claim is still
//!    this create, answer [`Outcome::Replayed`] with it;
//! 2. otherwise create the mailbox (its request record included);
//! 3. compare-and-set the key from what step 1 saw to the new id. When another create of the
//!    same request won the race in between, the new mailbox is deleted and the steps run again,
//!    which then answer the winner's mailbox as a replay.
//!
//! The key is written only after its mailbox exists, so it never names a mailbox that was not
//! created. A relay that fails between steps 2 and 3 answers 503 and leaves an unreachable
//! mailbox that expires on its own; the client's retry creates a fresh one.
//!
//! # Accepted attestations
//!
//! `tigress:{<token digest>}:attestation` remembers a device attestation token the relay
//! accepted, holding the create's request hash (or `-` without one), with `EXAT` at the end of
//! the token's freshness (plus the clock skew a token is allowed). One `SET … NX GET EXAT` both records a first use and, on any later
//! one, answers what the first recorded, atomically: no script is needed.
//!
//! # Files
//!
//! `keys.rs` names every key and channel, and `error.rs` turns Redis errors into
//! [`StoreError`]s. Each script is a file of `scripts/`, its inputs and answer described at its
//! top, and `scripts.rs` gives the named fields of the one JSON object each takes and the one it
//! answers, tested against the cluster in `tests.rs`. [`cluster`] routes by slot and [`wake`]
//! carries the wake-ups. None of these imports this file, so each reads on its own.

pub mod cluster;
mod error;
mod events;
mod keys;
mod scripts;
#[cfg(test)]
mod tests;
pub mod wake;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tigress_proto::MailboxId;
use tigress_proto::wire::{
    Display, DisplayInformation, Message, NotificationToken, Party, Payload,
};

use super::{
    Created, EventKey, MailboxStore, NewMailbox, Outcome, PendingEvent, PreviewView, ReadView,
    StoreError, Updated,
};
use crate::mailbox::{self, Caller, ClaimHash, Denial, LogLimits, Operation, RequestHash};
use cluster::{Cluster, Lua, Request};
use error::{Corrupt, backend};
use keys::{Keys, attestation_key, created_key, hex, parse_id};
use scripts::{
    Answer, ClaimCreatedAnswer, ClaimCreatedInput, CreateInput, CreatedAnswer, CreatedInput,
    DeleteInput, Done, Evented, ForgetTokenInput, NowInput, ReadAnswer, ReadInput, RelinquishInput,
    Scripts, UpdateAnswer, UpdateInput,
};

/// How often a create retries after losing a race for its de-duplication key.
const CREATE_ATTEMPTS: usize = 3;

/// The Redis Cluster mailbox store.
pub struct RedisStore {
    cluster: Cluster,
    log: LogLimits,
    scripts: Scripts,
    /// Told when this relay recorded or finished an event, for
    /// [`MailboxStore::outbox_changed`].
    outbox: tokio::sync::Notify,
}

impl RedisStore {
    /// Connects to the cluster through any of `nodes` (`host:port`). With `replica_acks`
    /// above 0, every write is answered only once that many replicas hold it
    /// ([`cluster`], "Replica acknowledgements").
    pub async fn connect(
        nodes: &[String],
        log: LogLimits,
        replica_acks: u32,
    ) -> Result<Self, StoreError> {
        let cluster = Cluster::connect(nodes, None, replica_acks).await?;
        let fewest = cluster.fewest_replicas();
        if u64::from(replica_acks) > fewest {
            tracing::warn!(
                replica_acks,
                fewest_replicas = fewest,
                "some master has fewer replicas than --redis-replica-acks: its writes will be \
                 answered 503 until it has enough"
            );
        }
        Ok(Self { cluster, log, scripts: Scripts::new(), outbox: tokio::sync::Notify::new() })
    }

    /// Runs a mailbox script over the keys of mailbox `id` with `input` as its JSON argument;
    /// `nf` and `denied` answers become errors, and `replayed` the outcome. A write that did
    /// not reach the replicas it should have is unavailable, whatever it answered.
    async fn run<T: DeserializeOwned>(
        &self,
        script: &Lua,
        id: &MailboxId,
        input: &impl Serialize,
    ) -> Result<(Outcome, T), StoreError> {
        let (answer, replicated) = self.run_unreplicated(script, id, input).await?;
        if !replicated {
            return Err(StoreError::Unavailable);
        }
        answer
    }

    /// [`RedisStore::run`], also answering when the replicas did not acknowledge the write in
    /// time (the second value is then false).
    async fn run_unreplicated<T: DeserializeOwned>(
        &self,
        script: &Lua,
        id: &MailboxId,
        input: &impl Serialize,
    ) -> Result<(Result<(Outcome, T), StoreError>, bool), StoreError> {
        let input = serde_json::to_string(input).map_err(backend)?;
        let (answer, route) = invoke(&self.cluster, script, id, &input).await?;
        if serde_json::from_str::<Evented>(&answer).is_ok_and(|evented| evented.ev) {
            self.look_at_events(id).await;
        }
        // serde's message may quote the answer, which holds claim hashes and payloads.
        let answer =
            serde_json::from_str(&answer).map_err(|_| backend(Corrupt("script answer")))?;
        let answer = match answer {
            Answer::Ok(fields) => Ok((Outcome::Done, fields)),
            Answer::Replayed(fields) => Ok((Outcome::Replayed, fields)),
            Answer::Nf => Err(StoreError::NotFound),
            Answer::Denied { denial: name } => Err(StoreError::Conflict(denial(&name)?)),
        };
        Ok((answer, route.replicated))
    }

    /// Step 1 of a create with a request id: the mailbox that this request already created.
    async fn find_created(
        &self,
        created_key: &str,
        sender: &ClaimHash,
        request: &RequestHash,
        now: i64,
    ) -> Result<(Option<String>, Option<Created>), StoreError> {
        let get = Request::Command(redis::cmd("GET").arg(created_key).clone());
        let seen: Option<String> = self.cluster.run(created_key, &get).await?;
        let Some(seen) = seen else {
            return Ok((None, None));
        };
        let Some(id) = parse_id(&seen) else {
            return Err(backend(Corrupt("created mailbox id")));
        };
        let record = record(Operation::Create, request);
        let input = CreatedInput { now, sender: &hex(&sender.0), record: &record };
        match self.run::<CreatedAnswer>(&self.scripts.created, &id, &input).await {
            Ok((_, answer)) => {
                let token_type = answer.token_type;
                Ok((Some(seen), Some(Created { outcome: Outcome::Replayed, id, token_type })))
            }
            Err(StoreError::NotFound) => Ok((Some(seen), None)),
            Err(e) => Err(e),
        }
    }

    /// Step 2: writes the mailbox; whether the replicas acknowledged it.
    async fn insert(
        &self,
        mailbox: &NewMailbox,
        request: Option<&RequestHash>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let record = request.map(|request| record(Operation::Create, request));
        let entry = log_entry(Party::Sender, &mailbox.payload)?;
        let token = mailbox.sender_token.as_ref();
        let inline = mailbox.display.information();
        let input = CreateInput {
            now,
            expires_at: mailbox.expires_at,
            sender: &hex(&mailbox.sender.0),
            rights: &mailbox.rights.to_string(),
            write: mailbox.rights.write,
            delete: mailbox.rights.delete,
            payload_type: &mailbox.payload.kind,
            payload_data: &mailbox.payload.data,
            size: mailbox.payload.data.len(),
            title: inline.map_or("", |d| d.title.as_str()),
            description: inline.map_or("", |d| d.description.as_str()),
            image_url: inline.map_or("", |d| d.image_url.as_str()),
            display_url: mailbox.display.url(),
            entry: &entry,
            token_type: token.map(|token| token.kind.as_str()),
            token_data: token.map(|token| token.token_data.as_str()),
            record: record.as_deref(),
            max_receivers: mailbox.max_receivers,
            endpoint: mailbox.events.as_ref().map(|name| name.as_str()),
        };
        if mailbox.events.is_some() {
            // Indexed before the mailbox exists: a relay that stops in between leaves an entry
            // that the delivery loop finds empty and drops, never an event it cannot find.
            self.index_events(&mailbox.id, 0).await?;
        }
        let (answer, replicated) =
            self.run_unreplicated::<Done>(&self.scripts.create, &mailbox.id, &input).await?;
        answer?;
        Ok(replicated)
    }

    async fn erase(&self, id: &MailboxId) -> Result<(), StoreError> {
        let keys = Keys::of(id);
        let delete = redis::cmd("DEL")
            .arg(&keys.mailbox)
            .arg(&keys.log)
            .arg(&keys.requests)
            .arg(&keys.events)
            .clone();
        let ((), _) = self.cluster.write(&keys.mailbox, &Request::Command(delete)).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl MailboxStore for RedisStore {
    async fn create(
        &self,
        mailbox: NewMailbox,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Created, StoreError> {
        let token_type = mailbox.sender_token.as_ref().map(|token| token.kind.clone());
        let Some(request) = request else {
            if !self.insert(&mailbox, None, now).await? {
                return Err(StoreError::Unavailable);
            }
            return Ok(Created { outcome: Outcome::Done, id: mailbox.id, token_type });
        };
        let created_key = created_key(&mailbox.sender, &request);
        for _ in 0..CREATE_ATTEMPTS {
            let (seen, found) =
                self.find_created(&created_key, &mailbox.sender, &request, now).await?;
            if let Some(created) = found {
                return Ok(created);
            }
            // A mailbox the replicas did not acknowledge is still claimed by its request: the
            // client's retry then finds it (and waits for the replicas again) instead of making
            // a second one.
            let mailbox_replicated = self.insert(&mailbox, Some(&request), now).await?;
            let new_id = hex(mailbox.id.as_bytes());
            let input = ClaimCreatedInput {
                seen: seen.as_deref(),
                id: &new_id,
                expires_at: mailbox.expires_at,
            };
            let input = serde_json::to_string(&input).map_err(backend)?;
            let claim = Request::Script {
                lua: &self.scripts.claim_created,
                keys: &[&created_key],
                args: &[&input],
            };
            let (answer, route): (String, _) = self.cluster.write(&created_key, &claim).await?;
            let answer: ClaimCreatedAnswer = serde_json::from_str(&answer)
                .map_err(|_| backend(Corrupt("claim_created answer")))?;
            if answer.claimed {
                if !(mailbox_replicated && route.replicated) {
                    return Err(StoreError::Unavailable);
                }
                return Ok(Created { outcome: Outcome::Done, id: mailbox.id, token_type });
            }
            // Another create of this request won; ours must not stay reachable.
            self.erase(&mailbox.id).await?;
        }
        Err(StoreError::Unavailable)
    }

    async fn preview(&self, id: MailboxId, now: i64) -> Result<PreviewView, StoreError> {
        let key = &Keys::of(&id).mailbox;
        let fields = Request::Command(
            redis::cmd("HMGET").arg(key).arg(&["exp", "ti", "de", "im", "du"]).clone(),
        );
        type Fields =
            (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
        let fields: Fields = self.cluster.run(key, &fields).await?;
        let (Some(expires_at), Some(title), Some(description), Some(image_url), url) = fields
        else {
            return Err(StoreError::NotFound);
        };
        let expires_at = expires_at.parse().map_err(|_| backend(Corrupt("expiry")))?;
        if mailbox::is_expired(expires_at, now) {
            return Err(StoreError::NotFound);
        }
        let display = match url {
            Some(url) => Display::Url(url),
            None => Display::Inline(DisplayInformation { title, description, image_url }),
        };
        Ok(PreviewView { display, expires_at })
    }

    async fn read(
        &self,
        id: MailboxId,
        caller: Caller,
        token: Option<NotificationToken>,
        after: u64,
        now: i64,
    ) -> Result<ReadView, StoreError> {
        let legacy = legacy_hex(&caller);
        let input = ReadInput {
            now,
            caller: &hex(&caller.hash.0),
            legacy: legacy.as_deref(),
            after: after.to_string(),
            token_type: token.as_ref().map(|t| t.kind.as_str()),
            token_data: token.as_ref().map(|t| t.token_data.as_str()),
        };
        let (_, answer) = self.run::<ReadAnswer>(&self.scripts.read, &id, &input).await?;
        let sender_token = match (answer.sender_token_type, answer.sender_token_data) {
            (Some(kind), Some(token_data)) => Some(NotificationToken::new(kind, token_data)),
            _ => None,
        };
        let messages = answer
            .messages
            .iter()
            .zip(after + 1..)
            .map(|(entry, seq)| message(seq, entry))
            .collect::<Result<_, _>>()?;
        Ok(ReadView {
            payload: Payload { kind: answer.payload_type, data: answer.payload_data },
            display: match answer.display_url {
                Some(url) => Display::Url(url),
                None => Display::Inline(DisplayInformation {
                    title: answer.title,
                    description: answer.description,
                    image_url: answer.image_url,
                }),
            },
            expires_at: number(&answer.expires_at)?,
            role: party(&answer.role)?,
            messages,
            last_seq: number(&answer.last_seq)?,
            receiver_bound: answer.receiver_bound,
            just_bound: answer.just_bound,
            sender_token,
        })
    }

    async fn update(
        &self,
        id: MailboxId,
        caller: Caller,
        payload: Payload,
        token: Option<NotificationToken>,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Updated, StoreError> {
        let record = request.map(|request| record(Operation::Update, &request));
        let entry = serde_json::to_string(&payload).map_err(backend)?;
        let legacy = legacy_hex(&caller);
        let input = UpdateInput {
            now,
            caller: &hex(&caller.hash.0),
            legacy: legacy.as_deref(),
            payload_type: &payload.kind,
            payload_data: &payload.data,
            size: payload.data.len(),
            entry: &entry,
            token_type: token.as_ref().map(|t| t.kind.as_str()),
            token_data: token.as_ref().map(|t| t.token_data.as_str()),
            record: record.as_deref(),
            max_messages: self.log.max_messages.to_string(),
            max_bytes: self.log.max_bytes.to_string(),
        };
        let (outcome, answer) = self.run::<UpdateAnswer>(&self.scripts.update, &id, &input).await?;
        let peer_token = match (answer.peer, answer.peer_token_type, answer.peer_token_data) {
            (Some(peer), Some(kind), Some(token_data)) => {
                Some((party(&peer)?, NotificationToken::new(kind, token_data)))
            }
            _ => None,
        };
        Ok(Updated { outcome, token_type: answer.token_type, peer_token })
    }

    async fn delete(&self, id: MailboxId, caller: Caller, now: i64) -> Result<(), StoreError> {
        let legacy = legacy_hex(&caller);
        let input = DeleteInput { now, caller: &hex(&caller.hash.0), legacy: legacy.as_deref() };
        self.run::<Done>(&self.scripts.delete, &id, &input).await.map(drop)
    }

    async fn relinquish(
        &self,
        id: MailboxId,
        caller: Caller,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Outcome, StoreError> {
        let record = request.map(|request| record(Operation::Relinquish, &request));
        let legacy = legacy_hex(&caller);
        let input = RelinquishInput {
            now,
            caller: &hex(&caller.hash.0),
            legacy: legacy.as_deref(),
            record: record.as_deref(),
        };
        let (outcome, Done {}) = self.run(&self.scripts.relinquish, &id, &input).await?;
        Ok(outcome)
    }

    async fn forget_token(
        &self,
        id: MailboxId,
        role: Party,
        token_data: String,
        now: i64,
    ) -> Result<(), StoreError> {
        let role = match role {
            Party::Receiver => "r",
            Party::Sender => "s",
        };
        let input = ForgetTokenInput { now, role, token_data: &token_data };
        self.run::<Done>(&self.scripts.forget_token, &id, &input).await.map(drop)
    }

    async fn remember_attestation(
        &self,
        digest: [u8; 32],
        request: Option<RequestHash>,
        until: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        if until <= now {
            // Already gone: nothing to remember (and EXAT refuses a time in the past).
            return Ok(true);
        }
        let key = &attestation_key(&digest);
        let value = &request.map_or_else(|| "-".to_owned(), |request| hex(&request.0));
        // Sets the key when absent and answers its earlier value when not, in one command.
        let set = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("NX")
            .arg("GET")
            .arg("EXAT")
            .arg(until)
            .clone();
        let (seen, route): (Option<String>, _) =
            self.cluster.write(key, &Request::Command(set)).await?;
        if !route.replicated {
            return Err(StoreError::Unavailable);
        }
        Ok(match seen {
            None => true,
            // A create without a request id is never repeated, so its token never is either.
            Some(seen) => request.is_some() && seen == *value,
        })
    }

    async fn sweep(&self, _now: i64) -> Result<u64, StoreError> {
        // Redis erases each key at its EXPIREAT; nothing is left to sweep.
        Ok(0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.cluster.ping().await
    }

    fn keeps_events(&self) -> bool {
        true
    }

    async fn record_refused_claim(&self, id: MailboxId, now: i64) -> Result<(), StoreError> {
        self.run::<Done>(&self.scripts.refused, &id, &NowInput { now }).await.map(drop)
    }

    async fn due_events(&self, now: i64, limit: usize) -> Result<Vec<PendingEvent>, StoreError> {
        self.claim_due_events(now, limit).await
    }

    async fn event_done(&self, key: EventKey) -> Result<(), StoreError> {
        self.finish_event(key).await
    }

    async fn event_failed(
        &self,
        key: EventKey,
        failures: u32,
        next_attempt: i64,
    ) -> Result<(), StoreError> {
        self.retry_event(key, failures, next_attempt).await
    }

    async fn outbox_changed(&self) {
        self.outbox.notified().await;
    }
}

fn denial(name: &str) -> Result<Denial, StoreError> {
    Ok(match name {
        "AlreadyClaimed" => Denial::AlreadyClaimed,
        "LogFull" => Denial::LogFull,
        "NotAParty" => Denial::NotAParty,
        "NotReceiver" => Denial::NotReceiver,
        "NoReceiversLeft" => Denial::NoReceiversLeft,
        "RightMissing" => Denial::RightMissing,
        _ => return Err(backend(Corrupt("denial"))),
    })
}

fn party(name: &str) -> Result<Party, StoreError> {
    match name {
        "r" | "receiver" => Ok(Party::Receiver),
        "s" | "sender" => Ok(Party::Sender),
        _ => Err(backend(Corrupt("party"))),
    }
}

/// A number the store keeps as a decimal string (expiry, seq).
fn number<T: std::str::FromStr>(text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| backend(Corrupt("number")))
}

/// A log element: `s` or `r`, then the payload's JSON.
fn log_entry(from: Party, payload: &Payload) -> Result<String, StoreError> {
    let prefix = match from {
        Party::Receiver => 'r',
        Party::Sender => 's',
    };
    Ok(format!("{prefix}{}", serde_json::to_string(payload).map_err(backend)?))
}

fn message(seq: u64, entry: &str) -> Result<Message, StoreError> {
    let (from, payload) = entry.split_at_checked(1).ok_or_else(|| backend(Corrupt("message")))?;
    Ok(Message {
        seq,
        from: party(from)?,
        payload: serde_json::from_str(payload).map_err(backend)?,
    })
}

/// The caller's plain digest in hex, when it has one besides its keyed one.
fn legacy_hex(caller: &Caller) -> Option<String> {
    caller.legacy.map(|legacy| hex(&legacy.0))
}

/// A request record: `<operation code>:<request hash hex>`.
fn record(operation: Operation, request: &RequestHash) -> String {
    format!("{}:{}", operation.code(), hex(&request.0))
}

/// Runs a mailbox script on the node that owns mailbox `id`, over its keys (box, log and
/// requests) with `input` as its JSON argument and the name of its wake channel; the script's
/// JSON answer. Every mailbox script is run as a write: any of them may bind, record or erase,
/// and where replica acknowledgements are on, each answers only what replicas hold.
///
/// A script that ran on the importing node of a slot being migrated (after `ASK`) published its
/// wake-up there, while the relays waiting on the mailbox are still subscribed on the slot's
/// owner (shard channels move only when the migration ends): the wake-up is published again
/// there. A spurious wake-up costs a waiting reader one read.
async fn invoke(
    cluster: &Cluster,
    script: &Lua,
    id: &MailboxId,
    input: &str,
) -> Result<(String, cluster::Route), StoreError> {
    let keys = Keys::of(id);
    let acks = if cluster.replica_acks() > 0 { "1" } else { "0" };
    let request = Request::Script {
        lua: script,
        keys: &[&keys.mailbox, &keys.log, &keys.requests, &keys.events],
        args: &[input, &keys.wake, acks],
    };
    let (answer, route) = cluster.write(&keys.mailbox, &request).await?;
    if route.asked {
        let publish = Request::Command(redis::cmd("SPUBLISH").arg(&keys.wake).arg("").clone());
        if cluster.run::<i64>(&keys.wake, &publish).await.is_err() {
            tracing::warn!("a wake-up could not be published on a migrating slot's owner");
        }
    }
    Ok((answer, route))
}
