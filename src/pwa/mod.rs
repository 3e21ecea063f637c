//! The installed app (docs/architecture.md, "The installed app"): the
//! service worker's registration and its updates ([`update`]), the install
//! offer ([`install`]), notifications ([`notifications`]) and the language
//! they are in, the app badge, and opening a thread when a notification is
//! tapped.

pub(crate) mod install;
pub(crate) mod notifications;
pub(crate) mod update;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::messaging::Inbox;
use crate::router::Location;
use crate::session::{Phase, Session};

/// What the app knows of its service worker, shared by context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pwa {
    /// The registration, once the worker is registered (none in a frame,
    /// in the passkey window, or where the browser has no service workers).
    registration: RwSignal<Option<web_sys::ServiceWorkerRegistration>, LocalStorage>,
    /// A new build is installed and waiting for the patient's Reload.
    pub update_ready: RwSignal<bool>,
    /// The browser offers to install Ward (`beforeinstallprompt`).
    pub installable: RwSignal<bool>,
}

impl Pwa {
    /// The one in context.
    pub(crate) fn get() -> Self {
        expect_context::<Self>()
    }

    /// The registration, when there is one.
    pub(crate) fn registration(&self) -> Option<web_sys::ServiceWorkerRegistration> {
        self.registration.get_untracked()
    }
}

/// The browser's service worker container, where there is one (secure
/// pages of browsers that have service workers).
fn container() -> Option<web_sys::ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    js_sys::Reflect::has(&navigator, &"serviceWorker".into())
        .unwrap_or(false)
        .then(|| navigator.service_worker())
}

/// Registers the worker (not inside a clinic's frame, where Ward is not the
/// installed app, nor in the passkey window), follows its updates, keeps
/// the badge, and opens the thread a tapped notification names.
pub(crate) fn run(session: Session, inbox: Inbox, location: Location) {
    let pwa = Pwa {
        registration: RwSignal::new_local(None),
        update_ready: RwSignal::new(false),
        installable: RwSignal::new(false),
    };
    provide_context(pwa);
    install::listen(pwa.installable);
    if crate::embed::framed() || location.path() == "/passkey-window" {
        return;
    }
    let Some(container) = container() else {
        return;
    };
    keep_badge(session, inbox);
    tell_language(pwa, container.clone());
    on_phase(pwa, session, inbox, container.clone());
    open_threads_from_notifications(&container, location);
    spawn_local(register(pwa, container));
}

/// Registers the worker and follows its updates.
async fn register(pwa: Pwa, container: web_sys::ServiceWorkerContainer) {
    let options = web_sys::RegistrationOptions::new();
    // The worker script itself is always asked of the relay, never of the
    // HTTP cache: a new build is seen at the next check.
    options.set_update_via_cache(web_sys::ServiceWorkerUpdateViaCache::None);
    let Ok(registration) = JsFuture::from(container.register_with_options("/sw.js", &options))
        .await
        .and_then(|r| r.dyn_into::<web_sys::ServiceWorkerRegistration>())
    else {
        return;
    };
    update::follow(pwa, &container, &registration);
    pwa.registration.set(Some(registration));
}

/// The app badge: the unread count while unlocked (the worker sets it from
/// a push meanwhile), cleared at sign-out. Where the browser has no badges,
/// nothing.
fn keep_badge(session: Session, inbox: Inbox) {
    Effect::new(move |_| {
        let count = match session.phase.get() {
            Phase::Unlocked => inbox.unread_total(),
            Phase::SignedOut => 0,
            _ => return,
        };
        let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
            return;
        };
        let (name, args) = if count == 0 {
            ("clearAppBadge", js_sys::Array::new())
        } else {
            ("setAppBadge", js_sys::Array::of1(&(count as f64).into()))
        };
        if let Ok(badge) = js_sys::Reflect::get(&navigator, &name.into())
            .and_then(|f| f.dyn_into::<js_sys::Function>())
            && let Ok(promise) = badge.apply(&navigator, &args)
        {
            // A refusal (no installed app, no permission) changes nothing.
            let promise: js_sys::Promise = promise.unchecked_into();
            spawn_local(async move {
                let _ = JsFuture::from(promise).await;
            });
        }
    });
}

/// Tells the worker the language shown (`{type: "language", lang}`), so a
/// notification is in it; the worker keeps it. Again at each change, and
/// whenever the worker is registered (again after a sign-out, whose
/// `Clear-Site-Data` took the worker's copy): every worker of the
/// registration is told, so one still installing already knows.
fn tell_language(pwa: Pwa, container: web_sys::ServiceWorkerContainer) {
    Effect::new(move |_| {
        let lang = crate::i18n::lang().tag();
        let registration = pwa.registration.get();
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"type".into(), &"language".into());
        let _ = js_sys::Reflect::set(&message, &"lang".into(), &lang.into());
        let mut told: Vec<web_sys::ServiceWorker> = Vec::new();
        let workers = registration
            .iter()
            .flat_map(|r| [r.active(), r.waiting(), r.installing()])
            .chain([container.controller()])
            .flatten();
        for worker in workers {
            if told.iter().any(|w| js_sys::Object::is(w, &worker)) {
                continue;
            }
            let _ = worker.post_message(&message);
            told.push(worker);
        }
    });
}

/// At each unlock: the drafts an update's Reload kept go back into their
/// boxes ([`Inbox::restore_drafts`]), and this browser's push subscription,
/// if it has one, goes to the new session (the relay keeps one per session).
///
/// After a sign-out: this browser's push subscription ends here too (the
/// relay's copy went with the session; offline, the relay never heard, and
/// the next person on this device must not get this patient's alerts), and
/// the worker is registered again (the relay's `Clear-Site-Data` removed
/// it, with its cache), so the next start without signal still works.
/// (One effect for both: each costs the client about a kilobyte.)
fn on_phase(pwa: Pwa, session: Session, inbox: Inbox, container: web_sys::ServiceWorkerContainer) {
    Effect::new(move |before: Option<Phase>| {
        let phase = session.phase.get();
        if phase == Phase::Unlocked && before != Some(Phase::Unlocked) {
            spawn_local(async move {
                inbox.restore_drafts(session).await;
                notifications::carry_over(pwa, session).await;
            });
        }
        if phase == Phase::SignedOut && before.is_some_and(|b| b != Phase::SignedOut) {
            let container = container.clone();
            spawn_local(async move {
                notifications::end_here(pwa).await;
                register(pwa, container).await;
            });
        }
        phase
    });
}

/// A tapped notification: the worker asks an open Ward to show the thread
/// (`{ward: 1, type: "open", thread}`), so an unlocked Ward stays unlocked.
fn open_threads_from_notifications(
    container: &web_sys::ServiceWorkerContainer,
    location: Location,
) {
    let handler =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let data = event.data();
            let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).unwrap_or_default();
            if field("ward").as_f64() != Some(1.0)
                || field("type").as_string().as_deref() != Some("open")
            {
                return;
            }
            match field("thread")
                .as_string()
                .and_then(|id| crate::router::thread_path(&id))
            {
                Some(path) => location.navigate(&path),
                None => location.navigate("/"),
            }
        });
    // Only this origin's workers can post to this container.
    let _ = container.add_event_listener_with_callback("message", handler.as_ref().unchecked_ref());
    handler.forget();
}
