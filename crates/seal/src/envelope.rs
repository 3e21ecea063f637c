//! Message envelope v2: a payload sealed under a thread epoch's key and
//! signed by its sender.
//!
//! The header carries the epoch key's key id
//! ([`crate::thread_key::ThreadKey::key_id`]); opening refuses an envelope
//! whose key id is not that of the reader's key, so one envelope can never
//! open under two different keys (ChaCha20-Poly1305 alone does not commit
//! to its key).
//!
//! Per message: a random 32-byte salt; `HKDF-SHA256(salt, thread_key,
//! info)` gives a fresh ChaCha20-Poly1305 key and nonce, so no (key, nonce)
//! pair can repeat even if a client reuses a message id. The AEAD's
//! associated data is the header; the sender's Ed25519 signature covers a
//! SHA-256 of a length-prefixed transcript of every field, ciphertext
//! included, so no member can forge a message as another member.

#[cfg(feature = "open")]
use rand_core::CryptoRng;
#[cfg(feature = "open")]
use zeroize::Zeroizing;

use crate::DecryptError;
#[cfg(feature = "open")]
use crate::glue::{aead_open, aead_seal, hkdf_sha256};
#[cfg(feature = "open")]
use crate::keys::{AccountKeys, PublicBundle};
#[cfg(feature = "open")]
use crate::payload::{Payload, PayloadError};
#[cfg(feature = "open")]
use crate::random;
#[cfg(feature = "open")]
use crate::thread_key::ThreadKey;
#[cfg(feature = "open")]
use crate::transcript::Transcript;
use crate::wire::{self, Reader};
#[cfg(feature = "open")]
use crate::wire::{InvalidId, check_id};

const VERSION: u8 = 2;
#[cfg(feature = "open")]
const KEY_LABEL: &str = "ward message v2";
#[cfg(feature = "open")]
const SIGNATURE_LABEL: &str = "ward envelope v2";
/// Largest ciphertext accepted: a maximal padded payload plus the tag.
pub const MAX_CIPHERTEXT_LEN: usize = 640 * 1024;

#[cfg(feature = "open")]
/// Why a message could not be sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The payload is too large for one message.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// A thread, message or account id does not fit.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
}

/// Where a message goes and who sends it: the fields the relay routes by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The thread.
    pub thread_id: String,
    /// The epoch whose key sealed it.
    pub epoch: u32,
    /// The client's message id (idempotency key at the relay).
    pub message_id: String,
    /// The sending account.
    pub sender_id: String,
    /// When the sender sealed it, Unix milliseconds (sender's clock).
    pub sent_at_ms: u64,
}

/// A sealed message.
///
/// `version u8 (2) || thread_id str8 || epoch u32 || key_id [32] ||
/// message_id str8 || sender_id str8 || sent_at_ms u64 || salt [32] ||
/// ciphertext bytes32 || signature [64]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    header: Header,
    key_id: [u8; 32],
    salt: [u8; 32],
    ciphertext: Vec<u8>,
    signature: [u8; 64],
}

#[cfg(feature = "open")]
/// Seals `payload` as `sender` under `key`, the key of `header.epoch`.
pub fn seal(
    sender: &AccountKeys,
    key: &ThreadKey,
    header: Header,
    payload: &Payload,
    rng: &mut impl CryptoRng,
) -> Result<Envelope, SealError> {
    check_id(&header.thread_id)?;
    check_id(&header.message_id)?;
    if header.sender_id != sender.account_id() {
        return Err(SealError::InvalidId(InvalidId));
    }
    let padded = payload.to_padded()?;
    let salt = random::bytes::<32>(rng);
    let key_id = key.key_id(&header.thread_id, header.epoch);
    let header_bytes = header_bytes(&header, &key_id, &salt);
    let (message_key, nonce) = message_key(key, &header, &salt);
    let ciphertext = aead_seal(&message_key, &nonce, &header_bytes, &padded);
    let mut envelope = Envelope {
        header,
        key_id,
        salt,
        ciphertext,
        signature: [0; 64],
    };
    envelope.signature = sender.sign(&envelope.signed_transcript());
    Ok(envelope)
}

impl Envelope {
    /// The routing header (readable without any key).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The key id of the epoch key that sealed it (readable without any
    /// key; [`Self::open`] checks it against the reader's key).
    pub fn key_id(&self) -> &[u8; 32] {
        &self.key_id
    }

    #[cfg(feature = "open")]
    /// Opens the message. `key` is the thread key of `header().epoch`,
    /// `thread_id` the thread the caller is reading, and `sender` the pinned
    /// bundle of `header().sender_id`. Any mismatch, alteration or
    /// truncation fails with the same [`DecryptError`].
    pub fn open(
        &self,
        key: &ThreadKey,
        thread_id: &str,
        sender: &PublicBundle,
    ) -> Result<Payload, DecryptError> {
        if self.header.thread_id != thread_id
            || self.header.sender_id != sender.account_id()
            || !key.has_id(thread_id, self.header.epoch, &self.key_id)
        {
            return Err(DecryptError);
        }
        sender.verify(&self.signed_transcript(), &self.signature)?;
        let (message_key, nonce) = message_key(key, &self.header, &self.salt);
        let padded = aead_open(
            &message_key,
            &nonce,
            &header_bytes(&self.header, &self.key_id, &self.salt),
            &self.ciphertext,
        )?;
        Payload::from_padded(&padded).map_err(|_| DecryptError)
    }

    #[cfg(feature = "open")]
    /// Checks only the sender's signature (no thread key, nothing
    /// decrypted): the envelope names `thread_id` and `sender`'s account and
    /// `sender` signed every byte of it. For proving an archive is what its
    /// senders sent without opening it.
    pub fn verify_signature(
        &self,
        thread_id: &str,
        sender: &PublicBundle,
    ) -> Result<(), DecryptError> {
        if self.header.thread_id != thread_id || self.header.sender_id != sender.account_id() {
            return Err(DecryptError);
        }
        sender.verify(&self.signed_transcript(), &self.signature)
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = header_bytes(&self.header, &self.key_id, &self.salt);
        wire::put_bytes32(&mut out, &self.ciphertext);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses the wire form (authenticity is checked by [`Self::open`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecryptError> {
        let mut reader = Reader::new(bytes);
        if reader.u8()? != VERSION {
            return Err(DecryptError);
        }
        let thread_id = reader.str8()?.to_owned();
        let epoch = reader.u32()?;
        let key_id = reader.array()?;
        let header = Header {
            thread_id,
            epoch,
            message_id: reader.str8()?.to_owned(),
            sender_id: reader.str8()?.to_owned(),
            sent_at_ms: reader.u64()?,
        };
        let envelope = Self {
            header,
            key_id,
            salt: reader.array()?,
            ciphertext: reader.bytes32(MAX_CIPHERTEXT_LEN)?.to_vec(),
            signature: reader.array()?,
        };
        reader.finish()?;
        Ok(envelope)
    }

    #[cfg(feature = "open")]
    fn signed_transcript(&self) -> Transcript {
        let mut transcript = Transcript::new(SIGNATURE_LABEL);
        transcript
            .push(&[VERSION])
            .push(self.header.thread_id.as_bytes())
            .push(&self.header.epoch.to_be_bytes())
            .push(&self.key_id)
            .push(self.header.message_id.as_bytes())
            .push(self.header.sender_id.as_bytes())
            .push(&self.header.sent_at_ms.to_be_bytes())
            .push(&self.salt)
            .push(&self.ciphertext);
        transcript
    }
}

/// Everything before the ciphertext; also the AEAD's associated data.
fn header_bytes(header: &Header, key_id: &[u8; 32], salt: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        96 + header.thread_id.len() + header.message_id.len() + header.sender_id.len(),
    );
    out.push(VERSION);
    wire::put_str8(&mut out, &header.thread_id);
    out.extend_from_slice(&header.epoch.to_be_bytes());
    out.extend_from_slice(key_id);
    wire::put_str8(&mut out, &header.message_id);
    wire::put_str8(&mut out, &header.sender_id);
    out.extend_from_slice(&header.sent_at_ms.to_be_bytes());
    out.extend_from_slice(salt);
    out
}

#[cfg(feature = "open")]
/// `HKDF-SHA256(salt, thread_key, info)` → 32-byte key || 12-byte nonce.
fn message_key(
    key: &ThreadKey,
    header: &Header,
    salt: &[u8; 32],
) -> (Zeroizing<[u8; 32]>, [u8; 12]) {
    let mut info = Transcript::new(KEY_LABEL);
    info.push(header.thread_id.as_bytes())
        .push(&header.epoch.to_be_bytes())
        .push(header.message_id.as_bytes())
        .push(header.sender_id.as_bytes());
    let okm = hkdf_sha256::<44>(salt, key.as_bytes(), info.bytes());
    let mut message_key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    message_key.copy_from_slice(&okm[..32]);
    nonce.copy_from_slice(&okm[32..]);
    (message_key, nonce)
}

#[cfg(test)]
#[cfg(feature = "open")]
mod tests {
    use super::*;
    use crate::random::os_rng;

    struct Fixture {
        patient: AccountKeys,
        clinic: AccountKeys,
        key: ThreadKey,
    }

    fn fixture() -> Fixture {
        Fixture {
            patient: AccountKeys::generate("patient", 1, &mut os_rng()).unwrap(),
            clinic: AccountKeys::generate("clinic", 1, &mut os_rng()).unwrap(),
            key: ThreadKey::generate(&mut os_rng()),
        }
    }

    fn header(sender: &str) -> Header {
        Header {
            thread_id: "t1".into(),
            epoch: 0,
            message_id: "m1".into(),
            sender_id: sender.into(),
            sent_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_member_opens_what_another_sealed() {
        let f = fixture();
        let payload = Payload::text("Is my prescription ready?");
        let envelope = seal(
            &f.patient,
            &f.key,
            header("patient"),
            &payload,
            &mut os_rng(),
        )
        .unwrap();
        let wire = Envelope::from_bytes(&envelope.to_bytes()).unwrap();
        assert_eq!(
            wire.open(&f.key, "t1", f.patient.bundle()).unwrap(),
            payload
        );
    }

    #[test]
    fn reusing_a_message_id_never_reuses_a_key() {
        let f = fixture();
        let a = seal(
            &f.patient,
            &f.key,
            header("patient"),
            &Payload::text("a"),
            &mut os_rng(),
        )
        .unwrap();
        let b = seal(
            &f.patient,
            &f.key,
            header("patient"),
            &Payload::text("a"),
            &mut os_rng(),
        )
        .unwrap();
        assert_ne!(a.salt, b.salt);
        assert_ne!(
            message_key(&f.key, &a.header, &a.salt),
            message_key(&f.key, &b.header, &b.salt)
        );
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn moved_forged_or_wrong_key_fails_opaquely() {
        let f = fixture();
        let envelope = seal(
            &f.patient,
            &f.key,
            header("patient"),
            &Payload::text("x"),
            &mut os_rng(),
        )
        .unwrap();
        // Read as if it were in another thread.
        assert_eq!(
            envelope.open(&f.key, "t2", f.patient.bundle()),
            Err(DecryptError)
        );
        // Attributed to the clinic.
        assert_eq!(
            envelope.open(&f.key, "t1", f.clinic.bundle()),
            Err(DecryptError)
        );
        // Another epoch's key.
        assert_eq!(
            envelope.open(
                &ThreadKey::generate(&mut os_rng()),
                "t1",
                f.patient.bundle()
            ),
            Err(DecryptError)
        );
        // Header edited and re-signed by another member: the patient's
        // signature no longer verifies.
        let mut moved = envelope.clone();
        moved.header.epoch = 1;
        assert_eq!(
            moved.open(&f.key, "t1", f.patient.bundle()),
            Err(DecryptError)
        );
        // The clinic re-signs a message claiming to be the patient's.
        let mut forged = envelope.clone();
        forged.signature = f.clinic.sign(&forged.signed_transcript());
        assert_eq!(
            forged.open(&f.key, "t1", f.patient.bundle()),
            Err(DecryptError)
        );
    }

    #[test]
    fn the_key_id_commits_to_the_epoch_key() {
        let f = fixture();
        let envelope = seal(
            &f.patient,
            &f.key,
            header("patient"),
            &Payload::text("x"),
            &mut os_rng(),
        )
        .unwrap();
        assert_eq!(envelope.key_id(), &f.key.key_id("t1", 0));
        // A sender who claims another key's id (and signs it) is refused
        // by a reader whose key has a different id, before any AEAD runs.
        let other = ThreadKey::generate(&mut os_rng());
        let mut lying = envelope.clone();
        lying.key_id = other.key_id("t1", 0);
        lying.signature = f.patient.sign(&lying.signed_transcript());
        assert_eq!(
            lying.open(&f.key, "t1", f.patient.bundle()),
            Err(DecryptError)
        );
        assert_eq!(
            lying.open(&other, "t1", f.patient.bundle()),
            Err(DecryptError)
        );
        // The key id is in the header bytes, so it is bound by the AEAD too.
        let bytes = envelope.to_bytes();
        assert_eq!(&bytes[1 + 1 + 2 + 4..1 + 1 + 2 + 4 + 32], envelope.key_id());
    }

    #[test]
    fn a_sender_cannot_seal_as_someone_else() {
        let f = fixture();
        let result = seal(
            &f.clinic,
            &f.key,
            header("patient"),
            &Payload::text("x"),
            &mut os_rng(),
        );
        assert!(result.is_err());
    }

    #[test]
    fn every_truncation_fails() {
        let f = fixture();
        let bytes = seal(
            &f.patient,
            &f.key,
            header("patient"),
            &Payload::text("x"),
            &mut os_rng(),
        )
        .unwrap()
        .to_bytes();
        for len in 0..bytes.len() {
            assert!(
                Envelope::from_bytes(&bytes[..len]).is_err(),
                "truncated to {len}"
            );
        }
    }
}
