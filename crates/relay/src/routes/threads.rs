//! Threads, their epochs' sealed keys, and messages. Membership is checked
//! on every call; a non-member gets the same 404 as for a missing thread.

use std::collections::HashSet;
use ward_proto::ErrorCode;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use ward_proto::Bytes;
use ward_proto::account::{AccountEventKind, ThreadActivity};
use ward_proto::blobs::MAX_ATTACHMENTS_PER_MESSAGE;
use ward_proto::events::{Event, ReceiptKind, ReceiptRequest};
use ward_proto::push::PushKind;
use ward_proto::threads::{
    AddMemberRequest, ArchiveHead, CreateThreadRequest, DEFAULT_THREADS_PER_PAGE, LATEST_MAX_BYTES,
    MAX_THREADS_PER_PAGE, Member, MessagePage, PostMessageRequest, PutEpochRequest,
    RemoveMemberRequest, Role, SUBJECT_MAX_BYTES, SealedKeyEntry, SealedKeys, StoredMessage,
    SubjectRequest, Thread, ThreadList,
};
use ward_seal::envelope::Envelope;
use ward_seal::thread_key::SealedThreadKey;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::secrets::{self, now_ms};
use crate::store;

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
    let role = store::members::role(&state.db, thread_id, account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("thread"))?;
    if role == Role::Caregiver {
        caregiver_grant(state, thread_id, account_id).await?;
    }
    Ok(role)
}

/// A caregiver's grant in `thread_id`, refused once it ended: the relay
/// stops serving a removed or expired caregiver at that moment, even
/// before the sweep takes them out of the thread.
async fn caregiver_grant(
    state: &AppState,
    thread_id: &str,
    caregiver_id: &str,
) -> Result<store::caregivers::Grant, ApiError> {
    match store::caregivers::grant_in_thread(&state.db, thread_id, caregiver_id).await? {
        Some(grant) if grant.active_at(state.clock.now_ms()) => Ok(grant),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::AccessEnded,
            "Your access to these messages has ended. Ask the patient to share them with you again.",
        )),
    }
}

/// `thread_id` as `viewer` sees it; with `previews`, its newest message
/// too ([`Thread::latest`]).
async fn load_thread(
    state: &AppState,
    thread_id: &str,
    viewer: &str,
    previews: bool,
) -> Result<Thread, ApiError> {
    let thread = store::threads::summary(&state.db, thread_id, viewer).await?;
    let members: Vec<Member> = store::members::list(&state.db, thread_id)
        .await?
        .into_iter()
        .map(|m| Member {
            account_id: m.account_id,
            role: m.role,
            display_name: m.display_name,
            delivered_up_to: as_u64(m.last_delivered_seq),
            read_up_to: as_u64(m.last_read_seq),
            read_at: m.last_read_at.map(as_u64),
        })
        .collect();
    // By rule too, unless a caregiver is in it already (the category was
    // made sensitive after it was shared): it then says what is.
    let only_me = thread.only_me
        || (state.config.is_sensitive(thread.category)
            && !members.iter().any(|m| m.role == Role::Caregiver));
    // What only a reader may have: a caregiver whose grant ended (not yet
    // swept out of the thread) gets neither, as `GET .../messages` refuses
    // them.
    let caregiver = members
        .iter()
        .any(|m| m.account_id == viewer && m.role == Role::Caregiver);
    let may_read = !caregiver || caregiver_grant(state, thread_id, viewer).await.is_ok();
    let latest = if may_read && previews {
        latest_message(state, thread_id).await?
    } else {
        None
    };
    Ok(Thread {
        thread_id: thread_id.to_owned(),
        category: thread.category,
        members,
        current_epoch: thread.current_epoch.and_then(|e| u32::try_from(e).ok()),
        unread_count: as_u64(thread.unread),
        last_message_at: thread.last_message_at.map(as_u64),
        created_at: as_u64(thread.created_at),
        only_me,
        needs_rekey: thread.needs_rekey,
        subject: thread.subject.filter(|_| may_read).map(Bytes),
        latest,
    })
}

/// The thread's newest message, for the list's preview, when its
/// envelope is small enough to come with every list.
async fn latest_message(
    state: &AppState,
    thread_id: &str,
) -> Result<Option<StoredMessage>, ApiError> {
    let mut newest = store::envelopes::before(&state.db, thread_id, i64::MAX, 1).await?;
    newest.retain(|m| m.envelope.0.len() <= LATEST_MAX_BYTES);
    store::attachments::fill(&state.db, thread_id, &mut newest).await?;
    Ok(newest.pop())
}

/// `GET /v1/threads` query: `limit` (1 to 200, default 100) and the
/// previous page's `next_cursor`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    previews: Option<bool>,
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

/// `GET /v1/threads`: a page of the caller's threads, newest activity first.
#[utoipa::path(
    get,
    path = "/v1/threads",
    tag = "threads",
    params(
        ("limit" = Option<u32>, Query, description = "At most this many threads (1 to 200, default 100)"),
        ("cursor" = Option<String>, Query, description = "The previous page's `next_cursor`; leave out for the first page. Pages keep the first page's order: a thread with a new message after paging began is served once, where it was then."),
        ("previews" = Option<bool>, Query, description = "`false`: leave out each thread's `latest` (a client that shows no previews, like the clinic agent, saves the relay a query per thread); default `true`")
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
            "Use ?limit=<1 to 200>, ?cursor=<the previous page's next_cursor> and ?previews=<true or false>, and nothing else.",
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
    let previews = query.previews.unwrap_or(true);
    // One read transaction: the snapshot and the page agree.
    let mut tx = crate::db::begin_read(&state.db).await?;
    let snapshot = match &cursor {
        Some(cursor) => cursor.snapshot,
        None => store::threads::latest_activity(&mut tx).await?,
    };
    let (before, before_id) = cursor
        .as_ref()
        .map_or((i64::MAX, ""), |c| (c.position, c.thread_id.as_str()));
    // One extra row tells whether another page exists.
    let mut page = store::inbox::page(
        &mut tx,
        &session.account_id,
        snapshot,
        before,
        before_id,
        i64::from(limit) + 1,
    )
    .await?;
    let moved = store::inbox::moved(&mut tx, &session.account_id, snapshot)
        .await?
        .into_iter()
        .filter(|entry| (entry.activity, entry.thread_id.as_str()) < (before, before_id));
    page.extend(moved);
    tx.commit().await?;
    page.sort_unstable_by(|a, b| b.cmp(a));
    let more = page.len() > take;
    page.truncate(take);
    let next_cursor = page.last().filter(|_| more).map(|entry| {
        InboxCursor {
            snapshot,
            position: entry.activity,
            thread_id: entry.thread_id.clone(),
        }
        .encode()
    });
    let mut threads = Vec::with_capacity(page.len());
    for entry in page {
        threads.push(load_thread(&state, &entry.thread_id, &session.account_id, previews).await?);
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
    if store::consent::withdrawn(&state.db, &session.account_id).await? {
        return Err(super::consent::withdrawn(true));
    }
    let clinic = store::accounts::clinic(&state.db)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(ErrorCode::NoClinic, "This relay has no clinic set up yet.")
        })?
        .account_id;
    let thread_id = secrets::id("thr")?;
    let now = now_ms();
    let limit = state.config.max_threads_per_day;
    let mut tx = crate::db::begin_write(
        &state.db,
        &store::threads::thread_starts_scope(&session.account_id),
    )
    .await?;
    // Counted and inserted in one statement (it holds the write lock):
    // parallel starts cannot exceed the daily limit.
    let activity = store::threads::start_within_limit(
        &mut tx,
        store::threads::NewThread {
            thread_id: &thread_id,
            category: request.category,
            created_by: &session.account_id,
            created_at: now,
        },
        DAY_MS,
        i64::from(limit),
    )
    .await?;
    let Some(activity) = activity else {
        return Err(too_many_threads(limit));
    };
    for (account, role) in [
        (&session.account_id, Role::Patient),
        (&clinic, Role::Clinic),
    ] {
        store::members::add(&mut tx, &thread_id, account, role, now, activity).await?;
    }
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(load_thread(&state, &thread_id, &session.account_id, true).await?),
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
        load_thread(&state, &thread_id, &session.account_id, true).await?,
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
    // The members read under the thread's lock: none can join or leave
    // between the check and the epoch sealed to them.
    let mut tx = crate::db::begin_write(&state.db, &crate::db::thread_scope(&thread_id)).await?;
    let members: HashSet<String> = store::members::current(&mut *tx, &thread_id)
        .await?
        .into_iter()
        .collect();
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
    let advanced =
        store::threads::advance_epoch(tx, thread_id, i64::from(request.epoch), previous).await?;
    if !advanced {
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
        store::sealed_keys::put(
            tx,
            store::sealed_keys::NewSealedKey {
                thread_id,
                epoch: i64::from(epoch),
                member_id: &member,
                sealer_id: sealer,
                sealed: &sealed,
                created_at: now,
            },
        )
        .await?;
    }
    Ok(())
}

/// `POST /v1/threads/{id}/members` (the thread's patient): grants a linked
/// caregiver the thread with its whole history (one sealed key per epoch).
/// Needs a recent sign-in, unless the caregiver sees all the patient's
/// threads (the patient's app then shares each new one unasked).
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
    let now = state.clock.now_ms();
    let grant = store::caregivers::grant_in_thread(&state.db, &thread_id, &request.account_id)
        .await?
        .filter(|grant| grant.active_at(now))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::NotYourCaregiver,
                "That account is not one of your caregivers, or their access has ended. Invite them, or renew their access, first.",
            )
        })?;
    // A new reader of the patient's threads: as sensitive as a new way to
    // sign in, so a stolen old session cannot do it. A caregiver the
    // patient gave all their threads (with a recent sign-in) gets each new
    // one from whichever of the patient's devices sees it first, unasked.
    if !grant.all_threads {
        session.require_recent_sign_in()?;
    }
    if store::caregivers::waits_for_assent(&state.db, &session.account_id, &request.account_id, now)
        .await?
    {
        return Err(awaiting_assent());
    }
    let thread = store::threads::summary(&state.db, &thread_id, &session.account_id).await?;
    if state.config.is_sensitive(thread.category) {
        return Err(confidential());
    }
    // Only me, the members and the epoch are read under the thread's lock:
    // a device marking it Only me, or starting the next epoch, meanwhile
    // waits, and one sharing it at the same time finds it shared.
    let mut tx = crate::db::begin_write(&state.db, &crate::db::thread_scope(&thread_id)).await?;
    if store::threads::is_only_me(&mut *tx, &thread_id).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OnlyMeThread,
            "This thread is marked Only me: it is never shared with a caregiver. Turn Only me off first if you want to share it.",
        ));
    }
    if store::members::current(&mut *tx, &thread_id)
        .await?
        .contains(&request.account_id)
    {
        // Shared already (from another device): their keys stay as sealed.
        return Ok(StatusCode::CREATED);
    }
    let current = store::threads::current_epoch(&mut *tx, &thread_id).await?;
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
    store::members::add_caregiver(&mut tx, &thread_id, &request.account_id, now_ms()).await?;
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
    // The caregiver's open sessions list it now, not at their next message.
    state.events.publish(
        vec![request.account_id.clone()],
        &Event::ThreadShared {
            thread_id: thread_id.clone(),
        },
    );
    Ok(StatusCode::CREATED)
}

/// `PUT /v1/threads/{id}/subject` (the thread's patient, once): the
/// thread's sealed subject. The relay checks only what it can read: an
/// envelope naming this thread and the patient as its sender, in an epoch
/// the thread has.
#[utoipa::path(put, path = "/v1/threads/{thread_id}/subject", tag = "threads", request_body = ward_proto::threads::SubjectRequest, params(("thread_id" = String, Path, description = "The thread")), responses((status = 204, description = "Stored"), (status = 400, description = "`invalid_envelope`: not an envelope of this thread from the caller, in an epoch it has, or over 2 048 bytes", body = ward_proto::ErrorBody), (status = 403, description = "`forbidden`: not the thread's patient, or the subject is set already (it is set once, when the thread starts)", body = ward_proto::ErrorBody), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn set_subject(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
    JsonBody(request): JsonBody<SubjectRequest>,
) -> Result<StatusCode, ApiError> {
    let role = require_member(&state, &thread_id, &session.account_id).await?;
    if role != Role::Patient {
        return Err(ApiError::forbidden(
            "Only the patient who started this thread can give it a subject.",
        ));
    }
    let bytes = request.subject.0;
    let invalid = || {
        ApiError::bad_request(
            ErrorCode::InvalidEnvelope,
            "The subject must be an envelope of this thread, sealed by you under one of its keys, of at most 2 048 bytes.",
        )
    };
    if bytes.len() > SUBJECT_MAX_BYTES {
        return Err(invalid());
    }
    let envelope = Envelope::from_bytes(&bytes).map_err(|_| invalid())?;
    let header = envelope.header();
    let current = store::threads::current_epoch(&state.db, &thread_id).await?;
    if header.thread_id != thread_id
        || header.sender_id != session.account_id
        || current.is_none_or(|epoch| i64::from(header.epoch) > epoch)
    {
        return Err(invalid());
    }
    if !store::threads::set_subject(&state.db, &thread_id, &bytes).await? {
        return Err(ApiError::forbidden(
            "This thread has its subject already: it is set once, when the thread starts.",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/threads/{id}/only-me` (the thread's patient): keeps the
/// thread to the patient (and the clinic), or lets it be shared again
/// (after a recent sign-in). Refused while a caregiver is in it: the
/// patient stops sharing first, so the thread moves to an epoch sealed
/// without them.
#[utoipa::path(put, path = "/v1/threads/{thread_id}/only-me", tag = "threads", request_body = ward_proto::threads::OnlyMeRequest, params(("thread_id" = String, Path, description = "The thread")), responses((status = 204, description = "Done"), (status = 403, description = "Not the thread's patient (`forbidden`), a caregiver is in it or the thread is confidential (`only_me_thread`), or turning it off without a recent sign-in (`step_up_required`)", body = ward_proto::ErrorBody), (status = 404, description = "Not found", body = ward_proto::ErrorBody)), security(("session" = [])))]
pub async fn set_only_me(
    State(state): State<AppState>,
    session: Session,
    Path(thread_id): Path<String>,
    JsonBody(request): JsonBody<ward_proto::threads::OnlyMeRequest>,
) -> Result<StatusCode, ApiError> {
    let role = require_member(&state, &thread_id, &session.account_id).await?;
    if role != Role::Patient {
        return Err(ApiError::forbidden(
            "Only the patient can choose who may see this thread.",
        ));
    }
    if !request.only_me {
        let thread = store::threads::summary(&state.db, &thread_id, &session.account_id).await?;
        if state.config.is_sensitive(thread.category) {
            return Err(confidential());
        }
        // Letting caregivers in again is as sensitive as sharing: one who
        // sees all the patient's threads gets it from then on unasked.
        session.require_recent_sign_in()?;
    }
    // Under the thread's lock, like adding a member: a caregiver being let
    // in at this moment is either in (and this is refused) or kept out.
    let mut tx = crate::db::begin_write(&state.db, &crate::db::thread_scope(&thread_id)).await?;
    let changed = store::threads::set_only_me(&mut *tx, &thread_id, request.only_me).await?;
    tx.commit().await?;
    if !changed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OnlyMeThread,
            "A caregiver can still read this thread. Stop sharing it with them first, then mark it Only me.",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// 403 `not_your_caregiver`: a guardian the clinic appointed, whom the
/// patient (13 to 17) has not agreed to yet.
fn awaiting_assent() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::NotYourCaregiver,
        "The clinic appointed this person to help you, but you have not agreed yet. Agree in People who help me first, then share.",
    )
}

/// 403 `only_me_thread` for a thread in a sensitive category.
fn confidential() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::OnlyMeThread,
        "This conversation is in a confidential category: by the clinic's rule it stays between you and the clinic and is never shared with a caregiver.",
    )
}

/// `POST /v1/threads/{id}/members/{account}/remove` (the thread's patient):
/// revokes a caregiver and starts the next epoch without them, atomically;
/// with `only_me`, the thread is kept to the patient in the same step. A
/// caregiver who sees all the patient's threads leaves one only that way.
#[utoipa::path(post, path = "/v1/threads/{thread_id}/members/{account_id}/remove", tag = "threads", request_body = ward_proto::threads::RemoveMemberRequest, params(("thread_id" = String, Path, description = "The thread"), ("account_id" = String, Path, description = "The member to remove")), responses((status = 204, description = "Done"), (status = 400, description = "Bad input", body = ward_proto::ErrorBody), (status = 409, description = "The epoch moved on (`stale_epoch`), or the caregiver sees all the patient's threads and `only_me` is not set (`sees_all_threads`)", body = ward_proto::ErrorBody)), security(("session" = [])))]
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
    // The patient's app shares every thread with a caregiver who sees all
    // of them: taken out alone, the thread would come back. Keeping it
    // "Only me", in the same step, is what keeps it from them.
    let now = state.clock.now_ms();
    let sees_all = store::caregivers::grant_in_thread(&state.db, &thread_id, &account_id)
        .await?
        .is_some_and(|grant| grant.all_threads && grant.active_at(now))
        && !store::caregivers::waits_for_assent(&state.db, &session.account_id, &account_id, now)
            .await?;
    if sees_all && !request.only_me && !store::threads::is_only_me(&state.db, &thread_id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::SeesAllThreads,
            "This caregiver sees all your conversations. To keep this one from them, mark it Only me; or choose which conversations they see in People who help me.",
        ));
    }
    let mut tx = crate::db::begin_write(&state.db, &crate::db::thread_scope(&thread_id)).await?;
    let remaining: HashSet<String> = store::members::current(&mut *tx, &thread_id)
        .await?
        .into_iter()
        .filter(|member| *member != account_id)
        .collect();
    store::members::remove(&mut tx, &thread_id, &account_id, now_ms()).await?;
    if request.only_me {
        store::threads::keep_to_patient(&mut tx, &thread_id).await?;
    }
    start_epoch(
        &mut tx,
        &thread_id,
        &session.account_id,
        &remaining,
        &request.next_epoch,
    )
    .await?;
    crate::history::record_in(
        &mut tx,
        &session.account_id,
        ward_proto::account::AccountEventKind::ThreadUnshared,
        Some(&session.session_id),
        Some(&account_id),
    )
    .await?;
    tx.commit().await?;
    // The caregiver's open screens drop it now, not at their next reload.
    state
        .events
        .publish(vec![account_id], &Event::ThreadUnshared { thread_id });
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
    let keys = store::sealed_keys::for_member(&state.db, &thread_id, &session.account_id)
        .await?
        .into_iter()
        .map(|key| SealedKeyEntry {
            epoch: u32::try_from(key.epoch).unwrap_or(0),
            sealer_id: key.sealer_id,
            sealed: Bytes(key.sealed),
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
    let parsed = Envelope::from_bytes(&request.envelope.0);
    // One statement answers every check below (a send is the hottest
    // path); membership is answered first, as on every thread route, so a
    // non-member learns nothing else.
    let (epoch, message_id) = parsed.as_ref().map_or((0, ""), |envelope| {
        let header = envelope.header();
        (i64::from(header.epoch), header.message_id.as_str())
    });
    let checks = store::envelopes::send_checks(
        &state.db,
        &thread_id,
        &session.account_id,
        epoch,
        message_id,
    )
    .await?
    .ok_or_else(|| ApiError::not_found("thread"))?;
    // A caregiver's grant: their send is refused without it, and recorded
    // in its patient's access log with it.
    let grant = if session.kind == Role::Caregiver {
        Some(caregiver_grant(&state, &thread_id, &session.account_id).await?)
    } else {
        None
    };
    // After the grant (an ended caregiver learns only that), and never for
    // a retry of a message stored before the withdrawal.
    if checks.consent_withdrawn && !checks.already_stored {
        return Err(super::consent::withdrawn(checks.sender_withdrew));
    }
    if grant.as_ref().is_some_and(|grant| !grant.can_send) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::ReadOnlyCaregiver,
            "You can read this thread but not send in it. Ask the patient if you need to send.",
        ));
    }
    check_attachment_list(&request.attachments)?;
    let envelope = parsed.map_err(|_| {
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
    // sealed under a key they still hold (a retry of a message stored
    // before is answered below).
    if checks
        .current_epoch
        .is_some_and(|current| current != i64::from(header.epoch))
        && !checks.already_stored
    {
        return Err(ApiError::conflict(
            ErrorCode::StaleEpoch,
            "This thread's keys have changed. Fetch the thread's keys, seal the message again and resend it.",
        ));
    }
    // A member left since this epoch began (removed, or their caregiver
    // grant ended): they hold its key, so the next message waits for an
    // epoch sealed to the members there are now.
    if checks.needs_rekey && !checks.already_stored {
        return Err(ApiError::conflict(
            ErrorCode::StaleEpoch,
            "Someone left this thread, so its keys must change first. Fetch the thread, start its next epoch for the members there are now, then seal the message again and resend it.",
        ));
    }
    if !checks.has_key {
        return Err(ApiError::bad_request(
            ErrorCode::UnknownEpoch,
            "The envelope's epoch has no key for you in this thread. Fetch the thread's keys and seal again.",
        ));
    }
    let existing = if checks.already_stored {
        store::envelopes::find(&state.db, &thread_id, &header.sender_id, &header.message_id).await?
    } else {
        None
    };
    if let Some(existing) = existing {
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
    // Re-checked as it is stored: a member removed (and the epoch rotated)
    // a moment ago cannot slip a message in.
    let outcome = store::sends::store(
        &state.db,
        state.send_writer.as_ref(),
        store::sends::NewMessage {
            thread_id: thread_id.clone(),
            epoch: i64::from(header.epoch),
            sender_id: header.sender_id.clone(),
            message_id: header.message_id.clone(),
            envelope: request.envelope.0.clone(),
            attachments: request.attachments.clone(),
            received_at: now,
        },
    )
    .await?;
    let store::sends::Stored {
        seq,
        chain,
        recipients,
    } = match outcome {
        store::sends::Outcome::Stored(stored) => stored,
        store::sends::Outcome::KeysChanged => {
            return Err(ApiError::conflict(
                ErrorCode::StaleEpoch,
                "This thread's keys or members changed. Fetch the thread again, seal the message again and resend it.",
            ));
        }
        store::sends::Outcome::AlreadyStored => {
            // A concurrent retry won the race: answer with what it stored.
            let existing = store::envelopes::find(
                &state.db,
                &thread_id,
                &header.sender_id,
                &header.message_id,
            )
            .await?
            .ok_or_else(|| ApiError::internal("post message", &"retry vanished"))?;
            return Ok((StatusCode::OK, Json(existing)));
        }
        store::sends::Outcome::UnknownAttachment { position } => {
            return Err(ApiError::bad_request(
                ErrorCode::UnknownAttachment,
                format!(
                    "Attachment {} of this message is not a finished upload of yours (it may be unfinished, expired or someone else's). Upload the file again, finalize it, then send the message.",
                    position + 1
                ),
            ));
        }
    };
    let stored = StoredMessage {
        seq: as_u64(seq),
        message_id: header.message_id.clone(),
        sender_id: header.sender_id.clone(),
        received_at: as_u64(now),
        envelope: request.envelope,
        attachments: request.attachments,
        chain: Some(Bytes(chain.to_vec())),
    };
    // Members without a live connection hear of it by Web Push: queued
    // here, sent by the push worker, never waited for.
    let offline: Vec<String> = recipients
        .iter()
        .filter(|member| **member != session.account_id)
        .cloned()
        .collect();
    state.events.publish(
        recipients,
        &Event::Message {
            thread_id: thread_id.clone(),
            message: stored.clone(),
        },
    );
    state
        .push
        .notify(&state, PushKind::Message, &thread_id, offline);
    if let Some(grant) = grant {
        // After the send's own commit (the send path's writer knows nothing
        // of logs); a failure here is logged: the message was stored.
        let activity = ThreadActivity {
            by: session.account_id.clone(),
            thread_id,
            seq: Some(stored.seq),
        };
        crate::access::thread_activity(
            &state,
            &grant.patient_id,
            AccountEventKind::CaregiverSent,
            &activity,
        )
        .await;
    }
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
    let seq = |from: u64| i64::try_from(from).unwrap_or(i64::MAX);
    // One extra row tells whether another page exists.
    let extra = i64::from(limit) + 1;
    let (mut messages, backward) = match direction {
        Direction::After(after) => (
            store::envelopes::after(&state.db, &thread_id, seq(after), extra).await?,
            false,
        ),
        Direction::Before(before) => (
            store::envelopes::before(&state.db, &thread_id, seq(before), extra).await?,
            true,
        ),
    };
    let more = messages.len() > take;
    messages.truncate(take);
    // Backward reads newest first; a page is always oldest first.
    if backward {
        messages.reverse();
    }
    store::attachments::fill(&state.db, &thread_id, &mut messages).await?;
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
    let stored = store::archive::head(&state.db, &thread_id).await?;
    let head = crate::archive::hash32(stored.head_chain.as_deref())?;
    let pruned = crate::archive::hash32(stored.pruned_chain.as_deref())?;
    Ok(Json(ArchiveHead {
        thread_id,
        last_seq: as_u64(stored.last_seq),
        head: Bytes(head.to_vec()),
        pruned_through_seq: as_u64(stored.pruned_through_seq),
        pruned_chain: Bytes(pruned.to_vec()),
    }))
}

/// The thread's current members.
async fn members(state: &AppState, thread_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(store::members::current(&state.db, thread_id).await?)
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
    let role = require_member(&state, &thread_id, &session.account_id).await?;
    let last_seq = store::threads::last_seq(&state.db, &thread_id).await?;
    let up_to = i64::try_from(request.up_to_seq)
        .unwrap_or(i64::MAX)
        .min(last_seq);
    let now = now_ms();
    let moved = match request.kind {
        ReceiptKind::Read => {
            store::receipts::read(&state.db, &thread_id, &session.account_id, up_to, now).await?
        }
        ReceiptKind::Delivered => {
            store::receipts::delivered(&state.db, &thread_id, &session.account_id, up_to).await?
        }
    };
    if moved && role == Role::Caregiver && request.kind == ReceiptKind::Read {
        // A caregiver's read is what the patient most wants to see: it is
        // in the log before the others hear of it.
        let grant = caregiver_grant(&state, &thread_id, &session.account_id).await?;
        crate::access::thread_activity(
            &state,
            &grant.patient_id,
            AccountEventKind::CaregiverRead,
            &ThreadActivity {
                by: session.account_id.clone(),
                thread_id: thread_id.clone(),
                seq: Some(as_u64(up_to)),
            },
        )
        .await;
    }
    if moved {
        let others = members(&state, &thread_id).await?;
        if request.kind == ReceiptKind::Read && !matches!(role, Role::Patient | Role::Caregiver) {
            // The care team's "read" reaches the patient by Web Push too
            // ("Your care team read your message"); a delivered mark is no
            // news to a person, and the patient's or a caregiver's read is
            // nothing to wake anyone for.
            let patients: Vec<String> = store::members::list(&state.db, &thread_id)
                .await?
                .into_iter()
                .filter(|member| member.role == Role::Patient)
                .map(|member| member.account_id)
                .collect();
            state
                .push
                .notify(&state, PushKind::Receipt, &thread_id, patients);
        }
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
    let others: Vec<String> = members(&state, &thread_id)
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
}
