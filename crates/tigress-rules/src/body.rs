//! Request bodies as the relay reads them: the bytes parsed into the wire types of
//! `tigress_proto::wire`, then checked against the [`Limits`] (§6). The relay and the fuzz
//! targets call these same functions, so what one accepts the other tests.

use std::time::Duration;

use serde::de::DeserializeOwned;
use tigress_proto::AccessRights;
use tigress_proto::wire::{
    CreateMailboxRequest, Display, NotificationToken, Payload, ReadMailboxRequest,
    UpdateMailboxRequest,
};

use crate::limits::Limits;
use crate::mailbox::{self, Invalid};

/// A create request that passed every check: what the store keeps, but for the mailbox id and
/// the sender's claim, which the relay adds.
#[derive(Debug)]
pub struct ValidCreate {
    /// The first message.
    pub payload: Payload,
    /// What the preview shows.
    pub display: Display,
    /// The receiver's rights (default `RWD`).
    pub rights: AccessRights,
    /// How many receivers may bind in turn, if capped.
    pub max_receivers: Option<u32>,
    /// The event endpoint named, as given: the relay checks it against its own.
    pub event_endpoint: Option<String>,
    /// Unix seconds, clamped to the longest lifetime.
    pub expires_at: i64,
    /// The sender's push token.
    pub sender_token: Option<NotificationToken>,
}

/// Parses an optional body: `None` for an empty or blank one.
pub fn parse_optional<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, Invalid> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
    if array_for_object(&value) {
        return Err(Invalid::Body(
            "the request body and its members that are objects must not be arrays".into(),
        ));
    }
    // The path names the member at fault (`notificationToken.tokenTopic`), which serde's own
    // message leaves out.
    serde_path_to_error::deserialize(value).map(Some).map_err(|e| {
        let path = e.path().to_string();
        let e = e.into_inner();
        match path.as_str() {
            "." => malformed(&e),
            _ => Invalid::Body(format!("the request body is not valid: {path}: {e}")),
        }
    })
}

/// Parses a body that must be there.
pub fn parse_required<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Invalid> {
    parse_optional(bytes)?.ok_or_else(|| Invalid::Body("a JSON request body is required".into()))
}

fn malformed(e: &serde_json::Error) -> Invalid {
    Invalid::Body(format!("the request body is not valid: {e}"))
}

/// Serde's derived structs also read a JSON array, member by member in order, so `[…]` would
/// pass for the body or one of its object members. Every body is an object, as are these members.
fn array_for_object(body: &serde_json::Value) -> bool {
    const OBJECT_MEMBERS: [&str; 4] =
        ["payload", "displayInformation", "notificationToken", "mailboxConfiguration"];
    body.is_array() || OBJECT_MEMBERS.iter().any(|m| body.get(m).is_some_and(|v| v.is_array()))
}

/// CreateMailbox's body (§6.1), parsed and checked; `now` dates the expiration.
pub fn create_request(bytes: &[u8], now: i64, limits: &Limits) -> Result<ValidCreate, Invalid> {
    check_create(parse_required(bytes)?, now, limits)
}

/// Checks a parsed create request and resolves its configuration.
pub fn check_create(
    body: CreateMailboxRequest,
    now: i64,
    limits: &Limits,
) -> Result<ValidCreate, Invalid> {
    mailbox::check_payload(&body.payload, limits)?;
    let display = Display::from_members(body.display_information, body.display_information_url)
        .ok_or_else(|| {
            Invalid::Field(
                "exactly one of displayInformation and displayInformationUrl must be present"
                    .into(),
            )
        })?;
    match &display {
        Display::Inline(information) => mailbox::check_display(information, limits)?,
        Display::Url(url) => mailbox::check_display_url(url, limits)?,
    }
    if let Some(token) = &body.notification_token {
        mailbox::check_token(token, limits)?;
    }
    let configuration = body.mailbox_configuration.unwrap_or_default();
    Ok(ValidCreate {
        rights: mailbox::resolve_rights(configuration.access_rights.as_deref())?,
        max_receivers: mailbox::resolve_max_receivers(configuration.max_receivers)?,
        event_endpoint: configuration.event_endpoint,
        expires_at: mailbox::resolve_expiration(configuration.expiration.as_deref(), now, limits)?,
        payload: body.payload,
        display,
        sender_token: body.notification_token,
    })
}

/// UpdateMailbox's body (§6.2), parsed and checked.
pub fn update_request(bytes: &[u8], limits: &Limits) -> Result<UpdateMailboxRequest, Invalid> {
    let body: UpdateMailboxRequest = parse_required(bytes)?;
    mailbox::check_payload(&body.payload, limits)?;
    if let Some(token) = &body.notification_token {
        mailbox::check_token(token, limits)?;
    }
    Ok(body)
}

/// The largest read cursor (`after`): 2^53 - 1, the largest integer every JSON reader holds
/// exactly (RFC 7493, I-JSON). No log comes near it; a larger cursor is refused before the store
/// is touched rather than overflowing one store's integers and not another's.
pub const MAX_CURSOR: u64 = (1 << 53) - 1;

/// ReadSecureContentFromMailbox's optional body (§6.3): an empty body and JSON `null` both mean
/// none, read as the default (no token, cursor 0).
pub fn read_request(bytes: &[u8], limits: &Limits) -> Result<ReadMailboxRequest, Invalid> {
    let body: Option<ReadMailboxRequest> = parse_optional(bytes)?.flatten();
    let body = body.unwrap_or_default();
    if body.after.is_some_and(|after| after > MAX_CURSOR) {
        return Err(Invalid::Field(format!("after must be at most {MAX_CURSOR}")));
    }
    if let Some(token) = &body.notification_token {
        mailbox::check_token(token, limits)?;
    }
    Ok(body)
}

/// The `wait` preference among the values of `Prefer` headers (RFC 7240), in whole seconds and
/// shortened to `max`. `None` when no value asks to wait.
pub fn wait_preference<'a>(
    prefer_values: impl IntoIterator<Item = &'a str>,
    max: Duration,
) -> Option<Duration> {
    prefer_values
        .into_iter()
        .flat_map(|value| value.split([',', ';']))
        .find_map(|preference| {
            let (name, value) = preference.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("wait") {
                return None;
            }
            value.trim().trim_matches('"').parse::<u64>().ok().map(Duration::from_secs)
        })
        .map(|wait| wait.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_an_array_for_the_body_or_an_object_member() {
        let limits = Limits::default();
        for body in [
            "[]",
            r#"{"payload":[],"displayInformation":{}}"#,
            r#"{"payload":{"type":"t","data":"AA"},"notificationToken":["a","b"]}"#,
        ] {
            let refused = update_request(body.as_bytes(), &limits).unwrap_err();
            assert_eq!(refused.code(), "malformed_body", "{body}");
        }
    }

    #[test]
    fn a_create_carries_exactly_one_of_the_display_members() {
        let limits = Limits::default();
        let payload = r#""payload":{"type":"AEAD_AES_128_GCM","data":"AAAA""#;
        let inline = r#""displayInformation":{"title":"t","description":"","imageURL":"https://i.example/x.png"}"#;
        let url = r#""displayInformationUrl":"https://vendor.example/s/1""#;
        let create = |members: &[&str]| {
            let body: String = members.iter().map(|m| format!(",{m}")).collect();
            create_request(format!("{{{payload}}}{body}}}").as_bytes(), 0, &limits)
        };
        assert!(matches!(create(&[inline]).unwrap().display, Display::Inline(_)));
        assert_eq!(
            create(&[url]).unwrap().display,
            Display::Url("https://vendor.example/s/1".into())
        );
        for members in [&[inline, url][..], &[][..]] {
            let refused = create(members).unwrap_err();
            assert_eq!(refused.code(), "invalid_field");
            let message = refused.to_string();
            assert!(message.contains("displayInformation and displayInformationUrl"), "{message}");
        }
    }

    #[test]
    fn a_blank_or_null_read_body_is_none() {
        let limits = Limits::default();
        for body in ["", "  \n", "null"] {
            let read = read_request(body.as_bytes(), &limits).expect(body);
            assert_eq!(read.after, None);
            assert!(read.notification_token.is_none());
        }
        assert_eq!(
            parse_required::<UpdateMailboxRequest>(b" ").unwrap_err().to_string(),
            "a JSON request body is required"
        );
    }

    #[test]
    fn refuses_a_cursor_beyond_what_json_holds_exactly() {
        let limits = Limits::default();
        let at_most = format!(r#"{{"after":{MAX_CURSOR}}}"#);
        assert_eq!(read_request(at_most.as_bytes(), &limits).unwrap().after, Some(MAX_CURSOR));
        for after in [MAX_CURSOR + 1, 100_000_000_000_000_000, u64::MAX] {
            let body = format!(r#"{{"after":{after}}}"#);
            let refused = read_request(body.as_bytes(), &limits).unwrap_err();
            assert_eq!(refused.code(), "invalid_field", "{after}");
        }
    }

    #[test]
    fn reads_the_wait_preference() {
        let max = Duration::from_secs(60);
        let wait = |values: &[&str]| wait_preference(values.iter().copied(), max);
        assert_eq!(wait(&["wait=5"]), Some(Duration::from_secs(5)));
        assert_eq!(wait(&["respond-async, Wait = \"7\""]), Some(Duration::from_secs(7)));
        assert_eq!(wait(&["handling=lenient", "wait=900"]), Some(max));
        assert_eq!(wait(&["wait=soon", "return=minimal"]), None);
        assert_eq!(wait(&[]), None);
    }
}
