//! One-message and stateful flows through the SDK, against the real relay.

use std::time::Duration;

use serde_json::json;
use tigress_client::{DeviceClaim, Error, ProvisioningInformation, Vertical};

use crate::support::{ClientOf as _, TestRelay, key, options};

#[tokio::test]
async fn a_one_message_share_is_previewed_received_and_deleted() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let share = client.share(&key(1), options(None)).await.unwrap();
    let url = share.url().clone();
    assert!(url.to_string().contains("?v=c#"));

    let pending = client.receive(&url, share.secret().clone()).await.unwrap();
    let preview = pending.preview();
    assert_eq!(preview.display.information().unwrap().title, "Car Key");
    assert_eq!(preview.vertical, Vertical::Car);
    assert!(preview.expiration.ends_with('Z'), "{}", preview.expiration);

    let received = pending.accept().await.unwrap();
    assert_eq!(received.provisioning(), &key(1));
    received.finish(false).await.unwrap();

    let again = client.receive(&url, share.secret().clone()).await;
    assert!(matches!(again, Err(Error::Gone)), "{again:?}");
    relay.stop().await;
}

#[tokio::test]
async fn declining_binds_nothing() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let share = client.share(&key(1), options(None)).await.unwrap();

    client.receive(share.url(), share.secret().clone()).await.unwrap().decline();
    let declined = client.receive(share.url(), share.secret().clone()).await.unwrap();
    assert!(matches!(declined.decide(false).await, Err(Error::Declined)));

    let pending = client.receive(share.url(), share.secret().clone()).await.unwrap();
    let received = pending.decide(true).await.unwrap();
    assert_eq!(received.provisioning(), &key(1));
    relay.stop().await;
}

#[tokio::test]
async fn a_bound_share_is_refused_to_a_second_device() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let share = client.share(&key(1), options(None)).await.unwrap();
    let first = client.receive(share.url(), share.secret().clone()).await.unwrap();
    first.accept().await.unwrap().finish(true).await.unwrap();

    let second = client.receive(share.url(), share.secret().clone()).await.unwrap();
    assert!(matches!(second.accept().await, Err(Error::AlreadyClaimed)));
    relay.stop().await;
}

#[tokio::test]
async fn a_wrong_secret_gives_the_binding_back() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let share = client.share(&key(1), options(None)).await.unwrap();
    let wrong = tigress_client::Secret::from_base64("hXlr6aRC7KgJpOLTNZaLsw==").unwrap();

    let pending = client.receive(share.url(), wrong).await.unwrap();
    assert!(matches!(pending.accept().await, Err(Error::Decrypt(_))));

    let pending = client.receive(share.url(), share.secret().clone()).await.unwrap();
    assert_eq!(pending.accept().await.unwrap().provisioning(), &key(1));
    relay.stop().await;
}

#[tokio::test]
async fn a_stateful_exchange_updates_reads_relinquishes_and_cancels() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let share = client.share(&key(1), options(Some("RWD"))).await.unwrap();
    let (url, secret) = (share.url().without_secret(), share.secret().clone());

    // The receiver binds, keeps the mailbox and answers in the same slot.
    let received = client.receive(&url, secret.clone()).await.unwrap().accept().await.unwrap();
    let receiver = *received.claim();
    received.finish(true).await.unwrap();
    let reply = ProvisioningInformation::new(
        "digitalwallet.carkey.ccc",
        json!({"role": "receiver", "seq": 1, "signingRequest": "BBCD"}),
    )
    .unwrap();
    client.update(&url, &receiver, &secret, &reply).await.unwrap();

    // The sender reads the reply and writes the next message.
    assert_eq!(client.read(&url, share.claim(), &secret).await.unwrap(), reply);
    client.update(&url, share.claim(), &secret, &key(2)).await.unwrap();
    assert_eq!(client.read(&url, &receiver, &secret).await.unwrap(), key(2));

    // The receiver gives the binding up; another device may now bind, and sees the slot.
    client.relinquish(&url, &receiver).await.unwrap();
    let other = DeviceClaim::random(&mut rand::rngs::OsRng);
    assert_eq!(client.read(&url, &other, &secret).await.unwrap(), key(2));
    let late = client.read(&url, &receiver, &secret).await;
    assert!(matches!(late, Err(Error::AlreadyClaimed)), "{late:?}");

    // The sender cancels: the mailbox is gone for everyone, and a second delete says so.
    client.delete(&url, share.claim()).await.unwrap();
    assert!(matches!(client.read(&url, share.claim(), &secret).await, Err(Error::Gone)));
    assert!(matches!(client.delete(&url, share.claim()).await, Err(Error::Gone)));
    relay.stop().await;
}

#[tokio::test]
async fn a_receiver_without_the_write_right_cannot_update() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let share = client.share(&key(1), options(None)).await.unwrap();
    let received =
        client.receive(share.url(), share.secret().clone()).await.unwrap().accept().await.unwrap();
    let refused = client.update(share.url(), received.claim(), share.secret(), &key(9)).await;
    assert!(matches!(refused, Err(Error::Rejected { status: 401, .. })), "{refused:?}");
    relay.stop().await;
}

#[tokio::test]
async fn a_client_shares_under_the_mailbox_segment_its_relay_was_configured_with() {
    let relay =
        TestRelay::start_with(|config| config.mailbox_segment = "mailbox".parse().unwrap()).await;
    let refused = relay.client().share(&key(1), options(None)).await;
    assert!(matches!(refused, Err(Error::Rejected { status: 404, .. })), "{refused:?}");

    let client = tigress_client::Client::builder(relay.base_url()).mailbox_segment("mailbox");
    let client = client.build().unwrap();
    let share = client.share(&key(1), options(None)).await.unwrap();
    assert_eq!(share.url().mailbox_segment(), "mailbox");
    assert!(share.url().to_string().contains("/v1/mailbox/"), "{}", share.url());
    // The receiver needs no setting: it follows the link.
    let pending = relay.client().receive(share.url(), share.secret().clone()).await.unwrap();
    let received = pending.accept().await.unwrap();
    assert_eq!(received.provisioning(), &key(1));
    received.finish(false).await.unwrap();
    relay.stop().await;
}

#[tokio::test]
async fn the_sender_sees_and_waits_for_the_receiver_binding() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let share = client.share(&key(1), options(None)).await.unwrap();
    let (url, claim) = (share.url().clone(), *share.claim());
    assert!(!client.receiver_bound(&url, &claim).await.unwrap(), "no receiver yet");
    let none = client.wait_for_receiver(&url, &claim, Duration::from_secs(1)).await.unwrap();
    assert!(!none, "nobody bound within the timeout");

    let waiter = {
        let (client, url, claim) = (client.clone(), url.clone(), claim);
        tokio::spawn(async move {
            client.wait_for_receiver(&url, &claim, Duration::from_secs(30)).await
        })
    };
    // Let the wait reach the relay first, so that it is the binding that ends it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received =
        client.receive(&url, share.secret().clone()).await.unwrap().accept().await.unwrap();
    assert!(waiter.await.unwrap().unwrap(), "the binding ended the wait");
    assert!(client.receiver_bound(&url, &claim).await.unwrap());
    let as_receiver = client.receiver_bound(&url, received.claim()).await;
    assert!(
        matches!(as_receiver, Err(Error::Protocol(_))),
        "only the sender asks: {as_receiver:?}"
    );

    client.relinquish(&url, received.claim()).await.unwrap();
    assert!(!client.receiver_bound(&url, &claim).await.unwrap(), "relinquished");
    relay.stop().await;
}
