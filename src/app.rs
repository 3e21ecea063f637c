//! The top-level layout every screen sits in.

use leptos::prelude::*;

use crate::pages::home::Home;

/// The whole app. Screens arrive with routing in later work; for now the
/// shell shows who we are and whether the relay answers.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="app-header">
            <span class="app-name">"Ward"</span>
        </header>
        <main id="main" class="app-main" tabindex="-1">
            <Home />
        </main>
    }
}
