//! HTTP plumbing shared by the providers: client settings, URL checks, content-free errors.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::{Host, Url};

use crate::PushError;
use crate::config::ConfigError;

/// Longest wait for a TCP and TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest wait for a whole request, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Most of an error answer read: enough for any provider's JSON error, bounded against a
/// misbehaving server.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// A client builder with the settings every provider shares: timeouts, and no redirects (a
/// redirect could lead a request somewhere its checks did not cover).
pub(crate) fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("tigress-push/", env!("CARGO_PKG_VERSION")))
}

/// Parses a configured service URL: https, or http to a loopback address (a test server).
///
/// Returns it without a trailing slash, ready for paths to be appended.
pub(crate) fn service_url(
    provider: &'static str,
    field: &'static str,
    value: &str,
) -> Result<String, ConfigError> {
    let invalid = |reason| ConfigError::InvalidField { provider, field, reason };
    let url = Url::parse(value).map_err(|_| invalid("not a URL"))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid("a URL with a query, fragment or user name"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => return Err(invalid("not an https URL")),
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Whether the URL's host is a loopback address or `localhost`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A transport failure as a [`PushError::Transient`], without the URL reqwest would print.
pub(crate) fn transport_error(error: &reqwest::Error) -> PushError {
    let what = if error.is_timeout() {
        "the request timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer could not be read"
    } else {
        "the request failed"
    };
    PushError::Transient(what.to_owned())
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of an answer; a read error gives what arrived.
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ERROR_BODY {
            break;
        }
    }
    body
}

/// A provider's short error code (e.g. `BadDeviceToken`) if it looks like one, so it can go into
/// messages and logs without carrying arbitrary text from the server.
pub(crate) fn error_code(value: &str) -> Option<&str> {
    let plain = value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    (plain && !value.is_empty() && value.len() <= 64).then_some(value)
}

/// Seconds since the Unix epoch, for JWT `iat` and `exp` claims.
pub(crate) fn unix_now() -> u64 {
    // A clock before 1970 is broken; 0 makes the provider refuse the JWT, which is then visible.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_url_must_be_https_except_to_loopback() {
        let ok = |v| service_url("p", "base_url", v);
        assert_eq!(ok("https://api.push.apple.com").unwrap(), "https://api.push.apple.com");
        assert_eq!(ok("https://fcm.example/").unwrap(), "https://fcm.example");
        assert_eq!(ok("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(ok("http://[::1]:80").unwrap(), "http://[::1]");
        assert!(ok("http://localhost:1").is_ok());
        assert!(ok("http://api.push.apple.com").is_err());
        assert!(ok("http://10.0.0.1").is_err());
        assert!(ok("ftp://example.com").is_err());
        assert!(ok("https://example.com/?x=1").is_err());
        assert!(ok("https://user@example.com").is_err());
        assert!(ok("not a url").is_err());
    }

    #[test]
    fn error_code_passes_only_short_identifiers() {
        assert_eq!(error_code("BadDeviceToken"), Some("BadDeviceToken"));
        assert_eq!(error_code("UNREGISTERED"), Some("UNREGISTERED"));
        assert_eq!(error_code("invalid_grant"), Some("invalid_grant"));
        assert_eq!(error_code(""), None);
        assert_eq!(error_code("token abc123 is bad"), None);
        assert_eq!(error_code(&"A".repeat(65)), None);
    }
}
