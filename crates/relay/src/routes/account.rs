//! The caller's account history: what changed its keys, vault, passkeys and
//! authenticator app, and every sign-in and remote sign-out.

use axum::Json;
use axum::extract::State;
use sqlx::Row;
use ward_proto::account::{AccountEvent, AccountHistory};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Session;
use crate::history::kind_from_name;

/// The most events one answer holds.
const MAX_EVENTS: i64 = 200;

/// `GET /v1/account/history`: newest first, at most 200.
#[utoipa::path(get, path = "/v1/account/history", tag = "account", responses((status = 200, description = "OK", body = ward_proto::account::AccountHistory)), security(("session" = [])))]
pub async fn history(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<AccountHistory>, ApiError> {
    let events = sqlx::query(
        "SELECT seq, kind, at, session_id, detail FROM account_events
         WHERE account_id = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(&session.account_id)
    .bind(MAX_EVENTS)
    .fetch_all(&state.db)
    .await?
    .iter()
    .filter_map(|row| {
        Some(AccountEvent {
            seq: u64::try_from(row.get::<i64, _>("seq")).ok()?,
            kind: kind_from_name(&row.get::<String, _>("kind"))?,
            at: u64::try_from(row.get::<i64, _>("at") / 1000).unwrap_or(0),
            session_id: row.get("session_id"),
            detail: row.get("detail"),
        })
    })
    .collect();
    Ok(Json(AccountHistory { events }))
}
