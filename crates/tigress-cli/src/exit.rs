//! Exit codes, and the one-line message printed for each failure.

use std::process::ExitCode;

use tigress_client::Error as ClientError;

/// Why the process ends, as an exit code (see the crate documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 1: anything not listed below.
    Other = 1,
    /// 2: invalid arguments, share URL or secret.
    Usage = 2,
    /// 3: another device has already accepted the share.
    AlreadyClaimed = 3,
    /// 4: the share expired or was deleted.
    Gone = 4,
    /// 5: wrong secret or tampered payload.
    Decrypt = 5,
    /// 6: the relay could not be reached.
    Unreachable = 6,
    /// 7: the user declined the share.
    Declined = 7,
    /// 8: a PIN share failed: the PIN was wrong, or the share was ended after too many wrong
    /// PINs, or nobody proved the PIN in time.
    PinFailed = 8,
}

/// A PIN share that did not deliver (exit code 8).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PinFailed(pub String);

/// An error about the command line itself (exit code 2), raised after clap's own checks.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Exit {
    /// The exit code for `error`, from the first SDK or usage error in its chain.
    pub fn of(error: &anyhow::Error) -> Self {
        for cause in error.chain() {
            if cause.is::<UsageError>() {
                return Self::Usage;
            }
            if cause.is::<PinFailed>() {
                return Self::PinFailed;
            }
            if let Some(error) = cause.downcast_ref::<ClientError>() {
                return match error {
                    ClientError::AlreadyClaimed => Self::AlreadyClaimed,
                    ClientError::Declined => Self::Declined,
                    ClientError::Decrypt(_) | ClientError::Transfer(_) => Self::Decrypt,
                    ClientError::Gone => Self::Gone,
                    ClientError::Unreachable(_) => Self::Unreachable,
                    _ => Self::Other,
                };
            }
        }
        Self::Other
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// The message for `error`: its whole chain on one line, plus what to do for the common cases.
pub fn describe(error: &anyhow::Error, exit: Exit) -> String {
    let hint = match exit {
        Exit::AlreadyClaimed | Exit::Gone => "; ask the sender for a new share",
        Exit::Decrypt => "; check that the secret was copied whole, or ask for a new share",
        Exit::Unreachable => "; check the relay URL and the network (or --ca-cert for TLS)",
        Exit::Declined => "; nothing was received and the link still works",
        Exit::PinFailed => "; nothing of the key was sent: share it again with a new PIN",
        Exit::Other | Exit::Usage => "",
    };
    // `{:#}` joins the causes with ": "; a cause spanning lines is folded onto this one.
    let text = format!("{error:#}{hint}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::*;

    #[test]
    fn sdk_errors_map_to_their_codes_through_context() {
        let cases = [
            (ClientError::AlreadyClaimed, 3),
            (ClientError::Gone, 4),
            (ClientError::Declined, 7),
            (ClientError::Protocol("x".into()), 1),
        ];
        for (error, code) in cases {
            let error = Err::<(), _>(error).context("receiving").unwrap_err();
            assert_eq!(Exit::of(&error) as u8, code);
        }
        let usage = anyhow::Error::new(UsageError("no secret".into()));
        assert_eq!(Exit::of(&usage), Exit::Usage);
        assert_eq!(Exit::of(&anyhow::anyhow!("disk full")), Exit::Other);
    }

    #[test]
    fn messages_are_one_line_with_a_hint() {
        let error = Err::<(), _>(ClientError::Gone).context("reading the share").unwrap_err();
        assert_eq!(
            describe(&error, Exit::of(&error)),
            "reading the share: this share has expired or no longer exists; ask the sender for \
             a new share"
        );
        let multi = anyhow::anyhow!("line one\nline two");
        assert_eq!(describe(&multi, Exit::Other), "line one line two");
    }
}
