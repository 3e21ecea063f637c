//! `blobs` and `blob_parts` once an upload is finalized: who may read a
//! blob, its parts, keeping it with the message that attaches it, and
//! deleting it when it expires. (Uploads still open are in
//! [`super::uploads`].)

use sqlx::{AnyConnection, AnyPool, Row};

/// One stored part of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its size in bytes, as recorded.
    pub size: i64,
    /// The stored object holding its bytes.
    pub object: String,
}

/// The size of finalized, unexpired blob `blob_id` if `account_id` may read
/// it: their own, or one a message in a thread they are a current member
/// of references. `None` for anything else (the caller answers 404).
pub async fn readable_size(
    db: &AnyPool,
    blob_id: &str,
    account_id: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT b.size FROM blobs b
         WHERE b.blob_id = $1 AND b.finalized_at IS NOT NULL
           AND (b.expires_at IS NULL OR b.expires_at > $3)
           AND (b.owner_id = $2 OR EXISTS (
                SELECT 1 FROM message_attachments a
                JOIN thread_members m ON m.thread_id = a.thread_id
                WHERE a.blob_id = b.blob_id AND m.account_id = $2 AND m.removed_at IS NULL))",
    )
    .bind(blob_id)
    .bind(account_id)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Whose conversation an attached blob is in: who uploaded it, its thread
/// and that thread's patient (`None`: not attached, or no patient).
pub async fn conversation_of(
    db: &AnyPool,
    blob_id: &str,
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    sqlx::query(
        "SELECT b.owner_id, a.thread_id, p.account_id AS patient_id
         FROM blobs b
         JOIN message_attachments a ON a.blob_id = b.blob_id
         JOIN thread_members p ON p.thread_id = a.thread_id AND p.role = 'patient'
         WHERE b.blob_id = $1 LIMIT 1",
    )
    .bind(blob_id)
    .fetch_optional(db)
    .await?
    .map(|row| {
        Ok((
            row.try_get("owner_id")?,
            row.try_get("thread_id")?,
            row.try_get("patient_id")?,
        ))
    })
    .transpose()
}

/// The sizes of `blob_id`'s parts, in part order.
pub async fn part_sizes(db: &AnyPool, blob_id: &str) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT size FROM blob_parts WHERE blob_id = $1 ORDER BY part_index")
        .bind(blob_id)
        .fetch_all(db)
        .await
}

/// Part `index` of `blob_id`, if it has one.
pub async fn part(db: &AnyPool, blob_id: &str, index: i64) -> Result<Option<Part>, sqlx::Error> {
    sqlx::query("SELECT size, object FROM blob_parts WHERE blob_id = $1 AND part_index = $2")
        .bind(blob_id)
        .bind(index)
        .fetch_optional(db)
        .await?
        .map(|row| {
            Ok(Part {
                size: row.try_get("size")?,
                object: row.try_get("object")?,
            })
        })
        .transpose()
}

/// How many parts `blob_id` has (the blob must exist), to say which part
/// indexes there are.
pub async fn part_count(db: &AnyPool, blob_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT part_count FROM blobs WHERE blob_id = $1")
        .bind(blob_id)
        .fetch_one(db)
        .await
}

/// [`keep`]'s statement (SQLite's send writer runs it too).
pub(crate) const KEEP: &str = "UPDATE blobs SET expires_at = NULL
     WHERE blob_id = $1 AND owner_id = $2 AND finalized_at IS NOT NULL
       AND (expires_at IS NULL OR expires_at > $3)";

/// Keeps `blob_id` for good (no expiry) if it is a finalized, unexpired
/// blob `owner_id` uploaded, inside the caller's transaction (the one that
/// stores the message attaching it); whether it was.
pub async fn keep(
    conn: &mut AnyConnection,
    blob_id: &str,
    owner_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let kept = sqlx::query(KEEP)
        .bind(blob_id)
        .bind(owner_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(kept.rows_affected() == 1)
}

/// Lets `blob_id` expire at `now` unless a message still references it,
/// inside the caller's transaction (retention's, which just deleted a
/// reference); how many blobs that released (0 or 1).
pub async fn release_unreferenced(
    conn: &mut AnyConnection,
    blob_id: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE blobs SET expires_at = $2 WHERE blob_id = $1
           AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.blob_id = $1)",
    )
    .bind(blob_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Up to 200 uploads and blobs whose expiry is at or before `now`: the
/// cleanup's next batch.
pub async fn expired(db: &AnyPool, now: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT blob_id FROM blobs WHERE expires_at IS NOT NULL AND expires_at <= $1 LIMIT 200",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

/// Deletes `blob_id`'s part rows, inside the caller's transaction (the one
/// that then deletes the blob's row).
pub async fn delete_parts(conn: &mut AnyConnection, blob_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM blob_parts WHERE blob_id = $1")
        .bind(blob_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes `blob_id`'s row, inside the caller's transaction (its parts'
/// rows first: they reference it).
pub async fn delete(conn: &mut AnyConnection, blob_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM blobs WHERE blob_id = $1")
        .bind(blob_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
