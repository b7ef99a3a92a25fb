//! The whole car-key exchange through a real relay in this process.

use std::time::Duration;

use tigress_carkey::{
    ExchangeError, FriendEvent, Offer, OwnerEvent, OwnerKey, accept_as_friend, offer_as_owner,
};
use tigress_client::{Algorithm, Client, DisplayInformation, ShareOptions};

fn offer() -> Offer {
    Offer {
        vehicle_id: "vehicle-7f3a".into(),
        entitlements: vec!["unlock".into(), "drive".into()],
        valid_from: "2030-06-01T08:00:00Z".into(),
        valid_until: "2030-06-03T20:00:00Z".into(),
    }
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

#[tokio::test]
async fn the_friend_ends_with_a_verified_key_and_the_mailbox_is_deleted() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let owner_key = OwnerKey::generate(&mut rand::rngs::OsRng);
    let owner_public = owner_key.public_base64();
    let owner = offer_as_owner(&client, offer(), owner_key, options()).await.unwrap();
    let share = owner.share().clone();
    assert!(share.url().to_string().contains("?v=c#"), "car vertical");

    let owner_events = tokio::spawn(async move {
        let mut events = Vec::new();
        owner.complete(Duration::from_secs(20), |e| events.push(e)).await.map(|()| events)
    });

    let friend_client = Client::new(relay.base_url()).unwrap();
    let received = friend_client
        .receive(share.url(), share.secret().clone())
        .await
        .unwrap()
        .accept()
        .await
        .unwrap();
    let mut friend_events = Vec::new();
    let outcome = accept_as_friend(received, Duration::from_secs(20), |e| friend_events.push(e))
        .await
        .unwrap();

    assert_eq!(outcome.provisioned.owner_public_key, owner_public);
    assert_eq!(
        outcome.provisioned.signed.certificate.friend_public_key,
        outcome.device_key.public_base64()
    );
    assert_eq!(outcome.provisioned.signed.certificate.entitlements, offer().entitlements);
    assert_eq!(
        friend_events,
        vec![
            FriendEvent::RequestSent,
            FriendEvent::KeyVerified,
            FriendEvent::Confirmed,
            FriendEvent::Closed
        ]
    );
    let owner_events = owner_events.await.unwrap().unwrap();
    assert_eq!(
        owner_events,
        vec![
            OwnerEvent::WaitingForRequest,
            OwnerEvent::RequestReceived,
            OwnerEvent::SignedKeySent,
            OwnerEvent::Finished
        ]
    );

    // The mailbox is gone.
    let gone = client.read(&share.url().without_secret(), share.claim(), share.secret()).await;
    assert!(matches!(gone, Err(tigress_client::Error::Gone)), "{gone:?}");
}

#[tokio::test]
async fn a_friend_waiting_for_an_owner_who_never_answers_gives_up() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let owner =
        offer_as_owner(&client, offer(), OwnerKey::generate(&mut rand::rngs::OsRng), options())
            .await
            .unwrap();
    let share = owner.share().clone();
    let received =
        client.receive(share.url(), share.secret().clone()).await.unwrap().accept().await.unwrap();
    let result = accept_as_friend(received, Duration::from_secs(1), |_| {}).await;
    assert!(matches!(result, Err(ExchangeError::TimedOut(_))), "{:?}", result.err());
    // The owner withdraws; the mailbox goes away.
    owner.cancel().await.unwrap();
    let gone = client.read(&share.url().without_secret(), share.claim(), share.secret()).await;
    assert!(matches!(gone, Err(tigress_client::Error::Gone)));
}

/// Review finding 7: the owner took a mailbox that vanished after its signed key was written for
/// "the friend verified", though a deleted mailbox says nothing of whether the key arrived.
#[tokio::test]
async fn a_share_that_vanishes_without_the_friends_confirmation_is_not_confirmed() {
    let (relay, _dir) = relay().await;
    let client = Client::new(relay.base_url()).unwrap();
    let owner =
        offer_as_owner(&client, offer(), OwnerKey::generate(&mut rand::rngs::OsRng), options())
            .await
            .unwrap();
    let share = owner.share().clone();
    let owner = tokio::spawn(async move { owner.complete(Duration::from_secs(20), |_| {}).await });

    // A friend's device (or anyone holding the link) that takes the key and deletes the
    // mailbox without confirming.
    let received =
        client.receive(share.url(), share.secret().clone()).await.unwrap().accept().await.unwrap();
    let mut transfer = received.into_transfer().unwrap();
    let device_key = tigress_carkey::FriendKey::generate(&mut rand::rngs::OsRng);
    transfer.send(&device_key.request().to_info()).await.unwrap();
    let signed = transfer.next_message(Duration::from_secs(20)).await.unwrap().expect("signed key");
    assert!(matches!(
        tigress_carkey::Step::from_info(&signed),
        Ok(tigress_carkey::Step::SignedKey(_))
    ));
    transfer.finish().await.unwrap();

    let result = owner.await.unwrap();
    assert!(matches!(result, Err(ExchangeError::NotConfirmed)), "{:?}", result.err());
}
