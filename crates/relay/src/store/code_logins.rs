//! `code_logins`: the fallback sign-in's emailed codes, each counting its
//! own guesses.

use sqlx::{AnyPool, Row};

use crate::db::Flag;

/// How a guess at a code sign-in went, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guess {
    /// The right code: the sign-in is used up now. Its account, if the
    /// contact had one.
    Right(Option<String>),
    /// Counted, and wrong; the sign-in's account, if the contact had one.
    Wrong(Option<String>),
    /// No live sign-in with guesses left (unknown, expired, used, or five
    /// guesses spent): nothing counted.
    Spent,
}

/// Stores a code sign-in (for a contact without an account too, so the
/// answer reveals nothing).
pub async fn insert(
    db: &AnyPool,
    login_id: &str,
    account_id: Option<&str>,
    code_hash: &[u8],
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO code_logins (login_id, account_id, code_hash, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(login_id)
    .bind(account_id)
    .bind(code_hash)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Counts a guess at `login_id`'s code in the statement that compares it
/// with `typed_hash` (at most five per code); the right one uses the
/// sign-in up, so parallel right guesses get exactly one `Right`.
pub async fn guess(
    db: &AnyPool,
    login_id: &str,
    typed_hash: &[u8],
    now: i64,
) -> Result<Guess, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE code_logins SET
             attempts = attempts + 1,
             used_at = CASE WHEN code_hash = $3 THEN $2 ELSE used_at END
         WHERE login_id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < 5
         RETURNING account_id, used_at IS NOT NULL AS matched",
    )
    .bind(login_id)
    .bind(now)
    .bind(typed_hash)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Ok(Guess::Spent);
    };
    let account = row.try_get("account_id")?;
    Ok(if row.try_get::<Flag, _>("matched")?.0 {
        Guess::Right(account)
    } else {
        Guess::Wrong(account)
    })
}

/// Deletes the code sign-ins that expired at or before `cutoff` (the sweep
/// keeps them a while for incident logs); how many.
pub async fn delete_expired(db: &AnyPool, cutoff: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM code_logins WHERE expires_at <= $1")
            .bind(cutoff)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
