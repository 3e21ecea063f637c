//! `message_attachments`: which blobs each message carries, in the order
//! its sender listed them. (Retention deletes them with their messages:
//! [`super::retention`].)

use std::collections::HashMap;

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::threads::StoredMessage;

/// [`add`]'s statement (SQLite's send writer runs it too).
pub(crate) const ADD: &str =
    "INSERT INTO message_attachments (thread_id, seq, position, blob_id) VALUES ($1, $2, $3, $4)";

/// Records that message `seq` carries `blob_id` at `position`, inside the
/// caller's transaction (the one that stores the message).
pub async fn add(
    conn: &mut AnyConnection,
    thread_id: &str,
    seq: i64,
    position: i64,
    blob_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(ADD)
        .bind(thread_id)
        .bind(seq)
        .bind(position)
        .bind(blob_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Fills in the attachments of `messages` (any order) of `thread_id`, in
/// one read of the seq range they span.
pub async fn fill(
    db: &AnyPool,
    thread_id: &str,
    messages: &mut [StoredMessage],
) -> Result<(), sqlx::Error> {
    let seqs = messages.iter().map(|m| m.seq);
    let (Some(first), Some(last)) = (seqs.clone().min(), seqs.max()) else {
        return Ok(());
    };
    let bound = |seq: u64| i64::try_from(seq).unwrap_or(i64::MAX);
    let rows = sqlx::query(
        "SELECT seq, blob_id FROM message_attachments
         WHERE thread_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, position",
    )
    .bind(thread_id)
    .bind(bound(first))
    .bind(bound(last))
    .fetch_all(db)
    .await?;
    let mut by_seq: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        by_seq
            .entry(row.try_get("seq")?)
            .or_default()
            .push(row.try_get("blob_id")?);
    }
    for message in messages {
        if let Some(blobs) = by_seq.remove(&bound(message.seq)) {
            message.attachments = blobs;
        }
    }
    Ok(())
}
