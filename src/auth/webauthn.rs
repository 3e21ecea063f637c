//! The bridge between the relay's WebAuthn JSON (base64url strings) and the
//! browser's `navigator.credentials` (ArrayBuffers), with the PRF extension
//! that unlocks the vault added on the way.
//!
//! The conversions walk plain JS objects with `Reflect`, so they work on the
//! JSON the relay sends whatever optional fields it carries, and are tested
//! in the browser without an authenticator.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use zeroize::Zeroizing;

use crate::i18n::{Text, t};

/// The PRF input for the vault's passkey wrap (crypto.md §8): the same on
/// every device, so every sign-in with the passkey yields the same secret.
pub const PRF_SALT: &[u8] = b"ward vault prf v1";

/// What went wrong with a passkey, for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyError {
    /// Cancelled, timed out, or no matching passkey on this device.
    Cancelled,
    /// This passkey is already registered for the account.
    AlreadyRegistered,
    /// The browser or device cannot use passkeys here.
    Unsupported,
    /// The page is not allowed to use passkeys (wrong origin, or an iframe
    /// without permission).
    NotAllowedHere,
    /// The browser blocked the window Ward makes a passkey in when it is
    /// inside another site's frame.
    WindowBlocked,
    /// Something else; the detail is for logs, not people.
    Other(String),
}

impl PasskeyError {
    /// What the patient reads, with what to do next.
    pub fn message(&self) -> &'static str {
        t(match self {
            Self::Cancelled => Text::ErrPasskeyCancelled,
            Self::AlreadyRegistered => Text::ErrPasskeyAlreadyRegistered,
            Self::Unsupported => Text::ErrPasskeyUnsupported,
            Self::NotAllowedHere => Text::ErrPasskeyNotAllowedHere,
            Self::WindowBlocked => Text::ErrPasskeyWindowBlocked,
            Self::Other(_) => Text::ErrPasskeyOther,
        })
    }

    /// From a rejected `navigator.credentials` promise.
    pub fn from_js(error: &JsValue) -> Self {
        let name = Reflect::get(error, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "AbortError" => Self::Cancelled,
            "InvalidStateError" => Self::AlreadyRegistered,
            "NotSupportedError" => Self::Unsupported,
            "SecurityError" => Self::NotAllowedHere,
            other => Self::Other(other.to_owned()),
        }
    }
}

fn b64_to_buffer(text: &str) -> Option<ArrayBuffer> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    Some(Uint8Array::from(bytes.as_slice()).buffer())
}

fn buffer_to_b64(value: &JsValue) -> Option<String> {
    let bytes = if value.is_instance_of::<ArrayBuffer>() {
        Uint8Array::new(value).to_vec()
    } else if let Some(view) = value.dyn_ref::<Uint8Array>() {
        view.to_vec()
    } else {
        return None;
    };
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// Replaces the base64url string at `object[key]` with an ArrayBuffer.
fn decode_field(object: &JsValue, key: &str) -> Result<(), PasskeyError> {
    let value =
        Reflect::get(object, &key.into()).map_err(|_| PasskeyError::Other(format!("no {key}")))?;
    if value.is_undefined() || value.is_null() {
        return Ok(());
    }
    let text = value
        .as_string()
        .ok_or_else(|| PasskeyError::Other(format!("{key} is not a string")))?;
    let buffer = b64_to_buffer(&text)
        .ok_or_else(|| PasskeyError::Other(format!("{key} is not base64url")))?;
    Reflect::set(object, &key.into(), &buffer)
        .map_err(|_| PasskeyError::Other(format!("cannot set {key}")))?;
    Ok(())
}

fn decode_credential_list(public_key: &JsValue, key: &str) -> Result<(), PasskeyError> {
    let list = Reflect::get(public_key, &key.into()).unwrap_or(JsValue::UNDEFINED);
    if let Some(list) = list.dyn_ref::<Array>() {
        for descriptor in list.iter() {
            decode_field(&descriptor, "id")?;
        }
    }
    Ok(())
}

/// Adds `prf: { eval: { first: PRF_SALT } }` to the options' extensions.
fn add_prf(public_key: &JsValue) -> Result<(), PasskeyError> {
    let mut extensions =
        Reflect::get(public_key, &"extensions".into()).unwrap_or(JsValue::UNDEFINED);
    if !extensions.is_object() {
        extensions = Object::new().into();
        Reflect::set(public_key, &"extensions".into(), &extensions)
            .map_err(|_| PasskeyError::Other("extensions".into()))?;
    }
    let eval = Object::new();
    Reflect::set(&eval, &"first".into(), &Uint8Array::from(PRF_SALT).buffer())
        .map_err(|_| PasskeyError::Other("prf".into()))?;
    let prf = Object::new();
    Reflect::set(&prf, &"eval".into(), &eval).map_err(|_| PasskeyError::Other("prf".into()))?;
    Reflect::set(&extensions, &"prf".into(), &prf)
        .map_err(|_| PasskeyError::Other("prf".into()))?;
    Ok(())
}

fn public_key_of(options_json: &str) -> Result<(JsValue, JsValue), PasskeyError> {
    let options = js_sys::JSON::parse(options_json)
        .map_err(|_| PasskeyError::Other("options are not JSON".into()))?;
    let public_key = Reflect::get(&options, &"publicKey".into())
        .map_err(|_| PasskeyError::Other("no publicKey".into()))?;
    if !public_key.is_object() {
        return Err(PasskeyError::Other("no publicKey".into()));
    }
    Ok((options, public_key))
}

/// The relay's registration options (JSON) as `navigator.credentials.create`
/// wants them, with the PRF extension requested.
pub fn creation_options(options_json: &str) -> Result<Object, PasskeyError> {
    let (_, public_key) = public_key_of(options_json)?;
    decode_field(&public_key, "challenge")?;
    let user = Reflect::get(&public_key, &"user".into()).unwrap_or(JsValue::UNDEFINED);
    decode_field(&user, "id")?;
    decode_credential_list(&public_key, "excludeCredentials")?;
    add_prf(&public_key)?;
    let out = Object::new();
    Reflect::set(&out, &"publicKey".into(), &public_key)
        .map_err(|_| PasskeyError::Other("publicKey".into()))?;
    Ok(out)
}

/// The relay's sign-in options (JSON) as `navigator.credentials.get` wants
/// them, with the PRF extension requested. `conditional` keeps the relay's
/// `mediation: "conditional"` (autofill); otherwise it is dropped.
pub fn request_options(options_json: &str, conditional: bool) -> Result<Object, PasskeyError> {
    let (options, public_key) = public_key_of(options_json)?;
    decode_field(&public_key, "challenge")?;
    decode_credential_list(&public_key, "allowCredentials")?;
    add_prf(&public_key)?;
    let out = Object::new();
    Reflect::set(&out, &"publicKey".into(), &public_key)
        .map_err(|_| PasskeyError::Other("publicKey".into()))?;
    if conditional {
        let mediation = Reflect::get(&options, &"mediation".into()).unwrap_or(JsValue::UNDEFINED);
        if !mediation.is_undefined() {
            Reflect::set(&out, &"mediation".into(), &mediation)
                .map_err(|_| PasskeyError::Other("mediation".into()))?;
        }
    }
    Ok(out)
}

/// Narrows a request's `publicKey.allowCredentials` (already decoded by
/// [`request_options`]) to the credential whose raw id is `credential_id`.
pub fn allow_only(request: &Object, credential_id: &[u8]) {
    let public_key = Reflect::get(request, &"publicKey".into()).unwrap_or(JsValue::UNDEFINED);
    let list = Reflect::get(&public_key, &"allowCredentials".into()).unwrap_or(JsValue::UNDEFINED);
    if let Some(list) = list.dyn_ref::<Array>() {
        let kept = list.filter(&mut |descriptor, _, _| {
            Reflect::get(&descriptor, &"id".into())
                .is_ok_and(|id| Uint8Array::new(&id).to_vec() == credential_id)
        });
        // `public_key` is an object here: `request_options` checked it.
        let _ = Reflect::set(&public_key, &"allowCredentials".into(), &kept);
    }
}

fn field_b64(object: &JsValue, key: &str) -> Option<String> {
    buffer_to_b64(&Reflect::get(object, &key.into()).ok()?)
}

/// A credential from `navigator.credentials.create` as the relay's JSON
/// (`RegisterPublicKeyCredential`).
pub fn registration_json(credential: &JsValue) -> Result<serde_json::Value, PasskeyError> {
    let response = Reflect::get(credential, &"response".into())
        .map_err(|_| PasskeyError::Other("no response".into()))?;
    let missing = |what: &str| PasskeyError::Other(format!("credential without {what}"));
    Ok(serde_json::json!({
        "id": Reflect::get(credential, &"id".into()).ok().and_then(|v| v.as_string()).ok_or_else(|| missing("id"))?,
        "rawId": field_b64(credential, "rawId").ok_or_else(|| missing("rawId"))?,
        "type": "public-key",
        "response": {
            "attestationObject": field_b64(&response, "attestationObject").ok_or_else(|| missing("attestationObject"))?,
            "clientDataJSON": field_b64(&response, "clientDataJSON").ok_or_else(|| missing("clientDataJSON"))?,
        },
        "extensions": {},
    }))
}

/// A credential from `navigator.credentials.get` as the relay's JSON
/// (`PublicKeyCredential`).
pub fn assertion_json(credential: &JsValue) -> Result<serde_json::Value, PasskeyError> {
    let response = Reflect::get(credential, &"response".into())
        .map_err(|_| PasskeyError::Other("no response".into()))?;
    let missing = |what: &str| PasskeyError::Other(format!("credential without {what}"));
    Ok(serde_json::json!({
        "id": Reflect::get(credential, &"id".into()).ok().and_then(|v| v.as_string()).ok_or_else(|| missing("id"))?,
        "rawId": field_b64(credential, "rawId").ok_or_else(|| missing("rawId"))?,
        "type": "public-key",
        "response": {
            "authenticatorData": field_b64(&response, "authenticatorData").ok_or_else(|| missing("authenticatorData"))?,
            "clientDataJSON": field_b64(&response, "clientDataJSON").ok_or_else(|| missing("clientDataJSON"))?,
            "signature": field_b64(&response, "signature").ok_or_else(|| missing("signature"))?,
            "userHandle": field_b64(&response, "userHandle"),
        },
        "extensions": {},
    }))
}

/// The PRF secret from a credential's extension results, if the
/// authenticator gave one (32 bytes; zeroized on drop).
pub fn prf_output(credential: &JsValue) -> Option<Zeroizing<[u8; 32]>> {
    let results = Reflect::get(credential, &"getClientExtensionResults".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?
        .call0(credential)
        .ok()?;
    let first = Reflect::get(&results, &"prf".into())
        .ok()
        .and_then(|prf| Reflect::get(&prf, &"results".into()).ok())
        .and_then(|r| Reflect::get(&r, &"first".into()).ok())?;
    let bytes = Zeroizing::new(Uint8Array::new(&first).to_vec());
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != out.len() {
        return None;
    }
    out.copy_from_slice(&bytes);
    Some(out)
}

/// Whether a new credential reports PRF support (`prf.enabled`), even when
/// it gave no secret at creation.
pub fn prf_enabled(credential: &JsValue) -> bool {
    Reflect::get(credential, &"getClientExtensionResults".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(credential).ok())
        .and_then(|results| Reflect::get(&results, &"prf".into()).ok())
        .and_then(|prf| Reflect::get(&prf, &"enabled".into()).ok())
        .and_then(|enabled| enabled.as_bool())
        .unwrap_or(false)
        || prf_output(credential).is_some()
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    wasm_bindgen_test_configure!(run_in_browser);

    fn allowed_ids(request: &Object) -> Vec<Vec<u8>> {
        let public_key = Reflect::get(request, &"publicKey".into()).unwrap();
        let list: Array = Reflect::get(&public_key, &"allowCredentials".into())
            .unwrap()
            .unchecked_into();
        list.iter()
            .map(|d| Uint8Array::new(&Reflect::get(&d, &"id".into()).unwrap()).to_vec())
            .collect()
    }

    #[wasm_bindgen_test]
    fn allow_only_keeps_the_one_credential() {
        // "AQID" = [1, 2, 3]; "BAU" = [4, 5].
        let json = r#"{"publicKey":{"challenge":"AQID","allowCredentials":[
            {"type":"public-key","id":"AQID"},{"type":"public-key","id":"BAU"}]}}"#;
        let request = request_options(json, false).unwrap();
        allow_only(&request, &[4, 5]);
        assert_eq!(allowed_ids(&request), [vec![4, 5]]);
        let request = request_options(json, false).unwrap();
        allow_only(&request, &[9]);
        assert!(allowed_ids(&request).is_empty());
    }
}
