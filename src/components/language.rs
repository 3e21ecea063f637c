//! The language picker: on the first screen (before any sign-in) and in
//! Settings. Each language is listed in its own name and marked with its
//! own `lang`, so a screen reader says "Español" the Spanish way.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{self, Lang, Text, t, tr};

/// A labelled select of the languages Ward speaks; the change is live and
/// kept on this device.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn LanguagePicker(
    /// The select's id (two pickers never share a screen, but be unique).
    id: &'static str,
) -> impl IntoView {
    let problem = RwSignal::new(None::<&'static str>);
    let change = move |ev: leptos::ev::Event| {
        let Some(lang) = Lang::from_tag(&event_target_value(&ev)) else {
            return;
        };
        spawn_local(async move {
            let ready = i18n::set(lang).await;
            problem.set((!ready).then(|| t(Text::SettingsLanguageOffline)));
        });
    };
    view! {
        <div class="language-picker">
            <label for=id>{tr(Text::SettingsLanguage)}</label>
            <select id=id on:change=change>
                {Lang::ALL.into_iter().map(|lang| view! {
                    <option value=lang.tag() lang=lang.tag() selected=move || i18n::lang() == lang>
                        {lang.own_name()}
                    </option>
                }).collect_view()}
            </select>
            <p role="status">{move || problem.get()}</p>
        </div>
    }
}
