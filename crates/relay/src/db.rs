//! The relay's database: the embedded SQLite file by default, or
//! PostgreSQL (`database_url`), opened once at start, migrated, then shared.
//!
//! Both are reached through sqlx's `Any` driver, so one set of queries
//! serves both: they are written in the SQL the two share (`$1`
//! placeholders, `ON CONFLICT`, `RETURNING`, integers for times and flags,
//! no `MAX(a, b)`, sums cast to `BIGINT`). Each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`), and a test
//! checks that they build the same tables.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Executor};

use crate::StartError;
use crate::config::Config;

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "ward.sqlite3";

/// SQLite's migrations, compiled into the binary.
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// PostgreSQL's migrations, compiled into the binary. Its first one builds
/// the schema SQLite's first thirteen built; from there, each change is
/// one migration with the same number in each directory.
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend `conn` talks to.
    pub fn of_connection(conn: &AnyConnection) -> Self {
        if conn.backend_name() == "PostgreSQL" {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// The backend `pool` was opened on.
    pub fn of(pool: &AnyPool) -> Self {
        match pool.connect_options().database_url.scheme() {
            "postgres" | "postgresql" => Self::Postgres,
            _ => Self::Sqlite,
        }
    }
}

/// Opens the configured database (creating the SQLite file on first run)
/// and applies any pending migrations.
pub async fn open(config: &Config) -> Result<AnyPool, StartError> {
    sqlx::any::install_default_drivers();
    crate::files::private_dir(&config.data).map_err(|source| StartError::DataDir {
        path: config.data.clone(),
        source,
    })?;
    let pool = match &config.database_url {
        Some(url) => open_postgres(url).await?,
        None => open_sqlite(&config.data).await?,
    };
    let migrator = match Backend::of(&pool) {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.run(&pool).await?;
    let raised = crate::store::threads::raise_activity_base(&pool)
        .await
        .map_err(|source| StartError::Database {
            what: "the inbox activity base".into(),
            source,
        })?;
    if raised {
        tracing::warn!(
            "inbox activity base raised: this database was restored into another PostgreSQL cluster"
        );
    }
    let copied = crate::history::backfill(&pool)
        .await
        .map_err(|source| StartError::Database {
            what: "the key histories".into(),
            source,
        })?;
    if copied > 0 {
        tracing::info!(copied, "key bundles copied into their key histories");
    }
    let chained = crate::archive::backfill(&pool)
        .await
        .map_err(|source| StartError::Database {
            what: "the archive chains".into(),
            source,
        })?;
    if chained > 0 {
        tracing::info!(
            chained,
            "stored messages added to their threads' archive chains"
        );
    }
    Ok(pool)
}

/// The longest a request waits for one of the pool's PostgreSQL
/// connections. While the server is down (restarting, failing over), sqlx
/// keeps trying to connect until this runs out, and the request is then
/// refused with 503 `storage_unavailable` (`error.rs`); a longer wait
/// would only hold the client, who retries after `Retry-After` anyway. It
/// also bounds the wait for a free connection when all are busy: past it
/// the relay is overloaded, and a retryable refusal sheds the load. It
/// bounds the connection at start too.
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// PostgreSQL at `url`. Several relays may share it: whatever must be
/// atomic across them takes a row lock or [`lock`].
async fn open_postgres(url: &crate::config::DatabaseUrl) -> Result<AnyPool, StartError> {
    let scheme = url::Url::parse(url.expose())
        .map(|u| u.scheme().to_owned())
        .unwrap_or_default();
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(StartError::DatabaseUrl(url.redacted()));
    }
    AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
        .before_acquire(|conn, _meta| Box::pin(async move { Ok(outside_transaction(conn)) }))
        .connect(url.expose())
        .await
        .map_err(|source| StartError::Database {
            what: url.redacted(),
            source,
        })
}

/// Whether a pooled connection may be lent: not one still inside a
/// transaction. A transaction that failed (SQLite's disk filled mid-write
/// and SQLite rolled it back itself) can leave sqlx's count of open
/// transactions above zero when its own ROLLBACK then fails; every later
/// `BEGIN IMMEDIATE` on that connection was refused ("non-zero transaction
/// depth"), a 500 on every write it served, for as long as it lived. The
/// pool closes such a connection and opens a fresh one. (A read of a
/// counter, no round trip.)
fn outside_transaction(conn: &AnyConnection) -> bool {
    !sqlx::Connection::is_in_transaction(conn)
}

/// The SQLite file in `data_dir`. The database file is made 0600 before
/// SQLite opens it (SQLite gives its `-wal` and `-shm` files the database
/// file's mode); existing ones are tightened too.
async fn open_sqlite(data_dir: &Path) -> Result<AnyPool, StartError> {
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
    let Some(path_text) = path.to_str().filter(|p| !p.contains(['?', '#'])) else {
        return Err(StartError::DatabaseUrl(format!(
            "the data directory {} (use a path without ? or #)",
            data_dir.display()
        )));
    };
    AnyPoolOptions::new()
        .max_connections(8)
        // A file on local disk does not go stale the way a server
        // connection does; testing each one before lending it cost a round
        // trip to its worker thread on every statement (measured:
        // docs/benchmarks.md, "Relay capacity").
        .test_before_acquire(false)
        .before_acquire(|conn, _meta| Box::pin(async move { Ok(outside_transaction(conn)) }))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers (message paging) run beside the one
                // writer; a writer waits up to 5 s for another.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                )
                .await
                .map(|_| ())
            })
        })
        .connect(&format!("sqlite://{path_text}?mode=rwc"))
        .await
        .map_err(|source| StartError::Database {
            what: path.display().to_string(),
            source,
        })
}

/// SQLite takes one writer at a time, and a writer that finds the lock
/// taken sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms between
/// tries), idle while the lock comes free after a fraction of a
/// millisecond: under load that sleep, not the work, sets the latency.
/// This process's writers queue here instead, in order, and reach SQLite
/// one by one. One queue per database file (tests run many relays in one
/// process); another process on the same file still meets the busy handler.
static SQLITE_WRITERS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Mutex::default);

/// The writers' queue of the SQLite database `pool` opens (the send
/// writer, `store::sends::writer`, queues there too).
pub(crate) fn sqlite_turn(pool: &AnyPool) -> Arc<tokio::sync::Mutex<()>> {
    let file = pool.connect_options().database_url.to_string();
    let mut queues = SQLITE_WRITERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(queues.entry(file).or_default())
}

/// A transaction from [`begin_write`]: use it as the connection it runs on
/// (`&mut tx`), and [`WriteTx::commit`] it. On SQLite it holds this
/// process's turn to write until it ends.
#[derive(Debug)]
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    /// Dropped after `tx` (fields drop in order): the turn passes on once
    /// the transaction has ended.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits the transaction, then gives up the turn to write.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Begins a transaction that will write, serialized with every other one
/// for `scope` (an account or upload id, a [`thread_scope`], or a name
/// such as [`RETENTION`]) on every relay sharing the database: SQLite's
/// `BEGIN IMMEDIATE` takes its one write lock at once (after this
/// process's earlier writers, see [`SQLITE_WRITERS`]); PostgreSQL takes a
/// transaction-scoped advisory lock on `scope`. Read-then-write steps (a
/// compare-and-swap, a hash chain's next link) run inside one.
pub async fn begin_write(pool: &AnyPool, scope: &str) -> Result<WriteTx, sqlx::Error> {
    match Backend::of(pool) {
        Backend::Sqlite => {
            let turn = sqlite_turn(pool).lock_owned().await;
            let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            Ok(WriteTx {
                tx,
                _turn: Some(turn),
            })
        }
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            lock_postgres(&mut tx, scope).await?;
            Ok(WriteTx { tx, _turn: None })
        }
    }
}

/// Begins a transaction whose reads all see one snapshot (SQLite's WAL
/// gives that to any transaction; PostgreSQL needs `REPEATABLE READ`).
pub async fn begin_read(
    pool: &AnyPool,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    match Backend::of(pool) {
        Backend::Sqlite => pool.begin().await,
        Backend::Postgres => {
            pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
        }
    }
}

/// Serializes the rest of transaction `tx` with every other transaction
/// that locks `scope`, on every relay sharing the database. On SQLite
/// writes are serialized already (one writer), so this does nothing.
pub async fn lock(tx: &mut AnyConnection, scope: &str) -> Result<(), sqlx::Error> {
    match Backend::of_connection(tx) {
        Backend::Postgres => lock_postgres(tx, scope).await,
        Backend::Sqlite => Ok(()),
    }
}

async fn lock_postgres(tx: &mut AnyConnection, scope: &str) -> Result<(), sqlx::Error> {
    // The lock is released at commit or rollback; it cannot leak.
    sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS locked")
        .bind(scope)
        .execute(tx)
        .await
        .map(|_| ())
}

/// The scope of the writes to one thread that must not interleave: a
/// send (its seq, chain link and inbox activity), the archive backfill
/// and the retention sweep of that thread. Only that thread's writers wait
/// for each other: sends to different threads run side by side.
pub fn thread_scope(thread_id: &str) -> String {
    format!("thread:{thread_id}")
}

/// The scope of one attachment blob: a send keeping it and retention
/// releasing it take it, so a release never misses a reference a send in
/// another thread is adding.
pub fn blob_scope(blob_id: &str) -> String {
    format!("blob:{blob_id}")
}

/// The scope the retention sweep and legal holds serialize on: once a
/// hold is set, no pruning that missed it is still running.
pub const RETENTION: &str = "ward:retention";

/// How many migrations this database has applied successfully.
pub async fn migrations_applied(db: &AnyPool) -> Result<u32, sqlx::Error> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(db)
            .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// A value stored by name in a `TEXT` column: a role (`thread_members.role`,
/// `accounts.kind`, `invites.kind`), a thread's category
/// (`threads.category`), an account event's kind (`account_events.kind`)
/// or a passkey ceremony's (`ceremonies.kind`). The names are the API's (`ward-proto` gives
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

impl Named for ward_proto::account::AccountEventKind {
    const WHAT: &'static str = "account event kind";

    fn name(self) -> &'static str {
        // Also hashed into each event's chain link: defined once, in proto.
        ward_proto::account::AccountEventKind::name(self)
    }

    fn from_name(name: &str) -> Option<Self> {
        ACCOUNT_EVENT_KINDS
            .into_iter()
            .find(|kind| Named::name(*kind) == name)
    }
}

/// Every account event kind, so a name maps back through [`Named::name`]
/// alone (one table, not two that could disagree).
pub const ACCOUNT_EVENT_KINDS: [ward_proto::account::AccountEventKind; 26] =
    ward_proto::account::AccountEventKind::ALL;

impl Named for crate::passkeys::CeremonyKind {
    const WHAT: &'static str = "ceremony kind";

    fn name(self) -> &'static str {
        use crate::passkeys::CeremonyKind as K;
        match self {
            K::Register => "register",
            K::Authenticate => "authenticate",
            K::Discover => "discover",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        use crate::passkeys::CeremonyKind as K;
        [K::Register, K::Authenticate, K::Discover]
            .into_iter()
            .find(|kind| Named::name(*kind) == name)
    }
}

/// A [`Named`] value as a column: bind it (`.bind(Text(Role::Patient))`)
/// and read it (`row.try_get::<Text<Role>, _>("role")?.0`,
/// `query_scalar::<_, Text<Role>>`). A stored name this relay does not
/// know fails the read (an internal error), never becoming a default: an
/// unknown role must not act as a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<T>(pub T);

impl<T: Named> sqlx::Type<sqlx::Any> for Text<T> {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <str as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <str as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'q, T: Named> sqlx::Encode<'q, sqlx::Any> for Text<T> {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<'q, sqlx::Any>>::encode(self.0.name(), buf)
    }
}

impl<'r, T: Named> sqlx::Decode<'r, sqlx::Any> for Text<T> {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let name = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
        T::from_name(name)
            .map(Text)
            .ok_or_else(|| format!("unknown {} {name:?} in the database", T::WHAT).into())
    }
}

/// A yes/no read from SQL (`EXISTS (...)`, `COUNT(*) > 0`, `x IS NULL`):
/// PostgreSQL answers a boolean, SQLite an integer; this reads either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <bool as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        ty.kind() == sqlx::any::AnyTypeInfoKind::Bool || ty.kind().is_integer()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        use sqlx::ValueRef;
        if value.type_info().kind().is_integer() {
            <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value).map(|n| Flag(n != 0))
        } else {
            <bool as sqlx::Decode<'r, sqlx::Any>>::decode(value).map(Flag)
        }
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
        sqlx::any::install_default_drivers();
        let db = AnyPool::connect("sqlite::memory:").await.unwrap();
        for role in Role::ALL {
            let row = sqlx::query("SELECT $1 AS v, $2 AS stored")
                .bind(Text(role))
                .bind(Text(role))
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(row.get::<Text<Role>, _>("v"), Text(role));
            assert_eq!(row.get::<&str, _>("stored"), role.name());
        }
        for category in Category::ALL {
            let back: Text<Category> = sqlx::query_scalar("SELECT $1")
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
        for kind in ACCOUNT_EVENT_KINDS {
            let back: Text<ward_proto::account::AccountEventKind> = sqlx::query_scalar("SELECT $1")
                .bind(Text(kind))
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(back, Text(kind));
        }
        let unknown = sqlx::query_scalar::<_, Text<ward_proto::account::AccountEventKind>>(
            "SELECT 'password_changed'",
        )
        .fetch_one(&db)
        .await;
        assert!(unknown.is_err());
        use crate::passkeys::CeremonyKind;
        for kind in [
            CeremonyKind::Register,
            CeremonyKind::Authenticate,
            CeremonyKind::Discover,
        ] {
            let back: Text<CeremonyKind> = sqlx::query_scalar("SELECT $1")
                .bind(Text(kind))
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(back, Text(kind));
        }
        let unknown = sqlx::query_scalar::<_, Text<CeremonyKind>>("SELECT 'login'")
            .fetch_one(&db)
            .await;
        assert!(unknown.is_err());
    }
}
