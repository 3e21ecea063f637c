//! Threads, their epochs' sealed keys, and messages. Membership is checked
//! on every call; a non-member gets the same 404 as for a missing thread.

use std::collections::{HashMap, HashSet};
use ward_proto::ErrorCode;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sqlx::Row;
use ward_proto::Bytes;
use ward_proto::blobs::MAX_ATTACHMENTS_PER_MESSAGE;
use ward_proto::events::{Event, ReceiptKind, ReceiptRequest};
use ward_proto::threads::{
    AddMemberRequest, ArchiveHead, Category, CreateThreadRequest, DEFAULT_THREADS_PER_PAGE,
    MAX_THREADS_PER_PAGE, Member, MessagePage, PostMessageRequest, PutEpochRequest,
    RemoveMemberRequest, Role, SealedKeyEntry, SealedKeys, StoredMessage, Thread, ThreadList,
};
use ward_seal::envelope::Envelope;
use ward_seal::thread_key::SealedThreadKey;

use crate::AppState;
use crate::db::Text;
use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::secrets::{self, now_ms};

/// Most sealed keys in one request (members of a thread, or epochs).
const MAX_SEALED_KEYS: usize = 64;

fn as_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The caller's role in the thread, or 404.
async fn require_member(
    state: &AppState,
    thread_id: &str,
    account_id: &str,
) -> Result<Role, ApiError> {
    sqlx::query_scalar::<_, Text<Role>>("SELECT role FROM thread_members WHERE thread_id = $1 AND account_id = $2 AND removed_at IS NULL")
        .bind(thread_id)
        .bind(account_id)
        .fetch_optional(&state.db)
        .await?
        .map(|Text(role)| role)
        .ok_or_else(|| ApiError::not_found("thread"))
}

async fn load_thread(state: &AppState, thread_id: &str, viewer: &str) -> Result<Thread, ApiError> {
    let row = sqlx::query(
        "SELECT t.category, t.created_at, t.current_epoch, t.last_message_at,
                (SELECT COUNT(*) FROM envelopes e WHERE e.thread_id = t.thread_id AND e.seq > m.last_read_seq AND e.sender_id <> m.account_id) AS unread
         FROM threads t JOIN thread_members m ON m.thread_id = t.thread_id AND m.account_id = $1
         WHERE t.thread_id = $2",
    )
    .bind(viewer)
    .bind(thread_id)
    .fetch_one(&state.db)
    .await?;
    let members = sqlx::query(
        "SELECT m.account_id, m.role, a.display_name, m.last_delivered_seq, m.last_read_seq, m.last_read_at
         FROM thread_members m JOIN accounts a ON a.account_id = m.account_id
         WHERE m.thread_id = $1 AND m.removed_at IS NULL ORDER BY m.added_at, m.account_id",
    )
    .bind(thread_id)
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .map(|m| {
        Ok(Member {
            account_id: m.get("account_id"),
            role: m.try_get::<Text<Role>, _>("role")?.0,
            display_name: m.get("display_name"),
            delivered_up_to: as_u64(m.get("last_delivered_seq")),
            read_up_to: as_u64(m.get("last_read_seq")),
            read_at: m.get::<Option<i64>, _>("last_read_at").map(as_u64),
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    Ok(Thread {
        thread_id: thread_id.to_owned(),
        category: row.try_get::<Text<Category>, _>("category")?.0,
        members,
        current_epoch: row
            .get::<Option<i64>, _>("current_epoch")
            .and_then(|e| u32::try_from(e).ok()),
        unread_count: as_u64(row.get("unread")),
        last_message_at: row.get::<Option<i64>, _>("last_message_at").map(as_u64),
        created_at: as_u64(row.get("created_at")),
    })
}

/// `GET /v1/threads` query: `limit` (1 to 200, default 100) and the
/// previous page's `next_cursor`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Where a page of the inbox ends: the first page's snapshot of the
/// relay-wide activity counter, and the position (counter value as of that
/// snapshot) and id of the last thread served. Sent to clients as base64url
/// text they must not look into.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InboxCursor {
    snapshot: i64,
    position: i64,
    thread_id: String,
}

impl InboxCursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "v1.{}.{}.{}",
            self.snapshot, self.position, self.thread_id
        ))
    }

    fn decode(text: &str) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::bad_request(
                ErrorCode::InvalidCursor,
                "That page cursor is not one this relay gave out. Start again from the first page (leave out cursor).",
            )
        };
        if text.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(4, '.');
        let (Some("v1"), Some(snapshot), Some(position), Some(thread_id)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let number = |part: &str| part.parse::<i64>().ok().filter(|n| *n >= 0);
        match (number(snapshot), number(position)) {
            (Some(snapshot), Some(position))
                if position <= snapshot
                    && !thread_id.is_empty()
                    && thread_id.len() <= crate::bounds::MAX_ID_LEN =>
            {
                Ok(Self {
                    snapshot,
                    position,
                    thread_id: thread_id.to_owned(),
                })
            }
            _ => Err(invalid()),
        }
    }
}

/// The longest cursor this relay gives out, with room to spare.
const MAX_CURSOR_LEN: usize = 200;

/// One page of the caller's inbox, as of `snapshot`, after `(position,
/// thread_id)` (the newest first): the threads whose activity is at most
/// `snapshot` walk the `thread_members_inbox` index (account, activity,
/// thread) backward.
const INBOX_PAGE: &str = "SELECT thread_id, activity FROM thread_members
     WHERE account_id = $1 AND removed_at IS NULL AND activity <= $2
       AND (activity < $3 OR (activity = $3 AND thread_id < $4))
     ORDER BY activity DESC, thread_id DESC LIMIT $5";

/// The caller's threads that had activity after `snapshot` but existed
/// before it, each at its position as of `snapshot` (its newest message
/// then, else its creation). Few: only what changed while paging.
const INBOX_MOVED: &str = "SELECT thread_id,
         CASE WHEN base_activity > last_activity THEN base_activity ELSE last_activity END AS activity
     FROM (SELECT m.thread_id, t.base_activity, COALESCE((
               SELECT e.activity FROM envelopes e
               WHERE e.thread_id = m.thread_id AND (e.activity IS NULL OR e.activity <= $2)
               ORDER BY e.seq DESC LIMIT 1), 0) AS last_activity
           FROM thread_members m JOIN threads t ON t.thread_id = m.thread_id
           WHERE m.account_id = $1 AND m.removed_at IS NULL AND m.activity > $2
             AND t.base_activity <= $2) AS moved";

/// `GET /v1/threads`: a page of the caller's threads, newest activity first.
#[utoipa::path(
    get,
    path = "/v1/threads",
    tag = "threads",
    params(
        ("limit" = Option<u32>, Query, description = "At most this many threads (1 to 200, default 100)"),
        ("cursor" = Option<String>, Query, description = "The previous page's `next_cursor`; leave out for the first page. Pages keep the first page's order: a thread with a new message after paging began is served once, where it was then.")
    ),
    responses(
        (status = 200, description = "OK: newest activity first; `next_cursor` is null on the last page", body = ward_proto::threads::ThreadList),
        (status = 400, description = "`invalid_cursor`: a cursor this relay did not give out; `invalid_query`: another parameter, or a limit that is not a number", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ThreadListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ThreadList>, ApiError> {
    let Query(query) = query.map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "Use ?limit=<1 to 200> and ?cursor=<the previous page's next_cursor>, and nothing else.",
        )
    })?;
    let cursor = query
        .cursor
        .as_deref()
        .map(InboxCursor::decode)
        .transpose()?;
    let limit = query
        .limit
        .unwrap_or(DEFAULT_THREADS_PER_PAGE)
        .clamp(1, MAX_THREADS_PER_PAGE);
    let take = limit as usize;
    // One read transaction: the snapshot and the page agree.
    let mut tx = crate::db::begin_read(&state.db).await?;
    let snapshot = match &cursor {
        Some(cursor) => cursor.snapshot,
        None => {
            sqlx::query_scalar("SELECT COALESCE(MAX(activity), 0) FROM threads")
                .fetch_one(&mut *tx)
                .await?
        }
    };
    let (before, before_id) = cursor
        .as_ref()
        .map_or((i64::MAX, ""), |c| (c.position, c.thread_id.as_str()));
    let row =
        |row: sqlx::any::AnyRow| -> (i64, String) { (row.get("activity"), row.get("thread_id")) };
    // One extra row tells whether another page exists.
    let mut page: Vec<(i64, String)> = sqlx::query(INBOX_PAGE)
        .bind(&session.account_id)
        .bind(snapshot)
        .bind(before)
        .bind(before_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(row)
        .collect();
    let moved = sqlx::query(INBOX_MOVED)
        .bind(&session.account_id)
        .bind(snapshot)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(row)
        .filter(|(position, id)| (*position, id.as_str()) < (before, before_id));
    page.extend(moved);
    tx.commit().await?;
    page.sort_unstable_by(|a, b| b.cmp(a));
    let more = page.len() > take;
    page.truncate(take);
    let next_cursor = page.last().filter(|_| more).map(|(position, thread_id)| {
        InboxCursor {
            snapshot,
            position: *position,
            thread_id: thread_id.clone(),
        }
        .encode()
    });
    let mut threads = Vec::with_capacity(page.len());
    for (_, id) in page {
        threads.push(load_thread(&state, &id, &session.account_id).await?);
    }
    Ok(Json(ThreadList {
        threads,
        next_cursor,
    }))
}

/// The message a patient sees at the daily thread limit.
fn too_many_threads(limit: u32) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TooManyThreads,
        format!(
            "You have started {limit} conversations today. Reply in an existing one, or call the clinic."
        ),
    )
}

const DAY_MS: i64 = 86_400_000;

/// `POST /v1/threads`: a patient starts a thread with the clinic, at most
/// `max_threads_per_day` in 24 hours.
#[utoipa::path(post, path = "/v1/threads", tag = "threads", request_body = ward_proto::threads::CreateThreadRequest, responses((status = 201, description = "Created", body = ward_proto::threads::Thread), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody), (status = 429, description = "`too_many_threads`: the account started `max_threads_per_day` threads in the last 24 hours", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<CreateThreadRequest>,
) -> Result<(StatusCode, Json<Thread>), ApiError> {
    if session.kind != Role::Patient {
        return Err(ApiError::forbidden("Only a patient can start a thread."));
    }
    let clinic: String = sqlx::query_scalar(
        "SELECT account_id FROM accounts WHERE kind = 'clinic' ORDER BY created_at LIMIT 1",
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| {
        ApiError::conflict(ErrorCode::NoClinic, "This relay has no clinic set up yet.")
    })?;
    let thread_id = secrets::id("thr")?;
    let now = now_ms();
    let limit = state.config.max_threads_per_day;
    let mut tx = state.db.begin().await?;
    crate::db::lock(&mut tx, crate::db::ACTIVITY).await?;
    // Counted and inserted in one statement (it holds the write lock):
    // parallel starts cannot exceed the daily limit.
    let activity: Option<i64> = sqlx::query_scalar(
        "INSERT INTO threads (thread_id, category, created_by, created_at, activity, base_activity)
         SELECT $1, $2, $3, $4, next.n, next.n
         FROM (SELECT COALESCE(MAX(activity), 0) + 1 AS n FROM threads) AS next
         WHERE (SELECT COUNT(*) FROM threads WHERE created_by = $3 AND created_at > $4 - $5) < $6
         RETURNING activity",
    )
    .bind(&thread_id)
    .bind(Text(request.category))
    .bind(&session.account_id)
    .bind(now)
    .bind(DAY_MS)
    .bind(i64::from(limit))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(activity) = activity else {
        return Err(too_many_threads(limit));
    };
    for (account, role) in [
        (&session.account_id, Role::Patient),
        (&clinic, Role::Clinic),
    ] {
        sqlx::query("INSERT INTO thread_members (thread_id, account_id, role, added_at, activity) VALUES ($1, $2, $3, $4, $5)")
            .bind(&thread_id)
            .bind(account)
            .bind(Text(role))
            .bind(now)
            .bind(activity)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(load_thread(&state, &thread_id, &session.account_id).await?),
    ))
}

/// `GET /v1/threads/{id}`
#[utoipa::path(get, path = "/v1/threads/{thread_id}", tag = "threads", params(("thread_id" = String, Path, description = "The thread")), responses((status = 200, description = "OK", body = ward_proto::threads::Thread), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
) -> Result<Json<Thread>, ApiError> {
    require_member(&state, &thread_id, &session.account_id).await?;
    Ok(Json(
        load_thread(&state, &thread_id, &session.account_id).await?,
    ))
}

/// `POST /v1/threads/{id}/epochs`: the next epoch, sealed to every current
/// member; compare-and-swap on the epoch number.
#[utoipa::path(post, path = "/v1/threads/{thread_id}/epochs", tag = "threads", request_body = ward_proto::threads::PutEpochRequest, params(("thread_id" = String, Path, description = "The thread")), responses((status = 201, description = "Created"), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn put_epoch(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
    JsonBody(request): JsonBody<PutEpochRequest>,
) -> Result<StatusCode, ApiError> {
    let role = require_member(&state, &thread_id, &session.account_id).await?;
    if role == Role::Caregiver {
        return Err(ApiError::forbidden(
            "Only the patient or the clinic can start a new epoch.",
        ));
    }
    let members: HashSet<String> = members(&state.db, &thread_id).await?.into_iter().collect();
    let mut tx = state.db.begin().await?;
    start_epoch(&mut tx, &thread_id, &session.account_id, &members, &request).await?;
    tx.commit().await?;
    Ok(StatusCode::CREATED)
}

/// Checks `request` seals the next epoch to exactly `members` (sealer: the
/// caller) and stores it, advancing the epoch by compare-and-swap.
async fn start_epoch(
    tx: &mut sqlx::AnyConnection,
    thread_id: &str,
    sealer: &str,
    members: &HashSet<String>,
    request: &PutEpochRequest,
) -> Result<(), ApiError> {
    let keys = checked_sealed_keys(thread_id, sealer, &request.sealed_keys, |member, epoch| {
        members.contains(member) && epoch == request.epoch
    })?;
    let covered: HashSet<&str> = keys.iter().map(|(member, _, _)| member.as_str()).collect();
    if covered.len() != members.len() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidSealedKey,
            "Seal the new epoch's key to every current member of the thread, once each (yourself included).",
        ));
    }
    let previous = request.epoch.checked_sub(1).map(i64::from);
    let advanced = sqlx::query(
        "UPDATE threads SET current_epoch = $1 WHERE thread_id = $2 AND current_epoch IS NOT DISTINCT FROM $3",
    )
    .bind(i64::from(request.epoch))
    .bind(thread_id)
    .bind(previous)
    .execute(&mut *tx)
    .await?;
    if advanced.rows_affected() != 1 {
        return Err(ApiError::conflict(
            ErrorCode::EpochConflict,
            "Another member started this epoch first. Fetch the thread's keys and try again.",
        ));
    }
    store_sealed_keys(tx, thread_id, sealer, keys).await
}

/// Parses sealed keys and checks each names this thread and `sealer`, and a
/// (member, epoch) that `allowed` accepts, with no pair twice.
fn checked_sealed_keys(
    thread_id: &str,
    sealer: &str,
    sealed_keys: &[Bytes],
    allowed: impl Fn(&str, u32) -> bool,
) -> Result<Vec<(String, u32, Vec<u8>)>, ApiError> {
    if sealed_keys.len() > MAX_SEALED_KEYS {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidSealedKeys,
            "Send at most 64 sealed keys at once.",
        ));
    }
    let mut out: Vec<(String, u32, Vec<u8>)> = Vec::with_capacity(sealed_keys.len());
    for bytes in sealed_keys {
        let sealed = SealedThreadKey::from_bytes(&bytes.0).map_err(|_| {
            ApiError::bad_request(
                ErrorCode::InvalidSealedKey,
                "A sealed key is not in the sealed thread key format.",
            )
        })?;
        let duplicate = out
            .iter()
            .any(|(member, epoch, _)| member == sealed.member_id() && *epoch == sealed.epoch());
        if sealed.thread_id() != thread_id
            || sealed.sealer_id() != sealer
            || !allowed(sealed.member_id(), sealed.epoch())
            || duplicate
        {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidSealedKey,
                "Every sealed key must name this thread, you as the sealer, and a member and epoch it is meant for, once.",
            ));
        }
        out.push((
            sealed.member_id().to_owned(),
            sealed.epoch(),
            bytes.0.clone(),
        ));
    }
    Ok(out)
}

async fn store_sealed_keys(
    tx: &mut sqlx::AnyConnection,
    thread_id: &str,
    sealer: &str,
    keys: Vec<(String, u32, Vec<u8>)>,
) -> Result<(), ApiError> {
    let now = now_ms();
    for (member, epoch, sealed) in keys {
        sqlx::query(
            "INSERT INTO sealed_keys (thread_id, epoch, member_id, sealer_id, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (thread_id, epoch, member_id) DO UPDATE SET sealer_id = excluded.sealer_id, sealed = excluded.sealed",
        )
        .bind(thread_id)
        .bind(i64::from(epoch))
        .bind(member)
        .bind(sealer)
        .bind(sealed)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// `POST /v1/threads/{id}/members` (the thread's patient): grants a linked
/// caregiver the thread with its whole history (one sealed key per epoch).
#[utoipa::path(post, path = "/v1/threads/{thread_id}/members", tag = "threads", request_body = ward_proto::threads::AddMemberRequest, params(("thread_id" = String, Path, description = "The thread")), responses((status = 201, description = "Created"), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 403, description = "Forbidden", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
    JsonBody(request): JsonBody<AddMemberRequest>,
) -> Result<StatusCode, ApiError> {
    crate::bounds::id("account id", &request.account_id)?;
    let role = require_member(&state, &thread_id, &session.account_id).await?;
    if role != Role::Patient {
        return Err(ApiError::forbidden(
            "Only the patient can share a thread with a caregiver.",
        ));
    }
    // A new reader of the patient's threads: as sensitive as a new way to
    // sign in, so a stolen old session cannot do it.
    session.require_recent_sign_in()?;
    let crate::db::Flag(linked) = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM caregiver_links WHERE patient_id = $1 AND caregiver_id = $2 AND revoked_at IS NULL",
    )
    .bind(&session.account_id)
    .bind(&request.account_id)
    .fetch_one(&state.db)
    .await?;
    if !linked {
        return Err(ApiError::forbidden(
            "That account is not one of your caregivers. Invite them as a caregiver first.",
        ));
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT current_epoch FROM threads WHERE thread_id = $1")
            .bind(&thread_id)
            .fetch_one(&state.db)
            .await?;
    let epochs = current.map_or(0, |c| c + 1);
    let keys = checked_sealed_keys(
        &thread_id,
        &session.account_id,
        &request.sealed_keys,
        |member, epoch| member == request.account_id && i64::from(epoch) < epochs,
    )?;
    if i64::try_from(keys.len()).unwrap_or(i64::MAX) != epochs {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidSealedKey,
            "Seal every existing epoch's key to the caregiver, so they can read the history.",
        ));
    }
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO thread_members (thread_id, account_id, role, added_at, activity)
         VALUES ($1, $2, $4, $3, (SELECT activity FROM threads WHERE thread_id = $1))
         ON CONFLICT (thread_id, account_id) DO UPDATE SET removed_at = NULL, added_at = excluded.added_at, activity = excluded.activity",
    )
    .bind(&thread_id)
    .bind(&request.account_id)
    .bind(now_ms())
    .bind(Text(Role::Caregiver))
    .execute(&mut *tx)
    .await?;
    store_sealed_keys(&mut tx, &thread_id, &session.account_id, keys).await?;
    crate::history::record_in(
        &mut tx,
        &session.account_id,
        ward_proto::account::AccountEventKind::ThreadShared,
        Some(&session.session_id),
        Some(&request.account_id),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::CREATED)
}

/// `POST /v1/threads/{id}/members/{account}/remove` (the thread's patient):
/// revokes a caregiver and starts the next epoch without them, atomically.
#[utoipa::path(post, path = "/v1/threads/{thread_id}/members/{account_id}/remove", tag = "threads", request_body = ward_proto::threads::RemoveMemberRequest, params(("thread_id" = String, Path, description = "The thread"), ("account_id" = String, Path, description = "The member to remove")), responses((status = 204, description = "Done"), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    session: Session,
    Path((thread_id, account_id)): Path<(String, String)>,
    JsonBody(request): JsonBody<RemoveMemberRequest>,
) -> Result<StatusCode, ApiError> {
    let role = require_member(&state, &thread_id, &session.account_id).await?;
    if role != Role::Patient {
        return Err(ApiError::forbidden(
            "Only the patient can remove a caregiver.",
        ));
    }
    let target_role = require_member(&state, &thread_id, &account_id).await?;
    if target_role != Role::Caregiver {
        return Err(ApiError::forbidden(
            "Only caregivers can be removed from a thread.",
        ));
    }
    let remaining: HashSet<String> = members(&state.db, &thread_id)
        .await?
        .into_iter()
        .filter(|member| *member != account_id)
        .collect();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE thread_members SET removed_at = $1 WHERE thread_id = $2 AND account_id = $3",
    )
    .bind(now_ms())
    .bind(&thread_id)
    .bind(&account_id)
    .execute(&mut *tx)
    .await?;
    start_epoch(
        &mut tx,
        &thread_id,
        &session.account_id,
        &remaining,
        &request.next_epoch,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/threads/{id}/keys`: the sealed keys meant for the caller.
#[utoipa::path(get, path = "/v1/threads/{thread_id}/keys", tag = "threads", params(("thread_id" = String, Path, description = "The thread")), responses((status = 200, description = "OK", body = ward_proto::threads::SealedKeys), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn my_keys(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
) -> Result<Json<SealedKeys>, ApiError> {
    require_member(&state, &thread_id, &session.account_id).await?;
    let keys = sqlx::query("SELECT epoch, sealer_id, sealed FROM sealed_keys WHERE thread_id = $1 AND member_id = $2 ORDER BY epoch")
        .bind(&thread_id)
        .bind(&session.account_id)
        .fetch_all(&state.db)
        .await?
        .into_iter()
        .map(|row| SealedKeyEntry {
            epoch: u32::try_from(row.get::<i64, _>("epoch")).unwrap_or(0),
            sealer_id: row.get("sealer_id"),
            sealed: Bytes(row.get("sealed")),
        })
        .collect();
    Ok(Json(SealedKeys { keys }))
}

/// `POST /v1/threads/{id}/messages`: stores an envelope; a retry of the same
/// envelope returns the original, a different envelope reusing its message
/// id is refused. The blobs it lists in `attachments` are recorded with it in
/// the same transaction, and become readable by the thread's members.
#[utoipa::path(post, path = "/v1/threads/{thread_id}/messages", tag = "messages", request_body = ward_proto::threads::PostMessageRequest, params(("thread_id" = String, Path, description = "The thread")), responses((status = 201, description = "Created", body = ward_proto::threads::StoredMessage), (status = 200, description = "OK: a retry of a stored message, answered with the original", body = ward_proto::threads::StoredMessage), (status = 400, description = "Bad input: `invalid_envelope`, `unknown_epoch`, `unknown_attachment` (an attachment that is not a finalized, unexpired upload of the sender's), `too_many_attachments` (more than 10), `duplicate_attachment`", body = ward_proto::ErrorBody), (status = 409, description = "Conflict", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn post_message(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
    JsonBody(request): JsonBody<PostMessageRequest>,
) -> Result<(StatusCode, Json<StoredMessage>), ApiError> {
    require_member(&state, &thread_id, &session.account_id).await?;
    check_attachment_list(&request.attachments)?;
    let envelope = Envelope::from_bytes(&request.envelope.0).map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidEnvelope,
            "The message is not in the envelope format, or it is too large.",
        )
    })?;
    let header = envelope.header();
    if header.thread_id != thread_id || header.sender_id != session.account_id {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidEnvelope,
            "The envelope must name this thread and you as its sender.",
        ));
    }
    // Only the current epoch: after a member is removed, nothing new may be
    // sealed under a key they still hold.
    let current: Option<i64> =
        sqlx::query_scalar("SELECT current_epoch FROM threads WHERE thread_id = $1")
            .bind(&thread_id)
            .fetch_one(&state.db)
            .await?;
    if current.is_some_and(|epoch| epoch != i64::from(header.epoch))
        && find_message(&state, &thread_id, &header.sender_id, &header.message_id)
            .await?
            .is_none()
    {
        return Err(ApiError::conflict(
            ErrorCode::StaleEpoch,
            "This thread's keys have changed. Fetch the thread's keys, seal the message again and resend it.",
        ));
    }
    let crate::db::Flag(has_key) = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM sealed_keys WHERE thread_id = $1 AND epoch = $2 AND member_id = $3",
    )
    .bind(&thread_id)
    .bind(i64::from(header.epoch))
    .bind(&session.account_id)
    .fetch_one(&state.db)
    .await?;
    if !has_key {
        return Err(ApiError::bad_request(
            ErrorCode::UnknownEpoch,
            "The envelope's epoch has no key for you in this thread. Fetch the thread's keys and seal again.",
        ));
    }
    if let Some(existing) =
        find_message(&state, &thread_id, &header.sender_id, &header.message_id).await?
    {
        return if existing.envelope.0 == request.envelope.0 {
            Ok((StatusCode::OK, Json(existing)))
        } else {
            Err(ApiError::conflict(
                ErrorCode::MessageIdReused,
                "Another message was already sent with this message id. Send it with a new id.",
            ))
        };
    }
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    crate::db::lock(&mut tx, crate::db::ACTIVITY).await?;
    // Re-checked in the transaction: a member removed (and the epoch
    // rotated) a moment ago cannot slip a message in.
    // The thread row is locked from here to commit: the next seq and the
    // previous chain link (`head_chain`, which this statement leaves as it
    // was) are read together, so the chain cannot fork or skip.
    let (seq, activity, prev): (i64, i64, Option<Vec<u8>>) = sqlx::query_as(
        "UPDATE threads SET last_seq = last_seq + 1, last_message_at = $1,
             activity = (SELECT MAX(activity) FROM threads) + 1
         WHERE thread_id = $2 AND current_epoch = $3 AND EXISTS (
             SELECT 1 FROM thread_members WHERE thread_id = $2 AND account_id = $4 AND removed_at IS NULL)
         RETURNING last_seq, activity, head_chain",
    )
    .bind(now)
    .bind(&thread_id)
    .bind(i64::from(header.epoch))
    .bind(&session.account_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| {
        ApiError::conflict(
            ErrorCode::StaleEpoch,
            "This thread's keys or members changed. Fetch the thread again, seal the message again and resend it.",
        )
    })?;
    let chain = ward_seal::archive::chain(
        &crate::archive::hash32(prev.as_deref())?,
        &ward_seal::archive::Link {
            seq: as_u64(seq),
            thread_id: &thread_id,
            sender_id: &header.sender_id,
            message_id: &header.message_id,
            envelope: &request.envelope.0,
            received_at: now,
        },
    );
    let inserted = sqlx::query(
        "INSERT INTO envelopes (thread_id, seq, message_id, sender_id, epoch, envelope, received_at, activity, chain)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (thread_id, sender_id, message_id) DO NOTHING",
    )
    .bind(&thread_id)
    .bind(seq)
    .bind(&header.message_id)
    .bind(&header.sender_id)
    .bind(i64::from(header.epoch))
    .bind(&request.envelope.0)
    .bind(now)
    .bind(activity)
    .bind(chain.as_slice())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        // A concurrent retry won the race: answer with what it stored.
        drop(tx);
        let existing = find_message(&state, &thread_id, &header.sender_id, &header.message_id)
            .await?
            .ok_or_else(|| ApiError::internal("post message", &"retry vanished"))?;
        return Ok((StatusCode::OK, Json(existing)));
    }
    attach(
        &mut tx,
        &thread_id,
        seq,
        &session.account_id,
        &request.attachments,
        now,
    )
    .await?;
    sqlx::query("UPDATE threads SET head_chain = $1 WHERE thread_id = $2")
        .bind(chain.as_slice())
        .bind(&thread_id)
        .execute(&mut *tx)
        .await?;
    // Every member's inbox moves it to the top.
    sqlx::query("UPDATE thread_members SET activity = $1 WHERE thread_id = $2")
        .bind(activity)
        .bind(&thread_id)
        .execute(&mut *tx)
        .await?;
    // Who hears of it, read before the commit: once the message is stored,
    // nothing may fail the request (a 503 would tell the sender nothing was
    // changed).
    let recipients = members(&mut *tx, &thread_id).await?;
    tx.commit().await?;
    let stored = StoredMessage {
        seq: as_u64(seq),
        message_id: header.message_id.clone(),
        sender_id: header.sender_id.clone(),
        received_at: as_u64(now),
        envelope: request.envelope,
        attachments: request.attachments,
        chain: Some(Bytes(chain.to_vec())),
    };
    state.events.publish(
        recipients,
        &Event::Message {
            thread_id: thread_id.clone(),
            message: stored.clone(),
        },
    );
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Refuses an attachment list that is too long or names a blob twice,
/// before anything is looked up.
fn check_attachment_list(attachments: &[String]) -> Result<(), ApiError> {
    if attachments.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(ApiError::bad_request(
            ErrorCode::TooManyAttachments,
            format!(
                "A message can carry at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments. Send the rest in another message."
            ),
        ));
    }
    for blob_id in attachments {
        crate::bounds::id("attachment id", blob_id)?;
    }
    let distinct: HashSet<&str> = attachments.iter().map(String::as_str).collect();
    if distinct.len() != attachments.len() {
        return Err(ApiError::bad_request(
            ErrorCode::DuplicateAttachment,
            "The message lists the same attachment twice. List each file once.",
        ));
    }
    Ok(())
}

/// Records that message `seq` references `attachments` (in order), each a
/// finalized, unexpired blob `sender` uploaded, and keeps them with the
/// message from now on (no expiry).
async fn attach(
    tx: &mut sqlx::AnyConnection,
    thread_id: &str,
    seq: i64,
    sender: &str,
    attachments: &[String],
    now: i64,
) -> Result<(), ApiError> {
    for (position, blob_id) in attachments.iter().enumerate() {
        let kept = sqlx::query(
            "UPDATE blobs SET expires_at = NULL
             WHERE blob_id = $1 AND owner_id = $2 AND finalized_at IS NOT NULL
               AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(blob_id)
        .bind(sender)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if kept.rows_affected() != 1 {
            return Err(ApiError::bad_request(
                ErrorCode::UnknownAttachment,
                format!(
                    "Attachment {} of this message is not a finished upload of yours (it may be unfinished, expired or someone else's). Upload the file again, finalize it, then send the message.",
                    position + 1
                ),
            ));
        }
        sqlx::query(
            "INSERT INTO message_attachments (thread_id, seq, position, blob_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(thread_id)
        .bind(seq)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(blob_id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The blobs the messages `first..=last` of a thread reference, by `seq`, in
/// the order their senders listed them.
async fn attachments_between(
    state: &AppState,
    thread_id: &str,
    first: i64,
    last: i64,
) -> Result<HashMap<i64, Vec<String>>, ApiError> {
    let rows = sqlx::query(
        "SELECT seq, blob_id FROM message_attachments
         WHERE thread_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, position",
    )
    .bind(thread_id)
    .bind(first)
    .bind(last)
    .fetch_all(&state.db)
    .await?;
    let mut by_seq: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        by_seq
            .entry(row.get("seq"))
            .or_default()
            .push(row.get("blob_id"));
    }
    Ok(by_seq)
}

/// Fills in the attachments of a page of `messages` (any order).
async fn with_attachments(
    state: &AppState,
    thread_id: &str,
    messages: &mut [StoredMessage],
) -> Result<(), ApiError> {
    let seqs = messages.iter().map(|m| m.seq);
    let (Some(first), Some(last)) = (seqs.clone().min(), seqs.max()) else {
        return Ok(());
    };
    let bound = |seq: u64| i64::try_from(seq).unwrap_or(i64::MAX);
    let mut by_seq = attachments_between(state, thread_id, bound(first), bound(last)).await?;
    for message in messages {
        if let Some(blobs) = by_seq.remove(&bound(message.seq)) {
            message.attachments = blobs;
        }
    }
    Ok(())
}

async fn find_message(
    state: &AppState,
    thread_id: &str,
    sender_id: &str,
    message_id: &str,
) -> Result<Option<StoredMessage>, ApiError> {
    let found = sqlx::query(
        "SELECT seq, received_at, envelope, chain FROM envelopes WHERE thread_id = $1 AND sender_id = $2 AND message_id = $3",
    )
    .bind(thread_id)
    .bind(sender_id)
    .bind(message_id)
    .fetch_optional(&state.db)
    .await?
    .map(|row| StoredMessage {
        seq: as_u64(row.get("seq")),
        message_id: message_id.to_owned(),
        sender_id: sender_id.to_owned(),
        received_at: as_u64(row.get("received_at")),
        envelope: Bytes(row.get("envelope")),
        attachments: Vec::new(),
        chain: row.get::<Option<Vec<u8>>, _>("chain").map(Bytes),
    });
    let Some(mut message) = found else {
        return Ok(None);
    };
    with_attachments(state, thread_id, std::slice::from_mut(&mut message)).await?;
    Ok(Some(message))
}

/// Paging parameters: `after` (forward from the oldest) or `before`
/// (backward from the newest), never both; `limit` for either.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    after: Option<u64>,
    /// `latest` or a sequence number; parsed by [`Direction::of`].
    before: Option<String>,
    limit: Option<u32>,
}

/// Which way a page of messages goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// The oldest messages with `seq` greater than this.
    After(u64),
    /// The newest messages with `seq` less than this (`u64::MAX`: the newest).
    Before(u64),
}

impl Direction {
    fn of(query: &PageQuery) -> Result<Self, ApiError> {
        match (query.after, query.before.as_deref()) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                "Use either ?after=<number> or ?before=<number or latest>, not both.",
            )),
            (after, None) => Ok(Self::After(after.unwrap_or(0))),
            (None, Some("latest")) => Ok(Self::Before(u64::MAX)),
            (None, Some(before)) => before.parse().map(Self::Before).map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::InvalidQuery,
                    "?before= takes a message sequence number (a whole number) or the word latest.",
                )
            }),
        }
    }
}

/// The oldest messages after a sequence number (thread, after, limit).
const PAGE_AFTER: &str =
    "SELECT seq, message_id, sender_id, received_at, envelope, chain FROM envelopes
     WHERE thread_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

/// The newest messages before a sequence number, newest first (thread,
/// before, limit): walks the `(thread_id, seq)` primary key backward, so a
/// page costs the same at the end of a 10 000-message thread as at its start.
const PAGE_BEFORE: &str =
    "SELECT seq, message_id, sender_id, received_at, envelope, chain FROM envelopes
     WHERE thread_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3";

fn stored_message(row: &sqlx::any::AnyRow) -> StoredMessage {
    StoredMessage {
        seq: as_u64(row.get("seq")),
        message_id: row.get("message_id"),
        sender_id: row.get("sender_id"),
        received_at: as_u64(row.get("received_at")),
        envelope: Bytes(row.get("envelope")),
        attachments: Vec::new(),
        chain: row.get::<Option<Vec<u8>>, _>("chain").map(Bytes),
    }
}

/// `GET /v1/threads/{id}/messages`: a page of messages, oldest first.
///
/// `?after=SEQ&limit=N` pages forward from the oldest (the default, from
/// the thread's start); `?before=latest&limit=N` gives the newest N and
/// `?before=SEQ&limit=N` the newest N with `seq < SEQ`, to page backward
/// with `earlier_cursor`. N is 1 to 200 (default 50).
#[utoipa::path(
    get,
    path = "/v1/threads/{thread_id}/messages",
    tag = "messages",
    params(
        ("thread_id" = String, Path, description = "The thread"),
        ("after" = Option<u64>, Query, description = "Page forward: the oldest messages after this sequence number (default 0, the thread's start); the next page is `after=<next_cursor>`. Not with `before`."),
        ("before" = Option<String>, Query, description = "Page backward: `latest` for the newest messages, or a sequence number for the newest messages before it; the page before is `before=<earlier_cursor>`. Not with `after`."),
        ("limit" = Option<u32>, Query, description = "At most this many (1 to 200, default 50)")
    ),
    responses(
        (status = 200, description = "OK: messages oldest first in either direction", body = ward_proto::threads::MessagePage),
        (status = 400, description = "Bad query (`invalid_query`), e.g. both `after` and `before`", body = ward_proto::ErrorBody),
        (status = 404, description = "Not found", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn list_messages(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    let Query(page) = query.map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "Use ?after=<number> or ?before=<number or latest>, with &limit=<1 to 200>, and nothing else.",
        )
    })?;
    let direction = Direction::of(&page)?;
    require_member(&state, &thread_id, &session.account_id).await?;
    let limit = page.limit.unwrap_or(50).clamp(1, 200);
    let take = limit as usize;
    let (sql, from, backward) = match direction {
        Direction::After(after) => (PAGE_AFTER, after, false),
        Direction::Before(before) => (PAGE_BEFORE, before, true),
    };
    // One extra row tells whether another page exists.
    let rows = sqlx::query(sql)
        .bind(&thread_id)
        .bind(i64::try_from(from).unwrap_or(i64::MAX))
        .bind(i64::from(limit) + 1)
        .fetch_all(&state.db)
        .await?;
    let more = rows.len() > take;
    let mut messages: Vec<StoredMessage> = rows.iter().take(take).map(stored_message).collect();
    // PAGE_BEFORE reads newest first; a page is always oldest first.
    if backward {
        messages.reverse();
    }
    with_attachments(&state, &thread_id, &mut messages).await?;
    let cursor = |m: Option<&StoredMessage>| m.filter(|_| more).map(|m| m.seq);
    let (next_cursor, earlier_cursor) = if backward {
        (None, cursor(messages.first()))
    } else {
        (cursor(messages.last()), None)
    };
    Ok(Json(MessagePage {
        messages,
        next_cursor,
        earlier_cursor,
    }))
}

/// `GET /v1/threads/{id}/archive`: where the thread's archive chain
/// stands (any member): its head, and where retention pruned it.
#[utoipa::path(
    get,
    path = "/v1/threads/{thread_id}/archive",
    tag = "messages",
    params(("thread_id" = String, Path, description = "The thread")),
    responses(
        (status = 200, description = "OK: the stored messages are `pruned_through_seq + 1 ..= last_seq`, chained from `pruned_chain` to `head` (docs/crypto.md, \"Archive chain\")", body = ward_proto::threads::ArchiveHead),
        (status = 404, description = "Not found", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn archive_head(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
) -> Result<Json<ArchiveHead>, ApiError> {
    require_member(&state, &thread_id, &session.account_id).await?;
    let row = sqlx::query(
        "SELECT last_seq, head_chain, pruned_through_seq, pruned_chain FROM threads WHERE thread_id = $1",
    )
    .bind(&thread_id)
    .fetch_one(&state.db)
    .await?;
    let head = crate::archive::hash32(row.get::<Option<Vec<u8>>, _>("head_chain").as_deref())?;
    let pruned = crate::archive::hash32(row.get::<Option<Vec<u8>>, _>("pruned_chain").as_deref())?;
    Ok(Json(ArchiveHead {
        thread_id,
        last_seq: as_u64(row.get("last_seq")),
        head: Bytes(head.to_vec()),
        pruned_through_seq: as_u64(row.get("pruned_through_seq")),
        pruned_chain: Bytes(pruned.to_vec()),
    }))
}

/// The thread's current members, read through `db` (the pool, or an open
/// transaction).
async fn members<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    thread_id: &str,
) -> Result<Vec<String>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT account_id FROM thread_members WHERE thread_id = $1 AND removed_at IS NULL",
    )
    .bind(thread_id)
    .fetch_all(db)
    .await?)
}

/// `POST /v1/threads/{id}/receipts`: moves the caller's delivered or read
/// mark forward (never back, never past the last message) and tells the
/// other members.
#[utoipa::path(post, path = "/v1/threads/{thread_id}/receipts", tag = "messages", request_body = ward_proto::events::ReceiptRequest, params(("thread_id" = String, Path, description = "The thread")), responses((status = 204, description = "Done"), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn receipt(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
    JsonBody(request): JsonBody<ReceiptRequest>,
) -> Result<StatusCode, ApiError> {
    require_member(&state, &thread_id, &session.account_id).await?;
    let last_seq: i64 = sqlx::query_scalar("SELECT last_seq FROM threads WHERE thread_id = $1")
        .bind(&thread_id)
        .fetch_one(&state.db)
        .await?;
    let up_to = i64::try_from(request.up_to_seq)
        .unwrap_or(i64::MAX)
        .min(last_seq);
    let now = now_ms();
    // $1 = up_to, $2 = now, $3 = thread, $4 = account.
    let sql = match request.kind {
        ReceiptKind::Read => {
            "UPDATE thread_members SET last_read_seq = $1, last_read_at = $2,
                 last_delivered_seq = CASE WHEN last_delivered_seq > $1 THEN last_delivered_seq ELSE $1 END
             WHERE thread_id = $3 AND account_id = $4 AND last_read_seq < $1"
        }
        ReceiptKind::Delivered => {
            "UPDATE thread_members SET last_delivered_seq = $1
             WHERE thread_id = $3 AND account_id = $4 AND last_delivered_seq < $1"
        }
    };
    let moved = sqlx::query(sql)
        .bind(up_to)
        .bind(now)
        .bind(&thread_id)
        .bind(&session.account_id)
        .execute(&state.db)
        .await?;
    if moved.rows_affected() == 1 {
        let others = members(&state.db, &thread_id).await?;
        state.events.publish(
            others,
            &Event::Receipt {
                thread_id,
                account_id: session.account_id,
                kind: request.kind,
                up_to_seq: as_u64(up_to),
                at: as_u64(now),
            },
        );
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/threads/{id}/typing`: relayed to the other members, never stored.
#[utoipa::path(post, path = "/v1/threads/{thread_id}/typing", tag = "messages", params(("thread_id" = String, Path, description = "The thread")), responses((status = 204, description = "Done"), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn typing(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_member(&state, &thread_id, &session.account_id).await?;
    let others: Vec<String> = members(&state.db, &thread_id)
        .await?
        .into_iter()
        .filter(|member| *member != session.account_id)
        .collect();
    state.events.publish(
        others,
        &Event::Typing {
            thread_id,
            account_id: session.account_id,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// An inbox page walks the `thread_members_inbox` index backward (no
    /// sort of the account's threads), and the threads that moved since
    /// the snapshot are found by a range of it.
    #[tokio::test]
    async fn inbox_pages_use_the_inbox_index() {
        let data = tempfile::tempdir().unwrap();
        let db = crate::db::open(&crate::Config {
            data: data.path().to_path_buf(),
            ..crate::Config::default()
        })
        .await
        .unwrap();
        for (sql, binds) in [(INBOX_PAGE, 5), (INBOX_MOVED, 2)] {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut query = sqlx::query(&explain).bind("acc_x").bind(10_i64);
            if binds == 5 {
                query = query.bind(8_i64).bind("thr_x").bind(101_i64);
            }
            let plan: Vec<String> = query
                .fetch_all(&db)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<String, _>("detail"))
                .collect();
            assert!(
                plan.iter().any(|step| step.contains("USING")
                    && step.contains("thread_members_inbox")
                    && step.contains("account_id=? AND activity")),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "{sql}: {plan:?}"
            );
        }
    }

    /// A cursor survives its round trip; anything else is `invalid_cursor`.
    #[test]
    fn inbox_cursors_round_trip_and_garbled_ones_are_refused() {
        let cursor = InboxCursor {
            snapshot: 42,
            position: 17,
            thread_id: "thr_abc".into(),
        };
        assert_eq!(InboxCursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in [
            String::new(),
            "not base64!".into(),
            URL_SAFE_NO_PAD.encode("v2.1.1.thr_x"),
            URL_SAFE_NO_PAD.encode("v1.1.2.thr_x"),
            URL_SAFE_NO_PAD.encode("v1.-1.-1.thr_x"),
            URL_SAFE_NO_PAD.encode("v1.1.1."),
            URL_SAFE_NO_PAD.encode(format!("v1.1.1.{}", "t".repeat(65))),
        ] {
            assert_eq!(
                InboxCursor::decode(&bad).unwrap_err().status(),
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    /// Both paging queries walk the envelopes' `(thread_id, seq)` primary
    /// key: no table scan, no sort of the thread's messages.
    #[tokio::test]
    async fn message_pages_use_the_thread_seq_index() {
        let data = tempfile::tempdir().unwrap();
        let db = crate::db::open(&crate::Config {
            data: data.path().to_path_buf(),
            ..crate::Config::default()
        })
        .await
        .unwrap();
        for sql in [PAGE_AFTER, PAGE_BEFORE] {
            let plan: Vec<String> = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                .bind("thr_x")
                .bind(5_i64)
                .bind(51_i64)
                .fetch_all(&db)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<String, _>("detail"))
                .collect();
            assert!(
                plan.iter()
                    .any(|step| step.starts_with("SEARCH envelopes USING INDEX")
                        && step.contains("(thread_id=? AND seq")),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|step| step.contains("TEMP B-TREE") || step.starts_with("SCAN")),
                "{sql}: {plan:?}"
            );
        }
    }
}
