//! The recovery code: shown once (with copy, and a check that it was
//! saved), and asked for on a device that cannot unlock any other way.

use leptos::prelude::*;

use crate::i18n::{Text, fill, t, tr};
use leptos::task::spawn_local;

use crate::components::notice::{Busy, ErrorNote, yield_to_paint};
use crate::session::Session;

/// Which groups (0-based) the patient types back: two, far apart, that
/// change between codes so the check cannot be learned by rote.
fn groups_to_check(code: &str) -> (usize, usize) {
    let sum: usize = code.bytes().map(usize::from).sum();
    let first = sum % 4;
    (first, 4 + (sum / 4) % 4)
}

fn group(code: &str, index: usize) -> String {
    code.split('-').nth(index).unwrap_or_default().to_owned()
}

fn normalize(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// "Group 3" for the group at 0-based `index`.
fn group_label(index: usize) -> String {
    fill(Text::RecoveryGroup, &[("number", &(index + 1).to_string())])
}

/// Shows a new recovery code and checks it was saved.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn ShowRecoveryCode() -> impl IntoView {
    let session = Session::get();
    let code = session.recovery_code_text().unwrap_or_default();
    let replaced = session.replaced_unconfirmed.get_untracked();
    let (first, second) = groups_to_check(&code);
    let checking = RwSignal::new(false);
    let copied = RwSignal::new(None::<Text>);
    let typed_first = RwSignal::new(String::new());
    let typed_second = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let groups: Vec<String> = code.split('-').map(str::to_owned).collect();
    let for_copy = StoredValue::new(code.clone());

    let copy = move |_| {
        let text = for_copy.get_value();
        spawn_local(async move {
            let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) else {
                return;
            };
            let done = wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&text)).await;
            copied.set(Some(if done.is_ok() {
                Text::RecoveryCopied
            } else {
                Text::RecoveryCopyFailed
            }));
        });
    };
    let expected = (group(&code, first), group(&code, second));
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if normalize(&typed_first.get_untracked()) == expected.0
            && normalize(&typed_second.get_untracked()) == expected.1
        {
            session.recovery_code_saved();
        } else {
            error.set(Some(t(Text::RecoveryMismatch).into()));
        }
    };

    view! {
        <section class="card" aria-labelledby="recovery-title">
            <h1 id="recovery-title" tabindex="-1">{tr(Text::RecoveryTitle)}</h1>
            <Show when=move || replaced>
                <p class="error-note" role="alert">{tr(Text::RecoveryReplaced)}</p>
            </Show>
            <Show
                when=move || checking.get()
                fallback=move || view! {
                    <p>{tr(Text::RecoveryExplain)}</p>
                    <p class="recovery-code" aria-label=tr(Text::RecoveryCodeLabel)>
                        {groups.iter().map(|g| view! { <span class="group">{g.clone()}</span> " " }).collect_view()}
                    </p>
                    <div class="actions">
                        <button type="button" class="button secondary" on:click=copy>{tr(Text::RecoveryCopy)}</button>
                        <button type="button" class="button primary" on:click=move |_| {
                            checking.set(true);
                            crate::components::notice::focus_heading();
                        }>{tr(Text::RecoverySaved)}</button>
                    </div>
                    <p role="status">{move || copied.get().map(t)}</p>
                }
            >
                <p>{tr(Text::RecoveryCheckIntro)}</p>
                <form on:submit=confirm.clone()>
                    <label for="group-a">{move || group_label(first)}</label>
                    <input id="group-a" type="text" autocomplete="off" autocapitalize="characters"
                        spellcheck="false" maxlength="8" bind:value=typed_first />
                    <label for="group-b">{move || group_label(second)}</label>
                    <input id="group-b" type="text" autocomplete="off" autocapitalize="characters"
                        spellcheck="false" maxlength="8" bind:value=typed_second />
                    <div class="actions">
                        <button type="submit" class="button primary">{tr(Text::RecoveryConfirm)}</button>
                        <button type="button" class="button secondary" on:click=move |_| {
                            error.set(None);
                            checking.set(false);
                        }>{tr(Text::RecoveryShowAgain)}</button>
                    </div>
                </form>
                <ErrorNote message=error fields=|_| &["group-a", "group-b"] />
            </Show>
        </section>
    }
}

/// Asks for the recovery code on a device that cannot unlock otherwise.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn EnterRecoveryCode() -> impl IntoView {
    let session = Session::get();
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let code = zeroize::Zeroizing::new(typed.get_untracked());
        spawn_local(async move {
            yield_to_paint().await;
            let result = session.enter_recovery_code(&code).await;
            busy.set(false);
            if let Err(e) = result {
                error.set(Some(e.message()));
            }
        });
    };
    let sign_out = move |_| {
        spawn_local(async move { session.sign_out().await });
    };

    view! {
        <section class="card" aria-labelledby="enter-recovery-title">
            <h1 id="enter-recovery-title" tabindex="-1">{tr(Text::RecoveryUnlockTitle)}</h1>
            <p>{tr(Text::RecoveryUnlockExplain)}</p>
            <form on:submit=submit>
                <label for="recovery-input">{tr(Text::RecoveryInputLabel)}</label>
                <input id="recovery-input" type="text" autocomplete="off" autocapitalize="characters"
                    spellcheck="false" placeholder="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX"
                    bind:value=typed />
                <button type="submit" class="button primary" prop:disabled=move || busy.get()>{tr(Text::RecoveryUnlock)}</button>
            </form>
            <Busy busy=busy text=Text::BusyCheckingCode />
            <ErrorNote message=error fields=|_| &["recovery-input"] />
            <p class="hint">{tr(Text::RecoveryLostHint)}</p>
            <button type="button" class="link-button" on:click=sign_out>{tr(Text::RecoverySignOut)}</button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_asks_for_two_different_groups_of_the_code() {
        let code = "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789";
        let (a, b) = groups_to_check(code);
        assert!(a < 4 && (4..8).contains(&b));
        assert_eq!(group(code, 0), "ABCD");
        assert_eq!(normalize(" abcd "), "ABCD");
    }
}
