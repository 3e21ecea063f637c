//! What this device remembers of the account's access log between visits:
//! the newest entry it verified (a relay that later serves a log without
//! it, or with it changed, is caught) and the newest entry the patient was
//! warned about or saw (so a banner shows once). Neither is secret, so
//! both live in localStorage, per account; sign-out's Clear-Site-Data
//! removes them, and the next visit pins again from what it verifies.

use ward_seal::account_log::LogHead;

use super::access_log::{head_text, parse_head};

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

fn head_key(account_id: &str) -> String {
    format!("ward.log.head.{account_id}")
}

fn seen_key(account_id: &str) -> String {
    format!("ward.log.seen.{account_id}")
}

/// The head this device verified for `account_id` before.
pub(crate) fn pinned(account_id: &str) -> Option<LogHead> {
    storage()
        .and_then(|s| s.get_item(&head_key(account_id)).ok().flatten())
        .and_then(|text| parse_head(&text))
}

/// Pins `head` for `account_id` (never lowering the pinned seq).
pub(crate) fn pin(account_id: &str, head: &LogHead) {
    if pinned(account_id).is_some_and(|old| old.seq > head.seq) {
        return;
    }
    if let Some(storage) = storage() {
        let _ = storage.set_item(&head_key(account_id), &head_text(head));
    }
}

/// The newest seq the patient has been shown.
pub(crate) fn seen(account_id: &str) -> Option<u64> {
    storage()
        .and_then(|s| s.get_item(&seen_key(account_id)).ok().flatten())
        .and_then(|text| text.parse().ok())
}

/// The patient has been shown everything up to `seq`.
pub(crate) fn mark_seen(account_id: &str, seq: u64) {
    if seen(account_id).is_some_and(|old| old >= seq) {
        return;
    }
    if let Some(storage) = storage() {
        let _ = storage.set_item(&seen_key(account_id), &seq.to_string());
    }
}
