//! Helpers: run the `tigress` binary, and start a relay with it on 127.0.0.1:0.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;
pub use tigress_test_support::DeadAddress;
use tigress_test_support::RelayProcess;

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

/// A `tigress relay` child process on 127.0.0.1:0 (see [`RelayProcess`]), with its store in a
/// temporary directory. Killed on drop.
pub struct Relay(RelayProcess);

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
        let extra: Vec<&OsStr> = extra.iter().map(OsStr::new).collect();
        Self(RelayProcess::start(binary(), dir, &extra, env))
    }

    /// Starts a relay serving TLS with the certificate and key in `cert` and `key` (PEM).
    pub fn start_tls(cert: &Path, key: &Path) -> Self {
        let extra =
            ["--tls-cert".as_ref(), cert.as_os_str(), "--tls-key".as_ref(), key.as_os_str()];
        Self(RelayProcess::start(binary(), tempdir(), &extra, &[]))
    }

    /// Kills the relay with SIGKILL and hands back its directory.
    pub fn kill_9(self) -> TempDir {
        self.0.kill_9()
    }
}

impl std::ops::Deref for Relay {
    type Target = RelayProcess;

    fn deref(&self) -> &RelayProcess {
        &self.0
    }
}

impl std::ops::DerefMut for Relay {
    fn deref_mut(&mut self) -> &mut RelayProcess {
        &mut self.0
    }
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tigress"))
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("temporary directory")
}
