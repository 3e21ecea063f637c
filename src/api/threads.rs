//! Threads, their sealed keys, messages, receipts and typing.

use gloo_net::http::Method;
use ward_proto::Bytes;
use ward_proto::events::{ReceiptKind, ReceiptRequest};
use ward_proto::threads::{
    AddMemberRequest, Category, CreateThreadRequest, MAX_THREADS_PER_PAGE, MessagePage,
    OnlyMeRequest, PostMessageRequest, PutEpochRequest, RemoveMemberRequest, SealedKeys,
    StoredMessage, SubjectRequest, Thread, ThreadList,
};

use super::{ApiError, SessionToken, call, call_empty, get, url_encode};

fn path(thread_id: &str, rest: &str) -> String {
    format!("/v1/threads/{}{rest}", url_encode(thread_id))
}

/// The most pages [`list`] reads before giving up on a relay that never
/// ends (2 000 000 threads at 200 a page).
const MAX_THREAD_PAGES: usize = 10_000;

/// `GET /v1/threads`: every one of the caller's threads, newest activity
/// first, reading page after page until the relay says there is no next
/// one. A thread served twice is kept once.
pub(crate) async fn list(token: &SessionToken) -> Result<Vec<Thread>, ApiError> {
    let mut threads: Vec<Thread> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_THREAD_PAGES {
        let path = match &cursor {
            None => format!("/v1/threads?limit={MAX_THREADS_PER_PAGE}"),
            Some(cursor) => format!(
                "/v1/threads?limit={MAX_THREADS_PER_PAGE}&cursor={}",
                url_encode(cursor)
            ),
        };
        let page: ThreadList = get(&path, Some(token)).await?;
        let empty = page.threads.is_empty();
        for thread in page.threads {
            if seen.insert(thread.thread_id.clone()) {
                threads.push(thread);
            }
        }
        match page.next_cursor {
            // An empty page that is not the last would never end.
            Some(next) if !empty => cursor = Some(next),
            Some(_) => return Err(ApiError::UnexpectedBody),
            None => return Ok(threads),
        }
    }
    Err(ApiError::UnexpectedBody)
}

/// `POST /v1/threads`: a new thread with the clinic (no keys yet).
pub(crate) async fn create(token: &SessionToken, category: Category) -> Result<Thread, ApiError> {
    call(
        Method::POST,
        "/v1/threads",
        Some(token),
        &CreateThreadRequest { category },
    )
    .await
}

/// `GET /v1/threads/{id}`.
pub(crate) async fn thread(token: &SessionToken, thread_id: &str) -> Result<Thread, ApiError> {
    get(&path(thread_id, ""), Some(token)).await
}

/// `GET /v1/threads/{id}/keys`: the epoch keys sealed to the caller.
pub(crate) async fn keys(token: &SessionToken, thread_id: &str) -> Result<SealedKeys, ApiError> {
    get(&path(thread_id, "/keys"), Some(token)).await
}

/// `POST /v1/threads/{id}/epochs`: an epoch's key sealed to every member.
pub(crate) async fn put_epoch(
    token: &SessionToken,
    thread_id: &str,
    epoch: u32,
    sealed_keys: Vec<Vec<u8>>,
) -> Result<(), ApiError> {
    let body = PutEpochRequest {
        epoch,
        sealed_keys: sealed_keys.into_iter().map(Bytes).collect(),
    };
    call_empty(
        Method::POST,
        &path(thread_id, "/epochs"),
        Some(token),
        Some(&body),
    )
    .await
}

/// `POST /v1/threads/{id}/members` (the patient; needs a recent sign-in):
/// shares the thread with caregiver `account_id`, one sealed key per epoch.
pub(crate) async fn add_member(
    token: &SessionToken,
    thread_id: &str,
    account_id: &str,
    sealed_keys: Vec<Vec<u8>>,
) -> Result<(), ApiError> {
    let body = AddMemberRequest {
        account_id: account_id.to_owned(),
        sealed_keys: sealed_keys.into_iter().map(Bytes).collect(),
    };
    call_empty(
        Method::POST,
        &path(thread_id, "/members"),
        Some(token),
        Some(&body),
    )
    .await
}

/// `POST /v1/threads/{id}/members/{account}/remove` (the patient): stops
/// sharing with `account_id` and starts epoch `epoch`, sealed to those who
/// remain, in one step; with `only_me`, keeps the thread to the patient in
/// that step too.
pub(crate) async fn remove_member(
    token: &SessionToken,
    thread_id: &str,
    account_id: &str,
    epoch: u32,
    sealed_keys: Vec<Vec<u8>>,
    only_me: bool,
) -> Result<(), ApiError> {
    let body = RemoveMemberRequest {
        next_epoch: PutEpochRequest {
            epoch,
            sealed_keys: sealed_keys.into_iter().map(Bytes).collect(),
        },
        only_me,
    };
    let rest = format!("/members/{}/remove", url_encode(account_id));
    call_empty(
        Method::POST,
        &path(thread_id, &rest),
        Some(token),
        Some(&body),
    )
    .await
}

/// `PUT /v1/threads/{id}/only-me` (the patient): never share the thread
/// with a caregiver (`true`), or allow it again.
pub(crate) async fn set_only_me(
    token: &SessionToken,
    thread_id: &str,
    only_me: bool,
) -> Result<(), ApiError> {
    call_empty(
        Method::PUT,
        &path(thread_id, "/only-me"),
        Some(token),
        Some(&OnlyMeRequest { only_me }),
    )
    .await
}

/// `PUT /v1/threads/{id}/subject` (the patient, once): the sealed subject.
pub(crate) async fn set_subject(
    token: &SessionToken,
    thread_id: &str,
    sealed: Vec<u8>,
) -> Result<(), ApiError> {
    call_empty(
        Method::PUT,
        &path(thread_id, "/subject"),
        Some(token),
        Some(&SubjectRequest {
            subject: Bytes(sealed),
        }),
    )
    .await
}

/// How many messages one page carries (the relay's most).
pub(crate) const PAGE: u32 = 200;

/// `GET /v1/threads/{id}/messages?after=SEQ`: what came after `after`,
/// oldest first.
pub(crate) async fn messages_after(
    token: &SessionToken,
    thread_id: &str,
    after: u64,
) -> Result<MessagePage, ApiError> {
    get(
        &path(thread_id, &format!("/messages?after={after}&limit={PAGE}")),
        Some(token),
    )
    .await
}

/// `GET /v1/threads/{id}/messages?before=…`: the newest page before `before`
/// (`None`: the thread's newest page), oldest first, with the cursor for
/// the page before it.
pub(crate) async fn messages_before(
    token: &SessionToken,
    thread_id: &str,
    before: Option<u64>,
) -> Result<MessagePage, ApiError> {
    let before = before.map_or_else(|| "latest".to_owned(), |seq| seq.to_string());
    get(
        &path(
            thread_id,
            &format!("/messages?before={before}&limit={PAGE}"),
        ),
        Some(token),
    )
    .await
}

/// `POST /v1/threads/{id}/messages`: idempotent on the envelope's message
/// id; `attachments` names the blobs the sealed payload references.
pub(crate) async fn post(
    token: &SessionToken,
    thread_id: &str,
    envelope: Vec<u8>,
    attachments: Vec<String>,
) -> Result<StoredMessage, ApiError> {
    let body = PostMessageRequest {
        envelope: Bytes(envelope),
        attachments,
    };
    call(
        Method::POST,
        &path(thread_id, "/messages"),
        Some(token),
        &body,
    )
    .await
}

/// `POST /v1/threads/{id}/receipts`.
pub(crate) async fn receipt(
    token: &SessionToken,
    thread_id: &str,
    kind: ReceiptKind,
    up_to_seq: u64,
) -> Result<(), ApiError> {
    let body = ReceiptRequest { kind, up_to_seq };
    call_empty(
        Method::POST,
        &path(thread_id, "/receipts"),
        Some(token),
        Some(&body),
    )
    .await
}

/// `POST /v1/threads/{id}/typing`.
pub(crate) async fn typing(token: &SessionToken, thread_id: &str) -> Result<(), ApiError> {
    call_empty::<()>(Method::POST, &path(thread_id, "/typing"), Some(token), None).await
}
