//! The share cycle, closed loop: each worker creates a mailbox, fetches its preview, claims it
//! as the receiver and deletes it, then starts again, for a fixed time. Every request is timed.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Latency;

/// The figures of one closed-loop run.
#[derive(Clone, Debug, Serialize)]
pub struct ShareCycleRow {
    /// Concurrent workers.
    pub concurrency: usize,
    /// Completed cycles (4 requests each).
    pub cycles: u64,
    /// Requests per second over the run.
    pub requests_per_second: f64,
    /// Latency of single requests, all four kinds together.
    pub request: Latency,
}

impl ShareCycleRow {
    /// Several runs at one concurrency as one: cycles added, the rate over their total time,
    /// and the latencies of the longest run (percentiles cannot be merged).
    pub fn combine(runs: Vec<Self>) -> Self {
        let seconds: f64 = runs
            .iter()
            .map(|run| (run.cycles * 4) as f64 / run.requests_per_second.max(1e-9))
            .sum();
        let cycles: u64 = runs.iter().map(|run| run.cycles).sum();
        let concurrency = runs.first().map_or(0, |run| run.concurrency);
        let request = runs
            .into_iter()
            .max_by_key(|run| run.request.samples)
            .map_or_else(|| Latency::of(Vec::new()), |run| run.request);
        Self {
            concurrency,
            cycles,
            requests_per_second: (cycles * 4) as f64 / seconds.max(1e-9),
            request,
        }
    }
}

/// Runs `concurrency` workers against `base` for `duration`.
pub async fn run(
    base: &str,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<ShareCycleRow> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency + 4).build()?;
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (http, base) = (http.clone(), base.to_owned());
        workers.push(tokio::spawn(async move { worker(&http, &base, deadline).await }));
    }
    let mut samples = Vec::new();
    let mut cycles = 0;
    for worker in workers {
        let (done, latencies) = worker.await.context("a share-cycle worker failed")??;
        cycles += done;
        samples.extend(latencies);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(ShareCycleRow {
        concurrency,
        cycles,
        requests_per_second: (cycles * 4) as f64 / seconds,
        request: Latency::of(samples),
    })
}

/// A create body like a real share's: a 40-byte sealed payload and a preview.
pub fn create_body() -> Value {
    json!({
        "payload": {"type": "AEAD_AES_128_GCM", "data": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        "displayInformation": {"title": "Room 412", "description": "Hotel key", "imageURL": "https://img.example/b.png"},
        "mailboxConfiguration": {"accessRights": "RWD"}
    })
}

/// Creates a mailbox on the relay at `base` as `sender`; answers its URL.
pub async fn create(http: &reqwest::Client, base: &str, sender: &str) -> anyhow::Result<String> {
    let created: Value = http
        .post(format!("{base}/v1/m"))
        .header("mailbox-device-claim", sender)
        .header("mailbox-request-id", uuid::Uuid::new_v4().to_string())
        .json(&create_body())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(created["urlLink"].as_str().context("no urlLink")?.to_owned())
}

/// Reads mailbox `url` as `claim` (a fresh claim binds as the receiver).
pub async fn claim(http: &reqwest::Client, url: &str, claim: &str) -> anyhow::Result<()> {
    send(http.post(url).header("mailbox-device-claim", claim)).await
}

/// Sends `request` and reads its whole answer, which must be a success.
async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<()> {
    request.send().await?.error_for_status()?.bytes().await?;
    Ok(())
}

async fn worker(
    http: &reqwest::Client,
    base: &str,
    deadline: Instant,
) -> anyhow::Result<(u64, Vec<Duration>)> {
    let mut latencies = Vec::new();
    let mut cycles = 0;
    while Instant::now() < deadline {
        let (sender, receiver) =
            (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());

        let started = Instant::now();
        let url = create(http, base, &sender).await?;
        latencies.push(started.elapsed());

        let started = Instant::now();
        send(http.get(&url)).await?;
        latencies.push(started.elapsed());

        let started = Instant::now();
        claim(http, &url, &receiver).await?;
        latencies.push(started.elapsed());

        let started = Instant::now();
        send(http.delete(&url).header("mailbox-device-claim", &sender)).await?;
        latencies.push(started.elapsed());
        cycles += 1;
    }
    Ok((cycles, latencies))
}
