//! An account's inbox: its threads in the relay-wide activity order, read
//! from `thread_members.activity` through the `thread_members_inbox` index
//! (account, activity, thread), paged as of a snapshot of the counter.

use sqlx::{AnyConnection, Row};

/// A thread's place in an inbox. Ordered by activity, then thread id: the
/// order pages are served in (newest first is the reverse).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// Its activity-counter value (as of the snapshot, for a moved one).
    pub activity: i64,
    /// The thread.
    pub thread_id: String,
}

/// One page of the caller's inbox, as of `snapshot`, after `(position,
/// thread_id)` (the newest first): the threads whose activity is at most
/// `snapshot` walk the `thread_members_inbox` index (account, activity,
/// thread) backward.
const INBOX_PAGE: &str = "SELECT thread_id, activity FROM thread_members
     WHERE account_id = $1 AND removed_at IS NULL AND activity <= $2
       AND (activity < $3 OR (activity = $3 AND thread_id < $4))
     ORDER BY activity DESC, thread_id DESC LIMIT $5";

/// The caller's threads that had activity after `snapshot`, each at its
/// position as of `snapshot`: its newest message then, else its creation;
/// one started after it, at `snapshot` itself (on PostgreSQL a thread
/// started a moment ago can be above the snapshot, see
/// [`super::threads::latest_activity`]). Few: only what changed while paging.
const INBOX_MOVED: &str = "SELECT thread_id,
         CASE WHEN base_activity > $2 THEN $2
              WHEN base_activity > last_activity THEN base_activity
              ELSE last_activity END AS activity
     FROM (SELECT m.thread_id, t.base_activity, COALESCE((
               SELECT e.activity FROM envelopes e
               WHERE e.thread_id = m.thread_id AND (e.activity IS NULL OR e.activity <= $2)
               ORDER BY e.seq DESC LIMIT 1), 0) AS last_activity
           FROM thread_members m JOIN threads t ON t.thread_id = m.thread_id
           WHERE m.account_id = $1 AND m.removed_at IS NULL AND m.activity > $2) AS moved";

fn entries(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<Entry>, sqlx::Error> {
    rows.iter()
        .map(|row| {
            Ok(Entry {
                activity: row.try_get("activity")?,
                thread_id: row.try_get("thread_id")?,
            })
        })
        .collect()
}

/// Up to `limit` of `account_id`'s threads with activity at most
/// `snapshot` and before `(before, before_id)`, newest first, inside the
/// caller's read transaction (the one that took the snapshot).
pub async fn page(
    conn: &mut AnyConnection,
    account_id: &str,
    snapshot: i64,
    before: i64,
    before_id: &str,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = sqlx::query(INBOX_PAGE)
        .bind(account_id)
        .bind(snapshot)
        .bind(before)
        .bind(before_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    entries(rows)
}

/// `account_id`'s threads that moved (or started) after `snapshot`, each
/// where it stood at `snapshot`, inside the caller's read transaction: so
/// a thread is served once, where it was when paging began.
pub async fn moved(
    conn: &mut AnyConnection,
    account_id: &str,
    snapshot: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = sqlx::query(INBOX_MOVED)
        .bind(account_id)
        .bind(snapshot)
        .fetch_all(&mut *conn)
        .await?;
    entries(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// An inbox page walks the `thread_members_inbox` index backward (no
    /// sort of the account's threads), and the threads that moved since
    /// the snapshot are found by a range of it.
    #[tokio::test]
    async fn inbox_pages_use_the_inbox_index() {
        let (_data, db) = crate::store::query_plans::scratch().await;
        for (sql, binds) in [(INBOX_PAGE, 5), (INBOX_MOVED, 2)] {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query = sqlx::query(&explain).bind("acc_x").bind(10_i64);
            if binds == 5 {
                query = query.bind(8_i64).bind("thr_x").bind(101_i64);
            }
            let plan = crate::store::query_plans::steps(&db, query).await;
            assert!(
                plan.iter().any(|step| step.contains("USING")
                    && step.contains("thread_members_inbox")
                    && step.contains("account_id=? AND activity")),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "{sql}: {plan:?}"
            );
        }
    }
}
