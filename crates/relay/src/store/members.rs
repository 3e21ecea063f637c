//! `thread_members`: who is in each thread and in what role. A removed
//! member's row stays (with `removed_at`), so a thread's history still
//! names them. Read marks are in [`super::receipts`], the inbox order in
//! [`super::inbox`].

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::threads::Role;

use crate::db::{Flag, Text};

/// A current member, as the thread shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Their account.
    pub account_id: String,
    /// Their role in the thread.
    pub role: Role,
    /// Their account's name.
    pub display_name: String,
    /// The last seq delivered to them.
    pub last_delivered_seq: i64,
    /// The last seq they read.
    pub last_read_seq: i64,
    /// When they last moved their read mark (Unix milliseconds).
    pub last_read_at: Option<i64>,
}

/// `account_id`'s role in `thread_id` if they are a current member: the
/// check on every thread call (`None`: the caller answers 404).
pub async fn role(
    db: &AnyPool,
    thread_id: &str,
    account_id: &str,
) -> Result<Option<Role>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Text<Role>>(
        "SELECT role FROM thread_members WHERE thread_id = $1 AND account_id = $2 AND removed_at IS NULL",
    )
    .bind(thread_id)
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .map(|Text(role)| role))
}

/// `thread_id`'s current members with their names and read marks, in the
/// order they joined.
pub async fn list(db: &AnyPool, thread_id: &str) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query(
        "SELECT m.account_id, m.role, a.display_name, m.last_delivered_seq, m.last_read_seq, m.last_read_at
         FROM thread_members m JOIN accounts a ON a.account_id = m.account_id
         WHERE m.thread_id = $1 AND m.removed_at IS NULL ORDER BY m.added_at, m.account_id",
    )
    .bind(thread_id)
    .fetch_all(db)
    .await?
    .iter()
    .map(|row| {
        Ok(Member {
            account_id: row.try_get("account_id")?,
            role: row.try_get::<Text<Role>, _>("role")?.0,
            display_name: row.try_get("display_name")?,
            last_delivered_seq: row.try_get("last_delivered_seq")?,
            last_read_seq: row.try_get("last_read_seq")?,
            last_read_at: row.try_get("last_read_at")?,
        })
    })
    .collect()
}

/// `thread_id`'s current members' accounts: who is told of its events.
pub async fn current(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    thread_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT account_id FROM thread_members WHERE thread_id = $1 AND removed_at IS NULL",
    )
    .bind(thread_id)
    .fetch_all(db)
    .await
}

/// Adds `account_id` to the new thread `thread_id` as `role` at `added_at`,
/// in its inbox at `activity`, inside the caller's transaction (the one
/// that starts the thread).
pub async fn add(
    conn: &mut AnyConnection,
    thread_id: &str,
    account_id: &str,
    role: Role,
    added_at: i64,
    activity: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO thread_members (thread_id, account_id, role, added_at, activity) VALUES ($1, $2, $3, $4, $5)")
        .bind(thread_id)
        .bind(account_id)
        .bind(Text(role))
        .bind(added_at)
        .bind(activity)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Adds caregiver `account_id` to `thread_id` at `added_at` (back, if they
/// were removed), placed in their inbox where the thread stands, inside
/// the caller's transaction (the one storing their sealed keys).
pub async fn add_caregiver(
    conn: &mut AnyConnection,
    thread_id: &str,
    account_id: &str,
    added_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO thread_members (thread_id, account_id, role, added_at, activity)
         VALUES ($1, $2, $4, $3, (SELECT activity FROM threads WHERE thread_id = $1))
         ON CONFLICT (thread_id, account_id) DO UPDATE SET removed_at = NULL, added_at = excluded.added_at, activity = excluded.activity",
    )
    .bind(thread_id)
    .bind(account_id)
    .bind(added_at)
    .bind(Text(Role::Caregiver))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks `account_id` removed from `thread_id` at `at`, inside the caller's
/// transaction (the one starting the epoch without them).
pub async fn remove(
    conn: &mut AnyConnection,
    thread_id: &str,
    account_id: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE thread_members SET removed_at = $1 WHERE thread_id = $2 AND account_id = $3",
    )
    .bind(at)
    .bind(thread_id)
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// [`move_to`]'s statement (SQLite's send writer runs it too).
pub(crate) const MOVE_TO: &str = "UPDATE thread_members SET activity = $1 WHERE thread_id = $2
     RETURNING account_id, removed_at IS NULL AS current";

/// Moves `thread_id` to `activity` in every member's inbox (the top: a new
/// message), inside the caller's transaction (the one storing it). Answers
/// the thread's current members, as of that transaction: the message's
/// live recipients, without another statement.
pub async fn move_to(
    conn: &mut AnyConnection,
    thread_id: &str,
    activity: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(MOVE_TO)
        .bind(activity)
        .bind(thread_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut current = Vec::with_capacity(rows.len());
    for row in rows {
        if row.try_get::<Flag, _>("current")?.0 {
            current.push(row.try_get("account_id")?);
        }
    }
    Ok(current)
}
