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

/// A value stored by name in a `TEXT` column: a role (`thread_members.role`,
/// `accounts.kind`, `invites.kind`) or a thread's category
/// (`threads.category`). The names are the API's (`ward-proto` gives
/// them), so the database reads like the wire. This is the one place the
/// relay turns those columns into types and back.
pub trait Named: Sized + Copy + Send + Sync {
    /// What it is, for the error naming a bad row.
    const WHAT: &'static str;
    /// The stored name.
    fn name(self) -> &'static str;
    /// The value a stored name names, if any.
    fn from_name(name: &str) -> Option<Self>;
}

impl Named for ward_proto::threads::Role {
    const WHAT: &'static str = "role";

    fn name(self) -> &'static str {
        ward_proto::threads::Role::name(self)
    }

    fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

impl Named for ward_proto::threads::Category {
    const WHAT: &'static str = "category";

    fn name(self) -> &'static str {
        ward_proto::threads::category::name(self)
    }

    fn from_name(name: &str) -> Option<Self> {
        ward_proto::threads::category::from_name(name).ok()
    }
}

/// A [`Named`] value as a column: bind it (`.bind(Text(Role::Patient))`)
/// and read it (`row.try_get::<Text<Role>, _>("role")?.0`,
/// `query_scalar::<_, Text<Role>>`). A stored name this relay does not
/// know fails the read (an internal error), never becoming a default: an
/// unknown role must not act as a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<T>(pub T);

impl<T: Named> sqlx::Type<sqlx::Sqlite> for Text<T> {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <str as sqlx::Type<sqlx::Sqlite>>::type_info()
    }

    fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
        <str as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
    }
}

impl<'q, T: Named> sqlx::Encode<'q, sqlx::Sqlite> for Text<T> {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<sqlx::sqlite::SqliteArgumentValue<'q>>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<'q, sqlx::Sqlite>>::encode(self.0.name(), buf)
    }
}

impl<'r, T: Named> sqlx::Decode<'r, sqlx::Sqlite> for Text<T> {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let name = <&str as sqlx::Decode<'r, sqlx::Sqlite>>::decode(value)?;
        T::from_name(name)
            .map(Text)
            .ok_or_else(|| format!("unknown {} {name:?} in the database", T::WHAT).into())
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;
    use ward_proto::threads::{Category, Role};

    use super::*;

    /// Every role and category is stored as its API name and read back;
    /// an unknown stored name is an error, never a patient or "other".
    #[tokio::test]
    async fn named_columns_round_trip_and_refuse_unknown_names() {
        let db = SqlitePool::connect("sqlite::memory:").await.unwrap();
        for role in Role::ALL {
            let row = sqlx::query("SELECT ? AS v, ? AS stored")
                .bind(Text(role))
                .bind(Text(role))
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(row.get::<Text<Role>, _>("v"), Text(role));
            assert_eq!(row.get::<&str, _>("stored"), role.name());
        }
        for category in Category::ALL {
            let back: Text<Category> = sqlx::query_scalar("SELECT ?")
                .bind(Text(category))
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(back, Text(category));
        }
        let unknown = sqlx::query_scalar::<_, Text<Role>>("SELECT 'doctor'")
            .fetch_one(&db)
            .await;
        assert!(unknown.is_err());
        let unknown = sqlx::query_scalar::<_, Text<Category>>("SELECT 'surgery'")
            .fetch_one(&db)
            .await;
        assert!(unknown.is_err());
    }
}
