//! `tigress inspect`: explains a share URL without contacting the relay (the secret is described,
//! present or not and its size, but never printed), or with `--relay` shows what a relay serves
//! and allows.

use std::io::{self, Write as _};

use anyhow::Context as _;
use serde_json::json;
use tigress_client::{ShareUrl, Vertical};

use crate::args::InspectArgs;
use crate::exit::UsageError;
use crate::terminal::printable;

/// Runs `tigress inspect`.
pub async fn run(args: &InspectArgs) -> anyhow::Result<()> {
    if let Some(relay) = &args.relay {
        return describe_relay(relay, args.json).await;
    }
    let share: ShareUrl = args
        .share_url
        .as_deref()
        .unwrap_or_default()
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

/// Prints the relay's descriptor: as it came with `--json`, else a few lines.
async fn describe_relay(relay: &str, json: bool) -> anyhow::Result<()> {
    let client = tigress_client::Client::new(relay)
        .map_err(|e| UsageError(format!("the relay URL is not valid: {e}")))?;
    let descriptor = client.descriptor().await.context("could not read the relay's descriptor")?;
    let mut stdout = io::stdout().lock();
    if json {
        let text = serde_json::to_string(&descriptor).context("could not render the descriptor")?;
        writeln!(stdout, "{text}").context("could not write the descriptor")?;
        return Ok(());
    }
    let list = |items: &[String]| {
        if items.is_empty() { "none".to_owned() } else { printable(&items.join(", ")) }
    };
    let limits = &descriptor.limits;
    writeln!(stdout, "Relay:       {}", printable(client.relay_base()))
        .and_then(|()| writeln!(stdout, "API:         {} at {}", list(&descriptor.versions), printable(&descriptor.mailbox_path)))
        .and_then(|()| writeln!(stdout, "Extensions:  {}", list(&descriptor.extensions)))
        .and_then(|()| writeln!(stdout, "Push to:     {}", list(&descriptor.push_token_types)))
        .and_then(|()| {
            let required = if descriptor.attestation_required { "required" } else { "not required" };
            writeln!(stdout, "Attestation: {required}")
        })
        .and_then(|()| {
            writeln!(
                stdout,
                "Limits:      shares live at most {} h ({} h by default), bodies up to {} bytes, {} messages, waits up to {} s",
                limits.max_lifetime_seconds / 3600,
                limits.default_lifetime_seconds / 3600,
                limits.max_body_bytes,
                limits.max_messages,
                limits.max_wait_seconds
            )
        })
        .context("could not write the descriptor")
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
