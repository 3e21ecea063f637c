//! An account's key history: the append-only, hash-chained list of every
//! public bundle it published (crypto.md, key history).
//!
//! Entry `seq`'s hash is
//! `SHA-256("ward key history v1" || prev || seq u64 BE || len(bundle) u32 BE || bundle)`,
//! where `prev` is the previous entry's hash (32 zero bytes for seq 0). A
//! client pins the head it verified ([`KeyHead`]) and later requires every
//! history it is shown to [`VerifiedHistory::extends`] that head: a relay
//! that rewrites a history, or shows different ones to different members,
//! is caught by the clients that compare.

use sha2::{Digest, Sha256};

use crate::keys::PublicBundle;

const DOMAIN: &[u8; 19] = b"ward key history v1";

/// The hash of the entry holding `bundle` at `seq`, chained to `prev`.
pub fn entry_hash(prev: &[u8; 32], seq: u64, bundle: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    hasher.update(prev);
    hasher.update(seq.to_be_bytes());
    // A bundle is a few hundred bytes; one longer than u32 cannot parse.
    let len = u32::try_from(bundle.len()).unwrap_or(u32::MAX);
    hasher.update(len.to_be_bytes());
    hasher.update(bundle);
    hasher.finalize().into()
}

/// One entry of an account's key history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Position, from 0.
    pub seq: u64,
    /// The published bundle (`PublicBundle::to_bytes`).
    pub bundle: Vec<u8>,
    /// [`entry_hash`] of this entry.
    pub hash: [u8; 32],
}

/// The newest entry a client has verified: what it pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHead {
    /// The entry's position.
    pub seq: u64,
    /// The entry's hash.
    pub hash: [u8; 32],
}

/// Why a key history was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// No entries at all.
    #[error("the key history is empty")]
    Empty,
    /// The sequence numbers do not run 0, 1, 2, … without a gap.
    #[error("the key history has a gap")]
    Gap,
    /// An entry's hash is not the hash of its contents and predecessor.
    #[error("the key history's chain is broken")]
    BrokenChain,
    /// An entry does not parse as a public bundle.
    #[error("the key history holds a bundle that does not parse")]
    BadBundle,
    /// An entry's bundle names another account.
    #[error("the key history holds another account's bundle")]
    WrongAccount,
    /// An entry repeats the bundle before it.
    #[error("the key history repeats a bundle")]
    RepeatedBundle,
}

/// A history whose chain, order and bundles were all checked.
#[derive(Clone, Debug)]
pub struct VerifiedHistory {
    entries: Vec<HistoryEntry>,
    current: PublicBundle,
    head: KeyHead,
}

/// Checks `entries` (oldest first) as `account_id`'s key history.
pub fn verify(account_id: &str, entries: &[HistoryEntry]) -> Result<VerifiedHistory, HistoryError> {
    let mut prev = [0u8; 32];
    let mut current = None;
    let mut previous_bundle: Option<&[u8]> = None;
    for (index, entry) in entries.iter().enumerate() {
        if u64::try_from(index).ok() != Some(entry.seq) {
            return Err(HistoryError::Gap);
        }
        if entry_hash(&prev, entry.seq, &entry.bundle) != entry.hash {
            return Err(HistoryError::BrokenChain);
        }
        let bundle =
            PublicBundle::from_bytes(&entry.bundle).map_err(|_| HistoryError::BadBundle)?;
        if bundle.account_id() != account_id {
            return Err(HistoryError::WrongAccount);
        }
        if previous_bundle == Some(entry.bundle.as_slice()) {
            return Err(HistoryError::RepeatedBundle);
        }
        previous_bundle = Some(&entry.bundle);
        prev = entry.hash;
        current = Some(bundle);
    }
    let current = current.ok_or(HistoryError::Empty)?;
    let head = KeyHead {
        seq: u64::try_from(entries.len() - 1).map_err(|_| HistoryError::Gap)?,
        hash: prev,
    };
    Ok(VerifiedHistory {
        entries: entries.to_vec(),
        current,
        head,
    })
}

impl VerifiedHistory {
    /// The newest entry's position and hash.
    pub fn head(&self) -> KeyHead {
        self.head.clone()
    }

    /// The current (newest) bundle.
    pub fn current(&self) -> &PublicBundle {
        &self.current
    }

    /// The current bundle's bytes.
    pub fn current_bytes(&self) -> &[u8] {
        self.entries.last().map_or(&[][..], |e| e.bundle.as_slice())
    }

    /// The entry at `seq`, if the history is that long.
    pub fn entry(&self, seq: u64) -> Option<&HistoryEntry> {
        usize::try_from(seq).ok().and_then(|i| self.entries.get(i))
    }

    /// Whether this history contains `head` (the entry at its seq has its
    /// hash): what a client that pinned `head` requires of every later one.
    pub fn extends(&self, head: &KeyHead) -> bool {
        self.entry(head.seq).is_some_and(|e| e.hash == head.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::AccountKeys;
    use crate::random::os_rng;

    fn bundle(account_id: &str, created_at: u64) -> Vec<u8> {
        AccountKeys::generate(account_id, created_at, &mut os_rng())
            .unwrap()
            .bundle()
            .to_bytes()
    }

    fn chain(bundles: &[Vec<u8>]) -> Vec<HistoryEntry> {
        let mut prev = [0u8; 32];
        bundles
            .iter()
            .enumerate()
            .map(|(seq, b)| {
                let seq = seq as u64;
                let hash = entry_hash(&prev, seq, b);
                prev = hash;
                HistoryEntry {
                    seq,
                    bundle: b.clone(),
                    hash,
                }
            })
            .collect()
    }

    #[test]
    fn the_hash_is_the_documented_sha256() {
        let prev = [7u8; 32];
        let mut input = b"ward key history v1".to_vec();
        input.extend_from_slice(&prev);
        input.extend_from_slice(&3u64.to_be_bytes());
        input.extend_from_slice(&2u32.to_be_bytes());
        input.extend_from_slice(b"ab");
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(entry_hash(&prev, 3, b"ab"), expected);
    }

    #[test]
    fn a_chain_verifies_and_extends_its_prefixes() {
        let entries = chain(&[bundle("sam", 1), bundle("sam", 2), bundle("sam", 3)]);
        let history = verify("sam", &entries).unwrap();
        assert_eq!(history.head().seq, 2);
        assert_eq!(history.current_bytes(), entries[2].bundle.as_slice());
        assert_eq!(history.current().account_id(), "sam");
        let first = verify("sam", &entries[..1]).unwrap().head();
        assert!(history.extends(&first));
        assert!(history.extends(&history.head()));
        let ahead = KeyHead {
            seq: 3,
            hash: [0; 32],
        };
        assert!(!history.extends(&ahead));
    }

    #[test]
    fn a_rewritten_history_does_not_extend_the_old_head() {
        let old = chain(&[bundle("sam", 1), bundle("sam", 2)]);
        let head = verify("sam", &old).unwrap().head();
        let rewritten = chain(&[old[0].bundle.clone(), bundle("sam", 9), bundle("sam", 10)]);
        let history = verify("sam", &rewritten).unwrap();
        assert!(!history.extends(&head));
    }

    #[test]
    fn every_broken_history_is_refused() {
        let (a, b) = (bundle("sam", 1), bundle("sam", 2));
        assert_eq!(verify("sam", &[]).unwrap_err(), HistoryError::Empty);
        let mut gap = chain(&[a.clone(), b.clone()]);
        gap[1].seq = 2;
        assert_eq!(verify("sam", &gap).unwrap_err(), HistoryError::Gap);
        let mut broken = chain(&[a.clone(), b.clone()]);
        broken[1].hash[0] ^= 1;
        assert_eq!(
            verify("sam", &broken).unwrap_err(),
            HistoryError::BrokenChain
        );
        assert_eq!(
            verify("sam", &chain(&[b"junk".to_vec()])).unwrap_err(),
            HistoryError::BadBundle
        );
        assert_eq!(
            verify("sam", &chain(&[a.clone(), bundle("eve", 2)])).unwrap_err(),
            HistoryError::WrongAccount
        );
        assert_eq!(
            verify("sam", &chain(&[a.clone(), a])).unwrap_err(),
            HistoryError::RepeatedBundle
        );
    }
}
