//! Encrypted attachments on the relay: resumable uploads in parts, and the
//! blobs they become.
//!
//! The relay stores ciphertext only. A client encrypts a file with the
//! attachment stream (`ward_seal::stream`: a 33-byte header, then 64 KiB
//! chunks of 65 552 encrypted bytes), cuts the encrypted file into parts and
//! uploads them:
//!
//! 1. `POST /v1/uploads` with the encrypted size and the number of parts
//!    ([`CreateUploadRequest`] → [`UploadCreated`]);
//! 2. `PUT /v1/uploads/{upload_id}/parts/{index}` with each part's raw bytes,
//!    in any order; putting a part again replaces it (a retry);
//! 3. after a dropped connection, `GET /v1/uploads/{upload_id}`
//!    ([`UploadStatus`]) says which parts arrived;
//! 4. `POST /v1/uploads/{upload_id}/finalize` ([`BlobFinalized`]) turns the
//!    upload into a blob;
//! 5. the message that carries the file key names the blob in
//!    `PostMessageRequest::attachments`; from then on every member of the
//!    thread can read it: `GET /v1/blobs/{blob_id}` ([`BlobInfo`]) and
//!    `GET /v1/blobs/{blob_id}/parts/{index}`.
//!
//! Concatenating a blob's parts in index order gives back the encrypted file
//! (header and chunks); that is all a reader may rely on. Writers cut it as
//! [`CHUNKS_PER_PART`] describes.

use serde::{Deserialize, Serialize};

/// The largest part the relay accepts, in bytes (2 MiB).
pub const MAX_PART_SIZE: u32 = 2 * 1024 * 1024;

/// How Ward's writers (the web client and the clinic agent) cut an encrypted
/// attachment into parts: 16 encrypted chunks per part.
///
/// Part 0 is the 33-byte stream header followed by chunks 0 to 15; part `k`
/// (from 1) is chunks `16k` to `16k + 15`; the last part holds whatever
/// chunks remain (its last chunk is usually shorter). With the stream's
/// 65 552-byte encrypted chunks a part is at most 33 + 16 × 65 552 =
/// 1 048 865 bytes, well under [`MAX_PART_SIZE`], and a file of `n` chunks
/// has `ceil(n / 16)` parts ([`part_count_for_chunks`]).
///
/// Readers must not depend on this layout: the relay accepts any cut, and a
/// reader concatenates the parts in order (header, then encrypted chunks).
pub const CHUNKS_PER_PART: u64 = 16;

/// How many parts a file of `chunk_count` encrypted chunks is cut into by
/// [`CHUNKS_PER_PART`] (at least one).
pub const fn part_count_for_chunks(chunk_count: u64) -> u64 {
    let parts = chunk_count.div_ceil(CHUNKS_PER_PART);
    if parts == 0 { 1 } else { parts }
}

/// The most blobs one message may reference.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;

/// `POST /v1/uploads`: announces an encrypted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    /// The ENCRYPTED size in bytes: the stream header and every encrypted
    /// chunk (`ward_seal::stream::encrypted_len` of the plaintext size).
    pub size: u64,
    /// How many parts it will be uploaded in: at least
    /// `ceil(size / max_part_size)`, at most `size`.
    pub part_count: u32,
}

/// The upload, ready for its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadCreated {
    /// Names the upload in the next calls (and the blob it becomes).
    pub upload_id: String,
    /// The largest part the relay accepts, in bytes.
    pub max_part_size: u32,
    /// When the relay deletes the upload if it is not finalized by then
    /// (Unix milliseconds).
    pub expires_at: u64,
}

/// `GET /v1/uploads/{upload_id}`: what arrived, to resume from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadStatus {
    /// The upload.
    pub upload_id: String,
    /// Its declared encrypted size.
    pub size: u64,
    /// Its declared number of parts.
    pub part_count: u32,
    /// The indices of the parts stored, ascending.
    pub received: Vec<u32>,
    /// When the relay deletes it (Unix milliseconds): an unfinished upload
    /// at this time; a finalized one at this time unless a message attaches
    /// it first. Once a message references it, it is kept with the message
    /// and this is `u64::MAX`.
    pub expires_at: u64,
    /// Whether it was finalized into a blob (its id is `upload_id`).
    pub finalized: bool,
}

/// `POST /v1/uploads/{upload_id}/finalize`: the blob. Finalizing again gives
/// the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobFinalized {
    /// Names the blob in `PostMessageRequest::attachments` and downloads.
    pub blob_id: String,
    /// Its encrypted size in bytes.
    pub size: u64,
    /// How many parts it has.
    pub part_count: u32,
}

/// `GET /v1/blobs/{blob_id}`: what to download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobInfo {
    /// The blob.
    pub blob_id: String,
    /// Its encrypted size in bytes (the sum of `part_sizes`).
    pub size: u64,
    /// Each part's size in bytes, by index: part `i` is
    /// `GET /v1/blobs/{blob_id}/parts/{i}`.
    pub part_sizes: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_cut_sixteen_chunks_per_part() {
        assert_eq!(part_count_for_chunks(0), 1);
        assert_eq!(part_count_for_chunks(1), 1);
        assert_eq!(part_count_for_chunks(16), 1);
        assert_eq!(part_count_for_chunks(17), 2);
        assert_eq!(part_count_for_chunks(23), 2);
        assert_eq!(part_count_for_chunks(33), 3);
        // Header plus 16 full encrypted chunks (65 536 + 16 bytes) fit a part.
        assert!(33 + CHUNKS_PER_PART * 65_552 <= u64::from(MAX_PART_SIZE));
    }

    #[test]
    fn upload_types_have_a_stable_json_shape() {
        let request: CreateUploadRequest =
            serde_json::from_str(r#"{"size":1048865,"part_count":1}"#).unwrap();
        assert_eq!(
            request,
            CreateUploadRequest {
                size: 1_048_865,
                part_count: 1
            }
        );
        assert!(
            serde_json::from_str::<CreateUploadRequest>(
                r#"{"size":1,"part_count":1,"name":"x.pdf"}"#
            )
            .is_err()
        );
        let status = UploadStatus {
            upload_id: "blob_1".into(),
            size: 10,
            part_count: 2,
            received: vec![1],
            expires_at: 5,
            finalized: false,
        };
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            r#"{"upload_id":"blob_1","size":10,"part_count":2,"received":[1],"expires_at":5,"finalized":false}"#
        );
    }
}
