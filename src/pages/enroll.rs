//! Enrollment from an invite: the invite code (typed, or from the link's
//! `#invite=` fragment, which never reaches a server log), "is this you?"
//! (nothing is sent to anyone before "yes"), the one-time code, the clinic's consent to messaging (agreed to before
//! anything else is set up), then a passkey. The keys and the recovery code come
//! after, from the session service.

use crate::router::A;
use leptos::prelude::*;

use crate::i18n::{Text, fill, t, tr};
use leptos::task::spawn_local;
use ward_proto::ErrorCode;
use ward_proto::account::ConsentText;
use ward_proto::auth::EnrollStarted;

use crate::api;
use crate::components::code::six_digits;
use crate::components::consent::ConsentWords;
use crate::components::notice::{Busy, ErrorNote, focus_heading};
use crate::session::Session;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Invite,
    Confirm(EnrollStarted),
    NotMe,
    Code(EnrollStarted),
    Consent,
    Passkey,
}

/// Reads `#invite=CODE` and removes it from the address bar and history.
fn invite_from_fragment() -> Option<String> {
    let window = web_sys::window()?;
    let hash = window.location().hash().ok()?;
    let code = hash.strip_prefix("#invite=")?;
    let code = js_sys::decode_uri_component(code).ok()?.as_string()?;
    if let Ok(history) = window.history() {
        let path = window.location().pathname().unwrap_or_default();
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    Some(code)
}

/// A default name for the passkey, from the browser's own description.
fn device_label() -> String {
    let agent = web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default();
    let device = if agent.contains("iPhone") {
        "iPhone"
    } else if agent.contains("iPad") {
        "iPad"
    } else if agent.contains("Android") {
        t(Text::EnrollDeviceAndroid)
    } else if agent.contains("Mac") {
        "Mac"
    } else if agent.contains("Windows") {
        t(Text::EnrollDeviceWindows)
    } else {
        t(Text::EnrollDeviceOther)
    };
    device.into()
}

/// The text of `key` before and after its `{slot}`, so that what fills the
/// slot can be set in bold wherever the language puts it.
fn around(key: Text, slot: &str) -> (&'static str, &'static str) {
    let text = t(key);
    text.split_once(&format!("{{{slot}}}"))
        .unwrap_or((text, ""))
}

/// The enrollment screen.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn Enroll() -> impl IntoView {
    let session = Session::get();
    let step = RwSignal::new(Step::Invite);
    let invite = RwSignal::new(invite_from_fragment().unwrap_or_default());
    let code = RwSignal::new(String::new());
    let label = RwSignal::new(device_label());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let passkey_done = RwSignal::new(false);
    let consent = RwSignal::new(None::<ConsentText>);
    let resent = RwSignal::new(false);

    let go = move |next: Step| {
        error.set(None);
        resent.set(false);
        step.set(next);
        focus_heading();
    };
    let fail = move |message: String| {
        busy.set(false);
        error.set(Some(message));
    };

    let start = move || {
        let typed = invite.get_untracked().trim().to_owned();
        if typed.is_empty() {
            error.set(Some(t(Text::EnrollInviteMissing).into()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::sign_in::enroll_start(&typed).await {
                Ok(started) => {
                    busy.set(false);
                    go(Step::Confirm(started));
                }
                Err(e) => fail(e.message()),
            }
        });
    };
    // "Yes, this is me", and "Send a new code": a code to the contact on
    // the invite. An enrollment that timed out starts again first (the
    // patient already said the invite is theirs).
    let send_code = move |started: EnrollStarted, again: bool| {
        busy.set(true);
        error.set(None);
        resent.set(false);
        spawn_local(async move {
            let mut started = started;
            let mut sent = api::sign_in::enroll_send_code(&started.enrollment_id).await;
            if matches!(&sent, Err(e) if e.code() == Some(ErrorCode::CeremonyExpired)) {
                let typed = invite.get_untracked().trim().to_owned();
                sent = match api::sign_in::enroll_start(&typed).await {
                    Ok(fresh) => {
                        let sent = api::sign_in::enroll_send_code(&fresh.enrollment_id).await;
                        started = fresh;
                        sent
                    }
                    Err(e) => Err(e),
                };
            }
            // "No, this is not me" may have been chosen meanwhile: stay there.
            if step.with_untracked(|s| matches!(s, Step::NotMe)) {
                busy.set(false);
                return;
            }
            match sent {
                Ok(()) if again => {
                    busy.set(false);
                    // The same step stays (and keeps focus) unless the
                    // enrollment had to start again.
                    let same = step.with_untracked(
                        |s| matches!(s, Step::Code(c) if c.enrollment_id == started.enrollment_id),
                    );
                    if !same {
                        step.set(Step::Code(started));
                    }
                    resent.set(true);
                }
                Ok(()) => {
                    busy.set(false);
                    go(Step::Code(started));
                }
                Err(e) => fail(e.message()),
            }
        });
    };
    let submit_invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        start();
    };

    let load_consent = move || {
        spawn_local(async move {
            match session.consent_at_enrollment().await {
                Ok(text) => consent.set(Some(text)),
                Err(e) => error.set(Some(e.message())),
            }
        });
    };
    let verify = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Step::Code(started) = step.get_untracked() else {
            return;
        };
        let Some(typed) = six_digits(&code.get_untracked()) else {
            error.set(Some(t(Text::EnrollCodeSixDigits).into()));
            return;
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            // The session the code starts stays in the session service.
            match session
                .verify_enrollment(&started.enrollment_id, &typed)
                .await
            {
                Ok(()) => {
                    busy.set(false);
                    go(Step::Consent);
                    load_consent();
                }
                Err(e) => fail(e.message()),
            }
        });
    };

    let agree = move |_| {
        // The text did not load: try again rather than agree to nothing.
        let Some(text) = consent.get_untracked() else {
            load_consent();
            return;
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match session.agree_at_enrollment(&text).await {
                Ok(_) => {
                    busy.set(false);
                    go(Step::Passkey);
                }
                // The clinic changed the text meanwhile (or it did not
                // load): show it again.
                Err(e) => {
                    fail(e.message());
                    load_consent();
                }
            }
        });
    };

    let create_passkey = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = label.get_untracked().trim().to_owned();
        if name.is_empty() {
            error.set(Some(t(Text::EnrollPasskeyNameMissing).into()));
            return;
        }
        // Inside a clinic's page, the passkey is made in Ward's own window,
        // opened now, in the tap (crate::auth::popup).
        if crate::embed::framed() {
            crate::auth::popup::open();
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session.create_first_passkey(name).await;
            crate::auth::popup::discard();
            match result {
                Ok(()) => {}
                // The passkey exists; signing in with it finishes the
                // setup (the account has no vault yet).
                Err(e) if e.passkey_created => {
                    fail(fill(
                        Text::EnrollPasskeyMadeSignIn,
                        &[("problem", &e.error.message())],
                    ));
                    passkey_done.set(true);
                }
                Err(e) => fail(e.error.message()),
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="enroll-title">
            {move || match step.get() {
                Step::Invite => view! {
                    <h1 id="enroll-title" tabindex="-1">{tr(Text::EnrollInviteTitle)}</h1>
                    <form on:submit=submit_invite>
                        <label for="invite">{tr(Text::EnrollInviteLabel)}</label>
                        <input id="invite" name="invite" type="text" autocomplete="off"
                            autocapitalize="characters" spellcheck="false" bind:value=invite />
                        <p class="hint">{tr(Text::EnrollInviteHint)}</p>
                        <button type="submit" class="button primary" prop:disabled=move || busy.get()>{tr(Text::EnrollContinue)}</button>
                    </form>
                    <p><A href="/">{tr(Text::CodeBackToSignIn)}</A></p>
                }.into_any(),
                Step::Confirm(started) => {
                    let name = started.display_name.clone();
                    let hint = started.contact_hint.clone();
                    let next = started.clone();
                    view! {
                        <h1 id="enroll-title" tabindex="-1">{tr(Text::EnrollConfirmTitle)}</h1>
                        <p class="identity">
                            {move || around(Text::EnrollInvitationFor, "name").0}
                            <strong>{name}</strong>
                            {move || around(Text::EnrollInvitationFor, "name").1}
                        </p>
                        <p>
                            {move || around(Text::EnrollConfirmSend, "contact").0}
                            <strong>{hint}</strong>
                            {move || around(Text::EnrollConfirmSend, "contact").1}
                        </p>
                        <div class="actions">
                            <button type="button" class="button primary" prop:disabled=move || busy.get()
                                on:click=move |_| send_code(next.clone(), false)>{tr(Text::EnrollYesMe)}</button>
                            <button type="button" class="button secondary" prop:disabled=move || busy.get() on:click=move |_| go(Step::NotMe)>{tr(Text::EnrollNotMe)}</button>
                        </div>
                    }.into_any()
                }
                Step::NotMe => view! {
                    <h1 id="enroll-title" tabindex="-1">{tr(Text::EnrollStopTitle)}</h1>
                    <p>{tr(Text::EnrollStopBody)}</p>
                    <A href="/" attr:class="button secondary">{tr(Text::EnrollBackToStart)}</A>
                }.into_any(),
                Step::Code(started) => {
                    let hint = started.contact_hint.clone();
                    let again = started.clone();
                    view! {
                        <h1 id="enroll-title" tabindex="-1">{tr(Text::EnrollCodeTitle)}</h1>
                        <p>
                            {move || around(Text::EnrollCodeSent, "contact").0}
                            <strong>{hint}</strong>
                            {move || around(Text::EnrollCodeSent, "contact").1}
                        </p>
                        <form on:submit=verify>
                            <label for="enroll-code">{tr(Text::EnrollCodeLabel)}</label>
                            <input id="enroll-code" name="code" type="text" inputmode="numeric"
                                autocomplete="one-time-code" maxlength="12" bind:value=code />
                            <button type="submit" class="button primary" prop:disabled=move || busy.get()>{tr(Text::EnrollVerify)}</button>
                        </form>
                        <button type="button" class="link-button" prop:disabled=move || busy.get()
                            on:click=move |_| send_code(again.clone(), true)>{tr(Text::CodeSendNew)}</button>

                    }.into_any()
                }
                Step::Consent => view! {
                    <h1 id="enroll-title" tabindex="-1">{tr(Text::EnrollConsentTitle)}</h1>
                    <p>{tr(Text::EnrollConsentIntro)}</p>
                    {move || consent.get().map(|text| view! { <ConsentWords text /> })}
                    <button type="button" class="button primary" on:click=agree
                        prop:disabled=move || busy.get()>{tr(Text::EnrollAgree)}</button>
                    <p class="hint">{tr(Text::EnrollConsentHint)}</p>
                }.into_any(),
                Step::Passkey => view! {
                    <h1 id="enroll-title" tabindex="-1">{tr(Text::EnrollPasskeyTitle)}</h1>
                    <p>{tr(Text::EnrollPasskeyExplain)}</p>
                    <Show
                        when=move || passkey_done.get()
                        fallback=move || view! {
                            <form on:submit=create_passkey>
                                <label for="passkey-label">{tr(Text::EnrollPasskeyNameLabel)}</label>
                                <input id="passkey-label" name="label" type="text" maxlength="100" bind:value=label />
                                {crate::embed::framed().then(|| view! {
                                    <p class="hint">{tr(Text::EnrollPasskeyWindowHint)}</p>
                                })}
                                <button type="submit" class="button primary" prop:disabled=move || busy.get()>
                                    {tr(if crate::embed::framed() { Text::EnrollContinueWindow } else { Text::EnrollCreatePasskey })}
                                </button>
                            </form>
                        }
                    >
                        <A href="/" attr:class="button primary">{tr(Text::EnrollSignInPasskey)}</A>
                    </Show>
                }.into_any(),
            }}
            // Outside the steps, so it is announced when its words change.
            <p role="status">{move || resent.get().then(|| t(Text::EnrollNewCodeSent))}</p>
            <Busy busy=busy text=Text::BusyWorking />
            <ErrorNote message=error fields=|_| &["invite", "enroll-code"] />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bold_name_goes_where_the_text_puts_it() {
        assert_eq!(
            around(Text::EnrollInvitationFor, "name"),
            ("This invitation is for ", ".")
        );
        assert_eq!(
            around(Text::EnrollCodeSent, "contact"),
            ("We sent a 6-digit code to ", ". It expires in 10 minutes.")
        );
        assert_eq!(around(Text::EnrollVerify, "name"), ("Verify", ""));
    }
}
