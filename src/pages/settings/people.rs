//! Settings → "People who help me": whom the patient invited to help
//! (waiting, expired, active, removed) and a form to invite someone; for a
//! caregiver, the patients they help.

use crate::router::A;
use leptos::prelude::*;

use crate::i18n::{Text, fill, t, tr};
use leptos::task::spawn_local;
use ward_proto::caregivers::{Caregiver, CaregiverStatus, HelpedPatient, People, Relationship};
use ward_proto::threads::Role;

use super::grant::{GrantControls, StopHelping};
use super::local_time;
use super::terms::CaregiverTerms;
use crate::api;
use crate::components::consent::ConsentWords;
use crate::components::list::{List, row_key};
use crate::components::notice::{Busy, ErrorNote};
use crate::messaging::Inbox;
use crate::session::Session;

/// What a caregiver's row says about where they stand.
fn standing(caregiver: &Caregiver) -> String {
    let at = |ms: Option<u64>| ms.map(|ms| local_time(ms / 1000)).unwrap_or_default();
    match caregiver.status {
        CaregiverStatus::Invited => fill(
            Text::PeopleInvitedUntil,
            &[("until", &at(caregiver.invite_expires_at))],
        ),
        CaregiverStatus::InviteExpired => t(Text::PeopleInviteExpired).into(),
        CaregiverStatus::Enrolling => t(Text::PeopleEnrolling).into(),
        CaregiverStatus::AwaitingAssent => t(Text::PeopleAwaitingAssent).into(),
        CaregiverStatus::Active => {
            let reads_only = caregiver.can_send == Some(false);
            let all = caregiver.all_threads == Some(true);
            let key = match (reads_only, all) {
                (true, true) => Text::PeopleActiveReadsAll,
                (true, false) => Text::PeopleActiveReadsChosen,
                (false, true) => Text::PeopleActiveSendsAll,
                (false, false) => Text::PeopleActiveSendsChosen,
            };
            fill(
                key,
                &[
                    ("since", &at(caregiver.active_since)),
                    ("until", &at(caregiver.access_ends_at)),
                ],
            )
        }
        CaregiverStatus::Expired => fill(
            Text::PeopleAccessEnded,
            &[("date", &at(caregiver.access_ends_at))],
        ),
        CaregiverStatus::Removed => fill(
            Text::PeopleRemovedOn,
            &[("date", &at(caregiver.removed_at))],
        ),
    }
}

/// What a caregiver's row for a patient they help says: since when, what
/// they may do, and until when.
fn helping(patient: &HelpedPatient) -> String {
    let name = patient.display_name.as_str();
    if patient.awaiting_assent {
        return fill(Text::PeopleHelpingAwaitingAssent, &[("name", name)]);
    }
    let key = match (patient.can_send, patient.all_threads) {
        (true, true) => Text::PeopleHelpingSendsAll,
        (true, false) => Text::PeopleHelpingSendsChosen,
        (false, true) => Text::PeopleHelpingReadsAll,
        (false, false) => Text::PeopleHelpingReadsChosen,
    };
    fill(
        key,
        &[
            ("name", name),
            ("since", &local_time(patient.since / 1000)),
            ("until", &local_time(patient.access_ends_at / 1000)),
        ],
    )
}

/// The caregivers list's key: a row is drawn again when any of these change.
fn caregiver_key(c: &Caregiver) -> String {
    let flag = |value: Option<bool>| match value {
        None => "",
        Some(false) => "0",
        Some(true) => "1",
    };
    row_key(&[
        flag(c.account_id.as_ref().map(|_| true)),
        c.account_id.as_deref().unwrap_or_default(),
        &c.display_name,
        &c.invited_at.to_string(),
        &(c.status as u8).to_string(),
        flag(c.can_send),
        flag(c.all_threads),
        &c.access_ends_at
            .map(|at| at.to_string())
            .unwrap_or_default(),
    ])
}

/// Who a caregiver is to the patient, and who appointed them, in words
/// ("Parent · appointed by the clinic"); empty when neither is known.
fn relation(caregiver: &Caregiver) -> String {
    let mut words = caregiver
        .relationship
        .map(relationship_word)
        .unwrap_or_default()
        .to_owned();
    if caregiver.appointed_by_clinic {
        if !words.is_empty() {
            words.push_str(" · ");
        }
        words.push_str(t(Text::PeopleAppointedByClinic));
    }
    words
}

/// A relationship as the invite form offers it.
fn relationship_word(relationship: Relationship) -> &'static str {
    match relationship {
        Relationship::Parent => t(Text::PeopleRelationshipParent),
        Relationship::Child => t(Text::PeopleRelationshipChild),
        Relationship::Spouse => t(Text::PeopleRelationshipSpouse),
        Relationship::Other => t(Text::PeopleRelationshipOther),
    }
}

/// The link that opens enrollment with the invite filled in. The code is in
/// the fragment, so it never reaches a server's logs.
fn invite_link(code: &str) -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    format!("{origin}/enroll#invite={}", api::url_encode(code))
}

/// The screen.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn PeopleWhoHelp() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    // What the last change to a caregiver did, in words.
    let said = RwSignal::new(String::new());
    // The relay's answer, whole: which list applies comes with it.
    let people = RwSignal::new(None::<People>);
    let error = RwSignal::new(None::<String>);
    let reload = move || {
        spawn_local(async move {
            let Some(token) = session.token() else { return };
            match api::caregivers::people(&token).await {
                Ok(answer) => {
                    // The rest of the app (notices, read-only threads) too.
                    inbox.people.set(Some(answer.clone()));
                    inbox.share_whole_scopes(session);
                    people.set(Some(answer));
                    error.set(None);
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    reload();
    let is = move |role: Role| people.with(|p| p.as_ref().is_some_and(|p| p.role == role));
    let patients =
        move || people.with(|p| p.as_ref().map(|p| p.patients.clone()).unwrap_or_default());
    let caregivers =
        move || people.with(|p| p.as_ref().map(|p| p.caregivers.clone()).unwrap_or_default());
    view! {
        <h1 tabindex="-1">{tr(Text::PeopleTitle)}</h1>
        <p><A href="/">{tr(Text::PeopleBackToMessages)}</A></p>
        <Show when=move || is(Role::Caregiver)>
            <section class="card" aria-labelledby="helped-title">
                <h2 id="helped-title">{tr(Text::PeopleYouHelp)}</h2>
                <Show
                    when=move || !patients().is_empty()
                    fallback=|| view! { <p>{tr(Text::PeopleNobodyShared)}</p> }
                >
                    <ul class="settings-list" aria-label=tr(Text::PeopleYouHelp)>
                        <List each=patients key=|p| p.account_id.clone() let:patient>
                            <li class="settings-row">
                                <div>
                                    <strong>{patient.display_name.clone()}</strong>
                                    <span class="meta">{
                                        let patient = patient.clone();
                                        move || helping(&patient)
                                    }</span>
                                </div>
                                <StopHelping
                                    patient_id=patient.account_id.clone()
                                    name=patient.display_name.clone()
                                    on_changed=reload
                                />
                            </li>
                        </List>
                    </ul>
                </Show>
                <AcceptInvitation on_accepted=reload />
            </section>
        </Show>
        <Show when=move || is(Role::Patient)>
            <section class="card" aria-labelledby="helpers-title">
                <h2 id="helpers-title">{tr(Text::PeopleYourCaregivers)}</h2>
                <p>{tr(Text::PeopleCaregiversIntro)}</p>
                <Show
                    when=move || !caregivers().is_empty()
                    fallback=|| view! { <p>{tr(Text::PeopleNoneInvited)}</p> }
                >
                    <ul class="settings-list" aria-label=tr(Text::PeopleYourCaregivers)>
                        <List
                            each=caregivers
                            key=caregiver_key
                            let:caregiver
                        >
                            <li class="settings-row">
                                <div>
                                    <strong>{caregiver.display_name.clone()}</strong>
                                    <span class="meta">{
                                        let caregiver = caregiver.clone();
                                        move || relation(&caregiver)
                                    }</span>
                                    <span class="meta">{
                                        let caregiver = caregiver.clone();
                                        move || standing(&caregiver)
                                    }</span>
                                    <span class="meta">{
                                        let hint = caregiver.contact_hint.clone();
                                        move || fill(Text::PeopleCodesGoTo, &[("contact", &hint)])
                                    }</span>
                                </div>
                                <GrantControls caregiver=caregiver.clone() on_changed=reload said=said />
                            </li>
                        </List>
                    </ul>
                </Show>
                <p role="status">{move || said.get()}</p>
            </section>
            <InviteForm on_invited=reload />
        </Show>
        <ErrorNote message=error />
    }
}

/// A caregiver accepting another person's invitation with the account
/// they already have (it must have been sent to this account's contact).
#[component]
fn AcceptInvitation(on_accepted: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let said = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = code.get_untracked();
        if typed.trim().is_empty() {
            error.set(Some(t(Text::PeopleEnterInvitationCode).into()));
            return;
        }
        busy.set(true);
        error.set(None);
        said.set(String::new());
        spawn_local(async move {
            let Some(token) = session.token() else { return };
            let result = api::caregivers::accept(&token, typed.trim()).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    code.set(String::new());
                    said.set(t(Text::PeopleInvitationAccepted).into());
                    let _ = inbox.refresh(session).await;
                    on_accepted();
                }
                // What was typed stays, to correct it.
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    view! {
        <form on:submit=submit>
            <h3>{tr(Text::PeopleHelpSomeoneElse)}</h3>
            <label for="another-invite">{tr(Text::PeopleInvitationCode)}</label>
            <p class="hint" id="another-invite-hint">{tr(Text::PeopleInvitationCodeHint)}</p>
            <input id="another-invite" type="text" maxlength="64" autocomplete="off"
                aria-describedby="another-invite-hint" bind:value=code />
            <button type="submit" class="button secondary" prop:disabled=move || busy.get()>{tr(Text::PeopleAcceptInvitation)}</button>
        </form>
        <p role="status">{move || said.get()}</p>
        <ErrorNote message=error />
    }
}

/// Inviting someone: their name and where their one-time code goes; the
/// answer is a link (and the code) for the patient to send them.
#[component]
fn InviteForm(on_invited: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let session = Session::get();
    let name = RwSignal::new(String::new());
    let contact = RwSignal::new(String::new());
    let relationship = RwSignal::new(Relationship::Other);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let invited = RwSignal::new(None::<(String, String, String)>);
    // The caregiver terms: inviting someone is agreeing to them as shown.
    let terms = CaregiverTerms::new(session, error);
    terms.load();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (typed_name, typed_contact) = (name.get_untracked(), contact.get_untracked());
        if typed_name.trim().is_empty() || typed_contact.trim().is_empty() {
            error.set(Some(t(Text::PeopleEnterNameContact).into()));
            return;
        }
        let Some(shown) = terms.shown.get_untracked() else {
            error.set(Some(t(Text::PeopleTermsNotLoaded).into()));
            terms.load();
            return;
        };
        busy.set(true);
        error.set(None);
        invited.set(None);
        spawn_local(async move {
            let result =
                session
                    .with_step_up(|token| {
                        let (n, c) = (typed_name.clone(), typed_contact.clone());
                        let r = relationship.get_untracked();
                        let shown = shown.clone();
                        async move {
                            api::caregivers::invite(&token, n.trim(), c.trim(), r, &shown).await
                        }
                    })
                    .await;
            busy.set(false);
            match result {
                Ok(created) => {
                    invited.set(Some((
                        typed_name.trim().to_owned(),
                        invite_link(&created.invite_code),
                        created.invite_code,
                    )));
                    // Kept for a next invite only once this one is made.
                    name.set(String::new());
                    contact.set(String::new());
                    on_invited();
                }
                Err(e) => {
                    terms.after_refusal(&e);
                    error.set(Some(session.explain(&e)));
                }
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="invite-title">
            <h2 id="invite-title">{tr(Text::PeopleInviteTitle)}</h2>
            <form on:submit=submit>
                <label for="caregiver-name">{tr(Text::PeopleTheirName)}</label>
                <input id="caregiver-name" type="text" maxlength="100" autocomplete="off" bind:value=name />
                <label for="caregiver-relationship">{tr(Text::PeopleHowRelated)}</label>
                <select id="caregiver-relationship" on:change=move |ev| {
                    let chosen = event_target_value(&ev);
                    if let Some(r) = Relationship::ALL.into_iter().find(|r| r.name() == chosen) {
                        relationship.set(r);
                    }
                }>
                    {Relationship::ALL.map(|r| view! {
                        <option value=r.name() selected=r == Relationship::Other>{move || relationship_word(r)}</option>
                    })}
                </select>
                <label for="caregiver-contact">{tr(Text::PeopleTheirContact)}</label>
                <p class="hint" id="caregiver-contact-hint">{tr(Text::PeopleContactHint)}</p>
                <input id="caregiver-contact" type="text" maxlength="254" autocomplete="off"
                    aria-describedby="caregiver-contact-hint" bind:value=contact />
                {move || terms.shown.get().map(|text| view! {
                    <ConsentWords text label=t(Text::PeopleCaregiverTerms) within=true />
                })}
                <p class="hint" id="invite-terms-hint">{tr(Text::PeopleInviteAgreeHint)}</p>
                <button type="submit" class="button" aria-describedby="invite-terms-hint" prop:disabled=move || busy.get()>{tr(Text::PeopleInvite)}</button>
            </form>
            <Busy busy=busy text=Text::BusyMakingInvite />
            // Always in the page, so that what appears in it is announced.
            <div role="status">
                {move || invited.get().map(|(who, link, code)| view! {
                    <p>{fill(Text::PeopleInviteMade, &[("name", &who)])}</p>
                    <p><code class="invite-link">{link}</code></p>
                    <p>{fill(Text::PeopleInviteOrCode, &[("code", &code)])}</p>
                })}
            </div>
            <ErrorNote message=error />
        </section>
    }
}
