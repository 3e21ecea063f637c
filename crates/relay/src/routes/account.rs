//! The caller's account history: what changed its keys, vault, passkeys and
//! authenticator app, and every sign-in and remote sign-out; and the
//! clinic's legal hold on an account.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use ward_proto::Bytes;
use ward_proto::ErrorCode;
use ward_proto::account::{
    AccountEvent, AccountEventKind, AccountHistory, LegalHold, LegalHoldRequest,
};
use ward_proto::threads::Role;

use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::{AppState, store};

/// The most events one answer holds.
const MAX_EVENTS: u32 = 200;

/// `GET .../history` query: `before` (the previous page's
/// `earlier_cursor`) and `limit` (1 to 200, default 200).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    before: Option<u64>,
    limit: Option<u32>,
}

/// The query, or a specific refusal of it.
fn history_query(
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<HistoryQuery, ApiError> {
    query.map(|Query(query)| query).map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "Use ?limit=<1 to 200> and ?before=<the previous page's earlier_cursor>, and nothing else.",
        )
    })
}

/// One page of `account_id`'s log, newest first, as served (with their
/// links).
async fn log_of(
    state: &AppState,
    account_id: &str,
    query: &HistoryQuery,
) -> Result<AccountHistory, ApiError> {
    let limit = query.limit.unwrap_or(MAX_EVENTS).clamp(1, MAX_EVENTS);
    let before = query
        .before
        .map(|seq| i64::try_from(seq).unwrap_or(i64::MAX));
    let events: Vec<AccountEvent> =
        store::history::events(&state.db, account_id, before, i64::from(limit))
            .await?
            .into_iter()
            .filter_map(|event| {
                Some(AccountEvent {
                    seq: u64::try_from(event.seq).ok()?,
                    kind: event.kind,
                    at: u64::try_from(event.at / 1000).unwrap_or(0),
                    at_ms: event.at,
                    session_id: event.session_id,
                    detail: event.detail,
                    hash: Bytes(event.hash),
                })
            })
            .collect();
    // Seqs start at 0 with no gaps: an oldest entry above 0 has older ones.
    let earlier_cursor = events.last().map(|e| e.seq).filter(|seq| *seq > 0);
    Ok(AccountHistory {
        events,
        earlier_cursor,
    })
}

/// `GET /v1/account/history`: the caller's access log, newest first, a
/// page of at most 200, each entry with its link so the reader can verify
/// the chain.
#[utoipa::path(
    get,
    path = "/v1/account/history",
    tag = "account",
    params(
        ("before" = Option<u64>, Query, description = "The previous page's `earlier_cursor`: the entries just older than it. Leave out for the newest."),
        ("limit" = Option<u32>, Query, description = "At most this many (1 to 200, default 200)")
    ),
    responses(
        (status = 200, description = "OK: newest first; `earlier_cursor` is absent once the page reaches the first entry", body = ward_proto::account::AccountHistory),
        (status = 400, description = "`invalid_query`: a parameter other than `before` and `limit`, or not a number", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AccountHistory>, ApiError> {
    let query = history_query(query)?;
    Ok(Json(log_of(&state, &session.account_id, &query).await?))
}

/// `POST /v1/account/recovery-code-used`: the caller's app opened the
/// account with its recovery code (the relay never sees the code, so the
/// app says so), for the access log. Once per session: a second report is
/// accepted and changes nothing.
#[utoipa::path(post, path = "/v1/account/recovery-code-used", tag = "account", responses((status = 204, description = "Recorded")), security(("session" = [])))]
pub async fn recovery_code_used(
    State(state): State<AppState>,
    session: Session,
) -> Result<axum::http::StatusCode, ApiError> {
    let mut tx = crate::db::begin_write(&state.db, &session.account_id).await?;
    let already = store::history::has_from_session(
        &mut *tx,
        &session.account_id,
        AccountEventKind::RecoveryCodeUsed,
        &session.session_id,
    )
    .await?;
    if !already {
        crate::history::record_in(
            &mut tx,
            &session.account_id,
            AccountEventKind::RecoveryCodeUsed,
            Some(&session.session_id),
            None,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `GET /v1/accounts/{account_id}/history` (the clinic only): an
/// account's access log, as its owner sees it, for an audit.
#[utoipa::path(
    get,
    path = "/v1/accounts/{account_id}/history",
    tag = "account",
    params(
        ("account_id" = String, Path, description = "The account audited"),
        ("before" = Option<u64>, Query, description = "The previous page's `earlier_cursor`: the entries just older than it. Leave out for the newest."),
        ("limit" = Option<u32>, Query, description = "At most this many (1 to 200, default 200)")
    ),
    responses(
        (status = 200, description = "OK: newest first; `earlier_cursor` is absent once the page reaches the first entry", body = ward_proto::account::AccountHistory),
        (status = 400, description = "`invalid_query`: a parameter other than `before` and `limit`, or not a number", body = ward_proto::ErrorBody),
        (status = 403, description = "Forbidden: only the clinic audits accounts", body = ward_proto::ErrorBody),
        (status = 404, description = "No such account", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    session: Session,
    Path(account_id): Path<String>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AccountHistory>, ApiError> {
    if session.kind != Role::Clinic {
        return Err(ApiError::forbidden(
            "Only the clinic can read another account's access log.",
        ));
    }
    let query = history_query(query)?;
    crate::bounds::id("account id", &account_id)?;
    if !store::accounts::exists(&state.db, &account_id).await? {
        return Err(ApiError::not_found("account"));
    }
    tracing::info!(target: "ward_relay::access", account_id, by = session.account_id, "access log read for an audit");
    Ok(Json(log_of(&state, &account_id, &query).await?))
}

/// `PUT /v1/accounts/{account_id}/legal-hold` (the clinic only): holds or
/// releases every thread the account is or was a member of from retention.
#[utoipa::path(
    put,
    path = "/v1/accounts/{account_id}/legal-hold",
    tag = "account",
    request_body = ward_proto::account::LegalHoldRequest,
    params(("account_id" = String, Path, description = "The account to hold or release")),
    responses(
        (status = 200, description = "OK: the hold as stored now", body = ward_proto::account::LegalHold),
        (status = 403, description = "Forbidden: only the clinic sets legal holds", body = ward_proto::ErrorBody),
        (status = 404, description = "No such account", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn legal_hold(
    State(state): State<AppState>,
    session: Session,
    Path(account_id): Path<String>,
    JsonBody(request): JsonBody<LegalHoldRequest>,
) -> Result<Json<LegalHold>, ApiError> {
    if session.kind != Role::Clinic {
        return Err(ApiError::forbidden(
            "Only the clinic can put an account on legal hold or release it.",
        ));
    }
    crate::bounds::id("account id", &account_id)?;
    // The retention sweep holds this lock while it prunes a thread: once
    // this answers, no pruning that missed the hold is still running.
    let mut tx = crate::db::begin_write(&state.db, crate::db::RETENTION).await?;
    if !store::accounts::set_legal_hold(&mut tx, &account_id, request.hold).await? {
        return Err(ApiError::not_found("account"));
    }
    tx.commit().await?;
    // The account-event kinds are fixed by a CHECK in the schema, so the
    // hold is recorded in the relay's log (the access log for now).
    tracing::info!(
        target: "ward_relay::access",
        account_id,
        hold = request.hold,
        by = session.account_id,
        "legal hold changed"
    );
    Ok(Json(LegalHold {
        account_id,
        hold: request.hold,
    }))
}

/// `PUT /v1/accounts/{account_id}/birth-date` (the clinic): records a
/// patient's birth date, which makes them a minor until 18 (from 13 to 17
/// a guardian the clinic appoints waits for their agreement), or removes
/// it (`null`).
#[utoipa::path(
    put,
    path = "/v1/accounts/{account_id}/birth-date",
    tag = "account",
    request_body = ward_proto::caregivers::BirthDateRequest,
    params(("account_id" = String, Path, description = "The patient")),
    responses(
        (status = 204, description = "Recorded"),
        (status = 403, description = "Forbidden: only the clinic records birth dates", body = ward_proto::ErrorBody),
        (status = 404, description = "No such patient", body = ward_proto::ErrorBody),
        (status = 422, description = "`invalid_field`: not a YYYY-MM-DD date from 1900 to today", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn birth_date(
    State(state): State<AppState>,
    session: Session,
    Path(account_id): Path<String>,
    JsonBody(request): JsonBody<ward_proto::caregivers::BirthDateRequest>,
) -> Result<axum::http::StatusCode, ApiError> {
    if session.kind != Role::Clinic {
        return Err(ApiError::forbidden(
            "Only the clinic can record a patient's birth date.",
        ));
    }
    crate::bounds::id("account id", &account_id)?;
    if let Some(text) = &request.birth_date {
        crate::minors::parse(text, state.clock.now_ms()).map_err(|problem| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                ward_proto::ErrorCode::InvalidField,
                problem,
            )
        })?;
    }
    if !store::accounts::set_birth_date(&state.db, &account_id, request.birth_date.as_deref())
        .await?
    {
        return Err(ApiError::not_found("patient"));
    }
    tracing::info!(
        target: "ward_relay::access",
        account_id,
        minor = request.birth_date.is_some(),
        by = session.account_id,
        "birth date recorded"
    );
    Ok(axum::http::StatusCode::NO_CONTENT)
}
