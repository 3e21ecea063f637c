//! Sessions: random 256-bit tokens stored hashed, idle and absolute
//! timeouts, a new token on every sign-in, server-side revocation.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sqlx::Row;
use ward_proto::account::AccountEventKind;
use ward_proto::auth::SessionCreated;

use crate::error::ApiError;
use crate::extract::{Session, session_cookie_name};
use crate::secrets::{self, now_ms};
use crate::{AppState, history};

/// Starts a session for `account_id` and answers with its token (JSON, and
/// an `HttpOnly`, `SameSite=Strict` cookie for same-site use: named
/// `__Host-ward_session` and `Secure` over HTTPS).
pub async fn start(
    state: &AppState,
    account_id: &str,
    user_agent: Option<&str>,
) -> Result<Response, ApiError> {
    let token = secrets::token()?;
    let session_id = secrets::id("ses")?;
    let now = now_ms();
    let absolute = i64::try_from(state.config.session_absolute().as_millis()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(absolute);
    sqlx::query(
        "INSERT INTO sessions (token_hash, session_id, account_id, created_at, last_seen_at, expires_at, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(secrets::hash(&token))
    .bind(&session_id)
    .bind(account_id)
    .bind(now)
    .bind(now)
    .bind(expires_at)
    .bind(user_agent.map(|ua| ua.chars().take(200).collect::<String>()))
    .execute(&state.db)
    .await?;
    history::record(
        &state.db,
        account_id,
        AccountEventKind::SignedIn,
        Some(&session_id),
        user_agent
            .map(|ua| ua.chars().take(200).collect::<String>())
            .as_deref(),
    )
    .await?;
    let max_age = state.config.session_absolute().as_secs();
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        session_cookie_name(state),
        if state.https() { "; Secure" } else { "" }
    );
    let body = SessionCreated {
        account_id: account_id.to_owned(),
        token,
        expires_at: u64::try_from(expires_at / 1000).unwrap_or(0),
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The session behind `token`, if it is live; refreshes its idle timer.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Session, ApiError> {
    let token_hash = secrets::hash(token);
    let now = now_ms();
    let idle = i64::try_from(state.config.session_idle().as_millis()).unwrap_or(i64::MAX);
    let row = sqlx::query(
        "SELECT s.account_id, s.session_id, s.created_at, s.last_seen_at, s.expires_at, a.kind
         FROM sessions s JOIN accounts a ON a.account_id = s.account_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
    )
    .bind(&token_hash)
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(ApiError::not_signed_in)?;
    let last_seen: i64 = row.get("last_seen_at");
    let expires_at: i64 = row.get("expires_at");
    if now >= expires_at || now.saturating_sub(last_seen) >= idle {
        return Err(ApiError::not_signed_in());
    }
    // Refresh at most once a minute: a busy client does not write per request.
    if now - last_seen > 60_000 {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&token_hash)
            .execute(&state.db)
            .await?;
    }
    Ok(Session {
        account_id: row.get("account_id"),
        kind: row
            .try_get::<crate::db::Text<ward_proto::threads::Role>, _>("kind")?
            .0,
        token_hash,
        session_id: row.get("session_id"),
        created_at: row.get("created_at"),
    })
}

/// Whether the session behind `token` is still live, without counting this
/// as activity (a background WebSocket must not keep a session alive).
pub async fn is_live(state: &AppState, token: &str) -> Result<bool, ApiError> {
    let now = now_ms();
    let idle = i64::try_from(state.config.session_idle().as_millis()).unwrap_or(i64::MAX);
    let live: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3",
    )
    .bind(secrets::hash(token))
    .bind(now)
    .bind(now.saturating_sub(idle))
    .fetch_optional(&state.db)
    .await?;
    Ok(live.is_some())
}

/// Ends a session server-side.
pub async fn revoke(state: &AppState, token_hash: &[u8]) -> Result<(), ApiError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(token_hash)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie(state: &AppState) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        session_cookie_name(state),
        if state.https() { "; Secure" } else { "" }
    )
}
