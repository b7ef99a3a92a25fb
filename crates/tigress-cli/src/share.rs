//! `tigress share`: reads the content, encrypts it, creates the mailbox, prints the share URL.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use serde_json::Value;
use tigress_client::{
    Algorithm, Display, DisplayInformation, ProvisioningInformation, Share, ShareOptions,
};
use tigress_proto::provisioning::FORMAT_CAR_KEY_CCC;

use crate::args::ShareArgs;
use crate::car_key;
use crate::exit::UsageError;

/// Runs `tigress share`. Everything that can be checked locally is checked before the relay is
/// contacted.
pub async fn run(args: ShareArgs) -> anyhow::Result<()> {
    let pin = args.pin.as_deref().map(crate::pin::chosen_or_generated).transpose()?;
    let content = read_content(&args.content)?;
    let stateful = if args.stateful {
        if args.format != FORMAT_CAR_KEY_CCC {
            bail!(UsageError(format!(
                "--stateful supports the car key only ({FORMAT_CAR_KEY_CCC})"
            )));
        }
        let sharer = match &args.holder_key {
            Some(path) => tigress_carkey::Sharer::Holder(car_key::read_json(path, "car key")?),
            None => tigress_carkey::Sharer::Owner(car_key::owner_key(args.owner_key.as_deref())?),
        };
        Some((car_key::profile(content.clone())?, sharer))
    } else {
        None
    };
    let info = ProvisioningInformation::new(args.format, content)
        .map_err(|e| UsageError(format!("invalid Provisioning Information: {e}")))?;
    let mut builder = crate::client_builder(&args.relay, args.ca_cert.as_deref())?
        .mailbox_segment(args.mailbox_path_segment.as_str());
    if let Some((path, id)) = args.attestation_key.as_deref().zip(args.attestation_key_id) {
        builder = builder.attestation_key(attestation_key(path, id)?);
    }
    let client = builder.build().context("invalid relay settings")?;
    let expires_at = args
        .expires_in
        .map(|lifetime| -> anyhow::Result<i64> {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            let at = now.checked_add(lifetime.as_secs()).context("--expires-in is too long")?;
            i64::try_from(at).context("--expires-in is too long")
        })
        .transpose()?;
    let options = ShareOptions {
        display: display(args.display_url, args.title, args.description, args.image_url),
        access_rights: args.access_rights,
        expires_at,
        vertical: args.vertical.map(Into::into),
        algorithm: if args.aes_256 { Algorithm::Aes256Gcm } else { Algorithm::Aes128Gcm },
        max_receivers: args.max_receivers,
        notification_token: None,
        event_endpoint: args.event_endpoint,
    };

    let output = Output { separate_secret: args.separate_secret, qr: args.qr, json: args.json };
    if let Some(pin) = pin {
        let print = |share: &Share| print_share(share, output);
        return crate::pin::share(&client, &info, options, &pin, args.patience.into(), print).await;
    }
    if let Some((profile, sharer)) = stateful {
        let print = |share: &Share| print_share(share, output);
        let patience = args.patience.into();
        let grant_out = args.grant_out.as_deref();
        return car_key::share_as_sharer(
            &client, sharer, profile, options, patience, grant_out, print,
        )
        .await
        .context("the car-key share did not complete");
    }

    let sealed = crate::sealed::fields(&args.seal_field)?;
    let share = if sealed.is_empty() {
        eprintln!("Encrypting the share and storing it on the relay...");
        client.share(&info, options).await.context("could not create the share")?
    } else {
        eprintln!(
            "Sealing {} field(s), encrypting the share and storing it on the relay...",
            sealed.len()
        );
        let seal: Vec<(&str, &tigress_client::tigress_jwe::PublicJwk)> =
            sealed.iter().map(|(pointer, key)| (pointer.as_str(), key)).collect();
        let algorithm = crate::sealed::algorithm(&args.seal_alg);
        client
            .share_sealed(&info, options, &seal, algorithm)
            .await
            .map_err(crate::sealed::seal_error)
            .context("could not create the share")?
    };
    print_share(&share, output)
}

/// Reads a device maker's private key (PKCS#8 PEM, P-256 or Ed25519) to attest creates with.
/// The preview: the vendor's page when `--display-url` is given, else the three texts (which
/// clap then requires).
fn display(
    url: Option<String>,
    title: Option<String>,
    description: Option<String>,
    image_url: Option<String>,
) -> Display {
    match url {
        Some(url) => Display::Url(url),
        None => Display::Inline(DisplayInformation {
            title: title.unwrap_or_default(),
            description: description.unwrap_or_default(),
            image_url: image_url.unwrap_or_default(),
        }),
    }
}

fn attestation_key(
    path: &Path,
    id: String,
) -> anyhow::Result<tigress_client::tigress_attest::SigningKey> {
    let pem = fs::read_to_string(path)
        .with_context(|| format!("could not read the attestation key {}", path.display()))?;
    tigress_client::tigress_attest::SigningKey::from_pkcs8_pem(id, &pem)
        .map_err(|e| UsageError(format!("invalid attestation key {}: {e}", path.display())).into())
}

/// Prints the share URL on stdout (and the secret on a second line, when separate), and the QR
/// code and a reminder on stderr.
fn print_share(share: &Share, output: Output) -> anyhow::Result<()> {
    let Output { separate_secret, qr, json } = output;
    let (link, secret) = if separate_secret {
        (share.url().without_secret().to_string(), Some(share.secret().to_base64()))
    } else {
        (share.url().to_string(), None)
    };
    let mut stdout = io::stdout().lock();
    if json {
        let mut object = serde_json::json!({
            "shareUrl": link,
            "mailbox": share.url().mailbox().to_string(),
            "relay": share.url().relay_base(),
        });
        if let Some(secret) = &secret {
            object["secret"] = secret.as_str().into();
        }
        writeln!(stdout, "{object}").context("could not write the share")?;
    } else {
        writeln!(stdout, "{link}").context("could not write the share URL")?;
        if let Some(secret) = &secret {
            writeln!(stdout, "{secret}").context("could not write the secret")?;
        }
    }
    stdout.flush().context("could not write the share URL")?;
    drop(stdout);

    if qr {
        eprintln!("{}", qr_code(&link)?);
    }
    if secret.is_some() {
        eprintln!("Share created. Send the URL and the secret over two different channels.");
    } else {
        eprintln!(
            "Share created. Anyone holding this URL can accept the share: send it privately."
        );
    }
    Ok(())
}

/// How the share is printed.
#[derive(Clone, Copy)]
struct Output {
    separate_secret: bool,
    qr: bool,
    json: bool,
}

/// Reads the content file (`-` for stdin) and checks that it holds a JSON object.
fn read_content(path: &Path) -> anyhow::Result<Value> {
    let (bytes, name) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        io::stdin().read_to_end(&mut bytes).context("could not read the content from stdin")?;
        (bytes, "stdin".to_owned())
    } else {
        let bytes = fs::read(path)
            .with_context(|| format!("could not read the content file {}", path.display()))?;
        (bytes, path.display().to_string())
    };
    let value: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("the content in {name} is not valid JSON"))?;
    if !value.is_object() {
        bail!("the content in {name} must be a JSON object, not {}", kind(&value));
    }
    Ok(value)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "an array",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Number(_) => "a number",
        Value::Object(_) => "an object",
        Value::String(_) => "a string",
    }
}

/// The URL as a QR code of Unicode half blocks, light on dark like most terminals.
fn qr_code(link: &str) -> anyhow::Result<String> {
    let code = QrCode::new(link.as_bytes()).context("the URL does not fit in a QR code")?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_must_be_a_json_object() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            fs::write(&path, text).unwrap();
            path
        };
        assert!(read_content(&write("ok.json", r#"{"token":"abc"}"#)).is_ok());
        let error = read_content(&write("list.json", "[1]")).unwrap_err();
        assert!(error.to_string().ends_with("must be a JSON object, not an array"));
        let error = read_content(&write("text.txt", "token=abc")).unwrap_err();
        assert!(error.to_string().contains("is not valid JSON"));
        assert!(read_content(&dir.path().join("missing.json")).is_err());
    }

    #[test]
    fn draws_a_qr_code_of_half_blocks() {
        let drawn =
            qr_code("https://relay.example/v1/m/0e5b6a1c-3f0d-4c7a-9a51-2b8e7d6c5f40").unwrap();
        assert!(drawn.lines().count() > 10);
        assert!(drawn.contains('▀') || drawn.contains('▄') || drawn.contains('█'));
    }
}
