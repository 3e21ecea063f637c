//! The relay's own secret: 32 random bytes kept outside the database, from
//! which the keys that protect secrets at rest are derived.
//!
//! * TOTP seeds are sealed with XChaCha20-Poly1305 under `K_seed` (a random
//!   24-byte nonce per seal, the account id as associated data), so a copy
//!   of the database alone cannot mint authenticator codes.
//! * Short codes (six-digit one-time codes, 50-bit invite codes) are stored
//!   as `HMAC-SHA256(K_code, SHA-256(code))`: without the secret, a stored
//!   hash cannot be reversed by trying every code.
//! * `passkey/start` for an account without passkeys answers with decoy
//!   credential ids, `HMAC-SHA256(K_decoy, account id)`: stable across
//!   probes, unlinkable to anything without the secret.
//! * Web Push `Topic`s are `HMAC-SHA256(K_topic, account id, kind)`,
//!   shortened: stable per account and kind, so a push service collapses
//!   them, and naming no account (docs/push.md).
//!
//! Every key is HKDF-SHA256 of the secret with its own label. The database
//! keeps `HKDF(secret, "check")` (one-way) to notice, at start, a relay
//! started with another secret than the one its data was sealed under.
//!
//! The secret comes from `secret_key_file` in the configuration, or else
//! from `DATA/relay-secret.key`, created (mode 0600) on first start.

use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use zeroize::Zeroizing;

use crate::error::{ApiError, StartError};
use crate::store::relay_secret as store;

/// The key file the relay creates in its data directory when the
/// configuration names none.
pub const SECRET_KEY_FILE: &str = "relay-secret.key";

/// The secret's length in bytes.
pub const SECRET_LEN: usize = 32;

/// The first byte of a sealed TOTP seed (the format's version).
const SEALED_SEED_V1: u8 = 1;
const NONCE_LEN: usize = 24;

/// The keys derived from the relay's secret.
#[derive(Clone)]
pub struct RelaySecret {
    seed_key: Zeroizing<[u8; 32]>,
    code_key: Zeroizing<[u8; 32]>,
    decoy_key: Zeroizing<[u8; 32]>,
    topic_key: Zeroizing<[u8; 32]>,
    check: [u8; 32],
}

impl std::fmt::Debug for RelaySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelaySecret(..)")
    }
}

/// Why the relay's secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key file could not be read or created.
    #[error(
        "could not read or create the relay secret key file {path}: {source}. Check its permissions, or set secret_key_file to a readable file"
    )]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key file does not hold a key.
    #[error(
        "the relay secret key file {path} must hold exactly 32 bytes, or 64 hexadecimal characters (make one with `head -c 32 /dev/urandom > FILE` or `openssl rand -hex 32 > FILE`)"
    )]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// The database was sealed under another secret.
    #[error(
        "the relay secret in {path} is not the one this database's TOTP seeds and codes were protected with. Restore the original key file (or secret_key_file setting); starting with another key would lock every authenticator app out"
    )]
    Mismatch {
        /// The key file in use.
        path: PathBuf,
    },
    /// No randomness for a new key.
    #[error("the operating system gave no randomness for a new relay secret")]
    Random,
    /// The database failed while checking or upgrading.
    #[error("the database failed while protecting stored secrets: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<SecretError> for StartError {
    fn from(error: SecretError) -> Self {
        StartError::Secret(error)
    }
}

fn derive(secret: &[u8], label: &str) -> Zeroizing<[u8; 32]> {
    let mut okm = Zeroizing::new([0u8; 32]);
    // Expanding 32 bytes from HKDF-SHA256 cannot fail (the limit is 8160).
    let _ = Hkdf::<Sha256>::new(Some(b"ward relay secret v1"), secret)
        .expand(label.as_bytes(), okm.as_mut_slice());
    okm
}

fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length: `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl RelaySecret {
    /// The keys for `secret` (32 bytes).
    pub fn from_bytes(secret: &[u8; SECRET_LEN]) -> Self {
        let check = *derive(secret, "check");
        Self {
            seed_key: derive(secret, "totp seed seal"),
            code_key: derive(secret, "short code hash"),
            decoy_key: derive(secret, "passkey decoy"),
            topic_key: derive(secret, "push topic"),
            check,
        }
    }

    /// The secret from `configured` (the `secret_key_file` setting), or
    /// from `DATA/relay-secret.key`, created with a fresh random key (mode
    /// 0600) if missing. Also returns the file it came from.
    pub fn load_or_create(
        configured: Option<&Path>,
        data: &Path,
    ) -> Result<(Self, PathBuf), SecretError> {
        let path = configured.map_or_else(|| data.join(SECRET_KEY_FILE), Path::to_path_buf);
        let file_error = |source| SecretError::File {
            path: path.clone(),
            source,
        };
        let (bytes, created) = crate::files::read_or_create_key(
            &path,
            configured.is_none(),
            || {
                let mut fresh = Zeroizing::new(vec![0u8; SECRET_LEN]);
                getrandom::fill(fresh.as_mut_slice()).map_err(|_| SecretError::Random)?;
                Ok(fresh)
            },
            file_error,
        )?;
        if created {
            tracing::info!(file = %path.display(), "created the relay's secret key file; back it up with the database");
        }
        let secret =
            parse_key(&bytes).ok_or_else(|| SecretError::Malformed { path: path.clone() })?;
        warn_if_readable_by_others(&path);
        Ok((Self::from_bytes(&secret), path))
    }

    /// Checks that the database's protected secrets belong to this secret;
    /// on the first start with one, records it and protects what an older
    /// relay stored in the clear (TOTP seeds) or with an unkeyed hash
    /// (codes), all in one transaction.
    pub async fn bind_database(&self, db: &AnyPool, path: &Path) -> Result<(), SecretError> {
        // Locked: relays sharing a PostgreSQL database may start together.
        let mut tx = crate::db::begin_write(db, "ward:relay_secret").await?;
        let check = store::key_check(&mut tx).await?;
        match check {
            Some(check) if check.as_slice() == self.check.as_slice() => return Ok(()),
            Some(_) => {
                return Err(SecretError::Mismatch {
                    path: path.to_path_buf(),
                });
            }
            None => {}
        }
        // Invites are referenced by their enrollments' `invite_hash`: both
        // change together, checked at commit.
        // (Only SQLite relays predate the secret: PostgreSQL has nothing to
        // upgrade, and no such pragma.)
        if crate::db::Backend::of(db) == crate::db::Backend::Sqlite {
            store::defer_foreign_keys(&mut tx).await?;
        }
        let seeds = store::totp_seeds(&mut tx).await?;
        for seed in &seeds {
            let sealed = self
                .seal_seed(&seed.account_id, &seed.secret)
                .map_err(|_| SecretError::Random)?;
            store::set_totp_seed(&mut tx, &seed.account_id, &sealed).await?;
        }
        // An older relay stored SHA-256(code): the keyed hash is computed
        // over that digest, so every stored code can be upgraded in place.
        let invites = store::invite_hashes(&mut tx).await?;
        for old in &invites {
            let new = self.keyed(old).to_vec();
            store::rehash_invite(&mut tx, old, &new).await?;
        }
        for table in store::CodeTable::ALL {
            for (id, old) in store::code_hashes(&mut tx, table).await? {
                store::set_code_hash(&mut tx, table, &id, &self.keyed(&old)).await?;
            }
        }
        store::record(&mut tx, self.check.as_slice(), crate::secrets::now_ms()).await?;
        tx.commit().await?;
        if !seeds.is_empty() || !invites.is_empty() {
            tracing::info!(
                totp_seeds = seeds.len(),
                invites = invites.len(),
                "sealed the TOTP seeds and keyed the code hashes an older relay stored"
            );
        }
        Ok(())
    }

    /// What the database stores for a short code (a one-time code or an
    /// invite code): `HMAC-SHA256(K_code, SHA-256(code))`.
    pub fn code_hash(&self, code: &str) -> Vec<u8> {
        self.keyed(&Sha256::digest(code.as_bytes())).to_vec()
    }

    fn keyed(&self, digest: &[u8]) -> [u8; 32] {
        hmac(&self.code_key, &[digest])
    }

    /// `count` decoy credential ids of `len` bytes for `account_id`: the
    /// same every time for the same account and secret.
    pub fn decoy_credential_ids(&self, account_id: &str, count: u8, len: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|index| {
                let mut id = Vec::with_capacity(len);
                let mut block: u8 = 0;
                while id.len() < len {
                    let out = hmac(
                        &self.decoy_key,
                        &[account_id.as_bytes(), &[0, index, block]],
                    );
                    id.extend_from_slice(&out);
                    block = block.wrapping_add(1);
                }
                id.truncate(len);
                id
            })
            .collect()
    }

    /// The Web Push `Topic` for the pushes of `kind` to the subscription at
    /// `endpoint`: the first 24 bytes of `HMAC-SHA256(K_topic, endpoint, 0,
    /// kind)`, unpadded base64url (32 characters, RFC 8030's limit). Per
    /// subscription, not per account: the push service cannot link one
    /// patient's phone and laptop by it.
    pub fn push_topic(&self, endpoint: &str, kind: &str) -> String {
        use base64::Engine;
        let mac = hmac(
            &self.topic_key,
            &[endpoint.as_bytes(), &[0], kind.as_bytes()],
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..24])
    }

    /// Seals `account_id`'s TOTP seed: version byte, 24-byte random nonce,
    /// XChaCha20-Poly1305 ciphertext and tag, the account id as associated data.
    pub fn seal_seed(&self, account_id: &str, seed: &[u8]) -> Result<Vec<u8>, ApiError> {
        let nonce = crate::secrets::random::<NONCE_LEN>()?;
        let cipher = XChaCha20Poly1305::new((&*self.seed_key).into());
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: seed,
                    aad: account_id.as_bytes(),
                },
            )
            .map_err(|_| ApiError::internal("seal totp seed", &"aead"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_SEED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a seed sealed by [`RelaySecret::seal_seed`] for `account_id`.
    pub fn open_seed(
        &self,
        account_id: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ApiError> {
        let failed = || ApiError::internal("open totp seed", &"sealed seed does not open");
        let (version, rest) = sealed.split_first().ok_or_else(failed)?;
        if *version != SEALED_SEED_V1 || rest.len() < NONCE_LEN {
            return Err(failed());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| failed())?;
        let cipher = XChaCha20Poly1305::new((&*self.seed_key).into());
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: account_id.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| failed())
    }
}

/// 32 raw bytes, or 64 hex characters (surrounding whitespace ignored).
/// 32 raw bytes, or 64 hex characters (surrounding whitespace ignored).
pub(crate) fn parse_key(bytes: &[u8]) -> Option<Zeroizing<[u8; SECRET_LEN]>> {
    let mut key = Zeroizing::new([0u8; SECRET_LEN]);
    if bytes.len() == SECRET_LEN {
        key.copy_from_slice(bytes);
        return Some(key);
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.len() != SECRET_LEN * 2 || !text.is_ascii() {
        return None;
    }
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        key[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(key)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                file = %path.display(),
                "the relay secret key file can be read by other users; chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_seal_per_account_and_open_only_under_the_same_secret() {
        let secret = RelaySecret::from_bytes(&[7; 32]);
        let seed = b"twenty bytes of seed";
        let a = secret.seal_seed("acc_a", seed).unwrap();
        let b = secret.seal_seed("acc_a", seed).unwrap();
        assert_ne!(a, b, "a fresh nonce every seal");
        assert!(!a.windows(seed.len()).any(|w| w == seed));
        assert_eq!(secret.open_seed("acc_a", &a).unwrap().as_slice(), seed);
        assert!(
            secret.open_seed("acc_b", &a).is_err(),
            "bound to its account"
        );
        let other = RelaySecret::from_bytes(&[8; 32]);
        assert!(other.open_seed("acc_a", &a).is_err());
    }

    #[test]
    fn code_hashes_are_keyed_and_decoys_stable() {
        let secret = RelaySecret::from_bytes(&[7; 32]);
        let other = RelaySecret::from_bytes(&[8; 32]);
        let code = "123456";
        assert_ne!(secret.code_hash(code), Sha256::digest(code).to_vec());
        assert_ne!(secret.code_hash(code), other.code_hash(code));
        assert_eq!(secret.code_hash(code), secret.code_hash(code));
        let ids = secret.decoy_credential_ids("acc_x", 2, 40);
        assert_eq!(ids.len(), 2);
        assert!(ids.iter().all(|id| id.len() == 40));
        assert_ne!(ids[0], ids[1]);
        assert_eq!(ids, secret.decoy_credential_ids("acc_x", 2, 40));
        assert_ne!(ids, secret.decoy_credential_ids("acc_y", 2, 40));
    }

    #[test]
    fn push_topics_are_short_stable_and_name_no_account() {
        let secret = RelaySecret::from_bytes(&[7; 32]);
        let topic = secret.push_topic("acc_someone", "message");
        assert_eq!(topic.len(), 32);
        assert!(
            topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(!topic.contains("acc"));
        assert_eq!(topic, secret.push_topic("acc_someone", "message"));
        assert_ne!(topic, secret.push_topic("acc_someone", "receipt"));
        assert_ne!(topic, secret.push_topic("acc_other", "message"));
        assert_ne!(
            topic,
            RelaySecret::from_bytes(&[8; 32]).push_topic("acc_someone", "message")
        );
    }

    #[test]
    fn key_files_hold_raw_bytes_or_hex() {
        assert_eq!(*parse_key(&[1; 32]).unwrap(), [1; 32]);
        let hex = format!("{}\n", "ab".repeat(32));
        assert_eq!(*parse_key(hex.as_bytes()).unwrap(), [0xab; 32]);
        assert!(parse_key(b"too short").is_none());
        assert!(parse_key("zz".repeat(32).as_bytes()).is_none());
    }
}
