//! The car-key share and its lifecycle through a real relay in this process: owner to friend,
//! friend to a third device, the vehicle's check, a termination sent through a mailbox and its
//! proof of deletion, and shares that time out or vanish.

use std::time::Duration;

use rand::rngs::OsRng;
use tigress_carkey::{
    ExchangeError, FriendEvent, HeldKey, Refusal, Sharer, SharerEvent, Step, Vehicle, accept,
    answer_termination, car_profile, offer, send_termination,
};
use tigress_client::{Algorithm, Client, DisplayInformation, Share, ShareOptions};
use tigress_lifecycle::{ChainError, DeviceKey, Profile};

fn now() -> i64 {
    tigress_carkey::flow::unix_now()
}

fn guest(depth: u8) -> Profile {
    car_profile(
        "guest",
        (now() - 60, now() + 3600),
        "vehicle-7f3a",
        &["unlock", "drive"],
        Some(120),
        depth,
    )
}

fn options() -> ShareOptions {
    ShareOptions {
        display: DisplayInformation {
            title: "Car key".into(),
            description: "Borrow the car this weekend".into(),
            image_url: "https://img.example/car.png".into(),
        }
        .into(),
        access_rights: None,
        expires_at: None,
        vertical: None,
        algorithm: Algorithm::Aes256Gcm,
        max_receivers: None,
        notification_token: None,
        event_endpoint: None,
    }
}

async fn relay() -> (tigress_relay::RunningRelay, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config =
        tigress_relay::RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    (tigress_relay::start(config).await.unwrap(), dir)
}

/// `sharer` shares `offered` with a new device; the sharer's grant and the device's key.
async fn share(
    client: &Client,
    sharer: Sharer,
    offered: Profile,
) -> (
    tigress_lifecycle::Signed<tigress_lifecycle::Grant>,
    HeldKey,
    Vec<SharerEvent>,
    Vec<FriendEvent>,
) {
    let offering = offer(client, sharer, offered, options()).await.unwrap();
    let link = offering.share().clone();
    assert!(link.url().to_string().contains("?v=c#"), "car vertical");
    let sharer = tokio::spawn(async move {
        let mut events = Vec::new();
        offering.complete(Duration::from_secs(20), |e| events.push(e)).await.map(|g| (g, events))
    });
    let received = open(client, &link).await;
    let mut friend_events = Vec::new();
    let held = accept(received, Duration::from_secs(20), |e| friend_events.push(e)).await.unwrap();
    let (grant, sharer_events) = sharer.await.unwrap().unwrap();
    let gone = client.read(&link.url().without_secret(), link.claim(), link.secret()).await;
    assert!(matches!(gone, Err(tigress_client::Error::Gone)), "{gone:?}");
    (grant, held, sharer_events, friend_events)
}

/// A new owner's offer of a guest key that may not be passed on.
async fn owner_offers(client: &Client) -> tigress_carkey::Offering {
    offer(client, Sharer::Owner(DeviceKey::generate(&mut OsRng)), guest(0), options())
        .await
        .unwrap()
}

async fn open(client: &Client, share: &Share) -> tigress_client::ReceivedShare {
    client.receive(share.url(), share.secret().clone()).await.unwrap().accept().await.unwrap()
}

#[tokio::test]
async fn a_key_passed_on_drives_until_the_owner_takes_it_back_and_both_holders_prove_deletion() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let owner = DeviceKey::generate(&mut OsRng);
    let (friend_grant, friend, owner_events, friend_events) =
        share(&client, Sharer::Owner(DeviceKey::from_secret(owner.secret())), guest(1)).await;
    assert_eq!(
        owner_events,
        [
            SharerEvent::WaitingForRequest,
            SharerEvent::RequestReceived,
            SharerEvent::GrantSent,
            SharerEvent::Confirmed
        ]
    );
    assert_eq!(
        friend_events,
        [
            FriendEvent::RequestSent,
            FriendEvent::KeyVerified,
            FriendEvent::Confirmed,
            FriendEvent::Closed
        ]
    );
    assert_eq!(friend.grant(), &friend_grant);
    assert_eq!(friend.owner, owner.public());

    // The friend passes it on, narrower: no unlocking, 90 km/h, not further.
    let narrower =
        car_profile("guest", (now() - 60, now() + 1800), "vehicle-7f3a", &["drive"], Some(90), 0);
    let (_, third, _, _) = share(&client, Sharer::Holder(friend.clone()), narrower).await;
    assert_eq!(third.chain.len(), 2);

    let mut car =
        Vehicle { id: "vehicle-7f3a".into(), owner: owner.public(), terminations: vec![] };
    let admitted = car.admit(&third.chain, "drive", now()).unwrap();
    assert_eq!((admitted.depth, admitted.max_speed), (1, Some(90)));
    assert_eq!(
        car.admit(&third.chain, "unlock", now()),
        Err(Refusal::NotEntitled("unlock".into()))
    );

    // The owner takes the friend's key back, through a mailbox to the friend's device.
    let termination = send_termination(&client, &owner, friend_grant, options()).await.unwrap();
    car.terminations.push(termination.termination().clone());
    let link = termination.share().clone();
    let owner_side = tokio::spawn(termination.complete(Duration::from_secs(20)));
    answer_termination(open(&client, &link).await, &friend, Duration::from_secs(20)).await.unwrap();
    let proof = owner_side.await.unwrap().unwrap();
    assert!(matches!(proof, Step::Deleted { .. }));

    // The key passed on from it is refused too, naming the terminated key (0: the friend's).
    assert_eq!(
        car.admit(&third.chain, "drive", now()),
        Err(Refusal::Chain(ChainError::Terminated { index: 0 }))
    );
    assert_eq!(
        car.admit(&friend.chain, "drive", now()),
        Err(Refusal::Chain(ChainError::Terminated { index: 0 }))
    );
}

#[tokio::test]
async fn the_part_sealed_for_the_vehicle_is_carried_unread_and_opened_by_the_vehicle_only() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let vehicle = tigress_jwe::PrivateJwk::generate(&mut OsRng, "vehicle-7f3a").unwrap();
    let part = serde_json::json!({"immobilizerCode": "7f3a-91c2"});
    let offering = owner_offers(&client).await.seal_for_vehicle(vehicle.public(), part.clone());
    let link = offering.share().clone();
    let sharer = tokio::spawn(offering.complete(Duration::from_secs(20), |_| {}));
    let held = accept(open(&client, &link).await, Duration::from_secs(20), |_| {}).await.unwrap();
    sharer.await.unwrap().unwrap();
    let carried = held.vehicle.clone().expect("the holder carries the vehicle's part");
    assert!(!carried.sealed.to_string().contains("7f3a-91c2"), "the holder can read it");
    assert_eq!(tigress_carkey::open_part(&vehicle, &carried).unwrap(), part);
    let other = tigress_jwe::PrivateJwk::generate(&mut OsRng, "vehicle-7f3a").unwrap();
    assert!(tigress_carkey::open_part(&other, &carried).is_err());
    let elsewhere = tigress_carkey::VehiclePart { share: "another-share".into(), ..carried };
    assert!(tigress_carkey::open_part(&vehicle, &elsewhere).is_err());
}

#[tokio::test]
async fn a_friend_waiting_for_a_sharer_who_never_answers_reports_a_time_out() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let offering = owner_offers(&client).await;
    let link = offering.share().clone();
    let result = accept(open(&client, &link).await, Duration::from_secs(1), |_| {}).await;
    assert!(matches!(result, Err(ExchangeError::TimedOut(_))), "{:?}", result.err());
    assert!(result.err().unwrap().to_string().contains("timed out"));
    offering.cancel().await.unwrap();
    let gone = client.read(&link.url().without_secret(), link.claim(), link.secret()).await;
    assert!(matches!(gone, Err(tigress_client::Error::Gone)));
}

#[tokio::test]
async fn a_sharer_whose_friend_never_answers_reports_a_time_out() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let offering = owner_offers(&client).await;
    let result = offering.complete(Duration::from_secs(1), |_| {}).await;
    assert!(matches!(result, Err(ExchangeError::TimedOut(_))), "{:?}", result.err());
}

/// Review finding 7: a mailbox that vanished after the grant was written says nothing of
/// whether the key arrived.
#[tokio::test]
async fn a_share_that_vanishes_without_the_friends_confirmation_is_not_confirmed() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let offering = owner_offers(&client).await;
    let link = offering.share().clone();
    let sharer =
        tokio::spawn(async move { offering.complete(Duration::from_secs(20), |_| {}).await });

    // A device (or anyone holding the link) that takes the grant and deletes the mailbox
    // without confirming.
    let mut transfer = open(&client, &link).await.into_transfer().unwrap();
    let device = DeviceKey::generate(&mut OsRng);
    transfer.send(&Step::KeyCreationRequest { holder: device.public() }.to_info()).await.unwrap();
    let granted = transfer.next_message(Duration::from_secs(20)).await.unwrap().expect("a grant");
    assert!(matches!(Step::from_info(&granted), Ok(Step::Grant { .. })));
    transfer.finish().await.unwrap();

    let result = sharer.await.unwrap();
    assert!(matches!(result, Err(ExchangeError::NotConfirmed)), "{:?}", result.err());
}

#[tokio::test]
async fn a_holder_may_not_offer_more_than_it_holds() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let (_, friend, _, _) =
        share(&client, Sharer::Owner(DeviceKey::generate(&mut OsRng)), guest(0)).await;
    let refused = offer(&client, Sharer::Holder(friend), guest(0), options()).await;
    let error = refused.err().expect("refused").to_string();
    assert!(error.contains("may not be passed on"), "{error}");
}
