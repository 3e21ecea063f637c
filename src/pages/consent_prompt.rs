//! The home screen's request to agree to the clinic's messaging terms, for
//! an account with no agreement on record (made before enrollment asked)
//! or whose agreement is to an earlier version: the text as it stands and
//! "I agree to messaging", or "Not now" until the next unlock. Read once
//! per unlock; agreeing records it as Settings does.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::components::consent::ConsentWords;
use crate::components::notice::{ErrorNote, focus_heading};
use crate::i18n::{Text, t, tr};
use crate::messaging::Inbox;
use crate::session::Session;
use crate::session::consent_ask::ConsentAsk;

/// Reads where the account stands, once per unlock.
fn read_once(session: Session, inbox: Inbox) {
    if inbox.consent_ask.with_untracked(Option::is_some) {
        return;
    }
    spawn_local(async move {
        let ticket = session.ticket();
        let Some(token) = session.token() else { return };
        // Unread, it is asked again on the next visit home.
        let Ok(status) = api::account::consent(&token).await else {
            return;
        };
        if session.is_current(ticket) {
            inbox.consent_ask.set(Some(ConsentAsk::of(status)));
        }
    });
}

/// The request (nothing when there is nothing to ask).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn ConsentPrompt() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    read_once(session, inbox);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<Text>);
    let busy = RwSignal::new(false);
    let agree = move |_| {
        let Some(ConsentAsk::Agree { current, .. }) = inbox.consent_ask.get_untracked() else {
            return;
        };
        let ticket = session.ticket();
        let Some(token) = session.token() else { return };
        busy.set(true);
        spawn_local(async move {
            let answer = api::account::agree_or_reread(&token, &current).await;
            busy.set(false);
            // Locked meanwhile: the next unlock reads it afresh.
            if !session.is_current(ticket) {
                return;
            }
            match answer {
                Ok(status) => {
                    error.set(None);
                    inbox.consent_ask.set(Some(ConsentAsk::of(status)));
                    done.set(Some(Text::ConsentThanks));
                    focus_heading();
                }
                Err((e, now)) => {
                    error.set(Some(session.explain(&e)));
                    // Changed while it was read: show the new text.
                    if let Some(now) = now {
                        inbox.consent_ask.set(Some(ConsentAsk::of(now)));
                    }
                }
            }
        });
    };
    let asking = move || {
        inbox
            .consent_ask
            .get()
            .filter(|ask| *ask != ConsentAsk::Nothing)
    };
    view! {
        {move || asking().map(|ask| {
            // Read in a closure, so it follows a change of language.
            let why = ask.clone();
            let words = move || why.words();
            let ConsentAsk::Agree { current, .. } = ask else { return None };
            Some(view! {
                <section class="notice warning" aria-labelledby="consent-ask-title">
                    <h2 id="consent-ask-title">{tr(Text::ConsentAskTitle)}</h2>
                    <p id="consent-ask-why">{words}</p>
                    <ConsentWords text=current within=true />
                    <div class="actions">
                        <button type="button" class="button primary"
                            aria-describedby="consent-ask-why"
                            disabled=move || busy.get()
                            on:click=agree>{tr(Text::ConsentAgreeMessaging)}</button>
                        <button type="button" class="button secondary"
                            on:click=move |_| {
                                inbox.consent_ask.set(Some(ConsentAsk::Nothing));
                                focus_heading();
                            }>{tr(Text::ConsentNotNow)}</button>
                    </div>
                    <ErrorNote message=error />
                </section>
            })
        })}
        <p role="status">{move || done.get().map(t)}</p>
    }
}
