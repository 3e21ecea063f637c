//! `envelopes`, as far as operations see them (the messages themselves are
//! stored by `routes/threads.rs`).

use sqlx::AnyPool;

/// How many messages the relay holds, for `/metrics`.
pub async fn count(db: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM envelopes")
        .fetch_one(db)
        .await
}
