//! `tigress revoke`: the owner takes a car key back (and every key passed on from it) by
//! sending the holder's device a signed termination, and waits for its proof of deletion.

use anyhow::Context as _;
use tigress_client::{DisplayInformation, ShareOptions};
use tigress_lifecycle::{Grant, Signed};

use crate::args::RevokeArgs;
use crate::car_key::{exchange_error, read_json, read_owner_key, write_private};

/// Runs `tigress revoke`.
pub async fn run(args: RevokeArgs) -> anyhow::Result<()> {
    let owner = read_owner_key(&args.owner_key)?;
    let grant: Signed<Grant> = read_json(&args.grant, "grant")?;
    let client = crate::client(&args.relay, args.ca_cert.as_deref())?;
    let options = ShareOptions::new(DisplayInformation {
        title: "Car key".into(),
        description: "The owner takes this key back".into(),
        image_url: "https://img.example/car.png".into(),
    });
    let termination = tigress_carkey::send_termination(&client, &owner, grant, options)
        .await
        .map_err(exchange_error)?;
    if let Some(path) = &args.termination_out {
        let text = serde_json::to_string_pretty(termination.termination())
            .context("could not format the termination")?;
        write_private(path, &text)?;
        eprintln!("The signed termination is in {}: give it to the vehicle.", path.display());
    }
    println!("{}", termination.share().url());
    eprintln!("Send this link to the holder's device; waiting for its proof of deletion...");
    termination.complete(args.patience.into()).await.map_err(exchange_error)?;
    eprintln!("The holder's device proved, signed with the key, that it deleted it.");
    Ok(())
}
