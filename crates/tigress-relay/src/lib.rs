//! STUB for the CLI worktree: the real relay lives on main. Only the public API is here.
pub mod config;
pub use config::{Durability, Limits, RelayConfig, TlsFiles};
use std::future::Future;
use std::net::SocketAddr;

/// Runs the relay until `shutdown` resolves, then shuts down gracefully.
pub async fn run_until(
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let relay = start(config).await?;
    shutdown.await;
    relay.shutdown().await
}

/// Starts the relay in the background and returns once it listens.
pub async fn start(_config: RelayConfig) -> anyhow::Result<RunningRelay> {
    anyhow::bail!("stub relay: merge main for the real one")
}

/// A relay running in the background.
pub struct RunningRelay {
    addr: SocketAddr,
    base_url: String,
}

impl RunningRelay {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT` or `https://…`: the public base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// Stops accepting, finishes requests in flight, and flushes the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        Ok(())
    }
}
