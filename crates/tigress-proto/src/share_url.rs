//! The share URL: `https://{relay}/v1/m/{id}?v={vertical}#{secret}` (§14).

use std::fmt;
use std::str::FromStr;

use percent_encoding::percent_decode_str;
use url::Url;

use crate::aead::Secret;
use crate::ids::MailboxId;

/// The longest share URL accepted; real ones are about 100 characters.
const MAX_URL_LEN: usize = 2048;

/// The routing hint of the share URL's `v` parameter. Cleartext on purpose: it routes the link to
/// the right app before anything is decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vertical {
    /// `a` (or absent, or unknown): general access, hotel keys and the like.
    Access,
    /// `c`: car key.
    Car,
    /// `h`: home key.
    Home,
}

impl Vertical {
    /// The one-letter code of the `v` parameter.
    pub fn code(self) -> &'static str {
        match self {
            Self::Access => "a",
            Self::Car => "c",
            Self::Home => "h",
        }
    }

    /// Reads a `v` value; unknown values mean general access (§14).
    pub fn from_code(code: &str) -> Self {
        match code {
            "h" => Self::Home,
            "c" => Self::Car,
            _ => Self::Access,
        }
    }

    /// A word for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Access => "general access",
            Self::Car => "car key",
            Self::Home => "home key",
        }
    }
}

/// Why a share URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareUrlError {
    /// Not a URL at all, or longer than 2048 characters.
    #[error("not a valid URL")]
    Malformed,
    /// Only `https` (and `http`, for a relay on loopback) carry shares.
    #[error("a share URL must use https")]
    Scheme,
    /// User names or passwords in the authority are refused: they disguise the real host.
    #[error("a share URL must not carry a user name or password")]
    Credentials,
    /// The path must end in `/v1/{segment}/{mailbox id}` (the segment is `m` by default).
    #[error("the path must end in /v1/<segment>/<mailbox id>, such as /v1/m/<mailbox id>")]
    Path,
    /// The fragment is not a 16- or 32-byte secret in base64.
    #[error("the secret after '#' is not base64 of a 16-byte or 32-byte key")]
    Secret,
}

/// The path segment after the version in mailbox paths (`/v1/m/{id}`), unless the relay's
/// operator chose another (docs/API.md, "The mailbox path").
pub const DEFAULT_MAILBOX_SEGMENT: &str = "m";

/// The longest mailbox path segment.
pub const MAX_MAILBOX_SEGMENT_LEN: usize = 32;

/// Whether `segment` may name the mailboxes of a relay: 1 to 32 lower-case ASCII letters,
/// digits, `-` and `_` (so never `.` or `..`, nor anything that needs escaping in a URL).
pub fn is_mailbox_segment(segment: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
    (1..=MAX_MAILBOX_SEGMENT_LEN).contains(&segment.len()) && segment.bytes().all(allowed)
}

/// A parsed share URL. `Debug` is redacted: the URL is a capability and must never be logged.
#[derive(Clone)]
pub struct ShareUrl {
    /// `{relay}/v1/{segment}/{id}`, without query or fragment: where requests for this mailbox
    /// go.
    link: Url,
    /// The length of `/v1/{segment}/{id}` at the end of `link`.
    suffix_len: usize,
    mailbox: MailboxId,
    vertical: Option<Vertical>,
    secret: Option<Secret>,
}

impl ShareUrl {
    /// Builds a share URL from the `urlLink` of a CreateMailbox response. Any query or fragment
    /// in it is dropped.
    pub fn from_url_link(url_link: &str) -> Result<Self, ShareUrlError> {
        let mut share: Self = url_link.parse()?;
        share.vertical = None;
        share.secret = None;
        Ok(share)
    }

    /// Sets the vertical (`?v=`).
    pub fn with_vertical(mut self, vertical: Vertical) -> Self {
        self.vertical = Some(vertical);
        self
    }

    /// Sets the secret carried in the fragment.
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// The same share without its secret: the form to send when the secret travels separately.
    pub fn without_secret(&self) -> Self {
        Self { secret: None, ..self.clone() }
    }

    /// The mailbox URL every request goes to: no query and, above all, no fragment.
    pub fn mailbox_url(&self) -> &str {
        self.link.as_str()
    }

    /// The relay's base URL (everything before `/v1/{segment}/{id}`).
    pub fn relay_base(&self) -> String {
        let link = self.link.as_str();
        // The link ends in the suffix by construction; `get` keeps a slip from panicking.
        link.get(..link.len().saturating_sub(self.suffix_len)).unwrap_or_default().to_owned()
    }

    /// The path segment after the version, `m` on most relays.
    pub fn mailbox_segment(&self) -> &str {
        let link = self.link.as_str();
        let suffix = link.get(link.len().saturating_sub(self.suffix_len)..).unwrap_or_default();
        // "/v1/" + segment + "/" + 36-character id.
        suffix.get(4..suffix.len().saturating_sub(37)).unwrap_or_default()
    }

    /// The mailbox.
    pub fn mailbox(&self) -> MailboxId {
        self.mailbox
    }

    /// The vertical, if the URL names one.
    pub fn vertical(&self) -> Option<Vertical> {
        self.vertical
    }

    /// The secret, if the URL carries one.
    pub fn secret(&self) -> Option<&Secret> {
        self.secret.as_ref()
    }
}

impl FromStr for ShareUrl {
    type Err = ShareUrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() > MAX_URL_LEN {
            return Err(ShareUrlError::Malformed);
        }
        let url = Url::parse(text.trim()).map_err(|_| ShareUrlError::Malformed)?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(ShareUrlError::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ShareUrlError::Credentials);
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ShareUrlError::Malformed);
        }
        let (mailbox, id_len, segment_len) = {
            let segments: Vec<&str> = url.path_segments().ok_or(ShareUrlError::Path)?.collect();
            let [.., v1, segment, id] = segments.as_slice() else {
                return Err(ShareUrlError::Path);
            };
            if *v1 != "v1" || !is_mailbox_segment(segment) {
                return Err(ShareUrlError::Path);
            }
            let mailbox = id.parse::<MailboxId>().map_err(|_| ShareUrlError::Path)?;
            (mailbox, id.len(), segment.len())
        };

        let vertical = url
            .query_pairs()
            .find(|(key, _)| key == "v")
            .map(|(_, value)| Vertical::from_code(&value));

        let secret = match url.fragment() {
            None | Some("") => None,
            Some(fragment) => {
                let decoded = percent_decode_str(fragment)
                    .decode_utf8()
                    .map_err(|_| ShareUrlError::Secret)?;
                Some(Secret::from_base64(&decoded).map_err(|_| ShareUrlError::Secret)?)
            }
        };

        let mut link = url;
        link.set_query(None);
        link.set_fragment(None);
        // Normalise the id to lower case, as the relay emits it.
        let prefix_len = link.path().len() - id_len;
        let path = format!("{}{}", &link.path()[..prefix_len], mailbox);
        link.set_path(&path);
        let suffix_len = "/v1/".len() + segment_len + 1 + mailbox.to_string().len();
        Ok(Self { link, suffix_len, mailbox, vertical, secret })
    }
}

impl fmt::Display for ShareUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.link.as_str())?;
        if let Some(vertical) = self.vertical {
            write!(f, "?v={}", vertical.code())?;
        }
        if let Some(secret) = &self.secret {
            // Standard base64 characters (`+`, `/`, `=`) are all allowed in a fragment.
            write!(f, "#{}", secret.to_base64())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ShareUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShareUrl(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40";

    #[test]
    fn parses_and_displays_the_same_url() {
        let text = format!("https://relay.example/v1/m/{ID}?v=c#hXlr6aRC7KgJpOLTNZaLsw==");
        let share: ShareUrl = text.parse().unwrap();
        assert_eq!(share.mailbox().to_string(), ID);
        assert_eq!(share.vertical(), Some(Vertical::Car));
        assert_eq!(share.secret().unwrap().to_base64(), "hXlr6aRC7KgJpOLTNZaLsw==");
        assert_eq!(share.mailbox_url(), format!("https://relay.example/v1/m/{ID}"));
        assert_eq!(share.to_string(), text);
        assert_eq!(share.to_string().parse::<ShareUrl>().unwrap().to_string(), text);
    }

    #[test]
    fn accepts_percent_encoded_and_url_safe_secrets() {
        let share: ShareUrl = format!(
            "https://r.example:8443/pre/fix/v1/m/{ID}?x=1&v=h#hXlr6aRC7KgJpOLTNZaLsw%3D%3D"
        )
        .parse()
        .unwrap();
        assert_eq!(share.vertical(), Some(Vertical::Home));
        assert_eq!(share.relay_base(), "https://r.example:8443/pre/fix");
        assert!(share.secret().is_some());
        let url_safe: ShareUrl =
            format!("https://r.example/v1/m/{ID}#_-_-_-_-_-_-_-_-_-_-_w").parse().unwrap();
        assert!(url_safe.secret().is_some());
    }

    #[test]
    fn mailbox_url_never_carries_the_fragment() {
        let share: ShareUrl =
            format!("https://r.example/v1/m/{ID}?v=a#hXlr6aRC7KgJpOLTNZaLsw==").parse().unwrap();
        assert!(!share.mailbox_url().contains('#'));
        assert!(!share.without_secret().to_string().contains('#'));
    }

    #[test]
    fn unknown_vertical_means_general_access() {
        let share: ShareUrl = format!("https://r.example/v1/m/{ID}?v=zz").parse().unwrap();
        assert_eq!(share.vertical(), Some(Vertical::Access));
        let plain: ShareUrl = format!("https://r.example/v1/m/{ID}").parse().unwrap();
        assert_eq!(plain.vertical(), None);
        assert!(plain.secret().is_none());
    }

    #[test]
    fn rejects_share_urls_that_are_not_mailboxes() {
        let cases = [
            (format!("ftp://r.example/v1/m/{ID}"), ShareUrlError::Scheme),
            (format!("https://user:pw@r.example/v1/m/{ID}"), ShareUrlError::Credentials),
            (format!("https://r.example/v2/m/{ID}"), ShareUrlError::Path),
            (format!("https://r.example/v1/m/{ID}/extra"), ShareUrlError::Path),
            ("https://r.example/v1/m/not-a-uuid".to_owned(), ShareUrlError::Path),
            (format!("https://r.example/v1/m/{ID}#short"), ShareUrlError::Secret),
            ("not a url".to_owned(), ShareUrlError::Malformed),
            (format!("https://r.example/v1/m/{ID}#{}", "A".repeat(3000)), ShareUrlError::Malformed),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<ShareUrl>().err(), Some(expected), "{text}");
        }
    }

    #[test]
    fn another_mailbox_segment_is_read_and_kept() {
        let text = format!("https://r.example/base/v1/mailbox_2/{ID}?v=c#hXlr6aRC7KgJpOLTNZaLsw==");
        let share: ShareUrl = text.parse().unwrap();
        assert_eq!(share.mailbox_segment(), "mailbox_2");
        assert_eq!(share.relay_base(), "https://r.example/base");
        assert_eq!(share.mailbox_url(), format!("https://r.example/base/v1/mailbox_2/{ID}"));
        assert_eq!(share.to_string(), text);
        let upper_id = format!("https://r.example/v1/m/{}", ID.to_uppercase());
        let share: ShareUrl = upper_id.parse().unwrap();
        assert_eq!(
            (share.mailbox_segment(), share.relay_base().as_str()),
            ("m", "https://r.example")
        );
        let longest = "a".repeat(MAX_MAILBOX_SEGMENT_LEN);
        let share: ShareUrl = format!("https://r.example/v1/{longest}/{ID}").parse().unwrap();
        assert_eq!(share.mailbox_segment(), longest);
    }

    #[test]
    fn a_mailbox_segment_is_lower_case_letters_digits_hyphens_and_underscores() {
        for good in ["m", "mailbox", "box-2", "a_b", "0"] {
            assert!(is_mailbox_segment(good), "{good}");
        }
        let too_long = "a".repeat(MAX_MAILBOX_SEGMENT_LEN + 1);
        for bad in ["", "M", "Mailbox", "a.b", ".", "..", "a b", "a%20", "é", too_long.as_str()] {
            assert!(!is_mailbox_segment(bad), "{bad}");
            let text = format!("https://r.example/v1/{bad}/{ID}");
            assert!(text.parse::<ShareUrl>().is_err(), "{text}");
        }
    }

    #[test]
    fn debug_output_hides_the_url() {
        let share: ShareUrl =
            format!("https://r.example/v1/m/{ID}#hXlr6aRC7KgJpOLTNZaLsw==").parse().unwrap();
        assert_eq!(format!("{share:?}"), "ShareUrl(..)");
    }
}
