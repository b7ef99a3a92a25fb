//! The error of the bindings, and how the SDK's errors map onto it.

use std::error::Error as _;
use std::fmt::Write as _;

/// What went wrong, grouped by what the app can do about it (`TigressError` in the bindings).
///
/// Every variant carries a `reason` for logs and developers, built from the SDK's own messages,
/// which never hold a secret, a claim, a payload or a share URL; the two that invite a retry also
/// carry the relay's `Retry-After`. The foreign languages see the variant and these fields only.
#[derive(Debug, thiserror::Error)]
pub enum TigressError {
    /// Another device has already accepted this share. Ask the sender for a new one.
    #[error("{reason}")]
    AlreadyClaimed {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// No device attestation: the app's attester refused or signed wrongly, or the relay
    /// refused the token.
    #[error("{reason}")]
    Attestation {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The object was already used up (accepted, declined, finished or cancelled). Keep the
    /// object the consuming call returned instead.
    #[error("{reason}")]
    AlreadyUsed {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// Wrong or truncated secret, or an altered payload. Check the secret was copied whole.
    #[error("{reason}")]
    Decrypt {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The share has expired or was deleted. Ask the sender for a new one.
    #[error("{reason}")]
    Gone {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// Plain http to a relay that is not on this device. Use the relay's https URL.
    #[error("{reason}")]
    InsecureRelay {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// A fault inside the library (e.g. its runtime could not start). Report it.
    #[error("{reason}")]
    Internal {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The share decrypted but does not hold Provisioning Information. Ask the sender.
    #[error("{reason}")]
    InvalidContent {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// An argument is invalid; the message names which. Fix it; retrying cannot help.
    #[error("{reason}")]
    InvalidInput {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The relay could not be reached (network, DNS, timeout, untrusted certificate). Retry.
    #[error("{reason}")]
    Network {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The relay answered outside the protocol. Retrying may help.
    #[error("{reason}")]
    Protocol {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The relay answered 429: this device or this share made too many requests. Wait (a
    /// minute at most) and retry.
    #[error("{reason}")]
    RateLimited {
        /// What happened, for logs and developers.
        reason: String,
        /// Seconds the relay asked to wait before retrying, when it said.
        retry_after_seconds: Option<u32>,
    },
    /// The relay refused the request; the message has its status, code and reason.
    #[error("{reason}")]
    Rejected {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The relay reflected, replayed, reordered or dropped a message of a transfer. Cancel it.
    #[error("{reason}")]
    Tampered {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The relay answered 503: it is full or its store is unreachable. Retry later.
    #[error("{reason}")]
    Unavailable {
        /// What happened, for logs and developers.
        reason: String,
        /// Seconds the relay asked to wait before retrying, when it said.
        retry_after_seconds: Option<u32>,
    },
    /// The PIN share's sender ended it after too many wrong PINs. Ask for a new share.
    #[error("{reason}")]
    TooManyAttempts {
        /// What happened, for logs and developers.
        reason: String,
    },
    /// The PIN of a PIN share was wrong; another may be tried (`PinExchange.attempts_left`).
    #[error("{reason}")]
    WrongPin {
        /// What happened, for logs and developers.
        reason: String,
        /// How many more PINs the sender allows.
        attempts_left: u32,
    },
}

impl TigressError {
    /// An invalid argument, named by `what`.
    pub(crate) fn invalid(what: &str, reason: impl std::fmt::Display) -> Self {
        Self::InvalidInput { reason: format!("{what}: {reason}") }
    }

    /// The error of a call on an object that an earlier call used up.
    pub(crate) fn used(what: &str) -> Self {
        Self::AlreadyUsed { reason: format!("this {what} was already used up by an earlier call") }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TigressError {
    /// An app's callback threw something other than a `TigressError`.
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Attestation { reason: format!("the app's attester failed: {}", error.reason) }
    }
}

impl From<tigress_client::Error> for TigressError {
    fn from(error: tigress_client::Error) -> Self {
        use tigress_client::Error as E;

        let reason = chain(&error);
        match error {
            E::AlreadyClaimed => Self::AlreadyClaimed { reason },
            E::Attestation(_) => Self::Attestation { reason },
            E::Rejected { ref code, .. } if code.starts_with("attestation_") => {
                Self::Attestation { reason }
            }
            E::Config(_) => Self::InvalidInput { reason },
            E::Decrypt(_) => Self::Decrypt { reason },
            E::Gone => Self::Gone { reason },
            E::InsecureRelay => Self::InsecureRelay { reason },
            E::InvalidContent(_) => Self::InvalidContent { reason },
            E::Protocol(_) => Self::Protocol { reason },
            E::Rejected { status: 429, retry_after_seconds, .. } => {
                Self::RateLimited { reason, retry_after_seconds }
            }
            E::Rejected { status: 503, retry_after_seconds, .. } => {
                Self::Unavailable { reason, retry_after_seconds }
            }
            E::Rejected { .. } => Self::Rejected { reason },
            E::Transfer(_) => Self::Tampered { reason },
            E::Unreachable(_) => Self::Network { reason },
            // `Declined` cannot happen here (the bindings never call `decide`), and variants the
            // SDK may add are reported as they are rather than guessed at.
            _ => Self::Internal { reason },
        }
    }
}

/// The error's message followed by its sources' (e.g. "the relay could not be reached: error
/// sending request: connection refused"). The SDK strips URLs from transport errors, so no
/// mailbox id reaches the text.
fn chain(error: &tigress_client::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // `thiserror` variants often repeat their source in their own message.
        if !message.ends_with(&text) {
            let _ = write!(message, ": {text}");
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_errors_map_to_the_variant_the_app_acts_on() {
        let gone: TigressError = tigress_client::Error::Gone.into();
        assert!(
            matches!(gone, TigressError::Gone { reason: ref m } if m.contains("expired")),
            "{gone:?}"
        );
        let claimed: TigressError = tigress_client::Error::AlreadyClaimed.into();
        assert!(matches!(claimed, TigressError::AlreadyClaimed { .. }));
        let config: TigressError = tigress_client::Error::Config("bad".into()).into();
        assert!(
            matches!(config, TigressError::InvalidInput { reason: ref m } if m.ends_with("bad"))
        );
        let rejected: TigressError = tigress_client::Error::Rejected {
            status: 413,
            code: "body_too_large".into(),
            message: "too big".into(),
            retry_after_seconds: None,
        }
        .into();
        assert!(matches!(rejected, TigressError::Rejected { reason: ref m } if m.contains("413")));
        let later = |status, retry_after_seconds| -> TigressError {
            tigress_client::Error::Rejected {
                status,
                code: "x".into(),
                message: "later".into(),
                retry_after_seconds,
            }
            .into()
        };
        assert!(matches!(
            later(429, Some(30)),
            TigressError::RateLimited { retry_after_seconds: Some(30), .. }
        ));
        assert!(matches!(
            later(503, None),
            TigressError::Unavailable { retry_after_seconds: None, .. }
        ));
    }

    #[test]
    fn a_decryption_failure_names_no_more_than_its_cause() {
        let error: TigressError =
            tigress_client::Error::Decrypt(tigress_proto::OpenError::Undecryptable).into();
        let TigressError::Decrypt { reason: message } = error else { panic!("expected Decrypt") };
        assert_eq!(
            message,
            "could not decrypt the share: the payload could not be decrypted: wrong secret or \
             tampered payload"
        );
    }
}
