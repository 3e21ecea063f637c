//! `sessions`: signed-in devices, found by the hash of their token.

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::threads::Role;

use crate::db::Text;

/// A session to store.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    /// SHA-256 of its token (the token itself is never stored).
    pub token_hash: &'a [u8],
    /// Its public id (shown in the device list and the account history).
    pub session_id: &'a str,
    /// Whose.
    pub account_id: &'a str,
    /// When it starts (Unix milliseconds); also its first activity.
    pub now: i64,
    /// When it ends whatever happens (Unix milliseconds).
    pub expires_at: i64,
    /// The device's User-Agent, already shortened.
    pub user_agent: Option<&'a str>,
}

/// A session with its account's role, as found by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Whose.
    pub account_id: String,
    /// The account's role.
    pub kind: Role,
    /// Its public id.
    pub session_id: String,
    /// When it started (Unix milliseconds).
    pub created_at: i64,
    /// Its last counted activity (Unix milliseconds).
    pub last_seen_at: i64,
    /// When it ends whatever happens (Unix milliseconds).
    pub expires_at: i64,
}

/// A live session, as the device list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its public id.
    pub session_id: String,
    /// SHA-256 of its token (to mark the caller's own).
    pub token_hash: Vec<u8>,
    /// The device's User-Agent.
    pub user_agent: Option<String>,
    /// When it started (Unix milliseconds).
    pub created_at: i64,
    /// Its last counted activity (Unix milliseconds).
    pub last_seen_at: i64,
}

/// Stores a new session.
pub async fn insert(db: &AnyPool, session: NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, session_id, account_id, created_at, last_seen_at, expires_at, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(session.token_hash)
    .bind(session.session_id)
    .bind(session.account_id)
    .bind(session.now)
    .bind(session.now)
    .bind(session.expires_at)
    .bind(session.user_agent)
    .execute(db)
    .await?;
    Ok(())
}

/// The unrevoked session behind `token_hash`, with its account's role;
/// the caller checks its timeouts.
pub async fn find(db: &AnyPool, token_hash: &[u8]) -> Result<Option<Found>, sqlx::Error> {
    sqlx::query(
        "SELECT s.account_id, s.session_id, s.created_at, s.last_seen_at, s.expires_at, a.kind
         FROM sessions s JOIN accounts a ON a.account_id = s.account_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await?
    .map(|row| {
        Ok(Found {
            account_id: row.try_get("account_id")?,
            kind: row.try_get::<Text<Role>, _>("kind")?.0,
            session_id: row.try_get("session_id")?,
            created_at: row.try_get("created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Counts activity on the session behind `token_hash` (its idle timer).
pub async fn touch(db: &AnyPool, token_hash: &[u8], now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Which of `token_hashes` (at most [`crate::session_watch::CHUNK`])
/// belong to sessions that are unrevoked, unexpired and were active after
/// `idle_since`; those are marked as having a WebSocket open at `now`
/// (`socket_at`, the presence that holds back pushes: docs/push.md), which
/// counts as no activity. One statement, its list padded to the chunk size
/// with the last hash, so every call uses the same prepared statement.
pub async fn live_among(
    db: &AnyPool,
    token_hashes: &[Vec<u8>],
    now: i64,
    idle_since: i64,
) -> Result<std::collections::HashSet<Vec<u8>>, sqlx::Error> {
    const CHUNK: usize = crate::session_watch::CHUNK;
    /// The statement, with [`CHUNK`] placeholders for the hashes after the
    /// two times; written once.
    static LIVE_AMONG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let hashes: Vec<String> = (0..CHUNK).map(|n| format!("${}", n + 3)).collect();
        format!(
            "UPDATE sessions SET socket_at = $1 WHERE revoked_at IS NULL AND expires_at > $1 AND last_seen_at > $2 AND token_hash IN ({}) RETURNING token_hash",
            hashes.join(", ")
        )
    });
    let Some(last) = token_hashes.last() else {
        return Ok(std::collections::HashSet::new());
    };
    if token_hashes.len() > CHUNK {
        return Err(sqlx::Error::Protocol(format!(
            "at most {CHUNK} sessions are checked at once"
        )));
    }
    let mut query = sqlx::query(LIVE_AMONG.as_str()).bind(now).bind(idle_since);
    for n in 0..CHUNK {
        query = query.bind(token_hashes.get(n).unwrap_or(last).as_slice());
    }
    query
        .fetch_all(db)
        .await?
        .iter()
        .map(|row| row.try_get("token_hash"))
        .collect()
}

/// Ends the session behind `token_hash` (signing out), and deletes its
/// push subscription.
pub async fn revoke_token(db: &AnyPool, token_hash: &[u8], now: i64) -> Result<(), sqlx::Error> {
    let mut conn = db.acquire().await?;
    super::push::delete_for_token(&mut conn, token_hash).await?;
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `account_id`'s live sessions (unrevoked, unexpired, active after
/// `idle_since`), newest first.
pub async fn live_devices(
    db: &AnyPool,
    account_id: &str,
    now: i64,
    idle_since: i64,
) -> Result<Vec<Device>, sqlx::Error> {
    sqlx::query(
        "SELECT session_id, token_hash, user_agent, created_at, last_seen_at FROM sessions
         WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3
         ORDER BY created_at DESC",
    )
    .bind(account_id)
    .bind(now)
    .bind(idle_since)
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|row| {
        Ok(Device {
            session_id: row.try_get("session_id")?,
            token_hash: row.try_get("token_hash")?,
            user_agent: row.try_get("user_agent")?,
            created_at: row.try_get("created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
        })
    })
    .collect()
}

/// Ends `account_id`'s session `session_id` (removing a device, or a
/// device's lock) and, unless `keep_push` (the lock), deletes its push
/// subscription, inside the caller's transaction; its token hash if there
/// was such a live session.
pub async fn revoke_id(
    conn: &mut AnyConnection,
    account_id: &str,
    session_id: &str,
    keep_push: bool,
    now: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    if !keep_push {
        super::push::delete_for_session(conn, account_id, session_id).await?;
    }
    sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1 WHERE session_id = $2 AND account_id = $3 AND revoked_at IS NULL
         RETURNING token_hash",
    )
    .bind(now)
    .bind(session_id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await
}

/// Ends every session of `account_id` and deletes their push
/// subscriptions, inside the caller's transaction (a resumed enrollment:
/// only the newest session may go on); their token hashes.
pub async fn revoke_all(
    conn: &mut AnyConnection,
    account_id: &str,
    now: i64,
) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    super::push::delete_for_account(conn, account_id).await?;
    sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL
         RETURNING token_hash",
    )
    .bind(now)
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await
}

/// Deletes the sessions that expired or were revoked at or before `cutoff`
/// (the sweep keeps ended ones a while: an account's history may name
/// them); how many.
pub async fn delete_ended(db: &AnyPool, cutoff: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at <= $1")
            .bind(cutoff)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
