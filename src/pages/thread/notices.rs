//! Alerts about members' security keys at the top of a thread: a history
//! the relay rewrote, a split view, and a changed key waiting for the
//! patient to compare safety numbers (sending holds until then).

use std::collections::HashSet;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Text, fill, tr};
use crate::messaging::Inbox;
use crate::session::Session;

/// Every key alert for the thread's other members.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn KeyAlerts(thread_id: Memo<String>, error: RwSignal<Option<String>>) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let me = move || session.account_id.get().unwrap_or_default();
    let thread = move || inbox.thread(&thread_id.get());
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
    let named = move |accounts: &HashSet<String>| {
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
        {move || rewritten().into_iter().map(|name| view! {
            <div class="key-change" role="alert" data-testid="key-history-rewritten">
                <p><strong>{move || fill(Text::ThreadKeyRewrittenTitle, &[("name", &name)])}</strong></p>
                <p>{tr(Text::ThreadKeyRewrittenBody)}</p>
            </div>
        }).collect_view()}
        {move || split().into_iter().map(|name| view! {
            <div class="key-change" role="alert" data-testid="key-split-view">
                <p><strong>{move || fill(Text::ThreadKeySplitTitle, &[("name", &name)])}</strong></p>
                <p>{tr(Text::ThreadKeySplitBody)}</p>
            </div>
        }).collect_view()}
        {move || changed().into_iter().map(|(account_id, name, number, old)| view! {
            <div class="key-change" role="alert">
                <p><strong>{move || fill(Text::ThreadKeyChangedTitle, &[("name", &name)])}</strong></p>
                <p>{tr(Text::ThreadKeyChangedBody)}</p>
                <p>{tr(Text::ThreadKeyBefore)}<span class="safety-number" data-testid="old-safety-number">{old}</span></p>
                <p>{tr(Text::ThreadKeyNow)}</p>
                <p class="safety-number" data-testid="new-safety-number">{number}</p>
                <button type="button" class="button primary" on:click=move |_| accept(account_id.clone())>
                    {tr(Text::ThreadKeyMatches)}
                </button>
            </div>
        }).collect_view()}
    }
}
