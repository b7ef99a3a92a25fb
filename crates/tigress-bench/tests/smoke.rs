//! The benchmark runs and reports sane figures (a smoke test, with no time limit).

use std::process::Command;

/// A whole run at toy sizes: every section and baseline reports, in the table and in the JSON.
#[test]
fn a_small_run_reports_every_figure_and_baseline() {
    let redis = tigress_test_support::redis_cluster_url();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("figures.json");
    let output = Command::new(env!("CARGO_BIN_EXE_tigress-bench"))
        .args(["--seconds", "0.3", "--concurrency", "1,2", "--transfers", "1,3", "--rounds", "3"])
        .args(["--mailboxes", "300", "--readers", "20", "--open-transfers", "5"])
        .args(["--open-seconds", "2", "--redis", &redis, "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    for heading in [
        "0. Server CPU per request",
        "claim-read",
        "1. Share cycle",
        "ceiling (minimal server)",
        "sqlite, synchronous=OFF",
        "2. Round trip",
        "redis-cluster, 2 relays",
        "2b. Open loop, durable: 5 transfers",
        "3. Idle capacity",
        "with 20 waiting readers, HTTP/1.1",
        "with 20 waiting readers, HTTP/2",
        "with 300 live mailboxes",
        "4. The magic-wormhole mailbox server",
        "sessions/s at concurrency 2",
        "Targets",
    ] {
        assert!(table.contains(heading), "{heading} missing from:\n{table}");
    }

    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let servers: Vec<&str> = figures["shareCycle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["server"].as_str().unwrap())
        .collect();
    assert_eq!(
        servers,
        ["ceiling (minimal server)", "sqlite", "sqlite, synchronous=OFF", "redis-cluster"]
    );
    for server in figures["shareCycle"].as_array().unwrap() {
        for row in server["rows"].as_array().unwrap() {
            assert!(row["cycles"].as_u64().unwrap() > 0, "{row}");
            assert!(row["requests_per_second"].as_f64().unwrap() > 0.0, "{row}");
        }
    }
    let stores: Vec<&str> = figures["roundTrip"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store"].as_str().unwrap())
        .collect();
    assert_eq!(
        stores,
        ["sqlite", "sqlite, synchronous=OFF", "redis-cluster", "redis-cluster, 2 relays"]
    );
    for store in figures["roundTrip"].as_array().unwrap() {
        let rows = store["rows"].as_array().unwrap();
        assert_eq!(rows[0]["wake_up"]["samples"], 3);
        assert_eq!(rows[1]["wake_up"]["samples"], 9);
        for row in rows {
            let (p50, p99) = (
                row["wake_up"]["p50_us"].as_u64().unwrap(),
                row["wake_up"]["p99_us"].as_u64().unwrap(),
            );
            assert!(p50 > 0 && p50 <= p99, "{row}");
        }
    }
    let kinds: Vec<&str> = figures["perRequest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["create", "preview", "claim-read", "update", "delete"]);
    for row in figures["perRequest"].as_array().unwrap() {
        for server in ["ceiling", "relay"] {
            let run = &row[server];
            assert!(run["requests"].as_u64().unwrap() > 0, "{row}");
            assert!(run["server_cpu_us_per_request"].as_f64().unwrap() > 0.0, "{row}");
        }
    }
    let open = &figures["openLoop"];
    assert_eq!(open["messages"], 10, "5 transfers, a message a second, 2 seconds: {open}");
    let p50 = open["wake_up"]["p50_us"].as_u64().unwrap();
    assert!(p50 > 0 && p50 <= open["wake_up"]["p99_us"].as_u64().unwrap(), "{open}");
    let idle = &figures["idle"];
    for transport in ["http1", "http2"] {
        let memory = &idle[transport];
        let empty = memory["emptyRssBytes"].as_u64().unwrap();
        assert!(empty > 1_000_000, "an empty relay of {empty} bytes");
        let (open, parked) = (
            memory["transfersOpenRssBytes"].as_u64().unwrap(),
            memory["parkedRssBytes"].as_u64().unwrap(),
        );
        assert!(open > 0 && parked > 0, "{memory}");
        let per_read = memory["bytesPerParkedRead"].as_u64().unwrap();
        assert!(per_read <= memory["bytesPerTransferFromEmpty"].as_u64().unwrap(), "{memory}");
    }
    assert!(idle["liveMailboxesRssBytes"].as_u64().unwrap() > 0);
    assert_eq!(idle["liveMailboxes"], 300);
    let peer = &figures["wormhole"];
    assert_eq!(peer["roundTrip"].as_array().unwrap().len(), 2, "{peer}");
    assert!(peer["sessionRate"]["sessions"].as_u64().unwrap() > 0, "{peer}");
    // Toy sizes never count as meeting the brief's memory targets.
    let targets = figures["targets"].as_array().unwrap();
    assert!(targets.len() >= 8, "{targets:?}");
    let memory =
        targets.iter().find(|t| t["target"].as_str().unwrap().contains("live mailboxes")).unwrap();
    assert_eq!(memory["met"], false);
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
