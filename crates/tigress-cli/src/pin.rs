//! PIN shares in the CLI: `tigress share --pin` holds the key back until the receiver's device
//! proves the PIN; `tigress receive` asks for the PIN when a share needs one. The PIN is shown
//! to the sender's user once, on the terminal, and never written anywhere else.

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};
use std::time::Duration;

use anyhow::Context as _;
use tigress_client::{
    Client, Error as ClientError, Pin, PinAttempt, PinEvent, PinOutcome, ProvisioningInformation,
    ReceivedShare, Share, ShareOptions,
};

use crate::exit::{PinFailed, UsageError};
use crate::terminal::Spinner;

/// The PIN given with `--pin`, or six random digits when it was given without a value.
pub fn chosen_or_generated(given: &str) -> anyhow::Result<Pin> {
    if given.is_empty() {
        return Ok(Pin::generate(&mut rand::rngs::OsRng));
    }
    Pin::new(given).map_err(|e| UsageError(format!("invalid --pin: {e}")).into())
}

/// Creates the PIN share, prints it and the PIN, then answers the receiver until the key is
/// delivered, the share is ended, or `patience` runs out.
pub async fn share(
    client: &Client,
    info: &ProvisioningInformation,
    options: ShareOptions,
    pin: &Pin,
    patience: Duration,
    print: impl FnOnce(&Share) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    eprintln!("Storing a PIN invitation on the relay (the key stays on this device)...");
    let pin_share =
        client.share_with_pin(info, options, pin).await.context("could not create the share")?;
    print(pin_share.share())?;
    eprintln!(
        "PIN: {}  (tell it to the receiver over another channel, by voice for instance; never \
         send it with the link)",
        pin.reveal()
    );
    let mut spinner = Some(Spinner::start("Waiting for the receiver's device to prove the PIN..."));
    let outcome = pin_share
        .deliver(patience, |event| {
            drop(spinner.take());
            let PinEvent::WrongPin { attempts_left } = event;
            eprintln!("A wrong PIN was tried; {attempts_left} attempt(s) left.");
            spinner = Some(Spinner::start("Waiting for the receiver's device..."));
        })
        .await;
    drop(spinner);
    match outcome {
        Ok(PinOutcome::Delivered) => {
            eprintln!("The receiver's device proved the PIN; the key was sent to it. Done.");
            Ok(())
        }
        Ok(PinOutcome::Ended) => {
            Err(PinFailed("too many wrong PINs were tried: the share was ended and deleted".into())
                .into())
        }
        Ok(PinOutcome::TimedOut) => Err(PinFailed(format!(
            "no device proved the PIN within {}: the share was deleted",
            humantime::format_duration(patience)
        ))
        .into()),
        // The receiver deletes the mailbox when it gives up after a wrong PIN.
        Err(ClientError::Gone) => {
            Err(PinFailed("the receiver's device ended the share before proving the PIN".into())
                .into())
        }
        Err(e) => Err(e).context("the PIN share did not complete"),
    }
}

/// Proves the PIN (from `--pin`, or asked on the terminal) and returns the key. On a wrong PIN
/// with no way to ask again, the mailbox is deleted, so the sender's device learns at once that
/// this device gave up.
pub async fn receive(
    received: ReceivedShare,
    given: Option<&str>,
    patience: Duration,
) -> anyhow::Result<ProvisioningInformation> {
    eprintln!("This share needs the PIN that the sender told you.");
    let mut exchange = received.into_pin_exchange()?;
    let interactive = given.is_none() && io::stdin().is_terminal();
    if given.is_none() && !interactive {
        exchange.finish().await.ok();
        return Err(UsageError("this share needs a PIN: give it with --pin".into()).into());
    }
    let mut given = given.map(str::to_owned);
    loop {
        let text = match given.take() {
            Some(text) => text,
            None => ask_pin()?,
        };
        let pin = match Pin::new(text.trim()) {
            Ok(pin) => pin,
            Err(e) if interactive => {
                eprintln!("{e}");
                continue;
            }
            Err(e) => {
                exchange.finish().await.ok();
                return Err(UsageError(format!("invalid --pin: {e}")).into());
            }
        };
        eprintln!("Proving the PIN to the sender's device...");
        match exchange.attempt(&pin, patience).await? {
            PinAttempt::Delivered(info) => {
                if let Err(e) = exchange.finish().await {
                    eprintln!("warning: received, but the mailbox could not be deleted ({e})");
                }
                return Ok(info);
            }
            PinAttempt::WrongPin { attempts_left } if interactive && attempts_left > 0 => {
                eprintln!("Wrong PIN; {attempts_left} attempt(s) left.");
            }
            PinAttempt::WrongPin { attempts_left } => {
                exchange.finish().await.ok();
                return Err(PinFailed(format!(
                    "wrong PIN ({attempts_left} attempt(s) were left); this device gave the \
                     share up"
                ))
                .into());
            }
            PinAttempt::Ended => {
                return Err(PinFailed(
                    "wrong PIN: the sender's device ended the share after too many attempts".into(),
                )
                .into());
            }
        }
    }
}

/// Reads a PIN from the terminal.
fn ask_pin() -> anyhow::Result<String> {
    eprint!("PIN: ");
    io::stderr().flush().context("could not ask for the PIN")?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer).context("could not read the PIN")?;
    Ok(answer)
}
