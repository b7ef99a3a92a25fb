//! TLS serving with rustls.

use reqwest::StatusCode;
use tigress_relay::TlsFiles;

use crate::support::*;

#[tokio::test]
async fn serves_the_api_over_tls_only() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();

    let relay =
        TestRelay::start_with(|c| c.tls = Some(TlsFiles { cert: cert.clone(), key: key.clone() }))
            .await;
    let base = relay.base();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let https = reqwest::Client::builder().add_root_certificate(root).build().unwrap();
    let created = https
        .post(format!("{base}/v1/m"))
        .header(CLAIM_HEADER, new_uuid())
        .json(&create_body())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let body: serde_json::Value = created.json().await.unwrap();
    assert!(body["urlLink"].as_str().unwrap().starts_with("https://"));

    // An untrusting client refuses the certificate; plain HTTP gets no API answer.
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
    let plain = base.replace("https://", "http://");
    let answer = reqwest::get(format!("{plain}/healthz")).await;
    assert!(
        answer.is_err() || answer.unwrap().status() != StatusCode::OK,
        "plain HTTP served the API"
    );
}

#[tokio::test]
async fn refuses_to_start_with_a_missing_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        tigress_relay::RelayConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    config.tls =
        Some(TlsFiles { cert: dir.path().join("none.pem"), key: dir.path().join("none.key") });
    let error = tigress_relay::start(config).await.err().expect("no certificate, no relay");
    assert!(format!("{error:#}").contains("TLS certificate"), "{error:#}");
}

#[tokio::test]
async fn refuses_plain_http_on_a_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        tigress_relay::RelayConfig::new("0.0.0.0:0".parse().unwrap(), dir.path().join("data"));
    let error = tigress_relay::start(config).await.err().expect("refused");
    assert!(error.to_string().contains("TLS"), "{error}");
}

/// Writes a fresh self-signed certificate for 127.0.0.1 and its key to `cert` and `key`, and
/// returns the certificate for a client to trust.
fn new_certificate(cert: &std::path::Path, key: &std::path::Path) -> reqwest::Certificate {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(cert, certified.cert.pem()).unwrap();
    std::fs::write(key, certified.key_pair.serialize_pem()).unwrap();
    reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap()
}

/// Whether a new connection from a client that trusts only `root` gets a health check through.
async fn trusted_by(base: &str, root: &reqwest::Certificate) -> bool {
    let client = reqwest::Client::builder()
        .add_root_certificate(root.clone())
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success())
}

#[tokio::test]
async fn a_reload_serves_the_renewed_certificate_and_a_broken_one_is_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let old = new_certificate(&cert, &key);
    let relay =
        TestRelay::start_with(|c| c.tls = Some(TlsFiles { cert: cert.clone(), key: key.clone() }))
            .await;
    let base = relay.base();
    let running = relay.relay();
    assert!(trusted_by(&base, &old).await);

    // Renewed on disk: still the old one until reloaded.
    let renewed = new_certificate(&cert, &key);
    assert!(trusted_by(&base, &old).await && !trusted_by(&base, &renewed).await);
    running.reload_tls().await.unwrap();
    assert!(trusted_by(&base, &renewed).await && !trusted_by(&base, &old).await);

    // A key that does not parse: the reload fails and the renewed certificate stays.
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
    let error = running.reload_tls().await.unwrap_err();
    assert!(format!("{error:#}").contains("still serving the previous one"), "{error:#}");
    assert!(trusted_by(&base, &renewed).await);
}
