//! Two relays on one PostgreSQL database and one blob store, as two
//! instances behind a load balancer: live events reach a client on either,
//! an upload may hop between them, and a client whose instance goes away
//! reconnects to the other and misses nothing. PostgreSQL only (in
//! `cargo xtask test`'s PostgreSQL pass); SQLite is one relay's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use support::events::{connect, next};
use support::{NONE, Relay};
use ward_proto::events::{Event, ReceiptKind, ReceiptRequest};
use ward_proto::threads::MessagePage;

/// Two relays sharing one database and one blob directory (standing in
/// for a shared bucket: the S3 store's own test is `blob_store_s3`).
async fn two_relays() -> Option<(Relay, Relay, tempfile::TempDir)> {
    if !support::on_postgres() {
        eprintln!("PostgreSQL only: needs WARD_TEST_POSTGRES (cargo xtask test sets it)");
        return None;
    }
    let blobs = tempfile::tempdir().unwrap();
    let store = format!("file://{}", blobs.path().display());
    let shared = store.clone();
    let a = Relay::start_with(move |config| config.blob_store = Some(shared)).await;
    let b = a
        .beside(move |config| config.blob_store = Some(store))
        .await;
    Some((a, b, blobs))
}

#[tokio::test]
async fn a_patient_on_one_relay_and_the_clinic_on_another_talk_live() {
    let Some((a, b, _blobs)) = two_relays().await else {
        return;
    };
    let (clinic, patient, thread, key) = a.conversation().await;
    let mut patient_socket = connect(&a, &patient.id, &patient.token).await;
    let mut clinic_socket = connect(&b, &clinic.id, &clinic.token).await;

    // The clinic replies through B: the patient, on A, hears it.
    let response = b
        .send(
            &clinic,
            &key,
            &thread.thread_id,
            0,
            "c1",
            "Your results are in",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for socket in [&mut patient_socket, &mut clinic_socket] {
        match next(socket).await {
            Event::Message { thread_id, message } => {
                assert_eq!(
                    (thread_id.as_str(), message.seq),
                    (thread.thread_id.as_str(), 1)
                );
                assert_eq!(message.sender_id, clinic.id);
            }
            other => panic!("expected the message, got {other:?}"),
        }
    }

    // The patient types and reads through A: the clinic, on B, hears both.
    let path = format!("/v1/threads/{}", thread.thread_id);
    let p = Some(patient.token.as_str());
    let typed = a
        .call(Method::POST, &format!("{path}/typing"), p, NONE)
        .await;
    assert_eq!(typed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        next(&mut clinic_socket).await,
        Event::Typing {
            thread_id: thread.thread_id.clone(),
            account_id: patient.id.clone()
        }
    );
    let read = ReceiptRequest {
        kind: ReceiptKind::Read,
        up_to_seq: 1,
    };
    let receipt = a
        .call(Method::POST, &format!("{path}/receipts"), p, Some(&read))
        .await;
    assert_eq!(receipt.status(), StatusCode::NO_CONTENT);
    match next(&mut clinic_socket).await {
        Event::Receipt {
            account_id,
            kind,
            up_to_seq,
            ..
        } => assert_eq!(
            (account_id, kind, up_to_seq),
            (patient.id.clone(), ReceiptKind::Read, 1)
        ),
        other => panic!("expected the receipt, got {other:?}"),
    }

    // The patient answers through A: the clinic hears it on B, in order.
    for (n, text) in ["Thank you", "What do they say?"].iter().enumerate() {
        let id = format!("p{n}");
        let sent = a
            .send(&patient, &key, &thread.thread_id, 0, &id, text)
            .await;
        assert_eq!(sent.status(), StatusCode::CREATED);
    }
    for seq in [2, 3] {
        match next(&mut clinic_socket).await {
            Event::Message { message, .. } => assert_eq!(message.seq, seq),
            other => panic!("expected message {seq}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_upload_alternating_between_relays_completes() {
    let Some((a, b, _blobs)) = two_relays().await else {
        return;
    };
    let (clinic, patient, _thread, _key) = a.conversation().await;
    let plaintext = support::blobs::plaintext(5 * 1000);
    let (_, encrypted, _) = support::blobs::encrypt(&plaintext);
    let parts = support::blobs::cut(&encrypted, 1000);
    assert!(parts.len() >= 4);
    let upload_id =
        support::blobs::create_upload(&a, &patient, encrypted.len() as u64, parts.len() as u32)
            .await;
    for (index, part) in parts.iter().enumerate() {
        let relay = if index % 2 == 0 { &a } else { &b };
        support::blobs::put_ok(relay, &patient, &upload_id, index, part).await;
    }
    let blob = support::blobs::finalize(&b, &patient.token, &upload_id).await;
    // Either relay serves it whole (the clinic may not see it before a
    // message references it; its owner may).
    for relay in [&a, &b] {
        let downloaded = support::blobs::download(relay, &patient.token, &blob.blob_id).await;
        assert_eq!(downloaded, encrypted);
    }
    let _ = clinic;
}

#[tokio::test]
async fn a_client_whose_relay_stops_reconnects_to_the_other_and_misses_nothing() {
    let Some((mut a, b, _blobs)) = two_relays().await else {
        return;
    };
    let (clinic, patient, thread, key) = a.conversation().await;
    let mut patient_socket = connect(&a, &patient.id, &patient.token).await;
    let first = b
        .send(&clinic, &key, &thread.thread_id, 0, "c0", "first")
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let Event::Message { message, .. } = next(&mut patient_socket).await else {
        panic!("expected the first message");
    };
    let seen = message.seq;

    // A goes away (the patient's socket with it); the clinic keeps writing
    // through B meanwhile.
    a.stop();
    drop(patient_socket);
    for n in 1..=5 {
        let sent = b
            .send(
                &clinic,
                &key,
                &thread.thread_id,
                0,
                &format!("c{n}"),
                "while away",
            )
            .await;
        assert_eq!(sent.status(), StatusCode::CREATED);
    }

    // The patient's app reconnects to B and catches up by cursor, then
    // hears what comes next live.
    let mut patient_socket = connect(&b, &patient.id, &patient.token).await;
    let page: MessagePage = b
        .get_ok(
            &format!("/v1/threads/{}/messages?after={seen}", thread.thread_id),
            Some(&patient.token),
        )
        .await;
    let caught_up: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(caught_up, [2, 3, 4, 5, 6]);
    let last = b
        .send(&clinic, &key, &thread.thread_id, 0, "c6", "live again")
        .await;
    assert_eq!(last.status(), StatusCode::CREATED);
    match next(&mut patient_socket).await {
        Event::Message { message, .. } => assert_eq!(message.seq, 7),
        other => panic!("expected message 7, got {other:?}"),
    }
}

#[tokio::test]
async fn writes_racing_through_both_relays_stay_atomic() {
    use futures_util::future::join_all;
    use ward_proto::Bytes;
    use ward_proto::vault::PutVaultRequest;

    let Some((a, b, _blobs)) = two_relays().await else {
        return;
    };
    let (_clinic, patient, thread, key) = a.conversation().await;
    let relays = [&a, &b];
    let token = Some(patient.token.as_str());

    // Sixteen devices create the first vault at once, half through each
    // relay: exactly one wins, the others are told theirs is stale.
    let vaults: Vec<PutVaultRequest> = (0..16u8)
        .map(|i| PutVaultRequest {
            expected_version: 0,
            vault: Bytes(vec![i; 100]),
        })
        .collect();
    let writes = vaults
        .iter()
        .enumerate()
        .map(|(i, vault)| relays[i % 2].call(Method::PUT, "/v1/vault", token, Some(vault)));
    let statuses: Vec<StatusCode> = join_all(writes).await.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        15,
        "{statuses:?}"
    );

    // One message retried ten times at once through both: stored once.
    let post = support::envelope_request(&patient, &key, &thread.thread_id, 0, "same", "hello");
    let path = format!("/v1/threads/{}/messages", thread.thread_id);
    let retries = (0..10).map(|i| relays[i % 2].call(Method::POST, &path, token, Some(&post)));
    let statuses: Vec<StatusCode> = join_all(retries).await.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| s.is_success()), "{statuses:?}");

    // Twenty different messages at once through both: numbered 2 to 21,
    // no gap, no number twice.
    let posts: Vec<_> = (0..20)
        .map(|i| {
            support::envelope_request(&patient, &key, &thread.thread_id, 0, &format!("m{i}"), "hi")
        })
        .collect();
    let sends = posts
        .iter()
        .enumerate()
        .map(|(i, post)| relays[i % 2].call(Method::POST, &path, token, Some(post)));
    for response in join_all(sends).await {
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let page: MessagePage = b.get_ok(&format!("{path}?after=0"), token).await;
    let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=21).collect::<Vec<u64>>());
}

/// Held by the tests that hold a transaction open or check the inbox's
/// order: on PostgreSQL a transaction left open holds every inbox's
/// snapshot back (store::threads), so they must not overlap.
static INBOX_ORDER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every thread of `account`'s inbox, `limit` a page, in the order served.
async fn inbox(relay: &Relay, token: &str, limit: u32) -> Vec<String> {
    use ward_proto::threads::ThreadList;
    let mut served = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/threads?limit={limit}&cursor={cursor}"),
            None => format!("/v1/threads?limit={limit}"),
        };
        let page: ThreadList = relay.get_ok(&path, Some(token)).await;
        served.extend(page.threads.into_iter().map(|t| t.thread_id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return served,
        }
    }
}

/// `account`'s inbox (`limit` a page) once `settled` holds for it, or as
/// last served after 20 s. Another test's transaction still running
/// anywhere in the cluster holds the snapshot back for a moment, and while
/// it does a thread written since is served where it stood (store::threads):
/// the order right after a write settles once the writes that began before
/// it have ended.
async fn inbox_once(
    relay: &Relay,
    token: &str,
    limit: u32,
    settled: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let served = inbox(relay, token, limit).await;
        if settled(&served) || tokio::time::Instant::now() >= deadline {
            return served;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// On PostgreSQL writers commit in any order and no relay-wide lock orders
/// them: a send held up in one thread (here, a transaction holding that
/// thread's lock and an older transaction id, as a slow send would) keeps
/// neither a send to another thread nor a new thread waiting, and inbox
/// pages taken meanwhile still serve every thread once; once it ends, the
/// held send is stored and its thread is the newest.
#[tokio::test]
async fn a_send_held_up_in_one_thread_delays_no_other_and_inboxes_skip_nothing() {
    use std::collections::BTreeSet;
    let _order = INBOX_ORDER.lock().await;

    let Some((a, b, _blobs)) = two_relays().await else {
        return;
    };
    let (clinic, sam, first, first_key) = a.conversation().await;
    let (second, second_key) = a
        .thread_with_key(
            &sam,
            clinic.keys.bundle(),
            ward_proto::threads::Category::Other,
        )
        .await;
    let (first_id, second_id) = (first.thread_id.clone(), second.thread_id.clone());

    let db = a.db().await;
    let mut held = db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS locked")
        .bind(format!("thread:{first_id}"))
        .execute(&mut *held)
        .await
        .unwrap();
    let _older: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
        .fetch_one(&mut *held)
        .await
        .unwrap();

    // The send to the held thread goes out first and must still be
    // waiting when everything else is done.
    let held_send = b.send(
        &sam,
        &first_key,
        &first_id,
        0,
        "held",
        "Waits for its thread",
    );
    tokio::pin!(held_send);
    let everything_else = async {
        let sent = tokio::time::timeout(
            Duration::from_secs(20),
            b.send(&sam, &second_key, &second_id, 0, "free", "Another thread"),
        )
        .await
        .expect("a send to another thread does not wait for the held one");
        assert_eq!(sent.status(), StatusCode::CREATED);
        let (third, _) = tokio::time::timeout(
            Duration::from_secs(20),
            a.thread_with_key(
                &sam,
                clinic.keys.bundle(),
                ward_proto::threads::Category::Other,
            ),
        )
        .await
        .expect("a new thread does not wait for the held send");
        // Pages taken now see the second thread's message and the third
        // thread above their snapshot: each thread comes once.
        let all: BTreeSet<String> = [&first_id, &second_id, &third.thread_id]
            .into_iter()
            .cloned()
            .collect();
        for relay in [&a, &b] {
            for limit in [1, 2, 100] {
                let served = inbox(relay, &sam.token, limit).await;
                assert_eq!(served.len(), 3, "limit {limit}: {served:?}");
                assert_eq!(served.iter().cloned().collect::<BTreeSet<_>>(), all);
            }
        }
    };
    tokio::select! {
        biased;
        response = &mut held_send => panic!("the send to the held thread did not wait: {}", response.status()),
        () = everything_else => {}
    }

    held.rollback().await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), held_send)
        .await
        .expect("the held send goes on once the lock is free");
    assert_eq!(response.status(), StatusCode::CREATED);
    let served = inbox_once(&a, &sam.token, 100, |served| {
        served.first() == Some(&first_id)
    })
    .await;
    assert_eq!(served.first(), Some(&first_id), "{served:?}");
    assert_eq!(served.len(), 3, "{served:?}");
}

/// A database restored into another PostgreSQL cluster holds activity
/// values above that cluster's transaction ids: the next relay to start
/// lifts the activity base, so the conversation written to next is still
/// the newest in the inbox.
#[tokio::test]
async fn a_database_restored_into_another_cluster_keeps_its_inbox_order() {
    let _order = INBOX_ORDER.lock().await;
    let Some((a, _b, _blobs)) = two_relays().await else {
        return;
    };
    let (clinic, sam, first, first_key) = a.conversation().await;
    let (second, _) = a
        .thread_with_key(
            &sam,
            clinic.keys.bundle(),
            ward_proto::threads::Category::Other,
        )
        .await;
    // What a restore looks like: stored values far above the ids to come.
    let db = a.db().await;
    for sql in [
        "UPDATE threads SET activity = activity + 1000000000000, base_activity = base_activity + 1000000000000",
        "UPDATE thread_members SET activity = activity + 1000000000000",
        "UPDATE envelopes SET activity = activity + 1000000000000 WHERE activity IS NOT NULL",
    ] {
        sqlx::query(sql).execute(&db).await.unwrap();
    }
    let restarted = a.beside(|_| {}).await;
    let restored = [second.thread_id.clone(), first.thread_id.clone()];
    assert_eq!(
        inbox_once(&restarted, &sam.token, 100, |served| served == restored).await,
        restored
    );
    let sent = restarted
        .send(
            &sam,
            &first_key,
            &first.thread_id,
            0,
            "after",
            "Written after the restore",
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let expected = [first.thread_id.clone(), second.thread_id.clone()];
    for limit in [1, 100] {
        assert_eq!(
            inbox_once(&restarted, &sam.token, limit, |served| served == expected).await,
            expected,
            "limit {limit}"
        );
    }
}
