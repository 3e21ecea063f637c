//! `consent_texts` and `account_consent`: every consent text the relay
//! served an acceptance of (kept by its SHA-256 and version, so what an account agreed
//! to can be shown to it later, whatever the clinic configures since), and
//! each account's last agreement and withdrawal.

use sqlx::{AnyConnection, AnyPool, Row};

/// A consent text, by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// Its version.
    pub version: String,
    /// The words.
    pub text: String,
    /// Their SHA-256.
    pub sha256: Vec<u8>,
}

/// An account's agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// What it agreed to.
    pub text: Text,
    /// When (Unix milliseconds).
    pub agreed_at: i64,
    /// `enrollment` or `signed_in`.
    pub method: String,
    /// When it withdrew, if it has since.
    pub withdrawn_at: Option<i64>,
}

/// Keeps `text` (once per hash), inside the caller's transaction.
pub async fn keep_text(conn: &mut AnyConnection, text: &Text, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consent_texts (sha256, version, text, first_served_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(text.sha256.as_slice())
    .bind(&text.version)
    .bind(&text.text)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that `account_id` agreed to `text` (its consent
/// stands again if it had withdrawn), inside the caller's transaction.
pub async fn agree(
    conn: &mut AnyConnection,
    account_id: &str,
    text: &Text,
    method: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO account_consent (account_id, sha256, version, agreed_at, method, withdrawn_at)
         VALUES ($1, $2, $3, $4, $5, NULL)
         ON CONFLICT (account_id) DO UPDATE SET
             sha256 = excluded.sha256, version = excluded.version,
             agreed_at = excluded.agreed_at, method = excluded.method, withdrawn_at = NULL",
    )
    .bind(account_id)
    .bind(text.sha256.as_slice())
    .bind(&text.version)
    .bind(now)
    .bind(method)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Withdraws `account_id`'s consent, inside the caller's transaction; the
/// version withdrawn, or `None` if none stood.
pub async fn withdraw(
    conn: &mut AnyConnection,
    account_id: &str,
    now: i64,
) -> Result<Option<Text>, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE account_consent SET withdrawn_at = $2
         WHERE account_id = $1 AND withdrawn_at IS NULL",
    )
    .bind(account_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if done == 0 {
        return Ok(None);
    }
    Ok(of(&mut *conn, account_id).await?.map(|a| a.text))
}

fn agreement(row: &sqlx::any::AnyRow) -> Result<Agreement, sqlx::Error> {
    Ok(Agreement {
        text: Text {
            version: row.try_get("version")?,
            text: row.try_get("text")?,
            sha256: row.try_get("sha256")?,
        },
        agreed_at: row.try_get("agreed_at")?,
        method: row.try_get("method")?,
        withdrawn_at: row.try_get("withdrawn_at")?,
    })
}

const AGREEMENT: &str = "SELECT t.version, t.text, t.sha256, c.agreed_at, c.method, c.withdrawn_at
     FROM account_consent c
     JOIN consent_texts t ON t.sha256 = c.sha256 AND t.version = c.version
     WHERE c.account_id = $1";

/// `account_id`'s agreement, if it ever agreed (on the pool, or inside the
/// caller's transaction).
pub async fn of(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    account_id: &str,
) -> Result<Option<Agreement>, sqlx::Error> {
    sqlx::query(AGREEMENT)
        .bind(account_id)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(agreement)
        .transpose()
}

/// Whether `account_id` withdrew its consent (and has not agreed again).
pub async fn withdrawn(db: &AnyPool, account_id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT account_id FROM account_consent WHERE account_id = $1 AND withdrawn_at IS NOT NULL",
    )
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .is_some())
}
