//! The servers under test, each in a process of its own so that its memory can be read and its
//! CPU is not the load generator's: the bench binary runs itself again with a hidden subcommand
//! (`serve-relay` or `serve-ceiling`), which prints `READY <base URL>` once it listens and runs
//! until its stdin closes.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context as _, bail};

/// A server running in a child process; stopped when dropped.
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl ServerProcess {
    /// Runs this very binary with `args` (a hidden server subcommand) and waits for `READY`.
    pub fn spawn(args: &[String]) -> anyhow::Result<Self> {
        Self::spawn_under(&[], args)
    }

    /// [`spawn`](Self::spawn), run by `wrapper` (a program and its arguments, e.g. valgrind).
    pub fn spawn_under(wrapper: &[String], args: &[String]) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the bench binary")?;
        let mut command = match wrapper.split_first() {
            None => Command::new(exe),
            Some((program, wrapper_args)) => {
                let mut command = Command::new(program);
                command.args(wrapper_args).arg(exe);
                command
            }
        };
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a server process")?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(base) = line.trim().strip_prefix("READY ") else {
            let _ = child.kill();
            bail!("the server process did not start (it printed {line:?})");
        };
        let stdin = child.stdin.take();
        Ok(Self { base: base.to_owned(), child, stdin })
    }

    /// The process's id, for its CPU time in `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's resident memory, in bytes (Linux `/proc`).
    pub fn resident_bytes(&self) -> anyhow::Result<u64> {
        resident_bytes(self.child.id())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin asks for a graceful stop; a server that lingers is killed.
        drop(self.stdin.take());
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` of process `pid`, in bytes.
pub fn resident_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading /proc (the memory figures need Linux)")?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS in /proc/PID/status")?;
    Ok(kib * 1024)
}

/// In the child: announces the base URL, then resolves when the parent closes stdin.
pub async fn ready_until_stdin_closes(base: &str) {
    println!("READY {base}");
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|read| read > 0) {
            sink.clear();
        }
    })
    .await;
}
