//! For the query-plan tests beside the statements: a scratch SQLite
//! database with every migration applied, and SQLite's plan for a
//! statement, so a test asserts which index a hot query walks.

#![allow(clippy::unwrap_used)]

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row};

/// A new relay database in a temporary folder (removed with the guard).
pub(crate) async fn scratch() -> (tempfile::TempDir, AnyPool) {
    let data = tempfile::tempdir().unwrap();
    let db = crate::db::open(&crate::Config {
        data: data.path().to_path_buf(),
        ..crate::Config::default()
    })
    .await
    .unwrap();
    (data, db)
}

/// The steps of SQLite's plan for `explain` (an `EXPLAIN QUERY PLAN`
/// statement with its binds), one `detail` line each.
pub(crate) async fn steps<'a>(
    db: &AnyPool,
    explain: Query<'a, Any, AnyArguments<'a>>,
) -> Vec<String> {
    explain
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}
