//! Errors that stop the relay from starting. Each says what failed and what
//! the operator can do about it.

use std::path::PathBuf;

/// The relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error(
        "could not create the data directory {path}: {source}. Check that the parent exists and is writable, or pass another --data-dir"
    )]
    DataDir {
        /// The directory that was asked for.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The SQLite database could not be opened.
    #[error(
        "could not open the database {path}: {source}. Check the file's permissions; if it is not a Ward database, move it away"
    )]
    Database {
        /// The database file.
        path: PathBuf,
        /// Why it failed.
        source: sqlx::Error,
    },
    /// The database schema could not be brought up to date.
    #[error(
        "could not apply database migrations: {0}. The database may come from a newer Ward; restore a backup or run the newer relay"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The built web client could not be read.
    #[error(
        "could not read the web client's {path}: {source}. Build it first (`cargo xtask dev` does) or pass the right --static-dir"
    )]
    Site {
        /// The file that was read.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
}
