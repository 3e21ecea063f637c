//! The relay's SQLite database: opened once at start, migrated, then shared.

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StartError;

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "ward.sqlite3";

/// The migrations under `crates/relay/migrations`, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Opens (creating on first run) the database in `data_dir` and applies any
/// pending migrations. The directory is made 0700 and the database file 0600
/// before SQLite opens it (SQLite gives its `-wal` and `-shm` files the
/// database file's mode); existing ones are tightened too.
pub async fn open(data_dir: &Path) -> Result<SqlitePool, StartError> {
    crate::files::private_dir(data_dir).map_err(|source| StartError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let path = data_dir.join(DATABASE_FILE);
    for file in [
        path.clone(),
        data_dir.join(format!("{DATABASE_FILE}-wal")),
        data_dir.join(format!("{DATABASE_FILE}-shm")),
    ] {
        crate::files::restrict(&file)
            .map_err(|source| StartError::Permissions { path: file, source })?;
    }
    crate::files::touch_private(&path).map_err(|source| StartError::Permissions {
        path: path.clone(),
        source,
    })?;
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        // WAL lets readers (message paging) run beside the one writer.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(|source| StartError::Database { path, source })?;
    MIGRATOR.run(&pool).await?;
    let copied = crate::history::backfill(&pool)
        .await
        .map_err(|source| StartError::Database {
            path: data_dir.join(DATABASE_FILE),
            source,
        })?;
    if copied > 0 {
        tracing::info!(copied, "key bundles copied into their key histories");
    }
    Ok(pool)
}

/// How many migrations this database has applied successfully.
pub async fn migrations_applied(db: &SqlitePool) -> Result<u32, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
        .fetch_one(db)
        .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}
