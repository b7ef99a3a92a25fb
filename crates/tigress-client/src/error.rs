//! The one error type of the SDK, and how protocol errors map onto it.

use tigress_proto::OpenError;
use tigress_proto::flow::FlowError;
use tigress_proto::provisioning::ProvisioningError;
use tigress_proto::transfer::TransferError;

/// What went wrong, grouped by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another device has already accepted this share. Nothing can be retried with this link: ask
    /// the sender for a new share.
    #[error("this share has already been accepted by another device")]
    AlreadyClaimed,
    /// The app's [`crate::Attester`] made no token for a create (the platform refused to sign,
    /// say); nothing was sent. The reason is the attester's.
    #[error("no device attestation could be made: {0}")]
    Attestation(String),
    /// The client could not be set up: the relay URL or the extra root certificate is invalid.
    /// Fix the configuration; retrying cannot help.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The user declined the share after seeing its preview. Nothing was bound; the link still
    /// works for another attempt.
    #[error("the share was declined")]
    Declined,
    /// The payload could not be decrypted: the secret is not the one for this share, or the
    /// payload was altered on the way. Check that the secret was copied whole; otherwise ask the
    /// sender for a new share.
    #[error("could not decrypt the share: {0}")]
    Decrypt(#[source] OpenError),
    /// The share has expired or was deleted (by the sender, or by a receiver once done). Ask the
    /// sender for a new share.
    #[error("this share has expired or no longer exists")]
    Gone,
    /// The relay URL is plain `http` on a host other than loopback, which would expose claims and
    /// ciphertext to the network. Use the relay's `https` URL.
    #[error("refusing plain http to a relay that is not on this machine; use https")]
    InsecureRelay,
    /// The payload decrypted, so it came from the holder of the secret, but it is not Provisioning
    /// Information. The sender's software wrote something else; ask the sender.
    #[error("the decrypted share is not valid Provisioning Information: {0}")]
    InvalidContent(#[source] ProvisioningError),
    /// The relay answered something that does not follow the protocol (malformed body, or an
    /// answer to another request). Retrying may help; if it persists, the relay is faulty.
    #[error("the relay's answer does not follow the protocol: {0}")]
    Protocol(String),
    /// The relay refused the request. `code` is machine-readable and `message` says why, e.g. a
    /// field too long (400), a body too large (413), rate limiting (429) or a server fault (5xx).
    #[error("the relay refused the request ({status} {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The relay's machine-readable code.
        code: String,
        /// The relay's sentence.
        message: String,
        /// Seconds the relay asked to wait before retrying (`Retry-After`, with 429 and 503).
        retry_after_seconds: Option<u32>,
    },
    /// The relay could not be reached: connection refused, DNS failure, timeout, or a TLS failure
    /// such as an untrusted certificate. Check the relay URL and the network, or pass the relay's
    /// CA certificate; then retry.
    #[error("the relay could not be reached")]
    Unreachable(#[source] reqwest::Error),
    /// A field to seal could not be sealed (a pointer that names nothing, a field sealed twice);
    /// nothing was sent.
    #[error("could not seal the fields: {0}")]
    Seal(#[source] tigress_jwe::FieldError),
    /// A message of a transfer does not fit the conversation: the relay reflected, replayed,
    /// reordered or dropped one, or it belongs to another mailbox. Cancel the transfer.
    #[error("the transfer was tampered with: {0}")]
    Transfer(#[source] TransferError),
}

impl From<FlowError> for Error {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::AlreadyClaimed => Self::AlreadyClaimed,
            FlowError::Gone => Self::Gone,
            FlowError::Open(e) => Self::Decrypt(e),
            FlowError::Provisioning(e) => Self::InvalidContent(e),
            FlowError::Rejected { status, code, message, retry_after_seconds } => {
                Self::Rejected { status, code, message, retry_after_seconds }
            }
            FlowError::BadResponse(reason) => Self::Protocol(reason),
            FlowError::Transfer(e) => Self::Transfer(e),
            other => Self::Protocol(other.to_string()),
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        // The URL names the mailbox, half of a share URL: keep it out of messages and logs.
        Self::Unreachable(error.without_url())
    }
}

#[cfg(test)]
mod tests {
    use tigress_proto::flow::{HttpResponse, check_response};
    use tigress_proto::{ProvisioningInformation, RequestId};

    use super::*;

    fn mapped(status: u16, body: &str, read: bool) -> Error {
        let response = HttpResponse {
            status,
            request_id: Some("id-1".into()),
            retry_after_seconds: None,
            body: body.as_bytes().to_vec(),
        };
        let sent: RequestId = "id-1".parse().unwrap();
        check_response(&response, Some(&sent), read).unwrap_err().into()
    }

    #[test]
    fn a_401_on_read_means_already_claimed() {
        assert!(matches!(mapped(401, "", true), Error::AlreadyClaimed));
    }

    #[test]
    fn a_404_means_gone() {
        assert!(matches!(mapped(404, "", true), Error::Gone));
        assert!(matches!(mapped(404, "", false), Error::Gone));
    }

    #[test]
    fn other_statuses_keep_the_relay_s_code_and_message() {
        let body = r#"{"code":"body_too_large","message":"the body exceeds 65536 bytes"}"#;
        let Error::Rejected { status, code, message, .. } = mapped(413, body, false) else {
            panic!("expected Rejected");
        };
        assert_eq!((status, code.as_str()), (413, "body_too_large"));
        assert_eq!(message, "the body exceeds 65536 bytes");
        assert!(matches!(mapped(401, "", false), Error::Rejected { status: 401, .. }));
    }

    #[test]
    fn a_rate_limit_keeps_the_relay_s_retry_time() {
        let response = HttpResponse {
            status: 429,
            request_id: Some("id-1".into()),
            retry_after_seconds: Some(17),
            body: br#"{"code":"rate_limited","message":"too many reads"}"#.to_vec(),
        };
        let sent: RequestId = "id-1".parse().unwrap();
        let error: Error = check_response(&response, Some(&sent), true).unwrap_err().into();
        assert!(
            matches!(error, Error::Rejected { status: 429, retry_after_seconds: Some(17), .. }),
            "{error:?}"
        );
    }

    #[test]
    fn an_answer_to_another_request_is_a_protocol_error() {
        let response = HttpResponse {
            status: 200,
            request_id: Some("other".into()),
            retry_after_seconds: None,
            body: vec![],
        };
        let sent: RequestId = "mine".parse().unwrap();
        let error: Error = check_response(&response, Some(&sent), false).unwrap_err().into();
        assert!(matches!(error, Error::Protocol(_)));
    }

    #[test]
    fn failed_decryption_and_bad_content_are_told_apart() {
        let error: Error = FlowError::Open(OpenError::Undecryptable).into();
        assert!(matches!(error, Error::Decrypt(OpenError::Undecryptable)));
        let bad = ProvisioningInformation::from_slice(br#"{"format":"f","content":1}"#);
        let error: Error = FlowError::Provisioning(bad.unwrap_err()).into();
        assert!(matches!(error, Error::InvalidContent(_)));
        let error: Error = FlowError::BadResponse("missing urlLink".into()).into();
        assert!(matches!(error, Error::Protocol(reason) if reason == "missing urlLink"));
    }
}
