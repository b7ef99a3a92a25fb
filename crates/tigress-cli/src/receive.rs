//! `tigress receive`: preview, consent, read, decrypt, print, delete.

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tigress_client::{Display, Preview, ProvisioningInformation, Secret, ShareUrl};

use crate::args::ReceiveArgs;
use crate::car_key;
use crate::exit::UsageError;
use crate::terminal::printable;

/// Runs `tigress receive`.
pub async fn run(args: ReceiveArgs) -> anyhow::Result<()> {
    let (share, secret) = share_and_secret(&args.share_url, args.secret.as_deref())?;
    let client = crate::client(&share.relay_base(), args.ca_cert.as_deref())?;

    eprintln!("Fetching the share's preview from the relay...");
    let pending =
        client.receive(&share, secret).await.context("could not fetch the share's preview")?;
    show_preview(pending.preview());
    let preview = pending.preview().clone();

    let accept = args.yes || !io::stdin().is_terminal() || ask("Accept this share? [y/N] ")?;
    if accept {
        eprintln!("Accepting: claiming the share for this device and decrypting it...");
    }
    let received = match pending.decide(accept).await {
        Err(tigress_client::Error::Declined) => return Err(tigress_client::Error::Declined.into()),
        other => other.context("could not receive the share")?,
    };

    if received.needs_pin() {
        let info = crate::pin::receive(received, args.pin.as_deref(), args.patience.into())
            .await
            .context("the PIN share did not complete")?;
        let json = if args.json {
            envelope(&info, &preview).to_string()
        } else {
            serde_json::to_string_pretty(&info)
                .context("could not format the Provisioning Information")?
        };
        println!("{json}");
        return Ok(());
    }
    if let Some(kind) = car_key::kind(received.provisioning()) {
        let patience = args.patience.into();
        let key = match kind {
            car_key::Received::Invitation => {
                eprintln!(
                    "This is a car key: this device answers the sharer's device step by step."
                );
                car_key::receive_as_friend(received, args.key_out.as_deref(), patience)
                    .await
                    .context("the car-key share did not complete")?
            }
            car_key::Received::Termination => {
                car_key::answer_termination(received, args.key.as_deref(), patience)
                    .await
                    .context("the car key's termination did not complete")?
            }
        };
        let json = serde_json::to_string_pretty(&key).context("could not format the key")?;
        println!("{json}");
        return Ok(());
    }
    let sealed = received.sealed_fields();
    let binding = received.share_binding();
    crate::sealed::announce(&sealed, &binding);
    let json = if args.json {
        let mut envelope = envelope(received.provisioning(), &preview);
        if !sealed.is_empty() {
            envelope["sealedFields"] = crate::sealed::describe(&sealed);
            envelope["shareBinding"] = binding.into();
        }
        envelope.to_string()
    } else {
        serde_json::to_string_pretty(received.provisioning())
            .context("could not format the Provisioning Information")?
    };
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{json}").context("could not write the Provisioning Information")?;
    stdout.flush().context("could not write the Provisioning Information")?;
    drop(stdout);

    let keep = args.keep;
    match received.finish(keep).await {
        Ok(()) if keep => eprintln!("Received. The mailbox was kept; it expires on its own."),
        Ok(()) => eprintln!("Received. The mailbox was deleted from the relay."),
        Err(e) => eprintln!(
            "warning: received, but the mailbox could not be deleted ({e}); it expires on its own"
        ),
    }
    Ok(())
}

/// `--json`: the Provisioning Information with the share's public preview, on one line.
fn envelope(info: &ProvisioningInformation, preview: &Preview) -> serde_json::Value {
    serde_json::json!({
        "provisioningInformation": info,
        "displayInformation": preview.display.information(),
        "displayInformationUrl": preview.display.url(),
        "expiration": preview.expiration,
        "vertical": preview.vertical.code(),
    })
}

/// Parses the share URL and picks the secret: `--secret` if given, else the URL's fragment.
/// Neither value is ever echoed in an error message.
fn share_and_secret(text: &str, secret: Option<&str>) -> anyhow::Result<(ShareUrl, Secret)> {
    // With `--secret`, the fragment is ignored, so a damaged one does not get in the way.
    let url_text = match secret {
        Some(_) => text.split('#').next().unwrap_or(text),
        None => text,
    };
    let share: ShareUrl =
        url_text.parse().map_err(|e| UsageError(format!("the share URL is not valid: {e}")))?;
    let secret = match secret {
        Some(text) => Secret::from_base64(text)
            .map_err(|e| UsageError(format!("the secret given with --secret is invalid: {e}")))?,
        None => share.secret().cloned().ok_or_else(|| {
            UsageError(
                "no secret: the share URL has no #secret part; pass the secret with --secret"
                    .into(),
            )
        })?,
    };
    Ok((share.without_secret(), secret))
}

/// Shows the public preview on stderr. Its text was chosen by the sender (or anyone holding the
/// link), so it is shown as text only, never as terminal control sequences.
fn show_preview(preview: &Preview) {
    eprintln!("Share preview (public, not verified):");
    match &preview.display {
        Display::Inline(display) => {
            eprintln!("  Title:       {}", printable(&display.title));
            eprintln!("  Description: {}", printable(&display.description));
            eprintln!("  Image:       {}", printable(&display.image_url));
        }
        Display::Url(url) => eprintln!("  Details:     {}", printable(url)),
    }
    eprintln!("  Kind:        {}", preview.vertical.describe());
    eprintln!("  Expires:     {}", expiry(&preview.expiration));
}

/// `2030-03-17T17:46:40Z (in 1h 59m)`.
fn expiry(expiration: &str) -> String {
    let shown = printable(expiration);
    let Ok(at) = tigress_proto::expiration::parse(expiration) else {
        return shown;
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let left = u64::try_from(at).unwrap_or(0).saturating_sub(now);
    if left < 60 {
        return format!("{shown} (in less than a minute)");
    }
    let minutes = Duration::from_secs(left / 60 * 60);
    format!("{shown} (in {})", humantime::format_duration(minutes))
}

/// Asks a yes/no question on stderr and reads the answer from stdin; only `y` or `yes` accept.
fn ask(question: &str) -> anyhow::Result<bool> {
    eprint!("{question}");
    io::stderr().flush().context("could not ask for consent")?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer).context("could not read the answer")?;
    let answer = answer.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40";
    const SECRET: &str = "hXlr6aRC7KgJpOLTNZaLsw==";

    #[test]
    fn takes_the_secret_from_the_fragment_or_the_option() {
        let (share, secret) = share_and_secret(&format!("{LINK}?v=c#{SECRET}"), None).unwrap();
        assert_eq!(secret.to_base64(), SECRET);
        assert_eq!(share.to_string(), format!("{LINK}?v=c"));

        let other = "_-_-_-_-_-_-_-_-_-_-_w";
        let (_, secret) = share_and_secret(&format!("{LINK}#damaged"), Some(other)).unwrap();
        assert_eq!(secret.to_base64(), Secret::from_base64(other).unwrap().to_base64());
    }

    #[test]
    fn refuses_without_a_secret_and_never_echoes_the_url() {
        let error = share_and_secret(LINK, None).unwrap_err();
        assert!(error.is::<UsageError>());
        assert!(error.to_string().contains("--secret"));

        let bad = format!("{LINK}#{}", "x".repeat(10));
        let error = share_and_secret(&bad, None).unwrap_err();
        assert!(!error.to_string().contains("xxxxxxxxxx"));
        let error = share_and_secret(LINK, Some("not-a-secret")).unwrap_err();
        assert!(!error.to_string().contains("not-a-secret"));
    }

    #[test]
    fn shows_time_left_before_expiry() {
        assert!(expiry("2000-01-01T00:00:00Z").ends_with("(in less than a minute)"));
        let shown = expiry("2999-01-01T00:00:00Z");
        assert!(shown.starts_with("2999-01-01T00:00:00Z (in "), "{shown}");
        assert_eq!(expiry("soon\u{1b}[2J"), "soon?[2J");
    }
}
