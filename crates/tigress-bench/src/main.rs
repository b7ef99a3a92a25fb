//! `tigress-bench`: runs the relay benchmarks on loopback and prints a table (and JSON).

use clap::{Parser, Subcommand};
use tigress_bench::{RoundTripRow, Setup};

/// Benchmarks of the Tigress relay on loopback. Figures to read, not pass/fail.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Examples:\n  cargo run --release -p tigress-bench -- round-trip --json round-trip.json\n  \
                  scripts/redis-cluster start\n  \
                  cargo run --release -p tigress-bench -- round-trip --redis \"$(scripts/redis-cluster url)\"\n"
)]
struct Cli {
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Debug, Subcommand)]
enum Workload {
    /// Update → peer wake-up latency through waiting reads, at 1 and 100 concurrent transfers.
    RoundTrip {
        /// Numbers of concurrent transfers to measure, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,100")]
        transfers: Vec<usize>,
        /// Rounds per transfer.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
        /// Also measure the Redis Cluster store (one relay, then two relays with the wake-up
        /// crossing between them), side by side with SQLite:
        /// redis-cluster://host:port[,host:port…].
        #[arg(long, value_name = "URL")]
        redis: Option<tigress_relay::StoreConfig>,
        /// Also write the figures as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<std::path::PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let Workload::RoundTrip { transfers, rounds, redis, json } = cli.workload;
    let mut setups = vec![Setup::Sqlite];
    match redis {
        Some(tigress_relay::StoreConfig::RedisCluster { nodes }) => {
            setups.push(Setup::Redis { nodes: nodes.clone() });
            setups.push(Setup::RedisTwoRelays { nodes });
        }
        Some(tigress_relay::StoreConfig::Sqlite) => {
            anyhow::bail!("--redis takes redis-cluster://…")
        }
        None => {}
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Every setup measures every count; the table puts the setups side by side.
    let mut results: Vec<(Setup, Vec<RoundTripRow>)> = Vec::new();
    for setup in setups {
        let (writer, reader) = setup.start()?;
        let reader_base = reader.as_ref().map_or(&writer.base, |reader| &reader.base).clone();
        let mut rows = Vec::new();
        for &count in &transfers {
            rows.push(runtime.block_on(tigress_bench::round_trip(
                &writer.base,
                &reader_base,
                count,
                rounds,
            ))?);
        }
        results.push((setup, rows));
    }

    println!(
        "Update → peer wake-up latency in ms (waiting reads, loopback, durable store), \
         {rounds} rounds per transfer"
    );
    let mut header = format!("{:>10}", "");
    let mut columns = format!("{:>10}", "transfers");
    for (setup, _) in &results {
        header.push_str(&format!(" | {:^29}", setup.name()));
        columns.push_str(&format!(" | {:>9} {:>9} {:>9}", "p50", "p99", "max"));
    }
    println!("{header}\n{columns}");
    let ms = |us: u64| us as f64 / 1000.0;
    for (index, count) in transfers.iter().enumerate() {
        let mut line = format!("{count:>10}");
        for (_, rows) in &results {
            let latency = &rows[index].wake_up;
            line.push_str(&format!(
                " | {:>9.3} {:>9.3} {:>9.3}",
                ms(latency.p50_us),
                ms(latency.p99_us),
                ms(latency.max_us)
            ));
        }
        println!("{line}");
    }
    if results.len() == 1 {
        println!("(add --redis redis-cluster://host:port,… for the Redis Cluster store)");
    }
    if let Some(path) = json {
        let figures: Vec<_> = results
            .iter()
            .map(|(setup, rows)| serde_json::json!({"store": setup.name(), "rows": rows}))
            .collect();
        let document = serde_json::json!({"roundTrip": figures});
        std::fs::write(&path, serde_json::to_vec_pretty(&document)?)?;
        println!("figures written to {}", path.display());
    }
    Ok(())
}
