//! Passkeys: list, rename, remove, add.

use leptos::prelude::*;

use crate::i18n::Text;
use leptos::task::spawn_local;
use ward_proto::passkeys::PasskeyInfo;

use super::{local_time, since};
use crate::api;
use crate::components::list::{List, row_key};
use crate::components::notice::{Busy, ErrorNote};
use crate::session::Session;

/// The passkeys section.
#[component]
#[allow(unreachable_pub)]
pub(super) fn Passkeys() -> impl IntoView {
    let session = Session::get();
    let list = RwSignal::new(Vec::<PasskeyInfo>::new());
    let error = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let new_label = RwSignal::new(String::new());

    let reload = move || {
        spawn_local(async move {
            let Some(token) = session.token() else { return };
            match api::account::passkeys(&token).await {
                Ok(found) => list.set(found.passkeys),
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    reload();

    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let label = new_label.get_untracked().trim().to_owned();
        if label.is_empty() {
            error.set(Some(
                "Give the new passkey a name, like \"Work laptop\".".into(),
            ));
            return;
        }
        // Inside a clinic's page, the passkey is made in Ward's own window,
        // opened now, in the tap (crate::auth::popup).
        if crate::embed::framed() {
            crate::auth::popup::open();
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = session.add_passkey(label).await;
            crate::auth::popup::discard();
            busy.set(false);
            match result {
                Ok((added, unlocks)) => {
                    status.set(Some(if unlocks {
                        format!("Passkey \"{added}\" added. It signs you in and unlocks your messages.")
                    } else {
                        format!("Passkey \"{added}\" added. It cannot unlock your messages by itself, so the first time you use it on another device Ward asks for your recovery code once.")
                    }));
                    new_label.set(String::new());
                    reload();
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="passkeys-title">
            <h2 id="passkeys-title">"Passkeys"</h2>
            <ul class="settings-list">
                <List each=move || list.get() key=|p| row_key(&[&p.passkey_id, &p.label]) let:passkey>
                    <PasskeyRow passkey=passkey error=error status=status on_change=move || reload() />
                </List>
            </ul>
            <form on:submit=add>
                <label for="new-passkey">"Name for a new passkey"</label>
                <input id="new-passkey" type="text" maxlength="100" bind:value=new_label />
                <button type="submit" class="button secondary" prop:disabled=move || busy.get()>
                    {if crate::embed::framed() { "Add a passkey in a new window" } else { "Add a passkey" }}
                </button>
            </form>
            <Busy busy=busy text=Text::BusyFollowPrompts />
            <p role="status">{move || status.get()}</p>
            <ErrorNote message=error />
        </section>
    }
}

#[component]
fn PasskeyRow(
    passkey: PasskeyInfo,
    error: RwSignal<Option<String>>,
    status: RwSignal<Option<String>>,
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let session = Session::get();
    let editing = RwSignal::new(false);
    let label = RwSignal::new(passkey.label.clone());
    let id = StoredValue::new(passkey.passkey_id.clone());
    let name = passkey.label.clone();
    let used = passkey
        .last_used_at
        .map(|t| format!("Last used {}", since(t)))
        .unwrap_or_else(|| "Not used to sign in yet".into());
    let added = format!("Added {}", local_time(passkey.created_at));

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = label.get_untracked();
        spawn_local(async move {
            let Some(token) = session.token() else { return };
            match api::account::rename_passkey(&token, &id.get_value(), &typed).await {
                Ok(renamed) => {
                    status.set(Some(format!("Renamed to \"{}\".", renamed.label)));
                    editing.set(false);
                    on_change();
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    let remove = move |_| {
        error.set(None);
        spawn_local(async move {
            let passkey_id = id.get_value();
            let result = session
                .with_step_up(|t| {
                    let passkey_id = passkey_id.clone();
                    async move { api::account::remove_passkey(&t, &passkey_id).await }
                })
                .await;
            match result {
                Ok(()) => {
                    status.set(Some("Passkey removed. It can no longer sign in.".into()));
                    on_change();
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    let rename_label = format!("Rename {name}");
    let remove_label = format!("Remove {name}");
    view! {
        <li class="settings-row">
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <div>
                        <strong>{name.clone()}</strong>
                        <span class="meta">{added.clone()}" · "{used.clone()}</span>
                    </div>
                }
            >
                <form on:submit=save class="inline-form">
                    <label for=format!("rename-{}", id.get_value())>"New name"</label>
                    <input id=format!("rename-{}", id.get_value()) type="text" maxlength="100" bind:value=label />
                    <button type="submit" class="button secondary">"Save"</button>
                </form>
            </Show>
            <div class="row-actions">
                <button type="button" class="link-button" aria-label=rename_label
                    on:click=move |_| editing.update(|e| *e = !*e)>
                    {move || if editing.get() { "Cancel" } else { "Rename" }}
                </button>
                <button type="button" class="link-button danger" aria-label=remove_label on:click=remove>"Remove"</button>
            </div>
        </li>
    }
}
