//! Abuse limits over real HTTP: creates per client, refused claims per client, and the cap on
//! the mailboxes the store holds.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tigress_relay::AbuseLimits;
use tigress_relay::store::MailboxStore;
use tigress_relay::store::sqlite::SqliteStore;

use crate::support::{CLAIM_HEADER, Reply, TestRelay, create_body, mailbox_path, new_uuid};

/// A relay behind a (pretend) proxy that names each client in `X-Forwarded-For`, so one test
/// process can be several clients.
async fn relay_with(abuse: AbuseLimits) -> TestRelay {
    let abuse = AbuseLimits { client_address_header: Some("X-Forwarded-For".into()), ..abuse };
    TestRelay::start_with(|config| config.abuse = abuse).await
}

async fn create_from(relay: &TestRelay, client: &str) -> reqwest::Response {
    relay
        .http
        .post(relay.url("/v1/m"))
        .header(CLAIM_HEADER, new_uuid())
        .header("X-Forwarded-For", client)
        .json(&create_body())
        .send()
        .await
        .expect("request sent")
}

async fn read_from(relay: &TestRelay, path: &str, claim: &str, client: &str) -> reqwest::Response {
    relay
        .http
        .post(relay.url(path))
        .header(CLAIM_HEADER, claim)
        .header("X-Forwarded-For", client)
        .send()
        .await
        .expect("request sent")
}

fn retry_after(response: &reqwest::Response) -> u64 {
    let value = response.headers().get("retry-after").expect("Retry-After is set");
    value.to_str().unwrap().parse().expect("Retry-After is whole seconds")
}

async fn code_of(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.expect("a JSON error body");
    body["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn creates_over_the_rate_are_429_for_that_client_only() {
    let relay = relay_with(AbuseLimits { creates_per_minute: 3, ..AbuseLimits::default() }).await;
    for _ in 0..3 {
        assert_eq!(create_from(&relay, "198.51.100.7").await.status(), StatusCode::OK);
    }
    let refused = create_from(&relay, "198.51.100.7").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    // Three a minute: the next one in about twenty seconds.
    let wait = retry_after(&refused);
    assert!((19..=20).contains(&wait), "Retry-After {wait}");
    assert_eq!(code_of(refused).await, "rate_limited");
    assert_eq!(relay.mailbox_rows(), 3, "a refused create stores nothing");

    // Another client is not held back by the first one's creates.
    assert_eq!(create_from(&relay, "203.0.113.20").await.status(), StatusCode::OK);
    // The last entry of the header counts: a client cannot pick its own address by
    // prepending one (the proxy appends the address it saw).
    let spoofed = create_from(&relay, "192.0.2.99, 198.51.100.7").await;
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_rate_is_per_peer_address_without_a_trusted_header() {
    let relay = TestRelay::start_with(|config| {
        config.abuse = AbuseLimits { creates_per_minute: 1, ..AbuseLimits::default() };
    })
    .await;
    assert_eq!(create_from(&relay, "198.51.100.1").await.status(), StatusCode::OK);
    // Without the setting the header is ignored, so a new value in it is no new client.
    let second = create_from(&relay, "198.51.100.2").await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_client_that_keeps_trying_claims_on_a_bound_mailbox_is_cut_off() {
    let relay =
        relay_with(AbuseLimits { refused_claims_per_minute: 2, ..AbuseLimits::default() }).await;
    let (path, _sender) = relay.create(json!({})).await;
    let receiver = new_uuid();
    let bound = read_from(&relay, &path, &receiver, "203.0.113.5").await;
    assert_eq!(bound.status(), StatusCode::OK);

    let prober = "198.51.100.66";
    for _ in 0..2 {
        let refused = read_from(&relay, &path, &new_uuid(), prober).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(code_of(refused).await, "already_claimed");
    }
    let cut_off = read_from(&relay, &path, &new_uuid(), prober).await;
    assert_eq!(cut_off.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((29..=30).contains(&retry_after(&cut_off)));
    assert_eq!(code_of(cut_off).await, "rate_limited");

    // The bound receiver, elsewhere, reads on; another client still gets the true answer.
    assert_eq!(read_from(&relay, &path, &receiver, "203.0.113.5").await.status(), StatusCode::OK);
    let other = read_from(&relay, &path, &new_uuid(), "192.0.2.1").await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_full_store_answers_503_until_a_mailbox_goes() {
    let abuse = AbuseLimits { max_mailboxes: Some(2), ..AbuseLimits::default() };
    let relay = relay_with(abuse.clone()).await;
    let (first, sender) = relay.create(json!({})).await;
    relay.create(json!({})).await;
    let refused = create_from(&relay, "198.51.100.7").await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after(&refused), 60);
    assert_eq!(code_of(refused).await, "relay_full");
    assert_eq!(relay.mailbox_rows(), 2);

    let deleted = relay.send(Method::DELETE, &first, Some(&sender), None, None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    assert_eq!(create_from(&relay, "198.51.100.7").await.status(), StatusCode::OK);
    assert_eq!(create_from(&relay, "198.51.100.7").await.status(), StatusCode::SERVICE_UNAVAILABLE);

    // The count survives a restart: the store counts its rows when it opens.
    let mut relay = relay;
    let header = Some("X-Forwarded-For".into());
    relay
        .inner
        .restart_with(|c| c.abuse = AbuseLimits { client_address_header: header, ..abuse })
        .await;
    assert_eq!(create_from(&relay, "198.51.100.7").await.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn the_sweep_frees_room_in_a_full_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(
        dir.path(),
        tigress_relay::Durability::DangerOff,
        tigress_relay::Limits::default().log(),
    )
    .unwrap();
    store.set_max_mailboxes(Some(1));
    let now = 1_000_000;
    let mailbox = |expires_at| {
        crate::store_contract::new_mailbox(crate::store_contract::claim().1, "RD", expires_at)
    };
    store.create(mailbox(now + 10), None, now).await.unwrap();
    let full = store.create(mailbox(now + 10), None, now).await;
    assert!(matches!(full, Err(tigress_relay::store::StoreError::Full)), "a second create");
    // Expired but not yet swept: still held, still counted.
    assert!(store.create(mailbox(now + 30), None, now + 20).await.is_err());
    assert_eq!(store.sweep(now + 20).await.unwrap(), 1);
    assert_eq!(store.stored_mailboxes(), 0);
    store.create(mailbox(now + 30), None, now + 20).await.unwrap();
    assert_eq!(store.stored_mailboxes(), 1);
}

/// Review finding 4 and shared addresses: a prober behind a carrier's NAT used to spend the
/// address's refused-claims budget for everyone there, so every read from that address was
/// answered 429, the rightful receivers' and senders' included. Now only refused claims are.
#[tokio::test]
async fn one_prober_behind_a_shared_address_locks_nobody_else_out() {
    let relay =
        relay_with(AbuseLimits { refused_claims_per_minute: 3, ..AbuseLimits::default() }).await;
    let nat = "198.51.100.200";
    // Someone's share, already opened elsewhere, that the prober keeps trying.
    let (probed, _) = relay.create(json!({})).await;
    assert_eq!(
        read_from(&relay, &probed, &new_uuid(), "203.0.113.9").await.status(),
        StatusCode::OK
    );
    let mut refusals = Vec::new();
    for _ in 0..6 {
        refusals.push(read_from(&relay, &probed, &new_uuid(), nat).await.status());
    }
    assert_eq!(refusals[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(refusals[3..], [StatusCode::TOO_MANY_REQUESTS; 3], "{refusals:?}");

    // Twenty other devices behind the same address share and receive as if nothing happened.
    for _ in 0..20 {
        let (path, sender) = relay.create(json!({})).await;
        let receiver = new_uuid();
        let bound = read_from(&relay, &path, &receiver, nat).await;
        assert_eq!(bound.status(), StatusCode::OK, "a receiver behind the NAT could not bind");
        assert_eq!(read_from(&relay, &path, &receiver, nat).await.status(), StatusCode::OK);
        assert_eq!(read_from(&relay, &path, &sender, nat).await.status(), StatusCode::OK);
    }
}

/// A prober that spreads its claims on one mailbox over many addresses is slowed on that
/// mailbox, and only there.
#[tokio::test]
async fn refused_claims_on_one_mailbox_are_limited_whatever_the_addresses() {
    let relay = relay_with(AbuseLimits {
        refused_claims_per_mailbox_per_minute: 3,
        ..AbuseLimits::default()
    })
    .await;
    let (probed, sender) = relay.create(json!({})).await;
    let receiver = new_uuid();
    assert_eq!(read_from(&relay, &probed, &receiver, "203.0.113.9").await.status(), StatusCode::OK);
    let mut statuses = Vec::new();
    for i in 1..=5 {
        let client = format!("192.0.2.{i}");
        statuses.push(read_from(&relay, &probed, &new_uuid(), &client).await.status());
    }
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!((refused, limited), (3, 2), "{statuses:?}");
    // Its parties read on; the same addresses' claims elsewhere get the true answer.
    assert_eq!(read_from(&relay, &probed, &receiver, "192.0.2.1").await.status(), StatusCode::OK);
    assert_eq!(read_from(&relay, &probed, &sender, "192.0.2.2").await.status(), StatusCode::OK);
    let (other, _) = relay.create(json!({})).await;
    assert_eq!(
        read_from(&relay, &other, &new_uuid(), "198.51.100.1").await.status(),
        StatusCode::OK
    );
    let elsewhere = read_from(&relay, &other, &new_uuid(), "192.0.2.1").await;
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
}

/// Review finding 3: every request could register a push token, each naming where the relay
/// would send pushes; one client could register thousands a minute. Now they are counted, and
/// past the limit the token is left out, never the request: everyone behind one address shares
/// the budget, and a party must not be refused its own mailbox because others spent it.
#[tokio::test]
async fn push_token_registrations_are_limited_per_client() {
    let relay =
        relay_with(AbuseLimits { token_registrations_per_minute: 2, ..AbuseLimits::default() })
            .await;
    let token = json!({"type": "com.example.push", "tokenData": "abc"});
    let create_with_token = |client: &'static str| {
        let mut body = create_body();
        body["notificationToken"] = token.clone();
        relay
            .http
            .post(relay.url("/v1/m"))
            .header(CLAIM_HEADER, new_uuid())
            .header("X-Forwarded-For", client)
            .json(&body)
            .send()
    };
    let mut paths = Vec::new();
    for _ in 0..3 {
        let created = create_with_token("198.51.100.9").await.unwrap();
        assert_eq!(created.status(), StatusCode::OK, "the create itself is never refused");
        paths.push(mailbox_path(&Reply::from(created).await));
    }
    let stored_tokens = || {
        let path = relay.inner.dir().join("data/tigress.sqlite3");
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let conn = rusqlite::Connection::open_with_flags(path, flags).unwrap();
        let count = "SELECT count(sender_token_data) + count(receiver_token_data) FROM mailboxes";
        conn.query_row(count, [], |row| row.get::<_, i64>(0)).unwrap()
    };
    assert_eq!(stored_tokens(), 2, "the third token was left out");

    // A receiver behind the same address, its first read carrying its token: it binds.
    let read_with_token = |path: &str, client: &'static str| {
        relay
            .http
            .post(relay.url(path))
            .header(CLAIM_HEADER, new_uuid())
            .header("X-Forwarded-For", client)
            .json(&json!({"notificationToken": token}))
            .send()
    };
    let bound = read_with_token(&paths[0], "198.51.100.9").await.unwrap();
    assert_eq!(bound.status(), StatusCode::OK);
    assert_eq!(stored_tokens(), 2);
    // Another address has its own budget.
    assert_eq!(read_with_token(&paths[1], "198.51.100.10").await.unwrap().status(), StatusCode::OK);
    assert_eq!(stored_tokens(), 3);
}
