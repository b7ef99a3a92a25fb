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
//!   slot), `ti`, `de` and `im` (display information), `stk`/`std` and `rtk`/`rtd` (the sender's
//!   and receiver's push tokens), `seq` (the log's last seq) and `bytes` (its payload bytes).
//! - `tigress:{<id>}:log`, a list: message `seq` is element `seq - 1`, stored as `s` or `r`
//!   followed by the payload's JSON.
//! - `tigress:{<id>}:req`, a hash from claim hash (hex) to `<operation code>:<request hash hex>`:
//!   the last de-duplicated request of each claim (§7).
//! - `tigress:{<id>}:wake`, a shard channel (not a key): updates and deletes publish an empty
//!   message to it in the same script, for readers waiting on other relays
//!   ([`wake`]).
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

pub mod cluster;
pub mod wake;

use std::sync::Arc;

use redis::{ErrorKind, RedisError, Script, ServerErrorKind};
use tigress_proto::MailboxId;
use tigress_proto::wire::{DisplayInformation, Message, NotificationToken, Party, Payload};

use super::{
    Created, MailboxStore, NewMailbox, Outcome, PreviewView, ReadView, StoreError, Updated,
};
use crate::mailbox::{self, ClaimHash, Denial, LogLimits, Operation, RequestHash};
use cluster::Cluster;

/// How often a create retries after losing a race for its de-duplication key.
const CREATE_ATTEMPTS: usize = 3;

/// The Redis Cluster mailbox store.
pub struct RedisStore {
    cluster: Cluster,
    log: LogLimits,
    scripts: Scripts,
}

impl RedisStore {
    /// Connects to the cluster through any of `nodes` (`host:port`).
    pub async fn connect(nodes: &[String], log: LogLimits) -> Result<Self, StoreError> {
        let cluster = Cluster::connect(nodes, None).await?;
        Ok(Self { cluster, log, scripts: Scripts::new() })
    }

    /// Runs a script over the three keys of mailbox `id`; its answer is a status word and values.
    async fn run(
        &self,
        script: &Script,
        id: &MailboxId,
        args: &[&str],
    ) -> Result<Answer, StoreError> {
        let keys = Keys::of(id);
        let values: Vec<String> = self
            .cluster
            .run(&keys.mailbox, |mut conn| {
                let mut invocation = script.key(&keys.mailbox);
                invocation.key(&keys.log).key(&keys.requests).key(&keys.wake);
                for arg in args {
                    invocation.arg(*arg);
                }
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await?;
        Answer::parse(values)
    }

    /// Step 1 of a create with a request id: the mailbox that this request already created.
    async fn find_created(
        &self,
        created_key: &str,
        sender: &ClaimHash,
        request: &RequestHash,
        now: i64,
    ) -> Result<(String, Option<Created>), StoreError> {
        let seen: Option<String> = self
            .cluster
            .run(created_key, |mut conn| async move {
                redis::cmd("GET").arg(created_key).query_async(&mut conn).await
            })
            .await?;
        let Some(seen) = seen else {
            return Ok((String::new(), None));
        };
        let Some(id) = parse_id(&seen) else {
            return Err(backend(Corrupt("created mailbox id")));
        };
        let record = record(Operation::Create, request);
        let answer = self
            .run(&self.scripts.created, &id, &[&now.to_string(), &hex(&sender.0), &record])
            .await;
        match answer {
            Ok(mut answer) => {
                let token_type = answer.optional()?;
                Ok((seen, Some(Created { outcome: Outcome::Replayed, id, token_type })))
            }
            Err(StoreError::NotFound) => Ok((seen, None)),
            Err(e) => Err(e),
        }
    }

    async fn insert(
        &self,
        mailbox: &NewMailbox,
        request: Option<&RequestHash>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (token_kind, token_data) = match &mailbox.sender_token {
            Some(token) => (token.kind.as_str(), token.token_data.as_str()),
            None => ("", ""),
        };
        let record = request.map(|request| record(Operation::Create, request)).unwrap_or_default();
        let first = log_entry(Party::Sender, &mailbox.payload)?;
        let flag = |granted: bool| if granted { "1" } else { "0" };
        let max_receivers = mailbox.max_receivers.map(|n| n.to_string()).unwrap_or_default();
        self.run(
            &self.scripts.create,
            &mailbox.id,
            &[
                &now.to_string(),
                &mailbox.expires_at.to_string(),
                &hex(&mailbox.sender.0),
                &mailbox.rights.to_string(),
                flag(mailbox.rights.write),
                flag(mailbox.rights.delete),
                &mailbox.payload.kind,
                &mailbox.payload.data,
                &mailbox.display.title,
                &mailbox.display.description,
                &mailbox.display.image_url,
                token_kind,
                token_data,
                &first,
                &mailbox.payload.data.len().to_string(),
                &record,
                &max_receivers,
            ],
        )
        .await
        .map(drop)
    }

    async fn erase(&self, id: &MailboxId) -> Result<(), StoreError> {
        let keys = Keys::of(id);
        let keys = &keys;
        self.cluster
            .run(&keys.mailbox, |mut conn| async move {
                redis::cmd("DEL")
                    .arg(&keys.mailbox)
                    .arg(&keys.log)
                    .arg(&keys.requests)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await
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
            self.insert(&mailbox, None, now).await?;
            return Ok(Created { outcome: Outcome::Done, id: mailbox.id, token_type });
        };
        let created_key =
            format!("tigress:{{{}}}:created:{}", hex(&mailbox.sender.0), hex(&request.0));
        for _ in 0..CREATE_ATTEMPTS {
            let (seen, found) =
                self.find_created(&created_key, &mailbox.sender, &request, now).await?;
            if let Some(created) = found {
                return Ok(created);
            }
            self.insert(&mailbox, Some(&request), now).await?;
            let new_id = hex(mailbox.id.as_bytes());
            let swapped: i64 = self
                .cluster
                .run(&created_key, |mut conn| {
                    let mut invocation = self.scripts.claim_created.key(&created_key);
                    invocation.arg(&seen).arg(&new_id).arg(mailbox.expires_at);
                    async move { invocation.invoke_async(&mut conn).await }
                })
                .await?;
            if swapped == 1 {
                return Ok(Created { outcome: Outcome::Done, id: mailbox.id, token_type });
            }
            // Another create of this request won; ours must not stay reachable.
            self.erase(&mailbox.id).await?;
        }
        Err(StoreError::Unavailable)
    }

    async fn preview(&self, id: MailboxId, now: i64) -> Result<PreviewView, StoreError> {
        let key = &Keys::of(&id).mailbox;
        let fields: (Option<String>, Option<String>, Option<String>, Option<String>) = self
            .cluster
            .run(key, |mut conn| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg(&["exp", "ti", "de", "im"])
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let (Some(expires_at), Some(title), Some(description), Some(image_url)) = fields else {
            return Err(StoreError::NotFound);
        };
        let expires_at = expires_at.parse().map_err(|_| backend(Corrupt("expiry")))?;
        if mailbox::is_expired(expires_at, now) {
            return Err(StoreError::NotFound);
        }
        Ok(PreviewView {
            display: DisplayInformation { title, description, image_url },
            expires_at,
        })
    }

    async fn read(
        &self,
        id: MailboxId,
        caller: ClaimHash,
        token: Option<NotificationToken>,
        after: u64,
        now: i64,
    ) -> Result<ReadView, StoreError> {
        let (kind, data) = token.map(|t| (t.kind, t.token_data)).unwrap_or_default();
        let mut answer = self
            .run(
                &self.scripts.read,
                &id,
                &[&now.to_string(), &hex(&caller.0), &after.to_string(), &kind, &data],
            )
            .await?;
        let role = party(&answer.next()?)?;
        let payload = Payload { kind: answer.next()?, data: answer.next()? };
        let display = DisplayInformation {
            title: answer.next()?,
            description: answer.next()?,
            image_url: answer.next()?,
        };
        let expires_at = answer.number()?;
        let last_seq = answer.number()?;
        let receiver_bound = answer.next()? == "1";
        let just_bound = answer.next()? == "1";
        let sender_token = match (answer.optional()?, answer.optional()?) {
            (Some(kind), Some(token_data)) => Some(NotificationToken { kind, token_data }),
            _ => None,
        };
        let messages = answer
            .rest()
            .zip(after + 1..)
            .map(|(entry, seq)| message(seq, &entry))
            .collect::<Result<_, _>>()?;
        Ok(ReadView {
            payload,
            display,
            expires_at,
            role,
            messages,
            last_seq,
            receiver_bound,
            just_bound,
            sender_token,
        })
    }

    async fn update(
        &self,
        id: MailboxId,
        caller: ClaimHash,
        payload: Payload,
        token: Option<NotificationToken>,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Updated, StoreError> {
        let (kind, data) = token.map(|t| (t.kind, t.token_data)).unwrap_or_default();
        let record = request.map(|request| record(Operation::Update, &request)).unwrap_or_default();
        let entry = serde_json::to_string(&payload).map_err(backend)?;
        let mut answer = self
            .run(
                &self.scripts.update,
                &id,
                &[
                    &now.to_string(),
                    &hex(&caller.0),
                    &payload.kind,
                    &payload.data,
                    &payload.data.len().to_string(),
                    &kind,
                    &data,
                    &record,
                    &self.log.max_messages.to_string(),
                    &self.log.max_bytes.to_string(),
                    &entry,
                ],
            )
            .await?;
        let outcome = match answer.status.as_str() {
            "replayed" => Outcome::Replayed,
            _ => Outcome::Done,
        };
        let token_type = answer.optional()?;
        let peer = answer.optional()?;
        let peer_kind = answer.optional()?;
        let peer_data = answer.optional()?;
        let peer_token = match (peer, peer_kind, peer_data) {
            (Some(peer), Some(kind), Some(token_data)) => {
                Some((party(&peer)?, NotificationToken { kind, token_data }))
            }
            _ => None,
        };
        Ok(Updated { outcome, token_type, peer_token })
    }

    async fn delete(&self, id: MailboxId, caller: ClaimHash, now: i64) -> Result<(), StoreError> {
        self.run(&self.scripts.delete, &id, &[&now.to_string(), &hex(&caller.0)]).await.map(drop)
    }

    async fn relinquish(
        &self,
        id: MailboxId,
        caller: ClaimHash,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Outcome, StoreError> {
        let record =
            request.map(|request| record(Operation::Relinquish, &request)).unwrap_or_default();
        let answer = self
            .run(&self.scripts.relinquish, &id, &[&now.to_string(), &hex(&caller.0), &record])
            .await?;
        Ok(match answer.status.as_str() {
            "replayed" => Outcome::Replayed,
            _ => Outcome::Done,
        })
    }

    async fn forget_token(
        &self,
        id: MailboxId,
        role: Party,
        token_data: String,
        now: i64,
    ) -> Result<(), StoreError> {
        let prefix = match role {
            Party::Receiver => "r",
            Party::Sender => "s",
        };
        self.run(&self.scripts.forget_token, &id, &[&now.to_string(), prefix, &token_data])
            .await
            .map(drop)
    }

    async fn sweep(&self, _now: i64) -> Result<u64, StoreError> {
        // Redis erases each key at its EXPIREAT; nothing is left to sweep.
        Ok(0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.cluster.ping().await
    }
}

/// The names of one mailbox's keys, and of its wake channel.
struct Keys {
    mailbox: String,
    log: String,
    requests: String,
    wake: String,
}

impl Keys {
    fn of(id: &MailboxId) -> Self {
        let tag = hex(id.as_bytes());
        Self {
            mailbox: format!("tigress:{{{tag}}}:box"),
            log: format!("tigress:{{{tag}}}:log"),
            requests: format!("tigress:{{{tag}}}:req"),
            wake: wake::channel_name(id),
        }
    }
}

/// A script's answer: a status word, then values. Optional values are `+value`, or empty for
/// none.
struct Answer {
    status: String,
    values: std::vec::IntoIter<String>,
}

impl Answer {
    /// Maps the status words `nf` and `denied` to errors.
    fn parse(values: Vec<String>) -> Result<Self, StoreError> {
        let mut values = values.into_iter();
        let status = values.next().ok_or_else(|| backend(Corrupt("script answer")))?;
        match status.as_str() {
            "nf" => Err(StoreError::NotFound),
            "denied" => Err(StoreError::Conflict(denial(&values.next().unwrap_or_default())?)),
            "ok" | "replayed" => Ok(Self { status, values }),
            _ => Err(backend(Corrupt("script status"))),
        }
    }

    fn next(&mut self) -> Result<String, StoreError> {
        self.values.next().ok_or_else(|| backend(Corrupt("script answer")))
    }

    fn number<T: std::str::FromStr>(&mut self) -> Result<T, StoreError> {
        self.next()?.parse().map_err(|_| backend(Corrupt("number")))
    }

    fn optional(&mut self) -> Result<Option<String>, StoreError> {
        let value = self.next()?;
        Ok(value.strip_prefix('+').map(str::to_owned))
    }

    fn rest(self) -> std::vec::IntoIter<String> {
        self.values
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

/// A request record: `<operation code>:<request hash hex>`.
fn record(operation: Operation, request: &RequestHash) -> String {
    format!("{}:{}", operation.code(), hex(&request.0))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn parse_id(text: &str) -> Option<MailboxId> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(MailboxId::from_bytes(bytes))
}

/// Failures of the connection or of the cluster mean "try again later", never a wrong answer.
pub(super) fn store_error(e: RedisError) -> StoreError {
    let unavailable = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_cluster_error()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(ServerErrorKind::BusyLoading)
                | ErrorKind::Server(ServerErrorKind::MasterDown)
                | ErrorKind::Server(ServerErrorKind::ReadOnly)
        );
    if unavailable {
        tracing::warn!(error = %e, "the Redis cluster is unavailable");
        return StoreError::Unavailable;
    }
    // A node at its `maxmemory` refuses writes: the cluster is full, not broken.
    if e.code() == Some("OOM") {
        tracing::warn!("the Redis cluster is full (maxmemory)");
        return StoreError::Full;
    }
    backend(e)
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable store: bad {0}")]
struct Corrupt(&'static str);

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Arc::new(e))
}

/// Prepends the helpers every mailbox script shares. Every mailbox script takes `KEYS[1]` box,
/// `KEYS[2]` log, `KEYS[3]` requests, `KEYS[4]` the wake channel (one hash tag) and `ARGV[1]`
/// now. A script that changes what a waiting reader would read `SPUBLISH`es to the channel.
/// Each answers a list whose first element is `ok`, `replayed`, `nf` (absent: missing, expired
/// or deleted) or `denied` followed by the [`Denial`]'s name.
macro_rules! mailbox_script {
    ($body:literal) => {
        concat!(
            r"
-- Absent when missing or expires_at <= now (mailbox::is_expired).
local function live()
  local exp = redis.call('HGET', KEYS[1], 'exp')
  return exp and tonumber(exp) > tonumber(ARGV[1])
end
-- Parties::role_of: a claim equal to the sender's is always the sender.
local function role_of(caller)
  local p = redis.call('HMGET', KEYS[1], 's', 'r')
  if p[1] == caller then return 's' end
  if p[2] and p[2] == caller then return 'r' end
  return nil
end
-- mailbox::is_replay: the claim's last record is this operation with this request id.
local function is_replay(caller, record)
  return record ~= '' and redis.call('HGET', KEYS[3], caller) == record
end
-- Remembers the claim's last request; the hash expires with the mailbox.
local function remember(caller, record)
  if record == '' then return end
  redis.call('HSET', KEYS[3], caller, record)
  redis.call('EXPIREAT', KEYS[3], redis.call('HGET', KEYS[1], 'exp'))
end
local function opt(v)
  if v then return '+' .. v end
  return ''
end
",
            $body
        )
    };
}

/// The scripts, hashed once; `EVALSHA` with a fallback to `EVAL` on a node that lacks them.
struct Scripts {
    claim_created: Script,
    create: Script,
    created: Script,
    delete: Script,
    forget_token: Script,
    read: Script,
    relinquish: Script,
    update: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            // KEYS[1] the create de-duplication key. ARGV: the id seen in step 1 (empty for
            // none), the new id, expires_at. Sets the key only if nobody changed it since.
            claim_created: Script::new(
                r"
local seen = redis.call('GET', KEYS[1]) or ''
if seen ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EXAT', ARGV[3])
return 1
",
            ),
            // ARGV: now, expires_at, sender, rights, w, d, payload type and data, title,
            // description, image URL, token type and data (empty for none), first log entry, its
            // size, request record (empty for none), max receivers (empty for no cap). Every
            // key gets the mailbox's EXPIREAT.
            create: Script::new(mailbox_script!(
                r"
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('mailbox id in use') end
redis.call('HSET', KEYS[1], 'exp', ARGV[2], 's', ARGV[3], 'rights', ARGV[4], 'w', ARGV[5],
  'd', ARGV[6], 'pt', ARGV[7], 'pd', ARGV[8], 'ti', ARGV[9], 'de', ARGV[10], 'im', ARGV[11],
  'seq', 1, 'bytes', ARGV[15])
if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'stk', ARGV[12], 'std', ARGV[13]) end
if ARGV[17] ~= '' then redis.call('HSET', KEYS[1], 'mr', ARGV[17]) end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('RPUSH', KEYS[2], ARGV[14])
redis.call('EXPIREAT', KEYS[2], ARGV[2])
remember(ARGV[3], ARGV[16])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return {'ok'}
"
            )),
            // ARGV: now, sender, create record. Whether the sender's last request on this live
            // mailbox is still that create; answers the sender's token type.
            created: Script::new(mailbox_script!(
                r"
if not live() or not is_replay(ARGV[2], ARGV[3]) then return {'nf'} end
return {'ok', opt(redis.call('HGET', KEYS[1], 'stk'))}
"
            )),
            // ARGV: now, caller. mailbox::decide_delete, then erase every key.
            delete: Script::new(mailbox_script!(
                r"
if not live() then return {'nf'} end
local role = role_of(ARGV[2])
if not role then return {'denied', 'NotAParty'} end
if role == 'r' and redis.call('HGET', KEYS[1], 'd') ~= '1' then
  return {'denied', 'RightMissing'}
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SPUBLISH', KEYS[4], '')
return {'ok'}
"
            )),
            // ARGV: now, role (s or r), token data. Drops the token only if it is still that one.
            forget_token: Script::new(mailbox_script!(
                r"
if not live() then return {'nf'} end
if redis.call('HGET', KEYS[1], ARGV[2] .. 'td') == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[2] .. 'tk', ARGV[2] .. 'td')
end
return {'ok'}
"
            )),
            // ARGV: now, caller, after, token type and data (empty for none).
            // mailbox::decide_read: a party reads; a fresh claim binds when the slot is empty
            // and `mr` (maxReceivers) allows one more than the `rb` bound so far (the script
            // runs alone, so of concurrent first reads exactly one binds). A bind wakes the
            // sender's waiting reads. Answers role, payload type and data, title,
            // description, image URL, expires_at, last seq, whether a receiver is bound,
            // whether this read bound it, the sender's token (type, data) when it did, then
            // the log entries after `after`.
            read: Script::new(mailbox_script!(
                r"
if not live() then return {'nf'} end
local role = role_of(ARGV[2])
local bound = '0'
if not role then
  if redis.call('HEXISTS', KEYS[1], 'r') == 1 then return {'denied', 'AlreadyClaimed'} end
  local max = redis.call('HGET', KEYS[1], 'mr')
  local count = tonumber(redis.call('HGET', KEYS[1], 'rb') or '0')
  if max and count >= tonumber(max) then return {'denied', 'NoReceiversLeft'} end
  redis.call('HSET', KEYS[1], 'r', ARGV[2], 'rb', count + 1)
  redis.call('SPUBLISH', KEYS[4], '')
  role = 'r'
  bound = '1'
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], role .. 'tk', ARGV[4], role .. 'td', ARGV[5]) end
local b = redis.call('HMGET', KEYS[1], 'pt', 'pd', 'ti', 'de', 'im', 'exp', 'seq', 'r', 'stk',
  'std')
local stk, std = '', ''
if bound == '1' then stk, std = opt(b[9]), opt(b[10]) end
local has_receiver = '0'
if b[8] then has_receiver = '1' end
local answer = {'ok', role, b[1], b[2], b[3], b[4], b[5], b[6], b[7], has_receiver, bound, stk,
  std}
for _, entry in ipairs(redis.call('LRANGE', KEYS[2], tonumber(ARGV[3]), -1)) do
  table.insert(answer, entry)
end
return answer
"
            )),
            // ARGV: now, caller, relinquish record. Replay first, then
            // mailbox::decide_relinquish; unbinds the receiver and drops its token, and wakes
            // the sender's waiting reads.
            relinquish: Script::new(mailbox_script!(
                r"
if not live() then return {'nf'} end
if is_replay(ARGV[2], ARGV[3]) then return {'replayed'} end
if role_of(ARGV[2]) ~= 'r' then return {'denied', 'NotReceiver'} end
redis.call('HDEL', KEYS[1], 'r', 'rtk', 'rtd')
remember(ARGV[2], ARGV[3])
redis.call('SPUBLISH', KEYS[4], '')
return {'ok'}
"
            )),
            // ARGV: now, caller, payload type, data, size, token type and data (empty for none),
            // update record, max messages, max bytes, log entry's payload JSON.
            // Replay first (nothing is written), then mailbox::decide_update and
            // mailbox::check_append. Answers the caller's token type, then the peer's role and
            // token (type, data) to wake it.
            update: Script::new(mailbox_script!(
                r"
if not live() then return {'nf'} end
local role = role_of(ARGV[2])
if is_replay(ARGV[2], ARGV[8]) then
  local kind = false
  if role then kind = redis.call('HGET', KEYS[1], role .. 'tk') end
  return {'replayed', opt(kind), '', '', ''}
end
if not role then return {'denied', 'NotAParty'} end
if role == 'r' and redis.call('HGET', KEYS[1], 'w') ~= '1' then
  return {'denied', 'RightMissing'}
end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes'))
if seq >= tonumber(ARGV[9]) or bytes + tonumber(ARGV[5]) > tonumber(ARGV[10]) then
  return {'denied', 'LogFull'}
end
redis.call('RPUSH', KEYS[2], role .. ARGV[11])
redis.call('HSET', KEYS[1], 'pt', ARGV[3], 'pd', ARGV[4], 'seq', seq + 1,
  'bytes', bytes + tonumber(ARGV[5]))
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], role .. 'tk', ARGV[6], role .. 'td', ARGV[7]) end
remember(ARGV[2], ARGV[8])
redis.call('SPUBLISH', KEYS[4], '')
local peer = 's'
if role == 's' then peer = 'r' end
local token = redis.call('HMGET', KEYS[1], role .. 'tk', peer .. 'tk', peer .. 'td')
if not token[2] or not token[3] then return {'ok', opt(token[1]), '', '', ''} end
return {'ok', opt(token[1]), opt(peer), opt(token[2]), opt(token[3])}
"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_ids_round_trip_through_hex() {
        let id = MailboxId::random(&mut rand::rngs::OsRng);
        assert_eq!(parse_id(&hex(id.as_bytes())), Some(id));
        assert_eq!(parse_id("zz"), None);
        assert_eq!(parse_id(&"é".repeat(16)), None);
    }

    #[test]
    fn the_keys_of_a_mailbox_share_one_hash_tag() {
        let id = MailboxId::random(&mut rand::rngs::OsRng);
        let keys = Keys::of(&id);
        let tag = format!("{{{}}}", hex(id.as_bytes()));
        for key in [&keys.mailbox, &keys.log, &keys.requests, &keys.wake] {
            assert!(key.contains(&tag), "{key}");
        }
    }
}
