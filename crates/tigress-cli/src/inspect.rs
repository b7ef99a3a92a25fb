//! `tigress inspect`: explains a share URL without contacting the relay. The secret is described
//! (present or not, its size) but never printed.

use std::io::{self, Write as _};

use anyhow::Context as _;
use serde_json::json;
use tigress_client::{ShareUrl, Vertical};

use crate::args::InspectArgs;
use crate::exit::UsageError;
use crate::terminal::printable;

/// Runs `tigress inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let share: ShareUrl = args
        .share_url
        .parse()
        .map_err(|e| UsageError(format!("the share URL is not valid: {e}")))?;
    let explained = explain(&share);
    let mut stdout = io::stdout().lock();
    if args.json {
        writeln!(stdout, "{explained}").context("could not write the explanation")?;
        return Ok(());
    }
    let text = |key: &str| explained[key].as_str().map(printable).unwrap_or_default();
    let vertical = match explained["vertical"].as_str() {
        Some(code) => format!("{} (v={code})", text("kind")),
        None => format!("{} (no v= in the URL)", text("kind")),
    };
    let secret = match explained["secretBits"].as_u64() {
        Some(bits) => format!("yes, {bits}-bit AES-GCM key in the #fragment (not shown)"),
        None => "no: the receiver needs it separately (tigress receive --secret)".to_owned(),
    };
    writeln!(stdout, "Relay:   {}", text("relay"))
        .and_then(|()| writeln!(stdout, "Mailbox: {}", text("mailbox")))
        .and_then(|()| writeln!(stdout, "Kind:    {vertical}"))
        .and_then(|()| writeln!(stdout, "Secret:  {secret}"))
        .context("could not write the explanation")
}

/// What a share URL says, as JSON; the secret appears only as its size.
fn explain(share: &ShareUrl) -> serde_json::Value {
    let vertical = share.vertical();
    json!({
        "relay": share.relay_base(),
        "mailbox": share.mailbox().to_string(),
        "mailboxUrl": share.mailbox_url(),
        "vertical": vertical.map(|v| v.code()),
        // An absent or unknown `v` means general access (§14).
        "kind": vertical.unwrap_or(Vertical::Access).describe(),
        "hasSecret": share.secret().is_some(),
        "secretBits": share.secret().map(|s| s.algorithm().key_len() * 8),
    })
}
