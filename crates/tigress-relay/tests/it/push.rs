//! Waking the other party after an update, through the push providers, and what the relay
//! does with their answers. The providers' own protocols are tested in tigress-push.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_push::{Provider, PushError, Pusher, RetryPolicy};

use crate::support::*;

/// A provider for `com.apple.apns` that records what it is asked to send and answers with the
/// outcome set for that token.
struct Recorder {
    sent: Mutex<Vec<String>>,
    /// The topic each push was sent with, in order.
    topics: Mutex<Vec<Option<String>>>,
}

#[async_trait::async_trait]
impl Provider for Recorder {
    fn token_type(&self) -> &'static str {
        tigress_push::APNS
    }

    async fn send(&self, token_data: &str, topic: Option<&str>) -> Result<(), PushError> {
        self.topics.lock().unwrap().push(topic.map(str::to_owned));
        self.sent.lock().unwrap().push(token_data.to_owned());
        match token_data {
            "gone-token" => Err(PushError::Gone),
            "flaky-token" => Err(PushError::Transient("unavailable".into())),
            _ => Ok(()),
        }
    }
}

async fn relay_with_recorder() -> (TestRelay, Arc<Recorder>) {
    let recorder = Arc::new(Recorder { sent: Mutex::new(Vec::new()), topics: Mutex::default() });
    let retry = RetryPolicy {
        attempts: 2,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    };
    let pusher = Pusher::new(vec![recorder.clone() as Arc<dyn Provider>], retry);
    let inner =
        tigress_test_support::TestRelay::start_with_pusher(crate::metrics::with_metrics, pusher)
            .await;
    (TestRelay { inner, http: reqwest::Client::new() }, recorder)
}

fn apns(data: &str) -> serde_json::Value {
    json!({"type": "com.apple.apns", "tokenData": data})
}

/// Waits until the recorder has `n` entries (pushes run in the background).
async fn recorded(recorder: &Recorder, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let sent = recorder.sent.lock().unwrap().clone();
        if sent.len() >= n {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    recorder.sent.lock().unwrap().clone()
}

/// `tokenTopic` (compatibility profile) is kept with its token, sealed with it at rest, and
/// handed to the provider with each push to that token (APNs then uses it only when the operator
/// listed it; tigress-push's tests cover that choice).
#[tokio::test]
async fn a_token_s_topic_goes_with_each_push_to_it() {
    let (relay, recorder) = relay_with_recorder().await;
    let sender = new_uuid();
    let mut body = create_body();
    body["notificationToken"] = json!({"type": "com.apple.apns", "tokenData": "sender-token", "tokenTopic": "com.example.wallet"});
    let created = relay.send(Method::POST, "/v1/m", Some(&sender), None, Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let path = mailbox_path(&created);

    let stored: String = {
        let file = relay.inner.dir().join("data/tigress.sqlite3");
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let conn = rusqlite::Connection::open_with_flags(file, flags).unwrap();
        conn.query_row("SELECT sender_token_data FROM mailboxes", [], |r| r.get(0)).unwrap()
    };
    assert!(stored.starts_with("sealed2."), "sealed with its topic: {stored}");
    assert!(!stored.contains("example"), "{stored}");

    let receiver = new_uuid();
    let token = json!({"notificationToken": apns("receiver-token")});
    let read = relay.send(Method::POST, &path, Some(&receiver), None, Some(&token)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(recorded(&recorder, 1).await, vec!["sender-token"]);
    let update = json!({"payload": payload("AAAA")});
    relay.send(Method::PUT, &path, Some(&sender), None, Some(&update)).await;
    assert_eq!(recorded(&recorder, 2).await, vec!["sender-token", "receiver-token"]);
    let topics = recorder.topics.lock().unwrap().clone();
    assert_eq!(topics, [Some("com.example.wallet".to_owned()), None]);
}

#[tokio::test]
async fn a_bind_and_each_update_wake_the_other_party_only() {
    let (relay, recorder) = relay_with_recorder().await;
    let sender = new_uuid();
    let mut body = create_body();
    body["notificationToken"] = apns("sender-token");
    body["mailboxConfiguration"] = json!({"accessRights": "RWD"});
    let created = relay.send(Method::POST, "/v1/m", Some(&sender), None, Some(&body)).await;
    assert_eq!(created.json()["isPushNotificationSupported"], true);
    let path = mailbox_path(&created);

    let receiver = new_uuid();
    let read = relay
        .send(
            Method::POST,
            &path,
            Some(&receiver),
            None,
            Some(&json!({"notificationToken": apns("receiver-token")})),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    // The sender learns that its share was opened; a second read binds nothing new.
    assert_eq!(recorded(&recorder, 1).await, vec!["sender-token"]);
    relay.send(Method::POST, &path, Some(&receiver), None, None).await;

    let id = new_uuid();
    let reply = relay
        .send(
            Method::PUT,
            &path,
            Some(&receiver),
            Some(&id),
            Some(&json!({"payload": payload("AAAA")})),
        )
        .await;
    assert_eq!(reply.json()["isPushNotificationSupported"], true, "about the caller's own token");
    assert_eq!(recorded(&recorder, 2).await, vec!["sender-token"; 2]);

    // A repeated update does nothing new, so it wakes no one.
    let again = relay
        .send(
            Method::PUT,
            &path,
            Some(&receiver),
            Some(&id),
            Some(&json!({"payload": payload("AAAA")})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    relay
        .send(Method::PUT, &path, Some(&sender), None, Some(&json!({"payload": payload("QkJC")})))
        .await;
    assert_eq!(
        recorded(&recorder, 3).await,
        vec!["sender-token", "sender-token", "receiver-token"]
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        recorder.sent.lock().unwrap().len(),
        3,
        "no push for a second read, the replay or to the writer itself"
    );
}

#[tokio::test]
async fn unknown_token_types_are_stored_but_not_pushed() {
    let (relay, recorder) = relay_with_recorder().await;
    let sender = new_uuid();
    let mut body = create_body();
    body["notificationToken"] = json!({"type": "com.example.unknown", "tokenData": "x"});
    let created = relay.send(Method::POST, "/v1/m", Some(&sender), None, Some(&body)).await;
    assert_eq!(created.json()["isPushNotificationSupported"], false);
    let path = mailbox_path(&created);
    let receiver = new_uuid();
    relay.send(Method::POST, &path, Some(&receiver), None, None).await;
    relay
        .send(Method::PUT, &path, Some(&sender), None, Some(&json!({"payload": payload("AAAA")})))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(recorder.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_gone_token_is_dropped_and_a_failing_push_never_fails_the_update() {
    let (relay, recorder) = relay_with_recorder().await;
    // The bind pushes to the sender, then each of the receiver's two updates does.
    for (token, sends_after_two_updates) in [("gone-token", 1), ("flaky-token", 6)] {
        recorder.sent.lock().unwrap().clear();
        let sender = new_uuid();
        let mut body = create_body();
        body["notificationToken"] = apns(token);
        body["mailboxConfiguration"] = json!({"accessRights": "RWD"});
        let path = mailbox_path(
            &relay.send(Method::POST, "/v1/m", Some(&sender), None, Some(&body)).await,
        );
        let receiver = new_uuid();
        relay.send(Method::POST, &path, Some(&receiver), None, None).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for _ in 0..2 {
            let update = relay
                .send(
                    Method::PUT,
                    &path,
                    Some(&receiver),
                    None,
                    Some(&json!({"payload": payload("AAAA")})),
                )
                .await;
            assert_eq!(update.status, StatusCode::OK, "{token}");
            // Let the background delivery (and a drop of the token) finish.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Gone: one attempt (the bind's), then the token is dropped and no update pushes.
        // Transient: two attempts per push, every push is tried, and the token is kept.
        assert_eq!(
            recorded(&recorder, sends_after_two_updates).await.len(),
            sends_after_two_updates,
            "{token}"
        );
    }
}

#[tokio::test]
async fn each_finished_delivery_is_counted_by_provider_and_outcome() {
    let (relay, recorder) = relay_with_recorder().await;
    // The receiver's bind pushes once to each sender: delivered, gone, and failed after its two
    // attempts. The unknown type is stored but never pushed, so never counted.
    let tokens = [apns("fine-token"), apns("gone-token"), apns("flaky-token")];
    let unknown = json!({"type": "com.example.unknown", "tokenData": "x"});
    for token in tokens.iter().chain([&unknown]) {
        let mut body = create_body();
        body["notificationToken"] = token.clone();
        let created = relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await;
        let path = mailbox_path(&created);
        assert_eq!(
            relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await.status,
            200
        );
    }
    recorded(&recorder, 4).await;
    let series =
        |outcome: &str| format!("tigress_pushes_total{{provider=\"apns\",outcome=\"{outcome}\"}}");
    let mut scrape = crate::metrics::Scrape::of(&relay).await;
    for _ in 0..100 {
        if scrape.value(&series("failed")).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        scrape = crate::metrics::Scrape::of(&relay).await;
    }
    for outcome in ["delivered", "gone", "failed"] {
        assert_eq!(scrape.value(&series(outcome)), Some(1.0), "{outcome} in\n{}", scrape.text);
    }
    assert_eq!(scrape.text.matches("tigress_pushes_total{").count(), 3, "{}", scrape.text);
    assert!(!scrape.text.contains("-token"), "no token data in\n{}", scrape.text);
}
