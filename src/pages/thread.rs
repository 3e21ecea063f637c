//! One conversation: messages grouped by day with who sent them, delivery
//! and read state on the patient's own, the care team's typing, quick
//! replies, and the composer.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use ward_proto::events::ReceiptKind;
use ward_proto::threads::Role;

use crate::api;
use crate::attachments::upload::{Picked, prepare};
use crate::attachments::{percent, size_label};
use crate::components::attachment::AttachmentView;
use crate::components::composer::Composer;
use crate::components::notice::ErrorNote;
use crate::messaging::pinning;
use crate::messaging::{Delivery, Inbox, Shown, UploadStep, category_label};
use crate::session::{Phase, Session};

/// How many messages a thread puts on the page at first (and adds per
/// "Show earlier messages").
const WINDOW: usize = 100;

/// "2:14 PM" today, else "Mar 3, 2:14 PM", in the patient's locale.
pub fn time_label(unix_ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64));
    let today = js_sys::Date::new_0();
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    };
    set("hour", "numeric");
    set("minute", "2-digit");
    if date.to_date_string() != today.to_date_string() {
        set("month", "short");
        set("day", "numeric");
    }
    String::from(date.to_locale_string("default", &options))
}

fn day_label(unix_ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64));
    let options = js_sys::Object::new();
    for (k, v) in [("weekday", "long"), ("month", "long"), ("day", "numeric")] {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    }
    String::from(date.to_locale_date_string("default", &options))
}

/// "3 Dec" (or the locale's order), for key-change notices.
fn short_date(unix_seconds: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        unix_seconds as f64 * 1000.0,
    ));
    let options = js_sys::Object::new();
    for (k, v) in [("month", "short"), ("day", "numeric")] {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    }
    String::from(date.to_locale_date_string("default", &options))
}

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
    let params = use_params_map();
    let thread_id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let now = RwSignal::new(js_sys::Date::now());
    // The draft lives in the inbox per thread, so leaving and coming back
    // (or a lock) keeps it.
    Effect::new(move |previous: Option<String>| {
        let id = thread_id.get();
        if previous.as_deref() != Some(id.as_str()) {
            draft.set(
                inbox
                    .drafts
                    .with_value(|d| d.get(&id).cloned().unwrap_or_default()),
            );
        }
        id
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
                if let Err(e) = inbox.open_thread(session, &id).await {
                    error.set(Some(session.explain(&e)));
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

    // Reads of the thread's messages borrow the list: a long history is
    // never copied whole.
    let with_messages = move |f: &mut dyn FnMut(&[Shown])| {
        inbox.messages.with(|all| {
            f(all.get(&thread_id.get()).map_or(&[][..], Vec::as_slice));
        });
    };
    let loaded = move || {
        let mut count = 0;
        with_messages(&mut |list| count = list.len());
        count
    };
    // Only the newest messages are put on the page, the rest (and the
    // pages not fetched yet) wait for "Show earlier messages": a long
    // thread costs the same to show as a short one.
    let shown_count = RwSignal::new(WINDOW);
    let hidden = move || loaded().saturating_sub(shown_count.get());
    let earlier = move || hidden() as u64 + inbox.earlier_count(&thread_id.get());
    // Key changes of other members since the thread began, as notices in
    // the log at their time (Unix ms, text), oldest first.
    let notices = Memo::new(move |_| {
        let me = me();
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
                                pinning::notice(&m.display_name, &short_date(*at)),
                            )
                        })
                })
                // Key changes are dated to the second: one in the thread's
                // own second is since the thread began.
                .filter(|(at_ms, _)| *at_ms >= thread.created_at / 1000 * 1000)
                .collect()
        });
        notices.sort();
        notices
    });
    let rows = Memo::new(move |_| {
        let skip = hidden();
        let more_before = earlier() > 0;
        let mut rows = Vec::new();
        notices.with(|notices| {
            with_messages(&mut |list| {
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
                rows = day_rows(list, &notices);
            });
        });
        rows
    });

    // Open at the newest message, and follow new ones while the patient is
    // at the bottom; someone reading older messages stays where they are.
    let newest_shown = StoredValue::new(None::<String>);
    Effect::new(move |_| {
        let mut newest = None;
        with_messages(&mut |list| newest = list.last().map(|m| m.message_id.clone()));
        let before = newest_shown.get_value();
        if newest.is_none() || newest == before {
            return;
        }
        newest_shown.set_value(newest);
        if before.is_none() || scroll_from_bottom().is_some_and(|gap| gap < 160.0) {
            request_animation_frame(|| scroll_to_from_bottom(0.0));
        }
    });
    let loading_earlier = RwSignal::new(false);
    let show_earlier = move |_| {
        // The messages on screen stay where they are as older ones go in
        // above them.
        let keep = scroll_from_bottom();
        let settle = move || {
            if let Some(gap) = keep {
                request_animation_frame(move || scroll_to_from_bottom(gap));
            }
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
                Ok(_) => {
                    shown_count.update(|n| *n += WINDOW);
                    settle();
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
            loading_earlier.set(false);
        });
    };

    // Read receipts: only when the newest message from others is on a
    // visible page, and only once per message.
    let read_sent = StoredValue::new(0u64);
    Effect::new(move |_| {
        now.track();
        let me = me();
        let mut newest = None;
        with_messages(&mut |list| {
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
            spawn_local(async move {
                if let Some(token) = session.token() {
                    let _ = api::threads::receipt(&token, &id, ReceiptKind::Read, seq).await;
                }
            });
        }
    });

    let typing_sent = StoredValue::new(0f64);
    let on_typing = Callback::new(move |()| {
        let at = js_sys::Date::now();
        if at - typing_sent.get_value() < 3_000.0 {
            return;
        }
        typing_sent.set_value(at);
        let id = thread_id.get_untracked();
        spawn_local(async move {
            if let Some(token) = session.token() {
                let _ = api::threads::typing(&token, &id).await;
            }
        });
    });
    let attachment = RwSignal::new_local(None::<Picked>);
    let on_send = Callback::new(move |text: String| {
        let id = thread_id.get_untracked();
        let file = attachment.get_untracked();
        attachment.set(None);
        spawn_local(async move {
            match file {
                Some(picked) => inbox.send_file(session, &id, text, picked).await,
                None => inbox.send(session, &id, text, None, None).await,
            }
        });
    });

    let thread = move || inbox.thread(&thread_id.get());
    let title = move || {
        thread()
            .map(|t| category_label(t.category))
            .unwrap_or("Conversation")
    };
    let clinic = move || {
        thread()
            .and_then(|t| t.members.into_iter().find(|m| m.role == Role::Clinic))
            .map(|m| m.display_name)
            .unwrap_or_else(|| "Your care team".into())
    };
    let typing = move || {
        inbox.typing.with(|t| {
            t.get(&thread_id.get())
                .is_some_and(|until| *until > now.get())
        })
    };

    // The newest offer of quick replies from others, if nothing answers it yet.
    let offer = move || {
        let me = me();
        let mut open = None;
        with_messages(&mut |list| open = open_offer(list, &me));
        open
    };
    let choose = move |offer_id: String, option_id: String, label: String| {
        let id = thread_id.get_untracked();
        spawn_local(async move {
            inbox
                .send(session, &id, label, Some((offer_id, option_id)), None)
                .await;
        });
    };

    // Members whose keys changed: sending waits until the patient compares
    // the new safety number and confirms.
    let changed = move || {
        let me = me();
        let id = thread_id.get();
        let members = thread().map(|t| t.members).unwrap_or_default();
        inbox.key_changes.with(|changes| {
            members
                .iter()
                .filter(|m| m.account_id != me)
                .filter_map(|m| {
                    changes.get(&m.account_id).map(|c| {
                        (
                            m.account_id.clone(),
                            inbox.sender_label(&id, &m.account_id, &me),
                            c.safety_number.clone(),
                            c.old_safety_number.clone(),
                        )
                    })
                })
                .collect::<Vec<_>>()
        })
    };
    // Members the relay showed a rewritten history for, and members whose
    // history another member saw differently: hard stop, call the clinic.
    let named = move |accounts: &std::collections::HashSet<String>| {
        let me = me();
        let id = thread_id.get();
        thread()
            .map(|t| t.members)
            .unwrap_or_default()
            .iter()
            .filter(|m| m.account_id != me && accounts.contains(&m.account_id))
            .map(|m| inbox.sender_label(&id, &m.account_id, &me))
            .collect::<Vec<_>>()
    };
    let rewritten = move || inbox.rewritten.with(named);
    let split = move || inbox.split_views.with(named);
    let accept = move |account_id: String| {
        let id = thread_id.get_untracked();
        spawn_local(async move {
            match inbox.accept_key_change(session, &id, &account_id).await {
                Ok(()) => error.set(None),
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };

    view! {
        <section class="thread" aria-labelledby="thread-title">
            <h1 id="thread-title" tabindex="-1">{title}</h1>
            <p class="meta">{move || format!("With {}", clinic())}</p>
            {move || rewritten().into_iter().map(|name| view! {
                <div class="key-change" role="alert" data-testid="key-history-rewritten">
                    <p><strong>{format!("{name}: Ward's server showed a different key history.")}</strong></p>
                    <p>"The history of their security keys is not the one this device saw before. Ward will not send to them or open their messages here. Call the clinic."</p>
                </div>
            }).collect_view()}
            {move || split().into_iter().map(|name| view! {
                <div class="key-change" role="alert" data-testid="key-split-view">
                    <p><strong>{format!("{name}: others were shown different security keys.")}</strong></p>
                    <p>"Someone in this conversation saw a different history of their security keys than you did. Nothing is sent until this is sorted out. Call the clinic."</p>
                </div>
            }).collect_view()}
            {move || changed().into_iter().map(|(account_id, name, number, old)| view! {
                <div class="key-change" role="alert">
                    <p><strong>{format!("{name}: security keys changed.")}</strong></p>
                    <p>"This happens when they set up a new device, but it could also mean someone is trying to read your messages. Nothing is sent to them until you check. Ask them to read you their safety number, by phone or in person, and compare:"</p>
                    <p>"Before: "<span class="safety-number" data-testid="old-safety-number">{old}</span></p>
                    <p>"Now: "</p>
                    <p class="safety-number" data-testid="new-safety-number">{number}</p>
                    <button type="button" class="button primary" on:click=move |_| accept(account_id.clone())>
                        "It matches: continue"
                    </button>
                </div>
            }).collect_view()}
            <ErrorNote message=error />
            <Show when=move || { earlier() > 0 }>
                <button type="button" class="link-button show-earlier" disabled=loading_earlier on:click=show_earlier>
                    {move || if loading_earlier.get() {
                        "Opening earlier messages…".to_string()
                    } else {
                        format!("Show earlier messages ({} more)", earlier())
                    }}
                </button>
            </Show>
            <ol class="messages" aria-label="Messages">
                // Keyed: showing earlier messages or a new one arriving adds
                // rows without rebuilding the ones already on the page.
                <For each=move || rows.get() key=Row::key let(row)>
                    {match row {
                        Row::Day(day) => view! { <li class="day"><h2>{day}</h2></li> }.into_any(),
                        Row::Notice(_, text) => view! {
                            <li class="notice key-notice" data-testid="key-change-notice"><p>{text}</p></li>
                        }.into_any(),
                        Row::Message(m) => view! {
                            <MessageItem message=*m me=me() thread_id=thread_id.get_untracked() />
                        }.into_any(),
                    }}
                </For>
            </ol>
            <p class="typing" aria-live="polite">
                {move || typing().then(|| format!("{} is typing…", clinic()))}
            </p>
            {move || offer().map(|offer| {
                let offer_id = offer.message_id.clone();
                view! {
                    <div class="quick-replies" role="group" aria-label="Quick replies">
                        {offer.quick_replies.iter().map(|(option_id, label)| {
                            let (offer_id, option_id, label) = (offer_id.clone(), option_id.clone(), label.clone());
                            let text = label.clone();
                            view! {
                                <button type="button" class="button secondary"
                                    on:click=move |_| choose(offer_id.clone(), option_id.clone(), label.clone())>
                                    {text}
                                </button>
                            }
                        }).collect_view()}
                    </div>
                }
            })}
            <Composer draft=draft on_send=on_send on_typing=on_typing attachment=attachment />
        </section>
    }
}

/// One row of the message list.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// The heading above a day's first message.
    Day(String),
    /// A member's key changed (its time in Unix ms, the notice).
    Notice(u64, String),
    /// A message.
    Message(Box<Shown>),
}

impl Row {
    /// What identifies the row: a message's row is rebuilt only when what
    /// it shows from the message changes (stored, delivered, failed).
    fn key(&self) -> String {
        match self {
            Self::Day(day) => format!("day {day}"),
            Self::Notice(at, text) => format!("notice {at} {text}"),
            Self::Message(m) => format!(
                "{} {} {:?} {:?} {} {}",
                m.sender_id,
                m.message_id,
                m.seq,
                m.delivery,
                m.attachments.len(),
                m.upload.is_some()
            ),
        }
    }
}

/// Messages with a heading before each day's first, and each notice
/// (Unix ms, text; oldest first) before the first message after it.
fn day_rows(list: &[Shown], notices: &[(u64, String)]) -> Vec<Row> {
    let mut rows = Vec::with_capacity(list.len() + notices.len() + 8);
    // The locale's day name is asked for only when the day changes: it is
    // the slow part of building rows.
    let mut last_day = None;
    let mut day_of = |rows: &mut Vec<Row>, at_ms: u64| {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
        let day = (date.get_full_year(), date.get_month(), date.get_date());
        if last_day != Some(day) {
            last_day = Some(day);
            rows.push(Row::Day(day_label(at_ms)));
        }
    };
    let mut pending = notices.iter().peekable();
    for m in list {
        while let Some((at, text)) = pending.next_if(|(at, _)| *at <= m.sent_at_ms) {
            day_of(&mut rows, *at);
            rows.push(Row::Notice(*at, text.clone()));
        }
        day_of(&mut rows, m.sent_at_ms);
        rows.push(Row::Message(Box::new(m.clone())));
    }
    for (at, text) in pending {
        day_of(&mut rows, *at);
        rows.push(Row::Notice(*at, text.clone()));
    }
    rows
}

/// The newest offer of quick replies from others, unless `me` answered it.
fn open_offer(list: &[Shown], me: &str) -> Option<Shown> {
    let (index, offer) = list
        .iter()
        .enumerate()
        .rev()
        .find(|(_, m)| m.sender_id != me && !m.quick_replies.is_empty())?;
    let answered = list[index + 1..]
        .iter()
        .any(|m| m.sender_id == me && m.answers_offer.as_deref() == Some(&offer.message_id));
    (!answered).then(|| offer.clone())
}

/// How far the page is scrolled up from its bottom, in CSS pixels.
fn scroll_from_bottom() -> Option<f64> {
    let window = web_sys::window()?;
    let root = window.document()?.document_element()?;
    let height = window.inner_height().ok()?.as_f64()?;
    let y = window.scroll_y().ok()?;
    Some((f64::from(root.scroll_height()) - y - height).max(0.0))
}

/// Scrolls so the page's bottom is `gap` pixels below the screen's.
fn scroll_to_from_bottom(gap: f64) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let height = window
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    if let Some(root) = window.document().and_then(|d| d.document_element()) {
        window.scroll_to_with_x_and_y(0.0, f64::from(root.scroll_height()) - height - gap);
    }
}

#[component]
fn MessageItem(message: Shown, me: String, thread_id: String) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let mine = message.sender_id == me;
    let who = inbox.sender_label(&thread_id, &message.sender_id, &me);
    let time = time_label(message.sent_at_ms);
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
            Some(Delivery::Sending) => Some("Sending".into()),
            Some(Delivery::Queued) => {
                Some("Waiting for a connection. It will be sent when you are back online.".into())
            }
            Some(Delivery::Failed(reason)) => Some(format!("Not sent. {reason}")),
            _ => {
                let seq = seq?;
                let others = inbox.thread(&thread_id)?.members;
                let reader = others
                    .iter()
                    .filter(|m| m.account_id != me)
                    .find(|m| m.read_up_to >= seq);
                if let Some(reader) = reader {
                    return Some(match reader.read_at {
                        Some(at) => format!("Read {}", time_label(at)),
                        None => "Read".into(),
                    });
                }
                let delivered = others
                    .iter()
                    .any(|m| m.account_id != me && m.delivered_up_to >= seq);
                Some(if delivered { "Delivered" } else { "Sent" }.into())
            }
        }
    };
    let failed = matches!(message.delivery, Some(Delivery::Failed(_)));
    let retry = move |_| {
        let (thread_id, message_id) = (retry_thread.clone(), failed_id.clone());
        spawn_local(async move { inbox.retry(session, &thread_id, &message_id).await });
    };
    view! {
        <li class=if mine { "message mine" } else { "message theirs" }>
            <p class="from"><span class="who">{who}</span>" · "<time>{time}</time></p>
            {(!message.text.is_empty()).then(|| view! { <p class="text">{message.text.clone()}</p> })}
            // A file still on its way up has nothing to open yet.
            {message.upload.is_none().then(|| {
                message.attachments.iter().map(|a| view! { <AttachmentView attachment=a.clone() /> }).collect_view()
            })}
            {message.upload.is_some().then(|| view! {
                <UploadProgress thread_id=upload_thread.clone() message_id=message.message_id.clone() />
            })}
            {move || status().map(|s| view! { <p class="status">{s}</p> })}
            <Show when=move || failed>
                <button type="button" class="link-button" on:click=retry.clone()>"Retry"</button>
            </Show>
        </li>
    }
}

/// A file on its way up with one of the patient's messages: how far, and
/// Cancel; after a closed tab, a way to choose the file again.
#[component]
fn UploadProgress(thread_id: String, message_id: String) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let error = RwSignal::new(None::<String>);
    let state = {
        let (thread_id, message_id) = (thread_id.clone(), message_id.clone());
        move || {
            let running = inbox.upload_done.with(|d| d.get(&message_id).copied());
            inbox
                .messages
                .with(|all| {
                    all.get(&thread_id)
                        .and_then(|list| list.iter().rev().find(|m| m.message_id == message_id))
                        .and_then(|m| m.upload.clone())
                })
                .map(|mut upload| {
                    upload.done = running.unwrap_or(upload.done);
                    upload
                })
        }
    };
    let cancel = {
        let (thread_id, message_id) = (thread_id.clone(), message_id.clone());
        move |_| {
            let (thread_id, message_id) = (thread_id.clone(), message_id.clone());
            spawn_local(async move { inbox.cancel_upload(&thread_id, &message_id).await });
        }
    };
    let again = move |ev: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into(t).ok());
        let Some(file) = input.and_then(|i| i.files()).and_then(|f| f.get(0)) else {
            return;
        };
        let (thread_id, message_id) = (thread_id.clone(), message_id.clone());
        error.set(None);
        spawn_local(async move {
            // The same checks and cleaning as the first time, so the bytes
            // (and their fingerprint) come out the same.
            let picked = match prepare(&file, u64::MAX, &[]).await {
                Ok(picked) => picked,
                Err(reason) => {
                    error.set(Some(reason));
                    return;
                }
            };
            // Why a file was not taken shows in the upload's own state,
            // which outlives this row being rebuilt.
            let _ = inbox
                .resume_with_file(session, &thread_id, &message_id, picked)
                .await;
        });
    };
    view! {
        {move || state().map(|upload| {
            let percent = percent(upload.done, upload.total);
            let text = match upload.step {
                UploadStep::Preparing => format!("Preparing {}… {percent}%", upload.name),
                UploadStep::Uploading => format!(
                    "Encrypting and uploading {} of {} ({percent}%)",
                    size_label(upload.done),
                    size_label(upload.total)
                ),
                UploadStep::Waiting => format!(
                    "Waiting for a connection. The upload continues from {percent}% when you are back online."
                ),
                UploadStep::NeedsFile => format!(
                    "Ward was closed while “{}” was uploading. Choose the same file again to finish sending it.",
                    upload.name
                ),
            };
            view! {
                <div class="upload">
                    <progress max=upload.total.to_string() value=upload.done.to_string()
                        aria-label=format!("Upload of {}", upload.name)></progress>
                    <p class="hint">{text}</p>
                    {(upload.step == UploadStep::NeedsFile).then(|| view! {
                        <input id="upload-again" type="file" class="visually-hidden" on:change=again.clone() />
                        <label for="upload-again" class="button secondary">"Choose the file again"</label>
                    })}
                    {upload.problem.map(|problem| view! { <p class="error-note" role="alert">{problem}</p> })}
                    <button type="button" class="link-button" on:click=cancel.clone()>"Cancel upload"</button>
                </div>
            }
        })}
        <ErrorNote message=error />
    }
}
