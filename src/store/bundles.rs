//! Key pinning: the first key bundle this device saw for each account the
//! patient talks to. A different bundle later is a key change the patient
//! must confirm (compare the new safety number) before Ward sends to it.

use idb::TransactionMode;
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast as _, JsValue};

use super::device::committed;
use super::{StoreError, open};

/// The object store's name.
pub const BUNDLES: &str = "bundles";

fn key(me: &str, account_id: &str) -> JsValue {
    JsValue::from_str(&format!("{me}\u{1f}{account_id}"))
}

/// The bundle `me` pinned for `account_id`, if any.
pub async fn pinned(me: &str, account_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[BUNDLES], TransactionMode::ReadOnly)?;
    let store = transaction.object_store(BUNDLES)?;
    let found = store.get(key(me, account_id))?.await?;
    Ok(found
        .filter(|v| v.is_instance_of::<Uint8Array>())
        .map(|v| Uint8Array::new(&v).to_vec()))
}

/// Pins `bundle` for `account_id` (first sight, or a confirmed change).
pub async fn pin(me: &str, account_id: &str, bundle: &[u8]) -> Result<(), StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[BUNDLES], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(BUNDLES)?;
    let put = store.put(&Uint8Array::from(bundle).into(), Some(&key(me, account_id)))?;
    let done = transaction.into_future();
    put.await?;
    committed(done.await?)
}
