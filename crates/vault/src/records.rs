//! Record sets: tables of customer data, one encrypted cell at a time, with
//! blind indexes on chosen columns.

use std::collections::{BTreeMap, BTreeSet};

use confidant_core::{
    Column, DataCategory, Label, RecordSetId, RecordSetMeta, RecordSetSpec, RowId,
    validate_record_set_name,
};
use confidant_crypto::{DataKey, FieldKeys, FieldPurpose};
use confidant_store::{IndexEntry, KeyOwner, RecordSetRecord, RowRecord};
use rand_core::OsRng;
use tokio::sync::mpsc;

use confidant_ledger::{KnownAction, Target, TargetId};

use crate::keys::key_context;
use crate::{Actor, Vault, VaultError};

/// How the columns of an imported file are to be understood.
#[derive(Clone, Debug, Default)]
pub struct ColumnMapping {
    /// A category for every column of the file's header.
    pub categories: Vec<(String, DataCategory)>,
    /// Columns that get a blind index for `records find`.
    pub indexed: Vec<String>,
    /// Each row is a customer (a data subject).
    pub rows_are_customers: bool,
    /// The column with the customer's e-mail address, for notices.
    pub contact_column: Option<String>,
    pub label: Label,
}

/// One decrypted row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    pub id: RowId,
    /// Values in column order.
    pub values: Vec<String>,
}

/// A page of decrypted rows.
#[derive(Clone, Debug)]
pub struct RecordPage {
    pub set: RecordSetMeta,
    pub offset: u64,
    pub rows: Vec<RecordRow>,
    /// Columns whose values were masked for the reader (outside their
    /// grants, or sensitive and shown only by `reveal`); empty for the
    /// owner and admins.
    pub masked: Vec<String>,
}

const BATCH_ROWS: usize = 1000;

enum ImportMsg {
    Columns(Vec<Column>),
    Rows(Vec<RowRecord>, Vec<IndexEntry>),
}

fn cell_context<'a>(set: &'a RecordSetId, row: &'a RowId, column: &'a str) -> [&'a [u8]; 4] {
    [b"cell", set.as_bytes(), row.as_bytes(), column.as_bytes()]
}

fn index_scope(column: &str) -> [&[u8]; 2] {
    [b"column", column.as_bytes()]
}

fn meta(record: &RecordSetRecord) -> RecordSetMeta {
    RecordSetMeta {
        id: record.id,
        workspace: record.workspace,
        name: record.name.clone(),
        label: record.label,
        columns: record.columns.clone(),
        rows_are_customers: record.rows_are_customers,
        contact_column: record.contact_column.clone(),
        row_count: record.row_count,
        created_at: record.created_at,
    }
}

/// Says where in the file a CSV error is, in words a person can act on.
fn csv_error(e: &csv::Error) -> VaultError {
    let line = e.position().map(|p| p.line());
    let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
    let what = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "field {} is not valid UTF-8 text: save the file as UTF-8",
            err.field() + 1
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("the row has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Io(io) => format!("reading the file failed: {io}"),
        _ => format!("not valid CSV: {e}"),
    };
    VaultError::InvalidInput(format!("{at}{what} (nothing was imported)"))
}

/// Matches the file's header against the mapping.
fn columns_for(
    header: &csv::StringRecord,
    mapping: &ColumnMapping,
) -> Result<Vec<Column>, VaultError> {
    let categories: BTreeMap<&str, DataCategory> = mapping
        .categories
        .iter()
        .map(|(c, k)| (c.as_str(), *k))
        .collect();
    let indexed: BTreeSet<&str> = mapping.indexed.iter().map(String::as_str).collect();
    let names: Vec<&str> = header.iter().map(str::trim).collect();
    let invalid = |m: String| {
        VaultError::InvalidInput(format!("line 1 (header): {m} (nothing was imported)"))
    };
    if let Some(pos) = names.iter().position(|n| n.is_empty()) {
        return Err(invalid(format!("column {} has no name", pos + 1)));
    }
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !categories.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(format!(
            "no data category for column(s) {}: add them to --columns, e.g. --columns {}",
            missing.join(", "),
            missing
                .iter()
                .map(|m| format!("{m}=other"))
                .collect::<Vec<_>>()
                .join(",")
        )));
    }
    let present: BTreeSet<&str> = names.iter().copied().collect();
    if let Some(extra) = categories.keys().find(|c| !present.contains(*c)) {
        return Err(invalid(format!(
            "--columns names column {extra:?}, which the file does not have (its columns: {})",
            names.join(", ")
        )));
    }
    if let Some(extra) = indexed.iter().find(|c| !present.contains(*c)) {
        return Err(invalid(format!(
            "--index names column {extra:?}, which the file does not have"
        )));
    }
    Ok(names
        .iter()
        .map(|n| Column {
            name: (*n).to_owned(),
            category: categories.get(n).copied().unwrap_or(DataCategory::Other),
            indexed: indexed.contains(n),
        })
        .collect())
}

/// Parses and encrypts a CSV file on a blocking thread, sending batches.
fn parse_and_encrypt(
    input: impl std::io::Read,
    mapping: &ColumnMapping,
    set: RecordSetId,
    cells: &FieldKeys,
    tx: &mpsc::Sender<Result<ImportMsg, VaultError>>,
) -> Result<(), VaultError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header = reader.headers().map_err(|e| csv_error(&e))?.clone();
    if header.is_empty() || (header.len() == 1 && header.get(0).is_some_and(str::is_empty)) {
        return Err(VaultError::InvalidInput(
            "the file is empty: expected a header row naming the columns (nothing was imported)"
                .into(),
        ));
    }
    let columns = columns_for(&header, mapping)?;
    let send = |msg| {
        tx.blocking_send(Ok(msg))
            .map_err(|_| VaultError::Internal("the import was cancelled".into()))
    };
    send(ImportMsg::Columns(columns.clone()))?;
    let rng = &mut OsRng;
    let mut record = csv::StringRecord::new();
    let mut ordinal = 0u64;
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    let mut index = Vec::new();
    while reader.read_record(&mut record).map_err(|e| csv_error(&e))? {
        let row = RowId::random(rng);
        let mut encoded = Vec::with_capacity(columns.len() * 48);
        for (column, value) in columns.iter().zip(record.iter()) {
            let sealed = cells
                .seal(
                    &cell_context(&set, &row, &column.name),
                    value.as_bytes(),
                    rng,
                )
                .map_err(|e| VaultError::Internal(format!("encrypting a cell failed: {e}")))?;
            encoded.extend_from_slice(&(sealed.len() as u32).to_be_bytes());
            encoded.extend_from_slice(&sealed);
            if column.indexed && !value.trim().is_empty() {
                let normalized = column.category.normalize_for_lookup(value);
                index.push(IndexEntry {
                    row,
                    column: column.name.clone(),
                    hash: cells.blind_index(&index_scope(&column.name), normalized.as_bytes()),
                });
            }
        }
        rows.push(RowRecord {
            id: row,
            set,
            ordinal,
            cells: encoded,
        });
        ordinal += 1;
        if rows.len() == BATCH_ROWS {
            send(ImportMsg::Rows(
                std::mem::take(&mut rows),
                std::mem::take(&mut index),
            ))?;
        }
    }
    if !rows.is_empty() {
        send(ImportMsg::Rows(rows, index))?;
    }
    Ok(())
}

/// The answer for a set that is missing or not the reader's to see.
pub(crate) fn set_not_found(set: &str) -> VaultError {
    VaultError::NotFound(format!(
        "no record set {set:?} in this workspace: `confidant records list` shows them"
    ))
}

impl Vault {
    /// One decrypted value of a row (for `reveal`).
    pub(crate) async fn cell(
        &self,
        record: &RecordSetRecord,
        row: RowId,
        column: &str,
    ) -> Result<String, VaultError> {
        let stored = self
            .store()
            .row(self.workspace(), record.id, row)
            .await?
            .ok_or_else(|| VaultError::NotFound(format!("no row {row} in this record set")))?;
        let cells = self.cell_keys(record).await?;
        let rows = Self::decrypt_rows(record, &cells, std::slice::from_ref(&stored))?;
        let index = record
            .columns
            .iter()
            .position(|c| c.name == column)
            .ok_or_else(|| set_not_found(&record.name))?;
        rows.into_iter()
            .next()
            .and_then(|r| r.values.into_iter().nth(index))
            .ok_or_else(|| {
                VaultError::Integrity("a stored row has fewer cells than columns".into())
            })
    }

    pub(crate) async fn find_record_set(&self, set: &str) -> Result<RecordSetRecord, VaultError> {
        let ws = self.workspace();
        let found = match set.parse::<RecordSetId>() {
            Ok(id) => self.store().record_set(ws, id).await?,
            Err(_) => self.store().record_set_by_name(ws, set.trim()).await?,
        };
        found.ok_or_else(|| {
            VaultError::NotFound(format!(
                "no record set {set:?} in this workspace: `confidant records list` shows them"
            ))
        })
    }

    pub(crate) async fn cell_keys(&self, set: &RecordSetRecord) -> Result<FieldKeys, VaultError> {
        let keys = self.keys_for(set.kek_id).await?;
        let what = format!("record set {:?}", set.name);
        keys.kek
            .unwrap(
                &set.data_key_wrapped,
                &key_context(set.workspace, KeyOwner::RecordSet(set.id)),
            )
            .and_then(|k| FieldKeys::derive(&k, FieldPurpose::Cells))
            .map_err(|e| VaultError::crypto(&what, e))
    }

    /// Imports a CSV file (RFC 4180, UTF-8, header row) as a new record set.
    /// All or nothing: on any error (bad UTF-8, a ragged row, a column
    /// without a category) nothing is stored and the error names the line.
    pub async fn import_records(
        &self,
        actor: &Actor,
        name: &str,
        input: impl std::io::Read + Send + 'static,
        mapping: ColumnMapping,
    ) -> Result<RecordSetMeta, VaultError> {
        self.gate(actor, "import records", KnownAction::Import)
            .await?;
        let name = name.trim();
        validate_record_set_name(name).map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let ws = self.workspace();
        if self.store().record_set_by_name(ws, name).await?.is_some() {
            return Err(set_taken(name));
        }
        let rng = &mut OsRng;
        let set_id = RecordSetId::random(rng);
        let data_key = DataKey::generate(rng);
        let keys = self.current_keys();
        let wrapped = keys
            .kek
            .wrap(
                &data_key,
                &key_context(ws, KeyOwner::RecordSet(set_id)),
                rng,
            )
            .map_err(|e| VaultError::Internal(format!("wrapping a data key failed: {e}")))?;
        let cells = FieldKeys::derive(&data_key, FieldPurpose::Cells)
            .map_err(|e| VaultError::Internal(format!("deriving cell keys failed: {e}")))?;

        let (tx, mut rx) = mpsc::channel(4);
        let parse_mapping = mapping.clone();
        let parser = tokio::task::spawn_blocking(move || {
            if let Err(e) = parse_and_encrypt(input, &parse_mapping, set_id, &cells, &tx) {
                // The receiver may be gone already; then nobody needs the error.
                tx.blocking_send(Err(e)).ok();
            }
        });

        let first = rx
            .recv()
            .await
            .ok_or_else(|| VaultError::Internal("the import stopped".into()))??;
        let ImportMsg::Columns(columns) = first else {
            return Err(VaultError::Internal(
                "the import sent rows before columns".into(),
            ));
        };
        let spec = RecordSetSpec {
            name: name.to_owned(),
            label: mapping.label,
            columns,
            rows_are_customers: mapping.rows_are_customers,
            contact_column: mapping.contact_column.clone(),
        };
        spec.validate()
            .map_err(|e| VaultError::InvalidInput(format!("{e} (nothing was imported)")))?;
        let record = RecordSetRecord {
            id: set_id,
            workspace: ws,
            name: spec.name,
            label: spec.label,
            columns: spec.columns,
            rows_are_customers: spec.rows_are_customers,
            contact_column: spec.contact_column,
            row_count: 0,
            data_key_wrapped: wrapped,
            kek_id: keys.kek_id,
            created_at: self.inner.clock.now(),
        };
        // Recorded before the import's transaction starts: on SQLite both
        // need the one write lock.
        let target = Target::whole(TargetId::RecordSet(record.id));
        let categories: Vec<_> = record.columns.iter().map(|c| c.category).collect();
        self.allow(actor, KnownAction::Import, target, categories)
            .await?;
        let result: Result<RecordSetRecord, VaultError> = async {
            let mut import = self.store().begin_record_import(&record).await?;
            while let Some(msg) = rx.recv().await {
                match msg? {
                    ImportMsg::Rows(rows, index) => import.add_rows(&rows, &index).await?,
                    ImportMsg::Columns(_) => {
                        return Err(VaultError::Internal(
                            "the import sent its columns twice".into(),
                        ));
                    }
                }
            }
            parser
                .await
                .map_err(|e| VaultError::Internal(format!("the import failed: {e}")))?;
            Ok(import.commit().await?)
        }
        .await;
        match result {
            Ok(committed) => Ok(meta(&committed)),
            // Either the name was taken meanwhile, or the keys were rotated
            // during the import; nothing was stored in both cases.
            Err(VaultError::Conflict(_)) => match self.store().record_set_by_name(ws, name).await {
                Ok(Some(_)) => Err(set_taken(name)),
                _ => Err(VaultError::Conflict(
                    "the workspace's keys were rotated during the import: run it again (nothing was imported)".into(),
                )),
            },
            Err(e) => Err(e),
        }
    }

    /// The categories suggested for the columns of a CSV file about to be
    /// imported, from its first `sample` rows (see [`crate::columns`]).
    /// Only those who may import may ask; nothing is stored.
    pub async fn suggest_import_columns(
        &self,
        actor: &Actor,
        input: impl std::io::Read + Send + 'static,
        sample: usize,
    ) -> Result<Vec<crate::columns::ColumnSuggestion>, VaultError> {
        self.gate(actor, "import records", KnownAction::Import)
            .await?;
        tokio::task::spawn_blocking(move || crate::columns::suggest_columns(input, sample))
            .await
            .map_err(|e| VaultError::Internal(format!("suggesting categories failed: {e}")))?
    }

    pub async fn record_sets(&self, actor: &Actor) -> Result<Vec<RecordSetMeta>, VaultError> {
        if !self.is_manager(actor) {
            return self.granted_record_sets(actor).await;
        }
        self.gate(actor, "list record sets", KnownAction::View)
            .await?;
        let sets = self
            .store()
            .record_sets(self.workspace())
            .await?
            .iter()
            .map(meta)
            .collect();
        let target = Target::whole(TargetId::Workspace(self.workspace()));
        self.allow(actor, KnownAction::View, target, []).await?;
        Ok(sets)
    }

    pub async fn record_set(&self, actor: &Actor, set: &str) -> Result<RecordSetMeta, VaultError> {
        self.gate(actor, "see a record set", KnownAction::View)
            .await?;
        let record = self.find_record_set(set).await?;
        let target = Target::whole(TargetId::RecordSet(record.id));
        self.allow(actor, KnownAction::View, target, []).await?;
        Ok(meta(&record))
    }

    /// Records which rows and columns (and so which customers and data
    /// categories) were shown, before they are returned.
    /// A search records the searched value's blind index (keyed hash) as
    /// `searched`, so "who looked up this customer" can be answered later
    /// without the value ever being in the ledger.
    async fn record_rows_viewed(
        &self,
        actor: &Actor,
        set: &RecordSetRecord,
        rows: &[RecordRow],
        searched: Option<Vec<u8>>,
        masked: &[String],
    ) -> Result<(), VaultError> {
        self.record_rows_left(actor, set, rows, searched, masked, KnownAction::View, None)
            .await
    }

    /// Records rows leaving the vault, for `action` (view, export), with
    /// the delivery id of a stamped copy.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_rows_left(
        &self,
        actor: &Actor,
        set: &RecordSetRecord,
        rows: &[RecordRow],
        searched: Option<Vec<u8>>,
        masked: &[String],
        action: KnownAction,
        delivery: Option<String>,
    ) -> Result<(), VaultError> {
        // Only what left in the clear counts as seen: masked columns are
        // named in the reason, not among the columns and categories (the
        // exposure after a leak is computed from these).
        let clear: Vec<&confidant_core::Column> = set
            .columns
            .iter()
            .filter(|c| !masked.contains(&c.name))
            .collect();
        let target = Target {
            id: TargetId::RecordSet(set.id),
            rows: rows.iter().map(|r| r.id).collect(),
            columns: clear.iter().map(|c| c.name.clone()).collect(),
        };
        let categories: Vec<_> = clear.iter().map(|c| c.category).collect();
        let mut attempt =
            crate::audit::Attempt::allowed(actor, action, target).categories(categories);
        if !masked.is_empty() {
            attempt.reason = format!("{} (masked: {})", attempt.reason, masked.join(", "));
        }
        if let Some(delivery) = delivery {
            attempt.reason = format!("{}; stamped copy, delivery {delivery}", attempt.reason);
            attempt.delivery = Some(delivery);
        }
        attempt
            .keyed
            .extend(searched.map(|hash| ("searched", hash)));
        self.record(&[attempt]).await
    }

    pub(crate) fn decrypt_rows(
        set: &RecordSetRecord,
        cells: &FieldKeys,
        rows: &[RowRecord],
    ) -> Result<Vec<RecordRow>, VaultError> {
        rows.iter()
            .map(|row| {
                let damaged = || {
                    VaultError::Integrity(format!(
                        "integrity check failed for row {} of record set {:?}: the stored cells were changed",
                        row.id, set.name
                    ))
                };
                let mut values = Vec::with_capacity(set.columns.len());
                let mut rest = row.cells.as_slice();
                for column in &set.columns {
                    let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(damaged)?;
                    let len = u32::from_be_bytes(*len) as usize;
                    if tail.len() < len {
                        return Err(damaged());
                    }
                    let (sealed, tail) = tail.split_at(len);
                    let plain = cells
                        .open(&cell_context(&set.id, &row.id, &column.name), sealed)
                        .map_err(|_| {
                            VaultError::Integrity(format!(
                                "integrity check failed for row {}, column {:?} of record set {:?}: the stored cell was changed",
                                row.id, column.name, set.name
                            ))
                        })?;
                    values.push(String::from_utf8(plain).map_err(|_| damaged())?);
                    rest = tail;
                }
                if !rest.is_empty() {
                    return Err(damaged());
                }
                Ok(RecordRow { id: row.id, values })
            })
            .collect()
    }

    /// Decrypted rows of a set, in import order.
    pub async fn show_records(
        &self,
        actor: &Actor,
        set: &str,
        offset: u64,
        limit: u64,
    ) -> Result<RecordPage, VaultError> {
        if !self.is_manager(actor) {
            return self.show_granted_records(actor, set, offset, limit).await;
        }
        self.gate(actor, "see records", KnownAction::View).await?;
        let record = self.find_record_set(set).await?;
        let cells = self.cell_keys(&record).await?;
        let rows = self
            .store()
            .rows(self.workspace(), record.id, offset, limit)
            .await?;
        let rows = Self::decrypt_rows(&record, &cells, &rows)?;
        self.record_rows_viewed(actor, &record, &rows, None, &[])
            .await?;
        Ok(RecordPage {
            set: meta(&record),
            offset,
            rows,
            masked: Vec::new(),
        })
    }

    /// The sets of which a non-manager may view at least one column.
    async fn granted_record_sets(&self, actor: &Actor) -> Result<Vec<RecordSetMeta>, VaultError> {
        self.require_member(actor)?;
        let grants = self.grants_for_decision(actor.person).await?;
        let gates = self.circumstances(actor).await?;
        let engine = self.engine().await?;
        let mut out = Vec::new();
        for record in self.store().record_sets(self.workspace()).await? {
            // Listed when a column is viewable, or when a grant covers one
            // and only the gates stand in the way.
            let listed = record.columns.iter().any(|c| {
                let item = crate::access::column_item(&record, c);
                self.decide(
                    &engine,
                    actor,
                    confidant_core::Access::View,
                    item,
                    &grants,
                    &gates,
                )
                .allowed
                    || Self::covered(actor, confidant_core::Access::View, item, &grants, &gates)
            });
            if listed {
                out.push(meta(&record));
            }
        }
        let mut attempt = crate::audit::Attempt::allowed(
            actor,
            KnownAction::View,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!("listed the {} record sets their grants cover", out.len());
        self.record(&[attempt]).await?;
        Ok(out)
    }

    /// A page for someone who is not the owner or an admin: each column
    /// decided by the policy engine; masked where not allowed (or
    /// sensitive); only rows their grants' row filters let through; a set
    /// they may see nothing of answers like a missing one.
    async fn show_granted_records(
        &self,
        actor: &Actor,
        set: &str,
        offset: u64,
        limit: u64,
    ) -> Result<RecordPage, VaultError> {
        let (record, rows, masked) = self
            .granted_rows(actor, set, offset, limit, confidant_core::Access::View)
            .await?;
        self.record_rows_viewed(actor, &record, &rows, None, &masked)
            .await?;
        Ok(RecordPage {
            set: meta(&record),
            offset,
            rows,
            masked,
        })
    }

    /// The rows a non-manager may have for `action` (view or export), with
    /// the columns they may not have masked, and the names of those
    /// columns. A refusal is recorded here; what is returned is not yet
    /// (the caller records it before it leaves).
    pub(crate) async fn granted_rows(
        &self,
        actor: &Actor,
        set: &str,
        offset: u64,
        limit: u64,
        action: confidant_core::Access,
    ) -> Result<(RecordSetRecord, Vec<RecordRow>, Vec<String>), VaultError> {
        self.require_member(actor)?;
        let record = self.find_record_set(set).await?;
        let grants = self.grants_for_decision(actor.person).await?;
        let gates = self.circumstances(actor).await?;
        let engine = self.engine().await?;
        let decisions = self.viewable_columns(&engine, actor, &record, &grants, &gates, action);
        let allowed: Vec<bool> = decisions.iter().map(|d| d.allowed).collect();
        if !allowed.iter().any(|a| *a) {
            // A covered column blocked by the gates tells the person what
            // to do; otherwise the set answers like a missing one.
            let blocker = record.columns.iter().zip(&decisions).find_map(|(c, d)| {
                let item = crate::access::column_item(&record, c);
                let covered = Self::covered(actor, action, item, &grants, &gates);
                crate::access::Blocker::of(d, covered, &gates, &item)
            });
            let mut attempt = crate::audit::Attempt::allowed(
                actor,
                crate::access::known_action(action),
                Target::whole(TargetId::RecordSet(record.id)),
            );
            attempt.allowed = false;
            attempt.reason = match (&blocker, decisions.first()) {
                (Some(_), Some(decision)) => crate::access::ledger_reason(decision),
                _ => "no live grant covers any column of this record set: need to know".to_owned(),
            };
            self.record(&[attempt]).await?;
            return Err(match blocker {
                Some(blocker) => VaultError::Blocked(blocker),
                None => set_not_found(set),
            });
        }
        // Row filters: all rows when a live grant on the set has none.
        let now = self.inner.clock.now();
        let live: Vec<&confidant_core::Grant> = grants
            .iter()
            .filter(|g| g.is_live(now) && g.allows(action))
            .filter(|g| g.scope.covers_set(record.id))
            .collect();
        let filters: Option<Vec<&confidant_core::RowFilter>> = live
            .iter()
            .map(|g| match &g.scope {
                confidant_core::GrantScope::RecordSet { rows, .. } => rows.as_ref(),
                _ => None,
            })
            .collect();
        let cells = self.cell_keys(&record).await?;
        let mut rows = match filters {
            None => {
                let stored = self
                    .store()
                    .rows(self.workspace(), record.id, offset, limit)
                    .await?;
                Self::decrypt_rows(&record, &cells, &stored)?
            }
            // Cells are ciphertext, so the store cannot filter: read the
            // set in batches and page over the rows the filters let
            // through (offset and limit count those rows only).
            Some(filters) => {
                let passes = |row: &RecordRow| {
                    filters.iter().any(|f| {
                        record
                            .columns
                            .iter()
                            .position(|c| c.name == f.column)
                            .and_then(|i| row.values.get(i))
                            .is_some_and(|v| v.trim() == f.equals.trim())
                    })
                };
                const BATCH: u64 = 1_000;
                let mut out = Vec::new();
                let mut skipped = 0u64;
                let mut position = 0u64;
                while (out.len() as u64) < limit {
                    let stored = self
                        .store()
                        .rows(self.workspace(), record.id, position, BATCH)
                        .await?;
                    let fetched = stored.len() as u64;
                    for row in Self::decrypt_rows(&record, &cells, &stored)? {
                        if !passes(&row) {
                            continue;
                        }
                        if skipped < offset {
                            skipped += 1;
                        } else if (out.len() as u64) < limit {
                            out.push(row);
                        }
                    }
                    if fetched < BATCH {
                        break;
                    }
                    position += fetched;
                }
                out
            }
        };
        let mut masked = Vec::new();
        for (i, column) in record.columns.iter().enumerate() {
            if !allowed[i] || column.category.reveal_only() {
                masked.push(column.name.clone());
            }
        }
        for row in &mut rows {
            for (i, column) in record.columns.iter().enumerate() {
                if let Some(value) = row.values.get_mut(i) {
                    *value = Self::show(column.category, value, allowed[i])
                        .text()
                        .to_owned();
                }
            }
        }
        Ok((record, rows, masked))
    }

    /// Rows whose `column` equals `value` exactly (after the column's
    /// normalization, so e-mail case and phone punctuation do not matter).
    /// The column must have a blind index.
    pub async fn find_records(
        &self,
        actor: &Actor,
        set: &str,
        column: &str,
        value: &str,
    ) -> Result<RecordPage, VaultError> {
        self.gate(actor, "search records", KnownAction::View)
            .await?;
        let record = self.find_record_set(set).await?;
        let Some(spec) = record.columns.iter().find(|c| c.name == column) else {
            let names: Vec<&str> = record.columns.iter().map(|c| c.name.as_str()).collect();
            return Err(VaultError::InvalidInput(format!(
                "record set {:?} has no column {column:?} (its columns: {})",
                record.name,
                names.join(", ")
            )));
        };
        if !spec.indexed {
            return Err(VaultError::InvalidInput(format!(
                "column {column:?} has no search index: import the set with --index {column} to search it"
            )));
        }
        let cells = self.cell_keys(&record).await?;
        let normalized = spec.category.normalize_for_lookup(value);
        let hash = cells.blind_index(&index_scope(column), normalized.as_bytes());
        let rows = self
            .store()
            .rows_by_index(self.workspace(), record.id, column, &hash)
            .await?;
        let rows = Self::decrypt_rows(&record, &cells, &rows)?;
        self.record_rows_viewed(actor, &record, &rows, Some(hash), &[])
            .await?;
        Ok(RecordPage {
            set: meta(&record),
            offset: 0,
            rows,
            masked: Vec::new(),
        })
    }

    pub async fn delete_record_set(
        &self,
        actor: &Actor,
        set: &str,
    ) -> Result<RecordSetMeta, VaultError> {
        self.gate(actor, "delete a record set", KnownAction::Delete)
            .await?;
        let record = self.find_record_set(set).await?;
        let target = Target::whole(TargetId::RecordSet(record.id));
        self.allow(actor, KnownAction::Delete, target, []).await?;
        let deleted = self
            .store()
            .delete_record_set(self.workspace(), record.id)
            .await?
            .ok_or_else(|| {
                VaultError::NotFound(format!("record set {set:?} was deleted meanwhile"))
            })?;
        Ok(meta(&deleted))
    }
}

fn set_taken(name: &str) -> VaultError {
    VaultError::Conflict(format!(
        "a record set named {name:?} already exists: choose another name (nothing was imported)"
    ))
}
