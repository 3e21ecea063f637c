//! Account keys and the signed public bundle the relay serves.
//!
//! An account (patient, caregiver, clinic inbox) has an X25519 key for
//! receiving sealed thread keys and an Ed25519 key for signing. The public
//! halves travel as a [`PublicBundle`], self-signed, so a bundle cannot be
//! stitched together from two accounts' keys.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
#[cfg(feature = "open")]
use ed25519_dalek::{Signer, SigningKey};
#[cfg(feature = "open")]
use hpke::Deserializable;
#[cfg(feature = "open")]
use rand_core::CryptoRng;
#[cfg(feature = "open")]
use zeroize::Zeroizing;

use crate::DecryptError;
#[cfg(feature = "open")]
use crate::random;
#[cfg(feature = "open")]
use crate::thread_key::{HpkePrivateKey, HpkePublicKey};
use crate::transcript::Transcript;
#[cfg(feature = "open")]
use crate::wire::check_id;
use crate::wire::{self, InvalidId, Malformed, Reader};

const BUNDLE_VERSION: u8 = 1;
#[cfg(feature = "open")]
const SECRETS_VERSION: u8 = 1;
const BUNDLE_LABEL: &str = "ward bundle v1";
const SAFETY_NUMBER_LABEL: &str = "ward safety number v1";
const LOGIN_LABEL: &str = "ward relay login v1";

/// Why a bundle or a secret-key blob was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// The bytes are not a bundle (or secret keys) of a version we read.
    #[error("not a Ward key bundle of a known version")]
    Malformed,
    /// The self-signature does not verify.
    #[error("the key bundle's signature does not verify")]
    BadSignature,
    /// A public key is of low order (would make key agreement predictable).
    #[error("the key bundle contains a weak public key")]
    WeakKey,
    /// The account id does not fit.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
}

impl From<Malformed> for KeysError {
    fn from(_: Malformed) -> Self {
        Self::Malformed
    }
}

#[cfg(feature = "open")]
/// An account's secret keys. Lives in memory only while the vault is
/// unlocked; zeroized on drop; `Debug` shows only public information.
pub struct AccountKeys {
    account_id: String,
    created_at: u64,
    x25519_secret: Zeroizing<[u8; 32]>,
    signing: SigningKey,
    bundle: PublicBundle,
}

#[cfg(feature = "open")]
impl AccountKeys {
    /// Fresh keys for `account_id`, stamped `created_at` (Unix seconds).
    pub fn generate(
        account_id: &str,
        created_at: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, InvalidId> {
        let x25519_secret = random::secret::<32>(rng);
        let seed = random::secret::<32>(rng);
        Self::from_parts(account_id, created_at, x25519_secret, &seed)
    }

    fn from_parts(
        account_id: &str,
        created_at: u64,
        x25519_secret: Zeroizing<[u8; 32]>,
        ed25519_seed: &[u8; 32],
    ) -> Result<Self, InvalidId> {
        check_id(account_id)?;
        let signing = SigningKey::from_bytes(ed25519_seed);
        let x25519_public =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*x25519_secret));
        let mut bundle = PublicBundle {
            account_id: account_id.to_owned(),
            x25519: x25519_public.to_bytes(),
            ed25519: signing.verifying_key().to_bytes(),
            created_at,
            signature: [0; 64],
        };
        bundle.signature = signing.sign(&bundle.signed_hash()).to_bytes();
        Ok(Self {
            account_id: account_id.to_owned(),
            created_at,
            x25519_secret,
            signing,
            bundle,
        })
    }

    /// The account these keys belong to.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The signed public bundle to publish.
    pub fn bundle(&self) -> &PublicBundle {
        &self.bundle
    }

    /// The secret keys as bytes, for sealing into the vault only.
    ///
    /// `version u8 (1) || account_id str8 || created_at u64 || x25519 secret [32] || ed25519 seed [32]`
    pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(1 + 1 + self.account_id.len() + 8 + 64));
        out.push(SECRETS_VERSION);
        wire::put_str8(&mut out, &self.account_id);
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&*self.x25519_secret);
        out.extend_from_slice(self.signing.as_bytes());
        out
    }

    /// Reads what [`Self::to_secret_bytes`] wrote.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, KeysError> {
        let mut reader = Reader::new(bytes);
        if reader.u8()? != SECRETS_VERSION {
            return Err(KeysError::Malformed);
        }
        let account_id = reader.str8()?;
        let created_at = reader.u64()?;
        let x25519_secret = Zeroizing::new(reader.array::<32>()?);
        let seed = Zeroizing::new(reader.array::<32>()?);
        reader.finish()?;
        Ok(Self::from_parts(
            account_id,
            created_at,
            x25519_secret,
            &seed,
        )?)
    }

    /// Signs a relay login challenge (the clinic agent's sign-in):
    /// `Ed25519(H(T("ward relay login v1", account_id, challenge)))`.
    pub fn sign_login(&self, challenge: &[u8]) -> [u8; 64] {
        self.sign(&login_transcript(&self.account_id, challenge))
    }

    pub(crate) fn hpke_private_key(&self) -> Result<HpkePrivateKey, DecryptError> {
        HpkePrivateKey::from_bytes(&*self.x25519_secret).map_err(|_| DecryptError)
    }

    pub(crate) fn sign(&self, transcript: &Transcript) -> [u8; 64] {
        self.signing.sign(&transcript.hash()).to_bytes()
    }
}

#[cfg(feature = "open")]
impl fmt::Debug for AccountKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKeys")
            .field("account_id", &self.account_id)
            .field("safety_number", &self.bundle.safety_number().to_string())
            .finish_non_exhaustive()
    }
}

/// An account's public keys, self-signed. A value of this type has always
/// been verified: [`PublicBundle::from_bytes`] checks the signature and the
/// keys before it returns one.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicBundle {
    account_id: String,
    x25519: [u8; 32],
    ed25519: [u8; 32],
    created_at: u64,
    signature: [u8; 64],
}

impl PublicBundle {
    /// `version u8 (1) || account_id str8 || x25519 [32] || ed25519 [32] || created_at u64 || signature [64]`
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 1 + self.account_id.len() + 32 + 32 + 8 + 64);
        out.push(BUNDLE_VERSION);
        wire::put_str8(&mut out, &self.account_id);
        out.extend_from_slice(&self.x25519);
        out.extend_from_slice(&self.ed25519);
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses and verifies a bundle.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeysError> {
        let mut reader = Reader::new(bytes);
        if reader.u8()? != BUNDLE_VERSION {
            return Err(KeysError::Malformed);
        }
        let bundle = Self {
            account_id: reader.str8()?.to_owned(),
            x25519: reader.array()?,
            ed25519: reader.array()?,
            created_at: reader.u64()?,
            signature: reader.array()?,
        };
        reader.finish()?;
        if !x25519_is_contributory(&bundle.x25519) {
            return Err(KeysError::WeakKey);
        }
        if strong_verifying_key(&bundle.ed25519).is_none() {
            return Err(KeysError::WeakKey);
        }
        ed25519_verify(&bundle.ed25519, &bundle.signed_hash(), &bundle.signature)
            .map_err(|_| KeysError::BadSignature)?;
        Ok(bundle)
    }

    /// The account this bundle speaks for.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// When the keys were made (Unix seconds), as the account claims.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The X25519 public key.
    pub fn x25519_public(&self) -> &[u8; 32] {
        &self.x25519
    }

    /// The Ed25519 public key.
    pub fn ed25519_public(&self) -> &[u8; 32] {
        &self.ed25519
    }

    /// Checks a relay login signature made by [`AccountKeys::sign_login`].
    pub fn verify_login(&self, challenge: &[u8], signature: &[u8]) -> Result<(), DecryptError> {
        ed25519_verify(
            &self.ed25519,
            &login_transcript(&self.account_id, challenge).hash(),
            signature,
        )
    }

    /// A short, human-checkable fingerprint of the keys (not the
    /// timestamp: re-signing the same keys keeps the number).
    pub fn safety_number(&self) -> SafetyNumber {
        let mut transcript = Transcript::new(SAFETY_NUMBER_LABEL);
        transcript
            .push(self.account_id.as_bytes())
            .push(&self.x25519)
            .push(&self.ed25519);
        let hash = transcript.hash();
        let mut groups = [0u32; 6];
        for (group, chunk) in groups.iter_mut().zip(hash.chunks_exact(5)) {
            let mut wide = [0u8; 8];
            wide[3..].copy_from_slice(chunk);
            *group = u32::try_from(u64::from_be_bytes(wide) % 100_000).unwrap_or(0);
        }
        SafetyNumber(groups)
    }

    #[cfg(feature = "open")]
    pub(crate) fn hpke_public_key(&self) -> Result<HpkePublicKey, DecryptError> {
        HpkePublicKey::from_bytes(&self.x25519).map_err(|_| DecryptError)
    }

    #[cfg(feature = "open")]
    /// Checks `signature` over `transcript` by this account.
    pub(crate) fn verify(
        &self,
        transcript: &Transcript,
        signature: &[u8; 64],
    ) -> Result<(), DecryptError> {
        ed25519_verify(&self.ed25519, &transcript.hash(), signature)
    }

    fn signed_hash(&self) -> [u8; 32] {
        let mut transcript = Transcript::new(BUNDLE_LABEL);
        transcript
            .push(&[BUNDLE_VERSION])
            .push(self.account_id.as_bytes())
            .push(&self.x25519)
            .push(&self.ed25519)
            .push(&self.created_at.to_be_bytes());
        transcript.hash()
    }
}

impl fmt::Debug for PublicBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicBundle")
            .field("account_id", &self.account_id)
            .field("created_at", &self.created_at)
            .field("safety_number", &self.safety_number().to_string())
            .finish_non_exhaustive()
    }
}

/// Six groups of five digits, compared aloud or side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafetyNumber([u32; 6]);

impl SafetyNumber {
    /// The six groups, each 0 to 99 999.
    pub fn groups(&self) -> [u32; 6] {
        self.0
    }
}

impl fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{group:05}")?;
        }
        Ok(())
    }
}

fn login_transcript(account_id: &str, challenge: &[u8]) -> Transcript {
    let mut transcript = Transcript::new(LOGIN_LABEL);
    transcript.push(account_id.as_bytes()).push(challenge);
    transcript
}

/// Ed25519 verification as Ward uses it everywhere: strict (RFC 8032
/// §5.1.7 with canonical `S` and no small-order keys or `R`), refusing weak
/// public keys.
pub(crate) fn ed25519_verify(
    public: &[u8; 32],
    message: &[u8],
    signature: &[u8],
) -> Result<(), DecryptError> {
    let key = strong_verifying_key(public).ok_or(DecryptError)?;
    let signature: &[u8; 64] = signature.try_into().map_err(|_| DecryptError)?;
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| DecryptError)
}

fn strong_verifying_key(public: &[u8; 32]) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(public)
        .ok()
        .filter(|key| !key.is_weak())
}

/// A low-order X25519 point gives an all-zero shared secret with every
/// private key; such a key must never be accepted as a member's.
pub(crate) fn x25519_is_contributory(public: &[u8; 32]) -> bool {
    // Any fixed non-zero scalar works: a low-order point times a clamped
    // scalar is always the identity.
    let probe = x25519_dalek::StaticSecret::from([0x5a; 32]);
    probe
        .diffie_hellman(&x25519_dalek::PublicKey::from(*public))
        .was_contributory()
}

#[cfg(test)]
#[cfg(feature = "open")]
mod tests {
    use super::*;
    use crate::random::os_rng;

    fn keys(id: &str) -> AccountKeys {
        AccountKeys::generate(id, 1_700_000_000, &mut os_rng()).unwrap()
    }

    #[test]
    fn a_bundle_round_trips_and_verifies() {
        let keys = keys("patient-1");
        let bytes = keys.bundle().to_bytes();
        let parsed = PublicBundle::from_bytes(&bytes).unwrap();
        assert_eq!(&parsed, keys.bundle());
        assert_eq!(parsed.account_id(), "patient-1");
    }

    #[test]
    fn a_bundle_with_another_accounts_keys_fails() {
        let a = keys("a").bundle().clone();
        let b = keys("b").bundle().clone();
        let mut stitched = a.clone();
        stitched.ed25519 = b.ed25519;
        assert_eq!(
            PublicBundle::from_bytes(&stitched.to_bytes()),
            Err(KeysError::BadSignature)
        );
        let mut renamed = a.clone();
        renamed.account_id = "b".into();
        assert_eq!(
            PublicBundle::from_bytes(&renamed.to_bytes()),
            Err(KeysError::BadSignature)
        );
    }

    #[test]
    fn low_order_keys_are_refused() {
        let mut bundle = keys("a").bundle().clone();
        bundle.x25519 = [0; 32];
        assert_eq!(
            PublicBundle::from_bytes(&bundle.to_bytes()),
            Err(KeysError::WeakKey)
        );
        let mut bundle = keys("a").bundle().clone();
        // The Ed25519 identity point: small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        bundle.ed25519 = identity;
        assert_eq!(
            PublicBundle::from_bytes(&bundle.to_bytes()),
            Err(KeysError::WeakKey)
        );
    }

    #[test]
    fn login_signatures_verify_only_for_their_challenge_and_account() {
        let clinic = keys("clinic");
        let other = keys("other");
        let signature = clinic.sign_login(b"challenge-1");
        assert!(
            clinic
                .bundle()
                .verify_login(b"challenge-1", &signature)
                .is_ok()
        );
        assert!(
            clinic
                .bundle()
                .verify_login(b"challenge-2", &signature)
                .is_err()
        );
        assert!(
            other
                .bundle()
                .verify_login(b"challenge-1", &signature)
                .is_err()
        );
        assert!(
            clinic
                .bundle()
                .verify_login(b"challenge-1", &signature[..63])
                .is_err()
        );
    }

    #[test]
    fn secrets_round_trip() {
        let keys = keys("clinic-inbox");
        let restored = AccountKeys::from_secret_bytes(&keys.to_secret_bytes()).unwrap();
        assert_eq!(restored.bundle(), keys.bundle());
    }

    #[test]
    fn safety_number_is_six_groups_and_ignores_the_timestamp() {
        let keys = keys("a");
        let text = keys.bundle().safety_number().to_string();
        assert_eq!(text.len(), 6 * 5 + 5, "{text}");
        let later = AccountKeys::from_parts(
            "a",
            1_800_000_000,
            keys.x25519_secret.clone(),
            keys.signing.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            later.bundle().safety_number(),
            keys.bundle().safety_number()
        );
        assert_ne!(
            keys.bundle().safety_number(),
            self::keys("b").bundle().safety_number()
        );
    }

    #[test]
    fn debug_never_prints_secret_bytes() {
        let keys = keys("a");
        let debug = format!("{keys:?}");
        let secret_hex: String = keys
            .x25519_secret
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!debug.contains(&secret_hex));
        assert!(!debug.contains(&format!("{:?}", &*keys.x25519_secret)));
        assert!(!debug.contains(&format!("{:?}", keys.signing.as_bytes())));
        assert!(
            debug.starts_with("AccountKeys { account_id: \"a\", safety_number: "),
            "{debug}"
        );
    }
}
