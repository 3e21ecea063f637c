//! Settings → "Consent to messaging": what the account agreed to (the words
//! themselves, kept by the relay as they were), withdrawing it (messaging
//! stops; nothing is deleted), and agreeing again, to the text as it stands.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::account::ConsentStatus;

use super::local_time;
use crate::api;
use crate::components::consent::ConsentWords;
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, fill, t, tr};
use crate::messaging::Inbox;
use crate::session::Session;
use crate::session::consent_ask::ConsentAsk;

/// Where the account stands, in one sentence.
fn standing(status: &ConsentStatus, date: &dyn Fn(u64) -> String) -> String {
    match (&status.agreed, status.agreed_at, status.withdrawn_at) {
        (_, _, Some(at)) => fill(Text::SettingsConsentWithdrawn, &[("date", &date(at))]),
        (Some(text), Some(at), None) => fill(
            Text::SettingsConsentAgreed,
            &[("version", &text.version), ("date", &date(at))],
        ),
        _ => t(Text::SettingsConsentNone).into(),
    }
}

/// Whether the account's consent stands.
fn stands(status: &ConsentStatus) -> bool {
    status.agreed.is_some() && status.withdrawn_at.is_none()
}

/// The consent section.
#[component]
#[allow(unreachable_pub)]
pub(super) fn Consent() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let status = RwSignal::new(None::<ConsentStatus>);
    // Where the account stands, here and in what the home screen asks.
    let stand = move |now: ConsentStatus| {
        inbox.consent_ask.set(Some(ConsentAsk::of(now.clone())));
        status.set(Some(now));
    };
    let error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    // 0: read where the account stands; 1: agree (again); 2: withdraw.
    let act = move |what: u8| {
        confirming.set(false);
        let current = status.with_untracked(|s| s.as_ref().map(|s| s.current.clone()));
        spawn_local(async move {
            let Some(token) = session.token() else { return };
            let answer = match (what, current) {
                (1, Some(text)) => api::account::agree_or_reread(&token, &text).await,
                (2, _) => api::account::withdraw_consent(&token)
                    .await
                    .map_err(|e| (e, None)),
                _ => api::account::consent(&token).await.map_err(|e| (e, None)),
            };
            match answer {
                Ok(now) => {
                    error.set(None);
                    stand(now);
                }
                Err((e, now)) => {
                    error.set(Some(session.explain(&e)));
                    // The clinic changed its text meanwhile: show the new one.
                    if let Some(now) = now {
                        stand(now);
                    }
                }
            }
        });
    };
    act(0);
    let standing_now = move || status.with(|s| s.as_ref().is_some_and(stands));
    view! {
        <section class="card" aria-labelledby="consent-title">
            <h2 id="consent-title">{tr(Text::SettingsConsentTitle)}</h2>
            <p role="status" data-testid="consent-standing">
                {move || status.with(|s| s.as_ref().map(|s| standing(s, &|at| local_time(at))))}
            </p>
            {move || status.get().map(|s| {
                let standing = stands(&s);
                let (summary, text) = match s.agreed.filter(|_| standing) {
                    Some(agreed) => (tr(Text::SettingsConsentReadAgreed), agreed),
                    None => (tr(Text::SettingsConsentReadText), s.current),
                };
                view! {
                    <details>
                        <summary>{summary}</summary>
                        <ConsentWords text />
                    </details>
                }
            })}
            <div class="actions">
                <Show when=standing_now fallback=move || view! {
                    <button type="button" class="button primary" on:click=move |_| act(1)>{tr(Text::SettingsConsentAgree)}</button>
                }>
                    <Show when=move || confirming.get() fallback=move || view! {
                        <button type="button" class="button secondary" on:click=move |_| confirming.set(true)>{tr(Text::SettingsConsentWithdraw)}</button>
                    }>
                        <p>{tr(Text::SettingsConsentWithdrawExplain)}</p>
                        <button type="button" class="button danger" on:click=move |_| act(2)>{tr(Text::SettingsConsentWithdrawYes)}</button>
                        <button type="button" class="button secondary" on:click=move |_| confirming.set(false)>{tr(Text::SettingsConsentKeep)}</button>
                    </Show>
                </Show>
            </div>
            <ErrorNote message=error />
        </section>
    }
}
