//! Threads, their sealed keys, messages, receipts and typing.

use gloo_net::http::Method;
use ward_proto::Bytes;
use ward_proto::events::{ReceiptKind, ReceiptRequest};
use ward_proto::threads::{
    Category, CreateThreadRequest, MessagePage, PostMessageRequest, PutEpochRequest, SealedKeys,
    StoredMessage, Thread, ThreadList,
};

use super::{ApiError, SessionToken, call, call_empty, get};

fn path(thread_id: &str, rest: &str) -> String {
    format!(
        "/v1/threads/{}{rest}",
        String::from(js_sys::encode_uri_component(thread_id))
    )
}

/// `GET /v1/threads`: the caller's threads, newest activity first.
pub async fn list(token: &SessionToken) -> Result<ThreadList, ApiError> {
    get("/v1/threads", Some(token)).await
}

/// `POST /v1/threads`: a new thread with the clinic (no keys yet).
pub async fn create(token: &SessionToken, category: Category) -> Result<Thread, ApiError> {
    call(
        Method::POST,
        "/v1/threads",
        Some(token),
        &CreateThreadRequest { category },
    )
    .await
}

/// `GET /v1/threads/{id}`.
pub async fn thread(token: &SessionToken, thread_id: &str) -> Result<Thread, ApiError> {
    get(&path(thread_id, ""), Some(token)).await
}

/// `GET /v1/threads/{id}/keys`: the epoch keys sealed to the caller.
pub async fn keys(token: &SessionToken, thread_id: &str) -> Result<SealedKeys, ApiError> {
    get(&path(thread_id, "/keys"), Some(token)).await
}

/// `POST /v1/threads/{id}/epochs`: an epoch's key sealed to every member.
pub async fn put_epoch(
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

/// How many messages one page carries (the relay's most).
pub const PAGE: u32 = 200;

/// `GET /v1/threads/{id}/messages?after=SEQ`: what came after `after`,
/// oldest first.
pub async fn messages_after(
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
pub async fn messages_before(
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
pub async fn post(
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
pub async fn receipt(
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
pub async fn typing(token: &SessionToken, thread_id: &str) -> Result<(), ApiError> {
    call_empty::<()>(Method::POST, &path(thread_id, "/typing"), Some(token), None).await
}
