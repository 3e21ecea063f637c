//! An account's access log: the relay's append-only record of what happened
//! to the account (sign-ins, failed sign-ins, keys, passkeys, consent,
//! caregivers and what they read, sent or downloaded), each entry
//! hash-chained to the one before.
//!
//! The relay writes it; the patient's app and the clinic's `audit` command
//! recompute every link they are shown ([`verify`]) and the app pins the
//! newest entry it verified, so a relay that rewrites or drops entries is
//! caught by whoever looks.
//!
//! `entry_hash = SHA-256("ward account event v1" || prev [32] || seq u64 ||
//! text(kind) || at_ms i64 || text?(session_id) || text?(detail))`, integers
//! big-endian; `text(s)` is `len(s) u32 || s` (UTF-8) and an absent optional
//! text is the four bytes `FF FF FF FF`. The first entry (seq 0) has `prev`
//! = 32 zero bytes.

use sha2::{Digest, Sha256};

/// The domain label hashed first into every entry (21 ASCII bytes).
pub const LABEL: &[u8; 21] = b"ward account event v1";

/// The `prev` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// One entry, as the relay serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its position in the account's log, from 0.
    pub seq: u64,
    /// What happened, by its stable snake_case name (`signed_in`, ...).
    pub kind: String,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
    /// The session that did it, if any.
    pub session_id: Option<String>,
    /// More about it, if anything.
    pub detail: Option<String>,
    /// [`entry_hash`] of this entry.
    pub hash: [u8; 32],
}

/// The newest entry a reader verified: what it pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHead {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub hash: [u8; 32],
}

/// Why a log was refused. Each means the relay served a log no honest relay
/// produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Two neighbouring entries' seqs do not follow each other.
    #[error("the access log has a gap at entry {0}")]
    Gap(u64),
    /// The entry's hash is not the hash of its contents and the entry
    /// before it.
    #[error("the access log's hash chain is broken at entry {0}")]
    BrokenChain(u64),
    /// The log does not contain the head pinned earlier (it was rewritten,
    /// or entries were removed from its end).
    #[error("the access log no longer holds entry {0} as it was seen before")]
    Rewritten(u64),
}

/// `len u32 || bytes`, or `FF FF FF FF` for none.
fn put_text(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        Some(text) => {
            // A text of 4 GiB cannot be in an entry; saturate rather than wrap.
            let len = u32::try_from(text.len()).unwrap_or(u32::MAX - 1);
            hasher.update(len.to_be_bytes());
            hasher.update(text.as_bytes());
        }
        None => hasher.update(u32::MAX.to_be_bytes()),
    }
}

/// The hash of entry `seq`, chained to `prev` (the hash of entry `seq - 1`,
/// or [`GENESIS`] for seq 0).
pub fn entry_hash(
    prev: &[u8; 32],
    seq: u64,
    kind: &str,
    at_ms: i64,
    session_id: Option<&str>,
    detail: Option<&str>,
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(LABEL);
    hasher.update(prev);
    hasher.update(seq.to_be_bytes());
    put_text(&mut hasher, Some(kind));
    hasher.update(at_ms.to_be_bytes());
    put_text(&mut hasher, session_id);
    put_text(&mut hasher, detail);
    hasher.finalize().into()
}

/// What [`verify`] established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The newest entry: pin it.
    pub head: LogHead,
    /// Whether the oldest entry shown is the log's first (seq 0), so the
    /// whole log was checked from its start; otherwise the oldest entry's
    /// own link could not be checked (its predecessor was not shown).
    pub from_start: bool,
    /// Whether the pinned head was compared: `false` when it is older than
    /// the oldest entry shown (the window has moved past it), so the log
    /// before the window could have been rewritten unseen.
    pub pin_compared: bool,
}

/// Checks a window of an account's log, entries newest first (as the relay
/// serves them): seqs contiguous, every hash recomputed from its entry and
/// the one before, and, when the log starts at seq 0, the first link from
/// [`GENESIS`]. `pinned`, the head this reader verified before, must still
/// be in the log as it was, when it falls inside the window (when it is
/// older than the window, [`Verified::pin_compared`] says it could not be
/// compared); a log that ends before it was cut. `None` for an empty log.
pub fn verify(
    newest_first: &[LogEntry],
    pinned: Option<LogHead>,
) -> Result<Option<Verified>, LogError> {
    let Some(newest) = newest_first.first() else {
        return match pinned {
            Some(head) => Err(LogError::Rewritten(head.seq)),
            None => Ok(None),
        };
    };
    for pair in newest_first.windows(2) {
        let (later, earlier) = (&pair[0], &pair[1]);
        if earlier.seq.checked_add(1) != Some(later.seq) {
            return Err(LogError::Gap(later.seq));
        }
        if rehash(&earlier.hash, later) != later.hash {
            return Err(LogError::BrokenChain(later.seq));
        }
    }
    let oldest = &newest_first[newest_first.len() - 1];
    let from_start = oldest.seq == 0;
    if from_start && rehash(&GENESIS, oldest) != oldest.hash {
        return Err(LogError::BrokenChain(0));
    }
    let mut pin_compared = true;
    if let Some(head) = pinned {
        if head.seq > newest.seq {
            return Err(LogError::Rewritten(head.seq));
        }
        match newest_first.iter().find(|e| e.seq == head.seq) {
            Some(seen) if seen.hash != head.hash => return Err(LogError::Rewritten(head.seq)),
            Some(_) => {}
            None => pin_compared = false,
        }
    }
    Ok(Some(Verified {
        head: LogHead {
            seq: newest.seq,
            hash: newest.hash,
        },
        from_start,
        pin_compared,
    }))
}

fn rehash(prev: &[u8; 32], entry: &LogEntry) -> [u8; 32] {
    entry_hash(
        prev,
        entry.seq,
        &entry.kind,
        entry.at_ms,
        entry.session_id.as_deref(),
        entry.detail.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of `n` entries, newest first, built as the relay builds it.
    fn log(n: u64) -> Vec<LogEntry> {
        let mut prev = GENESIS;
        let mut entries = Vec::new();
        for seq in 0..n {
            let kind = if seq % 2 == 0 {
                "signed_in"
            } else {
                "signed_out"
            };
            let session = format!("ses_{seq}");
            let at_ms = 1_700_000_000_000 + i64::try_from(seq).unwrap_or(0);
            let hash = entry_hash(&prev, seq, kind, at_ms, Some(&session), None);
            entries.push(LogEntry {
                seq,
                kind: kind.into(),
                at_ms,
                session_id: Some(session),
                detail: None,
                hash,
            });
            prev = hash;
        }
        entries.reverse();
        entries
    }

    /// The first entry's hash, fixed: an implementation from crypto.md
    /// alone must produce these bytes.
    #[test]
    fn the_first_entry_hashes_as_documented() {
        let hash = entry_hash(
            &GENESIS,
            0,
            "signed_in",
            1_700_000_000_000,
            Some("ses_1"),
            None,
        );
        let mut expected = Sha256::new();
        expected.update(b"ward account event v1");
        expected.update([0u8; 32]);
        expected.update(0u64.to_be_bytes());
        expected.update(9u32.to_be_bytes());
        expected.update(b"signed_in");
        expected.update(1_700_000_000_000i64.to_be_bytes());
        expected.update(5u32.to_be_bytes());
        expected.update(b"ses_1");
        expected.update([0xFF; 4]);
        assert_eq!(hash, <[u8; 32]>::from(expected.finalize()));
    }

    #[test]
    fn an_honest_log_verifies_from_its_start_and_a_window_of_it_too() {
        let whole = log(6);
        let verified = verify(&whole, None).unwrap().unwrap();
        assert!(verified.from_start);
        assert_eq!(verified.head.seq, 5);
        let window = verify(&whole[..3], Some(verified.head)).unwrap().unwrap();
        assert!(!window.from_start);
        assert!(window.pin_compared);
        // A pin older than the window cannot be compared, and says so.
        let first = verify(&whole[5..], None).unwrap().unwrap().head;
        let moved_on = verify(&whole[..3], Some(first)).unwrap().unwrap();
        assert!(!moved_on.pin_compared);
        assert_eq!(verify(&[], None), Ok(None));
    }

    #[test]
    fn a_changed_dropped_or_reordered_entry_is_caught() {
        let mut changed = log(4);
        // Newest first: index 2 is seq 1.
        changed[2].detail = Some("nothing happened".into());
        assert_eq!(verify(&changed, None), Err(LogError::BrokenChain(1)));

        let mut dropped = log(4);
        dropped.remove(1);
        assert_eq!(verify(&dropped, None), Err(LogError::Gap(3)));

        let mut swapped = log(4);
        swapped.swap(0, 1);
        assert!(verify(&swapped, None).is_err());

        // A forged first entry (its prev not the genesis) is caught too.
        let mut forged = log(1);
        forged[0].hash = entry_hash(&[1; 32], 0, "signed_in", 0, None, None);
        assert_eq!(verify(&forged, None), Err(LogError::BrokenChain(0)));
    }

    #[test]
    fn a_log_that_no_longer_holds_the_pinned_head_is_rewritten() {
        let before = log(5);
        let pinned = verify(&before, None).unwrap().unwrap().head;
        // Cut back to three entries: the pinned seq 4 is gone.
        assert_eq!(
            verify(&before[2..], Some(pinned)),
            Err(LogError::Rewritten(4))
        );
        assert_eq!(verify(&[], Some(pinned)), Err(LogError::Rewritten(4)));
        // Rebuilt with different contents from the start: same seqs, other hashes.
        let mut other = log(6);
        let mut prev = GENESIS;
        for entry in other.iter_mut().rev() {
            entry.at_ms += 1;
            entry.hash = rehash(&prev, entry);
            prev = entry.hash;
        }
        assert_eq!(verify(&other, Some(pinned)), Err(LogError::Rewritten(4)));
        // Grown honestly: fine.
        assert!(verify(&log(7), Some(pinned)).is_ok());
    }
}
