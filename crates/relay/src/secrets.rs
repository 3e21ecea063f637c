//! Random identifiers and tokens, and how the relay stores tokens (hashed;
//! short codes are hashed with a key, in [`crate::relay_secret`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// `N` random bytes from the OS.
pub fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| ApiError::internal("random", &e))?;
    Ok(out)
}

/// A bearer token: 256 random bits, base64url.
pub fn token() -> Result<String, ApiError> {
    Ok(URL_SAFE_NO_PAD.encode(random::<32>()?))
}

/// An identifier with a readable prefix, e.g. `acc_3k9...` (128 random bits).
pub fn id(prefix: &str) -> Result<String, ApiError> {
    Ok(format!(
        "{prefix}_{}",
        URL_SAFE_NO_PAD.encode(random::<16>()?)
    ))
}

/// Six decimal digits for a one-time code, without modulo bias.
pub fn six_digits() -> Result<String, ApiError> {
    loop {
        let n = u32::from_be_bytes(random::<4>()?);
        // 4_294_000_000 is the largest multiple of 1_000_000 below 2^32.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// An invite code: 10 Crockford base32 characters (50 bits) in two groups,
/// easy to read out over the phone; single-use, expiring and rate-limited.
pub fn invite_code() -> Result<String, ApiError> {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes = random::<10>()?;
    let chars: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// What the database stores for a 256-bit random token (a session token,
/// the clinic setup code): its SHA-256. A database leak does not hand out
/// sessions, and 256 bits cannot be guessed back from the hash.
///
/// Never for short codes (six digits, invite codes): trying every one would
/// reverse it in moments. Those use [`crate::relay_secret::RelaySecret::code_hash`],
/// keyed with the relay's secret.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Normalizes a typed invite code: upper case, no spaces, lookalikes mapped.
pub fn normalize_invite(typed: &str) -> String {
    let mut chars: Vec<char> = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            other => other,
        })
        .collect();
    if chars.len() == 10 {
        chars.insert(5, '-');
    }
    chars.into_iter().collect()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_shapes() {
        let code = six_digits().unwrap();
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        let invite = invite_code().unwrap();
        assert_eq!(invite.len(), 11);
        assert_eq!(
            normalize_invite(&invite.to_lowercase().replace('-', " ")),
            invite
        );
        assert!(token().unwrap().len() >= 43);
        assert!(id("acc").unwrap().starts_with("acc_"));
    }
}
