//! What the project's tests share, as a dev-dependency: a relay started in the test's own
//! process ([`TestRelay`]), a `tigress relay` child process ([`RelayProcess`]), the Redis
//! Cluster the Redis tests run against ([`redis_cluster_url`]), a Redis Cluster of a test's own to
//! kill and reshard ([`RedisCluster`]), an address nothing answers on ([`DeadAddress`]), and an
//! HTTPS endpoint that receives lifecycle events ([`WebhookReceiver`]).
//!
//! Every listener is bound to port 0 and reports the port the system chose: no test picks a
//! port by binding and releasing it, which races when tests run in parallel.

mod dead_address;
mod process;
mod redis;
mod redis_cluster;
mod relay;
mod webhook_receiver;

pub use dead_address::DeadAddress;
pub use process::{RelayProcess, tigress_binary};
pub use redis::{redis_cluster_nodes, redis_cluster_url};
pub use redis_cluster::{RedisCluster, SlotMigration};
pub use relay::TestRelay;
pub use webhook_receiver::{Received, WebhookReceiver};
