//! `threads`: each thread's category, current epoch, message counter and
//! place in the relay-wide activity order (`activity`). Members are in
//! [`super::members`], the archive chain's columns in [`super::archive`].
//!
//! The activity order pages inboxes: a page is served as of a snapshot
//! value, and every activity at or below it must be decided (committed or
//! gone) when it is taken, or a later commit could slip in behind a page
//! already served. The two backends keep that differently:
//! - SQLite has one writer, so a write's activity is the largest so far
//!   plus one, and the snapshot is the largest committed.
//! - PostgreSQL commits writers in parallel, in any order, so a write's
//!   activity is its transaction id (`pg_current_xact_id()`, which never
//!   wraps), and the snapshot is just below the oldest transaction still
//!   running (`pg_snapshot_xmin`): every transaction below it has ended.
//!   Both add `activity_base.xid_offset`, which [`raise_activity_base`]
//!   lifts at start when a restore into a new cluster put the stored
//!   values above the ids to come. (PostgreSQL 13 or later.) A transaction
//!   left open anywhere in the cluster holds the snapshot back: while it
//!   lasts, threads that changed since are served where they stood.
//!   No relay-wide lock is needed, so sends to different threads do not
//!   wait for each other. Within one thread activity still grows with seq:
//!   a send takes the thread's lock ([`crate::db::thread_scope`]) before
//!   its first write, which is when its transaction id is assigned.

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::threads::Category;

use crate::db::{Backend, Text};

/// A thread as one member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// What it is about.
    pub category: Category,
    /// When it was started (Unix milliseconds).
    pub created_at: i64,
    /// Its current epoch (`None`: no epoch yet).
    pub current_epoch: Option<i64>,
    /// When its newest message was stored (`None`: none yet).
    pub last_message_at: Option<i64>,
    /// How many messages others sent that the member has not read.
    pub unread: i64,
    /// Never shared with a caregiver.
    pub only_me: bool,
    /// A member left after the current epoch was sealed to them.
    pub needs_rekey: bool,
    /// Its sealed subject, if the patient set one.
    pub subject: Option<Vec<u8>>,
}

/// A thread to start.
#[derive(Debug, Clone, Copy)]
pub struct NewThread<'a> {
    /// Its id.
    pub thread_id: &'a str,
    /// What it is about.
    pub category: Category,
    /// The patient starting it.
    pub created_by: &'a str,
    /// When (Unix milliseconds).
    pub created_at: i64,
}

/// The place a new message took in its thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Its seq (one more than the last).
    pub seq: i64,
    /// The relay-wide activity-counter value it took.
    pub activity: i64,
    /// The thread's previous chain link (`None`: no message yet), which the
    /// new message's link chains onto.
    pub prev_chain: Option<Vec<u8>>,
}

/// `thread_id` as member `viewer` sees it (the thread must exist and
/// `viewer` be or have been its member).
pub async fn summary(db: &AnyPool, thread_id: &str, viewer: &str) -> Result<Summary, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.category, t.created_at, t.current_epoch, t.last_message_at, t.only_me, t.needs_rekey, t.subject,
                (SELECT COUNT(*) FROM envelopes e WHERE e.thread_id = t.thread_id AND e.seq > m.last_read_seq AND e.sender_id <> m.account_id) AS unread
         FROM threads t JOIN thread_members m ON m.thread_id = t.thread_id AND m.account_id = $1
         WHERE t.thread_id = $2",
    )
    .bind(viewer)
    .bind(thread_id)
    .fetch_one(db)
    .await?;
    Ok(Summary {
        category: row.try_get::<Text<Category>, _>("category")?.0,
        created_at: row.try_get("created_at")?,
        current_epoch: row.try_get("current_epoch")?,
        last_message_at: row.try_get("last_message_at")?,
        unread: row.try_get("unread")?,
        only_me: row.try_get::<crate::db::Flag, _>("only_me")?.0,
        needs_rekey: row.try_get::<crate::db::Flag, _>("needs_rekey")?.0,
        subject: row.try_get("subject")?,
    })
}

/// Stores the thread's sealed subject if it has none yet; whether it did.
pub async fn set_subject(
    db: &AnyPool,
    thread_id: &str,
    subject: &[u8],
) -> Result<bool, sqlx::Error> {
    let stored =
        sqlx::query("UPDATE threads SET subject = $1 WHERE thread_id = $2 AND subject IS NULL")
            .bind(subject)
            .bind(thread_id)
            .execute(db)
            .await?;
    Ok(stored.rows_affected() == 1)
}

/// The next activity value, as SQL (see the module's notes).
macro_rules! next_activity {
    (sqlite) => {
        "(SELECT COALESCE(MAX(activity), 0) + 1 FROM threads)"
    };
    (postgres) => {
        "(pg_current_xact_id()::text::bigint + (SELECT xid_offset FROM activity_base))"
    };
}

macro_rules! start_within_limit {
    ($backend:tt) => {
        concat!(
            "INSERT INTO threads (thread_id, category, created_by, created_at, activity, base_activity)
         SELECT $1, $2, $3, $4, next.n, next.n
         FROM (SELECT ",
            next_activity!($backend),
            " AS n) AS next
         WHERE (SELECT COUNT(*) FROM threads WHERE created_by = $3 AND created_at > $4 - $5) < $6
         RETURNING activity"
        )
    };
}

/// Starts `thread` unless its patient started `limit` threads in the
/// `window_ms` before it, inside the caller's transaction (which holds
/// that patient's [`thread_starts_scope`]): counted and inserted in one
/// statement, so parallel starts cannot exceed the limit. The activity
/// value it took, or `None` at the limit (nothing written).
pub async fn start_within_limit(
    conn: &mut AnyConnection,
    thread: NewThread<'_>,
    window_ms: i64,
    limit: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let sql = match Backend::of_connection(conn) {
        Backend::Sqlite => start_within_limit!(sqlite),
        Backend::Postgres => start_within_limit!(postgres),
    };
    sqlx::query_scalar(sql)
        .bind(thread.thread_id)
        .bind(Text(thread.category))
        .bind(thread.created_by)
        .bind(thread.created_at)
        .bind(window_ms)
        .bind(limit)
        .fetch_optional(&mut *conn)
        .await
}

/// The scope a patient's thread starts serialize on (the daily limit).
pub fn thread_starts_scope(patient_id: &str) -> String {
    format!("thread-starts:{patient_id}")
}

/// An inbox's snapshot, inside the caller's read transaction: the largest
/// activity value at or below which every write has ended (0: none yet).
/// See the module's notes.
pub async fn latest_activity(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    let sql = match Backend::of_connection(conn) {
        Backend::Sqlite => "SELECT COALESCE(MAX(activity), 0) FROM threads",
        Backend::Postgres => {
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1
                    + (SELECT xid_offset FROM activity_base)"
        }
    };
    sqlx::query_scalar(sql).fetch_one(&mut *conn).await
}

/// Marks `thread_id` as the patient's alone (or not), unless `only_me` and
/// a caregiver is a member now; whether it was changed.
pub async fn set_only_me(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    thread_id: &str,
    only_me: bool,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE threads SET only_me = $2 WHERE thread_id = $1
           AND ($2 = 0 OR NOT EXISTS (SELECT 1 FROM thread_members
                                      WHERE thread_id = $1 AND role = 'caregiver' AND removed_at IS NULL))",
    )
    .bind(thread_id)
    .bind(i64::from(only_me))
    .execute(db)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Marks `thread_id` as the patient's alone inside the caller's
/// transaction, the one removing a caregiver from it: no caregiver can be
/// added from then on, and any still in it are the patient's app's next
/// removals.
pub async fn keep_to_patient(conn: &mut AnyConnection, thread_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE threads SET only_me = 1 WHERE thread_id = $1")
        .bind(thread_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `thread_id`'s current epoch (`None`: none yet; the thread must exist).
pub async fn current_epoch(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    thread_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT current_epoch FROM threads WHERE thread_id = $1")
        .bind(thread_id)
        .fetch_one(db)
        .await
}

/// Whether `thread_id` is kept "Only me" (the thread must exist).
pub async fn is_only_me(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    thread_id: &str,
) -> Result<bool, sqlx::Error> {
    let crate::db::Flag(only_me) =
        sqlx::query_scalar("SELECT only_me FROM threads WHERE thread_id = $1")
            .bind(thread_id)
            .fetch_one(db)
            .await?;
    Ok(only_me)
}

/// Makes `epoch` `thread_id`'s current one if `previous` still is (`None`:
/// no epoch yet), inside the caller's transaction (the one storing its
/// sealed keys); whether it did. Of two members starting the same epoch,
/// one wins.
pub async fn advance_epoch(
    conn: &mut AnyConnection,
    thread_id: &str,
    epoch: i64,
    previous: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let advanced = sqlx::query(
        "UPDATE threads SET current_epoch = $1, needs_rekey = 0 WHERE thread_id = $2 AND current_epoch IS NOT DISTINCT FROM $3",
    )
    .bind(epoch)
    .bind(thread_id)
    .bind(previous)
    .execute(&mut *conn)
    .await?;
    Ok(advanced.rows_affected() == 1)
}

macro_rules! claim_slot {
    ($backend:tt) => {
        concat!(
            "UPDATE threads SET last_seq = last_seq + 1, last_message_at = $1,
         activity = ",
            next_activity!($backend),
            "
     WHERE thread_id = $2 AND current_epoch = $3 AND needs_rekey = 0 AND EXISTS (
         SELECT 1 FROM thread_members WHERE thread_id = $2 AND account_id = $4 AND removed_at IS NULL)
     RETURNING last_seq, activity, head_chain"
        )
    };
}

/// [`claim_slot`]'s statement on SQLite (the send writer runs it too).
pub(crate) const CLAIM_SLOT: &str = claim_slot!(sqlite);

/// Claims the next message slot of `thread_id` for `sender`, stored at
/// `now`, if `epoch` is still current (and no member left since it
/// began) and `sender` still a member, inside
/// the caller's transaction (which holds [`crate::db::thread_scope`]). The thread's
/// row stays locked until commit: the next seq and the previous chain
/// link (`head_chain`, left as it was) are read together, so the chain
/// cannot fork or skip. `None` (nothing written) if the epoch or the
/// members changed.
pub async fn claim_slot(
    conn: &mut AnyConnection,
    thread_id: &str,
    epoch: i64,
    sender: &str,
    now: i64,
) -> Result<Option<Slot>, sqlx::Error> {
    let sql = match Backend::of_connection(conn) {
        Backend::Sqlite => CLAIM_SLOT,
        Backend::Postgres => claim_slot!(postgres),
    };
    sqlx::query(sql)
        .bind(now)
        .bind(thread_id)
        .bind(epoch)
        .bind(sender)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| {
            Ok(Slot {
                seq: row.try_get("last_seq")?,
                activity: row.try_get("activity")?,
                prev_chain: row.try_get("head_chain")?,
            })
        })
        .transpose()
}

/// `thread_id`'s last message's seq (0: none yet; the thread must exist):
/// how far a receipt may go.
pub async fn last_seq(db: &AnyPool, thread_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT last_seq FROM threads WHERE thread_id = $1")
        .bind(thread_id)
        .fetch_one(db)
        .await
}

/// On PostgreSQL, lifts `activity_base.xid_offset` so every activity taken
/// from now on is above every one stored (a database restored into a new
/// cluster starts its transaction ids lower); whether it had to. Run at
/// start; nothing on SQLite.
pub async fn raise_activity_base(db: &AnyPool) -> Result<bool, sqlx::Error> {
    if Backend::of(db) == Backend::Sqlite {
        return Ok(false);
    }
    let raised = sqlx::query(
        "UPDATE activity_base SET xid_offset = (SELECT COALESCE(MAX(activity), 0) FROM threads)
                                              - pg_current_xact_id()::text::bigint + 1
         WHERE (SELECT COALESCE(MAX(activity), 0) FROM threads)
               >= pg_current_xact_id()::text::bigint + xid_offset",
    )
    .execute(db)
    .await?;
    Ok(raised.rows_affected() == 1)
}
