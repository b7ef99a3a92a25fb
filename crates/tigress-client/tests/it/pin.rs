//! Shares protected by a PIN, through the SDK and a real relay: the credential reaches a receiver
//! that proves the PIN, and three wrong PINs end the share.

use std::time::Duration;

use tigress_client::{Client, Error, Pin, PinAttempt, PinEvent, PinExchange, PinOutcome, Share};

use crate::support::{ClientOf as _, TestRelay, key, options};

const PATIENCE: Duration = Duration::from_secs(20);

/// Creates a PIN share of `key(7)` and answers its receiver in the background.
async fn pin_share(
    client: &Client,
    pin: &Pin,
) -> (Share, tokio::task::JoinHandle<(Result<PinOutcome, Error>, Vec<PinEvent>)>) {
    let share = client.share_with_pin(&key(7), options(None), pin).await.unwrap();
    let url = share.share().clone();
    let sender = tokio::spawn(async move {
        let mut events = Vec::new();
        let outcome = share.deliver(PATIENCE, |event| events.push(event)).await;
        (outcome, events)
    });
    (url, sender)
}

/// The receiver's side up to its first attempt.
async fn exchange(client: &Client, share: &Share) -> PinExchange {
    let pending = client.receive(share.url(), share.secret().clone()).await.unwrap();
    let received = pending.accept().await.unwrap();
    assert!(received.needs_pin(), "the mailbox holds an invitation");
    assert_ne!(received.provisioning(), &key(7), "not the credential");
    received.into_pin_exchange().unwrap()
}

#[tokio::test]
async fn the_right_pin_after_a_wrong_one_receives_the_credential() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let pin = Pin::new("482193").unwrap();
    let (share, sender) = pin_share(&client, &pin).await;

    let mut exchange = exchange(&client, &share).await;
    let wrong = exchange.attempt(&Pin::new("000000").unwrap(), PATIENCE).await.unwrap();
    assert!(matches!(wrong, PinAttempt::WrongPin { attempts_left: 2 }), "{wrong:?}");
    let right = exchange.attempt(&pin, PATIENCE).await.unwrap();
    let PinAttempt::Delivered(info) = right else { panic!("expected the credential: {right:?}") };
    assert_eq!(info, key(7));
    exchange.finish().await.unwrap();

    let (outcome, events) = sender.await.unwrap();
    assert_eq!(outcome.unwrap(), PinOutcome::Delivered);
    assert_eq!(events, vec![PinEvent::WrongPin { attempts_left: 2 }]);
    let again = client.receive(share.url(), share.secret().clone()).await;
    assert!(matches!(again, Err(Error::Gone)), "the receiver deleted the mailbox: {again:?}");
    relay.stop().await;
}

#[tokio::test]
async fn three_wrong_pins_end_the_share_and_delete_it() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let (share, sender) = pin_share(&client, &Pin::new("482193").unwrap()).await;

    let mut exchange = exchange(&client, &share).await;
    for (guess, left) in [("111111", 2), ("222222", 1)] {
        let answer = exchange.attempt(&Pin::new(guess).unwrap(), PATIENCE).await.unwrap();
        assert!(matches!(answer, PinAttempt::WrongPin { attempts_left } if attempts_left == left));
    }
    let last = exchange.attempt(&Pin::new("333333").unwrap(), PATIENCE).await.unwrap();
    assert!(matches!(last, PinAttempt::Ended), "{last:?}");
    assert!(!exchange.can_attempt());

    let (outcome, events) = sender.await.unwrap();
    assert_eq!(outcome.unwrap(), PinOutcome::Ended);
    assert_eq!(events.len(), 2, "{events:?}");
    let gone = client.receive(share.url(), share.secret().clone()).await;
    assert!(matches!(gone, Err(Error::Gone)), "the sender deleted the mailbox: {gone:?}");
    relay.stop().await;
}

#[tokio::test]
async fn a_sender_whose_receiver_never_comes_ends_the_share_when_its_patience_runs_out() {
    let relay = TestRelay::start().await;
    let client = relay.client();
    let share = client.share_with_pin(&key(7), options(None), &Pin::new("1234").unwrap()).await;
    let share = share.unwrap();
    let url = share.share().clone();
    let outcome = share.deliver(Duration::from_secs(1), |_| {}).await.unwrap();
    assert_eq!(outcome, PinOutcome::TimedOut);
    let gone = client.receive(url.url(), url.secret().clone()).await;
    assert!(matches!(gone, Err(Error::Gone)), "{gone:?}");
    relay.stop().await;
}
