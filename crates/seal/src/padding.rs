//! Length hiding for message payloads.
//!
//! A ciphertext's length is visible to the relay. Exact lengths leak a lot in
//! a clinical thread ("yes" vs. "no", a drug name, a short diagnosis), so every
//! payload is padded before encryption:
//!
//! * up to [`MIN_PADDED_LEN`] bytes, everything pads to that one bucket: the
//!   short replies that leak most are indistinguishable;
//! * above it, Padmé (Nikitin et al., "Reducing Metadata Leakage from
//!   Encrypted Files and Communication with PURBs", PETS 2019): at most about
//!   12% overhead while leaking only O(log log n) bits of the length, against
//!   up to 100% overhead for power-of-two buckets.

/// Every payload is padded to at least this many bytes.
pub const MIN_PADDED_LEN: usize = 256;

/// The length a payload of `len` bytes is padded to.
///
/// Monotonic, never less than `len`, and never less than [`MIN_PADDED_LEN`].
#[must_use]
pub fn padded_len(len: usize) -> usize {
    if len <= MIN_PADDED_LEN {
        return MIN_PADDED_LEN;
    }
    padme(len)
}

/// Padmé: keep the top `floor(log2(e)) + 1` bits of `len`, where
/// `e = floor(log2(len))`, and round up to a multiple of the rest.
fn padme(len: usize) -> usize {
    // `len > MIN_PADDED_LEN`, so `len >= 2` and both logarithms are defined.
    let e = usize::BITS - 1 - len.leading_zeros();
    let s = u32::BITS - e.leading_zeros();
    let last_bits = e - s;
    let mask = (1usize << last_bits) - 1;
    // Saturate rather than overflow for lengths near usize::MAX; such a
    // payload cannot exist in memory anyway.
    len.saturating_add(mask) & !mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_payloads_share_one_bucket() {
        for len in [0, 1, 3, 100, 255, 256] {
            assert_eq!(padded_len(len), MIN_PADDED_LEN, "len {len}");
        }
    }

    #[test]
    fn padme_matches_the_paper() {
        // Values from the PURBs paper's definition, worked by hand:
        // 257: e=8, s=4, last_bits=4 -> round up to 16 -> 272.
        assert_eq!(padded_len(257), 272);
        // 1000: e=9, s=4, last_bits=5 -> round up to 32 -> 1024.
        assert_eq!(padded_len(1000), 1024);
        // 1024 is already a multiple of 32.
        assert_eq!(padded_len(1024), 1024);
        // 100_000: e=16, s=5, last_bits=11 -> round up to 2048 -> 100_352.
        assert_eq!(padded_len(100_000), 100_352);
    }

    #[test]
    fn padding_is_monotonic_and_bounded() {
        let mut previous = 0;
        for len in 0..70_000 {
            let padded = padded_len(len);
            assert!(padded >= len);
            assert!(padded >= previous, "not monotonic at {len}");
            if len > MIN_PADDED_LEN {
                // Padmé's bound: overhead at most 1/2^(s-1) of the length,
                // which is under 12% once lengths exceed 256 bytes.
                assert!(padded - len <= len / 8, "overhead too large at {len}");
            }
            previous = padded;
        }
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        assert!(padded_len(usize::MAX) > 0);
    }
}
