//! Privacy at rest: claims and request ids are stored only as hashes, and deleted or expired
//! content is erased from the data directory, WAL included.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

/// Every byte of every file under `dir`.
fn everything_under(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(everything_under(&path));
        } else {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn claims_and_request_ids_never_reach_the_disk_in_the_clear() {
    let relay = TestRelay::start().await;
    let (sender, receiver) = (new_uuid(), new_uuid());
    let ids: Vec<String> = (0..3).map(|i| format!("request-marker-{i}-{}", new_uuid())).collect();
    let mut body = create_body();
    body["mailboxConfiguration"] = json!({"accessRights": "RWD"});
    let created =
        relay.send(Method::POST, "/v1/m", Some(&sender), Some(&ids[0]), Some(&body)).await;
    assert_eq!(created.status, StatusCode::OK);
    let path = mailbox_path(&created);
    assert_eq!(
        relay.send(Method::POST, &path, Some(&receiver), None, None).await.status,
        StatusCode::OK
    );
    let update = json!({"payload": payload("AAAA")});
    assert_eq!(
        relay.send(Method::PUT, &path, Some(&receiver), Some(&ids[1]), Some(&update)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        relay.send(Method::PATCH, &path, Some(&receiver), Some(&ids[2]), None).await.status,
        StatusCode::OK
    );

    let disk = everything_under(&relay.inner.dir().join("data"));
    assert!(!disk.is_empty());
    for claim in [&sender, &receiver] {
        let raw = uuid::Uuid::parse_str(claim).unwrap();
        assert!(!contains(&disk, claim.as_bytes()), "claim text on disk");
        assert!(!contains(&disk, raw.as_bytes()), "claim bytes on disk");
        assert!(!contains(&disk, claim.to_uppercase().as_bytes()));
    }
    for id in &ids {
        assert!(!contains(&disk, id.as_bytes()), "request id on disk");
    }
    // The check can fail: the stored ciphertext is found the same way.
    assert!(
        contains(&disk, b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") || contains(&disk, b"AAAA")
    );
}

#[tokio::test]
async fn deleted_and_expired_ciphertext_is_erased_from_the_files() {
    let relay = TestRelay::start_with(|c| c.sweep_interval = Duration::from_millis(200)).await;
    let marker = "RGVsZXRlZENpcGhlcnRleHRNYXJrZXIx".repeat(8);
    let expiring = "RXhwaXJlZENpcGhlcnRleHRNYXJrZXIy".repeat(8);
    let sender = new_uuid();
    let mut body = create_body();
    body["payload"]["data"] = json!(marker);
    let created = relay.send(Method::POST, "/v1/m", Some(&sender), None, Some(&body)).await;
    let path = mailbox_path(&created);
    body["payload"]["data"] = json!(expiring);
    let soon = tigress_proto::expiration::format(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
            as i64
            + 1,
    );
    body["mailboxConfiguration"] = json!({"expiration": soon});
    assert_eq!(
        relay.send(Method::POST, "/v1/m", Some(&new_uuid()), None, Some(&body)).await.status,
        StatusCode::OK
    );

    let data = relay.inner.dir().join("data");
    assert!(contains(&everything_under(&data), marker.as_bytes()), "stored before delete");
    assert_eq!(
        relay.send(Method::DELETE, &path, Some(&sender), None, None).await.status,
        StatusCode::OK
    );

    // The sweeper expires the second mailbox and checkpoints the WAL after erasing.
    let mut disk = everything_under(&data);
    for _ in 0..60 {
        if !contains(&disk, marker.as_bytes()) && !contains(&disk, expiring.as_bytes()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        disk = everything_under(&data);
    }
    assert!(
        !contains(&disk, marker.as_bytes()),
        "deleted ciphertext is still in the data directory"
    );
    assert!(
        !contains(&disk, expiring.as_bytes()),
        "expired ciphertext is still in the data directory"
    );
}
