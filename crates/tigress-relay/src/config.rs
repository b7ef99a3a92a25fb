//! The relay's typed configuration, built once by the binary and passed down by value.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use tigress_rules::Limits;

use crate::clock::Clock;
pub use crate::routes::{MailboxSegment, MailboxSegmentError};

/// Everything the relay needs to run.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Address of a second, plain-HTTP listener that serves `GET /metrics` (Prometheus,
    /// OpenMetrics text) and nothing else; none by default. Bind it to an address only the
    /// monitoring system reaches.
    pub metrics_listen: Option<SocketAddr>,
    /// Where mailboxes are kept.
    pub store: StoreConfig,
    /// On the Redis Cluster store, how many replicas must hold each write before the relay
    /// answers it (`WAIT`); 0, the default, answers once the master has it. See
    /// `docs/OPERATIONS.md`, "What a failover can lose".
    pub redis_replica_acks: u32,
    /// Directory of the embedded SQLite store.
    pub data_dir: PathBuf,
    /// Public base URL used in `urlLink` and the preview's `og:url`, e.g.
    /// `https://relay.example`. Derived from the listen address when `None`.
    pub public_url: Option<String>,
    /// The path segment of the mailboxes, `/v1/{segment}/{id}`: `m` by default, another for
    /// clients built with another path (docs/API.md, "The mailbox path").
    pub mailbox_segment: MailboxSegment,
    /// Certificate chain and private key (PEM) to serve TLS with.
    pub tls: Option<TlsFiles>,
    /// Serve plain HTTP on a non-loopback address, because a TLS-terminating proxy sits in front.
    pub insecure_plain_http: bool,
    /// Request and field limits.
    pub limits: Limits,
    /// Limits on how much one client, and everyone together, may take of the relay.
    pub abuse: AbuseLimits,
    /// What a create must prove about the sender's device.
    pub attestation: AttestationPolicy,
    /// Where the key of the stored claim digests comes from.
    pub claim_key: ClaimKeyConfig,
    /// The apps a share link opens (`/.well-known/…`); none by default.
    pub app_links: crate::app_links::AppLinks,
    /// How often expired mailboxes are erased.
    pub sweep_interval: Duration,
    /// Whether commits wait for the disk. Only benchmarks turn this off.
    pub durability: Durability,
    /// Push providers to wake the other party after an update; none by default.
    pub push: tigress_push::PushConfig,
    /// Endpoints of the owners' backends that hear of mailboxes' lives; none by default.
    pub events: tigress_webhooks::EventsConfig,
    /// The time the relay goes by: the system clock, or in tests one they move.
    pub clock: Clock,
}

impl RelayConfig {
    /// A configuration with safe defaults, listening on `listen` and storing under `data_dir`.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            metrics_listen: None,
            store: StoreConfig::Sqlite,
            redis_replica_acks: 0,
            data_dir: data_dir.into(),
            public_url: None,
            mailbox_segment: MailboxSegment::default(),
            tls: None,
            insecure_plain_http: false,
            limits: Limits::default(),
            abuse: AbuseLimits::default(),
            attestation: AttestationPolicy::None,
            claim_key: ClaimKeyConfig::Default,
            app_links: crate::app_links::AppLinks::default(),
            sweep_interval: Duration::from_secs(60),
            durability: Durability::Full,
            push: tigress_push::PushConfig::default(),
            events: tigress_webhooks::EventsConfig::default(),
            clock: Clock::system(),
        }
    }
}

/// Where the key of the stored claim digests comes from (docs/SECURITY.md): claims are stored
/// as HMAC-SHA-256 digests under a key kept outside the store, so that a copy of the store
/// cannot test a guessed claim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ClaimKeyConfig {
    /// On SQLite, `claim-key` in the data directory, made on first start (readable by the
    /// relay's user only). On a Redis Cluster, none, with a warning: every relay of the cluster
    /// must hold the same key, so it has to be given.
    #[default]
    Default,
    /// This file, which must exist: 64 hex digits (`openssl rand -hex 32 > FILE`). Several
    /// relays of one Redis Cluster are given the same.
    File(PathBuf),
    /// Plain SHA-256 digests, as relays stored before keys.
    Off,
}

/// The mailbox store a relay uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StoreConfig {
    /// A Redis Cluster reached through any of these `host:port` nodes, shared by every relay
    /// that names it (Cargo feature `redis`). Written `redis-cluster://host:port[,host:port…]`.
    RedisCluster {
        /// Seed nodes; the others are discovered.
        nodes: Vec<String>,
    },
    /// The embedded SQLite store in `data_dir`, for a single relay. Written `sqlite`.
    #[default]
    Sqlite,
}

/// A store choice that is neither `sqlite` nor `redis-cluster://host:port[,host:port…]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown store {0:?}: expected sqlite or redis-cluster://host:port[,host:port...]")]
pub struct StoreConfigError(String);

impl FromStr for StoreConfig {
    type Err = StoreConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "sqlite" {
            return Ok(Self::Sqlite);
        }
        let invalid = || StoreConfigError(text.to_owned());
        let nodes = text.strip_prefix("redis-cluster://").ok_or_else(invalid)?;
        let nodes: Vec<String> = nodes.split(',').map(str::to_owned).collect();
        let well_formed = |node: &String| {
            node.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok()
            })
        };
        if !nodes.iter().all(well_formed) {
            return Err(invalid());
        }
        Ok(Self::RedisCluster { nodes })
    }
}

impl fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RedisCluster { nodes } => write!(f, "redis-cluster://{}", nodes.join(",")),
            Self::Sqlite => f.write_str("sqlite"),
        }
    }
}

/// PEM files for TLS.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How commits reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a success response means the change is on disk. The default.
    Full,
    /// `synchronous=OFF`: for measuring what durability costs; a crash may lose recent changes.
    DangerOff,
}

/// The operator's policy for `Mailbox-Device-Attestation` on CreateMailbox.
#[derive(Clone, Debug, Default)]
pub enum AttestationPolicy {
    /// The header is ignored, as the drafts allow. The default.
    #[default]
    None,
    /// Every create must carry a fresh token bound to it and signed by one of these device
    /// makers' keys, asserting user presence ([`tigress_attest`]); otherwise 401.
    Verify(Arc<tigress_attest::TrustedKeys>),
}

/// Limits against abuse. Rates are per client address (see [`crate::rate_limit`]) and held in
/// memory only; over a rate the relay answers 429 with `Retry-After`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbuseLimits {
    /// Mailboxes one client may create a minute (in a burst of as many); 0: no limit.
    pub creates_per_minute: u32,
    /// Mailboxes the devices of one tenant may create a minute (in a burst of as many), under
    /// [`AttestationPolicy::Verify`]: a tenant is the trusted key that verified the create's
    /// attestation, so a device maker's fleet is limited as a fleet, whatever its addresses.
    /// Counted per relay process, in memory. Without attestation it has no effect. 0 (the
    /// default): no limit.
    pub tenant_creates_per_minute: u32,
    /// Refused claims on mailboxes another device already claimed, per client a minute; once
    /// over, that client's refused claims are answered 429 instead of 401 until the limit
    /// refills. Its reads of mailboxes it is a party of, and binds, are never refused for it.
    /// 0: no limit.
    pub refused_claims_per_minute: u32,
    /// The same per mailbox, whatever the addresses the claims come from. 0: no limit.
    pub refused_claims_per_mailbox_per_minute: u32,
    /// Requests that register a push token (create, read or update with `notificationToken`),
    /// per client a minute: each token names where the relay will send pushes. 0: no limit.
    pub token_registrations_per_minute: u32,
    /// Most mailboxes the SQLite store holds (live ones, and expired ones until the next
    /// sweep); a create beyond is answered 503. `None`: no cap. The Redis Cluster store is
    /// bounded by its own `maxmemory` instead, which the relay also answers with 503.
    pub max_mailboxes: Option<u64>,
    /// A request header that carries the client's address, set by a trusted reverse proxy in
    /// front of the relay (`X-Forwarded-For`, or `Forwarded` with its `for=` syntax). It is read
    /// only on connections from [`AbuseLimits::trusted_proxies`], and the right-most entry that
    /// is not itself a trusted proxy is the client. Without it the relay uses the connection's
    /// peer address.
    pub client_address_header: Option<String>,
    /// The networks of the reverse proxies whose client address header is believed; loopback
    /// by default.
    pub trusted_proxies: ProxyNetworks,
}

/// A list of networks (`192.0.2.0/24`, `2001:db8::/32`, or a single address), written
/// comma-separated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyNetworks(Vec<(IpAddr, u8)>);

impl ProxyNetworks {
    /// Loopback: a proxy on the relay's own host.
    pub fn loopback() -> Self {
        "127.0.0.0/8,::1/128".parse().expect("valid networks")
    }

    /// Whether `address` lies in one of the networks (an IPv4 address seen through an IPv6
    /// socket counts as the IPv4 address).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|&(network, prefix)| match (network, address) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                prefix == 0 || (u32::from(n) ^ u32::from(a)) >> (32 - u32::from(prefix)) == 0
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                prefix == 0 || (u128::from(n) ^ u128::from(a)) >> (128 - u32::from(prefix)) == 0
            }
            _ => false,
        })
    }
}

impl Default for ProxyNetworks {
    fn default() -> Self {
        Self::loopback()
    }
}

impl FromStr for ProxyNetworks {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let networks = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (address, prefix) = part.split_once('/').unwrap_or((part, ""));
                let address: IpAddr = address
                    .parse()
                    .map_err(|_| format!("{part:?} is not an address or network"))?;
                let longest = if address.is_ipv4() { 32 } else { 128 };
                let prefix = match prefix {
                    "" => longest,
                    digits => digits
                        .parse::<u8>()
                        .ok()
                        .filter(|p| *p <= longest)
                        .ok_or_else(|| format!("{part:?} has a bad prefix length"))?,
                };
                Ok((address.to_canonical(), prefix))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self(networks))
    }
}

impl fmt::Display for ProxyNetworks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.0.iter().map(|(address, prefix)| format!("{address}/{prefix}")).collect();
        f.write_str(&parts.join(","))
    }
}

impl Default for AbuseLimits {
    fn default() -> Self {
        Self {
            creates_per_minute: 60,
            tenant_creates_per_minute: 0,
            refused_claims_per_minute: 30,
            refused_claims_per_mailbox_per_minute: 10,
            token_registrations_per_minute: 30,
            max_mailboxes: Some(1_000_000),
            client_address_header: None,
            trusted_proxies: ProxyNetworks::loopback(),
        }
    }
}

impl AbuseLimits {
    /// No limit at all: for benchmarks that drive the relay from one address.
    pub fn off() -> Self {
        Self {
            creates_per_minute: 0,
            tenant_creates_per_minute: 0,
            refused_claims_per_minute: 0,
            refused_claims_per_mailbox_per_minute: 0,
            token_registrations_per_minute: 0,
            max_mailboxes: None,
            client_address_header: None,
            trusted_proxies: ProxyNetworks::loopback(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_choices_parse_and_display() {
        for text in ["sqlite", "redis-cluster://127.0.0.1:7101", "redis-cluster://a:1,b.example:2"]
        {
            let store: StoreConfig = text.parse().unwrap();
            assert_eq!(store.to_string(), text);
        }
        let cluster: StoreConfig = "redis-cluster://10.0.0.1:6379,10.0.0.2:6379".parse().unwrap();
        let nodes = vec!["10.0.0.1:6379".to_owned(), "10.0.0.2:6379".to_owned()];
        assert_eq!(cluster, StoreConfig::RedisCluster { nodes });
    }

    #[test]
    fn proxy_networks_hold_their_addresses_only() {
        let networks: ProxyNetworks = "10.0.0.0/8, 192.0.2.7,2001:db8::/32".parse().unwrap();
        for inside in ["10.1.2.3", "192.0.2.7", "2001:db8:ffff::1", "::ffff:10.9.9.9"] {
            assert!(networks.contains(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "127.0.0.1"] {
            assert!(!networks.contains(outside.parse().unwrap()), "{outside}");
        }
        assert_eq!(networks.to_string(), "10.0.0.0/8,192.0.2.7/32,2001:db8::/32");
        assert_eq!(networks.to_string().parse::<ProxyNetworks>(), Ok(networks));
        for bad in ["10.0.0.0/33", "host/8", "::1/129", "10.0.0.0/x"] {
            assert!(bad.parse::<ProxyNetworks>().is_err(), "{bad}");
        }
        assert!(ProxyNetworks::loopback().contains("::1".parse().unwrap()));
    }

    #[test]
    fn rejects_malformed_store_choices() {
        for text in [
            "",
            "redis",
            "redis-cluster://",
            "redis-cluster://host",
            "redis://h:1",
            "redis-cluster://h:1,",
        ] {
            assert!(text.parse::<StoreConfig>().is_err(), "{text}");
        }
    }
}
