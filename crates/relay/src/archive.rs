//! Each thread's archive chain ([`ward_seal::archive`]): the link of every
//! stored envelope is computed where the envelope is stored
//! (`routes::threads::post_message`, under the thread's row lock); this
//! module fills in the links of envelopes stored before the chain existed.

use sqlx::{AnyPool, Row};
use ward_seal::archive::{GENESIS, Link, chain};

use crate::error::ApiError;

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
    let threads: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT thread_id FROM envelopes WHERE chain IS NULL")
            .fetch_all(db)
            .await?;
    let mut filled = 0;
    for thread_id in threads {
        // Message posting holds the activity lock; so does this, so no
        // message is chained onto a head being rewritten here.
        let mut tx = crate::db::begin_write(db, crate::db::ACTIVITY).await?;
        let pruned: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT pruned_chain FROM threads WHERE thread_id = $1")
                .bind(&thread_id)
                .fetch_one(&mut *tx)
                .await?;
        let mut prev = pruned
            .as_deref()
            .and_then(|p| <[u8; 32]>::try_from(p).ok())
            .unwrap_or(GENESIS);
        let rows = sqlx::query(
            "SELECT seq, message_id, sender_id, envelope, received_at, chain FROM envelopes
             WHERE thread_id = $1 ORDER BY seq",
        )
        .bind(&thread_id)
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let seq: i64 = row.get("seq");
            if let Some(existing) = row
                .get::<Option<Vec<u8>>, _>("chain")
                .and_then(|c| <[u8; 32]>::try_from(c.as_slice()).ok())
            {
                prev = existing;
                continue;
            }
            let envelope: Vec<u8> = row.get("envelope");
            let message_id: String = row.get("message_id");
            let sender_id: String = row.get("sender_id");
            let link = chain(
                &prev,
                &Link {
                    seq: u64::try_from(seq).unwrap_or(0),
                    thread_id: &thread_id,
                    sender_id: &sender_id,
                    message_id: &message_id,
                    envelope: &envelope,
                    received_at: row.get("received_at"),
                },
            );
            sqlx::query("UPDATE envelopes SET chain = $1 WHERE thread_id = $2 AND seq = $3")
                .bind(link.as_slice())
                .bind(&thread_id)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            prev = link;
            filled += 1;
        }
        sqlx::query("UPDATE threads SET head_chain = $1 WHERE thread_id = $2")
            .bind(prev.as_slice())
            .bind(&thread_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(filled)
}
