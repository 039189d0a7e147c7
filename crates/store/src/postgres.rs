//! The PostgreSQL adapter, for several server processes sharing one
//! database.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::sql::{self, Dialect, Placeholders};
use crate::{Backend, StoreError};

/// The store in a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "ledger",
        include_str!("../migrations/postgres/0002_ledger.sql"),
    ),
    (
        3,
        "people",
        include_str!("../migrations/postgres/0003_people.sql"),
    ),
    (
        4,
        "document scan",
        include_str!("../migrations/postgres/0004_document_scan.sql"),
    ),
    (
        5,
        "grants",
        include_str!("../migrations/postgres/0005_grants.sql"),
    ),
    (
        6,
        "owner policies",
        include_str!("../migrations/postgres/0006_owner_policies.sql"),
    ),
    (
        7,
        "gates",
        include_str!("../migrations/postgres/0007_gates.sql"),
    ),
    (
        8,
        "honey",
        include_str!("../migrations/postgres/0008_honey.sql"),
    ),
    (
        9,
        "incidents",
        include_str!("../migrations/postgres/0009_incidents.sql"),
    ),
    (
        10,
        "devices",
        include_str!("../migrations/postgres/0010_devices.sql"),
    ),
    (
        11,
        "incidents_more",
        include_str!("../migrations/postgres/0011_incidents_more.sql"),
    ),
    (
        12,
        "schedule",
        include_str!("../migrations/postgres/0012_schedule.sql"),
    ),
    (
        13,
        "owner stamps",
        include_str!("../migrations/postgres/0013_owner_stamps.sql"),
    ),
    (
        14,
        "view only",
        include_str!("../migrations/postgres/0014_view_only.sql"),
    ),
    (
        15,
        "ledger refs",
        include_str!("../migrations/postgres/0015_ledger_refs.sql"),
    ),
    (
        17,
        "break glass",
        include_str!("../migrations/postgres/0017_break_glass.sql"),
    ),
];

impl PgStore {
    pub(crate) const DIALECT: Dialect = Dialect {
        backend: Backend::Postgres,
        // The protocol counts parameters in 16 bits.
        max_bind_params: 65535,
        // FOR SHARE: other writers of documents and record sets go on
        // concurrently, but a rotation (which updates the row) waits for
        // them, and they for it, after which the KEK is checked again.
        lock_current_kek: "SELECT 1 FROM workspaces WHERE id = $1 AND kek_id = $2 FOR SHARE",
        // The row lock serialises appends to one workspace's ledger across
        // processes; at READ COMMITTED the read after the wait sees the
        // head that the previous append committed.
        lock_ledger_head: "SELECT size, frontier FROM ledger_heads WHERE workspace_id = $1 \
                           FOR UPDATE",
        begin_read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        placeholders: Placeholders::Numbered,
    };

    /// Connects to `postgres://...` and brings the schema up to date
    /// (several processes may do so at once: sqlx takes an advisory lock).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, MIGRATIONS).await
    }

    /// Connects with the schema brought to `version` exactly, for loading a
    /// backup of that version (see `dump::connect_for_load`).
    pub(crate) async fn connect_at(url: &str, version: i64) -> Result<Self, StoreError> {
        Self::connect_with(url, crate::dump::migrations_up_to(MIGRATIONS, version)?).await
    }

    async fn connect_with(
        url: &str,
        migrations: &'static [(i64, &'static str, &'static str)],
    ) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::InvalidUrl(sql::redact_url(url)))?
            .application_name("confidant");
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_with(options)
            .await
            .map_err(sql::failed("connecting to PostgreSQL"))?;
        sql::migrator(migrations)
            .run(&pool)
            .await
            .map_err(sql::migration_failed)?;
        Ok(Self { pool })
    }

    /// Begins a write transaction (READ COMMITTED; the statements that need
    /// more take row locks or check conditions themselves).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

sql::impl_store!(PgStore, sqlx::Postgres);
crate::gates::impl_gates!(PgStore, sqlx::Postgres);
crate::incidents::impl_incidents!(PgStore, sqlx::Postgres);
crate::devices::impl_devices!(PgStore, sqlx::Postgres);
crate::schedule::impl_schedule!(PgStore, sqlx::Postgres);
crate::break_glass::impl_break_glass!(PgStore, sqlx::Postgres);
