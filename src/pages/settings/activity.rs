//! Account activity: the relay's record of every security change to the
//! account (keys, vault, passkeys, authenticator app, sign-ins) and to who
//! can read it (caregivers invited, given or denied a conversation,
//! changed, removed, leaving, run out), so a patient can see a change they
//! did not make.

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
        AccountEventKind::ThreadUnshared => "A conversation was no longer shared with a caregiver",
        AccountEventKind::CaregiverChanged => "A caregiver's access was changed or renewed",
        AccountEventKind::CaregiverRemoved => "A caregiver was removed",
        AccountEventKind::CaregiverLeft => "A caregiver stopped helping",
        AccountEventKind::CaregiverExpired => "A caregiver's access ran out",
    }
}

/// Whether an event's detail is a caregiver's account id (shown as their
/// name).
fn names_a_caregiver(kind: AccountEventKind) -> bool {
    matches!(
        kind,
        AccountEventKind::ThreadShared
            | AccountEventKind::ThreadUnshared
            | AccountEventKind::CaregiverChanged
            | AccountEventKind::CaregiverRemoved
            | AccountEventKind::CaregiverLeft
            | AccountEventKind::CaregiverExpired
    )
}

/// One line: "Passkey added (Work laptop) · this device", "A caregiver
/// was removed (Dana Rivera)". `name_of` names a caregiver's account id.
pub(super) fn describe(
    event: &AccountEvent,
    current_session: Option<&str>,
    name_of: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut line = kind_words(event.kind).to_owned();
    if let Some(detail) = event.detail.as_deref().filter(|d| !d.is_empty()) {
        let shown = if names_a_caregiver(event.kind) {
            name_of(detail).unwrap_or_else(|| "a caregiver".into())
        } else {
            detail.to_owned()
        };
        line.push_str(&format!(" ({shown})"));
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
        // A patient's caregivers, to name them (a caregiver has none).
        let caregivers = api::caregivers::people(&token)
            .await
            .map(|people| people.caregivers)
            .unwrap_or_default();
        let name_of = |id: &str| {
            caregivers
                .iter()
                .find(|c| c.account_id.as_deref() == Some(id))
                .map(|c| c.display_name.clone())
        };
        match api::account::account_history(&token).await {
            Ok(history) => lines.set(
                history
                    .events
                    .iter()
                    .map(|e| {
                        (
                            e.seq,
                            describe(e, current.as_deref(), &name_of),
                            local_time(e.at),
                        )
                    })
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
        let nobody = |_: &str| None;
        assert_eq!(
            describe(&added, Some("s-1"), &nobody),
            "Passkey added (Work laptop) · this device"
        );
        assert_eq!(
            describe(&added, Some("s-2"), &nobody),
            "Passkey added (Work laptop)"
        );
        let changed = event(AccountEventKind::BundleChanged, None, None);
        assert_eq!(describe(&changed, None, &nobody), "Security key changed");
        assert_eq!(
            describe(&changed, Some("s-1"), &nobody),
            "Security key changed"
        );
    }

    /// A caregiver event names the caregiver, never their account id.
    #[test]
    fn caregiver_events_name_the_caregiver() {
        let dana = |id: &str| (id == "acc_dana").then(|| "Dana Rivera".to_owned());
        let removed = event(
            AccountEventKind::CaregiverRemoved,
            Some("s-1"),
            Some("acc_dana"),
        );
        assert_eq!(
            describe(&removed, Some("s-2"), &dana),
            "A caregiver was removed (Dana Rivera)"
        );
        let expired = event(AccountEventKind::CaregiverExpired, None, Some("acc_gone"));
        assert_eq!(
            describe(&expired, None, &dana),
            "A caregiver's access ran out (a caregiver)"
        );
    }
}
