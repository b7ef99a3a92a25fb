//! The embedded store: SQLite in WAL mode with `synchronous=FULL`.
//!
//! All writes go through one writer thread that commits in batches (group commit): while one
//! batch waits for the disk, the next one gathers, so durability costs one fsync per batch rather
//! than per request. A caller is answered only after the commit that holds its change, so a
//! success response means the change is on disk. Reads that change nothing run on a pool of
//! read-only connections. `secure_delete` overwrites erased content, and after erasures the WAL
//! is checkpointed and truncated so deleted ciphertext does not linger in it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tigress_proto::wire::{
    Display, DisplayInformation, Message, NotificationToken, Party, Payload,
};
use tigress_proto::{AccessRights, MailboxId};
use tokio::sync::{Semaphore, oneshot};

use tigress_webhooks::{EndpointName, EventKind};

use super::{
    Created, EventKey, MailboxStore, NewMailbox, Outcome, PendingEvent, PreviewView, ReadView,
    StoreError, Updated,
};
use crate::config::Durability;
use crate::mailbox::{
    self, Caller, ClaimHash, LogLimits, Operation, Parties, ReadAccess, RequestHash, RequestRecord,
};
use crate::metrics::Metrics;

mod events;

/// The most jobs one commit carries; bounds the latency a batch adds.
const MAX_BATCH: usize = 256;
/// Read-only connections, and so reads running at once: more readers than this wait for a
/// connection rather than opening (and parsing the schema of) a new one each time.
const READERS: usize = 8;

/// How long a connection waits for a lock before answering busy (the writer's
/// `busy_timeout`, and a read sent to the blocking pool after a busy answer).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS mailboxes (
    id BLOB NOT NULL PRIMARY KEY,
    sender_claim BLOB NOT NULL,
    receiver_claim BLOB,
    payload_type TEXT NOT NULL,
    payload_data TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    image_url TEXT NOT NULL,
    access_rights TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    sender_token_type TEXT,
    sender_token_data TEXT,
    receiver_token_type TEXT,
    receiver_token_data TEXT,
    last_seq INTEGER NOT NULL,
    log_bytes INTEGER NOT NULL,
    max_receivers INTEGER,
    receivers_bound INTEGER NOT NULL DEFAULT 0,
    display_url TEXT,
    event_endpoint TEXT,
    event_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS mailboxes_by_expiry ON mailboxes (expires_at);
CREATE TABLE IF NOT EXISTS requests (
    mailbox_id BLOB NOT NULL,
    claim BLOB NOT NULL,
    operation INTEGER NOT NULL,
    request BLOB NOT NULL,
    PRIMARY KEY (mailbox_id, claim)
);
CREATE INDEX IF NOT EXISTS requests_by_claim ON requests (claim, request);
CREATE TABLE IF NOT EXISTS messages (
    mailbox_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    writer TEXT NOT NULL,
    payload_type TEXT NOT NULL,
    payload_data TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, seq)
);
CREATE TABLE IF NOT EXISTS attestations (
    digest BLOB NOT NULL PRIMARY KEY,
    request BLOB,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attestations_by_expiry ON attestations (expires_at);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    mailbox_id BLOB NOT NULL,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,
    writer TEXT,
    message_seq INTEGER,
    at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_mailbox ON events (mailbox_id, id);
";

/// The store's format; a file of another format is refused rather than misread. The
/// `attestations` table came within format 3: it is created when missing, and a relay that
/// predates it never reads it, so either relay reads the other's file correctly. Format 4 adds
/// `display_url` (`displayInformationUrl`; the three inline columns are then empty), which an
/// older relay would misread as an empty preview: so it is a new format. Format 5 adds the
/// outbox of lifecycle events (`events`, and each mailbox's endpoint and event count), which an
/// older relay would leave undelivered and let grow: a new format too.
const SCHEMA_VERSION: i64 = 5;

/// Brings a store of format 2 to format 3: the cap on receivers and the count of those bound.
/// Mailboxes of format 2 have no cap, so their count need not be known.
const MIGRATE_2_TO_3: &str = "
ALTER TABLE mailboxes ADD COLUMN max_receivers INTEGER;
ALTER TABLE mailboxes ADD COLUMN receivers_bound INTEGER NOT NULL DEFAULT 0;
";

/// Brings a store of format 3 to format 4: the preview given as a URL.
const MIGRATE_3_TO_4: &str = "ALTER TABLE mailboxes ADD COLUMN display_url TEXT;";

/// Brings a store of format 4 to format 5: each mailbox's event endpoint and count (none for
/// the mailboxes already there); [`SCHEMA`] then creates the outbox.
const MIGRATE_4_TO_5: &str = "
ALTER TABLE mailboxes ADD COLUMN event_endpoint TEXT;
ALTER TABLE mailboxes ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
";

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type WriteJob = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

enum Job {
    /// Runs inside the batch transaction, in a savepoint of its own.
    Write(WriteJob),
    /// Checkpoints and truncates the WAL, outside any transaction.
    Checkpoint(oneshot::Sender<Result<(), StoreError>>),
}

/// The SQLite mailbox store.
pub struct SqliteStore {
    jobs: Mutex<mpsc::Sender<Job>>,
    readers: Arc<Readers>,
    /// Set when content was erased since the last WAL checkpoint.
    erased: Arc<AtomicBool>,
    stats: Arc<WriterStats>,
    log: LogLimits,
    reader_slots: Arc<Semaphore>,
    capacity: Arc<Capacity>,
    /// Where the writer records its commits, once the relay gives it metrics.
    metrics: Arc<OnceLock<Arc<Metrics>>>,
    /// Told after each write's commit, for [`MailboxStore::outbox_changed`].
    committed: tokio::sync::Notify,
}

/// How many mailboxes the store holds, against the operator's cap. Only the writer thread
/// changes the count, inside the jobs that insert or erase rows, so a create checks the cap
/// against every commit before it and none can slip past it.
#[derive(Debug)]
struct Capacity {
    /// Rows of `mailboxes`: live ones, and expired ones until the sweep erases them.
    stored: AtomicU64,
    /// The cap; `u64::MAX` for none.
    cap: AtomicU64,
}

impl Capacity {
    fn is_full(&self) -> bool {
        self.stored.load(Ordering::Relaxed) >= self.cap.load(Ordering::Relaxed)
    }

    /// `n` rows were erased. Saturates, so that a miscount can never wrap into "full".
    fn removed(&self, n: u64) {
        let _ = self.stored.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |stored| {
            Some(stored.saturating_sub(n))
        });
    }

    /// Counts the rows again: after a failed commit, whose changes the count had taken in.
    fn recount(&self, conn: &Connection) {
        match conn.query_row("SELECT count(*) FROM mailboxes", [], |r| r.get::<_, u64>(0)) {
            Ok(stored) => self.stored.store(stored, Ordering::Relaxed),
            Err(e) => tracing::error!(error = %e, "sqlite could not count the mailboxes"),
        }
    }
}

/// Counters of the writer thread: how well group commit batches.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Write jobs carried by those commits.
    pub jobs: AtomicU64,
}

impl SqliteStore {
    /// Opens (or creates) the store in `dir`, which is created with owner-only permissions.
    pub fn open(dir: &Path, durability: Durability, log: LogLimits) -> Result<Self, StoreError> {
        create_private_dir(dir)?;
        let path = dir.join("tigress.sqlite3");
        make_private_files(&path)?;
        let conn = Connection::open(&path).map_err(backend)?;
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::DangerOff => "OFF",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = {synchronous};
             PRAGMA secure_delete = ON;
             PRAGMA busy_timeout = 5000;"
        ))
        .map_err(backend)?;
        let version = check_schema_version(&conn)?;
        if version == 2 {
            conn.execute_batch(MIGRATE_2_TO_3).map_err(backend)?;
        }
        if version <= 3 {
            conn.execute_batch(MIGRATE_3_TO_4).map_err(backend)?;
        }
        if version <= 4 {
            conn.execute_batch(MIGRATE_4_TO_5).map_err(backend)?;
        }
        conn.execute_batch(SCHEMA).map_err(backend)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(backend)?;

        let stored = conn
            .query_row("SELECT count(*) FROM mailboxes", [], |r| r.get::<_, u64>(0))
            .map_err(backend)?;
        let capacity =
            Arc::new(Capacity { stored: AtomicU64::new(stored), cap: AtomicU64::new(u64::MAX) });

        let (sender, receiver) = mpsc::channel();
        let stats = Arc::new(WriterStats::default());
        let metrics = Arc::new(OnceLock::new());
        let writer = Writer {
            stats: Arc::clone(&stats),
            capacity: Arc::clone(&capacity),
            metrics: Arc::clone(&metrics),
        };
        thread::Builder::new()
            .name("tigress-sqlite-writer".into())
            .spawn(move || run_writer(conn, receiver, &writer))
            .map_err(backend)?;
        Ok(Self {
            jobs: Mutex::new(sender),
            readers: Arc::new(Readers { path, idle: Mutex::new(Vec::new()) }),
            erased: Arc::new(AtomicBool::new(false)),
            stats,
            log,
            reader_slots: Arc::new(Semaphore::new(READERS)),
            capacity,
            metrics,
            committed: tokio::sync::Notify::new(),
        })
    }

    /// Records every later commit (its size and latency) and the mailboxes held in `metrics`.
    /// The first metrics given stay; later ones are ignored.
    pub fn set_metrics(&self, metrics: Arc<Metrics>) {
        if self.metrics.set(Arc::clone(&metrics)).is_ok() {
            // Until the next commit sets it again.
            metrics.stored_mailboxes(self.stored_mailboxes());
        }
    }

    /// Caps the mailboxes the store holds (live ones, and expired ones until the next sweep):
    /// a create beyond fails with [`StoreError::Full`]. `None` lifts the cap.
    pub fn set_max_mailboxes(&self, cap: Option<u64>) {
        self.capacity.cap.store(cap.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// How many mailboxes the store holds, expired ones not yet swept included.
    pub fn stored_mailboxes(&self) -> u64 {
        self.capacity.stored.load(Ordering::Relaxed)
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Runs `f` in the writer thread, inside the next batch, and waits for its commit.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job: WriteJob = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |commit| {
                // The receiver may have gone (client disconnected); nothing to do then.
                let _ = reply.send(commit.and(result));
            });
            (ok, completion)
        });
        self.send(Job::Write(job))?;
        let result = answer.await.map_err(|_| StoreError::Unavailable)?;
        // Any commit may have written an event: the deliverer looks (a permit, when it is busy).
        self.committed.notify_one();
        result
    }

    /// Runs `f` on a pooled read-only connection, in one read transaction when it runs
    /// [`Statements::Several`].
    ///
    /// On the calling task first: the relay's reads are point reads that SQLite answers from its
    /// page cache in microseconds, less than handing them to another thread and back would cost
    /// (docs/PERFORMANCE.md, "Where a request's time goes"). Such a read never waits: its
    /// connection has no busy timeout, so a database that is busy (rare in WAL mode: a
    /// checkpoint truncating the log, recovery after a crash) answers at once, and the read runs
    /// again in the blocking pool, where it may wait as long as a writer would.
    async fn read_only<T: Send + 'static>(
        &self,
        statements: Statements,
        f: impl Fn(&Connection) -> Result<T, StoreError> + Send + Sync + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.readers.take()?;
        let first = statements.run(&conn, &f);
        self.readers.give_back(conn);
        if !is_busy(&first) {
            return first;
        }
        let readers = Arc::clone(&self.readers);
        let slot = Arc::clone(&self.reader_slots)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let conn = readers.take()?;
            conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
            let result = statements.run(&conn, &f);
            conn.busy_timeout(Duration::ZERO).map_err(backend)?;
            readers.give_back(conn);
            result
        })
        .await
        .map_err(|_| StoreError::Unavailable)?
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        let jobs = self.jobs.lock().map_err(|_| StoreError::Unavailable)?;
        jobs.send(job).map_err(|_| StoreError::Unavailable)
    }

    async fn checkpoint(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Checkpoint(reply))?;
        answer.await.map_err(|_| StoreError::Unavailable)?
    }
}

#[async_trait::async_trait]
impl MailboxStore for SqliteStore {
    async fn create(
        &self,
        mailbox: NewMailbox,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Created, StoreError> {
        let capacity = Arc::clone(&self.capacity);
        self.write(move |conn| {
            if let Some(request) = &request {
                if let Some(created) = find_created(conn, &mailbox.sender, request, now)? {
                    return Ok(created);
                }
            }
            if capacity.is_full() {
                return Err(StoreError::Full);
            }
            insert(conn, &mailbox)?;
            if mailbox.events.is_some() {
                events::record(conn, &mailbox.id, EventKind::Created, now)?;
            }
            if let Some(request) = &request {
                record_request(conn, &mailbox.id, &mailbox.sender, Operation::Create, request)?;
            }
            capacity.stored.fetch_add(1, Ordering::Relaxed);
            let token_type = mailbox.sender_token.map(|t| t.kind);
            Ok(Created { outcome: Outcome::Done, id: mailbox.id, token_type })
        })
        .await
    }

    async fn preview(&self, id: MailboxId, now: i64) -> Result<PreviewView, StoreError> {
        self.read_only(Statements::One, move |conn| load_preview(conn, &id, now)).await
    }

    async fn read(
        &self,
        id: MailboxId,
        caller: Caller,
        token: Option<NotificationToken>,
        after: u64,
        now: i64,
    ) -> Result<ReadView, StoreError> {
        // The relay asks [`MailboxStore::read_unchanged`] first, so a read that reaches this
        // point binds or stores a token, or may: it goes to the writer, which decides inside its
        // transaction, so of any number of concurrent first reads exactly one binds.
        self.write(move |conn| {
            let mut row = load_live(conn, &id, now)?;
            let (role, just_bound) = match mailbox::decide_read(&row.parties(), &caller)? {
                ReadAccess::Party(role) => (role, false),
                ReadAccess::Binds => {
                    conn.execute(
                        "UPDATE mailboxes SET receiver_claim = ?2,
                         receivers_bound = receivers_bound + 1 WHERE id = ?1",
                        params![&id.as_bytes()[..], &caller.hash.0[..]],
                    )
                    .map_err(backend)?;
                    row.receiver = Some(caller.hash);
                    row.record(conn, &id, EventKind::Bound, now)?;
                    (Party::Receiver, true)
                }
            };
            if let Some(token) = &token {
                store_token(conn, &id, role, Some(token))?;
            }
            let sender_token = row.sender_token.clone().filter(|_| just_bound);
            let view = row.into_view(conn, &id, role, after)?;
            Ok(ReadView { just_bound, sender_token, ..view })
        })
        .await
    }

    async fn read_unchanged(
        &self,
        id: MailboxId,
        caller: Caller,
        after: u64,
        now: i64,
    ) -> Result<Option<ReadView>, StoreError> {
        // The row, and its messages when the caller is a party.
        self.read_only(Statements::Several, move |conn| {
            let row = load_live(conn, &id, now)?;
            match mailbox::decide_read(&row.parties(), &caller)? {
                ReadAccess::Party(role) => Ok(Some(row.into_view(conn, &id, role, after)?)),
                ReadAccess::Binds => Ok(None),
            }
        })
        .await
    }

    async fn update(
        &self,
        id: MailboxId,
        caller: Caller,
        payload: Payload,
        token: Option<NotificationToken>,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Updated, StoreError> {
        let limits = self.log;
        self.write(move |conn| {
            let row = load_live(conn, &id, now)?;
            let last = last_request(conn, &id, &caller)?;
            if mailbox::is_replay(last.as_ref(), Operation::Update, request.as_ref()) {
                let token_type =
                    row.parties().role_of(&caller).and_then(|role| row.token_type(role));
                return Ok(Updated { outcome: Outcome::Replayed, token_type, peer_token: None });
            }
            let role = mailbox::decide_update(&row.parties(), &caller)?;
            let size = payload.data.len() as u64;
            mailbox::check_append(row.last_seq, row.log_bytes, size, &limits)?;
            let seq = row.last_seq + 1;
            append_message(conn, &id, seq, role, &payload)?;
            row.record(conn, &id, events::message_written(role, seq), now)?;
            conn.execute(
                "UPDATE mailboxes SET payload_type = ?2, payload_data = ?3, last_seq = ?4,
                 log_bytes = log_bytes + ?5 WHERE id = ?1",
                params![&id.as_bytes()[..], payload.kind, payload.data, seq, size],
            )
            .map_err(backend)?;
            let token_type = match &token {
                Some(token) => {
                    store_token(conn, &id, role, Some(token))?;
                    Some(token.kind.clone())
                }
                None => row.token_type(role),
            };
            if let Some(request) = &request {
                record_request(conn, &id, &caller.hash, Operation::Update, request)?;
            }
            let peer_token = row.token(role.peer()).cloned().map(|token| (role.peer(), token));
            Ok(Updated { outcome: Outcome::Done, token_type, peer_token })
        })
        .await
    }

    async fn delete(&self, id: MailboxId, caller: Caller, now: i64) -> Result<(), StoreError> {
        let (erased, capacity) = (Arc::clone(&self.erased), Arc::clone(&self.capacity));
        self.write(move |conn| {
            let row = load_live(conn, &id, now)?;
            mailbox::decide_delete(&row.parties(), &caller)?;
            row.record(conn, &id, EventKind::Deleted, now)?;
            erase(conn, &id)?;
            capacity.removed(1);
            erased.store(true, Ordering::Relaxed);
            Ok(())
        })
        .await
    }

    async fn relinquish(
        &self,
        id: MailboxId,
        caller: Caller,
        request: Option<RequestHash>,
        now: i64,
    ) -> Result<Outcome, StoreError> {
        self.write(move |conn| {
            load_live(conn, &id, now).and_then(|row| {
                let last = last_request(conn, &id, &caller)?;
                if mailbox::is_replay(last.as_ref(), Operation::Relinquish, request.as_ref()) {
                    return Ok(Outcome::Replayed);
                }
                mailbox::decide_relinquish(&row.parties(), &caller)?;
                row.record(conn, &id, EventKind::Relinquished, now)?;
                conn.execute(
                    "UPDATE mailboxes SET receiver_claim = NULL, receiver_token_type = NULL,
                     receiver_token_data = NULL WHERE id = ?1",
                    params![&id.as_bytes()[..]],
                )
                .map_err(backend)?;
                if let Some(request) = &request {
                    record_request(conn, &id, &caller.hash, Operation::Relinquish, request)?;
                }
                Ok(Outcome::Done)
            })
        })
        .await
    }

    async fn forget_token(
        &self,
        id: MailboxId,
        role: Party,
        token_data: String,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            let row = load_live(conn, &id, now)?;
            // Only the token the provider refused: the party may have sent a new one since.
            if row.token(role).is_some_and(|token| token.token_data == token_data) {
                store_token(conn, &id, role, None)?;
            }
            Ok(())
        })
        .await
    }

    async fn remember_attestation(
        &self,
        digest: [u8; 32],
        request: Option<RequestHash>,
        until: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let seen = conn
                .prepare_cached(
                    "SELECT request FROM attestations WHERE digest = ?1 AND expires_at > ?2",
                )
                .map_err(backend)?
                .query_row(params![&digest[..], now], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()
                .map_err(backend)?;
            if let Some(seen) = seen {
                // Equality of digests, as for request records: both are hashes of secrets.
                return Ok(
                    matches!((seen, &request), (Some(seen), Some(request)) if seen == request.0),
                );
            }
            conn.prepare_cached(
                "INSERT INTO attestations (digest, request, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (digest) DO UPDATE SET request = ?2, expires_at = ?3",
            )
            .map_err(backend)?
            .execute(params![&digest[..], request.as_ref().map(|r| &r.0[..]), until])
            .map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn sweep(&self, now: i64) -> Result<u64, StoreError> {
        let capacity = Arc::clone(&self.capacity);
        let swept = self
            .write(move |conn| {
                conn.execute("DELETE FROM attestations WHERE expires_at <= ?1", params![now])
                    .map_err(backend)?;
                events::record_expired(conn, now)?;
                for table in ["requests", "messages"] {
                    conn.execute(
                        &format!(
                            "DELETE FROM {table} WHERE mailbox_id IN
                             (SELECT id FROM mailboxes WHERE expires_at <= ?1)"
                        ),
                        params![now],
                    )
                    .map_err(backend)?;
                }
                let n = conn
                    .execute("DELETE FROM mailboxes WHERE expires_at <= ?1", params![now])
                    .map_err(backend)? as u64;
                capacity.removed(n);
                Ok(n)
            })
            .await?;
        if swept > 0 || self.erased.swap(false, Ordering::Relaxed) {
            // A checkpoint a reader kept from finishing leaves erased ciphertext in the WAL: the
            // next sweep tries again, and the sweeper reports this one.
            self.checkpoint().await.inspect_err(|_| self.erased.store(true, Ordering::Relaxed))?;
        }
        Ok(swept)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let select_one =
            |conn: &Connection| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend);
        self.read_only(Statements::One, select_one).await
    }

    fn keeps_events(&self) -> bool {
        true
    }

    async fn record_refused_claim(&self, id: MailboxId, now: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            load_live(conn, &id, now)?.record(conn, &id, EventKind::RefusedClaim, now)
        })
        .await
    }

    async fn due_events(&self, now: i64, limit: usize) -> Result<Vec<PendingEvent>, StoreError> {
        self.read_only(Statements::One, move |conn| events::due(conn, now, limit)).await
    }

    async fn event_done(&self, key: EventKey) -> Result<(), StoreError> {
        self.write(move |conn| events::remove(conn, key)).await
    }

    async fn event_failed(
        &self,
        key: EventKey,
        failures: u32,
        next_attempt: i64,
    ) -> Result<(), StoreError> {
        self.write(move |conn| events::retry_at(conn, key, failures, next_attempt)).await
    }

    async fn outbox_changed(&self) {
        self.committed.notified().await;
    }
}

/// The writer thread: gathers whatever jobs are waiting, runs them in one transaction (each in a
/// savepoint, so a failed job leaves no trace), commits once, then answers every job.
/// What the writer thread shares with the store.
struct Writer {
    stats: Arc<WriterStats>,
    capacity: Arc<Capacity>,
    metrics: Arc<OnceLock<Arc<Metrics>>>,
}

fn run_writer(conn: Connection, jobs: mpsc::Receiver<Job>, writer: &Writer) {
    let Writer { stats, capacity, metrics } = writer;
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let began = Instant::now();
        if let Err(e) = run_cached(&conn, "BEGIN IMMEDIATE") {
            // Dropping the batch drops every reply channel: each caller sees `Unavailable`.
            tracing::error!(error = %e, "sqlite could not begin a transaction");
            continue;
        }
        let mut completions = Vec::with_capacity(batch.len());
        let mut checkpoints = Vec::new();
        for job in batch {
            match job {
                Job::Write(run) => completions.push(run_in_savepoint(&conn, run)),
                Job::Checkpoint(reply) => checkpoints.push(reply),
            }
        }
        let commit = run_cached(&conn, "COMMIT").map_err(backend);
        let elapsed = began.elapsed();
        if commit.is_ok() {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.jobs.fetch_add(completions.len() as u64, Ordering::Relaxed);
        }
        if let Err(e) = &commit {
            tracing::error!(error = %e, "sqlite commit failed");
            // Leaves the connection usable for the next batch; the jobs are answered with the error.
            let _ = conn.execute_batch("ROLLBACK");
            capacity.recount(&conn);
        }
        if let Some(metrics) = metrics.get() {
            // A batch of checkpoints alone wrote nothing: it would only skew the batch sizes.
            if commit.is_ok() && !completions.is_empty() {
                metrics.commit(completions.len(), elapsed);
            }
            metrics.stored_mailboxes(capacity.stored.load(Ordering::Relaxed));
        }
        for completion in completions {
            completion(commit.clone());
        }
        for reply in checkpoints {
            let _ = reply.send(checkpoint(&conn));
        }
    }
}

/// Runs one statement without parameters from the connection's statement cache: the writer
/// runs these for every job and batch, and parsing them each time cost more than running them.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn run_in_savepoint(conn: &Connection, run: WriteJob) -> Completion {
    if let Err(e) = run_cached(conn, "SAVEPOINT job") {
        let error = backend(e);
        return Box::new(move |_| drop(error));
    }
    let (ok, completion) = run(conn);
    let end = if ok {
        run_cached(conn, "RELEASE job")
    } else {
        run_cached(conn, "ROLLBACK TO job").and_then(|()| run_cached(conn, "RELEASE job"))
    };
    if let Err(e) = end {
        tracing::error!(error = %e, "sqlite savepoint failed");
    }
    completion
}

/// How many statements a read runs, which says whether it needs a transaction of its own.
#[derive(Clone, Copy)]
enum Statements {
    /// One statement, which SQLite runs in a read transaction of its own (autocommit): the
    /// explicit `BEGIN` and `COMMIT` would be two more statements for the same snapshot.
    One,
    /// Several, which must see one snapshot.
    Several,
}

impl Statements {
    fn run<T>(
        self,
        conn: &Connection,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self {
            Self::One => f(conn),
            Self::Several => in_read_transaction(conn, f),
        }
    }
}

/// One read transaction around `f`, so that every query of `f` sees the same snapshot (a row and
/// its messages from the same commit). The statements are cached: parsing `BEGIN` and `COMMIT`
/// again for every read cost more than running them.
fn in_read_transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    run_cached(conn, "BEGIN").map_err(backend)?;
    let result = f(conn);
    run_cached(conn, "COMMIT").map_err(backend).and(result)
}

/// Whether a read failed only because the database was busy (locked by a checkpoint or a
/// recovery), so that it may be tried again.
fn is_busy<T>(result: &Result<T, StoreError>) -> bool {
    let Err(StoreError::Backend(error)) = result else {
        return false;
    };
    error
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        .is_some_and(|code| {
            matches!(code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        })
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().map_err(|_| StoreError::Unavailable)?.pop() {
            return Ok(conn);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(backend)?;
        // No busy timeout: see [`SqliteStore::read_only`].
        conn.execute_batch("PRAGMA query_only = ON;").map_err(backend)?;
        conn.busy_timeout(Duration::ZERO).map_err(backend)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < READERS {
                idle.push(conn);
            }
        }
    }
}

/// One mailbox as stored.
struct Row {
    sender: ClaimHash,
    receiver: Option<ClaimHash>,
    rights: AccessRights,
    expires_at: i64,
    payload: Payload,
    display: Display,
    sender_token: Option<NotificationToken>,
    receiver_token: Option<NotificationToken>,
    /// Also the number of messages: the log is never pruned, so it has no gaps from 1.
    last_seq: u64,
    log_bytes: u64,
    max_receivers: Option<u32>,
    receivers_bound: u32,
    /// Whether the mailbox's changes go to an endpoint's outbox.
    has_events: bool,
}

impl Row {
    /// Records `kind` at `now` in the outbox, when the mailbox has an endpoint.
    fn record(
        &self,
        conn: &Connection,
        id: &MailboxId,
        kind: EventKind,
        now: i64,
    ) -> Result<(), StoreError> {
        if self.has_events { events::record(conn, id, kind, now) } else { Ok(()) }
    }

    fn parties(&self) -> Parties<'_> {
        Parties {
            sender: &self.sender,
            receiver: self.receiver.as_ref(),
            rights: self.rights,
            binds_left: mailbox::binds_left(self.max_receivers, self.receivers_bound),
        }
    }

    fn token(&self, role: Party) -> Option<&NotificationToken> {
        match role {
            Party::Sender => self.sender_token.as_ref(),
            Party::Receiver => self.receiver_token.as_ref(),
        }
    }

    fn token_type(&self, role: Party) -> Option<String> {
        self.token(role).map(|t| t.kind.clone())
    }

    fn into_view(
        self,
        conn: &Connection,
        id: &MailboxId,
        role: Party,
        after: u64,
    ) -> Result<ReadView, StoreError> {
        let messages = load_messages(conn, id, after)?;
        Ok(ReadView {
            payload: self.payload,
            display: self.display,
            expires_at: self.expires_at,
            role,
            messages,
            last_seq: self.last_seq,
            receiver_bound: self.receiver.is_some(),
            just_bound: false,
            sender_token: None,
        })
    }
}

/// What the preview shows of a live mailbox, and nothing else (no payload, claims or tokens).
fn load_preview(conn: &Connection, id: &MailboxId, now: i64) -> Result<PreviewView, StoreError> {
    let view = conn
        .prepare_cached(
            "SELECT expires_at, title, description, image_url, display_url
             FROM mailboxes WHERE id = ?1",
        )
        .map_err(backend)?
        .query_row(params![&id.as_bytes()[..]], |r| {
            Ok(PreviewView {
                expires_at: r.get(0)?,
                display: display_of(r.get(4)?, || {
                    Ok(DisplayInformation {
                        title: r.get(1)?,
                        description: r.get(2)?,
                        image_url: r.get(3)?,
                    })
                })?,
            })
        })
        .optional()
        .map_err(backend)?;
    match view {
        Some(view) if !mailbox::is_expired(view.expires_at, now) => Ok(view),
        _ => Err(StoreError::NotFound),
    }
}

/// A mailbox's display: at `url` when it has one, else the inline members.
fn display_of(
    url: Option<String>,
    inline: impl FnOnce() -> rusqlite::Result<DisplayInformation>,
) -> rusqlite::Result<Display> {
    match url {
        Some(url) => Ok(Display::Url(url)),
        None => inline().map(Display::Inline),
    }
}

fn load_live(conn: &Connection, id: &MailboxId, now: i64) -> Result<Row, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT sender_claim, receiver_claim, access_rights, expires_at, payload_type,
             payload_data, title, description, image_url, sender_token_type, sender_token_data,
             receiver_token_type, receiver_token_data, last_seq, log_bytes, max_receivers,
             receivers_bound, display_url, event_endpoint IS NOT NULL
             FROM mailboxes WHERE id = ?1",
        )
        .map_err(backend)?
        .query_row(params![&id.as_bytes()[..]], |r| {
            let token = |kind: Option<String>, data: Option<String>| match (kind, data) {
                (Some(kind), Some(token_data)) => Some(NotificationToken::new(kind, token_data)),
                _ => None,
            };
            Ok(RawRow {
                sender: r.get(0)?,
                receiver: r.get(1)?,
                rights: r.get(2)?,
                expires_at: r.get(3)?,
                payload: Payload { kind: r.get(4)?, data: r.get(5)? },
                display: display_of(r.get(17)?, || {
                    Ok(DisplayInformation {
                        title: r.get(6)?,
                        description: r.get(7)?,
                        image_url: r.get(8)?,
                    })
                })?,
                sender_token: token(r.get(9)?, r.get(10)?),
                receiver_token: token(r.get(11)?, r.get(12)?),
                last_seq: r.get(13)?,
                log_bytes: r.get(14)?,
                max_receivers: r.get(15)?,
                receivers_bound: r.get(16)?,
                has_events: r.get(18)?,
            })
        })
        .optional()
        .map_err(backend)?;
    let Some(raw) = row else {
        return Err(StoreError::NotFound);
    };
    if mailbox::is_expired(raw.expires_at, now) {
        return Err(StoreError::NotFound);
    }
    Ok(Row {
        sender: claim_hash(&raw.sender)?,
        receiver: raw.receiver.as_deref().map(claim_hash).transpose()?,
        rights: raw.rights.parse().map_err(backend)?,
        expires_at: raw.expires_at,
        payload: raw.payload,
        display: raw.display,
        sender_token: raw.sender_token,
        receiver_token: raw.receiver_token,
        last_seq: raw.last_seq,
        log_bytes: raw.log_bytes,
        max_receivers: raw.max_receivers,
        receivers_bound: raw.receivers_bound,
        has_events: raw.has_events,
    })
}

/// A row as SQLite returns it, before its values are checked.
struct RawRow {
    sender: Vec<u8>,
    receiver: Option<Vec<u8>>,
    rights: String,
    expires_at: i64,
    payload: Payload,
    display: Display,
    sender_token: Option<NotificationToken>,
    receiver_token: Option<NotificationToken>,
    last_seq: u64,
    log_bytes: u64,
    max_receivers: Option<u32>,
    receivers_bound: u32,
    has_events: bool,
}

fn load_messages(
    conn: &Connection,
    id: &MailboxId,
    after: u64,
) -> Result<Vec<Message>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT seq, writer, payload_type, payload_data FROM messages
             WHERE mailbox_id = ?1 AND seq > ?2 ORDER BY seq",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![&id.as_bytes()[..], after], |r| {
            Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(backend)?;
    rows.map(|row| {
        let (seq, writer, kind, data) = row.map_err(backend)?;
        let from = match writer.as_str() {
            "sender" => Party::Sender,
            "receiver" => Party::Receiver,
            _ => return Err(backend(CorruptRow("message writer"))),
        };
        Ok(Message { seq, from, payload: Payload { kind, data } })
    })
    .collect()
}

fn append_message(
    conn: &Connection,
    id: &MailboxId,
    seq: u64,
    from: Party,
    payload: &Payload,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO messages (mailbox_id, seq, writer, payload_type, payload_data)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(backend)?
    .execute(params![&id.as_bytes()[..], seq, from.as_str(), payload.kind, payload.data])
    .map_err(backend)?;
    Ok(())
}

/// The format of the store in `conn`: [`SCHEMA_VERSION`] for a new one, or 2 to 4 for one to
/// migrate.
fn check_schema_version(conn: &Connection) -> Result<i64, StoreError> {
    let version: i64 =
        conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(backend)?;
    let empty: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0))
        .map_err(backend)?;
    if empty == 0 {
        return Ok(SCHEMA_VERSION);
    }
    if (2..=SCHEMA_VERSION).contains(&version) {
        return Ok(version);
    }
    Err(backend(CorruptRow("store format: this data directory was written by another version")))
}

fn claim_hash(bytes: &[u8]) -> Result<ClaimHash, StoreError> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| backend(CorruptRow("claim hash")))?;
    Ok(ClaimHash(array))
}

fn insert(conn: &Connection, m: &NewMailbox) -> Result<(), StoreError> {
    let (token_type, token_data) = match &m.sender_token {
        Some(t) => (Some(t.kind.as_str()), Some(t.token_data.as_str())),
        None => (None, None),
    };
    // A preview given as a URL leaves the inline columns empty (they predate it).
    let inline = m.display.information();
    conn.prepare_cached(
        "INSERT INTO mailboxes (id, sender_claim, payload_type, payload_data, title, description,
         image_url, access_rights, expires_at, sender_token_type, sender_token_data, last_seq,
         log_bytes, max_receivers, display_url, event_endpoint) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,
         ?8, ?9, ?10, ?11, 1, ?12, ?13, ?14, ?15)",
    )
    .map_err(backend)?
    .execute(params![
        &m.id.as_bytes()[..],
        &m.sender.0[..],
        m.payload.kind,
        m.payload.data,
        inline.map_or("", |d| d.title.as_str()),
        inline.map_or("", |d| d.description.as_str()),
        inline.map_or("", |d| d.image_url.as_str()),
        m.rights.to_string(),
        m.expires_at,
        token_type,
        token_data,
        m.payload.data.len() as u64,
        m.max_receivers,
        m.display.url(),
        m.events.as_ref().map(EndpointName::as_str),
    ])
    .map_err(backend)?;
    // The create payload is the first message of the log, from the sender.
    append_message(conn, &m.id, 1, Party::Sender, &m.payload)
}

/// The live mailbox this claim created with this request id, if any (§7: for Create the key is
/// the claim alone). Matching by digest equality in SQL is safe: both are hashes of secrets.
fn find_created(
    conn: &Connection,
    sender: &ClaimHash,
    request: &RequestHash,
    now: i64,
) -> Result<Option<Created>, StoreError> {
    conn.prepare_cached(
        "SELECT m.id, m.sender_token_type FROM requests r JOIN mailboxes m ON m.id = r.mailbox_id
         WHERE r.claim = ?1 AND r.request = ?2 AND r.operation = ?3 AND m.expires_at > ?4 LIMIT 1",
    )
    .map_err(backend)?
    .query_row(params![&sender.0[..], &request.0[..], Operation::Create.code(), now], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?))
    })
    .optional()
    .map_err(backend)?
    .map(|(id, token_type)| {
        let id: [u8; 16] = id.try_into().map_err(|_| backend(CorruptRow("mailbox id")))?;
        Ok(Created { outcome: Outcome::Replayed, id: MailboxId::from_bytes(id), token_type })
    })
    .transpose()
}

/// The caller's last de-duplicated request on mailbox `id`, under either kind of digest: the
/// stored kind first (a claim that wrote since the relay has a key has a record of that kind).
fn last_request(
    conn: &Connection,
    id: &MailboxId,
    caller: &Caller,
) -> Result<Option<RequestRecord>, StoreError> {
    for claim in caller.digests() {
        if let Some(record) = request_record(conn, id, claim)? {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

fn request_record(
    conn: &Connection,
    id: &MailboxId,
    claim: &ClaimHash,
) -> Result<Option<RequestRecord>, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT operation, request FROM requests WHERE mailbox_id = ?1 AND claim = ?2",
        )
        .map_err(backend)?
        .query_row(params![&id.as_bytes()[..], &claim.0[..]], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()
        .map_err(backend)?;
    let Some((operation, request)) = found else {
        return Ok(None);
    };
    let operation = match operation {
        0 => Operation::Create,
        1 => Operation::Update,
        2 => Operation::Relinquish,
        _ => return Err(backend(CorruptRow("operation"))),
    };
    let request: [u8; 32] = request.try_into().map_err(|_| backend(CorruptRow("request hash")))?;
    Ok(Some(RequestRecord { operation, request: RequestHash(request) }))
}

fn record_request(
    conn: &Connection,
    id: &MailboxId,
    claim: &ClaimHash,
    operation: Operation,
    request: &RequestHash,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO requests (mailbox_id, claim, operation, request) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (mailbox_id, claim) DO UPDATE SET operation = ?3, request = ?4",
    )
    .map_err(backend)?
    .execute(params![&id.as_bytes()[..], &claim.0[..], operation.code(), &request.0[..]])
    .map_err(backend)?;
    Ok(())
}

fn store_token(
    conn: &Connection,
    id: &MailboxId,
    role: Party,
    token: Option<&NotificationToken>,
) -> Result<(), StoreError> {
    let sql = match role {
        Party::Sender => {
            "UPDATE mailboxes SET sender_token_type = ?2, sender_token_data = ?3 WHERE id = ?1"
        }
        Party::Receiver => {
            "UPDATE mailboxes SET receiver_token_type = ?2, receiver_token_data = ?3 WHERE id = ?1"
        }
    };
    conn.execute(
        sql,
        params![&id.as_bytes()[..], token.map(|t| &t.kind), token.map(|t| &t.token_data)],
    )
    .map_err(backend)?;
    Ok(())
}

fn erase(conn: &Connection, id: &MailboxId) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM requests WHERE mailbox_id = ?1",
        "DELETE FROM messages WHERE mailbox_id = ?1",
        "DELETE FROM mailboxes WHERE id = ?1",
    ] {
        conn.execute(sql, params![&id.as_bytes()[..]]).map_err(backend)?;
    }
    Ok(())
}

/// Checkpoints the WAL into the database file and truncates it. SQLite reports a checkpoint that
/// readers kept from finishing (after the busy timeout) as a row, not an error: it is one here.
fn checkpoint(conn: &Connection) -> Result<(), StoreError> {
    let busy: i64 =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0)).map_err(backend)?;
    if busy != 0 {
        return Err(backend(CheckpointBusy));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error(
    "the WAL checkpoint could not finish while readers held it; erased content may linger in the WAL until the next one"
)]
struct CheckpointBusy;

/// Creates the database file owner-only (SQLite gives its WAL and shared-memory files the
/// database file's mode), and takes group and other access away from files an older relay, or a
/// data directory made by hand, left open.
fn make_private_files(database: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(database)
        .map_err(backend)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::metadata(&name) {
            Ok(metadata) if metadata.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600))
                    .map_err(backend)?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(backend(e)),
        }
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(backend)
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable store: bad {0}")]
struct CorruptRow(&'static str);

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Arc::new(e))
}

#[cfg(test)]
mod tests {
    use tigress_proto::DeviceClaim;

    use super::*;

    const LOG: LogLimits = LogLimits { max_messages: 64, max_bytes: 64 * 65536 };

    fn new_mailbox(expires_at: i64) -> NewMailbox {
        let rng = &mut rand::rngs::OsRng;
        NewMailbox {
            id: MailboxId::random(rng),
            sender: ClaimHash::of(&DeviceClaim::random(rng)),
            payload: Payload { kind: "AEAD_AES_128_GCM".into(), data: "AAAA".into() },
            display: Display::Inline(DisplayInformation {
                title: "t".into(),
                description: "d".into(),
                image_url: "https://i.example/x.png".into(),
            }),
            rights: AccessRights::default(),
            expires_at,
            sender_token: None,
            max_receivers: None,
            events: None,
        }
    }

    #[tokio::test]
    async fn a_store_of_format_2_is_migrated_and_its_mailboxes_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mailbox = new_mailbox(4_000_000_000);
        let (id, sender) = (mailbox.id, mailbox.sender);
        {
            // Format 2: the same tables without the two receiver columns, the display URL and the
            // event columns.
            let conn = Connection::open(dir.path().join("tigress.sqlite3")).unwrap();
            let format_2 = SCHEMA.replace(
                "log_bytes INTEGER NOT NULL,\n    max_receivers INTEGER,\n    \
                 receivers_bound INTEGER NOT NULL DEFAULT 0,\n    display_url TEXT,\n    \
                 event_endpoint TEXT,\n    event_seq INTEGER NOT NULL DEFAULT 0",
                "log_bytes INTEGER NOT NULL",
            );
            assert_ne!(format_2, SCHEMA, "the format-2 schema is derived from this one");
            conn.execute_batch(&format_2).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute(
                "INSERT INTO mailboxes (id, sender_claim, payload_type, payload_data, title,
                 description, image_url, access_rights, expires_at, last_seq, log_bytes)
                 VALUES (?1, ?2, 'AEAD_AES_128_GCM', 'AAAA', 't', 'd', 'https://i.example/x.png',
                 'RD', 4000000000, 1, 4)",
                params![&id.as_bytes()[..], &sender.0[..]],
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap();
        let now = 3_000_000_000;
        assert_eq!(store.stored_mailboxes(), 1);
        let view = store.read(id, sender.into(), None, 0, now).await.unwrap();
        assert_eq!((view.role, view.receiver_bound), (Party::Sender, false));
        // No cap on a migrated mailbox: receivers bind and relinquish as before.
        for _ in 0..3 {
            let receiver = ClaimHash::of(&DeviceClaim::random(&mut rand::rngs::OsRng));
            assert!(store.read(id, receiver.into(), None, 0, now).await.unwrap().just_bound);
            store.relinquish(id, receiver.into(), None, now).await.unwrap();
        }
        drop(store);
        let conn = Connection::open(dir.path().join("tigress.sqlite3")).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        // A format this relay does not know is refused, not misread.
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(SqliteStore::open(dir.path(), Durability::Full, LOG).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap());
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store.create(new_mailbox(i64::MAX), None, 0).await.map(|c| c.id)
                })
            })
            .collect();
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.unwrap().unwrap());
        }
        let commits = store.stats().commits.load(Ordering::Relaxed);
        assert_eq!(store.stats().jobs.load(Ordering::Relaxed), 200);
        assert!(commits < 200, "group commit batched 200 writes into {commits} commits");
        for id in ids {
            store.preview(id, 0).await.unwrap();
        }
    }

    #[tokio::test]
    async fn committed_mailboxes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mailbox = new_mailbox(i64::MAX);
        let id = mailbox.id;
        {
            let store = SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap();
            store.create(mailbox, None, 0).await.unwrap();
        }
        let store = SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap();
        assert_eq!(store.preview(id, 0).await.unwrap().display.information().unwrap().title, "t");
    }

    #[tokio::test]
    async fn a_failed_job_leaves_no_trace_and_does_not_fail_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap();
        let mailbox = new_mailbox(i64::MAX);
        let (id, sender) = (mailbox.id, mailbox.sender);
        store.create(mailbox, None, 0).await.unwrap();
        let stranger = ClaimHash::of(&DeviceClaim::random(&mut rand::rngs::OsRng));
        let payload = Payload { kind: "AEAD_AES_128_GCM".into(), data: "BBBB".into() };
        let denied = store.update(id, stranger.into(), payload.clone(), None, None, 0);
        let allowed = store.update(id, sender.into(), payload, None, None, 0);
        let (denied, allowed) = tokio::join!(denied, allowed);
        assert!(matches!(denied, Err(StoreError::Conflict(_))));
        assert!(allowed.is_ok());
        assert_eq!(store.read(id, sender.into(), None, 0, 0).await.unwrap().payload.data, "BBBB");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_sees_the_row_and_its_messages_from_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let long_log = LogLimits { max_messages: 1000, max_bytes: u64::MAX };
        let store =
            Arc::new(SqliteStore::open(dir.path(), Durability::DangerOff, long_log).unwrap());
        let mailbox = new_mailbox(i64::MAX);
        let (id, sender) = (mailbox.id, mailbox.sender);
        store.create(mailbox, None, 0).await.unwrap();
        let writer = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for _ in 0..300 {
                    let payload = Payload { kind: "AEAD_AES_128_GCM".into(), data: "QUJD".into() };
                    store.update(id, sender.into(), payload, None, None, 0).await.unwrap();
                }
            })
        };
        // Through the reader path (the writer path sees one commit trivially).
        while !writer.is_finished() {
            let view = store.read_unchanged(id, sender.into(), 0, 0).await.unwrap().unwrap();
            let newest = view.messages.last().map_or(0, |m| m.seq);
            assert_eq!(
                newest, view.last_seq,
                "lastSeq and the messages come from different commits"
            );
        }
        writer.await.unwrap();
    }

    /// Review finding 9: in a data directory that already existed, the store's files were made
    /// with the process's umask (0644 as a rule): readable by every local user.
    #[tokio::test]
    async fn the_store_files_are_owner_only_even_in_an_existing_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap();
        store.create(new_mailbox(4_000_000_000), None, 0).await.unwrap();
        let modes = |dir: &Path| -> Vec<(String, u32)> {
            ["tigress.sqlite3", "tigress.sqlite3-wal", "tigress.sqlite3-shm"]
                .into_iter()
                .map(|name| {
                    let mode = std::fs::metadata(dir.join(name)).unwrap().permissions().mode();
                    (name.to_owned(), mode & 0o777)
                })
                .collect()
        };
        for (name, mode) in modes(dir.path()) {
            assert_eq!(mode, 0o600, "{name} is {mode:o}");
        }
        // Files an older relay left readable are closed on the next start.
        drop(store);
        let database = dir.path().join("tigress.sqlite3");
        std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap());
        assert_eq!(std::fs::metadata(&database).unwrap().permissions().mode() & 0o777, 0o600);
    }

    /// Review finding 9: a checkpoint that a reader kept from finishing was taken for done, so
    /// erased ciphertext could stay in the WAL with nobody told. It is now an error of the sweep,
    /// which the next sweep retries.
    #[tokio::test]
    async fn a_checkpoint_a_reader_blocks_is_reported_and_retried() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap();
        let mailbox = new_mailbox(4_000_000_000);
        let (id, sender) = (mailbox.id, mailbox.sender);
        store.create(mailbox, None, 0).await.unwrap();
        store.delete(id, sender.into(), 0).await.unwrap();
        // A reader in the middle of a transaction pins the WAL.
        let reader = Connection::open(dir.path().join("tigress.sqlite3")).unwrap();
        reader.execute_batch("BEGIN; SELECT count(*) FROM mailboxes;").unwrap();
        let blocked = store.sweep(0).await;
        assert!(matches!(blocked, Err(StoreError::Backend(_))), "{blocked:?}");
        reader.execute_batch("COMMIT").unwrap();
        drop(reader);
        assert_eq!(store.sweep(0).await.unwrap(), 0);
        let wal = std::fs::metadata(dir.path().join("tigress.sqlite3-wal")).unwrap();
        assert_eq!(wal.len(), 0, "the WAL was truncated by the retried checkpoint");
    }

    #[tokio::test]
    async fn expired_mailboxes_are_absent_and_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), Durability::Full, LOG).unwrap();
        let mailbox = new_mailbox(100);
        let id = mailbox.id;
        store.create(mailbox, None, 0).await.unwrap();
        assert!(store.preview(id, 99).await.is_ok());
        assert!(matches!(store.preview(id, 100).await, Err(StoreError::NotFound)));
        assert_eq!(store.sweep(99).await.unwrap(), 0);
        assert_eq!(store.sweep(100).await.unwrap(), 1);
        assert!(matches!(store.preview(id, 0).await, Err(StoreError::NotFound)));
    }
}
