//! The relay's route templates, as axum matches them and `MatchedPath` reports them. A leaf:
//! the router ([`crate::http`]) and the metrics ([`crate::metrics`]) both name routes by these.

/// CreateMailbox.
pub const CREATE: &str = "/v1/m";
/// The operations on one mailbox.
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
