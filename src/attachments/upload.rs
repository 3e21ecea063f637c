//! Sending a file: hashed, then encrypted and uploaded part by part as it
//! is read (`Blob.slice`), so a 100 MB file never sits in memory. Parts are
//! cut as `ward_proto::blobs::CHUNKS_PER_PART` says: part 0 is the stream
//! header and chunks 0..16, part k chunks 16k..16k+16. The stream is random
//! access by chunk, so a resumed upload encrypts only the parts the relay
//! does not have.

use futures::StreamExt as _;
use futures::channel::oneshot;
use futures::stream::FuturesOrdered;
use leptos::task::spawn_local;
use ward_proto::blobs::{CHUNKS_PER_PART, part_count_for_chunks};
use ward_seal::stream::{self, CHUNK_SIZE, Encryptor, FileHasher};
use web_sys::Blob;

use super::{media_type_for, photo, read, refusal};
use crate::api::{SessionToken, uploads};
use crate::session::SessionError;

/// Plaintext bytes per part.
const PART_BYTES: u64 = CHUNKS_PER_PART * CHUNK_SIZE as u64;

/// Bytes read per step while hashing: reading a file is a round trip to
/// the browser's file thread, so fewer, larger reads go faster.
const HASH_READ_BYTES: u64 = 4 * PART_BYTES;

/// A file chosen to send: checked, and for photos cleaned of location.
#[derive(Debug, Clone)]
pub struct Picked {
    /// What is read and encrypted (the cleaned photo, or the file itself).
    pub blob: Blob,
    /// The file's name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Bytes of `blob`.
    pub size: u64,
    /// A small JPEG preview, for photos.
    pub thumbnail: Option<Vec<u8>>,
    /// Whether location data was found and removed.
    pub location_removed: bool,
}

/// Checks a file the patient chose against the clinic's limits, removes a
/// JPEG's location data and makes a preview of a photo. `Err` is what to
/// tell the patient.
pub async fn prepare(
    file: &web_sys::File,
    max_bytes: u64,
    allowed: &[String],
) -> Result<Picked, String> {
    let name = file.name();
    let media_type = media_type_for(&name, &file.type_());
    let size = file.size() as u64;
    if let Some(reason) = refusal(&name, &media_type, size, max_bytes, allowed) {
        return Err(reason);
    }
    let mut picked = Picked {
        blob: file.clone().into(),
        name,
        media_type,
        size,
        thumbnail: None,
        location_removed: false,
    };
    if picked.media_type == "image/jpeg"
        && let Some((cleaned, cleaned_size, removed)) =
            photo::without_location(&picked.blob, size).await
    {
        picked.blob = cleaned;
        picked.size = cleaned_size;
        picked.location_removed = removed;
    }
    if picked.media_type.starts_with("image/") {
        picked.thumbnail = photo::thumbnail(&picked.blob).await;
    }
    Ok(picked)
}

/// How many parts a file of `size` plaintext bytes is uploaded in.
pub fn part_count(size: u64) -> u32 {
    u32::try_from(part_count_for_chunks(stream::chunk_count(size))).unwrap_or(u32::MAX)
}

/// The file's SHA-256, read part by part; `on_read` gets the bytes read.
pub async fn hash(blob: &Blob, size: u64, on_read: impl Fn(u64)) -> Result<[u8; 32], SessionError> {
    let mut hasher = FileHasher::default();
    let mut at = 0;
    while at < size {
        let end = (at + HASH_READ_BYTES).min(size);
        hasher.update(&read::slice(blob, at, end).await?);
        at = end;
        on_read(at);
    }
    Ok(hasher.finish())
}

/// The encrypted bytes of part `index`.
async fn sealed_part(
    encryptor: &Encryptor,
    blob: &Blob,
    size: u64,
    index: u32,
) -> Result<Vec<u8>, SessionError> {
    let first = u64::from(index) * CHUNKS_PER_PART;
    let end_chunk = (first + CHUNKS_PER_PART).min(encryptor.chunk_count());
    let start = first * CHUNK_SIZE as u64;
    let end = (end_chunk * CHUNK_SIZE as u64).min(size);
    let plaintext = read::slice(blob, start, end).await?;
    let mut out = Vec::with_capacity(plaintext.len() + 16 * CHUNKS_PER_PART as usize + 64);
    if index == 0 {
        out.extend_from_slice(&encryptor.header().to_bytes());
    }
    let mut offset = 0;
    for chunk in first..end_chunk {
        let len = encryptor
            .chunk_len(chunk)
            .map_err(|_| SessionError::FileChanged)?;
        let piece = plaintext
            .get(offset..offset + len)
            .ok_or(SessionError::FileChanged)?;
        out.extend(
            encryptor
                .encrypt_chunk(chunk, piece)
                .map_err(|_| SessionError::FileChanged)?,
        );
        offset += len;
    }
    Ok(out)
}

/// A file being encrypted for upload.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The stream (its key and header).
    pub encryptor: &'a Encryptor,
    /// The file.
    pub blob: &'a Blob,
    /// Its size.
    pub size: u64,
}

/// How many parts may be on the wire at once: the next part is encrypted
/// while earlier ones upload, and the relay's per-part write (it syncs each
/// to disk) overlaps the network. Memory stays at a few parts.
const PARTS_IN_FLIGHT: usize = 3;

/// Encrypts and uploads every part the relay does not have yet (`have`).
/// Parts are encrypted in order, up to [`PARTS_IN_FLIGHT`] upload at once.
/// `on_sent` gets the plaintext bytes stored so far (counting in order);
/// `cancelled` is asked before each part and once all are stored.
pub async fn send_parts(
    token: &SessionToken,
    upload_id: &str,
    source: Source<'_>,
    have: &[u32],
    on_sent: impl Fn(u64),
    cancelled: impl Fn() -> bool,
) -> Result<(), SessionError> {
    let mut in_flight = FuturesOrdered::new();
    let done = |index: u32| ((u64::from(index) + 1) * PART_BYTES).min(source.size);
    for index in 0..part_count(source.size) {
        if cancelled() {
            return Err(SessionError::UploadCancelled);
        }
        if have.contains(&index) {
            if in_flight.is_empty() {
                on_sent(done(index));
            }
            continue;
        }
        if in_flight.len() >= PARTS_IN_FLIGHT
            && let Some(stored) = in_flight.next().await
        {
            on_sent(done(stored?));
        }
        let bytes = sealed_part(source.encryptor, source.blob, source.size, index).await?;
        // Its own task, so the request starts now, while the next part is
        // being encrypted.
        let (sent, stored) = oneshot::channel();
        let (token, upload_id) = (token.clone(), upload_id.to_owned());
        spawn_local(async move {
            let result = uploads::put_part(&token, &upload_id, index, &bytes).await;
            let _ = sent.send(result.map(|()| index).map_err(SessionError::from));
        });
        in_flight.push_back(async move { stored.await.unwrap_or(Err(SessionError::Interrupted)) });
    }
    while let Some(stored) = in_flight.next().await {
        on_sent(done(stored?));
    }
    // A Cancel pressed while the last parts were on the wire still counts:
    // nothing has been finalized or sent yet.
    if cancelled() {
        return Err(SessionError::UploadCancelled);
    }
    Ok(())
}

/// The encrypted size of a `size`-byte file (what the relay is told).
pub fn encrypted_size(size: u64) -> Result<u64, SessionError> {
    stream::encrypted_len(size).ok_or(SessionError::FileChanged)
}
