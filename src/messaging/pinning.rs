//! Key pinning with history (crypto.md, key history): what a verified key
//! history means against what this device pinned, and whether a head
//! another member saw contradicts it. Pure: no I/O, host-tested.

use ward_proto::keys::KeyHistoryResponse;
use ward_seal::key_history::{self, HistoryEntry, KeyHead, VerifiedHistory};
use ward_seal::payload::SeenKeyHead;

use crate::i18n::{Text, fill};

/// What this device pinned for an account, and what a verified history
/// means against it: seal's one pinning rule (crypto.md §3a), the same the
/// clinic agent applies.
pub use ward_seal::key_history::{Pin, Verdict};

/// The relay's history as seal entries, verified as `account_id`'s. Any
/// hash that is not 32 bytes breaks the chain.
pub fn verify(
    account_id: &str,
    response: &KeyHistoryResponse,
) -> Result<VerifiedHistory, key_history::HistoryError> {
    if response.account_id != account_id {
        return Err(key_history::HistoryError::WrongAccount);
    }
    let entries = response
        .entries
        .iter()
        .map(|e| {
            Ok(HistoryEntry {
                seq: e.seq,
                bundle: e.bundle.0.clone(),
                hash: e
                    .hash
                    .0
                    .as_slice()
                    .try_into()
                    .map_err(|_| key_history::HistoryError::BrokenChain)?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    key_history::verify(account_id, &entries)
}

/// What `history` means against `pin` ([`key_history::judge`]: the same
/// bundle published again after another (A, B, A) is a change to confirm).
pub fn judge(history: &VerifiedHistory, pin: Option<&Pin>) -> Verdict {
    key_history::judge(pin, history)
}

/// Whether `seen` (a head another member's message carries) contradicts
/// what this device verified for the same account: the same seq with
/// another hash as the pin, or a seq this device's history holds with
/// another hash. Either means the relay showed different histories to
/// different members (a split view).
pub fn contradicts(
    seen: &SeenKeyHead,
    pinned: Option<&KeyHead>,
    history: Option<&VerifiedHistory>,
) -> bool {
    if pinned.is_some_and(|p| p.seq == seen.seq && p.hash != seen.hash) {
        return true;
    }
    history
        .and_then(|h| h.entry(seen.seq))
        .is_some_and(|entry| entry.hash != seen.hash)
}

/// When each key change in `history` happened (Unix seconds): every entry
/// after the first is a new bundle.
pub fn changes(response: &KeyHistoryResponse) -> Vec<u64> {
    response
        .entries
        .iter()
        .filter(|e| e.seq > 0)
        .map(|e| e.published_at)
        .collect()
}

/// The thread notice for a key change.
pub fn notice(name: &str, date: &str) -> String {
    fill(
        Text::MessagingKeyChangedNotice,
        &[("name", name), ("date", date)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_proto::Bytes;
    use ward_proto::keys::KeyHistoryEntry;
    use ward_seal::key_history::entry_hash;
    use ward_seal::keys::AccountKeys;
    use ward_seal::random::os_rng;

    fn bundle(account_id: &str, at: u64) -> Vec<u8> {
        AccountKeys::generate(account_id, at, &mut os_rng())
            .unwrap()
            .bundle()
            .to_bytes()
    }

    fn response(account_id: &str, bundles: &[Vec<u8>]) -> KeyHistoryResponse {
        let mut prev = [0u8; 32];
        let entries = bundles
            .iter()
            .enumerate()
            .map(|(seq, b)| {
                let hash = entry_hash(&prev, seq as u64, b);
                prev = hash;
                KeyHistoryEntry {
                    seq: seq as u64,
                    bundle: Bytes(b.clone()),
                    hash: Bytes(hash.to_vec()),
                    published_at: 1_700_000_000 + seq as u64 * 86_400,
                }
            })
            .collect();
        KeyHistoryResponse {
            account_id: account_id.into(),
            entries,
        }
    }

    #[test]
    fn first_use_pins_then_the_same_bundle_moves_the_head() {
        let a = bundle("clinic", 1);
        let history = verify("clinic", &response("clinic", std::slice::from_ref(&a))).unwrap();
        let head = history.head();
        assert_eq!(judge(&history, None), Verdict::FirstUse(head.clone()));
        let pin = Pin {
            bundle: a,
            head: Some(head.clone()),
        };
        assert_eq!(judge(&history, Some(&pin)), Verdict::Same(head));
    }

    #[test]
    fn a_new_bundle_that_extends_the_pin_is_a_change_to_confirm() {
        let (a, b) = (bundle("clinic", 1), bundle("clinic", 2));
        let old = verify("clinic", &response("clinic", std::slice::from_ref(&a))).unwrap();
        let new = verify("clinic", &response("clinic", &[a.clone(), b])).unwrap();
        let pin = Pin {
            bundle: a,
            head: Some(old.head()),
        };
        assert_eq!(judge(&new, Some(&pin)), Verdict::Changed(new.head()));
    }

    #[test]
    fn the_pinned_bundle_published_again_after_another_is_a_change() {
        // A, then B, then A again: the current bundle equals the pin, but
        // B came between, so the person confirms again (seal's rule).
        let (a, b) = (bundle("clinic", 1), bundle("clinic", 2));
        let old = verify("clinic", &response("clinic", std::slice::from_ref(&a))).unwrap();
        let pin = Pin {
            bundle: a.clone(),
            head: Some(old.head()),
        };
        let again = verify("clinic", &response("clinic", &[a.clone(), b, a])).unwrap();
        assert_eq!(judge(&again, Some(&pin)), Verdict::Changed(again.head()));
    }

    #[test]
    fn a_history_that_drops_the_pinned_head_is_a_rewrite() {
        let (a, b, c) = (
            bundle("clinic", 1),
            bundle("clinic", 2),
            bundle("clinic", 3),
        );
        let seen = verify("clinic", &response("clinic", &[a.clone(), b.clone()])).unwrap();
        let pin = Pin {
            bundle: b.clone(),
            head: Some(seen.head()),
        };
        // The relay replaced entry 1: same length, another bundle.
        let rewritten = verify("clinic", &response("clinic", &[a.clone(), c])).unwrap();
        assert_eq!(judge(&rewritten, Some(&pin)), Verdict::Rewritten);
        // Or cut it short back to entry 0.
        let shorter = verify("clinic", &response("clinic", &[a])).unwrap();
        assert_eq!(judge(&shorter, Some(&pin)), Verdict::Rewritten);
    }

    #[test]
    fn a_pin_kept_from_before_history_gets_its_head_from_the_next_fetch() {
        let (a, b) = (bundle("clinic", 1), bundle("clinic", 2));
        let history = verify("clinic", &response("clinic", std::slice::from_ref(&a))).unwrap();
        let legacy = Pin {
            bundle: a.clone(),
            head: None,
        };
        assert_eq!(
            judge(&history, Some(&legacy)),
            Verdict::Same(history.head())
        );
        let changed = verify("clinic", &response("clinic", &[a, b])).unwrap();
        assert!(matches!(
            judge(&changed, Some(&legacy)),
            Verdict::Changed(_)
        ));
    }

    #[test]
    fn a_broken_or_foreign_history_is_refused() {
        let a = bundle("clinic", 1);
        let mut broken = response("clinic", std::slice::from_ref(&a));
        broken.entries[0].hash = Bytes(vec![0; 31]);
        assert!(verify("clinic", &broken).is_err());
        assert!(verify("clinic", &response("eve", &[a])).is_err());
    }

    #[test]
    fn a_head_from_another_member_that_disagrees_is_a_split_view() {
        let (a, b) = (bundle("clinic", 1), bundle("clinic", 2));
        let history = verify("clinic", &response("clinic", &[a, b])).unwrap();
        let pinned = history.head();
        let agree = SeenKeyHead {
            account_id: "clinic".into(),
            seq: pinned.seq,
            hash: pinned.hash,
        };
        assert!(!contradicts(&agree, Some(&pinned), Some(&history)));
        let mut other = agree.clone();
        other.hash[0] ^= 1;
        assert!(contradicts(&other, Some(&pinned), None));
        // An older entry this device verified, with another hash.
        let mut older = SeenKeyHead {
            account_id: "clinic".into(),
            seq: 0,
            hash: history.entry(0).unwrap().hash,
        };
        assert!(!contradicts(&older, Some(&pinned), Some(&history)));
        older.hash[3] ^= 1;
        assert!(contradicts(&older, Some(&pinned), Some(&history)));
        // Further ahead than this device has seen: nothing to compare yet.
        let ahead = SeenKeyHead {
            account_id: "clinic".into(),
            seq: 5,
            hash: [9; 32],
        };
        assert!(!contradicts(&ahead, Some(&pinned), Some(&history)));
    }

    #[test]
    fn the_notice_names_who_when_and_what_to_do() {
        let response = response("clinic", &[bundle("clinic", 1), bundle("clinic", 2)]);
        assert_eq!(changes(&response), vec![1_700_086_400]);
        assert_eq!(
            notice("Sam", "3 Dec"),
            "Sam's security key changed on 3 Dec. If you didn't expect this, call the clinic."
        );
    }
}
