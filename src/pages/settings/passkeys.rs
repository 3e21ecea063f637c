//! Passkeys: list, rename, remove, add.

use leptos::prelude::*;

use crate::i18n::{Text, fill, t, tr};
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
            error.set(Some(t(Text::SettingsPasskeyNameNeeded).into()));
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
                    let said = if unlocks {
                        Text::SettingsPasskeyAddedUnlocks
                    } else {
                        Text::SettingsPasskeyAddedNoUnlock
                    };
                    status.set(Some(fill(said, &[("name", &added)])));
                    new_label.set(String::new());
                    reload();
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="passkeys-title">
            <h2 id="passkeys-title">{tr(Text::SettingsPasskeysTitle)}</h2>
            <ul class="settings-list">
                <List each=move || list.get() key=|p| row_key(&[&p.passkey_id, &p.label]) let:passkey>
                    <PasskeyRow passkey=passkey error=error status=status on_change=move || reload() />
                </List>
            </ul>
            <form on:submit=add>
                <label for="new-passkey">{tr(Text::SettingsPasskeyNewName)}</label>
                <input id="new-passkey" type="text" maxlength="100" bind:value=new_label />
                <button type="submit" class="button secondary" prop:disabled=move || busy.get()>
                    {tr(if crate::embed::framed() {
                        Text::SettingsPasskeyAddWindow
                    } else {
                        Text::SettingsPasskeyAdd
                    })}
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
    let last_used = passkey.last_used_at;
    let created = passkey.created_at;
    let used = move || match last_used {
        Some(at) => fill(Text::SettingsPasskeyLastUsed, &[("when", &since(at))]),
        None => t(Text::SettingsPasskeyNeverUsed).into(),
    };
    let added = move || {
        fill(
            Text::SettingsPasskeyAddedOn,
            &[("date", &local_time(created))],
        )
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = label.get_untracked();
        spawn_local(async move {
            let Some(token) = session.token() else { return };
            match api::account::rename_passkey(&token, &id.get_value(), &typed).await {
                Ok(renamed) => {
                    status.set(Some(fill(
                        Text::SettingsPasskeyRenamed,
                        &[("name", &renamed.label)],
                    )));
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
                    status.set(Some(t(Text::SettingsPasskeyRemoved).into()));
                    on_change();
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    // While the name is being edited the button says "Cancel": named by
    // what it shows (WCAG 2.5.3), not still "Rename …".
    let rename_label = {
        let name = name.clone();
        move || (!editing.get()).then(|| fill(Text::SettingsPasskeyRenameLabel, &[("name", &name)]))
    };
    let remove_label = {
        let name = name.clone();
        move || fill(Text::SettingsPasskeyRemoveLabel, &[("name", &name)])
    };
    view! {
        <li class="settings-row">
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <div>
                        <strong>{name.clone()}</strong>
                        <span class="meta">{added}" · "{used}</span>
                    </div>
                }
            >
                <form on:submit=save class="inline-form">
                    <label for=format!("rename-{}", id.get_value())>{tr(Text::SettingsPasskeyNewNameLabel)}</label>
                    <input id=format!("rename-{}", id.get_value()) type="text" maxlength="100" bind:value=label />
                    <button type="submit" class="button secondary">{tr(Text::SettingsPasskeySave)}</button>
                </form>
            </Show>
            <div class="row-actions">
                <button type="button" class="link-button" aria-label=rename_label
                    on:click=move |_| editing.update(|e| *e = !*e)>
                    {move || t(if editing.get() { Text::SettingsPasskeyCancel } else { Text::SettingsPasskeyRename })}
                </button>
                <button type="button" class="link-button danger" aria-label=remove_label on:click=remove>{tr(Text::SettingsPasskeyRemove)}</button>
            </div>
        </li>
    }
}
