//! The signed-in home: the patient's threads, newest first, with unread
//! counts and times (never message text: this screen may be seen by
//! others), and "New message".

use leptos::prelude::*;
use leptos_router::components::A;
use ward_proto::threads::{Role, Thread};

use crate::messaging::{Inbox, category_label};
use crate::pages::thread::time_label;

fn clinic_name(thread: &Thread) -> String {
    thread
        .members
        .iter()
        .find(|m| m.role == Role::Clinic)
        .map(|m| m.display_name.clone())
        .unwrap_or_else(|| "Your care team".into())
}

/// The threads list.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn Home() -> impl IntoView {
    let inbox = Inbox::get();
    view! {
        <section class="card" aria-labelledby="home-title">
            <h1 id="home-title" tabindex="-1">"Messages with your care team"</h1>
            <div class="actions">
                <A href="/new" attr:class="button primary">"New message"</A>
                <A href="/search" attr:class="button secondary">"Search"</A>
            </div>
            <Show
                when=move || !inbox.threads.with(Vec::is_empty)
                fallback=|| view! {
                    <p class="hint">"No conversations yet. Start one with “New message”."</p>
                }
            >
                <ul class="thread-list" aria-label="Conversations">
                    <For each=move || inbox.threads.get() key=|t| (t.thread_id.clone(), t.unread_count, t.last_message_at) let:thread>
                        <li>
                            <A href=format!("/threads/{}", thread.thread_id) attr:class="thread-row">
                                <span class="thread-title">{category_label(thread.category)}</span>
                                <span class="meta">{clinic_name(&thread)}</span>
                                <span class="meta">
                                    {thread.last_message_at.map(time_label).unwrap_or_else(|| "No messages yet".into())}
                                </span>
                                <Show when=move || { thread.unread_count > 0 }>
                                    <span class="badge">{format!("{} unread", thread.unread_count)}</span>
                                </Show>
                            </A>
                        </li>
                    </For>
                </ul>
            </Show>
        </section>
    }
}
