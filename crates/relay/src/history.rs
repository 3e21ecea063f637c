//! The relay's two append-only, hash-chained histories: each account's key
//! bundles (`bundle_history`, served to whoever may fetch the bundle, and
//! checked by every client that pins it) and each account's security events
//! (`account_events`, served to the account itself).
//!
//! Both tables refuse UPDATE and DELETE (triggers in migration 0009); rows
//! are only ever appended here, inside a write transaction ([`crate::db::begin_write`]) so the
//! next seq and the previous hash are read under the write lock.

use sqlx::{AnyConnection, AnyPool};
use ward_proto::account::AccountEventKind;
use ward_seal::key_history::{self, GENESIS};

use crate::error::ApiError;
use crate::secrets::now_ms;
use crate::store;

/// An account event's link (crypto.md §9c), computed by the same function
/// every reader verifies with.
pub fn event_hash(
    prev: &[u8; 32],
    seq: u64,
    kind: AccountEventKind,
    at: i64,
    session_id: Option<&str>,
    detail: Option<&str>,
) -> [u8; 32] {
    ward_seal::account_log::entry_hash(prev, seq, kind.name(), at, session_id, detail)
}

/// The last (seq, hash) of a chain.
fn last_of(link: Option<store::history::Link>) -> Result<Option<(i64, [u8; 32])>, ApiError> {
    link.map(|link| {
        let hash = <[u8; 32]>::try_from(link.hash.as_slice())
            .map_err(|_| ApiError::internal("history", &"a stored hash is not 32 bytes"))?;
        Ok((link.seq, hash))
    })
    .transpose()
}

/// Appends an event to `account_id`'s history, inside the caller's
/// transaction, which holds the account's write lock from here on
/// ([`crate::db::lock`]): the next link is read and written in one step.
pub async fn record_in(
    conn: &mut AnyConnection,
    account_id: &str,
    kind: AccountEventKind,
    session_id: Option<&str>,
    detail: Option<&str>,
) -> Result<(), ApiError> {
    crate::db::lock(conn, account_id).await?;
    let last = last_of(store::history::last_event(conn, account_id).await?)?;
    let (seq, prev) = last.map_or((0, GENESIS), |(seq, hash)| (seq + 1, hash));
    let at = now_ms();
    let hash = event_hash(
        &prev,
        u64::try_from(seq).unwrap_or(0),
        kind,
        at,
        session_id,
        detail,
    );
    store::history::append_event(
        conn,
        store::history::NewEvent {
            account_id,
            seq,
            kind,
            at,
            session_id,
            detail,
            hash: &hash,
        },
    )
    .await?;
    Ok(())
}

/// Appends an event to `account_id`'s history in a transaction of its own.
pub async fn record(
    db: &AnyPool,
    account_id: &str,
    kind: AccountEventKind,
    session_id: Option<&str>,
    detail: Option<&str>,
) -> Result<(), ApiError> {
    let mut tx = crate::db::begin_write(db, account_id).await?;
    record_in(&mut tx, account_id, kind, session_id, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// What publishing a bundle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// The same bytes as the current bundle: nothing changed.
    Unchanged,
    /// The account's first bundle (seq 0).
    First,
    /// A different bundle, appended at this seq (1 or more).
    Changed(u64),
}

/// Appends `bundle` to `account_id`'s key history unless it equals the
/// current one, keeps `bundles` in step, and records the account event, all
/// in one transaction.
pub async fn publish_bundle(
    db: &AnyPool,
    account_id: &str,
    session_id: &str,
    bundle: &[u8],
) -> Result<Published, ApiError> {
    let mut tx = crate::db::begin_write(db, account_id).await?;
    let last = store::history::last_bundle(&mut tx, account_id).await?;
    let last = match last {
        Some((_, current)) if current == bundle => return Ok(Published::Unchanged),
        last => last_of(last.map(|(link, _)| link))?,
    };
    let (seq, prev) = last.map_or((0, GENESIS), |(seq, hash)| (seq + 1, hash));
    let seq_u64 = u64::try_from(seq).unwrap_or(0);
    let hash = key_history::entry_hash(&prev, seq_u64, bundle);
    let now = now_ms();
    store::history::append_bundle(
        &mut tx,
        account_id,
        &store::history::BundleEntry {
            seq,
            bundle: bundle.to_vec(),
            hash: hash.to_vec(),
            published_at: now,
        },
    )
    .await?;
    store::keys::put_bundle(&mut tx, account_id, bundle, now).await?;
    let (kind, published) = if seq == 0 {
        (AccountEventKind::BundlePublished, Published::First)
    } else {
        (AccountEventKind::BundleChanged, Published::Changed(seq_u64))
    };
    let detail = format!("key history seq {seq}");
    record_in(&mut tx, account_id, kind, Some(session_id), Some(&detail)).await?;
    tx.commit().await?;
    Ok(published)
}

/// Copies every bundle published before key histories existed into its
/// account's history as seq 0 (the hash needs SHA-256, which the migration
/// cannot compute). Runs at every start; does nothing once done.
pub async fn backfill(db: &AnyPool) -> Result<u64, sqlx::Error> {
    let mut copied = 0;
    for old in store::history::unchained(db).await? {
        let hash = key_history::entry_hash(&GENESIS, 0, &old.bundle);
        copied += store::history::chain_first(
            db,
            &old.account_id,
            &old.bundle,
            hash.as_slice(),
            old.published_at,
        )
        .await?;
    }
    Ok(copied)
}
