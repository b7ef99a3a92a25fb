//! Running the relay on a socket: the TLS rule, the listener (and the metrics listener, when
//! configured), the expiry sweeper and graceful shutdown.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use hyper_util::rt::TokioTimer;
use tokio::task::JoinHandle;
use utoipa::OpenApi;

use crate::clock::Clock;
use crate::config::{Limits, MailboxSegment, RelayConfig, StoreConfig, TlsFiles};
use crate::connections::ConnectionLimits;
use crate::http::{ApiDoc, AppState, Settings, Shared, app};
use crate::metrics::{self, Metrics};
use crate::rate_limit::ClientLimits;
use crate::routes;
use crate::store::MailboxStore;
use crate::store::sqlite::SqliteStore;
use crate::waiters::Waiters;
use tigress_push::Pusher;

/// The OpenAPI document of a relay whose mailboxes are under `/v1/{segment}`: the derived one
/// names the default `m`.
fn openapi_for(segment: &MailboxSegment) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let rename = |path: String| match path.as_str() {
        routes::CREATE => routes::create(segment.as_str()),
        routes::MAILBOX => routes::mailbox(segment.as_str()),
        _ => path,
    };
    let paths = std::mem::take(&mut document.paths.paths);
    document.paths.paths = paths.into_iter().map(|(path, item)| (rename(path), item)).collect();
    document
}

/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A relay running in the background.
pub struct RunningRelay {
    addr: SocketAddr,
    base_url: String,
    handle: Handle,
    server: JoinHandle<std::io::Result<()>>,
    sweeper: JoinHandle<()>,
    /// The outbox's delivery loop, when event endpoints are configured.
    outbox: Option<JoinHandle<()>>,
    tls: Option<(RustlsConfig, TlsFiles)>,
    metrics: Option<MetricsServer>,
}

/// The metrics listener, when one is configured.
struct MetricsServer {
    addr: SocketAddr,
    handle: Handle,
    server: JoinHandle<std::io::Result<()>>,
}

impl RunningRelay {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the relay listens, e.g. `https://127.0.0.1:43123`: the bound address, whatever the
    /// public URL says.
    pub fn listen_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The public base URL in use, e.g. `http://127.0.0.1:8080` or the configured public URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Reads the TLS certificate chain and key files again and serves new connections with
    /// them; connections already open keep theirs. On an error (a missing or mismatched file)
    /// the relay keeps serving the certificate it had. Does nothing without TLS.
    pub async fn reload_tls(&self) -> anyhow::Result<()> {
        let Some((tls_config, files)) = &self.tls else {
            return Ok(());
        };
        tls_config.reload_from_pem_file(&files.cert, &files.key).await.with_context(|| {
            format!(
                "could not reload the TLS certificate {} and key {}; still serving the previous one",
                files.cert.display(),
                files.key.display()
            )
        })
    }

    /// The bound address of the metrics listener, when one was configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|metrics| metrics.addr)
    }

    /// Stops accepting, finishes requests in flight (up to ten seconds), and stops the sweeper
    /// and the metrics listener. Every answered write was already committed, so nothing is lost.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        if let Some(metrics) = &self.metrics {
            metrics.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        }
        self.sweeper.abort();
        if let Some(outbox) = &self.outbox {
            // What it had not delivered stays in the store's outbox for the next start.
            outbox.abort();
        }
        self.server.await.context("the server task failed")?.context("the server failed")?;
        if let Some(metrics) = self.metrics {
            let stopped = metrics.server.await.context("the metrics server task failed")?;
            stopped.context("the metrics server failed")?;
        }
        Ok(())
    }
}

/// Runs the relay until `shutdown` resolves, then shuts down gracefully.
pub async fn run_until(
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let relay = start(config).await?;
    shutdown.await;
    tracing::info!("shutting down");
    relay.shutdown().await
}

/// Connections the kernel may hold complete but not yet accepted. The standard library's 128
/// overflows when many devices connect at once (a network coming back, a burst of shares):
/// the kernel then drops the handshake's last packet, and a client that already sent its
/// request waits for a retransmission, 200 ms or more. The kernel caps this at
/// `net.core.somaxconn` (4096 by default).
const LISTEN_BACKLOG: i32 = 4096;

/// A non-blocking listener on `addr` with [`LISTEN_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    // As the standard library does: a restarted relay can bind while old connections linger.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Starts the relay in the background and returns once it listens.
pub async fn start(config: RelayConfig) -> anyhow::Result<RunningRelay> {
    let pusher = Pusher::from_config(&config.push).context("invalid push configuration")?;
    start_with_pusher(config, pusher).await
}

/// Like [`start`], with push providers built by the caller (tests, embedding) instead of
/// `config.push`.
pub async fn start_with_pusher(
    config: RelayConfig,
    pusher: Pusher,
) -> anyhow::Result<RunningRelay> {
    check_transport(&config)?;
    if config.redis_replica_acks > 0 && config.store == StoreConfig::Sqlite {
        bail!(
            "--redis-replica-acks applies to the Redis Cluster store only; the SQLite store \
             makes each write durable on its own disk before answering"
        );
    }
    let waiters = Arc::new(Waiters::default());
    let metrics = Arc::new(Metrics::new(&config.store));
    let store = open_store(&config, &waiters, &metrics).await?;
    let events = Arc::new(config.events.clone());
    let outbox = outbox(&events, &store, &metrics, &config)?;

    let listener =
        listen(config.listen).with_context(|| format!("could not listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let base_url = config
        .public_url
        .clone()
        .map(|url| url.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("{scheme}://{addr}"));

    let claim_key = crate::claim_key::load(&config)?;
    let app_links = config.app_links.render(&config.mailbox_segment)?;
    let settings = Settings {
        public_url: base_url.clone(),
        mailbox_segment: config.mailbox_segment.clone(),
        limits: config.limits.clone(),
        apple_app_site_association: app_links.apple,
        asset_links: app_links.android,
        app_offer: app_links.offer,
        descriptor_json: serde_json::to_string(&crate::descriptor::describe(&config, &pusher))
            .context("rendering the relay descriptor")?,
        openapi_json: openapi_for(&config.mailbox_segment)
            .to_pretty_json()
            .context("rendering the OpenAPI document")?,
        clients: ClientLimits::new(&config.abuse).with_context(|| {
            format!("invalid client address header {:?}", config.abuse.client_address_header)
        })?,
        attestation: config.attestation.clone(),
        token_seal: claim_key.as_ref().map(crate::token_seal::TokenSeal::new),
        claim_key,
        events,
    };
    // Bound before the relay serves anything, so that a wrong address fails the start.
    let metrics_listener = config
        .metrics_listen
        .map(|listen| {
            let listener = TcpListener::bind(listen)
                .with_context(|| format!("could not listen for metrics on {listen}"))?;
            listener.set_nonblocking(true)?;
            anyhow::Ok(listener)
        })
        .transpose()?;
    let state = AppState::new(Shared {
        store: Arc::clone(&store),
        settings: Arc::new(settings),
        waiters,
        pusher,
        metrics: Arc::clone(&metrics),
        clock: config.clock.clone(),
    });
    let router = app(state);
    let service = router.into_make_service_with_connect_info::<SocketAddr>();

    let handle = Handle::new();
    let mut reloadable = None;
    let connections = ConnectionLimits::for_limits(&config.limits, Arc::clone(&metrics));
    let server = match &config.tls {
        Some(tls) => {
            // Several crypto providers may be compiled in; the relay uses ring. Installing twice
            // (a second relay in one process) is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls_config =
                RustlsConfig::from_pem_file(&tls.cert, &tls.key).await.with_context(|| {
                    format!(
                        "could not load the TLS certificate {} and key {}",
                        tls.cert.display(),
                        tls.key.display()
                    )
                })?;
            reloadable = Some((tls_config.clone(), tls.clone()));
            let mut server = axum_server::from_tcp_rustls(listener, tls_config)
                .map(|tls| tls.acceptor(connections));
            harden(server.http_builder(), &config.limits);
            tokio::spawn(server.handle(handle.clone()).serve(service))
        }
        None => {
            let mut server = axum_server::from_tcp(listener).acceptor(connections);
            harden(server.http_builder(), &config.limits);
            tokio::spawn(server.handle(handle.clone()).serve(service))
        }
    };
    let metrics = metrics_listener
        .map(|listener| serve_metrics(listener, metrics, &config.limits))
        .transpose()?;
    let sweeper = tokio::spawn(sweep_forever(store, config.sweep_interval, config.clock.clone()));
    let outbox = outbox.map(|outbox| tokio::spawn(crate::events::deliver_forever(outbox)));
    tracing::info!(listen = %addr, tls = config.tls.is_some(), "relay listening");
    Ok(RunningRelay { addr, base_url, handle, server, sweeper, outbox, tls: reloadable, metrics })
}

/// The delivery loop of the store's event outbox, when endpoints are configured (both stores
/// keep one; a store that did not would refuse to start with endpoints).
fn outbox(
    events: &Arc<tigress_webhooks::EventsConfig>,
    store: &Arc<dyn MailboxStore>,
    metrics: &Arc<Metrics>,
    config: &RelayConfig,
) -> anyhow::Result<Option<crate::events::Outbox>> {
    if events.endpoints.is_empty() {
        return Ok(None);
    }
    if !store.keeps_events() {
        bail!("event endpoints need a store that keeps an outbox of events (docs/EVENTS.md)");
    }
    let deliverer = tigress_webhooks::Deliverer::new(events)
        .context("could not prepare the delivery of events")?;
    Ok(Some(crate::events::Outbox {
        store: Arc::clone(store),
        config: Arc::clone(events),
        deliverer,
        metrics: Arc::clone(metrics),
        clock: config.clock.clone(),
    }))
}

/// Serves `GET /metrics` on its own plain-HTTP listener. The metrics identify no one (see
/// [`crate::metrics`]), so they need no TLS; the operator chooses who may reach the address.
fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    limits: &Limits,
) -> anyhow::Result<MetricsServer> {
    let addr = listener.local_addr()?;
    let handle = Handle::new();
    let mut server = axum_server::from_tcp(listener);
    harden(server.http_builder(), limits);
    let service = metrics::app(metrics).into_make_service();
    let server = tokio::spawn(server.handle(handle.clone()).serve(service));
    tracing::info!(listen = %addr, "metrics listening");
    Ok(MetricsServer { addr, handle, server })
}

/// Opens the configured store; a store shared with other relays also feeds `waiters` the
/// writes made through them.
async fn open_store(
    config: &RelayConfig,
    waiters: &Arc<Waiters>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Arc<dyn MailboxStore>> {
    match &config.store {
        #[cfg(feature = "redis")]
        StoreConfig::RedisCluster { nodes } => {
            let acks = config.redis_replica_acks;
            let store = crate::store::redis::RedisStore::connect(nodes, config.limits.log(), acks)
                .await
                .with_context(|| format!("could not connect to the store {}", config.store))?;
            let feed =
                crate::store::redis::wake::RedisWakeFeed::connect(nodes, Arc::downgrade(waiters))
                    .await
                    .with_context(|| format!("could not subscribe to {}", config.store))?;
            if waiters.attach_feed(Arc::new(feed)).is_err() {
                bail!("the relay's waiters already have a wake feed");
            }
            Ok(Arc::new(store))
        }
        #[cfg(not(feature = "redis"))]
        StoreConfig::RedisCluster { .. } => {
            let _ = (waiters, metrics);
            bail!("this relay was built without the Redis store (Cargo feature `redis`)")
        }
        StoreConfig::Sqlite => {
            let store = SqliteStore::open(&config.data_dir, config.durability, config.limits.log())
                .with_context(|| {
                    format!("could not open the store in {}", config.data_dir.display())
                })?;
            store.set_max_mailboxes(config.abuse.max_mailboxes);
            store.set_metrics(Arc::clone(metrics));
            Ok(Arc::new(store))
        }
    }
}

/// Connection-level limits: a client that trickles its headers is cut off (the request timeout
/// only starts once the headers are in), and one HTTP/2 connection cannot open unbounded streams.
fn harden(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    limits: &Limits,
) {
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(256);
}

/// §2: TLS everywhere, except plain HTTP on loopback or behind a TLS-terminating proxy.
fn check_transport(config: &RelayConfig) -> anyhow::Result<()> {
    if config.tls.is_none() && !config.listen.ip().is_loopback() && !config.insecure_plain_http {
        bail!(
            "refusing to serve plain HTTP on {}: the relay serves TLS only. Give --tls-cert and \
             --tls-key, listen on a loopback address, or pass --insecure-plain-http when a \
             TLS-terminating proxy sits in front",
            config.listen
        );
    }
    Ok(())
}

/// Erases expired mailboxes every `interval`. Expiry is also enforced on every access, so the
/// sweep only reclaims space and erases content.
async fn sweep_forever(store: Arc<dyn MailboxStore>, interval: Duration, clock: Clock) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store.sweep(clock.unix_now()).await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "erased expired mailboxes"),
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn refuses_plain_http_off_loopback_unless_told() {
        let mut config = RelayConfig::new("0.0.0.0:8080".parse().unwrap(), "/nonexistent");
        let error = check_transport(&config).unwrap_err().to_string();
        assert!(error.contains("TLS"), "{error}");
        config.insecure_plain_http = true;
        assert!(check_transport(&config).is_ok());
        let loopback = RelayConfig::new("127.0.0.1:8080".parse().unwrap(), "/nonexistent");
        assert!(check_transport(&loopback).is_ok());
        let v6 = RelayConfig::new("[::1]:8080".parse().unwrap(), "/nonexistent");
        assert!(check_transport(&v6).is_ok());
    }

    /// A burst of connections larger than the standard library's backlog of 128 is held by the
    /// kernel until the relay accepts it, rather than dropped (see [`LISTEN_BACKLOG`]).
    #[test]
    fn the_listener_holds_a_burst_of_connections_until_accepted() {
        let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok());
        let burst = 600;
        assert!(
            somaxconn.is_none_or(|cap| cap >= burst),
            "net.core.somaxconn is {somaxconn:?}: this test needs at least {burst} \
             (sysctl -w net.core.somaxconn=4096)"
        );
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        // Loopback completes each handshake before `connect` returns; nothing is accepted yet.
        // A full queue drops the handshake, and the client would retry for a minute or more.
        let mut clients = Vec::with_capacity(burst);
        while clients.len() < burst {
            let Ok(client) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
                break;
            };
            clients.push(client);
        }
        assert_eq!(clients.len(), burst, "the kernel refused connections of the burst");
        let mut queued = 0;
        while listener.accept().is_ok() {
            queued += 1;
        }
        assert_eq!(queued, burst, "the kernel dropped connections of the burst");
    }
}
