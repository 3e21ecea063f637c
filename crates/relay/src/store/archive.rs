//! Each thread's archive chain as stored: `envelopes.chain` (every
//! message's link) and `threads.head_chain` / `pruned_chain` (where the
//! chain stands and where retention cut it). [`crate::archive`] computes
//! the links.

use sqlx::{AnyConnection, AnyPool, Row};

/// A stored message as its chain link covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its position in the thread.
    pub seq: i64,
    /// The client's message id.
    pub message_id: String,
    /// Who sent it.
    pub sender_id: String,
    /// The envelope's bytes.
    pub envelope: Vec<u8>,
    /// When the relay stored it (Unix milliseconds).
    pub received_at: i64,
    /// Its link, if it has one yet.
    pub chain: Option<Vec<u8>>,
}

/// Where a thread's chain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The last message's seq (0: none yet).
    pub last_seq: i64,
    /// The last message's link (`None`: no message chained yet).
    pub head_chain: Option<Vec<u8>>,
    /// The last seq retention deleted (0: none).
    pub pruned_through_seq: i64,
    /// That message's link (`None`: nothing pruned).
    pub pruned_chain: Option<Vec<u8>>,
}

/// The threads with a message not chained yet (stored by a relay older
/// than the chain).
pub async fn unchained_threads(db: &AnyPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT thread_id FROM envelopes WHERE chain IS NULL")
        .fetch_all(db)
        .await
}

/// The link retention cut `thread_id`'s chain at (`None`: never pruned),
/// inside the caller's transaction: where a backfill starts from.
pub async fn pruned_chain(
    conn: &mut AnyConnection,
    thread_id: &str,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT pruned_chain FROM threads WHERE thread_id = $1")
        .bind(thread_id)
        .fetch_one(&mut *conn)
        .await
}

/// Every stored message of `thread_id`, in seq order, inside the caller's
/// transaction (the backfill, which chains them in that order).
pub async fn messages(
    conn: &mut AnyConnection,
    thread_id: &str,
) -> Result<Vec<Message>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, message_id, sender_id, envelope, received_at, chain FROM envelopes
         WHERE thread_id = $1 ORDER BY seq",
    )
    .bind(thread_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(Message {
            seq: row.try_get("seq")?,
            message_id: row.try_get("message_id")?,
            sender_id: row.try_get("sender_id")?,
            envelope: row.try_get("envelope")?,
            received_at: row.try_get("received_at")?,
            chain: row.try_get("chain")?,
        })
    })
    .collect()
}

/// Sets message `seq`'s link, inside the caller's transaction.
pub async fn set_chain(
    conn: &mut AnyConnection,
    thread_id: &str,
    seq: i64,
    chain: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE envelopes SET chain = $1 WHERE thread_id = $2 AND seq = $3")
        .bind(chain)
        .bind(thread_id)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`set_head`]'s statement (SQLite's send writer runs it too).
pub(crate) const SET_HEAD: &str = "UPDATE threads SET head_chain = $1 WHERE thread_id = $2";

/// Makes `chain` `thread_id`'s head (its newest message's link), inside
/// the caller's transaction (the one that stored or chained that message).
pub async fn set_head(
    conn: &mut AnyConnection,
    thread_id: &str,
    chain: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(SET_HEAD)
        .bind(chain)
        .bind(thread_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Where `thread_id`'s chain stands (the thread must exist).
pub async fn head(db: &AnyPool, thread_id: &str) -> Result<Head, sqlx::Error> {
    let row = sqlx::query(
        "SELECT last_seq, head_chain, pruned_through_seq, pruned_chain FROM threads WHERE thread_id = $1",
    )
    .bind(thread_id)
    .fetch_one(db)
    .await?;
    Ok(Head {
        last_seq: row.try_get("last_seq")?,
        head_chain: row.try_get("head_chain")?,
        pruned_through_seq: row.try_get("pruned_through_seq")?,
        pruned_chain: row.try_get("pruned_chain")?,
    })
}
