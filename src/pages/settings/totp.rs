//! The authenticator app (TOTP): the second factor of the code sign-in.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::auth::TotpEnrollment;

use crate::api;
use crate::components::code::six_digits;
use crate::components::notice::ErrorNote;
use crate::components::qr::QrCodeImage;
use crate::i18n::{Text, t, tr};
use crate::session::Session;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Loading,
    Off,
    Setting(TotpEnrollment),
    On,
}

/// The authenticator app section.
#[component]
#[allow(unreachable_pub)]
pub(super) fn AuthenticatorApp() -> impl IntoView {
    let session = Session::get();
    let state = RwSignal::new(State::Loading);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<String>);

    spawn_local(async move {
        let Some(token) = session.token() else { return };
        match api::account::totp_status(&token).await {
            Ok(found) => state.set(if found.enabled { State::On } else { State::Off }),
            Err(e) => error.set(Some(session.explain(&e))),
        }
    });

    let start = move |_| {
        error.set(None);
        spawn_local(async move {
            match session
                .with_step_up(|t| async move { api::account::totp_enroll(&t).await })
                .await
            {
                Ok(enrollment) => state.set(State::Setting(enrollment)),
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(typed) = six_digits(&code.get_untracked()) else {
            error.set(Some(t(Text::SettingsTotpCodeNeeded).into()));
            return;
        };
        error.set(None);
        spawn_local(async move {
            let confirmed = session
                .with_step_up(|t| {
                    let typed = typed.clone();
                    async move { api::account::totp_confirm(&t, &typed).await }
                })
                .await;
            match confirmed {
                Ok(()) => {
                    code.set(String::new());
                    state.set(State::On);
                    status.set(Some(t(Text::SettingsTotpNowOn).into()));
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    let disable = move |_| {
        error.set(None);
        spawn_local(async move {
            match session
                .with_step_up(|t| async move { api::account::totp_disable(&t).await })
                .await
            {
                Ok(()) => {
                    state.set(State::Off);
                    status.set(Some(t(Text::SettingsTotpNowOff).into()));
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="totp-title">
            <h2 id="totp-title">{tr(Text::SettingsTotpTitle)}</h2>
            {move || match state.get() {
                State::Loading => view! { <p>{tr(Text::BusyChecking)}</p> }.into_any(),
                State::Off => view! {
                    <p>{tr(Text::SettingsTotpOffExplain)}</p>
                    <button type="button" class="button secondary" on:click=start>{tr(Text::SettingsTotpSetUp)}</button>
                }.into_any(),
                State::Setting(enrollment) => view! {
                    <p>{tr(Text::SettingsTotpScan)}</p>
                    <QrCodeImage text=enrollment.otpauth_uri.clone() label=t(Text::SettingsTotpQrLabel) />
                    <p>{tr(Text::SettingsTotpKey)}" "<code class="totp-secret" data-testid="totp-secret">{enrollment.secret_base32.clone()}</code></p>
                    <details>
                        <summary>{tr(Text::SettingsTotpSetupLink)}</summary>
                        <p class="break"><code data-testid="otpauth-uri">{enrollment.otpauth_uri.clone()}</code></p>
                    </details>
                    <form on:submit=confirm>
                        <label for="totp-confirm">{tr(Text::SettingsTotpCodeLabel)}</label>
                        <input id="totp-confirm" type="text" inputmode="numeric" autocomplete="off" maxlength="12" bind:value=code />
                        <button type="submit" class="button primary">{tr(Text::SettingsTotpTurnOn)}</button>
                    </form>
                }.into_any(),
                State::On => view! {
                    <p>{tr(Text::SettingsTotpOn)}</p>
                    <button type="button" class="button secondary" on:click=disable>{tr(Text::SettingsTotpTurnOff)}</button>
                }.into_any(),
            }}
            <p role="status">{move || status.get()}</p>
            <ErrorNote message=error />
        </section>
    }
}
