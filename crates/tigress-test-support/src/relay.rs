//! A relay started inside the test's own process, on 127.0.0.1:0, over a SQLite store in a
//! temporary directory.

use std::path::Path;

use tempfile::TempDir;
use tigress_push::Pusher;
use tigress_relay::{RelayConfig, RunningRelay};

/// A running relay and the directory of its store; stopped gracefully by [`TestRelay::stop`].
pub struct TestRelay {
    relay: Option<RunningRelay>,
    dir: TempDir,
}

impl TestRelay {
    /// A relay with the default configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A relay whose configuration `adjust` changes first (limits, the clock, a store…).
    pub async fn start_with(adjust: impl FnOnce(&mut RelayConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        adjust(&mut config);
        let relay = tigress_relay::start(config).await.expect("the relay starts");
        Self { relay: Some(relay), dir }
    }

    /// Like [`TestRelay::start_with`], pushing through `pusher` (recording providers, say).
    pub async fn start_with_pusher(adjust: impl FnOnce(&mut RelayConfig), pusher: Pusher) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        adjust(&mut config);
        let relay =
            tigress_relay::start_with_pusher(config, pusher).await.expect("the relay starts");
        Self { relay: Some(relay), dir }
    }

    /// The running relay.
    pub fn relay(&self) -> &RunningRelay {
        self.relay.as_ref().expect("running")
    }

    /// `http://127.0.0.1:PORT`, or the configured public URL.
    pub fn base_url(&self) -> &str {
        self.relay().base_url()
    }

    /// The directory the relay's store lives in (under `data/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Shuts the relay down gracefully, failing the test if that fails.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    /// Shuts the relay down and keeps its store, for [`TestRelay::restart_with`].
    pub async fn shutdown(&mut self) {
        if let Some(relay) = self.relay.take() {
            relay.shutdown().await.expect("graceful shutdown");
        }
    }

    /// Starts a relay again on the same store (shutting down the running one first), on a new
    /// port, with the default configuration changed by `adjust`.
    pub async fn restart_with(&mut self, adjust: impl FnOnce(&mut RelayConfig)) {
        self.shutdown().await;
        let mut config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), self.dir().join("data"));
        adjust(&mut config);
        self.relay = Some(tigress_relay::start(config).await.expect("the relay starts again"));
    }
}
