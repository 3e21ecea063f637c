//! The top-level layout, the router, and which screens the session's phase
//! allows.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Text, tr};
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
use crate::router::{A, Location};
use crate::session::{Phase, Session, idle};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    // The session owns everything secret the client holds: the account's
    // keys and its inbox (thread keys, decrypted messages, drafts).
    let session = Session::new();
    provide_context(session);
    let location = Location::provide();
    idle::watch(session);
    crate::components::viewport::follow_visual_viewport();
    let inbox = session.inbox();
    messaging::live::run(session, inbox);
    crate::embed::run(session, inbox, location);
    crate::pwa::run(session, inbox, location);

    let phase = session.phase;
    let signed_in = Memo::new(move |_| matches!(phase.get(), Phase::Unlocked | Phase::Locked));
    let locked = Memo::new(move |_| phase.get() == Phase::Locked);
    // The clinic's own texts come from the relay in the language shown:
    // asked for again when it changes. A new phase is a new screen: read
    // from its heading (the lock screen's, over the hidden ones); not in a
    // clinic's frame, whose page an idle lock must not take focus from.
    Effect::new(move |before: Option<(crate::i18n::Lang, Phase)>| {
        let now = (crate::i18n::lang(), phase.get());
        if let Some(before) = before {
            if before.0 != now.0 && now.1 == Phase::Unlocked {
                spawn_local(async move { inbox.reload_clinic(session).await });
            }
            if before.1 != now.1 && !crate::embed::framed() {
                if now.1 == Phase::Locked {
                    crate::components::notice::focus_id_soon("lock-title");
                } else {
                    crate::components::notice::focus_heading();
                }
            }
        }
        now
    });

    view! {
        <a class="skip-link" href="#main" on:click=skip_to_content>{tr(Text::AppSkipToContent)}</a>
            <header class="app-header">
                <span class="app-name">"Ward"</span>
                <Show when=move || phase.get() == Phase::Unlocked>
                    <Nav />
                </Show>
            </header>
            <main id="main" class="app-main" tabindex="-1">
                <crate::pwa::update::UpdateBanner />
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
                            <p class="notice warning link-state" role="status">{move || inbox.link.get().message()}</p>
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
    }
}

/// Moves focus to the content itself, not only the scroll position.
fn skip_to_content(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    crate::components::notice::focus_id("main");
}

/// The screens before sign-in; any other path is the welcome screen.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SignedOutScreen {
    Welcome,
    Enroll,
    CodeSignIn,
}

#[component]
fn SignedOutScreens() -> impl IntoView {
    let location = Location::get();
    // Drawn again only when the screen changes, not on every path.
    let screen = Memo::new(move |_| match location.path().as_str() {
        "/enroll" => SignedOutScreen::Enroll,
        "/sign-in/code" => SignedOutScreen::CodeSignIn,
        _ => SignedOutScreen::Welcome,
    });
    move || match screen.get() {
        SignedOutScreen::Welcome => view! { <Welcome /> }.into_any(),
        SignedOutScreen::Enroll => view! { <Enroll /> }.into_any(),
        SignedOutScreen::CodeSignIn => view! { <CodeSignIn /> }.into_any(),
    }
}

/// The screens after sign-in; any other path is the conversation list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SignedInScreen {
    Home,
    Security,
    People,
    NewThread,
    Search,
    /// One conversation: the screen reads which from the path, so moving
    /// between conversations keeps it.
    Thread,
}

#[component]
fn SignedInScreens() -> impl IntoView {
    let location = Location::get();
    // Signed in from a screen before sign-in (enrolling, a code sign-in):
    // the address bar says home, so reloading opens sign-in, not enrolment.
    Effect::new(move |_| {
        if matches!(location.path().as_str(), "/enroll" | "/sign-in/code") {
            location.replace("/");
        }
    });
    let screen = Memo::new(move |_| {
        let path = location.path();
        match path.as_str() {
            "/settings/security" => SignedInScreen::Security,
            "/settings/people" => SignedInScreen::People,
            "/new" => SignedInScreen::NewThread,
            "/search" => SignedInScreen::Search,
            p if p
                .strip_prefix("/threads/")
                .is_some_and(|id| !id.is_empty() && !id.contains('/')) =>
            {
                SignedInScreen::Thread
            }
            _ => SignedInScreen::Home,
        }
    });
    move || match screen.get() {
        SignedInScreen::Home => view! { <Home /> }.into_any(),
        SignedInScreen::Security => view! { <SecuritySettings /> }.into_any(),
        SignedInScreen::People => view! { <PeopleWhoHelp /> }.into_any(),
        SignedInScreen::NewThread => view! { <NewThread /> }.into_any(),
        SignedInScreen::Search => view! { <Search /> }.into_any(),
        SignedInScreen::Thread => view! { <ThreadView /> }.into_any(),
    }
}

#[component]
fn Nav() -> impl IntoView {
    let session = Session::get();
    let location = Location::get();
    let confirming = RwSignal::new(false);
    let signing_out = RwSignal::new(false);
    let sign_out = move |_| {
        if signing_out.get_untracked() {
            return;
        }
        signing_out.set(true);
        confirming.set(false);
        spawn_local(async move {
            session.sign_out().await;
            signing_out.set(false);
            location.navigate("/");
        });
    };
    let ask = move |_| {
        confirming.set(true);
        crate::components::notice::focus_id_soon("sign-out-cancel");
    };
    let stay = move |()| {
        confirming.set(false);
        crate::components::notice::focus_id_soon("sign-out-open");
    };
    // Escape closes the question wherever focus is (it may not have
    // reached the dialog yet).
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && confirming.get_untracked() {
            stay(());
        }
    });
    on_cleanup(move || escape.remove());
    view! {
        <nav class="app-nav" aria-label=tr(Text::NavLabel)>
            <A href="/">{tr(Text::NavMessages)}</A>
            <A href="/settings/security">{tr(Text::NavSecurity)}</A>
            <button type="button" class="link-button"
                disabled=move || signing_out.get()
                on:click=move |_| session.lock_now()>{tr(Text::NavLockNow)}</button>
            <button type="button" id="sign-out-open" class="link-button"
                aria-expanded=move || confirming.get().to_string()
                disabled=move || signing_out.get()
                on:click=ask>{tr(Text::NavSignOut)}</button>
        </nav>
        <Show when=move || confirming.get()>
            <div class="notice warning sign-out-confirm" role="alertdialog"
                aria-labelledby="sign-out-title" aria-describedby="sign-out-what">
                <h2 id="sign-out-title">{tr(Text::NavSignOutTitle)}</h2>
                <p id="sign-out-what">{tr(Text::NavSignOutWhat)}</p>
                <div class="actions">
                    <button type="button" class="button danger" on:click=sign_out>{tr(Text::NavSignOutConfirm)}</button>
                    <button type="button" id="sign-out-cancel" class="button secondary" on:click=move |_| stay(())>{tr(Text::NavStaySignedIn)}</button>
                </div>
            </div>
        </Show>
    }
}
