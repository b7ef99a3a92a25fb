//! `tigress relay --health-check`: asks the relay that the same settings describe whether it
//! serves, as a container's health check does (docs/OPERATIONS.md, "The image").
//!
//! The relay is asked on its listen address (loopback when it listens on every interface).
//! With TLS, its certificate is checked as a client would check it, for the public URL's name,
//! trusting the web PKI and the certificates of the relay's own chain file: the relay must
//! present the certificate it was given, not merely some certificate.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use tigress_relay::RelayConfig;

/// Long enough for a relay under load, short of a health check's usual interval.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the relay `config` describes for `GET /healthz`; fails unless it answers 200.
pub async fn check(config: &RelayConfig) -> anyhow::Result<()> {
    let target = local_target(config.listen);
    let base = base_url(config, target)?;
    let mut builder = tigress_client::Client::builder(&base).timeout(TIMEOUT).connect_to(target);
    if let Some(tls) = &config.tls {
        let chain = std::fs::read(&tls.cert).with_context(|| {
            format!("could not read the TLS certificate chain {}", tls.cert.display())
        })?;
        builder = builder.root_certificate_pem(chain);
    }
    let client = builder.build().context("invalid relay settings")?;
    client.health().await.with_context(|| format!("the relay at {target} is not healthy"))?;
    println!("healthy");
    Ok(())
}

/// Where to reach a relay listening on `listen` from this machine: an unspecified address
/// (every interface) is reached on IPv4 loopback, which `[::]` serves too and which a
/// container without IPv6 still has.
fn local_target(listen: SocketAddr) -> SocketAddr {
    let ip =
        if listen.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { listen.ip() };
    SocketAddr::new(ip, listen.port())
}

/// The URL to ask: with TLS, the public URL's host (the name on the certificate) on the listen
/// port; without, the target itself.
fn base_url(config: &RelayConfig, target: SocketAddr) -> anyhow::Result<String> {
    let (Some(_), Some(public)) = (&config.tls, &config.public_url) else {
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        return Ok(format!("{scheme}://{target}"));
    };
    let public = url::Url::parse(public).context("the public URL is not a URL")?;
    let host = public.host().context("the public URL has no host")?;
    let host = match host {
        url::Host::Ipv6(ip) => format!("[{ip}]"),
        host => host.to_string(),
    };
    Ok(format!("https://{host}:{}", target.port()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn config(listen: &str, tls: bool, public_url: Option<&str>) -> RelayConfig {
        let mut config = RelayConfig::new(listen.parse().unwrap(), "./tigress-data");
        config.public_url = public_url.map(str::to_owned);
        config.tls = tls.then(|| tigress_relay::TlsFiles {
            cert: PathBuf::from("/etc/tigress/tls/tls.crt"),
            key: PathBuf::from("/etc/tigress/tls/tls.key"),
        });
        config
    }

    #[test]
    fn every_interface_is_asked_on_loopback() {
        assert_eq!(local_target("0.0.0.0:8443".parse().unwrap()).to_string(), "127.0.0.1:8443");
        assert_eq!(local_target("[::]:8443".parse().unwrap()).to_string(), "127.0.0.1:8443");
        assert_eq!(local_target("[::1]:8443".parse().unwrap()).to_string(), "[::1]:8443");
        assert_eq!(local_target("10.0.0.7:8443".parse().unwrap()).to_string(), "10.0.0.7:8443");
    }

    #[test]
    fn with_tls_the_public_name_is_asked_on_the_listen_port() {
        let config = config("[::]:8443", true, Some("https://relay.example"));
        let target = local_target(config.listen);
        assert_eq!(base_url(&config, target).unwrap(), "https://relay.example:8443");
    }

    #[test]
    fn without_a_public_url_or_tls_the_address_is_asked() {
        let plain = config("127.0.0.1:8080", false, Some("https://relay.example"));
        assert_eq!(base_url(&plain, local_target(plain.listen)).unwrap(), "http://127.0.0.1:8080");
        let tls = config("0.0.0.0:8443", true, None);
        assert_eq!(base_url(&tls, local_target(tls.listen)).unwrap(), "https://127.0.0.1:8443");
    }
}
