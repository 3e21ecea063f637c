//! Thread keys: one random key per thread epoch, sealed to each member.
//!
//! The key is sealed with HPKE base mode (RFC 9180; DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305: suite 0x0020/0x0001/0x0003)
//! to the member's X25519 key, with `info` binding thread, epoch and member.
//!
//! Base mode alone does not say *who* sealed the key: the relay could seal a
//! key of its own choosing to a member, and read what that member then
//! sends. So every sealed key is also signed by the member who sealed it,
//! and opening checks that signature against the sealer's pinned bundle.

#[cfg(feature = "open")]
use std::fmt;

#[cfg(feature = "open")]
use hpke::aead::ChaCha20Poly1305;
#[cfg(feature = "open")]
use hpke::kdf::HkdfSha256;
#[cfg(feature = "open")]
use hpke::kem::X25519HkdfSha256;
#[cfg(feature = "open")]
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
#[cfg(feature = "open")]
use rand_core::CryptoRng;
#[cfg(feature = "open")]
use zeroize::Zeroizing;

use crate::DecryptError;
#[cfg(feature = "open")]
use crate::keys::{AccountKeys, PublicBundle};
#[cfg(feature = "open")]
use crate::random;
#[cfg(feature = "open")]
use crate::transcript::Transcript;
use crate::wire::{self, Reader};
#[cfg(feature = "open")]
use crate::wire::{InvalidId, check_id};

#[cfg(feature = "open")]
type EncappedKey = <X25519HkdfSha256 as hpke::Kem>::EncappedKey;
#[cfg(feature = "open")]
pub(crate) type HpkePublicKey = <X25519HkdfSha256 as hpke::Kem>::PublicKey;
#[cfg(feature = "open")]
pub(crate) type HpkePrivateKey = <X25519HkdfSha256 as hpke::Kem>::PrivateKey;

const VERSION: u8 = 1;
#[cfg(feature = "open")]
const INFO_LABEL: &str = "ward thread key v1";
#[cfg(feature = "open")]
const SIGNATURE_LABEL: &str = "ward sealed thread key v1";
/// 32-byte key + 16-byte Poly1305 tag.
const CIPHERTEXT_LEN: usize = 48;

#[cfg(feature = "open")]
/// Why a thread key could not be sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The member's bundle cannot be encrypted to (a weak key).
    #[error("cannot encrypt to this member's key")]
    BadRecipient,
    /// A thread or account id does not fit.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
}

#[cfg(feature = "open")]
/// A thread epoch's 32-byte symmetric key. Zeroized on drop; `Debug`
/// prints nothing of it.
#[derive(Clone)]
pub struct ThreadKey(Zeroizing<[u8; 32]>);

#[cfg(feature = "open")]
impl ThreadKey {
    /// A fresh random key for a new epoch.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self(random::secret(rng))
    }

    /// A key from its raw bytes (a key cache, or a test vector).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw key. Only for the in-memory key cache and test vectors:
    /// never log it, never store it outside the vault.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(feature = "open")]
impl fmt::Debug for ThreadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThreadKey(..)")
    }
}

/// A thread key sealed to one member and signed by its sealer.
///
/// `version u8 (1) || thread_id str8 || epoch u32 || member_id str8 ||
/// sealer_id str8 || enc [32] || ciphertext [48] || signature [64]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedThreadKey {
    thread_id: String,
    epoch: u32,
    member_id: String,
    sealer_id: String,
    enc: [u8; 32],
    ciphertext: [u8; CIPHERTEXT_LEN],
    signature: [u8; 64],
}

#[cfg(feature = "open")]
/// Seals `key` (thread `thread_id`, epoch `epoch`) to `member`, signed by
/// `sealer`.
pub fn seal(
    key: &ThreadKey,
    thread_id: &str,
    epoch: u32,
    sealer: &AccountKeys,
    member: &PublicBundle,
    rng: &mut impl CryptoRng,
) -> Result<SealedThreadKey, SealError> {
    check_id(thread_id)?;
    let recipient = member
        .hpke_public_key()
        .map_err(|_| SealError::BadRecipient)?;
    let info = info(thread_id, epoch, member.account_id());
    let (enc, ciphertext) = hpke_seal(&recipient, info.bytes(), &[], key.as_bytes(), rng)
        .map_err(|_| SealError::BadRecipient)?;
    let mut sealed = SealedThreadKey {
        thread_id: thread_id.to_owned(),
        epoch,
        member_id: member.account_id().to_owned(),
        sealer_id: sealer.account_id().to_owned(),
        enc,
        ciphertext: ciphertext.try_into().map_err(|_| SealError::BadRecipient)?,
        signature: [0; 64],
    };
    sealed.signature = sealer.sign(&sealed.signed_transcript());
    Ok(sealed)
}

#[cfg(feature = "open")]
/// Seals one epoch's key to every member: what starting a thread, or a new
/// epoch after a removal, costs.
pub fn seal_to_members(
    key: &ThreadKey,
    thread_id: &str,
    epoch: u32,
    sealer: &AccountKeys,
    members: &[PublicBundle],
    rng: &mut impl CryptoRng,
) -> Result<Vec<SealedThreadKey>, SealError> {
    members
        .iter()
        .map(|member| seal(key, thread_id, epoch, sealer, member, rng))
        .collect()
}

#[cfg(feature = "open")]
/// Gives a newly added member (a caregiver) the history: one seal per
/// existing epoch, not per message.
pub fn share_history(
    epochs: &[(u32, &ThreadKey)],
    thread_id: &str,
    sealer: &AccountKeys,
    new_member: &PublicBundle,
    rng: &mut impl CryptoRng,
) -> Result<Vec<SealedThreadKey>, SealError> {
    epochs
        .iter()
        .map(|(epoch, key)| seal(key, thread_id, *epoch, sealer, new_member, rng))
        .collect()
}

#[cfg(feature = "open")]
/// Starts epoch `next_epoch` after a member was removed or a grant revoked:
/// a fresh key sealed only to `remaining` members.
pub fn rotate(
    thread_id: &str,
    next_epoch: u32,
    sealer: &AccountKeys,
    remaining: &[PublicBundle],
    rng: &mut impl CryptoRng,
) -> Result<(ThreadKey, Vec<SealedThreadKey>), SealError> {
    let key = ThreadKey::generate(rng);
    let sealed = seal_to_members(&key, thread_id, next_epoch, sealer, remaining, rng)?;
    Ok((key, sealed))
}

impl SealedThreadKey {
    /// The thread this key is for.
    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    /// The epoch this key is for.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The member it is sealed to.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The member who sealed (and signed) it.
    pub fn sealer_id(&self) -> &str {
        &self.sealer_id
    }

    #[cfg(feature = "open")]
    /// Opens the key as `me`, checking it was sealed by `sealer` (whose bundle
    /// the caller has pinned) for exactly this thread and epoch.
    pub fn open(
        &self,
        me: &AccountKeys,
        sealer: &PublicBundle,
        thread_id: &str,
        epoch: u32,
    ) -> Result<ThreadKey, DecryptError> {
        if self.thread_id != thread_id
            || self.epoch != epoch
            || self.member_id != me.account_id()
            || self.sealer_id != sealer.account_id()
        {
            return Err(DecryptError);
        }
        sealer.verify(&self.signed_transcript(), &self.signature)?;
        let info = info(thread_id, epoch, me.account_id());
        let plaintext = hpke_open(
            &me.hpke_private_key()?,
            &self.enc,
            info.bytes(),
            &[],
            &self.ciphertext,
        )?;
        let mut key = Zeroizing::new([0u8; 32]);
        if plaintext.len() != key.len() {
            return Err(DecryptError);
        }
        key.copy_from_slice(&plaintext);
        Ok(ThreadKey(key))
    }

    /// The wire form stored by the relay.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(200);
        out.push(VERSION);
        wire::put_str8(&mut out, &self.thread_id);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        wire::put_str8(&mut out, &self.member_id);
        wire::put_str8(&mut out, &self.sealer_id);
        out.extend_from_slice(&self.enc);
        out.extend_from_slice(&self.ciphertext);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses the wire form; authenticity is checked by [`Self::open`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecryptError> {
        let mut reader = Reader::new(bytes);
        if reader.u8()? != VERSION {
            return Err(DecryptError);
        }
        let sealed = Self {
            thread_id: reader.str8()?.to_owned(),
            epoch: reader.u32()?,
            member_id: reader.str8()?.to_owned(),
            sealer_id: reader.str8()?.to_owned(),
            enc: reader.array()?,
            ciphertext: reader.array()?,
            signature: reader.array()?,
        };
        reader.finish()?;
        Ok(sealed)
    }

    #[cfg(feature = "open")]
    fn signed_transcript(&self) -> Transcript {
        let mut transcript = Transcript::new(SIGNATURE_LABEL);
        transcript
            .push(&[VERSION])
            .push(self.thread_id.as_bytes())
            .push(&self.epoch.to_be_bytes())
            .push(self.member_id.as_bytes())
            .push(self.sealer_id.as_bytes())
            .push(&self.enc)
            .push(&self.ciphertext);
        transcript
    }
}

#[cfg(feature = "open")]
/// Ward's one HPKE call: base mode, suite 0x0020/0x0001/0x0003, single
/// shot. The RFC 9180 known-answer tests drive exactly this function.
pub(crate) fn hpke_seal(
    recipient: &HpkePublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<([u8; 32], Vec<u8>), DecryptError> {
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<
        ChaCha20Poly1305,
        HkdfSha256,
        X25519HkdfSha256,
    >(&OpModeS::Base, recipient, info, plaintext, aad, rng)
    .map_err(|_| DecryptError)?;
    Ok((enc.to_bytes().into(), ciphertext))
}

#[cfg(feature = "open")]
/// The inverse of [`hpke_seal`]. A low-order `enc` fails here (RFC 9180
/// requires rejecting an all-zero shared secret).
pub(crate) fn hpke_open(
    recipient: &HpkePrivateKey,
    enc: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let enc = EncappedKey::from_bytes(enc).map_err(|_| DecryptError)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        recipient,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| DecryptError)
}

#[cfg(feature = "open")]
/// HPKE `info`: `lp("ward thread key v1") || lp(thread_id) || lp(u32_be(epoch)) || lp(member_id)`.
fn info(thread_id: &str, epoch: u32, member_id: &str) -> Transcript {
    let mut info = Transcript::new(INFO_LABEL);
    info.push(thread_id.as_bytes())
        .push(&epoch.to_be_bytes())
        .push(member_id.as_bytes());
    info
}

#[cfg(test)]
#[cfg(feature = "open")]
mod tests {
    use super::*;
    use crate::random::os_rng;

    fn account(id: &str) -> AccountKeys {
        AccountKeys::generate(id, 1, &mut os_rng()).unwrap()
    }

    #[test]
    fn every_member_opens_the_same_key() {
        let patient = account("patient");
        let clinic = account("clinic");
        let key = ThreadKey::generate(&mut os_rng());
        let members = [patient.bundle().clone(), clinic.bundle().clone()];
        let sealed = seal_to_members(&key, "t1", 0, &patient, &members, &mut os_rng()).unwrap();
        for (sealed, me) in sealed.iter().zip([&patient, &clinic]) {
            let wire = SealedThreadKey::from_bytes(&sealed.to_bytes()).unwrap();
            let opened = wire.open(me, patient.bundle(), "t1", 0).unwrap();
            assert_eq!(opened.as_bytes(), key.as_bytes());
        }
    }

    #[test]
    fn opening_in_the_wrong_place_or_as_the_wrong_member_fails() {
        let patient = account("patient");
        let clinic = account("clinic");
        let stranger = account("stranger");
        let key = ThreadKey::generate(&mut os_rng());
        let sealed = seal(&key, "t1", 3, &patient, clinic.bundle(), &mut os_rng()).unwrap();
        assert!(sealed.open(&clinic, patient.bundle(), "t1", 3).is_ok());
        assert_eq!(
            sealed.open(&clinic, patient.bundle(), "t2", 3).unwrap_err(),
            DecryptError
        );
        assert_eq!(
            sealed.open(&clinic, patient.bundle(), "t1", 4).unwrap_err(),
            DecryptError
        );
        assert_eq!(
            sealed
                .open(&stranger, patient.bundle(), "t1", 3)
                .unwrap_err(),
            DecryptError
        );
        // Claimed to come from the clinic, but signed by the patient.
        assert_eq!(
            sealed.open(&clinic, clinic.bundle(), "t1", 3).unwrap_err(),
            DecryptError
        );
    }

    #[test]
    fn a_key_sealed_by_an_outsider_is_refused() {
        // The relay (no member key) seals a key of its own to the clinic and
        // names the patient as sealer: the signature check stops it.
        let patient = account("patient");
        let clinic = account("clinic");
        let relay = account("patient");
        let key = ThreadKey::generate(&mut os_rng());
        let forged = seal(&key, "t1", 0, &relay, clinic.bundle(), &mut os_rng()).unwrap();
        assert_eq!(
            forged.open(&clinic, patient.bundle(), "t1", 0).unwrap_err(),
            DecryptError
        );
    }

    #[test]
    fn history_is_one_seal_per_epoch_and_rotation_excludes_the_removed() {
        let patient = account("patient");
        let caregiver = account("caregiver");
        let clinic = account("clinic");
        let keys: Vec<ThreadKey> = (0..3).map(|_| ThreadKey::generate(&mut os_rng())).collect();
        let epochs: Vec<(u32, &ThreadKey)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (i as u32, k))
            .collect();
        let shared =
            share_history(&epochs, "t", &patient, caregiver.bundle(), &mut os_rng()).unwrap();
        assert_eq!(shared.len(), 3);
        for (epoch, sealed) in shared.iter().enumerate() {
            let opened = sealed
                .open(&caregiver, patient.bundle(), "t", epoch as u32)
                .unwrap();
            assert_eq!(opened.as_bytes(), keys[epoch].as_bytes());
        }
        let (next, sealed) = rotate(
            "t",
            3,
            &patient,
            &[patient.bundle().clone(), clinic.bundle().clone()],
            &mut os_rng(),
        )
        .unwrap();
        assert!(sealed.iter().all(|s| s.member_id() != "caregiver"));
        assert_ne!(next.as_bytes(), keys[2].as_bytes());
    }

    #[test]
    fn debug_hides_the_key() {
        let key = ThreadKey::generate(&mut os_rng());
        assert_eq!(format!("{key:?}"), "ThreadKey(..)");
    }
}
