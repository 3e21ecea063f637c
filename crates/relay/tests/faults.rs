//! The relay when its storage fails under it: the database goes away for a
//! moment (PostgreSQL restarted), or the disk under SQLite fills. Requests
//! get a specific error that says whether to retry, nothing stored is lost,
//! and the relay recovers without a restart. (A relay process killed
//! mid-conversation is `crates/clinic/tests/clinic_agent.rs`,
//! `killed_mid_conversation_the_relay_loses_and_repeats_nothing`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::Relay;
use ward_proto::ErrorCode;
use ward_proto::threads::MessagePage;

/// A conversation whose patient has sent five messages (`m0`..`m4`): the
/// patient, the thread and its key.
async fn five_messages_in(
    relay: &Relay,
) -> (
    support::Account,
    ward_proto::threads::Thread,
    ward_seal::thread_key::ThreadKey,
) {
    let (_clinic, patient, thread, key) = relay.conversation().await;
    for n in 0..5 {
        let id = format!("m{n}");
        let sent = relay
            .send(&patient, &key, &thread.thread_id, 0, &id, "before")
            .await;
        assert_eq!(sent.status(), StatusCode::CREATED);
    }
    (patient, thread, key)
}

/// Every connection of the relay's pool, closed by the server as a restart
/// closes them (`pg_terminate_backend`, what PostgreSQL does at shutdown):
/// requests fail as retryable, then work again once the pool reconnects,
/// with no relay restart and nothing lost.
#[tokio::test]
async fn postgresql_restarted_under_load_fails_retryably_then_recovers() {
    if !support::on_postgres() {
        eprintln!("PostgreSQL only: needs WARD_TEST_POSTGRES (cargo xtask test sets it)");
        return;
    }
    let relay = Relay::start().await;
    let (patient, thread, key) = five_messages_in(&relay).await;
    let path = format!("/v1/threads/{}/messages", thread.thread_id);
    let token = Some(patient.token.as_str());

    // Another connection ends every one of the relay's, as a restart does.
    let admin = support::admin_postgres().await;
    let url = relay.database_url.as_ref().unwrap().expose().to_owned();
    let name = url.rsplit("application_name=").next().unwrap().to_owned();
    let ended: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(pg_terminate_backend(pid)) AS BIGINT) FROM pg_stat_activity
         WHERE application_name = $1",
    )
    .bind(&name)
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(ended > 0, "the relay held connections");

    // Under load: each send either lands (the pool tests a connection
    // before lending it, and replaces a dead one) or is refused as
    // retryable, and a retry with the same message id lands once. The
    // mapping itself is unit-tested in `error.rs`.
    let mut refused = 0;
    for n in 5..25 {
        let id = format!("m{n}");
        loop {
            let sent = relay
                .send(&patient, &key, &thread.thread_id, 0, &id, "during")
                .await;
            match sent.status() {
                StatusCode::CREATED | StatusCode::OK => break,
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert!(sent.headers().contains_key("retry-after"));
                    let body: ward_proto::ErrorBody = sent.json().await.unwrap();
                    assert_eq!(body.error.code, ErrorCode::StorageUnavailable);
                    refused += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => panic!("message {n}: {other}, not a retryable refusal"),
            }
        }
    }
    eprintln!("{refused} sends were refused as retryable while the pool reconnected");
    let page: MessagePage = relay
        .get_ok(&format!("{path}?after=0&limit=200"), token)
        .await;
    let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=25).collect::<Vec<u64>>());
}

/// The disk under SQLite fills (the database may not grow past its size
/// now: `max_page_count`): sends are refused with `storage_full`, every
/// message stored before reads back whole, and once there is room again
/// sending works, with no relay restart.
#[tokio::test]
async fn a_full_disk_refuses_sends_cleanly_and_loses_nothing() {
    if support::on_postgres() {
        eprintln!("SQLite only: the relay's PostgreSQL server has its own disk");
        return;
    }
    let relay = Relay::start().await;
    let (patient, thread, key) = five_messages_in(&relay).await;
    let path = format!("/v1/threads/{}/messages", thread.thread_id);
    let token = Some(patient.token.as_str());

    // Every pooled connection is told the file may not grow.
    let db = relay.db().await;
    let set_limit = |pages: &'static str| {
        let db = db.clone();
        async move {
            let mut held = Vec::new();
            for _ in 0..db.options().get_max_connections() {
                let mut conn = db.acquire().await.unwrap();
                sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
                    .execute(&mut *conn)
                    .await
                    .unwrap();
                held.push(conn);
            }
        }
    };
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&db)
        .await
        .unwrap();
    let limit: &'static str = Box::leak(pages.to_string().into_boxed_str());
    set_limit(limit).await;

    // A message of ~100 KB per send fills what free pages remain.
    let big = "x".repeat(100_000);
    let mut full = None;
    for n in 5..200 {
        let sent = relay
            .send(&patient, &key, &thread.thread_id, 0, &format!("m{n}"), &big)
            .await;
        if sent.status() != StatusCode::CREATED {
            full = Some((n, sent));
            break;
        }
    }
    let (first_refused, response) = full.expect("the disk fills");
    assert_eq!(response.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(response.headers().contains_key("retry-after"));
    let body: ward_proto::ErrorBody = response.json().await.unwrap();
    assert_eq!(body.error.code, ErrorCode::StorageFull);
    assert!(
        body.error.message.contains("not saved"),
        "{}",
        body.error.message
    );

    // Nothing stored before is lost; the refused message is not half there.
    let page: MessagePage = relay
        .get_ok(&format!("{path}?after=0&limit=200"), token)
        .await;
    let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    let stored = u64::try_from(first_refused).unwrap();
    assert_eq!(seqs, (1..=stored).collect::<Vec<u64>>());

    // Room again: the same message goes through, once.
    set_limit("1073741823").await;
    let sent = relay
        .send(
            &patient,
            &key,
            &thread.thread_id,
            0,
            &format!("m{first_refused}"),
            &big,
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let page: MessagePage = relay.get_ok(&format!("{path}?after={stored}"), token).await;
    assert_eq!(page.messages.len(), 1);
}
