//! `envelopes`: each thread's stored messages (ciphertext the relay cannot
//! open), numbered by `seq` within their thread. A message is read here as
//! the API serves it ([`StoredMessage`]), always through one mapping, with
//! its attachments from [`super::attachments`].

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::Bytes;
use ward_proto::threads::StoredMessage;

use super::attachments;

/// A message to store.
#[derive(Debug, Clone, Copy)]
pub struct NewEnvelope<'a> {
    /// Its thread.
    pub thread_id: &'a str,
    /// Its position in the thread (the one just claimed).
    pub seq: i64,
    /// The client's message id.
    pub message_id: &'a str,
    /// Who sent it.
    pub sender_id: &'a str,
    /// The epoch its key belongs to.
    pub epoch: i64,
    /// The envelope's bytes.
    pub envelope: &'a [u8],
    /// When the relay stored it (Unix milliseconds).
    pub received_at: i64,
    /// The thread's activity-counter value it took.
    pub activity: i64,
    /// Its archive chain link.
    pub chain: &'a [u8],
}

/// A row of `seq, message_id, sender_id, received_at, envelope, chain` as
/// the API serves it, attachments left empty (see
/// [`attachments::fill`]). The one row-to-message mapping: the pages, a
/// retry's lookup and other relays' live events all read through it.
fn message(row: &sqlx::any::AnyRow) -> Result<StoredMessage, sqlx::Error> {
    let as_u64 = |value: i64| u64::try_from(value).unwrap_or(0);
    Ok(StoredMessage {
        seq: as_u64(row.try_get("seq")?),
        message_id: row.try_get("message_id")?,
        sender_id: row.try_get("sender_id")?,
        received_at: as_u64(row.try_get("received_at")?),
        envelope: Bytes(row.try_get("envelope")?),
        attachments: Vec::new(),
        chain: row.try_get::<Option<Vec<u8>>, _>("chain")?.map(Bytes),
    })
}

/// How many messages the relay holds, for `/metrics`.
pub async fn count(db: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM envelopes")
        .fetch_one(db)
        .await
}

/// [`insert`]'s statement (SQLite's send writer runs it too).
pub(crate) const INSERT: &str = "INSERT INTO envelopes (thread_id, seq, message_id, sender_id, epoch, envelope, received_at, activity, chain)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (thread_id, sender_id, message_id) DO NOTHING";

/// Stores `envelope`, inside the caller's transaction (the one that
/// claimed its seq); `false` if its sender already stored a message with
/// this id (a retry that raced this one: nothing written).
pub async fn insert(
    conn: &mut AnyConnection,
    envelope: NewEnvelope<'_>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(INSERT)
        .bind(envelope.thread_id)
        .bind(envelope.seq)
        .bind(envelope.message_id)
        .bind(envelope.sender_id)
        .bind(envelope.epoch)
        .bind(envelope.envelope)
        .bind(envelope.received_at)
        .bind(envelope.activity)
        .bind(envelope.chain)
        .execute(&mut *conn)
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The message `sender_id` stored in `thread_id` with `message_id`, with
/// its attachments: what a retry of it is answered with.
pub async fn find(
    db: &AnyPool,
    thread_id: &str,
    sender_id: &str,
    message_id: &str,
) -> Result<Option<StoredMessage>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT seq, message_id, sender_id, received_at, envelope, chain FROM envelopes
         WHERE thread_id = $1 AND sender_id = $2 AND message_id = $3",
    )
    .bind(thread_id)
    .bind(sender_id)
    .bind(message_id)
    .fetch_optional(db)
    .await?;
    with_attachments(db, thread_id, row).await
}

/// Message `seq` of `thread_id`, with its attachments, as the message
/// pages serve it (`None`: no such message, or retention deleted it).
pub async fn at(
    db: &AnyPool,
    thread_id: &str,
    seq: u64,
) -> Result<Option<StoredMessage>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT seq, message_id, sender_id, received_at, envelope, chain FROM envelopes
         WHERE thread_id = $1 AND seq = $2",
    )
    .bind(thread_id)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .fetch_optional(db)
    .await?;
    with_attachments(db, thread_id, row).await
}

/// One found row as a message with its attachments.
async fn with_attachments(
    db: &AnyPool,
    thread_id: &str,
    row: Option<sqlx::any::AnyRow>,
) -> Result<Option<StoredMessage>, sqlx::Error> {
    let Some(row) = row else {
        return Ok(None);
    };
    let mut found = message(&row)?;
    attachments::fill(db, thread_id, std::slice::from_mut(&mut found)).await?;
    Ok(Some(found))
}

/// The oldest messages after a sequence number (thread, after, limit).
const PAGE_AFTER: &str =
    "SELECT seq, message_id, sender_id, received_at, envelope, chain FROM envelopes
     WHERE thread_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

/// The newest messages before a sequence number, newest first (thread,
/// before, limit): walks the `(thread_id, seq)` primary key backward, so a
/// page costs the same at the end of a 10 000-message thread as at its start.
const PAGE_BEFORE: &str =
    "SELECT seq, message_id, sender_id, received_at, envelope, chain FROM envelopes
     WHERE thread_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3";

/// Up to `limit` of `thread_id`'s oldest messages with `seq` above `after`,
/// oldest first, attachments left empty (the caller fills in those of the
/// ones it serves).
pub async fn after(
    db: &AnyPool,
    thread_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredMessage>, sqlx::Error> {
    page(db, PAGE_AFTER, thread_id, after, limit).await
}

/// Up to `limit` of `thread_id`'s newest messages with `seq` below
/// `before`, newest first, attachments left empty (the caller fills in
/// those of the ones it serves).
pub async fn before(
    db: &AnyPool,
    thread_id: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<StoredMessage>, sqlx::Error> {
    page(db, PAGE_BEFORE, thread_id, before, limit).await
}

async fn page(
    db: &AnyPool,
    sql: &'static str,
    thread_id: &str,
    from: i64,
    limit: i64,
) -> Result<Vec<StoredMessage>, sqlx::Error> {
    sqlx::query(sql)
        .bind(thread_id)
        .bind(from)
        .bind(limit)
        .fetch_all(db)
        .await?
        .iter()
        .map(message)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Both paging queries walk the envelopes' `(thread_id, seq)` primary
    /// key: no table scan, no sort of the thread's messages.
    #[tokio::test]
    async fn message_pages_use_the_thread_seq_index() {
        let (_data, db) = crate::store::query_plans::scratch().await;
        for sql in [PAGE_AFTER, PAGE_BEFORE] {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let query = sqlx::query(&explain).bind("thr_x").bind(5_i64).bind(51_i64);
            let plan = crate::store::query_plans::steps(&db, query).await;
            assert!(
                plan.iter()
                    .any(|step| step.starts_with("SEARCH envelopes USING INDEX")
                        && step.contains("(thread_id=? AND seq")),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|step| step.contains("TEMP B-TREE") || step.starts_with("SCAN")),
                "{sql}: {plan:?}"
            );
        }
    }
}

/// What a send must know before it stores anything, read in one statement
/// (a send is the relay's hottest path: each statement is a round trip).
#[derive(Debug, Clone, Copy)]
pub struct SendChecks {
    /// The thread's current epoch (`None` before its first key).
    pub current_epoch: Option<i64>,
    /// Whether the sender has a key for the envelope's epoch.
    pub has_key: bool,
    /// The sender already stored a message with this id (a retry, or a
    /// reused id): read it with [`find`].
    pub already_stored: bool,
    /// A member left (or their grant ended) since the current epoch began:
    /// nothing more may be sealed under it.
    pub needs_rekey: bool,
    /// The thread's patient, or the sender, withdrew their consent to
    /// messaging: nothing more is sent.
    pub consent_withdrawn: bool,
    /// The sender is the one who withdrew.
    pub sender_withdrew: bool,
}

/// The checks before `sender_id` stores `message_id` sealed under `epoch`
/// in `thread_id`; `None` if the sender is not a current member.
pub async fn send_checks(
    db: &AnyPool,
    thread_id: &str,
    sender_id: &str,
    epoch: i64,
    message_id: &str,
) -> Result<Option<SendChecks>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT t.current_epoch, t.needs_rekey,
            (SELECT COUNT(*) > 0 FROM sealed_keys k
              WHERE k.thread_id = $1 AND k.epoch = $3 AND k.member_id = $2) AS has_key,
            (SELECT COUNT(*) > 0 FROM envelopes e
              WHERE e.thread_id = $1 AND e.sender_id = $2 AND e.message_id = $4) AS already_stored,
            (SELECT COUNT(*) > 0 FROM thread_members p
              JOIN account_consent c ON c.account_id = p.account_id
              WHERE p.thread_id = $1 AND p.role = 'patient' AND c.withdrawn_at IS NOT NULL) AS patient_withdrew,
            (SELECT COUNT(*) > 0 FROM account_consent c
              WHERE c.account_id = $2 AND c.withdrawn_at IS NOT NULL) AS sender_withdrew
         FROM thread_members m JOIN threads t ON t.thread_id = m.thread_id
         WHERE m.thread_id = $1 AND m.account_id = $2 AND m.removed_at IS NULL",
    )
    .bind(thread_id)
    .bind(sender_id)
    .bind(epoch)
    .bind(message_id)
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(SendChecks {
            current_epoch: row.try_get("current_epoch")?,
            needs_rekey: row.try_get::<crate::db::Flag, _>("needs_rekey")?.0,
            has_key: row.try_get::<crate::db::Flag, _>("has_key")?.0,
            already_stored: row.try_get::<crate::db::Flag, _>("already_stored")?.0,
            consent_withdrawn: row.try_get::<crate::db::Flag, _>("patient_withdrew")?.0
                || row.try_get::<crate::db::Flag, _>("sender_withdrew")?.0,
            sender_withdrew: row.try_get::<crate::db::Flag, _>("sender_withdrew")?.0,
        })
    })
    .transpose()
}
