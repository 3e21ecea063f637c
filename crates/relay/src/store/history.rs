//! `account_events` and `bundle_history`: the two append-only, hash-chained
//! histories (see [`crate::history`], which computes the links). Rows are
//! only ever read or appended here: triggers refuse UPDATE and DELETE.

use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::account::AccountEventKind;

use crate::db::Text;

/// The newest link of a chain: what the next one hashes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Its position, from 0.
    pub seq: i64,
    /// Its hash (32 bytes, unless the row is damaged: the caller checks).
    pub hash: Vec<u8>,
}

/// An account event to append.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// Whose history.
    pub account_id: &'a str,
    /// Its position (the last one's plus one, or 0).
    pub seq: i64,
    /// What happened.
    pub kind: AccountEventKind,
    /// When (Unix milliseconds).
    pub at: i64,
    /// The session that did it.
    pub session_id: Option<&'a str>,
    /// More about it.
    pub detail: Option<&'a str>,
    /// Its link hash over the previous one.
    pub hash: &'a [u8],
}

/// A stored account event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its position in the account's history.
    pub seq: i64,
    /// What happened.
    pub kind: AccountEventKind,
    /// When (Unix milliseconds).
    pub at: i64,
    /// The session that did it.
    pub session_id: Option<String>,
    /// More about it.
    pub detail: Option<String>,
    /// Its link hash.
    pub hash: Vec<u8>,
}

/// A key-history entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry {
    /// Its position in the account's key history.
    pub seq: i64,
    /// The public bundle's bytes.
    pub bundle: Vec<u8>,
    /// Its link hash.
    pub hash: Vec<u8>,
    /// When (Unix milliseconds).
    pub published_at: i64,
}

/// A bundle published before key histories existed, still to be copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unchained {
    /// Whose.
    pub account_id: String,
    /// The bundle.
    pub bundle: Vec<u8>,
    /// When it was published (Unix milliseconds).
    pub published_at: i64,
}

/// The last link of `account_id`'s event chain, read inside the caller's
/// transaction (which holds the account's lock, so it stays the last).
pub async fn last_event(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<Link>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT seq, hash FROM account_events WHERE account_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(Link {
            seq: row.try_get("seq")?,
            hash: row.try_get("hash")?,
        })
    })
    .transpose()
}

/// Appends `event`, inside the caller's transaction.
pub async fn append_event(
    conn: &mut AnyConnection,
    event: NewEvent<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO account_events (account_id, seq, kind, at, session_id, detail, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.account_id)
    .bind(event.seq)
    .bind(Text(event.kind))
    .bind(event.at)
    .bind(event.session_id)
    .bind(event.detail)
    .bind(event.hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn event(row: &sqlx::any::AnyRow) -> Result<Event, sqlx::Error> {
    Ok(Event {
        seq: row.try_get("seq")?,
        kind: row.try_get::<Text<AccountEventKind>, _>("kind")?.0,
        at: row.try_get("at")?,
        session_id: row.try_get("session_id")?,
        detail: row.try_get("detail")?,
        hash: row.try_get("hash")?,
    })
}

/// `account_id`'s newest `limit` events with a seq below `before` (`None`:
/// from the newest), newest first.
pub async fn events(
    db: &AnyPool,
    account_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, kind, at, session_id, detail, hash FROM account_events
         WHERE account_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db)
    .await?
    .iter()
    .map(event)
    .collect()
}

/// `account_id`'s newest `limit` events of `kind`, newest first.
pub async fn events_of_kind(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    account_id: &str,
    kind: AccountEventKind,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, kind, at, session_id, detail, hash FROM account_events
         WHERE account_id = $1 AND kind = $2 ORDER BY seq DESC LIMIT $3",
    )
    .bind(account_id)
    .bind(Text(kind))
    .bind(limit)
    .fetch_all(db)
    .await?
    .iter()
    .map(event)
    .collect()
}

/// Whether `account_id`'s log has an event of `kind` made by session
/// `session_id`.
pub async fn has_from_session(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    account_id: &str,
    kind: AccountEventKind,
    session_id: &str,
) -> Result<bool, sqlx::Error> {
    let crate::db::Flag(found) = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM account_events
         WHERE account_id = $1 AND kind = $2 AND session_id = $3",
    )
    .bind(account_id)
    .bind(Text(kind))
    .bind(session_id)
    .fetch_one(db)
    .await?;
    Ok(found)
}

/// The newest entry of `account_id`'s key history with its bundle, inside
/// the caller's transaction (to compare with, and to chain onto).
pub async fn last_bundle(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<(Link, Vec<u8>)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT seq, hash, bundle FROM bundle_history WHERE account_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok((
            Link {
                seq: row.try_get("seq")?,
                hash: row.try_get("hash")?,
            },
            row.try_get("bundle")?,
        ))
    })
    .transpose()
}

/// Appends a key-history entry, inside the caller's transaction.
pub async fn append_bundle(
    conn: &mut AnyConnection,
    account_id: &str,
    entry: &BundleEntry,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO bundle_history (account_id, seq, bundle, hash, published_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account_id)
    .bind(entry.seq)
    .bind(entry.bundle.as_slice())
    .bind(entry.hash.as_slice())
    .bind(entry.published_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn entry(row: &sqlx::any::AnyRow) -> Result<BundleEntry, sqlx::Error> {
    Ok(BundleEntry {
        seq: row.try_get("seq")?,
        bundle: row.try_get("bundle")?,
        hash: row.try_get("hash")?,
        published_at: row.try_get("published_at")?,
    })
}

/// `account_id`'s current bundle: the newest entry of its key history.
pub async fn current_bundle(
    db: &AnyPool,
    account_id: &str,
) -> Result<Option<BundleEntry>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, bundle, hash, published_at FROM bundle_history
         WHERE account_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(entry)
    .transpose()
}

/// `account_id`'s whole key history, oldest first.
pub async fn bundles(db: &AnyPool, account_id: &str) -> Result<Vec<BundleEntry>, sqlx::Error> {
    sqlx::query(
        "SELECT seq, bundle, hash, published_at FROM bundle_history
         WHERE account_id = $1 ORDER BY seq",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?
    .iter()
    .map(entry)
    .collect()
}

/// Bundles whose account has no key history yet (published by a relay
/// older than key histories).
pub async fn unchained(db: &AnyPool) -> Result<Vec<Unchained>, sqlx::Error> {
    sqlx::query(
        "SELECT account_id, bundle, published_at FROM bundles b
         WHERE NOT EXISTS (SELECT 1 FROM bundle_history h WHERE h.account_id = b.account_id)",
    )
    .fetch_all(db)
    .await?
    .iter()
    .map(|row| {
        Ok(Unchained {
            account_id: row.try_get("account_id")?,
            bundle: row.try_get("bundle")?,
            published_at: row.try_get("published_at")?,
        })
    })
    .collect()
}

/// Writes `bundle` as seq 0 of `account_id`'s key history unless it has
/// one (another relay may be copying too); how many rows it wrote.
pub async fn chain_first(
    db: &AnyPool,
    account_id: &str,
    bundle: &[u8],
    hash: &[u8],
    published_at: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO bundle_history (account_id, seq, bundle, hash, published_at)
         VALUES ($1, 0, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .bind(bundle)
    .bind(hash)
    .bind(published_at)
    .execute(db)
    .await?
    .rows_affected())
}
