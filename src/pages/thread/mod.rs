//! One conversation: messages grouped by day with who sent them, delivery
//! and read state on the patient's own, the care team's typing, quick
//! replies, and the composer. [`ThreadView`] holds the screen's state (the
//! thread, the draft, the clock) and puts together the pieces: `header`
//! (title, typing line), `notices` (key alerts), `message_list` (the
//! messages and "Show earlier messages"), `upload` (a file on its way up),
//! `quick_replies` and `sharing` (who can see it, for its patient). It reads the inbox and calls the messaging service;
//! it never fetches or decrypts.

mod header;
mod message_list;
mod notices;
mod quick_replies;
mod sharing;
mod upload;

use crate::router::Location;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::attachments::upload::Picked;
use crate::components::composer::Composer;
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, fill, tr};
use crate::messaging::{Inbox, Shown, is_member_as};
use crate::session::{Phase, Session, SessionError};
use header::{ThreadHeader, TypingLine};
use message_list::MessageList;
use notices::KeyAlerts;
use quick_replies::QuickReplies;
use sharing::ThreadSharing;
use ward_proto::threads::Role;

pub(crate) use crate::i18n::time_label;

fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| !d.hidden())
}

/// The thread screen.
#[component]
pub fn ThreadView() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let location = Location::get();
    let thread_id = Memo::new(move |_| {
        location
            .path()
            .strip_prefix("/threads/")
            .unwrap_or_default()
            .to_owned()
    });
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let now = RwSignal::new(js_sys::Date::now());
    // The draft lives in the inbox per thread, so leaving and coming back
    // (or a lock) keeps it.
    // Drafts kept across an update's reload come back a moment after the
    // unlock: an empty box takes its draft then.
    Effect::new(move |previous: Option<(String, u32)>| {
        let id = thread_id.get();
        let restored = inbox.drafts_restored.get();
        let moved = previous.as_ref().map(|(was, _)| was) != Some(&id);
        let refill =
            previous.is_some_and(|(_, was)| was != restored) && draft.get_untracked().is_empty();
        if moved || refill {
            draft.set(
                inbox
                    .drafts
                    .with_value(|d| d.get(&id).cloned().unwrap_or_default()),
            );
        }
        (id, restored)
    });
    Effect::new(move |first_run_done: Option<()>| {
        let text = draft.get();
        // The first run only subscribes: it must not wipe a stored draft
        // before the loader above has put it back in the box.
        if first_run_done.is_none() {
            return;
        }
        let id = thread_id.get_untracked();
        inbox.drafts.update_value(|d| {
            if text.is_empty() {
                d.remove(&id);
            } else {
                d.insert(id, text);
            }
        });
    });
    let me = move || session.account_id.get().unwrap_or_default();

    // Load (again after an unlock: the lock dropped decrypted messages).
    Effect::new(move |_| {
        let id = thread_id.get();
        if session.phase.get() == Phase::Unlocked && !id.is_empty() {
            spawn_local(async move {
                match inbox.open_thread(session, &id).await {
                    // Locked meanwhile: it opens again after the unlock.
                    Ok(()) | Err(SessionError::Interrupted) => {}
                    Err(e) => error.set(Some(session.explain(&e))),
                }
            });
        }
    });

    // A clock for "typing…" to expire and for visibility-gated receipts.
    if let Ok(handle) = set_interval_with_handle(
        move || now.set(js_sys::Date::now()),
        std::time::Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }

    // Read receipts: only when the newest message from others is on a
    // visible page, and only once per message.
    let read_sent = StoredValue::new(0u64);
    Effect::new(move |_| {
        now.track();
        let me = me();
        let mut newest = None;
        with_messages(inbox, thread_id, &mut |list| {
            newest = list
                .iter()
                .rev()
                .filter(|m| m.sender_id != me)
                .find_map(|m| m.seq);
        });
        if let Some(seq) = newest
            && seq > read_sent.get_value()
            && page_visible()
            && session.phase.get_untracked() == Phase::Unlocked
        {
            read_sent.set_value(seq);
            let id = thread_id.get_untracked();
            spawn_local(async move { inbox.mark_read(session, &id, seq).await });
        }
    });

    let on_typing = Callback::new(move |()| {
        let id = thread_id.get_untracked();
        spawn_local(async move { inbox.typing_now(session, &id).await });
    });
    let attachment = RwSignal::new_local(None::<Picked>);
    let on_send = Callback::new(move |text: String| {
        let id = thread_id.get_untracked();
        let file = attachment.get_untracked();
        attachment.set(None);
        spawn_local(async move {
            match file {
                Some(picked) => inbox.send_file(session, &id, text, picked, None).await,
                None => inbox.send(session, &id, text, None, None).await,
            }
        });
    });

    // A caregiver whose access ended while the thread was open: it left
    // the list (and its messages were forgotten, `Inbox::access_ended`).
    let was_listed = StoredValue::new(false);
    let access_ended = Memo::new(move |_| {
        let id = thread_id.get();
        let listed = inbox
            .threads
            .with(|list| list.iter().any(|t| t.thread_id == id));
        if listed {
            was_listed.set_value(true);
        }
        !listed && was_listed.get_value()
    });

    // A read-only caregiver reads; the composer is not theirs to use (the
    // relay refuses their sends too). The patient's name, when so.
    let read_only_for = Memo::new(move |_| {
        let me = me();
        let thread = inbox.thread(&thread_id.get())?;
        let caregiver = is_member_as(&thread, &me, Role::Caregiver);
        let patient = thread.members.iter().find(|m| m.role == Role::Patient)?;
        let may_send = inbox.people.with(|p| {
            p.as_ref()
                .and_then(|p| {
                    p.patients
                        .iter()
                        .find(|h| h.account_id == patient.account_id)
                })
                .is_none_or(|h| h.can_send)
        });
        (caregiver && !may_send).then(|| patient.display_name.clone())
    });

    view! {
        <section class="thread" aria-labelledby="thread-title">
            <ThreadHeader thread_id=thread_id />
            <Show
                when=move || !access_ended.get()
                fallback=|| view! {
                    <p class="notice" role="alert">{tr(Text::ThreadAccessEnded)}</p>
                    <a href="/">{tr(Text::ThreadBackToYourMessages)}</a>
                }
            >
                <KeyAlerts thread_id=thread_id error=error />
                // Only the messages scroll: the header above and the
                // composer below stay where they are.
                <MessageList thread_id=thread_id error=error>
                    <ThreadSharing thread_id=thread_id />
                </MessageList>
                <ErrorNote message=error />
                <TypingLine thread_id=thread_id now=now />
                <Show
                    when=move || read_only_for.get().is_none()
                    fallback=move || view! {
                        <p class="notice">{move || fill(
                            Text::ThreadReadOnly,
                            &[("name", &read_only_for.get().unwrap_or_default())],
                        )}</p>
                    }
                >
                    <QuickReplies thread_id=thread_id />
                    <Composer draft=draft on_send=on_send on_typing=on_typing attachment=attachment />
                </Show>
            </Show>
        </section>
    }
}

/// Reads of a thread's messages borrow the list: a long history is never
/// copied whole.
fn with_messages(inbox: Inbox, thread_id: Memo<String>, f: &mut dyn FnMut(&[Shown])) {
    inbox.messages.with(|all| {
        f(all.get(&thread_id.get()).map_or(&[][..], Vec::as_slice));
    });
}
