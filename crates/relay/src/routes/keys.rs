//! Public bundles: publish your own; fetch the clinic's, or a thread mate's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sqlx::Row;
use ward_proto::Bytes;
use ward_proto::keys::{BundleResponse, PublishBundleRequest};
use ward_seal::keys::PublicBundle;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::secrets::now_ms;

/// `PUT /v1/keys/me`
#[utoipa::path(put, path = "/v1/keys/me", tag = "keys", request_body = ward_proto::keys::PublishBundleRequest, responses((status = 204, description = "Done"), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<PublishBundleRequest>,
) -> Result<StatusCode, ApiError> {
    let bundle = PublicBundle::from_bytes(&request.bundle.0).map_err(|e| {
        ApiError::bad_request(
            "invalid_bundle",
            format!("The key bundle was refused ({e}). Generate it again with this account's id."),
        )
    })?;
    if bundle.account_id() != session.account_id {
        return Err(ApiError::forbidden(
            "A bundle can only be published by the account it names.",
        ));
    }
    sqlx::query(
        "INSERT INTO bundles (account_id, bundle, published_at) VALUES (?, ?, ?)
         ON CONFLICT (account_id) DO UPDATE SET bundle = excluded.bundle, published_at = excluded.published_at",
    )
    .bind(&session.account_id)
    .bind(&request.bundle.0)
    .bind(now_ms())
    .execute(&state.db)
    .await?;
    tracing::info!(account_id = session.account_id, "key bundle published");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/keys/{account_id}`: the caller's own, a clinic's, or that of an
/// account sharing a thread with the caller; 404 for anyone else.
#[utoipa::path(get, path = "/v1/keys/{account_id}", tag = "keys", params(("account_id" = String, Path, description = "The account")), responses((status = 200, description = "OK", body = ward_proto::keys::BundleResponse), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn fetch(
    State(state): State<AppState>,
    session: Session,
    Path(account_id): Path<String>,
) -> Result<Json<BundleResponse>, ApiError> {
    let row = sqlx::query(
        "SELECT b.bundle, b.published_at FROM bundles b JOIN accounts a ON a.account_id = b.account_id
         WHERE b.account_id = ?1 AND (
             ?1 = ?2 OR a.kind = 'clinic' OR EXISTS (
                 SELECT 1 FROM thread_members mine JOIN thread_members theirs ON theirs.thread_id = mine.thread_id
                 WHERE mine.account_id = ?2 AND theirs.account_id = ?1
                   AND mine.removed_at IS NULL AND theirs.removed_at IS NULL
             ))",
    )
    .bind(&account_id)
    .bind(&session.account_id)
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| ApiError::not_found("key bundle"))?;
    let published_at: i64 = row.get("published_at");
    Ok(Json(BundleResponse {
        account_id,
        bundle: Bytes(row.get("bundle")),
        published_at: u64::try_from(published_at / 1000).unwrap_or(0),
    }))
}
