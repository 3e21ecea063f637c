//! "This account's newest recovery code was never confirmed": set before a
//! new code is stored, cleared when the patient types it back. If the
//! screen showing it was closed, or the answer to storing it was lost, the
//! next unlock on this device makes a new code rather than leave the
//! patient with one they never saw. Not a secret (an account id), so it
//! lives in localStorage; sign-out's Clear-Site-Data removes it.

const KEY: &str = "ward.recovery.unconfirmed";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Marks `account_id`'s newest recovery code as not yet confirmed.
pub(super) fn set_unconfirmed(account_id: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, account_id);
    }
}

/// Whether `account_id` has a recovery code nobody confirmed.
pub(super) fn is_unconfirmed(account_id: &str) -> bool {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .is_some_and(|marked| marked == account_id)
}

/// The patient typed the code back.
pub(super) fn clear() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(KEY);
    }
}
