//! The caller's account history: what changed its keys, vault, passkeys and
//! authenticator app, and every sign-in and remote sign-out.

use axum::Json;
use axum::extract::State;
use ward_proto::account::{AccountEvent, AccountHistory};

use crate::error::ApiError;
use crate::extract::Session;
use crate::{AppState, store};

/// The most events one answer holds.
const MAX_EVENTS: i64 = 200;

/// `GET /v1/account/history`: newest first, at most 200.
#[utoipa::path(get, path = "/v1/account/history", tag = "account", responses((status = 200, description = "OK", body = ward_proto::account::AccountHistory)), security(("session" = [])))]
pub async fn history(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<AccountHistory>, ApiError> {
    let events = store::history::events(&state.db, &session.account_id, MAX_EVENTS)
        .await?
        .into_iter()
        .filter_map(|event| {
            Some(AccountEvent {
                seq: u64::try_from(event.seq).ok()?,
                kind: event.kind,
                at: u64::try_from(event.at / 1000).unwrap_or(0),
                session_id: event.session_id,
                detail: event.detail,
            })
        })
        .collect();
    Ok(Json(AccountHistory { events }))
}
