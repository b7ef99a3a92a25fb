//! A small Redis Cluster router that keeps each node's failures to that node.
//!
//! A general-purpose cluster client pauses every request while it reconnects to one node, so one
//! node that stops answering would stall the mailboxes of all the others. The relay needs much
//! less: each command it sends touches keys (or a shard channel) of one hash tag, so routing is a
//! slot lookup. This router keeps:
//!
//! - a slot map from `CLUSTER SLOTS`, asked of every known node (seeds, masters and replicas) at
//!   once (the first answer wins, so a stopped node delays nothing);
//! - one multiplexed connection per node (and, where writes wait for replicas, a few more for
//!   them: [`WAITED_LANES`]), made on first use, dropped when it fails or the node closes it,
//!   and not retried for [`RECONNECT_PAUSE`] after a failed attempt, so requests for a dead
//!   node fail fast instead of queueing on it.
//!
//! # When the cluster changes
//!
//! The answers of the cluster specification (`docs/OPERATIONS.md`, "Redis Cluster"):
//!
//! - `MOVED`: the command ran nowhere; the slot is learnt, sent again to the named node, and the
//!   whole map refreshed in the background.
//! - `ASK` (the slot is being migrated and this key has already left): the command ran nowhere;
//!   it is sent once to the named node, preceded by `ASKING` on the same connection, and the map
//!   is left as it is: the slot still belongs to the old owner until the migration ends.
//! - `TRYAGAIN` (a multi-key command whose keys are split by a migration in progress): sent
//!   again after a short pause, a few times, then answered as unavailable.
//! - `CLUSTERDOWN`, a connection that fails or cannot be made: the node is taken as lost. The
//!   router then refreshes the map from the live nodes with back-off, from
//!   [`SETTLE_FIRST_PAUSE`] up to [`SETTLE_MAX_PAUSE`], until every slot has an owner that
//!   accepts a connection: when the cluster promotes a replica, its slots move to it within
//!   one refresh. A command whose connection failed is never sent again: it may have run.
//!
//! # Replica acknowledgements
//!
//! A write ([`Cluster::write`]) may be followed, on the same connection and in the same
//! pipeline, by `WAIT n timeout`: the node answers how many replicas hold everything this
//! connection wrote. Fewer than `n` is reported to the caller ([`Route::replicated`]) with the
//! answer: the write ran, and may or may not survive a failover; the store answers 503 and the
//! client's retry with its request id settles which.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Cmd, FromRedisValue, PushInfo, PushKind, RedisError, ServerErrorKind,
    Value,
};

use super::error::store_error;
use crate::store::StoreError;

/// Slots in a Redis Cluster.
const SLOTS: usize = 16384;
/// How long connecting to a node may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may take.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
/// After a failed connection attempt, requests for that node fail at once for this long.
pub const RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// The slot map is refreshed after a `MOVED` at most this often.
const REFRESH_PAUSE: Duration = Duration::from_millis(500);
/// After a node is lost, the first pause before the map is asked again; it doubles each time.
pub const SETTLE_FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between two refreshes while some slot has no live owner.
pub const SETTLE_MAX_PAUSE: Duration = Duration::from_secs(1);
/// How many redirections (`MOVED`, `ASK`, `TRYAGAIN`, `NOSCRIPT`) one command may follow.
const MAX_REDIRECTS: usize = 6;
/// The first pause after `TRYAGAIN`; it doubles with each one.
const TRY_AGAIN_PAUSE: Duration = Duration::from_millis(20);
/// How long `WAIT` may wait for the replicas; below [`RESPONSE_TIMEOUT`], so that the node's
/// answer, not the connection's timeout, ends it.
pub const REPLICA_ACK_TIMEOUT: Duration = Duration::from_secs(1);

/// Receives the push messages of every node connection.
pub type PushHandler = Arc<dyn Fn(PushInfo) + Send + Sync>;

/// A Lua script, sent by its SHA-1 (`EVALSHA`) and by its text where the node lacks it.
pub struct Lua {
    code: &'static str,
    hash: String,
}

impl Lua {
    pub fn new(code: &'static str) -> Self {
        Self { code, hash: redis::Script::new(code).get_hash().to_owned() }
    }
}

/// One command for the router.
pub enum Request<'a> {
    /// A plain command whose first key decides the slot.
    Command(Cmd),
    /// A script over `keys` (of one hash tag) with `args`.
    Script { lua: &'a Lua, keys: &'a [&'a str], args: &'a [&'a str] },
}

impl Request<'_> {
    /// The command to send: scripts by hash, or by their text when `by_text`.
    fn command(&self, by_text: bool) -> Cmd {
        match self {
            Self::Command(cmd) => cmd.clone(),
            Self::Script { lua, keys, args } => {
                let mut cmd = if by_text {
                    redis::cmd("EVAL").arg(lua.code).clone()
                } else {
                    redis::cmd("EVALSHA").arg(&lua.hash).clone()
                };
                cmd.arg(keys.len()).arg(*keys).arg(*args);
                cmd
            }
        }
    }
}

/// What the router did to get an answer.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The command ran on the importing node of a slot being migrated (after `ASK`): what it
    /// published reached only that node's subscribers, not those of the slot's owner.
    pub asked: bool,
    /// As many replicas as asked for hold what the command wrote (always, when none were asked
    /// for). When not, the write ran all the same: the caller decides what to answer.
    pub replicated: bool,
}

/// Routes commands to the node that owns their hash tag.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    seeds: Vec<String>,
    pushes: Option<PushHandler>,
    /// Replicas every write waits for (`WAIT`); 0 for none.
    replica_acks: u32,
    /// The owner of each slot, as an address (`host:port`).
    slots: RwLock<Vec<Option<Arc<str>>>>,
    /// Every node heard of: seeds, owners, replicas. Asked for the map after a loss.
    nodes: Mutex<HashMap<Arc<str>, Arc<Node>>>,
    last_refresh: Mutex<Option<Instant>>,
    /// Set while a task refreshes the map until every slot has a live owner.
    settling: AtomicBool,
    /// The fewest replicas any range of the last map named.
    fewest_replicas: AtomicU64,
}

impl Cluster {
    /// Learns the slot map from any of `seeds` (`host:port`). Writes wait for `replica_acks`
    /// replicas each.
    pub async fn connect(
        seeds: &[String],
        pushes: Option<PushHandler>,
        replica_acks: u32,
    ) -> Result<Self, StoreError> {
        let inner = Arc::new(Inner {
            seeds: seeds.to_vec(),
            pushes,
            replica_acks,
            slots: RwLock::new(vec![None; SLOTS]),
            nodes: Mutex::new(HashMap::new()),
            last_refresh: Mutex::new(None),
            settling: AtomicBool::new(false),
            fewest_replicas: AtomicU64::new(0),
        });
        inner.refresh().await?;
        Ok(Self { inner })
    }

    /// How many replicas every write waits for.
    pub fn replica_acks(&self) -> u32 {
        self.inner.replica_acks
    }

    /// The fewest replicas a master had in the last slot map.
    pub fn fewest_replicas(&self) -> u64 {
        self.inner.fewest_replicas.load(Ordering::Relaxed)
    }

    /// Runs `request` on the node that owns the slot of `hash_key`.
    pub async fn run<T: FromRedisValue>(
        &self,
        hash_key: &str,
        request: &Request<'_>,
    ) -> Result<T, StoreError> {
        self.run_routed(hash_key, request, false).await.map(|(value, _)| value)
    }

    /// Runs a state-changing `request`: as [`Cluster::run`], and where replica acknowledgements
    /// are on, followed by `WAIT`; [`Route::replicated`] says whether enough replicas hold it.
    pub async fn write<T: FromRedisValue>(
        &self,
        hash_key: &str,
        request: &Request<'_>,
    ) -> Result<(T, Route), StoreError> {
        self.run_routed(hash_key, request, true).await
    }

    async fn run_routed<T: FromRedisValue>(
        &self,
        hash_key: &str,
        request: &Request<'_>,
        writes: bool,
    ) -> Result<(T, Route), StoreError> {
        let slot = slot_of(hash_key.as_bytes());
        let Some(mut target) = self.inner.owner(slot) else {
            self.inner.node_lost();
            return Err(StoreError::Unavailable);
        };
        let acks = if writes { self.inner.replica_acks } else { 0 };
        let (mut asking, mut by_text) = (false, false);
        let mut pause = TRY_AGAIN_PAUSE;
        for _ in 0..=MAX_REDIRECTS {
            let node = self.inner.node(&target);
            let lane = node.lane_for(acks > 0);
            let (mut conn, generation) = match node.lane_connection(&self.inner, lane).await {
                Ok(connection) => connection,
                Err(e) => {
                    self.inner.node_lost();
                    return Err(e);
                }
            };
            let command = request.command(by_text || asking);
            match send::<T>(&mut conn, command, asking, acks).await {
                Ok((value, acknowledged)) => {
                    let replicated = acknowledged >= i64::from(acks);
                    if !replicated {
                        tracing::warn!(
                            acknowledged,
                            wanted = acks,
                            "a write did not reach enough Redis replicas in time"
                        );
                    }
                    return Ok((value, Route { asked: asking, replicated }));
                }
                Err(e) => match e.kind() {
                    redis::ErrorKind::Server(ServerErrorKind::Moved) => {
                        let Some((to, _)) = e.redirect_node() else {
                            return Err(store_error(e));
                        };
                        target = Arc::from(redirect_address(to, &target));
                        self.inner.learn(slot, Arc::clone(&target));
                        self.inner.refresh_soon();
                        asking = false;
                    }
                    redis::ErrorKind::Server(ServerErrorKind::Ask) => {
                        let Some((to, _)) = e.redirect_node() else {
                            return Err(store_error(e));
                        };
                        target = Arc::from(redirect_address(to, &target));
                        asking = true;
                    }
                    redis::ErrorKind::Server(ServerErrorKind::TryAgain) => {
                        tokio::time::sleep(pause).await;
                        pause *= 2;
                    }
                    redis::ErrorKind::Server(ServerErrorKind::NoScript) => by_text = true,
                    redis::ErrorKind::Server(ServerErrorKind::ClusterDown) => {
                        self.inner.node_lost();
                        return Err(store_error(e));
                    }
                    _ => {
                        if e.is_connection_dropped() || (e.is_io_error() && !e.is_timeout()) {
                            node.forget(generation);
                            self.inner.node_lost();
                        }
                        return Err(store_error(e));
                    }
                },
            }
        }
        Err(StoreError::Unavailable)
    }

    /// Whether this relay can serve every mailbox: every slot has an owner and every owner
    /// answers `PING`. One node down is enough to answer no.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let Some(owners) = self.inner.owners() else {
            self.inner.node_lost();
            return Err(StoreError::Unavailable);
        };
        let mut pings = tokio::task::JoinSet::new();
        for owner in owners {
            let inner = Arc::clone(&self.inner);
            pings.spawn(async move {
                let (mut conn, _) = inner.node(&owner).connection(&inner).await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await.map_err(store_error)
            });
        }
        let mut answer = Ok(());
        while let Some(ping) = pings.join_next().await {
            if let Ok(Err(e)) | Err(e) = ping.map_err(|_| StoreError::Unavailable) {
                answer = Err(e);
            }
        }
        if answer.is_err() {
            self.inner.node_lost();
        }
        answer
    }
}

/// Sends `command`, after `ASKING` when `asking`, and followed by `WAIT acks` when `acks` is
/// not 0, all in one pipeline on `conn`; the answer, and how many replicas acknowledged it
/// (`acks` itself when none were asked for).
async fn send<T: FromRedisValue>(
    conn: &mut MultiplexedConnection,
    command: Cmd,
    asking: bool,
    acks: u32,
) -> Result<(T, i64), RedisError> {
    if !asking && acks == 0 {
        return Ok((command.query_async(conn).await?, 0));
    }
    let mut pipe = redis::pipe();
    if asking {
        pipe.cmd("ASKING").ignore();
    }
    pipe.add_command(command);
    if acks == 0 {
        let (value,): (T,) = pipe.query_async(conn).await?;
        return Ok((value, 0));
    }
    let timeout = u64::try_from(REPLICA_ACK_TIMEOUT.as_millis()).unwrap_or(u64::MAX);
    pipe.cmd("WAIT").arg(acks).arg(timeout);
    pipe.query_async(conn).await
}

/// The address (`host:port`) a redirection names. Redis names the host it was told to
/// announce; none (`:7002`) means the host of the node that answered.
fn redirect_address(to: &str, answered: &str) -> String {
    match to.strip_prefix(':') {
        Some(port) => {
            let host = answered.rsplit_once(':').map_or(answered, |(host, _)| host);
            format!("{host}:{port}")
        }
        None => to.to_owned(),
    }
}

impl Inner {
    fn owner(&self, slot: u16) -> Option<Arc<str>> {
        let slots = self.slots.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots[usize::from(slot)].clone()
    }

    /// The distinct owners of the slots, or `None` when some slot has none.
    fn owners(&self) -> Option<Vec<Arc<str>>> {
        let slots = self.slots.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut owners = slots.iter().cloned().collect::<Option<Vec<_>>>()?;
        owners.sort();
        owners.dedup();
        Some(owners)
    }

    fn learn(&self, slot: u16, owner: Arc<str>) {
        let mut slots = self.slots.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots[usize::from(slot)] = Some(owner);
    }

    fn node(&self, addr: &Arc<str>) -> Arc<Node> {
        let mut nodes = self.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let node = nodes.entry(Arc::clone(addr));
        let waited_lanes = if self.replica_acks > 0 { WAITED_LANES } else { 0 };
        Arc::clone(node.or_insert_with(|| Arc::new(Node::new(addr, waited_lanes))))
    }

    /// Refreshes the slot map in the background, at most every [`REFRESH_PAUSE`].
    fn refresh_soon(self: &Arc<Self>) {
        {
            let mut last =
                self.last_refresh.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if last.is_some_and(|at| at.elapsed() < REFRESH_PAUSE) {
                return;
            }
            *last = Some(Instant::now());
        }
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(e) = inner.refresh().await {
                tracing::warn!(error = %e, "could not refresh the Redis cluster's slot map");
            }
        });
    }

    /// A node failed: refreshes the map with back-off until every slot has an owner that
    /// accepts a connection. One task does it however many requests fail; it holds the router
    /// weakly, so that it ends with the store.
    fn node_lost(self: &Arc<Self>) {
        if self.settling.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut pause = SETTLE_FIRST_PAUSE;
            let mut first = true;
            while let Some(cluster) = inner.upgrade() {
                if cluster.refresh().await.is_ok() && cluster.every_owner_connects().await {
                    if !first {
                        tracing::info!("every Redis cluster slot has a live owner again");
                    }
                    cluster.settling.store(false, Ordering::Release);
                    return;
                }
                if first {
                    tracing::warn!("some Redis cluster slots have no live owner; watching the map");
                    first = false;
                }
                drop(cluster);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(SETTLE_MAX_PAUSE);
            }
        });
    }

    async fn every_owner_connects(self: &Arc<Self>) -> bool {
        let Some(owners) = self.owners() else {
            return false;
        };
        for owner in owners {
            if self.node(&owner).connection(self).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Asks every known node and seed for `CLUSTER SLOTS` at once; the first answer wins.
    async fn refresh(self: &Arc<Self>) -> Result<(), StoreError> {
        let mut candidates: Vec<Arc<str>> =
            self.seeds.iter().map(|seed| Arc::from(&**seed)).collect();
        {
            let nodes = self.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            for addr in nodes.keys() {
                if !candidates.contains(addr) {
                    candidates.push(Arc::clone(addr));
                }
            }
        }
        let (answers, mut first) = tokio::sync::mpsc::channel(candidates.len().max(1));
        for addr in candidates {
            let inner = Arc::clone(self);
            let answers = answers.clone();
            tokio::spawn(async move {
                let node = inner.node(&addr);
                let answer = match node.connection(&inner).await {
                    Ok((mut conn, _)) => redis::cmd("CLUSTER")
                        .arg("SLOTS")
                        .query_async::<Value>(&mut conn)
                        .await
                        .map_err(store_error)
                        .and_then(|value| parse_slots(&value, &addr)),
                    Err(e) => Err(e),
                };
                let _ = answers.send(answer).await;
            });
        }
        drop(answers);
        let mut last_error = StoreError::Unavailable;
        while let Some(answer) = first.recv().await {
            match answer {
                Ok(ranges) => {
                    self.install(ranges);
                    return Ok(());
                }
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// Replaces the slot map, and remembers every node it names (replicas too: one of them
    /// may be the next owner, and can be asked for the map meanwhile).
    fn install(&self, ranges: Vec<SlotRange>) {
        {
            let mut slots = self.slots.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            slots.iter_mut().for_each(|slot| *slot = None);
            for range in &ranges {
                for slot in &mut slots[range.start..=range.end] {
                    *slot = Some(Arc::clone(&range.owner));
                }
            }
        }
        for range in &ranges {
            self.node(&range.owner);
            for replica in &range.replicas {
                self.node(replica);
            }
        }
        let fewest = ranges.iter().map(|range| range.replicas.len()).min().unwrap_or(0);
        self.fewest_replicas.store(u64::try_from(fewest).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}
/// How many connections to each node carry writes that wait for replicas. Redis holds a
/// connection that sent `WAIT` until the replicas answer, commands behind it included, so
/// waited writes are spread over connections of their own, away from the one that carries
/// everything else.
pub const WAITED_LANES: usize = 8;

/// One node's connections ("lanes"), each made on first use: lane 0 for every command, and
/// where writes wait for replicas, [`WAITED_LANES`] more for them.
struct Node {
    client: Result<redis::Client, RedisError>,
    lanes: Vec<Lane>,
    /// Which waited lane the next write takes.
    next_lane: AtomicU64,
    generation: AtomicU64,
}

struct Lane {
    current: Mutex<Option<(MultiplexedConnection, u64)>>,
    /// Held while connecting, so that one attempt serves every request waiting for it; holds
    /// the time of the last failed attempt.
    connecting: tokio::sync::Mutex<Option<Instant>>,
}

impl Node {
    /// Connections speak RESP3: pub/sub needs its push messages, and every connection reports
    /// its own closing through them.
    fn new(addr: &str, waited_lanes: usize) -> Self {
        let lanes = (0..=waited_lanes)
            .map(|_| Lane { current: Mutex::new(None), connecting: tokio::sync::Mutex::new(None) })
            .collect();
        Self {
            client: redis::Client::open(format!("redis://{addr}/?protocol=resp3")),
            lanes,
            next_lane: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// The lane for a command: 0, or for a write that waits for replicas, the next waited one.
    fn lane_for(&self, waits: bool) -> usize {
        let waited = self.lanes.len() - 1;
        if !waits || waited == 0 {
            return 0;
        }
        let next = self.next_lane.fetch_add(1, Ordering::Relaxed);
        1 + usize::try_from(next % waited as u64).unwrap_or(0)
    }

    fn cached(&self, lane: usize) -> Option<(MultiplexedConnection, u64)> {
        self.lanes[lane].current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The node's connection of lane 0 and its generation, connecting when there is none.
    async fn connection(
        self: &Arc<Self>,
        cluster: &Inner,
    ) -> Result<(MultiplexedConnection, u64), StoreError> {
        self.lane_connection(cluster, 0).await
    }

    /// The connection of `lane` and its generation, connecting when there is none.
    async fn lane_connection(
        self: &Arc<Self>,
        cluster: &Inner,
        lane: usize,
    ) -> Result<(MultiplexedConnection, u64), StoreError> {
        if let Some(cached) = self.cached(lane) {
            return Ok(cached);
        }
        let mut last_failure = self.lanes[lane].connecting.lock().await;
        if let Some(cached) = self.cached(lane) {
            return Ok(cached);
        }
        if last_failure.is_some_and(|at| at.elapsed() < RECONNECT_PAUSE) {
            return Err(StoreError::Unavailable);
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let client = self.client.as_ref().map_err(|e| store_error(e.clone()))?;
        let config = self.config(cluster, generation);
        let connected = tokio::time::timeout(
            CONNECT_TIMEOUT,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        match connected {
            Ok(Ok(conn)) => {
                *last_failure = None;
                let cached = (conn, generation);
                *self.lanes[lane].current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Some(cached.clone());
                Ok(cached)
            }
            Ok(Err(e)) => {
                *last_failure = Some(Instant::now());
                Err(store_error(e))
            }
            Err(_) => {
                *last_failure = Some(Instant::now());
                tracing::warn!("a Redis node did not accept a connection in time");
                Err(StoreError::Unavailable)
            }
        }
    }

    /// Connection settings; pushes go to the cluster's handler, and a closed connection is
    /// forgotten at once so that the next request connects again.
    fn config(self: &Arc<Self>, cluster: &Inner, generation: u64) -> AsyncConnectionConfig {
        let node: Weak<Self> = Arc::downgrade(self);
        let handler = cluster.pushes.clone();
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_push_sender(move |push: PushInfo| {
                if push.kind == PushKind::Disconnection {
                    if let Some(node) = node.upgrade() {
                        node.forget(generation);
                    }
                }
                if let Some(handler) = &handler {
                    handler(push);
                }
                Ok::<(), std::convert::Infallible>(())
            })
    }

    /// Drops the connection of `generation`, unless a newer one has replaced it.
    fn forget(&self, generation: u64) {
        for lane in &self.lanes {
            let mut current = lane.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if current.as_ref().is_some_and(|(_, current)| *current == generation) {
                *current = None;
            }
        }
    }
}

/// One range of `CLUSTER SLOTS`.
#[derive(Debug, PartialEq)]
struct SlotRange {
    start: usize,
    end: usize,
    owner: Arc<str>,
    replicas: Vec<Arc<str>>,
}

/// `CLUSTER SLOTS`: `[[start, end, [host, port, …], [replica host, port, …]…], …]`. An empty
/// host means the node that answered.
fn parse_slots(value: &Value, asked: &str) -> Result<Vec<SlotRange>, StoreError> {
    let malformed = || StoreError::Backend(Arc::new(Malformed));
    let Value::Array(ranges) = value else {
        return Err(malformed());
    };
    let asked_host = asked.rsplit_once(':').map_or(asked, |(host, _)| host);
    let mut parsed = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Value::Array(fields) = range else {
            return Err(malformed());
        };
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(master)) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            return Err(malformed());
        };
        let (Ok(start), Ok(end)) = (usize::try_from(*start), usize::try_from(*end)) else {
            return Err(malformed());
        };
        if start > end || end >= SLOTS {
            return Err(malformed());
        }
        let owner = node_address(master, asked_host).ok_or_else(malformed)?;
        let replicas = fields[3..]
            .iter()
            .map(|replica| node_address(replica, asked_host).ok_or_else(malformed))
            .collect::<Result<_, _>>()?;
        parsed.push(SlotRange { start, end, owner, replicas });
    }
    Ok(parsed)
}

/// A node of a `CLUSTER SLOTS` range, `[host, port, …]`, as `host:port`.
fn node_address(node: &Value, asked_host: &str) -> Option<Arc<str>> {
    let Value::Array(node) = node else {
        return None;
    };
    let host = match node.first()? {
        Value::BulkString(host) => String::from_utf8_lossy(host).into_owned(),
        Value::SimpleString(host) => host.clone(),
        _ => return None,
    };
    let Some(Value::Int(port)) = node.get(1) else {
        return None;
    };
    let port = u16::try_from(*port).ok()?;
    let host = if host.is_empty() || host == "?" { asked_host.to_owned() } else { host };
    Some(Arc::from(format!("{host}:{port}")))
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable CLUSTER SLOTS answer")]
struct Malformed;

/// The cluster slot of `key`: CRC16 (XMODEM) of its hash tag (the part between the first `{` and
/// the next `}`, when not empty) or of the whole key, modulo 16384.
pub fn slot_of(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    crc16(tagged.unwrap_or(key)) % SLOTS as u16
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_cluster_specification() {
        // The specification's check value, and slots Redis itself computed (CLUSTER KEYSLOT).
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot_of(b"t:{abc}:wake"), 7638);
        assert_eq!(slot_of(b"t:{abc}:box"), slot_of(b"{abc}"));
        // An empty tag does not count: the whole key is hashed.
        assert_eq!(slot_of(b"a{}b"), crc16(b"a{}b") % 16384);
        assert_eq!(slot_of(b"no tag"), crc16(b"no tag") % 16384);
    }

    #[test]
    fn cluster_slots_answers_are_parsed_and_checked() {
        let node =
            |host: &str, port| Value::Array(vec![Value::BulkString(host.into()), Value::Int(port)]);
        let range = |start, end, nodes: Vec<Value>| {
            let mut fields = vec![Value::Int(start), Value::Int(end)];
            fields.extend(nodes);
            Value::Array(fields)
        };
        let answer = Value::Array(vec![
            range(0, 5460, vec![node("10.0.0.1", 7001), node("10.0.0.4", 7004)]),
            range(5461, 16383, vec![node("", 7002)]),
        ]);
        let parsed = parse_slots(&answer, "10.0.0.9:7000").unwrap();
        assert_eq!(
            parsed[0],
            SlotRange {
                start: 0,
                end: 5460,
                owner: Arc::from("10.0.0.1:7001"),
                replicas: vec![Arc::from("10.0.0.4:7004")],
            }
        );
        assert_eq!(parsed[1].owner, Arc::from("10.0.0.9:7002"));
        assert!(parsed[1].replicas.is_empty());

        let bad_ranges = [
            range(10, 5, vec![node("h", 1)]),
            range(0, 16384, vec![node("h", 1)]),
            range(0, 1, vec![node("h", 70000)]),
            range(0, 1, vec![node("h", 1), Value::Int(3)]),
            Value::Int(1),
        ];
        for bad in bad_ranges {
            let answer = Value::Array(vec![bad]);
            assert!(parse_slots(&answer, "h:1").is_err());
        }
    }

    #[test]
    fn redirections_without_a_host_name_the_node_that_answered() {
        assert_eq!(redirect_address(":7002", "10.0.0.1:7001"), "10.0.0.1:7002");
        assert_eq!(redirect_address("10.0.0.3:7003", "10.0.0.1:7001"), "10.0.0.3:7003");
    }
}
