//! Conversations: the threads the patient is in and their messages, opened
//! on this device. Screens read [`Inbox`] and call it (send, open, receipts,
//! typing, search); it fetches through `api`, seals and opens through
//! `ward-seal` with the unlocked account's keys, and applies live events.
//!
//! The [`Session`] owns the inbox: thread keys and decrypted text live here,
//! in memory only, and the session drops them synchronously when Ward locks
//! or signs out. Every async flow takes the session's [`Ticket`] when it
//! starts and checks it after each await, before it stores anything, so
//! work that finishes after a lock (a page of messages, a live event, a
//! key) is thrown away rather than stored into the next session.

mod crypto;
mod history;
mod in_order;
mod kept_drafts;
pub(crate) mod live;
pub mod pinning;
mod sending_files;
mod sharing;
mod summaries;

pub(crate) use kept_drafts::{NEW_THREAD, NotKept};
pub use summaries::Summary;

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use ward_proto::auth::ClinicInfo;
use ward_proto::caregivers::People;
use ward_proto::events::ReceiptKind;
use ward_proto::threads::{Category, Member, Role, StoredMessage, Thread};
use ward_seal::key_history::{KeyHead, VerifiedHistory};
use ward_seal::keys::PublicBundle;
use ward_seal::thread_key::ThreadKey;

use crate::api::{self, ApiError};
use crate::attachments::Attachment;
use crate::i18n::{Text, fill, t};
use crate::session::{Session, SessionError, Ticket};
use crate::store::outbox;

/// Where one of the patient's own messages is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Being sealed and posted.
    Sending,
    /// Kept on this device (sealed) until the connection returns.
    Queued,
    /// Kept on this device (sealed): the relay said "not now" (restarting,
    /// busy); it goes again by itself after the wait the relay asked for.
    Retrying,
    /// Stored by the relay.
    Sent,
    /// Not stored; the reason, for "Retry".
    Failed(String),
}

/// What became of one post from the outbox.
enum Posted {
    /// Stored, or refused for good (shown as failed, off the queue).
    Done,
    /// The relay is out of reach: it waits for the connection.
    Unreachable,
    /// The relay said "not now": it goes again after this long.
    NotNow(std::time::Duration),
}

/// One message as the thread shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The relay's order (none while sending).
    pub seq: Option<u64>,
    /// The sender's id for it (idempotency key).
    pub message_id: String,
    /// Who sent it.
    pub sender_id: String,
    /// When, by the sender's clock (Unix ms).
    pub sent_at_ms: u64,
    /// The text.
    pub text: String,
    /// Quick replies it offers: (id, label).
    pub quick_replies: Vec<(String, String)>,
    /// The offer this message answers, when it is a quick reply.
    pub answers_offer: Option<String>,
    /// For the patient's own messages.
    pub delivery: Option<Delivery>,
    /// Files it carries.
    pub attachments: Vec<Attachment>,
    /// A file of the patient's still on its way up.
    pub upload: Option<UploadState>,
}

impl Shown {
    /// A new message of the patient's, "Sending", with a fresh id.
    fn outgoing(sender_id: String, text: String) -> Self {
        Self {
            seq: None,
            message_id: crypto::new_message_id(),
            sender_id,
            sent_at_ms: js_sys::Date::now() as u64,
            text,
            quick_replies: Vec::new(),
            answers_offer: None,
            delivery: Some(Delivery::Sending),
            attachments: Vec::new(),
            upload: None,
        }
    }
}

/// A file being sent with one of the patient's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    /// The file's name.
    pub name: String,
    /// Plaintext bytes done when the step began (the running count is in
    /// [`Inbox::upload_done`]).
    pub done: u64,
    /// The file's size.
    pub total: u64,
    /// Where it is.
    pub step: UploadStep,
    /// What went wrong with the last attempt, for the patient.
    pub problem: Option<String>,
}

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStep {
    /// Reading the file to fingerprint it (SHA-256).
    Preparing,
    /// Encrypting and uploading part by part.
    Uploading,
    /// The connection dropped; it continues from the first missing part.
    Waiting,
    /// The tab was closed mid-upload: the patient chooses the file again.
    NeedsFile,
}

/// A member's keys changed since this device first saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// The new keys' safety number, to compare with the member.
    pub safety_number: String,
    /// The pinned (previous) keys' safety number.
    pub old_safety_number: String,
    /// The new bundle (pinned once the patient confirms).
    pub bundle: Vec<u8>,
    /// The verified history head holding it (pinned with it).
    pub head: KeyHead,
}

/// The live stream's state, as the patient is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Opening (after an unlock): not worth a word yet.
    Connecting,
    /// Messages arrive as they are sent.
    Live,
    /// The stream dropped; trying again.
    Reconnecting,
    /// The device says it is offline.
    Offline,
}

impl Link {
    /// What the patient reads, when there is something to say.
    pub fn message(self) -> Option<&'static str> {
        match self {
            Self::Connecting | Self::Live => None,
            Self::Reconnecting => Some(t(Text::MessagingReconnecting)),
            Self::Offline => Some(t(Text::MessagingOffline)),
        }
    }
}

/// The reactive inbox, shared by context.
#[derive(Debug, Clone, Copy)]
pub struct Inbox {
    /// The patient's threads, newest activity first.
    pub threads: RwSignal<Vec<Thread>>,
    /// Opened threads' messages, by thread id, oldest first.
    pub messages: RwSignal<HashMap<String, Vec<Shown>>>,
    /// Until when (ms) someone is typing, by thread id.
    pub typing: RwSignal<HashMap<String, u64>>,
    /// Text for the polite live region ("New message from …").
    pub announcement: RwSignal<String>,
    /// How many messages from others arrived live since the app started
    /// (a clinic's page hears `attention` when it grows while hidden).
    pub arrivals: RwSignal<u64>,
    /// Whether new messages arrive live right now.
    pub link: RwSignal<Link>,
    /// Each listed thread's subject and newest message, opened here.
    summaries: RwSignal<HashMap<String, Summary>>,
    /// The clinic's name, hours, reply time and emergency notice.
    pub clinic: RwSignal<Option<ClinicInfo>>,
    /// The language `clinic`'s texts are in.
    clinic_lang: StoredValue<Option<crate::i18n::Lang>>,
    /// Who helps this patient, or whom this caregiver helps, and until
    /// when: read once per unlock and again when a grant changes.
    pub people: RwSignal<Option<People>>,
    /// On a caregiver's home, whose conversations are shown (a patient's
    /// account id; `None`: everyone's). Kept while the app is open.
    pub showing_for: RwSignal<Option<String>>,
    /// What the account's access log warns about this unlock (read once,
    /// on the first visit home): `None` until read.
    pub account_alerts: RwSignal<Option<crate::session::access_log::Warnings>>,
    /// Whether the home screen asks the account to agree to the messaging
    /// terms this unlock (read once, on the first visit home): `None`
    /// until read.
    pub consent_ask: RwSignal<Option<crate::session::consent_ask::ConsentAsk>>,
    /// Members whose keys changed, by account id, until the patient confirms.
    pub key_changes: RwSignal<HashMap<String, KeyChange>>,
    /// Accounts whose key history the relay rewrote (or served broken):
    /// nothing is sealed to them or opened from them.
    pub rewritten: RwSignal<HashSet<String>>,
    /// Accounts whose history another member saw differently (a message
    /// carried a head that contradicts this device's): sending holds.
    pub split_views: RwSignal<HashSet<String>>,
    /// When each member's keys changed (Unix seconds), from their history:
    /// the threads show a notice at each.
    pub key_events: RwSignal<HashMap<String, Vec<u64>>>,
    /// What the patient is typing, by thread id: kept across screens and
    /// across a lock (memory only, never stored), dropped at sign-out and
    /// when another person unlocks.
    pub drafts: StoredValue<HashMap<String, String>>,
    /// Counts the restorations of drafts kept across an update's reload
    /// (`kept_drafts`), so an open thread's box takes its draft.
    pub drafts_restored: RwSignal<u32>,
    /// Per opened thread with older messages not fetched yet: the cursor
    /// for the page before what is loaded.
    earlier: RwSignal<HashMap<String, u64>>,
    keys: StoredValue<HashMap<(String, u32), ThreadKey>, LocalStorage>,
    bundles: StoredValue<HashMap<String, PublicBundle>, LocalStorage>,
    /// What this device pinned, as last read or written this unlock.
    pins: StoredValue<HashMap<String, pinning::Pin>>,
    /// Each member's history as verified this unlock.
    histories: StoredValue<HashMap<String, VerifiedHistory>, LocalStorage>,
    flushing: StoredValue<bool>,
    /// Whether a flush is already set to run after a relay's "not now".
    retry_scheduled: StoredValue<bool>,
    /// The patient's sends, sealed and queued one at a time in the order
    /// written.
    sending: StoredValue<in_order::Line>,
    /// When the last typing event went (ms).
    typing_sent: StoredValue<f64>,
    /// Threads whose next epoch this device is starting now.
    rekeying: StoredValue<HashSet<String>>,
    /// When the relay took this device's last "read" receipt for each
    /// thread (`Date.now()`): a thread list asked for before then counts
    /// messages already read, so its unread count is not taken.
    read_at: StoredValue<HashMap<String, u64>>,
    /// (thread, caregiver) pairs this device is sharing unasked (the
    /// caregiver sees all the patient's threads), or that the relay refused
    /// since the unlock: not tried again until then.
    sharing_scope: StoredValue<HashSet<(String, String)>>,
    /// Bytes done of each upload running in this tab, by message id: kept
    /// apart from `messages` so a progress tick redraws one progress bar,
    /// not the thread.
    pub upload_done: RwSignal<HashMap<String, u64>>,
    /// Files being uploaded from this tab, by message id.
    uploads: StoredValue<HashMap<String, sending_files::LiveUpload>, LocalStorage>,
}

impl Inbox {
    /// An empty inbox. The app's one comes with its [`Session`]
    /// ([`Session::inbox`]).
    pub fn new() -> Self {
        Self {
            threads: RwSignal::new(Vec::new()),
            messages: RwSignal::new(HashMap::new()),
            typing: RwSignal::new(HashMap::new()),
            announcement: RwSignal::new(String::new()),
            arrivals: RwSignal::new(0),
            link: RwSignal::new(Link::Connecting),
            summaries: RwSignal::new(HashMap::new()),
            clinic: RwSignal::new(None),
            clinic_lang: StoredValue::new(None),
            people: RwSignal::new(None),
            showing_for: RwSignal::new(None),
            account_alerts: RwSignal::new(None),
            consent_ask: RwSignal::new(None),
            key_changes: RwSignal::new(HashMap::new()),
            rewritten: RwSignal::new(HashSet::new()),
            split_views: RwSignal::new(HashSet::new()),
            key_events: RwSignal::new(HashMap::new()),
            drafts: StoredValue::new(HashMap::new()),
            drafts_restored: RwSignal::new(0),
            earlier: RwSignal::new(HashMap::new()),
            keys: StoredValue::new_local(HashMap::new()),
            bundles: StoredValue::new_local(HashMap::new()),
            pins: StoredValue::new(HashMap::new()),
            histories: StoredValue::new_local(HashMap::new()),
            flushing: StoredValue::new(false),
            retry_scheduled: StoredValue::new(false),
            sending: StoredValue::new(in_order::Line::default()),
            typing_sent: StoredValue::new(0.0),
            rekeying: StoredValue::new(HashSet::new()),
            read_at: StoredValue::new(HashMap::new()),
            sharing_scope: StoredValue::new(HashSet::new()),
            upload_done: RwSignal::new(HashMap::new()),
            uploads: StoredValue::new_local(HashMap::new()),
        }
    }

    /// Unread messages over all threads (tracked: a reactive read).
    pub fn unread_total(&self) -> u64 {
        self.threads
            .with(|threads| threads.iter().map(|t| t.unread_count).sum())
    }

    /// The inbox of the session in context.
    pub fn get() -> Self {
        Session::get().inbox()
    }

    /// Forgets the drafts and the files chosen for uploads (sign-out; the
    /// session calls it).
    pub(crate) fn clear_drafts(&self) {
        self.drafts.set_value(HashMap::new());
        // Files chosen for uploads stay across a lock (like drafts), not a
        // sign-out.
        self.uploads.set_value(HashMap::new());
    }

    /// Forgets every key and decrypted message (the session calls it, in
    /// the same step as it starts a new generation, on lock and sign-out).
    pub(crate) fn clear(&self) {
        self.announcement.set(String::new());
        self.upload_done.set(HashMap::new());
        self.keys.set_value(HashMap::new());
        self.bundles.set_value(HashMap::new());
        self.messages.set(HashMap::new());
        self.summaries.set(HashMap::new());
        self.earlier.set(HashMap::new());
        self.typing.set(HashMap::new());
        self.threads.set(Vec::new());
        self.people.set(None);
        self.account_alerts.set(None);
        self.consent_ask.set(None);
        self.rekeying.set_value(HashSet::new());
        self.sharing_scope.set_value(HashSet::new());
        self.key_changes.set(HashMap::new());
        self.rewritten.set(HashSet::new());
        self.split_views.set(HashSet::new());
        self.key_events.set(HashMap::new());
        self.pins.set_value(HashMap::new());
        self.histories.set_value(HashMap::new());
    }

    /// Records that the relay rewrote `account_id`'s key history: a hard
    /// stop for that account until the patient sorts it out with the
    /// clinic.
    fn mark_rewritten(&self, account_id: &str) -> SessionError {
        self.bundles.update_value(|b| {
            b.remove(account_id);
        });
        self.rewritten.update(|r| {
            r.insert(account_id.to_owned());
        });
        SessionError::KeyHistoryRewritten
    }

    /// Fetches and verifies `account_id`'s key history again (a live
    /// `key_changed`): a change shows its notice and holds sending.
    pub async fn recheck_keys(&self, session: Session, account_id: &str) {
        let _ = crypto::bundle(self, session, account_id, true).await;
    }

    /// The patient confirmed `account_id`'s new keys (see
    /// [`crypto::accept_key_change`]).
    pub async fn accept_key_change(
        &self,
        session: Session,
        thread_id: &str,
        account_id: &str,
    ) -> Result<(), SessionError> {
        crypto::accept_key_change(self, session, thread_id, account_id).await
    }

    /// A caregiver's access to `patient_id`'s threads ended (live
    /// `access_ended`): the list is reloaded without them, and what this
    /// tab decrypted of a thread no longer listed (messages, keys, typing,
    /// drafts) is forgotten. The announcement names the patient.
    pub async fn access_ended(&self, session: Session, patient_id: &str) {
        let patient = self.threads.with_untracked(|list| {
            list.iter()
                .flat_map(|t| t.members.iter())
                .find(|m| m.account_id == patient_id)
                .map(|m| m.display_name.clone())
        });
        self.reload_people(session).await;
        if self.refresh(session).await.is_err() {
            return;
        }
        self.forget_unlisted();
        self.announcement.set(match patient {
            Some(name) => fill(Text::MessagingAccessEndedNamed, &[("name", &name)]),
            None => t(Text::MessagingAccessEnded).into(),
        });
    }

    /// The patient stopped sharing `thread_id` with this caregiver (live
    /// `thread_unshared`): as [`Self::access_ended`], for that thread.
    pub async fn thread_unshared(&self, session: Session, thread_id: &str) {
        let listed = self.thread(thread_id).is_some();
        if self.refresh(session).await.is_err() {
            return;
        }
        self.forget_unlisted();
        if listed && self.thread(thread_id).is_none() {
            self.announcement.set(t(Text::MessagingUnshared).into());
        }
    }

    /// Forgets what this tab decrypted of threads no longer listed
    /// (messages, keys, typing, drafts).
    fn forget_unlisted(&self) {
        let listed: HashSet<String> = self
            .threads
            .with_untracked(|list| list.iter().map(|t| t.thread_id.clone()).collect());
        self.messages
            .update(|all| all.retain(|id, _| listed.contains(id)));
        self.typing
            .update(|all| all.retain(|id, _| listed.contains(id)));
        self.earlier
            .update(|all| all.retain(|id, _| listed.contains(id)));
        self.keys
            .update_value(|all| all.retain(|(id, _), _| listed.contains(id)));
        self.drafts
            .update_value(|all| all.retain(|id, _| listed.contains(id)));
        self.summaries
            .update(|all| all.retain(|id, _| listed.contains(id)));
    }

    /// Reads again who helps this patient (or whom this caregiver helps);
    /// on failure what was known stays.
    pub async fn reload_people(&self, session: Session) {
        let ticket = session.ticket();
        let Some(token) = session.token() else { return };
        if let Ok(people) = api::caregivers::people(&token).await
            && session.is_current(ticket)
        {
            self.people.set(Some(people));
            self.share_whole_scopes(session);
        }
    }

    /// Fetches the clinic's details, its texts in the language shown (again
    /// when the language changes: `app` asks).
    pub async fn reload_clinic(&self, session: Session) {
        let ticket = session.ticket();
        let Some(token) = session.token() else { return };
        let lang = crate::i18n::lang_untracked();
        if let Ok(info) = api::account::clinic(&token, lang.tag()).await
            && session.is_current(ticket)
        {
            self.clinic.set(Some(info));
            self.clinic_lang.set_value(Some(lang));
        }
    }

    /// Reloads the thread list.
    pub async fn refresh(&self, session: Session) -> Result<(), SessionError> {
        let ticket = session.ticket();
        let token = session.token().ok_or(SessionError::Interrupted)?;
        if self.clinic_lang.get_value() != Some(crate::i18n::lang_untracked()) {
            self.reload_clinic(session).await;
        }
        if self.people.with_untracked(Option::is_none) {
            self.reload_people(session).await;
        }
        let asked_at = js_sys::Date::now();
        let mut list = api::threads::list(&token).await?;
        session.check(ticket)?;
        self.settle_unread(&mut list, asked_at);
        // Newest first (`!` reverses the order of `u64`s).
        crate::components::sort_by_u64(&mut list, |t| !t.last_message_at.unwrap_or(t.created_at));
        // A patient's thread someone left (a caregiver removed, or their
        // access ran out): its next epoch starts now, from this device, so
        // the next message is not held waiting for it.
        let me = session.account_id.get_untracked().unwrap_or_default();
        let rekey: Vec<String> = list
            .iter()
            .filter(|t| t.needs_rekey && is_member_as(t, &me, Role::Patient))
            .map(|t| t.thread_id.clone())
            .collect();
        self.threads.set(list);
        for thread_id in rekey {
            // One at a time per thread, however often the list reloads.
            if !self
                .rekeying
                .try_update_value(|r| r.insert(thread_id.clone()))
                .unwrap_or(false)
            {
                continue;
            }
            let inbox = *self;
            leptos::task::spawn_local(async move {
                let _ = crypto::next_epoch(&inbox, session, &thread_id).await;
                inbox.rekeying.update_value(|r| {
                    r.remove(&thread_id);
                });
            });
        }
        self.share_whole_scopes(session);
        let inbox = *self;
        leptos::task::spawn_local(async move { inbox.summarize(session).await });
        Ok(())
    }

    /// One thread from the list, if loaded.
    pub fn thread(&self, thread_id: &str) -> Option<Thread> {
        self.threads
            .with(|list| list.iter().find(|t| t.thread_id == thread_id).cloned())
    }

    /// Opens a thread: its newest page the first time (older pages come
    /// with [`Self::load_earlier`]), and afterwards only what arrived since
    /// (from the first message missing from what is loaded).
    /// A long gap (a phone offline for days) starts again from the newest
    /// page rather than fetching everything in between.
    pub async fn open_thread(&self, session: Session, thread_id: &str) -> Result<(), SessionError> {
        let ticket = session.ticket();
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let asked_at = js_sys::Date::now();
        let thread = api::threads::thread(&token, thread_id).await?;
        // Every member's history, verified once per unlock: the thread's
        // key-change notices, and the heads messages are compared with.
        for member in &thread.members {
            let _ = crypto::bundle(self, session, &member.account_id, false).await;
        }
        session.check(ticket)?;
        self.upsert_thread(thread, asked_at);
        let caught_up = self
            .messages
            .with_untracked(|all| all.get(thread_id).map(|list| history::caught_up_to(list)));
        let mut fresh = true;
        let mut fetched = Vec::new();
        if let Some(caught_up) = caught_up {
            let page =
                api::threads::messages_after(&token, thread_id, caught_up.unwrap_or(0)).await?;
            if page.next_cursor.is_none() {
                fresh = false;
                fetched = self.open_page(session, thread_id, &page.messages).await?;
            }
        }
        let mut earlier = None;
        if fresh {
            let page = api::threads::messages_before(&token, thread_id, None).await?;
            earlier = page.earlier_cursor;
            fetched = self.open_page(session, thread_id, &page.messages).await?;
        }
        // What this device still has queued for the thread (a closed tab,
        // a dropped connection) shows again, waiting.
        if let Some(me) = session.account_id.get_untracked()
            && let Ok(queued) = outbox::pending(&me).await
        {
            for item in queued.iter().filter(|q| q.thread_id == thread_id) {
                if let Some(mut waiting) =
                    crypto::open_queued(self, session, thread_id, &item.envelope).await
                {
                    if item.upload.is_some() {
                        self.show_stalled_upload(&mut waiting);
                    }
                    fetched.push(waiting);
                }
            }
        }
        // Locked (or signed out) while this was on its way: what was opened
        // belongs to a session that is over, and is dropped here.
        session.check(ticket)?;
        self.messages.update(|all| {
            let list = all.entry(thread_id.to_owned()).or_default();
            if fresh {
                // Start again from this page; keep what the relay does not
                // have yet and what arrived live after the page was read.
                let page_newest = history::newest_seq(&fetched);
                list.retain(|m| m.seq.is_none() || m.seq > page_newest);
            }
            history::merge(list, fetched);
        });
        if fresh {
            self.set_earlier(thread_id, earlier);
        }
        Ok(())
    }

    /// Fetches and opens the page before what a thread shows; `false` when
    /// it already shows the thread's first message.
    pub async fn load_earlier(
        &self,
        session: Session,
        thread_id: &str,
    ) -> Result<bool, SessionError> {
        let ticket = session.ticket();
        let Some(before) = self.earlier.with_untracked(|e| e.get(thread_id).copied()) else {
            return Ok(false);
        };
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let page = api::threads::messages_before(&token, thread_id, Some(before)).await?;
        let fetched = self.open_page(session, thread_id, &page.messages).await?;
        // A lock while this was on its way ended the session it began in.
        session.check(ticket)?;
        if !self
            .messages
            .with_untracked(|all| all.contains_key(thread_id))
        {
            return Err(SessionError::Interrupted);
        }
        self.messages.update(|all| {
            history::merge(all.entry(thread_id.to_owned()).or_default(), fetched);
        });
        self.set_earlier(thread_id, page.earlier_cursor);
        Ok(true)
    }

    /// Every thread and all of its history, opened in memory (for search,
    /// on this device only). Stops at a lock or sign-out.
    pub async fn load_everything(&self, session: Session) {
        let ticket = session.ticket();
        let _ = self.refresh(session).await;
        let ids: Vec<String> = self
            .threads
            .with_untracked(|t| t.iter().map(|t| t.thread_id.clone()).collect());
        for id in ids {
            if !session.is_current(ticket) {
                return;
            }
            let _ = self.load_all(session, &id).await;
        }
    }

    /// Opens a thread and all of its history (for search).
    async fn load_all(&self, session: Session, thread_id: &str) -> Result<(), SessionError> {
        if !self
            .messages
            .with_untracked(|all| all.contains_key(thread_id))
        {
            self.open_thread(session, thread_id).await?;
        }
        while self.load_earlier(session, thread_id).await? {}
        Ok(())
    }

    /// How many messages come before what a thread has loaded.
    pub fn earlier_count(&self, thread_id: &str) -> u64 {
        // Sequence numbers count from 1 with no gaps, so the cursor (the
        // first loaded message's number) says how many are before it.
        self.earlier.with(|e| {
            e.get(thread_id)
                .map_or(0, |before| before.saturating_sub(1))
        })
    }

    fn set_earlier(&self, thread_id: &str, cursor: Option<u64>) {
        self.earlier.update(|e| match cursor {
            Some(before) => {
                e.insert(thread_id.to_owned(), before);
            }
            None => {
                e.remove(thread_id);
            }
        });
    }

    async fn open_page(
        &self,
        session: Session,
        thread_id: &str,
        page: &[StoredMessage],
    ) -> Result<Vec<Shown>, SessionError> {
        let mut shown = Vec::with_capacity(page.len());
        for stored in page {
            shown.push(crypto::open(self, session, thread_id, stored).await?);
        }
        Ok(shown)
    }

    /// Starts a thread with the clinic: creates it, seals epoch 0's key to
    /// every member, and sends the first message (with `file`, its upload
    /// starts and goes on after this returns). Returns the thread id.
    pub async fn start_thread(
        &self,
        session: Session,
        category: Category,
        subject: String,
        text: String,
        file: Option<crate::attachments::upload::Picked>,
    ) -> Result<String, SessionError> {
        let ticket = session.ticket();
        let token = session.token().ok_or(SessionError::Interrupted)?;
        let asked_at = js_sys::Date::now();
        let thread = api::threads::create(&token, category).await?;
        let thread_id = thread.thread_id.clone();
        crypto::start_epoch(self, session, &thread).await?;
        session.check(ticket)?;
        self.upsert_thread(thread, asked_at);
        // Sealed like a message, stored with the thread. It is optional:
        // the thread goes on without it when it cannot be stored.
        let subject = subject.trim();
        if !subject.is_empty()
            && let Ok(sealed) = crypto::seal_subject(self, session, &thread_id, 0, subject).await
            && api::threads::set_subject(&token, &thread_id, sealed)
                .await
                .is_ok()
            && session.is_current(ticket)
        {
            self.summaries.update(|s| {
                s.entry(thread_id.clone()).or_default().subject = Some(subject.to_owned());
            });
        }
        self.messages.update(|all| {
            all.insert(thread_id.clone(), Vec::new());
        });
        match file {
            // The upload goes on beside the thread screen, which shows its
            // progress (and Cancel) in the first message.
            Some(picked) => {
                let (inbox, id) = (*self, thread_id.clone());
                leptos::task::spawn_local(async move {
                    inbox
                        .send_file(session, &id, text, picked, Some(category))
                        .await;
                });
            }
            None => {
                self.send(session, &thread_id, text, None, Some(category))
                    .await;
            }
        }
        let _ = self.refresh(session).await;
        Ok(thread_id)
    }

    /// Sends a message: shown at once as "Sending", sealed under the
    /// thread's current epoch, posted with its own id (a retry cannot
    /// duplicate it).
    pub async fn send(
        &self,
        session: Session,
        thread_id: &str,
        text: String,
        quick_reply: Option<(String, String)>,
        category: Option<Category>,
    ) {
        let Some(me) = session.account_id.get_untracked() else {
            return;
        };
        let shown = Shown {
            answers_offer: quick_reply.as_ref().map(|(offer, _)| offer.clone()),
            ..Shown::outgoing(me, text)
        };
        self.messages.update(|all| {
            all.entry(thread_id.to_owned())
                .or_default()
                .push(shown.clone());
        });
        self.post(session, thread_id, shown, quick_reply, category)
            .await;
    }

    /// Sends a failed message again, with the same id.
    pub async fn retry(&self, session: Session, thread_id: &str, message_id: &str) {
        if self.retry_file(session, thread_id, message_id).await {
            return;
        }
        let Some(shown) = self.messages.with_untracked(|all| {
            all.get(thread_id)
                .and_then(|list| list.iter().find(|m| m.message_id == message_id))
                .cloned()
        }) else {
            return;
        };
        let ticket = session.ticket();
        self.set_delivery(thread_id, message_id, Delivery::Sending, None);
        // The thread may have moved to a new epoch since the first try.
        let asked_at = js_sys::Date::now();
        if let Some(token) = session.token()
            && let Ok(thread) = api::threads::thread(&token, thread_id).await
        {
            if !session.is_current(ticket) {
                return;
            }
            self.upsert_thread(thread, asked_at);
        }
        let quick_reply = shown
            .answers_offer
            .clone()
            .map(|offer| (offer, String::new()));
        self.post(session, thread_id, shown, quick_reply, None)
            .await;
    }

    async fn post(
        &self,
        session: Session,
        thread_id: &str,
        shown: Shown,
        quick_reply: Option<(String, String)>,
        category: Option<Category>,
    ) {
        let ticket = session.ticket();
        // In the order written: sealed after the message before is queued.
        let turn = in_order::take(self.sending).await;
        let sealed = crypto::seal(self, session, thread_id, &shown, quick_reply, category).await;
        if !session.is_current(ticket) {
            // Locked meanwhile: the message went with the session's
            // plaintext; nothing of it was stored.
            return;
        }
        let envelope = match sealed {
            Ok(envelope) => envelope,
            Err(error) => {
                let reason = session.explain(&error);
                self.set_delivery(thread_id, &shown.message_id, Delivery::Failed(reason), None);
                return;
            }
        };
        let queued = outbox::Queued {
            account_id: shown.sender_id.clone(),
            thread_id: thread_id.to_owned(),
            message_id: shown.message_id.clone(),
            queued_at: turn.queued_at(),
            envelope,
            attachments: shown
                .attachments
                .iter()
                .map(|a| a.blob_id.clone())
                .collect(),
            upload: None,
        };
        if outbox::put(&queued).await.is_err() {
            // No storage (private browsing): send directly, without the
            // safety net (still in turn).
            self.deliver(session, ticket, &queued).await;
            return;
        }
        // Queued: the next message may be sealed while this one goes.
        drop(turn);
        self.flush(session).await;
    }

    /// Sends what the outbox holds, oldest first, until the relay cannot be
    /// reached. The relay's idempotent message ids make a resend of
    /// something already stored harmless.
    pub async fn flush(&self, session: Session) {
        if self.flushing.get_value() {
            return;
        }
        let Some(me) = session.account_id.get_untracked() else {
            return;
        };
        let ticket = session.ticket();
        self.flushing.set_value(true);
        loop {
            if !session.is_current(ticket) {
                break;
            }
            let Ok(queued) = outbox::pending(&me).await else {
                break;
            };
            // A message whose file is still uploading goes once the upload
            // is finished; it does not hold up the ones after it.
            let Some(next) = queued.iter().find(|q| q.upload.is_none()) else {
                break;
            };
            let wait = match self.deliver(session, ticket, next).await {
                Posted::Done => continue,
                Posted::Unreachable => Delivery::Queued,
                Posted::NotNow(after) => {
                    self.retry_after(session, after);
                    Delivery::Retrying
                }
            };
            if !session.is_current(ticket) {
                break;
            }
            for waiting in queued.iter().filter(|q| q.upload.is_none()) {
                self.set_delivery(&waiting.thread_id, &waiting.message_id, wait.clone(), None);
            }
            break;
        }
        self.flushing.set_value(false);
    }

    /// Flushes again once `after` has passed (one timer at a time), while
    /// the session is the same one.
    fn retry_after(&self, session: Session, after: std::time::Duration) {
        if self.retry_scheduled.get_value() {
            return;
        }
        self.retry_scheduled.set_value(true);
        let inbox = *self;
        let ticket = session.ticket();
        set_timeout(
            move || {
                inbox.retry_scheduled.set_value(false);
                if session.is_current(ticket) {
                    leptos::task::spawn_local(async move { inbox.flush(session).await });
                }
            },
            after,
        );
    }

    /// Posts one queued envelope; unless it is done with (stored, or
    /// refused for good), it stays queued. What it shows changes only while
    /// the session `ticket` was taken in is current.
    async fn deliver(&self, session: Session, ticket: Ticket, queued: &outbox::Queued) -> Posted {
        let Some(token) = session.token() else {
            return Posted::Unreachable;
        };
        match api::threads::post(
            &token,
            &queued.thread_id,
            queued.envelope.clone(),
            queued.attachments.clone(),
        )
        .await
        {
            Ok(stored) => {
                let _ = outbox::remove(&queued.message_id).await;
                if !session.is_current(ticket) {
                    return Posted::Done;
                }
                self.set_delivery(
                    &queued.thread_id,
                    &queued.message_id,
                    Delivery::Sent,
                    Some(stored.seq),
                );
                Posted::Done
            }
            Err(ApiError::Unreachable) => Posted::Unreachable,
            // Locked meanwhile (the session's token was revoked): it stays
            // queued for the next unlock.
            Err(_) if !session.is_current(ticket) => Posted::Unreachable,
            Err(error) => {
                if let Some(after) = error.retry_later() {
                    return Posted::NotNow(after);
                }
                // Refused for good (the thread changed, the session ended):
                // off the queue; "Retry" seals it again.
                let _ = outbox::remove(&queued.message_id).await;
                let stale = error.code() == Some(ward_proto::ErrorCode::StaleEpoch);
                if stale && self.reseal_after_rekey(session, &queued.thread_id).await {
                    // Someone left and this device is the patient's: the
                    // next epoch is started as it is sealed again.
                    let inbox = *self;
                    let (thread_id, message_id) =
                        (queued.thread_id.clone(), queued.message_id.clone());
                    leptos::task::spawn_local(async move {
                        inbox.retry(session, &thread_id, &message_id).await;
                    });
                    return Posted::Done;
                }
                let reason = if stale {
                    SessionError::ThreadKeysChanged.message()
                } else {
                    session.explain(&error)
                };
                self.set_delivery(
                    &queued.thread_id,
                    &queued.message_id,
                    Delivery::Failed(reason),
                    None,
                );
                Posted::Done
            }
        }
    }

    /// After a send was refused as stale: the thread as it is now, and
    /// whether it waits for an epoch this device (the patient's) starts,
    /// so the message can be sealed again at once.
    async fn reseal_after_rekey(&self, session: Session, thread_id: &str) -> bool {
        let Some(token) = session.token() else {
            return false;
        };
        let ticket = session.ticket();
        let asked_at = js_sys::Date::now();
        let Ok(thread) = api::threads::thread(&token, thread_id).await else {
            return false;
        };
        if !session.is_current(ticket) {
            return false;
        }
        let me = session.account_id.get_untracked().unwrap_or_default();
        let rekey_here = thread.needs_rekey && is_member_as(&thread, &me, Role::Patient);
        self.upsert_thread(thread, asked_at);
        rekey_here
    }

    /// Threads the relay described as of `asked_at` count as read where
    /// this device's "read" receipt got through since (their unread count
    /// is older than the receipt).
    fn settle_unread(&self, threads: &mut [Thread], asked_at: f64) {
        self.read_at.with_value(|read_at| {
            for thread in threads {
                if read_at
                    .get(&thread.thread_id)
                    .is_some_and(|at| *at as f64 >= asked_at)
                {
                    thread.unread_count = 0;
                }
            }
        });
    }

    /// Tells the thread's other members the patient has read up to `seq`
    /// (the screen calls it only when that message is on a visible page).
    /// `seq` is the newest message from others, so once the relay has the
    /// receipt, nothing in the thread is unread (the count the list and a
    /// clinic's page show), whatever a list asked for earlier says when it
    /// comes back after this.
    pub async fn mark_read(&self, session: Session, thread_id: &str, seq: u64) {
        let ticket = session.ticket();
        let sent = self
            .receipt(session, thread_id, ReceiptKind::Read, seq)
            .await;
        if sent && session.is_current(ticket) {
            self.read_at.update_value(|read_at| {
                read_at.insert(thread_id.to_owned(), js_sys::Date::now() as u64);
            });
            self.threads.update(|list| {
                if let Some(thread) = list.iter_mut().find(|t| t.thread_id == thread_id) {
                    thread.unread_count = 0;
                }
            });
        }
    }

    /// A cumulative receipt for `thread_id` up to `seq`; whether the relay
    /// took it.
    pub(crate) async fn receipt(
        &self,
        session: Session,
        thread_id: &str,
        kind: ReceiptKind,
        seq: u64,
    ) -> bool {
        match session.token() {
            Some(token) => api::threads::receipt(&token, thread_id, kind, seq)
                .await
                .is_ok(),
            None => false,
        }
    }

    /// Tells the thread's other members the patient is typing, at most once
    /// every few seconds however fast they type.
    pub async fn typing_now(&self, session: Session, thread_id: &str) {
        let at = js_sys::Date::now();
        if at - self.typing_sent.get_value() < TYPING_EVERY_MS {
            return;
        }
        self.typing_sent.set_value(at);
        if let Some(token) = session.token() {
            let _ = api::threads::typing(&token, thread_id).await;
        }
    }

    fn set_delivery(
        &self,
        thread_id: &str,
        message_id: &str,
        delivery: Delivery,
        seq: Option<u64>,
    ) {
        self.update_message(thread_id, message_id, |message| {
            message.delivery = Some(delivery);
            if seq.is_some() {
                message.seq = seq;
            }
        });
    }

    /// Changes one shown message in place, if it is loaded.
    fn update_message(&self, thread_id: &str, message_id: &str, f: impl FnOnce(&mut Shown)) {
        self.messages.update(|all| {
            if let Some(message) = all
                .get_mut(thread_id)
                .and_then(|list| list.iter_mut().find(|m| m.message_id == message_id))
            {
                f(message);
            }
        });
    }

    /// Puts a thread the relay sent (asked for at `asked_at`, `Date.now()`)
    /// in the list.
    fn upsert_thread(&self, mut thread: Thread, asked_at: f64) {
        self.settle_unread(std::slice::from_mut(&mut thread), asked_at);
        self.threads.update(|list| {
            match list.iter_mut().find(|t| t.thread_id == thread.thread_id) {
                Some(existing) => *existing = thread,
                None => list.insert(0, thread),
            }
        });
    }

    /// "Riverside Clinic · care team", "You", "Dana for Sam".
    pub fn sender_label(&self, thread_id: &str, sender_id: &str, me: &str) -> String {
        if sender_id == me {
            return t(Text::MessagingYou).into();
        }
        self.thread(thread_id)
            .map(|t| member_label(&t.members, sender_id))
            .unwrap_or_else(|| t(Text::MessagingNoLongerMember).into())
    }
}

impl Default for Inbox {
    fn default() -> Self {
        Self::new()
    }
}

/// At most one typing event per this many ms.
const TYPING_EVERY_MS: f64 = 3_000.0;

/// Whether `account_id` is in `thread` as `role` (the patient, who starts
/// epochs and shares; a caregiver, whose grant may be read only).
pub fn is_member_as(thread: &Thread, account_id: &str, role: Role) -> bool {
    thread
        .members
        .iter()
        .any(|m| m.account_id == account_id && m.role == role)
}

/// How a thread member is named on their messages: a caregiver always with
/// the patient they answer for (as [`ward_proto::threads::speaker`] names
/// them, in the language shown), the clinic as the care team.
fn member_label(members: &[Member], account_id: &str) -> String {
    let Some(member) = members.iter().find(|m| m.account_id == account_id) else {
        return t(Text::MessagingNoLongerMember).into();
    };
    let name = member.display_name.as_str();
    match member.role {
        Role::Clinic => fill(Text::MessagingCareTeamMember, &[("name", name)]),
        Role::Caregiver => match members.iter().find(|m| m.role == Role::Patient) {
            Some(patient) => fill(
                Text::MessagingCaregiverFor,
                &[("caregiver", name), ("patient", &patient.display_name)],
            ),
            None => fill(Text::MessagingCaregiverMember, &[("name", name)]),
        },
        Role::Patient => name.to_owned(),
    }
}

/// What a category is called on screen.
pub fn category_label(category: Category) -> &'static str {
    t(match category {
        Category::Appointment => Text::MessagingCategoryAppointment,
        Category::Refill => Text::MessagingCategoryRefill,
        Category::Question => Text::MessagingCategoryQuestion,
        Category::Billing => Text::MessagingCategoryBilling,
        Category::Other => Text::MessagingCategoryOther,
        Category::Confidential => Text::MessagingCategoryConfidential,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, role: Role, name: &str) -> Member {
        Member {
            account_id: id.into(),
            role,
            display_name: name.into(),
            delivered_up_to: 0,
            read_up_to: 0,
            read_at: None,
        }
    }

    #[test]
    fn each_sender_is_named_with_who_they_are_for_the_patient() {
        let members = [
            member("p", Role::Patient, "Sam"),
            member("c", Role::Clinic, "Riverside Clinic"),
            member("d", Role::Caregiver, "Dana"),
        ];
        assert_eq!(member_label(&members, "d"), "Dana for Sam");
        assert_eq!(member_label(&members, "c"), "Riverside Clinic · care team");
        assert_eq!(member_label(&members, "p"), "Sam");
        assert_eq!(
            member_label(&members, "gone"),
            "Someone no longer in this thread"
        );
        assert_eq!(member_label(&members[1..], "d"), "Dana · caregiver");
    }
}
