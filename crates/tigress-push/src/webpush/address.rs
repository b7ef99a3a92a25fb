//! Which addresses a Web Push endpoint may reach: public unicast only.
//!
//! A subscription's endpoint is client input. Without this check anyone could make the relay send
//! POST requests to its own loopback, its private network or a cloud metadata service.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` may be the address of a public push service.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network" (RFC 791), 0.0.0.0 included
        || a == 10 // private (RFC 1918)
        || a == 127 // loopback
        || (a == 100 && b & 0xc0 == 0x40) // shared address space (RFC 6598), 100.64.0.0/10
        || (a == 169 && b == 254) // link-local, cloud metadata services
        || (a == 172 && b & 0xf0 == 0x10) // private (RFC 1918), 172.16.0.0/12
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (RFC 6890)
        || (a == 192 && b == 0 && c == 2) // documentation (RFC 5737)
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (RFC 7526)
        || (a == 192 && b == 168) // private (RFC 1918)
        || (a == 198 && b & 0xfe == 18) // benchmarking (RFC 2544), 198.18.0.0/15
        || (a == 198 && b == 51 && c == 100) // documentation (RFC 5737)
        || (a == 203 && b == 0 && c == 113) // documentation (RFC 5737)
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses reach an IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    // Only global unicast (2000::/3) can be public. That leaves out the unspecified address,
    // loopback, unique local (fc00::/7), link-local (fe80::/10), multicast and the rest.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    // 2001::/23 holds IETF protocol assignments, 2001:db8::/32 is for documentation.
    let special = (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8))
        || s[0] == 0x2002 // 6to4, which reaches an embedded IPv4 address
        || (s[0] == 0x3fff && s[1] < 0x1000); // documentation, 3fff::/20
    !special
}

/// A resolver that fails for a name with any non-public address.
///
/// It runs when the connection is made, so a name that resolved to a public address for the
/// first check and to a private one now (DNS rebinding) is still refused.
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            // Port 0: the connector puts in the URL's port.
            let addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if addrs.is_empty() || addrs.iter().any(|addr| !is_public(addr.ip())) {
                return Err(Box::new(NotPublic) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A Web Push endpoint resolved to an address that is not public.
#[derive(Debug, thiserror::Error)]
#[error("the endpoint resolves to an address that is not public")]
pub(crate) struct NotPublic;

/// Whether `error` or one of its sources is [`NotPublic`].
pub(crate) fn is_not_public(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<NotPublic>() {
            return true;
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(ip: &str) -> bool {
        is_public(ip.parse().unwrap())
    }

    #[test]
    fn public_unicast_addresses_are_allowed() {
        for ip in ["8.8.8.8", "17.253.144.10", "142.250.74.46", "2a00:1450:4001:82a::200a"] {
            assert!(public(ip), "{ip}");
        }
        assert!(public("::ffff:8.8.8.8"), "IPv4-mapped public address");
        assert!(public("64:ff9b::808:808"), "NAT64 of a public address");
    }

    #[test]
    fn non_public_ipv4_addresses_are_refused() {
        let refused = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
        ];
        for ip in refused {
            assert!(!public(ip), "{ip}");
        }
        assert!(public("100.128.0.1") && public("172.32.0.1") && public("198.20.0.1"));
    }

    #[test]
    fn non_public_ipv6_addresses_are_refused() {
        let refused = [
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::a00:1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:a00:1::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ];
        for ip in refused {
            assert!(!public(ip), "{ip}");
        }
    }

    #[test]
    fn finds_not_public_among_the_sources() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] NotPublic);
        assert!(is_not_public(&Outer(NotPublic)));
        assert!(!is_not_public(&std::io::Error::other("x")));
    }
}
