//! Account activity: the relay's record of every security change to the
//! account (keys, vault, passkeys, authenticator app, sign-ins), so a
//! patient can see a change they did not make.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::account::{AccountEvent, AccountEventKind};

use super::local_time;
use crate::api;
use crate::components::notice::ErrorNote;
use crate::session::Session;

/// What a kind of change is called on screen.
pub(super) fn kind_words(kind: AccountEventKind) -> &'static str {
    match kind {
        AccountEventKind::BundlePublished => "Security key created",
        AccountEventKind::BundleChanged => "Security key changed",
        AccountEventKind::VaultChanged => "Key vault changed (recovery code or unlock methods)",
        AccountEventKind::PasskeyAdded => "Passkey added",
        AccountEventKind::PasskeyRemoved => "Passkey removed",
        AccountEventKind::TotpEnabled => "Authenticator app turned on",
        AccountEventKind::TotpDisabled => "Authenticator app turned off",
        AccountEventKind::SignedIn => "Signed in",
        AccountEventKind::SessionRevoked => "A device was signed out",
        AccountEventKind::CaregiverInvited => "Caregiver invited",
        AccountEventKind::ThreadShared => "A conversation was shared with a caregiver",
    }
}

/// One line: "Passkey added (Work laptop) · this device".
pub(super) fn describe(event: &AccountEvent, current_session: Option<&str>) -> String {
    let mut line = kind_words(event.kind).to_owned();
    if let Some(detail) = event.detail.as_deref().filter(|d| !d.is_empty()) {
        line.push_str(&format!(" ({detail})"));
    }
    if current_session.is_some() && event.session_id.as_deref() == current_session {
        line.push_str(" · this device");
    }
    line
}

/// The account activity section.
#[component]
#[allow(unreachable_pub)]
pub(super) fn Activity() -> impl IntoView {
    let session = Session::get();
    let lines = RwSignal::new(Vec::<(u64, String, String)>::new());
    let error = RwSignal::new(None::<String>);
    spawn_local(async move {
        let Some(token) = session.token() else { return };
        let current = api::account::sessions(&token)
            .await
            .ok()
            .and_then(|list| list.sessions.into_iter().find(|s| s.current))
            .map(|s| s.session_id);
        match api::account::account_history(&token).await {
            Ok(history) => lines.set(
                history
                    .events
                    .iter()
                    .map(|e| (e.seq, describe(e, current.as_deref()), local_time(e.at)))
                    .collect(),
            ),
            Err(e) => error.set(Some(session.explain(&e))),
        }
    });
    view! {
        <section class="card" aria-labelledby="activity-title">
            <h2 id="activity-title">"Account activity"</h2>
            <p>"Every change to how your account signs in and to your security key. If you see one you did not make, call the clinic."</p>
            <ul class="settings-list" data-testid="account-activity">
                <For each=move || lines.get() key=|(seq, _, _)| *seq let:line>
                    <li class="settings-row">
                        <div>
                            <strong>{line.1}</strong>
                            <span class="meta">{line.2}</span>
                        </div>
                    </li>
                </For>
            </ul>
            <ErrorNote message=error />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: AccountEventKind, session: Option<&str>, detail: Option<&str>) -> AccountEvent {
        AccountEvent {
            seq: 1,
            kind,
            at: 1_700_000_000,
            session_id: session.map(Into::into),
            detail: detail.map(Into::into),
        }
    }

    #[test]
    fn each_change_reads_as_words_and_this_device_is_named() {
        let added = event(
            AccountEventKind::PasskeyAdded,
            Some("s-1"),
            Some("Work laptop"),
        );
        assert_eq!(
            describe(&added, Some("s-1")),
            "Passkey added (Work laptop) · this device"
        );
        assert_eq!(describe(&added, Some("s-2")), "Passkey added (Work laptop)");
        let changed = event(AccountEventKind::BundleChanged, None, None);
        assert_eq!(describe(&changed, None), "Security key changed");
        assert_eq!(describe(&changed, Some("s-1")), "Security key changed");
    }
}
