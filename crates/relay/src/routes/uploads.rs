//! Encrypted attachments: resumable uploads in parts, the blobs they become,
//! and downloads by part. The relay stores ciphertext it cannot open and
//! never learns a file's name or type. An upload is visible only to its
//! uploader; a blob to its uploader and, once a message references it, to
//! every current member of that message's thread. Anyone else gets the
//! same 404 as for an id that does not exist.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ward_proto::ErrorCode;
use ward_proto::account::{AccountEventKind, ThreadActivity};
use ward_proto::blobs::{
    BlobFinalized, BlobInfo, CreateUploadRequest, MAX_PART_SIZE, UploadCreated, UploadStatus,
};

use crate::AppState;
use crate::blobs::BlobStore;
use crate::error::ApiError;
use crate::extract::{JsonBody, Session};
use crate::secrets::{self, now_ms};
use crate::store;

/// The most unfinished uploads one account may have at once.
const MAX_OPEN_UPLOADS: i64 = 50;

/// The body limit on part uploads: a little over the largest part, so that
/// a larger one is still answered with `part_too_large`.
pub const PART_BODY_LIMIT: usize = MAX_PART_SIZE as usize + 64 * 1024;

/// `1 GB`, `100 MB`, `2.5 MB`, `512 KB`, `10 bytes`: sizes for people.
pub fn human_bytes(bytes: u64) -> String {
    let unit = |value: u64, scale: u64, name: &str| {
        let whole = value / scale;
        let tenths = (value % scale) * 10 / scale;
        if tenths == 0 {
            format!("{whole} {name}")
        } else {
            format!("{whole}.{tenths} {name}")
        }
    };
    match bytes {
        1_000_000_000.. => unit(bytes, 1_000_000_000, "GB"),
        1_000_000.. => unit(bytes, 1_000_000, "MB"),
        1_000.. => unit(bytes, 1_000, "KB"),
        1 => "1 byte".to_owned(),
        _ => format!("{bytes} bytes"),
    }
}

fn as_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `expires_at` as clients see it: `u64::MAX` for a blob a message keeps.
fn expiry(expires_at: Option<i64>) -> u64 {
    expires_at.map_or(u64::MAX, as_u64)
}

fn part_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PartTooLarge,
        format!(
            "This part is larger than {MAX_PART_SIZE} bytes, the most one part may hold. Cut the file into more, smaller parts (start a new upload with a larger part_count)."
        ),
    )
}

fn part_index(text: &str) -> Result<u32, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidPart,
            "A part index is a whole number from 0 to the upload's part count minus one.",
        )
    })
}

fn index_out_of_range(index: u32, part_count: u32) -> ApiError {
    ApiError::bad_request(
        ErrorCode::InvalidPart,
        format!(
            "There is no part {index}: this upload has {part_count} part{}, numbered 0 to {}.",
            if part_count == 1 { "" } else { "s" },
            part_count.saturating_sub(1)
        ),
    )
}

fn already_finalized() -> ApiError {
    ApiError::conflict(
        ErrorCode::AlreadyFinalized,
        "This upload is finished and can no longer change. To send a different file, start a new upload.",
    )
}

fn parts_exceed_size(size: i64) -> ApiError {
    ApiError::bad_request(
        ErrorCode::SizeMismatch,
        format!(
            "With this part, the parts would add up to more than the {size} bytes this upload declared. Check how the file was cut into parts, or start a new upload with the right size."
        ),
    )
}

/// An upload of the caller's that has not expired.
struct Upload {
    size: i64,
    part_count: u32,
    finalized: bool,
    expires_at: Option<i64>,
}

async fn my_upload(
    state: &AppState,
    upload_id: &str,
    account_id: &str,
) -> Result<Upload, ApiError> {
    let upload = store::uploads::mine(&state.db, upload_id, account_id, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))?;
    Ok(Upload {
        size: upload.size,
        part_count: u32::try_from(upload.part_count).unwrap_or(0),
        finalized: upload.finalized_at.is_some(),
        expires_at: upload.expires_at,
    })
}

/// `POST /v1/uploads`: announces an encrypted file of `size` bytes in
/// `part_count` parts, within the per-file limit and the account's quota.
#[utoipa::path(
    post,
    path = "/v1/uploads",
    tag = "attachments",
    request_body = ward_proto::blobs::CreateUploadRequest,
    responses(
        (status = 201, description = "Created: upload the parts", body = ward_proto::blobs::UploadCreated),
        (status = 400, description = "`invalid_upload`: size or part count of 0, fewer parts than `ceil(size / max_part_size)` or more parts than bytes", body = ward_proto::ErrorBody),
        (status = 413, description = "`too_large`: larger than the encrypted size of a `max_attachment_bytes` file; `quota_exceeded`: over the attachment quota (a patient's, shared with the caregivers they invited)", body = ward_proto::ErrorBody),
        (status = 429, description = "`too_many_uploads`: 50 unfinished uploads already", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    JsonBody(request): JsonBody<CreateUploadRequest>,
) -> Result<(StatusCode, Json<UploadCreated>), ApiError> {
    let CreateUploadRequest { size, part_count } = request;
    if size == 0 || part_count == 0 {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidUpload,
            "An upload needs a size (the encrypted file's length in bytes) and a part count, each at least 1.",
        ));
    }
    let config = &state.config;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            format!(
                "This file is larger than the {} limit for attachments. Send a smaller file, or split it into several.",
                human_bytes(config.max_attachment_bytes)
            ),
        )
    };
    if size > config.max_upload_bytes() {
        return Err(too_large());
    }
    let fewest = size.div_ceil(u64::from(MAX_PART_SIZE));
    if u64::from(part_count) < fewest || u64::from(part_count) > size {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidUpload,
            format!(
                "A {size}-byte upload takes from {fewest} to {} parts: each part holds at least 1 byte and at most {MAX_PART_SIZE}.",
                size.min(u64::from(u32::MAX))
            ),
        ));
    }
    let size = i64::try_from(size).map_err(|_| too_large())?;
    let quota = i64::try_from(config.attachment_quota_bytes).unwrap_or(i64::MAX);
    let now = now_ms();
    let expires_at = now.saturating_add(millis(config.upload_expiry()));
    let upload_id = secrets::id("blob")?;
    // Checked and inserted under one lock per quota group: parallel
    // uploads cannot overshoot the quota or the open-upload limit. The quota is the
    // patient's, shared with the caregivers they invited (self-invited
    // accounts do not buy more storage); the open-upload limit is each
    // account's own.
    let created = store::uploads::create_within_quota(
        &state.db,
        store::uploads::NewUpload {
            upload_id: &upload_id,
            owner_id: &session.account_id,
            size,
            part_count: i64::from(part_count),
            created_at: now,
            expires_at,
        },
        quota,
        MAX_OPEN_UPLOADS,
    )
    .await?;
    if !created {
        let store::uploads::Usage { used, open } =
            store::uploads::usage(&state.db, &session.account_id, now).await?;
        if open >= MAX_OPEN_UPLOADS && used.saturating_add(size) <= quota {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyUploads,
                format!(
                    "You have {MAX_OPEN_UPLOADS} unfinished uploads. Finish or wait for them (unfinished uploads are removed after {} hours), then try again.",
                    config.upload_expiry_hours
                ),
            ));
        }
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::QuotaExceeded,
            format!(
                "This file does not fit in your {} of attachment storage (shared by a patient and the caregivers they invited): {} is in use. Send a smaller file, or ask your clinic for help. Unfinished uploads stop counting once they are removed.",
                human_bytes(config.attachment_quota_bytes),
                human_bytes(as_u64(used))
            ),
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(UploadCreated {
            upload_id,
            max_part_size: MAX_PART_SIZE,
            expires_at: as_u64(expires_at),
        }),
    ))
}

/// `PUT /v1/uploads/{upload_id}/parts/{index}`: stores one part (raw bytes);
/// putting a part again replaces it (a retry).
#[utoipa::path(
    put,
    path = "/v1/uploads/{upload_id}/parts/{index}",
    tag = "attachments",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The part's bytes: 1 to max_part_size (2 MiB) of ciphertext"),
    params(
        ("upload_id" = String, Path, description = "The upload"),
        ("index" = u32, Path, description = "The part, from 0 to part_count - 1")
    ),
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "`invalid_part`: index out of range or an empty part; `size_mismatch`: the parts would exceed the declared size", body = ward_proto::ErrorBody),
        (status = 404, description = "No such upload of the caller's (or it expired)", body = ward_proto::ErrorBody),
        (status = 408, description = "`body_timeout`: the part did not arrive within the relay's body timeout", body = ward_proto::ErrorBody),
        (status = 409, description = "`already_finalized`", body = ward_proto::ErrorBody),
        (status = 413, description = "`part_too_large`: more than max_part_size bytes", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn put_part(
    State(state): State<AppState>,
    session: Session,
    Path((upload_id, index)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let index = part_index(&index)?;
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(part_too_large());
        }
        Err(rejection) if crate::server::is_body_timeout(&rejection) => {
            return Err(ApiError::body_timeout());
        }
        Err(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::BadBody,
                "The part could not be read (the connection may have dropped). Send it again.",
            ));
        }
    };
    if bytes.len() > MAX_PART_SIZE as usize {
        return Err(part_too_large());
    }
    let upload = my_upload(&state, &upload_id, &session.account_id).await?;
    if upload.finalized {
        return Err(already_finalized());
    }
    if index >= upload.part_count {
        return Err(index_out_of_range(index, upload.part_count));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidPart,
            "This part is empty; every part holds at least 1 byte.",
        ));
    }
    let len = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    // A cheap early refusal; checked again when the part is recorded.
    let others = store::uploads::size_without_part(&state.db, &upload_id, i64::from(index)).await?;
    if others.saturating_add(len) > upload.size {
        return Err(parts_exceed_size(upload.size));
    }
    let object = BlobStore::part_object(&upload_id, index)?;
    state.blobs.put(&object, bytes).await?;
    match record_part(&state, &upload_id, index, len, &object).await {
        Ok(replaced) => {
            if let Some(old) = replaced.filter(|old| *old != object)
                && let Err(error) = state.blobs.delete(&old).await
            {
                // Left for the blob's deletion; the row names the new object.
                tracing::warn!(%error, "a replaced attachment part was not deleted");
            }
        }
        Err(refused) => {
            if let Err(error) = state.blobs.delete(&object).await {
                tracing::warn!(%error, "a refused attachment part was not deleted");
            }
            return Err(refused);
        }
    }
    state.metrics.part_stored(as_u64(len));
    Ok(StatusCode::NO_CONTENT)
}

/// Points part `index` at `object`, if the upload is still open, unexpired
/// and the parts stay within its size; the object it replaced, if any.
async fn record_part(
    state: &AppState,
    upload_id: &str,
    index: u32,
    len: i64,
    object: &str,
) -> Result<Option<String>, ApiError> {
    // IMMEDIATE: the checks and the write see the same state, even with
    // other parts of the upload arriving in parallel.
    let mut tx = crate::db::begin_write(&state.db, upload_id).await?;
    let now = now_ms();
    let index = i64::from(index);
    let upload = store::uploads::open(&mut tx, upload_id, now)
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))?;
    if upload.finalized {
        return Err(already_finalized());
    }
    let others = store::uploads::size_without_part(&mut *tx, upload_id, index).await?;
    if others.saturating_add(len) > upload.size {
        return Err(parts_exceed_size(upload.size));
    }
    let replaced = store::uploads::part_object(&mut tx, upload_id, index).await?;
    store::uploads::put_part(
        &mut tx,
        store::uploads::NewPart {
            upload_id,
            index,
            size: len,
            object,
            stored_at: now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(replaced)
}

/// `GET /v1/uploads/{upload_id}`: which parts arrived, to resume from.
#[utoipa::path(
    get,
    path = "/v1/uploads/{upload_id}",
    tag = "attachments",
    params(("upload_id" = String, Path, description = "The upload")),
    responses(
        (status = 200, description = "OK", body = ward_proto::blobs::UploadStatus),
        (status = 404, description = "No such upload of the caller's (or it expired)", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    session: Session,
    Path(upload_id): Path<String>,
) -> Result<Json<UploadStatus>, ApiError> {
    let upload = my_upload(&state, &upload_id, &session.account_id).await?;
    let received = store::uploads::received(&state.db, &upload_id).await?;
    Ok(Json(UploadStatus {
        upload_id,
        size: as_u64(upload.size),
        part_count: upload.part_count,
        received: received
            .into_iter()
            .filter_map(|i| u32::try_from(i).ok())
            .collect(),
        expires_at: expiry(upload.expires_at),
        finalized: upload.finalized,
    }))
}

/// `POST /v1/uploads/{upload_id}/finalize`: every part is there and they add
/// up to the declared size; the upload becomes a blob (same id). Idempotent.
#[utoipa::path(
    post,
    path = "/v1/uploads/{upload_id}/finalize",
    tag = "attachments",
    params(("upload_id" = String, Path, description = "The upload")),
    responses(
        (status = 200, description = "The blob (the same answer again if already finalized)", body = ward_proto::blobs::BlobFinalized),
        (status = 400, description = "`size_mismatch`: the parts do not add up to the declared size", body = ward_proto::ErrorBody),
        (status = 404, description = "No such upload of the caller's (or it expired)", body = ward_proto::ErrorBody),
        (status = 409, description = "`upload_incomplete`: parts are missing (the message says how many)", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn finalize(
    State(state): State<AppState>,
    session: Session,
    Path(upload_id): Path<String>,
) -> Result<Json<BlobFinalized>, ApiError> {
    let upload = my_upload(&state, &upload_id, &session.account_id).await?;
    let finalized = |upload_id: String| {
        Json(BlobFinalized {
            blob_id: upload_id,
            size: as_u64(upload.size),
            part_count: upload.part_count,
        })
    };
    if upload.finalized {
        return Ok(finalized(upload_id));
    }
    let now = now_ms();
    let expires_at = now.saturating_add(millis(state.config.unattached_blob_expiry()));
    // One statement: a part arriving in parallel is either counted or refused.
    if store::uploads::finalize(&state.db, &upload_id, &session.account_id, now, expires_at).await?
    {
        return Ok(finalized(upload_id));
    }
    // Why not: say what to do.
    let upload = my_upload(&state, &upload_id, &session.account_id).await?;
    if upload.finalized {
        return Ok(finalized(upload_id));
    }
    let stored = store::uploads::received(&state.db, &upload_id).await?;
    let missing = u64::from(upload.part_count).saturating_sub(stored.len() as u64);
    if missing > 0 {
        let first = (0..i64::from(upload.part_count))
            .find(|i| stored.binary_search(i).is_err())
            .unwrap_or(0);
        return Err(ApiError::conflict(
            ErrorCode::UploadIncomplete,
            format!(
                "{missing} of the {} parts {} missing (the first is part {first}). Upload {}, then finalize again.",
                upload.part_count,
                if missing == 1 { "is" } else { "are" },
                if missing == 1 { "it" } else { "them" },
            ),
        ));
    }
    let sum = store::uploads::size_of_parts(&state.db, &upload_id).await?;
    Err(ApiError::bad_request(
        ErrorCode::SizeMismatch,
        format!(
            "The parts add up to {sum} bytes, but the upload declared {}. Upload the parts that were cut wrongly again, or start a new upload with the right size.",
            upload.size
        ),
    ))
}

/// The size of a finalized, unexpired blob `account_id` may read: their own,
/// or one a message in a thread they are a current member of references.
async fn readable_blob(state: &AppState, blob_id: &str, account_id: &str) -> Result<i64, ApiError> {
    store::blobs::readable_size(&state.db, blob_id, account_id, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))
}

/// Records in the patient's access log that `reader` began downloading
/// `blob_id` (its first part), unless the reader is that patient or the
/// blob's own uploader.
async fn record_download(state: &AppState, blob_id: &str, reader: &str) -> Result<(), ApiError> {
    let Some((owner, thread_id, patient)) =
        store::blobs::conversation_of(&state.db, blob_id).await?
    else {
        return Ok(());
    };
    if reader == patient || reader == owner {
        return Ok(());
    }
    crate::access::thread_activity(
        state,
        &patient,
        AccountEventKind::AttachmentDownloaded,
        &ThreadActivity {
            by: reader.to_owned(),
            thread_id,
            seq: None,
        },
    )
    .await;
    Ok(())
}

/// `GET /v1/blobs/{blob_id}`: the blob's size and its parts' sizes.
#[utoipa::path(
    get,
    path = "/v1/blobs/{blob_id}",
    tag = "attachments",
    params(("blob_id" = String, Path, description = "The blob")),
    responses(
        (status = 200, description = "OK", body = ward_proto::blobs::BlobInfo),
        (status = 404, description = "No such blob, or not the caller's nor attached in a thread of theirs", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn blob_info(
    State(state): State<AppState>,
    session: Session,
    Path(blob_id): Path<String>,
) -> Result<Json<BlobInfo>, ApiError> {
    let size = readable_blob(&state, &blob_id, &session.account_id).await?;
    let part_sizes = store::blobs::part_sizes(&state.db, &blob_id).await?;
    Ok(Json(BlobInfo {
        blob_id,
        size: as_u64(size),
        part_sizes: part_sizes
            .into_iter()
            .map(|s| u32::try_from(s).unwrap_or(0))
            .collect(),
    }))
}

/// `GET /v1/blobs/{blob_id}/parts/{index}`: one part's bytes.
#[utoipa::path(
    get,
    path = "/v1/blobs/{blob_id}/parts/{index}",
    tag = "attachments",
    params(
        ("blob_id" = String, Path, description = "The blob"),
        ("index" = u32, Path, description = "The part, from 0")
    ),
    responses(
        (status = 200, description = "The part's ciphertext", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "`invalid_part`: no such part index", body = ward_proto::ErrorBody),
        (status = 404, description = "No such blob, or not the caller's nor attached in a thread of theirs", body = ward_proto::ErrorBody)
    ),
    security(("session" = []))
)]
pub async fn get_part(
    State(state): State<AppState>,
    session: Session,
    Path((blob_id, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let index = part_index(&index)?;
    readable_blob(&state, &blob_id, &session.account_id).await?;
    if index == 0 {
        record_download(&state, &blob_id, &session.account_id).await?;
    }
    let Some(store::blobs::Part { size, object }) =
        store::blobs::part(&state.db, &blob_id, i64::from(index)).await?
    else {
        let part_count = store::blobs::part_count(&state.db, &blob_id).await?;
        return Err(index_out_of_range(
            index,
            u32::try_from(part_count).unwrap_or(0),
        ));
    };
    let bytes = state.blobs.get(&object).await?;
    if bytes.len() as u64 != as_u64(size) {
        return Err(ApiError::internal(
            "blob part",
            &format!("stored object {object} is not the recorded size"),
        ));
    }
    let mut response = Body::from(bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(as_u64(size)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_bytes(100_000_000), "100 MB");
        assert_eq!(human_bytes(1_000_000_000), "1 GB");
        assert_eq!(human_bytes(2_500_000), "2.5 MB");
        assert_eq!(human_bytes(1_500), "1.5 KB");
        assert_eq!(human_bytes(1), "1 byte");
        assert_eq!(human_bytes(0), "0 bytes");
    }
}
