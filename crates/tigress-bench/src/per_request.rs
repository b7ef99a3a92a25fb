//! CPU per request, one kind of request at a time, from the [`light`] generator:
//! create, preview, claim-read, update and delete against the relay, and the very same requests
//! against the [`ceiling`](crate::ceiling) server, in turns within one run. The headline figure is
//! the server process's CPU time per answered request, which a shared machine disturbs far
//! less than it disturbs throughput.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use crate::light::{self, LightRun, Request, Requests, UNIQUE};

/// The kinds of request measured, in the order they run.
pub const KINDS: [&str; 5] = ["create", "preview", "claim-read", "update", "delete"];

/// Updates each measured mailbox takes, under the relay's default log cap of 64 messages.
const UPDATES_PER_MAILBOX: usize = 60;

/// Runs of each kind on each server, in turns (ceiling, relay, ceiling, …): each row keeps the
/// median run of each server, so that one noisy moment of the machine does not make the figure.
pub const ROUNDS: usize = 3;

/// Mailboxes set up for the preview, claim-read and update runs.
const MAILBOXES: usize = 1024;

/// One kind of request on both servers.
#[derive(Clone, Debug, Serialize)]
pub struct PerRequestRow {
    /// One of [`KINDS`].
    pub kind: &'static str,
    pub ceiling: LightRun,
    pub relay: LightRun,
}

impl PerRequestRow {
    /// Relay CPU per request over the ceiling's.
    pub fn cpu_ratio(&self) -> f64 {
        self.relay.server_cpu_us_per_request / self.ceiling.server_cpu_us_per_request.max(1e-9)
    }
}

/// A server to drive: where it listens and its process id.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub pid: u32,
}

/// The create a real share sends: a sender claim, a fresh request id, a sealed payload.
pub fn create_request(sender: &str) -> Request {
    let body = serde_json::to_vec(&crate::share_cycle::create_body()).expect("a JSON body");
    Request::new(
        "POST",
        "/v1/m",
        &[("mailbox-device-claim", sender), ("mailbox-request-id", UNIQUE)],
        &body,
    )
}

/// Runs every kind in [`KINDS`] against `relay` and `ceiling` over `connections` connections,
/// `duration` per run.
pub async fn run(
    relay: Target,
    ceiling: Target,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Vec<PerRequestRow>> {
    let sender = uuid::Uuid::new_v4().to_string();
    let receiver = uuid::Uuid::new_v4().to_string();
    // Each run is half the given time: three rounds of both servers take three times it.
    let run_time = duration / 2;
    let drive = |target: Target, requests| {
        light::drive_collecting(target.addr, target.pid, requests, connections, run_time, false)
    };
    let mut rows = Vec::new();

    // Create: the relay's answers name the mailboxes that the delete runs remove.
    let creates = || Requests::Cycle(vec![create_request(&sender)]);
    let (mut ceiling_runs, mut relay_runs, mut created) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ceiling_runs.push(drive(ceiling, creates()).await?.0);
        let (run, bodies) =
            light::drive_collecting(relay.addr, relay.pid, creates(), connections, run_time, true)
                .await?;
        relay_runs.push(run);
        created.extend(paths_of(&bodies)?);
    }
    rows.push(PerRequestRow {
        kind: "create",
        ceiling: median(ceiling_runs),
        relay: median(relay_runs),
    });

    // A set of mailboxes with a bound receiver, for the preview, claim-read and update runs.
    let setup = Requests::EachOnce((0..MAILBOXES).map(|_| create_request(&sender)).collect());
    let (_, bodies) = light::drive_collecting(
        relay.addr,
        relay.pid,
        setup,
        connections,
        Duration::from_secs(60),
        true,
    )
    .await?;
    let mailboxes = paths_of(&bodies)?;
    let claim_read =
        |path: &str| Request::new("POST", path, &[("mailbox-device-claim", &receiver)], b"");
    let bind = Requests::EachOnce(mailboxes.iter().map(|path| claim_read(path)).collect());
    light::drive(relay.addr, relay.pid, bind, connections, Duration::from_secs(60)).await?;

    let previews = |_round| {
        Requests::Cycle(
            mailboxes
                .iter()
                .map(|path| Request::new("GET", path, &[("accept", "application/json")], b""))
                .collect(),
        )
    };
    rows.push(pair("preview", ceiling, relay, previews, &drive).await?);

    let reads = |_round| Requests::Cycle(mailboxes.iter().map(|path| claim_read(path)).collect());
    rows.push(pair("claim-read", ceiling, relay, reads, &drive).await?);

    // Round-robin over the mailboxes, so that concurrent updates rarely meet on one.
    let update_body =
        br#"{"payload":{"type":"AEAD_AES_128_GCM","data":"QkJCQkJCQkJCQkJCQkJCQg=="}}"#;
    let updates = |_round| {
        let per_round = UPDATES_PER_MAILBOX / ROUNDS;
        let mut list = Vec::with_capacity(MAILBOXES * per_round);
        for _ in 0..per_round {
            for path in &mailboxes {
                list.push(Request::new(
                    "PUT",
                    path,
                    &[("mailbox-device-claim", &sender), ("mailbox-request-id", UNIQUE)],
                    update_body,
                ));
            }
        }
        Requests::EachOnce(list)
    };
    rows.push(pair("update", ceiling, relay, updates, &drive).await?);

    // Delete: each mailbox the create runs made, once, a share of them each round.
    let share = created.len().div_ceil(ROUNDS).max(1);
    let deletes = |round: usize| {
        Requests::EachOnce(
            created
                .chunks(share)
                .nth(round)
                .unwrap_or_default()
                .iter()
                .map(|path| Request::new("DELETE", path, &[("mailbox-device-claim", &sender)], b""))
                .collect(),
        )
    };
    rows.push(pair("delete", ceiling, relay, deletes, &drive).await?);
    Ok(rows)
}

/// The same requests on the ceiling, then on the relay, [`ROUNDS`] times; `requests` is given
/// the round.
async fn pair<D, F>(
    kind: &'static str,
    ceiling: Target,
    relay: Target,
    requests: impl Fn(usize) -> Requests,
    drive: &D,
) -> anyhow::Result<PerRequestRow>
where
    D: Fn(Target, Requests) -> F,
    F: std::future::Future<Output = anyhow::Result<(LightRun, Vec<Vec<u8>>)>>,
{
    let (mut ceiling_runs, mut relay_runs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let on_ceiling = drive(ceiling, requests(round)).await;
        ceiling_runs.push(on_ceiling.with_context(|| format!("{kind} on the ceiling"))?.0);
        let on_relay = drive(relay, requests(round)).await;
        relay_runs.push(on_relay.with_context(|| format!("{kind} on the relay"))?.0);
    }
    Ok(PerRequestRow { kind, ceiling: median(ceiling_runs), relay: median(relay_runs) })
}

/// The run of median server CPU per request.
fn median(mut runs: Vec<LightRun>) -> LightRun {
    runs.sort_by(|a, b| a.server_cpu_us_per_request.total_cmp(&b.server_cpu_us_per_request));
    runs.swap_remove(runs.len() / 2)
}

/// The mailbox paths (`/v1/m/{id}`) in create answers.
pub fn paths_of(bodies: &[Vec<u8>]) -> anyhow::Result<Vec<String>> {
    bodies
        .iter()
        .map(|body| {
            let answer: serde_json::Value =
                serde_json::from_slice(body).context("a create answer")?;
            let link = answer["urlLink"].as_str().context("a create answer without urlLink")?;
            let path =
                link.split_once("://").and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]));
            let path = path.context("a urlLink without a path")?;
            Ok(path.split(['?', '#']).next().unwrap_or(path).to_owned())
        })
        .collect()
}

/// `127.0.0.1:PORT` of `http://127.0.0.1:PORT`.
pub fn addr_of(base: &str) -> anyhow::Result<SocketAddr> {
    base.strip_prefix("http://").context("an http:// base")?.parse().context("a base URL's address")
}
