//! `tigress-bench`: runs the relay benchmarks on loopback and prints a table (and JSON).

use clap::{Parser, Subcommand};

/// Benchmarks of the Tigress relay on loopback. Figures to read, not pass/fail.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Example:\n  cargo run --release -p tigress-bench -- round-trip --json round-trip.json\n"
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
        /// Also write the figures as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<std::path::PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let Workload::RoundTrip { transfers, rounds, json } = cli.workload;
    let relay = tigress_bench::BenchRelay::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut rows = Vec::new();
    println!(
        "Update → peer wake-up latency (waiting reads, loopback, durable store), {rounds} rounds per transfer"
    );
    println!(
        "{:>10} {:>9} {:>10} {:>10} {:>10}",
        "transfers", "samples", "p50 ms", "p99 ms", "max ms"
    );
    for count in transfers {
        let row = runtime.block_on(tigress_bench::round_trip(&relay.base, count, rounds))?;
        let ms = |us: u64| us as f64 / 1000.0;
        println!(
            "{:>10} {:>9} {:>10.3} {:>10.3} {:>10.3}",
            row.transfers,
            row.wake_up.samples,
            ms(row.wake_up.p50_us),
            ms(row.wake_up.p99_us),
            ms(row.wake_up.max_us)
        );
        rows.push(row);
    }
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_vec_pretty(&serde_json::json!({"roundTrip": rows}))?)?;
        println!("figures written to {}", path.display());
    }
    Ok(())
}
