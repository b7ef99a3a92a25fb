//! The client, its builder, and the thin transport that carries the protocol's requests.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use tigress_attest::{Binding, SigningKey};

use crate::Attester;
use tigress_proto::flow::{HttpRequest, HttpResponse, Method, check_response};
use tigress_proto::share_url::{
    DEFAULT_MAILBOX_SEGMENT, MAX_MAILBOX_SEGMENT_LEN, is_mailbox_segment,
};
use tigress_proto::wire::{
    HEADER_DEVICE_ATTESTATION, HEADER_DEVICE_CLAIM, HEADER_REQUEST_ID, RelayDescriptor,
};

use crate::Error;

/// How long one request may take, connection included, unless the builder says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body read: a relay's whole message log (64 messages of at most 64 KiB)
/// fits well under it. Protects the client from a misbehaving server.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// A client of one relay. Cheap to clone: clones share one connection pool.
///
/// New shares are created on the relay given to [`Client::new`]. Requests about an existing share
/// go to the relay named in its [`ShareUrl`](tigress_proto::ShareUrl), which is normally the same.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    relay_base: String,
    /// The path segment of the relay's mailboxes, `/v1/{segment}` (`m` by default).
    mailbox_segment: String,
    timeout: Duration,
    attestation: Option<Arc<dyn Attester>>,
    /// The relay's descriptor, once read ([`Client::descriptor`]).
    descriptor: Arc<std::sync::OnceLock<RelayDescriptor>>,
}

impl Client {
    /// A client of the relay at `relay_base_url` (e.g. `https://relay.example`), with the public
    /// web PKI roots and the default timeout.
    pub fn new(relay_base_url: &str) -> Result<Self, Error> {
        Self::builder(relay_base_url).build()
    }

    /// A builder, for a private root certificate or another timeout.
    pub fn builder(relay_base_url: &str) -> ClientBuilder {
        ClientBuilder {
            relay_base: relay_base_url.to_owned(),
            mailbox_segment: DEFAULT_MAILBOX_SEGMENT.to_owned(),
            root_certificates: Vec::new(),
            connect_to: None,
            timeout: DEFAULT_TIMEOUT,
            attestation: None,
        }
    }

    /// Adds a `Mailbox-Device-Attestation` to a create request when the client has a key: a
    /// token made now, bound to this relay, this claim, this request id and these body bytes.
    pub(crate) fn attest(&self, mut request: HttpRequest) -> Result<HttpRequest, Error> {
        let Some(attester) = &self.attestation else {
            return Ok(request);
        };
        let header = |wanted: &str| {
            request.headers.iter().find(|(name, _)| *name == wanted).map(|(_, value)| value.clone())
        };
        let claim = header(HEADER_DEVICE_CLAIM).unwrap_or_default();
        let request_id = header(HEADER_REQUEST_ID);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let path = format!("/v1/{}", self.mailbox_segment);
        let binding = Binding {
            audience: &self.relay_base,
            path: &path,
            claim: &claim,
            body: request.body.as_deref().unwrap_or_default(),
            request_id: request_id.as_deref(),
        };
        let token = attester.attest(&binding, now).map_err(Error::Attestation)?;
        request.headers.push((HEADER_DEVICE_ATTESTATION, token));
        Ok(request)
    }

    /// The relay's base URL, without a trailing slash.
    pub fn relay_base(&self) -> &str {
        &self.relay_base
    }

    /// The path segment new shares are created under: `POST /v1/{segment}`.
    pub fn mailbox_segment(&self) -> &str {
        &self.mailbox_segment
    }

    /// What the relay serves and allows: its API versions, extensions, limits, the push token
    /// types it delivers to and whether it requires attestation (`GET /.well-known/tigress-relay`,
    /// docs/API.md). Read once per client, then kept. A relay without a descriptor answers
    /// [`Error::Gone`] (404).
    pub async fn descriptor(&self) -> Result<RelayDescriptor, Error> {
        if let Some(descriptor) = self.descriptor.get() {
            return Ok(descriptor.clone());
        }
        let response = self.get("/.well-known/tigress-relay").await?;
        check_response(&response, None, false)?;
        let fetched: RelayDescriptor = serde_json::from_slice(&response.body)
            .map_err(|e| Error::Protocol(format!("unreadable relay descriptor: {e}")))?;
        // Two first calls at once both fetch; either answer is the relay's.
        Ok(self.descriptor.get_or_init(|| fetched).clone())
    }

    /// Whether the relay serves: `GET /healthz` answered 200, which it does when its store
    /// answers. A relay whose store does not answer is [`Error::Rejected`] with 503.
    pub async fn health(&self) -> Result<(), Error> {
        let response = self.get("/healthz").await?;
        check_response(&response, None, false)?;
        Ok(())
    }

    /// `GET` of `path` on the relay, without headers: the relay's own documents.
    async fn get(&self, path: &str) -> Result<HttpResponse, Error> {
        let request = HttpRequest {
            method: Method::Get,
            url: format!("{}{path}", self.relay_base),
            headers: Vec::new(),
            body: None,
        };
        self.send(request).await
    }

    /// Sends one request of the protocol and returns the relay's answer, whatever its status.
    ///
    /// This is the transport under every flow; it is public for callers that drive the
    /// `tigress_proto` state machines or request builders themselves. A fragment in the request
    /// URL is removed before sending, so a secret can never reach the network. Redirects are not
    /// followed: they would carry the device claim to another place.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.send_allowing(request, Duration::ZERO).await
    }

    /// Sends a request the relay may hold for up to `wait` (a waiting read) on top of the usual
    /// timeout.
    pub(crate) async fn send_allowing(
        &self,
        request: HttpRequest,
        wait: Duration,
    ) -> Result<HttpResponse, Error> {
        let mut url = Url::parse(&request.url)
            .map_err(|e| Error::Protocol(format!("invalid request URL: {e}")))?;
        // Request URLs built by tigress-proto never carry a fragment; this keeps it so.
        url.set_fragment(None);
        check_transport_security(&url)?;

        let method = match request.method {
            Method::Delete => reqwest::Method::DELETE,
            Method::Get => reqwest::Method::GET,
            Method::Patch => reqwest::Method::PATCH,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
        };
        tracing::debug!(method = %method, "sending a request to the relay");
        let mut builder = self.http.request(method, url).timeout(self.timeout + wait);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let mut response = builder.send().await?;

        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get(HEADER_REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let retry_after_seconds = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(retry_after_seconds);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(Error::Protocol(format!(
                    "the answer is larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(status, "the relay answered");
        Ok(HttpResponse { status, request_id, retry_after_seconds, body })
    }
}

/// `Retry-After` as seconds. The relay sends whole seconds; the HTTP-date form, which no relay
/// of ours sends, is ignored rather than guessed at.
fn retry_after_seconds(value: &str) -> Option<u32> {
    value.trim().parse().ok()
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("relay_base", &self.relay_base).finish_non_exhaustive()
    }
}

/// Builds a [`Client`] with non-default settings.
#[must_use]
pub struct ClientBuilder {
    relay_base: String,
    mailbox_segment: String,
    root_certificates: Vec<Vec<u8>>,
    connect_to: Option<SocketAddr>,
    timeout: Duration,
    attestation: Option<Arc<dyn Attester>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("relay_base", &self.relay_base)
            .field("attested", &self.attestation.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Also trusts the certificates in `pem` (one or more PEM blocks), e.g. the CA or the
    /// self-signed certificate of a private relay. The public web PKI roots stay trusted.
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Attests each share this client creates with `key` (a device maker's key, see
    /// [`tigress_attest`]), for relays whose operator requires device attestation.
    pub fn attestation_key(self, key: SigningKey) -> Self {
        self.attester(Arc::new(key))
    }

    /// Attests each share this client creates with `attester`: a key the platform holds and
    /// signs with (see [`tigress_attest::UnsignedToken`]), or any other source of tokens.
    pub fn attester(mut self, attester: Arc<dyn Attester>) -> Self {
        self.attestation = Some(attester);
        self
    }

    /// Creates shares under `/v1/{segment}` instead of `/v1/m`, for a relay whose operator
    /// chose another path (its descriptor's `mailboxPath` names it). Requests about an existing
    /// share follow its URL, whatever the segment.
    pub fn mailbox_segment(mut self, segment: &str) -> Self {
        segment.clone_into(&mut self.mailbox_segment);
        self
    }

    /// Reaches the relay's host at `address` instead of resolving its name, on the port of the
    /// relay URL; its certificate is still checked for the name. For a relay's own health check,
    /// which asks it on loopback.
    pub fn connect_to(mut self, address: SocketAddr) -> Self {
        self.connect_to = Some(address);
        self
    }

    /// Bounds each request, from connecting to the last byte of the answer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the client. Fails if the relay URL is not an `http(s)` URL, if it is plain `http`
    /// to a host other than loopback, or if a certificate is not valid PEM.
    pub fn build(self) -> Result<Client, Error> {
        let base = Url::parse(&self.relay_base)
            .map_err(|e| Error::Config(format!("the relay URL is not a URL: {e}")))?;
        if base.scheme() != "https" && base.scheme() != "http" {
            return Err(Error::Config("the relay URL must use https".into()));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(Error::Config("the relay URL has no host".into()));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::Config("the relay URL must not carry a query or a fragment".into()));
        }
        check_transport_security(&base)?;
        if !is_mailbox_segment(&self.mailbox_segment) {
            return Err(Error::Config(format!(
                "the mailbox path segment must be 1 to {MAX_MAILBOX_SEGMENT_LEN} lowercase \
                 letters, digits, hyphens or underscores"
            )));
        }

        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tigress-client/", env!("CARGO_PKG_VERSION")));
        for pem in &self.root_certificates {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Config(format!("invalid root certificate: {e}")))?;
            if certificates.is_empty() {
                return Err(Error::Config(
                    "the root certificate file holds no PEM certificate".into(),
                ));
            }
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        if let (Some(address), Some(host)) = (self.connect_to, base.host_str()) {
            http = http.resolve(host, address);
        }
        let http =
            http.build().map_err(|e| Error::Config(format!("could not set up HTTPS: {e}")))?;
        Ok(Client {
            http,
            relay_base: base.as_str().trim_end_matches('/').to_owned(),
            mailbox_segment: self.mailbox_segment,
            timeout: self.timeout,
            attestation: self.attestation,
            descriptor: Arc::default(),
        })
    }
}

/// Plain `http` is allowed only to loopback, where nothing crosses a network (§2).
fn check_transport_security(url: &Url) -> Result<(), Error> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::InsecureRelay),
        other => Err(Error::Config(format!("unsupported URL scheme {other:?}"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn plain_http_is_refused_beyond_loopback() {
        assert!(Client::new("http://127.0.0.1:8080").is_ok());
        assert!(Client::new("http://[::1]:8080/").is_ok());
        assert!(Client::new("http://localhost:8080").is_ok());
        assert!(Client::new("https://relay.example").is_ok());
        assert!(matches!(Client::new("http://relay.example"), Err(Error::InsecureRelay)));
        assert!(matches!(Client::new("http://192.0.2.1"), Err(Error::InsecureRelay)));
        assert!(matches!(Client::new("ftp://relay.example"), Err(Error::Config(_))));
        assert!(matches!(Client::new("relay.example"), Err(Error::Config(_))));
    }

    #[test]
    fn the_base_url_loses_its_trailing_slash() {
        let client = Client::new("https://relay.example/").unwrap();
        assert_eq!(client.relay_base(), "https://relay.example");
    }

    #[test]
    fn a_mailbox_segment_is_checked_when_built() {
        let client = Client::builder("https://relay.example").mailbox_segment("mailbox").build();
        assert_eq!(client.unwrap().mailbox_segment(), "mailbox");
        assert_eq!(Client::new("https://relay.example").unwrap().mailbox_segment(), "m");
        for bad in ["", "a/b", "M", "m?x", &"a".repeat(MAX_MAILBOX_SEGMENT_LEN + 1)] {
            let built = Client::builder("https://relay.example").mailbox_segment(bad).build();
            assert!(matches!(built, Err(Error::Config(_))), "{bad:?}");
        }
    }

    #[test]
    fn rejects_a_certificate_that_is_not_pem() {
        let built = Client::builder("https://relay.example")
            .root_certificate_pem(b"not a certificate".to_vec())
            .build();
        assert!(matches!(built, Err(Error::Config(_))));
    }

    /// A one-shot HTTP server that records the raw request it receives.
    async fn capture_one_request() -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut raw = Vec::new();
            let mut buffer = [0u8; 4096];
            while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buffer).await.unwrap();
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buffer[..n]);
            }
            let answer = "HTTP/1.1 200 OK\r\nmailbox-request-id: echo-1\r\ncontent-length: 2\r\n\
                          connection: close\r\n\r\n{}";
            socket.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&raw).into_owned()
        });
        (base, server)
    }

    #[tokio::test]
    async fn never_sends_a_fragment_and_returns_the_echoed_request_id() {
        let (base, server) = capture_one_request().await;
        let client = Client::new(&base).unwrap();
        let request = HttpRequest {
            method: Method::Get,
            url: format!(
                "{base}/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40#c2VjcmV0c2VjcmV0MTIzNA=="
            ),
            headers: vec![("accept", "application/json".to_owned())],
            body: None,
        };
        let response = client.send(request).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.request_id.as_deref(), Some("echo-1"));
        assert_eq!(response.body, b"{}");
        let raw = server.await.unwrap();
        assert!(raw.starts_with("GET /v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40 HTTP/1.1\r\n"));
        assert!(!raw.contains('#'));
        assert!(!raw.contains("c2VjcmV0"));
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let client = Client::builder(&base).timeout(Duration::from_secs(5)).build().unwrap();
        let request = tigress_proto::flow::HttpRequest {
            method: Method::Get,
            url: format!("{base}/healthz"),
            headers: vec![],
            body: None,
        };
        let error = client.send(request).await.unwrap_err();
        assert!(matches!(error, Error::Unreachable(_)), "{error:?}");
    }
}
