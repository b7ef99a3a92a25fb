//! Multi-message transfers through a real relay: order, waiting, and a relay that misbehaves.

use std::time::{Duration, Instant};

use serde_json::json;
use tigress_client::{Error, Party, ProvisioningInformation, Transfer};
use tigress_proto::flow::{read_request, update_request};
use tigress_proto::transfer::TransferError;
use tigress_proto::wire::{ReadMailboxResponse, UpdateMailboxRequest};
use tigress_proto::{RequestId, ShareUrl};

use crate::support::{ClientOf as _, TestRelay, key, options};

fn step(name: &str) -> ProvisioningInformation {
    ProvisioningInformation::new("digitalwallet.carkey.ccc", json!({"step": name})).unwrap()
}

/// A sender and a receiver transfer on one mailbox with the `RWD` rights, the invitation read.
async fn transfer_pair(relay: &TestRelay) -> (Transfer, Transfer, tigress_client::Share) {
    let client = relay.client();
    let (share, sender) = client.start_transfer(&key(1), options(Some("RWD"))).await.unwrap();
    let secret = share.secret().clone();
    let pending = client.receive(share.url(), secret).await.unwrap();
    let received = pending.accept().await.unwrap();
    assert_eq!(received.provisioning().content["seq"], 1);
    assert!(!received.provisioning().extra.contains_key("messageBinding"));
    let receiver = received.into_transfer().unwrap();
    assert_eq!((sender.role(), receiver.role()), (Party::Sender, Party::Receiver));
    (sender, receiver, share)
}

#[tokio::test]
async fn messages_flow_both_ways_in_order_and_none_is_lost() {
    let relay = TestRelay::start().await;
    let (mut sender, mut receiver, _) = transfer_pair(&relay).await;
    receiver.send(&step("key-creation-request")).await.unwrap();
    let got = sender.next_message(Duration::from_secs(10)).await.unwrap().unwrap();
    assert_eq!(got.content["step"], "key-creation-request");

    // The sender writes twice before the receiver reads: both arrive, in order.
    sender.send(&step("signing-request")).await.unwrap();
    sender.send(&step("import")).await.unwrap();
    let first = receiver.next_message(Duration::from_secs(10)).await.unwrap().unwrap();
    let second = receiver.next_message(Duration::from_secs(10)).await.unwrap().unwrap();
    assert_eq!(
        (first.content["step"].as_str(), second.content["step"].as_str()),
        (Some("signing-request"), Some("import"))
    );

    // Nothing more: the wait ends empty.
    assert!(receiver.next_message(Duration::from_secs(1)).await.unwrap().is_none());
    sender.finish().await.unwrap();
    assert!(matches!(receiver.next_message(Duration::from_secs(5)).await, Err(Error::Gone)));
}

#[tokio::test]
async fn a_waiting_side_wakes_when_the_peer_writes() {
    let relay = TestRelay::start().await;
    let (mut sender, mut receiver, _) = transfer_pair(&relay).await;
    let waiting = tokio::spawn(async move {
        let got = receiver.next_message(Duration::from_secs(25)).await.unwrap();
        (got, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = Instant::now();
    sender.send(&step("wake")).await.unwrap();
    let (got, woke) = waiting.await.unwrap();
    assert_eq!(got.unwrap().content["step"], "wake");
    assert!(
        woke.duration_since(written) < Duration::from_secs(5),
        "woken by the write, not the timeout"
    );
}

/// Plays a relay that misbehaves: with the sender's claim, it writes `payload` into the log.
async fn inject(
    relay: &TestRelay,
    share: &tigress_client::Share,
    payload: tigress_proto::wire::Payload,
) {
    let client = relay.client();
    let url: ShareUrl = share.url().without_secret();
    let id = RequestId::random(&mut rand::rngs::OsRng);
    let body = UpdateMailboxRequest { payload, notification_token: None };
    let response = client.send(update_request(&url, share.claim(), &id, &body)).await.unwrap();
    assert_eq!(response.status, 200);
}

/// Every message in the log, as the sender reads it.
async fn log(relay: &TestRelay, share: &tigress_client::Share) -> ReadMailboxResponse {
    let id = RequestId::random(&mut rand::rngs::OsRng);
    let response = relay
        .client()
        .send(read_request(&share.url().without_secret(), share.claim(), &id))
        .await
        .unwrap();
    serde_json::from_slice(&response.body).unwrap()
}

#[tokio::test]
async fn a_replayed_message_is_rejected() {
    let relay = TestRelay::start().await;
    let (mut sender, mut receiver, share) = transfer_pair(&relay).await;
    sender.send(&step("signing-request")).await.unwrap();
    assert!(receiver.next_message(Duration::from_secs(5)).await.unwrap().is_some());
    // The relay serves the sender's last message again as if it were new.
    let old = log(&relay, &share).await.messages.last().unwrap().payload.clone();
    inject(&relay, &share, old).await;
    let result = receiver.next_message(Duration::from_secs(5)).await;
    assert!(matches!(result, Err(Error::Transfer(TransferError::Replayed { .. }))), "{result:?}");
}

#[tokio::test]
async fn a_message_reflected_back_to_its_author_is_rejected() {
    let relay = TestRelay::start().await;
    let (sender, mut receiver, share) = transfer_pair(&relay).await;
    receiver.send(&step("key-creation-request")).await.unwrap();
    // The relay hands the receiver's own message back to it as the sender's.
    let mine = log(&relay, &share).await.messages.last().unwrap().payload.clone();
    inject(&relay, &share, mine).await;
    let result = receiver.next_message(Duration::from_secs(5)).await;
    assert!(matches!(result, Err(Error::Transfer(TransferError::Reflected))), "{result:?}");
    drop(sender);
}

/// Records the push tokens it is asked to wake.
struct Recorder(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl tigress_push::Provider for Recorder {
    fn token_type(&self) -> &'static str {
        tigress_push::APNS
    }

    async fn send(
        &self,
        token_data: &str,
        _topic: Option<&str>,
    ) -> Result<(), tigress_push::PushError> {
        self.0.lock().unwrap().push(token_data.to_owned());
        Ok(())
    }
}

#[tokio::test]
async fn a_registered_push_token_is_woken_when_the_peer_writes() {
    let recorder = std::sync::Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
    let pusher =
        tigress_push::Pusher::new(vec![recorder.clone()], tigress_push::RetryPolicy::default());
    let dir = tempfile::tempdir().unwrap();
    let config =
        tigress_relay::RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    let relay = tigress_relay::start_with_pusher(config, pusher).await.unwrap();
    let client = tigress_client::Client::new(relay.base_url()).unwrap();

    let (share, mut sender) = client.start_transfer(&key(1), options(Some("RWD"))).await.unwrap();
    let received =
        client.receive(share.url(), share.secret().clone()).await.unwrap().accept().await.unwrap();
    let mut receiver = received.into_transfer().unwrap();
    receiver.set_push_token(tigress_client::NotificationToken::new("com.apple.apns", "a1b2c3"));
    receiver.send(&step("key-creation-request")).await.unwrap();
    assert!(sender.next_message(Duration::from_secs(5)).await.unwrap().is_some());
    sender.send(&step("signing-request")).await.unwrap();
    let mut woken = Vec::new();
    for _ in 0..100 {
        woken = recorder.0.lock().unwrap().clone();
        if !woken.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(woken, vec!["a1b2c3"]);
    assert!(receiver.next_message(Duration::from_secs(5)).await.unwrap().is_some());
}
