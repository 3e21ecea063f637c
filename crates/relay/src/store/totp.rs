//! `totp`: each account's authenticator-app seed (sealed under the relay's
//! secret), pending until confirmed, with the last time step used.

use sqlx::{AnyConnection, AnyPool, Row};

/// An account's authenticator app, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Set up but not confirmed yet.
    Pending,
    /// Confirmed: it signs in.
    Enabled,
}

/// A confirmed app's seed and last used step, for a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// The seed, sealed under the relay's secret.
    pub sealed: Vec<u8>,
    /// The last time step that signed in (a code is good once).
    pub last_step: i64,
}

/// `account_id`'s app, if it has one. One row per account:
/// `confirmed_at` is NULL while it is pending.
pub async fn state(db: &AnyPool, account_id: &str) -> Result<Option<State>, sqlx::Error> {
    let confirmed: Option<Option<i64>> =
        sqlx::query_scalar("SELECT confirmed_at FROM totp WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(db)
            .await?;
    Ok(confirmed.map(|at| match at {
        Some(_) => State::Enabled,
        None => State::Pending,
    }))
}

/// Stores a new pending seed for `account_id`, replacing any pending or
/// confirmed one (the caller refuses to replace a confirmed one).
pub async fn set_pending(db: &AnyPool, account_id: &str, sealed: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO totp (account_id, secret) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, confirmed_at = NULL, last_step = 0",
    )
    .bind(account_id)
    .bind(sealed)
    .execute(db)
    .await?;
    Ok(())
}

/// `account_id`'s pending seed (sealed), if it is setting one up.
pub async fn pending_seed(db: &AnyPool, account_id: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT secret FROM totp WHERE account_id = $1 AND confirmed_at IS NULL")
        .bind(account_id)
        .fetch_optional(db)
        .await
}

/// Confirms `account_id`'s pending app at `step`, inside the caller's
/// transaction; whether this call confirmed it (a parallel one may have).
pub async fn confirm(
    conn: &mut AnyConnection,
    account_id: &str,
    step: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let confirmed = sqlx::query(
        "UPDATE totp SET confirmed_at = $1, last_step = $2 WHERE account_id = $3 AND confirmed_at IS NULL",
    )
    .bind(now)
    .bind(step)
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    Ok(confirmed.rows_affected() == 1)
}

/// Removes `account_id`'s app, inside the caller's transaction; what it
/// was, if there was one (only a confirmed one is an account event).
pub async fn remove(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<State>, sqlx::Error> {
    sqlx::query("DELETE FROM totp WHERE account_id = $1 RETURNING confirmed_at")
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| {
            Ok(match row.try_get::<Option<i64>, _>("confirmed_at")? {
                Some(_) => State::Enabled,
                None => State::Pending,
            })
        })
        .transpose()
}

/// `account_id`'s confirmed app, if it has one.
pub async fn confirmed(db: &AnyPool, account_id: &str) -> Result<Option<Confirmed>, sqlx::Error> {
    sqlx::query(
        "SELECT secret, last_step FROM totp WHERE account_id = $1 AND confirmed_at IS NOT NULL",
    )
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .map(|row| {
        Ok(Confirmed {
            sealed: row.try_get("secret")?,
            last_step: row.try_get("last_step")?,
        })
    })
    .transpose()
}

/// Moves `account_id`'s last used step up to `step`; whether it moved (a
/// parallel sign-in with the same code may have taken it first).
pub async fn use_step(db: &AnyPool, account_id: &str, step: i64) -> Result<bool, sqlx::Error> {
    let stepped =
        sqlx::query("UPDATE totp SET last_step = $1 WHERE account_id = $2 AND last_step < $3")
            .bind(step)
            .bind(account_id)
            .bind(step)
            .execute(db)
            .await?;
    Ok(stepped.rows_affected() == 1)
}
