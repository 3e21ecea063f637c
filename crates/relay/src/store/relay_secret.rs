//! `relay_secret` (which secret this database belongs to), and the one-off
//! upgrade of what an older relay stored unprotected (see
//! [`crate::relay_secret::RelaySecret::bind_database`]). Everything here
//! runs inside that function's one transaction.

use sqlx::{AnyConnection, Row};
use zeroize::Zeroizing;

/// A table holding one-time codes by hash, keyed by its own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeTable {
    /// `enrollments`, by `enrollment_id`.
    Enrollments,
    /// `code_logins`, by `login_id`.
    CodeLogins,
}

impl CodeTable {
    /// Both tables.
    pub const ALL: [Self; 2] = [Self::Enrollments, Self::CodeLogins];

    /// The table and its id column: fixed names, never input.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Enrollments => ("enrollments", "enrollment_id"),
            Self::CodeLogins => ("code_logins", "login_id"),
        }
    }
}

/// A stored TOTP seed.
#[derive(Debug)]
pub struct Seed {
    /// Whose.
    pub account_id: String,
    /// The seed as stored (in the clear, by an older relay).
    pub secret: Zeroizing<Vec<u8>>,
}

/// The check value of the secret this database was bound to, if any.
pub async fn key_check(conn: &mut AnyConnection) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT key_check FROM relay_secret WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await
}

/// Binds this database to the secret with `key_check`.
pub async fn record(
    conn: &mut AnyConnection,
    key_check: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO relay_secret (id, key_check, bound_at) VALUES (1, $1, $2)")
        .bind(key_check)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// SQLite only: foreign keys are checked at commit, so an invite's hash
/// and its enrollments' `invite_hash` can change one after the other.
pub async fn defer_foreign_keys(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("PRAGMA defer_foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every stored TOTP seed.
pub async fn totp_seeds(conn: &mut AnyConnection) -> Result<Vec<Seed>, sqlx::Error> {
    sqlx::query("SELECT account_id, secret FROM totp")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok(Seed {
                account_id: row.try_get("account_id")?,
                secret: Zeroizing::new(row.try_get("secret")?),
            })
        })
        .collect()
}

/// Replaces `account_id`'s seed with its sealed form.
pub async fn set_totp_seed(
    conn: &mut AnyConnection,
    account_id: &str,
    sealed: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE totp SET secret = $1 WHERE account_id = $2")
        .bind(sealed)
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every invite's code hash.
pub async fn invite_hashes(conn: &mut AnyConnection) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT code_hash FROM invites")
        .fetch_all(&mut *conn)
        .await
}

/// Replaces an invite's code hash `old` with `new`, in the invite and in
/// its enrollments (which reference it).
pub async fn rehash_invite(
    conn: &mut AnyConnection,
    old: &[u8],
    new: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE invites SET code_hash = $1 WHERE code_hash = $2")
        .bind(new)
        .bind(old)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE enrollments SET invite_hash = $1 WHERE invite_hash = $2")
        .bind(new)
        .bind(old)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every (id, code hash) of `table`.
pub async fn code_hashes(
    conn: &mut AnyConnection,
    table: CodeTable,
) -> Result<Vec<(String, Vec<u8>)>, sqlx::Error> {
    let (table, key) = table.names();
    sqlx::query(&format!("SELECT {key}, code_hash FROM {table}"))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// Replaces the code hash of `table`'s row `id`.
pub async fn set_code_hash(
    conn: &mut AnyConnection,
    table: CodeTable,
    id: &str,
    code_hash: &[u8],
) -> Result<(), sqlx::Error> {
    let (table, key) = table.names();
    sqlx::query(&format!(
        "UPDATE {table} SET code_hash = $1 WHERE {key} = $2"
    ))
    .bind(code_hash)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
