//! Randomness. Every function that needs randomness takes an
//! `&mut impl CryptoRng`, so production code passes [`os_rng`] and the test
//! vectors pass a seeded generator.

use rand_core::{CryptoRng, UnwrapErr};

/// The operating system's (or browser's `crypto.getRandomValues`) generator.
pub type OsRng = UnwrapErr<getrandom::SysRng>;

/// The system CSPRNG. A failing system RNG aborts the operation (it cannot
/// be recovered from, and continuing without randomness would be worse).
#[must_use]
pub fn os_rng() -> OsRng {
    UnwrapErr(getrandom::SysRng)
}

/// `N` random bytes of key material, generated in place so no unwiped copy
/// is left behind.
pub(crate) fn secret<const N: usize>(rng: &mut impl CryptoRng) -> zeroize::Zeroizing<[u8; N]> {
    let mut out = zeroize::Zeroizing::new([0u8; N]);
    rng.fill_bytes(out.as_mut_slice());
    out
}

/// `N` random bytes that are not secret (salts, nonces).
pub(crate) fn bytes<const N: usize>(rng: &mut impl CryptoRng) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill_bytes(&mut out);
    out
}
