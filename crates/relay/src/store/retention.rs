//! What retention ([`crate::retention`]) reads and deletes: messages past
//! the retention period with their attachment references, and where each
//! thread was pruned. Every function but the first runs inside the
//! caller's transaction, which holds the retention lock and the thread's
//! ([`crate::db::RETENTION`], [`crate::db::thread_scope`]).

use sqlx::{AnyConnection, AnyPool};

use crate::db::Flag;

/// The messages of a thread that may go: `first..=through`, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// The oldest.
    pub first: i64,
    /// The newest: the last one before the first message still kept.
    pub through: i64,
}

/// The threads with a message received before `cutoff`.
pub async fn threads_before(db: &AnyPool, cutoff: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT thread_id FROM envelopes WHERE received_at < $1")
        .bind(cutoff)
        .fetch_all(db)
        .await
}

/// Whether a current or past member of `thread_id` is on legal hold (the
/// thread is then not touched).
pub async fn on_hold(conn: &mut AnyConnection, thread_id: &str) -> Result<bool, sqlx::Error> {
    let Flag(held) = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM thread_members m JOIN accounts a ON a.account_id = m.account_id
         WHERE m.thread_id = $1 AND a.legal_hold = 1",
    )
    .bind(thread_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(held)
}

/// `thread_id`'s messages received before `cutoff`, up to (not past) the
/// first message still inside the retention period, so what is kept has
/// no gap; `None` if there are none.
pub async fn expired(
    conn: &mut AnyConnection,
    thread_id: &str,
    cutoff: i64,
) -> Result<Option<Expired>, sqlx::Error> {
    let range: (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT MIN(seq), MAX(seq) FROM envelopes
         WHERE thread_id = $1 AND received_at < $2
           AND seq < COALESCE((SELECT MIN(k.seq) FROM envelopes k
                               WHERE k.thread_id = $1 AND k.received_at >= $2), 9223372036854775807)",
    )
    .bind(thread_id)
    .bind(cutoff)
    .fetch_one(&mut *conn)
    .await?;
    Ok(match range {
        (Some(first), Some(through)) => Some(Expired { first, through }),
        _ => None,
    })
}

/// The chain link of message `seq` (`None`: not chained yet), where the
/// kept messages will be proved from.
pub async fn chain_at(
    conn: &mut AnyConnection,
    thread_id: &str,
    seq: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT chain FROM envelopes WHERE thread_id = $1 AND seq = $2")
        .bind(thread_id)
        .bind(seq)
        .fetch_one(&mut *conn)
        .await
}

/// The blobs the messages up to `through` reference, each once.
pub async fn blobs_through(
    conn: &mut AnyConnection,
    thread_id: &str,
    through: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT blob_id FROM message_attachments WHERE thread_id = $1 AND seq <= $2",
    )
    .bind(thread_id)
    .bind(through)
    .fetch_all(&mut *conn)
    .await
}

/// Deletes the attachment references of the messages up to `through`
/// (before the messages: they reference them).
pub async fn delete_attachments_through(
    conn: &mut AnyConnection,
    thread_id: &str,
    through: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM message_attachments WHERE thread_id = $1 AND seq <= $2")
        .bind(thread_id)
        .bind(through)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the messages up to `through`; how many.
pub async fn delete_messages_through(
    conn: &mut AnyConnection,
    thread_id: &str,
    through: i64,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM envelopes WHERE thread_id = $1 AND seq <= $2")
            .bind(thread_id)
            .bind(through)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Records that `thread_id` was pruned through `through`, whose link was
/// `chain`: the kept messages chain on from there.
pub async fn mark_pruned(
    conn: &mut AnyConnection,
    thread_id: &str,
    through: i64,
    chain: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE threads SET pruned_through_seq = $2, pruned_chain = $3 WHERE thread_id = $1",
    )
    .bind(thread_id)
    .bind(through)
    .bind(chain)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
