//! `tigress demo car-key`: a relay, the car's owner, a friend, the friend's friend and the
//! vehicle in this process, through a car key's whole life, narrated on stdout.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use tigress_carkey::{
    FriendEvent, HeldKey, Sharer, SharerEvent, Vehicle, car_profile, flow::unix_now,
};
use tigress_client::{Client, DisplayInformation, Share, ShareOptions, tigress_jwe};
use tigress_lifecycle::{DeviceKey, Grant, Profile, Signed};

use crate::car_key::{exchange_error, public_text};
use crate::terminal::printable;

const PATIENCE: Duration = Duration::from_secs(30);
const VEHICLE: &str = "vehicle-7f3a";

/// Runs the demo.
pub async fn car_key() -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = tempfile::tempdir().context("could not make a temporary directory")?;
    let config =
        tigress_relay::RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.path().join("data"));
    let relay = tigress_relay::start(config).await.context("could not start the demo relay")?;
    say(
        "relay",
        &format!("listening on {}, storing ciphertext in a temporary directory", relay.base_url()),
    );
    let client = Client::new(relay.base_url())?;
    let owner = DeviceKey::generate(&mut rand::rngs::OsRng);
    let mut car = Vehicle { id: VEHICLE.into(), owner: owner.public(), terminations: vec![] };
    let car_key = tigress_jwe::PrivateJwk::generate(&mut rand::rngs::OsRng, VEHICLE)
        .context("could not make the vehicle's key")?;
    say(
        "vehicle",
        &format!(
            "{VEHICLE} knows its owner's public key {}… and has a P-256 key of its own",
            &public_text(&owner)[..12]
        ),
    );

    // 1. The owner shares a guest key with the friend, who may pass it on once.
    let now = unix_now();
    let guest = car_profile(
        "guest",
        (now, now + 3 * 86_400),
        VEHICLE,
        &["unlock", "lock", "drive"],
        Some(130),
        1,
    );
    say("owner", &format!("offers the friend {}", describe(&guest)));
    let sharer = Sharer::Owner(DeviceKey::from_secret(owner.secret()));
    let pairing = serde_json::json!({"immobilizerCode": "7f3a-91c2"});
    say(
        "owner",
        "seals the vehicle's pairing code for the vehicle's key, to travel with the grant",
    );
    let sealed = Some((car_key.public(), pairing));
    let (friend_grant, friend) = share(&client, "owner", "friend", sharer, guest, sealed).await?;
    if let Some(part) = &friend.vehicle {
        say("friend", "carries the part sealed for the vehicle: a JWE it cannot open");
        let opened = tigress_carkey::open_part(&car_key, part)?;
        say("vehicle", &format!("opens the part sealed for it: {opened}"));
    }

    // 2. The friend passes on a narrower key to a third device.
    let afternoon = car_profile("guest", (now, now + 4 * 3600), VEHICLE, &["drive"], Some(90), 0);
    say("friend", &format!("passes on to a third device {}", describe(&afternoon)));
    let (_, third) =
        share(&client, "friend", "third", Sharer::Holder(friend.clone()), afternoon, None).await?;

    // 3. The third device drives, and may not unlock.
    let admitted = car.admit(&third.chain, "drive", unix_now())?;
    say(
        "vehicle",
        &format!(
            "admits the third device's key to drive: chain of {} back to the owner, at most {} km/h",
            third.chain.len(),
            admitted.max_speed.unwrap_or_default()
        ),
    );
    let refused = car.admit(&third.chain, "unlock", unix_now()).err().context("unlock admitted")?;
    say("vehicle", &format!("refuses it to unlock: {refused}"));

    // 4. The owner takes the friend's key back: a termination through a mailbox.
    let termination = tigress_carkey::send_termination(
        &client,
        &owner,
        friend_grant,
        options("The owner takes this key back"),
    )
    .await
    .map_err(exchange_error)?;
    say("owner", "signs a termination of the friend's key and sends it through a new share");
    car.terminations.push(termination.termination().clone());
    say("vehicle", "is given the owner's termination");
    let link = termination.share().clone();
    let owner_side = tokio::spawn(termination.complete(PATIENCE));
    let received = open(&client, &link).await?;
    tigress_carkey::answer_termination(received, &friend, PATIENCE)
        .await
        .map_err(exchange_error)?;
    say(
        "friend",
        "checks the termination is its owner's, deletes the key, and signs a proof of deletion",
    );
    owner_side.await.context("the owner's side stopped")?.map_err(exchange_error)?;
    say("owner", "verified the friend's proof of deletion, signed with the deleted key");

    // 5. The key passed on from it is refused too.
    let refused =
        car.admit(&third.chain, "drive", unix_now()).err().context("a terminated key drove")?;
    say("vehicle", &format!("refuses the third device's key: {refused} (key 0 is the friend's)"));
    relay.shutdown().await?;
    println!(
        "Done in {} ms: three shares, ten messages, each encrypted end to end; the relay saw none of \
         the keys, profiles or signatures.",
        started.elapsed().as_millis()
    );
    Ok(())
}

/// One share from `from` to a new device `to`, narrated: the grant and what `to` holds.
async fn share(
    client: &Client,
    from: &'static str,
    to: &'static str,
    sharer: Sharer,
    offered: Profile,
    for_vehicle: Option<(tigress_jwe::PublicJwk, serde_json::Value)>,
) -> anyhow::Result<(Signed<Grant>, HeldKey)> {
    let mut offering = tigress_carkey::offer(client, sharer, offered, options("Borrow the car"))
        .await
        .map_err(exchange_error)?;
    if let Some((key, part)) = for_vehicle {
        offering = offering.seal_for_vehicle(key, part);
    }
    let link = offering.share().clone();
    say(
        from,
        &format!(
            "created the share {}#<secret>; the secret after '#' never reaches the relay",
            link.url().without_secret()
        ),
    );
    let sharer_side = tokio::spawn(offering.complete(PATIENCE, move |event| match event {
        SharerEvent::WaitingForRequest => say(from, "sends the link and waits"),
        SharerEvent::RequestReceived => {
            say(from, "received the key-creation request; signs a grant to that key")
        }
        SharerEvent::GrantSent => say(from, "sent the chain of grants"),
        SharerEvent::Confirmed => {
            say(from, "verified the signed \"provisioned\" confirmation and deleted the mailbox")
        }
    }));
    let pending = client.receive(link.url(), link.secret().clone()).await?;
    let preview = pending.preview();
    say(
        to,
        &format!(
            "previews \"{}\": {} ({})",
            printable(preview.display.information().map_or("", |d| d.title.as_str())),
            printable(preview.display.information().map_or("", |d| d.description.as_str())),
            preview.vertical.describe(),
        ),
    );
    let received = pending.accept().await?;
    let held = tigress_carkey::accept(received, PATIENCE, |event| match event {
        FriendEvent::RequestSent => {
            say(to, "checked the invitation, made a key pair, sent its public key")
        }
        FriendEvent::KeyVerified => {
            say(to, "checked the chain back to the owner, its own key and the profile offered")
        }
        FriendEvent::Confirmed => say(to, "holds the key; signed \"provisioned\" with it"),
        FriendEvent::Closed => say(to, "saw the mailbox deleted: the relay keeps nothing"),
    })
    .await
    .map_err(exchange_error)?;
    let grant = sharer_side.await.context("the sharing side stopped")?.map_err(exchange_error)?;
    Ok((grant, held))
}

async fn open(client: &Client, link: &Share) -> anyhow::Result<tigress_client::ReceivedShare> {
    Ok(client.receive(link.url(), link.secret().clone()).await?.accept().await?)
}

fn options(description: &str) -> ShareOptions {
    ShareOptions::new(DisplayInformation {
        title: "Car key".into(),
        description: description.into(),
        image_url: "https://img.example/car.png".into(),
    })
}

/// A profile in words.
fn describe(profile: &Profile) -> String {
    let limits: Vec<String> = profile
        .limits
        .iter()
        .map(|(name, limit)| format!("{name} {}", serde_json::to_string(limit).unwrap_or_default()))
        .collect();
    let hours = (profile.not_after - profile.not_before) / 3600;
    format!(
        "a {} key for {hours} h, {}, passed on at most {} more time(s)",
        profile.role,
        limits.join(", "),
        profile.share_depth
    )
}

fn say(who: &str, what: &str) {
    println!("{:<9} {what}", format!("[{who}]"));
}
