//! Lockout with backoff after repeated failures, per key (an account, an
//! enrollment, a source address). Applies to every code and login attempt.

use sqlx::Row;

use crate::AppState;
use crate::error::ApiError;
use crate::secrets::now_ms;

/// Failures allowed before the first lock.
const FREE_FAILURES: i64 = 5;
/// The first lock; each further failure doubles it, up to [`MAX_LOCK_MS`].
const BASE_LOCK_MS: i64 = 30_000;
const MAX_LOCK_MS: i64 = 3_600_000;
/// Failures older than this (with no lock in force) are forgotten (and
/// their row deleted by [`crate::sweep::expired`]).
pub(crate) const QUIET_MS: i64 = 3_600_000;

/// Refuses with 429 while `key` is locked.
pub async fn check(state: &AppState, key: &str) -> Result<(), ApiError> {
    let locked_until: Option<i64> = sqlx::query("SELECT locked_until FROM attempts WHERE key = ?")
        .bind(key)
        .fetch_optional(&state.db)
        .await?
        .map(|row| row.get("locked_until"));
    let now = now_ms();
    match locked_until {
        Some(until) if until > now => Err(ApiError::locked_out(
            u64::try_from((until - now) / 1000 + 1).unwrap_or(1),
        )),
        _ => Ok(()),
    }
}

/// Records a failure; locks `key` once it has failed too often.
pub async fn fail(state: &AppState, key: &str) -> Result<(), ApiError> {
    let now = now_ms();
    let failures: i64 = sqlx::query(
        "INSERT INTO attempts (key, failures, locked_until, last_failure_at) VALUES (?1, 1, 0, ?2)
         ON CONFLICT (key) DO UPDATE SET
             failures = CASE WHEN locked_until < ?2 AND last_failure_at < ?2 - ?3 THEN 1 ELSE failures + 1 END,
             last_failure_at = ?2
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(QUIET_MS)
    .fetch_one(&state.db)
    .await?
    .get("failures");
    if failures >= FREE_FAILURES {
        let doublings = u32::try_from((failures - FREE_FAILURES).min(16)).unwrap_or(16);
        let lock = BASE_LOCK_MS.saturating_mul(1 << doublings).min(MAX_LOCK_MS);
        sqlx::query("UPDATE attempts SET locked_until = ? WHERE key = ?")
            .bind(now_ms() + lock)
            .bind(key)
            .execute(&state.db)
            .await?;
    }
    Ok(())
}

/// Forgets `key`'s failures after a success.
pub async fn succeed(state: &AppState, key: &str) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM attempts WHERE key = ?")
        .bind(key)
        .execute(&state.db)
        .await?;
    Ok(())
}
