//! FCM HTTP v1 against a local server playing both Google's token endpoint and FCM.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rsa::traits::PublicKeyParts as _;
use serde_json::json;
use tigress_push::{Delivery, FCM, Fcm, FcmConfig, PushError, Pusher};

use crate::support::{Recorded, Script, Server, fast_retry, keys, rsa_key, unix_now, verify_rs256};

const PROJECT: &str = "tigress-test";
const CLIENT_EMAIL: &str = "push@tigress-test.iam.gserviceaccount.example";
const REGISTRATION: &str = "dQw4w9WgXcQ:APA91bH-test_registration_token";
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const SEND_PATH: &str = "/v1/projects/tigress-test/messages:send";

/// A server whose `/token` grants `access-1`, `access-2`, … (or answers `token_answer` if given)
/// and whose messages:send answers from `sends`.
async fn server(sends: &[(u16, &str)], token_answer: Option<(u16, &str)>) -> Server {
    let sends = Script::new(sends);
    let granted = AtomicU32::new(0);
    let token_answer = token_answer.map(|(s, b)| (s, b.to_owned()));
    Server::start(move |request: &Recorded| {
        if request.path != "/token" {
            return sends.next();
        }
        if let Some(answer) = &token_answer {
            return answer.clone();
        }
        let n = granted.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("access-{n}");
        let grant = json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"});
        (200, grant.to_string())
    })
    .await
}

fn pusher(server: &Server, attempts: u32) -> Pusher {
    let config = FcmConfig {
        base_url: server.url.clone(),
        token_url: format!("{}/token", server.url),
        project_id: PROJECT.into(),
        client_email: CLIENT_EMAIL.into(),
        private_key_pem: rsa_key().1.clone(),
    };
    Pusher::new(vec![Arc::new(Fcm::new(&config).unwrap())], fast_retry(attempts))
}

fn token_requests(server: &Server) -> Vec<Recorded> {
    server.requests().into_iter().filter(|r| r.path == "/token").collect()
}

fn send_requests(server: &Server) -> Vec<Recorded> {
    server.requests().into_iter().filter(|r| r.path != "/token").collect()
}

/// The form fields of a token request, in order.
fn form(request: &Recorded) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body).into_owned().collect()
}

#[tokio::test]
async fn one_signed_assertion_serves_two_content_free_messages() {
    let server = server(&[], None).await;
    let pusher = pusher(&server, 1);

    assert_eq!(pusher.notify(FCM, REGISTRATION).await.unwrap(), Delivery::Delivered);
    assert_eq!(pusher.notify(FCM, REGISTRATION).await.unwrap(), Delivery::Delivered);

    let tokens = token_requests(&server);
    assert_eq!(tokens.len(), 1, "the access token is reused");
    let token = &tokens[0];
    assert_eq!(token.method, "POST");
    assert_eq!(token.header("content-type"), "application/x-www-form-urlencoded");
    let fields = form(token);
    let names: Vec<_> = fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["grant_type", "assertion"]);
    assert_eq!(fields[0].1, "urn:ietf:params:oauth:grant-type:jwt-bearer");

    let public = rsa_key().0.to_public_key();
    assert_eq!(public.size(), 256);
    let (header, claims) = verify_rs256(&fields[1].1, &public);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(keys(&claims), ["aud", "exp", "iat", "iss", "scope"]);
    assert_eq!(claims["iss"], CLIENT_EMAIL);
    assert_eq!(claims["scope"], SCOPE);
    assert_eq!(claims["aud"], format!("{}/token", server.url));
    let iat = claims["iat"].as_i64().unwrap();
    assert!((iat - unix_now()).abs() <= 60, "iat is now");
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600, "Google allows an hour at most");

    let sends = send_requests(&server);
    assert_eq!(sends.len(), 2);
    for send in &sends {
        assert_eq!(send.method, "POST");
        assert_eq!(send.path, SEND_PATH);
        assert_eq!(send.header("authorization"), "Bearer access-1");
        assert_eq!(
            send.json(),
            json!({"message": {"token": REGISTRATION, "data": {}, "android": {"priority": "high"}}}),
            "nothing but the token and a wake-up"
        );
    }
}

#[tokio::test]
async fn answer_404_unregistered_means_the_token_is_gone() {
    let unregistered = r#"{"error": {"code": 404, "message": "Requested entity was not found.",
        "status": "NOT_FOUND", "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": "UNREGISTERED"}]}}"#;
    let server = server(&[(404, unregistered)], None).await;
    let pusher = pusher(&server, 3);

    assert_eq!(pusher.notify(FCM, REGISTRATION).await.unwrap(), Delivery::Gone);
    assert_eq!(send_requests(&server).len(), 1, "no retry");
}

#[tokio::test]
async fn answer_400_invalid_argument_means_the_token_is_gone() {
    let invalid = r#"{"error": {"code": 400, "status": "INVALID_ARGUMENT", "details": [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"}]}}"#;
    let server = server(&[(400, invalid)], None).await;
    let pusher = pusher(&server, 3);

    assert_eq!(pusher.notify(FCM, REGISTRATION).await.unwrap(), Delivery::Gone);
}

#[tokio::test]
async fn answer_500_twice_is_retried_and_then_delivered() {
    let server = server(&[(500, "{}"), (500, "{}")], None).await;
    let pusher = pusher(&server, 3);

    assert_eq!(pusher.notify(FCM, REGISTRATION).await.unwrap(), Delivery::Delivered);
    assert_eq!(send_requests(&server).len(), 3);
    assert_eq!(token_requests(&server).len(), 1);
}

#[tokio::test]
async fn answer_401_renews_the_access_token_once() {
    let unauthenticated = r#"{"error": {"code": 401, "status": "UNAUTHENTICATED"}}"#;
    let server = server(&[(401, unauthenticated)], None).await;
    let pusher = pusher(&server, 1);

    assert_eq!(pusher.notify(FCM, REGISTRATION).await.unwrap(), Delivery::Delivered);

    assert_eq!(token_requests(&server).len(), 2);
    let sends = send_requests(&server);
    let bearers: Vec<_> = sends.iter().map(|s| s.header("authorization")).collect();
    assert_eq!(bearers, ["Bearer access-1", "Bearer access-2"]);
}

#[tokio::test]
async fn a_refused_service_account_is_rejected_without_sending() {
    let server = server(&[], Some((400, r#"{"error": "invalid_grant"}"#))).await;
    let pusher = pusher(&server, 3);

    let delivery = pusher.notify(FCM, REGISTRATION).await.unwrap();
    let expected = "the FCM token endpoint answered 400 invalid_grant";
    assert_eq!(delivery, Delivery::Failed(PushError::Rejected(expected.into())));
    assert_eq!(token_requests(&server).len(), 1);
    assert!(send_requests(&server).is_empty());
}
