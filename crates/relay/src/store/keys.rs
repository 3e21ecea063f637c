//! `bundles` (each account's current public bundle), `key_challenges`
//! (the clinic agent's sign-in by account key), and who may see whose keys.

use sqlx::{AnyConnection, AnyPool, Row};

use crate::db::Flag;

/// A key challenge taken for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The account that must sign it.
    pub account_id: String,
    /// The random bytes to sign.
    pub challenge: Vec<u8>,
}

/// Makes `bundle` `account_id`'s current one, inside the caller's
/// transaction (which appends it to the key history in the same step).
pub async fn put_bundle(
    conn: &mut AnyConnection,
    account_id: &str,
    bundle: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO bundles (account_id, bundle, published_at) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET bundle = excluded.bundle, published_at = excluded.published_at",
    )
    .bind(account_id)
    .bind(bundle)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `account_id`'s current bundle's bytes, if it published one.
pub async fn bundle(db: &AnyPool, account_id: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT bundle FROM bundles WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(db)
        .await
}

/// Stores a challenge for `account_id` to sign before `expires_at`.
pub async fn add_challenge(
    db: &AnyPool,
    challenge_id: &str,
    account_id: &str,
    challenge: &[u8],
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO key_challenges (challenge_id, account_id, challenge, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(challenge_id)
        .bind(account_id)
        .bind(challenge)
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes and returns a live challenge: single use, in one statement, so
/// two sign-ins can never both verify against it.
pub async fn take_challenge(
    db: &AnyPool,
    challenge_id: &str,
    now: i64,
) -> Result<Option<Challenge>, sqlx::Error> {
    sqlx::query(
        "DELETE FROM key_challenges WHERE challenge_id = $1 AND expires_at > $2
         RETURNING account_id, challenge",
    )
    .bind(challenge_id)
    .bind(now)
    .fetch_optional(db)
    .await?
    .map(|row| {
        Ok(Challenge {
            account_id: row.try_get("account_id")?,
            challenge: row.try_get("challenge")?,
        })
    })
    .transpose()
}

/// Everyone sharing a live thread membership with `account_id`: who is told
/// when its keys change.
pub async fn thread_mates(db: &AnyPool, account_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT theirs.account_id FROM thread_members mine
         JOIN thread_members theirs ON theirs.thread_id = mine.thread_id
         WHERE mine.account_id = $1 AND theirs.account_id != $1
           AND mine.removed_at IS NULL AND theirs.removed_at IS NULL",
    )
    .bind(account_id)
    .fetch_all(db)
    .await
}

/// Whether `caller` may see `account_id`'s keys: their own, a clinic's, an
/// account in (or once in) a thread the caller is in now, or a caregiver
/// linked to them (either way, not removed): a patient seals a thread's
/// keys to a caregiver before they share any thread, and the messages a
/// removed caregiver wrote are still checked against their keys by those
/// who read the thread. One statement, so the rule is read in one place.
pub async fn visible(db: &AnyPool, caller: &str, account_id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Flag>(
        "SELECT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = $1 AND (
             $1 = $2 OR a.kind = 'clinic' OR EXISTS (
                 SELECT 1 FROM thread_members mine JOIN thread_members theirs ON theirs.thread_id = mine.thread_id
                 WHERE mine.account_id = $2 AND theirs.account_id = $1
                   AND mine.removed_at IS NULL
             ) OR EXISTS (
                 SELECT 1 FROM caregiver_links l WHERE l.revoked_at IS NULL
                   AND ((l.patient_id = $2 AND l.caregiver_id = $1)
                     OR (l.patient_id = $1 AND l.caregiver_id = $2))
             )))",
    )
    .bind(account_id)
    .bind(caller)
    .fetch_one(db)
    .await?
    .0)
}

/// Deletes the key challenges that expired at or before `now` (the sweep:
/// a used one was deleted when used); how many.
pub async fn delete_expired_challenges(db: &AnyPool, now: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM key_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
