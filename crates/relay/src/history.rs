//! The relay's two append-only, hash-chained histories: each account's key
//! bundles (`bundle_history`, served to whoever may fetch the bundle, and
//! checked by every client that pins it) and each account's security events
//! (`account_events`, served to the account itself).
//!
//! Both tables refuse UPDATE and DELETE (triggers in migration 0009); rows
//! are only ever appended here, inside a write transaction ([`crate::db::begin_write`]) so the
//! next seq and the previous hash are read under the write lock.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyPool, Row};
use ward_proto::account::AccountEventKind;
use ward_seal::key_history::{self, GENESIS};

use crate::error::ApiError;
use crate::secrets::now_ms;

/// The domain label of an account event's hash.
const EVENT_LABEL: &[u8] = b"ward account event v1";

/// The column value of `kind`.
pub fn kind_name(kind: AccountEventKind) -> &'static str {
    match kind {
        AccountEventKind::BundlePublished => "bundle_published",
        AccountEventKind::BundleChanged => "bundle_changed",
        AccountEventKind::VaultChanged => "vault_changed",
        AccountEventKind::PasskeyAdded => "passkey_added",
        AccountEventKind::PasskeyRemoved => "passkey_removed",
        AccountEventKind::TotpEnabled => "totp_enabled",
        AccountEventKind::TotpDisabled => "totp_disabled",
        AccountEventKind::SignedIn => "signed_in",
        AccountEventKind::SessionRevoked => "session_revoked",
        AccountEventKind::CaregiverInvited => "caregiver_invited",
        AccountEventKind::ThreadShared => "thread_shared",
    }
}

/// The kind named by a column value.
pub fn kind_from_name(name: &str) -> Option<AccountEventKind> {
    Some(match name {
        "bundle_published" => AccountEventKind::BundlePublished,
        "bundle_changed" => AccountEventKind::BundleChanged,
        "vault_changed" => AccountEventKind::VaultChanged,
        "passkey_added" => AccountEventKind::PasskeyAdded,
        "passkey_removed" => AccountEventKind::PasskeyRemoved,
        "totp_enabled" => AccountEventKind::TotpEnabled,
        "totp_disabled" => AccountEventKind::TotpDisabled,
        "signed_in" => AccountEventKind::SignedIn,
        "session_revoked" => AccountEventKind::SessionRevoked,
        "caregiver_invited" => AccountEventKind::CaregiverInvited,
        "thread_shared" => AccountEventKind::ThreadShared,
        _ => return None,
    })
}

/// `u32 length || bytes`, or `0xFFFFFFFF` for none: an optional text field
/// of an event's hash, unambiguous.
fn put_optional(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        Some(text) => {
            let len = u32::try_from(text.len()).unwrap_or(u32::MAX - 1);
            hasher.update(len.to_be_bytes());
            hasher.update(text.as_bytes());
        }
        None => hasher.update(u32::MAX.to_be_bytes()),
    }
}

/// SHA-256("ward account event v1" || prev [32] || seq u64 || kind ||
/// at i64 || session_id || detail), text fields as [`put_optional`].
pub fn event_hash(
    prev: &[u8; 32],
    seq: u64,
    kind: AccountEventKind,
    at: i64,
    session_id: Option<&str>,
    detail: Option<&str>,
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(EVENT_LABEL);
    hasher.update(prev);
    hasher.update(seq.to_be_bytes());
    put_optional(&mut hasher, Some(kind_name(kind)));
    hasher.update(at.to_be_bytes());
    put_optional(&mut hasher, session_id);
    put_optional(&mut hasher, detail);
    hasher.finalize().into()
}

/// The last (seq, hash) of a chain, from a row of `seq, hash`.
fn last_of(row: Option<sqlx::any::AnyRow>) -> Result<Option<(i64, [u8; 32])>, ApiError> {
    row.map(|row| {
        let hash: Vec<u8> = row.get("hash");
        let hash = <[u8; 32]>::try_from(hash.as_slice())
            .map_err(|_| ApiError::internal("history", &"a stored hash is not 32 bytes"))?;
        Ok((row.get::<i64, _>("seq"), hash))
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
    let last = last_of(
        sqlx::query(
            "SELECT seq, hash FROM account_events WHERE account_id = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?,
    )?;
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
    sqlx::query(
        "INSERT INTO account_events (account_id, seq, kind, at, session_id, detail, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(account_id)
    .bind(seq)
    .bind(kind_name(kind))
    .bind(at)
    .bind(session_id)
    .bind(detail)
    .bind(hash.as_slice())
    .execute(&mut *conn)
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
    let last = sqlx::query(
        "SELECT seq, hash, bundle FROM bundle_history WHERE account_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = &last
        && row.get::<Vec<u8>, _>("bundle") == bundle
    {
        return Ok(Published::Unchanged);
    }
    let last = last_of(last)?;
    let (seq, prev) = last.map_or((0, GENESIS), |(seq, hash)| (seq + 1, hash));
    let seq_u64 = u64::try_from(seq).unwrap_or(0);
    let hash = key_history::entry_hash(&prev, seq_u64, bundle);
    let now = now_ms();
    sqlx::query(
        "INSERT INTO bundle_history (account_id, seq, bundle, hash, published_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account_id)
    .bind(seq)
    .bind(bundle)
    .bind(hash.as_slice())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO bundles (account_id, bundle, published_at) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET bundle = excluded.bundle, published_at = excluded.published_at",
    )
    .bind(account_id)
    .bind(bundle)
    .bind(now)
    .execute(&mut *tx)
    .await?;
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
    let rows = sqlx::query(
        "SELECT account_id, bundle, published_at FROM bundles b
         WHERE NOT EXISTS (SELECT 1 FROM bundle_history h WHERE h.account_id = b.account_id)",
    )
    .fetch_all(db)
    .await?;
    let mut copied = 0;
    for row in rows {
        let bundle: Vec<u8> = row.get("bundle");
        let hash = key_history::entry_hash(&GENESIS, 0, &bundle);
        copied += sqlx::query(
            "INSERT INTO bundle_history (account_id, seq, bundle, hash, published_at)
             VALUES ($1, 0, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(row.get::<String, _>("account_id"))
        .bind(&bundle)
        .bind(hash.as_slice())
        .bind(row.get::<i64, _>("published_at"))
        .execute(db)
        .await?
        .rows_affected();
    }
    Ok(copied)
}
