//! Two relays on a Redis Cluster while the slots of some mailboxes move live from one master to
//! another, key by key, as `redis-cli --cluster reshard` moves them.
//!
//! While the slots are half moved (some mailboxes on the source, some on the target, the source
//! answering `ASK` for the moved ones), every answer must be right: 200, or 503 with
//! `Retry-After`; never a 404, a 401 or a 500. Readers that wait through the move must wake on the
//! sender's update that follows it. And a relay must follow `ASK`: the preview, the read and the
//! update of a mailbox already moved are served while its slot is still migrating. The test
//! prints its answers on one line starting `RESHARD answers:`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::StoreConfig;
use tigress_test_support::{RedisCluster, SlotMigration};
use tokio::task::JoinHandle;

use crate::redis_relay::tag_of;
use crate::support::{Reply, TestRelay, new_uuid, payload, read, spawn_read};

/// Mailboxes on the source master whose slots move.
const MOVED_MAILBOXES: usize = 6;
/// How long readers wait; a reader that misses its wake-up answers only then.
const WAIT_SECONDS: u64 = 25;
/// How soon after the sender's update a waiting reader must have its answer: far below
/// [`WAIT_SECONDS`], so only a lost wake-up exceeds it.
const WAKE_WITHIN: Duration = Duration::from_secs(5);
/// How long the update after the move may be answered 503 while the relays learn the new owner.
const SETTLE_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_moved_live_between_masters_answers_right_and_loses_no_wake_up() {
    let cluster = RedisCluster::start(&[7211, 7212, 7213]);
    let relays = [relay_on(&cluster).await, relay_on(&cluster).await];
    let (source, mailboxes) = mailboxes_on_one_master(&cluster, &relays).await;
    let target = *cluster.masters().iter().find(|&&port| port != source).expect("another master");

    // Readers that wait through the whole move.
    let mut readers: Vec<Waiting> =
        mailboxes.iter().enumerate().map(|(i, m)| m.wait(&relays[i % 2], "before")).collect();
    // Let them reach their wait (as in redis_relay.rs) before the first slot starts to move.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let slots: BTreeSet<u16> = mailboxes.iter().map(|m| m.slot).collect();
    let migrations: Vec<SlotMigration<'_>> =
        slots.iter().map(|&slot| cluster.migrate_slot(slot, target)).collect();
    let mut answers = Answers::default();
    let mut moved = vec![false; mailboxes.len()];
    for (i, mailbox) in mailboxes.iter().enumerate() {
        migration_of(&migrations, mailbox.slot).move_keys(&mailbox.keys());
        moved[i] = true;
        traffic(&relays, &mailboxes, &moved, &mut answers).await;
        if i + 1 == mailboxes.len() / 2 {
            assert_keys_on_both_sides(&migrations);
            // Readers that start while the slots are half moved.
            for (j, m) in mailboxes.iter().enumerate() {
                readers.push(m.wait(&relays[(j + 1) % 2], "during"));
            }
        }
    }
    for migration in migrations {
        migration.finish();
    }
    assert_eq!(cluster.master_of(mailboxes[0].slot), target, "the move did not complete");

    let mut written = Vec::new();
    for (i, mailbox) in mailboxes.iter().enumerate() {
        written.push(mailbox.update_after_move(&relays[i % 2], &mut answers).await);
    }
    let lost = lost_wake_ups(readers, &written, &mut answers).await;
    answers.print();
    assert!(answers.wrong.is_empty(), "wrong answers during the move: {:#?}", answers.wrong);
    assert!(lost.is_empty(), "waiting readers not woken by the update after the move: {lost:#?}");
    // Last, as they are what a router that answers ASK with 503 fails: a mailbox already moved
    // while its slot migrates is served from the target. The preview is one single-key
    // command; the read and the update are scripts over the mailbox's three keys, which move
    // together, so they are served there too (a script that named a key absent on both sides
    // would be answered TRYAGAIN on either, for the whole migration).
    for what in ["preview", "receiver's read", "receiver's update"] {
        let (refused, made) = answers.moved_unavailable(what);
        assert!(made > 0, "no {what} was made on a moved mailbox while its slot was migrating");
        assert_eq!(
            refused, 0,
            "of {made} {what}s of mailboxes already moved while their slot was migrating, \
             {refused} were answered 503: the relay does not follow ASK"
        );
    }
}

async fn relay_on(cluster: &RedisCluster) -> TestRelay {
    let nodes = cluster.nodes();
    TestRelay::start_with(|config| config.store = StoreConfig::RedisCluster { nodes }).await
}

/// A mailbox whose slot moves, bound to its receiver.
struct Mailbox {
    path: String,
    sender: String,
    receiver: String,
    slot: u16,
}

impl Mailbox {
    /// Its keys (`box`, `log`, `req`, `ev`), moved together so that no script finds half a
    /// mailbox.
    fn keys(&self) -> Vec<String> {
        let tag = tag_of(&self.path);
        ["box", "log", "req", "ev"].iter().map(|key| format!("tigress:{{{tag}}}:{key}")).collect()
    }

    /// A read by the receiver waiting for the sender's next message, started now.
    fn wait(&self, relay: &TestRelay, started: &'static str) -> Waiting {
        let read = spawn_read(relay, &self.path, &self.receiver, 1, Some(WAIT_SECONDS));
        Waiting {
            path: self.path.clone(),
            started,
            done: tokio::spawn(async move {
                let (reply, _) = read.await.unwrap();
                (reply, Instant::now())
            }),
        }
    }

    /// The sender's update after the move, retried on 503 with the same request id for up to
    /// [`SETTLE_WITHIN`]; returns its data and when it was acknowledged.
    async fn update_after_move(
        &self,
        relay: &TestRelay,
        answers: &mut Answers,
    ) -> (String, Instant) {
        let data = format!("{:0>8}", self.slot);
        let (body, request_id) = (json!({"payload": payload(&data)}), new_uuid());
        let started = Instant::now();
        loop {
            let reply = relay
                .send(Method::PUT, &self.path, Some(&self.sender), Some(&request_id), Some(&body))
                .await;
            answers.tally("update after the move", &reply, None);
            if reply.status == StatusCode::OK {
                return (data, Instant::now());
            }
            assert!(
                reply.status == StatusCode::SERVICE_UNAVAILABLE
                    && started.elapsed() < SETTLE_WITHIN,
                "the sender's update after the move: {} {}",
                reply.status,
                reply.text
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Creates mailboxes until [`MOVED_MAILBOXES`] of them live on one master; returns its port and
/// them, each bound by a first read.
async fn mailboxes_on_one_master(
    cluster: &RedisCluster,
    relays: &[TestRelay; 2],
) -> (u16, Vec<Mailbox>) {
    let mut source = None;
    let mut mailboxes = Vec::new();
    for attempt in 0.. {
        assert!(attempt < 200, "ids never gathered on one master");
        let (path, sender) = relays[0].create(json!({"accessRights": "RW"})).await;
        let slot = cluster.slot_of(&format!("tigress:{{{}}}:box", tag_of(&path)));
        let master = cluster.master_of(slot);
        if *source.get_or_insert(master) != master {
            continue;
        }
        let receiver = new_uuid();
        let (bound, _) = read(&relays[1], &path, &receiver, 0, None).await;
        assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
        mailboxes.push(Mailbox { path, sender, receiver, slot });
        if mailboxes.len() == MOVED_MAILBOXES {
            break;
        }
    }
    (source.expect("a master"), mailboxes)
}

fn migration_of<'a, 'c>(migrations: &'a [SlotMigration<'c>], slot: u16) -> &'a SlotMigration<'c> {
    migrations.iter().find(|m| m.slot() == slot).expect("every mailbox's slot is moving")
}

/// Asserts that the moving slots have keys on both masters: the source answers `ASK` for some
/// of their mailboxes and serves the others.
fn assert_keys_on_both_sides(migrations: &[SlotMigration<'_>]) {
    let on_source: usize = migrations.iter().map(|m| m.keys_on_source().len()).sum();
    let on_target: usize = migrations.iter().map(|m| m.keys_on_target().len()).sum();
    assert!(
        on_source > 0 && on_target > 0,
        "half way through, keys of the moving slots: {on_source} on the source, {on_target} on \
         the target"
    );
}

/// One round of requests on every mailbox, through both relays: the receiver's read, a preview
/// and the receiver's update (which wakes no wait of its own).
async fn traffic(
    relays: &[TestRelay; 2],
    mailboxes: &[Mailbox],
    moved: &[bool],
    answers: &mut Answers,
) {
    for (i, mailbox) in mailboxes.iter().enumerate() {
        let relay = &relays[i % 2];
        let (reply, _) = read(relay, &mailbox.path, &mailbox.receiver, 0, None).await;
        answers.tally("receiver's read", &reply, Some(moved[i]));
        let reply = relay.send(Method::GET, &mailbox.path, None, None, None).await;
        answers.tally("preview", &reply, Some(moved[i]));
        let body = json!({"payload": payload("cmVjZWl2ZXI=")});
        let reply = relay
            .send(
                Method::PUT,
                &mailbox.path,
                Some(&mailbox.receiver),
                Some(&new_uuid()),
                Some(&body),
            )
            .await;
        answers.tally("receiver's update", &reply, Some(moved[i]));
    }
}

/// A waiting read in flight.
struct Waiting {
    path: String,
    started: &'static str,
    done: JoinHandle<(Reply, Instant)>,
}

/// The readers that did not answer the sender's update within [`WAKE_WITHIN`] of it, described.
/// A reader started during the move may have been answered 503 at once; that is tallied.
async fn lost_wake_ups(
    readers: Vec<Waiting>,
    written: &[(String, Instant)],
    answers: &mut Answers,
) -> Vec<String> {
    let mut lost = Vec::new();
    for (i, reader) in readers.into_iter().enumerate() {
        let (data, acknowledged) = &written[i % written.len()];
        let (reply, answered) = reader.done.await.unwrap();
        answers.tally("waiting read", &reply, None);
        if reply.status == StatusCode::SERVICE_UNAVAILABLE && reader.started == "during" {
            continue;
        }
        let woken = reply.status == StatusCode::OK
            && reply.text.contains(data.as_str())
            && answered.saturating_duration_since(*acknowledged) < WAKE_WITHIN;
        if !woken {
            let late = answered.saturating_duration_since(*acknowledged);
            lost.push(format!(
                "{} (started {} the move): {} {:?} after the update: {}",
                reader.path, reader.started, reply.status, late, reply.text
            ));
        }
    }
    lost
}

/// Every answer seen, by status, and the wrong ones.
#[derive(Default)]
struct Answers {
    by_status: BTreeMap<u16, usize>,
    wrong: Vec<String>,
    /// For the requests made while the slots were migrating, by request and by whether the
    /// mailbox's keys had moved yet: how many were made, and how many answered 503.
    migrating: BTreeMap<(&'static str, bool), (usize, usize)>,
}

impl Answers {
    /// Counts `reply`; `moved` says, for a request made while the slots were migrating, whether
    /// the mailbox's keys were already on the target.
    fn tally(&mut self, what: &'static str, reply: &Reply, moved: Option<bool>) {
        *self.by_status.entry(reply.status.as_u16()).or_insert(0) += 1;
        let unavailable = reply.status == StatusCode::SERVICE_UNAVAILABLE;
        if let Some(moved) = moved {
            let (made, refused) = self.migrating.entry((what, moved)).or_default();
            *made += 1;
            *refused += usize::from(unavailable);
        }
        let right = reply.status == StatusCode::OK
            || (unavailable && reply.header("retry-after").is_some());
        if !right {
            self.wrong.push(format!("{what}: {} {}", reply.status, reply.text));
        }
    }

    /// How many of the requests `what` on moved mailboxes, made while migrating, were 503.
    fn moved_unavailable(&self, what: &'static str) -> (usize, usize) {
        let (made, refused) = self.migrating.get(&(what, true)).copied().unwrap_or_default();
        (refused, made)
    }

    fn print(&self) {
        let counts: Vec<String> =
            self.by_status.iter().map(|(status, count)| format!("{status}={count}")).collect();
        let migrating: Vec<String> = self
            .migrating
            .iter()
            .map(|((what, moved), (made, refused))| {
                let side = if *moved { "moved" } else { "not yet moved" };
                format!("{what} on {side}: {refused} of {made} were 503")
            })
            .collect();
        println!(
            "RESHARD answers: {} (while migrating: {})",
            counts.join(" "),
            migrating.join("; ")
        );
    }
}
