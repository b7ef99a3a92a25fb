//! The relay's route templates, as axum matches them and `MatchedPath` reports them. A leaf:
//! the router ([`crate::http`]) and the metrics ([`crate::metrics`]) both name routes by these.

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
