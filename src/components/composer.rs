//! The message composer: a textbox named "Message" and a "Send" button.
//! Enter sends on a desktop keyboard, and adds a line on a phone. Before
//! sending, the draft is checked on this device for words that may mean an
//! emergency; nothing about that check leaves the device.

use leptos::prelude::*;
use wasm_bindgen::JsCast as _;

use crate::attachments::photo;
use crate::attachments::size_label;
use crate::attachments::upload::{Picked, prepare};
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, fill, tr};
use crate::session::Session;

/// Used when the clinic's limits have not arrived (the relay's defaults).
const DEFAULT_MAX_BYTES: u64 = 100_000_000;
const DEFAULT_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/webp",
    "application/pdf",
];

/// The clinic's largest file and accepted media types.
fn limits() -> (u64, Vec<String>) {
    let info = use_context::<Session>().and_then(|session| session.inbox().clinic.get_untracked());
    match info {
        Some(info) if info.max_attachment_bytes > 0 => {
            (info.max_attachment_bytes, info.allowed_attachment_types)
        }
        _ => (
            DEFAULT_MAX_BYTES,
            DEFAULT_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        ),
    }
}

/// The file waiting to be sent: preview or name, size, and a way to drop it.
#[component]
fn AttachedFile(picked: Picked, on_remove: Callback<()>) -> impl IntoView {
    let preview = picked.thumbnail.as_deref().and_then(photo::data_url);
    let note = if picked.location_removed {
        Some(Text::ComposeLocationRemoved)
    } else if picked.media_type.starts_with("image/") && picked.media_type != "image/jpeg" {
        Some(Text::ComposeLocationKept)
    } else {
        None
    };
    let name = picked.name.clone();
    view! {
        <div class="attached" role="group" aria-label=tr(Text::ComposeAttachedFile)>
            {preview.map(|src| view! { <img src=src alt="" class="thumb" /> })}
            <p><strong>{picked.name.clone()}</strong>" · "{size_label(picked.size)}</p>
            {note.map(|n| view! { <p class="hint">{tr(n)}</p> })}
            <button type="button" class="link-button" on:click=move |_| on_remove.run(())>
                {move || fill(Text::ComposeRemove, &[("name", &name)])}
            </button>
        </div>
    }
}

/// Words and phrases that may signal an emergency, in English and in
/// Spanish (lower case, without accents: see [`has_red_flag`]).
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
    // Spanish, the same emergencies as people write them.
    "dolor de pecho",
    "dolor en el pecho",
    "dolor del pecho",
    "duele el pecho",
    "no puedo respirar",
    "no puede respirar",
    "dificultad para respirar",
    "me cuesta respirar",
    "me falta el aire",
    "falta de aire",
    "me ahogo",
    "suicidio",
    "suicida",
    "matarme",
    "me voy a matar",
    "quitarme la vida",
    "acabar con mi vida",
    "terminar con mi vida",
    "sobredosis",
    "derrame cerebral",
    "accidente cerebrovascular",
    "embolia",
    "inconsciente",
    "perdio el conocimiento",
    "perdi el conocimiento",
    "perdida del conocimiento",
    "perdida de conocimiento",
    "convulsion",
    "ataque epileptico",
    "sangrado fuerte",
    "sangrado abundante",
    "sangrado severo",
    "sangrando mucho",
    "sangra mucho",
    "sangro mucho",
    "hemorragia",
    "ataque al corazon",
    "ataque cardiaco",
    "paro cardiaco",
    "infarto",
];

/// Whether `draft` mentions something that may be an emergency, in any
/// case, with curly or straight apostrophes, and with or without the
/// accents of Spanish (many type "corazon" for "corazón").
pub(crate) fn has_red_flag(draft: &str) -> bool {
    let plain: String = super::lowercase(draft)
        .chars()
        .filter_map(|c| match c {
            '’' => Some('\''),
            'á' => Some('a'),
            'é' => Some('e'),
            'í' => Some('i'),
            'ó' => Some('o'),
            'ú' | 'ü' => Some('u'),
            // An accent typed as its own mark after the letter.
            '\u{301}' | '\u{308}' => None,
            c => Some(c),
        })
        .collect();
    RED_FLAGS.iter().any(|flag| plain.contains(flag))
}

fn coarse_pointer() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(pointer: coarse)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// The composer. `on_send` gets the text (already trimmed; empty only when
/// a file is attached); `on_typing` runs as the patient types. The draft is
/// the caller's signal, so it survives a lock or a failed send. With
/// `attachment`, the patient can also attach a file (picker, camera on a
/// phone, drag and drop, paste); the caller takes it from that signal.
/// `ready` runs first on Send (false: not sent, and the caller says why),
/// so what the caller needs is asked for before the emergency warning,
/// and Send after the warning sends. `warned` is whether that warning is
/// showing (the caller's, to hide its own notice meanwhile).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn Composer(
    draft: RwSignal<String>,
    on_send: Callback<String>,
    #[prop(optional)] on_typing: Option<Callback<()>>,
    #[prop(optional)] busy: Option<RwSignal<bool>>,
    #[prop(optional)] attachment: Option<RwSignal<Option<Picked>, LocalStorage>>,
    #[prop(optional)] ready: Option<Callback<(), bool>>,
    #[prop(optional)] warned: Option<RwSignal<bool>>,
) -> impl IntoView {
    let warned = warned.unwrap_or_else(|| RwSignal::new(false));
    let attach_error = RwSignal::new(None::<String>);
    let preparing = RwSignal::new(false);
    let submit = move || {
        // A file still being checked goes with the message, not after it.
        if preparing.get_untracked() {
            return;
        }
        let text = draft.get_untracked().trim().to_owned();
        let with_file = attachment.is_some_and(|a| a.with_untracked(Option::is_some));
        if text.is_empty() && !with_file {
            return;
        }
        if ready.is_some_and(|ready| !ready.run(())) {
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
    let take = move |file: Option<web_sys::File>| {
        let (Some(slot), Some(file)) = (attachment, file) else {
            return;
        };
        let (max, allowed) = limits();
        preparing.set(true);
        attach_error.set(None);
        leptos::task::spawn_local(async move {
            match prepare(&file, max, &allowed).await {
                Ok(picked) => slot.set(Some(picked)),
                Err(reason) => attach_error.set(Some(reason)),
            }
            preparing.set(false);
        });
    };
    let on_pick = move |ev: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
        if let Some(input) = input {
            take(input.files().and_then(|files| files.get(0)));
            // The same file can be chosen again after removing it.
            input.set_value("");
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        if attachment.is_none() {
            return;
        }
        ev.prevent_default();
        take(
            ev.data_transfer()
                .and_then(|d| d.files())
                .and_then(|f| f.get(0)),
        );
    };
    let on_dragover = move |ev: leptos::ev::DragEvent| {
        if attachment.is_some() {
            ev.prevent_default();
        }
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        let file = ev
            .clipboard_data()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0));
        if attachment.is_some() && file.is_some() {
            ev.prevent_default();
            take(file);
        }
    };
    let accept = move || limits().1.join(",");
    // "Add" opens the ways to attach; choosing one closes them.
    // Focus goes into the menu when it opens, and back to "Add" when it
    // closes (a file chosen, Escape, or Add again).
    let adding = RwSignal::new(false);
    let close = move || {
        adding.set(false);
        crate::components::notice::focus_id_soon("add-button");
    };
    let on_pick = move |ev| {
        close();
        on_pick(ev);
    };
    let toggle = move |_| {
        if adding.get_untracked() {
            close();
        } else {
            adding.set(true);
            crate::components::notice::focus_id_soon("attach-file");
        }
    };
    view! {
        <form class="composer" on:submit=on_submit on:drop=on_drop on:dragover=on_dragover>
            <Show when=move || warned.get()>
                <crate::components::emergency::EmergencyNotice urgent=true />
                <p class="hint">{tr(Text::ComposeNotEmergency)}</p>
            </Show>
            {attachment.map(|slot| view! {
                <div id="add-menu" class="attach" hidden=move || !adding.get()
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            close();
                        }
                    }>
                    <input id="attach-file" type="file" class="visually-hidden" accept=accept on:change=on_pick />
                    <label for="attach-file" class="button secondary">{tr(Text::ComposeAttachFile)}</label>
                    <Show when=coarse_pointer>
                        <input id="attach-photo" type="file" class="visually-hidden" accept="image/*" capture="environment" on:change=on_pick />
                        <label for="attach-photo" class="button secondary">{tr(Text::ComposeTakePhoto)}</label>
                    </Show>
                </div>
                <p role="status" class="hint">{move || preparing.get().then(tr(Text::ComposeCheckingFile))}</p>
                <ErrorNote message=attach_error />
                {move || slot.get().map(|picked| view! {
                    <AttachedFile picked=picked on_remove=Callback::new(move |()| slot.set(None)) />
                })}
            })}
            <div class="composer-row">
                {attachment.map(|_| view! {
                    <button type="button" id="add-button" class="button secondary add" aria-label=tr(Text::ComposeAdd)
                        aria-controls="add-menu" aria-expanded=move || adding.get().to_string()
                        on:click=toggle>"+"</button>
                })}
                <label for="composer-text" class="visually-hidden">{tr(Text::ComposeMessage)}</label>
                <textarea id="composer-text" name="message" rows="1" placeholder=tr(Text::ComposePlaceholder)
                    on:keydown=on_keydown on:input=on_input on:paste=on_paste bind:value=draft></textarea>
                <button type="submit" class="button primary"
                    prop:disabled=move || busy.is_some_and(|b| b.get())>
                    {tr(Text::ComposeSend)}
                </button>
            </div>
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

    /// Spanish drafts are checked too, with or without accents.
    #[test]
    fn spanish_red_flags_are_found_with_or_without_accents() {
        assert!(has_red_flag("Tengo DOLOR EN EL PECHO desde la mañana"));
        assert!(has_red_flag("Me duele el pecho"));
        assert!(has_red_flag("No puedo respirar bien"));
        assert!(has_red_flag("Creo que es un ataque al corazón"));
        assert!(has_red_flag("creo que es un ataque al corazon"));
        assert!(has_red_flag("Tuvo una convulsión"));
        // "ó" typed as an "o" followed by a combining accent.
        assert!(has_red_flag("Perdio\u{301} el conocimiento"));
        assert!(has_red_flag("Pienso en el suicidio"));
        assert!(has_red_flag("Quiero quitarme la vida"));
        assert!(!has_red_flag("¿Puedo cambiar mi cita para el martes?"));
        assert!(!has_red_flag("Necesito una receta nueva, por favor."));
    }
}
