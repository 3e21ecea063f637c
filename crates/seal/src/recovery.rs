//! The recovery code: shown once at enrollment, typed back on a new device
//! when no passkey with PRF is at hand.
//!
//! 128 random bits plus a 32-bit checksum (the first 4 bytes of
//! `SHA-256("ward recovery code v1" || entropy)`), 160 bits in all, written
//! as 32 Crockford base32 characters in 8 groups of 4:
//! `7K3M-X2QD-...`. Decoding is forgiving the way Crockford intends (case,
//! `I`/`L` read as `1`, `O` as `0`, any dashes and spaces), and the checksum
//! catches a typo before the slow Argon2id runs.

use std::fmt;

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::random;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CHECKSUM_LABEL: &[u8] = b"ward recovery code v1";
const CHARS: usize = 32;

/// Why a typed recovery code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryCodeError {
    /// Too few or too many characters.
    #[error(
        "a recovery code has 32 letters and digits; this one has {0}. Check for a missing or extra group"
    )]
    WrongLength(usize),
    /// A character that is never part of a code.
    #[error("'{0}' is never part of a recovery code. Check that character")]
    InvalidCharacter(char),
    /// Well formed, but the checksum does not match: a typo.
    #[error("this recovery code has a typo. Compare it with your saved copy, group by group")]
    Typo,
}

/// A recovery code's 128 secret bits. `Debug` prints nothing of them; use
/// [`RecoveryCode::reveal`] to show the code to its owner, once.
#[derive(Clone)]
pub struct RecoveryCode(Zeroizing<[u8; 16]>);

impl RecoveryCode {
    /// A fresh code.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        Self(random::secret(rng))
    }

    /// Parses what a person typed.
    pub fn parse(typed: &str) -> Result<Self, RecoveryCodeError> {
        // Never grows past its capacity, so no unwiped copy is freed.
        let mut values = Zeroizing::new(Vec::with_capacity(CHARS));
        let mut count = 0usize;
        for c in typed.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let value = decode_char(c).ok_or(RecoveryCodeError::InvalidCharacter(c))?;
            count += 1;
            if values.len() < CHARS {
                values.push(value);
            }
        }
        if count != CHARS {
            return Err(RecoveryCodeError::WrongLength(count));
        }
        let mut bytes = Zeroizing::new([0u8; 20]);
        for (i, &value) in values.iter().enumerate() {
            for bit in 0..5 {
                if value & (0x10 >> bit) != 0 {
                    let position = i * 5 + bit;
                    bytes[position / 8] |= 0x80 >> (position % 8);
                }
            }
        }
        let mut entropy = Zeroizing::new([0u8; 16]);
        entropy.copy_from_slice(&bytes[..16]);
        if bytes[16..] != checksum(&entropy) {
            return Err(RecoveryCodeError::Typo);
        }
        Ok(Self(entropy))
    }

    /// The code as shown to its owner: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
    pub fn reveal(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 20]);
        bytes[..16].copy_from_slice(&*self.0);
        bytes[16..].copy_from_slice(&checksum(&self.0));
        let mut out = Zeroizing::new(String::with_capacity(CHARS + 7));
        for i in 0..CHARS {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            let mut value = 0usize;
            for bit in 0..5 {
                let position = i * 5 + bit;
                value = (value << 1) | usize::from(bytes[position / 8] >> (7 - position % 8) & 1);
            }
            out.push(char::from(ALPHABET[value]));
        }
        out
    }

    pub(crate) fn entropy(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

fn checksum(entropy: &[u8; 16]) -> [u8; 4] {
    let mut hash: [u8; 32] = Sha256::new()
        .chain_update(CHECKSUM_LABEL)
        .chain_update(entropy)
        .finalize()
        .into();
    let mut out = [0u8; 4];
    out.copy_from_slice(&hash[..4]);
    hash.zeroize();
    out
}

fn decode_char(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .and_then(|p| u8::try_from(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::os_rng;

    #[test]
    fn reveal_then_parse_round_trips() {
        for _ in 0..50 {
            let code = RecoveryCode::generate(&mut os_rng());
            let shown = code.reveal();
            assert_eq!(shown.len(), 39);
            assert_eq!(shown.matches('-').count(), 7);
            assert_eq!(
                RecoveryCode::parse(&shown).unwrap().entropy(),
                code.entropy()
            );
        }
    }

    #[test]
    fn forgiving_about_case_spacing_and_lookalikes() {
        let code = RecoveryCode::generate(&mut os_rng());
        let shown = code.reveal();
        let sloppy = shown
            .to_lowercase()
            .replace('-', " ")
            .replace('1', "l")
            .replace('0', "o");
        assert_eq!(
            RecoveryCode::parse(&sloppy).unwrap().entropy(),
            code.entropy()
        );
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let code = RecoveryCode::generate(&mut os_rng());
        let shown: Vec<char> = code.reveal().chars().collect();
        for i in (0..shown.len()).filter(|&i| shown[i] != '-') {
            for &replacement in ALPHABET {
                let replacement = char::from(replacement);
                if replacement == shown[i] {
                    continue;
                }
                let mut typo = shown.clone();
                typo[i] = replacement;
                let typed: String = typo.into_iter().collect();
                assert_eq!(
                    RecoveryCode::parse(&typed).unwrap_err(),
                    RecoveryCodeError::Typo,
                    "{typed}"
                );
            }
        }
    }

    #[test]
    fn length_and_alphabet_errors_say_what_to_check() {
        assert_eq!(
            RecoveryCode::parse("ABCD-EFGH").unwrap_err(),
            RecoveryCodeError::WrongLength(8)
        );
        assert_eq!(
            RecoveryCode::parse("ABCD-EFGU").unwrap_err(),
            RecoveryCodeError::InvalidCharacter('U')
        );
    }

    #[test]
    fn debug_hides_the_code() {
        assert_eq!(
            format!("{:?}", RecoveryCode::generate(&mut os_rng())),
            "RecoveryCode(..)"
        );
    }
}
