//! `verify-archive THREAD`: proves the relay's copy of a thread complete
//! and unmodified from where retention pruned it (or the thread's start)
//! to its head, without decrypting anything: every sequence number is
//! there, every archive-chain link recomputes ([`ward_seal::archive`]), the
//! last is the head the relay states, every envelope is signed by its
//! sender's pinned key, and the head extends the one verified last time
//! (recorded beside the pinned keys).

use std::collections::HashMap;

use ward_proto::threads::{ArchiveHead, MessagePage, StoredMessage, Thread};
use ward_seal::archive::{Link, chain};
use ward_seal::envelope::Envelope;

use crate::pins::ArchiveRecord;
use crate::{AgentError, Client, Keyring, Trusted, member_name, terminal, trusted};

/// Most pages read (200 messages each): 2 000 000 messages.
const MAX_PAGES: usize = 10_000;

/// What a verified archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The thread.
    pub thread_id: String,
    /// The first and last stored message (`None`: none stored).
    pub messages: Option<(u64, u64)>,
    /// Messages `1..=pruned_through` were deleted by retention.
    pub pruned_through: u64,
    /// The head's chain hash.
    pub head: [u8; 32],
}

/// The first `n` bytes of `hash`, in hex.
fn prefix(hash: &[u8], n: usize) -> String {
    hash.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

/// The one-line verdict for a verified archive.
pub fn verdict_line(verified: &Verified) -> String {
    let thread = terminal::line(&verified.thread_id);
    let head = prefix(&verified.head, 8);
    let pruned = match verified.pruned_through {
        0 => String::new(),
        1 => " (message #1 deleted by retention)".to_owned(),
        n => format!(" (messages #1 to #{n} deleted by retention)"),
    };
    match verified.messages {
        Some((first, last)) => {
            format!(
                "archive of {thread} complete: messages #{first} to #{last}, head {head}{pruned}"
            )
        }
        None => format!("archive of {thread} complete: no messages stored, head {head}{pruned}"),
    }
}

fn failed(thread_id: &str, seq: u64, why: impl std::fmt::Display) -> AgentError {
    AgentError::new(format!(
        "archive of {} FAILED at #{seq}: {why}",
        terminal::line(thread_id)
    ))
}

fn hash32(bytes: &[u8]) -> Option<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).ok()
}

/// Downloads and checks the thread's whole stored archive, as the module
/// says; on success records its head. Any failure names the seq.
pub async fn verify(
    client: &Client,
    keyring: &mut Keyring,
    thread_id: &str,
) -> Result<Verified, AgentError> {
    let thread: Thread = client.get(&format!("/v1/threads/{thread_id}")).await?;
    // The head first: messages stored after it are not part of this proof.
    let head: ArchiveHead = client
        .get(&format!("/v1/threads/{thread_id}/archive"))
        .await?;
    let (Some(stated_head), Some(pruned_chain)) =
        (hash32(&head.head.0), hash32(&head.pruned_chain.0))
    else {
        return Err(failed(
            thread_id,
            head.last_seq,
            "the relay's archive head is not a 32-byte hash",
        ));
    };
    if head.pruned_through_seq > head.last_seq {
        return Err(failed(
            thread_id,
            head.pruned_through_seq,
            format!(
                "the relay says it pruned through #{} but its head is #{}",
                head.pruned_through_seq, head.last_seq
            ),
        ));
    }
    let mut trust = Trusted::new();
    let mut prev = pruned_chain;
    let mut expected = head.pruned_through_seq + 1;
    let mut chains: HashMap<u64, [u8; 32]> = HashMap::new();
    let mut cursor = head.pruned_through_seq;
    'pages: for _ in 0..MAX_PAGES {
        let page: MessagePage = client
            .get(&format!(
                "/v1/threads/{thread_id}/messages?after={cursor}&limit=200"
            ))
            .await?;
        for stored in &page.messages {
            if stored.seq > head.last_seq {
                break 'pages;
            }
            if stored.seq != expected {
                return Err(failed(
                    thread_id,
                    expected,
                    format!(
                        "message #{expected} is missing (the relay served #{} next)",
                        stored.seq
                    ),
                ));
            }
            prev = check_link(thread_id, &prev, stored)?;
            check_signature(client, keyring, &mut trust, &thread, stored).await?;
            chains.insert(stored.seq, prev);
            expected += 1;
        }
        match page.next_cursor {
            Some(next) if next > cursor => cursor = next,
            _ => break,
        }
    }
    if expected <= head.last_seq {
        return Err(failed(
            thread_id,
            expected,
            format!(
                "message #{expected} is missing: the relay's head is #{} but its messages end at #{}",
                head.last_seq,
                expected - 1
            ),
        ));
    }
    if prev != stated_head {
        return Err(failed(
            thread_id,
            head.last_seq,
            format!(
                "the head the relay states ({}) is not the chain of the messages it serves ({})",
                prefix(&stated_head, 8),
                prefix(&prev, 8)
            ),
        ));
    }
    if let Some(record) = keyring.archive_record(thread_id) {
        let recorded = hash32(&record.head.0);
        let now = if record.seq > head.last_seq {
            None
        } else if record.seq < head.pruned_through_seq {
            // Pruned since: nothing left to compare it with.
            recorded
        } else if record.seq == head.pruned_through_seq {
            Some(pruned_chain)
        } else {
            chains.get(&record.seq).copied()
        };
        if now.is_none() || now != recorded {
            return Err(failed(
                thread_id,
                record.seq,
                format!(
                    "REFUSED: the relay rewrote this thread's history: the head verified here before was #{} ({}), and the archive it serves now {}",
                    record.seq,
                    prefix(&record.head.0, 8),
                    match now {
                        Some(hash) => format!("has {} there", prefix(&hash, 8)),
                        None => format!("ends at #{}", head.last_seq),
                    }
                ),
            ));
        }
    }
    keyring.record_archive(
        thread_id,
        ArchiveRecord {
            seq: head.last_seq,
            head: ward_proto::Bytes(stated_head.to_vec()),
        },
    )?;
    Ok(Verified {
        thread_id: thread_id.to_owned(),
        messages: (head.last_seq > head.pruned_through_seq)
            .then_some((head.pruned_through_seq + 1, head.last_seq)),
        pruned_through: head.pruned_through_seq,
        head: stated_head,
    })
}

/// Recomputes `stored`'s chain link from `prev`; the link.
fn check_link(
    thread_id: &str,
    prev: &[u8; 32],
    stored: &StoredMessage,
) -> Result<[u8; 32], AgentError> {
    let served = stored
        .chain
        .as_ref()
        .and_then(|c| hash32(&c.0))
        .ok_or_else(|| {
            failed(
                thread_id,
                stored.seq,
                "the relay serves no archive chain hash for this message (a relay older than archive chains?)",
            )
        })?;
    let link = chain(
        prev,
        &Link {
            seq: stored.seq,
            thread_id,
            sender_id: &stored.sender_id,
            message_id: &stored.message_id,
            envelope: &stored.envelope.0,
            received_at: i64::try_from(stored.received_at).unwrap_or(i64::MAX),
        },
    );
    if link != served {
        return Err(failed(
            thread_id,
            stored.seq,
            "its chain link does not recompute: the message (its envelope, sender, id or time) or the chain before it was changed",
        ));
    }
    Ok(link)
}

/// Checks `stored` is an envelope for this thread, with the sender and id
/// it is filed under, signed by the sender's pinned key (or an earlier key
/// of theirs): nothing is decrypted.
async fn check_signature(
    client: &Client,
    keyring: &mut Keyring,
    trust: &mut Trusted,
    thread: &Thread,
    stored: &StoredMessage,
) -> Result<(), AgentError> {
    let thread_id = thread.thread_id.as_str();
    let envelope = Envelope::from_bytes(&stored.envelope.0)
        .map_err(|_| failed(thread_id, stored.seq, "it is not an envelope"))?;
    let header = envelope.header();
    if header.thread_id != thread_id
        || header.sender_id != stored.sender_id
        || header.message_id != stored.message_id
    {
        return Err(failed(
            thread_id,
            stored.seq,
            "its envelope names another thread, sender or message id than the relay files it under",
        ));
    }
    let name = member_name(thread, &stored.sender_id);
    let sender = trusted(keyring, client, trust, &stored.sender_id, &name).await?;
    let Some(sender) = sender else {
        return Err(failed(
            thread_id,
            stored.seq,
            format!(
                "its sender {} has no keys on the relay",
                terminal::line(&name)
            ),
        ));
    };
    if sender
        .accepted
        .iter()
        .any(|bundle| envelope.verify_signature(thread_id, bundle).is_ok())
    {
        return Ok(());
    }
    if let Some((new, _)) = &sender.pending
        && envelope.verify_signature(thread_id, new).is_ok()
    {
        return Err(failed(
            thread_id,
            stored.seq,
            format!(
                "it is signed with {}'s new security key, which is not confirmed (`ward-clinic keys list`)",
                terminal::line(&name)
            ),
        ));
    }
    Err(failed(
        thread_id,
        stored.seq,
        format!(
            "its signature does not verify against {}'s pinned key: the envelope was altered, or is not from its sender",
            terminal::line(&name)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_name_the_range_the_head_and_what_retention_deleted() {
        let mut verified = Verified {
            thread_id: "thr_a".into(),
            messages: Some((1, 4)),
            pruned_through: 0,
            head: [0xab; 32],
        };
        assert_eq!(
            verdict_line(&verified),
            "archive of thr_a complete: messages #1 to #4, head abababababababab"
        );
        verified.messages = Some((3, 4));
        verified.pruned_through = 2;
        assert_eq!(
            verdict_line(&verified),
            "archive of thr_a complete: messages #3 to #4, head abababababababab (messages #1 to #2 deleted by retention)"
        );
        verified.messages = None;
        verified.pruned_through = 1;
        assert_eq!(
            verdict_line(&verified),
            "archive of thr_a complete: no messages stored, head abababababababab (message #1 deleted by retention)"
        );
    }
}
