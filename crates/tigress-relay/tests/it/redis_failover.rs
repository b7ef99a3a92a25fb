//! Two `tigress relay` processes on a Redis Cluster of three masters and three replicas, while a
//! master is killed (SIGKILL) in the middle of a stream of creates, binds and updates and the
//! cluster promotes its replica.
//!
//! Writers retry each request on a 503 or a failed connection with the same `Mailbox-Request-ID`,
//! as a client would; afterwards every acknowledged create must be readable with its payload,
//! every acknowledged update (the receiver's) must be in its log in order, a replayed create must
//! find its mailbox (not make a second one), and every binding must hold.
//!
//! The run with `--redis-replica-acks 1` asserts that nothing acknowledged was lost. The run
//! without it only reports what was lost (a master may die before its replica has a write it
//! acknowledged: that is what the option is for), and asserts that both relays recover: a create
//! in the failed master's former slots succeeds within 30 s, while the killed node stays down
//! (so no node that answers `MOVED` points the relays to the promoted one). With acks, the killed
//! node comes back as the promoted master's replica, without which that master could acknowledge
//! nothing. Each run prints one line starting `FAILOVER` with its figures.
//!
//! The relays are the `tigress` binary that `cargo build -p tigress-cli` built last
//! ([`tigress_binary`]); a test of this crate cannot make cargo build it.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tigress_test_support::{RedisCluster, RelayProcess, tigress_binary};

use crate::redis_relay::tag_of;
use crate::support::{CLAIM_HEADER, REQUEST_ID_HEADER, create_body, new_uuid, payload};

/// Concurrent writers; each sends its requests to the two relays in turn.
const WRITERS: usize = 4;
/// Updates each writer makes on each of its mailboxes after binding it.
const UPDATES_PER_MAILBOX: usize = 3;
/// Acknowledged creates before the master is killed, so that some mailboxes live on it.
const CREATES_BEFORE_KILL: usize = 40;
/// How long one request is retried before the writer gives up on it.
const RETRY_FOR: Duration = Duration::from_secs(15);
/// How long writers go on after the cluster has promoted the replica.
const WRITING_AFTER_FAILOVER: Duration = Duration::from_secs(3);
/// How long the cluster may take to promote a replica (cluster-node-timeout is 5 s).
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after the failover a create in the failed master's former slots may still fail.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_replica_acks_a_master_failover_loses_no_acknowledged_write() {
    let cluster = RedisCluster::start(&[7201, 7202, 7203, 7204, 7205, 7206]);
    let figures = run_failover(&cluster, Some("1")).await;
    figures.print("1");
    assert!(figures.unexpected.is_empty(), "wrong answers: {:?}", figures.unexpected);
    assert_eq!(figures.lost_creates, 0, "acknowledged creates lost: {figures:?}");
    assert_eq!(figures.lost_updates, 0, "acknowledged updates lost or reordered: {figures:?}");
    assert_eq!(figures.duplicated, 0, "request ids that made a second mailbox: {figures:?}");
    assert_eq!(figures.rebound, 0, "bindings lost (a stranger could bind): {figures:?}");
}

/// Runs without `--redis-replica-acks`, so it runs on relays without the option too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_replica_acks_the_relays_recover_from_a_master_failover() {
    let cluster = RedisCluster::start(&[7221, 7222, 7223, 7224, 7225, 7226]);
    let figures = run_failover(&cluster, None).await;
    // Not asserted: without acks a killed master may take acknowledged writes with it.
    figures.print("0");
}

/// What a run saw; `acknowledged` counts creates and updates answered 200 (or 201).
#[derive(Debug, Default)]
struct Figures {
    acknowledged: usize,
    lost_creates: usize,
    lost_updates: usize,
    duplicated: usize,
    rebound: usize,
    /// Requests still answered 503 (or not at all) after [`RETRY_FOR`].
    gave_up: usize,
    /// Whether the mailboxes were checked (not when a relay did not recover).
    checked: bool,
    /// Answers no failover excuses (a 404 for a mailbox just made, a 500…), with what was asked.
    unexpected: Vec<String>,
}

impl Figures {
    fn print(&self, acks: &str) {
        let Figures {
            acknowledged, lost_creates, lost_updates, duplicated, rebound, gave_up, ..
        } = self;
        println!(
            "FAILOVER acks={acks} acknowledged={acknowledged} lost={} (creates={lost_creates} \
             updates={lost_updates}) duplicated={duplicated} rebound={rebound} \
             gave_up={gave_up} unexpected={} checked={}",
            lost_creates + lost_updates,
            self.unexpected.len(),
            self.checked
        );
    }
}

/// Starts two relays on `cluster` (with `--redis-replica-acks` if `acks`), writes, kills the master of a slot
/// holding mailboxes, writes on, checks the relays recover, and then checks every mailbox.
async fn run_failover(cluster: &RedisCluster, acks: Option<&str>) -> Figures {
    let extra: Vec<&str> = acks.map(|n| vec!["--redis-replica-acks", n]).unwrap_or_default();
    let extra = extra.as_slice();
    let relays = [start_relay(cluster, extra), start_relay(cluster, extra)];
    let client = Client::new(relays.iter().map(|relay| relay.base().to_owned()).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicUsize::new(0));
    let first_path = Arc::new(Mutex::new(None));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (client, stop) = (client.clone(), Arc::clone(&stop));
            let (created, first_path) = (Arc::clone(&created), Arc::clone(&first_path));
            tokio::spawn(write_until(client, writer, stop, created, first_path))
        })
        .collect();

    let started = Instant::now();
    while created.load(Ordering::SeqCst) < CREATES_BEFORE_KILL {
        assert!(started.elapsed() < Duration::from_secs(30), "the writers made too few mailboxes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let path = first_path.lock().unwrap().clone().expect("a mailbox was created");
    let slot = cluster.slot_of(&box_key(&path));
    let killed = cluster.kill_master_of(slot);
    // The wait polls redis-cli; the writers go on on the other worker thread meanwhile.
    let promoted =
        tokio::task::block_in_place(|| cluster.wait_for_failover(killed, FAILOVER_TIMEOUT));
    let failed_over = Instant::now();
    if acks.is_some() {
        // With replica acks, the promoted master can acknowledge nothing until it has a replica
        // of its own: the killed node comes back as one, as it would in production.
        tokio::task::block_in_place(|| cluster.rejoin_as_replica(killed, FAILOVER_TIMEOUT));
    }
    tokio::time::sleep(WRITING_AFTER_FAILOVER).await;
    stop.store(true, Ordering::SeqCst);
    // While the writers finish the requests they are retrying.
    let mut recovered = Ok(());
    for relay in 0..relays.len() {
        recovered = recovered.and(recovers(&client, relay, cluster, promoted, failed_over).await);
    }
    let mut mailboxes = Vec::new();
    let mut figures = Figures::default();
    for writer in writers {
        let (written, unexpected, gave_up) = writer.await.unwrap();
        mailboxes.extend(written);
        figures.unexpected.extend(unexpected);
        figures.gave_up += gave_up;
    }
    if let Err(failure) = recovered {
        // The mailboxes cannot be checked through a relay that does not serve them; say what
        // the writers saw before failing.
        figures.acknowledged = mailboxes.iter().map(|m| 1 + m.updates.len()).sum();
        figures.print(acks.unwrap_or("0"));
        panic!("{failure}");
    }
    check_mailboxes(&client, &mailboxes, &mut figures).await;
    figures
}

fn start_relay(cluster: &RedisCluster, extra: &[&str]) -> RelayProcess {
    let url = cluster.url();
    // The writers make hundreds of mailboxes from one address.
    let mut args = vec![
        "--store",
        &url,
        "--creates-per-minute",
        "0",
        "--refused-claims-per-minute",
        "0",
        "--refused-claims-per-mailbox-per-minute",
        "0",
    ];
    args.extend(extra);
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    RelayProcess::start(&tigress_binary(), tempfile::tempdir().unwrap(), &args, &[])
}

/// One mailbox a writer made, and what the relays acknowledged about it.
struct Written {
    request_id: String,
    sender: String,
    payload: String,
    path: String,
    /// The receiver whose first read the relay answered 200.
    receiver: Option<String>,
    /// The payloads of the updates answered 200, in the order they were sent.
    updates: Vec<String>,
}

/// Creates, binds and updates mailboxes until `stop`; returns them, the wrong answers and how
/// many requests it gave up on.
async fn write_until(
    client: Client,
    writer: usize,
    stop: Arc<AtomicBool>,
    created: Arc<AtomicUsize>,
    first_path: Arc<Mutex<Option<String>>>,
) -> (Vec<Written>, Vec<String>, usize) {
    let (mut written, mut unexpected, mut gave_up) = (Vec::new(), Vec::new(), 0);
    let mut turn = writer;
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (sender, request_id) = (new_uuid(), new_uuid());
        let data = format!("{:0>40}", format!("{writer}x{n}"));
        let body = create_body_with(&data);
        turn += 1;
        let create = client.send(turn, Method::POST, "/v1/m", &sender, Some(&request_id), &body);
        let mailbox = match create.await {
            Answer::Reply(status, reply) if status.is_success() => {
                let path = path_of(&reply);
                first_path.lock().unwrap().get_or_insert_with(|| path.clone());
                created.fetch_add(1, Ordering::SeqCst);
                Written { request_id, sender, payload: data, path, receiver: None, updates: vec![] }
            }
            Answer::Reply(status, reply) => {
                unexpected.push(format!("create: {status} {reply}"));
                continue;
            }
            Answer::GaveUp => {
                gave_up += 1;
                continue;
            }
        };
        let mailbox =
            bind_and_update(&client, &stop, &mut turn, mailbox, &mut unexpected, &mut gave_up);
        written.push(mailbox.await);
        // A steady stream, not a flood: the two cores also run six nodes and two relays.
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    (written, unexpected, gave_up)
}

/// The first read by a fresh receiver, then [`UPDATES_PER_MAILBOX`] updates by that receiver.
async fn bind_and_update(
    client: &Client,
    stop: &AtomicBool,
    turn: &mut usize,
    mut mailbox: Written,
    unexpected: &mut Vec<String>,
    gave_up: &mut usize,
) -> Written {
    let receiver = new_uuid();
    *turn += 1;
    match client.send(*turn, Method::POST, &mailbox.path, &receiver, None, &json!({})).await {
        Answer::Reply(StatusCode::OK, _) => mailbox.receiver = Some(receiver),
        Answer::Reply(status, reply) => unexpected.push(format!("bind: {status} {reply}")),
        Answer::GaveUp => *gave_up += 1,
    }
    // The receiver writes, so that the sender's last request stays the create and a replay of
    // the create must still find this mailbox.
    let Some(writer) = mailbox.receiver.clone() else {
        return mailbox;
    };
    for u in 0..UPDATES_PER_MAILBOX {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let data = format!("{:0>16}", format!("{}u{u}", mailbox.payload.trim_start_matches('0')));
        let body = json!({"payload": payload(&data)});
        *turn += 1;
        let request_id = new_uuid();
        let update =
            client.send(*turn, Method::PUT, &mailbox.path, &writer, Some(&request_id), &body);
        match update.await {
            // 201: a retry of an update the relay had applied (its first answer lost in the
            // failover, or a 503 while the replica caught up): acknowledged all the same.
            Answer::Reply(StatusCode::OK | StatusCode::CREATED, _) => mailbox.updates.push(data),
            Answer::Reply(status, reply) => unexpected.push(format!("update: {status} {reply}")),
            Answer::GaveUp => *gave_up += 1,
        }
    }
    mailbox
}

/// Whether a create through relay `relay` lands on the promoted master's slots and succeeds
/// within [`RECOVERY_TIMEOUT`] of the failover; the failure says what the relay answered.
async fn recovers(
    client: &Client,
    relay: usize,
    cluster: &RedisCluster,
    promoted: u16,
    failed_over: Instant,
) -> Result<(), String> {
    let mut answers = BTreeMap::new();
    while failed_over.elapsed() < RECOVERY_TIMEOUT {
        let body = create_body_with(&format!("{:0>40}", "recovery"));
        let (sender, request_id) = (new_uuid(), new_uuid());
        let reply = client.once(relay, Method::POST, "/v1/m", &sender, Some(&request_id), &body);
        match reply.await {
            Some((StatusCode::OK, reply)) => {
                if cluster.master_of(cluster.slot_of(&box_key(&path_of(&reply)))) == promoted {
                    return Ok(());
                }
            }
            Some((status, _)) => *answers.entry(status.as_u16()).or_insert(0) += 1,
            None => *answers.entry(0).or_insert(0) += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "relay {relay} did not create a mailbox in the failed master's former slots (now on \
         {promoted}) within {RECOVERY_TIMEOUT:?} of the failover; its other answers by status \
         (0: no answer): {answers:?}"
    ))
}

/// Reads, replays and probes every mailbox, counting what was lost into `figures`.
async fn check_mailboxes(client: &Client, mailboxes: &[Written], figures: &mut Figures) {
    figures.acknowledged = mailboxes.iter().map(|mailbox| 1 + mailbox.updates.len()).sum();
    figures.checked = true;
    let checks = stream::iter(mailboxes.iter().enumerate())
        .map(|(i, mailbox)| check_mailbox(client, i, mailbox))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    for check in checks {
        figures.lost_creates += usize::from(check.lost_create);
        figures.lost_updates += check.lost_updates;
        figures.duplicated += usize::from(check.duplicated);
        figures.rebound += usize::from(check.rebound);
        figures.unexpected.extend(check.unexpected);
    }
}

#[derive(Default)]
struct Check {
    lost_create: bool,
    lost_updates: usize,
    duplicated: bool,
    rebound: bool,
    unexpected: Vec<String>,
}

async fn check_mailbox(client: &Client, turn: usize, mailbox: &Written) -> Check {
    let mut check = Check::default();
    // The bound receiver, or a fresh one that binds now.
    let reader = mailbox.receiver.clone().unwrap_or_else(new_uuid);
    let body = json!({"after": 0});
    match client.send(turn, Method::POST, &mailbox.path, &reader, None, &body).await {
        Answer::Reply(StatusCode::OK, reply) => {
            check.lost_create = reply["messages"][0]["payload"]["data"] != mailbox.payload;
            check.lost_updates = lost_updates(&reply, &mailbox.updates);
        }
        Answer::Reply(StatusCode::NOT_FOUND, _) => {
            check.lost_create = true;
            check.lost_updates = mailbox.updates.len();
        }
        // The bound receiver refused: the binding went with the killed master, and a stranger
        // bound the mailbox since.
        Answer::Reply(StatusCode::UNAUTHORIZED, _) if mailbox.receiver.is_some() => {
            check.rebound = true;
        }
        Answer::Reply(status, reply) => check.unexpected.push(format!("read: {status} {reply}")),
        Answer::GaveUp => check.unexpected.push("read: gave up".into()),
    }
    if mailbox.receiver.is_some() && !check.lost_create {
        match client.send(turn + 1, Method::POST, &mailbox.path, &new_uuid(), None, &body).await {
            Answer::Reply(StatusCode::UNAUTHORIZED, reply)
                if reply["code"] == "already_claimed" => {}
            Answer::Reply(StatusCode::OK, _) => check.rebound = true,
            Answer::Reply(status, reply) => {
                check.unexpected.push(format!("stranger's read: {status} {reply}"))
            }
            Answer::GaveUp => check.unexpected.push("stranger's read: gave up".into()),
        }
    }
    // The same create again: it must find its mailbox, not make another.
    let create = create_body_with(&mailbox.payload);
    let request_id = Some(mailbox.request_id.as_str());
    match client.send(turn, Method::POST, "/v1/m", &mailbox.sender, request_id, &create).await {
        Answer::Reply(StatusCode::CREATED, reply) => {
            check.duplicated = path_of(&reply) != mailbox.path
        }
        Answer::Reply(StatusCode::OK, _) => check.duplicated = true,
        Answer::Reply(status, reply) => check.unexpected.push(format!("replay: {status} {reply}")),
        Answer::GaveUp => check.unexpected.push("replay: gave up".into()),
    }
    check
}

/// How many of `updates` are missing from the log of `reply`, or out of their order in it.
fn lost_updates(reply: &Value, updates: &[String]) -> usize {
    let log: Vec<&str> = reply["messages"]
        .as_array()
        .map(|messages| messages.iter().filter_map(|m| m["payload"]["data"].as_str()).collect())
        .unwrap_or_default();
    let mut at = 0;
    let mut lost = 0;
    for update in updates {
        match log[at..].iter().position(|data| data == update) {
            Some(found) => at += found + 1,
            None => lost += 1,
        }
    }
    lost
}

/// The create body of the support module with its payload's data set to `data`, writable by
/// the receiver.
fn create_body_with(data: &str) -> Value {
    let mut body = create_body();
    body["payload"] = payload(data);
    body["mailboxConfiguration"] = json!({"accessRights": "RW"});
    body
}

fn path_of(reply: &Value) -> String {
    let link = reply["urlLink"].as_str().expect("urlLink");
    let at = link.find("/v1/m/").expect("urlLink has /v1/m/");
    link[at..].to_owned()
}

/// The key of mailbox `path`'s hash, whose slot is the mailbox's.
fn box_key(path: &str) -> String {
    format!("tigress:{{{}}}:box", tag_of(path))
}

/// What a request came to after its retries.
enum Answer {
    Reply(StatusCode, Value),
    GaveUp,
}

/// An HTTP client over both relays that retries as a client would.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    bases: Arc<Vec<String>>,
}

impl Client {
    fn new(bases: Vec<String>) -> Self {
        // Longer than the relay's own 3 s Redis timeout, so that the relay answers first.
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        Self { http, bases: Arc::new(bases) }
    }

    /// Sends the request to relay `turn` (modulo two), and again to the next one on a 503 or a
    /// failed connection, with the same claim, request id and body, backing off from 100 ms to
    /// 1 s, for up to [`RETRY_FOR`].
    ///
    /// The SDK (tigress-client) repeats a state-changing request once, at once, when it failed in
    /// transit; an app above it retries a 503 after `Retry-After`. This does both, and the
    /// same request id is what makes it safe.
    async fn send(
        &self,
        turn: usize,
        method: Method,
        path: &str,
        claim: &str,
        request_id: Option<&str>,
        body: &Value,
    ) -> Answer {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        for attempt in turn.. {
            match self.once(attempt, method.clone(), path, claim, request_id, body).await {
                Some((StatusCode::SERVICE_UNAVAILABLE, _)) | None => {}
                Some((status, reply)) => return Answer::Reply(status, reply),
            }
            if started.elapsed() + pause > RETRY_FOR {
                return Answer::GaveUp;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
        unreachable!("the attempts never run out")
    }

    /// One attempt on relay `turn` (modulo two): its status and JSON body, or `None` when the
    /// connection failed or timed out.
    async fn once(
        &self,
        turn: usize,
        method: Method,
        path: &str,
        claim: &str,
        request_id: Option<&str>,
        body: &Value,
    ) -> Option<(StatusCode, Value)> {
        let base = &self.bases[turn % self.bases.len()];
        let mut request = self
            .http
            .request(method, format!("{base}{path}"))
            .header(CLAIM_HEADER, claim)
            .json(body);
        if let Some(id) = request_id {
            request = request.header(REQUEST_ID_HEADER, id);
        }
        let response = request.send().await.ok()?;
        let status = response.status();
        let text = response.text().await.ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }
}

#[test]
fn an_update_missing_from_the_log_or_out_of_its_order_counts_as_lost() {
    let log = json!({"messages": [
        {"payload": {"data": "create"}}, {"payload": {"data": "a"}}, {"payload": {"data": "b"}}
    ]});
    let updates = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<Vec<_>>();
    assert_eq!(lost_updates(&log, &updates(&["a", "b"])), 0);
    assert_eq!(lost_updates(&log, &updates(&["a", "c"])), 1);
    assert_eq!(lost_updates(&log, &updates(&["b", "a"])), 1);
    assert_eq!(lost_updates(&json!({}), &updates(&["a"])), 1);
}
