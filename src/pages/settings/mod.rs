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

use crate::i18n::{Plural, Text, count, fill, tr};
use leptos::task::spawn_local;

use crate::components::notice::{Busy, ErrorNote};
use crate::session::{Session, idle};

/// The security settings screen.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn SecuritySettings() -> impl IntoView {
    view! {
        <h1 tabindex="-1">{tr(Text::SettingsSecurity)}</h1>
        <p><A href="/">{crate::i18n::tr(Text::PeopleBackToMessages)}</A></p>
        <p><A href="/settings/people">{crate::i18n::tr(Text::PeopleTitle)}</A></p>
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
            <h2 id="language-title">{tr(Text::SettingsLanguage)}</h2>
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
            <h2 id="safety-title">{tr(Text::SettingsSafetyTitle)}</h2>
            <p>{tr(Text::SettingsSafetyExplain)}</p>
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
            <h2 id="recovery-settings-title">{tr(Text::SettingsRecoveryTitle)}</h2>
            <p>{tr(Text::SettingsRecoveryExplain)}</p>
            <button type="button" class="button secondary" on:click=regenerate prop:disabled=move || busy.get()>
                {tr(Text::SettingsRecoveryNew)}
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
    // The choice just saved, said in the language shown.
    let saved = RwSignal::new(None::<u32>);
    let change = move |ev: leptos::ev::Event| {
        if let Ok(minutes) = event_target_value(&ev).parse::<u32>() {
            idle::set_minutes(minutes);
            chosen.set(minutes);
            saved.set(Some(minutes));
        }
    };
    view! {
        <section class="card" aria-labelledby="autolock-title">
            <h2 id="autolock-title">{tr(Text::SettingsAutolockTitle)}</h2>
            <label for="autolock">{tr(Text::SettingsAutolockAfter)}</label>
            <select id="autolock" on:change=change>
                {idle::CHOICES.iter().map(|&m| view! {
                    <option value=m.to_string() selected=move || chosen.get() == m>{move || label(m)}</option>
                }).collect_view()}
            </select>
            <p role="status">
                {move || saved.get().map(|m| fill(Text::SettingsAutolockSaved, &[("time", &label(m))]))}
            </p>
        </section>
    }
}

/// "5 minutes", "1 hour": whole hours as hours.
fn label(minutes: u32) -> String {
    if minutes >= 60 && minutes.is_multiple_of(60) {
        count(Plural::SettingsAutolockHours, u64::from(minutes / 60), &[])
    } else {
        count(Plural::SettingsAutolockMinutes, u64::from(minutes), &[])
    }
}

pub(crate) use crate::i18n::{local_time, since};
