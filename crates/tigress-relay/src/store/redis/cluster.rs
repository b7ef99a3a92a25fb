//! A small Redis Cluster router that keeps each node's failures to that node.
//!
//! A general-purpose cluster client pauses every request while it reconnects to one node, so one
//! node that stops answering would stall the mailboxes of all the others. The relay needs much
//! less: each command it sends touches keys (or a shard channel) of one hash tag, so routing is a
//! slot lookup. This router keeps:
//!
//! - a slot map from `CLUSTER SLOTS`, asked of every known node at once (the first answer wins,
//!   so a stopped node delays nothing), refreshed in the background after a `MOVED` or a lost
//!   connection;
//! - one multiplexed connection per node, made on first use, dropped when it fails or the node
//!   closes it, and not retried for [`RECONNECT_PAUSE`] after a failed attempt, so requests for
//!   a dead node fail fast instead of queueing on it.
//!
//! A command answered `MOVED` ran nowhere, so it is sent again to the named node. A command whose
//! connection failed is never sent again: it may have run. `ASK` (a slot being migrated) is
//! answered as unavailable; the client's retry after the migration finds the slot's new owner.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, RedisError, ServerErrorKind, Value};

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
/// The slot map is refreshed at most this often.
const REFRESH_PAUSE: Duration = Duration::from_millis(500);
/// How many `MOVED` redirections one command may follow.
const MAX_REDIRECTS: usize = 3;

/// Receives the push messages of every node connection.
pub type PushHandler = Arc<dyn Fn(PushInfo) + Send + Sync>;

/// Routes commands to the node that owns their hash tag.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    seeds: Vec<String>,
    pushes: Option<PushHandler>,
    /// The owner of each slot, as an address (`host:port`).
    slots: RwLock<Vec<Option<Arc<str>>>>,
    nodes: Mutex<HashMap<Arc<str>, Arc<Node>>>,
    last_refresh: Mutex<Option<Instant>>,
}

impl Cluster {
    /// Learns the slot map from any of `seeds` (`host:port`).
    pub async fn connect(
        seeds: &[String],
        pushes: Option<PushHandler>,
    ) -> Result<Self, StoreError> {
        let inner = Arc::new(Inner {
            seeds: seeds.to_vec(),
            pushes,
            slots: RwLock::new(vec![None; SLOTS]),
            nodes: Mutex::new(HashMap::new()),
            last_refresh: Mutex::new(None),
        });
        inner.refresh().await?;
        Ok(Self { inner })
    }

    /// Runs `command` on the node that owns the slot of `hash_key`, following `MOVED`.
    pub async fn run<T, F, Fut>(&self, hash_key: &str, command: F) -> Result<T, StoreError>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let slot = slot_of(hash_key.as_bytes());
        let mut owner = self.inner.owner(slot).ok_or(StoreError::Unavailable)?;
        for _ in 0..=MAX_REDIRECTS {
            let node = self.inner.node(&owner);
            let (conn, generation) = node.connection(&self.inner).await?;
            match command(conn).await {
                Ok(value) => return Ok(value),
                Err(e) if e.kind() == redis::ErrorKind::Server(ServerErrorKind::Moved) => {
                    let Some((to, _)) = e.redirect_node() else {
                        return Err(store_error(e));
                    };
                    owner = Arc::from(to);
                    self.inner.learn(slot, Arc::clone(&owner));
                    self.inner.refresh_soon();
                }
                Err(e) => {
                    if e.is_connection_dropped() || (e.is_io_error() && !e.is_timeout()) {
                        node.forget(generation);
                        self.inner.refresh_soon();
                    }
                    return Err(store_error(e));
                }
            }
        }
        Err(StoreError::Unavailable)
    }

    /// Whether some node answers `PING` (a health check: one node down is not this relay's
    /// fault, and its mailboxes answer 503 on their own).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let owners: Vec<Arc<str>> = {
            let slots = self.inner.slots.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut owners: Vec<Arc<str>> = slots.iter().flatten().cloned().collect();
            owners.sort();
            owners.dedup();
            owners
        };
        let mut pings = tokio::task::JoinSet::new();
        for owner in owners {
            let inner = Arc::clone(&self.inner);
            pings.spawn(async move {
                let (mut conn, _) = inner.node(&owner).connection(&inner).await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await.map_err(store_error)
            });
        }
        let mut last_error = StoreError::Unavailable;
        while let Some(ping) = pings.join_next().await {
            match ping {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => last_error = e,
                Err(_) => {}
            }
        }
        Err(last_error)
    }
}

impl Inner {
    fn owner(&self, slot: u16) -> Option<Arc<str>> {
        let slots = self.slots.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots[usize::from(slot)].clone()
    }

    fn learn(&self, slot: u16, owner: Arc<str>) {
        let mut slots = self.slots.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots[usize::from(slot)] = Some(owner);
    }

    fn node(&self, addr: &Arc<str>) -> Arc<Node> {
        let mut nodes = self.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let node = nodes.entry(Arc::clone(addr));
        Arc::clone(node.or_insert_with(|| Arc::new(Node::new(addr))))
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
                    let mut slots =
                        self.slots.write().unwrap_or_else(|poisoned| poisoned.into_inner());
                    slots.iter_mut().for_each(|slot| *slot = None);
                    for (start, end, owner) in ranges {
                        for slot in &mut slots[start..=end] {
                            *slot = Some(Arc::clone(&owner));
                        }
                    }
                    return Ok(());
                }
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }
}

/// One node's connection, made on first use.
struct Node {
    client: Result<redis::Client, RedisError>,
    current: Mutex<Option<(MultiplexedConnection, u64)>>,
    /// Held while connecting, so that one attempt serves every request waiting for it; holds
    /// the time of the last failed attempt.
    connecting: tokio::sync::Mutex<Option<Instant>>,
    generation: std::sync::atomic::AtomicU64,
}

impl Node {
    /// Connections speak RESP3: pub/sub needs its push messages, and every connection reports
    /// its own closing through them.
    fn new(addr: &str) -> Self {
        Self {
            client: redis::Client::open(format!("redis://{addr}/?protocol=resp3")),
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn cached(&self) -> Option<(MultiplexedConnection, u64)> {
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The node's connection and its generation, connecting when there is none.
    async fn connection(
        self: &Arc<Self>,
        cluster: &Inner,
    ) -> Result<(MultiplexedConnection, u64), StoreError> {
        if let Some(cached) = self.cached() {
            return Ok(cached);
        }
        let mut last_failure = self.connecting.lock().await;
        if let Some(cached) = self.cached() {
            return Ok(cached);
        }
        if last_failure.is_some_and(|at| at.elapsed() < RECONNECT_PAUSE) {
            return Err(StoreError::Unavailable);
        }
        let generation = self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
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
                *self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
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
        let mut current = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.as_ref().is_some_and(|(_, current)| *current == generation) {
            *current = None;
        }
    }
}

/// `CLUSTER SLOTS`: `[[start, end, [host, port, …], replicas…], …]`. An empty host means the
/// node that answered.
fn parse_slots(value: &Value, asked: &str) -> Result<Vec<(usize, usize, Arc<str>)>, StoreError> {
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
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
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
        let host = match master.first() {
            Some(Value::BulkString(host)) => String::from_utf8_lossy(host).into_owned(),
            Some(Value::SimpleString(host)) => host.clone(),
            _ => return Err(malformed()),
        };
        let Some(Value::Int(port)) = master.get(1) else {
            return Err(malformed());
        };
        let host = if host.is_empty() || host == "?" { asked_host.to_owned() } else { host };
        parsed.push((start, end, Arc::from(format!("{host}:{port}"))));
    }
    Ok(parsed)
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
        let range = |start, end, host: &str, port| {
            Value::Array(vec![
                Value::Int(start),
                Value::Int(end),
                Value::Array(vec![Value::BulkString(host.into()), Value::Int(port)]),
            ])
        };
        let answer =
            Value::Array(vec![range(0, 5460, "10.0.0.1", 7001), range(5461, 16383, "", 7002)]);
        let parsed = parse_slots(&answer, "10.0.0.9:7000").unwrap();
        assert_eq!(parsed[0], (0, 5460, Arc::from("10.0.0.1:7001")));
        assert_eq!(parsed[1], (5461, 16383, Arc::from("10.0.0.9:7002")));

        for bad in [range(10, 5, "h", 1), range(0, 16384, "h", 1), Value::Int(1)] {
            let answer = Value::Array(vec![bad]);
            assert!(parse_slots(&answer, "h:1").is_err());
        }
    }
}
