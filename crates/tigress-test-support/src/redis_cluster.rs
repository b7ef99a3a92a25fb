//! A Redis Cluster of a test's own, on ports the test names, for tests that stop, kill or
//! reshard nodes without disturbing the shared cluster of [`crate::redis_cluster_url`].
//!
//! It is started by `scripts/redis-cluster` (so it is made exactly like the shared one) in a
//! temporary directory, and driven with `redis-cli`: this crate stays free of a Redis client, and
//! what a test does to the cluster is what an operator would type.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long `MIGRATE` may take to hand one batch of keys to the target node, in milliseconds.
const MIGRATE_TIMEOUT_MS: &str = "5000";

/// A cluster started on `ports`, stopped (and its state removed) on drop.
pub struct RedisCluster {
    ports: Vec<u16>,
    dir: TempDir,
}

impl RedisCluster {
    /// Starts three masters on three ports, or three masters with one replica each on six.
    ///
    /// # Panics
    /// When `ports` has another length, or the script fails (it needs `redis-server` 7: the
    /// message says so, the test fails rather than skips).
    pub fn start(ports: &[u16]) -> Self {
        let replicas = match ports.len() {
            3 => "0",
            6 => "1",
            n => {
                panic!("a test cluster has 3 ports (masters) or 6 (masters and replicas), not {n}")
            }
        };
        let dir = tempfile::tempdir().expect("temporary directory");
        let cluster = Self { ports: ports.to_vec(), dir };
        let output = cluster.script("start", replicas);
        assert!(
            output.status.success(),
            "scripts/redis-cluster start on {ports:?} failed (it needs redis-server 7: apt-get \
             install redis-server): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        cluster
    }

    /// The nodes as `127.0.0.1:PORT`, as the relay's store takes them.
    pub fn nodes(&self) -> Vec<String> {
        self.ports.iter().map(|port| format!("127.0.0.1:{port}")).collect()
    }

    /// `redis-cluster://127.0.0.1:PORT,…`, as `tigress relay --store` takes it.
    pub fn url(&self) -> String {
        format!("redis-cluster://{}", self.nodes().join(","))
    }

    /// The ports the cluster was started on.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The slot of `key`, as the cluster computes it (`CLUSTER KEYSLOT`).
    pub fn slot_of(&self, key: &str) -> u16 {
        let answer = self.cli_any(&["CLUSTER", "KEYSLOT", key]);
        answer.trim().parse().unwrap_or_else(|_| panic!("CLUSTER KEYSLOT answered {answer:?}"))
    }

    /// The port of the master that owns `slot`, as a live node sees it now.
    pub fn master_of(&self, slot: u16) -> u16 {
        self.view()
            .into_iter()
            .find(|node| node.is_live_master() && node.owns(slot))
            .map(|node| node.port)
            .unwrap_or_else(|| panic!("no live master owns slot {slot}: {}", self.nodes_text()))
    }

    /// The ports of the live masters.
    pub fn masters(&self) -> Vec<u16> {
        self.view().into_iter().filter(ClusterNode::is_live_master).map(|node| node.port).collect()
    }

    /// Kills the master of `slot` with SIGKILL (no shutdown, no last write to disk) and returns
    /// its port.
    pub fn kill_master_of(&self, slot: u16) -> u16 {
        let port = self.master_of(slot);
        self.signal(port, "-KILL");
        port
    }

    /// Sends `signal` (`-KILL`, `-STOP`, `-CONT`…) to the node on `port`, by its pid file.
    pub fn signal(&self, port: u16, signal: &str) {
        let pid = std::fs::read_to_string(self.node_dir(port).join("redis.pid"))
            .unwrap_or_else(|e| panic!("the pid file of the node on {port}: {e}"));
        let status = Command::new("kill").arg(signal).arg(pid.trim()).status().expect("kill runs");
        assert!(status.success(), "kill {signal} of the node on {port}");
        if signal == "-KILL" {
            // Its pid may be given to another process; the script's stop must not kill that.
            let _ = std::fs::remove_file(self.node_dir(port).join("redis.pid"));
        }
    }

    /// Starts the node on `port` again after it was killed, and waits (up to `timeout`) until it
    /// is back as a replica in sync with its master: a master failed over rejoins as the replica
    /// of the node promoted in its place.
    pub fn rejoin_as_replica(&self, port: u16, timeout: Duration) {
        let output = self.script_args(&["start-node", &port.to_string()], "0");
        assert!(
            output.status.success(),
            "scripts/redis-cluster start-node {port} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let deadline = Instant::now() + timeout;
        loop {
            let info = String::from_utf8_lossy(&redis_cli(port, &["INFO", "replication"]).stdout)
                .into_owned();
            let has = |line: &str| info.lines().any(|l| l.trim() == line);
            if has("role:slave") && has("master_link_status:up") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the node on {port} was not a replica in sync within {timeout:?}: {info}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the cluster has replaced the master on `old_port`, and returns the port of
    /// the node that now owns its slots.
    ///
    /// Replaced means: a live node flags `old_port` as `fail`, the slots it owned are owned by a
    /// live master, and every live node says `cluster_state:ok`. The last alone proves nothing:
    /// with `cluster-require-full-coverage no` the state stays `ok` while slots have no master.
    ///
    /// # Panics
    /// When that is not so within `timeout`, with the cluster's view of itself.
    pub fn wait_for_failover(&self, old_port: u16, timeout: Duration) -> u16 {
        let slots = self.slots_last_seen_on(old_port);
        assert!(!slots.is_empty(), "the node on {old_port} owned no slots");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(port) = self.replaced(old_port, &slots) {
                return port;
            }
            assert!(
                Instant::now() < deadline,
                "no failover of the master on {old_port} within {timeout:?}; the cluster says:\n{}",
                self.nodes_text()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts moving `slot` from its master to the master on `to_port`: the target imports it,
    /// the source migrates it, and no key has moved yet. Keys then move in the steps the test
    /// chooses ([`SlotMigration::move_keys`], [`SlotMigration::move_batch`]), and
    /// [`SlotMigration::finish`] moves the rest and gives the slot to the target.
    pub fn migrate_slot(&self, slot: u16, to_port: u16) -> SlotMigration<'_> {
        let from = self.master_of(slot);
        assert_ne!(from, to_port, "slot {slot} is already on {to_port}");
        let to_id = self.node_id(to_port);
        let from_id = self.node_id(from);
        let slot_text = slot.to_string();
        // Importing first: a client sent to the target by `ASK` must find it ready.
        self.cli(to_port, &["CLUSTER", "SETSLOT", &slot_text, "IMPORTING", &from_id]);
        self.cli(from, &["CLUSTER", "SETSLOT", &slot_text, "MIGRATING", &to_id]);
        SlotMigration { cluster: self, slot, from, to: to_port }
    }

    /// The keys of `slot` the node on `port` holds (`CLUSTER GETKEYSINSLOT`).
    pub fn keys_in_slot(&self, port: u16, slot: u16) -> Vec<String> {
        let answer = self.cli(port, &["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "100000"]);
        answer.lines().filter(|line| !line.is_empty()).map(str::to_owned).collect()
    }

    /// Runs `redis-cli ARGS…` against the node on `port` and returns its raw answer.
    ///
    /// # Panics
    /// When the command fails or the node answers an error.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        let output = redis_cli(port, args);
        assert!(
            output.status.success(),
            "redis-cli -p {port} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The answer of the first node that answers `args` (some may be dead).
    fn cli_any(&self, args: &[&str]) -> String {
        for &port in &self.ports {
            let output = redis_cli(port, args);
            if output.status.success() {
                return String::from_utf8_lossy(&output.stdout).into_owned();
            }
        }
        panic!("no node of {:?} answers {args:?}", self.ports)
    }

    /// `CLUSTER NODES` as the first node that answers sees it.
    fn nodes_text(&self) -> String {
        self.cli_any(&["CLUSTER", "NODES"])
    }

    fn view(&self) -> Vec<ClusterNode> {
        self.nodes_text().lines().filter_map(ClusterNode::parse).collect()
    }

    fn node_id(&self, port: u16) -> String {
        self.cli(port, &["CLUSTER", "MYID"]).trim().to_owned()
    }

    /// The slots the live nodes last saw `port` own (it may be dead and unable to say).
    fn slots_last_seen_on(&self, port: u16) -> Vec<(u16, u16)> {
        self.view()
            .into_iter()
            .find(|node| node.port == port)
            .map(|node| node.slots)
            .unwrap_or_default()
    }

    /// The live master that now owns all of `slots`, once the failover of `old_port` is over.
    fn replaced(&self, old_port: u16, slots: &[(u16, u16)]) -> Option<u16> {
        let live: Vec<u16> = self.ports.iter().copied().filter(|&p| p != old_port).collect();
        for &port in &live {
            let info =
                String::from_utf8_lossy(&redis_cli(port, &["CLUSTER", "INFO"]).stdout).into_owned();
            if !info.lines().any(|line| line.trim() == "cluster_state:ok") {
                return None;
            }
        }
        let view: Vec<ClusterNode> =
            String::from_utf8_lossy(&redis_cli(live[0], &["CLUSTER", "NODES"]).stdout)
                .lines()
                .filter_map(ClusterNode::parse)
                .collect();
        let failed = view
            .iter()
            .any(|node| node.port == old_port && node.flags.contains(&"fail".to_owned()));
        if !failed {
            return None;
        }
        let owner = |slot: u16| {
            view.iter()
                .find(|node| node.is_live_master() && node.port != old_port && node.owns(slot))
        };
        let new = owner(slots[0].0)?.port;
        let all_moved = slots.iter().all(|&(first, last)| {
            (first..=last).all(|slot| owner(slot).map(|n| n.port) == Some(new))
        });
        all_moved.then_some(new)
    }

    fn node_dir(&self, port: u16) -> PathBuf {
        self.dir.path().join(port.to_string())
    }

    fn script(&self, action: &str, replicas: &str) -> Output {
        self.script_args(&[action], replicas)
    }

    fn script_args(&self, args: &[&str], replicas: &str) -> Output {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/redis-cluster");
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        Command::new(script)
            .args(args)
            .env("TIGRESS_REDIS_PORTS", ports.join(" "))
            .env("TIGRESS_REDIS_DIR", self.dir.path())
            .env("TIGRESS_REDIS_REPLICAS", replicas)
            .output()
            .expect("scripts/redis-cluster runs")
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        // A stopped node would not stop; let it go on first. A killed one has no process left.
        for &port in &self.ports {
            if let Ok(pid) = std::fs::read_to_string(self.node_dir(port).join("redis.pid")) {
                let _ = Command::new("kill").arg("-CONT").arg(pid.trim()).status();
            }
        }
        let _ = self.script("stop", "0");
    }
}

/// One slot on its way from one master to another; see [`RedisCluster::migrate_slot`].
pub struct SlotMigration<'a> {
    cluster: &'a RedisCluster,
    slot: u16,
    from: u16,
    to: u16,
}

impl SlotMigration<'_> {
    /// The slot that moves.
    pub fn slot(&self) -> u16 {
        self.slot
    }

    /// The port of the master the slot leaves.
    pub fn source(&self) -> u16 {
        self.from
    }

    /// The port of the master the slot goes to.
    pub fn target(&self) -> u16 {
        self.to
    }

    /// The keys of the slot still on the source.
    pub fn keys_on_source(&self) -> Vec<String> {
        self.cluster.keys_in_slot(self.from, self.slot)
    }

    /// The keys of the slot already on the target.
    pub fn keys_on_target(&self) -> Vec<String> {
        self.cluster.keys_in_slot(self.to, self.slot)
    }

    /// Moves `keys` (of this slot, in one `MIGRATE`) to the target; keys the source no longer
    /// holds are skipped.
    pub fn move_keys(&self, keys: &[String]) {
        let on_source = self.keys_on_source();
        let keys: Vec<&str> =
            keys.iter().filter(|key| on_source.contains(key)).map(String::as_str).collect();
        if keys.is_empty() {
            return;
        }
        let to = self.to.to_string();
        let mut args = vec!["MIGRATE", "127.0.0.1", &to, "", "0", MIGRATE_TIMEOUT_MS, "KEYS"];
        args.extend(keys);
        let answer = self.cluster.cli(self.from, &args);
        assert_eq!(answer.trim(), "OK", "MIGRATE of slot {} answered {answer:?}", self.slot);
    }

    /// Moves up to `count` of the slot's keys still on the source, as `redis-cli --cluster
    /// reshard` does, and returns how many moved.
    pub fn move_batch(&self, count: usize) -> usize {
        let keys: Vec<String> = self.keys_on_source().into_iter().take(count).collect();
        self.move_keys(&keys);
        keys.len()
    }

    /// Moves the keys left and gives the slot to the target on every master, the target first
    /// (so that it never refuses the slot's commands as not its own).
    pub fn finish(self) {
        while self.move_batch(100) > 0 {}
        let to_id = self.cluster.node_id(self.to);
        let slot = self.slot.to_string();
        let setslot = ["CLUSTER", "SETSLOT", slot.as_str(), "NODE", to_id.as_str()];
        self.cluster.cli(self.to, &setslot);
        self.cluster.cli(self.from, &setslot);
        for port in self.cluster.masters() {
            if port != self.to && port != self.from {
                self.cluster.cli(port, &setslot);
            }
        }
    }
}

/// One line of `CLUSTER NODES`: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch>
/// <link> <slot> <slot>…`.
struct ClusterNode {
    port: u16,
    flags: Vec<String>,
    /// Owned slot ranges, inclusive; migrating/importing markers (`[…]`) are left out.
    slots: Vec<(u16, u16)>,
}

impl ClusterNode {
    fn parse(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let address = fields.get(1)?.split('@').next()?;
        let port = address.rsplit(':').next()?.parse().ok()?;
        let flags = fields.get(2)?.split(',').map(str::to_owned).collect();
        let slots = fields.iter().skip(8).filter(|s| !s.starts_with('[')).filter_map(|range| {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            Some((first.parse().ok()?, last.parse().ok()?))
        });
        Some(Self { port, flags, slots: slots.collect() })
    }

    fn is_live_master(&self) -> bool {
        let has = |flag: &str| self.flags.iter().any(|f| f == flag);
        has("master") && !has("fail") && !has("fail?")
    }

    fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(first, last)| (first..=last).contains(&slot))
    }
}

/// `redis-cli -e` (exit status 1 on an error answer) against 127.0.0.1:`port`.
fn redis_cli(port: u16, args: &[&str]) -> Output {
    Command::new("redis-cli")
        .args(["-e", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs (apt-get install redis-server)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_cluster_nodes_line_with_ranges_and_a_migrating_marker() {
        let line = "07c3 127.0.0.1:7202@17202 myself,master - 0 0 2 connected 0-5 9 [10->-e7d1]";
        let node = ClusterNode::parse(line).unwrap();
        assert_eq!(node.port, 7202);
        assert_eq!(node.slots, [(0, 5), (9, 9)]);
        assert!(node.is_live_master() && node.owns(9) && !node.owns(10));
        let failed =
            ClusterNode::parse("07c3 127.0.0.1:7202@17202 master,fail - 0 0 2 disconnected");
        assert!(!failed.unwrap().is_live_master());
    }
}
