//! Signed-in devices (relay sessions), with remote sign-out.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ward_proto::auth::SessionInfo;

use super::local_time;
use crate::api;
use crate::components::list::List;
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, fill, t, tr};
use crate::session::Session;

/// A short name for a browser's self-description: "Chrome on Android".
fn describe(agent: Option<&str>) -> String {
    agent.map_or_else(
        || t(Text::SettingsDeviceUnknown).into(),
        |agent| crate::i18n::device_name(&ward_proto::account::device_description(agent)),
    )
}

/// The devices section.
#[component]
#[allow(unreachable_pub)]
pub(super) fn Devices() -> impl IntoView {
    let session = Session::get();
    let list = RwSignal::new(Vec::<SessionInfo>::new());
    let error = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<String>);
    let reload = move || {
        spawn_local(async move {
            let Some(token) = session.token() else { return };
            match api::account::sessions(&token).await {
                Ok(found) => list.set(found.sessions),
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    reload();
    view! {
        <section class="card" aria-labelledby="devices-title">
            <h2 id="devices-title">{tr(Text::SettingsDevicesTitle)}</h2>
            <ul class="settings-list">
                <List each=move || list.get() key=|s| s.session_id.clone() let:device>
                    {
                        let agent = device.user_agent.clone();
                        let name = move || describe(agent.as_deref());
                        let last_seen = device.last_seen_at;
                        let current = device.current;
                        let seen = move || {
                            if current {
                                t(Text::SettingsDeviceThis).to_owned()
                            } else {
                                fill(Text::SettingsDeviceLastActive, &[("date", &local_time(last_seen))])
                            }
                        };
                        let id = device.session_id.clone();
                        let button_label = {
                            let name = name.clone();
                            move || fill(Text::SettingsDeviceSignOutLabel, &[("name", &name())])
                        };
                        view! {
                            <li class="settings-row">
                                <div>
                                    <strong>{name}</strong>
                                    <span class="meta">{seen}</span>
                                </div>
                                <Show when=move || !current>
                                    <button type="button" class="link-button danger" aria-label=button_label.clone()
                                        on:click={
                                            let id = id.clone();
                                            move |_| {
                                                let id = id.clone();
                                                spawn_local(async move {
                                                    let Some(token) = session.token() else { return };
                                                    match api::account::revoke_session(&token, &id).await {
                                                        Ok(()) => {
                                                            status.set(Some(t(Text::SettingsDeviceSignedOut).into()));
                                                            reload();
                                                        }
                                                        Err(e) => error.set(Some(session.explain(&e))),
                                                    }
                                                });
                                            }
                                        }>{tr(Text::SettingsDeviceSignOut)}</button>
                                </Show>
                            </li>
                        }
                    }
                </List>
            </ul>
            <p role="status">{move || status.get()}</p>
            <ErrorNote message=error />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(describe(Some(android)), "Chrome on Android");
        assert_eq!(describe(None), "Unknown device");
    }
}
