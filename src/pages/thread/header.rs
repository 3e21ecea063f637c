//! The thread's heading (its category and who it is with) and the care
//! team's typing line.

use leptos::prelude::*;

use crate::router::A;
use ward_proto::threads::Role;

use crate::i18n::{Text, fill, t, tr};
use crate::messaging::{Inbox, category_label};

/// "With Riverside Clinic", or "Your care team" before the thread loads.
fn clinic_name(inbox: Inbox, thread_id: &str) -> String {
    inbox
        .thread(thread_id)
        .and_then(|t| t.members.into_iter().find(|m| m.role == Role::Clinic))
        .map(|m| m.display_name)
        .unwrap_or_else(|| t(Text::HomeYourCareTeam).into())
}

/// The thread's title and who it is with.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn ThreadHeader(thread_id: Memo<String>) -> impl IntoView {
    let inbox = Inbox::get();
    let category = move || {
        inbox
            .thread(&thread_id.get())
            .map(|t| category_label(t.category))
            .unwrap_or_else(|| t(Text::ThreadConversation))
    };
    // The patient's subject, opened on this device, else the category.
    let subject = move || inbox.summary(&thread_id.get()).subject;
    let title = move || subject().unwrap_or_else(|| category().to_owned());
    let about = move || {
        let with = fill(
            Text::ThreadWith,
            &[("name", &clinic_name(inbox, &thread_id.get()))],
        );
        match subject() {
            Some(_) => format!("{} · {with}", category()),
            None => with,
        }
    };
    view! {
        <header class="thread-head">
            <A href="/" attr:class="back" attr:aria-label=tr(Text::ThreadBackToMessages)>"‹"</A>
            <div>
                <h1 id="thread-title" tabindex="-1">{title}</h1>
                <p class="meta">{about}</p>
            </div>
        </header>
    }
}

/// "Riverside Clinic is typing…" while the care team types (`now` ticks
/// so it goes away a few seconds after the last typing event). Not a live
/// region: it comes and goes too often to be read out; the message is.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn TypingLine(thread_id: Memo<String>, now: RwSignal<f64>) -> impl IntoView {
    let inbox = Inbox::get();
    let typing = move || {
        inbox.typing.with(|t| {
            t.get(&thread_id.get())
                .is_some_and(|until| *until as f64 > now.get())
        })
    };
    view! {
        <p class="typing">
            {move || typing().then(|| fill(Text::ThreadTyping, &[("name", &clinic_name(inbox, &thread_id.get()))]))}
        </p>
    }
}
