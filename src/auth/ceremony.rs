//! The passkey ceremonies themselves: the relay's options in,
//! `navigator.credentials` in the middle, the relay's JSON out.

use js_sys::{Object, Promise, Reflect};
use serde_json::value::RawValue;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::webauthn::{self, PasskeyError};

/// A passkey's PRF secret for Ward's salt, with the credential it came from.
pub(crate) struct PrfSecret {
    /// The credential's raw id (names the vault's passkey slot).
    pub credential_id: Vec<u8>,
    /// `prf.results.first`.
    pub output: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for PrfSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrfSecret(..)")
    }
}

/// A new passkey, ready for `register/finish`.
#[derive(Debug)]
pub(crate) struct Created {
    /// For the relay (`RegisterPublicKeyCredential`).
    pub credential: serde_json::Value,
    /// The credential's raw id.
    pub credential_id: Vec<u8>,
    /// The authenticator supports PRF (a later `get` gives the secret).
    pub prf_enabled: bool,
    /// Some authenticators give the PRF secret at creation already.
    pub prf: Option<PrfSecret>,
}

/// An assertion, ready for `auth/passkey/finish`.
#[derive(Debug)]
pub(crate) struct Asserted {
    /// For the relay (`PublicKeyCredential`).
    pub credential: serde_json::Value,
    /// The vault's passkey secret, when the authenticator has PRF.
    pub prf: Option<PrfSecret>,
}

fn credentials() -> Result<web_sys::CredentialsContainer, PasskeyError> {
    let window = web_sys::window().ok_or(PasskeyError::Unsupported)?;
    let navigator = window.navigator();
    let has_api = Reflect::has(&navigator, &"credentials".into()).unwrap_or(false)
        && Reflect::has(&window, &"PublicKeyCredential".into()).unwrap_or(false);
    if !has_api {
        return Err(PasskeyError::Unsupported);
    }
    Ok(navigator.credentials())
}

fn raw_id(credential: &JsValue) -> Vec<u8> {
    Reflect::get(credential, &"rawId".into())
        .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec())
        .unwrap_or_default()
}

fn prf_of(credential: &JsValue) -> Option<PrfSecret> {
    webauthn::prf_output(credential).map(|output| PrfSecret {
        credential_id: raw_id(credential),
        output,
    })
}

async fn settle(promise: Promise) -> Result<JsValue, PasskeyError> {
    let value = JsFuture::from(promise)
        .await
        .map_err(|error| PasskeyError::from_js(&error))?;
    if value.is_null() || value.is_undefined() {
        return Err(PasskeyError::Cancelled);
    }
    Ok(value)
}

/// `navigator.credentials.create` with the relay's options
/// (`CreationChallengeResponse`, as the relay sent it) and PRF asked for;
/// inside another site's frame, in Ward's passkey window
/// ([`super::popup`]).
pub(crate) async fn create(options: &RawValue) -> Result<Created, PasskeyError> {
    if crate::embed::framed() {
        return super::popup::create(options).await;
    }
    let request = webauthn::creation_options(options.get())?;
    let promise = credentials()?
        .create_with_options(request.unchecked_ref())
        .map_err(|error| PasskeyError::from_js(&error))?;
    let credential = settle(promise).await?;
    Ok(Created {
        credential: webauthn::registration_json(&credential)?,
        credential_id: raw_id(&credential),
        prf_enabled: webauthn::prf_enabled(&credential),
        prf: prf_of(&credential),
    })
}

/// `navigator.credentials.get` with the relay's options
/// (`RequestChallengeResponse`, as the relay sent it) and PRF asked for.
/// With `only`, the relay's allowed credentials are narrowed to that one.
/// With `signal`, the request can be aborted (conditional UI in the
/// background, replaced by the button's request).
pub(crate) async fn get(
    options: &RawValue,
    conditional: bool,
    only: Option<&[u8]>,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<Asserted, PasskeyError> {
    let request: Object = webauthn::request_options(options.get(), conditional)?;
    if let Some(credential_id) = only {
        webauthn::allow_only(&request, credential_id);
    }
    if let Some(signal) = signal {
        Reflect::set(&request, &"signal".into(), signal)
            .map_err(|_| PasskeyError::Other("signal".into()))?;
    }
    let promise = credentials()?
        .get_with_options(request.unchecked_ref())
        .map_err(|error| PasskeyError::from_js(&error))?;
    let credential = settle(promise).await?;
    Ok(Asserted {
        credential: webauthn::assertion_json(&credential)?,
        prf: prf_of(&credential),
    })
}

/// Whether the browser offers passkeys in the sign-in field's autofill.
pub(crate) async fn conditional_available() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let check = Reflect::get(&window, &"PublicKeyCredential".into())
        .and_then(|class| Reflect::get(&class, &"isConditionalMediationAvailable".into()));
    let Ok(function) = check.and_then(|f| f.dyn_into::<js_sys::Function>()) else {
        return false;
    };
    let Ok(class) = Reflect::get(&window, &"PublicKeyCredential".into()) else {
        return false;
    };
    match function.call0(&class) {
        Ok(promise) => JsFuture::from(Promise::resolve(&promise))
            .await
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false),
        Err(_) => false,
    }
}
