//! Client-side navigation: the page's path as a signal, `history`
//! navigation, and every same-origin link followed in place.
//!
//! Ward has nine fixed screens and one parameter (a thread id), so this
//! replaces `leptos_router`, whose generic route matching was the largest
//! library in the client (about 63 KB of its code before compression;
//! docs/benchmarks.md has the size it saved).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Where the app is: the path part of the page's address.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    path: RwSignal<String>,
    /// `path`, notifying only when it changes.
    current: Memo<String>,
}

impl Location {
    /// Reads the page's path and starts following the browser's back and
    /// forward buttons and clicks on same-origin links; for the whole app.
    pub fn provide() -> Self {
        let path = RwSignal::new(page_path());
        let location = Self {
            path,
            current: Memo::new(move |_| path.get()),
        };
        provide_context(location);
        let back_or_forward = window_event_listener(leptos::ev::popstate, move |_| {
            path.set(page_path());
        });
        let link = window_event_listener(leptos::ev::click, move |ev| follow(location, &ev));
        // The app lives as long as the page: the listeners too.
        std::mem::forget((back_or_forward, link));
        location
    }

    /// The app's location (after [`Self::provide`]).
    pub fn get() -> Self {
        expect_context()
    }

    /// The current path, e.g. `/threads/thr_1` (tracked).
    pub fn path(&self) -> String {
        self.current.get()
    }

    /// Goes to `to` (a path on this origin), as a new history entry.
    pub fn navigate(&self, to: &str) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(history) = window.history() {
            let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to));
        }
        self.path.set(page_path());
        // A new screen starts at its top, as a page load would, and is
        // read from its heading.
        window.scroll_to_with_x_and_y(0.0, 0.0);
        crate::components::notice::focus_heading();
    }

    /// Shows `to` (a path on this origin) in place of the current entry,
    /// leaving no history entry behind.
    pub fn replace(&self, to: &str) {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to));
        }
        self.path.set(page_path());
    }
}

/// The page's path, as the browser has it now.
fn page_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".into())
}

/// Follows a plain click on a link to another path of this origin in
/// place; anything else (another site, a new tab, a download, a jump
/// within the page, a click a handler already took) is the browser's.
fn follow(location: Location, ev: &leptos::ev::MouseEvent) {
    if ev.default_prevented()
        || ev.button() != 0
        || ev.meta_key()
        || ev.ctrl_key()
        || ev.shift_key()
        || ev.alt_key()
    {
        return;
    }
    let Some(link) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("a[href]").ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    else {
        return;
    };
    let Some(page) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let same_origin = page.origin().ok().as_deref() == Some(link.origin().as_str());
    let same_path = page.pathname().ok().as_deref() == Some(link.pathname().as_str());
    if !same_origin
        || !link.target().is_empty()
        || link.has_attribute("download")
        || link.rel().split_whitespace().any(|r| r == "external")
        || (same_path && !link.hash().is_empty())
    {
        return;
    }
    ev.prevent_default();
    location.navigate(&format!(
        "{}{}{}",
        link.pathname(),
        link.search(),
        link.hash()
    ));
}

/// A link within the app, marked as the current page while it is.
#[component]
pub fn A(
    /// The path it goes to.
    #[prop(into)]
    href: String,
    children: Children,
) -> impl IntoView {
    let location = Location::get();
    let here = href.clone();
    view! {
        <a href=href aria-current=move || (location.path() == here).then_some("page")>
            {children()}
        </a>
    }
}

/// The path of the thread `id` names, if it is a thread id as the relay
/// makes them (URL-safe, at most 64 characters): what a clinic's page or
/// a notification asks to open is never taken as a path of its own.
pub fn thread_path(id: &str) -> Option<String> {
    (!id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    .then(|| format!("/threads/{id}"))
}
