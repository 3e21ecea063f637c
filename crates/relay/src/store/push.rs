//! `push_subscriptions`: one Web Push subscription per session's device,
//! and `sessions.socket_at`, the presence that decides whether a push is
//! needed at all (docs/push.md).

use sqlx::{AnyConnection, AnyPool, Row};

/// A subscription to store for a session.
#[derive(Debug, Clone, Copy)]
pub struct NewSubscription<'a> {
    /// The session (its device) it belongs to.
    pub session_id: &'a str,
    /// Whose.
    pub account_id: &'a str,
    /// The push service's URL for it.
    pub endpoint: &'a str,
    /// The device's P-256 public key (65 bytes).
    pub p256dh: &'a [u8],
    /// The authentication secret (16 bytes).
    pub auth: &'a [u8],
    /// Now (Unix milliseconds).
    pub now: i64,
}

/// A stored subscription, as the push worker sends to it.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// The session it belongs to.
    pub session_id: String,
    /// The push service's URL for it.
    pub endpoint: String,
    /// The device's P-256 public key.
    pub p256dh: Vec<u8>,
    /// The authentication secret.
    pub auth: Vec<u8>,
}

/// The endpoint is a capability and `auth` a secret: only the session is
/// printed.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

fn target(row: &sqlx::any::AnyRow) -> Result<Target, sqlx::Error> {
    Ok(Target {
        session_id: row.try_get("session_id")?,
        endpoint: row.try_get("endpoint")?,
        p256dh: row.try_get("p256dh")?,
        auth: row.try_get("auth")?,
    })
}

/// Stores `new` as its session's subscription, replacing the one it had,
/// and removes the same endpoint from any other session (a device signed
/// in again keeps one subscription, on its newest session), in one
/// transaction.
pub async fn put(db: &AnyPool, new: NewSubscription<'_>) -> Result<(), sqlx::Error> {
    let mut tx = crate::db::begin_write(db, new.account_id).await?;
    sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1 AND session_id <> $2")
        .bind(new.endpoint)
        .bind(new.session_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO push_subscriptions (session_id, account_id, endpoint, p256dh, auth, created_at, tested_at)
         VALUES ($1, $2, $3, $4, $5, $6, NULL)
         ON CONFLICT (session_id) DO UPDATE SET account_id = excluded.account_id,
             endpoint = excluded.endpoint, p256dh = excluded.p256dh, auth = excluded.auth,
             created_at = excluded.created_at",
    )
    .bind(new.session_id)
    .bind(new.account_id)
    .bind(new.endpoint)
    .bind(new.p256dh)
    .bind(new.auth)
    .bind(new.now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Whether `session_id` has a subscription.
pub async fn exists(db: &AnyPool, session_id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM push_subscriptions WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(db)
            .await?
            .is_some(),
    )
}

/// Deletes `session_id`'s subscription, if any.
pub async fn delete(db: &AnyPool, session_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_subscriptions WHERE session_id = $1")
        .bind(session_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes `session_id`'s subscription if it still has `endpoint` (the
/// push service answered 404 or 410 for it); whether it did.
pub async fn delete_gone(
    db: &AnyPool,
    session_id: &str,
    endpoint: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM push_subscriptions WHERE session_id = $1 AND endpoint = $2")
            .bind(session_id)
            .bind(endpoint)
            .execute(db)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Deletes the subscription of the session behind `token_hash` (it is
/// being signed out), inside the caller's transaction or on its own.
pub async fn delete_for_token(
    conn: &mut AnyConnection,
    token_hash: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM push_subscriptions
         WHERE session_id IN (SELECT session_id FROM sessions WHERE token_hash = $1)",
    )
    .bind(token_hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes `account_id`'s subscription for `session_id` (that session is
/// being revoked), inside the caller's transaction.
pub async fn delete_for_session(
    conn: &mut AnyConnection,
    account_id: &str,
    session_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_subscriptions WHERE session_id = $1 AND account_id = $2")
        .bind(session_id)
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes every subscription of `account_id` (all its sessions are being
/// revoked), inside the caller's transaction.
pub async fn delete_for_account(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_subscriptions WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What asking for a test notification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tested {
    /// The session has no subscription.
    None,
    /// The last test was at this time (Unix milliseconds), too recently.
    TooSoon(i64),
    /// Marked as tested now: send to it.
    Send(Target),
}

/// Marks `session_id`'s subscription as tested at `now` unless it was
/// tested after `since` (one statement, so two relays cannot both pass).
pub async fn mark_tested(
    db: &AnyPool,
    session_id: &str,
    now: i64,
    since: i64,
) -> Result<Tested, sqlx::Error> {
    let marked = sqlx::query(
        "UPDATE push_subscriptions SET tested_at = $1
         WHERE session_id = $2 AND (tested_at IS NULL OR tested_at <= $3)
         RETURNING session_id, endpoint, p256dh, auth",
    )
    .bind(now)
    .bind(session_id)
    .bind(since)
    .fetch_optional(db)
    .await?;
    if let Some(row) = marked {
        return Ok(Tested::Send(target(&row)?));
    }
    let last: Option<Option<i64>> =
        sqlx::query_scalar("SELECT tested_at FROM push_subscriptions WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(db)
            .await?;
    Ok(match last {
        None => Tested::None,
        Some(at) => Tested::TooSoon(at.unwrap_or(now)),
    })
}

/// `account_id`'s subscriptions, or none at all if any of its unrevoked
/// sessions had a WebSocket open after `live_since` (it hears events live;
/// a push would only repeat them). A subscription outlives a session that
/// was locked or timed out (the device is still the patient's); signing
/// out and removing the device delete it.
pub async fn targets(
    db: &AnyPool,
    account_id: &str,
    live_since: i64,
) -> Result<Vec<Target>, sqlx::Error> {
    sqlx::query(
        "SELECT p.session_id, p.endpoint, p.p256dh, p.auth
         FROM push_subscriptions p
         WHERE p.account_id = $1
           AND NOT EXISTS (SELECT 1 FROM sessions l
                           WHERE l.account_id = $1 AND l.revoked_at IS NULL AND l.socket_at > $2)",
    )
    .bind(account_id)
    .bind(live_since)
    .fetch_all(db)
    .await?
    .iter()
    .map(target)
    .collect()
}

/// How many messages from others `account_id` has not read, over all the
/// threads it is in (the app's badge).
pub async fn unread_total(db: &AnyPool, account_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM thread_members m
         JOIN envelopes e ON e.thread_id = m.thread_id AND e.seq > m.last_read_seq
         WHERE m.account_id = $1 AND m.removed_at IS NULL AND e.sender_id <> $1",
    )
    .bind(account_id)
    .fetch_one(db)
    .await
}

/// Marks the session behind `token_hash` as having a WebSocket open at `now`.
pub async fn socket_open(db: &AnyPool, token_hash: &[u8], now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET socket_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks the session behind `token_hash` as having no WebSocket open.
pub async fn socket_closed(db: &AnyPool, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET socket_at = NULL WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}
