//! The signed-in home: the patient's threads, newest first, each with its
//! subject and the first line of its newest message (opened on this device;
//! the app locks itself, and hides them, when left alone), unread count and
//! time, and "New message".

use crate::router::A;
use leptos::prelude::*;
use ward_proto::caregivers::{CaregiverStatus, People};
use ward_proto::threads::{Role, Thread};

use crate::components::list::{List, row_key};
use crate::i18n::{Plural, Text, count, fill, t, tr};
use crate::messaging::{Inbox, category_label};
use crate::pages::consent_prompt::ConsentPrompt;
use crate::pages::settings::local_time;
use crate::pages::sign_in_alerts::SignInAlerts;
use crate::pages::thread::time_label;
use crate::session::Session;

/// How long before a caregiver's access ends the app says so.
const NOTICE_MS: u64 = 14 * 24 * 3_600_000;

/// The accesses that end within [`NOTICE_MS`] of `now_ms`, in words (the
/// end as `date` writes Unix milliseconds): for a patient, each
/// caregiver's; for a caregiver, each patient's they help.
fn ending_soon(people: &People, now_ms: u64, date: &dyn Fn(u64) -> String) -> Vec<String> {
    let soon = |ends: u64| ends > now_ms && ends - now_ms <= NOTICE_MS;
    let mut notices: Vec<String> = people
        .caregivers
        .iter()
        .filter(|c| c.status == CaregiverStatus::Active)
        .filter_map(|c| Some((c, c.access_ends_at?)))
        .filter(|(_, ends)| soon(*ends))
        .map(|(c, ends)| {
            fill(
                Text::HomeCaregiverAccessEnds,
                &[("name", &c.display_name), ("date", &date(ends))],
            )
        })
        .collect();
    notices.extend(
        people
            .patients
            .iter()
            .filter(|p| soon(p.access_ends_at))
            .map(|p| {
                fill(
                    Text::HomeYourAccessEnds,
                    &[("name", &p.display_name), ("date", &date(p.access_ends_at))],
                )
            }),
    );
    notices
}

/// The patient whose conversation `thread` is, for a caregiver `me`.
fn patient_of<'a>(thread: &'a Thread, me: &str) -> Option<&'a str> {
    thread
        .members
        .iter()
        .find(|m| m.role == Role::Patient && m.account_id != me)
        .map(|m| m.account_id.as_str())
}

/// The conversations of patient `only` (every one when `None`), for `me`.
fn conversations_for(all: &[Thread], me: &str, only: Option<&str>) -> Vec<Thread> {
    all.iter()
        .filter(|t| only.is_none() || patient_of(t, me) == only)
        .cloned()
        .collect()
}

/// "For Sam Okafor" on a caregiver's row: whose conversation it is.
fn for_whom(thread: &Thread, me: &str) -> Option<String> {
    thread
        .members
        .iter()
        .find(|m| m.role == Role::Patient && m.account_id != me)
        .map(|m| fill(Text::HomeForWhom, &[("name", &m.display_name)]))
}

fn clinic_name(thread: &Thread) -> String {
    thread
        .members
        .iter()
        .find(|m| m.role == Role::Clinic)
        .map(|m| m.display_name.clone())
        .unwrap_or_else(|| t(Text::HomeYourCareTeam).into())
}

/// The threads list.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn Home() -> impl IntoView {
    let inbox = Inbox::get();
    let session = Session::get();
    let me = move || session.account_id.get().unwrap_or_default();
    // A caregiver answers in the patients' threads; only a patient starts one.
    let caregiver = move || {
        inbox
            .people
            .with(|p| p.as_ref().is_some_and(|p| p.role == Role::Caregiver))
    };
    let notices = move || {
        let now = js_sys::Date::now() as u64;
        inbox.people.with(|p| {
            p.as_ref()
                .map(|p| ending_soon(p, now, &|ms| local_time(ms / 1000)))
                .unwrap_or_default()
        })
    };
    // A caregiver who helps several people chooses whose messages to see.
    let helped = move || {
        inbox.people.with(|p| {
            p.as_ref()
                .filter(|p| p.role == Role::Caregiver && p.patients.len() > 1)
                .map(|p| {
                    p.patients
                        .iter()
                        .map(|h| (h.account_id.clone(), h.display_name.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let showing = inbox.showing_for;
    let shown = move || {
        let mine = me();
        // A choice of someone no longer helped shows everyone's again.
        let only = showing
            .get()
            .filter(|id| helped().iter().any(|(helped, _)| helped == id));
        inbox
            .threads
            .with(|all| conversations_for(all, &mine, only.as_deref()))
    };
    view! {
        <section class="card" aria-labelledby="home-title">
            <h1 id="home-title" tabindex="-1">{tr(Text::HomeTitle)}</h1>
            <SignInAlerts />
            <ConsentPrompt />
            <Show when=move || !helped().is_empty()>
                <fieldset class="categories">
                    <legend>{tr(Text::HomeWhoseMessages)}</legend>
                    <label class="choice">
                        <input type="radio" name="showing-for"
                            prop:checked=move || showing.get().is_none()
                            on:change=move |_| showing.set(None) />
                        {tr(Text::HomeEveryones)}
                    </label>
                    <List each=helped key=|(id, _)| id.clone() let:person>
                        {
                            let (id, name) = person;
                            let chosen = id.clone();
                            view! {
                                <label class="choice">
                                    <input type="radio" name="showing-for"
                                        prop:checked=move || showing.get().as_deref() == Some(chosen.as_str())
                                        on:change=move |_| showing.set(Some(id.clone())) />
                                    {move || fill(Text::HomeMessagesFor, &[("name", &name)])}
                                </label>
                            }
                        }
                    </List>
                </fieldset>
            </Show>
            <div role="status">
                <List each=notices key=|text| text.clone() let:text>
                    <p class="notice">{text} " " <A href="/settings/people">{tr(Text::HomePeopleWhoHelpMe)}</A></p>
                </List>
            </div>
            <div class="actions">
                <Show when=move || !caregiver()>
                    <A href="/new" attr:class="button primary">{tr(Text::HomeNewMessage)}</A>
                </Show>
                <A href="/search" attr:class="button secondary">{tr(Text::HomeSearch)}</A>
            </div>
            <Show
                when=move || !inbox.threads.with(Vec::is_empty)
                fallback=|| view! {
                    <p class="hint">{tr(Text::HomeNoConversations)}</p>
                }
            >
                <ul class="thread-list" aria-label=tr(Text::HomeConversationsLabel)>
                    <List each=shown key=|t| row_key(&[&t.thread_id, &t.unread_count.to_string(), &t.last_message_at.map(|at| at.to_string()).unwrap_or_default()]) let:thread>
                        <li>
                            <A href=format!("/threads/{}", thread.thread_id) attr:class="thread-row">
                                {
                                    let id = thread.thread_id.clone();
                                    let thread = thread.clone();
                                    move || {
                                        // Read here, so they follow a change of language.
                                        let category = category_label(thread.category);
                                        let clinic = clinic_name(&thread);
                                        let summary = inbox.summary(&id);
                                        let (title, about) = match summary.subject {
                                            Some(subject) => (subject, format!("{category} · {clinic}")),
                                            None => (category.to_owned(), clinic.clone()),
                                        };
                                        view! {
                                            <span class="thread-title">{title}</span>
                                            <span class="meta">{about}</span>
                                            {summary.preview.map(|(_, text)| view! { <span class="preview">{text}</span> })}
                                        }
                                    }
                                }
                                {
                                    let thread = thread.clone();
                                    move || for_whom(&thread, &me()).map(|text| view! { <span class="meta">{text}</span> })
                                }
                                <span class="meta">
                                    {
                                        let at = thread.last_message_at;
                                        move || at.map(time_label).unwrap_or_else(|| t(Text::HomeNoMessagesYet).into())
                                    }
                                </span>
                                <Show when=move || { thread.unread_count > 0 }>
                                    <span class="badge">{
                                        let unread = thread.unread_count;
                                        move || count(Plural::HomeUnread, unread, &[])
                                    }</span>
                                </Show>
                            </A>
                        </li>
                    </List>
                </ul>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use ward_proto::caregivers::{Caregiver, HelpedPatient};

    use super::*;

    const DAY: u64 = 24 * 3_600_000;

    /// A caregiver's access that ends within 14 days is named (to the
    /// patient, and to the caregiver for each patient); one further off,
    /// or already over, is not.
    #[test]
    fn a_caregiver_sees_one_patients_conversations_or_everyones() {
        use ward_proto::threads::{Category, Member};
        let member = |id: &str, role: Role| Member {
            account_id: id.into(),
            display_name: id.into(),
            role,
            delivered_up_to: 0,
            read_up_to: 0,
            read_at: None,
        };
        let thread = |id: &str, patient: &str| Thread {
            thread_id: id.into(),
            category: Category::Question,
            members: vec![
                member(patient, Role::Patient),
                member("clinic", Role::Clinic),
                member("dana", Role::Caregiver),
            ],
            current_epoch: Some(0),
            unread_count: 0,
            last_message_at: None,
            created_at: 0,
            only_me: false,
            needs_rekey: false,
            subject: None,
            latest: None,
        };
        let all = [
            thread("t1", "sam"),
            thread("t2", "alex"),
            thread("t3", "sam"),
        ];
        let ids = |only| {
            conversations_for(&all, "dana", only)
                .into_iter()
                .map(|t| t.thread_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(Some("sam")), ["t1", "t3"]);
        assert_eq!(ids(Some("alex")), ["t2"]);
        assert_eq!(ids(None), ["t1", "t2", "t3"]);
    }

    #[test]
    fn access_ending_within_fourteen_days_is_named() {
        let now = 1_800_000_000_000;
        let caregiver = |name: &str, ends: u64| Caregiver {
            account_id: Some(format!("acc_{name}")),
            display_name: name.into(),
            contact_hint: String::new(),
            status: CaregiverStatus::Active,
            invited_at: 0,
            invite_expires_at: None,
            active_since: Some(0),
            removed_at: None,
            can_send: Some(true),
            all_threads: Some(false),
            access_ends_at: Some(ends),
            relationship: None,
            appointed_by_clinic: false,
        };
        let people = People {
            role: Role::Patient,
            caregivers: vec![
                caregiver("Dana", now + 13 * DAY),
                caregiver("Alex", now + 15 * DAY),
                caregiver("Kim", now - DAY),
            ],
            patients: vec![HelpedPatient {
                account_id: "acc_sam".into(),
                display_name: "Sam".into(),
                since: 0,
                can_send: true,
                all_threads: false,
                access_ends_at: now + DAY,
                awaiting_assent: false,
            }],
        };
        let notices = ending_soon(&people, now, &|ms| ms.to_string());
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices[0].starts_with("Dana's access to your messages ends on"));
        assert!(notices[1].starts_with("Your access to Sam's messages ends on"));
    }
}
