//! Attacks the relay's request bodies: arbitrary bytes as `CreateMailboxRequest`,
//! `UpdateMailboxRequest` and `ReadMailboxRequest`, through the very functions the relay calls
//! (`tigress_rules::body`) with the default `Limits`, and the sender's display information
//! through the preview page. Asserts nothing panics, that a body parses back to itself once
//! serialised (what the SDK sends is what the relay reads), that no JSON array passes for the body
//! or one of its object members, that an accepted
//! expiration lies in (now, now + maximum lifetime], that accepted access rights grant something
//! and have one spelling per letter, that accepted payload data is base64, and that the preview
//! page holds no markup or quote that came from the sender (in every language it is written in;
//! the sender's title also serves as a hostile `Accept-Language`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tigress_preview::{AppOffer, LANGUAGES, Preview};
use tigress_proto::aead::decode_lenient;
use tigress_proto::share_url::Vertical;
use tigress_proto::wire::{
    CreateMailboxRequest, Display, DisplayInformation, NotificationToken, Payload,
    ReadMailboxRequest, UpdateMailboxRequest,
};
use tigress_rules::{Limits, body, mailbox};

/// A fixed clock: the checks take `now` as an argument, and a crash must replay.
const NOW: i64 = 2_000_000_000;

/// The public URL the preview page names; any mailbox URL the relay emits looks like it.
const URL: &str = "https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40";

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();

    if let Some(create) = parse::<CreateMailboxRequest>(data) {
        check_payload(&create.payload, &limits);
        if let Some(display) = &create.display_information {
            if mailbox::check_display(display, &limits).is_ok() {
                assert!(!display.title.is_empty() && !display.image_url.is_empty());
                assert!(!display.image_url.chars().any(char::is_whitespace), "a URL with blanks");
            }
            check_preview(display);
        }
        if let Some(url) = &create.display_information_url {
            check_display_url(url, &limits);
        }
        let both = create.display_information.is_some() && create.display_information_url.is_some();
        let neither =
            create.display_information.is_none() && create.display_information_url.is_none();
        if both || neither {
            assert!(body::create_request(data, NOW, &limits).is_err(), "not exactly one display");
        }
        if let Some(token) = &create.notification_token {
            check_token(token, &limits);
        }
        let configuration = create.mailbox_configuration.clone().unwrap_or_default();
        check_rights(configuration.access_rights.as_deref());
        check_expiration(configuration.expiration.as_deref(), &limits);
        // The relay's whole check of the bytes agrees with the checks of its parts.
        let whole = body::create_request(data, NOW, &limits);
        assert_eq!(whole.is_ok(), body::check_create(create, NOW, &limits).is_ok());
    }

    if let Some(update) = parse::<UpdateMailboxRequest>(data) {
        check_payload(&update.payload, &limits);
        if let Some(token) = &update.notification_token {
            check_token(token, &limits);
        }
        assert_eq!(
            body::update_request(data, &limits).is_ok(),
            mailbox::check_payload(&update.payload, &limits).is_ok()
                && update
                    .notification_token
                    .as_ref()
                    .is_none_or(|t| mailbox::check_token(t, &limits).is_ok())
        );
    }

    // A read's body is optional: the relay takes a blank one, or `null`, for none.
    if let Ok(read) = body::read_request(data, &limits)
        && let Some(token) = &read.notification_token
    {
        check_token(token, &limits);
    }
    if let Some(Some(read)) = parse::<Option<ReadMailboxRequest>>(data) {
        // Refused only for its token or for a cursor beyond what JSON holds exactly.
        let cursor_ok = read.after.is_none_or(|after| after <= body::MAX_CURSOR);
        assert!(
            body::read_request(data, &limits).is_ok()
                || read.notification_token.is_some()
                || !cursor_ok
        );
    }
});

/// Parses a body as the relay does ([`body::parse_optional`]), checks that no array stood in for
/// an object, and that serialising the value gives a body that parses to the same value.
fn parse<T: DeserializeOwned + Serialize + PartialEq>(data: &[u8]) -> Option<T> {
    let value: T = body::parse_optional(data).ok()??;
    if let Ok(json) = serde_json::from_slice::<Value>(data) {
        assert!(!json.is_array(), "an array passed for a request body");
        for member in ["payload", "displayInformation", "notificationToken", "mailboxConfiguration"]
        {
            assert!(!json.get(member).is_some_and(Value::is_array), "an array passed for {member}");
        }
    }
    let json = serde_json::to_vec(&value).expect("a request body serialises");
    let again: T = body::parse_optional(&json)
        .expect("a serialised request body parses")
        .expect("a serialised request body is not blank");
    // Bodies carry ciphertext and push tokens: compared, never printed.
    assert!(again == value, "a request body changed on a JSON round trip");
    Some(value)
}

fn check_payload(payload: &Payload, limits: &Limits) {
    if mailbox::check_payload(payload, limits).is_ok() {
        assert!(!payload.kind.is_empty() && !payload.data.is_empty());
        assert!(decode_lenient(&payload.data).is_some(), "accepted payload data is not base64");
    }
}

fn check_token(token: &NotificationToken, limits: &Limits) {
    if mailbox::check_token(token, limits).is_ok() {
        assert!(!token.kind.is_empty() && !token.token_data.is_empty());
        if let Some(topic) = &token.topic {
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
            assert!(!topic.is_empty() && topic.chars().all(allowed), "an accepted topic");
        }
    }
}

/// An accepted `displayInformationUrl` is an https URL without blanks, credentials or
/// fragment; on the preview page it is escaped like any text of the sender's.
fn check_display_url(url: &str, limits: &Limits) {
    if mailbox::check_display_url(url, limits).is_ok() {
        assert!(url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")), "not https");
        assert!(!url.contains('#') && !url.chars().any(char::is_whitespace));
    }
    same_markup(&Display::Url(url.to_owned()), &Display::Url(String::new()));
}

/// The page of `display` has exactly the tags and quotes of the page of `template`, in each
/// language.
fn same_markup(display: &Display, template: &Display) {
    let app = AppOffer::default();
    let page = |display: &Display, language: &str| {
        let preview = Preview {
            display,
            share_url: URL,
            vertical: Some(Vertical::Car),
            expires_at: NOW + 3_600,
            now: NOW,
            app: &app,
        };
        tigress_preview::render(&preview, Some(language)).html
    };
    for language in LANGUAGES {
        let (page, template) = (page(display, language), page(template, language));
        for c in ['<', '>', '"', '\''] {
            assert_eq!(
                page.matches(c).count(),
                template.matches(c).count(),
                "{c:?} from the sender"
            );
        }
    }
}

fn check_rights(requested: Option<&str>) {
    let Ok(rights) = mailbox::resolve_rights(requested) else {
        return;
    };
    assert!(rights.read || rights.write || rights.delete, "accepted rights grant nothing");
    let canonical = rights.to_string();
    assert_eq!(canonical.parse(), Ok(rights));
    if let Some(text) = requested {
        // Each letter at most once: the request is a reordering (or recasing) of the canonical.
        assert_eq!(text.chars().count(), canonical.len());
    }
}

fn check_expiration(requested: Option<&str>, limits: &Limits) {
    let Ok(at) = mailbox::resolve_expiration(requested, NOW, limits) else {
        return;
    };
    let latest = NOW + i64::try_from(limits.max_lifetime.as_secs()).expect("a sane lifetime");
    assert!(NOW < at && at <= latest, "expiration {at} outside ({NOW}, {latest}]");
}

/// The preview page is markup around the sender's text: whatever the text, the page has exactly
/// the tags and quotes of its template.
fn check_preview(display: &DisplayInformation) {
    let empty = DisplayInformation {
        title: String::new(),
        description: String::new(),
        image_url: String::new(),
    };
    same_markup(&Display::Inline(display.clone()), &Display::Inline(empty));
    // Any header picks one of the languages, and never panics.
    let language = tigress_preview::negotiate(Some(&display.title)).tag();
    assert!(LANGUAGES.contains(&language));
}
