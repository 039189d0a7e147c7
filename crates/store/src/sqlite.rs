//! The SQLite adapter: the embedded default, one database file in the data
//! dir.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::sql::{self, Dialect, Placeholders};
use crate::{Backend, StoreError};

/// The store in one SQLite database file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "ledger",
        include_str!("../migrations/sqlite/0002_ledger.sql"),
    ),
    (
        3,
        "people",
        include_str!("../migrations/sqlite/0003_people.sql"),
    ),
    (
        4,
        "document scan",
        include_str!("../migrations/sqlite/0004_document_scan.sql"),
    ),
    (
        5,
        "grants",
        include_str!("../migrations/sqlite/0005_grants.sql"),
    ),
    (
        6,
        "owner policies",
        include_str!("../migrations/sqlite/0006_owner_policies.sql"),
    ),
    (
        7,
        "gates",
        include_str!("../migrations/sqlite/0007_gates.sql"),
    ),
    (
        8,
        "honey",
        include_str!("../migrations/sqlite/0008_honey.sql"),
    ),
    (
        9,
        "incidents",
        include_str!("../migrations/sqlite/0009_incidents.sql"),
    ),
    (
        10,
        "devices",
        include_str!("../migrations/sqlite/0010_devices.sql"),
    ),
    (
        11,
        "incidents_more",
        include_str!("../migrations/sqlite/0011_incidents_more.sql"),
    ),
    (
        12,
        "schedule",
        include_str!("../migrations/sqlite/0012_schedule.sql"),
    ),
    (
        13,
        "owner stamps",
        include_str!("../migrations/sqlite/0013_owner_stamps.sql"),
    ),
    (
        14,
        "view only",
        include_str!("../migrations/sqlite/0014_view_only.sql"),
    ),
    (
        15,
        "ledger refs",
        include_str!("../migrations/sqlite/0015_ledger_refs.sql"),
    ),
    (
        17,
        "break glass",
        include_str!("../migrations/sqlite/0017_break_glass.sql"),
    ),
];

impl SqliteStore {
    pub(crate) const DIALECT: Dialect = Dialect {
        backend: Backend::Sqlite,
        // SQLITE_MAX_VARIABLE_NUMBER of the bundled SQLite (3.32 and later).
        max_bind_params: 32766,
        // Write transactions begin IMMEDIATE, so no other writer can rotate
        // the keys while this one runs: a plain check is enough.
        lock_current_kek: "SELECT 1 FROM workspaces WHERE id = $1 AND kek_id = $2",
        // The write transaction holds SQLite's one write lock from its
        // start (`BEGIN IMMEDIATE`), so appends are serialised already.
        lock_ledger_head: "SELECT size, frontier FROM ledger_heads WHERE workspace_id = $1",
        // A deferred transaction reads from one snapshot from its first read.
        begin_read: "BEGIN",
        placeholders: Placeholders::Anonymous,
    };

    /// Opens (creating when missing) the database at `sqlite://PATH` and
    /// brings its schema up to date. In-memory databases are refused: sqlx
    /// shares one between pooled connections through SQLite's shared cache,
    /// whose table locks fail at once instead of waiting, and drops it with
    /// the last idle connection; tests use a file in a temporary directory.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, MIGRATIONS).await
    }

    /// Opens the database brought to schema `version` exactly, for loading
    /// a backup of that version (see `dump::connect_for_load`).
    pub(crate) async fn connect_at(url: &str, version: i64) -> Result<Self, StoreError> {
        Self::connect_with(url, crate::dump::migrations_up_to(MIGRATIONS, version)?).await
    }

    async fn connect_with(
        url: &str,
        migrations: &'static [(i64, &'static str, &'static str)],
    ) -> Result<Self, StoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::InvalidUrl(url.to_owned()));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::InvalidUrl(sql::redact_url(url)))?
            .create_if_missing(true)
            // Readers never block the writer nor see its uncommitted work.
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL on every commit: an acknowledged write
            // survives kill -9 and power loss (NORMAL only survives the
            // former in WAL mode).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // A writer waits this long for another to finish. One
            // transaction holds the write lock for a whole record import
            // (about 10 s per million rows), so the wait must outlast that.
            .busy_timeout(Duration::from_secs(30))
            // Freed pages are zeroed, so deleted wrapped keys and
            // ciphertext are not left behind in the file's free list. (Older
            // copies of a page can stay in the -wal file until later commits
            // overwrite them there.)
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(sql::failed("opening the SQLite database"))?;
        sql::migrator(migrations)
            .run(&pool)
            .await
            .map_err(sql::migration_failed)?;
        Ok(Self { pool })
    }

    /// Begins a write transaction holding SQLite's write lock from the start.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        // A deferred transaction that reads and then writes fails with
        // SQLITE_BUSY, whatever the busy timeout, when another writer
        // committed in between; taking the lock up front makes concurrent
        // writers wait their turn instead.
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

sql::impl_store!(SqliteStore, sqlx::Sqlite);
crate::gates::impl_gates!(SqliteStore, sqlx::Sqlite);
crate::incidents::impl_incidents!(SqliteStore, sqlx::Sqlite);
crate::devices::impl_devices!(SqliteStore, sqlx::Sqlite);
crate::schedule::impl_schedule!(SqliteStore, sqlx::Sqlite);
crate::break_glass::impl_break_glass!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn connections_are_durable_and_wipe_deleted_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("missing/c.db").display());
        assert!(
            SqliteStore::connect(&url).await.is_err(),
            "a missing directory is an error"
        );
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let store = SqliteStore::connect(&url).await.expect("connect");
        let mut conn = store.pool.acquire().await.expect("connection");
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .expect("journal_mode");
        assert_eq!(journal, "wal");
        for (pragma, want) in [
            ("synchronous", 2), // FULL
            ("foreign_keys", 1),
            ("secure_delete", 1),
            ("busy_timeout", 30000),
        ] {
            let value: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {pragma}")))
                .fetch_one(&mut *conn)
                .await
                .expect(pragma);
            assert_eq!(value, want, "PRAGMA {pragma}");
        }
        drop(conn);
        // Connecting again finds the schema in place.
        SqliteStore::connect(&url).await.expect("reconnect");
        for memory in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory",
        ] {
            assert!(matches!(
                SqliteStore::connect(memory).await,
                Err(StoreError::InvalidUrl(_))
            ));
        }
    }
}
