//! `tigress-bench`: runs every relay benchmark on loopback, with its baselines, and prints tables
//! (and the same figures as JSON).

/// The allocator of the `tigress` binary, so that the relay measured here is the one deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use tigress_bench::child::ServerProcess;
use tigress_bench::open_loop::{self, OpenLoopRow};
use tigress_bench::per_request::PerRequestRow;
use tigress_bench::round_trip::RoundTripRow;
use tigress_bench::share_cycle::ShareCycleRow;
use tigress_bench::{Setup, idle, per_request, round_trip, share_cycle};

/// Benchmarks of the Tigress relay on loopback, with baselines measured in the same run.
/// Figures to read, not pass/fail; about 3 minutes (`--quick`: under one).
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Examples:\n  cargo run --release -p tigress-bench\n  \
                  cargo run --release -p tigress-bench -- --quick --json figures.json\n  \
                  cargo run --release -p tigress-bench -- --redis \"$(scripts/redis-cluster url)\"\n"
)]
struct Cli {
    #[command(subcommand)]
    serve: Option<Serve>,
    /// A shorter run: fewer concurrencies, shorter loops, 100,000 mailboxes, 2,000 readers.
    #[arg(long)]
    quick: bool,
    /// Also measure the Redis Cluster store (one relay, and two relays with the wake-up crossing
    /// between them): redis-cluster://host:port[,host:port…].
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// With --redis, also measure one relay whose writes each wait for this many replicas
    /// (the cluster needs as many replicas per master: TIGRESS_REDIS_REPLICAS=1 with six
    /// TIGRESS_REDIS_PORTS for scripts/redis-cluster).
    #[arg(long, value_name = "N", requires = "redis")]
    redis_replica_acks: Option<u32>,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Leave out the magic-wormhole mailbox server baseline (it needs python3 and PyPI the first
    /// time, to install it under target/).
    #[arg(long)]
    no_wormhole: bool,
    /// Only count instructions per create, preview and claim-read under valgrind's callgrind,
    /// this many requests of each, on the relay and the ceiling (needs valgrind; a few minutes).
    #[arg(long, value_name = "REQUESTS")]
    callgrind: Option<usize>,
    /// Only the CPU-per-request section (for working on the request path).
    #[arg(long)]
    per_request_only: bool,
    /// Only the open-loop round trip.
    #[arg(long, hide = true)]
    open_loop_only: bool,
    /// Only the idle-capacity section.
    #[arg(long, hide = true)]
    idle_only: bool,
    /// Connections of the light generator.
    #[arg(long, hide = true, default_value_t = 64)]
    light_connections: usize,
    /// Seconds per closed-loop share-cycle run.
    #[arg(long, hide = true)]
    seconds: Option<f64>,
    /// Share-cycle concurrencies, comma-separated.
    #[arg(long, hide = true, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Round-trip concurrent transfers, comma-separated.
    #[arg(long, hide = true, value_delimiter = ',')]
    transfers: Option<Vec<usize>>,
    /// Rounds per transfer.
    #[arg(long, hide = true)]
    rounds: Option<usize>,
    /// Open-loop transfers (each one message a second).
    #[arg(long, hide = true)]
    open_transfers: Option<usize>,
    /// Seconds of the open-loop run.
    #[arg(long, hide = true)]
    open_seconds: Option<u64>,
    /// Live mailboxes for the idle-capacity run.
    #[arg(long, hide = true)]
    mailboxes: Option<usize>,
    /// Waiting readers for the idle-capacity run.
    #[arg(long, hide = true)]
    readers: Option<usize>,
}

/// The servers under test, run by this binary in child processes.
#[derive(Debug, Subcommand)]
enum Serve {
    /// A relay on a free loopback port; prints `READY <url>`, stops when stdin closes.
    #[command(hide = true)]
    ServeRelay {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        no_sync: bool,
        #[arg(long)]
        store: Option<tigress_relay::StoreConfig>,
        #[arg(long, default_value_t = 0)]
        redis_replica_acks: u32,
    },
    /// The ceiling server; prints `READY <url>`, stops when stdin closes.
    #[command(hide = true)]
    ServeCeiling,
}

/// What one run measures.
struct Plan {
    seconds: f64,
    concurrency: Vec<usize>,
    transfers: Vec<usize>,
    rounds: usize,
    mailboxes: usize,
    readers: usize,
    open_transfers: usize,
    open_seconds: u64,
}

impl Plan {
    fn of(cli: &Cli) -> Self {
        let mut plan = if cli.quick {
            Self {
                seconds: 2.0,
                concurrency: vec![1, 16],
                transfers: vec![1, 100],
                rounds: 10,
                mailboxes: 100_000,
                readers: 2_000,
                open_transfers: 200,
                open_seconds: 5,
            }
        } else {
            Self {
                seconds: 4.0,
                concurrency: vec![1, 16, 64],
                transfers: vec![1, 100, 1000],
                rounds: 20,
                mailboxes: 1_000_000,
                readers: 10_000,
                open_transfers: 1_000,
                open_seconds: 10,
            }
        };
        plan.seconds = cli.seconds.unwrap_or(plan.seconds);
        plan.concurrency = cli.concurrency.clone().unwrap_or(plan.concurrency);
        plan.transfers = cli.transfers.clone().unwrap_or(plan.transfers);
        plan.rounds = cli.rounds.unwrap_or(plan.rounds);
        plan.mailboxes = cli.mailboxes.unwrap_or(plan.mailboxes);
        plan.readers = cli.readers.unwrap_or(plan.readers);
        plan.open_transfers = cli.open_transfers.unwrap_or(plan.open_transfers);
        plan.open_seconds = cli.open_seconds.unwrap_or(plan.open_seconds);
        plan
    }

    /// The concurrency at which the idle-store throughput is compared (the middle one).
    fn compared_concurrency(&self) -> usize {
        self.concurrency[self.concurrency.len() / 2]
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.serve {
        Some(Serve::ServeRelay { data_dir, no_sync, store, redis_replica_acks }) => {
            let relay = tigress_bench::serve_relay(data_dir, no_sync, store, redis_replica_acks);
            return runtime.block_on(relay);
        }
        Some(Serve::ServeCeiling) => return runtime.block_on(tigress_bench::serve_ceiling()),
        None => {}
    }
    if let Some(requests) = cli.callgrind {
        let rows = runtime.block_on(tigress_bench::callgrind::run(requests))?;
        print_callgrind(&rows);
        if let Some(path) = &cli.json {
            std::fs::write(path, serde_json::to_vec_pretty(&rows)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(());
    }
    let plan = Plan::of(&cli);
    anyhow::ensure!(!plan.concurrency.is_empty(), "no share-cycle concurrency to run");
    runtime.block_on(run(&cli, &plan))
}

async fn run(cli: &Cli, plan: &Plan) -> anyhow::Result<()> {
    let duration = Duration::from_secs_f64(plan.seconds);
    if cli.open_loop_only {
        print_open_loop(&open_loop(plan).await?);
        return Ok(());
    }
    if cli.idle_only {
        print_idle(&idle_capacity(plan, duration).await?);
        return Ok(());
    }

    // 0. CPU per request, one kind at a time, light generator; the relay durable.
    let per_request = {
        let ceiling = ServerProcess::spawn(&["serve-ceiling".into()])?;
        let relays = Setup::Sqlite.start()?;
        let target = |server: &ServerProcess| -> anyhow::Result<per_request::Target> {
            Ok(per_request::Target { addr: per_request::addr_of(&server.base)?, pid: server.pid() })
        };
        per_request::run(
            target(&relays.writer)?,
            target(&ceiling)?,
            cli.light_connections,
            duration,
        )
        .await?
    };
    print_per_request(cli.light_connections, &per_request);
    if cli.per_request_only {
        print_targets(&per_request_targets(&per_request));
        return Ok(());
    }

    // 1. Share cycle: the ceiling, the durable relay, the relay without fsync.
    let mut cycle_setups: Vec<(String, Option<Setup>)> = vec![
        ("ceiling (minimal server)".into(), None),
        (Setup::Sqlite.name().into(), Some(Setup::Sqlite)),
        (Setup::SqliteNoSync.name().into(), Some(Setup::SqliteNoSync)),
    ];
    if let Some(url) = &cli.redis {
        let redis = Setup::Redis { url: url.clone() };
        cycle_setups.push((redis.name().into(), Some(redis)));
    }
    if let (Some(url), Some(acks)) = (&cli.redis, cli.redis_replica_acks) {
        let redis = Setup::RedisReplicaAcks { url: url.clone(), acks };
        cycle_setups.push((redis.name().into(), Some(redis)));
    }
    let mut cycles: Vec<(String, Vec<ShareCycleRow>)> = Vec::new();
    for (name, setup) in &cycle_setups {
        let (base, _keep) = match setup {
            None => {
                let ceiling = ServerProcess::spawn(&["serve-ceiling".into()])?;
                (ceiling.base.clone(), Keep::Ceiling(ceiling))
            }
            Some(setup) => {
                let relays = setup.start()?;
                (relays.writer.base.clone(), Keep::Relays(relays))
            }
        };
        let mut rows = Vec::new();
        for &concurrency in &plan.concurrency {
            rows.push(share_cycle::run(&base, concurrency, duration).await?);
        }
        cycles.push((name.clone(), rows));
    }
    print_share_cycle(plan, &cycles);

    // 2. Round trip on each store setup.
    // synchronous=OFF shows how much of the wake-up is the Update's fsync.
    let mut trip_setups = vec![Setup::Sqlite, Setup::SqliteNoSync];
    if let Some(url) = &cli.redis {
        trip_setups.push(Setup::Redis { url: url.clone() });
        trip_setups.push(Setup::RedisTwoRelays { url: url.clone() });
    }
    if let (Some(url), Some(acks)) = (&cli.redis, cli.redis_replica_acks) {
        trip_setups.push(Setup::RedisReplicaAcks { url: url.clone(), acks });
    }
    let mut trips: Vec<(String, Vec<RoundTripRow>)> = Vec::new();
    for setup in &trip_setups {
        let relays = setup.start()?;
        let mut rows = Vec::new();
        for &transfers in &plan.transfers {
            rows.push(
                round_trip::run(&relays.writer.base, relays.reader_base(), transfers, plan.rounds)
                    .await?,
            );
        }
        trips.push((setup.name().into(), rows));
    }
    print_round_trip(plan, &trips);

    // 2b. Open loop: a fixed message rate with many readers parked, durable.
    let open = open_loop(plan).await?;
    print_open_loop(&open);

    // 3. Idle capacity.
    let idle = idle_capacity(plan, duration).await?;
    print_idle(&idle);

    // 4. The closest public peer, on the same loopback and generator machine.
    let peer = if cli.no_wormhole { None } else { Some(wormhole_baseline(plan, duration).await?) };
    if let Some(peer) = &peer {
        print_wormhole(plan, peer, &cycles, &trips);
    }

    let mut targets = per_request_targets(&per_request);
    targets.extend(open_loop_targets(plan, &open));
    targets.extend(self::targets(plan, &cycles, &trips, &idle, peer.as_ref()));
    print_targets(&targets);

    if let Some(path) = &cli.json {
        let document = json!({
            "plan": {
                "secondsPerRun": plan.seconds, "rounds": plan.rounds,
                "mailboxes": plan.mailboxes, "readers": plan.readers,
            },
            "perRequest": per_request,
            "shareCycle": cycles.iter().map(|(name, rows)| json!({"server": name, "rows": rows})).collect::<Vec<_>>(),
            "openLoop": open,
            "roundTrip": trips.iter().map(|(name, rows)| json!({"store": name, "rows": rows})).collect::<Vec<_>>(),
            "idle": idle.to_json(),
            "wormhole": peer.as_ref().map(Peer::to_json),
            "targets": targets.iter().map(Target::to_json).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_vec_pretty(&document)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nfigures written to {}", path.display());
    }
    Ok(())
}

/// The open-loop round trip on a fresh durable relay, with the plan's readers parked.
async fn open_loop(plan: &Plan) -> anyhow::Result<OpenLoopRow> {
    let relays = Setup::Sqlite.start()?;
    let wait = Duration::from_secs(60);
    let transport = idle::Transport::Http1;
    let transfers = idle::open_transfers(&relays.writer.base, plan.readers).await?;
    let parked = idle::park_readers(transfers, wait, transport)?;
    // Give every read time to reach the relay and park, so that none of the work of parking
    // them falls in the measurement.
    tokio::time::sleep(Duration::from_secs(3)).await;
    idle::ensure_parked(&parked)?;
    let addr = per_request::addr_of(&relays.writer.base)?;
    let duration = Duration::from_secs(plan.open_seconds);
    let pid = relays.writer.pid();
    let row = open_loop::run(addr, pid, plan.open_transfers, plan.readers, duration).await?;
    for reader in parked {
        reader.abort();
    }
    Ok(row)
}

/// Keeps a server process alive for the length of a measurement.
enum Keep {
    Ceiling(#[allow(dead_code)] ServerProcess),
    Relays(#[allow(dead_code)] tigress_bench::Relays),
}

/// The idle-capacity figures.
struct Idle {
    readers: usize,
    http1: ParkedMemory,
    http2: ParkedMemory,
    mailboxes: usize,
    fill_seconds: f64,
    filled_rss: u64,
    filled_cycle: ShareCycleRow,
    empty_cycle: ShareCycleRow,
}

/// A relay's resident memory, in bytes: empty, with its transfers open (created and
/// claimed), and with a reader of each parked in a waiting read.
struct ParkedMemory {
    readers: usize,
    empty: u64,
    open: u64,
    parked: u64,
}

impl ParkedMemory {
    /// What parking added, per reader: the readers' connections, streams and waiting reads.
    fn per_parked_read(&self) -> u64 {
        self.parked.saturating_sub(self.open) / self.readers.max(1) as u64
    }

    /// All the relay grew by from empty, per reader: the transfers' store (its page caches,
    /// which stop growing at their caps) as well as the parked reads.
    fn per_transfer(&self) -> u64 {
        self.parked.saturating_sub(self.empty) / self.readers.max(1) as u64
    }

    fn to_json(&self) -> Value {
        json!({
            "emptyRssBytes": self.empty,
            "transfersOpenRssBytes": self.open,
            "parkedRssBytes": self.parked,
            "bytesPerParkedRead": self.per_parked_read(),
            "bytesPerTransferFromEmpty": self.per_transfer(),
        })
    }
}

impl Idle {
    fn memory(&self, transport: idle::Transport) -> &ParkedMemory {
        match transport {
            idle::Transport::Http1 => &self.http1,
            idle::Transport::Http2 => &self.http2,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "waitingReaders": self.readers,
            "http1": self.http1.to_json(),
            "http2": self.http2.to_json(),
            "liveMailboxes": self.mailboxes,
            "fillSeconds": self.fill_seconds,
            "liveMailboxesRssBytes": self.filled_rss,
            "shareCycleWithLiveMailboxes": self.filled_cycle,
            "shareCycleOnEmptyStore": self.empty_cycle,
        })
    }
}

async fn idle_capacity(plan: &Plan, duration: Duration) -> anyhow::Result<Idle> {
    let concurrency = plan.compared_concurrency();

    // Waiting readers, each transport on a fresh relay.
    let http1 = parked_memory(plan.readers, idle::Transport::Http1).await?;
    let http2 = parked_memory(plan.readers, idle::Transport::Http2).await?;

    // Many live mailboxes, written into the store before the relay starts on it.
    let dir = tempfile::tempdir()?;
    let started = std::time::Instant::now();
    idle::fill_store(dir.path(), plan.mailboxes).await?;
    let fill_seconds = started.elapsed().as_secs_f64();
    let args = [
        "serve-relay".to_owned(),
        "--data-dir".to_owned(),
        dir.path().to_string_lossy().into_owned(),
    ];
    let filled = ServerProcess::spawn(&args)?;
    let empty = Setup::Sqlite.start()?;
    // The two relays run side by side and are measured in turns, so that a noisy moment of the
    // machine weighs on both alike.
    let half = duration / 2;
    let mut filled_runs = Vec::new();
    let mut empty_runs = Vec::new();
    for _ in 0..2 {
        empty_runs.push(share_cycle::run(&empty.writer.base, concurrency, half).await?);
        filled_runs.push(share_cycle::run(&filled.base, concurrency, half).await?);
    }
    let filled_rss = filled.resident_bytes()?;
    drop(filled);
    drop(empty);

    Ok(Idle {
        readers: plan.readers,
        http1,
        http2,
        mailboxes: plan.mailboxes,
        fill_seconds,
        filled_rss,
        filled_cycle: share_cycle::ShareCycleRow::combine(filled_runs),
        empty_cycle: share_cycle::ShareCycleRow::combine(empty_runs),
    })
}

/// A fresh relay's resident memory empty, with `readers` transfers open, then with their
/// receivers parked over `transport`.
async fn parked_memory(readers: usize, transport: idle::Transport) -> anyhow::Result<ParkedMemory> {
    let relays = Setup::Sqlite.start()?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let empty = relays.writer.resident_bytes()?;
    let transfers = idle::open_transfers(&relays.writer.base, readers).await?;
    // The connections that opened them are closed; let the relay drop what they held.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = relays.writer.resident_bytes()?;
    let wait = Duration::from_secs(60);
    let parked = idle::park_readers(transfers, wait, transport)?;
    // Give every read time to reach the relay and park.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let parked_rss = relays.writer.resident_bytes()?;
    idle::ensure_parked(&parked)?;
    for reader in parked {
        reader.abort();
    }
    Ok(ParkedMemory { readers, empty, open, parked: parked_rss })
}

/// The magic-wormhole mailbox server's figures.
struct Peer {
    round_trips: Vec<(usize, tigress_bench::Latency)>,
    concurrency: usize,
    sessions: tigress_bench::wormhole::SessionRate,
}

impl Peer {
    fn to_json(&self) -> Value {
        json!({
            "roundTrip": self.round_trips.iter().map(|(sessions, latency)| json!({"sessions": sessions, "wake_up": latency})).collect::<Vec<_>>(),
            "sessionRate": {"concurrency": self.concurrency, "sessions": self.sessions.sessions, "seconds": self.sessions.seconds, "perSecond": self.sessions.per_second},
        })
    }
}

/// The same round trip (at up to 100 concurrent sessions: beyond, the server takes seconds per
/// message) and a closed-loop session rate, on the mailbox server.
async fn wormhole_baseline(plan: &Plan, duration: Duration) -> anyhow::Result<Peer> {
    let server = tigress_bench::wormhole::Server::start()?;
    let mut round_trips = Vec::new();
    for &sessions in plan.transfers.iter().filter(|&&count| count <= 100) {
        let samples =
            tigress_bench::wormhole::round_trip(&server.url, sessions, plan.rounds).await?;
        round_trips.push((sessions, tigress_bench::Latency::of(samples)));
    }
    let concurrency = plan.compared_concurrency();
    let sessions =
        tigress_bench::wormhole::session_rate(&server.url, concurrency, duration).await?;
    Ok(Peer { round_trips, concurrency, sessions })
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn print_callgrind(rows: &[tigress_bench::callgrind::CallgrindRow]) {
    println!("\nInstructions per request (valgrind --tool=callgrind, every thread of the server)");
    for row in rows {
        println!(
            "\n{} on the {}: {:.0} instructions per request ({} requests); largest self costs:",
            row.kind, row.server, row.instructions_per_request, row.requests
        );
        for (cost, name) in &row.top {
            println!("  {cost:>9.0}  {}", shorten(name, 110));
        }
    }
}

/// `name` cut to `max` characters, for a table.
fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let cut: String = name.chars().take(max - 1).collect();
    format!("{cut}…")
}

fn print_per_request(connections: usize, rows: &[PerRequestRow]) {
    println!(
        "\n0. Server CPU per request, one kind at a time: light generator (pre-built HTTP/1.1, \
         {connections} keep-alive connections), relay durable"
    );
    println!(
        "{:<11} {:>12} {:>12} {:>7} {:>12} {:>12} {:>9} {:>9} {:>12} {:>10} {:>8}",
        "request",
        "ceiling µs",
        "relay µs",
        "ratio",
        "ceiling/s",
        "relay/s",
        "p50 ms",
        "p99 ms",
        "generator µs",
        "written B",
        "writes"
    );
    for row in rows {
        println!(
            "{:<11} {:>12.1} {:>12.1} {:>6.1}× {:>12.0} {:>12.0} {:>9.3} {:>9.3} {:>12.1} {:>10.0} {:>8.1}",
            row.kind,
            row.ceiling.server_cpu_us_per_request,
            row.relay.server_cpu_us_per_request,
            row.cpu_ratio(),
            row.ceiling.requests_per_second,
            row.relay.requests_per_second,
            ms(row.relay.latency.p50_us),
            ms(row.relay.latency.p99_us),
            row.relay.generator_cpu_us_per_request,
            row.relay.server_written_bytes_per_request,
            row.relay.server_writes_per_request
        );
    }
}

fn print_share_cycle(plan: &Plan, cycles: &[(String, Vec<ShareCycleRow>)]) {
    println!(
        "\n1. Share cycle (create → preview → claim-read → delete), closed loop, {:.0} s per run",
        plan.seconds
    );
    println!(
        "{:<26} {:>11} {:>12} {:>9} {:>9}",
        "server", "concurrency", "requests/s", "p50 ms", "p99 ms"
    );
    for (name, rows) in cycles {
        for row in rows {
            println!(
                "{name:<26} {:>11} {:>12.0} {:>9.3} {:>9.3}",
                row.concurrency,
                row.requests_per_second,
                ms(row.request.p50_us),
                ms(row.request.p99_us)
            );
        }
    }
}

fn print_round_trip(plan: &Plan, trips: &[(String, Vec<RoundTripRow>)]) {
    println!(
        "\n2. Round trip: Update → peer wake-up through a waiting read, {} rounds per transfer",
        plan.rounds
    );
    println!("{:<26} {:>10} {:>9} {:>9} {:>9}", "store", "transfers", "p50 ms", "p99 ms", "max ms");
    for (name, rows) in trips {
        for row in rows {
            println!(
                "{name:<26} {:>10} {:>9.3} {:>9.3} {:>9.3}",
                row.transfers,
                ms(row.wake_up.p50_us),
                ms(row.wake_up.p99_us),
                ms(row.wake_up.max_us)
            );
        }
    }
}

fn print_idle(idle: &Idle) {
    println!("\n3. Idle capacity (relay resident memory)");
    println!("{:<48} {:>10.1} MB", "empty relay", mb(idle.http1.empty));
    for transport in [idle::Transport::Http1, idle::Transport::Http2] {
        let name = match transport {
            idle::Transport::Http1 => "HTTP/1.1, a connection each",
            idle::Transport::Http2 => "HTTP/2, 200 streams a connection",
        };
        let memory = idle.memory(transport);
        println!(
            "{:<48} {:>10.1} MB ({:.1} KB per parked read; {:.1} KB per transfer from empty)",
            format!("with {} waiting readers, {name}", idle.readers),
            mb(memory.parked),
            memory.per_parked_read() as f64 / 1000.0,
            memory.per_transfer() as f64 / 1000.0,
        );
    }
    println!(
        "{:<48} {:>10.1} MB",
        format!("with {} live mailboxes (filled in {:.1} s)", idle.mailboxes, idle.fill_seconds),
        mb(idle.filled_rss)
    );
    println!(
        "{:<48} {:>10.0} req/s (empty store: {:.0}, concurrency {})",
        "share cycle with those mailboxes",
        idle.filled_cycle.requests_per_second,
        idle.empty_cycle.requests_per_second,
        idle.empty_cycle.concurrency
    );
}

fn print_open_loop(row: &OpenLoopRow) {
    println!(
        "\n2b. Open loop, durable: {} transfers each sending a message a second, {} more readers \
         parked",
        row.transfers, row.parked
    );
    println!(
        "{:>10} {:>12} {:>9} {:>9} {:>9} {:>22}",
        "messages", "messages/s", "p50 ms", "p99 ms", "max ms", "server CPU µs/request"
    );
    println!(
        "{:>10} {:>12.0} {:>9.3} {:>9.3} {:>9.3} {:>22.1}",
        row.messages,
        row.messages_per_second,
        ms(row.wake_up.p50_us),
        ms(row.wake_up.p99_us),
        ms(row.wake_up.max_us),
        row.server_cpu_us_per_request
    );
}

fn open_loop_targets(plan: &Plan, row: &OpenLoopRow) -> Vec<Target> {
    let (p50, p99) = (ms(row.wake_up.p50_us), ms(row.wake_up.p99_us));
    vec![Target {
        what: format!(
            "open-loop wake-up, {:.0} messages/s, {} readers parked (sqlite, durable)",
            row.messages_per_second, row.parked
        ),
        goal: "p50 < 1 ms, p99 < 5 ms (at 1,000 messages/s, 10,000 parked)".into(),
        measured: format!("p50 {p50:.3} ms, p99 {p99:.3} ms"),
        met: p50 < 1.0 && p99 < 5.0 && plan.open_transfers >= 1_000 && plan.readers >= 10_000,
    }]
}

fn print_wormhole(
    plan: &Plan,
    peer: &Peer,
    cycles: &[(String, Vec<ShareCycleRow>)],
    trips: &[(String, Vec<RoundTripRow>)],
) {
    println!("\n4. The magic-wormhole mailbox server (WebSocket, SQLite file), same workloads");
    println!(
        "{:<40} {:>12} {:>12} {:>9}",
        "round trip, p50 / p99 ms", "wormhole", "tigress", "ratio"
    );
    for (sessions, latency) in &peer.round_trips {
        if let Some(ours) = our_round_trip(trips, *sessions) {
            println!(
                "{:<40} {:>5.2} / {:<5.2} {:>5.2} / {:<5.2} {:>8.1}×",
                format!("{sessions} concurrent, {} rounds", plan.rounds),
                ms(latency.p50_us),
                ms(latency.p99_us),
                ms(ours.p50_us),
                ms(ours.p99_us),
                latency.p50_us as f64 / ours.p50_us.max(1) as f64
            );
        }
    }
    let ours = our_session_rate(cycles, peer.concurrency);
    println!(
        "{:<40} {:>12.1} {:>12.1} {:>8.1}×",
        format!("sessions/s at concurrency {}", peer.concurrency),
        peer.sessions.per_second,
        ours,
        ours / peer.sessions.per_second.max(0.001)
    );
}

/// Our sqlite round trip at `transfers`.
fn our_round_trip(
    trips: &[(String, Vec<RoundTripRow>)],
    transfers: usize,
) -> Option<&tigress_bench::Latency> {
    trips
        .iter()
        .find(|(name, _)| name == Setup::Sqlite.name())
        .and_then(|(_, rows)| rows.iter().find(|row| row.transfers == transfers))
        .map(|row| &row.wake_up)
}

/// Our sessions (share cycles) per second, durable relay, at `concurrency`.
fn our_session_rate(cycles: &[(String, Vec<ShareCycleRow>)], concurrency: usize) -> f64 {
    cycles
        .iter()
        .find(|(name, _)| name == Setup::Sqlite.name())
        .and_then(|(_, rows)| rows.iter().find(|row| row.concurrency == concurrency))
        .map_or(0.0, |row| row.requests_per_second / 4.0)
}

/// One target of the performance brief, and how this run did.
struct Target {
    what: String,
    goal: String,
    measured: String,
    met: bool,
}

impl Target {
    fn to_json(&self) -> Value {
        json!({"target": self.what, "goal": self.goal, "measured": self.measured, "met": self.met})
    }
}

fn best_rate(rows: &[ShareCycleRow]) -> f64 {
    rows.iter().map(|row| row.requests_per_second).fold(0.0, f64::max)
}

fn targets(
    plan: &Plan,
    cycles: &[(String, Vec<ShareCycleRow>)],
    trips: &[(String, Vec<RoundTripRow>)],
    idle: &Idle,
    peer: Option<&Peer>,
) -> Vec<Target> {
    let mut targets = Vec::new();
    let rate = |name: &str| {
        cycles.iter().find(|(n, _)| n == name).map_or(0.0, |(_, rows)| best_rate(rows))
    };
    let (ceiling, durable, no_sync) = (
        rate("ceiling (minimal server)"),
        rate(Setup::Sqlite.name()),
        rate(Setup::SqliteNoSync.name()),
    );
    let fraction = durable / ceiling.max(1.0);
    targets.push(Target {
        what: "share-cycle rate vs the minimal-server ceiling (best of each)".into(),
        goal: "≥ 40%".into(),
        measured: format!("{:.0}% ({durable:.0} of {ceiling:.0} req/s)", fraction * 100.0),
        met: fraction >= 0.40,
    });
    let cost = 1.0 - durable / no_sync.max(1.0);
    targets.push(Target {
        what: "durable commits vs synchronous=OFF (best of each)".into(),
        goal: "cost ≤ 30%".into(),
        measured: format!("{:.0}% ({durable:.0} vs {no_sync:.0} req/s)", cost * 100.0),
        met: cost <= 0.30,
    });
    if let Some(row) = trips
        .iter()
        .find(|(name, _)| name == Setup::Sqlite.name())
        .and_then(|(_, rows)| rows.iter().find(|row| row.transfers == 100))
    {
        let (p50, p99) = (ms(row.wake_up.p50_us), ms(row.wake_up.p99_us));
        targets.push(Target {
            what: "round-trip wake-up at 100 transfers (sqlite)".into(),
            goal: "p50 < 1 ms, p99 < 5 ms".into(),
            measured: format!("p50 {p50:.3} ms, p99 {p99:.3} ms"),
            met: p50 < 1.0 && p99 < 5.0,
        });
    }
    targets.push(Target {
        what: format!("relay memory with {} live mailboxes", idle.mailboxes),
        goal: "< 150 MB (at 1,000,000)".into(),
        measured: format!("{:.1} MB", mb(idle.filled_rss)),
        met: idle.filled_rss < 150_000_000 && plan.mailboxes >= 1_000_000,
    });
    let (h1, h2) = (idle.http1.per_parked_read(), idle.http2.per_parked_read());
    let h2_all = idle.http2.per_transfer();
    targets.push(Target {
        what: format!("resident memory per parked reader, {} readers", idle.readers),
        goal: "≤ 10 KB over HTTP/2 or HTTP/1.1 (at 10,000)".into(),
        measured: format!(
            "HTTP/1.1 {:.1} KB, HTTP/2 {:.1} KB ({:.1} KB with the transfers' store)",
            h1 as f64 / 1e3,
            h2 as f64 / 1e3,
            h2_all as f64 / 1e3
        ),
        met: h1.min(h2) <= 10_000 && plan.readers >= 10_000,
    });
    let kept =
        idle.filled_cycle.requests_per_second / idle.empty_cycle.requests_per_second.max(1.0);
    targets.push(Target {
        what: format!("share-cycle rate with {} live mailboxes vs empty", idle.mailboxes),
        goal: "within 20%".into(),
        measured: format!("{:.0}%", kept * 100.0),
        met: kept >= 0.80 && plan.mailboxes >= 1_000_000,
    });
    if let Some(peer) = peer {
        for (sessions, latency) in &peer.round_trips {
            if let Some(ours) = our_round_trip(trips, *sessions) {
                let ratio = latency.p50_us as f64 / ours.p50_us.max(1) as f64;
                targets.push(Target {
                    what: format!(
                        "round trip vs the wormhole mailbox server, {sessions} concurrent (p50)"
                    ),
                    goal: "≥ 20× faster".into(),
                    measured: format!("{ratio:.1}×"),
                    met: ratio >= 20.0,
                });
            }
        }
        let ratio =
            our_session_rate(cycles, peer.concurrency) / peer.sessions.per_second.max(0.001);
        targets.push(Target {
            what: format!(
                "session rate vs the wormhole mailbox server, concurrency {}",
                peer.concurrency
            ),
            goal: "≥ 50×".into(),
            measured: format!("{ratio:.1}×"),
            met: ratio >= 50.0,
        });
    }
    targets
}

fn per_request_targets(rows: &[PerRequestRow]) -> Vec<Target> {
    let mut targets = Vec::new();
    for row in rows {
        let goal = match row.kind {
            "preview" => 2.0,
            "create" | "claim-read" | "update" => 3.0,
            _ => continue,
        };
        targets.push(Target {
            what: format!("relay CPU per {} vs the ceiling's per request", row.kind),
            goal: format!("≤ {goal:.0}×"),
            measured: format!(
                "{:.1}× ({:.1} vs {:.1} µs)",
                row.cpu_ratio(),
                row.relay.server_cpu_us_per_request,
                row.ceiling.server_cpu_us_per_request
            ),
            met: row.cpu_ratio() <= goal,
        });
    }
    if let Some(create) = rows.iter().find(|row| row.kind == "create") {
        targets.push(Target {
            what: format!(
                "durable creates per second, light generator, {} connections",
                create.relay.connections
            ),
            goal: "≥ 10,000 (at 64 connections)".into(),
            measured: format!("{:.0}", create.relay.requests_per_second),
            met: create.relay.requests_per_second >= 10_000.0 && create.relay.connections >= 64,
        });
    }
    targets
}

fn print_targets(targets: &[Target]) {
    println!("\nTargets (a run smaller than the brief's sizes never counts as met)");
    for target in targets {
        let mark = if target.met { "met " } else { "MISS" };
        println!("  [{mark}] {}: {} — goal {}", target.what, target.measured, target.goal);
    }
}
