//! Helpers: run the `tigress` binary, and start a relay with it on a free loopback port.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a relay may take to answer its health check.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The `tigress` binary under test.
pub fn tigress() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tigress"));
    // Nothing from the developer's environment (TIGRESS_RELAY, RUST_LOG...) may leak in.
    command.env_clear();
    command.stdin(Stdio::null());
    command
}

/// Runs `tigress ARGS` with no stdin and waits for it.
pub fn run(args: &[&str]) -> Output {
    tigress().args(args).output().expect("run tigress")
}

/// Runs `tigress ARGS` with `input` on stdin and waits for it.
pub fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = tigress()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tigress");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("wait for tigress")
}

/// The exit code, stdout and stderr of a finished run, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts the exit code, showing the whole run if it differs.
#[track_caller]
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A port on 127.0.0.1 that nothing listens on (at the moment of the call).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// A `tigress relay` child process on a free loopback port, with its store in a temporary
/// directory. Killed on drop.
pub struct Relay {
    child: Child,
    base: String,
    dir: TempDir,
}

impl Relay {
    /// Starts a plain-HTTP relay on loopback and waits until `GET /healthz` answers 200.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`Relay::start`], with more `tigress relay` options.
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_in(tempdir(), extra, &[])
    }

    /// Starts a relay whose store and log live in `dir` (reused across a restart), with more
    /// options and environment variables.
    pub fn start_in(dir: TempDir, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let extra: Vec<&std::ffi::OsStr> = extra.iter().map(|arg| arg.as_ref()).collect();
        let mut relay = Self::spawn(dir, &extra, env);
        relay.wait_until(health_check);
        relay
    }

    /// Kills the relay with SIGKILL (no chance to flush anything) and hands back its directory.
    pub fn kill_9(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempdir());
        drop(self);
        dir
    }

    /// Starts a relay serving TLS with the certificate and key in `cert` and `key` (PEM), and
    /// waits until it accepts connections.
    pub fn start_tls(cert: &Path, key: &Path) -> Self {
        let mut relay = Self::spawn(
            tempdir(),
            &["--tls-cert".as_ref(), cert.as_os_str(), "--tls-key".as_ref(), key.as_os_str()],
            &[],
        );
        relay.base = relay.base.replace("http://", "https://");
        relay.wait_until(|port| TcpStream::connect(("127.0.0.1", port)).is_ok());
        relay
    }

    fn spawn(dir: TempDir, extra: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = fs::File::create(dir.path().join("relay.log")).expect("relay log file");
        let child = tigress()
            .args(["relay", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.path().join("data"))
            .args(extra)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tigress relay");
        Self { child, base: format!("http://127.0.0.1:{port}"), dir }
    }

    fn wait_until(&mut self, ready: impl Fn(u16) -> bool) {
        let port = self.port();
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if ready(port) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the relay exited with {status}; its log:\n{}", self.log());
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("the relay was not ready within {READY_TIMEOUT:?}; its log:\n{}", self.log());
    }

    /// `http://127.0.0.1:PORT` (or `https://` for a TLS relay).
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("the base URL ends in a port")
    }

    /// The relay's process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the relay to exit (within the readiness timeout) and returns its status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
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

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("temporary directory")
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
