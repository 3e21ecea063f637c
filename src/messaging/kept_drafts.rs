//! Drafts across an update's reload: the update banner's Reload seals each
//! draft under its thread's key ([`crypto::seal_draft`]) into this device's
//! store, and the next unlock by the same account opens them back into the
//! boxes. A reload ends the unlock, so plaintext never waits on the device.

use leptos::prelude::*;

use super::{Inbox, crypto};
use crate::session::Session;
use crate::store::drafts;

/// Where the new-conversation screen keeps what is being written: it has
/// no thread, so no key to seal it under.
pub(crate) const NEW_THREAD: &str = "new";

/// Why drafts could not all be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotKept {
    /// A new conversation is being written (nothing to seal it under yet).
    NewConversation,
    /// A draft would not seal or store (offline before the thread's key
    /// was loaded, storage refused).
    Failed,
}

impl Inbox {
    /// Seals every non-empty draft, then stores them all together: on
    /// `Err` nothing was stored and the page must not reload.
    pub(crate) async fn keep_drafts(&self, session: Session) -> Result<(), NotKept> {
        let drafts: Vec<(String, String)> = self.drafts.with_value(|d| {
            d.iter()
                .filter(|(_, text)| !text.trim().is_empty())
                .map(|(thread, text)| (thread.clone(), text.clone()))
                .collect()
        });
        if drafts.iter().any(|(thread, _)| thread == NEW_THREAD) {
            return Err(NotKept::NewConversation);
        }
        let me = session.account_id.get_untracked().ok_or(NotKept::Failed)?;
        let mut sealed = Vec::with_capacity(drafts.len());
        for (thread, text) in drafts {
            let envelope = crypto::seal_draft(self, session, &thread, &text)
                .await
                .map_err(|_| NotKept::Failed)?;
            sealed.push((thread, envelope));
        }
        drafts::keep(&me, &sealed)
            .await
            .map_err(|_| NotKept::Failed)
    }

    /// Opens the drafts kept before a reload back into their boxes (a box
    /// already written in keeps its own text). Each is forgotten once it is
    /// back; one that does not open now (no signal for its key) waits for
    /// the next unlock.
    pub(crate) async fn restore_drafts(&self, session: Session) {
        let ticket = session.ticket();
        let Some(me) = session.account_id.get_untracked() else {
            return;
        };
        let Ok(kept) = drafts::kept(&me).await else {
            return;
        };
        for (thread, sealed) in kept {
            let opened = crypto::open_queued(self, session, &thread, &sealed).await;
            if !session.is_current(ticket) {
                return;
            }
            if let Some(shown) = opened.filter(|s| s.message_id == "draft") {
                self.drafts.update_value(|d| {
                    d.entry(thread.clone()).or_insert(shown.text);
                });
                self.drafts_restored.update(|n| *n += 1);
                let _ = drafts::forget(&me, &thread).await;
            }
        }
    }
}
