//! The relay's Prometheus metrics, served in the OpenMetrics text format on a listener of their
//! own (`--metrics-listen`, off by default).
//!
//! Operators need to see load, errors, latency and the store's health without reading logs. The
//! metrics sit on their own listener, not on the public one: they are for the operator, so they
//! can be bound to a private interface, stay out of the API and its OpenAPI document, and cost a
//! public client nothing to find.
//!
//! # What a metric never holds
//!
//! Every label value comes from a fixed enum of this module ([`Operation`], [`PushProvider`],
//! [`PushOutcome`], [`EventOutcome`]), is an HTTP status code, or is the name of an event
//! endpoint the operator configured. No label identifies a mailbox, claim, token,
//! request id or client: an operation is derived from the route *template* and the method, never
//! from the path (which holds the mailbox id), and a push provider from the token type only when
//! it is one of the three known ones.
//!
//! # Cost
//!
//! One [`Metrics`] is built at start-up, owns its [`Registry`] (no global registry), and is
//! shared by `Arc`. Recording is an atomic increment or a histogram observation behind the read
//! lock of a label family; the label sets are small `Copy` values, so a request allocates
//! nothing once its series exists. The series of every operation are created up front, so they
//! appear (at zero) from the first scrape.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, http::HeaderValue};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tigress_push::Delivery;

use crate::config::StoreConfig;
use crate::routes;

/// The content type of a scrape: OpenMetrics text 1.0.0.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The path the metrics listener serves them on.
pub const PATH: &str = "/metrics";

/// The relay's metric families and the registry that exposes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    /// The latency histogram of each operation, resolved up front (indexed by `Operation as
    /// usize`): recording skips the family's lookup.
    request_durations: [Histogram; Operation::ALL.len()],
    waiting_reads: Gauge,
    pushes: Family<PushLabels, Counter>,
    mailboxes: Gauge,
    connections_refused: Counter,
    events: Family<EventLabels, Counter>,
    commit_batch_size: Histogram,
    commit_duration: Histogram,
}

impl Metrics {
    /// The metrics of a relay over `store`. The store's own metrics (mailboxes held, commit
    /// batches and their latency) are registered only for the SQLite store, which keeps them;
    /// a Redis Cluster store exposes none rather than zeros that would mislead.
    pub fn new(store: &StoreConfig) -> Self {
        let mut registry = Registry::with_prefix("tigress");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by operation and status code",
            requests.clone(),
        );
        let request_duration = Family::<OperationLabels, Histogram>::new_with_constructor(
            request_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's headers to its response, by operation (waiting reads \
             apart, as read_wait)",
            Unit::Seconds,
            request_duration.clone(),
        );
        let request_durations = Operation::ALL
            .map(|operation| request_duration.get_or_create_owned(&OperationLabels { operation }));
        let waiting_reads = Gauge::default();
        registry.register(
            "waiting_reads",
            "Reads parked on Prefer: wait until the peer writes, on this relay",
            waiting_reads.clone(),
        );
        let pushes = Family::<PushLabels, Counter>::default();
        registry.register(
            "pushes",
            "Push deliveries finished, by provider and outcome (retries included in one)",
            pushes.clone(),
        );
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "Client connections closed on arrival because max_connections were open",
            connections_refused.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "events",
            "Lifecycle event attempts, by endpoint and outcome: delivered, failed (an attempt \
             to be retried) or abandoned (past give_up_after)",
            events.clone(),
        );
        let mailboxes = Gauge::default();
        let commit_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        let commit_duration = Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        if *store == StoreConfig::Sqlite {
            registry.register(
                "mailboxes",
                "Mailboxes the SQLite store holds, expired ones not yet swept included",
                mailboxes.clone(),
            );
            registry.register(
                "sqlite_commit_batch_size",
                "Write operations carried by one SQLite commit (group commit)",
                commit_batch_size.clone(),
            );
            registry.register_with_unit(
                "sqlite_commit_duration",
                "Time of one SQLite write transaction, from BEGIN to the end of its COMMIT",
                Unit::Seconds,
                commit_duration.clone(),
            );
        }
        Self {
            registry,
            requests,
            request_durations,
            waiting_reads,
            pushes,
            mailboxes,
            connections_refused,
            events,
            commit_batch_size,
            commit_duration,
        }
    }

    /// Counts a connection closed because the cap was reached.
    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Counts one answered request and its latency.
    pub fn request(&self, operation: Operation, status: StatusCode, elapsed: Duration) {
        let labels = RequestLabels { operation, status: status.as_u16() };
        self.requests.get_or_create(&labels).inc();
        self.request_durations[operation as usize].observe(elapsed.as_secs_f64());
    }

    /// Counts a read parked on `Prefer: wait` until the returned guard is dropped.
    pub fn waiting_read(&self) -> WaitingRead<'_> {
        self.waiting_reads.inc();
        WaitingRead(&self.waiting_reads)
    }

    /// Counts a finished push delivery. A token type without a known provider, a delivery
    /// that sent nothing ([`Delivery::Unsupported`]), and outcomes this relay does not know
    /// are not counted.
    pub fn push(&self, provider: Option<PushProvider>, delivery: &Result<Delivery, impl Sized>) {
        let Some(provider) = provider else {
            return;
        };
        let outcome = match delivery {
            Ok(Delivery::Delivered) => PushOutcome::Delivered,
            Ok(Delivery::Failed(_)) | Err(_) => PushOutcome::Failed,
            Ok(Delivery::Gone) => PushOutcome::Gone,
            Ok(Delivery::Shed) => PushOutcome::Shed,
            Ok(_) => return,
        };
        self.pushes.get_or_create(&PushLabels { provider, outcome }).inc();
    }

    /// Counts one attempt at an event for `endpoint`, or its abandonment.
    pub fn event(&self, endpoint: &str, outcome: EventOutcome) {
        self.events.get_or_create(&EventLabels { endpoint: endpoint.to_owned(), outcome }).inc();
    }

    /// Records one SQLite commit of `operations` writes whose transaction took `elapsed`.
    pub fn commit(&self, operations: usize, elapsed: Duration) {
        self.commit_batch_size.observe(operations as f64);
        self.commit_duration.observe(elapsed.as_secs_f64());
    }

    /// Sets how many mailboxes the store holds.
    pub fn stored_mailboxes(&self, mailboxes: u64) {
        self.mailboxes.set(i64::try_from(mailboxes).unwrap_or(i64::MAX));
    }

    /// Every metric, in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail, and every label value is written by this module.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "could not encode the metrics");
        }
        text
    }
}

/// The metrics listener's router: `GET /metrics`, and 404 for anything else.
pub fn app(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(PATH, get(scrape))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    let content_type = HeaderValue::from_static(CONTENT_TYPE);
    ([(header::CONTENT_TYPE, content_type)], metrics.render()).into_response()
}

/// Keeps a read counted in the waiting reads while it lives.
#[must_use = "the read counts as waiting only while the guard lives"]
pub struct WaitingRead<'a>(&'a Gauge);

impl Drop for WaitingRead<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What a request asked for, from its method and route template: the `operation` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `POST /v1/m`: CreateMailbox.
    Create,
    /// `DELETE /v1/m/{id}`: DeleteMailbox.
    Delete,
    /// `GET /.well-known/tigress-relay`.
    Descriptor,
    /// `GET /healthz`.
    Healthz,
    /// `GET /openapi.json`.
    Openapi,
    /// Anything else: an unknown path, or a method a route does not have.
    Other,
    /// `GET /v1/m/{id}`: the preview.
    Preview,
    /// `POST /v1/m/{id}` without `Prefer`: ReadSecureContent.
    Read,
    /// `POST /v1/m/{id}` with `Prefer` (a waiting read): its latency is the wait, so it is kept
    /// apart from reads that answer at once.
    ReadWait,
    /// `PATCH /v1/m/{id}`: RelinquishMailbox.
    Relinquish,
    /// `PUT /v1/m/{id}`: UpdateMailbox.
    Update,
}

impl Operation {
    /// Every operation, in declaration order (so `ALL[op as usize] == op`).
    pub const ALL: [Self; 11] = [
        Self::Create,
        Self::Delete,
        Self::Descriptor,
        Self::Healthz,
        Self::Openapi,
        Self::Other,
        Self::Preview,
        Self::Read,
        Self::ReadWait,
        Self::Relinquish,
        Self::Update,
    ];

    /// The operation of a request: its method, the route template it matched (`None` when it
    /// matched none) and whether it carries a `Prefer` header.
    pub fn of(method: &Method, route: Option<&str>, prefers: bool) -> Self {
        // The mailbox routes carry the configured segment: recognised by their shape.
        let create = route.is_some_and(routes::is_create);
        let mailbox = route.is_some_and(routes::is_mailbox);
        match (route, method.as_str()) {
            (Some(_), "POST") if create => Self::Create,
            (Some(_), "GET") if mailbox => Self::Preview,
            (Some(_), "POST") if mailbox && prefers => Self::ReadWait,
            (Some(_), "POST") if mailbox => Self::Read,
            (Some(_), "PUT") if mailbox => Self::Update,
            (Some(_), "DELETE") if mailbox => Self::Delete,
            (Some(_), "PATCH") if mailbox => Self::Relinquish,
            (Some(routes::HEALTHZ), "GET") => Self::Healthz,
            (Some(routes::OPENAPI), "GET") => Self::Openapi,
            (Some(routes::DESCRIPTOR), "GET") => Self::Descriptor,
            _ => Self::Other,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Delete => "delete",
            Self::Descriptor => "descriptor",
            Self::Healthz => "healthz",
            Self::Openapi => "openapi",
            Self::Other => "other",
            Self::Preview => "preview",
            Self::Read => "read",
            Self::ReadWait => "read_wait",
            Self::Relinquish => "relinquish",
            Self::Update => "update",
        }
    }
}

/// The push service a delivery went through: the `provider` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PushProvider {
    /// Apple Push Notification service.
    Apns,
    /// Firebase Cloud Messaging.
    Fcm,
    /// Web Push.
    WebPush,
}

impl PushProvider {
    /// The provider of a token type, when it is one of the known ones. The type is the client's
    /// input, so any other is not a label.
    pub fn of(token_type: &str) -> Option<Self> {
        match token_type {
            tigress_push::APNS => Some(Self::Apns),
            tigress_push::FCM => Some(Self::Fcm),
            tigress_push::WEB_PUSH => Some(Self::WebPush),
            _ => None,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apns => "apns",
            Self::Fcm => "fcm",
            Self::WebPush => "web_push",
        }
    }
}

/// How a push delivery ended: the `outcome` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PushOutcome {
    /// The provider accepted the push.
    Delivered,
    /// Refused for good, out of retries, or the delivery task died.
    Failed,
    /// The provider called the token gone; the relay drops it.
    Gone,
    /// Not sent: too many deliveries were in flight (see `tigress_push::MAX_IN_FLIGHT`).
    Shed,
}

impl PushOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Gone => "gone",
            Self::Shed => "shed",
        }
    }
}

/// How an attempt at an event ended: the `outcome` label of `tigress_events_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventOutcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// No answer or another status: it will be tried again.
    Failed,
    /// Not delivered within `give_up_after`, or its endpoint is no longer configured.
    Abandoned,
}

impl EventOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }
}

macro_rules! label_value_from_as_str {
    ($($t:ty),*) => {$(
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    )*};
}

label_value_from_as_str!(Operation, PushProvider, PushOutcome, EventOutcome);

#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EventLabels {
    /// An endpoint's configured name: the operator's, not a client's.
    endpoint: String,
    outcome: EventOutcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    operation: Operation,
    /// The numeric status code: a small fixed set, the statuses the relay answers with.
    status: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    operation: Operation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PushLabels {
    provider: PushProvider,
    outcome: PushOutcome,
}

/// 1 ms to about 65 s, doubling: from a preview to the longest waiting read.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_come_from_the_route_template_and_method_only() {
        let mailbox = Some(routes::MAILBOX);
        assert_eq!(Operation::of(&Method::POST, Some("/v1/m"), false), Operation::Create);
        assert_eq!(Operation::of(&Method::GET, mailbox, false), Operation::Preview);
        assert_eq!(Operation::of(&Method::POST, mailbox, false), Operation::Read);
        assert_eq!(Operation::of(&Method::POST, mailbox, true), Operation::ReadWait);
        assert_eq!(Operation::of(&Method::PUT, mailbox, false), Operation::Update);
        assert_eq!(Operation::of(&Method::DELETE, mailbox, false), Operation::Delete);
        assert_eq!(Operation::of(&Method::PATCH, mailbox, false), Operation::Relinquish);
        assert_eq!(Operation::of(&Method::GET, Some("/healthz"), false), Operation::Healthz);
        assert_eq!(Operation::of(&Method::GET, Some("/openapi.json"), false), Operation::Openapi);
        assert_eq!(Operation::of(&Method::GET, None, false), Operation::Other);
        assert_eq!(Operation::of(&Method::PUT, Some("/v1/m"), false), Operation::Other);
        let elsewhere = Some("/v1/mailbox/{id}");
        assert_eq!(Operation::of(&Method::POST, Some("/v1/mailbox"), false), Operation::Create);
        assert_eq!(Operation::of(&Method::GET, elsewhere, false), Operation::Preview);
        assert_eq!(Operation::of(&Method::PATCH, elsewhere, false), Operation::Relinquish);
    }

    #[test]
    fn a_new_registry_shows_every_operation_and_no_store_metrics_for_redis() {
        let redis = StoreConfig::RedisCluster { nodes: vec!["127.0.0.1:7101".into()] };
        let text = Metrics::new(&redis).render();
        for operation in Operation::ALL {
            let line = format!(
                "tigress_http_request_duration_seconds_count{{operation=\"{}\"}} 0",
                operation.as_str()
            );
            assert!(text.contains(&line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("tigress_mailboxes"), "{text}");
        assert!(!text.contains("sqlite"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(Metrics::new(&StoreConfig::Sqlite).render().contains("tigress_mailboxes 0"));
    }

    #[test]
    fn every_operation_indexes_its_own_histogram() {
        for (index, operation) in Operation::ALL.into_iter().enumerate() {
            assert_eq!(operation as usize, index, "{operation:?}");
        }
    }

    #[test]
    fn counts_requests_by_operation_and_status() {
        let metrics = Metrics::new(&StoreConfig::Sqlite);
        metrics.request(Operation::Create, StatusCode::OK, Duration::from_millis(3));
        metrics.request(Operation::Create, StatusCode::OK, Duration::from_millis(3));
        metrics.request(Operation::Read, StatusCode::NOT_FOUND, Duration::from_millis(1));
        let text = metrics.render();
        let count = "tigress_http_request_duration_seconds_count{operation=\"create\"} 2";
        assert!(text.contains(count), "{text}");
        assert!(
            text.contains("tigress_http_requests_total{operation=\"create\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("tigress_http_requests_total{operation=\"read\",status=\"404\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn a_waiting_read_counts_while_its_guard_lives() {
        let metrics = Metrics::new(&StoreConfig::Sqlite);
        let guard = metrics.waiting_read();
        assert!(metrics.render().contains("tigress_waiting_reads 1\n"));
        drop(guard);
        assert!(metrics.render().contains("tigress_waiting_reads 0\n"));
    }

    #[test]
    fn pushes_count_known_providers_only() {
        let metrics = Metrics::new(&StoreConfig::Sqlite);
        metrics.push(PushProvider::of(tigress_push::APNS), &Ok::<_, ()>(Delivery::Delivered));
        metrics.push(PushProvider::of(tigress_push::FCM), &Err::<Delivery, _>(()));
        metrics.push(PushProvider::of("com.example.unknown"), &Ok::<_, ()>(Delivery::Delivered));
        metrics.push(PushProvider::of(tigress_push::WEB_PUSH), &Ok::<_, ()>(Delivery::Unsupported));
        let text = metrics.render();
        assert!(
            text.contains("tigress_pushes_total{provider=\"apns\",outcome=\"delivered\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tigress_pushes_total{provider=\"fcm\",outcome=\"failed\"} 1"),
            "{text}"
        );
        assert_eq!(text.matches("tigress_pushes_total{").count(), 2, "{text}");
    }
}
