//! The signed-out front door: sign in with a passkey (a button, or the
//! browser's passkey autofill in the contact field), sign in with codes, or
//! start from an invite.

use crate::router::{A, Location};
use leptos::prelude::*;

use crate::i18n::{Text, tr};
use leptos::task::spawn_local;

use crate::auth::ceremony;
use crate::auth::webauthn::PasskeyError;
use crate::components::notice::{Busy, ErrorNote};
use crate::components::relay_status::RelayStatus;
use crate::session::{Session, SessionError};

/// The welcome / sign-in screen.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn Welcome() -> impl IntoView {
    let session = Session::get();
    let contact = session.typed_contact;
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let location = Location::get();
    // The background autofill request; aborted when the button is used.
    let autofill = StoredValue::new_local(None::<web_sys::AbortController>);

    // Started when the field is first focused, not on load: the browser
    // offers passkeys in that field's autofill while the request waits,
    // and nothing signs anyone in before they reach for the field.
    let start_autofill = move || {
        if autofill.with_value(Option::is_some) {
            return;
        }
        // Claimed before any await, so a second focus cannot start another.
        let Ok(controller) = web_sys::AbortController::new() else {
            return;
        };
        let signal = controller.signal();
        autofill.set_value(Some(controller));
        spawn_local(async move {
            if !ceremony::conditional_available().await || signal.aborted() {
                autofill.set_value(None);
                return;
            }
            match session.sign_in_with_passkey(true, Some(&signal)).await {
                Ok(()) => {}
                // Aborted by the button, or dismissed: nothing to say.
                Err(SessionError::Passkey(PasskeyError::Cancelled)) => {}
                Err(e) => error.set(Some(e.message())),
            }
            autofill.set_value(None);
        });
    };
    on_cleanup(move || {
        autofill.with_value(|c| {
            if let Some(c) = c {
                c.abort();
            }
        })
    });

    let sign_in = move |_| {
        autofill.with_value(|c| {
            if let Some(c) = c {
                c.abort();
            }
        });
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let result = session.sign_in_with_passkey(false, None).await;
            busy.set(false);
            autofill.set_value(None);
            if let Err(e) = result {
                error.set(Some(e.message()));
            }
        });
    };
    let with_code = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        location.navigate("/sign-in/code");
    };

    view! {
        <section class="card" aria-labelledby="welcome-title">
            <h1 id="welcome-title" tabindex="-1">{tr(Text::WelcomeTitle)}</h1>
            <p>{tr(Text::WelcomeIntro)}</p>
            {move || session.notice.get().map(|text| view! { <p class="error-note" role="alert">{text}</p> })}
            <RelayStatus />
            <button
                type="button"
                class="button primary"
                on:click=sign_in
                prop:disabled=move || busy.get()
            >
                {tr(Text::WelcomeSignInPasskey)}
            </button>
            <Busy busy=busy text=Text::WaitingForPasskey />
            <ErrorNote message=error />
        </section>
        <section class="card" aria-labelledby="other-title">
            <h2 id="other-title">{tr(Text::WelcomeNoPasskey)}</h2>
            <form on:submit=with_code>
                <label for="contact">{tr(Text::CodeContactLabel)}</label>
                <input
                    id="contact"
                    name="contact"
                    type="text"
                    inputmode="email"
                    autocomplete="username webauthn"
                    on:focus=move |_| start_autofill()
                    bind:value=contact
                />
                <p class="hint">{tr(Text::WelcomeCodeHint)}</p>
                <button type="submit" class="button secondary">{tr(Text::CodeTitle)}</button>
            </form>
        </section>
        <section class="card" aria-labelledby="new-title">
            <h2 id="new-title">{tr(Text::WelcomeNew)}</h2>
            <p>{tr(Text::WelcomeNewBody)}</p>
            <A href="/enroll" attr:class="button secondary">{tr(Text::WelcomeHaveInvitation)}</A>
        </section>
        <section class="card">
            <crate::components::language::LanguagePicker id="welcome-language" />
        </section>
    }
}
