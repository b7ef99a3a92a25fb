//! The share link's preview page (docs/API.md, "The preview page"): what a person sees who
//! opens a share link without the wallet app, or in a chat app's link preview. It shows what
//! the sender chose to show (escaped), the kind of key from the link's `?v=`, when the share
//! expires, what to do next, and what the relay cannot see, in the viewer's language from
//! `Accept-Language` (Fluent catalogs in `locales/`). No script of any kind, no request but the
//! sender's image, and no I/O here: the caller passes the time.

mod locale;

use fluent_bundle::FluentValue;
pub use locale::{LANGUAGES, Locale, negotiate};
use tigress_proto::share_url::Vertical;
use tigress_proto::wire::Display;

/// Headers sent with the preview (and, since they cost nothing, every response): no script can
/// run, no other site can frame the page, nothing is cached or indexed, no referrer leaks the
/// mailbox URL, and a browser that reached the relay over HTTPS keeps to HTTPS for a year
/// (browsers ignore that header over plain HTTP, so a relay behind a TLS proxy sends it too).
/// `includeSubDomains` is left to the operator: the relay does not own its domain's other hosts.
pub const SECURITY_HEADERS: [(&str, &str); 7] = [
    (
        "content-security-policy",
        "default-src 'none'; img-src https:; style-src 'unsafe-inline'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("strict-transport-security", "max-age=31536000"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-robots-tag", "noindex"),
];

/// The wallet app the operator's share links open, as the page names it (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppOffer {
    /// The app's name, e.g. `Example Wallet`.
    pub name: Option<String>,
    /// Its App Store page (`https`).
    pub app_store_url: Option<String>,
    /// Its Google Play page (`https`).
    pub play_store_url: Option<String>,
}

/// What one preview page shows.
pub struct Preview<'a> {
    /// What the sender gave: inline texts and image, or the URL of its own page.
    pub display: &'a Display,
    /// The share's public URL (without the secret, which never reaches the relay): `og:url`.
    pub share_url: &'a str,
    /// The kind of key, from the link's `?v=`; `None` when the link has none.
    pub vertical: Option<Vertical>,
    /// When the share expires, and the time now (Unix seconds).
    pub expires_at: i64,
    pub now: i64,
    /// The app to name and its store pages.
    pub app: &'a AppOffer,
}

/// A rendered page and the language it is in (for `Content-Language`).
pub struct Page {
    pub html: String,
    pub language: &'static str,
}

/// The page's style: readable on a phone and on a desktop, long words wrapped so nothing
/// overflows, and the next step worded for the device: a phone or a tablet (narrow, or touch
/// its main pointer) is told to open the link there; a wide screen driven by a mouse, a
/// trackpad or no pointer at all (a desktop, a laptop) to open it on the phone.
const STYLE: &str = "\
:root{color-scheme:light dark}\
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:1.5rem 1rem}\
main{max-width:34rem;margin:0 auto}\
h1,h2,p,dd,a{overflow-wrap:anywhere}\
h1{font-size:1.6rem;margin:.25rem 0 1rem}\
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}\
.lead{margin:0;opacity:.8}\
img{display:block;max-width:100%;height:auto;border-radius:.75rem}\
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;margin:1rem 0}\
dt{font-weight:600}\
dd{margin:0}\
.stores a{display:inline-block;padding:.5rem 1rem;margin:.25rem .5rem .25rem 0;border:1px solid;border-radius:.5rem;text-decoration:none}\
.desktop{display:none}\
@media (min-width:48rem) and (pointer:fine),(min-width:48rem) and (pointer:none){.phone{display:none}.desktop{display:block}}\
.blind{font-size:.9rem;opacity:.8;border-top:1px solid;margin-top:2rem;padding-top:1rem}";

/// Renders the page of `preview` for a viewer whose browser sent `accept_language`.
pub fn render(preview: &Preview<'_>, accept_language: Option<&str>) -> Page {
    let locale = negotiate(accept_language);
    let text = |id: &str| escape(&locale.text(id, &[]));
    let with = |id: &str, args: &[(&str, FluentValue<'_>)]| escape(&locale.text(id, args));
    let shared = text("shared-with-you");
    let url = escape(preview.share_url);

    let (head, top) = match preview.display {
        Display::Inline(display) => {
            let title = escape(&display.title);
            let description = escape(&display.description);
            let image = escape(&display.image_url);
            let head = format!(
                "<title>{title}</title>\n\
                 <meta property=\"og:title\" content=\"{title}\">\n\
                 <meta property=\"og:description\" content=\"{description}\">\n\
                 <meta property=\"og:image\" content=\"{image}\">\n"
            );
            let top = format!(
                "<p class=\"lead\">{shared}</p>\n<h1>{title}</h1>\n<img src=\"{image}\" alt=\"\">\n\
                 <p>{description}</p>\n"
            );
            (head, top)
        }
        Display::Url(display_url) => {
            let head = format!(
                "<title>{shared}</title>\n<meta property=\"og:title\" content=\"{shared}\">\n"
            );
            let top = format!(
                "<h1>{shared}</h1>\n<p><a href=\"{}\" rel=\"noopener noreferrer nofollow\">{}</a></p>\n",
                escape(display_url),
                text("details-link"),
            );
            (head, top)
        }
    };

    let kind = preview.vertical.map(|vertical| {
        let id = match vertical {
            Vertical::Car => "kind-car",
            Vertical::Home => "kind-home",
            Vertical::Access => "kind-access",
        };
        format!("<dt>{}</dt><dd>{}</dd>\n", text("kind-label"), text(id))
    });
    let (stamp, written) = absolute(preview.expires_at);
    let expires = format!(
        "<dt>{}</dt><dd><time datetime=\"{stamp}\">{}</time> ({})</dd>\n",
        text("expires-label"),
        with("expires-at", &[("date", written.into())]),
        relative(locale, preview.expires_at - preview.now),
    );

    let app = preview.app.name.as_deref();
    let open = match app {
        Some(name) => with("next-phone-app", &[("app", name.into())]),
        None => text("next-phone"),
    };
    let stores: Vec<String> = [
        (preview.app.app_store_url.as_deref(), "store-apple"),
        (preview.app.play_store_url.as_deref(), "store-google"),
    ]
    .into_iter()
    .filter_map(|(url, id)| {
        url.map(|url| {
            format!("<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>", escape(url), text(id))
        })
    })
    .collect();
    let get = if stores.is_empty() {
        String::new()
    } else {
        let invite = match app {
            Some(name) => with("get-app", &[("app", name.into())]),
            None => text("get-wallet-app"),
        };
        format!("<p>{invite}</p>\n<p class=\"stores\">{}</p>\n", stores.join(" "))
    };

    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n{head}\
         <meta property=\"og:url\" content=\"{url}\">\n<meta property=\"og:type\" content=\"website\">\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n{top}<dl>\n{kind}{expires}</dl>\n\
         <section>\n<h2>{next}</h2>\n<div class=\"phone\">\n<p>{open}</p>\n{get}</div>\n\
         <div class=\"desktop\">\n<p>{desktop}</p>\n</div>\n</section>\n\
         <p class=\"blind\">{blind}</p>\n</main>\n</body>\n</html>\n",
        lang = locale.tag(),
        kind = kind.unwrap_or_default(),
        next = text("next-heading"),
        desktop = text("next-desktop"),
        blind = text("relay-blind"),
    );
    Page { html, language: locale.tag() }
}

/// The expiry as an RFC 3339 stamp (for `<time datetime>`) and written out for people, in UTC.
fn absolute(at: i64) -> (String, String) {
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(at) else {
        return (String::new(), String::new());
    };
    let stamp = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let written = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    (at.format(&stamp).unwrap_or_default(), at.format(&written).unwrap_or_default())
}

/// How long until the expiry, in the largest unit that reads well: minutes under an hour
/// (at least one), hours under two days, days beyond; each rounded to the nearest, and the
/// unit chosen after rounding (47 h 59 min is "2 days", not "48 hours").
fn relative(locale: &Locale, seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (minutes, hours) = ((seconds + 30) / 60, (seconds + 1_800) / 3_600);
    let (id, count) = if minutes < 60 {
        ("expires-in-minutes", minutes.max(1))
    } else if hours < 48 {
        ("expires-in-hours", hours)
    } else {
        ("expires-in-days", (seconds + 43_200) / 86_400)
    };
    escape(&locale.text(id, &[("count", count.into())]))
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use tigress_proto::wire::DisplayInformation;

    use super::*;

    const NOW: i64 = 1_900_000_000;
    const URL: &str = "https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40";

    fn inline(title: &str, description: &str, image: &str) -> Display {
        Display::Inline(DisplayInformation {
            title: title.into(),
            description: description.into(),
            image_url: image.into(),
        })
    }

    fn page(display: &Display, app: &AppOffer, vertical: Option<Vertical>, language: &str) -> Page {
        let preview = Preview {
            display,
            share_url: URL,
            vertical,
            expires_at: NOW + 3 * 3_600 + 60,
            now: NOW,
            app,
        };
        render(&preview, Some(language))
    }

    #[test]
    fn escapes_markup_in_every_value() {
        let display = inline(
            r#""><script>alert(1)</script>"#,
            "a & b <i>",
            "https://img.example/x.png?a=1&b='2'",
        );
        let app = AppOffer {
            name: Some("<b>Wallet</b>".into()),
            app_store_url: Some("https://apps.example/\"x".into()),
            play_store_url: None,
        };
        let html = page(&display, &app, None, "en").html;
        assert!(!html.contains("<script") && !html.contains("<b>"));
        assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("a &amp; b &lt;i&gt;"));
        assert!(html.contains("a=1&amp;b=&#39;2&#39;"));
        assert!(html.contains("&lt;b&gt;Wallet&lt;/b&gt;"));
        assert!(html.contains("https://apps.example/&quot;x"));
        assert!(html.contains(r#"<meta property="og:type" content="website">"#));
    }

    #[test]
    fn the_page_says_what_until_when_what_next_and_what_the_relay_cannot_see() {
        let display = inline("Car Key for Anna", "Weekend", "https://img.example/car.png");
        let app = AppOffer {
            name: Some("Example Wallet".into()),
            app_store_url: Some("https://apps.apple.example/app/id1".into()),
            play_store_url: Some("https://play.google.example/store/apps/details?id=x".into()),
        };
        let en = page(&display, &app, Some(Vertical::Car), "en-GB,en;q=0.9");
        assert_eq!(en.language, "en");
        for expected in [
            "<html lang=\"en\">",
            "<h1>Car Key for Anna</h1>",
            "Car key",
            "<time datetime=\"2030-03-17T20:47:40Z\">2030-03-17 20:47 UTC</time> (in 3 hours)",
            "Open this link with Example Wallet",
            "href=\"https://apps.apple.example/app/id1\"",
            ">Google Play</a>",
            "Open this link on your phone",
            "cannot read it or use it",
        ] {
            assert!(en.html.contains(expected), "{expected}:\n{}", en.html);
        }
        let de = page(&display, &app, Some(Vertical::Home), "de-AT");
        assert_eq!(de.language, "de");
        for expected in [
            "<html lang=\"de\">",
            "Haustürschlüssel",
            "noch 3 Stunden",
            "Öffne diesen Link mit Example Wallet",
        ] {
            assert!(de.html.contains(expected), "{expected}:\n{}", de.html);
        }
        // Without an app, the page speaks of "the wallet app" and offers no store.
        let plain = page(&display, &AppOffer::default(), None, "ja");
        assert!(!plain.html.contains("class=\"stores\"") && !plain.html.contains("キーの種類"));
        assert!(plain.html.contains("あと 3 時間"), "{}", plain.html);
    }

    #[test]
    fn a_linked_preview_links_to_the_sender_s_page_under_a_generic_title() {
        let display = Display::Url("https://vendor.example/s/1?a=1&b=2".into());
        let fr = page(&display, &AppOffer::default(), Some(Vertical::Access), "fr");
        assert!(
            fr.html.contains("<title>Quelqu&#39;un a partagé une clé avec vous</title>"),
            "{}",
            fr.html
        );
        assert!(fr.html.contains("href=\"https://vendor.example/s/1?a=1&amp;b=2\""));
        assert!(!fr.html.contains("<img") && !fr.html.contains("og:image"));
    }

    #[test]
    fn the_time_left_is_written_in_a_unit_that_reads_well() {
        let en = negotiate(None);
        for (seconds, expected) in [
            (-5, "in 1 minute"),
            (10, "in 1 minute"),
            (59 * 60, "in 59 minutes"),
            (3_600, "in 1 hour"),
            (59 * 60 + 50, "in 1 hour"),
            (47 * 3_600, "in 47 hours"),
            (48 * 3_600 - 60, "in 2 days"),
            (48 * 3_600, "in 2 days"),
            (7 * 86_400 - 1, "in 7 days"),
        ] {
            assert_eq!(relative(en, seconds), expected, "{seconds}");
        }
    }
}
