//! Drafts kept across an update's reload: each sealed by its writer under
//! its thread's key, like a message (never plaintext), and taken back by
//! the same account's next unlock on this device.

use idb::TransactionMode;
use js_sys::{Object, Uint8Array};
use wasm_bindgen::{JsCast as _, JsValue};

use super::device::{committed, get, set};
use super::{StoreError, open};

/// The object store's name.
pub(crate) const DRAFTS: &str = "drafts";

fn key(account_id: &str, thread_id: &str) -> JsValue {
    JsValue::from_str(&format!("{account_id}/{thread_id}"))
}

/// Keeps `account_id`'s sealed drafts, as (thread, sealed draft), in one
/// transaction: all of them, or none.
pub(crate) async fn keep(account_id: &str, drafts: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[DRAFTS], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(DRAFTS)?;
    for (thread_id, envelope) in drafts {
        let record = Object::new();
        set(&record, "account_id", &account_id.into())?;
        set(&record, "thread_id", &thread_id.as_str().into())?;
        set(
            &record,
            "envelope",
            &Uint8Array::from(envelope.as_slice()).into(),
        )?;
        store.put(&record, Some(&key(account_id, thread_id)))?;
    }
    committed(transaction.into_future().await?)
}

/// `account_id`'s kept drafts, as (thread, sealed draft).
pub(crate) async fn kept(account_id: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[DRAFTS], TransactionMode::ReadOnly)?;
    let all: Vec<JsValue> = transaction
        .object_store(DRAFTS)?
        .get_all(None, None)?
        .await?;
    Ok(all
        .iter()
        .filter(|record| get(record, "account_id").as_string().as_deref() == Some(account_id))
        .filter_map(|record| {
            Some((
                get(record, "thread_id").as_string()?,
                get(record, "envelope")
                    .dyn_into::<Uint8Array>()
                    .ok()?
                    .to_vec(),
            ))
        })
        .collect())
}

/// Forgets `account_id`'s kept draft of `thread_id` (it is back in its box).
pub(crate) async fn forget(account_id: &str, thread_id: &str) -> Result<(), StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[DRAFTS], TransactionMode::ReadWrite)?;
    transaction
        .object_store(DRAFTS)?
        .delete(key(account_id, thread_id))?;
    committed(transaction.into_future().await?)
}
