//! Integration tests of the relay over real sockets: one binary, one module per area.

mod abuse;
mod api;
mod app_links;
mod attestation;
mod binding;
mod browser;
mod claim_key;
mod compat;
mod conformance;
mod descriptor;
mod events;
mod idempotency;
mod input;
mod messages;
mod metrics;
mod openapi;
mod path_segment;
mod preview;
mod privacy;
mod push;
mod receivers;
#[cfg(feature = "redis")]
mod redis_failover;
#[cfg(feature = "redis")]
mod redis_outage;
#[cfg(feature = "redis")]
mod redis_relay;
#[cfg(feature = "redis")]
mod redis_replica_acks;
#[cfg(feature = "redis")]
mod redis_resharding;
mod review;
mod state_rules;
mod store_contract;
mod support;
mod tls;
