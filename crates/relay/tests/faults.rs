//! The relay when its storage fails under it: the database goes away for a
//! moment (its connections ended, or the PostgreSQL server restarted), or
//! the disk under SQLite fills. Requests get a specific error that says
//! whether to retry, nothing stored is lost, and the relay recovers without
//! a restart. (A relay process killed
//! mid-conversation is `crates/clinic/tests/clinic_agent.rs`,
//! `killed_mid_conversation_the_relay_loses_and_repeats_nothing`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use support::Relay;
use ward_proto::threads::MessagePage;
use ward_proto::{ErrorCode, HealthStatus};

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

/// Every connection of the relay's pool ended while the server stays up
/// (`pg_terminate_backend`, as an administrator or an idle-connection
/// killer ends them): requests fail as retryable, then work again once the
/// pool reconnects, with no relay restart and nothing lost. (The server
/// itself going down and coming back is the next test.)
#[tokio::test]
async fn postgresql_connections_ended_fail_retryably_then_recover() {
    if !support::on_postgres() {
        eprintln!("PostgreSQL only: needs WARD_TEST_POSTGRES (cargo xtask test sets it)");
        return;
    }
    let relay = Relay::start().await;
    let (patient, thread, key) = five_messages_in(&relay).await;
    let path = format!("/v1/threads/{}/messages", thread.thread_id);
    let token = Some(patient.token.as_str());

    // Another connection ends every one of the relay's.
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

/// PostgreSQL really restarted under load, the fault: a server of
/// this test's own (the one the other tests share must stay up) is
/// stopped as an administrator restarts it (`pg_ctl stop -m fast`) while
/// senders and a reader keep going, stays down a few seconds, and starts
/// again on the same port and data. While it is down every request is
/// refused quickly with a retryable 503 `storage_unavailable` (and
/// `/healthz` says `degraded`); once it is back, sends succeed again
/// without a relay restart; every acknowledged message is stored exactly
/// once (retries and repeated message ids never duplicate one), and the
/// thread's sequence numbers have no gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_under_load_fails_retryably_then_recovers() {
    if !support::on_postgres() {
        eprintln!("PostgreSQL only: needs WARD_TEST_POSTGRES (cargo xtask test sets it)");
        return;
    }
    if ward_pgserver::bin_dir().is_none() {
        eprintln!(
            "skipped: no PostgreSQL server binaries under {} to start one of its own",
            ward_pgserver::DEBIAN_ROOT
        );
        return;
    }
    let server = Arc::new(
        blocking(|| ward_pgserver::Server::start("relay-restart"))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let relay = Arc::new(Relay::start_on_database(server.url()).await);
    let (clinic, patient, thread, key) = relay.conversation().await;
    let (clinic, patient, key) = (Arc::new(clinic), Arc::new(patient), Arc::new(key));
    let path = format!("/v1/threads/{}/messages", thread.thread_id);
    let load = Arc::new(Load::default());

    // Four senders (two as the patient, two as the clinic) and a reader.
    let mut senders = Vec::new();
    for task in 0..4 {
        let sender = if task < 2 { &patient } else { &clinic };
        senders.push(tokio::spawn(send_until_stopped(
            relay.clone(),
            load.clone(),
            sender.clone(),
            key.clone(),
            thread.thread_id.clone(),
            task,
        )));
    }
    let reader = tokio::spawn(read_until_stopped(
        relay.clone(),
        load.clone(),
        patient.clone(),
        path.clone(),
    ));

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = load.acks.lock().unwrap().len();
    assert!(before > 0, "the load is running");

    // The restart: down for a few seconds, the load going on.
    let stopping = Instant::now();
    blocking({
        let server = server.clone();
        move || server.stop()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stopped = Instant::now();
    // A load balancer's health check sees the relay degraded meanwhile.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        health(&relay).await,
        (StatusCode::SERVICE_UNAVAILABLE, HealthStatus::Degraded)
    );
    tokio::time::sleep(DOWN.saturating_sub(stopped.elapsed())).await;
    let starting = Instant::now();
    blocking({
        let server = server.clone();
        move || server.start_again()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();

    // Back: every sender gets messages stored again, the relay untouched.
    let deadline = started + Duration::from_secs(30);
    loop {
        let recovered = load.acked_since(started);
        if (0..4).all(|task| recovered.contains(&task)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sends did not recover within 30 s of the server's return"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_recovered = started.elapsed();
    assert_eq!(health(&relay).await, (StatusCode::OK, HealthStatus::Ok));
    tokio::time::sleep(Duration::from_secs(1)).await;
    load.stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    let read_up_to = reader.await.unwrap();

    // While it was down: refused, as retryable, and quickly.
    // Every task has ended: what they recorded is final.
    let outcomes = std::mem::take(&mut *load.outcomes.lock().unwrap());
    let during: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started >= stopping && o.started < starting)
        .collect();
    for outcome in &during {
        if outcome.started >= stopped && outcome.started + outcome.took <= starting {
            assert!(
                outcome.refused,
                "a request answered while the server was down: {outcome:?}"
            );
        }
    }
    let refused_reads = during
        .iter()
        .filter(|o| o.refused && o.task == READER)
        .count();
    for task in 0..=READER {
        assert!(
            during.iter().any(|o| o.refused && o.task == task),
            "task {task} was refused while the server was down"
        );
    }
    let longest = outcomes.iter().map(|o| o.took).max().unwrap();
    let longest_down = during.iter().map(|o| o.took).max().unwrap();
    let refusals: Vec<Duration> = during
        .iter()
        .filter(|o| o.refused)
        .map(|o| o.took)
        .collect();
    let (quickest_refusal, slowest_refusal) = (
        refusals.iter().min().unwrap(),
        refusals.iter().max().unwrap(),
    );
    assert!(
        longest <= ward_relay::db::POSTGRES_ACQUIRE_TIMEOUT + Duration::from_secs(1),
        "a request took {longest:?}: a client must not hang while the database is down"
    );
    let first_success = outcomes
        .iter()
        .filter(|o| !o.refused && o.task != READER && o.started + o.took > starting)
        .map(|o| o.started + o.took)
        .min()
        .unwrap();
    eprintln!(
        "PostgreSQL down {:.1} s (stop took {:.2} s, start {:.2} s): {} requests during it, \
         {} refused as retryable ({refused_reads} of them reads) in {:.2} to {:.2} s, \
         longest request {:.2} s; \
         first send stored {:.2} s after the server was ready, every sender {:.2} s after; \
         {} requests in all, longest {:.2} s",
        (starting - stopped).as_secs_f64(),
        (stopped - stopping).as_secs_f64(),
        (started - starting).as_secs_f64(),
        during.len(),
        refusals.len(),
        quickest_refusal.as_secs_f64(),
        slowest_refusal.as_secs_f64(),
        longest_down.as_secs_f64(),
        first_success
            .saturating_duration_since(started)
            .as_secs_f64(),
        all_recovered.as_secs_f64(),
        outcomes.len(),
        longest.as_secs_f64(),
    );

    // Every acknowledged message stored once, at the number it was
    // acknowledged with; nothing else stored; no gaps.
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page: MessagePage = relay
            .get_ok(
                &format!("{path}?after={after}&limit=200"),
                Some(&patient.token),
            )
            .await;
        stored.extend(page.messages);
        match page.next_cursor {
            Some(next) => after = next,
            None => break,
        }
    }
    let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
    let count = u64::try_from(stored.len()).unwrap();
    assert_eq!(seqs, (1..=count).collect::<Vec<u64>>(), "no gaps");
    let by_id: HashMap<(String, String), u64> = stored
        .iter()
        .map(|m| ((m.sender_id.clone(), m.message_id.clone()), m.seq))
        .collect();
    assert_eq!(by_id.len(), stored.len(), "no message id stored twice");
    let acks = load.acks.lock().unwrap();
    for ack in acks.iter() {
        assert_eq!(
            by_id.get(&(ack.sender.clone(), ack.message_id.clone())),
            Some(&ack.seq),
            "acknowledged and stored once, where acknowledged: {ack:?}"
        );
    }
    assert_eq!(acks.len(), stored.len(), "nothing stored unacknowledged");
    assert!(read_up_to <= count);
    let resent = load.resent.load(Ordering::Relaxed);
    assert!(resent > 0, "acknowledged messages were sent again");
    eprintln!(
        "{count} messages stored, each once, seq 1..={count}; {resent} acknowledged ones sent \
         again answered 200 with their first number; the reader paged to {read_up_to} with no gap"
    );
}

/// How long the restart test keeps the server down: twice as long as a
/// request may wait for a connection, so every task's first request then
/// runs out of time and is refused.
const DOWN: Duration = Duration::from_secs(2 * ward_relay::db::POSTGRES_ACQUIRE_TIMEOUT.as_secs());

/// The restart test's reader, as a task number (the senders are 0 to 3).
const READER: usize = 4;

/// A request the restart test's load made.
#[derive(Debug)]
struct Outcome {
    /// Which task made it: a sender, or the [`READER`].
    task: usize,
    started: Instant,
    took: Duration,
    /// 503 `storage_unavailable` (otherwise it succeeded: anything else
    /// fails the test where it happens).
    refused: bool,
}

/// A message the relay acknowledged (201, or 200 for a retry it had
/// stored already).
#[derive(Debug)]
struct Ack {
    task: usize,
    sender: String,
    message_id: String,
    seq: u64,
    at: Instant,
}

/// What the restart test's load did, shared by its tasks.
#[derive(Debug, Default)]
struct Load {
    outcomes: Mutex<Vec<Outcome>>,
    acks: Mutex<Vec<Ack>>,
    /// Acknowledged messages sent again with the same id.
    resent: AtomicUsize,
    stop: AtomicBool,
}

impl Load {
    /// The sender tasks with a message acknowledged after `since`.
    fn acked_since(&self, since: Instant) -> HashSet<usize> {
        let acks = self.acks.lock().unwrap();
        acks.iter()
            .filter(|a| a.at > since)
            .map(|a| a.task)
            .collect()
    }

    /// Checks a refusal is the retryable one, and records it.
    async fn refused(&self, task: usize, response: reqwest::Response, started: Instant) {
        let took = started.elapsed();
        assert!(response.headers().contains_key("retry-after"));
        let body: ward_proto::ErrorBody = response.json().await.unwrap();
        assert_eq!(body.error.code, ErrorCode::StorageUnavailable);
        assert!(body.error.retry_after_seconds.is_some());
        self.record(task, started, took, true);
    }

    fn record(&self, task: usize, started: Instant, took: Duration, refused: bool) {
        self.outcomes.lock().unwrap().push(Outcome {
            task,
            started,
            took,
            refused,
        });
    }
}

/// A request that has not answered after this hangs: the test fails.
const HUNG: Duration = Duration::from_secs(30);

/// Sends message after message (ids `load{task}-{n}`) until told to stop,
/// each retried with the same id and the same envelope until the relay
/// acknowledges it; every fourth is sent once more after it was
/// acknowledged, as a client that missed the answer would.
async fn send_until_stopped(
    relay: Arc<Relay>,
    load: Arc<Load>,
    sender: Arc<support::Account>,
    key: Arc<ward_seal::thread_key::ThreadKey>,
    thread_id: String,
    task: usize,
) {
    let path = format!("/v1/threads/{thread_id}/messages");
    let mut n = 0;
    while !load.stop.load(Ordering::Relaxed) {
        let message_id = format!("load{task}-{n}");
        let body =
            support::envelope_request(&sender, &key, &thread_id, 0, &message_id, "under load");
        let (_, stored) = post_until_stored(&relay, &load, task, &sender.token, &path, &body).await;
        assert_eq!(stored.message_id, message_id);
        load.acks.lock().unwrap().push(Ack {
            task,
            sender: sender.id.clone(),
            message_id,
            seq: stored.seq,
            at: Instant::now(),
        });
        if n % 4 == 3 {
            let (status, again) =
                post_until_stored(&relay, &load, task, &sender.token, &path, &body).await;
            assert_eq!(status, StatusCode::OK, "an acknowledged message sent again");
            assert_eq!(again.seq, stored.seq);
            load.resent.fetch_add(1, Ordering::Relaxed);
        }
        n += 1;
    }
}

/// Posts `body` until the relay stores it: 201, or 200 when an earlier
/// try was stored; 503 `storage_unavailable` is retried after a moment.
async fn post_until_stored(
    relay: &Relay,
    load: &Load,
    task: usize,
    token: &str,
    path: &str,
    body: &ward_proto::threads::PostMessageRequest,
) -> (StatusCode, ward_proto::threads::StoredMessage) {
    loop {
        let started = Instant::now();
        let response = tokio::time::timeout(
            HUNG,
            relay.call(Method::POST, path, Some(token), Some(body)),
        )
        .await
        .expect("a send answered");
        match response.status() {
            status @ (StatusCode::CREATED | StatusCode::OK) => {
                load.record(task, started, started.elapsed(), false);
                return (status, response.json().await.unwrap());
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                load.refused(task, response, started).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("a send: {other}: {}", response.text().await.unwrap()),
        }
    }
}

/// Pages the thread forward until told to stop, checking each page
/// continues the last with no gap; how far it read.
async fn read_until_stopped(
    relay: Arc<Relay>,
    load: Arc<Load>,
    reader: Arc<support::Account>,
    path: String,
) -> u64 {
    let mut last = 0;
    while !load.stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let response = tokio::time::timeout(
            HUNG,
            relay.call(
                Method::GET,
                &format!("{path}?after={last}&limit=200"),
                Some(&reader.token),
                support::NONE,
            ),
        )
        .await
        .expect("a read answered");
        match response.status() {
            StatusCode::OK => {
                load.record(READER, started, started.elapsed(), false);
                let page: MessagePage = response.json().await.unwrap();
                for message in page.messages {
                    assert_eq!(message.seq, last + 1, "a gap in what the reader saw");
                    last = message.seq;
                }
            }
            StatusCode::SERVICE_UNAVAILABLE => load.refused(READER, response, started).await,
            other => panic!("a read: {other}: {}", response.text().await.unwrap()),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    last
}

/// `GET /healthz`: its status and what it says.
async fn health(relay: &Relay) -> (StatusCode, HealthStatus) {
    let response = tokio::time::timeout(
        HUNG,
        relay.call(Method::GET, "/healthz", None, support::NONE),
    )
    .await
    .expect("the health check answered");
    let status = response.status();
    let health: ward_proto::Health = response.json().await.unwrap();
    (status, health.status)
}

/// Runs blocking work (starting or stopping a server) off the runtime's
/// threads, which serve the relay and the load meanwhile.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
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

    // Every pooled connection, and the send writer's, is told the file
    // may not grow.
    let db = relay.db().await;
    let writer = relay.state.send_writer.clone();
    let set_limit = |pages: &'static str| {
        let db = db.clone();
        let writer = writer.clone();
        async move {
            if let Some(writer) = &writer {
                writer.cap_pages(pages.parse().unwrap()).await.unwrap();
            }
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
    let status = sent.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        sent.text().await.unwrap()
    );
    let page: MessagePage = relay.get_ok(&format!("{path}?after={stored}"), token).await;
    assert_eq!(page.messages.len(), 1);
}
