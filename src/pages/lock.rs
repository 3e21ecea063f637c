//! The lock screen, over the signed-in screens (which stay as they were,
//! so a draft survives). Unlocking needs the passkey again.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::notice::{Busy, ErrorNote};
use crate::i18n::{Text, t, tr};
use crate::pages::code_sign_in::CodeSignIn;
use crate::session::{LockReason, Session};

/// Shown while locked.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn LockScreen() -> impl IntoView {
    let session = Session::get();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let unlock = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session.sign_in_with_passkey(false, None).await;
            busy.set(false);
            if let Err(e) = result {
                error.set(Some(e.message()));
            }
        });
    };
    let with_codes = RwSignal::new(false);
    let sign_out = move |_| {
        spawn_local(async move { session.sign_out().await });
    };
    view! {
        <section class="card lock-screen" role="dialog" aria-modal="true" aria-labelledby="lock-title">
            <h1 id="lock-title" tabindex="-1">{tr(Text::LockTitle)}</h1>
            <p>
                {move || match session.lock_reason.get() {
                    LockReason::Idle => t(Text::LockReasonIdle),
                    LockReason::SessionEnded => t(Text::LockReasonSessionEnded),
                    LockReason::Chosen => t(Text::LockReasonChosen),
                }}
                " "{tr(Text::LockTypingKept)}
            </p>
            <button type="button" class="button primary" on:click=unlock prop:disabled=move || busy.get()>
                {tr(Text::LockUnlockPasskey)}
            </button>
            <Busy busy=busy text=Text::WaitingForPasskey />
            <ErrorNote message=error />
            <button type="button" class="link-button" on:click=move |_| with_codes.update(|w| *w = !*w)>
                {move || if with_codes.get() { t(Text::LockHideCodes) } else { t(Text::LockShowCodes) }}
            </button>
            <button type="button" class="link-button" on:click=sign_out>{tr(Text::LockSignOutInstead)}</button>
        </section>
        <Show when=move || with_codes.get()>
            <CodeSignIn embedded=true />
        </Show>
    }
}
