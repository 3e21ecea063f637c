//! `setup_codes`: the one-time codes that turn into the clinic inbox
//! account (each relay sharing a database writes its own).

use sqlx::{AnyConnection, AnyPool};

/// Whether setup is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// How many clinic accounts exist (setup is done once there is one).
    pub clinics: i64,
    /// How many setup codes are unused.
    pub unused_codes: i64,
}

/// How many clinics and unused codes there are, in one snapshot.
pub async fn status(db: &AnyPool) -> Result<Status, sqlx::Error> {
    let (clinics, unused_codes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM accounts WHERE kind = 'clinic'),
                (SELECT COUNT(*) FROM setup_codes WHERE used_at IS NULL)",
    )
    .fetch_one(db)
    .await?;
    Ok(Status {
        clinics,
        unused_codes,
    })
}

/// Forgets every unused code (a single SQLite relay replaces its code).
pub async fn delete_unused(db: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM setup_codes WHERE used_at IS NULL")
        .execute(db)
        .await?;
    Ok(())
}

/// Stores a new code by its hash.
pub async fn insert(db: &AnyPool, code_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO setup_codes (code_hash) VALUES ($1)")
        .bind(code_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks the unused code with `code_hash` used, inside the caller's
/// transaction; whether there was one. One statement: two setups racing
/// with the same code cannot both use it.
pub async fn use_code(
    conn: &mut AnyConnection,
    code_hash: &[u8],
    now: i64,
) -> Result<bool, sqlx::Error> {
    let used =
        sqlx::query("UPDATE setup_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(now)
            .bind(code_hash)
            .execute(&mut *conn)
            .await?;
    Ok(used.rows_affected() == 1)
}

/// Voids every other unused code (another relay instance's): the clinic
/// is set up once.
pub async fn void_unused(conn: &mut AnyConnection, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE setup_codes SET used_at = $1 WHERE used_at IS NULL")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
