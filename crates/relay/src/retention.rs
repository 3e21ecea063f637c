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

use crate::background::Task;
use crate::blobs::BlobStore;
use crate::store;
use crate::store::retention::Expired;

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
    let threads = store::retention::threads_before(db, cutoff).await?;
    for thread_id in threads {
        // Setting a hold takes the first lock, posting the second: no hold
        // is set, and no message chained, half-way through a thread's
        // pruning.
        let mut tx = crate::db::begin_write(db, crate::db::RETENTION).await?;
        crate::db::lock(&mut tx, &crate::db::thread_scope(&thread_id)).await?;
        if store::retention::on_hold(&mut tx, &thread_id).await? {
            pruned.held += 1;
            continue;
        }
        // Oldest first: up to (not past) the first message still inside
        // the retention period, so what is kept has no gap.
        let Some(Expired { first, through }) =
            store::retention::expired(&mut tx, &thread_id, cutoff).await?
        else {
            continue;
        };
        let Some(chain) = store::retention::chain_at(&mut tx, &thread_id, through).await? else {
            // Not chained yet (the start-up backfill failed): pruning now
            // would lose the point the rest is proved from.
            tracing::warn!(
                thread_id,
                "retention skipped a thread whose archive chain is not filled in"
            );
            continue;
        };
        let blobs = store::retention::blobs_through(&mut tx, &thread_id, through).await?;
        store::retention::delete_attachments_through(&mut tx, &thread_id, through).await?;
        let deleted =
            store::retention::delete_messages_through(&mut tx, &thread_id, through).await?;
        store::retention::mark_pruned(&mut tx, &thread_id, through, &chain).await?;
        // A blob another message still references stays; the others
        // expire now, and the blob cleanup deletes their objects and rows.
        let mut released = 0;
        for blob_id in &blobs {
            // A send in another thread attaching the same blob takes this
            // lock too: the check below sees its reference once committed.
            crate::db::lock(&mut tx, &crate::db::blob_scope(blob_id)).await?;
            released += store::blobs::release_unreferenced(&mut tx, blob_id, now_ms).await?;
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

/// With `years` set, runs [`sweep`] now and then every [`SWEEP_INTERVAL`]
/// with the relay's clock, and the blob cleanup right after a pass that
/// released blobs; failures are logged (the next pass retries). `None`
/// (keep forever) starts nothing.
pub fn spawn(db: AnyPool, store: BlobStore, years: Option<u32>) -> Option<Task> {
    let years = years?;
    Some(Task::spawn(async move {
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
    }))
}
