//! The top-level layout, the router, and which screens the session's phase
//! allows.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;

use crate::messaging;
use crate::pages::code_sign_in::CodeSignIn;
use crate::pages::enroll::Enroll;
use crate::pages::home::Home;
use crate::pages::lock::LockScreen;
use crate::pages::new_thread::NewThread;
use crate::pages::recovery::{EnterRecoveryCode, ShowRecoveryCode};
use crate::pages::search::Search;
use crate::pages::settings::{PeopleWhoHelp, SecuritySettings};
use crate::pages::thread::ThreadView;
use crate::pages::welcome::Welcome;
use crate::session::{Phase, Session, idle};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    // The session owns everything secret the client holds: the account's
    // keys and its inbox (thread keys, decrypted messages, drafts).
    let session = Session::new();
    provide_context(session);
    idle::watch(session);
    let inbox = session.inbox();
    messaging::live::run(session, inbox);

    let phase = session.phase;
    let signed_in = Memo::new(move |_| matches!(phase.get(), Phase::Unlocked | Phase::Locked));
    let locked = Memo::new(move |_| phase.get() == Phase::Locked);

    view! {
        <Router>
            <a class="skip-link" href="#main" on:click=skip_to_content>"Skip to content"</a>
            <header class="app-header">
                <span class="app-name">"Ward"</span>
                <Show when=move || phase.get() == Phase::Unlocked>
                    <Nav />
                </Show>
            </header>
            <main id="main" class="app-main" tabindex="-1">
                {move || match phase.get() {
                    Phase::SignedOut => view! { <SignedOutScreens /> }.into_any(),
                    Phase::NeedsRecoveryCode => view! { <EnterRecoveryCode /> }.into_any(),
                    Phase::ShowRecoveryCode => view! { <ShowRecoveryCode /> }.into_any(),
                    Phase::Unlocked | Phase::Locked => ().into_any(),
                }}
                // Keyed on the person: another account never inherits these
                // screens; a lock keeps them (hidden, inert) with any draft.
                {move || {
                    let _person = session.account_id.get();
                    signed_in.get().then(|| view! {
                        <div class="signed-in" hidden=move || locked.get() inert=move || locked.get()>
                            <SignedInScreens />
                        </div>
                    })
                }}
                <Show when=move || locked.get()>
                    <LockScreen />
                </Show>
                // New messages are announced here, politely, wherever the
                // patient is.
                <p class="visually-hidden" aria-live="polite" role="status" data-testid="announcer">
                    {move || inbox.announcement.get()}
                </p>
            </main>
        </Router>
    }
}

/// The router would treat `#main` as a navigation; move focus directly.
fn skip_to_content(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    let main = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("main"))
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
    if let Some(main) = main {
        let _ = main.focus();
    }
}

#[component]
fn SignedOutScreens() -> impl IntoView {
    view! {
        <Routes fallback=Welcome>
            <Route path=path!("/") view=Welcome />
            <Route path=path!("/enroll") view=Enroll />
            <Route path=path!("/sign-in/code") view=|| view! { <CodeSignIn /> } />
        </Routes>
    }
}

#[component]
fn SignedInScreens() -> impl IntoView {
    view! {
        <Routes fallback=Home>
            <Route path=path!("/") view=Home />
            <Route path=path!("/settings/security") view=SecuritySettings />
            <Route path=path!("/settings/people") view=PeopleWhoHelp />
            <Route path=path!("/new") view=NewThread />
            <Route path=path!("/search") view=Search />
            <Route path=path!("/threads/:id") view=ThreadView />
        </Routes>
    }
}

#[component]
fn Nav() -> impl IntoView {
    let session = Session::get();
    let navigate = use_navigate();
    let sign_out = move |_| {
        let navigate = navigate.clone();
        spawn_local(async move {
            session.sign_out().await;
            navigate("/", Default::default());
        });
    };
    view! {
        <nav class="app-nav" aria-label="Main">
            <A href="/">"Messages"</A>
            <A href="/settings/security">"Security"</A>
            <button type="button" class="link-button" on:click=sign_out>"Sign out"</button>
        </nav>
    }
}
