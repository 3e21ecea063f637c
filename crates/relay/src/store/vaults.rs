//! `vaults`: each account's encrypted vault, versioned for compare-and-swap.

use sqlx::{AnyConnection, AnyPool};

/// An account's stored vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    /// Its version: 1 for the first write, one more per write since.
    pub version: i64,
    /// The ciphertext, opaque to the relay.
    pub vault: Vec<u8>,
}

/// `account`'s vault, if it wrote one.
pub async fn get(db: &AnyPool, account: &str) -> Result<Option<Vault>, sqlx::Error> {
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, vault FROM vaults WHERE account_id = $1")
            .bind(account)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(version, vault)| Vault { version, vault }))
}

/// Writes `bytes` as `account`'s vault only over version `expected` (0: no
/// vault yet), inside the caller's write transaction. The new version, or
/// `None` when `expected` is stale (nothing written): a client working on
/// an old vault must never overwrite a newer one.
pub async fn compare_and_swap(
    tx: &mut AnyConnection,
    account: &str,
    expected: i64,
    bytes: &[u8],
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let written = if expected == 0 {
        sqlx::query(
            "INSERT INTO vaults (account_id, version, vault, updated_at) VALUES ($1, 1, $2, $3)
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account)
        .bind(bytes)
        .bind(now)
        .execute(&mut *tx)
        .await?
    } else {
        sqlx::query("UPDATE vaults SET version = version + 1, vault = $1, updated_at = $2 WHERE account_id = $3 AND version = $4")
            .bind(bytes)
            .bind(now)
            .bind(account)
            .bind(expected)
            .execute(&mut *tx)
            .await?
    };
    Ok((written.rows_affected() == 1).then_some(expected + 1))
}
