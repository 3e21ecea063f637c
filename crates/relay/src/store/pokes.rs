//! PostgreSQL `NOTIFY`: how relays sharing one database tell each other of
//! live events ([`crate::fanout`] listens). PostgreSQL only.

use sqlx::AnyPool;

/// Sends `payload` on `channel` (outside a transaction, so it is delivered
/// at once).
pub async fn notify(db: &AnyPool, channel: &str, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM (SELECT pg_notify($1, $2)) AS sent")
        .bind(channel)
        .bind(payload)
        .execute(db)
        .await?;
    Ok(())
}
