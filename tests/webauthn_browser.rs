//! The WebAuthn bridge's conversions, in the browser, on JSON shaped as the
//! relay sends it (no authenticator needed for these).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use js_sys::{Reflect, Uint8Array};
use ward::auth::webauthn::{self, PRF_SALT, PasskeyError};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn get(value: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(value.clone(), |v, key| {
        Reflect::get(&v, &(*key).into()).unwrap()
    })
}

fn bytes(value: &JsValue) -> Vec<u8> {
    Uint8Array::new(value).to_vec()
}

#[wasm_bindgen_test]
fn creation_options_decode_buffers_and_ask_for_prf() {
    // "AQID" = [1, 2, 3]; "BAU" = [4, 5]; "Bg" = [6].
    let json = r#"{"publicKey":{"challenge":"AQID","rp":{"id":"localhost","name":"Ward"},
        "user":{"id":"BAU","name":"acc","displayName":"Sam"},"pubKeyCredParams":[],
        "excludeCredentials":[{"type":"public-key","id":"Bg"}],
        "authenticatorSelection":{"userVerification":"required"},"extensions":{"uvm":true}}}"#;
    let options: JsValue = webauthn::creation_options(json).unwrap().into();
    assert_eq!(
        bytes(&get(&options, &["publicKey", "challenge"])),
        [1, 2, 3]
    );
    assert_eq!(bytes(&get(&options, &["publicKey", "user", "id"])), [4, 5]);
    let excluded = get(&options, &["publicKey", "excludeCredentials"]);
    assert_eq!(
        bytes(&get(&Reflect::get_u32(&excluded, 0).unwrap(), &["id"])),
        [6]
    );
    assert_eq!(
        bytes(&get(
            &options,
            &["publicKey", "extensions", "prf", "eval", "first"]
        )),
        PRF_SALT
    );
    // The relay's own extensions are kept.
    assert_eq!(
        get(&options, &["publicKey", "extensions", "uvm"]),
        JsValue::TRUE
    );
}

#[wasm_bindgen_test]
fn request_options_keep_conditional_mediation_only_when_asked() {
    let json = r#"{"publicKey":{"challenge":"AQID","allowCredentials":[],"userVerification":"required"},"mediation":"conditional"}"#;
    let autofill: JsValue = webauthn::request_options(json, true).unwrap().into();
    assert_eq!(
        get(&autofill, &["mediation"]),
        JsValue::from_str("conditional")
    );
    let button: JsValue = webauthn::request_options(json, false).unwrap().into();
    assert!(get(&button, &["mediation"]).is_undefined());
    assert_eq!(
        bytes(&get(
            &button,
            &["publicKey", "extensions", "prf", "eval", "first"]
        )),
        PRF_SALT
    );
}

#[wasm_bindgen_test]
fn broken_options_are_an_error_not_a_panic() {
    assert!(webauthn::creation_options("not json").is_err());
    assert!(webauthn::creation_options(r#"{"publicKey":{"challenge":"***"}}"#).is_err());
    assert!(webauthn::request_options(r#"{}"#, false).is_err());
}

#[wasm_bindgen_test]
fn credentials_become_the_relays_json() {
    let credential = js_sys::Object::new();
    let buffer = |b: &[u8]| Uint8Array::from(b).buffer();
    Reflect::set(&credential, &"id".into(), &"cred".into()).unwrap();
    Reflect::set(&credential, &"rawId".into(), &buffer(&[1, 2, 3])).unwrap();
    let response = js_sys::Object::new();
    Reflect::set(&response, &"authenticatorData".into(), &buffer(&[4])).unwrap();
    Reflect::set(&response, &"clientDataJSON".into(), &buffer(&[5])).unwrap();
    Reflect::set(&response, &"signature".into(), &buffer(&[6])).unwrap();
    Reflect::set(&response, &"userHandle".into(), &buffer(&[7])).unwrap();
    Reflect::set(&credential, &"response".into(), &response).unwrap();
    let json = webauthn::assertion_json(&credential).unwrap();
    assert_eq!(json["rawId"], "AQID");
    assert_eq!(json["response"]["signature"], "Bg");
    assert_eq!(json["response"]["userHandle"], "Bw");
    // It parses as the relay's type.
    let _: ward_proto::passkeys::PublicKeyCredential = serde_json::from_value(json).unwrap();
    // Without a signature it is refused.
    Reflect::delete_property(&response, &"signature".into()).unwrap();
    assert!(webauthn::assertion_json(&credential).is_err());
}

#[wasm_bindgen_test]
fn browser_errors_map_to_what_a_patient_can_do() {
    // The test server has no /en.json: the texts are given as the page
    // would fetch them.
    ward::i18n::install(ward::i18n::Lang::En, include_str!("../public/en.json"));
    let error = js_sys::Object::new();
    Reflect::set(&error, &"name".into(), &"NotAllowedError".into()).unwrap();
    assert_eq!(PasskeyError::from_js(&error), PasskeyError::Cancelled);
    assert!(PasskeyError::Cancelled.message().contains("Try again"));
    Reflect::set(&error, &"name".into(), &"InvalidStateError".into()).unwrap();
    assert_eq!(
        PasskeyError::from_js(&error),
        PasskeyError::AlreadyRegistered
    );
}
