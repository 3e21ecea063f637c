//! Key pins with their key-history head, in the browser against real
//! IndexedDB: schema version 3 keeps every pin written by version 2 (the
//! bundle's bytes alone) and reads it as a pin without a head.
//!
//! One test in this binary: it deletes and recreates the database at
//! version 2, which must not race another test.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use idb::{DatabaseEvent as _, Factory, ObjectStoreParams, TransactionMode};
use js_sys::Uint8Array;
use ward::messaging::pinning::Pin;
use ward::store::{self, bundles};
use ward_seal::key_history::KeyHead;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// The database as version 2 left it, with one bundle-only pin.
async fn version_2_with_a_pin(me: &str, account_id: &str, bundle: &[u8]) {
    let factory = Factory::new().unwrap();
    factory.delete(store::DB_NAME).unwrap().await.unwrap();
    let mut request = factory.open(store::DB_NAME, Some(2)).unwrap();
    request.on_upgrade_needed(|event| {
        let db = event.database().unwrap();
        for name in ["devices", "pins", "outbox", bundles::BUNDLES] {
            db.create_object_store(name, ObjectStoreParams::new())
                .unwrap();
        }
    });
    let db = request.await.unwrap();
    let transaction = db
        .transaction(&[bundles::BUNDLES], TransactionMode::ReadWrite)
        .unwrap();
    let put = transaction
        .object_store(bundles::BUNDLES)
        .unwrap()
        .put(
            &Uint8Array::from(bundle).into(),
            Some(&JsValue::from_str(&format!("{me}\u{1f}{account_id}"))),
        )
        .unwrap();
    let done = transaction.into_future();
    put.await.unwrap();
    assert!(done.await.unwrap().is_committed());
    db.close();
}

#[wasm_bindgen_test]
async fn version_3_keeps_version_2_pins_and_stores_the_head_with_the_bundle() {
    let old_bundle = vec![1u8, 2, 3, 4];
    version_2_with_a_pin("me", "clinic", &old_bundle).await;

    // Opening at version 3 upgrades and keeps the pin, without a head yet.
    let kept = bundles::pinned("me", "clinic").await.unwrap().unwrap();
    assert_eq!(
        kept,
        Pin {
            bundle: old_bundle.clone(),
            head: None
        }
    );
    let db = Factory::new()
        .unwrap()
        .open(store::DB_NAME, None)
        .unwrap()
        .await
        .unwrap();
    assert_eq!(db.version().unwrap(), store::DB_VERSION);
    db.close();

    // The next verified fetch fills the head in; it reads back whole.
    let with_head = Pin {
        bundle: old_bundle,
        head: Some(KeyHead {
            seq: 3,
            hash: [0xab; 32],
        }),
    };
    bundles::pin("me", "clinic", &with_head).await.unwrap();
    assert_eq!(
        bundles::pinned("me", "clinic").await.unwrap(),
        Some(with_head)
    );
    // Per viewer: another account on this device pinned nothing.
    assert_eq!(
        bundles::pinned("someone-else", "clinic").await.unwrap(),
        None
    );
}
