//! Encrypted attachments: resumable uploads in parts, and reading blobs
//! back part by part. Every byte here is ciphertext.

use gloo_net::http::Method;
use ward_proto::blobs::{
    BlobFinalized, BlobInfo, CreateUploadRequest, UploadCreated, UploadStatus,
};

use super::{ApiError, SessionToken, call, get, get_bytes, put_bytes, url_encode};

/// `POST /v1/uploads`: room for `size` encrypted bytes in `part_count` parts.
pub(crate) async fn create(
    token: &SessionToken,
    size: u64,
    part_count: u32,
) -> Result<UploadCreated, ApiError> {
    call(
        Method::POST,
        "/v1/uploads",
        Some(token),
        &CreateUploadRequest { size, part_count },
    )
    .await
}

/// `PUT /v1/uploads/{id}/parts/{index}` (a retry replaces the part).
pub(crate) async fn put_part(
    token: &SessionToken,
    upload_id: &str,
    index: u32,
    bytes: &[u8],
) -> Result<(), ApiError> {
    put_bytes(
        &format!("/v1/uploads/{}/parts/{index}", url_encode(upload_id)),
        token,
        bytes,
    )
    .await
}

/// `GET /v1/uploads/{id}`: which parts the relay has.
pub(crate) async fn status(
    token: &SessionToken,
    upload_id: &str,
) -> Result<UploadStatus, ApiError> {
    get(
        &format!("/v1/uploads/{}", url_encode(upload_id)),
        Some(token),
    )
    .await
}

/// `POST /v1/uploads/{id}/finalize`.
pub(crate) async fn finalize(
    token: &SessionToken,
    upload_id: &str,
) -> Result<BlobFinalized, ApiError> {
    call(
        Method::POST,
        &format!("/v1/uploads/{}/finalize", url_encode(upload_id)),
        Some(token),
        &serde_json::json!({}),
    )
    .await
}

/// `GET /v1/blobs/{id}`: the blob's size and its parts' sizes.
pub(crate) async fn blob(token: &SessionToken, blob_id: &str) -> Result<BlobInfo, ApiError> {
    get(&format!("/v1/blobs/{}", url_encode(blob_id)), Some(token)).await
}

/// `GET /v1/blobs/{id}/parts/{index}`.
pub(crate) async fn blob_part(
    token: &SessionToken,
    blob_id: &str,
    index: u32,
) -> Result<Vec<u8>, ApiError> {
    get_bytes(
        &format!("/v1/blobs/{}/parts/{index}", url_encode(blob_id)),
        token,
    )
    .await
}
