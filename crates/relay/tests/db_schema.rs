//! SQLite's and PostgreSQL's migrations build the same schema: the same
//! tables, columns (type, nullability, primary key) and indexes. Runs
//! where both are at hand: in `cargo xtask test`'s PostgreSQL pass
//! (`WARD_TEST_POSTGRES`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;

use sqlx::{AnyPool, Row};

/// A column as both databases can describe it.
#[derive(Debug, PartialEq, Eq)]
struct Column {
    /// `integer`, `text` or `bytes`.
    class: String,
    not_null: bool,
    /// Its position in the primary key (1-based), 0 if not in it.
    primary_key: i64,
}

/// Each table's columns, by name, and every named index.
#[derive(Debug, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, BTreeMap<String, Column>>,
    indexes: Vec<String>,
}

fn class(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "integer",
        "text" => "text",
        "blob" | "bytea" => "bytes",
        other => panic!("a column type neither side should use: {other}"),
    }
    .to_owned()
}

async fn sqlite_schema(db: &AnyPool) -> Schema {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let mut tables = BTreeMap::new();
    for table in names {
        let rows = sqlx::query(
            "SELECT name, type, \"notnull\" AS not_null, pk FROM pragma_table_info($1)",
        )
        .bind(&table)
        .fetch_all(db)
        .await
        .unwrap();
        let columns = rows
            .iter()
            .map(|row| {
                let name: String = row.get("name");
                // A primary key column is NOT NULL on PostgreSQL by rule;
                // every one of Ward's says so on SQLite too.
                (
                    name,
                    Column {
                        class: class(&row.get::<String, _>("type")),
                        not_null: row.get::<i64, _>("not_null") != 0,
                        primary_key: row.get("pk"),
                    },
                )
            })
            .collect();
        tables.insert(table, columns);
    }
    let indexes = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(db)
    .await
    .unwrap();
    Schema { tables, indexes }
}

async fn postgres_schema(db: &AnyPool) -> Schema {
    let rows = sqlx::query(
        "SELECT c.table_name::text AS t, c.column_name::text AS name, c.data_type::text AS ty,
                CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END AS not_null,
                CAST(COALESCE((
                    SELECT k.ordinal_position FROM information_schema.table_constraints tc
                    JOIN information_schema.key_column_usage k
                      ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
                    WHERE tc.table_schema = c.table_schema AND tc.table_name = c.table_name
                      AND tc.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name
                ), 0) AS BIGINT) AS pk
         FROM information_schema.columns c
         WHERE c.table_schema = current_schema() AND c.table_name <> '_sqlx_migrations'",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let mut tables: BTreeMap<String, BTreeMap<String, Column>> = BTreeMap::new();
    for row in rows {
        tables.entry(row.get("t")).or_default().insert(
            row.get("name"),
            Column {
                class: class(&row.get::<String, _>("ty")),
                not_null: row.get::<i64, _>("not_null") != 0,
                primary_key: row.get("pk"),
            },
        );
    }
    // Indexes created by name, not those PostgreSQL makes for a primary key
    // or a UNIQUE constraint (SQLite's are unnamed `sqlite_autoindex_*`).
    let indexes = sqlx::query_scalar(
        "SELECT i.indexname::text FROM pg_indexes i
         WHERE i.schemaname = current_schema() AND NOT EXISTS (
             SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname
               AND k.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()))
         ORDER BY 1",
    )
    .fetch_all(db)
    .await
    .unwrap();
    Schema { tables, indexes }
}

#[tokio::test]
async fn sqlite_and_postgresql_migrations_build_the_same_schema() {
    let Some(url) = support::fresh_postgres_schema().await else {
        eprintln!("needs WARD_TEST_POSTGRES (cargo xtask test sets it for its PostgreSQL pass)");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let sqlite = ward_relay::db::open(&ward_relay::Config {
        data: data.path().to_path_buf(),
        ..ward_relay::Config::default()
    })
    .await
    .unwrap();
    let postgres = ward_relay::db::open(&ward_relay::Config {
        data: data.path().to_path_buf(),
        database_url: Some(url),
        ..ward_relay::Config::default()
    })
    .await
    .unwrap();
    let (sqlite, postgres) = (
        sqlite_schema(&sqlite).await,
        postgres_schema(&postgres).await,
    );
    assert!(sqlite.tables.len() > 20, "{:?}", sqlite.tables.keys());
    for (table, columns) in &sqlite.tables {
        assert_eq!(
            Some(columns),
            postgres.tables.get(table),
            "table {table}: SQLite's, then PostgreSQL's"
        );
    }
    assert_eq!(
        sqlite.tables.keys().collect::<Vec<_>>(),
        postgres.tables.keys().collect::<Vec<_>>()
    );
    assert_eq!(sqlite.indexes, postgres.indexes);
}
