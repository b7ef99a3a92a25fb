//! The relay's API errors and their single mapping to status codes and JSON bodies.
//!
//! Policy: every error answers a small JSON [`ErrorBody`] with a stable `code` and a sentence for
//! people. Internal details (SQL errors, paths) are logged once, here, and never sent. "Missing",
//! "expired" and "deleted" look identical to callers (one 404), so nobody can tell a deleted share
//! from one that never existed. Denials are 401, as the drafts have it.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tigress_proto::wire::ErrorBody;

use crate::mailbox::{Denial, Invalid};
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// The body exceeds the configured limit (413).
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The claim header is not a hyphenated UUID, or there is more than one (401).
    ClaimInvalid,
    /// The claim may not do this (401).
    Denied(Denial),
    /// Something failed inside the relay (500); the details were logged.
    Internal,
    /// The request is malformed (400).
    Invalid {
        /// Stable code.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// The method is not defined for this path (405).
    MethodNotAllowed,
    /// No claim header; 400 on Create and Update, 401 elsewhere (§6 resolution).
    MissingClaim {
        /// Whether this endpoint answers 400 (Create, Update) rather than 401.
        bad_request: bool,
    },
    /// No such mailbox, or expired, or deleted (404).
    NotFound,
    /// The request took longer than the configured timeout (408).
    Timeout,
    /// The store cannot serve now (503 with `Retry-After`).
    Unavailable,
    /// The store holds as many mailboxes as the operator allows (503 with `Retry-After`).
    Full,
    /// The create's device attestation was missing or refused under the operator's policy
    /// (401).
    Attestation(tigress_attest::AttestationError),
    /// This client is over a rate limit (429 with `Retry-After`).
    RateLimited {
        /// When the client may try again.
        retry_after: Duration,
    },
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::BodyTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than {limit} bytes"),
            ),
            Self::ClaimInvalid => (
                StatusCode::UNAUTHORIZED,
                "invalid_claim",
                "the Mailbox-Device-Claim header must be one UUID".into(),
            ),
            Self::Denied(denial) => {
                let code = match denial {
                    Denial::AlreadyClaimed => "already_claimed",
                    Denial::NoReceiversLeft => "receivers_exhausted",
                    Denial::NotAParty | Denial::NotReceiver => "claim_rejected",
                    Denial::RightMissing => "access_denied",
                    Denial::LogFull => {
                        return (StatusCode::CONFLICT, "mailbox_full", denial.to_string());
                    }
                };
                (StatusCode::UNAUTHORIZED, code, denial.to_string())
            }
            Self::Attestation(refusal) => {
                (StatusCode::UNAUTHORIZED, refusal.code(), refusal.to_string())
            }
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the relay failed to process the request".into(),
            ),
            Self::Invalid { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not defined for this path".into(),
            ),
            Self::MissingClaim { bad_request } => (
                if *bad_request { StatusCode::BAD_REQUEST } else { StatusCode::UNAUTHORIZED },
                "missing_claim",
                "the Mailbox-Device-Claim header is required".into(),
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such mailbox".into()),
            Self::Timeout => {
                (StatusCode::REQUEST_TIMEOUT, "timeout", "the request took too long".into())
            }
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the relay cannot serve this request now; retry later".into(),
            ),
            Self::Full => (
                StatusCode::SERVICE_UNAVAILABLE,
                "relay_full",
                "the relay holds as many mailboxes as it may; retry later".into(),
            ),
            Self::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this client; retry later".into(),
            ),
        }
    }

    /// Seconds for `Retry-After`, on the answers that invite a retry.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Unavailable => Some(5),
            Self::Full => Some(60),
            // Whole seconds, rounded up, so that a client retrying on time is let through.
            Self::RateLimited { retry_after } => Some(retry_after.as_secs_f64().ceil() as u64),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let retry_after = self.retry_after();
        let mut response = (status, Json(ErrorBody { code: code.into(), message })).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(denial) => Self::Denied(denial),
            StoreError::Unavailable => Self::Unavailable,
            StoreError::Full => Self::Full,
            StoreError::Backend(source) => {
                // The one place a backend failure is logged. SQL errors carry no request data:
                // every value reaches SQLite as a bound parameter.
                tracing::error!(error = %source, "storage failure");
                Self::Internal
            }
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::Invalid { code: e.code(), message: e.to_string() }
    }
}
