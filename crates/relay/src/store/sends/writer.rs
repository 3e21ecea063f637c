//! SQLite's send writer: one thread that owns a connection of its own to
//! the relay's SQLite file and stores messages, several in one
//! transaction (group commit).
//!
//! A send handed to it is one hand-off there and one back. While the
//! thread waits for its turn to write, further sends queue; it takes up to
//! [`MOST_IN_ONE_COMMIT`] of them into one `BEGIN IMMEDIATE … COMMIT`,
//! each in a savepoint of its own, so a send that is refused (its epoch
//! moved, an attachment is not the sender's) rolls back alone. Every
//! sender hears back only after the commit, so a message reported stored
//! is on disk (WAL, `synchronous = NORMAL`, as every other write). If
//! SQLite rolls the whole transaction back itself (a full disk), every
//! send in it is refused with that error and nothing of theirs is stored.
//!
//! The thread takes the same turn to write as this process's sqlx writers
//! ([`crate::db::begin_write`]), so they queue for SQLite's one write lock
//! in order rather than meet in its busy handler. It runs until the last
//! [`Writer`] is dropped.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, named_params};
use sqlx::AnyPool;
use tokio::sync::oneshot;

use super::{NewMessage, Outcome, Stored};
use crate::store;

/// The most sends one transaction takes. Bounds how long one commit holds
/// SQLite's write lock from the relay's other writers (each send is a few
/// dozen microseconds of SQLite's time).
pub const MOST_IN_ONE_COMMIT: usize = 64;

/// A handle on the send writer's thread; clones share it.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    commits: Arc<AtomicU64>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

/// What the writer's thread is asked to do.
enum Job {
    /// Store a message, and say how it went.
    Send(QueuedSend),
    /// Let the database file grow to at most this many pages (SQLite's
    /// `max_page_count`, a setting of each connection).
    CapPages(u64, oneshot::Sender<Result<(), Failure>>),
}

/// One send waiting for the writer, and where its outcome goes.
struct QueuedSend {
    message: NewMessage,
    reply: oneshot::Sender<Result<Outcome, Failure>>,
}

impl Writer {
    /// Opens a connection to `file` (the SQLite database `db` opens, its
    /// migrations applied) and starts the thread that writes through it.
    pub fn start(db: &AnyPool, file: &Path) -> Result<Self, sqlx::Error> {
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(Failure::from)?;
        // The same settings as the pool's connections (`db::open_sqlite`).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(Failure::from)?;
        let turn = crate::db::sqlite_turn(db);
        let (jobs, queue) = mpsc::channel();
        let commits = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&commits);
        std::thread::Builder::new()
            .name("ward-send-writer".into())
            .spawn(move || run(conn, &turn, &queue, &counted))
            .map_err(sqlx::Error::Io)?;
        Ok(Self { jobs, commits })
    }

    /// How many transactions the writer has committed (with the number of
    /// messages stored: how many sends a commit carried).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Stores `message`, with whatever other sends are waiting, once the
    /// writer's turn comes.
    pub async fn store(&self, message: NewMessage) -> Result<Outcome, sqlx::Error> {
        let (reply, outcome) = oneshot::channel();
        self.ask(Job::Send(QueuedSend { message, reply }), outcome)
            .await
    }

    /// Lets the writer's connection grow the database file to `pages` at
    /// most, as `PRAGMA max_page_count` does for the pool's connections:
    /// past it, sends are refused as on a full disk (the fault tests fill
    /// the "disk" this way).
    pub async fn cap_pages(&self, pages: u64) -> Result<(), sqlx::Error> {
        let (reply, done) = oneshot::channel();
        self.ask(Job::CapPages(pages, reply), done).await
    }

    async fn ask<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<T, Failure>>,
    ) -> Result<T, sqlx::Error> {
        // A writer thread that is gone (it cannot end while a `Writer`
        // exists, short of a panic) is a crashed worker: retryable.
        self.jobs
            .send(job)
            .map_err(|_| sqlx::Error::WorkerCrashed)?;
        answer
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?
            .map_err(sqlx::Error::from)
    }
}

/// The thread: waits for a send, takes the turn to write, stores what has
/// queued meanwhile in one transaction, answers each.
fn run(
    mut conn: Connection,
    turn: &tokio::sync::Mutex<()>,
    queue: &mpsc::Receiver<Job>,
    commits: &AtomicU64,
) {
    let mut next = queue.recv().ok();
    while let Some(job) = next.take() {
        let first = match job {
            Job::Send(send) => send,
            Job::CapPages(pages, reply) => {
                let capped = conn
                    .pragma_update(None, "max_page_count", pages)
                    .map_err(Failure::from);
                let _ = reply.send(capped);
                next = queue.recv().ok();
                continue;
            }
        };
        let mut batch = vec![first];
        let outcomes = {
            let _turn = turn.blocking_lock();
            // What queued meanwhile joins, up to a job that is not a send
            // (it runs after this commit).
            while batch.len() < MOST_IN_ONE_COMMIT {
                match queue.try_recv() {
                    Ok(Job::Send(send)) => batch.push(send),
                    Ok(other) => {
                        next = Some(other);
                        break;
                    }
                    Err(_) => break,
                }
            }
            store_all(&mut conn, &batch, commits)
        };
        for (send, outcome) in batch.into_iter().zip(outcomes) {
            // A sender that stopped waiting (its request was dropped) has
            // its message stored all the same, as a retry will find.
            let _ = send.reply.send(outcome);
        }
        if next.is_none() {
            next = queue.recv().ok();
        }
    }
}

/// Stores `batch` in one transaction; an outcome for each, in order.
fn store_all(
    conn: &mut Connection,
    batch: &[QueuedSend],
    commits: &AtomicU64,
) -> Vec<Result<Outcome, Failure>> {
    let all_fail = |failure: Failure| batch.iter().map(|_| Err(failure.clone())).collect();
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        return all_fail(error.into());
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        let outcome = store_one(conn, &job.message);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (SQLITE_FULL,
            // SQLITE_IOERR …): none of the batch is stored.
            return all_fail(outcome.err().unwrap_or_else(Failure::rolled_back));
        }
        outcomes.push(outcome);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            commits.fetch_add(1, Ordering::Relaxed);
            outcomes
        }
        Err(error) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            all_fail(error.into())
        }
    }
}

/// One send inside the batch's transaction, in a savepoint that keeps it
/// only if it was stored.
fn store_one(conn: &mut Connection, message: &NewMessage) -> Result<Outcome, Failure> {
    conn.execute_batch("SAVEPOINT send")?;
    let outcome = steps(conn, message);
    if conn.is_autocommit() {
        return outcome;
    }
    if matches!(outcome, Ok(Outcome::Stored(_))) {
        conn.execute_batch("RELEASE send")?;
    } else {
        conn.execute_batch("ROLLBACK TO send; RELEASE send")?;
    }
    outcome
}

/// The send's statements: the same as `super::store_in_transaction`'s.
fn steps(conn: &Connection, message: &NewMessage) -> Result<Outcome, Failure> {
    let slot = conn
        .prepare_cached(store::threads::CLAIM_SLOT)?
        .query_row(
            named_params! {
                "$1": message.received_at,
                "$2": message.thread_id,
                "$3": message.epoch,
                "$4": message.sender_id,
            },
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<Vec<u8>>>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((seq, activity, prev)) = slot else {
        return Ok(Outcome::KeysChanged);
    };
    let chain = super::chain(message, seq, prev.as_deref())?;
    let inserted = conn
        .prepare_cached(store::envelopes::INSERT)?
        .execute(named_params! {
            "$1": message.thread_id,
            "$2": seq,
            "$3": message.message_id,
            "$4": message.sender_id,
            "$5": message.epoch,
            "$6": message.envelope,
            "$7": message.received_at,
            "$8": activity,
            "$9": chain.as_slice(),
        })?;
    if inserted != 1 {
        return Ok(Outcome::AlreadyStored);
    }
    for (position, blob_id) in message.attachments.iter().enumerate() {
        let kept = conn
            .prepare_cached(store::blobs::KEEP)?
            .execute(named_params! {
                "$1": blob_id,
                "$2": message.sender_id,
                "$3": message.received_at,
            })?;
        if kept != 1 {
            return Ok(Outcome::UnknownAttachment { position });
        }
        conn.prepare_cached(store::attachments::ADD)?
            .execute(named_params! {
                "$1": message.thread_id,
                "$2": seq,
                "$3": super::as_i64(position),
                "$4": blob_id,
            })?;
    }
    conn.prepare_cached(store::archive::SET_HEAD)?
        .execute(named_params! { "$1": chain.as_slice(), "$2": message.thread_id })?;
    let mut recipients = Vec::new();
    let mut members = conn.prepare_cached(store::members::MOVE_TO)?;
    let mut rows = members.query(named_params! { "$1": activity, "$2": message.thread_id })?;
    while let Some(row) = rows.next()? {
        if row.get::<_, bool>(1)? {
            recipients.push(row.get(0)?);
        }
    }
    Ok(Outcome::Stored(Stored {
        seq,
        chain,
        recipients,
    }))
}

/// A SQLite error, kept so each send in a failed batch can be told it,
/// and read by `error.rs` as any sqlx database error (its code is
/// SQLite's extended result code, as sqlx gives it: 13 is a full disk).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
struct Failure {
    code: Option<i32>,
    message: String,
}

impl Failure {
    fn rolled_back() -> Self {
        Self {
            code: None,
            message: "SQLite rolled the send writer's transaction back".into(),
        }
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        match error {
            rusqlite::Error::SqliteFailure(failure, message) => Self {
                code: Some(failure.extended_code),
                message: message.unwrap_or_else(|| failure.to_string()),
            },
            other => Self {
                code: None,
                message: other.to_string(),
            },
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Self {
            code: None,
            message: error.to_string(),
        }
    }
}

impl sqlx::error::DatabaseError for Failure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|code| code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        sqlx::error::ErrorKind::Other
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use ward_proto::threads::{Category, Role};

    use super::*;

    const THREAD: &str = "thr_batch";
    const CLINIC: &str = "acc_clinic";

    fn message(message_id: &str, epoch: i64, attachments: &[&str]) -> NewMessage {
        NewMessage {
            thread_id: THREAD.into(),
            epoch,
            sender_id: CLINIC.into(),
            message_id: message_id.into(),
            envelope: message_id.as_bytes().to_vec(),
            attachments: attachments.iter().map(|a| (*a).to_owned()).collect(),
            received_at: 1_000,
        }
    }

    /// Sends that queue while the writer waits for its turn go into one
    /// commit; each is answered as it alone deserves (a stale epoch, an
    /// attachment that is not the sender's, a repeated id), and only the
    /// stored ones leave anything behind: their seqs run on without a gap
    /// and each chain link follows the one before.
    #[tokio::test]
    async fn queued_sends_share_one_commit_and_a_refused_one_rolls_back_alone() {
        let (data, db) = crate::store::query_plans::scratch().await;
        let mut tx = crate::db::begin_write(&db, &crate::db::thread_scope(THREAD))
            .await
            .unwrap();
        store::accounts::insert_clinic(&mut tx, CLINIC, "Clinic", 0)
            .await
            .unwrap();
        let activity = store::threads::start_within_limit(
            &mut tx,
            store::threads::NewThread {
                thread_id: THREAD,
                category: Category::Other,
                created_by: CLINIC,
                created_at: 0,
            },
            1,
            1,
        )
        .await
        .unwrap()
        .unwrap();
        store::members::add(&mut tx, THREAD, CLINIC, Role::Clinic, 0, activity)
            .await
            .unwrap();
        assert!(
            store::threads::advance_epoch(&mut tx, THREAD, 0, None)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let file = data.path().join(crate::db::DATABASE_FILE);
        let writer = Writer::start(&db, &file).unwrap();

        let sends = [
            message("m1", 0, &[]),
            message("m2", 7, &[]),
            message("m3", 0, &["blob_not_uploaded"]),
            message("m1", 0, &[]),
            message("m4", 0, &[]),
        ];
        let turn = crate::db::sqlite_turn(&db);
        let held = turn.lock().await;
        let waiting: Vec<_> = sends
            .iter()
            .cloned()
            .map(|send| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.store(send).await })
            })
            .collect();
        // Every send reaches the writer's queue while the turn is held.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        drop(held);
        let mut outcomes = Vec::new();
        for send in waiting {
            outcomes.push(send.await.unwrap().unwrap());
        }

        assert_eq!(writer.commits(), 1);
        let Outcome::Stored(first) = &outcomes[0] else {
            panic!("{outcomes:?}")
        };
        assert_eq!(outcomes[1], Outcome::KeysChanged);
        assert_eq!(outcomes[2], Outcome::UnknownAttachment { position: 0 });
        assert_eq!(outcomes[3], Outcome::AlreadyStored);
        let Outcome::Stored(fourth) = &outcomes[4] else {
            panic!("{outcomes:?}")
        };
        assert_eq!((first.seq, fourth.seq), (1, 2));
        assert_eq!(first.recipients, vec![CLINIC.to_owned()]);
        assert_eq!(
            first.chain,
            super::super::chain(&sends[0], 1, None).unwrap()
        );
        assert_eq!(
            fourth.chain,
            super::super::chain(&sends[4], 2, Some(first.chain.as_slice())).unwrap()
        );
        assert_eq!(store::envelopes::count(&db).await.unwrap(), 2);
        let head = store::archive::head(&db, THREAD).await.unwrap();
        assert_eq!(head.last_seq, 2);
        assert_eq!(head.head_chain.as_deref(), Some(fourth.chain.as_slice()));
    }
}
