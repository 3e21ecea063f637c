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

use crate::i18n::Text;
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
        <section class="card" aria-labelledby="language-title">
            <h2 id="language-title">{crate::i18n::tr(Text::SettingsLanguage)}</h2>
            <crate::components::language::LanguagePicker id="language" />
        </section>
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
            <Busy busy=busy text=Text::BusyConfirmPasskey />
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

pub(crate) use crate::i18n::{local_time, since};
