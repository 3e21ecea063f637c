//! Sending a file: hashed, then encrypted and uploaded part by part as it
//! is read (`Blob.slice`), so a 100 MB file never sits in memory; the bytes
//! encrypted are hashed again as they are read, and must match the hash
//! the message was sealed with (a file changed in between is refused). Parts are
//! cut as `ward_proto::blobs::CHUNKS_PER_PART` says: part 0 is the stream
//! header and chunks 0..16, part k chunks 16k..16k+16. The stream is random
//! access by chunk, so a resumed upload encrypts only the parts the relay
//! does not have.

use futures::StreamExt as _;
use futures::channel::oneshot;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesOrdered;
use ward_proto::blobs::{CHUNKS_PER_PART, part_count_for_chunks};
use ward_seal::stream::{self, CHUNK_SIZE, Encryptor, FileHasher};
use web_sys::Blob;
use zeroize::Zeroizing;

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
pub(crate) async fn prepare(
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
pub(crate) fn part_count(size: u64) -> u32 {
    u32::try_from(part_count_for_chunks(stream::chunk_count(size))).unwrap_or(u32::MAX)
}

/// The file's SHA-256, read part by part; `on_read` gets the bytes read.
pub(crate) async fn hash(
    blob: &Blob,
    size: u64,
    on_read: impl Fn(u64),
) -> Result<[u8; 32], SessionError> {
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

/// The plaintext bytes of part `index`, read from the file now.
async fn part_plaintext(
    encryptor: &Encryptor,
    blob: &Blob,
    size: u64,
    index: u32,
) -> Result<Zeroizing<Vec<u8>>, SessionError> {
    let first = u64::from(index) * CHUNKS_PER_PART;
    let end_chunk = (first + CHUNKS_PER_PART).min(encryptor.chunk_count());
    let start = first * CHUNK_SIZE as u64;
    let end = (end_chunk * CHUNK_SIZE as u64).min(size);
    read::slice(blob, start, end).await
}

/// The encrypted bytes of part `index`, from its plaintext.
fn sealed_part(
    encryptor: &Encryptor,
    index: u32,
    plaintext: &[u8],
) -> Result<Vec<u8>, SessionError> {
    let first = u64::from(index) * CHUNKS_PER_PART;
    let end_chunk = (first + CHUNKS_PER_PART).min(encryptor.chunk_count());
    let mut out = Vec::with_capacity(plaintext.len() + 16 * CHUNKS_PER_PART as usize + 64);
    if index == 0 {
        out.extend_from_slice(&encryptor.header().to_bytes());
    }
    let mut offset = 0;
    for chunk in first..end_chunk {
        let len = encryptor
            .chunk_len(chunk)
            .map_err(|_| SessionError::FileChangedWhileSending)?;
        let piece = plaintext
            .get(offset..offset + len)
            .ok_or(SessionError::FileChangedWhileSending)?;
        out.extend(
            encryptor
                .encrypt_chunk(chunk, piece)
                .map_err(|_| SessionError::FileChangedWhileSending)?,
        );
        offset += len;
    }
    Ok(out)
}

/// A file being encrypted for upload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    /// The stream (its key and header).
    pub encryptor: &'a Encryptor,
    /// The file.
    pub blob: &'a Blob,
    /// Its size.
    pub size: u64,
    /// The SHA-256 the message carrying it was sealed with: the bytes read
    /// and encrypted now must hash to it.
    pub sha256: [u8; 32],
}

/// How many parts may be on the wire at once: the next part is encrypted
/// while earlier ones upload, and the relay's per-part write (it syncs each
/// to disk) overlaps the network. Memory stays at a few parts.
const PARTS_IN_FLIGHT: usize = 3;

/// Stores one encrypted part (index, bytes) on the relay.
type PutPart = dyn Fn(u32, Vec<u8>) -> LocalBoxFuture<'static, Result<(), SessionError>>;

/// Encrypts and uploads every part the relay does not have yet (`have`).
/// Parts are encrypted in order, up to [`PARTS_IN_FLIGHT`] upload at once.
/// `on_sent` gets the plaintext bytes stored so far (counting in order);
/// `cancelled` is asked before each part and as each stored part comes
/// back, so Cancel stops the upload up to its very end.
///
/// The file is hashed from the very bytes that are encrypted, as they are
/// read (the parts the relay already has are read and hashed too): if the
/// file changed since the message was sealed with its SHA-256, this ends
/// with [`SessionError::FileChangedWhileSending`] and the upload is never
/// finalized.
pub(crate) async fn send_parts(
    token: &SessionToken,
    upload_id: &str,
    source: Source<'_>,
    have: &[u32],
    on_sent: impl Fn(u64),
    cancelled: impl Fn() -> bool,
) -> Result<(), SessionError> {
    let (token, upload_id) = (token.clone(), upload_id.to_owned());
    let put = move |index: u32, bytes: Vec<u8>| -> LocalBoxFuture<'static, _> {
        let (token, upload_id) = (token.clone(), upload_id.clone());
        Box::pin(async move {
            uploads::put_part(&token, &upload_id, index, &bytes)
                .await
                .map_err(SessionError::from)
        })
    };
    encrypt_and_put(source, have, on_sent, cancelled, &put).await
}

async fn encrypt_and_put(
    source: Source<'_>,
    have: &[u32],
    on_sent: impl Fn(u64),
    cancelled: impl Fn() -> bool,
    put: &PutPart,
) -> Result<(), SessionError> {
    let changed = |error| match error {
        SessionError::FileChanged => SessionError::FileChangedWhileSending,
        other => other,
    };
    let mut hasher = FileHasher::default();
    let mut in_flight = FuturesOrdered::new();
    let done = |index: u32| ((u64::from(index) + 1) * PART_BYTES).min(source.size);
    for index in 0..part_count(source.size) {
        if cancelled() {
            return Err(SessionError::UploadCancelled);
        }
        let plaintext = part_plaintext(source.encryptor, source.blob, source.size, index)
            .await
            .map_err(changed)?;
        hasher.update(&plaintext);
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
        let bytes = sealed_part(source.encryptor, index, &plaintext)?;
        drop(plaintext);
        // Its own task, so the request starts now, while the next part is
        // being encrypted (a plain browser task: no reactive owner needed).
        let (sent, stored) = oneshot::channel();
        let request = put(index, bytes);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = sent.send(request.await.map(|()| index));
        });
        in_flight.push_back(async move { stored.await.unwrap_or(Err(SessionError::Interrupted)) });
    }
    // Cancel counts until the end, not only while parts are still being
    // handed to the network: the last ones may take a while to store.
    while let Some(stored) = in_flight.next().await {
        if cancelled() {
            return Err(SessionError::UploadCancelled);
        }
        on_sent(done(stored?));
    }
    if cancelled() {
        return Err(SessionError::UploadCancelled);
    }
    if hasher.finish() != source.sha256 {
        return Err(SessionError::FileChangedWhileSending);
    }
    Ok(())
}

/// The encrypted size of a `size`-byte file (what the relay is told).
pub(crate) fn encrypted_size(size: u64) -> Result<u64, SessionError> {
    stream::encrypted_len(size).ok_or(SessionError::FileChanged)
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::cell::RefCell;
    use std::rc::Rc;

    use js_sys::{Array, Uint8Array};
    use ward_seal::stream::FileKey;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn blob(bytes: &[u8]) -> Blob {
        let parts = Array::of1(&Uint8Array::from(bytes));
        Blob::new_with_u8_array_sequence(&parts).unwrap()
    }

    /// Runs the send loop over `read` (what the file holds when it is
    /// encrypted), committed to `committed`'s hash; the parts it stored.
    async fn send(
        committed: &[u8],
        read: &[u8],
        have: &[u32],
    ) -> (Result<(), SessionError>, Vec<u32>) {
        let size = committed.len() as u64;
        let sha256 = hash(&blob(committed), size, |_| {}).await.unwrap();
        let key = FileKey::generate(&mut ward_seal::random::os_rng());
        let encryptor = Encryptor::new(&key, size, &mut ward_seal::random::os_rng());
        let stored = Rc::new(RefCell::new(Vec::new()));
        let put = {
            let stored = stored.clone();
            move |index: u32, _bytes: Vec<u8>| -> LocalBoxFuture<'static, _> {
                stored.borrow_mut().push(index);
                Box::pin(async { Ok(()) })
            }
        };
        let read = blob(read);
        let source = Source {
            encryptor: &encryptor,
            blob: &read,
            size,
            sha256,
        };
        let result = encrypt_and_put(source, have, |_| {}, || false, &put).await;
        let stored = stored.borrow().clone();
        (result, stored)
    }

    fn file(fill: u8) -> Vec<u8> {
        vec![fill; (2 * PART_BYTES + 1234) as usize]
    }

    #[wasm_bindgen_test]
    async fn the_bytes_encrypted_hash_to_what_the_message_committed_to() {
        let (result, stored) = send(&file(7), &file(7), &[]).await;
        assert_eq!(result, Ok(()));
        assert_eq!(stored, vec![0, 1, 2]);
    }

    #[wasm_bindgen_test]
    async fn a_file_changed_after_it_was_hashed_is_refused() {
        let mut changed = file(7);
        let last = changed.len() - 1;
        changed[last] = 8;
        let (result, _) = send(&file(7), &changed, &[]).await;
        assert_eq!(result, Err(SessionError::FileChangedWhileSending));
        assert_eq!(
            SessionError::FileChangedWhileSending.message(),
            "The file changed while it was being sent. Attach it again."
        );
    }

    #[wasm_bindgen_test]
    async fn a_resumed_upload_checks_the_parts_it_skips_too() {
        let mut changed = file(7);
        changed[0] = 8;
        // Part 0 is on the relay already: only parts 1 and 2 are sent, but
        // part 0 is read and hashed.
        let (result, stored) = send(&file(7), &changed, &[0]).await;
        assert_eq!(result, Err(SessionError::FileChangedWhileSending));
        assert_eq!(stored, vec![1, 2]);
        let (result, _) = send(&file(7), &file(7), &[0]).await;
        assert_eq!(result, Ok(()));
    }

    #[wasm_bindgen_test]
    async fn a_file_that_shrank_while_being_sent_is_refused() {
        let short = vec![7; (2 * PART_BYTES) as usize];
        let (result, _) = send(&file(7), &short, &[]).await;
        assert_eq!(result, Err(SessionError::FileChangedWhileSending));
    }
}
