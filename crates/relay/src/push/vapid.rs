//! The relay's VAPID key (RFC 8292): a P-256 key pair whose public half
//! browsers subscribe with (`applicationServerKey`) and whose private half
//! signs the token every push carries, so a push service accepts pushes
//! to those subscriptions from this relay only.
//!
//! It comes from `vapid_key_file`, or else from `DATA/vapid.key`, created
//! (mode 0600) on first start. Relays sharing a database must share it.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use web_push_native::jwt_simple::prelude::{
    Claims, Duration as JwtDuration, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
};
use zeroize::Zeroizing;

use super::PushError;

/// The key file the relay creates in its data directory when the
/// configuration names none.
pub const VAPID_KEY_FILE: &str = "vapid.key";

/// How long a VAPID token is valid: RFC 8292 allows at most 24 hours.
pub const TOKEN_VALID_HOURS: u64 = 12;

/// The relay's VAPID key pair. Its `Debug` shows nothing of it.
pub struct VapidKey {
    pair: ES256KeyPair,
    /// The uncompressed public point, unpadded base64url.
    public: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VapidKey(..)")
    }
}

impl VapidKey {
    /// The key for a private scalar (32 bytes), if it is one.
    pub fn from_bytes(private: &[u8]) -> Option<Self> {
        let pair = ES256KeyPair::from_bytes(private).ok()?;
        let point = pair.public_key().public_key().to_bytes_uncompressed();
        Some(Self {
            public: URL_SAFE_NO_PAD.encode(point),
            pair,
        })
    }

    /// The key from `configured` (the `vapid_key_file` setting), or from
    /// `DATA/vapid.key`, created with a fresh key (mode 0600) if missing.
    pub fn load_or_create(configured: Option<&Path>, data: &Path) -> Result<Self, PushError> {
        let path = configured.map_or_else(|| data.join(VAPID_KEY_FILE), Path::to_path_buf);
        let file_error = |source| PushError::KeyFile {
            path: path.clone(),
            source,
        };
        let (bytes, created) = crate::files::read_or_create_key(
            &path,
            configured.is_none(),
            || {
                let fresh = Zeroizing::new(ES256KeyPair::generate().to_bytes());
                Ok(Zeroizing::new(
                    format!("{}\n", URL_SAFE_NO_PAD.encode(&*fresh)).into_bytes(),
                ))
            },
            file_error,
        )?;
        if created {
            tracing::info!(file = %path.display(), "created the relay's VAPID key for Web Push; back it up with the database");
        }
        parse_key(&bytes)
            .and_then(|private| Self::from_bytes(&private))
            .ok_or(PushError::KeyMalformed { path })
    }

    /// The public key as `GET /v1/push/key` serves it: the uncompressed
    /// P-256 point (65 bytes), unpadded base64url.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to a service at `audience`
    /// (the endpoint's origin): `vapid t=<ES256 JWT>, k=<public key>`, the
    /// token valid for [`TOKEN_VALID_HOURS`] with `sub` = `contact`.
    pub fn authorization(&self, audience: &str, contact: &str) -> Result<String, PushError> {
        let claims = Claims::create(JwtDuration::from_hours(TOKEN_VALID_HOURS))
            .with_audience(audience)
            .with_subject(contact);
        let token = self
            .pair
            .sign(claims)
            .map_err(|e| PushError::Sign(e.to_string()))?;
        Ok(format!("vapid t={token}, k={}", self.public))
    }
}

/// 32 raw bytes or 64 hex characters (as the relay secret's file), or 43
/// base64url characters (surrounding whitespace ignored).
fn parse_key(bytes: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if let Some(key) = crate::relay_secret::parse_key(bytes) {
        return Some(Zeroizing::new(key.to_vec()));
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let key = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    (key.len() == 32).then(|| Zeroizing::new(key))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn debug_shows_nothing_of_the_key() {
        let private = [7u8; 32];
        let key = VapidKey::from_bytes(&private).unwrap();
        let debug = format!("{key:?}");
        assert_eq!(debug, "VapidKey(..)");
        assert!(!debug.contains(&URL_SAFE_NO_PAD.encode(private)));
        assert!(!debug.contains(&format!("{private:?}")));
    }

    #[test]
    fn keys_are_created_once_and_read_in_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let first = VapidKey::load_or_create(None, dir.path()).unwrap();
        let again = VapidKey::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        assert_eq!(
            URL_SAFE_NO_PAD.decode(first.public_key()).unwrap().len(),
            65
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(VAPID_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let private = [9u8; 32];
        let hex: String = private.iter().map(|b| format!("{b:02x}")).collect();
        let expected = VapidKey::from_bytes(&private).unwrap();
        for form in [
            private.to_vec(),
            hex.into_bytes(),
            format!("{}\n", URL_SAFE_NO_PAD.encode(private)).into_bytes(),
        ] {
            let file = dir.path().join("configured.key");
            std::fs::write(&file, &form).unwrap();
            let key = VapidKey::load_or_create(Some(&file), dir.path()).unwrap();
            assert_eq!(key.public_key(), expected.public_key());
        }
        std::fs::write(dir.path().join("bad.key"), b"not a key").unwrap();
        assert!(matches!(
            VapidKey::load_or_create(Some(&dir.path().join("bad.key")), dir.path()),
            Err(PushError::KeyMalformed { .. })
        ));
        assert!(matches!(
            VapidKey::load_or_create(Some(&dir.path().join("missing.key")), dir.path()),
            Err(PushError::KeyFile { .. })
        ));
    }
}
