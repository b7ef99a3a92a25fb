//! Regressions for the findings of an independent review of the relay, tried against a running
//! relay: each test failed before its fix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_proto::MailboxId;
use tigress_proto::wire::{NotificationToken, Party, Payload};
use tigress_push::Pusher;
use tigress_relay::mailbox::{Caller, RequestHash};
use tigress_relay::rate_limit::ClientLimits;
use tigress_relay::store::sqlite::SqliteStore;
use tigress_relay::store::{
    Created, MailboxStore, NewMailbox, Outcome, PreviewView, ReadView, StoreError, Updated,
};
use tigress_relay::waiters::Waiters;
use tigress_relay::{AppState, Clock, Durability, Metrics, RelayConfig, Settings, Shared, app};

use crate::support::{TestRelay, new_uuid};

async fn relays() -> Vec<(&'static str, TestRelay)> {
    let sqlite = ("sqlite", TestRelay::start().await);
    #[cfg(feature = "redis")]
    {
        let nodes = crate::store_contract::redis_nodes();
        let redis =
            |c: &mut RelayConfig| c.store = tigress_relay::StoreConfig::RedisCluster { nodes };
        vec![sqlite, ("redis", TestRelay::start_with(redis).await)]
    }
    #[cfg(not(feature = "redis"))]
    vec![sqlite]
}

/// A cursor past what JSON holds exactly used to fail in the store after the bind (Redis: the
/// script bound, then LRANGE failed; SQLite: beyond i64) with a 500, leaving a receiver bound
/// that nobody announced. It is now refused before the store is touched, and binds nobody.
#[tokio::test]
async fn a_huge_cursor_is_refused_before_anything_binds() {
    for (store, relay) in relays().await {
        let (path, sender) = relay.create(json!({})).await;
        for after in ["100000000000000000", "9223372036854775808", "18446744073709551615"] {
            let body: serde_json::Value =
                serde_json::from_str(&format!(r#"{{"after":{after}}}"#)).unwrap();
            let refused =
                relay.send(Method::POST, &path, Some(&new_uuid()), None, Some(&body)).await;
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{store} {after}: {}",
                refused.text
            );
            assert_eq!(refused.code(), "invalid_field", "{store} {after}");
        }
        let own = relay.send(Method::POST, &path, Some(&sender), None, None).await;
        assert_eq!(own.status, StatusCode::OK, "{store}: {}", own.text);
        assert_eq!(own.json()["receiverBound"], false, "{store}: a refused read bound a receiver");
        // The largest cursor allowed reads (no messages after it) and binds as usual.
        let largest = json!({"after": tigress_relay::body::MAX_CURSOR});
        let read = relay.send(Method::POST, &path, Some(&new_uuid()), None, Some(&largest)).await;
        assert_eq!(read.status, StatusCode::OK, "{store}: {}", read.text);
        assert_eq!(read.json()["messages"], json!([]), "{store}");
    }
}

/// A store whose reads answer only some time after the store under it committed them: the
/// window in which a client that resets its connection has its handler dropped.
struct SlowReads(Arc<dyn MailboxStore>);

const SLOW_READ: Duration = Duration::from_millis(400);

#[async_trait::async_trait]
impl MailboxStore for SlowReads {
    async fn create(
        &self,
        mailbox: NewMailbox,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Created, StoreError> {
        self.0.create(mailbox, request, now).await
    }

    async fn preview(&self, id: MailboxId, now: i64) -> Result<PreviewView, StoreError> {
        self.0.preview(id, now).await
    }

    async fn read(
        &self,
        id: MailboxId,
        caller: Caller,
        token: Option<NotificationToken>,
        after: u64,
        now: i64,
    ) -> Result<ReadView, StoreError> {
        let view = self.0.read(id, caller, token, after, now).await;
        tokio::time::sleep(SLOW_READ).await;
        view
    }

    async fn update(
        &self,
        id: MailboxId,
        caller: Caller,
        payload: Payload,
        token: Option<NotificationToken>,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Updated, StoreError> {
        self.0.update(id, caller, payload, token, request, now).await
    }

    async fn delete(&self, id: MailboxId, caller: Caller, now: i64) -> Result<(), StoreError> {
        self.0.delete(id, caller, now).await
    }

    async fn relinquish(
        &self,
        id: MailboxId,
        caller: Caller,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Outcome, StoreError> {
        self.0.relinquish(id, caller, request, now).await
    }

    async fn forget_token(
        &self,
        id: MailboxId,
        role: Party,
        token_data: String,
        now: i64,
    ) -> Result<(), StoreError> {
        self.0.forget_token(id, role, token_data, now).await
    }

    async fn remember_attestation(
        &self,
        digest: [u8; 32],
        request: Option<RequestHash>,
        until: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.0.remember_attestation(digest, request, until, now).await
    }

    async fn sweep(&self, now: i64) -> Result<u64, StoreError> {
        self.0.sweep(now).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

/// The relay's router over [`SlowReads`] on SQLite, served on 127.0.0.1:0; its base URL.
async fn slow_relay(dir: &std::path::Path) -> String {
    let config = RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir);
    let sqlite = SqliteStore::open(dir, Durability::Full, config.limits.log()).unwrap();
    let settings = Settings {
        public_url: String::new(),
        mailbox_segment: config.mailbox_segment.clone(),
        limits: config.limits.clone(),
        openapi_json: String::new(),
        descriptor_json: String::new(),
        apple_app_site_association: None,
        asset_links: None,
        app_offer: Default::default(),
        clients: ClientLimits::new(&config.abuse).unwrap(),
        attestation: config.attestation.clone(),
        claim_key: None,
        token_seal: None,
        events: Default::default(),
    };
    let state = AppState::new(Shared {
        store: Arc::new(SlowReads(Arc::new(sqlite))),
        settings: Arc::new(settings),
        waiters: Arc::new(Waiters::default()),
        pusher: Pusher::from_config(&config.push).unwrap(),
        metrics: Arc::new(Metrics::new(&config.store)),
        clock: Clock::system(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    base
}

/// A receiver whose connection is reset just after its first read reached the store used to
/// bind unannounced: the handler was dropped between the commit and the wake-up, and the
/// sender's waiting read slept on to its deadline. The store call and its announcement now run
/// on a task the handler's drop does not cancel.
#[tokio::test]
async fn a_bind_is_announced_even_when_the_receiver_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let base = slow_relay(dir.path()).await;
    let http = reqwest::Client::new();
    let sender = new_uuid();
    let created = http
        .post(format!("{base}/v1/m"))
        .header("Mailbox-Device-Claim", &sender)
        .json(&crate::support::create_body())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let url =
        created.json::<serde_json::Value>().await.unwrap()["urlLink"].as_str().unwrap().to_owned();
    let path = &url[url.find("/v1/m/").unwrap()..];

    // The sender waits for its share to be opened.
    let waiting = tokio::spawn({
        let (http, url, sender) = (http.clone(), format!("{base}{path}"), sender.clone());
        async move {
            let started = Instant::now();
            let response = http
                .post(url)
                .header("Mailbox-Device-Claim", sender)
                .header("Prefer", "wait=30")
                .send()
                .await
                .unwrap();
            (response.json::<serde_json::Value>().await.unwrap(), started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The receiver sends its first read and resets the connection before the answer.
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nMailbox-Device-Claim: {}\r\nContent-Length: 0\r\n\r\n",
        new_uuid()
    );
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    tokio::time::sleep(SLOW_READ / 4).await;
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);

    let (answer, took) =
        tokio::time::timeout(Duration::from_secs(40), waiting).await.unwrap().unwrap();
    assert_eq!(answer["receiverBound"], true, "{answer}");
    assert!(took < Duration::from_secs(10), "the sender was not woken by the bind: {took:?}");
}

/// Whether the relay closed `stream` (end of file or reset) within `within`.
fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::Read as _;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => {
            !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        }
    }
}

/// Review finding 2: a connection that sent nothing stayed open for ever, and nothing capped how
/// many there were, so idle connections could take every descriptor.
#[tokio::test]
async fn silent_connections_are_closed_and_capped() {
    let relay = TestRelay::start_with(|c| {
        c.limits.request_timeout = Duration::from_secs(1);
        c.limits.max_wait = Duration::from_secs(1);
        c.limits.idle_timeout = Duration::from_secs(1);
        c.limits.max_connections = 2;
    })
    .await;
    let addr = relay.relay().local_addr();
    let started = Instant::now();
    let (mut first, mut second) = tokio::task::spawn_blocking(move || {
        let first = std::net::TcpStream::connect(addr).unwrap();
        let second = std::net::TcpStream::connect(addr).unwrap();
        // Two silent connections fill the cap: a third is closed on arrival.
        std::thread::sleep(Duration::from_millis(200));
        let mut third = std::net::TcpStream::connect(addr).unwrap();
        assert!(closed_within(&mut third, Duration::from_secs(2)), "a third connection was served");
        (first, second)
    })
    .await
    .unwrap();
    // The silent ones are closed once idle (1 s of request time, 1 s of wait, and a second).
    let closed = tokio::task::spawn_blocking(move || {
        closed_within(&mut first, Duration::from_secs(10))
            && closed_within(&mut second, Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(closed, "an idle connection was left open");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // Their places came back: requests are served again.
    let health = relay.send(Method::GET, "/healthz", None, None, None).await;
    assert_eq!(health.status, StatusCode::OK);
}
