//! "Install Ward": the browser's own install prompt where it offers one
//! (`beforeinstallprompt`, caught by index.html's first script, which runs
//! before the wasm has loaded), and on iPhone and iPad Safari, which offers
//! none, how to add Ward to the Home Screen.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::i18n::{Text, tr};

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// The prompt index.html kept (`window.wardInstall`), if any.
fn prompt() -> Option<JsValue> {
    let kept = js_sys::Reflect::get(&window()?.into(), &"wardInstall".into()).ok()?;
    (!kept.is_undefined() && !kept.is_null()).then_some(kept)
}

/// Follows the browser's offer: index.html announces a new one with a
/// `ward-installable` event, and the browser says `appinstalled` when done.
pub(super) fn listen(offered: RwSignal<bool>) {
    offered.set(prompt().is_some());
    let _ =
        window_event_listener_untyped("ward-installable", move |_| offered.set(prompt().is_some()));
    let _ = window_event_listener_untyped("appinstalled", move |_| offered.set(false));
}

/// Running as the installed app (from the Home Screen or app list).
fn standalone() -> bool {
    window()
        .and_then(|w| w.match_media("(display-mode: standalone)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// Whether this browser is Safari on an iPhone or iPad, where Share → Add
/// to Home Screen installs.
fn ios_safari() -> bool {
    window().is_some_and(|w| {
        let navigator = w.navigator();
        is_ios_safari(
            &navigator.user_agent().unwrap_or_default(),
            navigator.max_touch_points(),
        )
    })
}

/// Safari on iOS by its user agent: other iOS browsers say CriOS, FxiOS or
/// EdgiOS; an iPad asks for the desktop site, saying Macintosh, but has touch.
fn is_ios_safari(agent: &str, touch_points: i32) -> bool {
    let ios = agent.contains("iPhone")
        || agent.contains("iPad")
        || (agent.contains("Macintosh") && touch_points > 1);
    ios && agent.contains("Safari")
        && !["CriOS", "FxiOS", "EdgiOS"]
            .iter()
            .any(|b| agent.contains(b))
}

/// The Settings card: a button where the browser offers to install, the
/// steps on iOS Safari, nothing where Ward is installed already or cannot be.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn InstallWard() -> impl IntoView {
    let offered = super::Pwa::get().installable;
    let ios = !standalone() && ios_safari();
    let install = move |_| {
        let Some(kept) = prompt() else {
            offered.set(false);
            return;
        };
        if let Some(window) = window() {
            let _ = js_sys::Reflect::set(&window, &"wardInstall".into(), &JsValue::NULL);
        }
        offered.set(false);
        // The browser's own sheet; its answer needs nothing from Ward.
        if let Ok(show) = js_sys::Reflect::get(&kept, &"prompt".into())
            .and_then(|f| f.dyn_into::<js_sys::Function>())
            && let Ok(shown) = show.call0(&kept)
            && let Ok(shown) = shown.dyn_into::<js_sys::Promise>()
        {
            spawn_local(async move {
                let _ = JsFuture::from(shown).await;
            });
        }
    };
    view! {
        <Show when=move || offered.get() || ios>
            <section class="card" aria-labelledby="install-title">
                <h2 id="install-title">{tr(Text::InstallTitle)}</h2>
                <p>{tr(Text::InstallWhy)}</p>
                {ios.then(|| view! {
                    <p>{tr(Text::InstallIosSteps)}<strong>{tr(Text::InstallIosAddToHome)}</strong>"."</p>
                })}
                <Show when=move || offered.get()>
                    <button type="button" class="button" on:click=install>{tr(Text::InstallTitle)}</button>
                </Show>
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::is_ios_safari;

    #[test]
    fn only_safari_on_ios_gets_the_home_screen_steps() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        let chrome_ios = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1";
        let ipad_desktop = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
        assert!(is_ios_safari(iphone, 5));
        assert!(!is_ios_safari(chrome_ios, 5));
        assert!(is_ios_safari(ipad_desktop, 5));
        assert!(!is_ios_safari(ipad_desktop, 0), "a Mac");
        assert!(!is_ios_safari(android, 5));
    }
}
