//! Search in the patient's messages, on this device only: over the text
//! decrypted in memory, never written anywhere, never sent.

use crate::router::A;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Plural, Text, count, t, tr};
use crate::messaging::{Inbox, category_label};
use crate::pages::thread::time_label;
use crate::session::Session;

/// At most this many results are listed.
const MAX_RESULTS: usize = 50;

/// The search screen.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn Search() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let query = RwSignal::new(String::new());
    let loading = RwSignal::new(true);

    // Open every thread once, so its text is in memory to search.
    // Search covers whole histories, so older pages are fetched too.
    spawn_local(async move {
        inbox.load_everything(session).await;
        loading.set(false);
    });

    let results = move || {
        let needle = crate::components::lowercase(query.get().trim());
        if needle.chars().count() < 2 {
            return Vec::new();
        }
        let me = session.account_id.get().unwrap_or_default();
        inbox.messages.with(|all| {
            let mut found: Vec<_> = all
                .iter()
                .flat_map(|(thread_id, list)| {
                    list.iter()
                        .filter(|m| crate::components::lowercase(&m.text).contains(&needle))
                        .map(move |m| (thread_id.clone(), m.clone()))
                })
                .collect();
            // Newest first (`!` reverses the order of `u64`s).
            crate::components::sort_by_u64(&mut found, |(_, m)| !m.sent_at_ms);
            found.truncate(MAX_RESULTS);
            found
                .into_iter()
                .map(|(thread_id, m)| {
                    let category = inbox
                        .thread(&thread_id)
                        .map(|t| category_label(t.category))
                        .unwrap_or_else(|| t(Text::ThreadConversation));
                    let who = inbox.sender_label(&thread_id, &m.sender_id, &me);
                    (
                        thread_id,
                        category,
                        who,
                        time_label(m.sent_at_ms),
                        m.text,
                        m.message_id,
                    )
                })
                .collect::<Vec<_>>()
        })
    };

    view! {
        <section class="card" aria-labelledby="search-title">
            <h1 id="search-title" tabindex="-1">{tr(Text::SearchTitle)}</h1>
            <p class="hint">{tr(Text::SearchHint)}</p>
            <label for="search-input">{tr(Text::SearchFor)}</label>
            <input id="search-input" type="search" autocomplete="off" bind:value=query />
            <p role="status" class="hint">
                {move || {
                    if loading.get() {
                        t(Text::SearchOpening).to_owned()
                    } else if query.get().trim().chars().count() < 2 {
                        String::new()
                    } else {
                        match results().len() {
                            0 => t(Text::SearchNone).into(),
                            n => count(Plural::SearchMatches, n as u64, &[]),
                        }
                    }
                }}
            </p>
            <ul class="search-results" aria-label=tr(Text::SearchResults)>
                {move || results().into_iter().map(|(thread_id, category, who, time, text, _)| view! {
                    <li>
                        <A href=format!("/threads/{thread_id}") attr:class="thread-row">
                            <span class="thread-title">{category}</span>
                            <span class="meta">{format!("{who} · {time}")}</span>
                            <span class="snippet">{text}</span>
                        </A>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}
