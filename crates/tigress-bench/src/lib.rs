//! Benchmarks of the relay on loopback, run with `cargo run --release -p tigress-bench`.
//!
//! They report figures (medians, 99th percentiles, rates, resident memory) for people to read
//! and compare, with baselines measured in the same run so that ratios hold on a noisy machine;
//! they are not tests with time limits. The servers under test run in processes of their own
//! ([`child`]); the load generator is this process, on tokio, speaking real HTTP over 127.0.0.1.
//!
//! - [`per_request`]: the server's CPU time per request, one kind of request at a time, on the
//!   relay and the ceiling, driven by the [`light`] generator.
//! - [`callgrind`]: instructions per create and per preview (`--callgrind N`), relay and ceiling.
//! - [`share_cycle`]: create → preview → claim-read → delete, closed loop, against the relay
//!   (durable, and with `synchronous=OFF`) and against the [`ceiling`] server.
//! - [`round_trip`]: Update → peer wake-up through waiting reads, on each [`Setup`], closed
//!   loop: a saturation figure.
//! - [`open_loop`]: the round trip at a fixed message rate with many more readers parked.
//! - [`idle`]: resident memory with many live mailboxes, and with many waiting readers.
//! - [`wormhole`]: the same round trip and a session rate on the closest public peer, the
//!   magic-wormhole mailbox server (`scripts/wormhole-mailbox` installs and runs it).

pub mod callgrind;
pub mod ceiling;
pub mod child;
pub mod idle;
pub mod light;
pub mod open_loop;
pub mod per_request;
pub mod round_trip;
pub mod share_cycle;
pub mod wormhole;

use std::time::Duration;

use serde::Serialize;

use child::ServerProcess;

/// Latency figures, in microseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// How many samples.
    pub samples: usize,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest.
    pub max_us: u64,
}

impl Latency {
    /// Summarises `samples` (any order).
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let pick = |q: f64| -> u64 {
            if samples.is_empty() {
                return 0;
            }
            let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index].as_micros() as u64
        };
        Self { samples: samples.len(), p50_us: pick(0.50), p99_us: pick(0.99), max_us: pick(1.0) }
    }
}

/// Where the relays under test keep their mailboxes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setup {
    /// One relay on the embedded SQLite store, durable commits.
    Sqlite,
    /// One relay on the embedded SQLite store with `synchronous=OFF`: what durability costs.
    SqliteNoSync,
    /// One relay on the Redis Cluster at `url`.
    Redis {
        /// `redis-cluster://host:port[,…]`.
        url: String,
    },
    /// One relay on the Redis Cluster at `url`, each write answered once `acks` replicas hold
    /// it (`--redis-replica-acks`): what that durability costs.
    RedisReplicaAcks {
        /// `redis-cluster://host:port[,…]`, with at least `acks` replicas per master.
        url: String,
        acks: u32,
    },
    /// Two relays on the Redis Cluster at `url`: writes go to one, waiting reads to the other.
    RedisTwoRelays {
        /// `redis-cluster://host:port[,…]`.
        url: String,
    },
}

impl Setup {
    /// A short name for tables and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::SqliteNoSync => "sqlite, synchronous=OFF",
            Self::Redis { .. } => "redis-cluster",
            Self::RedisReplicaAcks { .. } => "redis-cluster, replica acks",
            Self::RedisTwoRelays { .. } => "redis-cluster, 2 relays",
        }
    }

    /// Starts the relay processes, on a fresh data directory.
    pub fn start(&self) -> anyhow::Result<Relays> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().to_string_lossy().into_owned();
        let relay = |extra: &[&str]| {
            let mut args = vec!["serve-relay".to_owned(), "--data-dir".to_owned(), data.clone()];
            args.extend(extra.iter().map(|arg| (*arg).to_owned()));
            ServerProcess::spawn(&args)
        };
        let (writer, reader) = match self {
            Self::Sqlite => (relay(&[])?, None),
            Self::SqliteNoSync => (relay(&["--no-sync"])?, None),
            Self::Redis { url } => (relay(&["--store", url])?, None),
            Self::RedisReplicaAcks { url, acks } => {
                (relay(&["--store", url, "--redis-replica-acks", &acks.to_string()])?, None)
            }
            Self::RedisTwoRelays { url } => {
                (relay(&["--store", url])?, Some(relay(&["--store", url])?))
            }
        };
        Ok(Relays { writer, reader, _dir: dir })
    }
}

/// Relay processes of one [`Setup`].
pub struct Relays {
    /// Takes every request but waiting reads (and those too, with one relay).
    pub writer: ServerProcess,
    /// Takes waiting reads, when the setup has a second relay.
    pub reader: Option<ServerProcess>,
    _dir: tempfile::TempDir,
}

impl Relays {
    /// Where waiting reads go.
    pub fn reader_base(&self) -> &str {
        self.reader.as_ref().map_or(&self.writer.base, |reader| &reader.base)
    }
}

/// In a `serve-relay` child: runs a relay on a free loopback port until stdin closes.
pub async fn serve_relay(
    data_dir: std::path::PathBuf,
    no_sync: bool,
    store: Option<tigress_relay::StoreConfig>,
    redis_replica_acks: u32,
) -> anyhow::Result<()> {
    let mut config = tigress_relay::RelayConfig::new(([127, 0, 0, 1], 0).into(), data_dir);
    // The load comes from one address and the store is filled past the default cap on purpose.
    config.abuse = tigress_relay::AbuseLimits::off();
    // Twelve thousand connections at once (parked readers and open-loop transfers), above the
    // default cap of 4,096 that a relay closes further connections at.
    config.limits.max_connections = 16_384;
    if no_sync {
        config.durability = tigress_relay::Durability::DangerOff;
    }
    if let Some(store) = store {
        config.store = store;
    }
    config.redis_replica_acks = redis_replica_acks;
    let relay = tigress_relay::start(config).await?;
    child::ready_until_stdin_closes(relay.base_url()).await;
    relay.shutdown().await
}

/// In a `serve-ceiling` child: runs the ceiling server on a free loopback port until stdin
/// closes.
pub async fn serve_ceiling() -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let base = format!("http://{}", listener.local_addr()?);
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp(listener)
        .handle(handle.clone())
        .serve(ceiling::router(&base).into_make_service());
    let server = tokio::spawn(server);
    child::ready_until_stdin_closes(&base).await;
    handle.graceful_shutdown(Some(Duration::from_secs(1)));
    server.await??;
    Ok(())
}
