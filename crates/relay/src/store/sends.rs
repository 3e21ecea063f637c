//! Storing a message: the write transaction of a send, the relay's
//! hottest write.
//!
//! In one transaction: claim the thread's next seq and inbox activity
//! (refused if the epoch moved or the sender left), chain the message onto
//! the thread's archive, insert the envelope (nothing if a retry of it got
//! there first), keep its attachments for good, and move the thread up
//! every member's inbox, naming the members to tell.
//!
//! On PostgreSQL a message without attachments is stored by one call of a
//! database function that runs these steps ([`postgres`]); one with
//! attachments by sqlx statements in a [`crate::db::begin_write`]
//! transaction, like every other write. On SQLite they run on the send
//! writer's own thread ([`writer`]), which sends queued meanwhile join:
//! with sqlx each statement is a hand-off to a connection's worker thread
//! and back, six of them while SQLite's one write lock was held, and those
//! hand-offs, not SQLite, set the most messages a relay could store
//! (docs/benchmarks.md, "Relay capacity"). Both run the same statements
//! (the constants beside each step's sqlx function).

mod postgres;
pub mod writer;

use sqlx::AnyPool;

use crate::db::{self, Backend};

/// A message to store, as the route checked it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The thread it goes to.
    pub thread_id: String,
    /// The epoch it was sealed under (must still be the thread's current one).
    pub epoch: i64,
    /// The sending account (must still be a member).
    pub sender_id: String,
    /// The client's message id.
    pub message_id: String,
    /// The envelope's wire bytes.
    pub envelope: Vec<u8>,
    /// Finalized uploads of the sender's, in order.
    pub attachments: Vec<String>,
    /// When the relay received it (Unix milliseconds).
    pub received_at: i64,
}

/// What came of a send's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored.
    Stored(Stored),
    /// The thread's epoch moved on, or the sender is no longer a member:
    /// nothing was written.
    KeysChanged,
    /// Its sender already stored a message with this id (a retry that
    /// raced this one): nothing was written.
    AlreadyStored,
    /// Attachment `position` (from 0) is not a finished, unexpired upload
    /// of the sender's: nothing was written.
    UnknownAttachment {
        /// Its place in the message's list.
        position: usize,
    },
}

/// Where a stored message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its seq in the thread.
    pub seq: i64,
    /// Its archive chain link.
    pub chain: [u8; 32],
    /// The thread's current members, to tell live.
    pub recipients: Vec<String>,
}

/// Stores `message` on `db`: through `sqlite` (the send writer of the
/// SQLite file `db` opens; see [`writer::Writer::start`]) when given, else
/// on PostgreSQL: in one call when it has no attachments, else in a
/// transaction of `db`'s own.
pub async fn store(
    db: &AnyPool,
    sqlite: Option<&writer::Writer>,
    message: NewMessage,
) -> Result<Outcome, sqlx::Error> {
    match sqlite {
        Some(writer) => writer.store(message).await,
        None if message.attachments.is_empty() && Backend::of(db) == Backend::Postgres => {
            postgres::store(db, &message).await
        }
        None => store_in_transaction(db, &message).await,
    }
}

/// The send writer `db` needs: one for a SQLite file, none for PostgreSQL.
pub fn writer_for(
    db: &AnyPool,
    data_dir: &std::path::Path,
) -> Result<Option<writer::Writer>, sqlx::Error> {
    match Backend::of(db) {
        Backend::Sqlite => writer::Writer::start(db, &data_dir.join(db::DATABASE_FILE)).map(Some),
        Backend::Postgres => Ok(None),
    }
}

/// The transaction with sqlx, on any backend: what PostgreSQL runs, and
/// what [`writer`] does on SQLite in one hand-off.
async fn store_in_transaction(db: &AnyPool, message: &NewMessage) -> Result<Outcome, sqlx::Error> {
    use crate::store;
    let mut tx = db::begin_write(db, &db::thread_scope(&message.thread_id)).await?;
    // Retention releasing one of these blobs (for a message it pruned in
    // another thread) waits for this send, and then sees its reference.
    // In one order, so two sends attaching the same blobs cannot deadlock.
    let mut blobs: Vec<&String> = message.attachments.iter().collect();
    blobs.sort_unstable();
    blobs.dedup();
    for blob_id in blobs {
        db::lock(&mut tx, &db::blob_scope(blob_id)).await?;
    }
    let Some(slot) = store::threads::claim_slot(
        &mut tx,
        &message.thread_id,
        message.epoch,
        &message.sender_id,
        message.received_at,
    )
    .await?
    else {
        return Ok(Outcome::KeysChanged);
    };
    let chain = chain(message, slot.seq, slot.prev_chain.as_deref())?;
    let inserted = store::envelopes::insert(
        &mut tx,
        store::envelopes::NewEnvelope {
            thread_id: &message.thread_id,
            seq: slot.seq,
            message_id: &message.message_id,
            sender_id: &message.sender_id,
            epoch: message.epoch,
            envelope: &message.envelope,
            received_at: message.received_at,
            activity: slot.activity,
            chain: chain.as_slice(),
        },
    )
    .await?;
    if !inserted {
        return Ok(Outcome::AlreadyStored);
    }
    for (position, blob_id) in message.attachments.iter().enumerate() {
        if !store::blobs::keep(&mut tx, blob_id, &message.sender_id, message.received_at).await? {
            return Ok(Outcome::UnknownAttachment { position });
        }
        store::attachments::add(
            &mut tx,
            &message.thread_id,
            slot.seq,
            as_i64(position),
            blob_id,
        )
        .await?;
    }
    store::archive::set_head(&mut tx, &message.thread_id, chain.as_slice()).await?;
    let recipients = store::members::move_to(&mut tx, &message.thread_id, slot.activity).await?;
    tx.commit().await?;
    Ok(Outcome::Stored(Stored {
        seq: slot.seq,
        chain,
        recipients,
    }))
}

/// `message`'s archive chain link at `seq`, after the thread's link
/// `prev` (`None`: the first).
fn chain(message: &NewMessage, seq: i64, prev: Option<&[u8]>) -> Result<[u8; 32], sqlx::Error> {
    let prev = match prev {
        None => ward_seal::archive::GENESIS,
        Some(bytes) => chain_hash(bytes)?,
    };
    Ok(ward_seal::archive::chain(&prev, &link(message, seq)))
}

/// What `message`'s archive link at `seq` covers.
fn link(message: &NewMessage, seq: i64) -> ward_seal::archive::Link<'_> {
    ward_seal::archive::Link {
        seq: u64::try_from(seq).unwrap_or(0),
        thread_id: &message.thread_id,
        sender_id: &message.sender_id,
        message_id: &message.message_id,
        envelope: &message.envelope,
        received_at: message.received_at,
    }
}

/// A chain hash read from the database.
fn chain_hash(bytes: &[u8]) -> Result<[u8; 32], sqlx::Error> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| sqlx::Error::Decode("a stored chain hash is not 32 bytes".into()))
}

fn as_i64(position: usize) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}
