//! Instructions per request, counted by valgrind's callgrind: a figure that does not depend on
//! what else the machine is doing. The server runs under `valgrind --tool=callgrind`; after a
//! warm-up the counters are zeroed (`callgrind_control -z`), a fixed number of requests is sent
//! with the [`light`] generator, and the counters are dumped (`-d`). The dump gives
//! the total and the functions with the largest self cost, each divided by the requests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use serde::Serialize;

use crate::child::ServerProcess;
use crate::light::{self, Request, Requests};
use crate::per_request::{self, Target};

/// How many function entries each row keeps.
pub const TOP: usize = 12;

/// One kind of request on one server.
#[derive(Clone, Debug, Serialize)]
pub struct CallgrindRow {
    /// `create`, `preview` or `claim-read`.
    pub kind: &'static str,
    /// `ceiling` or `relay`.
    pub server: &'static str,
    /// Requests counted.
    pub requests: usize,
    /// Instructions the server ran per request (every thread).
    pub instructions_per_request: f64,
    /// The functions with the largest self cost: instructions per request, name.
    pub top: Vec<(f64, String)>,
}

/// Counts `requests` creates, previews and claim-reads on the ceiling and on the relay
/// (durable).
pub async fn run(requests: usize) -> anyhow::Result<Vec<CallgrindRow>> {
    let mut rows = Vec::new();
    for server in ["ceiling", "relay"] {
        for kind in ["create", "preview", "claim-read"] {
            rows.push(measure(server, kind, requests).await.with_context(|| {
                format!("counting instructions per {kind} on the {server} under callgrind")
            })?);
        }
    }
    Ok(rows)
}

async fn measure(
    server: &'static str,
    kind: &'static str,
    requests: usize,
) -> anyhow::Result<CallgrindRow> {
    let out = tempfile::tempdir()?;
    let data = tempfile::tempdir()?;
    let wrapper = vec![
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        format!("--callgrind-out-file={}/callgrind.out.%p", out.path().display()),
    ];
    let args = match server {
        "ceiling" => vec!["serve-ceiling".to_owned()],
        _ => vec![
            "serve-relay".to_owned(),
            "--data-dir".to_owned(),
            data.path().to_string_lossy().into_owned(),
        ],
    };
    let process = ServerProcess::spawn_under(&wrapper, &args)
        .context("starting the server under valgrind (Debian: apt-get install valgrind)")?;
    let target = Target { addr: per_request::addr_of(&process.base)?, pid: process.pid() };
    let connections = 4;
    let long = Duration::from_secs(600);

    let sender = uuid::Uuid::new_v4().to_string();
    let list = match kind {
        "create" => vec![per_request::create_request(&sender)],
        _ => {
            let setup = (0..64).map(|_| per_request::create_request(&sender)).collect();
            let (_, bodies) = light::drive_collecting(
                target.addr,
                target.pid,
                Requests::EachOnce(setup),
                connections,
                long,
                true,
            )
            .await?;
            let paths = per_request::paths_of(&bodies)?;
            if kind == "preview" {
                paths
                    .iter()
                    .map(|path| Request::new("GET", path, &[("accept", "application/json")], b""))
                    .collect()
            } else {
                // Claim-read: the receiver binds once, then reads again and again.
                let receiver = uuid::Uuid::new_v4().to_string();
                let reads: Vec<_> = paths
                    .iter()
                    .map(|path| {
                        Request::new("POST", path, &[("mailbox-device-claim", &receiver)], b"")
                    })
                    .collect();
                let binds = Requests::EachOnce(reads.clone());
                light::drive(target.addr, target.pid, binds, connections, long).await?;
                reads
            }
        }
    };
    let repeat = |count: usize| {
        Requests::EachOnce(list.iter().cycle().take(count).cloned().collect::<Vec<_>>())
    };
    // Warm up: connections, caches, the statement cache, the allocator's arenas.
    light::drive(target.addr, target.pid, repeat(requests / 4), connections, long).await?;
    callgrind_control("-z", target.pid)?;
    let run = light::drive(target.addr, target.pid, repeat(requests), connections, long).await?;
    ensure!(run.requests as usize == requests, "only {} of {requests} answered", run.requests);
    callgrind_control("-d", target.pid)?;
    let dump = wait_for_dump(out.path(), target.pid)?;
    if let Some(keep) = std::env::var_os("TIGRESS_BENCH_KEEP_CALLGRIND") {
        // For callgrind_annotate: the whole profile, not only the top entries.
        let kept = Path::new(&keep).join(format!("callgrind.{server}.{kind}"));
        std::fs::copy(&dump, &kept).with_context(|| format!("keeping {}", kept.display()))?;
    }
    let profile = Profile::parse(&std::fs::read_to_string(&dump)?)?;
    drop(process);

    let per = |ir: u64| ir as f64 / requests as f64;
    let mut top: Vec<(u64, String)> = profile.self_cost.into_iter().map(|(n, c)| (c, n)).collect();
    top.sort_unstable_by_key(|entry| std::cmp::Reverse(entry.0));
    Ok(CallgrindRow {
        kind,
        server,
        requests,
        instructions_per_request: per(profile.total),
        top: top.into_iter().take(TOP).map(|(cost, name)| (per(cost), name)).collect(),
    })
}

fn callgrind_control(option: &str, pid: u32) -> anyhow::Result<()> {
    let status = std::process::Command::new("callgrind_control")
        .arg(option)
        .arg(pid.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .context("running callgrind_control (it comes with valgrind)")?;
    ensure!(status.success(), "callgrind_control {option} failed");
    Ok(())
}

/// The first dump (`callgrind.out.PID.1`), once callgrind has finished writing it.
fn wait_for_dump(dir: &Path, pid: u32) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("callgrind.out.{pid}.1"));
    for _ in 0..600 {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if text.lines().any(|line| line.starts_with("totals:")) {
                return Ok(path);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("callgrind wrote no dump at {}", path.display())
}

/// What a callgrind dump says: the total, and each function's self cost (its own instructions,
/// not those of the functions it calls), for the first event (`Ir`).
#[derive(Debug, Default)]
pub struct Profile {
    pub total: u64,
    pub self_cost: HashMap<String, u64>,
}

impl Profile {
    /// Parses the callgrind format: `fn=` starts a function (`(id) name` the first time, `(id)`
    /// after), a `calls=` line says that the cost line after it is a callee's inclusive cost,
    /// every other cost line (`position cost…`) is the current function's own.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut names: HashMap<String, String> = HashMap::new();
        let mut profile = Self::default();
        let mut current: Option<String> = None;
        let mut callee_cost_next = false;
        for line in text.lines() {
            if let Some(rest) =
                line.strip_prefix("totals:").or_else(|| line.strip_prefix("summary:"))
            {
                profile.total = rest.split_whitespace().next().unwrap_or("0").parse()?;
            } else if let Some(rest) = line.strip_prefix("fn=") {
                current = Some(resolve(&mut names, rest));
            } else if let Some(rest) = line.strip_prefix("cfn=") {
                resolve(&mut names, rest);
            } else if line.starts_with("calls=") {
                callee_cost_next = true;
            } else if line
                .starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '*')
            {
                if std::mem::take(&mut callee_cost_next) {
                    continue;
                }
                let cost =
                    line.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0);
                if let Some(name) = &current {
                    *profile.self_cost.entry(name.clone()).or_default() += cost;
                }
            }
        }
        ensure!(profile.total > 0, "a callgrind dump without totals");
        Ok(profile)
    }
}

/// `(id) name` defines `id`; `(id)` alone refers to it; a plain name is itself.
fn resolve(names: &mut HashMap<String, String>, text: &str) -> String {
    let Some(rest) = text.strip_prefix('(') else {
        return text.to_owned();
    };
    let Some((id, name)) = rest.split_once(')') else {
        return text.to_owned();
    };
    let name = name.trim();
    if name.is_empty() {
        names.get(id).cloned().unwrap_or_else(|| text.to_owned())
    } else {
        names.insert(id.to_owned(), name.to_owned());
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_cost_leaves_out_what_callees_cost() {
        let dump = "events: Ir\nfn=(1) main\n1 10\ncfn=(2) work\ncalls=1 5\n5 100\n2 3\n\
                    fn=(2)\n5 100\nfn=(3) other\n+1 7\ntotals: 120\n";
        let profile = Profile::parse(dump).unwrap();
        assert_eq!(profile.total, 120);
        assert_eq!(profile.self_cost["main"], 13);
        assert_eq!(profile.self_cost["work"], 100);
        assert_eq!(profile.self_cost["other"], 7);
        assert!(Profile::parse("events: Ir\nfn=(1) main\n1 10\n").is_err());
    }
}
