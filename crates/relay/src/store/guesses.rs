//! `guess_counts`: the guess and send budgets of [`crate::lockout`], one
//! counter per hashed key, in fixed windows.

use sqlx::{AnyPool, Row};

/// A counter just after counting one more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// How many in this window, this one included.
    pub count: i64,
    /// When the window ends (Unix milliseconds).
    pub window_end: i64,
}

/// Adds one to `key`'s counter (or starts a new window of `window_ms`
/// from `now`) and returns it, in one statement: parallel requests are
/// serialized by the row's lock (SQLite: its write lock), so a burst can
/// never count less than it guessed.
pub async fn add(db: &AnyPool, key: &str, now: i64, window_ms: i64) -> Result<Count, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO guess_counts (key, count, window_end) VALUES ($1, 1, $2 + $3)
         ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN guess_counts.window_end <= $2 THEN 1 ELSE guess_counts.count + 1 END,
             window_end = CASE WHEN guess_counts.window_end <= $2 THEN $2 + $3 ELSE guess_counts.window_end END
         RETURNING count, window_end",
    )
    .bind(key)
    .bind(now)
    .bind(window_ms)
    .fetch_one(db)
    .await?;
    Ok(Count {
        count: row.try_get("count")?,
        window_end: row.try_get("window_end")?,
    })
}

/// Forgets `key`'s counter: its owner proved themselves.
pub async fn clear(db: &AnyPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM guess_counts WHERE key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Gives back one guess on `key`'s counter (a right one), never below
/// zero: others' failures still count.
pub async fn refund(db: &AnyPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE guess_counts SET count = CASE WHEN count > 0 THEN count - 1 ELSE 0 END WHERE key = $1",
    )
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes the counters whose window ended at or before `now` (the next
/// attempt would start again from one anyway); how many.
pub async fn delete_ended(db: &AnyPool, now: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM guess_counts WHERE window_end <= $1")
            .bind(now)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
