//! The flat error of the bindings, and how the SDK's errors map onto it.

use std::error::Error as _;
use std::fmt::Write as _;

/// What went wrong, grouped by what the app can do about it (`TigressError` in the bindings).
///
/// Every variant carries a message for logs and developers, built from the SDK's own messages,
/// which never hold a secret, a claim, a payload or a share URL. The foreign languages see the
/// variant and that message only.
#[derive(Debug, thiserror::Error)]
pub enum TigressError {
    /// Another device has already accepted this share. Ask the sender for a new one.
    #[error("{0}")]
    AlreadyClaimed(String),
    /// The object was already used up (accepted, declined, finished or cancelled). Keep the
    /// object the consuming call returned instead.
    #[error("{0}")]
    AlreadyUsed(String),
    /// Wrong or truncated secret, or an altered payload. Check the secret was copied whole.
    #[error("{0}")]
    Decrypt(String),
    /// The share has expired or was deleted. Ask the sender for a new one.
    #[error("{0}")]
    Gone(String),
    /// Plain http to a relay that is not on this device. Use the relay's https URL.
    #[error("{0}")]
    InsecureRelay(String),
    /// A fault inside the library (e.g. its runtime could not start). Report it.
    #[error("{0}")]
    Internal(String),
    /// The share decrypted but does not hold Provisioning Information. Ask the sender.
    #[error("{0}")]
    InvalidContent(String),
    /// An argument is invalid; the message names which. Fix it; retrying cannot help.
    #[error("{0}")]
    InvalidInput(String),
    /// The relay could not be reached (network, DNS, timeout, untrusted certificate). Retry.
    #[error("{0}")]
    Network(String),
    /// The relay answered outside the protocol. Retrying may help.
    #[error("{0}")]
    Protocol(String),
    /// The relay answered 429: this device or this share made too many requests. Wait (a
    /// minute at most) and retry.
    #[error("{0}")]
    RateLimited(String),
    /// The relay refused the request; the message has its status, code and reason.
    #[error("{0}")]
    Rejected(String),
    /// The relay reflected, replayed, reordered or dropped a message of a transfer. Cancel it.
    #[error("{0}")]
    Tampered(String),
    /// The relay answered 503: it is full or its store is unreachable. Retry later.
    #[error("{0}")]
    Unavailable(String),
    /// The PIN share's sender ended it after too many wrong PINs. Ask for a new share.
    #[error("{0}")]
    TooManyAttempts(String),
    /// The PIN of a PIN share was wrong; another may be tried (`PinExchange.attempts_left`).
    #[error("{0}")]
    WrongPin(String),
}

impl TigressError {
    /// An invalid argument, named by `what`.
    pub(crate) fn invalid(what: &str, reason: impl std::fmt::Display) -> Self {
        Self::InvalidInput(format!("{what}: {reason}"))
    }

    /// The error of a call on an object that an earlier call used up.
    pub(crate) fn used(what: &str) -> Self {
        Self::AlreadyUsed(format!("this {what} was already used up by an earlier call"))
    }
}

impl From<tigress_client::Error> for TigressError {
    fn from(error: tigress_client::Error) -> Self {
        use tigress_client::Error as E;

        let message = chain(&error);
        match error {
            E::AlreadyClaimed => Self::AlreadyClaimed(message),
            E::Config(_) => Self::InvalidInput(message),
            E::Decrypt(_) => Self::Decrypt(message),
            E::Gone => Self::Gone(message),
            E::InsecureRelay => Self::InsecureRelay(message),
            E::InvalidContent(_) => Self::InvalidContent(message),
            E::Protocol(_) => Self::Protocol(message),
            E::Rejected { status: 429, .. } => Self::RateLimited(message),
            E::Rejected { status: 503, .. } => Self::Unavailable(message),
            E::Rejected { .. } => Self::Rejected(message),
            E::Transfer(_) => Self::Tampered(message),
            E::Unreachable(_) => Self::Network(message),
            // `Declined` cannot happen here (the bindings never call `decide`), and variants the
            // SDK may add are reported as they are rather than guessed at.
            _ => Self::Internal(message),
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
        assert!(matches!(gone, TigressError::Gone(ref m) if m.contains("expired")), "{gone:?}");
        let claimed: TigressError = tigress_client::Error::AlreadyClaimed.into();
        assert!(matches!(claimed, TigressError::AlreadyClaimed(_)));
        let config: TigressError = tigress_client::Error::Config("bad".into()).into();
        assert!(matches!(config, TigressError::InvalidInput(ref m) if m.ends_with("bad")));
        let rejected: TigressError = tigress_client::Error::Rejected {
            status: 413,
            code: "body_too_large".into(),
            message: "too big".into(),
        }
        .into();
        assert!(matches!(rejected, TigressError::Rejected(ref m) if m.contains("413")));
        for (status, expected) in [(429, "RateLimited"), (503, "Unavailable")] {
            let error: TigressError = tigress_client::Error::Rejected {
                status,
                code: "x".into(),
                message: "later".into(),
            }
            .into();
            let variant = format!("{error:?}");
            assert!(variant.starts_with(expected), "{status}: {variant}");
        }
    }

    #[test]
    fn a_decryption_failure_names_no_more_than_its_cause() {
        let error: TigressError =
            tigress_client::Error::Decrypt(tigress_proto::OpenError::Undecryptable).into();
        let TigressError::Decrypt(message) = error else { panic!("expected Decrypt") };
        assert_eq!(
            message,
            "could not decrypt the share: the payload could not be decrypted: wrong secret or \
             tampered payload"
        );
    }
}
