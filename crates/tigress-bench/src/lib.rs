//! Benchmarks of the relay on loopback, run with `cargo run --release -p tigress-bench`.
//!
//! They report figures (medians, 99th percentiles) for people to read and compare; they are not
//! tests with time limits, since shared machines are noisy. The relay runs in this process on a
//! runtime of its own, the load generator on another, and they talk real HTTP over 127.0.0.1.
//!
//! - [`round_trip`]: the latency from one side's Update to the other side's wake-up, through a
//!   waiting read (`Prefer: wait`), at several numbers of concurrent transfers. It runs on each
//!   [`Setup`]: the SQLite store, the Redis Cluster store, and two relays on the Redis Cluster
//!   (the writer on one, the reader on the other, so the wake-up crosses relays).

pub mod wormhole;

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use serde::Serialize;
use serde_json::{Value, json};

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
    /// One relay on the embedded SQLite store (durable commits).
    Sqlite,
    /// One relay on the Redis Cluster at `nodes`.
    Redis {
        /// `host:port` of the cluster's seed nodes.
        nodes: Vec<String>,
    },
    /// Two relays on the Redis Cluster at `nodes`: writes go to one, waiting reads to the other.
    RedisTwoRelays {
        /// `host:port` of the cluster's seed nodes.
        nodes: Vec<String>,
    },
}

impl Setup {
    /// A short name for tables and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Redis { .. } => "redis-cluster",
            Self::RedisTwoRelays { .. } => "redis-cluster, 2 relays",
        }
    }

    /// Starts the relays: (the writers' relay, the readers' relay).
    pub fn start(&self) -> anyhow::Result<(BenchRelay, Option<BenchRelay>)> {
        match self {
            Self::Sqlite => Ok((BenchRelay::start(tigress_relay::StoreConfig::Sqlite)?, None)),
            Self::Redis { nodes } => {
                let store = tigress_relay::StoreConfig::RedisCluster { nodes: nodes.clone() };
                Ok((BenchRelay::start(store)?, None))
            }
            Self::RedisTwoRelays { nodes } => {
                let store = tigress_relay::StoreConfig::RedisCluster { nodes: nodes.clone() };
                Ok((BenchRelay::start(store.clone())?, Some(BenchRelay::start(store)?)))
            }
        }
    }
}

/// One row of the round-trip benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct RoundTripRow {
    /// Concurrent transfers.
    pub transfers: usize,
    /// Update → peer wake-up latency.
    pub wake_up: Latency,
}

/// A relay running on its own runtime in this process.
pub struct BenchRelay {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl BenchRelay {
    /// Starts a relay with the default (durable) settings on a free loopback port, on `store`.
    pub fn start(store: tigress_relay::StoreConfig) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut config =
            tigress_relay::RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.path().join("data"));
        config.store = store;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async move {
                let relay = tigress_relay::start(config).await?;
                let _ = ready_tx.send(relay.base_url().to_owned());
                let _ = stop_rx.await;
                relay.shutdown().await
            })
        });
        let base = ready_rx.recv().context("the relay did not start")?;
        Ok(Self { base, stop: Some(stop_tx), thread: Some(thread), _dir: dir })
    }
}

impl Drop for BenchRelay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Measures Update → wake-up latency with `transfers` concurrent transfers of `rounds` rounds;
/// writes go to `writer_base`, waiting reads to `reader_base` (the same relay, or another on the
/// same store).
pub async fn round_trip(
    writer_base: &str,
    reader_base: &str,
    transfers: usize,
    rounds: usize,
) -> anyhow::Result<RoundTripRow> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(2 * transfers + 4).build()?;
    let mut tasks = Vec::with_capacity(transfers);
    for _ in 0..transfers {
        let (http, writer, reader) = (http.clone(), writer_base.to_owned(), reader_base.to_owned());
        tasks
            .push(tokio::spawn(async move { one_transfer(&http, &writer, &reader, rounds).await }));
    }
    let mut samples = Vec::with_capacity(transfers * rounds);
    for task in tasks {
        samples.extend(task.await.context("a transfer task failed")??);
    }
    Ok(RoundTripRow { transfers, wake_up: Latency::of(samples) })
}

/// One transfer: the receiver waits, the sender writes, the wake-up is timed; `rounds` times.
async fn one_transfer(
    http: &reqwest::Client,
    base: &str,
    reader_base: &str,
    rounds: usize,
) -> anyhow::Result<Vec<Duration>> {
    let (sender, receiver) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let created: Value = http
        .post(format!("{base}/v1/m"))
        .header("mailbox-device-claim", &sender)
        .json(&json!({
            "payload": {"type": "AEAD_AES_128_GCM", "data": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
            "displayInformation": {"title": "bench", "description": "bench", "imageURL": "https://img.example/b.png"},
            "mailboxConfiguration": {"accessRights": "RWD"}
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = created["urlLink"].as_str().context("no urlLink")?.to_owned();
    let reader_url = url.replacen(base, reader_base, 1);
    http.post(&reader_url)
        .header("mailbox-device-claim", &receiver)
        .send()
        .await?
        .error_for_status()?;

    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let after = round as u64 + 1;
        let waiting = {
            let (http, url, receiver) = (http.clone(), reader_url.clone(), receiver.clone());
            tokio::spawn(async move {
                let response = http
                    .post(url)
                    .header("mailbox-device-claim", receiver)
                    .header("prefer", "wait=30")
                    .json(&json!({"after": after}))
                    .send()
                    .await?
                    .error_for_status()?;
                let body: Value = response.json().await?;
                anyhow::Ok((Instant::now(), body))
            })
        };
        // Let the read reach the relay and park before the write.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let written = Instant::now();
        http.put(&url)
            .header("mailbox-device-claim", &sender)
            .json(&json!({"payload": {"type": "AEAD_AES_128_GCM", "data": "QkJCQkJCQkJCQkJCQkJCQg=="}}))
            .send()
            .await?
            .error_for_status()?;
        let (woke, body) = waiting.await??;
        ensure!(body["lastSeq"] == after + 1, "the reader woke without the new message: {body}");
        samples.push(woke.saturating_duration_since(written));
    }
    http.delete(&url).header("mailbox-device-claim", &sender).send().await?;
    Ok(samples)
}
