//! The device-bound vault unlock store, in the browser against real
//! IndexedDB and WebCrypto.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use idb::{Factory, TransactionMode};
use js_sys::{Object, Reflect, Uint8Array};
use ward::store::{self, StoreError, device};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::CryptoKey;

wasm_bindgen_test_configure!(run_in_browser);

/// An account id no other test (or earlier run in the same profile) uses.
/// The test server has no /en.json: the texts are given as the page would
/// fetch them.
fn english() {
    ward::i18n::install(ward::i18n::Lang::En, include_str!("../public/en.json"));
}

fn account(name: &str) -> String {
    format!("{name}-{}", js_sys::Math::random().to_bits())
}

async fn database() -> idb::Database {
    Factory::new()
        .unwrap()
        .open(store::DB_NAME, None)
        .unwrap()
        .await
        .unwrap()
}

/// The stored record for `account_id`, as IndexedDB holds it.
async fn raw_record(account_id: &str) -> Option<JsValue> {
    let db = database().await;
    let transaction = db
        .transaction(&[device::DEVICES], TransactionMode::ReadOnly)
        .unwrap();
    let record = transaction
        .object_store(device::DEVICES)
        .unwrap()
        .get(JsValue::from_str(account_id))
        .unwrap()
        .await
        .unwrap();
    db.close();
    record
}

async fn put_raw_record(account_id: &str, record: &JsValue) {
    let db = database().await;
    let transaction = db
        .transaction(&[device::DEVICES], TransactionMode::ReadWrite)
        .unwrap();
    let request = transaction
        .object_store(device::DEVICES)
        .unwrap()
        .put(record, Some(&JsValue::from_str(account_id)))
        .unwrap();
    let done = transaction.into_future();
    request.await.unwrap();
    assert!(done.await.unwrap().is_committed());
    db.close();
}

fn field(record: &JsValue, name: &str) -> JsValue {
    Reflect::get(record, &name.into()).unwrap()
}

#[wasm_bindgen_test]
async fn create_then_load_gives_the_same_unlock() {
    let account_id = account("create-load");
    let created = device::create(&account_id).await.unwrap();
    assert!(created.device_id.starts_with("device-"));
    assert_ne!(created.secret(), &[0u8; 32]);

    let loaded = device::load(&account_id).await.unwrap().unwrap();
    assert_eq!(loaded.device_id, created.device_id);
    assert_eq!(loaded.secret(), created.secret());
    assert!(matches!(
        loaded.unlock(),
        ward_seal::vault::Unlock::Device { device_id, key }
            if device_id == created.device_id && key == created.secret()
    ));

    // Debug shows the device id and nothing of the secret.
    let debug = format!("{loaded:?}");
    assert!(debug.contains(&loaded.device_id));
    assert!(!debug.contains(&format!("{:?}", loaded.secret())));
    assert!(!debug.contains("secret"));
}

#[wasm_bindgen_test]
async fn create_again_replaces_the_unlock() {
    let account_id = account("replace");
    let first = device::create(&account_id).await.unwrap();
    let second = device::create(&account_id).await.unwrap();
    assert_ne!(first.device_id, second.device_id);
    assert_ne!(first.secret(), second.secret());
    let loaded = device::load(&account_id).await.unwrap().unwrap();
    assert_eq!(loaded.device_id, second.device_id);
    assert_eq!(loaded.secret(), second.secret());
}

#[wasm_bindgen_test]
async fn unknown_account_loads_none() {
    assert!(device::load(&account("nobody")).await.unwrap().is_none());
}

#[wasm_bindgen_test]
async fn forget_removes_only_that_account() {
    let gone = account("forget-gone");
    let kept = account("forget-kept");
    device::create(&gone).await.unwrap();
    let kept_unlock = device::create(&kept).await.unwrap();

    device::forget(&gone).await.unwrap();
    assert!(device::load(&gone).await.unwrap().is_none());
    assert!(raw_record(&gone).await.is_none());
    assert_eq!(
        device::load(&kept).await.unwrap().unwrap().secret(),
        kept_unlock.secret()
    );
    // Forgetting what is not there is fine.
    device::forget(&gone).await.unwrap();
}

#[wasm_bindgen_test]
async fn forget_all_removes_every_unlock_but_keeps_pins() {
    let one = account("all-one");
    let two = account("all-two");
    device::create(&one).await.unwrap();
    device::create(&two).await.unwrap();
    device::pin_generation(&one, 4).await.unwrap();

    device::forget_all().await.unwrap();
    assert!(device::load(&one).await.unwrap().is_none());
    assert!(device::load(&two).await.unwrap().is_none());
    assert_eq!(device::pinned_generation(&one).await.unwrap(), Some(4));
}

#[wasm_bindgen_test]
async fn stored_record_holds_a_non_extractable_key_and_not_the_secret() {
    let account_id = account("record");
    let unlock = device::create(&account_id).await.unwrap();
    let record = raw_record(&account_id).await.unwrap();

    let key: CryptoKey = field(&record, "key").dyn_into().unwrap();
    assert!(!key.extractable());
    assert_eq!(key.type_(), "secret");
    let algorithm = key.algorithm().unwrap();
    assert_eq!(field(&algorithm, "name"), "AES-GCM");
    assert_eq!(field(&algorithm, "length").as_f64(), Some(256.0));

    // The browser refuses to export it.
    let crypto: web_sys::Crypto = Reflect::get(&js_sys::global(), &"crypto".into())
        .unwrap()
        .unchecked_into();
    let export = crypto.subtle().export_key("raw", &key).unwrap();
    assert!(wasm_bindgen_futures::JsFuture::from(export).await.is_err());

    assert_eq!(field(&record, "account_id"), account_id.as_str());
    assert_eq!(field(&record, "device_id"), unlock.device_id.as_str());
    assert_eq!(Uint8Array::new(&field(&record, "iv")).length(), 12);
    // 32 bytes of secret and a 16-byte tag.
    assert_eq!(Uint8Array::new(&field(&record, "ciphertext")).length(), 48);

    // No field holds the secret, in the clear or inside a longer buffer.
    let secret = unlock.secret().as_slice();
    let fields = Object::keys(record.unchecked_ref::<Object>());
    for name in fields.iter() {
        let name = name.as_string().unwrap();
        let value = field(&record, &name);
        let bytes = if value.is_instance_of::<Uint8Array>()
            || value.is_instance_of::<js_sys::ArrayBuffer>()
        {
            Uint8Array::new(&value).to_vec()
        } else if let Some(text) = value.as_string() {
            text.into_bytes()
        } else {
            continue;
        };
        assert!(
            !bytes.windows(secret.len()).any(|window| window == secret),
            "field {name} holds the secret"
        );
    }
}

#[wasm_bindgen_test]
async fn tampered_ciphertext_is_corrupt() {
    english();
    let account_id = account("tamper");
    device::create(&account_id).await.unwrap();
    let record = raw_record(&account_id).await.unwrap();
    // The record's own array (`Uint8Array::new` would copy it).
    let ciphertext: Uint8Array = field(&record, "ciphertext").dyn_into().unwrap();
    ciphertext.set_index(0, ciphertext.get_index(0) ^ 1);
    put_raw_record(&account_id, &record).await;

    let error = device::load(&account_id).await.unwrap_err();
    assert_eq!(error, StoreError::Corrupt);
    assert!(error.message().contains("recovery code"));

    // Forgetting and creating again recovers.
    device::forget(&account_id).await.unwrap();
    let fresh = device::create(&account_id).await.unwrap();
    assert_eq!(
        device::load(&account_id).await.unwrap().unwrap().secret(),
        fresh.secret()
    );
}

#[wasm_bindgen_test]
async fn record_moved_to_another_account_is_corrupt() {
    let owner = account("moved-owner");
    let other = account("moved-other");
    device::create(&owner).await.unwrap();
    let record = raw_record(&owner).await.unwrap();
    put_raw_record(&other, &record).await;
    assert_eq!(device::load(&other).await.unwrap_err(), StoreError::Corrupt);

    // Even with the account id field rewritten, the additional data binds
    // the ciphertext to its owner.
    Reflect::set(&record, &"account_id".into(), &other.as_str().into()).unwrap();
    put_raw_record(&other, &record).await;
    assert_eq!(device::load(&other).await.unwrap_err(), StoreError::Corrupt);
}

#[wasm_bindgen_test]
async fn pinned_generation_never_goes_down() {
    let account_id = account("pin");
    assert_eq!(device::pinned_generation(&account_id).await.unwrap(), None);

    device::pin_generation(&account_id, 3).await.unwrap();
    assert_eq!(
        device::pinned_generation(&account_id).await.unwrap(),
        Some(3)
    );
    device::pin_generation(&account_id, 1).await.unwrap();
    assert_eq!(
        device::pinned_generation(&account_id).await.unwrap(),
        Some(3)
    );
    device::pin_generation(&account_id, 3).await.unwrap();
    assert_eq!(
        device::pinned_generation(&account_id).await.unwrap(),
        Some(3)
    );
    device::pin_generation(&account_id, 0).await.unwrap();
    assert_eq!(
        device::pinned_generation(&account_id).await.unwrap(),
        Some(3)
    );

    // Beyond what a JS number holds exactly.
    let big = u64::MAX - 1;
    device::pin_generation(&account_id, big).await.unwrap();
    assert_eq!(
        device::pinned_generation(&account_id).await.unwrap(),
        Some(big)
    );
    device::pin_generation(&account_id, u64::MAX - 2)
        .await
        .unwrap();
    assert_eq!(
        device::pinned_generation(&account_id).await.unwrap(),
        Some(big)
    );

    // Pins are per account.
    assert_eq!(
        device::pinned_generation(&account("pin-other"))
            .await
            .unwrap(),
        None
    );
}

#[wasm_bindgen_test]
fn errors_read_as_sentences() {
    english();
    for error in [
        StoreError::Unavailable,
        StoreError::Corrupt,
        StoreError::Other("x".into()),
    ] {
        assert!(error.message().ends_with('.'));
        assert!(!error.to_string().is_empty());
    }
    assert!(
        StoreError::Unavailable
            .message()
            .contains("private browsing")
    );
}
