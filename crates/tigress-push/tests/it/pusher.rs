//! The Pusher: retries, outcomes, supported types, configuration, garbage input.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use tigress_push::{
    APNS, ApnsConfig, ConfigError, Delivery, FCM, FcmConfig, Provider, PushConfig, PushError,
    Pusher, RetryPolicy, WEB_PUSH, WebPushConfig,
};

use crate::support::{fast_retry, p256_key, rsa_key};

/// A provider that answers from a script, repeating the last answer, and counts its calls.
struct Scripted {
    answers: Mutex<VecDeque<Result<(), PushError>>>,
    calls: AtomicU32,
}

impl Scripted {
    fn new(answers: &[Result<(), PushError>]) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.iter().cloned().collect()),
            calls: AtomicU32::new(0),
        })
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Provider for Scripted {
    fn token_type(&self) -> &'static str {
        "test.scripted"
    }

    async fn send(&self, _token_data: &str, _topic: Option<&str>) -> Result<(), PushError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock().unwrap();
        if answers.len() > 1 { answers.pop_front().unwrap() } else { answers[0].clone() }
    }
}

fn transient() -> Result<(), PushError> {
    Err(PushError::Transient("provider outage".into()))
}

async fn run(provider: &Arc<Scripted>, retry: RetryPolicy) -> Delivery {
    let pusher = Pusher::new(vec![provider.clone()], retry);
    pusher.notify("test.scripted", "token").await.unwrap()
}

#[tokio::test]
async fn a_transient_failure_is_tried_exactly_attempts_times() {
    let provider = Scripted::new(&[transient()]);
    let delivery = run(&provider, fast_retry(4)).await;
    assert_eq!(delivery, Delivery::Failed(PushError::Transient("provider outage".into())));
    assert_eq!(provider.calls(), 4);
}

#[tokio::test]
async fn zero_attempts_still_tries_once() {
    let provider = Scripted::new(&[transient()]);
    assert!(matches!(run(&provider, fast_retry(0)).await, Delivery::Failed(_)));
    assert_eq!(provider.calls(), 1);
}

#[tokio::test]
async fn a_transient_failure_then_success_is_delivered() {
    let provider = Scripted::new(&[transient(), transient(), Ok(())]);
    assert_eq!(run(&provider, fast_retry(4)).await, Delivery::Delivered);
    assert_eq!(provider.calls(), 3);
}

#[tokio::test]
async fn gone_is_reported_without_retrying() {
    let provider = Scripted::new(&[Err(PushError::Gone)]);
    assert_eq!(run(&provider, fast_retry(4)).await, Delivery::Gone);
    assert_eq!(provider.calls(), 1);
}

#[tokio::test]
async fn rejected_is_reported_without_retrying() {
    let provider = Scripted::new(&[Err(PushError::Rejected("bad token".into()))]);
    let delivery = run(&provider, fast_retry(4)).await;
    assert_eq!(delivery, Delivery::Failed(PushError::Rejected("bad token".into())));
    assert_eq!(provider.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn back_off_doubles_and_stops_at_the_cap() {
    let provider = Scripted::new(&[transient()]);
    let retry = RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(250),
    };
    let started = tokio::time::Instant::now();
    run(&provider, retry).await;
    // 100 ms, then 200 ms, then 400 ms capped to 250 ms; the clock is virtual.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(550) && waited < Duration::from_millis(600),
        "{waited:?}"
    );
}

#[tokio::test]
async fn an_unknown_token_type_is_unsupported() {
    let provider = Scripted::new(&[Ok(())]);
    let pusher = Pusher::new(vec![provider.clone()], fast_retry(1));
    assert_eq!(pusher.notify("com.example.unknown", "token").await.unwrap(), Delivery::Unsupported);
    assert_eq!(pusher.notify(APNS, "00ff").await.unwrap(), Delivery::Unsupported);
    assert_eq!(provider.calls(), 0);
}

fn apns_config(base_url: &str) -> ApnsConfig {
    ApnsConfig {
        base_url: base_url.into(),
        team_id: "TEAM123456".into(),
        key_id: "KEY7654321".into(),
        private_key_pem: p256_key().1,
        topic: "com.example.wallet".into(),
        topics: Vec::new(),
    }
}

fn fcm_config(base_url: &str) -> FcmConfig {
    FcmConfig {
        base_url: base_url.into(),
        token_url: format!("{base_url}/token"),
        project_id: "tigress-test".into(),
        client_email: "push@tigress-test.example".into(),
        private_key_pem: rsa_key().1.clone(),
    }
}

fn web_push_config() -> WebPushConfig {
    WebPushConfig {
        vapid_private_key_pem: p256_key().1,
        subject: "https://relay.example/contact".into(),
        danger_allow_insecure_endpoints: false,
    }
}

#[tokio::test]
async fn supports_exactly_the_configured_providers() {
    let none = Pusher::from_config(&PushConfig::default()).unwrap();
    assert!(!none.supports(APNS) && !none.supports(FCM) && !none.supports(WEB_PUSH));

    let web_only = Pusher::from_config(&PushConfig {
        web_push: Some(web_push_config()),
        ..Default::default()
    })
    .unwrap();
    assert!(web_only.supports(WEB_PUSH));
    assert!(!web_only.supports(APNS) && !web_only.supports(FCM));

    let all = Pusher::from_config(&PushConfig {
        apns: Some(apns_config(ApnsConfig::PRODUCTION_URL)),
        fcm: Some(fcm_config(FcmConfig::DEFAULT_BASE_URL)),
        web_push: Some(web_push_config()),
    })
    .unwrap();
    assert!(all.supports(APNS) && all.supports(FCM) && all.supports(WEB_PUSH));
    assert!(!all.supports("com.example.unknown") && !all.supports(""));
}

#[tokio::test]
async fn notify_survives_garbage_token_data() {
    // Nothing listens on port 1 of the loopback, so whatever gets through validation fails to
    // connect; nothing leaves the machine.
    let dead = "http://127.0.0.1:1";
    let mut insecure = web_push_config();
    insecure.danger_allow_insecure_endpoints = true;
    let providers: Vec<Arc<dyn Provider>> = vec![
        Arc::new(tigress_push::Apns::new(&apns_config(dead)).unwrap()),
        Arc::new(tigress_push::Fcm::new(&fcm_config(dead)).unwrap()),
        Arc::new(tigress_push::WebPush::new(&insecure).unwrap()),
    ];
    let pusher = Pusher::new(providers, fast_retry(2));
    let long = "a".repeat(100_000);
    let garbage = [
        "",
        " ",
        "\0",
        "é☃\u{202e}",
        "{",
        "null",
        "[]",
        r#"{"endpoint": 1, "keys": null}"#,
        r#"{"endpoint": "http://127.0.0.1:1/x", "keys": {"p256dh": "", "auth": ""}}"#,
        "../../etc/passwd",
        "%00%ff",
        &long,
    ];
    for token_type in [APNS, FCM, WEB_PUSH] {
        for token in garbage {
            let delivery = pusher.notify(token_type, token).await.expect("no panic");
            assert!(
                matches!(delivery, Delivery::Failed(_)),
                "{token_type} {token:?}: {delivery:?}"
            );
        }
    }
}

#[test]
fn configuration_fills_defaults_and_refuses_unknown_fields() {
    let pem = "-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----";
    let apns = json!({"team_id": "T", "key_id": "K", "private_key_pem": pem, "topic": "a.b"});
    let config: PushConfig = serde_json::from_value(json!({"apns": apns})).unwrap();
    let parsed = config.apns.as_ref().unwrap();
    assert_eq!(parsed.base_url, ApnsConfig::PRODUCTION_URL);
    assert!(config.fcm.is_none() && config.web_push.is_none());
    assert!(!format!("{config:?}").contains("secret-key-material"), "keys stay out of Debug");

    let mut extra = apns.clone();
    extra["sandbox"] = json!(true);
    assert!(serde_json::from_value::<PushConfig>(json!({"apns": extra})).is_err());
    assert!(serde_json::from_value::<PushConfig>(json!({"smtp": {}})).is_err());

    let web = json!({"vapid_private_key_pem": pem, "subject": "mailto:a@b.example"});
    let config: PushConfig = serde_json::from_value(json!({"web_push": web})).unwrap();
    assert!(!config.web_push.unwrap().danger_allow_insecure_endpoints, "safe by default");

    let fcm = json!({"project_id": "p", "client_email": "a@b.example", "private_key_pem": pem});
    let config: PushConfig = serde_json::from_value(json!({"fcm": fcm})).unwrap();
    let fcm = config.fcm.unwrap();
    assert_eq!(fcm.base_url, FcmConfig::DEFAULT_BASE_URL);
    assert_eq!(fcm.token_url, FcmConfig::DEFAULT_TOKEN_URL);
}

#[test]
fn bad_keys_and_urls_are_configuration_errors() {
    let mut apns = apns_config(ApnsConfig::PRODUCTION_URL);
    apns.private_key_pem = rsa_key().1.clone();
    let error = Pusher::from_config(&PushConfig { apns: Some(apns), ..Default::default() });
    assert!(matches!(error, Err(ConfigError::InvalidKey { provider: APNS, .. })), "{error:?}");

    let mut fcm = fcm_config(FcmConfig::DEFAULT_BASE_URL);
    fcm.private_key_pem = SecretString::from("not a key");
    let error = Pusher::from_config(&PushConfig { fcm: Some(fcm), ..Default::default() });
    assert!(matches!(error, Err(ConfigError::InvalidKey { provider: FCM, .. })), "{error:?}");

    let plain = apns_config("http://api.push.apple.com");
    let error = Pusher::from_config(&PushConfig { apns: Some(plain), ..Default::default() });
    assert!(matches!(error, Err(ConfigError::InvalidField { field: "base_url", .. })), "{error:?}");

    let mut web = web_push_config();
    web.subject = "someone".into();
    let error = Pusher::from_config(&PushConfig { web_push: Some(web), ..Default::default() });
    assert!(matches!(error, Err(ConfigError::InvalidField { field: "subject", .. })), "{error:?}");
}
