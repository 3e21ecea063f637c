//! The caller's signed-in devices, and signing one out remotely.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ward_proto::account::AccountEventKind;
use ward_proto::auth::{SessionInfo, SessionList};

use crate::error::ApiError;
use crate::extract::Session;
use crate::secrets::now_ms;
use crate::{AppState, history, store};

/// `GET /v1/sessions`
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions", responses((status = 200, description = "OK", body = ward_proto::auth::SessionList)), security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<SessionList>, ApiError> {
    let idle = i64::try_from(state.config.session_idle().as_millis()).unwrap_or(i64::MAX);
    let now = now_ms();
    let sessions = store::sessions::live_devices(
        &state.db,
        &session.account_id,
        now,
        now.saturating_sub(idle),
    )
    .await?
    .into_iter()
    .map(|device| SessionInfo {
        current: device.token_hash == session.token_hash,
        session_id: device.session_id,
        user_agent: device.user_agent,
        created_at: u64::try_from(device.created_at / 1000).unwrap_or(0),
        last_seen_at: u64::try_from(device.last_seen_at / 1000).unwrap_or(0),
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
    // A device ending its own session is Ward's lock: the patient still
    // wants to hear that the clinic replied, so its push subscription stays
    // (a new sign-in moves it to the new session). Removing another device
    // ends its notifications too.
    let keep_push = session_id == session.session_id;
    let Some(revoked) = store::sessions::revoke_id(
        &mut tx,
        &session.account_id,
        &session_id,
        keep_push,
        now_ms(),
    )
    .await?
    else {
        return Err(ApiError::not_found("session"));
    };
    history::record_in(
        &mut tx,
        &session.account_id,
        AccountEventKind::SessionRevoked,
        Some(&session.session_id),
        Some(&session_id),
    )
    .await?;
    tx.commit().await?;
    // That device's live connections here close now; on other relays, at
    // their next check.
    state.session_watch.end(&revoked);
    Ok(StatusCode::NO_CONTENT)
}
