//! Opening an attachment: fetched part by part, decrypted chunk by chunk,
//! checked against the SHA-256 the sender sealed, and handed to the
//! browser as a `Blob` (the caller makes and revokes its object URL).

use js_sys::{Array, Uint8Array};
use ward_seal::stream::{Decryptor, FileHasher, HEADER_LEN, StreamHeader};
use web_sys::{Blob, BlobPropertyBag};

use super::Attachment;
use crate::api::{SessionToken, uploads};
use crate::session::SessionError;

/// Media types shown inline in an `<img>`. Anything else (SVG, HTML, an
/// unknown type a sender claims) is only ever downloaded: a `blob:` URL has
/// this app's origin, so it must never be navigated to as a document.
const INLINE_IMAGES: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/gif"];

/// Whether the thread may show this attachment as a picture.
pub(crate) fn shows_inline(attachment: &Attachment) -> bool {
    INLINE_IMAGES.contains(&attachment.media_type.as_str())
}

/// The attachment's plaintext as a `Blob`; `on_progress` gets the bytes
/// decrypted so far.
pub(crate) async fn open(
    token: &SessionToken,
    attachment: &Attachment,
    on_progress: impl Fn(u64),
) -> Result<Blob, SessionError> {
    let damaged = |_| SessionError::AttachmentDamaged;
    let info = uploads::blob(token, &attachment.blob_id).await?;
    let pieces = Array::new();
    let mut hasher = FileHasher::default();
    let mut pending: Vec<u8> = Vec::new();
    let mut decryptor: Option<Decryptor> = None;
    let mut next_chunk = 0u64;
    let mut done = 0u64;
    for index in 0..info.part_sizes.len() {
        let index = u32::try_from(index).map_err(|_| SessionError::AttachmentDamaged)?;
        pending.extend_from_slice(&uploads::blob_part(token, &attachment.blob_id, index).await?);
        let mut at = 0;
        if decryptor.is_none() {
            if pending.len() < HEADER_LEN {
                continue;
            }
            let header = StreamHeader::from_bytes(&pending[..HEADER_LEN]).map_err(damaged)?;
            decryptor =
                Some(Decryptor::new(&attachment.file_key(), &header, info.size).map_err(damaged)?);
            at = HEADER_LEN;
        }
        let Some(stream) = decryptor.as_ref() else {
            continue;
        };
        while let Some(range) = stream.chunk_range(next_chunk) {
            let len = usize::try_from(range.end - range.start)
                .map_err(|_| SessionError::AttachmentDamaged)?;
            let Some(sealed) = pending.get(at..at + len) else {
                break;
            };
            let plaintext = stream.decrypt_chunk(next_chunk, sealed).map_err(damaged)?;
            hasher.update(&plaintext);
            pieces.push(&Uint8Array::from(plaintext.as_slice()));
            done += plaintext.len() as u64;
            on_progress(done);
            at += len;
            next_chunk += 1;
        }
        pending.drain(..at);
    }
    let complete = decryptor.is_some_and(|d| d.chunk_count() == next_chunk) && pending.is_empty();
    if !complete || done != attachment.size || hasher.finish() != attachment.sha256 {
        return Err(SessionError::AttachmentDamaged);
    }
    let options = BlobPropertyBag::new();
    // Only the inline image types keep their type; everything else is
    // opaque bytes for a download.
    let kind = if shows_inline(attachment) {
        attachment.media_type.as_str()
    } else {
        "application/octet-stream"
    };
    options.set_type(kind);
    Blob::new_with_u8_array_sequence_and_options(&pieces, &options)
        .map_err(|_| SessionError::AttachmentDamaged)
}
