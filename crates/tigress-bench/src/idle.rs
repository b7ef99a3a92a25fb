//! Idle capacity: what the relay holds while little happens. A store filled with many live
//! mailboxes (written straight through the store's own API, since a million HTTP creates would
//! take minutes), and many readers parked in waiting reads.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde_json::json;
use tigress_proto::wire::{Display, DisplayInformation, Payload};
use tigress_proto::{AccessRights, DeviceClaim, MailboxId};
use tigress_relay::mailbox::ClaimHash;
use tigress_relay::store::sqlite::SqliteStore;
use tigress_relay::store::{MailboxStore, NewMailbox};

/// Writes `count` live mailboxes (valid for a day) into a SQLite store in `dir`, as the relay
/// would store them, from `tasks` concurrent writers so that commits are grouped.
pub async fn fill_store(dir: &Path, count: usize) -> anyhow::Result<()> {
    let log = tigress_relay::Limits::default().log();
    let store = SqliteStore::open(dir, tigress_relay::Durability::DangerOff, log)
        .context("opening the store to fill")?;
    let store: Arc<dyn MailboxStore> = Arc::new(store);
    let expires_at = unix_now() + 86_400;
    let tasks = 64;
    let mut writers = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let store = Arc::clone(&store);
        let share = count / tasks + usize::from(task < count % tasks);
        writers.push(tokio::spawn(async move {
            for _ in 0..share {
                let mailbox = NewMailbox {
                    id: MailboxId::random(&mut rand::rngs::OsRng),
                    sender: ClaimHash::of(&DeviceClaim::random(&mut rand::rngs::OsRng)),
                    payload: Payload {
                        kind: "AEAD_AES_128_GCM".into(),
                        data: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
                    },
                    display: Display::Inline(DisplayInformation {
                        title: "Room 412".into(),
                        description: "Hotel key".into(),
                        image_url: "https://img.example/b.png".into(),
                    }),
                    rights: AccessRights::default(),
                    expires_at,
                    sender_token: None,
                    max_receivers: None,
                    events: None,
                };
                store.create(mailbox, None, unix_now()).await?;
            }
            anyhow::Ok(())
        }));
    }
    for writer in writers {
        writer.await.context("a filling task failed")??;
    }
    drop(store);
    settle(dir).await
}

/// Waits until the filled store is closed (its WAL folded into the database) and on disk, so
/// that the kernel's write-back of the fill is not charged to the relay measured next.
async fn settle(dir: &Path) -> anyhow::Result<()> {
    let wal = dir.join("tigress.sqlite3-wal");
    for _ in 0..600 {
        if !wal.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let synced = tokio::process::Command::new("sync").status().await.context("running sync")?;
    anyhow::ensure!(synced.success(), "sync failed");
    Ok(())
}

/// How parked readers reach the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// HTTP/1.1: a connection of its own for each reader, as phones each have.
    Http1,
    /// HTTP/2 (cleartext, prior knowledge): many readers' streams on each connection, as behind
    /// a proxy or a load balancer that multiplexes; [`STREAMS_PER_CONNECTION`] to a connection.
    Http2,
}

/// Readers per HTTP/2 connection, under the relay's limit of 256 concurrent streams.
pub const STREAMS_PER_CONNECTION: usize = 200;

/// A transfer whose receiver is bound: the mailbox's URL and the receiver's claim.
pub struct OpenTransfer {
    url: String,
    receiver: String,
}

/// Opens `count` transfers on the relay at `base`: each created, and claimed by a receiver.
pub async fn open_transfers(base: &str, count: usize) -> anyhow::Result<Vec<OpenTransfer>> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let mut transfers = Vec::with_capacity(count);
    // A few at a time.
    let mut batch = Vec::new();
    for _ in 0..count {
        let (http, base) = (http.clone(), base.to_owned());
        batch.push(tokio::spawn(async move { open_transfer(&http, &base).await }));
        if batch.len() == 64 {
            for task in batch.drain(..) {
                transfers.push(task.await.context("a transfer failed")??);
            }
        }
    }
    for task in batch {
        transfers.push(task.await.context("a transfer failed")??);
    }
    Ok(transfers)
}

/// Parks the receiver of each of `transfers` in a waiting read of `wait`, over `transport`.
/// Returns the parked reads; dropping them hangs up.
pub fn park_readers(
    transfers: Vec<OpenTransfer>,
    wait: Duration,
    transport: Transport,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let count = transfers.len();
    let h1_client = reqwest::Client::builder().pool_max_idle_per_host(count + 16).build()?;
    // One client per HTTP/2 connection: a client multiplexes all its requests on one.
    let h2_clients = match transport {
        Transport::Http1 => Vec::new(),
        Transport::Http2 => (0..count.div_ceil(STREAMS_PER_CONNECTION))
            .map(|_| reqwest::Client::builder().http2_prior_knowledge().build())
            .collect::<Result<Vec<_>, _>>()?,
    };
    let mut parked = Vec::with_capacity(count);
    for (index, OpenTransfer { url, receiver }) in transfers.into_iter().enumerate() {
        let http = match transport {
            Transport::Http1 => h1_client.clone(),
            Transport::Http2 => h2_clients[index / STREAMS_PER_CONNECTION].clone(),
        };
        parked.push(tokio::spawn(async move {
            let _ = http
                .post(url)
                .header("mailbox-device-claim", receiver)
                .header("prefer", format!("wait={}", wait.as_secs()))
                .json(&json!({"after": 1}))
                .send()
                .await;
        }));
    }
    Ok(parked)
}

/// Fails when any of `parked` has already ended: its read was refused or its connection closed,
/// so it holds nothing, and a figure over all of them would be wrong.
pub fn ensure_parked(parked: &[tokio::task::JoinHandle<()>]) -> anyhow::Result<()> {
    let ended = parked.iter().filter(|reader| reader.is_finished()).count();
    anyhow::ensure!(
        ended == 0,
        "{ended} of {} waiting reads ended instead of parking",
        parked.len()
    );
    Ok(())
}

async fn open_transfer(http: &reqwest::Client, base: &str) -> anyhow::Result<OpenTransfer> {
    let (sender, receiver) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());
    let url = crate::share_cycle::create(http, base, &sender).await?;
    crate::share_cycle::claim(http, &url, &receiver).await?;
    Ok(OpenTransfer { url, receiver })
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
