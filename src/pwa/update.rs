//! A new build of Ward: the worker installs it beside the running one and
//! waits; the patient sees "A new version of Ward is ready" and chooses
//! Reload, which first keeps the drafts (sealed,
//! [`crate::messaging::Inbox::keep_drafts`]),
//! then lets the new worker take over and reloads. The outbox is in
//! IndexedDB already, and is sent after the reload.

use std::cell::Cell;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;

use super::Pwa;
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, t, tr};
use crate::messaging::NotKept;
use crate::session::{Phase, Session};

thread_local! {
    /// Set by Reload: the next change of worker reloads the page. (The
    /// first install's takeover changes the worker too, and must not.)
    static RELOADING: Cell<bool> = const { Cell::new(false) };
}

/// Follows `registration`'s updates: a worker installed while another
/// controls the page is a new version. Looks for one whenever Ward comes
/// back to the screen (the browser also looks at every start).
pub(super) fn follow(
    pwa: Pwa,
    container: &web_sys::ServiceWorkerContainer,
    registration: &web_sys::ServiceWorkerRegistration,
) {
    let waiting = {
        let container = container.clone();
        move |worker: Option<web_sys::ServiceWorker>| {
            if worker.is_some_and(|w| w.state() == web_sys::ServiceWorkerState::Installed)
                && container.controller().is_some()
            {
                pwa.update_ready.set(true);
            }
        }
    };
    waiting(registration.waiting());
    let found = {
        let registration = registration.clone();
        Closure::<dyn Fn()>::new(move || {
            let Some(installing) = registration.installing() else {
                return;
            };
            let watched = installing.clone();
            let waiting = waiting.clone();
            let changed = Closure::<dyn Fn()>::new(move || waiting(Some(watched.clone())));
            installing.set_onstatechange(Some(changed.as_ref().unchecked_ref()));
            changed.forget();
        })
    };
    registration.set_onupdatefound(Some(found.as_ref().unchecked_ref()));
    found.forget();

    let taken_over = Closure::<dyn Fn()>::new(|| {
        if RELOADING.with(Cell::get)
            && let Some(window) = web_sys::window()
        {
            let _ = window.location().reload();
        }
    });
    container.set_oncontrollerchange(Some(taken_over.as_ref().unchecked_ref()));
    taken_over.forget();

    let registration = registration.clone();
    let _ = window_event_listener_untyped("visibilitychange", move |_| {
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| !d.hidden());
        if visible {
            // Offline or refused: the next look will do.
            let _ = registration.update();
        }
    });
}

/// "A new version of Ward is ready", with Reload; only when unlocked (the
/// drafts can be sealed) or signed out (there are none): not over the lock
/// or recovery-code screens, where drafts wait in memory without their keys.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn UpdateBanner() -> impl IntoView {
    let pwa = Pwa::get();
    let session = Session::get();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let reload = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let kept = match session.phase.get_untracked() {
                Phase::Unlocked => session.inbox().keep_drafts(session).await,
                _ => Ok(()),
            };
            if let Err(why) = kept {
                busy.set(false);
                error.set(Some(
                    t(match why {
                        NotKept::NewConversation => Text::UpdateLoseNewConversation,
                        NotKept::Failed => Text::UpdateNotKept,
                    })
                    .into(),
                ));
                return;
            }
            apply(pwa);
        });
    };
    view! {
        <Show when=move || pwa.update_ready.get() && matches!(session.phase.get(), Phase::Unlocked | Phase::SignedOut)>
            <div class="notice update-ready" role="status">
                <p>{tr(Text::UpdateReady)}</p>
                <button type="button" class="button secondary" on:click=reload
                    prop:disabled=move || busy.get()>{tr(Text::UpdateReload)}</button>
                <ErrorNote message=error />
            </div>
        </Show>
    }
}

/// Lets the waiting worker take over; the page reloads when it has.
fn apply(pwa: Pwa) {
    RELOADING.with(|r| r.set(true));
    let waiting = pwa.registration().and_then(|r| r.waiting());
    match waiting {
        Some(worker) => {
            let message = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&message, &"type".into(), &"skipWaiting".into());
            let _ = worker.post_message(&message);
        }
        // Already taken over (another tab chose Reload): load it.
        None => {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
    }
}
