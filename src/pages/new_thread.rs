//! A new conversation: what it is about, the emergency notice, and the
//! first message.

use crate::router::Location;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::threads::Category;

use crate::attachments::upload::Picked;
use crate::components::composer::Composer;
use crate::components::emergency::EmergencyNotice;
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, fill, t, tr};
use crate::messaging::{Inbox, NEW_THREAD, category_label};
use crate::session::Session;

/// The new-message screen.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn NewThread() -> impl IntoView {
    let session = Session::get();
    let inbox = Inbox::get();
    let location = Location::get();
    let category = RwSignal::new(None::<Category>);
    let draft = RwSignal::new(String::new());
    let subject = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let clinic = inbox.clinic;
    let hours = move || match clinic.get() {
        Some(info) => {
            let reply = if info.reply_time.is_empty() {
                t(Text::NewThreadAsSoonAsTheyCan)
            } else {
                info.reply_time.as_str()
            };
            let name = info.display_name.as_str();
            match info.office_hours.as_deref() {
                Some(hours) => fill(
                    Text::NewThreadHoursWith,
                    &[("name", name), ("hours", hours), ("reply", reply)],
                ),
                None => fill(Text::NewThreadHours, &[("name", name), ("reply", reply)]),
            }
        }
        None => t(Text::NewThreadHoursDefault).into(),
    };

    // The inbox hears whether something is being written here, so an
    // update's Reload does not throw it away (there is no thread key yet
    // to keep it under: messaging::NEW_THREAD). Leaving the screen drops it,
    // as before.
    Effect::new(move |_| {
        let written = format!("{}{}", subject.get(), draft.get());
        inbox.drafts.update_value(|d| {
            if written.trim().is_empty() {
                d.remove(NEW_THREAD);
            } else {
                d.insert(NEW_THREAD.into(), written);
            }
        });
    });
    on_cleanup(move || inbox.drafts.update_value(|d| drop(d.remove(NEW_THREAD))));

    // Asked before the emergency warning, so Send after it sends.
    let ready = Callback::new(move |()| {
        let chosen = category.get_untracked().is_some();
        error.set((!chosen).then(|| t(Text::NewThreadChooseCategory).into()));
        chosen
    });
    let warned = RwSignal::new(false);
    let attachment = RwSignal::new_local(None::<Picked>);
    let on_send = Callback::new(move |text: String| {
        let Some(chosen) = category.get_untracked() else {
            draft.set(text);
            error.set(Some(t(Text::NewThreadChooseCategory).into()));
            return;
        };
        busy.set(true);
        error.set(None);
        let file = attachment.get_untracked();
        spawn_local(async move {
            match inbox
                .start_thread(
                    session,
                    chosen,
                    subject.get_untracked(),
                    text.clone(),
                    file.clone(),
                )
                .await
            {
                Ok(thread_id) => {
                    attachment.set(None);
                    location.navigate(&format!("/threads/{thread_id}"));
                }
                Err(e) => {
                    // Nothing was lost: the text and the file stay.
                    draft.set(text);
                    error.set(Some(session.explain(&e)));
                }
            }
            busy.set(false);
        });
    });

    view! {
        <section class="card" aria-labelledby="new-title">
            <h1 id="new-title" tabindex="-1">{tr(Text::NewThreadTitle)}</h1>
            <fieldset class="categories">
                <legend>{tr(Text::NewThreadWhatAbout)}</legend>
                {Category::ALL.iter().map(|&c| view! {
                    <label class="choice">
                        <input type="radio" name="category"
                            prop:checked=move || category.get() == Some(c)
                            on:change=move |_| category.set(Some(c)) />
                        {move || category_label(c)}
                    </label>
                }).collect_view()}
            </fieldset>
            <label for="subject">{tr(Text::NewThreadSubject)}</label>
            <input id="subject" name="subject" type="text" maxlength="80" autocomplete="off" bind:value=subject />
            <p class="hint">{tr(Text::NewThreadSubjectHint)}</p>
            // Once: the composer's urgent notice takes its place.
            <Show when=move || !warned.get()>
                <EmergencyNotice />
            </Show>
            <p class="hint office-hours">{hours}</p>
            <Composer draft=draft on_send=on_send busy=busy ready=ready warned=warned attachment=attachment />
            <ErrorNote message=error />
        </section>
    }
}
