//! Ward's web client: a Leptos single-page app compiled to WebAssembly.
//!
//! Data flows one way: a screen (`pages`) calls the session service
//! (`session`) or `api`, which talk to the relay; what comes back updates
//! signals the screens render. Only `session` touches key material, through
//! `ward-seal`.

pub mod api;
pub mod app;
pub mod attachments;
pub mod auth;
pub mod components;
pub mod messaging;
pub mod pages;
pub mod session;
pub mod store;

/// Mounts the app on the page, replacing the "Loading" placeholder.
pub fn start() {
    console_error_panic_hook::set_once();
    if let Some(boot) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id("boot"))
    {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
