//! `sealed_keys`: each thread epoch's key, sealed to each member by the
//! member who started the epoch (or shared the thread).

use sqlx::{AnyConnection, AnyPool, Row};

/// A sealed key to store.
#[derive(Debug, Clone, Copy)]
pub struct NewSealedKey<'a> {
    /// Its thread.
    pub thread_id: &'a str,
    /// Its epoch.
    pub epoch: i64,
    /// Who it is sealed to.
    pub member_id: &'a str,
    /// Who sealed it.
    pub sealer_id: &'a str,
    /// The sealed key's bytes.
    pub sealed: &'a [u8],
    /// When (Unix milliseconds).
    pub created_at: i64,
}

/// A sealed key meant for one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// Its epoch.
    pub epoch: i64,
    /// Who sealed it.
    pub sealer_id: String,
    /// The sealed key's bytes.
    pub sealed: Vec<u8>,
}

/// Stores `key`, replacing the one for the same thread, epoch and member,
/// inside the caller's transaction (the one that advances the epoch or
/// adds the member).
pub async fn put(conn: &mut AnyConnection, key: NewSealedKey<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sealed_keys (thread_id, epoch, member_id, sealer_id, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (thread_id, epoch, member_id) DO UPDATE SET sealer_id = excluded.sealer_id, sealed = excluded.sealed",
    )
    .bind(key.thread_id)
    .bind(key.epoch)
    .bind(key.member_id)
    .bind(key.sealer_id)
    .bind(key.sealed)
    .bind(key.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The keys of `thread_id` sealed to `member_id`, oldest epoch first.
pub async fn for_member(
    db: &AnyPool,
    thread_id: &str,
    member_id: &str,
) -> Result<Vec<SealedKey>, sqlx::Error> {
    sqlx::query("SELECT epoch, sealer_id, sealed FROM sealed_keys WHERE thread_id = $1 AND member_id = $2 ORDER BY epoch")
        .bind(thread_id)
        .bind(member_id)
        .fetch_all(db)
        .await?
        .iter()
        .map(|row| {
            Ok(SealedKey {
                epoch: row.try_get("epoch")?,
                sealer_id: row.try_get("sealer_id")?,
                sealed: row.try_get("sealed")?,
            })
        })
        .collect()
}
