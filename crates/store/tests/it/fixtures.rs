//! Backends to test against and records to store in them.

use std::sync::Arc;

use confidant_core::{
    Column, DataCategory, ItemId, KeyId, Label, PersonId, PersonStatus, Role, RowId,
};
use confidant_core::{RecordSetId, WorkspaceId};
use confidant_store::{
    BlobKey, DocumentRecord, IndexEntry, PersonRecord, RecordSetRecord, RowRecord, SqliteStore,
    Store, WorkspaceRecord,
};
use rand_core::OsRng;
use time::OffsetDateTime;

/// A store and what keeps its database alive.
pub struct Db {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> anyhow::Result<Db> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("confidant.db").display());
    let store = SqliteStore::connect(&url).await?;
    Ok(Db {
        store: Arc::new(store),
        _dir: Some(dir),
    })
}

/// A store on a fresh PostgreSQL database, or `None` when PostgreSQL tests
/// are skipped (which is said on stderr, so nobody mistakes a skip for a
/// pass).
pub async fn postgres() -> anyhow::Result<Option<Db>> {
    let Some(url) = confidant_testkit::postgres_url().await? else {
        eprintln!("SKIPPED: PostgreSQL test (CONFIDANT_SKIP_POSTGRES=1)");
        return Ok(None);
    };
    let store = confidant_store::connect(&url).await?;
    anyhow::ensure!(store.backend() == confidant_store::Backend::Postgres);
    Ok(Some(Db { store, _dir: None }))
}

/// A time at whole milliseconds (what the store keeps).
pub fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).expect("time in range")
}

/// Base time of the fixtures: 2026-05-20.
pub const T0: i64 = 1_779_235_200_000;

pub fn workspace_record() -> WorkspaceRecord {
    WorkspaceRecord {
        id: WorkspaceId::random(&mut OsRng),
        name: "Acme Bookkeeping".into(),
        created_at: at(T0),
        root_seal: r#"{"kdf":"argon2id"}"#.into(),
        kek_id: KeyId::random(&mut OsRng),
        kek_wrapped: b"kek sealed by root".to_vec(),
        signing_key_wrapped: b"signing key wrapped".to_vec(),
        signing_public_key: vec![7; 32],
        names_key_wrapped: b"names key wrapped".to_vec(),
    }
}

pub fn person_record(ws: &WorkspaceRecord, email: &str, role: Role, ms: i64) -> PersonRecord {
    PersonRecord {
        id: PersonId::random(&mut OsRng),
        workspace: ws.id,
        email: email.into(),
        name: email.split('@').next().unwrap_or_default().into(),
        role,
        password_hash: (role == Role::Owner).then(|| "$argon2id$v=19$...".into()),
        created_at: at(ms),
        status: if role == Role::Owner {
            PersonStatus::Active
        } else {
            PersonStatus::Invited
        },
        totp_secret_ct: None,
        totp_last_step: None,
        offboarded_at: None,
        offboard_reason: None,
    }
}

/// A fresh workspace with its owner, stored.
pub async fn workspace(store: &dyn Store) -> anyhow::Result<(WorkspaceRecord, PersonRecord)> {
    let ws = workspace_record();
    let owner = person_record(&ws, "owner@example.com", Role::Owner, T0);
    store.create_workspace(&ws, &owner).await?;
    Ok((ws, owner))
}

pub fn document(ws: &WorkspaceRecord, name: &str, ms: i64) -> DocumentRecord {
    let id = ItemId::random(&mut OsRng);
    DocumentRecord {
        id,
        workspace: ws.id,
        name_ct: format!("ciphertext of {name}").into_bytes(),
        name_index: format!("index of {name}").into_bytes(),
        label: Label::Confidential,
        size: 1234,
        version: 1,
        blob: BlobKey::document(ws.id, id, "v1").expect("valid blob key"),
        data_key_wrapped: format!("data key of {name}").into_bytes(),
        kek_id: ws.kek_id,
        created_at: at(ms),
        updated_at: at(ms),
        scan: Some(format!(r#"{{"kinds":{{"email":{ms}}}}}"#)),
    }
}

/// `columns` columns named `c0`, `c1`, ...; `c0` and `c1` are indexed.
pub fn record_set(ws: &WorkspaceRecord, name: &str, columns: usize) -> RecordSetRecord {
    RecordSetRecord {
        id: RecordSetId::random(&mut OsRng),
        workspace: ws.id,
        name: name.into(),
        label: Label::Restricted,
        columns: (0..columns)
            .map(|i| Column {
                name: format!("c{i}"),
                category: if i == 1 {
                    DataCategory::Email
                } else {
                    DataCategory::FreeText
                },
                indexed: i < 2,
            })
            .collect(),
        rows_are_customers: true,
        contact_column: Some("c1".into()),
        row_count: 0,
        data_key_wrapped: format!("data key of {name}").into_bytes(),
        kek_id: ws.kek_id,
        created_at: at(T0 + 1),
    }
}

/// Rows `ordinals` of `set`, each with `columns` cells of 24 bytes, and
/// index entries for `c0` (unique per row) and `c1` (the ordinal mod 10).
pub fn rows(
    set: &RecordSetRecord,
    ordinals: impl IntoIterator<Item = u64>,
    columns: usize,
) -> (Vec<RowRecord>, Vec<IndexEntry>) {
    let mut rows = Vec::new();
    let mut index = Vec::new();
    for ordinal in ordinals {
        let id = RowId::random(&mut OsRng);
        let mut cells = Vec::with_capacity(columns * 24);
        for column in 0..columns {
            cells.extend_from_slice(format!("{ordinal:>12}:{column:>11}").as_bytes());
        }
        rows.push(RowRecord {
            id,
            set: set.id,
            ordinal,
            cells,
        });
        index.push(IndexEntry {
            row: id,
            column: "c0".into(),
            hash: c0_hash(ordinal),
        });
        index.push(IndexEntry {
            row: id,
            column: "c1".into(),
            hash: c1_hash(ordinal % 10),
        });
    }
    (rows, index)
}

pub fn c0_hash(ordinal: u64) -> Vec<u8> {
    format!("h0:{ordinal}").into_bytes()
}

pub fn c1_hash(bucket: u64) -> Vec<u8> {
    format!("h1:{bucket}").into_bytes()
}
