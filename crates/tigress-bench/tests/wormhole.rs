//! The wormhole mailbox baseline measures a real magic-wormhole mailbox server, started by
//! `scripts/wormhole-mailbox` on a port and in a state directory of this test's own, and turns a
//! server's refusal into an error rather than a hang.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tigress_bench::wormhole::{Server, round_trip, session_rate};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_workloads_run_against_a_real_mailbox_server() {
    let server = Server::start().expect("the mailbox server starts");

    let samples = round_trip(&server.url, 2, 5).await.unwrap();
    assert_eq!(samples.len(), 10);
    assert!(samples.iter().all(|sample| !sample.is_zero()), "{samples:?}");

    let rate = session_rate(&server.url, 2, Duration::from_secs(1)).await.unwrap();
    assert!(rate.sessions >= 1, "{rate:?}");
    assert!(rate.seconds >= 1.0 && rate.per_second > 0.0, "{rate:?}");
}

#[tokio::test]
async fn a_refusal_from_the_server_is_an_error() {
    // A stand-in server that welcomes, then refuses every command as a crowded mailbox would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
                socket.send(Message::text(r#"{"type": "welcome", "welcome": {}}"#)).await.unwrap();
                while let Some(Ok(Message::Text(command))) = socket.next().await {
                    let command: serde_json::Value = serde_json::from_str(&command).unwrap();
                    let refusal =
                        serde_json::json!({"type": "error", "error": "crowded", "orig": command});
                    if socket.send(Message::text(refusal.to_string())).await.is_err() {
                        break;
                    }
                }
            });
        }
    });

    let error = round_trip(&url, 1, 1).await.unwrap_err();
    assert!(format!("{error:#}").contains("crowded"), "{error:#}");
}

#[tokio::test]
async fn no_server_is_an_error() {
    let dead = tigress_test_support::DeadAddress::new();
    let url = format!("ws://{}/v1", dead.addr());
    let error = session_rate(&url, 1, Duration::from_secs(1)).await.unwrap_err();
    assert!(format!("{error:#}").contains("connecting"), "{error:#}");
}
