//! The fallback sign-in for a patient without their passkey: a code sent to
//! the contact on file, and the authenticator app's code. The vault then
//! opens with this device's key, or asks for the recovery code.

use crate::router::A;
use leptos::prelude::*;

use crate::i18n::{Text, t, tr};
use leptos::task::spawn_local;

use crate::api;
use crate::components::code::six_digits;
use crate::components::notice::{Busy, ErrorNote, focus_heading};
use crate::session::Session;

/// The fields an error of the code sign-in is about: the one a
/// "6 digits" is about, else all there are (the relay does not say which
/// code was wrong).
fn code_fields(error: &str) -> &'static [&'static str] {
    if error == t(Text::CodeSentSixDigits) {
        &["sent-code"]
    } else if error == t(Text::CodeAppSixDigits) {
        &["totp-code"]
    } else {
        &["code-contact", "sent-code", "totp-code"]
    }
}

/// The code sign-in screen; `embedded` on the lock screen (no way back to
/// the welcome screen from there).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn CodeSignIn(#[prop(optional)] embedded: bool) -> impl IntoView {
    let session = Session::get();
    let contact = session.typed_contact;
    let login_id = RwSignal::new(None::<String>);
    let code = RwSignal::new(String::new());
    let totp = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let send_code = move || {
        let typed = contact.get_untracked().trim().to_owned();
        if typed.is_empty() {
            error.set(Some(t(Text::CodeContactMissing).into()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::sign_in::code_start(&typed).await;
            busy.set(false);
            match result {
                Ok(started) => {
                    login_id.set(Some(started.login_id));
                    focus_heading();
                }
                Err(e) => error.set(Some(e.message())),
            }
        });
    };
    let submit_contact = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send_code();
    };
    let verify = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(id) = login_id.get_untracked() else {
            return;
        };
        let Some(sent) = six_digits(&code.get_untracked()) else {
            error.set(Some(t(Text::CodeSentSixDigits).into()));
            return;
        };
        let Some(app) = six_digits(&totp.get_untracked()) else {
            error.set(Some(t(Text::CodeAppSixDigits).into()));
            return;
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session.sign_in_with_codes(&id, &sent, &app).await;
            busy.set(false);
            if let Err(e) = result {
                error.set(Some(e.message()));
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="code-title">
            {move || match login_id.get() {
                None => view! {
                    <h1 id="code-title" tabindex="-1">{tr(Text::CodeTitle)}</h1>
                    <form on:submit=submit_contact>
                        <label for="code-contact">{tr(Text::CodeContactLabel)}</label>
                        <input id="code-contact" name="contact" type="text" inputmode="email"
                            autocomplete="username" bind:value=contact />
                        <button type="submit" class="button primary" prop:disabled=move || busy.get()>{tr(Text::CodeSendMe)}</button>
                    </form>
                }.into_any(),
                Some(_) => view! {
                    <h1 id="code-title" tabindex="-1">{tr(Text::CodeBothTitle)}</h1>
                    <p>{tr(Text::CodeSentIfAccount)}</p>
                    <form on:submit=verify>
                        <label for="sent-code">{tr(Text::CodeSentLabel)}</label>
                        <input id="sent-code" name="code" type="text" inputmode="numeric"
                            autocomplete="one-time-code" maxlength="12" bind:value=code />
                        <label for="totp-code">{tr(Text::CodeAppLabel)}</label>
                        <input id="totp-code" name="totp" type="text" inputmode="numeric"
                            autocomplete="off" maxlength="12" bind:value=totp />
                        <button type="submit" class="button primary" prop:disabled=move || busy.get()>{tr(Text::CodeSignIn)}</button>
                    </form>
                    <button type="button" class="link-button" on:click=move |_| send_code()>{tr(Text::CodeSendNew)}</button>
                }.into_any(),
            }}
            <Busy busy=busy text=Text::BusyChecking />
            <ErrorNote message=error fields=code_fields />
            <p class="hint">{tr(Text::CodeNoAppHint)}</p>
            <Show when=move || !embedded>
                <p><A href="/">{tr(Text::CodeBackToSignIn)}</A></p>
            </Show>
        </section>
    }
}
