//! A send on PostgreSQL in one round trip: `ward_store_message` (migration
//! 0023) runs [`super::store_in_transaction`]'s steps inside the database,
//! in their order, as the one statement's own transaction. Each statement
//! of that transaction was a round trip, and on a relay that shares its
//! cores with PostgreSQL those round trips, not the work, set how many
//! messages it stored (docs/benchmarks.md, "Relay capacity").
//!
//! Only for a message without attachments: keeping blobs takes their own
//! locks and checks, which the statement-by-statement path does.

use sqlx::{AnyPool, Row};

use super::{NewMessage, Outcome, Stored};

/// The call. Its answer: a row per current member once stored, none if the
/// epoch or the members changed; `unique_violation` if a retry got there
/// first.
const STORE_MESSAGE: &str = "SELECT stored_seq, stored_chain, recipient_id
     FROM ward_store_message($1, $2, $3, $4, $5, $6, $7)";

/// The constraint the function names when the sender's message id is
/// taken (PostgreSQL's name for `envelopes`' `UNIQUE (thread_id,
/// sender_id, message_id)`). Any other violation is a fault, not a retry.
const MESSAGE_ID_TAKEN: &str = "envelopes_thread_id_sender_id_message_id_key";

/// Stores `message` (which has no attachments) with one statement.
pub(super) async fn store(db: &AnyPool, message: &NewMessage) -> Result<Outcome, sqlx::Error> {
    // The link without its seq, which the database assigns.
    let tail = ward_seal::archive::tail(&super::link(message, 0));
    let rows = match sqlx::query(STORE_MESSAGE)
        .bind(&message.thread_id)
        .bind(message.epoch)
        .bind(&message.sender_id)
        .bind(&message.message_id)
        .bind(&message.envelope)
        .bind(message.received_at)
        .bind(tail)
        .fetch_all(db)
        .await
    {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(error))
            if error.is_unique_violation() && error.constraint() == Some(MESSAGE_ID_TAKEN) =>
        {
            return Ok(Outcome::AlreadyStored);
        }
        Err(error) => return Err(error),
    };
    let Some(first) = rows.first() else {
        return Ok(Outcome::KeysChanged);
    };
    let seq: i64 = first.try_get("stored_seq")?;
    let chain = super::chain_hash(&first.try_get::<Vec<u8>, _>("stored_chain")?)?;
    let recipients = rows
        .iter()
        .map(|row| row.try_get("recipient_id"))
        .collect::<Result<_, _>>()?;
    Ok(Outcome::Stored(Stored {
        seq,
        chain,
        recipients,
    }))
}
