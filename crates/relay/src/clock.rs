//! The relay's time for rules that turn on a date (a caregiver's grant
//! ending): the system clock plus an offset that only tests move, so an
//! expiry months away is tested without waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Wall-clock milliseconds since the Unix epoch, shifted by an offset that
/// starts at zero. Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        crate::secrets::now_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) `ms` forward: for tests of
    /// what happens when a date passes.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_one_clone_moves_them_all() {
        let clock = Clock::default();
        let other = clock.clone();
        let before = other.now_ms();
        clock.advance(86_400_000);
        let after = other.now_ms();
        assert!(after - before >= 86_400_000, "{before} → {after}");
        assert!(after - before < 86_400_000 + 60_000, "{before} → {after}");
    }
}
