//! The round trip: the latency from one side's Update to the other side's wake-up, through a
//! waiting read (`Prefer: wait`), at several numbers of concurrent transfers.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Latency;

/// One row of the round-trip benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct RoundTripRow {
    /// Concurrent transfers.
    pub transfers: usize,
    /// Update → peer wake-up latency.
    pub wake_up: Latency,
}

/// Measures Update → wake-up latency with `transfers` concurrent transfers of `rounds` rounds;
/// writes go to `writer_base`, waiting reads to `reader_base` (the same relay, or another on the
/// same store).
pub async fn run(
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
    let url = crate::share_cycle::create(http, base, &sender).await?;
    let reader_url = url.replacen(base, reader_base, 1);
    crate::share_cycle::claim(http, &reader_url, &receiver).await?;

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
