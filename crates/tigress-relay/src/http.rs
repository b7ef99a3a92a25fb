//! The HTTP surface: routes, thin handlers, extractors and the middleware every response passes
//! through. Each handler extracts its inputs, makes one store call and maps the result; the
//! rules live in [`crate::mailbox`].

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
// `Instant` only times requests for the log and the metrics, in real time; every rule reads
// `AppState::clock`.
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tigress_proto::share_url::Vertical;
use tigress_proto::wire::{
    CreateMailboxRequest, CreateMailboxResponse, HEADER_DEVICE_ATTESTATION, HEADER_DEVICE_CLAIM,
    HEADER_PREFER, HEADER_PREFERENCE_APPLIED, HEADER_REQUEST_ID, LEGACY_DEVICE_ATTESTATION_HEADERS,
    LEGACY_DEVICE_CLAIM_HEADERS, NotificationToken, Party, PreviewResponse, ReadMailboxRequest,
    ReadMailboxResponse, UpdateMailboxRequest, UpdateMailboxResponse,
};
use tigress_proto::{DeviceClaim, MailboxId, RequestId, expiration};

use crate::clock::Clock;
use crate::config::{AttestationPolicy, Limits, MailboxSegment};
use crate::error::ApiError;
use crate::mailbox::{Caller, ClaimHash, ClaimKey, Denial, RequestHash};
use crate::metrics::{Metrics, Operation, PushProvider};
use crate::rate_limit::{ClientKey, ClientLimits, TenantKey};
use crate::routes;
use crate::store::{MailboxStore, NewMailbox, Outcome, ReadView, StoreError};
use crate::token_seal::{self, TokenSeal};
use crate::waiters::Waiters;
use crate::waiting_read::WaitingRead;
use tigress_attest::{AttestationError, Binding};
use tigress_push::{Delivery, Pusher};
use tigress_rules::body::{self, ValidCreate};

/// What every handler shares: one allocation, so that handing it to a handler (axum clones the
/// state for each middleware and handler of every request) costs one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    /// The mailbox store.
    pub store: Arc<dyn MailboxStore>,
    /// Settings fixed at start-up.
    pub settings: Arc<Settings>,
    /// Readers waiting for a mailbox to change.
    pub waiters: Arc<Waiters>,
    /// Push providers, to wake the other party after an update.
    pub pusher: Pusher,
    /// The relay's metrics, recorded whether or not a metrics listener serves them.
    pub metrics: Arc<Metrics>,
    /// The only source of the time for handlers, waits and rate limits.
    pub clock: Clock,
}

/// Settings the handlers read.
pub struct Settings {
    /// Public base URL, without a trailing slash, e.g. `https://relay.example`.
    pub public_url: String,
    /// The mailboxes' path segment, `/v1/{segment}/{id}`.
    pub mailbox_segment: MailboxSegment,
    /// Request and field limits.
    pub limits: Limits,
    /// The OpenAPI document, rendered once.
    pub openapi_json: String,
    /// The relay descriptor, rendered once.
    pub descriptor_json: String,
    /// The app link files, rendered once; `None` where no app is configured (404).
    pub apple_app_site_association: Option<String>,
    pub asset_links: Option<String>,
    /// The app the preview page names, with its store pages.
    pub app_offer: tigress_preview::AppOffer,
    /// Per-client rate limits, in memory only.
    pub clients: ClientLimits,
    /// What a create must prove about the sender's device.
    pub attestation: AttestationPolicy,
    /// The key of claim digests, when the relay has one (docs/SECURITY.md).
    pub claim_key: Option<ClaimKey>,
    /// The seal of push tokens at rest, from the same key ([`TokenSeal::new`]).
    pub token_seal: Option<TokenSeal>,
    /// The event endpoints a create may name.
    pub events: Arc<tigress_webhooks::EventsConfig>,
}

impl Settings {
    fn url_link(&self, id: MailboxId) -> String {
        format!("{}/v1/{}/{id}", self.public_url, self.mailbox_segment)
    }
}

impl AppState {
    /// `isPushNotificationSupported`: the relay can push to this token type.
    fn push_supported(&self, token_type: Option<&str>) -> bool {
        token_type.is_some_and(|t| self.pusher.supports(t))
    }

    /// The push token a request registers, as the store keeps it: counted against its client
    /// (each token names where the relay will send pushes) and sealed when the relay has a key.
    /// Past the client's limit the token is left out and the request goes on without it: a
    /// limit shared by everyone behind one address must never refuse a party its own mailbox
    /// (a receiver's first read carries its token). The party learns it from
    /// `isPushNotificationSupported`, or by waiting reads.
    fn stored_token(
        &self,
        client: ClientKey,
        token: Option<NotificationToken>,
    ) -> Option<NotificationToken> {
        let token = token?;
        let registrations = &self.settings.clients.token_registrations;
        if registrations.take(client, self.clock.instant()).is_err() {
            tracing::debug!("a push registration past its client's limit was left out");
            return None;
        }
        Some(token_seal::stored_form(self.settings.token_seal.as_ref(), token))
    }

    /// A read of `id` after the cursor `after`, waiting up to `wait` for news when set (see
    /// [`WaitingRead`]). A read that bound a receiver is announced at once.
    async fn read(
        &self,
        id: MailboxId,
        caller: Caller,
        token: Option<NotificationToken>,
        after: u64,
        wait: Option<Duration>,
    ) -> Result<ReadView, StoreError> {
        let Some(wait) = wait else {
            return self.read_once(id, caller, token, after).await;
        };
        let _waiting = self.metrics.waiting_read();
        let read = WaitingRead { waiters: &self.waiters, clock: &self.clock, id };
        read.run(wait, token, |token| self.read_once(id, caller, token, after)).await
    }

    /// One read, announced when it bound a receiver (see [`committed`]).
    async fn read_once(
        &self,
        id: MailboxId,
        caller: Caller,
        token: Option<NotificationToken>,
        after: u64,
    ) -> Result<ReadView, StoreError> {
        // Most reads are a party reading again: nothing to announce, so no task to outlive
        // the request.
        if token.is_none() {
            let now = self.clock.unix_now();
            if let Some(view) = self.store.read_unchanged(id, caller, after, now).await? {
                return Ok(view);
            }
        }
        let state = self.clone();
        committed(async move {
            let view = state.store.read(id, caller, token, after, state.clock.unix_now()).await?;
            state.announce_bind(id, &view);
            Ok(view)
        })
        .await
    }

    /// After a read that bound a receiver: wakes the sender's waiting reads and pushes to the
    /// sender, so it learns at once that its share was opened.
    fn announce_bind(&self, id: MailboxId, view: &ReadView) {
        if view.just_bound {
            self.waiters.wake(id);
            self.wake_peer(id, view.sender_token.clone().map(|token| (Party::Sender, token)));
        }
    }

    /// Wakes the other party after an update, in the background: the update's answer never
    /// waits for, or fails with, a push. A token the provider calls gone is dropped (compared
    /// as stored, sealed or not).
    fn wake_peer(&self, id: MailboxId, peer: Option<(Party, NotificationToken)>) {
        let Some((role, token)) = peer else {
            return;
        };
        let Some(opened) = token_seal::open_stored(self.settings.token_seal.as_ref(), &token)
        else {
            tracing::warn!("a stored push registration does not open under this relay's key");
            return;
        };
        let delivery =
            self.pusher.notify_with_topic(&token.kind, &opened.token_data, opened.topic.as_deref());
        let provider = PushProvider::of(&token.kind);
        let (store, metrics) = (Arc::clone(&self.store), Arc::clone(&self.metrics));
        let clock = self.clock.clone();
        tokio::spawn(async move {
            let delivery = delivery.await;
            metrics.push(provider, &delivery);
            if let Ok(Delivery::Gone) = delivery {
                let now = clock.unix_now();
                if let Err(e) = store.forget_token(id, role, token.token_data, now).await {
                    tracing::debug!(error = %e, "could not drop a push token the provider called gone");
                }
            }
        });
    }
}

/// Builds the relay's router.
pub fn app(state: AppState) -> Router {
    let body_limit = state.settings.limits.max_body_bytes;
    let segment = state.settings.mailbox_segment.as_str();
    Router::new()
        .route(&routes::create(segment), post(create_mailbox))
        .route(
            &routes::mailbox(segment),
            get(read_display_information)
                .post(read_secure_content)
                .put(update_mailbox)
                .delete(delete_mailbox)
                .patch(relinquish_mailbox),
        )
        .route(routes::HEALTHZ, get(healthz))
        .route(routes::OPENAPI, get(openapi_json))
        .route(routes::DESCRIPTOR, get(relay_descriptor))
        .route(
            routes::APPLE_APP_SITE_ASSOCIATION,
            get(|State(state): State<AppState>| async move {
                app_link_file(state.settings.apple_app_site_association.clone())
            }),
        )
        .route(
            routes::ASSET_LINKS,
            get(|State(state): State<AppState>| async move {
                app_link_file(state.settings.asset_links.clone())
            }),
        )
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), envelope))
        .with_state(state)
}

/// [`tigress_preview::SECURITY_HEADERS`], parsed once rather than on every response.
static SECURITY_HEADERS: LazyLock<
    [(HeaderName, HeaderValue); tigress_preview::SECURITY_HEADERS.len()],
> = LazyLock::new(|| {
    tigress_preview::SECURITY_HEADERS
        .map(|(name, value)| (HeaderName::from_static(name), HeaderValue::from_static(value)))
});

/// Wraps every request: a time limit, the echoed `Mailbox-Request-ID` (§3: on every response,
/// errors included), the security headers, the metrics (by operation and status, and the
/// latency, 408s included), and one log line. The operation and the log name the route
/// template and the method, never the path itself (it holds the mailbox id) nor the client's
/// address. One middleware rather than two: each layer costs a boxed future per request.
async fn envelope(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // A shared string: cloning it copies nothing.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let request_id = request.headers().get(HEADER_REQUEST_ID).cloned();
    let waits = request.headers().contains_key(HEADER_PREFER);
    let operation = Operation::of(&method, route.as_ref().map(MatchedPath::as_str), waits);

    // A waiting read may legitimately take as long as its wait, on top of the usual time.
    let limits = &state.settings.limits;
    let timeout = limits.request_timeout + if waits { limits.max_wait } else { Duration::ZERO };
    let mut response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    };

    let headers = response.headers_mut();
    // Room for them all at once, rather than the map growing while they go in.
    headers.reserve(SECURITY_HEADERS.len() + 1);
    if let Some(id) = request_id {
        headers.insert(HeaderName::from_static(HEADER_REQUEST_ID), id);
    }
    for (name, value) in SECURITY_HEADERS.iter() {
        headers.insert(name.clone(), value.clone());
    }
    state.metrics.request(operation, response.status(), started.elapsed());
    tracing::info!(
        %method,
        route = route.as_ref().map_or("unmatched", MatchedPath::as_str),
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// The claim header as sent: canonical name first, then the legacy aliases (§3).
enum Claim {
    Missing,
    Invalid,
    Present(DeviceClaim),
}

impl Claim {
    /// The claim as sent, when it is one.
    fn device_claim(&self) -> Option<&DeviceClaim> {
        match self {
            Self::Present(claim) => Some(claim),
            Self::Missing | Self::Invalid => None,
        }
    }

    /// For Create and Update, where a missing claim is 400. The caller's digests are made
    /// with the relay's `key`, when it has one.
    fn required_400(self, key: Option<&ClaimKey>) -> Result<Caller, ApiError> {
        self.required(true, key)
    }

    /// For Read, Delete and Relinquish, where a missing claim is 401.
    fn required_401(self, key: Option<&ClaimKey>) -> Result<Caller, ApiError> {
        self.required(false, key)
    }

    fn required(self, bad_request: bool, key: Option<&ClaimKey>) -> Result<Caller, ApiError> {
        match self {
            Self::Missing => Err(ApiError::MissingClaim { bad_request }),
            Self::Invalid => Err(ApiError::ClaimInvalid),
            Self::Present(claim) => Ok(Caller::of(&claim, key)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Claim {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let names = std::iter::once(HEADER_DEVICE_CLAIM).chain(LEGACY_DEVICE_CLAIM_HEADERS);
        for name in names {
            match single_header(&parts.headers, name) {
                Single::Absent => continue,
                Single::Many => return Ok(Self::Invalid),
                Single::One(value) => {
                    let parsed = value.to_str().ok().and_then(|v| v.parse().ok());
                    return Ok(parsed.map_or(Self::Invalid, Self::Present));
                }
            }
        }
        Ok(Self::Missing)
    }
}

/// Who is asking, for the rate limits only: a keyed digest of the client's address (see
/// [`crate::rate_limit`]); never logged, never stored.
struct Client(ClientKey);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        Ok(Self(state.settings.clients.client(&parts.headers, peer)))
    }
}

/// The `Mailbox-Device-Attestation` token (or a legacy spelling; the canonical one wins).
fn attestation_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let names = std::iter::once(HEADER_DEVICE_ATTESTATION).chain(LEGACY_DEVICE_ATTESTATION_HEADERS);
    for name in names {
        match single_header(headers, name) {
            Single::Absent => continue,
            Single::Many => return Err(ApiError::Attestation(AttestationError::Malformed)),
            Single::One(value) => {
                return value
                    .to_str()
                    .map_err(|_| ApiError::Attestation(AttestationError::Malformed));
            }
        }
    }
    Err(ApiError::Attestation(AttestationError::Missing))
}

/// A read's `Prefer: wait=N` (RFC 7240), capped by the relay; read where the headers are,
/// since a copy of them all would cost more than the rest of a read's extractors together.
struct WaitPreference(Option<Duration>);

impl FromRequestParts<AppState> for WaitPreference {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let prefer = parts.headers.get_all(HEADER_PREFER).iter().filter_map(|v| v.to_str().ok());
        Ok(Self(body::wait_preference(prefer, state.settings.limits.max_wait)))
    }
}

/// A create's headers, for its attestation: copied only when the relay verifies attestations,
/// the one use a create has for headers beyond its extractors.
struct AttestationHeaders(Option<HeaderMap>);

impl FromRequestParts<AppState> for AttestationHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let verifies = matches!(state.settings.attestation, AttestationPolicy::Verify(_));
        Ok(Self(verifies.then(|| parts.headers.clone())))
    }
}

/// The `Mailbox-Request-ID`, if sent. A malformed one is 400.
struct RequestKey(Option<RequestHash>);

impl<S: Send + Sync> FromRequestParts<S> for RequestKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let invalid = || ApiError::Invalid {
            code: "invalid_request_id",
            message: format!(
                "Mailbox-Request-ID must be one value of 1 to {} visible ASCII characters",
                RequestId::MAX_LEN
            ),
        };
        match single_header(&parts.headers, HEADER_REQUEST_ID) {
            Single::Absent => Ok(Self(None)),
            Single::Many => Err(invalid()),
            Single::One(value) => {
                let id: RequestId =
                    value.to_str().ok().and_then(|v| v.parse().ok()).ok_or_else(invalid)?;
                Ok(Self(Some(RequestHash::of(&id))))
            }
        }
    }
}

enum Single<'a> {
    Absent,
    Many,
    One(&'a HeaderValue),
}

fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Single<'a> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Single::Absent,
        (Some(value), None) => Single::One(value),
        (Some(_), Some(_)) => Single::Many,
    }
}

/// The `{id}` path segment. Anything that is not a mailbox id is simply not found.
struct MailboxPath(MailboxId);

impl<S: Send + Sync> FromRequestParts<S> for MailboxPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        raw.parse().map(Self).map_err(|_| ApiError::NotFound)
    }
}

/// The body's bytes, answering 413 beyond the limit; parsing is [`tigress_rules::body`]'s.
fn body_bytes(body: Result<Bytes, BytesRejection>, limits: &Limits) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge { limit: limits.max_body_bytes },
        _ => ApiError::Invalid {
            code: "malformed_body",
            message: "the request body could not be read".into(),
        },
    })
}

/// Runs a store call and what must follow its commit (waking waiting reads, pushing to the peer)
/// on a task of its own, and waits for it. A client that resets its connection drops the
/// handler; the task runs on, so a bind or a message the store committed is always announced.
async fn committed<T: Send + 'static>(
    work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime that is shutting down cancels the task.
        Err(_) => Err(StoreError::Unavailable),
    }
}

fn status_of(outcome: Outcome) -> StatusCode {
    match outcome {
        Outcome::Done => StatusCode::OK,
        Outcome::Replayed => StatusCode::CREATED,
    }
}

/// CreateMailbox (§6.1).
#[utoipa::path(
    post, path = "/v1/m", tag = "mailbox",
    params(
        ("Mailbox-Device-Claim" = String, Header, format = Uuid, description = "The sender's claim; legacy aliases deviceClaim and Device-Claim are accepted."),
        ("Mailbox-Request-ID" = Option<String>, Header, description = "De-duplicates retries; echoed on every response.", min_length = 1, max_length = 128, pattern = "^[!-~]+$"),
        ("Mailbox-Device-Attestation" = Option<String>, Header, description = "Ignored unless the operator requires attestation: then a compact JWS (ES256 or EdDSA) from a trusted device maker, bound to this request (see docs/API.md)."),
    ),
    request_body = CreateMailboxRequest,
    responses(
        (status = 200, description = "Created", body = CreateMailboxResponse),
        (status = 201, description = "A repeat of the claim's last request id: the original answer, nothing created", body = CreateMailboxResponse),
        (status = 400, description = "Malformed body, invalid field, or missing claim", body = tigress_proto::wire::ErrorBody),
        (status = 401, description = "Claim not a UUID; or, where the operator requires device attestation, Mailbox-Device-Attestation missing or refused (attestation_required, attestation_malformed, attestation_untrusted, attestation_stale, attestation_unbound, attestation_no_user_presence, attestation_replayed: the token was already used for another create)", body = tigress_proto::wire::ErrorBody),
        (status = 413, description = "Body too large", body = tigress_proto::wire::ErrorBody),
        (status = 429, description = "This client, or where the operator sets a tenant quota the device maker whose key attested the create, created too many mailboxes this minute (rate_limited)", body = tigress_proto::wire::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a create is allowed again"))),
        (status = 503, description = "The relay holds as many mailboxes as it may (relay_full), or the store does not answer (unavailable)", body = tigress_proto::wire::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
async fn create_mailbox(
    State(state): State<AppState>,
    Client(client): Client,
    claim: Claim,
    RequestKey(request): RequestKey,
    AttestationHeaders(headers): AttestationHeaders,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CreateMailboxResponse>), ApiError> {
    let (settings, now) = (&state.settings, state.clock.unix_now());
    settings
        .clients
        .creates
        .take(client, state.clock.instant())
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    let attested = check_attestation(settings, &claim, headers.as_ref(), &body, now)?;
    let sender = claim.required_400(settings.claim_key.as_ref())?.hash;
    let body = body_bytes(body, &settings.limits)?;
    let create = body::create_request(&body, now, &settings.limits)?;
    if let Some(attested) = attested {
        state.remember_attestation(attested, request, now).await?;
    }
    let mut mailbox = new_mailbox(create, sender, &settings.events)?;
    mailbox.sender_token = state.stored_token(client, mailbox.sender_token);
    let created = state.store.create(mailbox, request, now).await?;
    let response = CreateMailboxResponse {
        url_link: settings.url_link(created.id),
        is_push_notification_supported: state.push_supported(created.token_type.as_deref()),
    };
    Ok((status_of(created.outcome), Json(response)))
}

/// Where the operator requires it, the sender's device attestation: a token from a trusted
/// device maker, bound to this relay, this claim, this request id and this very body. A request
/// without a claim or whose body could not be read fails later, on that. What it answers, the
/// caller remembers ([`AppState::remember_attestation`]) once the request is otherwise good.
fn check_attestation(
    settings: &Settings,
    claim: &Claim,
    headers: Option<&HeaderMap>,
    body: &Result<Bytes, BytesRejection>,
    now: i64,
) -> Result<Option<Attested>, ApiError> {
    let (AttestationPolicy::Verify(keys), Some(headers), Some(device), Ok(bytes)) =
        (&settings.attestation, headers, claim.device_claim(), body)
    else {
        return Ok(None);
    };
    let token = attestation_token(headers)?;
    let claim_text = device.to_header_value();
    // The id as sent, for the binding only (the store sees its digest); [`RequestKey`] has
    // already refused a malformed one, or several.
    let request_id = headers.get(HEADER_REQUEST_ID).and_then(|v| v.to_str().ok());
    let path = routes::create(settings.mailbox_segment.as_str());
    let binding = Binding {
        audience: &settings.public_url,
        path: &path,
        claim: &claim_text,
        body: bytes,
        request_id,
    };
    let verified = keys.verify(token, &binding, now).map_err(ApiError::Attestation)?;
    Ok(Some(Attested {
        digest: tigress_attest::token_digest(token),
        tenant: TenantKey(verified.key_id.to_owned()),
        // Remembered past its freshness by the clock skew a token is allowed, so that a relay
        // (or a Redis node) whose clock runs ahead of another's cannot forget it early.
        until: verified.fresh_until.saturating_add(tigress_attest::MAX_CLOCK_SKEW_SECONDS + 1),
    }))
}

/// A create's accepted attestation: what the relay remembers of it, and whose it is.
struct Attested {
    /// [`tigress_attest::token_digest`] of the token; the token itself is never kept.
    digest: [u8; 32],
    /// The trusted key that verified it.
    tenant: TenantKey,
    /// Unix seconds until which the token is remembered.
    until: i64,
}

impl AppState {
    /// Records an accepted attestation in the store (so across every relay sharing it), then
    /// counts the create against its tenant. A token already accepted for another create is
    /// 401 `attestation_replayed`; a repeat of the same request id passes, and the store answers
    /// it as the replay it is. A replayed token is refused before it counts, so a captured token
    /// cannot spend its fleet's quota; a create refused for the quota may be retried with the
    /// same token and request id while the token is fresh.
    async fn remember_attestation(
        &self,
        attested: Attested,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<(), ApiError> {
        let Attested { digest, tenant, until } = attested;
        if !self.store.remember_attestation(digest, request, until, now).await? {
            return Err(ApiError::Attestation(AttestationError::Replayed));
        }
        self.settings
            .clients
            .tenant_creates
            .take(tenant, self.clock.instant())
            .map_err(|retry_after| ApiError::RateLimited { retry_after })
    }
}

/// The mailbox to store for a checked create request, with a fresh random id; a named event
/// endpoint must be one of the relay's.
fn new_mailbox(
    create: ValidCreate,
    sender: ClaimHash,
    events: &tigress_webhooks::EventsConfig,
) -> Result<NewMailbox, ApiError> {
    let events = match &create.event_endpoint {
        Some(name) => {
            let endpoint =
                events.endpoint(name).ok_or(tigress_rules::mailbox::Invalid::EventEndpoint)?;
            Some(endpoint.name.clone())
        }
        None => None,
    };
    Ok(NewMailbox {
        id: MailboxId::random(&mut rand::rngs::OsRng),
        sender,
        payload: create.payload,
        display: create.display,
        rights: create.rights,
        max_receivers: create.max_receivers,
        expires_at: create.expires_at,
        sender_token: create.sender_token,
        events,
    })
}

/// ReadDisplayInformationFromMailbox (§6.4): the preview page, or JSON when asked for.
#[utoipa::path(
    get, path = "/v1/m/{id}", tag = "mailbox",
    params(
        ("id" = String, Path, format = Uuid, description = "Mailbox id"),
        ("v" = Option<String>, Query, description = "The share link's kind of key (c car, h home, a access), named on the page"),
        ("Accept-Language" = Option<String>, Header, description = "The page's language: en, de, fr, es, ja or zh-Hans, else en"),
    ),
    responses(
        (status = 200, description = "The preview: HTML by default (in the language of Accept-Language, named by Content-Language), JSON with Accept: application/json. Binds nothing.",
            content((String = "text/html"), (PreviewResponse = "application/json"))),
        (status = 404, description = "No such mailbox, or expired", body = tigress_proto::wire::ErrorBody),
    )
)]
async fn read_display_information(
    State(state): State<AppState>,
    MailboxPath(id): MailboxPath,
    // The request itself rather than `Uri` and `HeaderMap` extractors, which copy them.
    request: Request,
) -> Result<Response, ApiError> {
    let (uri, headers) = (request.uri(), request.headers());
    let now = state.clock.unix_now();
    let view = state.store.preview(id, now).await?;
    let mut response = if wants_json(headers) {
        let (display_information, display_information_url) = view.display.into_members();
        Json(PreviewResponse {
            display_information,
            display_information_url,
            expiration: expiration::format(view.expires_at),
        })
        .into_response()
    } else {
        let url = state.settings.url_link(id);
        let preview = tigress_preview::Preview {
            display: &view.display,
            share_url: &url,
            vertical: vertical_of(uri.query()),
            expires_at: view.expires_at,
            now,
            app: &state.settings.app_offer,
        };
        let language = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let page = tigress_preview::render(&preview, language);
        let mut response = Html(page.html).into_response();
        let language = HeaderValue::from_static(page.language);
        response.headers_mut().insert(header::CONTENT_LANGUAGE, language);
        response
    };
    let vary = HeaderValue::from_static("accept, accept-language");
    response.headers_mut().insert(header::VARY, vary);
    Ok(response)
}

/// The kind of key of a share link's `?v=` (docs/API.md, "The preview page"); `None` when the
/// query has no `v`. Only the first `v` counts; a value other than `c` or `h` is general access.
fn vertical_of(query: Option<&str>) -> Option<Vertical> {
    let value = query?.split('&').find_map(|pair| pair.strip_prefix("v="))?;
    Some(Vertical::from_code(value))
}

/// JSON only when the client asks for it and does not also accept HTML: link-preview bots and
/// browsers keep getting the page.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok());
    let (mut json, mut html) = (false, false);
    for value in accept {
        json |= value.contains("application/json");
        html |= value.contains("text/html");
    }
    json && !html
}

/// ReadSecureContentFromMailbox (§6.3). A fresh claim binds as receiver when none is bound.
/// With `Prefer: wait=N` (extension) it answers as soon as the peer has written a message after
/// the caller's cursor, or after N seconds with no new message.
#[utoipa::path(
    post, path = "/v1/m/{id}", tag = "mailbox",
    params(
        ("id" = String, Path, format = Uuid, description = "Mailbox id"),
        ("Mailbox-Device-Claim" = String, Header, format = Uuid, description = "The caller's claim"),
        ("Mailbox-Request-ID" = Option<String>, Header, description = "Echoed"),
        ("Prefer" = Option<String>, Header, description = "`wait=N` (RFC 7240): wait up to N seconds (capped by the relay) for a message from the peer after the cursor"),
    ),
    request_body(content = Option<ReadMailboxRequest>, description = "Optional: the caller's push token and cursor"),
    responses(
        (status = 200, description = "The current payload and the messages after the cursor", body = ReadMailboxResponse,
            headers(("Preference-Applied" = String, description = "`wait=N` when the wait was honoured"))),
        (status = 400, description = "Malformed body", body = tigress_proto::wire::ErrorBody),
        (status = 401, description = "Missing, invalid or rejected claim; or another device already claimed the mailbox", body = tigress_proto::wire::ErrorBody),
        (status = 404, description = "No such mailbox, or expired, or deleted (also ends a wait)", body = tigress_proto::wire::ErrorBody),
        (status = 413, description = "Body too large", body = tigress_proto::wire::ErrorBody),
        (status = 429, description = "This client had too many claims refused on mailboxes other devices hold (rate_limited)", body = tigress_proto::wire::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until reads are allowed again"))),
    )
)]
async fn read_secure_content(
    State(state): State<AppState>,
    MailboxPath(id): MailboxPath,
    Client(client): Client,
    claim: Claim,
    WaitPreference(wait): WaitPreference,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = claim.required_401(state.settings.claim_key.as_ref())?;
    let limits = &state.settings.limits;
    let body = body::read_request(&body_bytes(body, limits)?, limits)?;
    let token = state.stored_token(client, body.notification_token);
    let read = state.read(id, caller, token, body.after.unwrap_or(0), wait);
    match read.await {
        Ok(view) => read_response(view, wait),
        Err(e) => Err(state.refused_read(client, id, e).await),
    }
}

impl AppState {
    /// The answer to a read the store refused. Only a refused claim counts against the limits,
    /// and only it is ever answered 429: the limits can never lock a party out of its own
    /// mailbox (see crate::rate_limit). A refused claim within the limits is an event for the
    /// mailbox's endpoint, if it has one (docs/EVENTS.md).
    async fn refused_read(&self, client: ClientKey, id: MailboxId, e: StoreError) -> ApiError {
        if !matches!(e, StoreError::Conflict(Denial::AlreadyClaimed | Denial::NoReceiversLeft)) {
            return ApiError::from(e);
        }
        if let Err(retry_after) =
            self.settings.clients.refused_claim(client, &id, self.clock.instant())
        {
            return ApiError::RateLimited { retry_after };
        }
        // Without endpoints no mailbox of this relay has one: no write for nothing.
        if !self.settings.events.endpoints.is_empty() {
            let recorded = self.store.record_refused_claim(id, self.clock.unix_now()).await;
            if let Err(recording) = recorded {
                tracing::warn!(error = %recording, "could not record the event of a refused read");
            }
        }
        ApiError::from(e)
    }
}

/// The answer to a read; with `Preference-Applied` when it waited.
fn read_response(view: ReadView, wait: Option<Duration>) -> Result<Response, ApiError> {
    let (display_information, display_information_url) = view.display.into_members();
    let mut response = Json(ReadMailboxResponse {
        payload: view.payload,
        display_information,
        display_information_url,
        expiration: expiration::format(view.expires_at),
        messages: view.messages,
        last_seq: Some(view.last_seq),
        role: Some(view.role),
        receiver_bound: Some(view.receiver_bound),
    })
    .into_response();
    if let Some(wait) = wait {
        let applied = HeaderValue::from_str(&format!("wait={}", wait.as_secs()))
            .map_err(|_| ApiError::Internal)?;
        response.headers_mut().insert(HeaderName::from_static(HEADER_PREFERENCE_APPLIED), applied);
    }
    Ok(response)
}

/// UpdateMailbox (§6.2).
#[utoipa::path(
    put, path = "/v1/m/{id}", tag = "mailbox",
    params(
        ("id" = String, Path, format = Uuid, description = "Mailbox id"),
        ("Mailbox-Device-Claim" = String, Header, format = Uuid, description = "The caller's claim"),
        ("Mailbox-Request-ID" = Option<String>, Header, description = "De-duplicates retries; echoed", min_length = 1, max_length = 128, pattern = "^[!-~]+$"),
    ),
    request_body = UpdateMailboxRequest,
    responses(
        (status = 200, description = "Message appended to the log; it is also the payload slot", body = UpdateMailboxResponse),
        (status = 201, description = "A repeat of the claim's last request id: nothing done again", body = UpdateMailboxResponse),
        (status = 400, description = "Malformed body, invalid field, or missing claim", body = tigress_proto::wire::ErrorBody),
        (status = 401, description = "Claim invalid, not a party, or lacking W", body = tigress_proto::wire::ErrorBody),
        (status = 404, description = "No such mailbox, or expired", body = tigress_proto::wire::ErrorBody),
        (status = 409, description = "The message log is full (mailbox_full)", body = tigress_proto::wire::ErrorBody),
        (status = 413, description = "Body too large", body = tigress_proto::wire::ErrorBody),
    )
)]
async fn update_mailbox(
    State(state): State<AppState>,
    MailboxPath(id): MailboxPath,
    Client(client): Client,
    claim: Claim,
    RequestKey(request): RequestKey,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<UpdateMailboxResponse>), ApiError> {
    let caller = claim.required_400(state.settings.claim_key.as_ref())?;
    let limits = &state.settings.limits;
    let body = body::update_request(&body_bytes(body, limits)?, limits)?;
    let token = state.stored_token(client, body.notification_token);
    let updated = committed({
        let state = state.clone();
        async move {
            let now = state.clock.unix_now();
            let payload = body.payload;
            let updated = state.store.update(id, caller, payload, token, request, now).await?;
            if updated.outcome == Outcome::Done {
                state.waiters.wake(id);
                state.wake_peer(id, updated.peer_token.clone());
            }
            Ok(updated)
        }
    })
    .await?;
    let supported = state.push_supported(updated.token_type.as_deref());
    let response = UpdateMailboxResponse { is_push_notification_supported: supported };
    Ok((status_of(updated.outcome), Json(response)))
}

/// DeleteMailbox (§6.5). Never de-duplicated: a repeat is 404.
#[utoipa::path(
    delete, path = "/v1/m/{id}", tag = "mailbox",
    params(
        ("id" = String, Path, format = Uuid, description = "Mailbox id"),
        ("Mailbox-Device-Claim" = String, Header, format = Uuid, description = "The caller's claim"),
        ("Mailbox-Request-ID" = Option<String>, Header, description = "Echoed"),
    ),
    responses(
        (status = 200, description = "Deleted and erased"),
        (status = 401, description = "Missing, invalid or rejected claim, or receiver lacking D", body = tigress_proto::wire::ErrorBody),
        (status = 404, description = "No such mailbox, or expired", body = tigress_proto::wire::ErrorBody),
    )
)]
async fn delete_mailbox(
    State(state): State<AppState>,
    MailboxPath(id): MailboxPath,
    claim: Claim,
) -> Result<StatusCode, ApiError> {
    let caller = claim.required_401(state.settings.claim_key.as_ref())?;
    committed(async move {
        state.store.delete(id, caller, state.clock.unix_now()).await?;
        // Ends every wait on the mailbox at once: each re-reads and finds it gone.
        state.waiters.wake(id);
        Ok(())
    })
    .await?;
    Ok(StatusCode::OK)
}

/// RelinquishMailbox (§6.6): the bound receiver lets go; the next fresh reader binds.
#[utoipa::path(
    patch, path = "/v1/m/{id}", tag = "mailbox",
    params(
        ("id" = String, Path, format = Uuid, description = "Mailbox id"),
        ("Mailbox-Device-Claim" = String, Header, format = Uuid, description = "The bound receiver's claim"),
        ("Mailbox-Request-ID" = Option<String>, Header, description = "De-duplicates retries; echoed", min_length = 1, max_length = 128, pattern = "^[!-~]+$"),
    ),
    responses(
        (status = 200, description = "Unbound"),
        (status = 201, description = "A repeat of the claim's last request id: nothing done again"),
        (status = 400, description = "Malformed request id", body = tigress_proto::wire::ErrorBody),
        (status = 401, description = "Not the bound receiver", body = tigress_proto::wire::ErrorBody),
        (status = 404, description = "No such mailbox, or expired", body = tigress_proto::wire::ErrorBody),
    )
)]
async fn relinquish_mailbox(
    State(state): State<AppState>,
    MailboxPath(id): MailboxPath,
    claim: Claim,
    RequestKey(request): RequestKey,
) -> Result<StatusCode, ApiError> {
    let caller = claim.required_401(state.settings.claim_key.as_ref())?;
    let outcome = committed(async move {
        let outcome = state.store.relinquish(id, caller, request, state.clock.unix_now()).await?;
        if outcome == Outcome::Done {
            // A sender waiting on its share learns that the receiver let it go.
            state.waiters.wake(id);
        }
        Ok(outcome)
    })
    .await?;
    Ok(status_of(outcome))
}

/// Liveness and store health.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "The relay can serve every mailbox: its store answers (on a Redis Cluster, every slot's master)", body = String, content_type = "text/plain"),
        (status = 503, description = "The store, or some part of it, does not answer", body = tigress_proto::wire::ErrorBody),
    )
)]
async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ok\n")
}

/// An app link file: JSON, never a redirect (neither platform follows one), 404 when the
/// operator configured no app for it.
fn app_link_file(file: Option<String>) -> Response {
    match file {
        Some(file) => ([(header::CONTENT_TYPE, "application/json")], file).into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

/// The relay descriptor (an extension): what this relay serves and allows.
#[utoipa::path(
    get, path = "/.well-known/tigress-relay", tag = "operations",
    responses((status = 200, description = "What this relay serves and allows: API versions, the mailbox path, extensions, limits, the push token types it delivers to, whether attestation is required", body = tigress_proto::wire::RelayDescriptor))
)]
async fn relay_descriptor(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], state.settings.descriptor_json.clone())
        .into_response()
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object))
)]
async fn openapi_json(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], state.settings.openapi_json.clone())
        .into_response()
}

/// The OpenAPI document, generated from the handlers' annotations and the wire types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tigress relay",
        description = "Secure Credential Transfer relay, v1 API. Mailboxes hold ciphertext only. The GET preview answers JSON when asked with Accept: application/json (an extension).",
    ),
    paths(create_mailbox, read_display_information, read_secure_content, update_mailbox, delete_mailbox, relinquish_mailbox, healthz, openapi_json, relay_descriptor),
    tags((name = "mailbox", description = "The six v1 operations"), (name = "operations", description = "For operators"))
)]
pub struct ApiDoc;
