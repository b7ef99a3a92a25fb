//! The relay's route templates, as axum matches them and `MatchedPath` reports them, and the
//! configurable segment of the mailbox routes. A leaf: the router ([`crate::http`]), the metrics
//! ([`crate::metrics`]) and the configuration all name routes by these.

use std::fmt;
use std::str::FromStr;

use tigress_proto::share_url::{
    DEFAULT_MAILBOX_SEGMENT, MAX_MAILBOX_SEGMENT_LEN, is_mailbox_segment,
};

/// CreateMailbox, under the default segment `m`.
pub const CREATE: &str = "/v1/m";
/// The operations on one mailbox, under the default segment `m`.
pub const MAILBOX: &str = "/v1/m/{id}";
/// Liveness.
pub const HEALTHZ: &str = "/healthz";
/// The OpenAPI document.
pub const OPENAPI: &str = "/openapi.json";
/// The relay descriptor (what this relay serves and allows).
pub const DESCRIPTOR: &str = "/.well-known/tigress-relay";
/// iOS universal links.
pub const APPLE_APP_SITE_ASSOCIATION: &str = "/.well-known/apple-app-site-association";
/// Android app links.
pub const ASSET_LINKS: &str = "/.well-known/assetlinks.json";

/// The path segment after the version in the mailbox routes: 1 to 32 lowercase ASCII letters,
/// digits, `-` or `_`, so that it is one path segment that needs no escaping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxSegment(String);

impl MailboxSegment {
    /// The segment, e.g. `m`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for MailboxSegment {
    fn default() -> Self {
        Self(DEFAULT_MAILBOX_SEGMENT.to_owned())
    }
}

/// A mailbox path segment with characters other than lowercase letters, digits, `-` and `_`,
/// or of another length than 1 to 32.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a mailbox path segment: expected 1 to {MAX_MAILBOX_SEGMENT_LEN} lowercase \
     letters, digits, hyphens or underscores, such as m"
)]
pub struct MailboxSegmentError(String);

impl FromStr for MailboxSegment {
    type Err = MailboxSegmentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if is_mailbox_segment(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(MailboxSegmentError(text.to_owned()))
        }
    }
}

impl fmt::Display for MailboxSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// CreateMailbox under the segment a relay was configured with (docs/API.md, "The mailbox
/// path").
pub fn create(segment: &str) -> String {
    format!("/v1/{segment}")
}

/// The operations on one mailbox, under the segment a relay was configured with.
pub fn mailbox(segment: &str) -> String {
    format!("/v1/{segment}/{{id}}")
}

/// Whether `route` is a [`create`] template, whatever its segment.
pub fn is_create(route: &str) -> bool {
    route.strip_prefix("/v1/").is_some_and(|segment| !segment.is_empty() && !segment.contains('/'))
}

/// Whether `route` is a [`mailbox`] template, whatever its segment.
pub fn is_mailbox(route: &str) -> bool {
    route
        .strip_prefix("/v1/")
        .and_then(|rest| rest.strip_suffix("/{id}"))
        .is_some_and(|segment| !segment.is_empty() && !segment.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_of_any_segment_are_recognised_and_nothing_else() {
        for segment in ["m", "mailbox"] {
            assert!(is_create(&create(segment)) && !is_mailbox(&create(segment)));
            assert!(is_mailbox(&mailbox(segment)) && !is_create(&mailbox(segment)));
        }
        assert_eq!((create("m"), mailbox("m")), (CREATE.to_owned(), MAILBOX.to_owned()));
        for other in [HEALTHZ, OPENAPI, DESCRIPTOR, ASSET_LINKS, "/v1/", "/v1//{id}", "/v2/m"] {
            assert!(!is_create(other) && !is_mailbox(other), "{other}");
        }
    }
}
