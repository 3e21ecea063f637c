//! The message composer: a textbox named "Message" and a "Send" button.
//! Enter sends on a desktop keyboard, and adds a line on a phone. Before
//! sending, the draft is checked on this device for words that may mean an
//! emergency; nothing about that check leaves the device.

use leptos::prelude::*;

use crate::messaging::Inbox;

/// Words and phrases that may signal an emergency (lower case).
const RED_FLAGS: &[&str] = &[
    "chest pain",
    "can't breathe",
    "cannot breathe",
    "cant breathe",
    "trouble breathing",
    "short of breath",
    "suicide",
    "suicidal",
    "kill myself",
    "end my life",
    "overdose",
    "stroke",
    "unconscious",
    "seizure",
    "severe bleeding",
    "bleeding heavily",
    "heart attack",
];

/// Whether `draft` mentions something that may be an emergency.
pub fn has_red_flag(draft: &str) -> bool {
    let lower = draft.to_lowercase().replace('’', "'");
    RED_FLAGS.iter().any(|flag| lower.contains(flag))
}

/// What to call or do in an emergency (shown before a first message and
/// whenever the draft may describe one).
#[component]
pub fn EmergencyNotice(#[prop(optional)] urgent: bool) -> impl IntoView {
    // The clinic's own words when the relay has sent them; the default
    // otherwise (before the clinic's details arrive, or offline).
    let clinic = use_context::<Inbox>().map(|inbox| inbox.clinic);
    let text = move || {
        clinic
            .and_then(|c| c.get())
            .map(|info| info.emergency_notice)
            .filter(|notice| !notice.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_NOTICE.to_owned())
    };
    view! {
        <div class=if urgent { "emergency urgent" } else { "emergency" } role=if urgent { "alert" } else { "note" }>
            <strong>{text}</strong>
            " Messages here are not watched around the clock."
        </div>
    }
}

/// What a relay without its own notice says.
const DEFAULT_NOTICE: &str =
    "If this is an emergency, call 911. For a mental health crisis, call or text 988.";

fn coarse_pointer() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(pointer: coarse)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// The composer. `on_send` gets the text (already trimmed, never empty);
/// `on_typing` runs as the patient types. The draft is the caller's signal,
/// so it survives a lock or a failed send.
#[component]
pub fn Composer(
    draft: RwSignal<String>,
    on_send: Callback<String>,
    #[prop(optional)] on_typing: Option<Callback<()>>,
    #[prop(optional)] busy: Option<RwSignal<bool>>,
) -> impl IntoView {
    let warned = RwSignal::new(false);
    let submit = move || {
        let text = draft.get_untracked().trim().to_owned();
        if text.is_empty() {
            return;
        }
        if has_red_flag(&text) && !warned.get_untracked() {
            warned.set(true);
            return;
        }
        warned.set(false);
        draft.set(String::new());
        on_send.run(text);
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit();
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !coarse_pointer() {
            ev.prevent_default();
            submit();
        }
    };
    let on_input = move |_| {
        warned.set(false);
        if let Some(typing) = on_typing {
            typing.run(());
        }
    };
    view! {
        <form class="composer" on:submit=on_submit>
            <Show when=move || warned.get()>
                <EmergencyNotice urgent=true />
                <p class="hint">"If it is not an emergency, press Send again to send your message."</p>
            </Show>
            <label for="composer-text" class="visually-hidden">"Message"</label>
            <textarea id="composer-text" name="message" rows="3" placeholder="Write a message"
                on:keydown=on_keydown on:input=on_input bind:value=draft></textarea>
            <button type="submit" class="button primary"
                prop:disabled=move || busy.is_some_and(|b| b.get())>
                "Send"
            </button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::has_red_flag;

    #[test]
    fn red_flags_are_found_in_any_case_and_with_curly_apostrophes() {
        assert!(has_red_flag("I have CHEST PAIN since this morning"));
        assert!(has_red_flag("I can’t breathe well"));
        assert!(has_red_flag("thinking about suicide"));
        assert!(!has_red_flag("Can I move my appointment to Tuesday?"));
        assert!(!has_red_flag(""));
    }
}
