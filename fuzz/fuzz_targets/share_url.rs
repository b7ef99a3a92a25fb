//! Attacks the share-URL parsers with arbitrary text: the receiver's parse of a whole share URL
//! (`str::parse::<ShareUrl>`, with `?v=` and the `#secret` fragment) and the sender's
//! `ShareUrl::from_url_link`. Asserts they never panic, that the mailbox URL never carries a query
//! or a fragment, that it is `{relay_base}/v1/{segment}/{mailbox}` with a plain segment (`m`
//! by default), and that a parsed URL renders to text
//! that parses back to the same mailbox, vertical and secret and renders the same again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tigress_proto::share_url::is_mailbox_segment;
use tigress_proto::{ShareUrl, Vertical};

/// The parser's length limit (`share_url::MAX_URL_LEN`, private there).
const MAX_URL_LEN: usize = 2048;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    let parsed = text.parse::<ShareUrl>();
    let link = ShareUrl::from_url_link(text);
    // `from_url_link` is the same parse with the query and fragment dropped.
    assert_eq!(parsed.is_ok(), link.is_ok(), "the two parsers disagree");

    if let Ok(share) = parsed {
        check_share(&share);
        check_round_trip(&share);
        // The form sent when the secret travels on another channel.
        let bare = share.without_secret();
        assert!(bare.secret().is_none());
        assert!(!bare.to_string().contains('#'), "a share without its secret renders a fragment");
        check_round_trip(&bare);
        // Every vertical the sender can choose survives the trip.
        for vertical in [Vertical::Access, Vertical::Car, Vertical::Home] {
            check_round_trip(&bare.clone().with_vertical(vertical));
        }
    }

    if let Ok(share) = link {
        check_share(&share);
        assert!(share.vertical().is_none() && share.secret().is_none());
        // A urlLink renders as its mailbox URL, which is itself a urlLink of the same mailbox.
        assert!(share.to_string() == share.mailbox_url(), "a urlLink renders more than its URL");
        if share.mailbox_url().len() <= MAX_URL_LEN {
            let again = ShareUrl::from_url_link(share.mailbox_url()).expect("a mailbox URL parses");
            assert!(
                again.mailbox_url() == share.mailbox_url(),
                "a mailbox URL is not a fixed point"
            );
        }
    }
});

/// What holds for every parsed share.
fn check_share(share: &ShareUrl) {
    let url = share.mailbox_url();
    // Requests go to this URL; a fragment there would send the secret to the relay.
    assert!(!url.contains('#') && !url.contains('?'), "the mailbox URL has a query or fragment");
    // The segment is one plain path segment (`m` unless the relay's operator chose another).
    let segment = share.mailbox_segment();
    assert!(is_mailbox_segment(segment), "the mailbox segment is not [a-z0-9_-]{{1,32}}");
    let rebuilt = format!("{}/v1/{segment}/{}", share.relay_base(), share.mailbox());
    assert!(rebuilt == url, "the mailbox URL is not {{relay_base}}/v1/{{segment}}/{{mailbox}}");
}

/// Renders `share` and parses it again: same mailbox URL, mailbox, vertical and secret, and the
/// same rendering. URLs and secrets are compared, never printed: a share URL is a capability.
fn check_round_trip(share: &ShareUrl) {
    let rendered = share.to_string();
    // The limit applies to the text as given. Normalising it (IDNA, percent-encoding) and adding
    // `?v=` and `#secret` can make the rendering longer than the input was, and such a rendering
    // is refused like any over-long text.
    if rendered.len() > MAX_URL_LEN {
        return;
    }
    let again: ShareUrl = rendered.parse().expect("a rendered share URL parses");
    assert!(again.mailbox_url() == share.mailbox_url(), "mailbox URL changed on the round trip");
    assert!(again.mailbox() == share.mailbox(), "mailbox changed on the round trip");
    assert_eq!(again.vertical(), share.vertical());
    let same_secret = match (again.secret(), share.secret()) {
        (None, None) => true,
        (Some(a), Some(b)) => a.algorithm() == b.algorithm() && a.to_base64() == b.to_base64(),
        _ => false,
    };
    assert!(same_secret, "the secret changed on the round trip");
    assert!(again.to_string() == rendered, "rendering is not stable across a round trip");
}
