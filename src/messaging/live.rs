//! The live stream while unlocked: new messages, receipts and typing, with
//! reconnection (and catch-up by reloading what is open) when it drops.
//! Each stream belongs to the session generation it was opened in: its
//! events are applied only while that generation is current (the session
//! itself drops the inbox's plaintext on lock and sign-out).

use std::collections::{HashMap, VecDeque};

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::events::{Event, ReceiptKind};

use super::{Inbox, Link, crypto, history};
use crate::api::events::{self, EventStream};
use crate::i18n::{Text, fill};
use crate::session::{Phase, Session, Ticket};

/// How long "typing…" shows after the last typing event.
const TYPING_MS: u64 = 6_000;

/// Keeps the stream open while `session` is unlocked, and closed
/// otherwise.
pub(crate) fn run(session: Session, inbox: Inbox) {
    let stream = StoredValue::new_local(None::<EventStream>);
    let attempt = StoredValue::new(0u32);
    let queue = StoredValue::new_local(Queue::default());
    // Back online: send what waited, and reconnect at once.
    if let Some(window) = web_sys::window() {
        let offline = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
            inbox.link.set(Link::Offline);
        });
        let _ = window.add_event_listener_with_callback(
            "offline",
            wasm_bindgen::JsCast::unchecked_ref(offline.as_ref()),
        );
        offline.forget();
        let online = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
            inbox.link.set(Link::Reconnecting);
            if session.phase.get_untracked() == Phase::Unlocked {
                attempt.set_value(0);
                connect(session, inbox, stream, attempt, queue);
                spawn_local(async move {
                    inbox.flush(session).await;
                    inbox.resume_uploads(session).await;
                });
            }
        });
        let _ = window.add_event_listener_with_callback(
            "online",
            wasm_bindgen::JsCast::unchecked_ref(online.as_ref()),
        );
        online.forget();
    }
    Effect::new(move |_| {
        let unlocked = session.phase.get() == Phase::Unlocked;
        let offline = web_sys::window().is_some_and(|w| !w.navigator().on_line());
        inbox.link.set(if offline {
            Link::Offline
        } else {
            Link::Connecting
        });
        if unlocked {
            connect(session, inbox, stream, attempt, queue);
            spawn_local(async move {
                let _ = inbox.refresh(session).await;
            });
        } else {
            stream.set_value(None);
            queue.update_value(|q| {
                q.events.clear();
                q.delivered.clear();
                q.behind = false;
            });
        }
    });
}

fn connect(
    session: Session,
    inbox: Inbox,
    stream: StoredValue<Option<EventStream>, LocalStorage>,
    attempt: StoredValue<u32>,
    queue: StoredValue<Queue, LocalStorage>,
) {
    let Some(token) = session.token() else {
        return;
    };
    let ticket = session.ticket();
    let on_event = move |event: Event| {
        // A stream of a session that ended (locked since) says nothing.
        if !session.is_current(ticket) {
            return;
        }
        attempt.set_value(0);
        queue.update_value(|q| q.events.push_back((ticket, event)));
        if !queue.with_value(|q| q.draining) {
            spawn_local(async move { drain(session, inbox, queue).await });
        }
    };
    let on_closed = move || {
        if session.phase.get_untracked() != Phase::Unlocked {
            return;
        }
        // What the relay sends until a new stream is ready is lost: catch
        // up once it is (catching up before could miss what arrives in
        // between).
        queue.update_value(|q| q.behind = true);
        if inbox.link.get_untracked() != Link::Offline {
            inbox.link.set(Link::Reconnecting);
        }
        // Back off 1, 2, 4 … 30 s.
        let tries = attempt.get_value();
        attempt.set_value(tries.saturating_add(1));
        let delay = (1_000u32 << tries.min(5)).min(30_000);
        set_timeout(
            move || {
                if session.phase.get_untracked() == Phase::Unlocked {
                    connect(session, inbox, stream, attempt, queue);
                }
            },
            std::time::Duration::from_millis(u64::from(delay)),
        );
    };
    stream.set_value(events::connect(&token, on_event, on_closed));
}

async fn catch_up(session: Session, inbox: Inbox) {
    let _ = inbox.refresh(session).await;
    let open: Vec<String> = inbox
        .messages
        .with_untracked(|m| m.keys().cloned().collect());
    for thread_id in open {
        let _ = inbox.open_thread(session, &thread_id).await;
    }
}

/// Events waiting to be applied, and what a burst of them leaves to do.
#[derive(Default)]
struct Queue {
    /// Each with the session generation its stream belongs to.
    events: VecDeque<(Ticket, Event)>,
    draining: bool,
    /// The thread list needs reloading (order, unread counts).
    list_changed: bool,
    /// "Delivered" receipts to send: the newest arrived seq per thread.
    delivered: HashMap<String, u64>,
    /// A stream dropped: the next one to be ready catches up on what is
    /// open.
    behind: bool,
}

/// Applies events one at a time, in the order they came (a burst of 200
/// messages is opened in order, not raced). Once the queue is empty, the
/// thread list is reloaded once and one cumulative "delivered" receipt
/// goes per thread, however many messages the burst held.
async fn drain(session: Session, inbox: Inbox, queue: StoredValue<Queue, LocalStorage>) {
    queue.update_value(|q| q.draining = true);
    loop {
        while let Some((ticket, event)) = queue.try_update_value(|q| q.events.pop_front()).flatten()
        {
            if session.is_current(ticket) {
                apply(session, inbox, queue, ticket, event).await;
            }
        }
        let (list_changed, delivered) = queue
            .try_update_value(|q| {
                (
                    std::mem::take(&mut q.list_changed),
                    std::mem::take(&mut q.delivered),
                )
            })
            .unwrap_or_default();
        for (thread_id, seq) in delivered {
            // It reached this device; "read" waits until it is on screen.
            inbox
                .receipt(session, &thread_id, ReceiptKind::Delivered, seq)
                .await;
        }
        if list_changed {
            let _ = inbox.refresh(session).await;
        }
        if queue.with_value(|q| q.events.is_empty()) {
            break;
        }
    }
    queue.update_value(|q| q.draining = false);
}

async fn apply(
    session: Session,
    inbox: Inbox,
    queue: StoredValue<Queue, LocalStorage>,
    ticket: Ticket,
    event: Event,
) {
    let me = session.account_id.get_untracked().unwrap_or_default();
    match event {
        // (Re)connected: whatever waited in the outbox goes now, and after a
        // drop what was missed is fetched (both beside the stream, which
        // must not wait for them).
        Event::Ready { .. } => {
            inbox.link.set(Link::Live);
            if queue
                .try_update_value(|q| std::mem::take(&mut q.behind))
                .unwrap_or(false)
            {
                spawn_local(catch_up(session, inbox));
            }
            spawn_local(async move {
                inbox.flush(session).await;
                inbox.resume_uploads(session).await;
            });
        }
        Event::Message { thread_id, message } => {
            let loaded = inbox
                .messages
                .with_untracked(|m| m.contains_key(&thread_id));
            let opened = if loaded {
                crypto::open(&inbox, session, &thread_id, &message)
                    .await
                    .ok()
            } else {
                None
            };
            // Locked while it was being opened: nothing of it is kept.
            if !session.is_current(ticket) {
                return;
            }
            if let Some(shown) = opened {
                let from_me = shown.sender_id == me;
                inbox.messages.update(|all| {
                    history::merge(all.entry(thread_id.clone()).or_default(), vec![shown]);
                });
                if !from_me {
                    inbox.typing.update(|t| {
                        t.remove(&thread_id);
                    });
                }
            }
            if message.sender_id != me {
                let name = inbox.sender_label(&thread_id, &message.sender_id, &me);
                inbox
                    .announcement
                    .set(fill(Text::MessagingNewMessageFrom, &[("name", &name)]));
                inbox.arrivals.update(|n| *n += 1);
                queue.update_value(|q| {
                    let newest = q.delivered.entry(thread_id.clone()).or_default();
                    *newest = (*newest).max(message.seq);
                });
            }
            queue.update_value(|q| q.list_changed = true);
        }
        Event::Receipt {
            thread_id,
            account_id,
            kind,
            up_to_seq,
            at,
        } => {
            inbox.threads.update(|list| {
                if let Some(member) = list
                    .iter_mut()
                    .find(|t| t.thread_id == thread_id)
                    .and_then(|t| t.members.iter_mut().find(|m| m.account_id == account_id))
                {
                    match kind {
                        ReceiptKind::Delivered => {
                            member.delivered_up_to = member.delivered_up_to.max(up_to_seq);
                        }
                        ReceiptKind::Read => {
                            member.read_up_to = member.read_up_to.max(up_to_seq);
                            member.delivered_up_to = member.delivered_up_to.max(up_to_seq);
                            member.read_at = Some(at);
                        }
                    }
                }
            });
        }
        // A member published new keys: their history again, at once (the
        // thread's notice, and sending holds until the patient confirms).
        Event::KeyChanged { account_id } => {
            if account_id != me {
                inbox.recheck_keys(session, &account_id).await;
            }
        }
        Event::AccessEnded { patient_id } => inbox.access_ended(session, &patient_id).await,
        Event::ThreadUnshared { thread_id } => inbox.thread_unshared(session, &thread_id).await,
        // A patient shared a thread with this caregiver: the list shows it.
        // What this caregiver may do changed (read only, or until when).
        Event::GrantChanged { .. } => inbox.reload_people(session).await,
        Event::ThreadShared { .. } => {
            inbox.reload_people(session).await;
            queue.update_value(|q| q.list_changed = true);
        }
        // A newer relay's event this version does not know.
        Event::Unknown => {}
        Event::Typing {
            thread_id,
            account_id,
        } => {
            if account_id != me {
                let until = js_sys::Date::now() as u64 + TYPING_MS;
                inbox.typing.update(|t| {
                    t.insert(thread_id, until);
                });
            }
        }
    }
}
