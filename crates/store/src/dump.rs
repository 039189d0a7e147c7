//! The whole database as tables of neutral values, for backups: a
//! consistent read of every table ([`Dump::begin_dump`]) and an atomic load
//! into an empty database of either backend ([`Dump::begin_load`]).
//!
//! Nothing here names a table of confidant's schema. Tables, columns,
//! primary keys and foreign keys are read from the database's own catalog
//! (`sqlite_master` and `pragma_table_info` / `pragma_foreign_key_list` on
//! SQLite, `information_schema` and `pg_constraint` on PostgreSQL), so a
//! table added by a later migration is in every backup without a change
//! here. Tables come in foreign-key order (a table after every table it
//! refers to), so a load inserts them in the order they were read.
//!
//! Values are backend-neutral ([`Value`]): SQLite's storage classes and
//! PostgreSQL's column types map onto integers, reals, text, bytes and
//! booleans, and a load converts them to the target column's type (a
//! PostgreSQL `BOOLEAN` is a SQLite `INTEGER` 0 or 1), which is what lets a
//! SQLite backup restore into PostgreSQL and back.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, Row, TypeInfo, ValueRef};

use crate::sql::{self, Placeholders};

// sqlx's own bookkeeping table, `_sqlx_migrations`, is never dumped: a load
// runs the migrations itself.
use crate::{PgStore, SqliteStore, StoreError};

/// One value of one column, whatever the backend.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// The neutral type of a column, from its declared type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Integer,
    Real,
    Text,
    Bytes,
    Boolean,
}

/// A column of a table, as the catalog describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    pub kind: ColumnType,
}

/// A table, as the catalog describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    /// The primary key's columns in key order (empty when it has none).
    pub primary_key: Vec<String>,
    /// The tables its foreign keys refer to (itself excluded).
    pub refers_to: BTreeSet<String>,
}

/// Dumping and loading whole databases (every [`Store`](crate::Store)).
#[async_trait]
pub trait Dump {
    /// Begins a consistent read of every table: one read-only snapshot
    /// transaction (SQLite's read transaction; PostgreSQL's REPEATABLE READ
    /// READ ONLY), so writers go on while it runs and none of their work
    /// after its start is seen.
    async fn begin_dump(&self) -> Result<Box<dyn DumpReader>, StoreError>;

    /// Begins loading into this database, which must hold no rows in any
    /// table and be at schema version `schema_version` (see
    /// [`connect_for_load`]): one transaction, so nothing is visible until
    /// [`DumpLoader::commit`] and dropping the loader changes nothing.
    /// Fails with `Conflict` when the database is not empty.
    async fn begin_load(&self, schema_version: i64) -> Result<Box<dyn DumpLoader>, StoreError>;

    /// Deletes every row of every table, children first, in one
    /// transaction. Only for undoing a restore that a later step refused:
    /// the database held no rows before it ([`Dump::begin_load`] checks
    /// that), so this puts it back as it was (at the newer schema, which
    /// is still empty).
    async fn discard_restore(&self) -> Result<(), StoreError>;
}

/// A consistent read of the whole database in progress.
#[async_trait]
pub trait DumpReader: Send {
    /// The latest migration applied to the database.
    fn schema_version(&self) -> i64;
    /// Every table, in foreign-key order.
    fn tables(&self) -> &[TableInfo];
    /// Passes every row of `table` to `sink` (values in the order of the
    /// table's columns), ordered by primary key (by every column when it
    /// has none; text compared bytewise on both backends). Returns the
    /// number of rows.
    async fn read_table(
        &mut self,
        table: &str,
        sink: &mut (dyn FnMut(Vec<Value>) -> Result<(), StoreError> + Send),
    ) -> Result<u64, StoreError>;
}

/// A load into an empty database in progress (one transaction).
#[async_trait]
pub trait DumpLoader: Send {
    /// The target's tables (its own catalog).
    fn tables(&self) -> &[TableInfo];
    /// Inserts rows into `table`, each holding values for `columns` (a
    /// subset of the table's columns, in any order). Values are converted
    /// to the target column's type; `Corrupt` when one cannot be.
    async fn insert(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<(), StoreError>;
    /// Makes every inserted row visible at once.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Opens the database at `url` for [`Dump::begin_load`]: brought to schema
/// version `schema_version` exactly (the version of the dump), so the
/// dump's rows meet the schema they were read from; after the load commits,
/// [`crate::connect`] brings it up to date with the later migrations.
/// Fails with `Conflict` when the database is past that version already
/// and with `InvalidInput`-like `Corrupt` when this build does not know
/// the version (a dump made by a newer confidant).
pub async fn connect_for_load(
    url: &str,
    schema_version: i64,
) -> Result<std::sync::Arc<dyn crate::Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            SqliteStore::connect_at(url, schema_version).await?,
        ))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(
            PgStore::connect_at(url, schema_version).await?,
        ))
    } else {
        Err(StoreError::InvalidUrl(sql::redact_url(url)))
    }
}

/// The migrations up to `version`, or an error naming why not.
pub(crate) fn migrations_up_to(
    all: &'static [(i64, &'static str, &'static str)],
    version: i64,
) -> Result<&'static [(i64, &'static str, &'static str)], StoreError> {
    let count = all.iter().take_while(|(v, _, _)| *v <= version).count();
    match all.get(..count) {
        Some(prefix) if prefix.last().is_some_and(|(v, _, _)| *v == version) => Ok(prefix),
        _ => Err(StoreError::Corrupt(format!(
            "schema version {version} is unknown to this build (it knows 1 to {}): restore with \
             the confidant version that made the backup, or a newer one",
            all.last().map_or(0, |(v, _, _)| *v)
        ))),
    }
}

/// Sorts tables so each comes after every table it refers to; ties by name.
fn foreign_key_order(mut tables: Vec<TableInfo>) -> Result<Vec<TableInfo>, StoreError> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(tables.len());
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            t.refers_to
                .iter()
                .all(|r| done.contains(r) || !names.contains(r))
        });
        let Some(i) = ready else {
            let left: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
            return Err(StoreError::Corrupt(format!(
                "the foreign keys of tables {left:?} form a cycle: they cannot be dumped in order"
            )));
        };
        let table = tables.remove(i);
        done.insert(table.name.clone());
        out.push(table);
    }
    Ok(out)
}

/// `"name"`, with quotes doubled: identifiers come from the catalog, but
/// are quoted all the same.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn column_type(declared: &str, table: &str, column: &str) -> Result<ColumnType, StoreError> {
    let t = declared.to_ascii_lowercase();
    let kind = match t.as_str() {
        "integer" | "bigint" | "int" | "smallint" | "int8" | "int4" | "int2" => ColumnType::Integer,
        "real" | "double precision" | "double" | "float" | "float8" | "float4" => ColumnType::Real,
        "text" | "character varying" | "varchar" | "character" | "json" | "jsonb" => {
            ColumnType::Text
        }
        "blob" | "bytea" => ColumnType::Bytes,
        "boolean" | "bool" => ColumnType::Boolean,
        _ => {
            return Err(StoreError::Corrupt(format!(
                "column {table}.{column} has type {declared:?}, which backups do not know yet: \
                 teach store/src/dump.rs its neutral type"
            )));
        }
    };
    Ok(kind)
}

fn select_sql(table: &TableInfo, postgres: bool) -> String {
    let columns: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let order_by: Vec<&ColumnInfo> = if table.primary_key.is_empty() {
        table.columns.iter().collect()
    } else {
        table
            .primary_key
            .iter()
            .filter_map(|k| table.columns.iter().find(|c| &c.name == k))
            .collect()
    };
    let order: Vec<String> = order_by
        .iter()
        .map(|c| {
            if postgres && c.kind == ColumnType::Text {
                format!("{} COLLATE \"C\"", quote(&c.name))
            } else {
                quote(&c.name)
            }
        })
        .collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        quote(&table.name),
        order.join(", ")
    )
}

fn failed(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    sql::failed(op)
}

/// The column types of `table` in the target, for the columns named.
fn target_columns<'a>(
    tables: &'a [TableInfo],
    table: &str,
    columns: &[String],
) -> Result<Vec<&'a ColumnInfo>, StoreError> {
    let info = tables.iter().find(|t| t.name == table).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "the backup has a table {table:?} that this database does not have"
        ))
    })?;
    columns
        .iter()
        .map(|c| {
            info.columns.iter().find(|i| &i.name == c).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the backup has a column {table}.{c} that this database does not have"
                ))
            })
        })
        .collect()
}

/// `value` as the target column's type.
fn convert(value: &Value, column: &ColumnInfo, table: &str) -> Result<Value, StoreError> {
    let bad = || {
        StoreError::Corrupt(format!(
            "a value of column {table}.{} does not fit its type {:?}",
            column.name, column.kind
        ))
    };
    Ok(match (column.kind, value) {
        (_, Value::Null) => Value::Null,
        (ColumnType::Integer, Value::Integer(v)) => Value::Integer(*v),
        (ColumnType::Integer, Value::Bool(b)) => Value::Integer(i64::from(*b)),
        (ColumnType::Boolean, Value::Bool(b)) => Value::Bool(*b),
        (ColumnType::Boolean, Value::Integer(0)) => Value::Bool(false),
        (ColumnType::Boolean, Value::Integer(1)) => Value::Bool(true),
        (ColumnType::Real, Value::Real(v)) => Value::Real(*v),
        #[expect(
            clippy::cast_precision_loss,
            reason = "SQLite may store an integral REAL as an integer; the value came from a REAL column"
        )]
        (ColumnType::Real, Value::Integer(v)) => Value::Real(*v as f64),
        (ColumnType::Text, Value::Text(s)) => Value::Text(s.clone()),
        (ColumnType::Bytes, Value::Bytes(b)) => Value::Bytes(b.clone()),
        _ => return Err(bad()),
    })
}

/// Binds `value` (already converted to `kind`) to a query of either backend.
macro_rules! bind_value {
    ($query:expr, $value:expr, $kind:expr) => {
        match ($value, $kind) {
            (Value::Null, ColumnType::Integer) => $query.bind(None::<i64>),
            (Value::Null, ColumnType::Real) => $query.bind(None::<f64>),
            (Value::Null, ColumnType::Text) => $query.bind(None::<String>),
            (Value::Null, ColumnType::Bytes) => $query.bind(None::<Vec<u8>>),
            (Value::Null, ColumnType::Boolean) => $query.bind(None::<bool>),
            (Value::Integer(v), _) => $query.bind(v),
            (Value::Real(v), _) => $query.bind(v),
            (Value::Text(v), _) => $query.bind(v),
            (Value::Bytes(v), _) => $query.bind(v),
            (Value::Bool(v), _) => $query.bind(v),
        }
    };
}

/// A multi-row INSERT of `rows` rows of `columns` into `table`.
fn insert_sql(table: &str, columns: &[String], rows: usize, style: Placeholders) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote(table),
        columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut n = 0usize;
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                out.push_str(", ");
            }
            n += 1;
            match style {
                Placeholders::Anonymous => out.push('?'),
                Placeholders::Numbered => {
                    let _ = write!(out, "${n}");
                }
            }
        }
        out.push(')');
    }
    out
}

/// Checks that rows fit the columns and converts them to the target types.
fn converted(
    tables: &[TableInfo],
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<(Vec<ColumnType>, Vec<Vec<Value>>), StoreError> {
    let targets = target_columns(tables, table, columns)?;
    let kinds = targets.iter().map(|c| c.kind).collect();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if row.len() != targets.len() {
            return Err(StoreError::Corrupt(format!(
                "a row of {table} has {} values for {} columns",
                row.len(),
                targets.len()
            )));
        }
        out.push(
            row.iter()
                .zip(&targets)
                .map(|(v, c)| convert(v, c, table))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    Ok((kinds, out))
}

/// The loader of one backend: `$name` holding a transaction on `$db`,
/// writing generated inserts with `$store`'s dialect.
macro_rules! loader {
    ($name:ident, $db:ty, $store:ident) => {
        struct $name {
            tx: sqlx::Transaction<'static, $db>,
            tables: Vec<TableInfo>,
        }

        #[async_trait]
        impl DumpLoader for $name {
            fn tables(&self) -> &[TableInfo] {
                &self.tables
            }
            async fn insert(
                &mut self,
                table: &str,
                columns: &[String],
                rows: &[Vec<Value>],
            ) -> Result<(), StoreError> {
                let (kinds, rows) = converted(&self.tables, table, columns, rows)?;
                let dialect = &$store::DIALECT;
                let per = sql::batch_len(dialect.max_bind_params, columns.len().max(1));
                for batch in rows.chunks(per.max(1)) {
                    let text = insert_sql(table, columns, batch.len(), dialect.placeholders);
                    let mut query = sqlx::query(AssertSqlSafe(text));
                    for row in batch {
                        for (value, kind) in row.iter().zip(&kinds) {
                            query = bind_value!(query, value.clone(), *kind);
                        }
                    }
                    query
                        .execute(&mut *self.tx)
                        .await
                        .map_err(failed("loading a backup"))?;
                }
                Ok(())
            }
            async fn commit(self: Box<Self>) -> Result<(), StoreError> {
                self.tx.commit().await.map_err(failed("loading a backup"))
            }
        }
    };
}

/// Fails with `Conflict` unless the database is at `want` and every table
/// is empty.
/// Deletes every row of `tables` in the transaction `tx`, children first
/// (parents come first in the catalog's order), to undo a restore.
macro_rules! delete_all {
    ($tx:expr, $tables:expr) => {{
        for t in $tables.iter().rev() {
            let text = format!("DELETE FROM {}", quote(&t.name));
            sqlx::query(AssertSqlSafe(text))
                .execute(&mut *$tx)
                .await
                .map_err(failed("undoing a restore"))?;
        }
    }};
}

macro_rules! check_empty {
    ($tx:expr, $version:expr, $want:expr, $tables:expr) => {{
        if $version != $want {
            return Err(StoreError::Conflict(format!(
                "the database is at schema version {}, the backup at {}: \
                 restore into a new, empty database",
                $version, $want
            )));
        }
        for t in $tables {
            let text = format!("SELECT EXISTS (SELECT 1 FROM {})", quote(&t.name));
            let any: bool = sqlx::query_scalar(AssertSqlSafe(text))
                .fetch_one(&mut *$tx)
                .await
                .map_err(failed("checking that the database is empty"))?;
            if any {
                return Err(not_empty(&t.name));
            }
        }
    }};
}

loader!(SqliteLoad, sqlx::Sqlite, SqliteStore);
loader!(PgLoad, sqlx::Postgres, PgStore);

// SQLite.

async fn sqlite_catalog(conn: &mut sqlx::SqliteConnection) -> Result<Vec<TableInfo>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed("reading the SQLite catalog"))?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let cols: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .map_err(failed("reading the SQLite catalog"))?;
        let mut pk: Vec<(i64, String)> = cols
            .iter()
            .filter(|(_, _, pk)| *pk > 0)
            .map(|(n, _, pk)| (*pk, n.clone()))
            .collect();
        pk.sort();
        let columns = cols
            .iter()
            .map(|(n, t, _)| {
                Ok(ColumnInfo {
                    name: n.clone(),
                    kind: column_type(t, &name, n)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let refers_to: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list($1)")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .map_err(failed("reading the SQLite catalog"))?;
        tables.push(TableInfo {
            refers_to: refers_to.into_iter().filter(|r| r != &name).collect(),
            name,
            columns,
            primary_key: pk.into_iter().map(|(_, n)| n).collect(),
        });
    }
    foreign_key_order(tables)
}

async fn sqlite_version(conn: &mut sqlx::SqliteConnection) -> Result<i64, StoreError> {
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(failed("reading the schema version"))?;
    Ok(version.unwrap_or(0))
}

fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Value, StoreError> {
    let corrupt = |e: sqlx::Error| StoreError::Corrupt(format!("reading a value: {e}"));
    let raw = row.try_get_raw(i).map_err(corrupt)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let storage = raw.type_info().name().to_owned();
    Ok(match storage.as_str() {
        "INTEGER" => Value::Integer(row.try_get(i).map_err(corrupt)?),
        "REAL" => Value::Real(row.try_get(i).map_err(corrupt)?),
        "TEXT" => Value::Text(row.try_get(i).map_err(corrupt)?),
        _ => Value::Bytes(row.try_get(i).map_err(corrupt)?),
    })
}

struct SqliteDump {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    version: i64,
    tables: Vec<TableInfo>,
}

#[async_trait]
impl DumpReader for SqliteDump {
    fn schema_version(&self) -> i64 {
        self.version
    }
    fn tables(&self) -> &[TableInfo] {
        &self.tables
    }
    async fn read_table(
        &mut self,
        table: &str,
        sink: &mut (dyn FnMut(Vec<Value>) -> Result<(), StoreError> + Send),
    ) -> Result<u64, StoreError> {
        let info = self
            .tables
            .iter()
            .find(|t| t.name == table)
            .ok_or_else(|| StoreError::Corrupt(format!("no table {table:?}")))?;
        let sql = select_sql(info, false);
        let width = info.columns.len();
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *self.tx);
        let mut count = 0u64;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(failed("reading a table for a backup"))?
        {
            let values = (0..width)
                .map(|i| sqlite_value(&row, i))
                .collect::<Result<Vec<_>, _>>()?;
            sink(values)?;
            count += 1;
        }
        Ok(count)
    }
}

#[async_trait]
impl Dump for SqliteStore {
    async fn begin_dump(&self) -> Result<Box<dyn DumpReader>, StoreError> {
        let mut tx = self
            .pool
            .begin_with(SqliteStore::DIALECT.begin_read)
            .await
            .map_err(failed("starting a backup"))?;
        // A deferred transaction takes its snapshot at its first read: the
        // catalog read is that read, so everything after sees one state.
        let version = sqlite_version(&mut tx).await?;
        let tables = sqlite_catalog(&mut tx).await?;
        Ok(Box::new(SqliteDump {
            tx,
            version,
            tables,
        }))
    }

    async fn begin_load(&self, schema_version: i64) -> Result<Box<dyn DumpLoader>, StoreError> {
        let mut tx = self
            .begin_write()
            .await
            .map_err(failed("starting a restore"))?;
        let version = sqlite_version(&mut tx).await?;
        let tables = sqlite_catalog(&mut tx).await?;
        check_empty!(tx, version, schema_version, &tables);
        Ok(Box::new(SqliteLoad { tx, tables }))
    }

    async fn discard_restore(&self) -> Result<(), StoreError> {
        let mut tx = self
            .begin_write()
            .await
            .map_err(failed("undoing a restore"))?;
        let tables = sqlite_catalog(&mut tx).await?;
        delete_all!(tx, &tables);
        tx.commit().await.map_err(failed("undoing a restore"))
    }
}

fn not_empty(table: &str) -> StoreError {
    StoreError::Conflict(format!(
        "the target database is not empty (table {table} has rows): a backup restores only into \
         a new, empty database; nothing was changed"
    ))
}

// PostgreSQL.

async fn pg_catalog(conn: &mut sqlx::PgConnection) -> Result<Vec<TableInfo>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed("reading the PostgreSQL catalog"))?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let cols: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .map_err(failed("reading the PostgreSQL catalog"))?;
        let columns = cols
            .iter()
            .map(|(n, t)| {
                Ok(ColumnInfo {
                    name: n.clone(),
                    kind: column_type(t, &name, n)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let primary_key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
             WHERE i.indisprimary AND n.nspname = current_schema() AND c.relname = $1 \
             ORDER BY k.pos",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .map_err(failed("reading the PostgreSQL catalog"))?;
        let refers_to: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT r.relname::text FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class r ON r.oid = k.confrelid \
             WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .map_err(failed("reading the PostgreSQL catalog"))?;
        tables.push(TableInfo {
            refers_to: refers_to.into_iter().filter(|r| r != &name).collect(),
            name,
            columns,
            primary_key,
        });
    }
    foreign_key_order(tables)
}

async fn pg_version(conn: &mut sqlx::PgConnection) -> Result<i64, StoreError> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(failed("reading the schema version"))?;
    if !exists {
        return Ok(0);
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(failed("reading the schema version"))?;
    Ok(version.unwrap_or(0))
}

fn pg_value(row: &sqlx::postgres::PgRow, i: usize, kind: ColumnType) -> Result<Value, StoreError> {
    let corrupt = |e: sqlx::Error| StoreError::Corrupt(format!("reading a value: {e}"));
    Ok(match kind {
        ColumnType::Integer => {
            // BIGINT, INTEGER and SMALLINT decode as their own widths.
            let raw = row.try_get_raw(i).map_err(corrupt)?;
            if raw.is_null() {
                return Ok(Value::Null);
            }
            match raw.type_info().name() {
                "INT4" => Value::Integer(i64::from(row.try_get::<i32, _>(i).map_err(corrupt)?)),
                "INT2" => Value::Integer(i64::from(row.try_get::<i16, _>(i).map_err(corrupt)?)),
                _ => Value::Integer(row.try_get::<i64, _>(i).map_err(corrupt)?),
            }
        }
        ColumnType::Real => row
            .try_get::<Option<f64>, _>(i)
            .map_err(corrupt)?
            .map_or(Value::Null, Value::Real),
        ColumnType::Text => row
            .try_get::<Option<String>, _>(i)
            .map_err(corrupt)?
            .map_or(Value::Null, Value::Text),
        ColumnType::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)
            .map_err(corrupt)?
            .map_or(Value::Null, Value::Bytes),
        ColumnType::Boolean => row
            .try_get::<Option<bool>, _>(i)
            .map_err(corrupt)?
            .map_or(Value::Null, Value::Bool),
    })
}

struct PgDump {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    version: i64,
    tables: Vec<TableInfo>,
}

#[async_trait]
impl DumpReader for PgDump {
    fn schema_version(&self) -> i64 {
        self.version
    }
    fn tables(&self) -> &[TableInfo] {
        &self.tables
    }
    async fn read_table(
        &mut self,
        table: &str,
        sink: &mut (dyn FnMut(Vec<Value>) -> Result<(), StoreError> + Send),
    ) -> Result<u64, StoreError> {
        let info = self
            .tables
            .iter()
            .find(|t| t.name == table)
            .ok_or_else(|| StoreError::Corrupt(format!("no table {table:?}")))?;
        let sql = select_sql(info, true);
        let kinds: Vec<ColumnType> = info.columns.iter().map(|c| c.kind).collect();
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *self.tx);
        let mut count = 0u64;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(failed("reading a table for a backup"))?
        {
            let values = kinds
                .iter()
                .enumerate()
                .map(|(i, k)| pg_value(&row, i, *k))
                .collect::<Result<Vec<_>, _>>()?;
            sink(values)?;
            count += 1;
        }
        Ok(count)
    }
}

#[async_trait]
impl Dump for PgStore {
    async fn begin_dump(&self) -> Result<Box<dyn DumpReader>, StoreError> {
        let mut tx = self
            .pool
            .begin_with(PgStore::DIALECT.begin_read)
            .await
            .map_err(failed("starting a backup"))?;
        let version = pg_version(&mut tx).await?;
        let tables = pg_catalog(&mut tx).await?;
        Ok(Box::new(PgDump {
            tx,
            version,
            tables,
        }))
    }

    async fn begin_load(&self, schema_version: i64) -> Result<Box<dyn DumpLoader>, StoreError> {
        let mut tx = self
            .begin_write()
            .await
            .map_err(failed("starting a restore"))?;
        let version = pg_version(&mut tx).await?;
        let tables = pg_catalog(&mut tx).await?;
        check_empty!(tx, version, schema_version, &tables);
        Ok(Box::new(PgLoad { tx, tables }))
    }

    async fn discard_restore(&self) -> Result<(), StoreError> {
        let mut tx = self
            .begin_write()
            .await
            .map_err(failed("undoing a restore"))?;
        let tables = pg_catalog(&mut tx).await?;
        delete_all!(tx, &tables);
        tx.commit().await.map_err(failed("undoing a restore"))
    }
}

/// How many rows each table of a dump holds, by name (for tests and
/// reports).
pub async fn row_counts(reader: &mut dyn DumpReader) -> Result<BTreeMap<String, u64>, StoreError> {
    let names: Vec<String> = reader.tables().iter().map(|t| t.name.clone()).collect();
    let mut out = BTreeMap::new();
    for name in names {
        let n = reader.read_table(&name, &mut |_| Ok(())).await?;
        out.insert(name, n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn table(name: &str, refers: &[&str]) -> TableInfo {
        TableInfo {
            name: name.into(),
            columns: vec![],
            primary_key: vec![],
            refers_to: refers.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn tables_come_after_the_tables_they_refer_to() {
        let order = foreign_key_order(vec![
            table("b", &["a"]),
            table("c", &["b", "a"]),
            table("a", &[]),
            table("d", &["missing"]),
        ])
        .unwrap();
        let names: Vec<&str> = order.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert!(foreign_key_order(vec![table("x", &["y"]), table("y", &["x"])]).is_err());
    }

    #[test]
    fn values_convert_between_backends() {
        let col = |kind| ColumnInfo {
            name: "c".into(),
            kind,
        };
        assert_eq!(
            convert(&Value::Integer(1), &col(ColumnType::Boolean), "t").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            convert(&Value::Bool(false), &col(ColumnType::Integer), "t").unwrap(),
            Value::Integer(0)
        );
        assert!(convert(&Value::Integer(2), &col(ColumnType::Boolean), "t").is_err());
        assert!(convert(&Value::Text("x".into()), &col(ColumnType::Bytes), "t").is_err());
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
