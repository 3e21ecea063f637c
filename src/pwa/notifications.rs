//! Settings → Notifications: this device's Web Push subscription, made
//! only from a tap (the browser asks its permission then), stored by the
//! relay for this session, and a test notification. What a notification
//! says is fixed by the worker (public/sw.js), in the language the app
//! last told it ([`super`]): never who wrote or what.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

use super::Pwa;
use crate::api::{self, ApiError};
use crate::components::notice::ErrorNote;
use crate::i18n::{Text, t, tr};
use crate::session::Session;

/// Where this device stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Still asking the browser and the relay.
    Checking,
    /// No service worker or no push here.
    Unsupported,
    /// The patient (or the browser) said no to notifications.
    Blocked,
    Off,
    On,
}

/// Why turning notifications on stopped.
enum Failed {
    /// The browser's push service refused or was unreachable.
    PushService,
    /// The permission was not given.
    Denied,
    Api(ApiError),
}

fn push_manager(pwa: Pwa) -> Option<web_sys::PushManager> {
    pwa.registration()?.push_manager().ok()
}

fn permission() -> web_sys::NotificationPermission {
    web_sys::Notification::permission()
}

/// A push manager's answer: a subscription, or null. (Not checked with
/// `instanceof`: only its JSON and `unsubscribe` are used.)
fn subscription(answer: wasm_bindgen::JsValue) -> Option<web_sys::PushSubscription> {
    answer.is_object().then(|| answer.unchecked_into())
}

/// The browser's current subscription, if any.
async fn current(manager: &web_sys::PushManager) -> Option<web_sys::PushSubscription> {
    let found = JsFuture::from(manager.get_subscription().ok()?)
        .await
        .ok()?;
    subscription(found)
}

/// What the browser and the relay say now.
async fn check(pwa: Pwa, session: Session) -> State {
    let Some(manager) = push_manager(pwa) else {
        return State::Unsupported;
    };
    if permission() == web_sys::NotificationPermission::Denied {
        return State::Blocked;
    }
    let (Some(_), Some(token)) = (current(&manager).await, session.token()) else {
        return State::Off;
    };
    match api::push::subscribed(&token).await {
        Ok(true) => State::On,
        _ => State::Off,
    }
}

/// Whether `subscription` was made with the server key `key`.
fn made_with(subscription: &web_sys::PushSubscription, key: &[u8]) -> bool {
    let made = js_sys::Reflect::get(subscription, &"options".into())
        .and_then(|o| js_sys::Reflect::get(&o, &"applicationServerKey".into()))
        .ok()
        .filter(|k| k.is_object());
    made.is_some_and(|k| js_sys::Uint8Array::new(&k).to_vec() == key)
}

/// Subscribes with the relay's key (or keeps the browser's subscription)
/// and gives it to the relay.
async fn turn_on(pwa: Pwa, session: Session, asked: js_sys::Promise) -> Result<(), Failed> {
    let answer = JsFuture::from(asked).await.unwrap_or_default();
    if answer.as_string().as_deref() != Some("granted") {
        return Err(Failed::Denied);
    }
    let manager = push_manager(pwa).ok_or(Failed::PushService)?;
    let key = api::push::key().await.map_err(Failed::Api)?;
    let key = URL_SAFE_NO_PAD
        .decode(key.as_bytes())
        .map_err(|_| Failed::Api(ApiError::UnexpectedBody))?;
    // A subscription made under another key (the relay's changed) would be
    // refused by the push service: made again.
    let reusable = match current(&manager).await {
        Some(old) if made_with(&old, &key) => Some(old),
        Some(old) => {
            if let Ok(done) = old.unsubscribe() {
                let _ = JsFuture::from(done).await;
            }
            None
        }
        None => None,
    };
    let subscription = match reusable {
        Some(subscription) => subscription,
        None => {
            let options = web_sys::PushSubscriptionOptionsInit::new();
            options.set_user_visible_only(true);
            options.set_application_server_key(&js_sys::Uint8Array::from(key.as_slice()));
            let made = manager
                .subscribe_with_options(&options)
                .map_err(|_| Failed::PushService)?;
            JsFuture::from(made)
                .await
                .ok()
                .and_then(subscription)
                .ok_or(Failed::PushService)?
        }
    };
    let json = js_sys::JSON::stringify(&subscription)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or(Failed::PushService)?;
    let token = session
        .token()
        .ok_or(Failed::Api(ApiError::UnexpectedBody))?;
    api::push::subscribe(&token, json)
        .await
        .map_err(Failed::Api)
}

/// Gives the browser's subscription, if it has one and notifications are
/// allowed, to this session (a new sign-in is a new session).
pub(super) async fn carry_over(pwa: Pwa, session: Session) {
    if permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let Some(manager) = push_manager(pwa) else {
        return;
    };
    if let (Some(subscription), Some(token)) = (current(&manager).await, session.token())
        && let Some(json) = js_sys::JSON::stringify(&subscription)
            .ok()
            .and_then(|s| s.as_string())
    {
        let _ = api::push::subscribe(&token, json).await;
    }
}

/// Ends this browser's subscription, if it has one (the relay's copy is
/// not asked about).
pub(super) async fn end_here(pwa: Pwa) {
    if let Some(subscription) = push_manager(pwa).as_ref().map(current)
        && let Some(subscription) = subscription.await
        && let Ok(done) = subscription.unsubscribe()
    {
        let _ = JsFuture::from(done).await;
    }
}

/// Ends the browser's subscription and the relay's copy.
async fn turn_off(pwa: Pwa, session: Session) -> Result<(), ApiError> {
    end_here(pwa).await;
    match session.token() {
        Some(token) => api::push::unsubscribe(&token).await,
        None => Ok(()),
    }
}

/// The Settings card.
#[component]
#[allow(unreachable_pub)]
pub(crate) fn Notifications() -> impl IntoView {
    let pwa = Pwa::get();
    let session = Session::get();
    let state = RwSignal::new(State::Checking);
    let said = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // Again when the worker's registration arrives.
    Effect::new(move |_| {
        let registered = pwa.registration.with(Option::is_some);
        spawn_local(async move {
            let now = check(pwa, session).await;
            // Without a worker yet, the answer waits for it.
            if registered || now != State::Unsupported {
                state.set(now);
            }
        });
    });
    let on = move |_| {
        // Asked here, inside the tap: browsers ask only from a gesture.
        let Ok(asked) = web_sys::Notification::request_permission() else {
            state.set(State::Unsupported);
            return;
        };
        busy.set(true);
        said.set(None);
        error.set(None);
        spawn_local(async move {
            match turn_on(pwa, session, asked).await {
                Ok(()) => {
                    state.set(State::On);
                    said.set(Some(t(Text::NotifyOn).into()));
                }
                Err(Failed::Denied) => {
                    state.set(if permission() == web_sys::NotificationPermission::Denied {
                        State::Blocked
                    } else {
                        State::Off
                    });
                }
                Err(Failed::PushService) => {
                    error.set(Some(t(Text::NotifyPushServiceFailed).into()));
                }
                Err(Failed::Api(e)) => error.set(Some(session.explain(&e))),
            }
            busy.set(false);
        });
    };
    let off = move |_| {
        busy.set(true);
        said.set(None);
        error.set(None);
        spawn_local(async move {
            match turn_off(pwa, session).await {
                Ok(()) => {
                    state.set(State::Off);
                    said.set(Some(t(Text::NotifyOff).into()));
                }
                Err(e) => error.set(Some(session.explain(&e))),
            }
            busy.set(false);
        });
    };
    let test = move |_| {
        said.set(None);
        error.set(None);
        let Some(token) = session.token() else {
            return;
        };
        spawn_local(async move {
            match api::push::test(&token).await {
                Ok(()) => said.set(Some(t(Text::NotifyTestSent).into())),
                Err(e) => error.set(Some(session.explain(&e))),
            }
        });
    };
    let status = move || {
        t(match state.get() {
            State::Checking => Text::NotifyChecking,
            State::Unsupported => Text::NotifyUnsupported,
            State::Blocked => Text::NotifyBlocked,
            State::Off => Text::NotifyOff,
            State::On => Text::NotifyOn,
        })
    };
    view! {
        <section class="card" aria-labelledby="notifications-title">
            <h2 id="notifications-title">{tr(Text::NotifyTitle)}</h2>
            <p>{tr(Text::NotifyWhat)}</p>
            <p data-testid="notifications-state">{status}</p>
            <Show when=move || state.get() == State::Off>
                <button type="button" class="button" on:click=on prop:disabled=move || busy.get()>{tr(Text::NotifyAllow)}</button>
            </Show>
            <Show when=move || state.get() == State::On>
                <button type="button" class="button secondary" on:click=test>{tr(Text::NotifyTest)}</button>
                <button type="button" class="button secondary" on:click=off prop:disabled=move || busy.get()>{tr(Text::NotifyStop)}</button>
            </Show>
            <p role="status">{move || said.get()}</p>
            <ErrorNote message=error />
        </section>
    }
}
