//! A passphrase-protected file holding an account's secret keys, for the
//! clinic agent (a program with no passkey).
//!
//! `keyfile = "WARDKEY1" || salt [16] || m u32 || t u32 || p u32 || nonce [12] || ciphertext`
//! with `key = Argon2id(passphrase, salt, m, t, p)` (32 bytes) and
//! `ciphertext = ChaCha20-Poly1305(key, nonce, aad = everything before the
//! ciphertext, secret_keys)`.

use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::glue::{aead_open, aead_seal};
use crate::keys::AccountKeys;
use crate::vault::RecoveryParams;
use crate::wire::Reader;
use crate::{DecryptError, random};

const MAGIC: &[u8; 8] = b"WARDKEY1";
const HEADER_LEN: usize = 8 + 16 + 12 + 12;

/// Why a key file could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The passphrase is too short to protect a clinic's keys.
    #[error("the passphrase must be at least 12 characters")]
    WeakPassphrase,
    /// The KDF parameters are out of range.
    #[error("the key file's Argon2id parameters are out of range")]
    BadParams,
}

/// Encrypts `keys` under `passphrase`. Every call draws a fresh salt and
/// nonce here, from `rng` (production callers pass
/// [`crate::random::os_rng`]): rewriting the file, even with the same keys
/// and passphrase, never reuses either.
pub fn seal(
    keys: &AccountKeys,
    passphrase: &str,
    params: RecoveryParams,
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, KeyFileError> {
    if passphrase.chars().count() < 12 {
        return Err(KeyFileError::WeakPassphrase);
    }
    let salt = random::bytes::<16>(rng);
    let nonce = random::bytes::<12>(rng);
    let mut out = Vec::with_capacity(HEADER_LEN + 200);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&params.m_cost_kib.to_be_bytes());
    out.extend_from_slice(&params.t_cost.to_be_bytes());
    out.extend_from_slice(&params.p_cost.to_be_bytes());
    out.extend_from_slice(&nonce);
    let key = derive(passphrase, &salt, params).ok_or(KeyFileError::BadParams)?;
    let ciphertext = aead_seal(&key, &nonce, &out, &keys.to_secret_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts a key file. A wrong passphrase and an altered file fail alike.
pub fn open(bytes: &[u8], passphrase: &str) -> Result<AccountKeys, DecryptError> {
    let mut reader = Reader::new(bytes);
    if reader.take(8)? != MAGIC {
        return Err(DecryptError);
    }
    let salt: [u8; 16] = reader.array()?;
    let params = RecoveryParams {
        m_cost_kib: reader.u32()?,
        t_cost: reader.u32()?,
        p_cost: reader.u32()?,
    };
    let nonce: [u8; 12] = reader.array()?;
    let header = bytes.get(..HEADER_LEN).ok_or(DecryptError)?;
    let ciphertext = reader.take(reader.remaining())?;
    // The same bounds as the vault: a file must not make us allocate gigabytes.
    if params.m_cost_kib > 256 * 1024
        || !(1..=10).contains(&params.t_cost)
        || !(1..=4).contains(&params.p_cost)
    {
        return Err(DecryptError);
    }
    let key = derive(passphrase, &salt, params).ok_or(DecryptError)?;
    let secrets = aead_open(&key, &nonce, header, ciphertext)?;
    AccountKeys::from_secret_bytes(&secrets).map_err(|_| DecryptError)
}

fn derive(
    passphrase: &str,
    salt: &[u8; 16],
    params: RecoveryParams,
) -> Option<Zeroizing<[u8; 32]>> {
    let params = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32)).ok()?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut_slice())
        .ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::os_rng;

    const FAST: RecoveryParams = RecoveryParams {
        m_cost_kib: 8,
        t_cost: 1,
        p_cost: 1,
    };

    #[test]
    fn round_trips_and_refuses_a_wrong_passphrase_or_an_edit() {
        let keys = AccountKeys::generate("clinic-1", 1, &mut os_rng()).unwrap();
        let file = seal(&keys, "correct horse battery", FAST, &mut os_rng()).unwrap();
        assert_eq!(
            open(&file, "correct horse battery").unwrap().bundle(),
            keys.bundle()
        );
        assert_eq!(
            open(&file, "wrong horse battery!!").unwrap_err(),
            DecryptError
        );
        let mut edited = file.clone();
        edited[20] ^= 1;
        assert!(open(&edited, "correct horse battery").is_err());
        assert_eq!(
            seal(&keys, "short", FAST, &mut os_rng()).unwrap_err(),
            KeyFileError::WeakPassphrase
        );
    }

    #[test]
    fn every_write_draws_a_fresh_salt_and_nonce() {
        let keys = AccountKeys::generate("clinic-1", 1, &mut os_rng()).unwrap();
        let mut salts = Vec::new();
        let mut nonces = Vec::new();
        for _ in 0..20 {
            let file = seal(&keys, "correct horse battery", FAST, &mut os_rng()).unwrap();
            salts.push(file[8..24].to_vec());
            nonces.push(file[36..48].to_vec());
            assert!(open(&file, "correct horse battery").is_ok());
        }
        for list in [&mut salts, &mut nonces] {
            list.sort();
            list.dedup();
            assert_eq!(list.len(), 20);
        }
    }
}
