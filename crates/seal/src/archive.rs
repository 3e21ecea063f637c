//! A thread's archive chain: every envelope the relay stores in a thread is
//! hash-chained to the one before it (by sequence number), so a member can
//! prove the archive it downloaded is complete and unmodified from the
//! point retention pruned it (or the thread's start) to the head.
//!
//! ```text
//! chain(seq) = SHA-256(
//!     "ward archive chain v1"            21 ASCII bytes, no length
//!     || prev                            32 bytes: chain(seq - 1); 32 zero bytes for seq 1
//!     || seq                             u64 big-endian
//!     || u32 len || thread_id            UTF-8, length big-endian
//!     || u32 len || sender_id
//!     || u32 len || message_id
//!     || SHA-256(envelope)               32 bytes, over the envelope's exact wire bytes
//!     || received_at                     i64 big-endian, Unix milliseconds (the relay's clock)
//! )
//! ```
//!
//! The relay computes each link in the same transaction that assigns the
//! sequence number, so sequence and chain cannot diverge. The relay is not
//! trusted by this: a reader recomputes every link, and the envelope's own
//! signature says who wrote it.

use sha2::{Digest, Sha256};

/// The domain label hashed first into every link (21 ASCII bytes).
pub const LABEL: &[u8; 21] = b"ward archive chain v1";

/// The `prev` of seq 1.
pub const GENESIS: [u8; 32] = [0; 32];

/// What one link covers: a stored envelope and where the relay put it.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    /// Its position in the thread, from 1.
    pub seq: u64,
    /// The thread.
    pub thread_id: &'a str,
    /// The sending account.
    pub sender_id: &'a str,
    /// The client's message id.
    pub message_id: &'a str,
    /// The envelope's wire bytes.
    pub envelope: &'a [u8],
    /// When the relay stored it (Unix milliseconds).
    pub received_at: i64,
}

/// Feeds `put` the bytes a link hashes after `seq`, in order: each id with
/// its length, the envelope's digest, `received_at`. [`chain`] hashes them
/// as they come and [`tail`] collects them, from this one list.
fn tail_parts(link: &Link<'_>, mut put: impl FnMut(&[u8])) {
    for text in [link.thread_id, link.sender_id, link.message_id] {
        // Ids are at most 255 bytes (str8 on the wire); saturating keeps the
        // function total for anything longer, which no envelope can carry.
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        put(&len.to_be_bytes());
        put(text.as_bytes());
    }
    put(&Sha256::digest(link.envelope));
    put(&link.received_at.to_be_bytes());
}

/// The chain hash of `link`, chained to `prev` (the chain of `seq - 1`, or
/// [`GENESIS`] for seq 1).
pub fn chain(prev: &[u8; 32], link: &Link<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(LABEL);
    hasher.update(prev);
    hasher.update(link.seq.to_be_bytes());
    tail_parts(link, |bytes| hasher.update(bytes));
    hasher.finalize().into()
}

/// What a link hashes after `seq`: the three ids with their lengths, the
/// envelope's digest and `received_at` (`link.seq` is not in it). A relay
/// on PostgreSQL sends this to the database, which assigns the seq and
/// reads `prev` in the same statement, and finishes the link there as
/// `SHA-256(LABEL || prev || seq || tail)`: the same bytes [`chain`]
/// hashes.
pub fn tail(link: &Link<'_>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(
        12 + link.thread_id.len() + link.sender_id.len() + link.message_id.len() + 32 + 8,
    );
    tail_parts(link, |part| bytes.extend_from_slice(part));
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed vector, so the construction documented in docs/crypto.md
    /// cannot drift silently (recomputed by hand from the spec with
    /// Python's hashlib).
    #[test]
    fn the_first_link_matches_its_vector() {
        let link = Link {
            seq: 1,
            thread_id: "thr_a",
            sender_id: "acc_b",
            message_id: "m1",
            envelope: b"envelope",
            received_at: 1_700_000_000_000,
        };
        let hash = chain(&GENESIS, &link);
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ded25ffdac393aa7ec4e08ac661fe16da271b9d162a218a248b51df07082eff6"
        );
        // Every field counts.
        let other = Link {
            received_at: 1_700_000_000_001,
            ..link
        };
        assert_ne!(chain(&GENESIS, &other), hash);
        assert_ne!(chain(&hash, &link), hash);
    }

    #[test]
    fn a_link_is_its_label_prev_seq_and_tail() {
        let link = Link {
            seq: 7,
            thread_id: "thr_a",
            sender_id: "acc_b",
            message_id: "m1",
            envelope: b"envelope",
            received_at: 1_700_000_000_000,
        };
        let prev = [9; 32];
        let mut whole = LABEL.to_vec();
        whole.extend_from_slice(&prev);
        whole.extend_from_slice(&7_u64.to_be_bytes());
        whole.extend_from_slice(&tail(&link));
        assert_eq!(
            <[u8; 32]>::from(Sha256::digest(&whole)),
            chain(&prev, &link)
        );
        assert_eq!(tail(&link).len(), 12 + 5 + 5 + 2 + 32 + 8);
    }
}
