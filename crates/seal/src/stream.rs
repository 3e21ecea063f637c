//! Attachments: the STREAM construction (Hoang, Reyhanitabar, Rogaway and
//! Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
//! Misuse-Resistance", 2015), as age uses it.
//!
//! A random 32-byte file key travels inside the message payload. The
//! encrypted file is `header || chunk_0 || chunk_1 || ...` where the header
//! is `version u8 (1) || salt [32]`. The payload key is
//! `HKDF-SHA256(salt, file_key, T("ward attachment v1", u64(plaintext_len)))`:
//! binding the length means a resumed upload of a file that changed size
//! cannot reuse a (key, nonce) pair. A file key is for one immutable file:
//! resuming must re-read the same bytes (the client checks the file's
//! SHA-256 before it sends the message that carries the key). Plaintext is cut
//! into 64 KiB chunks; chunk `i` is ChaCha20-Poly1305 under the payload key
//! with nonce `u88_be(i) || last`, where `last` is `0x01` on the final chunk
//! and `0x00` otherwise. Only the final chunk may be shorter than 64 KiB,
//! and it is empty only when the whole file is.
//!
//! Every chunk is a pure function of (key, index, plaintext): re-encrypting
//! chunk `i` after a dropped upload gives the same bytes, so a resumed upload
//! starts from the first missing chunk. A dropped, reordered, duplicated or
//! appended chunk, or a cut anywhere, fails to decrypt.

#[cfg(feature = "open")]
use std::fmt;

#[cfg(feature = "open")]
use rand_core::CryptoRng;
#[cfg(feature = "open")]
use sha2::{Digest, Sha256};
#[cfg(feature = "open")]
use zeroize::Zeroizing;

use crate::DecryptError;
#[cfg(feature = "open")]
use crate::glue::{aead_open, aead_seal, hkdf_sha256};
#[cfg(feature = "open")]
use crate::random;
#[cfg(feature = "open")]
use crate::transcript::Transcript;
use crate::wire::Reader;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Poly1305 tag bytes added to every chunk.
pub const TAG_LEN: usize = 16;
/// Encrypted bytes of a full chunk.
pub const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_LEN;
/// Bytes of the stream header.
pub const HEADER_LEN: usize = 1 + 32;

const VERSION: u8 = 1;
#[cfg(feature = "open")]
const KEY_LABEL: &str = "ward attachment v1";

#[cfg(feature = "open")]
/// Why a chunk could not be encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The chunk index is past the end of the file.
    #[error("chunk {index} is past the end of a {chunk_count}-chunk file")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// How many chunks the file has.
        chunk_count: u64,
    },
    /// The plaintext is not the size this chunk must have.
    #[error("chunk {index} must hold {expected} bytes, got {actual}")]
    WrongChunkSize {
        /// The chunk.
        index: u64,
        /// What its size must be.
        expected: usize,
        /// What was given.
        actual: usize,
    },
}

#[cfg(feature = "open")]
/// The key that opens one attachment. Zeroized on drop; `Debug` prints
/// nothing of it.
#[derive(Clone)]
pub struct FileKey(Zeroizing<[u8; 32]>);

#[cfg(feature = "open")]
impl FileKey {
    /// A fresh random key for one file.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self(random::secret(rng))
    }

    /// The key as carried in [`crate::payload::AttachmentRef::file_key`].
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw key, to place inside an encrypted payload.
    pub fn to_bytes(&self) -> [u8; 32] {
        *self.0
    }
}

#[cfg(feature = "open")]
impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey(..)")
    }
}

/// The stream header stored in front of the encrypted chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamHeader {
    salt: [u8; 32],
}

impl StreamHeader {
    /// `version u8 (1) || salt [32]`
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = VERSION;
        out[1..].copy_from_slice(&self.salt);
        out
    }

    /// Parses a header.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecryptError> {
        let mut reader = Reader::new(bytes);
        if reader.u8()? != VERSION {
            return Err(DecryptError);
        }
        let salt = reader.array()?;
        reader.finish()?;
        Ok(Self { salt })
    }
}

/// How many chunks a file of `plaintext_len` bytes has (at least one).
pub fn chunk_count(plaintext_len: u64) -> u64 {
    plaintext_len.div_ceil(CHUNK_SIZE as u64).max(1)
}

/// The encrypted size (header included) of a `plaintext_len`-byte file, or
/// `None` when that does not fit in a `u64` (a hostile declared size).
pub fn encrypted_len(plaintext_len: u64) -> Option<u64> {
    chunk_count(plaintext_len)
        .checked_mul(TAG_LEN as u64)?
        .checked_add(plaintext_len)?
        .checked_add(HEADER_LEN as u64)
}

#[cfg(feature = "open")]
/// Encrypts one file, chunk by chunk, in any order.
pub struct Encryptor {
    key: Zeroizing<[u8; 32]>,
    header: StreamHeader,
    plaintext_len: u64,
}

#[cfg(feature = "open")]
impl Encryptor {
    /// Starts a stream for a file of `plaintext_len` bytes.
    pub fn new(file_key: &FileKey, plaintext_len: u64, rng: &mut impl CryptoRng) -> Self {
        let header = StreamHeader {
            salt: random::bytes(rng),
        };
        Self {
            key: payload_key(file_key, &header, plaintext_len),
            header,
            plaintext_len,
        }
    }

    /// Resumes a stream whose header was already stored (after a dropped
    /// connection or a closed tab).
    pub fn resume(file_key: &FileKey, header: StreamHeader, plaintext_len: u64) -> Self {
        Self {
            key: payload_key(file_key, &header, plaintext_len),
            header,
            plaintext_len,
        }
    }

    /// The header to store in front of the chunks.
    pub fn header(&self) -> StreamHeader {
        self.header
    }

    /// How many chunks this file has.
    pub fn chunk_count(&self) -> u64 {
        chunk_count(self.plaintext_len)
    }

    /// The plaintext size chunk `index` must have.
    pub fn chunk_len(&self, index: u64) -> Result<usize, StreamError> {
        let count = self.chunk_count();
        if index >= count {
            return Err(StreamError::IndexOutOfRange {
                index,
                chunk_count: count,
            });
        }
        let before = index * CHUNK_SIZE as u64;
        Ok(
            usize::try_from((self.plaintext_len - before).min(CHUNK_SIZE as u64))
                .unwrap_or(CHUNK_SIZE),
        )
    }

    /// Encrypts chunk `index`, which must be exactly [`Self::chunk_len`] bytes.
    pub fn encrypt_chunk(&self, index: u64, plaintext: &[u8]) -> Result<Vec<u8>, StreamError> {
        let expected = self.chunk_len(index)?;
        if plaintext.len() != expected {
            return Err(StreamError::WrongChunkSize {
                index,
                expected,
                actual: plaintext.len(),
            });
        }
        let last = index + 1 == self.chunk_count();
        Ok(aead_seal(&self.key, &nonce(index, last), &[], plaintext))
    }
}

#[cfg(feature = "open")]
impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("plaintext_len", &self.plaintext_len)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "open")]
/// Decrypts one file, chunk by chunk, in any order.
pub struct Decryptor {
    key: Zeroizing<[u8; 32]>,
    chunk_count: u64,
    last_chunk_len: usize,
}

#[cfg(feature = "open")]
impl Decryptor {
    /// Prepares to decrypt a file whose encrypted form (header included) is
    /// `encrypted_len` bytes long. The length decides which chunk is the last:
    /// a truncated or extended file fails on its last chunk.
    pub fn new(
        file_key: &FileKey,
        header: &StreamHeader,
        encrypted_len: u64,
    ) -> Result<Self, DecryptError> {
        let body = encrypted_len
            .checked_sub(HEADER_LEN as u64)
            .ok_or(DecryptError)?;
        let chunk_count = body.div_ceil(ENCRYPTED_CHUNK_SIZE as u64).max(1);
        let last_chunk_len =
            usize::try_from(body - (chunk_count - 1) * ENCRYPTED_CHUNK_SIZE as u64)
                .map_err(|_| DecryptError)?;
        // A last chunk holds at least its tag, and plaintext unless it is
        // the only chunk.
        if last_chunk_len < TAG_LEN || (chunk_count > 1 && last_chunk_len == TAG_LEN) {
            return Err(DecryptError);
        }
        let plaintext_len = body - chunk_count * TAG_LEN as u64;
        Ok(Self {
            key: payload_key(file_key, header, plaintext_len),
            chunk_count,
            last_chunk_len,
        })
    }

    /// How many chunks the file has.
    pub fn chunk_count(&self) -> u64 {
        self.chunk_count
    }

    /// The byte range of chunk `index` within the encrypted file, to request
    /// it alone (random access).
    pub fn chunk_range(&self, index: u64) -> Option<std::ops::Range<u64>> {
        if index >= self.chunk_count {
            return None;
        }
        let start = HEADER_LEN as u64 + index * ENCRYPTED_CHUNK_SIZE as u64;
        let len = if index + 1 == self.chunk_count {
            self.last_chunk_len as u64
        } else {
            ENCRYPTED_CHUNK_SIZE as u64
        };
        Some(start..start + len)
    }

    /// Decrypts chunk `index`. This authenticates the chunk and its position
    /// (and the file's total length); only decrypting every chunk and
    /// checking the payload's SHA-256 authenticates the whole file.
    pub fn decrypt_chunk(
        &self,
        index: u64,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        let range = self.chunk_range(index).ok_or(DecryptError)?;
        if ciphertext.len() as u64 != range.end - range.start {
            return Err(DecryptError);
        }
        let last = index + 1 == self.chunk_count;
        aead_open(&self.key, &nonce(index, last), &[], ciphertext)
    }
}

#[cfg(feature = "open")]
impl fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("chunk_count", &self.chunk_count)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "open")]
/// SHA-256 of a file's plaintext, fed chunk by chunk, for
/// [`crate::payload::AttachmentRef::sha256`].
#[derive(Debug, Clone, Default)]
pub struct FileHasher(Sha256);

#[cfg(feature = "open")]
impl FileHasher {
    /// Feeds the next bytes of the file, in order.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The file's SHA-256.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(feature = "open")]
fn payload_key(
    file_key: &FileKey,
    header: &StreamHeader,
    plaintext_len: u64,
) -> Zeroizing<[u8; 32]> {
    let mut info = Transcript::new(KEY_LABEL);
    info.push(&plaintext_len.to_be_bytes());
    hkdf_sha256::<32>(&header.salt, &*file_key.0, info.bytes())
}

#[cfg(feature = "open")]
/// `u88_be(index) || last`.
fn nonce(index: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

#[cfg(feature = "open")]
/// Encrypts a whole in-memory file: header and chunks, concatenated. For
/// tests, vectors and the clinic agent; the browser streams chunk by chunk.
pub fn encrypt_all(file_key: &FileKey, plaintext: &[u8], rng: &mut impl CryptoRng) -> Vec<u8> {
    let encryptor = Encryptor::new(file_key, plaintext.len() as u64, rng);
    let mut out = Vec::with_capacity(capacity_for(plaintext.len()));
    out.extend_from_slice(&encryptor.header().to_bytes());
    let mut chunks = plaintext.chunks(CHUNK_SIZE);
    for index in 0..encryptor.chunk_count() {
        let chunk = chunks.next().unwrap_or(&[]);
        out.extend_from_slice(&encryptor.encrypt_chunk(index, chunk).unwrap_or_default());
    }
    out
}

#[cfg(feature = "open")]
fn capacity_for(plaintext_len: usize) -> usize {
    encrypted_len(plaintext_len as u64)
        .and_then(|len| usize::try_from(len).ok())
        .unwrap_or(0)
}

#[cfg(feature = "open")]
/// Decrypts a whole in-memory encrypted file.
pub fn decrypt_all(
    file_key: &FileKey,
    encrypted: &[u8],
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let header = StreamHeader::from_bytes(encrypted.get(..HEADER_LEN).ok_or(DecryptError)?)?;
    let decryptor = Decryptor::new(file_key, &header, encrypted.len() as u64)?;
    let mut out = Zeroizing::new(Vec::with_capacity(encrypted.len()));
    for index in 0..decryptor.chunk_count() {
        let range = decryptor.chunk_range(index).ok_or(DecryptError)?;
        let chunk = encrypted
            .get(
                usize::try_from(range.start).map_err(|_| DecryptError)?
                    ..usize::try_from(range.end).map_err(|_| DecryptError)?,
            )
            .ok_or(DecryptError)?;
        out.extend_from_slice(&decryptor.decrypt_chunk(index, chunk)?);
    }
    Ok(out)
}

#[cfg(test)]
#[cfg(feature = "open")]
mod tests {
    use super::*;
    use crate::random::os_rng;

    fn file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn round_trips_at_every_boundary() {
        let key = FileKey::generate(&mut os_rng());
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE,
            3 * CHUNK_SIZE + 7,
        ] {
            let plaintext = file(len);
            let encrypted = encrypt_all(&key, &plaintext, &mut os_rng());
            assert_eq!(
                Some(encrypted.len() as u64),
                encrypted_len(len as u64),
                "len {len}"
            );
            assert_eq!(
                &*decrypt_all(&key, &encrypted).unwrap(),
                &plaintext,
                "len {len}"
            );
        }
    }

    #[test]
    fn truncation_extension_and_reordering_fail() {
        let key = FileKey::generate(&mut os_rng());
        let encrypted = encrypt_all(&key, &file(3 * CHUNK_SIZE), &mut os_rng());
        // Drop the last chunk: the new last chunk was not sealed as last.
        let cut = &encrypted[..HEADER_LEN + 2 * ENCRYPTED_CHUNK_SIZE];
        assert!(decrypt_all(&key, cut).is_err());
        // Cut mid-chunk.
        assert!(decrypt_all(&key, &encrypted[..encrypted.len() - 1]).is_err());
        // Append a copy of a chunk.
        let mut longer = encrypted.clone();
        longer.extend_from_slice(&encrypted[HEADER_LEN..HEADER_LEN + ENCRYPTED_CHUNK_SIZE]);
        assert!(decrypt_all(&key, &longer).is_err());
        // Swap chunks 0 and 1.
        let mut swapped = encrypted.clone();
        let (a, b) = (HEADER_LEN, HEADER_LEN + ENCRYPTED_CHUNK_SIZE);
        swapped[a..b].copy_from_slice(&encrypted[b..b + ENCRYPTED_CHUNK_SIZE]);
        swapped[b..b + ENCRYPTED_CHUNK_SIZE].copy_from_slice(&encrypted[a..b]);
        assert!(decrypt_all(&key, &swapped).is_err());
        // Wrong key.
        assert!(decrypt_all(&FileKey::generate(&mut os_rng()), &encrypted).is_err());
    }

    #[test]
    fn resuming_re_encrypts_a_chunk_to_the_same_bytes() {
        let key = FileKey::generate(&mut os_rng());
        let plaintext = file(2 * CHUNK_SIZE + 5);
        let first = Encryptor::new(&key, plaintext.len() as u64, &mut os_rng());
        let chunk1 = first
            .encrypt_chunk(1, &plaintext[CHUNK_SIZE..2 * CHUNK_SIZE])
            .unwrap();
        let resumed = Encryptor::resume(&key, first.header(), plaintext.len() as u64);
        assert_eq!(
            resumed
                .encrypt_chunk(1, &plaintext[CHUNK_SIZE..2 * CHUNK_SIZE])
                .unwrap(),
            chunk1
        );
    }

    #[test]
    fn chunks_are_checked_for_size_and_index() {
        let encryptor = Encryptor::new(
            &FileKey::generate(&mut os_rng()),
            CHUNK_SIZE as u64 + 10,
            &mut os_rng(),
        );
        assert_eq!(encryptor.chunk_len(1), Ok(10));
        assert!(matches!(
            encryptor.encrypt_chunk(0, &[0; 10]),
            Err(StreamError::WrongChunkSize { .. })
        ));
        assert!(matches!(
            encryptor.encrypt_chunk(2, &[]),
            Err(StreamError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn random_access_reads_one_chunk() {
        let key = FileKey::generate(&mut os_rng());
        let plaintext = file(5 * CHUNK_SIZE + 3);
        let encrypted = encrypt_all(&key, &plaintext, &mut os_rng());
        let header = StreamHeader::from_bytes(&encrypted[..HEADER_LEN]).unwrap();
        let decryptor = Decryptor::new(&key, &header, encrypted.len() as u64).unwrap();
        let range = decryptor.chunk_range(3).unwrap();
        let chunk = decryptor
            .decrypt_chunk(3, &encrypted[range.start as usize..range.end as usize])
            .unwrap();
        assert_eq!(&*chunk, &plaintext[3 * CHUNK_SIZE..4 * CHUNK_SIZE]);
    }

    #[test]
    fn the_key_depends_on_the_length() {
        // Resuming with another length must not reuse the payload key.
        let key = FileKey::generate(&mut os_rng());
        let first = Encryptor::new(&key, 10, &mut os_rng());
        let other = Encryptor::resume(&key, first.header(), 11);
        assert_ne!(*first.key, *other.key);
    }

    #[test]
    fn hostile_declared_sizes_do_not_overflow() {
        assert_eq!(encrypted_len(u64::MAX), None);
        assert!(encrypted_len(100 * 1024 * 1024).is_some());
    }

    #[test]
    fn debug_hides_keys() {
        let key = FileKey::generate(&mut os_rng());
        assert_eq!(format!("{key:?}"), "FileKey(..)");
        let debug = format!("{:?}", Encryptor::new(&key, 1, &mut os_rng()));
        assert!(!debug.contains("key"), "{debug}");
    }
}
