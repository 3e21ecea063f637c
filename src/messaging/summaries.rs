//! What the threads list shows of each thread beyond what the relay can
//! read: its subject and a preview of its newest message, both opened on
//! this device from the envelopes the list carries (docs/crypto.md, "The
//! thread's subject"). Kept in memory only, and dropped with the rest of
//! the plaintext on lock and sign-out.

use leptos::prelude::*;
use ward_proto::threads::{Category, Thread};

use super::{Inbox, Shown, crypto};
use crate::i18n::{Text, fill};
use crate::session::Session;

/// A thread's subject and newest message, as opened on this device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The subject the patient gave the thread, if any.
    pub subject: Option<String>,
    /// The newest message's seq and its preview line.
    pub preview: Option<(u64, String)>,
}

/// How much of a message the list shows.
const PREVIEW_CHARS: usize = 80;

impl Inbox {
    /// Opens the subjects and newest messages in the list that this device
    /// has not opened yet.
    pub(super) async fn summarize(&self, session: Session) {
        let ticket = session.ticket();
        let me = session.account_id.get_untracked().unwrap_or_default();
        for thread in self.threads.get_untracked() {
            let known = self
                .summaries
                .with_untracked(|s| s.get(&thread.thread_id).cloned())
                .unwrap_or_default();
            let mut next = known.clone();
            if next.subject.is_none() {
                next.subject = subject(self, session, &thread).await;
            }
            let shown_seq = known.preview.as_ref().map(|(seq, _)| *seq);
            match &thread.latest {
                // A confidential thread's words stay inside it.
                _ if thread.category == Category::Confidential => next.preview = None,
                Some(latest) if shown_seq != Some(latest.seq) => {
                    if let Ok(shown) = crypto::open(self, session, &thread.thread_id, latest).await
                    {
                        next.preview = Some((latest.seq, preview(&shown, &me)));
                    }
                }
                Some(_) => {}
                // The newest is too large to come with the list (a photo):
                // an older line would read as the newest.
                None => next.preview = None,
            }
            if !session.is_current(ticket) {
                return;
            }
            if next != known {
                self.summaries.update(|s| {
                    let stored = s.entry(thread.thread_id.clone()).or_default();
                    // Another pass may have opened a newer one meanwhile.
                    let newer_stored = matches!(
                        (&stored.preview, &next.preview),
                        (Some((have, _)), Some((got, _))) if have > got
                    );
                    if newer_stored {
                        next.preview = stored.preview.take();
                    }
                    *stored = next;
                });
            }
        }
    }

    /// The thread's summary, if any was opened (tracked).
    pub fn summary(&self, thread_id: &str) -> Summary {
        self.summaries
            .with(|s| s.get(thread_id).cloned())
            .unwrap_or_default()
    }
}

async fn subject(inbox: &Inbox, session: Session, thread: &Thread) -> Option<String> {
    let sealed = thread.subject.as_ref()?;
    crypto::open_subject(inbox, session, thread, &sealed.0).await
}

/// "You: " before the patient's own, the first line cut at
/// [`PREVIEW_CHARS`], or the file's name for a message without words.
fn preview(shown: &Shown, me: &str) -> String {
    let line = shown.text.lines().next().unwrap_or_default();
    let mut text: String = line.chars().take(PREVIEW_CHARS).collect();
    if text.len() < line.len() || shown.text.lines().nth(1).is_some() {
        text.push('…');
    }
    if text.is_empty()
        && let Some(file) = shown.attachments.first()
    {
        text = format!("📎 {}", file.name);
    }
    if shown.sender_id == me {
        fill(Text::MessagingPreviewYou, &[("text", &text)])
    } else {
        text
    }
}
