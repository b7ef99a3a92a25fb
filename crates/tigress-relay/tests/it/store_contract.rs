//! One contract for every `MailboxStore`, compiled once per backend: `sqlite_*` against a fresh
//! SQLite store, `redis_*` against the Redis Cluster named by `TIGRESS_TEST_REDIS` (started by
//! `scripts/redis-cluster start` or `scripts/test`). Every case uses fresh random ids and claims,
//! so the Redis cases share one cluster without touching each other's keys.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tempfile::TempDir;
use tigress_proto::wire::{Display, DisplayInformation, NotificationToken, Party, Payload};
use tigress_proto::{AccessRights, DeviceClaim, MailboxId, RequestId};
use tigress_relay::Durability;
use tigress_relay::mailbox::{ClaimHash, Denial, LogLimits, RequestHash};
use tigress_relay::store::sqlite::SqliteStore;
use tigress_relay::store::{MailboxStore, NewMailbox, Outcome, StoreError};

const LOG: LogLimits = LogLimits { max_messages: 4, max_bytes: 64 };

/// A store under test; `_dir` keeps SQLite's directory alive.
pub struct Backend {
    pub store: Arc<dyn MailboxStore>,
    _dir: Option<TempDir>,
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Durability::DangerOff, LOG).unwrap();
    Backend { store: Arc::new(store), _dir: Some(dir) }
}

#[cfg(feature = "redis")]
pub async fn redis() -> Backend {
    let nodes = redis_nodes();
    let store = tigress_relay::store::redis::RedisStore::connect(&nodes, LOG, 0).await.unwrap();
    Backend { store: Arc::new(store), _dir: None }
}

/// The cluster's seed nodes from `TIGRESS_TEST_REDIS`; its absence fails the test.
#[cfg(feature = "redis")]
pub fn redis_nodes() -> Vec<String> {
    tigress_test_support::redis_cluster_nodes()
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

pub fn claim() -> (DeviceClaim, ClaimHash) {
    let claim = DeviceClaim::random(&mut rand::rngs::OsRng);
    let hash = ClaimHash::of(&claim);
    (claim, hash)
}

fn request() -> RequestHash {
    RequestHash::of(&RequestId::random(&mut rand::rngs::OsRng))
}

pub fn payload(data: &str) -> Payload {
    Payload { kind: "AEAD_AES_128_GCM".into(), data: data.into() }
}

fn token(data: &str) -> NotificationToken {
    NotificationToken::new("com.example.push", data)
}

pub fn new_mailbox(sender: ClaimHash, rights: &str, expires_at: i64) -> NewMailbox {
    NewMailbox {
        id: MailboxId::random(&mut rand::rngs::OsRng),
        sender,
        payload: payload("AAAA"),
        display: Display::Inline(DisplayInformation {
            title: "Room 412".into(),
            description: "Hotel key".into(),
            image_url: "https://img.example/k.png".into(),
        }),
        rights: rights.parse::<AccessRights>().unwrap(),
        expires_at,
        sender_token: Some(token("sender-token")),
        max_receivers: None,
        events: None,
    }
}

/// Creates a mailbox expiring in an hour; returns its id and the sender's claim hash.
async fn created(store: &dyn MailboxStore, rights: &str) -> (MailboxId, ClaimHash) {
    let (_, sender) = claim();
    let mailbox = new_mailbox(sender, rights, now() + 3600);
    let id = mailbox.id;
    store.create(mailbox, Some(request()), now()).await.unwrap();
    (id, sender)
}

fn denied(result: Result<impl Sized, StoreError>) -> Denial {
    match result {
        Err(StoreError::Conflict(denial)) => denial,
        Err(e) => panic!("expected a denial, got {e}"),
        Ok(_) => panic!("expected a denial, got success"),
    }
}

fn absent(result: Result<impl Sized, StoreError>) -> bool {
    matches!(result, Err(StoreError::NotFound))
}

pub async fn create_preview_and_read(b: Backend) {
    let store = &*b.store;
    let (id, sender) = created(store, "RD").await;
    let preview = store.preview(id, now()).await.unwrap();
    assert_eq!(preview.display.information().unwrap().title, "Room 412");
    assert!(preview.expires_at > now());
    let view = store.read(id, sender.into(), None, 0, now()).await.unwrap();
    assert_eq!(view.role, Party::Sender);
    assert_eq!(view.payload.data, "AAAA");
    assert_eq!(view.display.information().unwrap().image_url, "https://img.example/k.png");
    assert_eq!(view.last_seq, 1);
    assert_eq!(view.messages.len(), 1);
    assert_eq!((view.messages[0].seq, view.messages[0].from), (1, Party::Sender));
    let missing = MailboxId::random(&mut rand::rngs::OsRng);
    assert!(absent(store.preview(missing, now()).await));
    assert!(absent(store.read(missing, sender.into(), None, 0, now()).await));
}

/// A preview given as the URL of the sender's vendor's page is kept as that URL, not as empty
/// inline text.
pub async fn a_display_url_is_kept_as_given(b: Backend) {
    let store = &*b.store;
    let (_, sender) = claim();
    let mut mailbox = new_mailbox(sender, "RD", now() + 3600);
    let url = Display::Url("https://vendor.example/share/1?l=en".into());
    mailbox.display = url.clone();
    let id = mailbox.id;
    store.create(mailbox, None, now()).await.unwrap();
    assert_eq!(store.preview(id, now()).await.unwrap().display, url);
    let view = store.read(id, sender.into(), None, 0, now()).await.unwrap();
    assert_eq!(view.display, url);
}

pub async fn max_receivers_caps_binds_across_relinquishes(b: Backend) {
    let store = &*b.store;
    let (_, sender) = claim();
    let mut mailbox = new_mailbox(sender, "RD", now() + 3600);
    mailbox.max_receivers = Some(2);
    let id = mailbox.id;
    store.create(mailbox, None, now()).await.unwrap();
    let unbound = store.read(id, sender.into(), None, 0, now()).await.unwrap();
    assert!(!unbound.receiver_bound && !unbound.just_bound);

    for _ in 0..2 {
        let (_, receiver) = claim();
        let first = store.read(id, receiver.into(), None, 0, now()).await.unwrap();
        assert!(first.receiver_bound && first.just_bound);
        assert_eq!(
            first.sender_token.as_ref().map(|t| t.token_data.as_str()),
            Some("sender-token")
        );
        let again = store.read(id, receiver.into(), None, 0, now()).await.unwrap();
        assert!(again.receiver_bound && !again.just_bound && again.sender_token.is_none());
        assert!(store.read(id, sender.into(), None, 0, now()).await.unwrap().receiver_bound);
        store.relinquish(id, receiver.into(), None, now()).await.unwrap();
        assert!(!store.read(id, sender.into(), None, 0, now()).await.unwrap().receiver_bound);
    }
    let third = store.read(id, claim().1.into(), None, 0, now()).await;
    assert_eq!(denied(third), Denial::NoReceiversLeft);
    // The sender is not a receiver and is never counted.
    assert_eq!(store.read(id, sender.into(), None, 0, now()).await.unwrap().role, Party::Sender);

    // Without a cap, binding after a relinquish goes on as the drafts have it.
    let (id, _) = created(store, "RD").await;
    for _ in 0..5 {
        let (_, receiver) = claim();
        assert!(store.read(id, receiver.into(), None, 0, now()).await.unwrap().just_bound);
        store.relinquish(id, receiver.into(), None, now()).await.unwrap();
    }
}

pub async fn exactly_one_of_concurrent_first_reads_binds(b: Backend) {
    let (id, _) = created(&*b.store, "RD").await;
    let readers: Vec<_> = (0..40)
        .map(|_| {
            let store = Arc::clone(&b.store);
            tokio::spawn(async move { store.read(id, claim().1.into(), None, 0, now()).await })
        })
        .collect();
    let mut bound = 0;
    for reader in readers {
        match reader.await.unwrap() {
            Ok(view) => {
                assert_eq!(view.role, Party::Receiver);
                bound += 1;
            }
            Err(e) => assert!(matches!(e, StoreError::Conflict(Denial::AlreadyClaimed)), "{e}"),
        }
    }
    assert_eq!(bound, 1);
}

pub async fn rights_decide_who_may_update_and_delete(b: Backend) {
    let store = &*b.store;
    let (id, _) = created(store, "R").await;
    let (_, receiver) = claim();
    let (_, stranger) = claim();
    store.read(id, receiver.into(), None, 0, now()).await.unwrap();
    let update = |caller| store.update(id, caller, payload("BBBB"), None, None, now());
    assert_eq!(denied(update(receiver.into()).await), Denial::RightMissing);
    assert_eq!(denied(update(stranger.into()).await), Denial::NotAParty);
    assert_eq!(denied(store.delete(id, receiver.into(), now()).await), Denial::RightMissing);
    assert_eq!(denied(store.delete(id, stranger.into(), now()).await), Denial::NotAParty);
    assert_eq!(
        denied(store.read(id, stranger.into(), None, 0, now()).await),
        Denial::AlreadyClaimed
    );

    let (id, _) = created(store, "RWD").await;
    // Only a read binds: an unknown claim may not update an unbound mailbox.
    assert_eq!(
        denied(store.update(id, receiver.into(), payload("BBBB"), None, None, now()).await),
        Denial::NotAParty
    );
    store.read(id, receiver.into(), None, 0, now()).await.unwrap();
    store.update(id, receiver.into(), payload("BBBB"), None, None, now()).await.unwrap();
    store.delete(id, receiver.into(), now()).await.unwrap();
    assert!(absent(store.preview(id, now()).await));
}

pub async fn updates_append_in_order_up_to_the_cap(b: Backend) {
    let store = &*b.store;
    let (id, sender) = created(store, "RWD").await;
    let (_, receiver) = claim();
    let view =
        store.read(id, receiver.into(), Some(token("receiver-token")), 0, now()).await.unwrap();
    assert_eq!(view.role, Party::Receiver);
    let updated =
        store.update(id, sender.into(), payload("BBBB"), None, None, now()).await.unwrap();
    assert_eq!(updated.outcome, Outcome::Done);
    assert_eq!(updated.token_type.as_deref(), Some("com.example.push"));
    let (peer, peer_token) = updated.peer_token.expect("the receiver's token");
    assert_eq!((peer, peer_token.token_data.as_str()), (Party::Receiver, "receiver-token"));
    let updated = store
        .update(id, receiver.into(), payload("CCCC"), Some(token("new")), None, now())
        .await
        .unwrap();
    assert_eq!(updated.peer_token.unwrap().1.token_data, "sender-token");

    let view = store.read(id, sender.into(), None, 1, now()).await.unwrap();
    assert_eq!(view.payload.data, "CCCC");
    assert_eq!(view.last_seq, 3);
    let log: Vec<_> =
        view.messages.iter().map(|m| (m.seq, m.from, m.payload.data.as_str())).collect();
    assert_eq!(log, [(2, Party::Sender, "BBBB"), (3, Party::Receiver, "CCCC")]);
    assert!(store.read(id, sender.into(), None, 3, now()).await.unwrap().messages.is_empty());

    // Four messages at most.
    store.update(id, sender.into(), payload("DDDD"), None, None, now()).await.unwrap();
    let full = store.update(id, sender.into(), payload("EEEE"), None, None, now()).await;
    assert_eq!(denied(full), Denial::LogFull);
    assert_eq!(store.read(id, sender.into(), None, 0, now()).await.unwrap().last_seq, 4);

    // Sixty-four bytes at most, the create's four included.
    let (id, sender) = created(store, "RWD").await;
    let big = "A".repeat(61);
    assert_eq!(
        denied(store.update(id, sender.into(), payload(&big), None, None, now()).await),
        Denial::LogFull
    );
    store.update(id, sender.into(), payload(&big[..60]), None, None, now()).await.unwrap();
}

pub async fn replays_answer_without_acting_again(b: Backend) {
    let store = &*b.store;
    let (_, sender) = claim();
    let create_request = request();
    let mailbox = new_mailbox(sender, "RWD", now() + 3600);
    let id = mailbox.id;
    let first = store.create(mailbox, Some(create_request), now()).await.unwrap();
    assert_eq!((first.outcome, first.id), (Outcome::Done, id));
    let again = store.create(new_mailbox(sender, "RWD", now() + 3600), Some(create_request), now());
    let again = again.await.unwrap();
    assert_eq!((again.outcome, again.id), (Outcome::Replayed, id));
    assert_eq!(again.token_type.as_deref(), Some("com.example.push"));
    // Another claim with the same request id creates its own mailbox.
    let other =
        store.create(new_mailbox(claim().1, "RD", now() + 3600), Some(create_request), now());
    assert_eq!(other.await.unwrap().outcome, Outcome::Done);

    let update_request = request();
    let update = |data: &'static str| {
        store.update(id, sender.into(), payload(data), None, Some(update_request), now())
    };
    assert_eq!(update("BBBB").await.unwrap().outcome, Outcome::Done);
    let replayed = update("CCCC").await.unwrap();
    assert_eq!(replayed.outcome, Outcome::Replayed);
    assert!(replayed.peer_token.is_none());
    assert_eq!(store.read(id, sender.into(), None, 0, now()).await.unwrap().last_seq, 2);

    let (_, receiver) = claim();
    store.read(id, receiver.into(), None, 0, now()).await.unwrap();
    let relinquish_request = request();
    let relinquish = || store.relinquish(id, receiver.into(), Some(relinquish_request), now());
    assert_eq!(relinquish().await.unwrap(), Outcome::Done);
    assert_eq!(relinquish().await.unwrap(), Outcome::Replayed);
    assert_eq!(
        denied(store.relinquish(id, receiver.into(), Some(request()), now()).await),
        Denial::NotReceiver
    );
    assert_eq!(denied(store.relinquish(id, sender.into(), None, now()).await), Denial::NotReceiver);
    // The slot is free again: a new claim binds.
    let view = store.read(id, claim().1.into(), None, 0, now()).await.unwrap();
    assert_eq!(view.role, Party::Receiver);
}

pub async fn concurrent_replayed_creates_make_one_mailbox(b: Backend) {
    let (_, sender) = claim();
    let create_request = request();
    let creates: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&b.store);
            let mailbox = new_mailbox(sender, "RD", now() + 3600);
            tokio::spawn(async move { store.create(mailbox, Some(create_request), now()).await })
        })
        .collect();
    let mut ids = Vec::new();
    let mut done = 0;
    for create in creates {
        let created = create.await.unwrap().unwrap();
        done += usize::from(created.outcome == Outcome::Done);
        ids.push(created.id);
    }
    assert_eq!(done, 1);
    assert!(ids.iter().all(|id| *id == ids[0]));
}

pub async fn deleted_mailboxes_are_absent(b: Backend) {
    let store = &*b.store;
    let (id, sender) = created(store, "RD").await;
    store.delete(id, sender.into(), now()).await.unwrap();
    assert!(absent(store.preview(id, now()).await));
    assert!(absent(store.read(id, sender.into(), None, 0, now()).await));
    assert!(absent(store.update(id, sender.into(), payload("BBBB"), None, None, now()).await));
    assert!(absent(store.delete(id, sender.into(), now()).await));
}

pub async fn expired_mailboxes_are_absent(b: Backend) {
    let store = &*b.store;
    let (_, sender) = claim();
    let soon = now() + 30;
    let mailbox = new_mailbox(sender, "RWD", soon);
    let id = mailbox.id;
    store.create(mailbox, None, now()).await.unwrap();
    assert!(store.preview(id, soon - 1).await.is_ok());
    assert!(absent(store.preview(id, soon).await));
    assert!(absent(store.read(id, sender.into(), None, 0, soon).await));
    assert!(absent(store.update(id, sender.into(), payload("BBBB"), None, None, soon).await));
    assert!(absent(store.delete(id, sender.into(), soon).await));
    assert!(absent(store.relinquish(id, sender.into(), None, soon).await));

    let past = new_mailbox(sender, "RD", now() - 1);
    let id = past.id;
    store.create(past, None, now()).await.unwrap();
    assert!(absent(store.preview(id, now()).await));
}

pub async fn forget_token_drops_only_the_refused_token(b: Backend) {
    let store = &*b.store;
    let (id, _) = created(store, "RWD").await;
    let (_, receiver) = claim();
    store.read(id, receiver.into(), None, 0, now()).await.unwrap();
    store.forget_token(id, Party::Sender, "some-older-token".into(), now()).await.unwrap();
    let updated =
        store.update(id, receiver.into(), payload("BBBB"), None, None, now()).await.unwrap();
    assert_eq!(updated.peer_token.unwrap().1.token_data, "sender-token");
    store.forget_token(id, Party::Sender, "sender-token".into(), now()).await.unwrap();
    let updated =
        store.update(id, receiver.into(), payload("CCCC"), None, None, now()).await.unwrap();
    assert!(updated.peer_token.is_none());
    let missing = MailboxId::random(&mut rand::rngs::OsRng);
    assert!(absent(store.forget_token(missing, Party::Sender, "x".into(), now()).await));
}

/// A device attestation token is accepted once: again only for the same request id (the
/// client's retry), never for another or for none, until it is forgotten at `until`; of any
/// number of concurrent first uses for different requests, exactly one wins.
pub async fn accepted_attestations_are_remembered_until_they_expire(b: Backend) {
    let store = &b.store;
    let digest = |n: u8| {
        let mut digest: [u8; 32] = rand::random();
        digest[0] = n;
        digest
    };
    let (one, until) = (request(), now() + 2);
    let with_id = digest(1);
    assert!(store.remember_attestation(with_id, Some(one), until, now()).await.unwrap());
    assert!(store.remember_attestation(with_id, Some(one), until, now()).await.unwrap());
    assert!(!store.remember_attestation(with_id, Some(request()), until, now()).await.unwrap());
    assert!(!store.remember_attestation(with_id, None, until, now()).await.unwrap());
    let without = digest(2);
    assert!(store.remember_attestation(without, None, until, now()).await.unwrap());
    assert!(!store.remember_attestation(without, None, until, now()).await.unwrap());
    assert!(!store.remember_attestation(without, Some(one), until, now()).await.unwrap());

    let raced = digest(3);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                store.remember_attestation(raced, Some(request()), now() + 60, now()).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(won, 1, "of concurrent first uses exactly one is accepted");

    // Forgotten at `until` (Redis by its own expiry, SQLite on every lookup and by the sweep).
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    store.sweep(now()).await.unwrap();
    assert!(store.remember_attestation(without, Some(one), now() + 60, now()).await.unwrap());
}

pub async fn ping_answers(b: Backend) {
    b.store.ping().await.unwrap();
}

/// Instantiates every contract case for one backend.
macro_rules! contract {
    ($backend:ident) => {
        mod $backend {

            contract!(@case $backend, create_preview_and_read);
            contract!(@case $backend, a_display_url_is_kept_as_given);
            contract!(@case $backend, exactly_one_of_concurrent_first_reads_binds);
            contract!(@case $backend, max_receivers_caps_binds_across_relinquishes);
            contract!(@case $backend, rights_decide_who_may_update_and_delete);
            contract!(@case $backend, updates_append_in_order_up_to_the_cap);
            contract!(@case $backend, replays_answer_without_acting_again);
            contract!(@case $backend, concurrent_replayed_creates_make_one_mailbox);
            contract!(@case $backend, deleted_mailboxes_are_absent);
            contract!(@case $backend, expired_mailboxes_are_absent);
            contract!(@case $backend, forget_token_drops_only_the_refused_token);
            contract!(@case $backend, accepted_attestations_are_remembered_until_they_expire);
            contract!(@case $backend, ping_answers);
        }
    };
    (@case $backend:ident, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            super::$case(super::$backend().await).await;
        }
    };
}

contract!(sqlite);
#[cfg(feature = "redis")]
contract!(redis);

/// Claims and request ids reach Redis only as digests: no key or value holds them in the clear.
#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_stores_no_claim_in_the_clear() {
    use ::redis::AsyncCommands;

    let b = redis().await;
    let store = &*b.store;
    let (sender_claim, sender) = claim();
    let (receiver_claim, receiver) = claim();
    let request_id = RequestId::random(&mut rand::rngs::OsRng);
    let mailbox = new_mailbox(sender, "RWD", now() + 3600);
    let id = mailbox.id;
    store.create(mailbox, Some(RequestHash::of(&request_id)), now()).await.unwrap();
    store.read(id, receiver.into(), None, 0, now()).await.unwrap();
    store
        .update(
            id,
            receiver.into(),
            payload("BBBB"),
            None,
            Some(RequestHash::of(&request_id)),
            now(),
        )
        .await
        .unwrap();

    let client = ::redis::cluster::ClusterClient::new(
        redis_nodes().iter().map(|n| format!("redis://{n}")).collect::<Vec<_>>(),
    )
    .unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    let tag: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let mut stored = Vec::new();
    let fields: Vec<String> =
        conn.hgetall::<_, Vec<String>>(format!("tigress:{{{tag}}}:box")).await.unwrap();
    stored.extend(fields);
    let log: Vec<String> = conn.lrange(format!("tigress:{{{tag}}}:log"), 0, -1).await.unwrap();
    stored.extend(log);
    let requests: Vec<String> = conn.hgetall(format!("tigress:{{{tag}}}:req")).await.unwrap();
    // One record per claim that sent a request id, and the placeholder that keeps the hash in
    // existence from the create on.
    assert_eq!(requests.len(), 6, "{requests:?}");
    stored.extend(requests);
    let sender_hex: String = sender.0.iter().map(|b| format!("{b:02x}")).collect();
    assert!(stored.contains(&sender_hex), "the sender's claim hash is stored");
    let joined = stored.join("\n").to_lowercase();
    let claim_hex = |c: &DeviceClaim| c.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    for secret in
        [claim_hex(&sender_claim), claim_hex(&receiver_claim), request_id.as_str().to_owned()]
    {
        let secret: String = secret.to_lowercase();
        assert!(!joined.contains(&secret), "{secret} is stored in the clear");
        let bare = secret.replace('-', "");
        assert!(!joined.contains(&bare), "{bare} is stored in the clear");
    }
}
