//! "Who can see this conversation", on a patient's thread: the caregivers
//! it is shared with, a button to share it with each other caregiver who
//! can help now or to stop sharing, and "Only me" (never shared). Shown to
//! the thread's patient only; a caregiver sees the thread, not this. A
//! caregiver who sees all the patient's conversations has no "Stop
//! sharing" here: "Only me" is what keeps one from them.

use leptos::prelude::*;

use crate::i18n::{Plural, Text, count, fill, t, tr};
use leptos::task::spawn_local;
use ward_proto::caregivers::{Caregiver, CaregiverStatus};
use ward_proto::threads::Role;

use crate::components::list::List;
use crate::components::notice::{Busy, ErrorNote};
use crate::messaging::{Inbox, is_member_as};
use crate::session::Session;

/// A caregiver who can be given this thread now: active, with an account.
#[derive(Debug, Clone, PartialEq)]
struct Helper {
    account_id: String,
    name: String,
    /// Sees all the patient's conversations.
    all_threads: bool,
}

fn can_help_now(caregiver: &Caregiver) -> Option<Helper> {
    (caregiver.status == CaregiverStatus::Active)
        .then(|| {
            Some(Helper {
                account_id: caregiver.account_id.clone()?,
                name: caregiver.display_name.clone(),
                all_threads: caregiver.all_threads == Some(true),
            })
        })
        .flatten()
}

/// Names as a list in words: "Ana and Luis" (in Spanish "Ana, Luis y
/// Rosa", with "e" before a name that starts with an "i" sound).
fn names_in_words(names: &[String]) -> String {
    let Some((last, rest)) = names.split_last() else {
        return String::new();
    };
    let Some((first, middle)) = rest.split_first() else {
        return last.clone();
    };
    let joined = middle.iter().fold(first.clone(), |a, b| {
        fill(Text::ShareNamesMore, &[("a", &a), ("b", b)])
    });
    let key = if starts_with_i_sound(last) {
        Text::ShareNamesLastI
    } else {
        Text::ShareNamesLast
    };
    fill(key, &[("a", &joined), ("b", last)])
}

/// Whether `name` starts with the sound of "i" ("Isabel", "Hilda"; not
/// "Yolanda", nor "Hierro" where "hi" is a "y" sound): the Spanish "and"
/// is written "e" before it.
fn starts_with_i_sound(name: &str) -> bool {
    let lower = crate::components::lowercase(name.trim_start());
    let after_h = lower.strip_prefix('h');
    let Some(after_i) = after_h.unwrap_or(&lower).strip_prefix(['i', 'í']) else {
        return false;
    };
    // "hie", "hia": the "i" is a "y" sound there.
    !(after_h.is_some() && after_i.starts_with(['a', 'e', 'o', 'u', 'á', 'é', 'ó', 'ú']))
}

/// The section.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn ThreadSharing(thread_id: Memo<String>) -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    // From the people list the inbox keeps, read again once as the thread
    // opens (a caregiver may have finished enrolling since), not on every
    // list reload.
    spawn_local(async move { inbox.reload_people(session).await });
    let helpers = Memo::new(move |_| {
        inbox.people.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.caregivers
                        .iter()
                        .filter_map(can_help_now)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(String::new());
    let mine = move || {
        let me = session.account_id.get().unwrap_or_default();
        inbox
            .thread(&thread_id.get())
            .is_some_and(|t| is_member_as(&t, &me, Role::Patient))
    };
    let shared_with = move |account_id: &str| {
        inbox
            .thread(&thread_id.get())
            .is_some_and(|t| t.members.iter().any(|m| m.account_id == account_id))
    };
    let only_me = move || inbox.thread(&thread_id.get()).is_some_and(|t| t.only_me);
    let act = move |share: bool, account_id: String, name: String| {
        busy.set(true);
        error.set(None);
        done.set(String::new());
        let id = thread_id.get_untracked();
        spawn_local(async move {
            let result = if share {
                inbox.share_with(session, &id, &account_id).await
            } else {
                inbox.stop_sharing(session, &id, &account_id).await
            };
            busy.set(false);
            match result {
                Ok(()) if share => done.set(fill(Text::ShareNowCanRead, &[("name", &name)])),
                Ok(()) => done.set(fill(Text::ShareNoLonger, &[("name", &name)])),
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    // Confidential conversations are Only me by the clinic's rule.
    let confidential = move || {
        inbox
            .thread(&thread_id.get())
            .is_some_and(|t| t.category == ward_proto::threads::Category::Confidential)
    };
    let toggle_only_me = move |ev: leptos::ev::Event| {
        let checked = event_target_checked(&ev);
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        busy.set(true);
        error.set(None);
        done.set(String::new());
        let id = thread_id.get_untracked();
        spawn_local(async move {
            let result = inbox.set_only_me(session, &id, checked).await;
            busy.set(false);
            // Those who see all the patient's conversations get it now.
            let everything: Vec<String> = helpers
                .get_untracked()
                .into_iter()
                .filter(|h| h.all_threads)
                .map(|h| h.name)
                .collect();
            match result {
                Ok(left) if checked && !left.is_empty() => done.set(count(
                    Plural::ShareOnlyMeLeft,
                    left.len() as u64,
                    &[("names", &names_in_words(&left))],
                )),
                Ok(_) if checked => done.set(t(Text::ShareOnlyMe).into()),
                Ok(_) if !everything.is_empty() => done.set(count(
                    Plural::ShareAgainEverything,
                    everything.len() as u64,
                    &[("names", &names_in_words(&everything))],
                )),
                Ok(_) => done.set(t(Text::ShareAgain).into()),
                Err(e) => {
                    // The box shows what stands, not what was asked.
                    input.set_checked(inbox.thread(&id).is_some_and(|t| t.only_me));
                    error.set(Some(session.explain(&e)));
                }
            }
        });
    };
    view! {
        <Show when=mine>
            <details class="card sharing">
                <summary>{tr(Text::ShareSummary)}</summary>
                <Show
                    when=move || !helpers.get().is_empty()
                    fallback=|| view! {
                        <p>{tr(Text::ShareNobodyYet)}</p>
                    }
                >
                    <ul class="settings-list" aria-label=tr(Text::ShareListLabel)>
                        <List each=move || helpers.get() key=|h| h.account_id.clone() let:helper>
                            {
                                let Helper { account_id: id, name, all_threads } = helper;
                                let (share_id, share_name) = (id.clone(), name.clone());
                                let (stop_id, stop_name) = (id.clone(), name.clone());
                                let shared_id = id.clone();
                                let shared = move || shared_with(&shared_id);
                                view! {
                                    <li class="settings-row">
                                        <span>
                                            <strong>{name.clone()}</strong>
                                            <span class="meta">{
                                                let shared = shared.clone();
                                                move || match (shared(), all_threads) {
                                                    (true, true) => t(Text::ShareSeesAll),
                                                    (true, false) => t(Text::ShareCanRead),
                                                    (false, _) => t(Text::ShareCannotSee),
                                                }
                                            }</span>
                                        </span>
                                        <Show when=move || all_threads && !only_me()>
                                            <p class="hint">{tr(Text::ShareKeepFromThem)}</p>
                                        </Show>
                                        <Show
                                            when=shared.clone()
                                            fallback=move || {
                                                let (id, name) = (share_id.clone(), share_name.clone());
                                                let label = share_name.clone();
                                                view! {
                                                    <button type="button" class="button secondary"
                                                        prop:disabled=move || busy.get() || only_me()
                                                        on:click=move |_| act(true, id.clone(), name.clone())>
                                                        {move || fill(Text::ShareWith, &[("name", &label)])}
                                                    </button>
                                                }
                                            }
                                        >
                                            {
                                                let (id, name) = (stop_id.clone(), stop_name.clone());
                                                let label = stop_name.clone();
                                                (!all_threads).then(|| view! {
                                                    <button type="button" class="button secondary"
                                                        prop:disabled=move || busy.get()
                                                        on:click=move |_| act(false, id.clone(), name.clone())>
                                                        {move || fill(Text::ShareStopWith, &[("name", &label)])}
                                                    </button>
                                                })
                                            }
                                        </Show>
                                    </li>
                                }
                            }
                        </List>
                    </ul>
                </Show>
                <label class="checkbox">
                    <input type="checkbox" prop:checked=only_me prop:disabled=move || busy.get() || confidential()
                        on:change=toggle_only_me />
                    {tr(Text::ShareOnlyMeBox)}
                </label>
                <Busy busy=busy text=Text::BusyChangingSharing />
                <p role="status">{move || done.get()}</p>
                <ErrorNote message=error />
            </details>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::{names_in_words, starts_with_i_sound};

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn names_join_as_before_in_english() {
        assert_eq!(names_in_words(&names(&[])), "");
        assert_eq!(names_in_words(&names(&["Ana"])), "Ana");
        assert_eq!(names_in_words(&names(&["Ana", "Luis"])), "Ana and Luis");
        assert_eq!(
            names_in_words(&names(&["Ana", "Luis", "Isabel"])),
            "Ana and Luis and Isabel"
        );
    }

    #[test]
    fn an_i_sound_is_told_apart() {
        assert!(starts_with_i_sound("Isabel"));
        assert!(starts_with_i_sound("Íñigo"));
        assert!(starts_with_i_sound("Hilda"));
        assert!(starts_with_i_sound("  irene"));
        assert!(!starts_with_i_sound("Hierro"));
        assert!(!starts_with_i_sound("Yolanda"));
        assert!(!starts_with_i_sound("Héctor"));
        assert!(!starts_with_i_sound(""));
    }
}
