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
use ward_proto::account::AccountEvent;
use ward_proto::caregivers::Caregiver;

use super::local_time;
use crate::api;
use crate::components::list::List;
use crate::components::notice::{ErrorNote, focus_id};
use crate::i18n::{Text, t, tr};
use crate::messaging::{Inbox, category_label};
use crate::session::Session;
use crate::session::access_log::{self, Check, Names};
use crate::session::log_pins;

/// Who and what the page names in entries: read once, with the log.
struct Known {
    /// This device's session.
    current: Option<String>,
    /// A patient's caregivers (a caregiver has none).
    caregivers: Vec<Caregiver>,
}

/// `events` (newest first) as the list shows them: seq, words, time.
fn lines_of(events: &[AccountEvent], known: &Known, inbox: Inbox) -> Vec<(u64, String, String)> {
    let threads = inbox.threads.get_untracked();
    let clinic = inbox.clinic.get_untracked();
    let caregiver_name = |id: &str| {
        known
            .caregivers
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
    let devices = access_log::devices(events);
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
    events
        .iter()
        .map(|e| {
            (
                e.seq,
                access_log::describe(e, known.current.as_deref(), &names),
                local_time(e.at),
            )
        })
        .collect()
}

/// The account activity section.
#[component]
#[allow(unreachable_pub)]
pub(super) fn Activity() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let events = StoredValue::new(Vec::<AccountEvent>::new());
    let known = StoredValue::new(None::<Known>);
    let verdict = RwSignal::new(None::<Check>);
    // Said again when what was read is checked (`show` sets the
    // verdict each time) and when the language changes.
    let lines = move || {
        verdict.track();
        crate::i18n::lang();
        known.with_value(|known| {
            known.as_ref().map_or_else(Vec::new, |known| {
                events.with_value(|events| lines_of(events, known, inbox))
            })
        })
    };
    let earlier = RwSignal::new(None::<u64>);
    let loading_earlier = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // Checks everything read so far against the pin (pinning what holds)
    // and shows it.
    let show = move |me: &str| {
        let check = events.with_value(|events| access_log::check(events, log_pins::pinned(me)));
        if let Check::Verified { head, .. } = &check {
            log_pins::pin(me, head);
            log_pins::mark_seen(me, head.seq);
        }
        verdict.set(Some(check));
    };
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
        let caregivers: Vec<Caregiver> = api::caregivers::people(&token)
            .await
            .map(|people| people.caregivers)
            .unwrap_or_default();
        // Back to what this device verified before, so it is compared.
        let back_to = log_pins::pinned(&me).map(|pin| pin.seq);
        let history = match api::account::account_log_back_to(&token, back_to).await {
            Ok(history) => history,
            Err(e) => {
                error.set(Some(session.explain(&e)));
                return;
            }
        };
        known.set_value(Some(Known {
            current,
            caregivers,
        }));
        events.set_value(history.events);
        earlier.set(history.earlier_cursor);
        show(&me);
    });
    let show_earlier = move |_| {
        let (Some(token), Some(me), Some(before)) = (
            session.token(),
            session.account_id.get_untracked(),
            earlier.get_untracked(),
        ) else {
            return;
        };
        loading_earlier.set(true);
        error.set(None);
        spawn_local(async move {
            match api::account::account_history(&token, Some(before)).await {
                Ok(page) => {
                    events.update_value(|events| events.extend(page.events));
                    earlier.set(page.earlier_cursor);
                    show(&me);
                    // The button is gone with the last page: focus the
                    // section's title rather than lose it.
                    if page.earlier_cursor.is_none() {
                        focus_id("activity-title");
                    }
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
            loading_earlier.set(false);
        });
    };
    let broken = move || verdict.with(|v| matches!(v, Some(Check::Broken(_))));
    view! {
        <section class="card" aria-labelledby="activity-title">
            <h2 id="activity-title" tabindex="-1">{tr(Text::SettingsActivityTitle)}</h2>
            <p>{tr(Text::SettingsActivityExplain)}</p>
            <p
                role="status"
                data-testid="activity-check"
                class=move || if broken() { "notice error" } else { "hint" }
            >
                {move || verdict.with(|v| v.as_ref().map(Check::words))}
            </p>
            <ul class="settings-list" data-testid="account-activity">
                <List each=lines key=|(seq, words, _)| format!("{seq} {words}") let:line>
                    <li class="settings-row">
                        <div>
                            <strong>{line.1}</strong>
                            <span class="meta">{line.2}</span>
                        </div>
                    </li>
                </List>
            </ul>
            <Show when=move || earlier.get().is_some()>
                <button
                    type="button"
                    class="button secondary"
                    on:click=show_earlier
                    disabled=move || loading_earlier.get()
                >
                    {move || {
                        t(if loading_earlier.get() {
                            Text::SettingsActivityLoadingEarlier
                        } else {
                            Text::SettingsActivityShowEarlier
                        })
                    }}
                </button>
            </Show>
            <ErrorNote message=error />
        </section>
    }
}
