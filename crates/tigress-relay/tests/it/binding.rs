//! §8 (device claims and binding) and §9 (access rights), row by row, and the first-read race.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

/// What the caller is, relative to the mailbox.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Sender,
    Receiver,
    OtherWhileUnbound,
    OtherWhileBound,
    Missing,
    NotUuid,
}

async fn attempt(
    relay: &TestRelay,
    rights: &str,
    caller: Caller,
    method: Method,
) -> (StatusCode, String) {
    let (path, sender) = relay.create(json!({"accessRights": rights})).await;
    let receiver = new_uuid();
    let bound = !matches!(caller, Caller::OtherWhileUnbound);
    if bound {
        assert_eq!(
            relay.send(Method::POST, &path, Some(&receiver), None, None).await.status,
            StatusCode::OK
        );
    }
    let stranger = new_uuid();
    let claim = match caller {
        Caller::Sender => Some(sender.as_str()),
        Caller::Receiver => Some(receiver.as_str()),
        Caller::OtherWhileUnbound | Caller::OtherWhileBound => Some(stranger.as_str()),
        Caller::Missing => None,
        Caller::NotUuid => Some("not-a-uuid"),
    };
    let update = json!({"payload": payload("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC")});
    let body = (method == Method::PUT).then_some(&update);
    let reply = relay.send(method, &path, claim, Some(&new_uuid()), body).await;
    (reply.status, path)
}

#[tokio::test]
async fn follows_the_binding_table_row_by_row() {
    use Caller::*;
    let relay = TestRelay::start().await;
    let (ok, unauth, bad) = (StatusCode::OK, StatusCode::UNAUTHORIZED, StatusCode::BAD_REQUEST);
    // Rows of §8 with the default rights "RD": Read, Update, Delete, Relinquish.
    let table = [
        (Sender, [ok, ok, ok, unauth]),
        (Receiver, [ok, unauth, ok, ok]),
        (OtherWhileUnbound, [ok, unauth, unauth, unauth]),
        (OtherWhileBound, [unauth, unauth, unauth, unauth]),
        (Missing, [unauth, bad, unauth, unauth]),
        (NotUuid, [unauth, unauth, unauth, unauth]),
    ];
    let methods = [Method::POST, Method::PUT, Method::DELETE, Method::PATCH];
    for (caller, expected) in table {
        for (method, want) in methods.iter().zip(expected) {
            let (got, _) = attempt(&relay, "RD", caller, method.clone()).await;
            assert_eq!(got, want, "{caller:?} {method}");
        }
    }
}

#[tokio::test]
async fn access_rights_restrict_the_receiver_only() {
    use Caller::*;
    let relay = TestRelay::start().await;
    let (ok, unauth) = (StatusCode::OK, StatusCode::UNAUTHORIZED);
    for (rights, receiver_update, receiver_delete) in
        [("RWD", ok, ok), ("rw", ok, unauth), ("DR", unauth, ok), ("R", unauth, unauth)]
    {
        assert_eq!(
            attempt(&relay, rights, Receiver, Method::PUT).await.0,
            receiver_update,
            "{rights} PUT"
        );
        assert_eq!(
            attempt(&relay, rights, Receiver, Method::DELETE).await.0,
            receiver_delete,
            "{rights} DELETE"
        );
        assert_eq!(
            attempt(&relay, rights, Sender, Method::PUT).await.0,
            ok,
            "sender keeps W under {rights}"
        );
        assert_eq!(
            attempt(&relay, rights, Sender, Method::DELETE).await.0,
            ok,
            "sender keeps D under {rights}"
        );
    }
}

#[tokio::test]
async fn a_denied_update_changes_nothing() {
    let relay = TestRelay::start().await;
    let (path, sender) = relay.create(json!({})).await;
    let receiver = new_uuid();
    relay.send(Method::POST, &path, Some(&receiver), None, None).await;
    let update = json!({"payload": payload("DDDD")});
    let reply =
        relay.send(Method::PUT, &path, Some(&receiver), Some(&new_uuid()), Some(&update)).await;
    assert_eq!((reply.status, reply.code().as_str()), (StatusCode::UNAUTHORIZED, "access_denied"));
    let read = relay.send(Method::POST, &path, Some(&sender), None, None).await;
    assert_eq!(read.json()["payload"], create_body()["payload"]);
}

#[tokio::test]
async fn a_second_device_is_told_the_share_is_already_claimed() {
    let relay = TestRelay::start().await;
    let (path, _) = relay.create(json!({})).await;
    relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await;
    let late = relay.send(Method::POST, &path, Some(&new_uuid()), None, None).await;
    assert_eq!((late.status, late.code().as_str()), (StatusCode::UNAUTHORIZED, "already_claimed"));
}

#[tokio::test]
async fn legacy_claim_headers_are_aliases_and_the_canonical_one_wins() {
    let relay = TestRelay::start().await;
    let sender = new_uuid();
    for legacy in ["deviceClaim", "Device-Claim"] {
        let reply = relay
            .http
            .post(relay.url("/v1/m"))
            .header(legacy, &sender)
            .json(&create_body())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK, "{legacy}");
    }
    let (path, sender) = relay.create(json!({})).await;
    let receiver = new_uuid();
    // Canonical says "sender", legacy says someone else: the sender reads without binding anyone.
    let reply = relay
        .http
        .post(relay.url(&path))
        .header("MAilbox-Device-Claim", &sender)
        .header("deviceClaim", &receiver)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let first_reader = relay.send(Method::POST, &path, Some(&receiver), None, None).await;
    assert_eq!(first_reader.status, StatusCode::OK, "no one was bound by the sender's read");
    // Two values of the canonical header are not one claim.
    let twice = relay
        .http
        .post(relay.url(&path))
        .header("Mailbox-Device-Claim", &sender)
        .header("Mailbox-Device-Claim", &receiver)
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_many_concurrent_first_reads_binds() {
    // 117 refused claims from one address, 39 on each mailbox: over the abuse limits, which are
    // not under test here.
    let relay = TestRelay::start_with(|config| {
        config.abuse.refused_claims_per_minute = 0;
        config.abuse.refused_claims_per_mailbox_per_minute = 0;
    })
    .await;
    for _round in 0..3 {
        let (path, _) = relay.create(json!({})).await;
        let claims: Vec<String> = (0..40).map(|_| new_uuid()).collect();
        let tasks = claims.iter().map(|claim| {
            let (http, url, claim) = (relay.http.clone(), relay.url(&path), claim.clone());
            tokio::spawn(async move {
                let status =
                    http.post(url).header(CLAIM_HEADER, &claim).send().await.unwrap().status();
                (claim, status)
            })
        });
        let mut results = HashMap::new();
        for task in tasks.collect::<Vec<_>>() {
            let (claim, status) = task.await.unwrap();
            results.insert(claim, status);
        }
        let winners: Vec<_> =
            results.iter().filter(|(_, s)| **s == StatusCode::OK).map(|(c, _)| c.clone()).collect();
        assert_eq!(winners.len(), 1, "exactly one binder: {results:?}");
        assert!(results.values().all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED));
        // The winner is the receiver from now on; every loser stays out.
        assert_eq!(
            relay.send(Method::POST, &path, Some(&winners[0]), None, None).await.status,
            StatusCode::OK
        );
        for (claim, _) in results.iter().filter(|(c, _)| **c != winners[0]).take(5) {
            assert_eq!(
                relay.send(Method::POST, &path, Some(claim), None, None).await.status,
                StatusCode::UNAUTHORIZED
            );
        }
    }
}
