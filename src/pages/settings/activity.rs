//! Account activity: the relay's access log of this account, newest first,
//! in plain words: sign-ins (how, on what kind of device, from what
//! network) and failed ones, sign-outs, keys, vault, passkeys, the
//! authenticator app, and the patient's caregivers (invited, accepted,
//! given or denied a conversation, changed, removed, leaving, run out,
//! and what they read, sent or downloaded). Every link of the chain is
//! checked here, against what this device saw before, and the screen says
//! whether it holds.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::caregivers::Caregiver;

use super::local_time;
use crate::api;
use crate::components::notice::ErrorNote;
use crate::messaging::{Inbox, category_label};
use crate::session::Session;
use crate::session::access_log::{self, Check, Names};
use crate::session::log_pins;

/// The account activity section.
#[component]
#[allow(unreachable_pub)]
pub(super) fn Activity() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let lines = RwSignal::new(Vec::<(u64, String, String)>::new());
    let verdict = RwSignal::new(None::<Check>);
    let error = RwSignal::new(None::<String>);
    spawn_local(async move {
        let Some(token) = session.token() else { return };
        let Some(me) = session.account_id.get_untracked() else {
            return;
        };
        let current = api::account::sessions(&token)
            .await
            .ok()
            .and_then(|list| list.sessions.into_iter().find(|s| s.current))
            .map(|s| s.session_id);
        // A patient's caregivers, to name them (a caregiver has none).
        let caregivers: Vec<Caregiver> = api::caregivers::people(&token)
            .await
            .map(|people| people.caregivers)
            .unwrap_or_default();
        let history = match api::account::account_history(&token).await {
            Ok(history) => history,
            Err(e) => {
                error.set(Some(session.explain(&e)));
                return;
            }
        };
        let check = access_log::check(&history.events, log_pins::pinned(&me));
        if let Check::Verified { head, .. } = &check {
            log_pins::pin(&me, head);
            log_pins::mark_seen(&me, head.seq);
        }
        let threads = inbox.threads.get_untracked();
        let clinic = inbox.clinic.get_untracked();
        let caregiver_name = |id: &str| {
            caregivers
                .iter()
                .find(|c| c.account_id.as_deref() == Some(id))
                .map(|c| c.display_name.clone())
        };
        let person = |id: &str| {
            caregiver_name(id).or_else(|| {
                clinic
                    .as_ref()
                    .filter(|c| c.account_id == id)
                    .map(|c| c.display_name.clone())
            })
        };
        let is_caregiver = |id: &str| caregiver_name(id).is_some();
        let subject = |id: &str| {
            threads
                .iter()
                .find(|t| t.thread_id == id)
                .map(|t| category_label(t.category).to_owned())
        };
        let devices = access_log::devices(&history.events);
        let device = |session: &str| {
            devices
                .iter()
                .find(|(id, _)| id == session)
                .map(|(_, device)| device.clone())
        };
        let names = Names {
            person: &person,
            is_caregiver: &is_caregiver,
            subject: &subject,
            device: &device,
        };
        lines.set(
            history
                .events
                .iter()
                .map(|e| {
                    (
                        e.seq,
                        access_log::describe(e, current.as_deref(), &names),
                        local_time(e.at),
                    )
                })
                .collect(),
        );
        verdict.set(Some(check));
    });
    let broken = move || verdict.with(|v| matches!(v, Some(Check::Broken(_))));
    view! {
        <section class="card" aria-labelledby="activity-title">
            <h2 id="activity-title">"Account activity"</h2>
            <p>"Who signed in to your account, who read, sent or downloaded in your conversations for you, and every change to how your account signs in. If you see something you did not do or allow, call the clinic."</p>
            <p
                role="status"
                data-testid="activity-check"
                class=move || if broken() { "notice error" } else { "hint" }
            >
                {move || verdict.with(|v| v.as_ref().map(Check::words))}
            </p>
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
