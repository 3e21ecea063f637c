//! `audit ACCOUNT`: an account's access log as the relay serves it to the
//! clinic, oldest first, one line an entry, and whether its hash chain
//! verifies (crypto.md §9c) — the same check the patient's app makes.

use std::time::{Duration, UNIX_EPOCH};

use ward_proto::account::{AccountEvent, SignInDetail, ThreadActivity};
use ward_seal::account_log::{self, LogEntry};

use crate::terminal;

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every link recomputed: entries `first` to `last`, the newest hash
    /// `head`; `from_start` when `first` is the log's entry 0.
    Verified {
        /// The oldest entry shown.
        first: u64,
        /// The newest.
        last: u64,
        /// The newest entry's hash.
        head: [u8; 32],
        /// Whether the oldest is the log's first entry.
        from_start: bool,
    },
    /// The account has no entries.
    Empty,
    /// The chain does not hold.
    Broken(String),
}

fn entry(event: &AccountEvent) -> Result<LogEntry, String> {
    let hash = <[u8; 32]>::try_from(event.hash.0.as_slice())
        .map_err(|_| format!("entry #{} has no 32-byte hash", event.seq))?;
    Ok(LogEntry {
        seq: event.seq,
        kind: event.kind.name().to_owned(),
        at_ms: event.at_ms,
        session_id: event.session_id.clone(),
        detail: event.detail.clone(),
        hash,
    })
}

/// Checks `newest_first` (as the relay serves it).
pub fn verify(newest_first: &[AccountEvent]) -> Verdict {
    let entries: Result<Vec<LogEntry>, String> = newest_first.iter().map(entry).collect();
    let entries = match entries {
        Ok(entries) => entries,
        Err(why) => return Verdict::Broken(why),
    };
    match account_log::verify(&entries, None) {
        Ok(Some(verified)) => Verdict::Verified {
            first: entries.last().map_or(0, |e| e.seq),
            last: verified.head.seq,
            head: verified.head.hash,
            from_start: verified.from_start,
        },
        Ok(None) => Verdict::Empty,
        Err(error) => Verdict::Broken(error.to_string()),
    }
}

/// `2026-12-03T14:02:05Z`.
fn when(at_ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(at_ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(at).to_string()
}

/// What an entry's detail says, in words: a sign-in's method, device and
/// network; a conversation activity's who, where and which message.
fn detail_words(event: &AccountEvent) -> Option<String> {
    let detail = event.detail.as_deref()?;
    if let Ok(sign_in) = serde_json::from_str::<SignInDetail>(detail) {
        let method = serde_json::to_value(sign_in.method)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut words = format!(
            "{method}, {}, from {}",
            terminal::line(&sign_in.device),
            terminal::line(&sign_in.network)
        );
        if sign_in.new_device {
            words.push_str(", new device");
        }
        return Some(words);
    }
    if let Ok(activity) = serde_json::from_str::<ThreadActivity>(detail) {
        let mut words = format!(
            "by {} in {}",
            terminal::line(&activity.by),
            terminal::line(&activity.thread_id)
        );
        if let Some(seq) = activity.seq {
            words.push_str(&format!(" #{seq}"));
        }
        return Some(words);
    }
    Some(terminal::line(detail))
}

/// One line an entry, oldest first: `#SEQ TIME KIND (DETAIL) [session S]`.
pub fn lines(newest_first: &[AccountEvent]) -> Vec<String> {
    newest_first
        .iter()
        .rev()
        .map(|event| {
            let mut line = format!("#{} {} {}", event.seq, when(event.at_ms), event.kind.name());
            if let Some(words) = detail_words(event) {
                line.push_str(&format!(" ({words})"));
            }
            if let Some(session) = &event.session_id {
                line.push_str(&format!(" [session {}]", terminal::line(session)));
            }
            line
        })
        .collect()
}

/// The last line: `access log of ACCOUNT verified: entries #A to #B, head
/// HEX` (with `, from its start` when #A is 0), or `... FAILED: WHY`.
pub fn verdict_line(account_id: &str, verdict: &Verdict) -> String {
    let account = terminal::line(account_id);
    match verdict {
        Verdict::Verified {
            first,
            last,
            head,
            from_start,
        } => {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            let start = if *from_start { ", from its start" } else { "" };
            format!(
                "access log of {account} verified: entries #{first} to #{last}{start}, head {hex}"
            )
        }
        Verdict::Empty => format!("access log of {account} is empty"),
        Verdict::Broken(why) => format!("access log of {account} FAILED: {why}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ward_proto::Bytes;
    use ward_proto::account::AccountEventKind;
    use ward_seal::account_log::{GENESIS, entry_hash};

    fn chained(details: &[Option<&str>]) -> Vec<AccountEvent> {
        let mut prev = GENESIS;
        let mut events = Vec::new();
        for (seq, detail) in (0u64..).zip(details) {
            let at_ms = 1_764_770_525_000 + i64::try_from(seq).unwrap();
            let hash = entry_hash(&prev, seq, "signed_in", at_ms, Some("ses_1"), *detail);
            events.push(AccountEvent {
                seq,
                kind: AccountEventKind::SignedIn,
                at: u64::try_from(at_ms / 1000).unwrap(),
                at_ms,
                session_id: Some("ses_1".into()),
                detail: detail.map(Into::into),
                hash: Bytes(hash.to_vec()),
            });
            prev = hash;
        }
        events.reverse();
        events
    }

    #[test]
    fn an_honest_log_prints_oldest_first_and_verifies() {
        let sign_in = r#"{"method":"passkey","device":"Safari on iPhone","network":"203.0.113.0/24","new_device":true}"#;
        let events = chained(&[None, Some(sign_in)]);
        assert_eq!(
            lines(&events),
            [
                "#0 2025-12-03T14:02:05Z signed_in [session ses_1]",
                "#1 2025-12-03T14:02:05Z signed_in (passkey, Safari on iPhone, from 203.0.113.0/24, new device) [session ses_1]",
            ]
        );
        let verdict = verify(&events);
        assert!(matches!(
            verdict,
            Verdict::Verified {
                first: 0,
                last: 1,
                from_start: true,
                ..
            }
        ));
        assert!(verdict_line("acc_sam", &verdict).starts_with(
            "access log of acc_sam verified: entries #0 to #1, from its start, head "
        ));
    }

    #[test]
    fn a_changed_entry_fails() {
        let mut events = chained(&[None, Some("x"), None]);
        events[1].detail = Some("y".into());
        let verdict = verify(&events);
        assert_eq!(
            verdict_line("acc_sam", &verdict),
            "access log of acc_sam FAILED: the access log's hash chain is broken at entry 1"
        );
    }
}
