//! The offline outbox: messages sealed on this device that the relay has
//! not confirmed yet. Only the sealed envelope is kept (never plaintext),
//! with where it goes and when it was queued, so a closed tab or a dropped
//! connection loses nothing and the relay's idempotent message ids make the
//! resend exactly-once.

use idb::TransactionMode;
use js_sys::{Object, Uint8Array};
use wasm_bindgen::{JsCast as _, JsValue};

use super::device::{committed, get, set};
use super::{StoreError, open};

/// The object store's name.
pub(crate) const OUTBOX: &str = "outbox";

/// One queued message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Queued {
    /// The sender (only their own queue is sent).
    pub account_id: String,
    /// Where it goes.
    pub thread_id: String,
    /// The envelope's message id (the record's key).
    pub message_id: String,
    /// When it was queued (Unix ms): the sending order.
    pub queued_at: f64,
    /// The sealed envelope.
    pub envelope: Vec<u8>,
    /// The blobs its payload references (sent beside it).
    pub attachments: Vec<String>,
    /// While its file is still uploading: what resuming needs. It is sent
    /// only once this is gone.
    pub upload: Option<PendingUpload>,
}

/// What resuming an upload needs besides the file itself. The file key is
/// not here: it is inside the sealed envelope, which this device reopens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingUpload {
    /// The relay's upload (and blob) id.
    pub upload_id: String,
    /// The attachment stream's header (its salt; not secret).
    pub stream_header: Vec<u8>,
}

/// Queues a sealed message (replacing one with the same id).
pub(crate) async fn put(queued: &Queued) -> Result<(), StoreError> {
    let record = Object::new();
    set(&record, "account_id", &queued.account_id.as_str().into())?;
    set(&record, "thread_id", &queued.thread_id.as_str().into())?;
    set(&record, "message_id", &queued.message_id.as_str().into())?;
    set(&record, "queued_at", &queued.queued_at.into())?;
    set(
        &record,
        "envelope",
        &Uint8Array::from(queued.envelope.as_slice()).into(),
    )?;
    let attachments: js_sys::Array = queued
        .attachments
        .iter()
        .map(|id| JsValue::from_str(id))
        .collect();
    set(&record, "attachments", &attachments.into())?;
    if let Some(upload) = &queued.upload {
        set(&record, "upload_id", &upload.upload_id.as_str().into())?;
        set(
            &record,
            "stream_header",
            &Uint8Array::from(upload.stream_header.as_slice()).into(),
        )?;
    }
    let db = open().await?;
    let transaction = db.transaction(&[OUTBOX], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(OUTBOX)?;
    let put = store.put(&record, Some(&JsValue::from_str(&queued.message_id)))?;
    let done = transaction.into_future();
    put.await?;
    committed(done.await?)
}

/// `account_id`'s queued messages, oldest first.
pub(crate) async fn pending(account_id: &str) -> Result<Vec<Queued>, StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[OUTBOX], TransactionMode::ReadOnly)?;
    let store = transaction.object_store(OUTBOX)?;
    let all: Vec<JsValue> = store.get_all(None, None)?.await?;
    let mut out: Vec<Queued> = all
        .iter()
        .filter_map(|record| {
            let envelope = get(record, "envelope");
            let header = get(record, "stream_header");
            let upload = get(record, "upload_id")
                .as_string()
                .zip(
                    header
                        .is_instance_of::<Uint8Array>()
                        .then(|| Uint8Array::new(&header).to_vec()),
                )
                .map(|(upload_id, stream_header)| PendingUpload {
                    upload_id,
                    stream_header,
                });
            // Records queued before attachments existed have none.
            let attachments = get(record, "attachments")
                .dyn_into::<js_sys::Array>()
                .map(|list| list.iter().filter_map(|id| id.as_string()).collect())
                .unwrap_or_default();
            Some(Queued {
                attachments,
                upload,
                account_id: get(record, "account_id").as_string()?,
                thread_id: get(record, "thread_id").as_string()?,
                message_id: get(record, "message_id").as_string()?,
                queued_at: get(record, "queued_at").as_f64()?,
                envelope: envelope
                    .is_instance_of::<Uint8Array>()
                    .then(|| Uint8Array::new(&envelope).to_vec())?,
            })
        })
        .filter(|q| q.account_id == account_id)
        .collect();
    crate::components::sort_by_u64(&mut out, |q| total_order(q.queued_at));
    Ok(out)
}

/// `f64::total_cmp`'s order as a `u64`, for `sort_by_u64`: a negative
/// number's bits flipped, a positive one's sign bit set.
fn total_order(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The relay stored it (or refused it for good): off the queue.
pub(crate) async fn remove(message_id: &str) -> Result<(), StoreError> {
    let db = open().await?;
    let transaction = db.transaction(&[OUTBOX], TransactionMode::ReadWrite)?;
    let store = transaction.object_store(OUTBOX)?;
    let delete = store.delete(JsValue::from_str(message_id))?;
    let done = transaction.into_future();
    delete.await?;
    committed(done.await?)
}

#[cfg(test)]
mod tests {
    use super::total_order;

    #[test]
    fn total_order_is_total_cmp() {
        let xs = [
            f64::NAN,
            -f64::NAN,
            1.5,
            -0.0,
            0.0,
            -2.0,
            f64::INFINITY,
            1.7e12,
            f64::NEG_INFINITY,
            1e-300,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    total_order(a).cmp(&total_order(b)),
                    a.total_cmp(&b),
                    "{a} {b}"
                );
            }
        }
    }
}
