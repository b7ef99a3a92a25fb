//! `tigress relay`: builds the relay's configuration from the arguments and runs it until SIGTERM
//! or Ctrl-C.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use serde::Deserialize;
use tigress_attest::TrustedKeys;
use tigress_relay::AttestationPolicy;
use tracing_subscriber::EnvFilter;

use crate::exit::UsageError;
use crate::settings::{LogFormat, RelayArgs};

/// Runs the relay until a shutdown signal, then shuts it down gracefully.
pub async fn run(mut args: RelayArgs) -> anyhow::Result<()> {
    if args.health_check {
        return crate::health::check(&args.relay_config()).await;
    }
    // `--push-config` (a flag, a variable or the file's key) wins over a [push] table.
    let push_source = match (&args.push_config, args.sources.push_table.take()) {
        (Some(path), _) => Some(PushSource::File(path.clone(), push_table(path)?)),
        (None, Some(table)) => Some(PushSource::Table(table)),
        (None, None) => None,
    };
    let push = match &push_source {
        Some(source) => source.config()?,
        None => tigress_push::PushConfig::default(),
    };
    let attestation = match &args.attestation_keys {
        Some(path) => AttestationPolicy::Verify(Arc::new(attestation_keys(path)?)),
        None => AttestationPolicy::None,
    };
    let app_links = match &args.app_links {
        Some(path) => app_links(path)?,
        None => tigress_relay::app_links::AppLinks::default(),
    };
    let events = match &args.events_config {
        Some(path) => events_config(path)?,
        None => tigress_webhooks::EventsConfig::default(),
    };
    if args.print_config {
        let push = push_source.as_ref().map(PushSource::shown);
        print!("{}", crate::config_file::render(&args.sources, push));
        return Ok(());
    }
    init_logging(args.log_format)?;
    let mut config = args.relay_config();
    config.push = push;
    config.attestation = attestation;
    config.app_links = app_links;
    config.events = events;
    if config.abuse.tenant_creates_per_minute > 0
        && matches!(config.attestation, AttestationPolicy::None)
    {
        tracing::warn!(
            "tenant_creates_per_minute has no effect without attestation_keys: tenants are the \
             attestation keys that verify creates"
        );
    }
    let relay = tigress_relay::start(config).await.context("the relay could not start")?;
    announce(&relay);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut reload = reload_signals();
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(()) = reload.recv() => match relay.reload_tls().await {
                Ok(()) => tracing::info!("reloaded the TLS certificate"),
                Err(e) => tracing::error!(error = format!("{e:#}"), "TLS reload failed"),
            },
        }
    }
    tracing::info!("shutting down");
    relay.shutdown().await.context("the relay stopped with an error")
}

/// Says on stdout where the relay listens, once it does: with `--listen 127.0.0.1:0` (or
/// `--metrics-listen …:0`) this is how a supervisor or a test learns the port the system chose.
fn announce(relay: &tigress_relay::RunningRelay) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // A closed stdout (a supervisor that does not read it) must not stop the relay.
    // The metrics line first: `listening on` is always the last line of the announcement.
    if let Some(metrics) = relay.metrics_addr() {
        let _ = writeln!(out, "metrics on http://{metrics}/metrics");
    }
    let _ = writeln!(out, "listening on {}", relay.listen_url());
    let _ = out.flush();
}

/// SIGHUP, which asks the relay to read its TLS certificate and key again (after a renewal).
/// Never yields where there is no such signal.
fn reload_signals() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    if let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    {
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                // A reload already waiting covers this one too.
                let _ = tx.try_send(());
            }
        });
        return rx;
    }
    // Keep the sender alive so `recv` waits forever rather than ending.
    std::mem::forget(tx);
    rx
}

/// Where the push providers' configuration came from, as TOML.
enum PushSource {
    /// The `--push-config` file.
    File(PathBuf, toml::Table),
    /// The `[push]` table of the `--config` file.
    Table(toml::Table),
}

impl PushSource {
    /// The typed configuration. An unknown key is an error that names it.
    fn config(&self) -> anyhow::Result<tigress_push::PushConfig> {
        let (table, origin) = match self {
            Self::File(path, table) => (table, path.display().to_string()),
            Self::Table(table) => (table, "the [push] table of the configuration".to_owned()),
        };
        toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e| UsageError(format!("invalid push configuration {origin}: {e}")).into())
    }

    /// What `--print-config` shows: where it came from, and the table.
    fn shown(&self) -> (&str, &toml::Table) {
        match self {
            Self::File(path, table) => (path.to_str().unwrap_or("the push configuration"), table),
            Self::Table(table) => ("push", table),
        }
    }
}

/// Reads the `--push-config` file as TOML.
fn push_table(path: &Path) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the push configuration {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        UsageError(format!("invalid push configuration {}: {e}", path.display())).into()
    })
}

/// Reads the device makers' public keys a create's attestation must be signed with. An unknown
/// member, or a key that is not a P-256 or Ed25519 public key, is an error that names it.
fn attestation_keys(path: &Path) -> anyhow::Result<TrustedKeys> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        key: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        id: String,
        public_key: String,
    }
    let invalid =
        |why: String| UsageError(format!("invalid attestation keys {}: {why}", path.display()));
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the attestation keys {}", path.display()))?;
    let file: File = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if file.key.is_empty() {
        return Err(invalid("it holds no [[key]]".into()).into());
    }
    let mut keys = TrustedKeys::new();
    for entry in file.key {
        keys.add(&entry.id, &entry.public_key)
            .map_err(|e| invalid(format!("key {:?}: {e}", entry.id)))?;
    }
    Ok(keys)
}

/// Reads the apps a share link opens. An unknown member is an error that names it; the entries
/// themselves are checked by the relay at start.
/// Reads the `--events-config` file. Its errors name the file and never quote a secret.
fn events_config(path: &Path) -> anyhow::Result<tigress_webhooks::EventsConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the events configuration {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let why = e.message().to_owned();
        UsageError(format!("invalid events configuration {}: {why}", path.display())).into()
    })
}

fn app_links(path: &Path) -> anyhow::Result<tigress_relay::app_links::AppLinks> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        apple_app_ids: Vec<String>,
        #[serde(default)]
        android: Vec<Android>,
        app_name: Option<String>,
        app_store_url: Option<String>,
        play_store_url: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Android {
        package: String,
        sha256_cert_fingerprints: Vec<String>,
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the app links {}", path.display()))?;
    let file: File = toml::from_str(&text)
        .map_err(|e| UsageError(format!("invalid app links {}: {e}", path.display())))?;
    let android = file
        .android
        .into_iter()
        .map(|app| tigress_relay::app_links::AndroidApp {
            package: app.package,
            sha256_cert_fingerprints: app.sha256_cert_fingerprints,
        })
        .collect();
    let offer = tigress_relay::app_links::AppOffer {
        name: file.app_name,
        app_store_url: file.app_store_url,
        play_store_url: file.play_store_url,
    };
    Ok(tigress_relay::app_links::AppLinks { apple_app_ids: file.apple_app_ids, android, offer })
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging(format: LogFormat) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new("info"))
        .context("invalid RUST_LOG")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("could not set up logging: {e}"))
}

/// Resolves on the first SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // Without a Ctrl-C handler, wait for SIGTERM alone.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use tigress_relay::{Durability, Limits, RelayConfig};

    use super::*;
    use crate::args::{Cli, Command};

    fn config(args: RelayArgs) -> RelayConfig {
        args.relay_config()
    }

    fn relay_args(extra: &[&str]) -> RelayArgs {
        let argv = ["tigress", "relay"].iter().chain(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Relay(args) => *args,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn defaults_match_the_relay_s_safe_defaults() {
        let config = config(relay_args(&[]));
        let defaults = Limits::default();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.limits.max_body_bytes, defaults.max_body_bytes);
        assert_eq!(config.limits.max_lifetime, defaults.max_lifetime);
        assert_eq!(config.limits.default_lifetime, defaults.default_lifetime);
        assert_eq!(config.durability, Durability::Full);
        assert_eq!(config.store, tigress_relay::StoreConfig::Sqlite);
        assert!(config.tls.is_none() && !config.insecure_plain_http);
        assert_eq!(config.metrics_listen, None, "metrics are off by default");
    }

    #[test]
    fn metrics_listen_turns_the_metrics_listener_on() {
        let config = config(relay_args(&["--metrics-listen", "127.0.0.1:9464"]));
        assert_eq!(config.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        let refused = Cli::try_parse_from(["tigress", "relay", "--metrics-listen", "nowhere"]);
        assert!(refused.is_err(), "an address is required");
    }

    #[test]
    fn a_redis_cluster_store_is_chosen_by_url() {
        let config =
            config(relay_args(&["--store", "redis-cluster://127.0.0.1:7101,127.0.0.1:7102"]));
        let nodes = vec!["127.0.0.1:7101".to_owned(), "127.0.0.1:7102".to_owned()];
        assert_eq!(config.store, tigress_relay::StoreConfig::RedisCluster { nodes });
    }

    #[test]
    fn options_reach_the_configuration() {
        let config = config(relay_args(&[
            "--listen",
            "0.0.0.0:8443",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--max-title-chars",
            "40",
            "--default-lifetime",
            "2h",
            "--max-lifetime",
            "1day",
            "--sweep-interval",
            "5s",
        ]));
        assert_eq!(config.listen.port(), 8443);
        assert_eq!(config.tls.unwrap().key.to_str(), Some("k.pem"));
        assert_eq!(config.limits.max_title_chars, 40);
        assert_eq!(config.limits.default_lifetime.as_secs(), 7200);
        assert_eq!(config.limits.max_lifetime.as_secs(), 86_400);
        assert_eq!(config.sweep_interval.as_secs(), 5);
    }

    #[test]
    fn a_certificate_without_a_key_is_a_usage_error() {
        let parsed = Cli::try_parse_from(["tigress", "relay", "--tls-cert", "c.pem"]);
        assert!(parsed.is_err());
    }
}
