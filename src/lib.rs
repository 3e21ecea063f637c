//! Ward's web client: a Leptos single-page app compiled to WebAssembly.
//!
//! Data flows one way: a screen (`pages`, `components`) calls a service,
//! the service calls `api` (the only module that talks to the relay), and
//! what comes back, by HTTP or as a live event (`messaging::live`), updates
//! signals the screens render. The services:
//!
//! - `session`: sign-in, enrollment, passkeys, step-up, lock and sign-out.
//!   It is the one owner of secrets and plaintext: the unlocked account's
//!   keys, and the `messaging::Inbox` (thread keys, decrypted messages,
//!   drafts), dropped together, synchronously, on lock and sign-out. Every
//!   async flow checks the session's generation before it stores anything.
//! - `messaging`: threads and messages, sealed and opened with `ward-seal`,
//!   the outbox, uploads, receipts, typing and search.
//! - `attachments`: files encrypted part by part for upload, and decrypted
//!   for a screen that asks (`attachments::open`).
//!
//! Screens never fetch, decrypt, or handle tokens or PRF secrets; `store`
//! is this device's IndexedDB (never plaintext), `auth` the WebAuthn bridge.
//!
//! Modules the browser tests in `tests/` reach are `pub` (and documented);
//! the rest is crate-private, and `unreachable_pub` keeps it so. Leptos
//! components carry `#[allow(unreachable_pub)]`: `#[component]` generates
//! a props struct and builder whose `pub` items their function's
//! visibility does not narrow.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(unreachable_pub)]

pub(crate) mod api;
pub mod app;
pub(crate) mod attachments;
pub mod auth;
pub(crate) mod components;
pub(crate) mod embed;
pub mod i18n;
pub mod messaging;
pub mod pages;
pub(crate) mod pwa;
pub mod router;
pub mod session;
pub mod store;

/// Mounts the app on the page, replacing the "Loading" placeholder.
pub fn start() {
    console_error_panic_hook::set_once();
    // Ward's own small window for a passkey asked for inside a clinic's
    // page: no session, no app around it (auth::popup).
    let path = web_sys::window().and_then(|w| w.location().pathname().ok());
    let passkey_window = path.as_deref() == Some(auth::popup::PATH);
    // The language first (Spanish is fetched, from the service worker's
    // cache when installed), so the first screen is already in it.
    wasm_bindgen_futures::spawn_local(async move {
        let ready = i18n::start().await;
        if let Some(boot) = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.get_element_by_id("boot"))
        {
            boot.remove();
        }
        if !ready {
            cannot_start();
            return;
        }
        leptos::mount::mount_to_body(move || {
            use leptos::prelude::IntoAny as _;
            if passkey_window {
                pages::passkey_window::PasskeyWindow().into_any()
            } else {
                app::App().into_any()
            }
        });
    });
}

/// Not even English could be fetched (offline, never installed, and the
/// page itself from some cache): say so in both languages, in the words
/// `index.html` keeps for it.
fn cannot_start() {
    let document = web_sys::window().and_then(|w| w.document());
    if let Some(message) = document.and_then(|d| d.get_element_by_id("cannot-start")) {
        let _ = message.remove_attribute("hidden");
    }
}
