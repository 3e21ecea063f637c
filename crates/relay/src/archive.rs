//! Each thread's archive chain ([`ward_seal::archive`]): the link of every
//! stored envelope is computed where the envelope is stored
//! (`store::sends`, under the thread's row lock); this
//! module fills in the links of envelopes stored before the chain existed.

use sqlx::AnyPool;
use ward_seal::archive::{GENESIS, Link, chain};

use crate::error::ApiError;
use crate::store;

/// A stored 32-byte hash, or [`GENESIS`] for none (no message yet, nothing
/// pruned). Any other length is a damaged row: an internal error.
pub fn hash32(stored: Option<&[u8]>) -> Result<[u8; 32], ApiError> {
    match stored {
        None => Ok(GENESIS),
        Some(bytes) => <[u8; 32]>::try_from(bytes).map_err(|_| {
            ApiError::internal("archive chain", &"a stored chain hash is not 32 bytes")
        }),
    }
}

/// Computes the chain of every envelope that has none (stored by a relay
/// older than migration 0014), thread by thread, in seq order, and sets
/// each thread's head. Runs at every start; does nothing once done.
pub async fn backfill(db: &AnyPool) -> Result<u64, sqlx::Error> {
    let threads = store::archive::unchained_threads(db).await?;
    let mut filled = 0;
    for thread_id in threads {
        // Message posting holds the thread's lock; so does this, so no
        // message is chained onto a head being rewritten here.
        let mut tx = crate::db::begin_write(db, &crate::db::thread_scope(&thread_id)).await?;
        let pruned = store::archive::pruned_chain(&mut tx, &thread_id).await?;
        let mut prev = pruned
            .as_deref()
            .and_then(|p| <[u8; 32]>::try_from(p).ok())
            .unwrap_or(GENESIS);
        for message in store::archive::messages(&mut tx, &thread_id).await? {
            if let Some(existing) = message
                .chain
                .and_then(|c| <[u8; 32]>::try_from(c.as_slice()).ok())
            {
                prev = existing;
                continue;
            }
            let link = chain(
                &prev,
                &Link {
                    seq: u64::try_from(message.seq).unwrap_or(0),
                    thread_id: &thread_id,
                    sender_id: &message.sender_id,
                    message_id: &message.message_id,
                    envelope: &message.envelope,
                    received_at: message.received_at,
                },
            );
            store::archive::set_chain(&mut tx, &thread_id, message.seq, link.as_slice()).await?;
            prev = link;
            filled += 1;
        }
        store::archive::set_head(&mut tx, &thread_id, prev.as_slice()).await?;
        tx.commit().await?;
    }
    Ok(filled)
}
