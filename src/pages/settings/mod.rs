//! Settings → Security: passkeys, the authenticator app, signed-in
//! devices, account activity, the safety number, the recovery code,
//! auto-lock.

mod activity;
mod consent;
mod devices;
mod grant;
mod passkeys;
mod people;
mod terms;
mod totp;

pub(crate) use people::PeopleWhoHelp;

use crate::router::A;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::notice::{Busy, ErrorNote};
use crate::session::{Session, idle};

/// The security settings screen.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn SecuritySettings() -> impl IntoView {
    view! {
        <h1 tabindex="-1">"Security"</h1>
        <p><A href="/">"Back to messages"</A></p>
        <p><A href="/settings/people">"People who help me"</A></p>
        <crate::pwa::notifications::Notifications />
        <crate::pwa::install::InstallWard />
        <passkeys::Passkeys />
        <totp::AuthenticatorApp />
        <devices::Devices />
        <consent::Consent />
        <activity::Activity />
        <SafetyNumber />
        <RecoveryCode />
        <AutoLock />
    }
}

/// The account's safety number, to compare with the clinic in person.
#[component]
fn SafetyNumber() -> impl IntoView {
    let session = Session::get();
    let groups = session
        .with_account(|account| account.keys().bundle().safety_number().groups())
        .unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="safety-title">
            <h2 id="safety-title">"Your safety number"</h2>
            <p>"Your care team sees the same number for you. If they read it to you and it matches, nobody is standing between you."</p>
            <p class="safety-number" data-testid="safety-number">
                {groups.iter().map(|g| view! { <span class="group">{format!("{g:05}")}</span> " " }).collect_view()}
            </p>
        </section>
    }
}

/// Making a new recovery code (after a fresh passkey check).
#[component]
fn RecoveryCode() -> impl IntoView {
    let session = Session::get();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let regenerate = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session.regenerate_recovery_code().await;
            busy.set(false);
            if let Err(e) = result {
                error.set(Some(session.explain(&e)));
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="recovery-settings-title">
            <h2 id="recovery-settings-title">"Recovery code"</h2>
            <p>"Lost your recovery code, or think someone saw it? Make a new one: the old one stops working at once. Other devices that use a different passkey will ask for the new code once."</p>
            <button type="button" class="button secondary" on:click=regenerate prop:disabled=move || busy.get()>
                "Make a new recovery code"
            </button>
            <Busy busy=busy text="Confirm with your passkey…" />
            <ErrorNote message=error />
        </section>
    }
}

/// How long Ward waits before locking.
#[component]
fn AutoLock() -> impl IntoView {
    let chosen = RwSignal::new(idle::minutes());
    let saved = RwSignal::new(None::<String>);
    let change = move |ev: leptos::ev::Event| {
        if let Ok(minutes) = event_target_value(&ev).parse::<u32>() {
            idle::set_minutes(minutes);
            chosen.set(minutes);
            saved.set(Some(format!(
                "Ward now locks after {} without use.",
                label(minutes)
            )));
        }
    };
    view! {
        <section class="card" aria-labelledby="autolock-title">
            <h2 id="autolock-title">"Auto-lock"</h2>
            <label for="autolock">"Lock Ward after"</label>
            <select id="autolock" on:change=change>
                {idle::CHOICES.iter().map(|&m| view! {
                    <option value=m.to_string() selected=move || chosen.get() == m>{label(m)}</option>
                }).collect_view()}
            </select>
            <p role="status">{move || saved.get()}</p>
        </section>
    }
}

fn label(minutes: u32) -> String {
    match minutes {
        1 => "1 minute".into(),
        60 => "1 hour".into(),
        m => format!("{m} minutes"),
    }
}

/// "3 Mar 2026, 14:05" in the patient's own locale and time zone.
pub(crate) fn local_time(unix_seconds: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        unix_seconds as f64 * 1000.0,
    ));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

/// "just now" or "5 minutes ago" within the last hour, else [`local_time`].
pub(crate) fn since(unix_seconds: u64) -> String {
    let now = (js_sys::Date::now() / 1000.0) as u64;
    recently(now, unix_seconds).unwrap_or_else(|| local_time(unix_seconds))
}

/// How long before `now` `then` was, in words, if under an hour (a clock a
/// little ahead of the relay's reads as "just now").
fn recently(now: u64, then: u64) -> Option<String> {
    match now.saturating_sub(then) {
        0..60 => Some("just now".into()),
        60..120 => Some("1 minute ago".into()),
        seconds @ 120..3600 => Some(format!("{} minutes ago", seconds / 60)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::recently;

    #[test]
    fn the_last_hour_reads_in_words() {
        assert_eq!(recently(1_000, 1_000).as_deref(), Some("just now"));
        assert_eq!(recently(1_000, 1_030).as_deref(), Some("just now"));
        assert_eq!(recently(1_000, 930).as_deref(), Some("1 minute ago"));
        assert_eq!(
            recently(10_000, 10_000 - 59 * 60).as_deref(),
            Some("59 minutes ago")
        );
        assert_eq!(recently(10_000, 10_000 - 3600), None);
    }
}
