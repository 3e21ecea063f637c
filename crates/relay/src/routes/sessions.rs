//! The caller's signed-in devices, and signing one out remotely.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sqlx::Row;
use ward_proto::account::AccountEventKind;
use ward_proto::auth::{SessionInfo, SessionList};

use crate::error::ApiError;
use crate::extract::Session;
use crate::secrets::now_ms;
use crate::{AppState, history};

/// `GET /v1/sessions`
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", responses((status = 200, description = "OK", body = ward_proto::auth::SessionList)), security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<SessionList>, ApiError> {
    let idle = i64::try_from(state.config.session_idle().as_millis()).unwrap_or(i64::MAX);
    let now = now_ms();
    let sessions = sqlx::query(
        "SELECT session_id, token_hash, user_agent, created_at, last_seen_at FROM sessions
         WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3
         ORDER BY created_at DESC",
    )
    .bind(&session.account_id)
    .bind(now)
    .bind(now.saturating_sub(idle))
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .map(|row| SessionInfo {
        session_id: row.get("session_id"),
        user_agent: row.get("user_agent"),
        created_at: u64::try_from(row.get::<i64, _>("created_at") / 1000).unwrap_or(0),
        last_seen_at: u64::try_from(row.get::<i64, _>("last_seen_at") / 1000).unwrap_or(0),
        current: row.get::<Vec<u8>, _>("token_hash") == session.token_hash,
    })
    .collect();
    Ok(Json(SessionList { sessions }))
}

/// `DELETE /v1/sessions/{session_id}`: signs that device out now.
#[utoipa::path(delete, path = "/v1/sessions/{session_id}", tag = "sessions", params(("session_id" = String, Path, description = "The session")), responses((status = 204, description = "Done"), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    session: Session,
    Path(session_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    let revoked = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE session_id = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(&session_id)
    .bind(&session.account_id)
    .execute(&mut *tx)
    .await?;
    if revoked.rows_affected() != 1 {
        return Err(ApiError::not_found("session"));
    }
    history::record_in(
        &mut tx,
        &session.account_id,
        AccountEventKind::SessionRevoked,
        Some(&session.session_id),
        Some(&session_id),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
