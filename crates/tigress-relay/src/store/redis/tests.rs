//! Every script run on the real Redis Cluster named by `TIGRESS_TEST_REDIS`, its answer read by
//! field name: the contract between the `.lua` files and [`super::scripts`]. Inputs are written
//! out as JSON here rather than built from the Rust input structs, so that a field renamed on
//! one side only fails these tests. Each test uses fresh random ids and claims, so the tests
//! share the cluster with each other and with the contract suite.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tigress_proto::MailboxId;

use super::cluster::{Cluster, Lua, Request};
use super::keys::{Keys, created_key, hex};
use super::scripts::{
    Answer, ClaimCreatedAnswer, CreatedAnswer, Done, ReadAnswer, Scripts, UpdateAnswer,
};
use crate::mailbox::{ClaimHash, RequestHash};
use crate::store::StoreError;

/// The test cluster's seed nodes (tigress-test-support); its absence fails the test.
fn nodes() -> Vec<String> {
    tigress_test_support::redis_cluster_nodes()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A fresh claim hash, as the scripts see it (hex).
fn claim() -> String {
    hex(&rand::random::<[u8; 32]>())
}

fn new_id() -> MailboxId {
    MailboxId::random(&mut rand::rngs::OsRng)
}

const SENDER_ENTRY: &str = r#"s{"type":"AEAD_AES_128_GCM","data":"AAAA"}"#;

struct Fixture {
    cluster: Cluster,
    scripts: Scripts,
    now: i64,
}

async fn fixture() -> Fixture {
    let cluster = Cluster::connect(&nodes(), None, 0).await.unwrap();
    Fixture { cluster, scripts: Scripts::new(), now: now() }
}

impl Fixture {
    /// Runs a mailbox script over `id`'s keys; its answer as JSON.
    async fn run(&self, script: &Lua, id: &MailboxId, input: Value) -> Result<Value, StoreError> {
        let (answer, _) = super::invoke(&self.cluster, script, id, &input.to_string()).await?;
        Ok(serde_json::from_str(&answer).expect("a script answers one JSON object"))
    }

    /// A mailbox of `sender` with a push token, created with request record `record`; the
    /// receiver may write but not delete.
    async fn create(&self, sender: &str, record: &str) -> MailboxId {
        let id = new_id();
        let answer = self.run(&self.scripts.create, &id, self.create_input(sender, record)).await;
        assert_eq!(answer.unwrap(), json!({"status": "ok"}));
        id
    }

    fn create_input(&self, sender: &str, record: &str) -> Value {
        json!({
            "now": self.now,
            "expires_at": self.now + 600,
            "sender": sender,
            "rights": "write",
            "write": true,
            "delete": false,
            "payload_type": "AEAD_AES_128_GCM",
            "payload_data": "AAAA",
            "size": 4,
            "title": "A title",
            "description": "A description",
            "image_url": "https://example.com/a.png",
            "entry": SENDER_ENTRY,
            "token_type": "com.example.push",
            "token_data": "sender-token",
            "record": record,
        })
    }

    /// Binds `receiver` (with a push token) by reading.
    async fn bind(&self, id: &MailboxId, receiver: &str) {
        let input = json!({
            "now": self.now, "caller": receiver, "after": "0",
            "token_type": "com.example.push", "token_data": "receiver-token",
        });
        let answer = self.run(&self.scripts.read, id, input).await.unwrap();
        assert_eq!(answer["just_bound"], json!(true), "{answer}");
    }

    /// Runs `claim_created.lua` on the de-duplication key `key`; its answer as JSON.
    async fn claim_created(&self, key: &str, input: Value) -> Value {
        let input = input.to_string();
        let claim =
            Request::Script { lua: &self.scripts.claim_created, keys: &[key], args: &[&input] };
        let answer: String = self.cluster.run(key, &claim).await.unwrap();
        serde_json::from_str(&answer).expect("a script answers one JSON object")
    }

    async fn field(&self, id: &MailboxId, field: &str) -> Option<String> {
        let key = &Keys::of(id).mailbox;
        let get = Request::Command(redis::cmd("HGET").arg(key).arg(field).clone());
        self.cluster.run(key, &get).await.unwrap()
    }
}

fn denied(denial: &str) -> Value {
    json!({"status": "denied", "denial": denial})
}

fn not_found() -> Value {
    json!({"status": "nf"})
}

#[tokio::test]
async fn create_writes_the_named_fields_and_refuses_an_id_in_use() {
    let f = fixture().await;
    let sender = claim();
    let id = f.create(&sender, "1:aa").await;
    assert_eq!(f.field(&id, "s").await.as_deref(), Some(sender.as_str()));
    assert_eq!(f.field(&id, "exp").await, Some((f.now + 600).to_string()));
    assert_eq!(f.field(&id, "w").await.as_deref(), Some("1"));
    assert_eq!(f.field(&id, "d").await.as_deref(), Some("0"));
    assert_eq!(f.field(&id, "std").await.as_deref(), Some("sender-token"));
    assert_eq!(f.field(&id, "mr").await, None);

    let again = f.run(&f.scripts.create, &id, f.create_input(&sender, "1:aa")).await;
    assert!(matches!(again, Err(StoreError::Backend(_))), "{again:?}");
}

#[tokio::test]
async fn created_finds_its_create_and_nothing_else() {
    let f = fixture().await;
    let sender = claim();
    let id = f.create(&sender, "1:aa").await;

    let input = json!({"now": f.now, "sender": sender, "record": "1:aa"});
    let answer = f.run(&f.scripts.created, &id, input).await.unwrap();
    assert_eq!(answer, json!({"status": "ok", "token_type": "com.example.push"}));
    let parsed: Answer<CreatedAnswer> = serde_json::from_value(answer).unwrap();
    assert!(
        matches!(parsed, Answer::Ok(CreatedAnswer { token_type: Some(t) }) if t == "com.example.push")
    );

    let other_request = json!({"now": f.now, "sender": sender, "record": "1:bb"});
    assert_eq!(f.run(&f.scripts.created, &id, other_request).await.unwrap(), not_found());
    let expired = json!({"now": f.now + 600, "sender": sender, "record": "1:aa"});
    assert_eq!(f.run(&f.scripts.created, &id, expired).await.unwrap(), not_found());
}

#[tokio::test]
async fn claim_created_sets_the_key_only_from_what_was_seen() {
    let f = fixture().await;
    let key = created_key(&ClaimHash(rand::random()), &RequestHash(rand::random()));
    let (first, second) = (hex(new_id().as_bytes()), hex(new_id().as_bytes()));
    let expires_at = f.now + 600;

    let answer = f.claim_created(&key, json!({"id": first, "expires_at": expires_at})).await;
    assert_eq!(answer, json!({"claimed": true}));
    let parsed: ClaimCreatedAnswer = serde_json::from_value(answer).unwrap();
    assert!(parsed.claimed);

    // Someone else's create set it in between: nothing seen is no longer true.
    let lost = f.claim_created(&key, json!({"id": second, "expires_at": expires_at})).await;
    assert_eq!(lost, json!({"claimed": false}));
    let stale = f
        .claim_created(&key, json!({"seen": second, "id": second, "expires_at": expires_at}))
        .await;
    assert_eq!(stale, json!({"claimed": false}));
    let won =
        f.claim_created(&key, json!({"seen": first, "id": second, "expires_at": expires_at})).await;
    assert_eq!(won, json!({"claimed": true}));
}

#[tokio::test]
async fn delete_refuses_a_stranger_and_the_receiver_without_the_right() {
    let f = fixture().await;
    let (sender, receiver) = (claim(), claim());
    let id = f.create(&sender, "1:aa").await;
    f.bind(&id, &receiver).await;

    let stranger = json!({"now": f.now, "caller": claim()});
    assert_eq!(f.run(&f.scripts.delete, &id, stranger).await.unwrap(), denied("NotAParty"));
    let by_receiver = json!({"now": f.now, "caller": receiver});
    assert_eq!(f.run(&f.scripts.delete, &id, by_receiver).await.unwrap(), denied("RightMissing"));

    let by_sender = json!({"now": f.now, "caller": sender});
    let answer = f.run(&f.scripts.delete, &id, by_sender.clone()).await.unwrap();
    assert_eq!(answer, json!({"status": "ok"}));
    assert!(matches!(serde_json::from_value(answer).unwrap(), Answer::<Done>::Ok(Done {})));
    assert_eq!(f.run(&f.scripts.delete, &id, by_sender).await.unwrap(), not_found());
    assert_eq!(f.field(&id, "s").await, None);
}

#[tokio::test]
async fn forget_token_drops_only_the_token_that_failed() {
    let f = fixture().await;
    let id = f.create(&claim(), "1:aa").await;

    let other = json!({"now": f.now, "role": "s", "token_data": "another-token"});
    assert_eq!(f.run(&f.scripts.forget_token, &id, other).await.unwrap(), json!({"status": "ok"}));
    assert_eq!(f.field(&id, "std").await.as_deref(), Some("sender-token"));

    let failed = json!({"now": f.now, "role": "s", "token_data": "sender-token"});
    assert_eq!(f.run(&f.scripts.forget_token, &id, failed).await.unwrap(), json!({"status": "ok"}));
    assert_eq!(f.field(&id, "std").await, None);
    assert_eq!(f.field(&id, "stk").await, None);

    let missing = json!({"now": f.now, "role": "s", "token_data": "sender-token"});
    assert_eq!(f.run(&f.scripts.forget_token, &new_id(), missing).await.unwrap(), not_found());
}

#[tokio::test]
async fn read_binds_a_fresh_claim_and_refuses_a_second_one() {
    let f = fixture().await;
    let (sender, receiver) = (claim(), claim());
    let id = f.create(&sender, "1:aa").await;

    let first = json!({
        "now": f.now, "caller": receiver, "after": "0",
        "token_type": "com.example.push", "token_data": "receiver-token",
    });
    let answer = f.run(&f.scripts.read, &id, first).await.unwrap();
    assert_eq!(
        answer,
        json!({
            "status": "ok",
            "role": "r",
            "payload_type": "AEAD_AES_128_GCM",
            "payload_data": "AAAA",
            "title": "A title",
            "description": "A description",
            "image_url": "https://example.com/a.png",
            "expires_at": (f.now + 600).to_string(),
            "last_seq": "1",
            "receiver_bound": true,
            "just_bound": true,
            "sender_token_type": "com.example.push",
            "sender_token_data": "sender-token",
            "messages": [SENDER_ENTRY],
        })
    );
    assert!(matches!(serde_json::from_value(answer).unwrap(), Answer::<ReadAnswer>::Ok(_)));
    assert_eq!(f.field(&id, "rtd").await.as_deref(), Some("receiver-token"));

    // Nothing after the cursor: no `messages` at all, which the Rust side reads as empty.
    let again = json!({"now": f.now, "caller": receiver, "after": "1"});
    let answer = f.run(&f.scripts.read, &id, again).await.unwrap();
    assert_eq!(answer.get("messages"), None, "{answer}");
    assert_eq!(answer["just_bound"], json!(false));
    assert_eq!(answer.get("sender_token_type"), None, "{answer}");
    let Answer::Ok(parsed) = serde_json::from_value::<Answer<ReadAnswer>>(answer).unwrap() else {
        panic!("not ok");
    };
    assert!(parsed.messages.is_empty());
    assert_eq!(parsed.sender_token_type, None);

    let by_sender = json!({"now": f.now, "caller": sender, "after": "0"});
    let answer = f.run(&f.scripts.read, &id, by_sender).await.unwrap();
    assert_eq!((&answer["role"], &answer["just_bound"]), (&json!("s"), &json!(false)));

    let stranger = json!({"now": f.now, "caller": claim(), "after": "0"});
    assert_eq!(f.run(&f.scripts.read, &id, stranger).await.unwrap(), denied("AlreadyClaimed"));
    let elsewhere = json!({"now": f.now, "caller": receiver, "after": "0"});
    assert_eq!(f.run(&f.scripts.read, &new_id(), elsewhere).await.unwrap(), not_found());
}

#[tokio::test]
async fn relinquish_unbinds_the_receiver_once_and_refuses_the_sender() {
    let f = fixture().await;
    let (sender, receiver) = (claim(), claim());
    let id = f.create(&sender, "1:aa").await;
    f.bind(&id, &receiver).await;

    let by_sender = json!({"now": f.now, "caller": sender, "record": "3:aa"});
    assert_eq!(f.run(&f.scripts.relinquish, &id, by_sender).await.unwrap(), denied("NotReceiver"));

    let by_receiver = json!({"now": f.now, "caller": receiver, "record": "3:bb"});
    let answer = f.run(&f.scripts.relinquish, &id, by_receiver.clone()).await.unwrap();
    assert_eq!(answer, json!({"status": "ok"}));
    assert_eq!(f.field(&id, "r").await, None);
    assert_eq!(f.field(&id, "rtd").await, None);
    let replayed = f.run(&f.scripts.relinquish, &id, by_receiver).await.unwrap();
    assert_eq!(replayed, json!({"status": "replayed"}));
    assert!(matches!(serde_json::from_value(replayed).unwrap(), Answer::<Done>::Replayed(Done {})));

    let gone = json!({"now": f.now, "caller": receiver});
    assert_eq!(f.run(&f.scripts.relinquish, &new_id(), gone).await.unwrap(), not_found());
}

#[tokio::test]
async fn update_names_the_peer_to_wake_and_refuses_a_full_log() {
    let f = fixture().await;
    let (sender, receiver) = (claim(), claim());
    let id = f.create(&sender, "1:aa").await;
    let update = |caller: &str, record: &str, max_messages: &str| {
        json!({
            "now": f.now, "caller": caller,
            "payload_type": "AEAD_AES_128_GCM", "payload_data": "BBBBBB", "size": 6,
            "entry": r#"{"type":"AEAD_AES_128_GCM","data":"BBBBBB"}"#,
            "record": record, "max_messages": max_messages, "max_bytes": "64",
        })
    };

    // No receiver yet: nobody to wake.
    let answer = f.run(&f.scripts.update, &id, update(&sender, "2:aa", "10")).await.unwrap();
    assert_eq!(answer, json!({"status": "ok", "token_type": "com.example.push"}));

    f.bind(&id, &receiver).await;
    let answer = f.run(&f.scripts.update, &id, update(&sender, "2:bb", "10")).await.unwrap();
    assert_eq!(
        answer,
        json!({
            "status": "ok",
            "token_type": "com.example.push",
            "peer": "r",
            "peer_token_type": "com.example.push",
            "peer_token_data": "receiver-token",
        })
    );
    let Answer::Ok(parsed) = serde_json::from_value::<Answer<UpdateAnswer>>(answer).unwrap() else {
        panic!("not ok");
    };
    assert_eq!(parsed.peer.as_deref(), Some("r"));
    assert_eq!(f.field(&id, "seq").await.as_deref(), Some("3"));
    assert_eq!(f.field(&id, "bytes").await.as_deref(), Some("16"));

    let replayed = f.run(&f.scripts.update, &id, update(&sender, "2:bb", "10")).await.unwrap();
    assert_eq!(replayed, json!({"status": "replayed", "token_type": "com.example.push"}));
    assert_eq!(f.field(&id, "seq").await.as_deref(), Some("3"));

    let full = f.run(&f.scripts.update, &id, update(&sender, "2:cc", "3")).await.unwrap();
    assert_eq!(full, denied("LogFull"));
    let stranger = f.run(&f.scripts.update, &id, update(&claim(), "2:dd", "10")).await.unwrap();
    assert_eq!(stranger, denied("NotAParty"));
    let gone = f.run(&f.scripts.update, &new_id(), update(&sender, "2:ee", "10")).await.unwrap();
    assert_eq!(gone, not_found());
}

#[tokio::test]
async fn a_caller_is_matched_by_its_plain_digest_on_a_mailbox_made_before_the_key() {
    let f = fixture().await;
    // The mailbox holds plain digests; the caller now comes with a keyed one and the plain one.
    let (plain_sender, keyed_sender) = (claim(), claim());
    let id = f.create(&plain_sender, "1:aa").await;
    let by_sender = json!({
        "now": f.now, "caller": keyed_sender, "legacy": plain_sender, "after": "0",
    });
    let answer = f.run(&f.scripts.read, &id, by_sender).await.unwrap();
    assert_eq!(answer["role"], json!("s"), "the sender, not a new receiver: {answer}");
    assert_eq!(answer["just_bound"], json!(false), "{answer}");
    // Its create's request record, kept under the plain digest, is still found.
    let replay = json!({"now": f.now, "sender": keyed_sender, "record": "1:aa"});
    let legacy = json!({"now": f.now, "sender": plain_sender, "record": "1:aa"});
    assert_eq!(f.run(&f.scripts.created, &id, replay).await.unwrap(), not_found());
    assert_eq!(f.run(&f.scripts.created, &id, legacy).await.unwrap()["status"], json!("ok"));
    // A keyed receiver binds under its keyed digest; its plain one is not stored.
    let (keyed_receiver, plain_receiver) = (claim(), claim());
    let bind = json!({
        "now": f.now, "caller": keyed_receiver, "legacy": plain_receiver, "after": "0",
    });
    assert_eq!(f.run(&f.scripts.read, &id, bind).await.unwrap()["just_bound"], json!(true));
    assert_eq!(f.field(&id, "r").await.as_deref(), Some(keyed_receiver.as_str()));
    let update = json!({
        "now": f.now, "caller": keyed_receiver, "legacy": plain_receiver,
        "payload_type": "AEAD_AES_128_GCM", "payload_data": "BBBB", "size": 4,
        "entry": r#"{"type":"AEAD_AES_128_GCM","data":"BBBB"}"#,
        "max_messages": "64", "max_bytes": "65536",
    });
    let updated = f.run(&f.scripts.update, &id, update).await.unwrap();
    assert_eq!(updated["status"], json!("ok"), "{updated}");
    assert_eq!(updated["peer"], json!("s"), "written as the receiver: {updated}");
}
