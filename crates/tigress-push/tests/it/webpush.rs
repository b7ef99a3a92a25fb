//! Web Push against a local push service that decrypts like a browser and checks VAPID.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead as _, KeyInit as _};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use rand_core::RngCore as _;
use secrecy::SecretString;
use serde_json::json;
use sha2::Sha256;
use tigress_push::{
    Delivery, Provider, PushError, Pusher, WEB_PUSH, WEB_PUSH_PLAINTEXT, WebPush, WebPushConfig,
};

use crate::support::{Server, fast_retry, keys, p256_key, unix_now, verify_es256};

const SUBJECT: &str = "mailto:push@relay.example";

/// The browser's side of a subscription: its key pair and auth secret.
struct Subscriber {
    key: p256::SecretKey,
    auth: [u8; 16],
}

impl Subscriber {
    fn new() -> Self {
        let mut auth = [0; 16];
        rand_core::OsRng.fill_bytes(&mut auth);
        Self { key: p256::SecretKey::random(&mut rand_core::OsRng), auth }
    }

    /// `PushSubscription.toJSON()` for `endpoint`.
    fn token(&self, endpoint: &str) -> String {
        let p256dh = self.key.public_key().to_encoded_point(false);
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(p256dh),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            },
        })
        .to_string()
    }

    /// Decrypts an `aes128gcm` body as RFC 8291 §3.4 and RFC 8188 §2 describe, step by step.
    fn decrypt(&self, body: &[u8]) -> Vec<u8> {
        assert!(body.len() >= 21, "room for the header");
        let salt = &body[..16];
        let rs = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
        let idlen = body[20] as usize;
        assert_eq!(idlen, 65, "keyid is the sender's uncompressed public key");
        assert!(body.len() >= 21 + idlen);
        let keyid = &body[21..21 + idlen];
        let record = &body[21 + idlen..];
        assert!(record.len() <= rs, "a single record");
        assert!(rs >= 18, "rs is at least 18");

        let as_public = p256::PublicKey::from_sec1_bytes(keyid).expect("a P-256 point");
        let ecdh = p256::ecdh::diffie_hellman(self.key.to_nonzero_scalar(), as_public.as_affine());
        let ua_public = self.key.public_key().to_encoded_point(false);

        // PRK_key = HMAC(auth_secret, ecdh_secret); IKM = HMAC(PRK_key, key_info || 0x01)
        let prk_key = hmac(&self.auth, &[ecdh.raw_secret_bytes().as_slice()]);
        let ikm = hmac(&prk_key, &[b"WebPush: info\0", ua_public.as_bytes(), keyid, &[1]]);
        // PRK = HMAC(salt, IKM); CEK and NONCE are the first bytes of one expand block each.
        let prk = hmac(salt, &[&ikm]);
        let cek = &hmac(&prk, &[b"Content-Encoding: aes128gcm\0", &[1]])[..16];
        let nonce = &hmac(&prk, &[b"Content-Encoding: nonce\0", &[1]])[..12];

        let padded = Aes128Gcm::new_from_slice(cek)
            .unwrap()
            .decrypt(Nonce::from_slice(nonce), record)
            .expect("the tag verifies");
        let end = padded.iter().rposition(|&b| b != 0).expect("a delimiter");
        assert_eq!(padded[end], 2, "the last record's delimiter");
        padded[..end].to_vec()
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn config(pem: SecretString, allow_insecure: bool) -> WebPushConfig {
    WebPushConfig {
        vapid_private_key_pem: pem,
        subject: SUBJECT.into(),
        danger_allow_insecure_endpoints: allow_insecure,
    }
}

/// A pusher allowed to reach the local server, and the VAPID public key.
fn pusher(attempts: u32) -> (Pusher, p256::PublicKey) {
    let (key, pem) = p256_key();
    let web_push = WebPush::new(&config(pem, true)).unwrap();
    (Pusher::new(vec![Arc::new(web_push)], fast_retry(attempts)), key.public_key())
}

#[tokio::test]
async fn delivers_a_push_the_subscriber_decrypts_with_a_valid_vapid_token() {
    let server = Server::scripted(&[(201, "")]).await;
    let (pusher, vapid) = pusher(1);
    let subscriber = Subscriber::new();
    let endpoint = format!("{}/push/v2/subscription-1", server.url);

    let delivery = pusher.notify(WEB_PUSH, &subscriber.token(&endpoint)).await.unwrap();
    assert_eq!(delivery, Delivery::Delivered);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/push/v2/subscription-1");
    assert!(request.header("ttl").parse::<u32>().unwrap() > 0);
    assert_eq!(request.header("urgency"), "high");
    assert_eq!(request.header("content-encoding"), "aes128gcm");

    let plaintext = subscriber.decrypt(&request.body);
    assert_eq!(plaintext, WEB_PUSH_PLAINTEXT.as_bytes());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&plaintext).unwrap(),
        json!({"changed": true})
    );

    // RFC 8292 §3: "vapid t=<JWT>, k=<public key>".
    let credentials = request.header("authorization").strip_prefix("vapid ").expect("vapid scheme");
    let (t, k) = credentials.split_once(", ").expect("t and k");
    let jwt = t.strip_prefix("t=").expect("t= first");
    let k = URL_SAFE_NO_PAD.decode(k.strip_prefix("k=").expect("k= second")).unwrap();
    assert_eq!(k.len(), 65, "an uncompressed point");
    assert_eq!(p256::PublicKey::from_sec1_bytes(&k).unwrap(), vapid, "k is the VAPID key");
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&k).unwrap();
    let (header, claims) = verify_es256(jwt, &verifying);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(keys(&claims), ["aud", "exp", "sub"]);
    assert_eq!(claims["aud"], server.url, "the origin of the endpoint, without its path");
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > unix_now() && exp <= unix_now() + 24 * 3600, "exp within 24 hours");
    assert_eq!(claims["sub"], SUBJECT);
}

#[tokio::test]
async fn answers_404_and_410_mean_the_subscription_is_gone() {
    for status in [404, 410] {
        let server = Server::scripted(&[(status, "")]).await;
        let (pusher, _) = pusher(3);
        let token = Subscriber::new().token(&format!("{}/push/x", server.url));

        assert_eq!(pusher.notify(WEB_PUSH, &token).await.unwrap(), Delivery::Gone, "{status}");
        assert_eq!(server.requests().len(), 1, "no retry");
    }
}

#[tokio::test]
async fn answer_429_is_retried_and_then_delivered() {
    let server = Server::scripted(&[(429, ""), (201, "")]).await;
    let (pusher, _) = pusher(3);
    let token = Subscriber::new().token(&format!("{}/push/x", server.url));

    assert_eq!(pusher.notify(WEB_PUSH, &token).await.unwrap(), Delivery::Delivered);
    assert_eq!(server.requests().len(), 2);
}

/// The SSRF guard refuses, before any connection, endpoints that are not https or whose host is
/// or resolves to a non-public address. Only 127.0.0.1 is ever listened on; the other addresses
/// appear only in URLs that must be refused.
#[tokio::test]
async fn refuses_insecure_and_non_public_endpoints_without_connecting() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_, pem) = p256_key();
    let web_push = WebPush::new(&config(pem, false)).unwrap();
    let subscriber = Subscriber::new();

    let endpoints = [
        format!("https://127.0.0.1:{port}/push/x"),
        format!("http://127.0.0.1:{port}/push/x"),
        format!("https://localhost:{port}/push/x"),
        format!("https://[::1]:{port}/push/x"),
        format!("https://[::ffff:127.0.0.1]:{port}/push/x"),
        format!("https://0.0.0.0:{port}/push/x"),
        format!("https://2130706433:{port}/push/x"),
        format!("https://0x7f.1:{port}/push/x"),
        "http://push.example/push/x".to_owned(),
        "https://10.0.0.1/push/x".to_owned(),
        "https://172.16.5.4/push/x".to_owned(),
        "https://192.168.1.1/push/x".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://100.64.0.1/push/x".to_owned(),
        "https://[fd00::1]/push/x".to_owned(),
        "https://[fe80::1]/push/x".to_owned(),
        "ftp://push.example/x".to_owned(),
    ];
    let started = Instant::now();
    for endpoint in &endpoints {
        let result = web_push.send(&subscriber.token(endpoint), None).await;
        assert!(matches!(result, Err(PushError::Rejected(_))), "{endpoint}: {result:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "refused without trying to connect");

    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "nothing connected to the listener");
}

#[tokio::test]
async fn a_malformed_subscription_is_rejected_without_sending() {
    let server = Server::scripted(&[]).await;
    let (pusher, _) = pusher(3);
    let endpoint = format!("{}/push/x", server.url);
    let no_keys = json!({"endpoint": endpoint}).to_string();
    let short_auth =
        json!({"endpoint": endpoint, "keys": {"p256dh": "BAAA", "auth": "AAAA"}}).to_string();

    for token in ["", "{", "null", &no_keys, &short_auth] {
        let delivery = pusher.notify(WEB_PUSH, token).await.unwrap();
        assert!(matches!(delivery, Delivery::Failed(PushError::Rejected(_))), "{token:?}");
    }
    assert!(server.requests().is_empty());
}
