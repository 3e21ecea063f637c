//! Drafts kept across an update's reload: each sealed by its writer under
//! its thread's key, like a message (never plaintext), and taken back, once,
//! by the same account's next unlock on this device.

use idb::TransactionMode;
use js_sys::{Object, Uint8Array};
use wasm_bindgen::{JsCast as _, JsValue};

use super::device::{committed, get, set};
use super::{StoreError, open};

/// The object store's name.
pub(crate) const DRAFTS: &str = "drafts";

/// Keeps `account_id`'s sealed draft for `thread_id` (replacing one kept
/// before).
pub(crate) async fn keep(
    account_id: &str,
    thread_id: &str,
    envelope: &[u8],
) -> Result<(), StoreError> {
    let record = Object::new();
    set(&record, "account_id", &account_id.into())?;
    set(&record, "thread_id", &thread_id.into())?;
    set(&record, "envelope", &Uint8Array::from(envelope).into())?;
    let key = JsValue::from_str(&format!("{account_id}/{thread_id}"));
    let db = open().await?;
    let transaction = db.transaction(&[DRAFTS], TransactionMode::ReadWrite)?;
    let put = transaction.object_store(DRAFTS)?.put(&record, Some(&key))?;
    let done = transaction.into_future();
    put.await?;
    committed(done.await?)
}

/// `account_id`'s kept drafts, as (thread, sealed draft), removed from
/// the device in the same transaction.
pub(crate) async fn take(account_id: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[DRAFTS], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(DRAFTS)?;
    let all: Vec<JsValue> = store.get_all(None, None)?.await?;
    let mut mine = Vec::new();
    for record in &all {
        if get(record, "account_id").as_string().as_deref() != Some(account_id) {
            continue;
        }
        let (Some(thread_id), Ok(envelope)) = (
            get(record, "thread_id").as_string(),
            get(record, "envelope").dyn_into::<Uint8Array>(),
        ) else {
            continue;
        };
        store
            .delete(JsValue::from_str(&format!("{account_id}/{thread_id}")))?
            .await?;
        mine.push((thread_id, envelope.to_vec()));
    }
    let done = transaction.into_future();
    committed(done.await?)?;
    Ok(mine)
}
