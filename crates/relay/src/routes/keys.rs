//! Public bundles: publish your own; fetch the clinic's, or a thread mate's,
//! and the whole hash-chained history behind it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::events::Event;
use ward_proto::keys::{BundleResponse, KeyHistoryEntry, KeyHistoryResponse, PublishBundleRequest};
use ward_seal::keys::PublicBundle;

use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::history::{Published, publish_bundle};
use crate::{AppState, store};

/// `PUT /v1/keys/me`: needs a recent sign-in (step-up): a new bundle
/// changes what everyone else encrypts to. The same bundle again changes
/// nothing; a different one is appended to the account's key history,
/// recorded in its account history, and announced (`key_changed`) to
/// everyone sharing a thread with it.
#[utoipa::path(put, path = "/v1/keys/me", tag = "keys", request_body = ward_proto::keys::PublishBundleRequest, responses((status = 204, description = "Done"), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 403, description = "Forbidden, or step-up required", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<PublishBundleRequest>,
) -> Result<StatusCode, ApiError> {
    session.require_recent_sign_in()?;
    let bundle = PublicBundle::from_bytes(&request.bundle.0).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidBundle,
            format!("The key bundle was refused ({e}). Generate it again with this account's id."),
        )
    })?;
    if bundle.account_id() != session.account_id {
        return Err(ApiError::forbidden(
            "A bundle can only be published by the account it names.",
        ));
    }
    let published = publish_bundle(
        &state.db,
        &session.account_id,
        &session.session_id,
        &request.bundle.0,
    )
    .await?;
    match published {
        Published::Unchanged => {}
        Published::First => {
            tracing::info!(account_id = session.account_id, "key bundle published");
            // A caregiver's first keys: the patients they help can seal
            // thread keys to them now. Their open devices read the grant
            // again, and share what the caregiver's scope gives them
            // (all threads) without waiting for their next visit.
            if session.kind == ward_proto::threads::Role::Caregiver {
                let now = state.clock.now_ms();
                for helped in
                    store::caregivers::helped_by(&state.db, &session.account_id, now).await?
                {
                    state.events.publish(
                        vec![helped.patient_id.clone()],
                        &Event::GrantChanged {
                            patient_id: helped.patient_id,
                        },
                    );
                }
            }
        }
        Published::Changed(seq) => {
            tracing::info!(account_id = session.account_id, seq, "key bundle changed");
            let mates = store::keys::thread_mates(&state.db, &session.account_id).await?;
            if !mates.is_empty() {
                state.events.publish(
                    mates,
                    &Event::KeyChanged {
                        account_id: session.account_id.clone(),
                    },
                );
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `caller` may see `account_id`'s keys: their own, a clinic's, or
/// an account sharing a thread with them.
async fn visible(state: &AppState, caller: &str, account_id: &str) -> Result<bool, ApiError> {
    Ok(store::keys::visible(&state.db, caller, account_id).await?)
}

fn seconds(ms: i64) -> u64 {
    u64::try_from(ms / 1000).unwrap_or(0)
}

/// `GET /v1/keys/{account_id}`: the caller's own, a clinic's, or that of an
/// account sharing a thread with the caller; 404 for anyone else. With the
/// seq and hash of the key-history entry that holds it.
#[utoipa::path(get, path = "/v1/keys/{account_id}", tag = "keys", params(("account_id" = String, Path, description = "The account")), responses((status = 200, description = "OK", body = ward_proto::keys::BundleResponse), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn fetch(
    State(state): State<AppState>,
    session: Session,
    Path(account_id): Path<String>,
) -> Result<Json<BundleResponse>, ApiError> {
    if !visible(&state, &session.account_id, &account_id).await? {
        return Err(ApiError::not_found("key bundle"));
    }
    current(&state, account_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("key bundle"))
}

/// `account_id`'s current bundle, if it published one.
async fn current(state: &AppState, account_id: String) -> Result<Option<BundleResponse>, ApiError> {
    let Some(current) = store::history::current_bundle(&state.db, &account_id).await? else {
        return Ok(None);
    };
    Ok(Some(BundleResponse {
        account_id,
        bundle: Bytes(current.bundle),
        published_at: seconds(current.published_at),
        seq: u64::try_from(current.seq).unwrap_or(0),
        head: Bytes(current.hash),
    }))
}

/// `GET /v1/keys/me`: the caller's own current bundle, or `null` before
/// its first publish: an answer rather than a 404, since a new account
/// asks this on its way to publishing (a 404 is an error in the
/// browser's console).
#[utoipa::path(get, path = "/v1/keys/me", tag = "keys", responses((status = 200, description = "OK: the bundle, or null before the account's first", body = Option<ward_proto::keys::BundleResponse>)), security(("session" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Option<BundleResponse>>, ApiError> {
    Ok(Json(current(&state, session.account_id).await?))
}

/// `GET /v1/keys/{account_id}/history`: every bundle the account published,
/// oldest first, hash-chained; visible to exactly those who may fetch its
/// bundle (404 otherwise).
#[utoipa::path(get, path = "/v1/keys/{account_id}/history", tag = "keys", params(("account_id" = String, Path, description = "The account")), responses((status = 200, description = "OK", body = ward_proto::keys::KeyHistoryResponse), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn history(
    State(state): State<AppState>,
    session: Session,
    Path(account_id): Path<String>,
) -> Result<Json<KeyHistoryResponse>, ApiError> {
    if !visible(&state, &session.account_id, &account_id).await? {
        return Err(ApiError::not_found("key bundle"));
    }
    let entries: Vec<KeyHistoryEntry> = store::history::bundles(&state.db, &account_id)
        .await?
        .into_iter()
        .map(|entry| KeyHistoryEntry {
            seq: u64::try_from(entry.seq).unwrap_or(0),
            bundle: Bytes(entry.bundle),
            hash: Bytes(entry.hash),
            published_at: seconds(entry.published_at),
        })
        .collect();
    if entries.is_empty() {
        return Err(ApiError::not_found("key bundle"));
    }
    Ok(Json(KeyHistoryResponse {
        account_id,
        entries,
    }))
}
