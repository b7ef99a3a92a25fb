//! The link-preview page (§11): OpenGraph tags, escaped, with no script of any kind.

use tigress_proto::wire::DisplayInformation;

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

/// Renders the preview page of a mailbox whose public URL is `url`.
pub fn render(display: &DisplayInformation, url: &str) -> String {
    let title = escape(&display.title);
    let description = escape(&display.description);
    let image = escape(&display.image_url);
    let url = escape(url);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:image" content="{image}">
<meta property="og:url" content="{url}">
<meta property="og:type" content="website">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}img{{max-width:100%}}</style>
</head>
<body>
<h1>{title}</h1>
<img src="{image}" alt="">
<p>{description}</p>
<p>Someone shared a key with you. Open this link on the phone where you keep your keys to accept it.</p>
</body>
</html>
"#
    )
}

/// Renders the preview page of a mailbox whose sender gave its preview as the page of its
/// vendor (`displayInformationUrl`): a generic title and a link to that page, which only the
/// viewer's browser may follow.
pub fn render_linked(display_url: &str, url: &str) -> String {
    let display_url = escape(display_url);
    let url = escape(url);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>A key was shared with you</title>
<meta property="og:title" content="A key was shared with you">
<meta property="og:url" content="{url}">
<meta property="og:type" content="website">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}</style>
</head>
<body>
<h1>A key was shared with you</h1>
<p><a href="{display_url}" rel="noopener noreferrer nofollow">See the details from the sender</a></p>
<p>Open this link on the phone where you keep your keys to accept it.</p>
</body>
</html>
"#
    )
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
    use super::*;

    #[test]
    fn escapes_markup_in_every_value() {
        let display = DisplayInformation {
            title: r#""><script>alert(1)</script>"#.into(),
            description: "a & b <i>".into(),
            image_url: "https://img.example/x.png?a=1&b='2'".into(),
        };
        let page = render(&display, "https://relay.example/v1/m/x");
        assert!(!page.contains("<script"));
        assert!(page.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("a &amp; b &lt;i&gt;"));
        assert!(page.contains("a=1&amp;b=&#39;2&#39;"));
        assert!(page.contains(r#"<meta property="og:type" content="website">"#));
    }
}
