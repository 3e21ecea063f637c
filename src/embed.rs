//! Ward inside a clinic's page (docs/embedding.md, "What your page hears"):
//! in another site's frame, the app tells that page only what it may know
//! (ready, the height Ward wants, the unread count, whether someone is
//! signed in, a new message while the page is hidden, an error's code) and
//! takes its requests (sign out, open a thread, a theme, a language).
//!
//! Messages go only to the sites in the relay's `frame_ancestors`
//! (`GET /v1/embed`), never `*`, and are read only from the parent window
//! at one of those origins. Nothing in them names a person or says what
//! anyone wrote: a count, a state, a height.

use std::cell::RefCell;

use js_sys::{Object, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::api;
use crate::messaging::Inbox;
use crate::router::Location;
use crate::session::{Phase, Session};

thread_local! {
    /// Whether this page is another page's frame (fixed for its life).
    static FRAMED: bool = web_sys::window()
        .and_then(|window| window.parent().ok().flatten().map(|parent| !Object::is(&parent, &window)))
        .unwrap_or(false);
    /// The origins the clinic's page may have: the relay's list.
    static ORIGINS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Whether Ward runs inside another page's frame.
pub(crate) fn framed() -> bool {
    FRAMED.with(|framed| *framed)
}

/// Starts the conversation with the page around Ward, if there is one and
/// the relay lists any site that may embed it.
pub(crate) fn run(session: Session, inbox: Inbox, location: Location) {
    if !framed() {
        return;
    }
    if let Some(root) = root() {
        let _ = root.set_attribute("data-embedded", "");
    }
    let ready = RwSignal::new(false);
    report_session(session, inbox, ready);
    spawn_local(async move {
        let Ok(info) = api::embed_info().await else {
            return;
        };
        if info.origins.is_empty() {
            return;
        }
        ORIGINS.with(|origins| *origins.borrow_mut() = info.origins);
        listen(session, location);
        // The embed script forgets an earlier `ready` at the frame's `load`
        // (a reload): so `ready` goes after it, never before.
        let loaded = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.ready_state() == "complete");
        if loaded {
            start_reporting(ready);
        } else if let Some(window) = web_sys::window() {
            let on_load = Closure::once_into_js(move || start_reporting(ready));
            let _ = window.add_event_listener_with_callback("load", on_load.unchecked_ref());
        }
    });
}

fn start_reporting(ready: RwSignal<bool>) {
    post("ready", None);
    follow_height();
    ready.set(true);
}

/// `{ward: 1, type, [field]: value}` to the parent, at each listed origin
/// (the browser delivers it only at the one the parent has).
fn post(kind: &str, field: Option<(&str, JsValue)>) {
    let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) else {
        return;
    };
    let message = message(kind);
    if let Some((name, value)) = field {
        let _ = Reflect::set(&message, &name.into(), &value);
    }
    ORIGINS.with(|origins| {
        for origin in origins.borrow().iter() {
            let _ = parent.post_message(&message, origin);
        }
    });
}

/// `{ward: 1, type}`: every message between Ward's windows and the page
/// around Ward's frame (auth::popup's too).
pub(crate) fn message(kind: &str) -> Object {
    let message = Object::new();
    let _ = Reflect::set(&message, &"ward".into(), &1.into());
    let _ = Reflect::set(&message, &"type".into(), &kind.into());
    message
}

/// The type of a `{ward: 1, type}` message, if it came from the window
/// `from` and its origin is one the caller takes (`origin_ok`).
pub(crate) fn kind_from(
    event: &web_sys::MessageEvent,
    from: &JsValue,
    origin_ok: bool,
) -> Option<String> {
    let from_expected = event
        .source()
        .is_some_and(|source| Object::is(&source, from));
    if !origin_ok || !from_expected {
        return None;
    }
    let data = event.data();
    if !data.is_object() || Reflect::get(&data, &"ward".into()).ok()?.as_f64() != Some(1.0) {
        return None;
    }
    Reflect::get(&data, &"type".into()).ok()?.as_string()
}

/// Calls `handler` with every `message` event this window gets, for the
/// page's whole life.
pub(crate) fn on_message(handler: impl Fn(web_sys::MessageEvent) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let handler = Closure::<dyn Fn(web_sys::MessageEvent)>::new(handler);
    let _ = window.add_event_listener_with_callback("message", handler.as_ref().unchecked_ref());
    handler.forget();
}

/// What the page hears of the session: `auth` and `unread` at `ready` and
/// on every change (no count while locked or signed out: the keys that
/// list the threads are gone), and `attention` when a message from someone
/// else arrives while the page is hidden. (One effect for all three: each
/// effect costs the client about a kilobyte.)
fn report_session(session: Session, inbox: Inbox, ready: RwSignal<bool>) {
    Effect::new(move |before: Option<(&'static str, u64, u64, bool)>| {
        let phase = session.phase.get();
        let state = match phase {
            Phase::Unlocked | Phase::ShowRecoveryCode => "signed-in",
            Phase::Locked => "locked",
            Phase::SignedOut | Phase::NeedsRecoveryCode => "signed-out",
        };
        let count = if phase == Phase::Unlocked {
            inbox.unread_total()
        } else {
            0
        };
        let arrivals = inbox.arrivals.get();
        if !ready.get() {
            return (state, count, arrivals, false);
        }
        let (was_state, was_count, was_arrivals, told) = before.unwrap_or(("", 0, 0, false));
        if !told || was_state != state {
            post("auth", Some(("state", state.into())));
        }
        if !told || was_count != count {
            post("unread", Some(("count", (count as f64).into())));
        }
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden());
        if told && hidden && arrivals > was_arrivals {
            post("attention", None);
        }
        (state, count, arrivals, true)
    });
}

/// Tells the page the height Ward's content wants, whenever it changes;
/// 640 px (the script's default) on the conversation screen, which fills
/// the frame.
fn follow_height() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let last = std::cell::Cell::new(0);
    let measure = move || {
        let Some(body) = document.body() else {
            return;
        };
        let scrolled = web_sys::window()
            .and_then(|w| w.scroll_y().ok())
            .unwrap_or(0.0);
        let mut height = 0;
        let children = body.children();
        for index in 0..children.length() {
            if let Some(child) = children.item(index) {
                let bottom = child.get_bounding_client_rect().bottom() + scrolled;
                height = height.max(bottom.ceil() as i32);
            }
        }
        // The conversation screen is as tall as the frame (its list
        // scrolls inside), so measuring it would only repeat the frame's
        // height back: it asks for the script's default instead.
        if document.query_selector(".thread").ok().flatten().is_some() {
            height = 640;
        }
        if height > 0 && height != last.get() {
            last.set(height);
            post("resize", Some(("height", height.into())));
        }
    };
    measure();
    let callback = Closure::<dyn Fn()>::new(measure);
    let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) else {
        return;
    };
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let children = body.children();
        for index in 0..children.length() {
            if let Some(child) = children.item(index) {
                observer.observe(&child);
            }
        }
    }
    // The page's whole life: nothing to stop it for.
    callback.forget();
    std::mem::forget(observer);
}

/// One of the page's requests, if it is one from the parent window at a
/// listed origin: `(type, data)`.
fn request_of(event: &web_sys::MessageEvent) -> Option<(String, JsValue)> {
    let listed = ORIGINS.with(|origins| origins.borrow().contains(&event.origin()));
    let parent = web_sys::window()?.parent().ok().flatten()?;
    let kind = kind_from(event, &parent, listed)?;
    Some((kind, event.data()))
}

fn text(data: &JsValue, field: &str) -> Option<String> {
    Reflect::get(data, &field.into()).ok()?.as_string()
}

fn listen(session: Session, location: Location) {
    on_message(move |event| {
        let Some((kind, data)) = request_of(&event) else {
            return;
        };
        match kind.as_str() {
            "signOut" => sign_out(session, location),
            "open" => open(location, text(&data, "thread")),
            "setTheme" => set_theme(text(&data, "accent"), text(&data, "scheme")),
            "setLocale" => set_locale(text(&data, "locale").unwrap_or_default()),
            _ => {}
        }
    });
}

fn sign_out(session: Session, location: Location) {
    if session.phase.get_untracked() == Phase::SignedOut {
        return;
    }
    spawn_local(async move {
        session.sign_out().await;
        location.navigate("/");
    });
}

/// A thread by its id (the relay's, URL-safe), or the list.
fn open(location: Location, thread: Option<String>) {
    match thread.map(|id| crate::router::thread_path(&id)) {
        Some(Some(path)) => location.navigate(&path),
        Some(None) => post("error", Some(("code", "unknown_thread".into()))),
        None => location.navigate("/"),
    }
}

fn root() -> Option<web_sys::HtmlElement> {
    web_sys::window()?
        .document()?
        .document_element()?
        .dyn_into()
        .ok()
}

/// The clinic's colour for Ward's bar and buttons, and light or dark. The
/// colour carries white text, so one too light to read is refused
/// (`error {code: "theme_refused"}`); nothing here can hide the emergency
/// notice or the security indicators, which keep their own colours.
fn set_theme(accent: Option<String>, scheme: Option<String>) {
    let Some(root) = root() else {
        return;
    };
    if let Some(accent) = accent.filter(|a| !a.is_empty()) {
        match readable_on_white(&accent) {
            true => {
                let _ = root.style().set_property("--brand", &accent);
            }
            false => post("error", Some(("code", "theme_refused".into()))),
        }
    }
    match scheme.as_deref() {
        Some("light" | "dark") => {
            let _ = root.set_attribute("data-scheme", scheme.as_deref().unwrap_or("light"));
        }
        Some("") | None => {}
        Some(_) => post("error", Some(("code", "theme_refused".into()))),
    }
}

/// Whether `#rrggbb` has at least 4.5:1 contrast with white text (WCAG 2's
/// relative luminance).
fn readable_on_white(colour: &str) -> bool {
    let Some(hex) = colour.strip_prefix('#').filter(|h| h.len() == 6) else {
        return false;
    };
    let Ok(value) = u32::from_str_radix(hex, 16) else {
        return false;
    };
    let channel = |shift: u32| {
        let c = f64::from((value >> shift) & 0xff) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            // JS's Math.pow: Rust's would add libm's to the client.
            js_sys::Math::pow((c + 0.055) / 1.055, 2.4)
        }
    };
    let luminance = 0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0);
    1.05 / (luminance + 0.05) >= 4.5
}

/// The clinic page's language switch: the same as Settings' (kept on this
/// device). A language Ward does not speak, or Spanish that cannot be
/// fetched, is answered with `error {code: "locale_unsupported"}`.
fn set_locale(locale: String) {
    let Some(lang) = crate::i18n::Lang::from_tag(&locale) else {
        post("error", Some(("code", "locale_unsupported".into())));
        return;
    };
    leptos::task::spawn_local(async move {
        if !crate::i18n::set(lang).await {
            post("error", Some(("code", "locale_unsupported".into())));
        }
    });
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::readable_on_white;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn an_accent_must_carry_white_text() {
        assert!(readable_on_white("#0b5563"));
        assert!(readable_on_white("#24452f"));
        assert!(!readable_on_white("#ffff00"));
        assert!(!readable_on_white("#777777"), "4.48:1, just under");
        assert!(!readable_on_white("0b5563"));
        assert!(!readable_on_white("#0b556"));
        assert!(!readable_on_white("red; display: none"));
    }
}
