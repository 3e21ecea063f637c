//! The signed-in home: who is signed in and with which clinic.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api;
use crate::session::Session;

/// The signed-in home screen.
#[component]
pub fn Home() -> impl IntoView {
    let session = Session::get();
    let clinic = RwSignal::new(None::<String>);
    spawn_local(async move {
        let Some(token) = session.token() else { return };
        if let Ok(info) = api::account::clinic(&token).await {
            clinic.set(Some(info.display_name));
        }
    });
    view! {
        <section class="card" aria-labelledby="home-title">
            <h1 id="home-title" tabindex="-1">"Messages with your care team"</h1>
            <p role="status" class="signed-in-status">
                {move || match clinic.get() {
                    Some(name) => format!("You are signed in. Your keys are unlocked on this device; your care team is {name}."),
                    None => "You are signed in. Your keys are unlocked on this device.".into(),
                }}
            </p>
            <p><A href="/settings/security">"Security settings"</A>" : passkeys, authenticator app, devices, recovery code."</p>
        </section>
    }
}
