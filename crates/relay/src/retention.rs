//! Retention: with `retention_years` set, messages (ciphertext envelopes)
//! older than that are deleted, oldest first in each thread, with their
//! attachment references; their blobs are then deleted by the blob cleanup
//! ([`crate::blobs::sweep`]). A thread any current or past member of which
//! is on legal hold (`accounts.legal_hold`) is not touched.
//!
//! Pruning keeps the archive provable: the thread records how far it was
//! pruned (`pruned_through_seq`) and the chain hash of that message
//! (`pruned_chain`), and the messages kept still chain from it to the head.
//!
//! Each deletion is logged (`tracing`, target `ward_relay::access`: thread
//! id, seq range and count, never content). That log is the deletion
//! record until the relay has an access log of its own.

use std::time::Duration;

use sqlx::AnyPool;

use crate::blobs::BlobStore;
use crate::db::Flag;

/// How often [`spawn`] runs [`sweep`].
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// A retention year, in milliseconds: 366 days, so a message is never
/// deleted before `retention_years` calendar years have passed (leap years
/// included); it may be kept up to a few days longer.
pub const YEAR_MS: i64 = 366 * 86_400_000;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Threads messages were deleted from.
    pub threads: u64,
    /// Messages deleted.
    pub messages: u64,
    /// Blobs whose last reference was deleted (handed to the blob cleanup).
    pub blobs_released: u64,
    /// Threads with expired messages kept because a member is on legal hold.
    pub held: u64,
    /// Each thread pruned: (thread id, first seq deleted, last seq deleted).
    pub ranges: Vec<(String, i64, i64)>,
}

/// Deletes the messages received before `now_ms` less `years` retention
/// years, as the module says.
pub async fn sweep(db: &AnyPool, years: u32, now_ms: i64) -> Result<Pruned, sqlx::Error> {
    let cutoff = now_ms.saturating_sub(i64::from(years).saturating_mul(YEAR_MS));
    let mut pruned = Pruned::default();
    let threads: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT thread_id FROM envelopes WHERE received_at < $1")
            .bind(cutoff)
            .fetch_all(db)
            .await?;
    for thread_id in threads {
        // Posting holds this lock too (and setting a hold): no message is
        // chained, and no hold set, half-way through a thread's pruning.
        let mut tx = crate::db::begin_write(db, crate::db::ACTIVITY).await?;
        let Flag(held) = sqlx::query_scalar(
            "SELECT COUNT(*) > 0 FROM thread_members m JOIN accounts a ON a.account_id = m.account_id
             WHERE m.thread_id = $1 AND a.legal_hold = 1",
        )
        .bind(&thread_id)
        .fetch_one(&mut *tx)
        .await?;
        if held {
            pruned.held += 1;
            continue;
        }
        // Oldest first: up to (not past) the first message still inside
        // the retention period, so what is kept has no gap.
        let range: (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT MIN(seq), MAX(seq) FROM envelopes
             WHERE thread_id = $1 AND received_at < $2
               AND seq < COALESCE((SELECT MIN(k.seq) FROM envelopes k
                                   WHERE k.thread_id = $1 AND k.received_at >= $2), 9223372036854775807)",
        )
        .bind(&thread_id)
        .bind(cutoff)
        .fetch_one(&mut *tx)
        .await?;
        let (Some(first), Some(through)) = range else {
            continue;
        };
        let chain: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT chain FROM envelopes WHERE thread_id = $1 AND seq = $2")
                .bind(&thread_id)
                .bind(through)
                .fetch_one(&mut *tx)
                .await?;
        let Some(chain) = chain else {
            // Not chained yet (the start-up backfill failed): pruning now
            // would lose the point the rest is proved from.
            tracing::warn!(
                thread_id,
                "retention skipped a thread whose archive chain is not filled in"
            );
            continue;
        };
        let blobs: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT blob_id FROM message_attachments WHERE thread_id = $1 AND seq <= $2",
        )
        .bind(&thread_id)
        .bind(through)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM message_attachments WHERE thread_id = $1 AND seq <= $2")
            .bind(&thread_id)
            .bind(through)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM envelopes WHERE thread_id = $1 AND seq <= $2")
            .bind(&thread_id)
            .bind(through)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "UPDATE threads SET pruned_through_seq = $2, pruned_chain = $3 WHERE thread_id = $1",
        )
        .bind(&thread_id)
        .bind(through)
        .bind(chain.as_slice())
        .execute(&mut *tx)
        .await?;
        // A blob another message still references stays; the others
        // expire now, and the blob cleanup deletes their objects and rows.
        let mut released = 0;
        for blob_id in &blobs {
            released += sqlx::query(
                "UPDATE blobs SET expires_at = $2 WHERE blob_id = $1
                   AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.blob_id = $1)",
            )
            .bind(blob_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        tracing::info!(
            target: "ward_relay::access",
            thread_id,
            first_seq = first,
            last_seq = through,
            count = deleted,
            blobs_released = released,
            "retention deleted expired messages"
        );
        pruned.threads += 1;
        pruned.messages += deleted;
        pruned.blobs_released += released;
        pruned.ranges.push((thread_id, first, through));
    }
    Ok(pruned)
}

/// The background pass; stops when dropped.
#[derive(Debug)]
pub struct Sweeper(tokio::task::JoinHandle<()>);

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// With `years` set, runs [`sweep`] now and then every [`SWEEP_INTERVAL`]
/// with the relay's clock, and the blob cleanup right after a pass that
/// released blobs; failures are logged (the next pass retries). `None`
/// (keep forever) starts nothing.
pub fn spawn(db: AnyPool, store: BlobStore, years: Option<u32>) -> Option<Sweeper> {
    let years = years?;
    Some(Sweeper(tokio::spawn(async move {
        let mut interval = tokio::time::interval(SWEEP_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let now = crate::secrets::now_ms();
            match sweep(&db, years, now).await {
                Ok(pruned) => {
                    if pruned.blobs_released > 0
                        && let Err(error) = crate::blobs::sweep(&db, &store, now).await
                    {
                        tracing::warn!(%error, "blob cleanup after retention failed; retrying later");
                    }
                }
                Err(error) => tracing::warn!(%error, "retention sweep failed; retrying later"),
            }
        }
    })))
}
