//! New passkeys for Ward inside another site's frame, made in a window of
//! Ward's own ("Continue in a new window"; docs/embedding.md).
//!
//! In a cross-origin frame, Safari will not make a passkey at all, and a
//! passkey Chromium makes there says `crossOrigin: true`, which the relay's
//! WebAuthn library refuses to register. So the frame opens
//! `/passkey-window` (a top-level page of Ward's origin), hands it the
//! relay's creation options, and gets back the credential and its PRF
//! secret, which it registers and uses as if it had made them itself. The
//! relay's registration ceremony stays the frame's: the credential is
//! bound to the challenge the frame's session was given, and is refused
//! if replayed or late.
//!
//! Both windows are Ward's origin, and every message is checked both ways:
//! sent to that exact origin (never `*`), taken only from that origin and
//! from the one window expected (the popup, or its opener).

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Object, Reflect, Uint8Array};
use serde_json::value::RawValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use zeroize::Zeroizing;

use super::ceremony::{Created, PrfSecret};
use super::webauthn::PasskeyError;
use crate::embed::kind_from;

/// The page the popup loads.
pub(crate) const PATH: &str = "/passkey-window";

thread_local! {
    static POPUP: RefCell<Option<web_sys::Window>> = const { RefCell::new(None) };
}

/// This page's origin: the only one either window talks to.
pub(crate) fn own_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// Opens the passkey window. Call it in the tap that asks for the passkey:
/// browsers block a window opened after anything asynchronous.
pub(crate) fn open() {
    let popup = web_sys::window().and_then(|window| {
        window
            .open_with_url_and_target_and_features(PATH, "_blank", "popup,width=480,height=640")
            .ok()
            .flatten()
    });
    POPUP.with(|slot| *slot.borrow_mut() = popup);
}

/// Closes a passkey window that [`create`] never used (the steps before
/// the passkey failed).
pub(crate) fn discard() {
    if let Some(popup) = POPUP.with(|slot| slot.borrow_mut().take()) {
        let _ = popup.close();
    }
}

/// `navigator.credentials.create` with the relay's options, in the window
/// [`open`] opened.
pub(crate) async fn create(options: &RawValue) -> Result<Created, PasskeyError> {
    let popup = POPUP
        .with(|slot| slot.borrow_mut().take())
        .ok_or(PasskeyError::WindowBlocked)?;
    let window = web_sys::window().ok_or(PasskeyError::Unsupported)?;
    // The answer (`created` or `failed`), or nothing when the window closed.
    let (sender, answer) = oneshot::channel::<Option<JsValue>>();
    let sender = Rc::new(RefCell::new(Some(sender)));
    let request = crate::embed::message("create");
    let _ = Reflect::set(&request, &"options".into(), &options.get().into());
    let expected: JsValue = popup.clone().into();
    let target = popup.clone();
    let answered = sender.clone();
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            match kind_from(&event, &expected, event.origin() == own_origin()).as_deref() {
                // "I am here" (again until it has the options).
                Some("passkey-window") => {
                    let _ = target.post_message(&request, &own_origin());
                }
                Some("created" | "failed") => {
                    if let Some(sender) = answered.borrow_mut().take() {
                        let _ = sender.send(Some(event.data()));
                    }
                }
                _ => {}
            }
        });
    // A window closed by the patient (or never shown) is a cancel.
    let watched = popup.clone();
    let on_tick = Closure::<dyn Fn()>::new(move || {
        if watched.closed().unwrap_or(true)
            && let Some(sender) = sender.borrow_mut().take()
        {
            let _ = sender.send(None);
        }
    });
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    let tick = window
        .set_interval_with_callback_and_timeout_and_arguments_0(
            on_tick.as_ref().unchecked_ref(),
            500,
        )
        .unwrap_or(0);
    let answer = answer.await.ok().flatten();
    let _ =
        window.remove_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    window.clear_interval_with_handle(tick);
    let _ = popup.close();
    created_from(&answer.ok_or(PasskeyError::Cancelled)?)
}

/// The popup's `created` (or `failed`) message as the ceremony's result.
fn created_from(data: &JsValue) -> Result<Created, PasskeyError> {
    let field = |name: &str| Reflect::get(data, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if field("type").as_string().as_deref() != Some("created") {
        return Err(match field("reason").as_string().as_deref() {
            Some("already_registered") => PasskeyError::AlreadyRegistered,
            Some("unsupported") => PasskeyError::Unsupported,
            Some("not_allowed") => PasskeyError::NotAllowedHere,
            Some("cancelled") => PasskeyError::Cancelled,
            _ => PasskeyError::Other("the passkey window failed".into()),
        });
    }
    let bad = || PasskeyError::Other("the passkey window's answer".into());
    let credential = field("credential")
        .as_string()
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(bad)?;
    let credential_id = field("credentialId")
        .dyn_into::<Uint8Array>()
        .map_err(|_| bad())?
        .to_vec();
    let prf = match field("prf").dyn_into::<Uint8Array>() {
        Ok(bytes) if bytes.length() == 32 => {
            let mut output = Zeroizing::new([0u8; 32]);
            bytes.copy_to(&mut output[..]);
            bytes.fill(0, 0, 32);
            Some(PrfSecret {
                credential_id: credential_id.clone(),
                output,
            })
        }
        _ => None,
    };
    Ok(Created {
        credential,
        credential_id,
        prf_enabled: field("prfEnabled").as_bool() == Some(true) || prf.is_some(),
        prf,
    })
}

/// The popup's answer for a made passkey: the credential as the relay's
/// JSON, its raw id, and its PRF secret when there is one.
pub(crate) fn created_message(created: &Created) -> Object {
    let answer = crate::embed::message("created");
    let _ = Reflect::set(
        &answer,
        &"credential".into(),
        &created.credential.to_string().into(),
    );
    let _ = Reflect::set(
        &answer,
        &"credentialId".into(),
        &Uint8Array::from(created.credential_id.as_slice()),
    );
    let _ = Reflect::set(&answer, &"prfEnabled".into(), &created.prf_enabled.into());
    if let Some(prf) = &created.prf {
        let _ = Reflect::set(&answer, &"prf".into(), &Uint8Array::from(&prf.output[..]));
    }
    answer
}

/// The popup's answer when no passkey was made.
pub(crate) fn failed_message(error: &PasskeyError) -> Object {
    let answer = crate::embed::message("failed");
    let reason = match error {
        PasskeyError::Cancelled => "cancelled",
        PasskeyError::AlreadyRegistered => "already_registered",
        PasskeyError::Unsupported => "unsupported",
        PasskeyError::NotAllowedHere | PasskeyError::WindowBlocked => "not_allowed",
        PasskeyError::Other(_) => "other",
    };
    let _ = Reflect::set(&answer, &"reason".into(), &reason.into());
    answer
}
