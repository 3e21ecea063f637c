//! The vault: an account's secret keys, encrypted under a random vault key,
//! which is wrapped once per unlock method.
//!
//! The relay stores the vault as an opaque blob, so a new phone that logs in
//! with the passkey (or types the recovery code) reads the whole history.
//! Adding or removing an unlock method touches only its wrap: the secrets
//! are not re-encrypted. Removing a wrap does not revoke it against someone
//! who kept old vault bytes (the relay, a backup); [`Vault::rekeyed`] does,
//! by moving to a fresh vault key that only the kept methods wrap.
//!
//! `vault = version u8 (1) || account_id str8 || generation u64 || nonce [12]
//!          || secrets bytes32 || count u8 || wrap*`
//! `wrap  = method || nonce [12] || wrapped_key [48]`
//! `method = 0x01 || credential_id bytes32              (passkey PRF)`
//! `       | 0x02 || salt [16] || m u32 || t u32 || p u32  (recovery code, Argon2id)`
//! `       | 0x03 || device_id str8                    (device-bound key)`

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::glue::{aead_open, aead_seal, hkdf_sha256};
use crate::keys::AccountKeys;
use crate::recovery::RecoveryCode;
use crate::transcript::Transcript;
use crate::wire::{self, InvalidId, Reader, check_id};
use crate::{DecryptError, random};

const VERSION: u8 = 1;
const SECRETS_LABEL: &str = "ward vault v1";
const WRAP_LABEL: &str = "ward vault wrap v1";
const KEK_LABEL: &str = "ward vault kek v1";
const MAX_SECRETS_LEN: usize = 4096;
const MAX_CREDENTIAL_ID_LEN: usize = 1023;
const MAX_WRAPS: usize = 32;
/// Argon2id bounds accepted from a stored vault: a hostile relay must not be
/// able to make a phone allocate gigabytes.
const MAX_M_COST_KIB: u32 = 256 * 1024;
const MAX_T_COST: u32 = 10;
const MAX_P_COST: u32 = 4;

/// Argon2id parameters for the recovery code (RFC 9106).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for RecoveryParams {
    /// OWASP's Argon2id minimum: 19 MiB, 2 passes, 1 lane. The code carries
    /// 128 random bits, so the KDF is defence in depth, and must stay
    /// bearable on a cheap phone.
    fn default() -> Self {
        Self {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

/// Why the vault could not be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// An id does not fit, or there are too many unlock methods.
    #[error("the unlock method's id does not fit, or there are too many unlock methods")]
    InvalidMethod,
    /// Argon2id parameters out of range.
    #[error("recovery code parameters are out of range")]
    BadParams,
    /// Removing this method would leave the vault with no way to unlock.
    #[error("this is the last way to unlock the account; add another before removing it")]
    LastMethod,
    /// The keys belong to another account than the vault.
    #[error("these keys belong to another account than this vault")]
    WrongAccount,
}

impl From<InvalidId> for VaultError {
    fn from(_: InvalidId) -> Self {
        Self::InvalidMethod
    }
}

/// The secret that proves one unlock method. `Debug` names the method only.
pub enum Unlock<'a> {
    /// A passkey's WebAuthn PRF output for Ward's salt.
    Passkey {
        /// The credential's id (raw bytes).
        credential_id: &'a [u8],
        /// `prf.results.first`.
        prf_output: &'a [u8; 32],
    },
    /// The recovery code.
    RecoveryCode(&'a RecoveryCode),
    /// A device-bound key.
    Device {
        /// Which device (the client's own label).
        device_id: &'a str,
        /// The device's key.
        key: &'a [u8; 32],
    },
}

impl fmt::Debug for Unlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Passkey { .. } => f.write_str("Unlock::Passkey(..)"),
            Self::RecoveryCode(_) => f.write_str("Unlock::RecoveryCode(..)"),
            Self::Device { device_id, .. } => write!(f, "Unlock::Device({device_id:?}, ..)"),
        }
    }
}

/// What an unlock method is, without its secret: for the settings screen and
/// for removing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// A passkey, by credential id.
    Passkey {
        /// The credential's id.
        credential_id: Vec<u8>,
    },
    /// The recovery code.
    RecoveryCode {
        /// Argon2id salt.
        salt: [u8; 16],
        /// Argon2id parameters.
        params: RecoveryParams,
    },
    /// A device-bound key.
    Device {
        /// Which device.
        device_id: String,
    },
}

/// The vault key, held while the account is unlocked so methods can be added.
pub struct VaultKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Wrap {
    method: Method,
    nonce: [u8; 12],
    wrapped: [u8; 48],
}

/// An encrypted vault, as stored by the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    account_id: String,
    generation: u64,
    nonce: [u8; 12],
    secrets: Vec<u8>,
    wraps: Vec<Wrap>,
}

impl Vault {
    /// A new vault (generation 0) holding `keys`, unlockable by each of
    /// `methods` (at least one).
    pub fn create(
        keys: &AccountKeys,
        methods: &[Unlock<'_>],
        recovery_params: RecoveryParams,
        rng: &mut impl CryptoRng,
    ) -> Result<(Self, VaultKey), VaultError> {
        Self::create_generation(keys, 0, methods, recovery_params, rng)
    }

    fn create_generation(
        keys: &AccountKeys,
        generation: u64,
        methods: &[Unlock<'_>],
        recovery_params: RecoveryParams,
        rng: &mut impl CryptoRng,
    ) -> Result<(Self, VaultKey), VaultError> {
        if methods.is_empty() {
            return Err(VaultError::LastMethod);
        }
        let vault_key = VaultKey(random::secret(rng));
        let mut vault = Self {
            account_id: keys.account_id().to_owned(),
            generation,
            nonce: [0; 12],
            secrets: Vec::new(),
            wraps: Vec::new(),
        };
        vault.seal_secrets(&vault_key, keys, rng);
        for method in methods {
            vault.add_method(&vault_key, method, recovery_params, rng)?;
        }
        Ok((vault, vault_key))
    }

    /// The account the vault belongs to. Readable before unlocking, and
    /// authenticated by a successful [`Self::unlock`]: the caller must check
    /// it is the account being signed in to.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Goes up by one whenever the secrets or the vault key change. Readable
    /// before unlocking and authenticated by a successful unlock: a client
    /// remembers the highest generation it has seen and refuses a lower one,
    /// so the relay cannot roll the vault back to older keys.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Re-encrypts the secrets after the account's keys were rotated (next
    /// generation); the unlock methods stay as they are.
    pub fn reseal_secrets(
        &mut self,
        vault_key: &VaultKey,
        keys: &AccountKeys,
        rng: &mut impl CryptoRng,
    ) -> Result<(), VaultError> {
        if keys.account_id() != self.account_id {
            return Err(VaultError::WrongAccount);
        }
        self.generation = self.generation.saturating_add(1);
        self.seal_secrets(vault_key, keys, rng);
        Ok(())
    }

    /// A new vault for the next generation under a fresh vault key, wrapped
    /// only for `keep`. This is how a lost device, a leaked recovery code or
    /// a removed passkey is revoked for real: old vault bytes open only the
    /// old vault key, which no longer opens anything current.
    pub fn rekeyed(
        &self,
        keys: &AccountKeys,
        keep: &[Unlock<'_>],
        recovery_params: RecoveryParams,
        rng: &mut impl CryptoRng,
    ) -> Result<(Self, VaultKey), VaultError> {
        if keys.account_id() != self.account_id {
            return Err(VaultError::WrongAccount);
        }
        Self::create_generation(
            keys,
            self.generation.saturating_add(1),
            keep,
            recovery_params,
            rng,
        )
    }

    fn seal_secrets(&mut self, vault_key: &VaultKey, keys: &AccountKeys, rng: &mut impl CryptoRng) {
        self.nonce = random::bytes(rng);
        self.secrets = aead_seal(
            &vault_key.0,
            &self.nonce,
            &self.secrets_aad(),
            &keys.to_secret_bytes(),
        );
    }

    /// Opens the vault with one unlock method's secret. Every failure (wrong
    /// code, wrong passkey, altered vault) is the same [`DecryptError`].
    pub fn unlock(&self, secret: &Unlock<'_>) -> Result<(AccountKeys, VaultKey), DecryptError> {
        // Slots are unique (checked when parsing), so at most one wrap
        // matches and at most one KDF runs.
        let wrap = self
            .wraps
            .iter()
            .find(|wrap| matches_secret(&wrap.method, secret))
            .ok_or(DecryptError)?;
        let kek = self.kek_for(&wrap.method, secret).ok_or(DecryptError)?;
        let opened = aead_open(
            &kek,
            &wrap.nonce,
            &self.wrap_aad(&wrap.method),
            &wrap.wrapped,
        )?;
        let mut key = Zeroizing::new([0u8; 32]);
        if opened.len() != key.len() {
            return Err(DecryptError);
        }
        key.copy_from_slice(&opened);
        let vault_key = VaultKey(key);
        let secrets = aead_open(
            &vault_key.0,
            &self.nonce,
            &self.secrets_aad(),
            &self.secrets,
        )?;
        let keys = AccountKeys::from_secret_bytes(&secrets).map_err(|_| DecryptError)?;
        if keys.account_id() != self.account_id {
            return Err(DecryptError);
        }
        Ok((keys, vault_key))
    }

    /// Adds an unlock method (replacing one in the same slot).
    pub fn add_method(
        &mut self,
        vault_key: &VaultKey,
        secret: &Unlock<'_>,
        recovery_params: RecoveryParams,
        rng: &mut impl CryptoRng,
    ) -> Result<(), VaultError> {
        let method = match secret {
            Unlock::Passkey { credential_id, .. } => {
                if credential_id.is_empty() || credential_id.len() > MAX_CREDENTIAL_ID_LEN {
                    return Err(VaultError::InvalidMethod);
                }
                Method::Passkey {
                    credential_id: credential_id.to_vec(),
                }
            }
            Unlock::RecoveryCode(_) => {
                check_params(&recovery_params).map_err(|_| VaultError::BadParams)?;
                Method::RecoveryCode {
                    salt: random::bytes(rng),
                    params: recovery_params,
                }
            }
            Unlock::Device { device_id, .. } => {
                check_id(device_id)?;
                Method::Device {
                    device_id: (*device_id).to_owned(),
                }
            }
        };
        let kek = self.kek_for(&method, secret).ok_or(VaultError::BadParams)?;
        let (nonce, wrapped) = wrap_vault_key(&kek, &self.wrap_aad(&method), vault_key, rng)
            .ok_or(VaultError::InvalidMethod)?;
        self.wraps.retain(|wrap| !same_slot(&wrap.method, &method));
        if self.wraps.len() >= MAX_WRAPS {
            return Err(VaultError::InvalidMethod);
        }
        self.wraps.push(Wrap {
            method,
            nonce,
            wrapped,
        });
        Ok(())
    }

    /// Removes an unlock method's wrap; refuses to remove the last one. To
    /// revoke a compromised method, use [`Self::rekeyed`].
    pub fn remove_method(&mut self, method: &Method) -> Result<(), VaultError> {
        let remaining = self
            .wraps
            .iter()
            .filter(|w| !same_slot(&w.method, method))
            .count();
        if remaining == 0 {
            return Err(VaultError::LastMethod);
        }
        self.wraps.retain(|wrap| !same_slot(&wrap.method, method));
        Ok(())
    }

    /// The unlock methods, without secrets.
    pub fn methods(&self) -> Vec<Method> {
        self.wraps.iter().map(|wrap| wrap.method.clone()).collect()
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        wire::put_str8(&mut out, &self.account_id);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        wire::put_bytes32(&mut out, &self.secrets);
        out.push(u8::try_from(self.wraps.len()).unwrap_or(u8::MAX));
        for wrap in &self.wraps {
            out.extend_from_slice(&method_bytes(&wrap.method));
            out.extend_from_slice(&wrap.nonce);
            out.extend_from_slice(&wrap.wrapped);
        }
        out
    }

    /// Parses the wire form; authenticity is checked by [`Self::unlock`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecryptError> {
        let mut reader = Reader::new(bytes);
        if reader.u8()? != VERSION {
            return Err(DecryptError);
        }
        let account_id = reader.str8()?.to_owned();
        let generation = reader.u64()?;
        let nonce = reader.array()?;
        let secrets = reader.bytes32(MAX_SECRETS_LEN)?.to_vec();
        let count = usize::from(reader.u8()?);
        if count == 0 || count > MAX_WRAPS {
            return Err(DecryptError);
        }
        let mut wraps: Vec<Wrap> = Vec::with_capacity(count);
        for _ in 0..count {
            let method = match reader.u8()? {
                1 => {
                    let credential_id = reader.bytes32(MAX_CREDENTIAL_ID_LEN)?.to_vec();
                    if credential_id.is_empty() {
                        return Err(DecryptError);
                    }
                    Method::Passkey { credential_id }
                }
                2 => {
                    let salt = reader.array()?;
                    let params = RecoveryParams {
                        m_cost_kib: reader.u32()?,
                        t_cost: reader.u32()?,
                        p_cost: reader.u32()?,
                    };
                    check_params(&params)?;
                    Method::RecoveryCode { salt, params }
                }
                3 => Method::Device {
                    device_id: reader.str8()?.to_owned(),
                },
                _ => return Err(DecryptError),
            };
            // One wrap per slot: a vault with two recovery wraps could make
            // a client run the KDF twice.
            if wraps.iter().any(|wrap| same_slot(&wrap.method, &method)) {
                return Err(DecryptError);
            }
            wraps.push(Wrap {
                method,
                nonce: reader.array()?,
                wrapped: reader.array()?,
            });
        }
        reader.finish()?;
        Ok(Self {
            account_id,
            generation,
            nonce,
            secrets,
            wraps,
        })
    }

    /// The key-encryption key for `method` from `secret`, or `None` when the
    /// secret is for another method.
    fn kek_for(&self, method: &Method, secret: &Unlock<'_>) -> Option<Zeroizing<[u8; 32]>> {
        if !matches_secret(method, secret) {
            return None;
        }
        match (method, secret) {
            (Method::Passkey { .. }, Unlock::Passkey { prf_output, .. }) => Some(
                hkdf_sha256::<32>(&[], *prf_output, self.kek_info(method).bytes()),
            ),
            (Method::RecoveryCode { salt, params }, Unlock::RecoveryCode(code)) => {
                let argon_params =
                    Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32)).ok()?;
                let mut kek = Zeroizing::new([0u8; 32]);
                Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
                    .hash_password_into(code.entropy(), salt, kek.as_mut_slice())
                    .ok()?;
                Some(kek)
            }
            (Method::Device { .. }, Unlock::Device { key, .. }) => {
                Some(hkdf_sha256::<32>(&[], *key, self.kek_info(method).bytes()))
            }
            _ => None,
        }
    }

    /// HKDF info for passkey and device KEKs: `T("ward vault kek v1", account_id, method)`.
    fn kek_info(&self, method: &Method) -> Transcript {
        let mut info = Transcript::new(KEK_LABEL);
        info.push(self.account_id.as_bytes())
            .push(&method_bytes(method));
        info
    }

    fn wrap_aad(&self, method: &Method) -> Vec<u8> {
        let mut aad = Transcript::new(WRAP_LABEL);
        aad.push(self.account_id.as_bytes())
            .push(&method_bytes(method));
        aad.bytes().to_vec()
    }

    fn secrets_aad(&self) -> Vec<u8> {
        let mut aad = Transcript::new(SECRETS_LABEL);
        aad.push(&[VERSION])
            .push(self.account_id.as_bytes())
            .push(&self.generation.to_be_bytes());
        aad.bytes().to_vec()
    }
}

/// Wraps the vault key under `kek` with a nonce drawn here, from `rng`, for
/// this one wrap. No caller ever chooses a wrap nonce: passkey and device
/// KEKs are deterministic (the same passkey gives the same KEK forever), so
/// a rekey wraps a new vault key under an old KEK, and a repeated (KEK,
/// nonce) pair would give away the XOR of the two vault keys (and let the
/// wrap's tag be forged). Production callers pass [`random::os_rng`]; the
/// test vectors a seeded generator.
fn wrap_vault_key(
    kek: &[u8; 32],
    aad: &[u8],
    vault_key: &VaultKey,
    rng: &mut impl CryptoRng,
) -> Option<([u8; 12], [u8; 48])> {
    let nonce = random::bytes::<12>(rng);
    let wrapped = aead_seal(kek, &nonce, aad, &*vault_key.0).try_into().ok()?;
    Some((nonce, wrapped))
}

/// Whether `secret` is for the wrap of `method` (same passkey, same device,
/// or the recovery code).
fn matches_secret(method: &Method, secret: &Unlock<'_>) -> bool {
    match (method, secret) {
        (
            Method::Passkey { credential_id },
            Unlock::Passkey {
                credential_id: given,
                ..
            },
        ) => credential_id.as_slice() == *given,
        (Method::RecoveryCode { .. }, Unlock::RecoveryCode(_)) => true,
        (
            Method::Device { device_id },
            Unlock::Device {
                device_id: given, ..
            },
        ) => device_id == given,
        _ => false,
    }
}

/// Two methods occupy the same slot: same passkey, same device, or (there
/// is only one) the recovery code.
fn same_slot(a: &Method, b: &Method) -> bool {
    match (a, b) {
        (Method::Passkey { credential_id: x }, Method::Passkey { credential_id: y }) => x == y,
        (Method::RecoveryCode { .. }, Method::RecoveryCode { .. }) => true,
        (Method::Device { device_id: x }, Method::Device { device_id: y }) => x == y,
        _ => false,
    }
}

fn check_params(params: &RecoveryParams) -> Result<(), DecryptError> {
    let ok = params.m_cost_kib <= MAX_M_COST_KIB
        && (1..=MAX_T_COST).contains(&params.t_cost)
        && (1..=MAX_P_COST).contains(&params.p_cost)
        && Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32)).is_ok();
    if ok { Ok(()) } else { Err(DecryptError) }
}

fn method_bytes(method: &Method) -> Vec<u8> {
    let mut out = Vec::new();
    match method {
        Method::Passkey { credential_id } => {
            out.push(1);
            wire::put_bytes32(&mut out, credential_id);
        }
        Method::RecoveryCode { salt, params } => {
            out.push(2);
            out.extend_from_slice(salt);
            out.extend_from_slice(&params.m_cost_kib.to_be_bytes());
            out.extend_from_slice(&params.t_cost.to_be_bytes());
            out.extend_from_slice(&params.p_cost.to_be_bytes());
        }
        Method::Device { device_id } => {
            out.push(3);
            wire::put_str8(&mut out, device_id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::os_rng;

    /// Argon2id's minimum: tests exercise the real KDF without the cost.
    pub(crate) const FAST: RecoveryParams = RecoveryParams {
        m_cost_kib: 8,
        t_cost: 1,
        p_cost: 1,
    };

    fn keys() -> AccountKeys {
        AccountKeys::generate("patient", 1, &mut os_rng()).unwrap()
    }

    #[test]
    fn each_method_unlocks_the_same_keys() {
        let keys = keys();
        let prf = [3u8; 32];
        let passkey = Unlock::Passkey {
            credential_id: b"cred-1",
            prf_output: &prf,
        };
        let (mut vault, vault_key) =
            Vault::create(&keys, std::slice::from_ref(&passkey), FAST, &mut os_rng()).unwrap();
        let code = RecoveryCode::generate(&mut os_rng());
        vault
            .add_method(
                &vault_key,
                &Unlock::RecoveryCode(&code),
                FAST,
                &mut os_rng(),
            )
            .unwrap();
        let device_key = [9u8; 32];
        let device = Unlock::Device {
            device_id: "phone",
            key: &device_key,
        };
        vault
            .add_method(&vault_key, &device, FAST, &mut os_rng())
            .unwrap();
        let stored = Vault::from_bytes(&vault.to_bytes()).unwrap();
        for secret in [passkey, Unlock::RecoveryCode(&code), device] {
            let (opened, _) = stored.unlock(&secret).unwrap();
            assert_eq!(opened.bundle(), keys.bundle());
        }
    }

    #[test]
    fn wrong_secrets_fail_opaquely() {
        let keys = keys();
        let code = RecoveryCode::generate(&mut os_rng());
        let (vault, _) =
            Vault::create(&keys, &[Unlock::RecoveryCode(&code)], FAST, &mut os_rng()).unwrap();
        let other = RecoveryCode::generate(&mut os_rng());
        assert_eq!(
            vault.unlock(&Unlock::RecoveryCode(&other)).unwrap_err(),
            DecryptError
        );
        let prf = [1u8; 32];
        let passkey = Unlock::Passkey {
            credential_id: b"c",
            prf_output: &prf,
        };
        assert_eq!(vault.unlock(&passkey).unwrap_err(), DecryptError);
    }

    #[test]
    fn removing_a_method_keeps_the_secrets_and_refuses_the_last() {
        let keys = keys();
        let prf = [3u8; 32];
        let passkey = Unlock::Passkey {
            credential_id: b"cred-1",
            prf_output: &prf,
        };
        let (mut vault, vault_key) =
            Vault::create(&keys, std::slice::from_ref(&passkey), FAST, &mut os_rng()).unwrap();
        let code = RecoveryCode::generate(&mut os_rng());
        vault
            .add_method(
                &vault_key,
                &Unlock::RecoveryCode(&code),
                FAST,
                &mut os_rng(),
            )
            .unwrap();
        let secrets_before = vault.secrets.clone();
        let passkey_method = Method::Passkey {
            credential_id: b"cred-1".to_vec(),
        };
        vault.remove_method(&passkey_method).unwrap();
        assert_eq!(vault.secrets, secrets_before);
        assert!(vault.unlock(&passkey).is_err());
        assert!(vault.unlock(&Unlock::RecoveryCode(&code)).is_ok());
        let only = vault.methods().remove(0);
        assert_eq!(vault.remove_method(&only), Err(VaultError::LastMethod));
    }

    #[test]
    fn a_hostile_kdf_cost_is_refused_before_running() {
        let keys = keys();
        let code = RecoveryCode::generate(&mut os_rng());
        let (vault, _) =
            Vault::create(&keys, &[Unlock::RecoveryCode(&code)], FAST, &mut os_rng()).unwrap();
        let mut bytes = vault.to_bytes();
        // m_cost sits after version, account id, generation, nonce,
        // secrets, count, kind and salt.
        let m_cost_at = 1 + 1 + "patient".len() + 8 + 12 + 4 + vault.secrets.len() + 1 + 1 + 16;
        bytes[m_cost_at..m_cost_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(Vault::from_bytes(&bytes).unwrap_err(), DecryptError);
    }

    #[test]
    fn a_duplicated_recovery_wrap_is_refused_when_parsing() {
        let keys = keys();
        let code = RecoveryCode::generate(&mut os_rng());
        let (vault, _) =
            Vault::create(&keys, &[Unlock::RecoveryCode(&code)], FAST, &mut os_rng()).unwrap();
        let mut doubled = vault.clone();
        doubled.wraps.push(vault.wraps[0].clone());
        assert_eq!(
            Vault::from_bytes(&doubled.to_bytes()).unwrap_err(),
            DecryptError
        );
    }

    #[test]
    fn rekeying_revokes_a_method_even_for_old_vault_bytes() {
        let keys = keys();
        let leaked = RecoveryCode::generate(&mut os_rng());
        let prf = [3u8; 32];
        let passkey = Unlock::Passkey {
            credential_id: b"cred-1",
            prf_output: &prf,
        };
        let (mut old, vault_key) =
            Vault::create(&keys, std::slice::from_ref(&passkey), FAST, &mut os_rng()).unwrap();
        old.add_method(
            &vault_key,
            &Unlock::RecoveryCode(&leaked),
            FAST,
            &mut os_rng(),
        )
        .unwrap();
        let (new, new_key) = old
            .rekeyed(&keys, std::slice::from_ref(&passkey), FAST, &mut os_rng())
            .unwrap();
        assert_eq!(new.generation(), old.generation() + 1);
        assert!(new.unlock(&Unlock::RecoveryCode(&leaked)).is_err());
        assert!(new.unlock(&passkey).is_ok());
        // The old bytes still open with the leaked code, but only to the old
        // vault key, which does not open the new vault's secrets.
        let (_, old_key) = old.unlock(&Unlock::RecoveryCode(&leaked)).unwrap();
        assert_ne!(*old_key.0, *new_key.0);
        assert!(aead_open(&old_key.0, &new.nonce, &new.secrets_aad(), &new.secrets).is_err());
    }

    #[test]
    fn wraps_of_one_key_under_one_kek_never_share_a_nonce() {
        let keys = keys();
        let prf = [3u8; 32];
        let device_key = [9u8; 32];
        let passkey = Unlock::Passkey {
            credential_id: b"cred-1",
            prf_output: &prf,
        };
        let device = Unlock::Device {
            device_id: "phone",
            key: &device_key,
        };
        let (mut vault, vault_key) =
            Vault::create(&keys, std::slice::from_ref(&passkey), FAST, &mut os_rng()).unwrap();
        let mut nonces = vec![vault.wraps[0].nonce];
        // The same vault key wrapped again under the same (deterministic)
        // passkey KEK, and the device's, many times over.
        for _ in 0..50 {
            for secret in [&passkey, &device] {
                vault
                    .add_method(&vault_key, secret, FAST, &mut os_rng())
                    .unwrap();
                let wrap = vault
                    .wraps
                    .iter()
                    .find(|w| matches_secret(&w.method, secret))
                    .unwrap();
                nonces.push(wrap.nonce);
            }
        }
        // Rekeys: a new vault key under the same KEKs.
        let mut current = vault.clone();
        for _ in 0..50 {
            let (next, _) = current
                .rekeyed(
                    &keys,
                    &[passkey_again(&prf), device_again(&device_key)],
                    FAST,
                    &mut os_rng(),
                )
                .unwrap();
            nonces.extend(next.wraps.iter().map(|w| w.nonce));
            current = next;
        }
        let count = nonces.len();
        nonces.sort_unstable();
        nonces.dedup();
        assert_eq!(nonces.len(), count, "a wrap nonce repeated");
        assert!(current.unlock(&passkey).is_ok());
        assert!(current.unlock(&device).is_ok());
    }

    fn passkey_again(prf: &[u8; 32]) -> Unlock<'_> {
        Unlock::Passkey {
            credential_id: b"cred-1",
            prf_output: prf,
        }
    }

    fn device_again(key: &[u8; 32]) -> Unlock<'_> {
        Unlock::Device {
            device_id: "phone",
            key,
        }
    }

    #[test]
    fn account_and_generation_are_authenticated() {
        let keys = keys();
        let prf = [3u8; 32];
        let passkey = Unlock::Passkey {
            credential_id: b"cred-1",
            prf_output: &prf,
        };
        let (mut vault, vault_key) =
            Vault::create(&keys, std::slice::from_ref(&passkey), FAST, &mut os_rng()).unwrap();
        vault
            .reseal_secrets(&vault_key, &keys, &mut os_rng())
            .unwrap();
        assert_eq!(vault.generation(), 1);
        // A relay presenting these secrets as generation 5 (or as another
        // account's vault) is caught on unlock.
        let mut bumped = vault.clone();
        bumped.generation = 5;
        assert!(bumped.unlock(&passkey).is_err());
        let mut renamed = vault.clone();
        renamed.account_id = "someone-else".into();
        assert!(renamed.unlock(&passkey).is_err());
        let other = AccountKeys::generate("other", 1, &mut os_rng()).unwrap();
        assert_eq!(
            vault.reseal_secrets(&vault_key, &other, &mut os_rng()),
            Err(VaultError::WrongAccount)
        );
    }

    #[test]
    fn debug_hides_the_vault_key() {
        let code = RecoveryCode::generate(&mut os_rng());
        let (_, vault_key) =
            Vault::create(&keys(), &[Unlock::RecoveryCode(&code)], FAST, &mut os_rng()).unwrap();
        assert_eq!(format!("{vault_key:?}"), "VaultKey(..)");
        let prf = [0xabu8; 32];
        let unlock = Unlock::Passkey {
            credential_id: b"c",
            prf_output: &prf,
        };
        assert_eq!(format!("{unlock:?}"), "Unlock::Passkey(..)");
        let key = [0xcdu8; 32];
        let device = Unlock::Device {
            device_id: "phone",
            key: &key,
        };
        assert_eq!(format!("{device:?}"), "Unlock::Device(\"phone\", ..)");
    }
}
