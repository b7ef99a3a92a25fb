//! The benchmark runs and reports sane figures (a smoke test, with no time limit).

use std::process::Command;

#[test]
fn the_round_trip_benchmark_reports_both_stores_side_by_side() {
    let Ok(redis) = std::env::var("TIGRESS_TEST_REDIS") else {
        panic!("TIGRESS_TEST_REDIS is not set: run scripts/test, or scripts/redis-cluster start");
    };
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("figures.json");
    let output = Command::new(env!("CARGO_BIN_EXE_tigress-bench"))
        .args(["round-trip", "--transfers", "1,3", "--rounds", "4", "--redis", &redis, "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    for heading in ["p50", "p99", "sqlite", "redis-cluster", "redis-cluster, 2 relays"] {
        assert!(table.contains(heading), "{heading} missing from:\n{table}");
    }
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let setups = figures["roundTrip"].as_array().unwrap();
    let names: Vec<&str> = setups.iter().map(|s| s["store"].as_str().unwrap()).collect();
    assert_eq!(names, ["sqlite", "redis-cluster", "redis-cluster, 2 relays"]);
    for setup in setups {
        let rows = setup["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["wake_up"]["samples"], 4);
        assert_eq!(rows[1]["wake_up"]["samples"], 12);
        for row in rows {
            let (p50, p99) = (
                row["wake_up"]["p50_us"].as_u64().unwrap(),
                row["wake_up"]["p99_us"].as_u64().unwrap(),
            );
            assert!(p50 > 0 && p50 <= p99, "{row}");
        }
    }
}

#[test]
fn percentiles_pick_the_right_samples() {
    use std::time::Duration;
    let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
    let latency = tigress_bench::Latency::of(samples);
    assert_eq!(
        (latency.p50_us, latency.p99_us, latency.max_us, latency.samples),
        (50, 99, 100, 100)
    );
}
