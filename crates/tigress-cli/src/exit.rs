//! Exit codes, from one table, and the one-line message printed for each failure.
//!
//! The table below gives each code its number and its meaning. From it come [`Exit`], the list
//! at the end of `--help` ([`Exit::help`]), and the sentence README.md must hold
//! ([`Exit::sentence`], checked by a test here, with every exit code the docs mention).

use std::process::ExitCode;

use tigress_client::Error as ClientError;

/// Generates [`Exit`] and [`Exit::ALL`] from rows of `Name = code, "meaning";`.
macro_rules! exit_codes {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal, $meaning:literal;)+) => {
        /// Why the process ends, as an exit code. Each failure prints one line on stderr first.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Exit {
            $(
                #[doc = concat!("Exit code ", $code, ": ", $meaning, ".")]
                $(#[doc = $doc])*
                $name = $code,
            )+
        }

        impl Exit {
            /// Every code, in increasing order.
            pub const ALL: &[Self] = &[$(Self::$name),+];

            /// What the code means, in one line.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Self::$name => $meaning,)+
                }
            }
        }
    };
}

exit_codes! {
    /// A receive whose mailbox could not be deleted afterwards still exits 0, with a warning:
    /// the credential was delivered, and the mailbox expires on its own.
    Success = 0, "success";
    /// Anything not listed below.
    Other = 1, "any other error";
    /// Reported by clap for the arguments (clap's own code is the same), or by the command for
    /// an invalid share URL, secret or configuration file (`UsageError`).
    Usage = 2, "usage: invalid arguments, share URL or secret";
    AlreadyClaimed = 3, "the share was already accepted by another device";
    /// The share expired or was deleted.
    Gone = 4, "the share has expired or no longer exists";
    Decrypt = 5, "wrong secret, or the payload was tampered with";
    Unreachable = 6, "the relay could not be reached (connection, timeout or TLS failure)";
    /// The user declined the share at the prompt.
    Declined = 7, "the share was declined";
    /// The PIN was wrong, or the share was ended after too many wrong PINs, or nobody proved
    /// the PIN in time (`PinFailed`).
    PinFailed = 8, "a PIN share failed: wrong PIN, too many attempts, or no one proved it in time";
    /// `tigress verify` refused the key, or a car-key share refused a statement (`Refused`).
    Refused = 9, "a key or signed statement was refused: the check that failed is named";
}

/// A key or signed statement that failed a check (exit code 9).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// A PIN share that did not deliver (exit code 8).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PinFailed(pub String);

/// An error about the command line itself (exit code 2), raised after clap's own checks.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Exit {
    /// The list at the end of `--help`: `Exit codes:`, then one code a line.
    pub fn help() -> String {
        let lines = Self::ALL.iter().map(|exit| format!("\n  {}  {}", *exit as u8, exit.meaning()));
        lines.fold(String::from("Exit codes:"), |help, line| help + &line)
    }

    /// The sentence README.md gives: `Exit codes: 0 success; 1 any other error; ...`.
    pub fn sentence() -> String {
        let codes: Vec<String> =
            Self::ALL.iter().map(|exit| format!("{} {}", *exit as u8, exit.meaning())).collect();
        format!("Exit codes: {}.", codes.join("; "))
    }

    /// The exit code for `error`, from the first SDK or usage error in its chain.
    pub fn of(error: &anyhow::Error) -> Self {
        for cause in error.chain() {
            if cause.is::<UsageError>() {
                return Self::Usage;
            }
            if cause.is::<PinFailed>() {
                return Self::PinFailed;
            }
            if cause.is::<Refused>() || cause.is::<tigress_carkey::CarKeyError>() {
                return Self::Refused;
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
        Exit::Refused => "",
        Exit::Success | Exit::Other | Exit::Usage => "",
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

    /// The repository's file at `path` (from its root), read at test time.
    fn repository_file(path: &std::path::Path) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::fs::read_to_string(root.join(path)).unwrap()
    }

    /// README.md and every file of docs/.
    fn documents() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut paths = vec![std::path::PathBuf::from("README.md")];
        for entry in std::fs::read_dir(root.join("docs")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "md") {
                paths.push(path.strip_prefix(&root).unwrap().to_owned());
            }
        }
        paths.iter().map(|path| (path.display().to_string(), repository_file(path))).collect()
    }

    #[test]
    fn the_readme_lists_exactly_the_table_s_codes_and_meanings() {
        let readme = repository_file("README.md".as_ref());
        let words: Vec<&str> = readme.split_whitespace().collect();
        let text = words.join(" ");
        let start = text.find("Exit codes:").expect("README.md lists the exit codes");
        let end = start + text[start..].find(". ").map_or(text.len() - start, |end| end + 1);
        assert_eq!(&text[start..end], Exit::sentence());
        assert_eq!(text.matches("Exit codes:").count(), 1, "README.md lists the codes once");
    }

    #[test]
    fn every_exit_code_the_docs_mention_is_in_the_table() {
        let known: Vec<u8> = Exit::ALL.iter().map(|exit| *exit as u8).collect();
        let mut mentions = 0;
        for (name, text) in documents() {
            let words: Vec<&str> = text.split_whitespace().collect();
            for (at, word) in words.iter().enumerate() {
                if !["exit", "exits"].contains(&word.to_ascii_lowercase().as_str()) {
                    continue;
                }
                // "exits 8", "exit 2", "exit code 4".
                let mut next = words.get(at + 1).copied().unwrap_or_default();
                if next == "code" {
                    next = words.get(at + 2).copied().unwrap_or_default();
                }
                let digits = next.trim_end_matches(|c: char| !c.is_ascii_digit());
                if let Ok(code) = digits.parse::<u8>() {
                    assert!(known.contains(&code), "{name} mentions exit code {code}");
                    mentions += 1;
                }
            }
            if name != "README.md" {
                assert!(
                    !text.contains("Exit codes:"),
                    "{name} lists exit codes: refer to README.md"
                );
            }
        }
        assert!(mentions > 0, "the docs mention exit codes (README.md, docs/SECURITY.md)");
    }

    #[test]
    fn the_help_lists_every_code_in_order() {
        let help = Exit::help();
        let lines: Vec<&str> = help.lines().collect();
        assert_eq!(lines.first(), Some(&"Exit codes:"));
        assert_eq!(lines.len(), Exit::ALL.len() + 1);
        assert_eq!(lines[4], "  3  the share was already accepted by another device");
        let codes: Vec<u8> = Exit::ALL.iter().map(|exit| *exit as u8).collect();
        assert_eq!(codes, (0..=9).collect::<Vec<u8>>());
    }

    #[test]
    fn clap_s_usage_errors_exit_with_the_table_s_usage_code() {
        let error = clap::Error::raw(clap::error::ErrorKind::InvalidValue, "bad");
        assert_eq!(error.exit_code(), i32::from(Exit::Usage as u8));
    }
}
