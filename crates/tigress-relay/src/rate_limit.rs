//! Per-client and per-mailbox rate limits, held in memory only: never stored, never logged,
//! gone on restart.
//!
//! A refused claim (a read by a device that is not a party of a mailbox another device holds)
//! counts against the client's address and against that mailbox. Only refused claims are ever
//! answered 429 for it: a party reading its own mailbox, and a device binding an unbound one, are
//! never refused because of what others behind the same address (a carrier's CGNAT, a hotel or
//! office NAT) did. A refused claim learns nothing either way (the mailbox is held by another
//! device); the limits tell a prober to stop, and bound the answers it gets.
//!
//! Each limit is a token bucket per client: `per_minute` requests may come at once, and the
//! bucket refills at `per_minute` a minute. A client is known by a keyed digest of its address,
//! not the address itself, so not even a memory dump of the relay lists who used it. IPv6
//! clients are counted per /64, the block one subscriber usually holds, so that walking through
//! the addresses of one's own block does not reset the limit.
//!
//! Creates are also counted per tenant when the operator requires attestation: the id of the
//! trusted key that verified the create's token ([`ClientLimits::tenant_creates`]). That table
//! is keyed only by ids a verification returned, so it never holds more entries than the
//! operator's trusted keys: bounded by construction, whatever the clients send.
//!
//! The table is bounded: at [`MAX_CLIENTS`] it first forgets clients whose bucket has refilled
//! (the same as never having seen them), and when every client is still limited it forgets them
//! all. Under an attack from that many addresses at once the limit fails open rather than
//! refusing clients it has never seen.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::{HeaderName, InvalidHeaderName};

use tigress_proto::MailboxId;

use crate::config::{AbuseLimits, ProxyNetworks};

/// Most clients one limit tracks at a time.
pub const MAX_CLIENTS: usize = 100_000;

/// A client, as a keyed digest of its address (or of its IPv6 /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(u64);

/// A tenant: the id of a trusted attestation key, as [`tigress_attest::Verified`] returned it.
/// Only verified ids are ever made into one, so there are no more than the trusted keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TenantKey(pub String);

/// Makes [`ClientKey`]s with a key chosen at random when the relay starts.
#[derive(Debug, Default)]
pub struct ClientKeys(RandomState);

impl ClientKeys {
    /// The key of a client at `address`; `None` (an address the relay could not learn) is one
    /// client of its own.
    pub fn of(&self, address: Option<IpAddr>) -> ClientKey {
        let octets: [u8; 17] = match address.map(|a| a.to_canonical()) {
            Some(IpAddr::V4(v4)) => {
                let mut octets = [0; 17];
                octets[0] = 4;
                octets[1..5].copy_from_slice(&v4.octets());
                octets
            }
            Some(IpAddr::V6(v6)) => {
                let mut octets = [0; 17];
                octets[0] = 6;
                octets[1..9].copy_from_slice(&v6.octets()[..8]);
                octets
            }
            None => [0; 17],
        };
        ClientKey(self.0.hash_one(octets))
    }
}

/// The relay's per-client limits, and how it tells clients apart.
#[derive(Debug)]
pub struct ClientLimits {
    keys: ClientKeys,
    address_header: Option<HeaderName>,
    trusted_proxies: ProxyNetworks,
    /// Mailbox creations.
    pub creates: RateLimiter,
    /// Mailbox creations per tenant: by the id of the trusted attestation key that verified
    /// the create (at most as many entries as trusted keys).
    pub tenant_creates: RateLimiter<TenantKey>,
    /// Claims refused because another device already claimed the mailbox, per client.
    pub refused_claims: RateLimiter,
    /// The same, per mailbox: however many addresses a prober uses.
    pub refused_claims_per_mailbox: RateLimiter<[u8; 16]>,
    /// Requests that register a push token, per client.
    pub token_registrations: RateLimiter,
}

impl ClientLimits {
    /// The limits of `abuse`; fails when its client address header is not a header name.
    pub fn new(abuse: &AbuseLimits) -> Result<Self, InvalidHeaderName> {
        let address_header = match &abuse.client_address_header {
            Some(name) => Some(HeaderName::try_from(name.as_str())?),
            None => None,
        };
        Ok(Self {
            keys: ClientKeys::default(),
            address_header,
            trusted_proxies: abuse.trusted_proxies.clone(),
            creates: RateLimiter::new(abuse.creates_per_minute),
            tenant_creates: RateLimiter::new(abuse.tenant_creates_per_minute),
            refused_claims: RateLimiter::new(abuse.refused_claims_per_minute),
            refused_claims_per_mailbox: RateLimiter::new(
                abuse.refused_claims_per_mailbox_per_minute,
            ),
            token_registrations: RateLimiter::new(abuse.token_registrations_per_minute),
        })
    }

    /// Counts a claim the store refused on `mailbox`, against `client` and against the mailbox.
    /// `Err` (answered 429) when either had no budget left, with the longer wait.
    pub fn refused_claim(
        &self,
        client: ClientKey,
        mailbox: &MailboxId,
        now: Instant,
    ) -> Result<(), Duration> {
        let by_client = self.refused_claims.take(client, now);
        let on_mailbox = self.refused_claims_per_mailbox.take(*mailbox.as_bytes(), now);
        match (by_client, on_mailbox) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), _) | (_, Err(wait)) => Err(wait),
        }
    }

    /// The client of a request: on a connection from a trusted proxy, the right-most address
    /// of the configured header that is not itself a trusted proxy (what the nearest proxy we do
    /// not run saw); else the connection's peer. Entries to its left were written by the client
    /// or proxies we do not trust, so they never count.
    pub fn client(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> ClientKey {
        let forwarded = match (&self.address_header, peer) {
            (Some(name), Some(peer)) if self.trusted_proxies.contains(peer) => {
                self.forwarded_client(headers, name)
            }
            _ => None,
        };
        self.keys.of(forwarded.or(peer))
    }

    fn forwarded_client(&self, headers: &HeaderMap, name: &HeaderName) -> Option<IpAddr> {
        let standard = name.as_str() == "forwarded";
        let values: Vec<&str> =
            headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        for entry in values.iter().rev().flat_map(|value| value.rsplit(',')) {
            let address = if standard { forwarded_for(entry) } else { Some(entry) };
            match address.and_then(parse_address) {
                Some(address) if self.trusted_proxies.contains(address) => continue,
                Some(address) => return Some(address),
                None => {
                    // Said once: a misconfigured proxy would say it on every request. Never
                    // the value itself: it names a client.
                    static SAID: std::sync::atomic::AtomicBool =
                        std::sync::atomic::AtomicBool::new(false);
                    if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                        tracing::warn!(
                            header = name.as_str(),
                            "a trusted proxy sent a client address that does not parse; \
                             counting the proxy's address instead (said once)"
                        );
                    }
                    return None;
                }
            }
        }
        None
    }
}

/// The `for=` parameter of one element of a `Forwarded` header (RFC 7239).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"'))
    })
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or
/// `[2001:db8::1]:4711`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(address) = text.parse() {
        return Some(address);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// One limit: `per_minute` events per key (a client, a mailbox), in bursts of up to
/// `per_minute`.
#[derive(Debug)]
pub struct RateLimiter<K = ClientKey> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl<K: Eq + std::hash::Hash> RateLimiter<K> {
    /// A limit of `per_minute` events a minute per key; 0 turns it off.
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Counts one event of `client` at `now`. `Err` carries how long until the next event would
    /// be allowed; a refused event is not counted.
    pub fn take(&self, client: K, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            self.forget_refilled(&mut buckets, now);
        }
        let capacity = f64::from(self.per_minute);
        let bucket = buckets.entry(client).or_insert(Bucket { tokens: capacity, updated: now });
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.time_to_one(bucket.tokens))
        }
    }

    /// Whether `client` has nothing left at `now`, and if so for how long; counts nothing.
    pub fn exhausted(&self, client: K, now: Instant) -> Option<Duration> {
        if self.per_minute == 0 {
            return None;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.get_mut(&client)?;
        self.refill(bucket, now);
        (bucket.tokens < 1.0).then(|| self.time_to_one(bucket.tokens))
    }

    /// How many clients the limit is tracking.
    pub fn clients(&self) -> usize {
        self.buckets.lock().map_or(0, |buckets| buckets.len())
    }

    fn per_second(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens =
            (bucket.tokens + elapsed * self.per_second()).min(f64::from(self.per_minute));
        bucket.updated = bucket.updated.max(now);
    }

    fn time_to_one(&self, tokens: f64) -> Duration {
        Duration::from_secs_f64(((1.0 - tokens) / self.per_second()).max(0.0))
    }

    fn forget_refilled(&self, buckets: &mut HashMap<K, Bucket>, now: Instant) {
        let capacity = f64::from(self.per_minute);
        buckets.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens + elapsed * self.per_second() < capacity
        });
        if buckets.len() >= MAX_CLIENTS {
            tracing::warn!(
                clients = buckets.len(),
                "rate-limit table full; forgetting every client"
            );
            buckets.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn key(keys: &ClientKeys, address: &str) -> ClientKey {
        keys.of(Some(address.parse().unwrap()))
    }

    #[test]
    fn a_burst_of_the_limit_passes_then_the_next_waits_for_the_refill() {
        let (keys, limit, start) = (ClientKeys::default(), RateLimiter::new(6), Instant::now());
        let client = key(&keys, "192.0.2.1");
        for _ in 0..6 {
            assert_eq!(limit.take(client, start), Ok(()));
        }
        let wait = limit.take(client, start).unwrap_err();
        // Six a minute: one every ten seconds.
        assert!((9.9..=10.0).contains(&wait.as_secs_f64()), "{wait:?}");
        assert_eq!(limit.exhausted(client, start), Some(wait));
        assert!(limit.take(client, start + Duration::from_secs(9)).is_err());
        assert_eq!(limit.take(client, start + Duration::from_secs(10)), Ok(()));
        assert!(limit.exhausted(client, start + Duration::from_secs(10)).is_some());
    }

    #[test]
    fn clients_are_limited_apart_and_ipv6_per_64() {
        let (keys, limit, now) = (ClientKeys::default(), RateLimiter::new(1), Instant::now());
        assert!(limit.take(key(&keys, "192.0.2.1"), now).is_ok());
        assert!(limit.take(key(&keys, "192.0.2.1"), now).is_err());
        assert!(limit.take(key(&keys, "192.0.2.2"), now).is_ok());
        assert!(limit.take(key(&keys, "2001:db8:1:2::1"), now).is_ok());
        assert!(limit.take(key(&keys, "2001:db8:1:2:ffff::9"), now).is_err(), "same /64");
        assert!(limit.take(key(&keys, "2001:db8:1:3::1"), now).is_ok());
        // An IPv4 client seen through an IPv6 socket is the same client.
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 2).to_ipv6_mapped());
        assert!(limit.take(keys.of(Some(mapped)), now).is_err());
        assert_ne!(keys.of(None), keys.of(Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))));
    }

    #[test]
    fn a_trusted_proxy_header_names_the_client_and_its_last_entry_counts() {
        let abuse = AbuseLimits {
            client_address_header: Some("X-Forwarded-For".into()),
            trusted_proxies: "10.0.0.0/8".parse().unwrap(),
            ..AbuseLimits::default()
        };
        let limits = ClientLimits::new(&abuse).unwrap();
        let proxy = Some("10.0.0.1".parse().unwrap());
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        let forwarded = limits.client(&headers, proxy);
        assert_eq!(forwarded, limits.keys.of(Some("198.51.100.7".parse().unwrap())));
        // Missing or garbled: the peer, i.e. the proxy itself.
        assert_eq!(limits.client(&HeaderMap::new(), proxy), limits.keys.of(proxy));
        headers.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(limits.client(&headers, proxy), limits.keys.of(proxy));
        // Without the setting the header is ignored: clients could write anything in it.
        let direct = ClientLimits::new(&AbuseLimits::default()).unwrap();
        headers.insert("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(direct.client(&headers, proxy), direct.keys.of(proxy));
        let bad = AbuseLimits { client_address_header: Some("bad header".into()), ..abuse };
        assert!(ClientLimits::new(&bad).is_err());
    }

    /// Review finding 4: the header was believed from any peer, and a value with a port or in
    /// the `Forwarded` syntax silently fell back to the proxy's address.
    #[test]
    fn the_header_counts_only_from_trusted_proxies_and_in_every_syntax_they_write() {
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        let networks = "10.0.0.0/8,2001:db8:ffff::/48";
        let limits_with = |header: &str| {
            ClientLimits::new(&AbuseLimits {
                client_address_header: Some(header.into()),
                trusted_proxies: networks.parse().unwrap(),
                ..AbuseLimits::default()
            })
            .unwrap()
        };
        let xff = limits_with("X-Forwarded-For");
        let headers = |name: &'static str, values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(name, value.parse().unwrap());
            }
            headers
        };
        let spoofed = headers("x-forwarded-for", &["198.51.100.7"]);
        // From an address that is not a trusted proxy, the header is whatever the client wrote.
        assert_eq!(xff.client(&spoofed, ip("203.0.113.1")), xff.keys.of(ip("203.0.113.1")));
        assert_eq!(xff.client(&spoofed, ip("10.0.0.1")), xff.keys.of(ip("198.51.100.7")));
        // The right-most entry that is not a trusted proxy counts, over several header lines.
        let chain = headers("x-forwarded-for", &["1.1.1.1, 198.51.100.7", "10.2.2.2, 10.3.3.3"]);
        assert_eq!(xff.client(&chain, ip("10.0.0.1")), xff.keys.of(ip("198.51.100.7")));
        for (value, client) in [
            ("198.51.100.7:4711", "198.51.100.7"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
        ] {
            let written = headers("x-forwarded-for", &[value]);
            assert_eq!(xff.client(&written, ip("10.0.0.1")), xff.keys.of(ip(client)), "{value}");
        }
        let standard = limits_with("Forwarded");
        let written = headers(
            "forwarded",
            &[r#"for=192.0.2.60;proto=https, for="[2001:db8::1]:4711";by=10.0.0.1"#],
        );
        assert_eq!(standard.client(&written, ip("10.0.0.1")), standard.keys.of(ip("2001:db8::1")));
        let through_proxy = headers("forwarded", &["for=192.0.2.60, for=10.9.9.9"]);
        let client = standard.client(&through_proxy, ip("2001:db8:ffff::5"));
        assert_eq!(client, standard.keys.of(ip("192.0.2.60")));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let (keys, limit, now) = (ClientKeys::default(), RateLimiter::new(0), Instant::now());
        for _ in 0..1000 {
            assert!(limit.take(keys.of(None), now).is_ok());
        }
        assert_eq!(limit.clients(), 0);
    }

    #[test]
    fn the_table_stays_bounded() {
        let (keys, limit, now) = (ClientKeys::default(), RateLimiter::new(2), Instant::now());
        let fill = |from: u32, at: Instant| {
            for n in from..from + MAX_CLIENTS as u32 {
                assert!(limit.take(keys.of(Some(IpAddr::V4(Ipv4Addr::from(n)))), at).is_ok());
            }
        };
        fill(0, now);
        assert_eq!(limit.clients(), MAX_CLIENTS);
        // A minute later every bucket has refilled: those clients are forgotten first.
        let later = now + Duration::from_secs(60);
        limit.take(keys.of(None), later).unwrap();
        assert_eq!(limit.clients(), 1);
        // When every tracked client is still limited, the table is emptied rather than grown.
        fill(1 << 24, later);
        limit.take(keys.of(Some("2001:db8::1".parse().unwrap())), later).unwrap();
        assert!(limit.clients() <= MAX_CLIENTS, "{}", limit.clients());
    }

    /// The per-mailbox table is bounded the same way under a flood of distinct mailboxes, and
    /// what it holds at its largest is a few megabytes: at most `MAX_CLIENTS` entries of a
    /// 16-byte key and a bucket, in a table of at most twice that many slots.
    #[test]
    fn the_mailbox_table_stays_bounded_and_small() {
        let (limit, now) = (RateLimiter::<[u8; 16]>::new(1), Instant::now());
        for n in 0..(MAX_CLIENTS as u128 + 50_000) {
            let _ = limit.take(n.to_le_bytes(), now);
        }
        assert!(limit.clients() <= MAX_CLIENTS, "{}", limit.clients());
        let capacity = limit.buckets.lock().unwrap().capacity();
        let entry = std::mem::size_of::<([u8; 16], Bucket)>() + 1; // + hashbrown's control byte
        let bytes = capacity * entry;
        assert!(bytes < 8 << 20, "{bytes} bytes for {capacity} slots");
        println!("per-mailbox limiter at its largest: {capacity} slots, {bytes} bytes");
    }
}
