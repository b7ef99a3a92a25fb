//! The car-key share from the terminal: the owner's side of `tigress share --stateful`, the
//! friend's side of `tigress receive`, and `tigress demo car-key`.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use tigress_carkey::{
    ExchangeError, FriendEvent, Offer, OwnerEvent, OwnerKey, Step, accept_as_friend, offer_as_owner,
};
use tigress_client::{
    Client, DisplayInformation, ProvisioningInformation, ReceivedShare, ShareOptions,
};

use crate::exit::UsageError;
use crate::terminal::{Spinner, printable};

/// Reads the owner's offer from the share's content.
pub fn offer(content: Value) -> anyhow::Result<Offer> {
    serde_json::from_value(content).map_err(|e| {
        UsageError(format!(
            "a car-key offer is {{\"vehicleId\", \"entitlements\", \"validFrom\", \"validUntil\"}}: {e}"
        ))
        .into()
    })
}

/// The owner key in `path`, made and saved there (owner-only) if the file does not exist; a key
/// for this share only without a path.
pub fn owner_key(path: Option<&Path>) -> anyhow::Result<OwnerKey> {
    let Some(path) = path else {
        return Ok(OwnerKey::generate(&mut rand::rngs::OsRng));
    };
    if path.exists() {
        let text = fs::read_to_string(path)
            .with_context(|| format!("could not read the owner key {}", path.display()))?;
        return OwnerKey::from_base64(&text)
            .map_err(|e| UsageError(format!("{}: {e}", path.display())).into());
    }
    let key = OwnerKey::generate(&mut rand::rngs::OsRng);
    write_private(path, &key.to_base64())?;
    eprintln!("Made a new owner key and saved it in {}.", path.display());
    Ok(key)
}

/// Creates the share, prints it with `print`, then answers the friend's device step by step.
pub async fn share_as_owner(
    client: &Client,
    offer: Offer,
    key: OwnerKey,
    options: ShareOptions,
    patience: Duration,
    print: impl FnOnce(&tigress_client::Share) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    eprintln!("Encrypting the car-key invitation and storing it on the relay...");
    let owner = offer_as_owner(client, offer, key, options).await.map_err(exchange_error)?;
    print(owner.share())?;
    let mut spinner = None;
    owner
        .complete(patience, |event| {
            drop(spinner.take());
            match event {
                OwnerEvent::WaitingForRequest => {
                    spinner = Some(Spinner::start("Waiting for the friend's device to accept..."));
                }
                OwnerEvent::RequestReceived => {
                    eprintln!(
                        "The friend's device sent its key-creation request; signing its key."
                    );
                }
                OwnerEvent::SignedKeySent => {
                    spinner = Some(Spinner::start(
                        "Sent the signed key; waiting for the friend's device to verify it...",
                    ));
                }
                OwnerEvent::Finished => {
                    eprintln!(
                        "The friend's device confirmed, signed, that it holds the key. Done."
                    );
                }
            }
        })
        .await
        .map_err(exchange_error)
}

/// Whether a received share is a car-key invitation, which `tigress receive` answers as the
/// friend's device.
pub fn is_invitation(info: &ProvisioningInformation) -> bool {
    matches!(Step::from_info(info), Ok(Step::Invitation { .. }))
}

/// Plays the friend's device and returns the provisioned key as JSON.
pub async fn receive_as_friend(
    received: ReceivedShare,
    key_out: Option<&Path>,
    patience: Duration,
) -> anyhow::Result<Value> {
    let mut spinner = None;
    let outcome = accept_as_friend(received, patience, |event| {
        drop(spinner.take());
        match event {
            FriendEvent::RequestSent => {
                spinner = Some(Spinner::start(
                    "Made a key pair and sent the key-creation request; waiting for the owner...",
                ));
            }
            FriendEvent::KeyVerified => {
                eprintln!("The owner's signature on this device's key verifies.")
            }
            FriendEvent::Confirmed => {
                spinner = Some(Spinner::start(
                    "Sent the owner a signed confirmation; waiting for it to close the share...",
                ));
            }
            FriendEvent::Closed => eprintln!("The mailbox was deleted from the relay."),
        }
    })
    .await
    .map_err(exchange_error)?;
    match key_out {
        Some(path) => {
            write_private(path, &outcome.device_key.secret_base64())?;
            eprintln!("This device's private key is in {}.", path.display());
        }
        None => {
            eprintln!("This device's private key was not kept (use --key-out FILE to keep it).")
        }
    }
    Ok(json!({
        "format": tigress_proto::provisioning::FORMAT_CAR_KEY_CCC,
        "provisionedKey": outcome.provisioned,
        "devicePublicKey": outcome.device_key.public_base64(),
    }))
}

/// Runs a relay and both devices in this process, narrating each step on stdout.
pub async fn demo() -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = tempfile::tempdir().context("could not make a temporary directory")?;
    let config =
        tigress_relay::RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.path().join("data"));
    let relay = tigress_relay::start(config).await.context("could not start the demo relay")?;
    say(
        "relay",
        &format!("listening on {}, storing ciphertext in a temporary directory", relay.base_url()),
    );

    let offer = Offer {
        vehicle_id: "vehicle-7f3a".into(),
        entitlements: vec!["unlock".into(), "lock".into(), "drive".into()],
        valid_from: "2030-06-01T08:00:00Z".into(),
        valid_until: "2030-06-03T20:00:00Z".into(),
    };
    let key = OwnerKey::generate(&mut rand::rngs::OsRng);
    say(
        "owner",
        &format!(
            "offers {} for {} from {} to {}, signed by owner key {}…",
            offer.vehicle_id,
            offer.entitlements.join(", "),
            offer.valid_from,
            offer.valid_until,
            &key.public_base64()[..12]
        ),
    );
    let options = ShareOptions::new(DisplayInformation {
        title: "Car key".into(),
        description: "Borrow the car this weekend".into(),
        image_url: "https://img.example/car.png".into(),
    });
    let client = Client::new(relay.base_url())?;
    let owner = offer_as_owner(&client, offer, key, options).await.map_err(exchange_error)?;
    let share = owner.share().clone();
    say(
        "owner",
        &format!(
            "created the share {}#<secret>; the secret after '#' never reaches the relay",
            share.url().without_secret()
        ),
    );
    let owner_side = tokio::spawn(owner.complete(Duration::from_secs(30), |event| match event {
        OwnerEvent::WaitingForRequest => say("owner", "sends the link to the friend and waits"),
        OwnerEvent::RequestReceived => {
            say("owner", "received the key-creation request; signs the friend's public key")
        }
        OwnerEvent::SignedKeySent => say("owner", "sent the signed key certificate"),
        OwnerEvent::Finished => {
            say("owner", "verified the friend's signed confirmation and deleted the mailbox")
        }
    }));

    let friend = Client::new(relay.base_url())?;
    let pending = friend.receive(share.url(), share.secret().clone()).await?;
    let preview = pending.preview();
    say(
        "friend",
        &format!(
            "previews \"{}\": {} ({}, expires {})",
            printable(preview.display.information().map_or("", |d| d.title.as_str())),
            printable(preview.display.information().map_or("", |d| d.description.as_str())),
            preview.vertical.describe(),
            preview.expiration
        ),
    );
    let received = pending.accept().await?;
    say(
        "friend",
        "accepted: bound the mailbox with a fresh device claim and decrypted the invitation",
    );
    let outcome = accept_as_friend(received, Duration::from_secs(30), |event| match event {
        FriendEvent::RequestSent => {
            say("friend", "made a key pair and sent a key-creation request with its public key")
        }
        FriendEvent::KeyVerified => {
            say("friend", "verified the owner's signature and the granted terms")
        }
        FriendEvent::Confirmed => {
            say("friend", "sent a confirmation signed with its new key: it holds the key")
        }
        FriendEvent::Closed => say("friend", "saw the mailbox deleted: the relay keeps nothing"),
    })
    .await
    .map_err(exchange_error)?;
    owner_side.await.context("the owner's side stopped")?.map_err(exchange_error)?;
    let certificate = &outcome.provisioned.signed.certificate;
    say(
        "friend",
        &format!(
            "holds a key for {} ({}) until {}",
            certificate.vehicle_id,
            certificate.entitlements.join(", "),
            certificate.valid_until
        ),
    );
    relay.shutdown().await?;
    println!(
        "Done in {} ms: three messages, each encrypted end to end and bound to the conversation.",
        started.elapsed().as_millis()
    );
    Ok(())
}

fn say(who: &str, what: &str) {
    println!("{:<8} {what}", format!("[{who}]"));
}

/// Keeps the SDK error at the top of the chain, so that its exit code applies.
fn exchange_error(error: ExchangeError) -> anyhow::Error {
    match error {
        ExchangeError::Client(e) => e.into(),
        other => other.into(),
    }
}

/// Writes a secret to a new file readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).with_context(
            || format!("could not create {} (it must not exist yet)", path.display()),
        )?;
    writeln!(file, "{text}").with_context(|| format!("could not write {}", path.display()))
}
