//! Read and delivery marks (`thread_members.last_read_seq`,
//! `last_delivered_seq`): how far each member has read. A mark only moves
//! forward.

use sqlx::AnyPool;

/// Moves `account_id`'s read mark in `thread_id` to `up_to` (read at
/// `now`), and the delivered mark with it, if that is forward; whether it
/// moved.
pub async fn read(
    db: &AnyPool,
    thread_id: &str,
    account_id: &str,
    up_to: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE thread_members SET last_read_seq = $1, last_read_at = $2,
             last_delivered_seq = CASE WHEN last_delivered_seq > $1 THEN last_delivered_seq ELSE $1 END
         WHERE thread_id = $3 AND account_id = $4 AND last_read_seq < $1",
    )
    .bind(up_to)
    .bind(now)
    .bind(thread_id)
    .bind(account_id)
    .execute(db)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Moves `account_id`'s delivered mark in `thread_id` to `up_to` if that is
/// forward; whether it moved.
pub async fn delivered(
    db: &AnyPool,
    thread_id: &str,
    account_id: &str,
    up_to: i64,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE thread_members SET last_delivered_seq = $1
         WHERE thread_id = $2 AND account_id = $3 AND last_delivered_seq < $1",
    )
    .bind(up_to)
    .bind(thread_id)
    .bind(account_id)
    .execute(db)
    .await?;
    Ok(moved.rows_affected() == 1)
}
