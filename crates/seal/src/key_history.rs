//! An account's key history: every public bundle it ever published, in
//! order, each entry hash-chained to the one before.
//!
//! The relay keeps the chain append-only and serves it whole. A client pins
//! the head ([`KeyHead`]) it verified; on every later fetch it verifies the
//! whole chain again and requires it to [`VerifiedHistory::extends`] the
//! pinned head. A relay that rewrites history, or shows different histories
//! to different members (who compare heads inside their messages), is then
//! caught by the clients that look.
//!
//! `entry_hash = SHA-256("ward key history v1" || prev [32] || seq u64 || len(bundle) u32 || bundle)`,
//! integers big-endian; the first entry (seq 0) has `prev` = 32 zero bytes.

use sha2::{Digest, Sha256};

use crate::keys::PublicBundle;

/// The domain label hashed first into every entry (19 ASCII bytes).
pub const LABEL: &[u8; 19] = b"ward key history v1";

/// The `prev` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// The hash of entry `seq` holding `bundle`, chained to `prev` (the hash of
/// entry `seq - 1`, or [`GENESIS`] for seq 0).
///
/// A bundle longer than `u32::MAX` bytes cannot be a bundle; its length is
/// hashed saturated (and [`verify`] refuses it as a bad bundle anyway).
pub fn entry_hash(prev: &[u8; 32], seq: u64, bundle: &[u8]) -> [u8; 32] {
    let len = u32::try_from(bundle.len()).unwrap_or(u32::MAX);
    Sha256::new()
        .chain_update(LABEL)
        .chain_update(prev)
        .chain_update(seq.to_be_bytes())
        .chain_update(len.to_be_bytes())
        .chain_update(bundle)
        .finalize()
        .into()
}

/// One entry of an account's key history, as the relay serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Its position, from 0.
    pub seq: u64,
    /// The bundle published (`PublicBundle::to_bytes`).
    pub bundle: Vec<u8>,
    /// [`entry_hash`] of this entry.
    pub hash: [u8; 32],
}

/// What a client pins: how long the history was and the hash of its last
/// entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHead {
    /// The last entry's seq.
    pub seq: u64,
    /// The last entry's hash.
    pub hash: [u8; 32],
}

/// Why a history was refused. Any of these means the relay served a
/// history that no honest relay produces: do not trust the account's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// No entries at all.
    #[error("the key history is empty")]
    Empty,
    /// The entries' seqs do not run 0, 1, 2, ...
    #[error("the key history has a gap or is out of order")]
    Gap,
    /// An entry's hash is not the hash of its contents and the entry before.
    #[error("the key history's hash chain is broken")]
    BrokenChain,
    /// An entry's bundle does not parse or verify.
    #[error("the key history holds an invalid bundle")]
    BadBundle,
    /// An entry's bundle names another account.
    #[error("the key history holds another account's bundle")]
    WrongAccount,
    /// An entry repeats the bundle of the entry before (an honest relay
    /// appends only a change).
    #[error("the key history repeats a bundle")]
    RepeatedBundle,
}

/// A history whose every entry checked out, for one account.
#[derive(Clone, Debug)]
pub struct VerifiedHistory {
    entries: Vec<HistoryEntry>,
    current: PublicBundle,
}

/// Checks a whole history for `account_id`: non-empty, seqs contiguous from
/// 0, each hash recomputed and equal, each bundle valid, naming
/// `account_id`, and different from the entry before.
pub fn verify(account_id: &str, entries: &[HistoryEntry]) -> Result<VerifiedHistory, HistoryError> {
    let mut prev = GENESIS;
    let mut current = None;
    for (index, entry) in entries.iter().enumerate() {
        if u64::try_from(index).ok() != Some(entry.seq) {
            return Err(HistoryError::Gap);
        }
        if u32::try_from(entry.bundle.len()).is_err() {
            return Err(HistoryError::BadBundle);
        }
        if entry_hash(&prev, entry.seq, &entry.bundle) != entry.hash {
            return Err(HistoryError::BrokenChain);
        }
        let bundle =
            PublicBundle::from_bytes(&entry.bundle).map_err(|_| HistoryError::BadBundle)?;
        if bundle.account_id() != account_id {
            return Err(HistoryError::WrongAccount);
        }
        if index > 0 && entries[index - 1].bundle == entry.bundle {
            return Err(HistoryError::RepeatedBundle);
        }
        prev = entry.hash;
        current = Some(bundle);
    }
    let current = current.ok_or(HistoryError::Empty)?;
    Ok(VerifiedHistory {
        entries: entries.to_vec(),
        current,
    })
}

impl VerifiedHistory {
    /// The last entry's seq and hash: what to pin.
    pub fn head(&self) -> KeyHead {
        let last = self.last();
        KeyHead {
            seq: last.seq,
            hash: last.hash,
        }
    }

    /// The current bundle (the last entry's).
    pub fn current(&self) -> &PublicBundle {
        &self.current
    }

    /// The current bundle's bytes.
    pub fn current_bytes(&self) -> &[u8] {
        &self.last().bundle
    }

    /// The entry at `seq`, if the history is that long.
    pub fn entry(&self, seq: u64) -> Option<&HistoryEntry> {
        usize::try_from(seq).ok().and_then(|i| self.entries.get(i))
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> &[HistoryEntry] {
        &self.entries
    }

    /// Whether this history contains `head`: the entry at its seq exists and
    /// has its hash. Then (the chain being verified) everything up to it is
    /// exactly what was pinned, and this history only appended after it.
    pub fn extends(&self, head: &KeyHead) -> bool {
        self.entry(head.seq).is_some_and(|e| e.hash == head.hash)
    }

    fn last(&self) -> &HistoryEntry {
        // `verify` refuses an empty history, so there is a last entry.
        &self.entries[self.entries.len() - 1]
    }
}

/// Builds the entry that follows `prev` (or the first, with `None`).
pub fn next_entry(prev: Option<&HistoryEntry>, bundle: Vec<u8>) -> HistoryEntry {
    let (seq, prev_hash) = prev.map_or((0, GENESIS), |p| (p.seq + 1, p.hash));
    let hash = entry_hash(&prev_hash, seq, &bundle);
    HistoryEntry { seq, bundle, hash }
}

#[cfg(test)]
#[cfg(feature = "open")]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::keys::AccountKeys;
    use crate::random::os_rng;

    fn bundle(id: &str) -> Vec<u8> {
        AccountKeys::generate(id, 1_767_225_600, &mut os_rng())
            .unwrap()
            .bundle()
            .to_bytes()
    }

    fn chain(id: &str, n: usize) -> Vec<HistoryEntry> {
        let mut out: Vec<HistoryEntry> = Vec::new();
        for _ in 0..n {
            let next = next_entry(out.last(), bundle(id));
            out.push(next);
        }
        out
    }

    #[test]
    fn the_hash_is_the_documented_bytes() {
        let mut input = b"ward key history v1".to_vec();
        input.extend_from_slice(&[0xab; 32]);
        input.extend_from_slice(&7u64.to_be_bytes());
        input.extend_from_slice(&3u32.to_be_bytes());
        input.extend_from_slice(b"xyz");
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(entry_hash(&[0xab; 32], 7, b"xyz"), expected);
        assert_eq!(LABEL.len(), 19);
    }

    #[test]
    fn a_good_chain_verifies_and_extends_its_prefixes() {
        let entries = chain("acc-1", 3);
        let verified = verify("acc-1", &entries).unwrap();
        assert_eq!(verified.head().seq, 2);
        assert_eq!(verified.current_bytes(), entries[2].bundle.as_slice());
        assert_eq!(verified.current().to_bytes(), entries[2].bundle);
        let first = verify("acc-1", &entries[..1]).unwrap().head();
        assert!(verified.extends(&first));
        assert!(verified.extends(&verified.head()));
        assert!(!verified.extends(&KeyHead {
            seq: 3,
            hash: entries[2].hash
        }));
        assert!(!verified.extends(&KeyHead {
            seq: 1,
            hash: [0; 32]
        }));
        assert_eq!(verified.entry(1), Some(&entries[1]));
        assert_eq!(verified.entry(5), None);
    }

    #[test]
    fn every_kind_of_bad_history_is_refused() {
        let entries = chain("acc-1", 3);
        assert_eq!(verify("acc-1", &[]).unwrap_err(), HistoryError::Empty);
        assert_eq!(
            verify("acc-2", &entries).unwrap_err(),
            HistoryError::WrongAccount
        );
        let gap = vec![entries[0].clone(), entries[2].clone()];
        assert_eq!(verify("acc-1", &gap).unwrap_err(), HistoryError::Gap);
        let mut altered = entries.clone();
        altered[1].bundle = bundle("acc-1");
        assert_eq!(
            verify("acc-1", &altered).unwrap_err(),
            HistoryError::BrokenChain
        );
        // Rehashed from the altered entry on: the chain holds, but it no
        // longer extends what was pinned before.
        let mut rewritten = vec![entries[0].clone()];
        rewritten.push(next_entry(rewritten.last(), bundle("acc-1")));
        rewritten.push(next_entry(rewritten.last(), entries[2].bundle.clone()));
        let verified = verify("acc-1", &rewritten).unwrap();
        let pinned = verify("acc-1", &entries[..2]).unwrap().head();
        assert!(!verified.extends(&pinned));
        let mut garbage = vec![next_entry(None, b"not a bundle".to_vec())];
        assert_eq!(
            verify("acc-1", &garbage).unwrap_err(),
            HistoryError::BadBundle
        );
        garbage = vec![entries[0].clone()];
        garbage.push(next_entry(garbage.last(), entries[0].bundle.clone()));
        assert_eq!(
            verify("acc-1", &garbage).unwrap_err(),
            HistoryError::RepeatedBundle
        );
    }
}
