//! Auto-lock: after the chosen idle time the keys are dropped. Idle time is
//! measured from the last touch, key or scroll, and counts while the tab is
//! hidden (timers there are throttled, so the check compares clock times).

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::{Phase, Session};

/// The default idle time before locking, in minutes.
pub(crate) const DEFAULT_MINUTES: u32 = 10;
/// The choices offered in settings.
pub(crate) const CHOICES: [u32; 5] = [1, 5, 10, 30, 60];
const PREF_KEY: &str = "ward.autolock.minutes";
const CHECK_EVERY_MS: i32 = 5_000;

/// The chosen idle time (a preference, not a secret: kept in localStorage).
pub(crate) fn minutes() -> u32 {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(PREF_KEY).ok().flatten())
        .and_then(|v| v.parse().ok())
        .filter(|m| CHOICES.contains(m))
        .unwrap_or(DEFAULT_MINUTES)
}

/// Remembers the idle time.
pub(crate) fn set_minutes(minutes: u32) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(PREF_KEY, &minutes.to_string());
    }
}

/// Starts watching for activity; locks `session` when idle too long. Runs
/// for the page's lifetime.
pub(crate) fn watch(session: Session) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let last_active = StoredValue::new(js_sys::Date::now());
    let on_activity = Closure::<dyn Fn()>::new(move || {
        last_active.set_value(js_sys::Date::now());
    });
    for event in ["pointerdown", "keydown", "wheel", "touchstart", "input"] {
        let _ =
            window.add_event_listener_with_callback(event, on_activity.as_ref().unchecked_ref());
    }
    on_activity.forget();

    // Becoming unlocked counts as activity (the sign-in just happened).
    Effect::new(move |_| {
        if session.phase.get() == Phase::Unlocked {
            last_active.set_value(js_sys::Date::now());
        }
    });

    let check = Closure::<dyn Fn()>::new(move || {
        let idle_ms = js_sys::Date::now() - last_active.get_value();
        if idle_ms >= f64::from(minutes()) * 60_000.0 {
            session.lock();
        }
    });
    let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
        check.as_ref().unchecked_ref(),
        CHECK_EVERY_MS,
    );
    // The visible-again check runs at once rather than at the next tick.
    if let Some(document) = window.document() {
        let _ = document
            .add_event_listener_with_callback("visibilitychange", check.as_ref().unchecked_ref());
    }
    check.forget();
}
