//! The thread's messages: grouped by day, with key-change notices at their
//! time, the newest [`WINDOW`] on the page and "Show earlier messages" for
//! the rest (keeping the scroll position), and each message with who sent
//! it, its delivery and read state, attachments and upload.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::upload::UploadProgress;
use super::{time_label, with_messages};
use crate::components::attachment::AttachmentView;
use crate::components::list::List;
use crate::components::notice::element_by_id;
use crate::i18n::{Plural, Text, count, fill, t, tr};
use crate::messaging::pinning;
use crate::messaging::{Delivery, Inbox, Shown};
use crate::session::{Session, SessionError};

/// How many messages a thread puts on the page at first (and adds per
/// "Show earlier messages").
const WINDOW: usize = 100;

/// The scrolling part of the thread: `children` (above the messages), the
/// button that shows earlier ones, the messages, and the "New message ↓"
/// pill for one that arrives while the patient reads further up.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn MessageList(
    thread_id: Memo<String>,
    error: RwSignal<Option<String>>,
    children: Children,
) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let scroller = NodeRef::<leptos::html::Div>::new();
    let me = move || session.account_id.get().unwrap_or_default();
    let loaded = move || {
        let mut count = 0;
        with_messages(inbox, thread_id, &mut |list| count = list.len());
        count
    };
    // Only the newest messages are put on the page, the rest (and the
    // pages not fetched yet) wait for "Show earlier messages": a long
    // thread costs the same to show as a short one.
    let shown_count = RwSignal::new(WINDOW);
    let hidden = move || loaded().saturating_sub(shown_count.get());
    let earlier = move || hidden() as u64 + inbox.earlier_count(&thread_id.get());
    let notices = key_notices(thread_id);
    // What the patient had read when the thread opened (before this visit
    // marks it read): the "Unread messages" divider goes after it.
    let read_before = RwSignal::new(None::<(String, u64)>);
    Effect::new(move |_| {
        let id = thread_id.get();
        if read_before.with_untracked(|r| r.as_ref().is_some_and(|(t, _)| *t == id)) {
            return;
        }
        let me = me();
        let read = inbox.thread(&id).and_then(|t| {
            t.members
                .iter()
                .find(|m| m.account_id == me)
                .map(|m| m.read_up_to)
        });
        if let Some(read) = read {
            read_before.set(Some((id, read)));
        }
    });
    let rows = Memo::new(move |_| {
        let skip = hidden();
        let more_before = earlier() > 0;
        let id = thread_id.get();
        let unread_after = read_before
            .get()
            .filter(|(t, _)| *t == id)
            .map(|(_, read)| read);
        let me = me();
        let mut rows = Vec::new();
        // Unknown while the first loaded message is unread and older ones
        // are still on the relay.
        let older_on_relay = inbox.earlier_count(&id) > 0;
        notices.with(|notices| {
            with_messages(inbox, thread_id, &mut |list| {
                let first_unread = unread_after.and_then(|read| {
                    let at = list
                        .iter()
                        .position(|m| m.sender_id != me && m.seq.is_some_and(|seq| seq > read))?;
                    (at > 0 || !older_on_relay).then(|| list[at].message_id.clone())
                });
                let list = &list[skip.min(list.len())..];
                // What is before the first message shown waits for
                // "Show earlier messages" with it.
                let from = match list.first() {
                    Some(first) if more_before => first.sent_at_ms,
                    _ => 0,
                };
                let notices: Vec<_> = notices
                    .iter()
                    .filter(|(at, _)| *at >= from)
                    .cloned()
                    .collect();
                rows = day_rows(list, &notices, first_unread.as_deref());
            });
        });
        rows
    });

    // Open at the first unread message (else the newest), follow new ones
    // while the patient is at the bottom (or sent them), and otherwise
    // leave the view where it is and offer the pill.
    let newest_shown = StoredValue::new(None::<(String, String)>);
    let unseen = RwSignal::new(None::<String>);
    // Whether the patient was at the bottom before anything arrived (a tall
    // new row must not count against it), kept as they scroll.
    let at_bottom = StoredValue::new(true);
    Effect::new(move |_| {
        let id = thread_id.get();
        let mut newest = None;
        with_messages(inbox, thread_id, &mut |list| {
            newest = list
                .last()
                .map(|m| (m.message_id.clone(), m.sender_id == me()));
        });
        let Some((newest, mine)) = newest else {
            return;
        };
        let before = newest_shown.get_value();
        let opening = before.as_ref().is_none_or(|(shown_in, _)| *shown_in != id);
        if !opening && before.as_ref().is_some_and(|(_, shown)| *shown == newest) {
            return;
        }
        newest_shown.set_value(Some((id, newest.clone())));
        if opening {
            unseen.set(None);
            // The rows a thread opens with are not read out.
            log_busy(scroller, true);
            request_animation_frame(move || {
                log_busy(scroller, false);
                scroll_to_gap(scroller, 0.0);
                if let Some(divider) = element_by_id("unread-divider") {
                    divider.scroll_into_view();
                }
            });
        } else if mine || at_bottom.get_value() {
            request_animation_frame(move || scroll_to_gap(scroller, 0.0));
        } else if unseen.get_untracked().is_none() {
            unseen.set(Some(newest));
        }
    });
    let on_scroll = move |_| {
        let bottom = gap_below(scroller).is_some_and(|gap| gap < 40.0);
        at_bottom.set_value(bottom);
        if bottom && unseen.get_untracked().is_some() {
            unseen.set(None);
        }
    };
    let pill_text = move || {
        let first = unseen.get()?;
        let me = me();
        let mut new = 0;
        with_messages(inbox, thread_id, &mut |list| {
            new = list
                .iter()
                .skip_while(|m| m.message_id != first)
                .filter(|m| m.sender_id != me)
                .count();
        });
        // Never "0 new messages": the pill is there for at least one.
        Some(count(Plural::ThreadNewMessagesPill, new.max(1) as u64, &[]))
    };
    let go_to_unseen = move |_| {
        if let Some(first) = unseen.get_untracked()
            && let Some(row) = element_by_id(&format!("m-{first}"))
        {
            row.scroll_into_view();
        }
        unseen.set(None);
        // The pill goes away: focus stays in the messages, not on the page.
        if let Some(list) = scroller.get_untracked() {
            let _ = list.focus();
        }
    };
    let loading_earlier = RwSignal::new(false);
    let show_earlier = move |_| {
        // The messages on screen stay where they are as older ones go in
        // above them.
        let keep = gap_below(scroller);
        log_busy(scroller, true);
        let settle = move || {
            request_animation_frame(move || {
                log_busy(scroller, false);
                if let Some(gap) = keep {
                    scroll_to_gap(scroller, gap);
                }
            });
        };
        if hidden() > 0 {
            shown_count.update(|n| *n += WINDOW);
            settle();
            return;
        }
        let id = thread_id.get_untracked();
        loading_earlier.set(true);
        spawn_local(async move {
            match inbox.load_earlier(session, &id).await {
                Ok(_) => shown_count.update(|n| *n += WINDOW),
                // Locked meanwhile: nothing was added, nothing to say.
                Err(SessionError::Interrupted) => {}
                Err(e) => error.set(Some(session.explain(&e))),
            }
            settle();
            loading_earlier.set(false);
        });
    };

    view! {
        // Focusable, so the messages scroll by keyboard too. A log: a new
        // message is read out politely as it arrives (not the rows a
        // thread opens with or "Show earlier" puts in, nor a changed
        // delivery line).
        <div class="message-scroller" node_ref=scroller tabindex="0" on:scroll=on_scroll
            role="log" aria-label=tr(Text::ThreadMessagesLabel)>
            {children()}
            <Show when=move || { earlier() > 0 }>
                <button type="button" class="link-button show-earlier" disabled=loading_earlier on:click=show_earlier>
                    {move || if loading_earlier.get() {
                        t(Text::ThreadOpeningEarlier).to_owned()
                    } else {
                        count(Plural::ThreadShowEarlier, earlier(), &[])
                    }}
                </button>
            </Show>
            <ol class="messages">
                // Keyed: showing earlier messages or a new one arriving adds
                // rows without rebuilding the ones already on the page.
                <List each=move || rows.get() key=Row::key let(row)>
                    {match row {
                        Row::Day(day) => view! { <li class="day"><h2>{day}</h2></li> }.into_any(),
                        Row::Unread => view! {
                            <li class="unread-divider" id="unread-divider"><h2>{tr(Text::ThreadUnreadDivider)}</h2></li>
                        }.into_any(),
                        Row::Notice(_, text) => view! {
                            <li class="notice key-notice" data-testid="key-change-notice"><p>{text}</p></li>
                        }.into_any(),
                        Row::Message(m) => view! {
                            <MessageItem message=*m me=me() thread_id=thread_id.get_untracked() />
                        }.into_any(),
                    }}
                </List>
            </ol>
            {move || pill_text().map(|text| view! {
                <button type="button" class="button new-pill" on:click=go_to_unseen>{text}</button>
            })}
        </div>
    }
}

/// Key changes of other members since the thread began, as notices in the
/// log at their time (Unix ms, text), oldest first.
fn key_notices(thread_id: Memo<String>) -> Memo<Vec<(u64, String)>> {
    let session = Session::get();
    let inbox = Inbox::get();
    Memo::new(move |_| {
        let me = session.account_id.get().unwrap_or_default();
        let Some(thread) = inbox.thread(&thread_id.get()) else {
            return Vec::new();
        };
        let mut notices: Vec<(u64, String)> = inbox.key_events.with(|events| {
            thread
                .members
                .iter()
                .filter(|m| m.account_id != me)
                .flat_map(|m| {
                    events
                        .get(&m.account_id)
                        .into_iter()
                        .flatten()
                        .map(move |at| {
                            (
                                at.saturating_mul(1000),
                                pinning::notice(&m.display_name, &crate::i18n::short_date(*at)),
                            )
                        })
                })
                // Key changes are dated to the second: one in the thread's
                // own second is since the thread began.
                .filter(|(at_ms, _)| *at_ms >= thread.created_at / 1000 * 1000)
                .collect()
        });
        // In `sort()`'s order (time, then text) without a sort compiled
        // for this type (see `sort_by_u64`): by time, then the few notices
        // of the same millisecond into text order by an insertion pass.
        crate::components::sort_by_u64(&mut notices, |(at_ms, _)| *at_ms);
        for i in 1..notices.len() {
            let mut j = i;
            while j > 0 && notices[j - 1] > notices[j] {
                notices.swap(j - 1, j);
                j -= 1;
            }
        }
        notices
    })
}

/// One row of the message list.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// The heading above a day's first message.
    Day(String),
    /// Before the first message that was unread when the thread opened.
    Unread,
    /// A member's key changed (its time in Unix ms, the notice).
    Notice(u64, String),
    /// A message.
    Message(Box<Shown>),
}

/// A message's delivery, as its row's key says it.
fn delivery_key(delivery: Option<&Delivery>) -> &str {
    match delivery {
        None => "",
        Some(Delivery::Sending) => "sending",
        Some(Delivery::Queued) => "queued",
        Some(Delivery::Retrying) => "retrying",
        Some(Delivery::Sent) => "sent",
        Some(Delivery::Failed(why)) => why,
    }
}

impl Row {
    /// What identifies the row: a message's row is rebuilt only when what
    /// it shows from the message changes (stored, delivered, failed).
    fn key(&self) -> String {
        match self {
            Self::Day(day) => format!("day {day}"),
            Self::Unread => "unread".into(),
            Self::Notice(at, text) => format!("notice {at} {text}"),
            // No `{:?}`: a `Debug` of text would bring Rust's Unicode
            // escaping tables into the client.
            Self::Message(m) => format!(
                "{} {} {} {} {} {}",
                m.sender_id,
                m.message_id,
                m.seq.unwrap_or(0),
                delivery_key(m.delivery.as_ref()),
                m.attachments.len(),
                m.upload.is_some()
            ),
        }
    }
}

/// Messages with a heading before each day's first, each notice (Unix ms,
/// text; oldest first) before the first message after it, and the unread
/// divider before `first_unread`.
fn day_rows(list: &[Shown], notices: &[(u64, String)], first_unread: Option<&str>) -> Vec<Row> {
    let mut rows = Vec::with_capacity(list.len() + notices.len() + 8);
    // The locale's day name is asked for only when the day changes: it is
    // the slow part of building rows.
    let mut last_day = None;
    let mut day_of = |rows: &mut Vec<Row>, at_ms: u64| {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
        let day = (date.get_full_year(), date.get_month(), date.get_date());
        if last_day != Some(day) {
            last_day = Some(day);
            rows.push(Row::Day(crate::i18n::day_heading(at_ms)));
        }
    };
    let mut pending = notices.iter().peekable();
    for m in list {
        while let Some((at, text)) = pending.next_if(|(at, _)| *at <= m.sent_at_ms) {
            day_of(&mut rows, *at);
            rows.push(Row::Notice(*at, text.clone()));
        }
        day_of(&mut rows, m.sent_at_ms);
        if first_unread == Some(m.message_id.as_str()) {
            rows.push(Row::Unread);
        }
        rows.push(Row::Message(Box::new(m.clone())));
    }
    for (at, text) in pending {
        day_of(&mut rows, *at);
        rows.push(Row::Notice(*at, text.clone()));
    }
    rows
}

/// Marks the messages' log busy (what goes in is not read out) or not.
/// Only rows added are read out, not a changed delivery line.
fn log_busy(scroller: NodeRef<leptos::html::Div>, busy: bool) {
    if let Some(log) = scroller.get_untracked() {
        let _ = log.set_attribute("aria-relevant", "additions");
        let _ = if busy {
            log.set_attribute("aria-busy", "true")
        } else {
            log.remove_attribute("aria-busy")
        };
    }
}

/// How far the messages are scrolled up from their bottom, in CSS pixels.
fn gap_below(scroller: NodeRef<leptos::html::Div>) -> Option<f64> {
    let list = scroller.get_untracked()?;
    let gap = list.scroll_height() - list.client_height() - list.scroll_top();
    Some(f64::from(gap.max(0)))
}

/// Scrolls the messages so their bottom is `gap` pixels below the view's.
fn scroll_to_gap(scroller: NodeRef<leptos::html::Div>, gap: f64) {
    if let Some(list) = scroller.get_untracked() {
        list.set_scroll_top(list.scroll_height() - list.client_height() - gap as i32);
    }
}

#[component]
fn MessageItem(message: Shown, me: String, thread_id: String) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let mine = message.sender_id == me;
    // Both follow a change of language (and only that: the sender's name
    // is read untracked, not again on every change to the thread).
    let who = {
        let (thread_id, sender_id, me) = (thread_id.clone(), message.sender_id.clone(), me.clone());
        move || {
            crate::i18n::lang();
            untrack(|| inbox.sender_label(&thread_id, &sender_id, &me))
        }
    };
    let sent_at_ms = message.sent_at_ms;
    let time = move || time_label(sent_at_ms);
    let seq = message.seq;
    let delivery = message.delivery.clone();
    let failed_id = message.message_id.clone();
    let retry_thread = thread_id.clone();
    let upload_thread = thread_id.clone();
    let status = move || -> Option<String> {
        if !mine {
            return None;
        }
        match &delivery {
            Some(Delivery::Sending) => Some(t(Text::ThreadSending).into()),
            Some(Delivery::Queued) => Some(t(Text::ThreadQueued).into()),
            Some(Delivery::Retrying) => Some(t(Text::ThreadRetrying).into()),
            Some(Delivery::Failed(reason)) => {
                Some(fill(Text::ThreadNotSent, &[("reason", reason)]))
            }
            _ => {
                let seq = seq?;
                let others = inbox.thread(&thread_id)?.members;
                let reader = others
                    .iter()
                    .filter(|m| m.account_id != me)
                    .find(|m| m.read_up_to >= seq);
                if let Some(reader) = reader {
                    return Some(match reader.read_at {
                        Some(at) => fill(Text::ThreadReadAt, &[("time", &time_label(at))]),
                        None => t(Text::ThreadRead).into(),
                    });
                }
                let delivered = others
                    .iter()
                    .any(|m| m.account_id != me && m.delivered_up_to >= seq);
                Some(
                    t(if delivered {
                        Text::ThreadDelivered
                    } else {
                        Text::ThreadSent
                    })
                    .into(),
                )
            }
        }
    };
    let failed = matches!(message.delivery, Some(Delivery::Failed(_)));
    let retry = move |_| {
        let (thread_id, message_id) = (retry_thread.clone(), failed_id.clone());
        spawn_local(async move { inbox.retry(session, &thread_id, &message_id).await });
        // The row is drawn again without the button: focus waits in the
        // composer, not on the page.
        crate::components::notice::focus_id_soon("composer-text");
    };
    view! {
        <li class=if mine { "message mine" } else { "message theirs" } id=format!("m-{}", message.message_id)>
            <p class="from"><span class="who">{who}</span>" · "<time>{time}</time></p>
            {(!message.text.is_empty()).then(|| view! { <p class="text">{message.text.clone()}</p> })}
            // A file still on its way up has nothing to open yet.
            {message.upload.is_none().then(|| {
                message.attachments.iter().map(|a| view! { <AttachmentView attachment=a.clone() /> }).collect_view()
            })}
            {message.upload.is_some().then(|| view! {
                <UploadProgress thread_id=upload_thread.clone() message_id=message.message_id.clone() />
            })}
            // "Not sent" is said at once.
            {move || status().map(|s| view! { <p class="status" role=if failed { "alert" } else { "paragraph" }>{s}</p> })}
            <Show when=move || failed>
                <button type="button" class="link-button" on:click=retry.clone()>{tr(Text::ThreadRetry)}</button>
            </Show>
        </li>
    }
}
