//! A `tigress relay` child process on 127.0.0.1:0. The relay says on stdout where it listens
//! (`metrics on …`, then `listening on …`); the test reads the address from there.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a relay may take to listen and to answer its health check, or to exit.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `tigress relay` with its store and its log (stderr) in a directory of its own.
/// Killed on drop.
pub struct RelayProcess {
    child: Child,
    base: String,
    metrics: Option<String>,
    dir: TempDir,
}

impl RelayProcess {
    /// Runs `BINARY relay --listen 127.0.0.1:0 --data-dir DIR/data EXTRA…` with only `env` (and
    /// `RUST_LOG=info`) in its environment, and returns once it listens and, for plain HTTP, once
    /// `GET /healthz` answers 200. Panics with the relay's log when it exits or hangs instead.
    pub fn start(binary: &Path, dir: TempDir, extra: &[&OsStr], env: &[(&str, &str)]) -> Self {
        let log = fs::File::create(dir.path().join("relay.log")).expect("relay log file");
        let mut child = Command::new(binary)
            .env_clear()
            .args(["relay", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(extra)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start tigress relay");
        let lines = read_lines(child.stdout.take().expect("piped stdout"));
        let mut relay = Self { child, base: String::new(), metrics: None, dir };
        relay.await_announcement(&lines);
        if relay.base.starts_with("http://") {
            relay.wait_until_healthy();
        }
        relay
    }

    /// Reads the relay's stdout until it says where it listens.
    fn await_announcement(&mut self, lines: &mpsc::Receiver<String>) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("metrics on ") {
                        self.metrics = Some(url.to_owned());
                    } else if let Some(url) = line.strip_prefix("listening on ") {
                        self.base = url.to_owned();
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().expect("wait for the relay");
                    panic!("the relay exited with {status}; its log:\n{}", self.log());
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "the relay did not listen within {READY_TIMEOUT:?}; its log:\n{}",
                        self.log()
                    )
                }
            }
        }
    }

    fn wait_until_healthy(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if health_check(self.port()) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the relay exited with {status}; its log:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("the relay was not healthy within {READY_TIMEOUT:?}; its log:\n{}", self.log());
    }

    /// Kills the relay with SIGKILL (no chance to flush anything) and hands back its directory,
    /// to start another relay on the same store.
    pub fn kill_9(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temporary directory"))
    }

    /// `http://127.0.0.1:PORT`, or `https://…` for a TLS relay.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The port the relay listens on.
    pub fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("the listen URL ends in a port")
    }

    /// `http://127.0.0.1:PORT/metrics`, when the relay was given `--metrics-listen`.
    pub fn metrics_url(&self) -> Option<&str> {
        self.metrics.as_deref()
    }

    /// The relay's process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the relay to exit (within the readiness timeout) and returns its status.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("the relay did not exit within {READY_TIMEOUT:?}; its log:\n{}", self.log());
    }

    /// A scratch directory that lives as long as the relay.
    pub fn scratch(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// What the relay wrote on stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("relay.log")).unwrap_or_default()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `tigress` binary for tests outside `tigress-cli` (which has `CARGO_BIN_EXE_tigress`):
/// `TIGRESS_BINARY` when set, or else `tigress` in the target directory of the running test
/// (`target/<profile>/deps/<test>` → `target/<profile>/tigress`).
///
/// Cargo builds a package's binaries only for that package's own tests, so a test of another
/// crate runs whatever `cargo build -p tigress-cli --bin tigress` built last.
///
/// # Panics
/// When there is no such file, saying how to build it.
pub fn tigress_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TIGRESS_BINARY") {
        return PathBuf::from(path);
    }
    let test = std::env::current_exe().expect("the test's own path");
    let profile_dir = test.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join(format!("tigress{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo build -p tigress-cli --bin tigress` first (or set \
         TIGRESS_BINARY)",
        binary.display()
    );
    binary
}

/// Each line of `stdout`, read on a thread of its own that drains the pipe to its end, so the
/// relay never blocks on a full pipe.
fn read_lines(stdout: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (lines, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            // The test may have stopped listening; keep draining.
            let _ = lines.send(line);
        }
    });
    receiver
}

/// Whether `GET /healthz` on the port answers 200.
fn health_check(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}
