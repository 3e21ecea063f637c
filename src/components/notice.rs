//! Error and status lines, announced to screen readers, and the focus
//! move that goes with a new step.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::i18n::{Text, t};

/// An error for a person: shown where they are, announced at once
/// (`role="alert"`), gone when `message` is `None`. The fields it is about
/// are marked `aria-invalid` and described by it (`aria-describedby`)
/// while it shows: `fields` gives their ids for the error's text (and
/// every field of the form for an empty one).
#[component]
#[allow(unreachable_pub)]
pub(crate) fn ErrorNote(
    message: RwSignal<Option<String>>,
    #[prop(optional)] fields: Option<fn(&str) -> &'static [&'static str]>,
) -> impl IntoView {
    let id = error_id();
    move || {
        let text = message.get();
        if let Some(fields) = fields {
            mark_fields(&id, fields, text.as_deref());
        }
        text.map(|text| view! { <p class="error-note" role="alert" id=id.clone()>{text}</p> })
    }
}

/// A new id for an [`ErrorNote`]: `error-1`, `error-2`, …
#[inline(never)]
fn error_id() -> String {
    static NOTES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "error-{}",
        NOTES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// Marks the fields an error (`text`, with the id `id`) is about invalid
/// and described by it, and the form's other fields not.
#[inline(never)]
fn mark_fields(id: &str, fields: fn(&str) -> &'static [&'static str], text: Option<&str>) {
    for field in fields("") {
        let about = text.is_some_and(|t| fields(t).contains(field));
        if let Some(field) = element_by_id(field) {
            if about {
                let _ = field.set_attribute("aria-invalid", "true");
                let _ = field.set_attribute("aria-describedby", id);
            } else {
                let _ = field.remove_attribute("aria-invalid");
                let _ = field.remove_attribute("aria-describedby");
            }
        }
    }
}

/// "Working…" text for a busy button, announced politely.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn Busy(busy: RwSignal<bool>, text: Text) -> impl IntoView {
    view! {
        <p class="busy-note" role="status" aria-live="polite">
            {move || if busy.get() { t(text) } else { "" }}
        </p>
    }
}

/// Moves focus to the screen's heading after it renders, so a screen reader
/// starts reading the new step and a keyboard user starts from its top.
pub(crate) fn focus_heading() {
    after_render(|| {
        let heading = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("main h1").ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(heading) = heading {
            let _ = heading.focus();
        }
    });
}

/// Runs `then` once the screen has drawn what a change is about to show.
fn after_render(then: impl FnOnce() + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let then = wasm_bindgen::closure::Closure::once_into_js(then);
    let _ = window.set_timeout_with_callback(then.unchecked_ref());
}

/// Moves focus to the element with `id` (which must take focus: a control,
/// or `tabindex="-1"`), e.g. when the control that had it is gone.
pub(crate) fn focus_id(id: &str) {
    let element = element_by_id(id).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// The page's element with `id`, if it is there.
pub(crate) fn element_by_id(id: &str) -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id(id)
}

/// [`focus_id`] once the screen has drawn what is about to appear.
pub(crate) fn focus_id_soon(id: &'static str) {
    after_render(move || focus_id(id));
}

/// Lets the browser paint (a "Checking…" line) before a long computation.
pub(crate) async fn yield_to_paint() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 30);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
