//! Key pinning: the key bundle this device seals to for each account the
//! patient talks to, with the key-history head it verified (crypto.md, key
//! history). A history that does not extend the pinned head is a rewrite;
//! a different current bundle is a key change the patient must confirm
//! (compare the new safety number) before Ward sends to it.
//!
//! A record is `{bundle: Uint8Array, seq: number, hash: Uint8Array}`.
//! Schema version 3 added the head: a record from version 2 is the bundle's
//! bytes alone, kept as it is and read as a pin without a head, which the
//! next verified fetch fills in (the upgrade keeps every existing pin).

use idb::TransactionMode;
use js_sys::{Object, Reflect, Uint8Array};
use ward_seal::key_history::KeyHead;
use wasm_bindgen::{JsCast as _, JsValue};

use super::device::committed;
use super::{StoreError, open};
use crate::messaging::pinning::Pin;

/// The object store's name.
pub const BUNDLES: &str = "bundles";

fn key(me: &str, account_id: &str) -> JsValue {
    JsValue::from_str(&format!("{me}\u{1f}{account_id}"))
}

fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    value
        .is_instance_of::<Uint8Array>()
        .then(|| Uint8Array::new(value).to_vec())
}

/// A stored record as a pin: the version-3 object, or a version-2 bundle.
fn decode(value: &JsValue) -> Result<Pin, StoreError> {
    if let Some(bundle) = bytes_of(value) {
        return Ok(Pin { bundle, head: None });
    }
    let field = |name: &str| Reflect::get(value, &name.into()).ok();
    let bundle = field("bundle")
        .as_ref()
        .and_then(bytes_of)
        .ok_or(StoreError::Corrupt)?;
    let seq = field("seq").and_then(|s| s.as_f64());
    let hash = field("hash")
        .as_ref()
        .and_then(bytes_of)
        .and_then(|h| <[u8; 32]>::try_from(h).ok());
    let head = match (seq, hash) {
        (Some(seq), Some(hash)) if seq >= 0.0 && seq.fract() == 0.0 => Some(KeyHead {
            seq: seq as u64,
            hash,
        }),
        _ => None,
    };
    Ok(Pin { bundle, head })
}

fn encode(pin: &Pin) -> JsValue {
    let record = Object::new();
    let set = |name: &str, value: &JsValue| {
        let _ = Reflect::set(&record, &name.into(), value);
    };
    set("bundle", &Uint8Array::from(pin.bundle.as_slice()).into());
    if let Some(head) = &pin.head {
        set("seq", &JsValue::from_f64(head.seq as f64));
        set("hash", &Uint8Array::from(head.hash.as_slice()).into());
    }
    record.into()
}

/// What `me` pinned for `account_id`, if anything.
pub async fn pinned(me: &str, account_id: &str) -> Result<Option<Pin>, StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[BUNDLES], TransactionMode::ReadOnly)?;
    let store = transaction.object_store(BUNDLES)?;
    let found = store.get(key(me, account_id))?.await?;
    found.map(|value| decode(&value)).transpose()
}

/// Pins `pin` for `account_id` (first sight, a moved head, or a confirmed
/// change).
pub async fn pin(me: &str, account_id: &str, pin: &Pin) -> Result<(), StoreError> {
    put(me, account_id, &encode(pin)).await
}

async fn put(me: &str, account_id: &str, record: &JsValue) -> Result<(), StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[BUNDLES], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(BUNDLES)?;
    let put = store.put(record, Some(&key(me, account_id)))?;
    let done = transaction.into_future();
    put.await?;
    committed(done.await?)
}
