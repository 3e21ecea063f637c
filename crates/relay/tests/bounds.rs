//! Issue 12 §2: one patient cannot hide other patients from the clinic
//! (the inbox pages, thread starts are limited per day; that the clinic
//! agent reads every page is tested in crates/clinic/tests), and requests
//! nobody signed in for cannot grow the database (over-long ids refused
//! before anything is stored, expired rows swept).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{HashMap, HashSet};
use ward_proto::ErrorCode;

use reqwest::{Method, StatusCode};
use support::{Account, NONE, Relay};
use ward_proto::ErrorBody;
use ward_proto::auth::{
    CodeLoginStart, CodeLoginStarted, CodeLoginVerify, EnrollStartRequest, EnrollStarted,
    EnrollVerifyRequest, KeyChallenge, KeyChallengeRequest,
};
use ward_proto::passkeys::StartAuthentication;
use ward_proto::threads::{Category, CreateThreadRequest, Thread, ThreadList};

/// Held by every test here. On PostgreSQL an inbox's snapshot is just below
/// the oldest transaction still running on the server (store::threads), and
/// these tests share one server: a thread start or a sweep in flight in
/// another test served the newest threads of the inbox test at that
/// snapshot, in thread-id order (seen once in a full run). As in
/// tests/instances.rs, they must not overlap.
static INBOX_ORDER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `patient` starts a thread without keys (as fast as the API allows).
async fn start_bare(relay: &Relay, patient: &Account) -> Thread {
    relay
        .expect(
            Method::POST,
            "/v1/threads",
            Some(&patient.token),
            Some(&CreateThreadRequest {
                category: Category::Other,
            }),
            StatusCode::CREATED,
        )
        .await
}

#[tokio::test]
async fn inbox_pages_are_complete_without_duplicates_while_messages_arrive() {
    let _order = INBOX_ORDER.lock().await;
    let relay = Relay::start_with(|config| config.max_threads_per_day = 100).await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let mut keys = HashMap::new();
    let mut started = Vec::new();
    for _ in 0..30 {
        let (thread, key) = relay
            .thread_with_key(&sam, clinic.keys.bundle(), Category::Question)
            .await;
        started.push(thread.thread_id.clone());
        keys.insert(thread.thread_id, key);
    }
    let mut sent = 0;

    for (token, who) in [(&clinic.token, "clinic"), (&sam.token, "sam")] {
        // The whole inbox in one page, before anything moves.
        let before: ThreadList = relay.get_ok("/v1/threads?limit=200", Some(token)).await;
        assert_eq!(before.next_cursor, None);
        let before: Vec<String> = before.threads.into_iter().map(|t| t.thread_id).collect();
        if who == "clinic" {
            // Newest activity first: the last started is served first.
            let newest_first: Vec<String> = started.iter().rev().cloned().collect();
            assert_eq!(before, newest_first);
        }

        let mut ids: Vec<String> = Vec::new();
        let mut late = Vec::new();
        let mut path = "/v1/threads?limit=7".to_owned();
        loop {
            let page: ThreadList = relay.get_ok(&path, Some(token)).await;
            assert!(page.threads.len() <= 7);
            ids.extend(page.threads.into_iter().map(|t| t.thread_id));
            let Some(cursor) = page.next_cursor else {
                break;
            };
            // Between pages: a message in a thread not served yet (it
            // jumps to the top), one in a thread already served, and a
            // new thread.
            let unserved = before
                .iter()
                .rev()
                .find(|id| !ids.contains(id) && keys.contains_key(*id))
                .unwrap()
                .clone();
            let served = ids
                .iter()
                .find(|id| keys.contains_key(*id))
                .unwrap()
                .clone();
            for id in [unserved, served] {
                sent += 1;
                relay
                    .send_ok(&sam, &keys[&id], &id, 0, &format!("m{sent}"), "Any news?")
                    .await;
            }
            late.push(start_bare(&relay, &sam).await.thread_id);
            path = format!("/v1/threads?limit=7&cursor={cursor}");
        }
        assert!(late.len() >= 4, "{who}: paged in {} steps", late.len());
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            ids.len(),
            "{who}: a thread was served twice"
        );
        // Every thread there was when paging began, once, in the order of
        // that moment, whatever moved since.
        assert_eq!(ids, before, "{who}");
        // A fresh first page shows what happened meanwhile: the newest
        // thread started first. (On PostgreSQL, once every write that
        // began before it has ended: another test's transaction on the
        // same server can hold the snapshot back for a moment.)
        let mut fresh: ThreadList = relay.get_ok("/v1/threads?limit=3", Some(token)).await;
        for _ in 0..50 {
            if fresh.threads[0].thread_id == *late.last().unwrap() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            fresh = relay.get_ok("/v1/threads?limit=3", Some(token)).await;
        }
        assert_eq!(fresh.threads[0].thread_id, *late.last().unwrap(), "{who}");
        assert!(fresh.next_cursor.is_some());
    }

    // No cursor of the relay's own making: refused with a specific error.
    for bad in ["garbage", "djEuMS4yLnRocl94", "%00", &"A".repeat(300)] {
        relay
            .expect_error(
                Method::GET,
                &format!("/v1/threads?cursor={bad}"),
                Some(&sam.token),
                NONE,
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCursor,
            )
            .await;
    }
    relay
        .expect_error(
            Method::GET,
            "/v1/threads?page=2",
            Some(&sam.token),
            NONE,
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQuery,
        )
        .await;
}

#[tokio::test]
async fn the_daily_thread_limit_holds_under_twenty_parallel_starts() {
    let _order = INBOX_ORDER.lock().await;
    let relay = Relay::start_with(|config| config.max_threads_per_day = 5).await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let starts: Vec<_> = (0..20)
        .map(|_| {
            relay.call(
                Method::POST,
                "/v1/threads",
                Some(&sam.token),
                Some(&CreateThreadRequest {
                    category: Category::Question,
                }),
            )
        })
        .collect();
    let mut created = 0;
    for response in futures_util::future::join_all(starts).await {
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let body: ErrorBody = response.json().await.unwrap();
                assert_eq!(body.error.code, ErrorCode::TooManyThreads);
                assert_eq!(
                    body.error.message,
                    "You have started 5 conversations today. Reply in an existing one, or call the clinic."
                );
            }
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(created, 5);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM threads WHERE created_by = $1")
        .bind(&sam.id)
        .fetch_one(&relay.state.db)
        .await
        .unwrap();
    assert_eq!(stored, 5, "no start beyond the limit left a thread behind");

    // The limit is Sam's: another patient still starts one.
    let ann = relay.patient(&clinic, "ann@example.com").await;
    start_bare(&relay, &ann).await;

    // A day later Sam may start again.
    sqlx::query("UPDATE threads SET created_at = created_at - 86400001 WHERE created_by = $1")
        .bind(&sam.id)
        .execute(&relay.state.db)
        .await
        .unwrap();
    start_bare(&relay, &sam).await;
}

/// How many rows `table` has.
async fn rows(relay: &Relay, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&relay.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_over_long_attacker_id_is_refused_before_anything_is_stored() {
    let _order = INBOX_ORDER.lock().await;
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let long = "x".repeat(10_000);
    let tables = [
        "guess_counts",
        "ceremonies",
        "key_challenges",
        "code_logins",
        "enrollments",
    ];
    let mut counts = Vec::new();
    for table in tables {
        counts.push(rows(&relay, table).await);
    }

    let refused = async |path: &str, body: serde_json::Value| {
        let error = relay
            .expect_error(
                Method::POST,
                path,
                None,
                Some(&body),
                StatusCode::BAD_REQUEST,
                ErrorCode::InputTooLong,
            )
            .await;
        assert!(error.error.message.contains("too long"), "{path}");
    };
    refused(
        "/v1/enroll/verify",
        serde_json::json!({"enrollment_id": long, "code": "123456"}),
    )
    .await;
    refused(
        "/v1/auth/code/verify",
        serde_json::json!({"login_id": long, "code": "123456", "totp": "123456"}),
    )
    .await;
    refused("/v1/auth/code/start", serde_json::json!({"contact": long})).await;
    refused("/v1/enroll/start", serde_json::json!({"invite_code": long})).await;
    refused(
        "/v1/auth/passkey/start",
        serde_json::to_value(StartAuthentication {
            account_id: Some(long.clone()),
        })
        .unwrap(),
    )
    .await;
    refused(
        "/v1/auth/key/challenge",
        serde_json::to_value(KeyChallengeRequest {
            account_id: long.clone(),
        })
        .unwrap(),
    )
    .await;
    refused(
        "/v1/auth/key/login",
        serde_json::json!({"challenge_id": long, "signature": ""}),
    )
    .await;
    // In paths, signed in or not.
    for path in [
        format!("/v1/threads/{long}"),
        format!("/v1/keys/{long}"),
        format!("/v1/blobs/{long}"),
    ] {
        relay
            .expect_error(
                Method::GET,
                &path,
                Some(&clinic.token),
                NONE,
                StatusCode::BAD_REQUEST,
                ErrorCode::InputTooLong,
            )
            .await;
    }

    for (table, before) in tables.into_iter().zip(counts) {
        assert_eq!(rows(&relay, table).await, before, "{table} grew");
    }
    // Ids of the relay's own length still work as before.
    relay
        .expect_error(
            Method::POST,
            "/v1/enroll/verify",
            None,
            Some(&EnrollVerifyRequest {
                enrollment_id: "enr_AAAAAAAAAAAAAAAAAAAAAA".into(),
                code: "123456".into(),
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;
}

#[tokio::test]
async fn the_sweep_deletes_rows_past_their_cutoff_and_keeps_fresh_ones() {
    let _order = INBOX_ORDER.lock().await;
    let relay = Relay::start().await;
    let clinic = relay.clinic().await;
    let sam = relay.patient(&clinic, "sam@example.com").await;
    let t0 = ward_relay::secrets::now_ms();

    // One of each, as requests nobody signed in for leave them.
    let _: serde_json::Value = relay
        .expect(
            Method::POST,
            "/v1/auth/passkey/start",
            None,
            Some(&StartAuthentication { account_id: None }),
            StatusCode::OK,
        )
        .await;
    let _: KeyChallenge = relay
        .expect(
            Method::POST,
            "/v1/auth/key/challenge",
            None,
            Some(&KeyChallengeRequest {
                account_id: clinic.id.clone(),
            }),
            StatusCode::OK,
        )
        .await;
    let login: CodeLoginStarted = relay
        .expect(
            Method::POST,
            "/v1/auth/code/start",
            None,
            Some(&CodeLoginStart {
                contact: "nobody@example.com".into(),
            }),
            StatusCode::OK,
        )
        .await;
    // A wrong guess leaves lockout counters (per sign-in and per address).
    relay
        .expect_error(
            Method::POST,
            "/v1/auth/code/verify",
            None,
            Some(&CodeLoginVerify {
                login_id: login.login_id,
                code: "000000".into(),
                totp: "000000".into(),
            }),
            StatusCode::BAD_REQUEST,
            ErrorCode::CodeNotValid,
        )
        .await;
    let invite = relay.invite(&clinic, "ann@example.com").await;
    let _: EnrollStarted = relay
        .expect(
            Method::POST,
            "/v1/enroll/start",
            None,
            Some(&EnrollStartRequest {
                invite_code: invite,
            }),
            StatusCode::OK,
        )
        .await;
    // Sam signs out: a revoked session.
    let response = relay
        .call(Method::POST, "/v1/auth/logout", Some(&sam.token), NONE)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let tables = [
        "ceremonies",
        "key_challenges",
        "code_logins",
        "enrollments",
        "guess_counts",
        "sessions",
    ];
    let snapshot = async || {
        let mut counts = Vec::new();
        for table in tables {
            counts.push((table, rows(&relay, table).await));
        }
        counts
    };
    let start = snapshot().await;
    for (table, count) in &start {
        assert!(*count > 0, "{table} has a row to sweep");
    }
    let count =
        |counts: &[(&str, i64)], table: &str| counts.iter().find(|(t, _)| *t == table).unwrap().1;
    let sweep = async |at: i64| {
        ward_relay::sweep::expired(&relay.state.db, at)
            .await
            .unwrap()
    };
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;

    // Now: everything is fresh and stays.
    assert_eq!(sweep(t0).await.total(), 0);
    assert_eq!(snapshot().await, start);

    // Six minutes on: the passkey ceremony (5 min) and the key challenge
    // (2 min) are gone; the codes (10 min, kept a day), lockouts and
    // sessions stay.
    let swept = sweep(t0 + 6 * MINUTE).await;
    assert_eq!((swept.ceremonies, swept.key_challenges), (1, 1));
    let now = snapshot().await;
    assert_eq!(count(&now, "ceremonies"), 0);
    assert_eq!(count(&now, "key_challenges"), 0);
    for table in ["code_logins", "enrollments", "guess_counts", "sessions"] {
        assert_eq!(count(&now, table), count(&start, table), "{table}");
    }

    // Two hours on: guess counters whose window ended go.
    sweep(t0 + 2 * HOUR).await;
    let now = snapshot().await;
    assert_eq!(count(&now, "guess_counts"), 0);
    assert_eq!(count(&now, "code_logins"), count(&start, "code_logins"));

    // A day after the codes expired: code sign-ins and enrollments go; a
    // session is kept a week after it ends.
    sweep(t0 + 11 * MINUTE + DAY).await;
    let now = snapshot().await;
    assert_eq!(count(&now, "code_logins"), 0);
    assert_eq!(count(&now, "enrollments"), 0);
    assert_eq!(count(&now, "sessions"), count(&start, "sessions"));

    // A week after Sam signed out, that session goes; the others (ended
    // at their 12-hour expiry) a week after that.
    let swept = sweep(t0 + 7 * DAY + MINUTE).await;
    assert_eq!(swept.sessions, 1, "only the revoked one");
    sweep(t0 + 12 * HOUR + 7 * DAY + MINUTE).await;
    assert_eq!(rows(&relay, "sessions").await, 0);

    // A fresh row beside an old one stays.
    let mut challenges = Vec::new();
    for _ in 0..2 {
        let challenge: KeyChallenge = relay
            .expect(
                Method::POST,
                "/v1/auth/key/challenge",
                None,
                Some(&KeyChallengeRequest {
                    account_id: clinic.id.clone(),
                }),
                StatusCode::OK,
            )
            .await;
        challenges.push(challenge.challenge_id);
    }
    sqlx::query(
        "UPDATE key_challenges SET expires_at = expires_at - 3600000 WHERE challenge_id = $1",
    )
    .bind(&challenges[0])
    .execute(&relay.state.db)
    .await
    .unwrap();
    sweep(ward_relay::secrets::now_ms()).await;
    let left: Vec<String> = sqlx::query_scalar("SELECT challenge_id FROM key_challenges")
        .fetch_all(&relay.state.db)
        .await
        .unwrap();
    assert_eq!(left, [challenges[1].clone()]);
}
