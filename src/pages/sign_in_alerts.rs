//! The banner on the first visit home after something happened to the
//! account that its owner should know at once: a sign-in from a new kind
//! of device ("Not you? End that session."), three or more failed
//! sign-ins, or an access log that does not check out. Read once per
//! unlock; an answered alert is not shown again on this device.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::components::list::List;
use crate::i18n::{Text, t, tr};
use crate::messaging::Inbox;
use crate::pages::settings::local_time;
use crate::session::Session;
use crate::session::access_log::{self, Alert, Check};
use crate::session::log_pins;

/// Reads and checks the access log, once per unlock.
fn read_once(session: Session, inbox: Inbox) {
    if inbox.account_alerts.with_untracked(Option::is_some) {
        return;
    }
    spawn_local(async move {
        let ticket = session.ticket();
        let (Some(token), Some(me)) = (session.token(), session.account_id.get_untracked()) else {
            return;
        };
        let sessions = api::account::sessions(&token)
            .await
            .map(|list| list.sessions)
            .unwrap_or_default();
        let current = sessions
            .iter()
            .find(|s| s.current)
            .map(|s| s.session_id.clone());
        let live: Vec<String> = sessions.into_iter().map(|s| s.session_id).collect();
        let pinned = log_pins::pinned(&me);
        let Ok(history) =
            api::account::account_log_back_to(&token, pinned.as_ref().map(|pin| pin.seq)).await
        else {
            return;
        };
        if !session.is_current(ticket) {
            return;
        }
        let now = (js_sys::Date::now() / 1000.0) as u64;
        let (check, warnings) = access_log::warnings(
            &history.events,
            current.as_deref(),
            &live,
            pinned,
            log_pins::seen(&me),
            now,
        );
        if let Check::Verified { head, .. } = &check {
            log_pins::pin(&me, head);
        }
        if warnings.alerts.is_empty()
            && let Some(newest) = warnings.newest
        {
            log_pins::mark_seen(&me, newest);
        }
        inbox.account_alerts.set(Some(warnings));
    });
}

/// Takes `alert` off the banner; once none is left, everything read is
/// seen on this device.
fn answered(session: Session, inbox: Inbox, alert: &Alert) {
    inbox.account_alerts.update(|warnings| {
        if let Some(warnings) = warnings {
            warnings.alerts.retain(|a| a != alert);
            if warnings.alerts.is_empty()
                && let (Some(me), Some(newest)) =
                    (session.account_id.get_untracked(), warnings.newest)
            {
                log_pins::mark_seen(&me, newest);
            }
        }
    });
}

/// The banner (nothing when all is well).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn SignInAlerts() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    read_once(session, inbox);
    let status = RwSignal::new(None::<String>);
    let alerts = move || {
        inbox
            .account_alerts
            .with(|w| w.as_ref().map(|w| w.alerts.clone()).unwrap_or_default())
    };
    let broken = move || {
        inbox
            .account_alerts
            .with(|w| w.as_ref().and_then(|w| w.broken.clone()))
    };
    view! {
        {move || broken().map(|text| view! { <p class="notice error" role="alert">{text}</p> })}
        <List each=alerts key=Alert::key let:alert>
            {
                // Read in a closure, so it follows a change of language.
                let said = alert.clone();
                let text = move || said.words(&|at| local_time(at));
                let ended = alert.clone();
                let fine = alert.clone();
                let end_session = match &alert {
                    Alert::NewSignIn { session_id, .. } => Some(session_id.clone()),
                    Alert::FailedSignIns { .. } => None,
                };
                view! {
                    <div class="notice warning" role="alert">
                        <p>{text}</p>
                        <div class="actions">
                            {end_session.map(|id| view! {
                                <button type="button" class="button danger" on:click=move |_| {
                                    let id = id.clone();
                                    let ended = ended.clone();
                                    spawn_local(async move {
                                        let Some(token) = session.token() else { return };
                                        match api::account::revoke_session(&token, &id).await {
                                            Ok(()) => {
                                                status.set(Some(t(Text::AlertsSessionEnded).into()));
                                                answered(session, inbox, &ended);
                                            }
                                            Err(e) => status.set(Some(session.explain(&e))),
                                        }
                                    });
                                }>{tr(Text::AlertsEndSession)}</button>
                            })}
                            <button type="button" class="button secondary" on:click=move |_| answered(session, inbox, &fine)>
                                {tr(if matches!(alert, Alert::NewSignIn { .. }) { Text::AlertsItWasMe } else { Text::AlertsUnderstood })}
                            </button>
                        </div>
                    </div>
                }
            }
        </List>
        <p role="status">{move || status.get()}</p>
    }
}
