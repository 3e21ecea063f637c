//! What a patient can change about one caregiver's access (which
//! conversations, read only or not, how long it lasts, removing them), and
//! a caregiver's "Stop helping". Each change is confirmed in words before
//! it is made, and removing someone starts new keys in the threads they
//! could read.

use leptos::prelude::*;

use crate::i18n::{Plural, Text, count, fill, t, tr};
use leptos::task::spawn_local;
use ward_proto::caregivers::{Caregiver, CaregiverStatus, GrantChange};

use crate::api;
use crate::components::consent::ConsentWords;
use crate::components::notice::{Busy, ErrorNote};
use crate::messaging::Inbox;

use super::terms::CaregiverTerms;
use crate::session::Session;

/// The renewal terms the relay offers, in months.
const TERMS: [u32; 4] = [3, 6, 12, 18];

/// A patient's controls for `caregiver` (active, or expired and
/// renewable); `on_changed` reloads the list, and what was done is said in
/// `said` (the page's status line: the row is drawn again with the list).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn GrantControls(
    caregiver: Caregiver,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
    said: RwSignal<String>,
) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let Some(account_id) = caregiver.account_id.clone() else {
        return ().into_any();
    };
    let name = caregiver.display_name.clone();
    let active = caregiver.status == CaregiverStatus::Active;
    // A guardian the clinic appointed, waiting for this teen's agreement:
    // agreeing or removing them are the choices.
    let awaiting = caregiver.status == CaregiverStatus::AwaitingAssent;
    let renewable = active || caregiver.status == CaregiverStatus::Expired;
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let done = said;
    let months = RwSignal::new(12u32);
    let confirming_removal = RwSignal::new(false);
    let read_only_now = caregiver.can_send == Some(false);
    let all_now = caregiver.all_threads == Some(true);
    let (chosen_box, all_box, read_only_box) = (
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
    );
    // After a change that did not happen, the boxes show what stands.
    let restore = move || {
        let set = |node: NodeRef<leptos::html::Input>, on: bool| {
            if let Some(input) = node.get_untracked() {
                input.set_checked(on);
            }
        };
        set(chosen_box, !all_now);
        set(all_box, all_now);
        set(read_only_box, read_only_now);
    };
    let change = {
        let account_id = account_id.clone();
        move |change: GrantChange, said: String| {
            busy.set(true);
            error.set(None);
            done.set(String::new());
            let account_id = account_id.clone();
            spawn_local(async move {
                let result = session
                    .with_step_up(|token| {
                        let id = account_id.clone();
                        async move { api::caregivers::change(&token, &id, &change).await }
                    })
                    .await;
                busy.set(false);
                match result {
                    Ok(()) => {
                        done.set(said);
                        on_changed();
                    }
                    Err(e) => {
                        restore();
                        error.set(Some(session.explain(&e)));
                    }
                }
            });
        }
    };
    let set_read_only = {
        let (change, name) = (change.clone(), name.clone());
        move |ev: leptos::ev::Event| {
            let read_only = event_target_checked(&ev);
            let key = if read_only {
                Text::GrantNowReadOnly
            } else {
                Text::GrantNowReadSend
            };
            let said = fill(key, &[("name", &name)]);
            change(
                GrantChange {
                    can_send: Some(!read_only),
                    ..GrantChange::default()
                },
                said,
            );
        }
    };
    let set_scope = {
        let (change, name) = (change.clone(), name.clone());
        move |all: bool| {
            let key = if all {
                Text::GrantNowAll
            } else {
                Text::GrantNowChosen
            };
            let said = fill(key, &[("name", &name)]);
            change(
                GrantChange {
                    all_threads: Some(all),
                    ..GrantChange::default()
                },
                said,
            );
        }
    };
    let renew = {
        let (change, name) = (change.clone(), name.clone());
        move |_| {
            let months = months.get_untracked();
            change(
                GrantChange {
                    months: Some(months),
                    ..GrantChange::default()
                },
                count(Plural::GrantRenewed, months.into(), &[("name", &name)]),
            );
        }
    };
    let remove = {
        let (account_id, name) = (account_id.clone(), name.clone());
        move |_| {
            busy.set(true);
            error.set(None);
            let (account_id, name) = (account_id.clone(), name.clone());
            spawn_local(async move {
                let Some(token) = session.token() else { return };
                let result = api::caregivers::end(&token, &account_id).await;
                busy.set(false);
                confirming_removal.set(false);
                match result {
                    Ok(()) => {
                        done.set(fill(Text::GrantRemoved, &[("name", &name)]));
                        // The threads they were in start their next epoch.
                        let _ = inbox.refresh(session).await;
                        on_changed();
                    }
                    Err(e) => error.set(Some(session.explain(&e))),
                }
            });
        }
    };
    // A teen agrees to the caregiver terms as shown, with the guardian.
    let terms = CaregiverTerms::new(session, error);
    if awaiting {
        terms.load();
    }
    let agree = {
        let (account_id, name) = (account_id.clone(), name.clone());
        move |_| {
            let Some(shown) = terms.shown.get_untracked() else {
                error.set(Some(t(Text::GrantTermsNotLoaded).into()));
                return;
            };
            busy.set(true);
            error.set(None);
            let (account_id, name) = (account_id.clone(), name.clone());
            spawn_local(async move {
                let result = session
                    .with_step_up(|token| {
                        let id = account_id.clone();
                        let shown = shown.clone();
                        async move { api::caregivers::assent(&token, &id, &shown).await }
                    })
                    .await;
                busy.set(false);
                match result {
                    Ok(()) => {
                        done.set(fill(Text::GrantAgreed, &[("name", &name)]));
                        on_changed();
                    }
                    Err(e) => {
                        terms.after_refusal(&e);
                        error.set(Some(session.explain(&e)));
                    }
                }
            });
        }
    };
    // Each follows the language shown.
    let named = |key: Text| {
        let name = name.clone();
        move || fill(key, &[("name", &name)])
    };
    let agree_label = named(Text::GrantAgreeTo);
    let term_id = format!("term-{account_id}");
    let read_only_label = named(Text::GrantReadOnly);
    let term_label = named(Text::GrantKeepAccessFor);
    let remove_label = named(Text::GrantRemove);
    let remove_question = named(Text::GrantRemoveQuestion);
    let assent_hint = format!("assent-hint-{account_id}");
    let scope_legend = named(Text::GrantScopeLegend);
    let scope_name = format!("scope-{account_id}");
    view! {
        <div class="grant-controls">
            <Show when=move || active>
                <fieldset class="categories">
                    <legend>{scope_legend.clone()}</legend>
                    <label class="choice">
                        <input type="radio" name=scope_name.clone() prop:checked=!all_now node_ref=chosen_box
                            prop:disabled=move || busy.get()
                            on:change={
                                let set_scope = set_scope.clone();
                                move |_| set_scope(false)
                            } />
                        {tr(Text::GrantScopeChosen)}
                    </label>
                    <label class="choice">
                        <input type="radio" name=scope_name.clone() prop:checked=all_now node_ref=all_box
                            prop:disabled=move || busy.get()
                            on:change={
                                let set_scope = set_scope.clone();
                                move |_| set_scope(true)
                            } />
                        {tr(Text::GrantScopeAll)}
                    </label>
                </fieldset>
                <label class="checkbox">
                    <input type="checkbox" prop:checked=read_only_now node_ref=read_only_box prop:disabled=move || busy.get()
                        on:change=set_read_only.clone() />
                    {read_only_label.clone()}
                </label>
            </Show>
            <Show when=move || renewable>
                <label for=term_id.clone()>{term_label.clone()}</label>
                <select id=term_id.clone() on:change=move |ev| {
                    if let Ok(m) = event_target_value(&ev).parse() {
                        months.set(m);
                    }
                }>
                    {TERMS.map(|m| view! {
                        <option value=m.to_string() selected=m == 12>
                            {move || count(Plural::GrantMonths, m.into(), &[])}
                        </option>
                    })}
                </select>
                <button type="button" class="button secondary" prop:disabled=move || busy.get()
                    on:click=renew.clone()>
                    {tr(if active { Text::GrantRenew } else { Text::GrantGiveAgain })}
                </button>
            </Show>
            <Show when=move || awaiting>
                {
                    let name = name.clone();
                    move || terms.shown.get().map(|text| view! {
                        <ConsentWords text label=fill(Text::GrantTermsFor, &[("name", &name)]) within=true />
                    })
                }
                <p class="hint" id=assent_hint.clone()>{tr(Text::GrantAssentHint)}</p>
                <button type="button" class="button" prop:disabled=move || busy.get()
                    aria-describedby=assent_hint.clone()
                    on:click=agree.clone()>
                    {agree_label.clone()}
                </button>
            </Show>
            <Show when=move || (active || awaiting) && !confirming_removal.get()>
                <button type="button" class="button secondary"
                    on:click=move |_| confirming_removal.set(true)>
                    {remove_label.clone()}
                </button>
            </Show>
            <Show when=move || (active || awaiting) && confirming_removal.get()>
                <p>{remove_question.clone()}</p>
                <button type="button" class="button danger" prop:disabled=move || busy.get()
                    on:click=remove.clone()>
                    {tr(Text::GrantYesRemove)}
                </button>
                <button type="button" class="button secondary"
                    on:click=move |_| confirming_removal.set(false)>
                    {tr(Text::GrantCancel)}
                </button>
            </Show>
            <Busy busy=busy text=Text::BusySaving />
            <ErrorNote message=error />
        </div>
    }
    .into_any()
}

/// A caregiver's "Stop helping NAME", confirmed first.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn StopHelping(
    patient_id: String,
    name: String,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    let stop = move |_| {
        busy.set(true);
        error.set(None);
        let patient_id = patient_id.clone();
        spawn_local(async move {
            let Some(token) = session.token() else { return };
            let result = api::caregivers::end(&token, &patient_id).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    let _ = inbox.refresh(session).await;
                    on_changed();
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    let asked = name.clone();
    view! {
        <Show
            when=move || confirming.get()
            fallback=move || {
                let name = name.clone();
                view! {
                    <button type="button" class="button secondary" on:click=move |_| confirming.set(true)>
                        {move || fill(Text::GrantStopHelping, &[("name", &name)])}
                    </button>
                }
            }
        >
            <p>{
                let asked = asked.clone();
                move || fill(Text::GrantStopHelpingQuestion, &[("name", &asked)])
            }</p>
            <button type="button" class="button danger" prop:disabled=move || busy.get() on:click=stop.clone()>
                {tr(Text::GrantYesStop)}
            </button>
            <button type="button" class="button secondary" on:click=move |_| confirming.set(false)>
                {tr(Text::GrantCancel)}
            </button>
        </Show>
        <ErrorNote message=error />
    }
}
