//! Log events name the provider and the outcome, never token data, endpoints or credentials.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tigress_push::{APNS, Apns, ApnsConfig, Delivery, Pusher, WEB_PUSH, WebPush, WebPushConfig};
use tracing_subscriber::fmt::MakeWriter;

use crate::support::{Server, fast_retry, p256_key};

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The subscriber is global (a scoped one misses events whose callsites other tests' threads saw
/// first), so the logs of tests running alongside are checked too.
#[tokio::test]
async fn logs_carry_no_token_data_endpoint_or_credentials() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("tigress_push=trace")
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");

    let server = Server::scripted(&[
        (503, r#"{"reason":"ServiceUnavailable"}"#),
        (410, r#"{"reason":"Unregistered"}"#),
        (503, ""),
        (201, ""),
    ])
    .await;
    let apns = Apns::new(&ApnsConfig {
        base_url: server.url.clone(),
        team_id: "TEAM123456".into(),
        key_id: "KEY7654321".into(),
        private_key_pem: p256_key().1,
        topic: "com.example.wallet".into(),
        topics: Vec::new(),
    })
    .unwrap();
    let web_push = WebPush::new(&WebPushConfig {
        vapid_private_key_pem: p256_key().1,
        subject: "mailto:push@relay.example".into(),
        danger_allow_insecure_endpoints: true,
    })
    .unwrap();
    let pusher = Pusher::new(vec![Arc::new(apns), Arc::new(web_push)], fast_retry(3));

    let device = "feedfacecafebeef0123456789abcdef";
    assert_eq!(pusher.notify(APNS, device).await.unwrap(), Delivery::Gone);
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let p256dh = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false),
    );
    let endpoint_path = "/push/capability-7f3a9c";
    let subscription = json!({
        "endpoint": format!("{}{endpoint_path}", server.url),
        "keys": {"p256dh": p256dh, "auth": "c2VjcmV0LWF1dGgtdmFsdQ"},
    })
    .to_string();
    assert_eq!(pusher.notify(WEB_PUSH, &subscription).await.unwrap(), Delivery::Delivered);
    // A transport failure, whose error reqwest would print with the URL.
    let unreachable = subscription.replace(&server.url, "http://127.0.0.1:1");
    assert!(matches!(pusher.notify(WEB_PUSH, &unreachable).await.unwrap(), Delivery::Failed(_)));

    let logs = captured.text();
    assert!(logs.contains("com.apple.apns") && logs.contains("org.w3.webpush"), "{logs}");
    assert!(logs.contains("push token is gone") && logs.contains("retrying"), "{logs}");
    for secret in [device, "capability-7f3a9c", "127.0.0.1", &p256dh, "c2VjcmV0", "bearer", "vapid"]
    {
        assert!(!logs.contains(secret), "{secret:?} logged:\n{logs}");
    }
}
