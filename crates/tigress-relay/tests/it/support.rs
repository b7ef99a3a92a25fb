//! A relay started in this process on 127.0.0.1:0 (tigress-test-support), and a small HTTP
//! client for it.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tigress_relay::{RelayConfig, RunningRelay};

pub const CLAIM_HEADER: &str = "Mailbox-Device-Claim";
pub const REQUEST_ID_HEADER: &str = "Mailbox-Request-ID";

/// The shared test relay (tigress-test-support) with an HTTP client and request helpers.
pub struct TestRelay {
    pub inner: tigress_test_support::TestRelay,
    pub http: reqwest::Client,
}

impl TestRelay {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut RelayConfig)) -> Self {
        let inner = tigress_test_support::TestRelay::start_with(adjust).await;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        Self { inner, http }
    }

    /// The running relay.
    pub fn relay(&self) -> &RunningRelay {
        self.inner.relay()
    }

    pub fn base(&self) -> String {
        self.inner.base_url().to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// Sends a request with optional claim, request id and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        claim: Option<&str>,
        request_id: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(claim) = claim {
            request = request.header(CLAIM_HEADER, claim);
        }
        if let Some(id) = request_id {
            request = request.header(REQUEST_ID_HEADER, id);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Reply::from(request.send().await.expect("request sent")).await
    }

    /// Creates a mailbox with `config` as mailboxConfiguration; returns (mailbox path, sender claim).
    pub async fn create(&self, config: Value) -> (String, String) {
        let sender = new_uuid();
        let mut body = create_body();
        body["mailboxConfiguration"] = config;
        let reply =
            self.send(Method::POST, "/v1/m", Some(&sender), Some(&new_uuid()), Some(&body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        (mailbox_path(&reply), sender)
    }

    /// Number of mailbox rows, read straight from the SQLite file.
    pub fn mailbox_rows(&self) -> i64 {
        let path = self.inner.dir().join("data/tigress.sqlite3");
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let conn = rusqlite::Connection::open_with_flags(path, flags).expect("open the store");
        conn.query_row("SELECT count(*) FROM mailboxes", [], |r| r.get(0)).expect("count")
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Self { status, headers, text }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The error code of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_else(|| panic!("no code: {}", self.text)).to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn payload(data: &str) -> Value {
    json!({"type": "AEAD_AES_128_GCM", "data": data})
}

pub fn create_body() -> Value {
    json!({
        "payload": payload("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        "displayInformation": {
            "title": "Room 412",
            "description": "Hotel key, valid until Sunday",
            "imageURL": "https://img.example/hotel.png"
        }
    })
}

/// `/v1/m/{id}` from a create reply's `urlLink`.
pub fn mailbox_path(reply: &Reply) -> String {
    let link = reply.json()["urlLink"].as_str().expect("urlLink").to_owned();
    let at = link.find("/v1/m/").expect("urlLink has /v1/m/");
    link[at..].to_owned()
}

/// A read with a cursor and an optional wait; returns the reply and how long it took.
pub async fn read(
    relay: &TestRelay,
    path: &str,
    claim: &str,
    after: u64,
    wait: Option<u64>,
) -> (Reply, Duration) {
    spawn_read(relay, path, claim, after, wait).await.unwrap()
}

/// The same read, running in the background while the test writes.
pub fn spawn_read(
    relay: &TestRelay,
    path: &str,
    claim: &str,
    after: u64,
    wait: Option<u64>,
) -> tokio::task::JoinHandle<(Reply, Duration)> {
    let mut request =
        relay.http.post(relay.url(path)).header(CLAIM_HEADER, claim).json(&json!({"after": after}));
    if let Some(wait) = wait {
        request = request.header("Prefer", format!("wait={wait}"));
    }
    tokio::spawn(async move {
        let started = Instant::now();
        let reply = Reply::from(request.send().await.unwrap()).await;
        (reply, started.elapsed())
    })
}

pub async fn write(relay: &TestRelay, path: &str, claim: &str, data: &str) -> Reply {
    relay
        .send(
            Method::PUT,
            path,
            Some(claim),
            Some(&new_uuid()),
            Some(&json!({"payload": payload(data)})),
        )
        .await
}
