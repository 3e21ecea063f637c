//! The caller's encrypted vault, with compare-and-swap writes.

use axum::Json;
use axum::extract::State;
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::account::AccountEventKind;
use ward_proto::vault::{PutVaultRequest, VaultResponse, VaultStored};

use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::secrets::now_ms;
use crate::{AppState, history, store};

/// The largest vault accepted: a few keys and wraps, with room to spare.
const MAX_VAULT_BYTES: usize = 16 * 1024;

/// `GET /v1/vault`
#[utoipa::path(get, path = "/v1/vault", tag = "vault", responses((status = 200, description = "OK", body = ward_proto::vault::VaultResponse), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<VaultResponse>, ApiError> {
    let stored = store::vaults::get(&state.db, &session.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("vault"))?;
    Ok(Json(VaultResponse {
        version: u64::try_from(stored.version).unwrap_or(0),
        vault: Bytes(stored.vault),
    }))
}

/// `PUT /v1/vault`: needs a recent sign-in (step-up): the vault decides
/// how the account's keys unlock. Only over `expected_version`; a stale
/// write gets 409 and changes nothing. Recorded in the account history.
#[utoipa::path(put, path = "/v1/vault", tag = "vault", request_body = ward_proto::vault::PutVaultRequest, responses((status = 200, description = "OK", body = ward_proto::vault::VaultStored), (status = 403, description = "Step-up required", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn put(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<PutVaultRequest>,
) -> Result<Json<VaultStored>, ApiError> {
    session.require_recent_sign_in()?;
    if request.vault.0.is_empty() || request.vault.0.len() > MAX_VAULT_BYTES {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidVault,
            "The vault is empty or larger than 16 KiB.",
        ));
    }
    let expected = i64::try_from(request.expected_version).map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidVersion,
            "expected_version is out of range.",
        )
    })?;
    let now = now_ms();
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    let written = store::vaults::compare_and_swap(
        &mut tx,
        &session.account_id,
        expected,
        &request.vault.0,
        now,
    )
    .await?;
    if written.is_none() {
        return Err(ApiError::conflict(
            ErrorCode::VaultStale,
            "Your account's keys were changed on another device. Nothing was overwritten; reload and try again.",
        ));
    }
    let detail = format!("vault version {}", request.expected_version + 1);
    history::record_in(
        &mut tx,
        &session.account_id,
        AccountEventKind::VaultChanged,
        Some(&session.session_id),
        Some(&detail),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(VaultStored {
        version: request.expected_version + 1,
    }))
}
