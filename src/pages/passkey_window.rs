//! `/passkey-window`: the small window of Ward's own in which Ward inside
//! a clinic's page has a new passkey made (`crate::auth::popup` says why).
//! It takes the relay's options from its opener (Ward's frame, same
//! origin), makes the passkey at the patient's tap, gets its PRF secret
//! (a second tap when the authenticator gives none at creation), hands
//! both back, and closes. It holds no session and talks to no server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use js_sys::{Reflect, Uint8Array};
use leptos::prelude::*;

use crate::i18n::{Text, t, tr};
use leptos::task::spawn_local;
use serde_json::value::RawValue;
use wasm_bindgen::JsValue;

use crate::auth::ceremony::{self, Created};
use crate::auth::popup;
use crate::auth::webauthn::PasskeyError;
use crate::components::notice::{Busy, ErrorNote};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// No options from the opener yet.
    Waiting,
    /// Options in hand: "Create passkey".
    Create,
    /// Made, without its PRF secret: "Confirm with your passkey".
    Confirm,
    /// Handed back.
    Done,
}

fn opener() -> Option<JsValue> {
    web_sys::window()?
        .opener()
        .ok()
        .filter(|opener| !opener.is_null() && !opener.is_undefined())
}

/// Posts `answer` to the opener at Ward's origin, then wipes the PRF
/// secret from this window's copy.
fn answer(answer: &js_sys::Object) {
    if let Some(opener) = opener() {
        let opener: web_sys::Window = wasm_bindgen::JsCast::unchecked_into(opener);
        let _ = opener.post_message(answer, &popup::own_origin());
    }
    if let Ok(prf) = Reflect::get(answer, &"prf".into())
        && let Ok(prf) = wasm_bindgen::JsCast::dyn_into::<Uint8Array>(prf)
    {
        prf.fill(0, 0, prf.length());
    }
}

/// The relay's options, as the opener sent them.
fn options_json(options: &str) -> Result<Box<RawValue>, PasskeyError> {
    RawValue::from_string(options.to_owned())
        .map_err(|_| PasskeyError::Other("options are not JSON".into()))
}

/// Request options for a sign-in with the new passkey whose only purpose
/// is its PRF secret (the secret depends on the credential and Ward's
/// salt, never on the challenge, so no server is asked for one).
fn prf_request(options: &str, credential_id: &[u8]) -> Result<Box<RawValue>, PasskeyError> {
    let bad = || PasskeyError::Other("options".into());
    // Read and written through the browser's JSON, not serde_json's
    // `Value` (smaller client).
    let parsed = js_sys::JSON::parse(options).map_err(|_| bad())?;
    let rp_id = Reflect::get(&parsed, &"publicKey".into())
        .and_then(|public_key| Reflect::get(&public_key, &"rp".into()))
        .and_then(|rp| Reflect::get(&rp, &"id".into()))
        .ok()
        .filter(JsValue::is_string)
        .and_then(|id| js_sys::JSON::stringify(&id).ok())
        .and_then(|quoted| quoted.as_string())
        .ok_or_else(bad)?;
    let mut challenge = [0u8; 32];
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .ok_or_else(bad)?
        .get_random_values_with_u8_array(&mut challenge)
        .map_err(|_| bad())?;
    let request = format!(
        r#"{{"publicKey":{{"challenge":"{}","rpId":{rp_id},"allowCredentials":[{{"type":"public-key","id":"{}"}}],"userVerification":"required","timeout":120000}}}}"#,
        URL_SAFE_NO_PAD.encode(challenge),
        URL_SAFE_NO_PAD.encode(credential_id),
    );
    RawValue::from_string(request).map_err(|_| bad())
}

/// The whole page.
#[component]
#[allow(unreachable_pub)]
pub fn PasskeyWindow() -> impl IntoView {
    let step = RwSignal::new(Step::Waiting);
    let options = StoredValue::new(String::new());
    let made = StoredValue::new_local(None::<Created>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let orphan = opener().is_none();

    // "I am here", every half second until the options come: the opener
    // may not be listening yet when this page loads.
    let hello = move || {
        if step.get_untracked() == Step::Waiting {
            answer(&crate::embed::message("passkey-window"));
        }
    };
    if !orphan {
        hello();
        if let Ok(handle) = set_interval_with_handle(hello, std::time::Duration::from_millis(500)) {
            Effect::new(move |_| {
                if step.get() != Step::Waiting {
                    handle.clear();
                }
            });
        }
        crate::embed::on_message(move |event| {
            let Some(expected) = opener() else { return };
            let from_ward = event.origin() == popup::own_origin();
            if crate::embed::kind_from(&event, &expected, from_ward).as_deref() != Some("create")
                || step.get_untracked() != Step::Waiting
            {
                return;
            }
            if let Some(json) = Reflect::get(&event.data(), &"options".into())
                .ok()
                .and_then(|o| o.as_string())
            {
                options.set_value(json);
                step.set(Step::Create);
            }
        });
    }

    // The frame closes this window once it has the answer: closing it here
    // could reach the frame's "closed" check before the answer does.
    let finish = move |created: &Created| {
        answer(&popup::created_message(created));
        step.set(Step::Done);
    };
    let create = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = match options_json(&options.get_value()) {
                Ok(json) => ceremony::create(&json).await,
                Err(e) => Err(e),
            };
            busy.set(false);
            match result {
                Ok(created) if created.prf.is_none() && created.prf_enabled => {
                    made.set_value(Some(created));
                    step.set(Step::Confirm);
                }
                Ok(created) => finish(&created),
                // Cancelled at the device's prompt: "Create passkey" again.
                Err(e @ PasskeyError::Cancelled) => error.set(Some(e.message().into())),
                // Nothing to retry here (already registered, no passkeys in
                // this browser): the frame says why.
                Err(e) => {
                    error.set(Some(e.message().into()));
                    answer(&popup::failed_message(&e));
                }
            }
        });
    };
    let confirm = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let id = made.with_value(|m| m.as_ref().map(|c| c.credential_id.clone()));
            let request = prf_request(&options.get_value(), &id.unwrap_or_default());
            let result = match request {
                Ok(json) => ceremony::get(&json, false, None, None).await,
                Err(e) => Err(e),
            };
            busy.set(false);
            match result {
                Ok(asserted) => {
                    let created = made.try_update_value(Option::take).flatten();
                    if let Some(mut created) = created {
                        created.prf = asserted.prf;
                        finish(&created);
                    }
                }
                Err(e) => error.set(Some(e.message().into())),
            }
        });
    };
    // A passkey already made goes back without its secret (Ward then asks
    // for it inside the page, or the recovery code does its job).
    let cancel = move |_| match made.try_update_value(Option::take).flatten() {
        Some(created) => finish(&created),
        None => {
            answer(&popup::failed_message(&PasskeyError::Cancelled));
            if let Some(window) = web_sys::window() {
                let _ = window.close();
            }
        }
    };

    // Heading, text, and the button's label (none: no button).
    let words = move || match step.get() {
        _ if orphan => (Text::PkwinOrphanTitle, Text::PkwinOrphanBody, None),
        Step::Waiting => (Text::EnrollPasskeyTitle, Text::PkwinWaiting, None),
        Step::Create => (
            Text::EnrollPasskeyTitle,
            Text::PkwinCreateBody,
            Some(Text::EnrollCreatePasskey),
        ),
        Step::Confirm => (
            Text::PkwinConfirmTitle,
            Text::PkwinConfirmBody,
            Some(Text::PkwinConfirmButton),
        ),
        Step::Done => (Text::PkwinDoneTitle, Text::PkwinDoneBody, None),
    };
    let act = move |ev| match step.get_untracked() {
        Step::Create => create(ev),
        Step::Confirm => confirm(ev),
        _ => {}
    };
    // One view whose words change with the step: each screen its own view
    // would cost the client several KB (docs/benchmarks.md).
    view! {
        <header class="app-header"><span class="app-name">"Ward"</span></header>
        <main id="main" class="app-main">
            <section class="card" aria-labelledby="passkey-window-title">
                <h1 id="passkey-window-title">{move || t(words().0)}</h1>
                <p>{move || t(words().1)}</p>
                <button type="button" class="button primary" hidden=move || words().2.is_none()
                    prop:disabled=move || busy.get() on:click=act>{move || words().2.map(t)}</button>
                <button type="button" class="link-button" hidden=move || orphan || step.get() == Step::Done
                    on:click=cancel>{tr(Text::PkwinCancel)}</button>
                <Busy busy=busy text=Text::BusyFollowPrompts />
                <ErrorNote message=error />
            </section>
        </main>
    }
}
