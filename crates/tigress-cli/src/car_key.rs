//! The car-key share from the terminal: the sharer's side of `tigress share --stateful`, the
//! friend's side of `tigress receive` (a share, or a termination), and the key files they keep.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tigress_carkey::{ExchangeError, FriendEvent, HeldKey, Sharer, SharerEvent, Step};
use tigress_client::{Client, ProvisioningInformation, ReceivedShare, ShareOptions};
use tigress_lifecycle::{Bytes, DeviceKey, Profile};

use crate::exit::UsageError;
use crate::terminal::Spinner;

/// Reads the profile offered from the share's content.
pub fn profile(content: Value) -> anyhow::Result<Profile> {
    serde_json::from_value(content).map_err(|e| {
        UsageError(format!(
            "a car-key profile is {{\"role\", \"notBefore\", \"notAfter\", \"limits\", \
             \"shareDepth\", \"onwardRoles\"}} (docs/LIFECYCLE.md): {e}"
        ))
        .into()
    })
}

/// The owner key in `path`, made and saved there (owner-only) if the file does not exist; a key
/// for this share only without a path.
pub fn owner_key(path: Option<&Path>) -> anyhow::Result<DeviceKey> {
    let Some(path) = path else {
        return Ok(DeviceKey::generate(&mut rand::rngs::OsRng));
    };
    if path.exists() {
        return read_owner_key(path);
    }
    let key = DeviceKey::generate(&mut rand::rngs::OsRng);
    let secret = serde_json::to_value(Bytes(key.secret())).expect("bytes encode");
    write_private(path, secret.as_str().expect("base64url text"))?;
    eprintln!(
        "Made a new owner key and saved it in {}. Its public key, for the vehicle: {}",
        path.display(),
        public_text(&key)
    );
    Ok(key)
}

/// The owner key saved in `path`.
pub fn read_owner_key(path: &Path) -> anyhow::Result<DeviceKey> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("could not read the owner key {}", path.display()))?;
    let secret: Bytes<32> = serde_json::from_value(Value::String(text.trim().to_owned()))
        .map_err(|e| UsageError(format!("{}: not an owner key: {e}", path.display())))?;
    Ok(DeviceKey::from_secret(secret.0))
}

/// A key's public half as text (base64url).
pub fn public_text(key: &DeviceKey) -> String {
    serde_json::to_value(key.public()).expect("a key encodes").as_str().unwrap_or_default().into()
}

/// Reads a JSON file the CLI wrote (a held key, a grant, a termination), naming what it is.
pub fn read_json<T: DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("could not read the {what} {}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("{}: not a {what}: {e}", path.display())).into())
}

/// Creates the share, prints it with `print`, then answers the friend's device step by step;
/// the grant made goes to `grant_out`.
pub async fn share_as_sharer(
    client: &Client,
    sharer: Sharer,
    offered: Profile,
    options: ShareOptions,
    patience: Duration,
    grant_out: Option<&Path>,
    print: impl FnOnce(&tigress_client::Share) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    eprintln!("Encrypting the car-key invitation and storing it on the relay...");
    let offering =
        tigress_carkey::offer(client, sharer, offered, options).await.map_err(exchange_error)?;
    print(offering.share())?;
    let mut spinner = None;
    let grant = offering
        .complete(patience, |event| {
            drop(spinner.take());
            match event {
                SharerEvent::WaitingForRequest => {
                    spinner = Some(Spinner::start("Waiting for the friend's device to accept..."));
                }
                SharerEvent::RequestReceived => {
                    eprintln!(
                        "The friend's device sent its key-creation request; granting its key."
                    );
                }
                SharerEvent::GrantSent => {
                    spinner = Some(Spinner::start(
                        "Sent the grant; waiting for the friend's device to confirm it...",
                    ));
                }
                SharerEvent::Confirmed => {
                    eprintln!(
                        "The friend's device confirmed, signed, that it holds the key. Done."
                    );
                }
            }
        })
        .await
        .map_err(exchange_error)?;
    if let Some(path) = grant_out {
        let text = serde_json::to_string_pretty(&grant).context("could not format the grant")?;
        write_private(path, &text)?;
        eprintln!("The grant is in {}: `tigress revoke --grant` takes it back.", path.display());
    }
    Ok(())
}

/// Which car-key share a received one is, for `tigress receive`.
pub enum Received {
    /// A key offered.
    Invitation,
    /// A key taken back.
    Termination,
}

/// Whether a received share is a car key's invitation or termination.
pub fn kind(info: &ProvisioningInformation) -> Option<Received> {
    match Step::from_info(info) {
        Ok(Step::Invitation { .. }) => Some(Received::Invitation),
        Ok(Step::Termination { .. }) => Some(Received::Termination),
        _ => None,
    }
}

/// Plays the friend's device and returns the key granted as JSON (without its secret, which
/// goes to `key_out` only).
pub async fn receive_as_friend(
    received: ReceivedShare,
    key_out: Option<&Path>,
    patience: Duration,
) -> anyhow::Result<Value> {
    let mut spinner = None;
    let held = tigress_carkey::accept(received, patience, |event| {
        drop(spinner.take());
        match event {
            FriendEvent::RequestSent => {
                spinner = Some(Spinner::start(
                    "Made a key pair and sent the key-creation request; waiting for the grant...",
                ));
            }
            FriendEvent::KeyVerified => eprintln!(
                "The grant checks: its chain back to the owner, this device's key, the profile offered."
            ),
            FriendEvent::Confirmed => {
                spinner = Some(Spinner::start(
                    "Sent a signed confirmation; waiting for the sharer to close the share...",
                ));
            }
            FriendEvent::Closed => eprintln!("The mailbox was deleted from the relay."),
        }
    })
    .await
    .map_err(exchange_error)?;
    match key_out {
        Some(path) => {
            let text = serde_json::to_string_pretty(&held).context("could not format the key")?;
            write_private(path, &text)?;
            eprintln!("This device's key (its private key and chain) is in {}.", path.display());
        }
        None => {
            eprintln!("This device's private key was not kept (use --key-out FILE to keep it).")
        }
    }
    Ok(json!({
        "format": tigress_proto::provisioning::FORMAT_CAR_KEY_CCC,
        "owner": held.owner,
        "chain": held.chain,
    }))
}

/// Answers a termination for the key in `key`: sends the signed proof of deletion, then
/// deletes the key file. Returns what was deleted, as JSON.
pub async fn answer_termination(
    received: ReceivedShare,
    key: Option<&Path>,
    patience: Duration,
) -> anyhow::Result<Value> {
    let path = key.ok_or_else(|| {
        UsageError("this share takes back a car key: give the key with --key FILE".into())
    })?;
    let held: HeldKey = read_json(path, "car key")?;
    eprintln!("The owner takes this key back; answering with a signed proof of deletion...");
    tigress_carkey::answer_termination(received, &held, patience).await.map_err(exchange_error)?;
    fs::remove_file(path).with_context(|| format!("could not delete {}", path.display()))?;
    eprintln!("The key is deleted ({} removed) and the owner has the proof.", path.display());
    Ok(json!({"deleted": held.grant().statement.id}))
}

/// Keeps the SDK error at the top of the chain, so that its exit code applies.
pub fn exchange_error(error: ExchangeError) -> anyhow::Error {
    match error {
        ExchangeError::Client(e) => e.into(),
        ExchangeError::CarKey(e) => e.into(),
        other => other.into(),
    }
}

/// Writes a secret to a new file readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).with_context(
            || format!("could not create {} (it must not exist yet)", path.display()),
        )?;
    writeln!(file, "{text}").with_context(|| format!("could not write {}", path.display()))
}
