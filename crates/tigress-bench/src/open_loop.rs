//! The round trip as devices load it (open loop): `transfers` transfers each send one message a
//! second, at times fixed in advance and spread evenly over the second, whatever the relay's
//! answers, while `parked` further receivers sit in waiting reads that nothing wakes. A sample
//! is the time from the start of an Update to the end of the answer of the receiver's waiting
//! read, which the Update wakes; the receiver parks its next read as soon as it has that answer,
//! so every read is parked long before the next Update.
//!
//! Each transfer speaks HTTP/1.1 over two keep-alive connections of its own (sender and
//! receiver) with requests built by hand, like the [`light`] generator, so that the
//! generator's own cost stays out of the latency. The server's CPU time over the run is divided
//! by the requests of the transfers (each Update and each woken read).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use serde::Serialize;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::Latency;
use crate::light::{self, Request, Requests};
use crate::per_request;

/// The figures of one open-loop run.
#[derive(Clone, Debug, Serialize)]
pub struct OpenLoopRow {
    /// Transfers, each sending one message a second.
    pub transfers: usize,
    /// Further receivers parked in waiting reads the whole time.
    pub parked: usize,
    /// Messages sent (and woken reads answered).
    pub messages: u64,
    /// Messages per second over the run.
    pub messages_per_second: f64,
    /// Update start → woken reader's answer.
    pub wake_up: Latency,
    /// The server's CPU time over the run per request (Updates and woken reads alike).
    pub server_cpu_us_per_request: f64,
}

/// Runs `transfers` transfers for `duration` against the relay at `addr` (process `pid`); the
/// parked readers are the caller's, already parked.
pub async fn run(
    addr: SocketAddr,
    pid: u32,
    transfers: usize,
    parked: usize,
    duration: Duration,
) -> anyhow::Result<OpenLoopRow> {
    // Set up: a mailbox per transfer, with its receiver bound.
    let sender = uuid::Uuid::new_v4().to_string();
    let creates = (0..transfers).map(|_| per_request::create_request(&sender)).collect();
    let long = Duration::from_secs(120);
    let (_, bodies) =
        light::drive_collecting(addr, pid, Requests::EachOnce(creates), 32, long, true).await?;
    let paths = per_request::paths_of(&bodies)?;
    let receiver = uuid::Uuid::new_v4().to_string();
    let binds = paths
        .iter()
        .map(|path| Request::new("POST", path, &[("mailbox-device-claim", &receiver)], b""))
        .collect();
    light::drive(addr, pid, Requests::EachOnce(binds), 32, long).await?;

    let mut tasks = Vec::with_capacity(transfers);
    let start = Instant::now() + Duration::from_secs(1);
    for (index, path) in paths.into_iter().enumerate() {
        let (sender, receiver) = (sender.clone(), receiver.clone());
        // Spread evenly over the second: 1,000 transfers make one message a millisecond.
        let offset = Duration::from_secs(1).mul_f64(index as f64 / transfers as f64);
        tasks.push(tokio::spawn(async move {
            transfer(addr, &path, &sender, &receiver, start + offset, duration).await
        }));
    }
    // Measured from the first tick: the transfers' connections are open by then.
    tokio::time::sleep_until(start.into()).await;
    let cpu_before = light::cpu_micros(pid)?;
    let measured_from = Instant::now();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.context("an open-loop transfer failed")??);
    }
    let seconds = measured_from.elapsed().as_secs_f64();
    let cpu = light::cpu_micros(pid)?.saturating_sub(cpu_before);
    let messages = samples.len() as u64;
    Ok(OpenLoopRow {
        transfers,
        parked,
        messages,
        messages_per_second: messages as f64 / seconds,
        wake_up: Latency::of(samples),
        server_cpu_us_per_request: cpu as f64 / (2 * messages).max(1) as f64,
    })
}

/// One transfer: a waiting read parked, then at each tick an Update and the woken read's
/// answer timed; `duration` of ticks, one a second from `first`.
async fn transfer(
    addr: SocketAddr,
    path: &str,
    sender: &str,
    receiver: &str,
    first: Instant,
    duration: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let mut sending = connect(addr).await?;
    let mut receiving = connect(addr).await?;
    let (mut send_buffer, mut receive_buffer) =
        (Vec::with_capacity(4096), Vec::with_capacity(4096));
    let update = Request::new(
        "PUT",
        path,
        &[("mailbox-device-claim", sender)],
        br#"{"payload":{"type":"AEAD_AES_128_GCM","data":"QkJCQkJCQkJCQkJCQkJCQg=="}}"#,
    );
    let wait = |after: u64| {
        let body = format!(r#"{{"after":{after}}}"#);
        Request::new(
            "POST",
            path,
            &[("mailbox-device-claim", receiver), ("prefer", "wait=30")],
            body.as_bytes(),
        )
    };
    // The first message is the create's payload: the reader waits for the second.
    let mut after = 1;
    receiving.write_all(wait(after).bytes()).await?;
    let rounds = duration.as_secs().max(1);
    let mut samples = Vec::with_capacity(rounds as usize);
    for round in 0..rounds {
        tokio::time::sleep_until((first + Duration::from_secs(round)).into()).await;
        let written = Instant::now();
        sending.write_all(update.bytes()).await?;
        let (updated, (woken, woke)) =
            tokio::join!(light::read_answer(&mut sending, &mut send_buffer), async {
                let answer = light::read_answer(&mut receiving, &mut receive_buffer).await;
                (answer, Instant::now())
            },);
        let (updated, woken) = (updated?, woken?);
        ensure!(updated.status == 200, "an Update was answered {}", updated.status);
        ensure!(woken.status == 200, "a waiting read was answered {}", woken.status);
        let body: serde_json::Value = serde_json::from_slice(woken.body)?;
        ensure!(body["lastSeq"] == after + 1, "the reader woke without the new message: {body}");
        samples.push(woke - written);
        after += 1;
        receiving.write_all(wait(after).bytes()).await?;
    }
    Ok(samples)
}

async fn connect(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await.context("connecting to the relay")?;
    stream.set_nodelay(true)?;
    Ok(stream)
}
