//! An owner's backend as the relay's event tests need it: an HTTPS endpoint on 127.0.0.1 with
//! a certificate of its own, which records every request it gets, and which can be down (its
//! port held but refusing connections) or answer 503 until told otherwise.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum_server::tls_rustls::RustlsConfig;
use tempfile::TempDir;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The body as sent.
    pub body: Vec<u8>,
    /// Whether the receiver answered 2xx (not while it answered 503).
    pub accepted: bool,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("an event body is JSON")
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    unavailable: AtomicBool,
}

/// The receiver. Dropping it stops it.
pub struct WebhookReceiver {
    port: u16,
    dir: TempDir,
    shared: Arc<Shared>,
    /// Bound but not listening while down: connections are refused, and no one else can take
    /// the port meanwhile.
    socket: Option<socket2::Socket>,
    server: Option<axum_server::Handle>,
}

impl WebhookReceiver {
    /// A receiver up and answering 204.
    pub async fn start() -> Self {
        let mut receiver = Self::start_down();
        receiver.come_up().await;
        receiver
    }

    /// A receiver whose port is reserved but which refuses connections until
    /// [`come_up`](Self::come_up).
    pub fn start_down() -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&addr.into()).expect("bind 127.0.0.1:0");
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let certified =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
                .expect("a certificate");
        std::fs::write(dir.path().join("ca.pem"), certified.cert.pem()).unwrap();
        std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), certified.key_pair.serialize_pem()).unwrap();
        Self { port, dir, shared: Arc::default(), socket: Some(socket), server: None }
    }

    /// Starts accepting connections, on the same port.
    pub async fn come_up(&mut self) {
        let socket = self.socket.take().expect("the receiver is down");
        socket.listen(128).expect("listen");
        socket.set_nonblocking(true).unwrap();
        let listener: std::net::TcpListener = socket.into();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = RustlsConfig::from_pem_file(
            self.dir.path().join("cert.pem"),
            self.dir.path().join("key.pem"),
        )
        .await
        .expect("the receiver's certificate");
        let app = axum::Router::new()
            .route("/events", post(receive))
            .with_state(Arc::clone(&self.shared));
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, tls).handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        handle.listening().await.expect("the receiver listens");
        self.server = Some(handle);
    }

    /// While `true`, every request is recorded and answered 503.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.shared.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// The URL to configure as an endpoint's `url`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/events", self.port)
    }

    /// The receiver's certificate, for an events configuration's `ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A directory that lives as long as the receiver, for the test's own files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every request so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `accepted` requests were answered 2xx, at most `timeout`; every request
    /// so far.
    pub async fn wait_for_accepted(&self, accepted: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.iter().filter(|r| r.accepted).count() >= accepted
                || Instant::now() > deadline
            {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        if let Some(handle) = &self.server {
            handle.shutdown();
        }
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let accepted = !shared.unavailable.load(Ordering::SeqCst);
    shared.received.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
        accepted,
    });
    if accepted { StatusCode::NO_CONTENT } else { StatusCode::SERVICE_UNAVAILABLE }
}
