//! Shared test helpers: a recording HTTP server on 127.0.0.1, test keys, JWT checks.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
use secrecy::SecretString;
use serde_json::Value;
use tigress_push::RetryPolicy;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub version: Version,
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The header's value; panics if it is missing or not text.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap_or_else(|| panic!("header {name} missing")).to_str().unwrap()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

type Answer = Box<dyn Fn(&Recorded) -> (u16, String) + Send + Sync>;

struct ServerState {
    requests: Mutex<Vec<Recorded>>,
    answer: Answer,
}

/// A server on 127.0.0.1 that records every request and answers with `answer`.
pub struct Server {
    pub url: String,
    state: Arc<ServerState>,
}

impl Server {
    pub async fn start(
        answer: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let state =
            Arc::new(ServerState { requests: Mutex::new(Vec::new()), answer: Box::new(answer) });
        let app = Router::new().fallback(record).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state }
    }

    /// A server answering the scripted `(status, body)` pairs in turn, then `200 {}`.
    pub async fn scripted(answers: &[(u16, &str)]) -> Self {
        let script = Script::new(answers);
        Self::start(move |_| script.next()).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }
}

async fn record(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let recorded = Recorded {
        version: parts.version,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body: body.to_vec(),
    };
    let (status, body) = (state.answer)(&recorded);
    state.requests.lock().unwrap().push(recorded);
    let status = StatusCode::from_u16(status).unwrap();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Answers given in turn, then `200 {}`.
pub struct Script(Mutex<VecDeque<(u16, String)>>);

impl Script {
    pub fn new(answers: &[(u16, &str)]) -> Self {
        Self(Mutex::new(answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect()))
    }

    pub fn next(&self) -> (u16, String) {
        self.0.lock().unwrap().pop_front().unwrap_or((200, "{}".to_owned()))
    }
}

/// Retries with pauses of a millisecond or two.
pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    }
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A new P-256 key and its PKCS#8 PEM.
pub fn p256_key() -> (p256::SecretKey, SecretString) {
    let key = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
    (key, SecretString::from(pem.as_str()))
}

/// One RSA key per test run (2048 bits, the least `ring` signs with; slow to make in debug).
pub fn rsa_key() -> &'static (rsa::RsaPrivateKey, SecretString) {
    static KEY: OnceLock<(rsa::RsaPrivateKey, SecretString)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
        let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LineEnding::LF).unwrap();
        (key, SecretString::from(pem.as_str()))
    })
}

/// A JWT split into header, claims, signed part and signature.
struct Jwt<'a> {
    header: Value,
    claims: Value,
    signed: &'a str,
    signature: Vec<u8>,
}

fn split(jwt: &str) -> Jwt<'_> {
    let (signed, signature) = jwt.rsplit_once('.').expect("a JWT has a signature");
    let (header, claims) = signed.split_once('.').expect("a JWT has claims");
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).expect("base64url without padding");
    let json = |part: &str| serde_json::from_slice(&decode(part)).expect("a JSON part");
    Jwt { header: json(header), claims: json(claims), signed, signature: decode(signature) }
}

/// Checks an ES256 JWT's signature with `key`; returns its header and claims.
pub fn verify_es256(jwt: &str, key: &p256::ecdsa::VerifyingKey) -> (Value, Value) {
    let jwt = split(jwt);
    let signature = p256::ecdsa::Signature::from_slice(&jwt.signature).expect("64-byte r || s");
    key.verify(jwt.signed.as_bytes(), &signature).expect("a valid ES256 signature");
    (jwt.header, jwt.claims)
}

/// Checks an RS256 JWT's signature with `key`; returns its header and claims.
pub fn verify_rs256(jwt: &str, key: &rsa::RsaPublicKey) -> (Value, Value) {
    let jwt = split(jwt);
    let verifying = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.clone());
    let signature = rsa::pkcs1v15::Signature::try_from(jwt.signature.as_slice()).unwrap();
    verifying.verify(jwt.signed.as_bytes(), &signature).expect("a valid RS256 signature");
    (jwt.header, jwt.claims)
}

/// The names of a JSON object's members, sorted.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<_> =
        value.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}
