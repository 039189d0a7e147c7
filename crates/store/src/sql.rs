//! What the SQLite and PostgreSQL adapters share: the SQL text, the mapping
//! between rows and records, error classification, and [`impl_store!`],
//! which writes the [`Store`](crate::Store) implementation for a pool type.
//!
//! The SQL is written once with `$N` parameters. PostgreSQL needs them;
//! sqlx-sqlite binds `$N` by its number (`SqliteArguments::bind` reads the
//! parameter name), and SQLite gives every occurrence of one name the same
//! slot, so a parameter may appear twice in a statement on both backends.
//! Only the generated multi-row inserts of an import or a ledger append
//! differ: on SQLite they use `?`, because binding thousands of named
//! parameters is quadratic there (see [`Placeholders`]). The two dialects
//! differ only in what [`Dialect`] names.
//!
//! Rows are decoded into plain tuples (sqlx implements `FromRow` for them on
//! every backend) and turned into records by ordinary functions, so the
//! mapping is written, and tested, once.

use std::str::FromStr;

use confidant_core::{Column, Label, Role};
use sqlx::error::{DatabaseError, ErrorKind};
use time::OffsetDateTime;

use confidant_core::{GrantStatus, PersonStatus};

use crate::{
    Backend, BlobKey, CheckpointRecord, DocumentRecord, GrantRecord, InviteRecord, KeyOwner,
    LedgerHead, LedgerLeaf, PersonRecord, RecordSetRecord, RowRecord, SessionKind, SessionRecord,
    StoreError, WorkspaceRecord, WrappedKeyRecord,
};

/// What differs between the backends, beyond the column types of their
/// migrations.
#[derive(Debug)]
pub(crate) struct Dialect {
    pub backend: Backend,
    /// The most bound parameters one statement may carry.
    pub max_bind_params: usize,
    /// Makes sure the workspace's current KEK is `$2` and keeps it so until
    /// the transaction ends. Returns a row when it is.
    pub lock_current_kek: &'static str,
    /// Reads the head row of workspace `$1`'s ledger (made by
    /// [`ENSURE_LEDGER_HEAD`] in the same transaction) and keeps it, and so
    /// the ledger, for this transaction until it ends.
    pub lock_ledger_head: &'static str,
    /// Begins a read-only transaction that sees one snapshot throughout.
    pub begin_read: &'static str,
    /// How generated (batch) statements write their parameters.
    pub placeholders: Placeholders,
}

// Column lists, as macros so `concat!` can build whole statements from them
// at compile time (sqlx only takes `&'static str` as trusted SQL).

macro_rules! workspace_columns {
    () => {
        "id, name, created_at, root_seal, kek_id, kek_wrapped, signing_key_wrapped, \
         signing_public_key, names_key_wrapped"
    };
}
macro_rules! person_columns {
    () => {
        "id, workspace_id, email, name, role, password_hash, created_at, status, totp_secret_ct, \
         totp_last_step, offboarded_at, offboard_reason"
    };
}
macro_rules! session_columns {
    () => {
        "hash, workspace_id, person_id, kind, label, created_at, last_used_at, expires_at, \
         device_id"
    };
}
macro_rules! grant_columns {
    () => {
        "id, workspace_id, person_id, scope_ct, actions, purpose_ct, status, requested_by, \
         request_reason_ct, approved_by, created_at, expires_at, ended_at, end_reason, \
         require_passcode"
    };
}
macro_rules! invite_columns {
    () => {
        "hash, workspace_id, person_id, invited_by, created_at, expires_at, used_at"
    };
}
macro_rules! document_columns {
    () => {
        "id, workspace_id, name_ct, name_index, label, size, version, blob_key, \
         data_key_wrapped, kek_id, created_at, updated_at, scan"
    };
}
macro_rules! record_set_columns {
    () => {
        "id, workspace_id, name, label, columns, rows_are_customers, contact_column, row_count, \
         data_key_wrapped, kek_id, created_at"
    };
}

pub(crate) const INSERT_WORKSPACE: &str = concat!(
    "INSERT INTO workspaces (",
    workspace_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);
/// The first workspace of the database.
pub(crate) const SELECT_WORKSPACE: &str = concat!(
    "SELECT ",
    workspace_columns!(),
    " FROM workspaces ORDER BY created_at, id LIMIT 1"
);
pub(crate) const SELECT_WORKSPACES: &str = concat!(
    "SELECT ",
    workspace_columns!(),
    " FROM workspaces ORDER BY created_at, id"
);
pub(crate) const SELECT_WORKSPACE_KEYS: &str =
    "SELECT kek_id, signing_key_wrapped, names_key_wrapped FROM workspaces WHERE id = $1";
pub(crate) const ROTATE_WORKSPACE_KEYS: &str = "UPDATE workspaces \
     SET kek_id = $3, kek_wrapped = $4, signing_key_wrapped = $5, names_key_wrapped = $6 \
     WHERE id = $1 AND kek_id = $2";
pub(crate) const COUNT_KEYS_UNDER_KEK: &str = "SELECT \
     (SELECT COUNT(*) FROM documents WHERE workspace_id = $1 AND kek_id = $2) + \
     (SELECT COUNT(*) FROM record_sets WHERE workspace_id = $1 AND kek_id = $2)";

pub(crate) const INSERT_PERSON: &str = concat!(
    "INSERT INTO people (",
    person_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
pub(crate) const SELECT_PERSON: &str = concat!(
    "SELECT ",
    person_columns!(),
    " FROM people WHERE workspace_id = $1 AND id = $2"
);
pub(crate) const SELECT_PERSON_BY_EMAIL: &str = concat!(
    "SELECT ",
    person_columns!(),
    " FROM people WHERE workspace_id = $1 AND email = $2"
);
pub(crate) const SELECT_OWNER: &str = concat!(
    "SELECT ",
    person_columns!(),
    " FROM people WHERE workspace_id = $1 AND role = 'owner' ORDER BY created_at, id LIMIT 1"
);
pub(crate) const SELECT_PEOPLE: &str = concat!(
    "SELECT ",
    person_columns!(),
    " FROM people WHERE workspace_id = $1 ORDER BY created_at, id"
);

pub(crate) const SELECT_WORKSPACES_OF_EMAIL: &str = "SELECT p.workspace_id FROM people p \
     JOIN workspaces w ON w.id = p.workspace_id WHERE p.email = $1 ORDER BY w.created_at, w.id";

pub(crate) const INSERT_INVITE: &str = concat!(
    "INSERT INTO invites (",
    invite_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
);
pub(crate) const SELECT_INVITE: &str = concat!(
    "SELECT ",
    invite_columns!(),
    " FROM invites WHERE hash = $1"
);
pub(crate) const CANCEL_INVITES: &str =
    "DELETE FROM invites WHERE workspace_id = $1 AND person_id = $2 AND used_at IS NULL";
pub(crate) const SELECT_PERSON_STATUS: &str =
    "SELECT status FROM people WHERE workspace_id = $1 AND id = $2";
pub(crate) const USE_INVITE: &str = "UPDATE invites SET used_at = $4 \
     WHERE hash = $1 AND workspace_id = $2 AND person_id = $3 AND used_at IS NULL \
     AND expires_at > $4";
pub(crate) const ACTIVATE_PERSON: &str = "UPDATE people \
     SET status = 'active', password_hash = $3, totp_secret_ct = $4, totp_last_step = $5 \
     WHERE workspace_id = $1 AND id = $2 AND status = 'invited'";
pub(crate) const SET_SECOND_FACTOR: &str = "UPDATE people \
     SET totp_secret_ct = $3, totp_last_step = $4 \
     WHERE workspace_id = $1 AND id = $2 AND status = 'active'";
pub(crate) const DELETE_RECOVERY_CODES: &str =
    "DELETE FROM recovery_codes WHERE workspace_id = $1 AND person_id = $2";
pub(crate) const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (workspace_id, person_id, hash, used_at) VALUES ($1, $2, $3, NULL)";
pub(crate) const USE_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = $4 \
     WHERE workspace_id = $1 AND person_id = $2 AND hash = $3 AND used_at IS NULL";
pub(crate) const COUNT_RECOVERY_CODES: &str = "SELECT COUNT(*) FROM recovery_codes \
     WHERE workspace_id = $1 AND person_id = $2 AND used_at IS NULL";
pub(crate) const CLAIM_TOTP_STEP: &str = "UPDATE people SET totp_last_step = $3 \
     WHERE workspace_id = $1 AND id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)";
pub(crate) const OFFBOARD_PERSON: &str = "UPDATE people \
     SET status = 'offboarded', offboarded_at = $3, offboard_reason = $4 \
     WHERE workspace_id = $1 AND id = $2 AND status <> 'offboarded'";
pub(crate) const DELETE_SESSIONS_OF: &str =
    "DELETE FROM sessions WHERE workspace_id = $1 AND person_id = $2";

pub(crate) const SELECT_OWNER_POLICIES: &str =
    "SELECT owner_policies FROM workspaces WHERE id = $1";
pub(crate) const SET_OWNER_POLICIES: &str =
    "UPDATE workspaces SET owner_policies = $2 WHERE id = $1";

pub(crate) const INSERT_GRANT: &str = concat!(
    "INSERT INTO grants (",
    grant_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);
pub(crate) const SELECT_GRANT: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM grants WHERE workspace_id = $1 AND id = $2"
);
pub(crate) const SELECT_GRANTS_OF: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM grants WHERE workspace_id = $1 AND person_id = $2 ORDER BY created_at DESC, id"
);
pub(crate) const SELECT_GRANTS: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM grants WHERE workspace_id = $1 ORDER BY created_at DESC, id"
);
pub(crate) const APPROVE_GRANT: &str = "UPDATE grants \
     SET status = $3, approved_by = $4, scope_ct = COALESCE($5, scope_ct) \
     WHERE workspace_id = $1 AND id = $2";
pub(crate) const END_GRANT: &str = "UPDATE grants SET status = $3, ended_at = $4, end_reason = $5 \
     WHERE workspace_id = $1 AND id = $2";
pub(crate) const END_GRANTS_OF: &str = "UPDATE grants \
     SET status = 'ended', ended_at = $3, end_reason = $4 \
     WHERE workspace_id = $1 AND person_id = $2 AND status <> 'ended'";

pub(crate) const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    session_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);
pub(crate) const SELECT_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE hash = $1"
);
pub(crate) const SELECT_SESSIONS_OF: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE workspace_id = $1 AND person_id = $2 ORDER BY created_at DESC, hash"
);
pub(crate) const TOUCH_SESSION: &str =
    "UPDATE sessions SET last_used_at = $2 WHERE hash = $1 AND last_used_at < $2";
pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE hash = $1";

pub(crate) const INSERT_DOCUMENT: &str = concat!(
    "INSERT INTO documents (",
    document_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);
pub(crate) const SELECT_DOCUMENT: &str = concat!(
    "SELECT ",
    document_columns!(),
    " FROM documents WHERE workspace_id = $1 AND id = $2"
);
pub(crate) const SELECT_DOCUMENT_BY_NAME_INDEX: &str = concat!(
    "SELECT ",
    document_columns!(),
    " FROM documents WHERE workspace_id = $1 AND name_index = $2"
);
pub(crate) const SELECT_DOCUMENTS: &str = concat!(
    "SELECT ",
    document_columns!(),
    " FROM documents WHERE workspace_id = $1 ORDER BY created_at, id"
);
/// `created_at` is left alone: a replacement is a new version of the same
/// document.
pub(crate) const REPLACE_DOCUMENT: &str = "UPDATE documents \
     SET name_ct = $3, name_index = $4, label = $5, size = $6, version = $7, blob_key = $8, \
         data_key_wrapped = $9, kek_id = $10, updated_at = $11, scan = $13 \
     WHERE workspace_id = $1 AND id = $2 AND version = $12";
pub(crate) const SET_DOCUMENT_LABEL: &str =
    "UPDATE documents SET label = $3 WHERE workspace_id = $1 AND id = $2";
pub(crate) const DELETE_DOCUMENT: &str = concat!(
    "DELETE FROM documents WHERE workspace_id = $1 AND id = $2 RETURNING ",
    document_columns!()
);
pub(crate) const SELECT_BLOB_KEYS: &str =
    "SELECT blob_key FROM documents WHERE workspace_id = $1 ORDER BY created_at, id";
pub(crate) const SELECT_DOCUMENT_KEYS: &str = "SELECT id, kek_id, data_key_wrapped \
     FROM documents WHERE workspace_id = $1 ORDER BY created_at, id";
pub(crate) const REWRAP_DOCUMENT_KEY: &str = "UPDATE documents \
     SET kek_id = $3, data_key_wrapped = $4 WHERE workspace_id = $1 AND id = $2";

pub(crate) const INSERT_RECORD_SET: &str = concat!(
    "INSERT INTO record_sets (",
    record_set_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);
pub(crate) const SET_ROW_COUNT: &str =
    "UPDATE record_sets SET row_count = $3 WHERE workspace_id = $1 AND id = $2";
pub(crate) const SELECT_RECORD_SET: &str = concat!(
    "SELECT ",
    record_set_columns!(),
    " FROM record_sets WHERE workspace_id = $1 AND id = $2"
);
pub(crate) const SELECT_RECORD_SET_BY_NAME: &str = concat!(
    "SELECT ",
    record_set_columns!(),
    " FROM record_sets WHERE workspace_id = $1 AND name = $2"
);
pub(crate) const SELECT_RECORD_SETS: &str = concat!(
    "SELECT ",
    record_set_columns!(),
    " FROM record_sets WHERE workspace_id = $1 ORDER BY created_at, id"
);
pub(crate) const DELETE_RECORD_SET: &str = concat!(
    "DELETE FROM record_sets WHERE workspace_id = $1 AND id = $2 RETURNING ",
    record_set_columns!()
);
pub(crate) const DELETE_ROWS: &str =
    "DELETE FROM record_rows WHERE workspace_id = $1 AND set_id = $2";
pub(crate) const DELETE_INDEX_ENTRIES: &str =
    "DELETE FROM index_entries WHERE workspace_id = $1 AND set_id = $2";
pub(crate) const SELECT_RECORD_SET_KEYS: &str = "SELECT id, kek_id, data_key_wrapped \
     FROM record_sets WHERE workspace_id = $1 ORDER BY created_at, id";
pub(crate) const REWRAP_RECORD_SET_KEY: &str = "UPDATE record_sets \
     SET kek_id = $3, data_key_wrapped = $4 WHERE workspace_id = $1 AND id = $2";

pub(crate) const SELECT_ROWS: &str = "SELECT id, set_id, ordinal, cells FROM record_rows \
     WHERE workspace_id = $1 AND set_id = $2 ORDER BY ordinal LIMIT $3 OFFSET $4";
pub(crate) const SELECT_ROW: &str = "SELECT id, set_id, ordinal, cells FROM record_rows \
     WHERE workspace_id = $1 AND set_id = $2 AND id = $3";
pub(crate) const SELECT_ROWS_BY_INDEX: &str = "SELECT r.id, r.set_id, r.ordinal, r.cells \
     FROM index_entries i JOIN record_rows r ON r.id = i.row_id \
     WHERE i.workspace_id = $1 AND i.set_id = $2 AND i.column_name = $3 AND i.hash = $4 \
       AND r.workspace_id = $1 \
     ORDER BY r.ordinal";

// The access ledger.
//
// INVARIANT: the ledger is append-only. Leaves are only ever inserted (by
// `insert_leaves_sql`, under the head row's lock); no statement of the store
// updates or deletes a row of `ledger_leaves`, and a test below checks so.

/// Makes sure the workspace's ledger has a head row to lock (an empty
/// ledger's, when it has none yet). Fails on the foreign key when the
/// workspace does not exist.
pub(crate) const ENSURE_LEDGER_HEAD: &str = "INSERT INTO ledger_heads \
     (workspace_id, size, frontier) VALUES ($1, 0, $2) ON CONFLICT (workspace_id) DO NOTHING";
pub(crate) const SELECT_LEDGER_HEAD: &str =
    "SELECT size, frontier FROM ledger_heads WHERE workspace_id = $1";
pub(crate) const UPSERT_LEDGER_HEAD: &str = "INSERT INTO ledger_heads \
     (workspace_id, size, frontier) VALUES ($1, $2, $3) \
     ON CONFLICT (workspace_id) DO UPDATE SET size = excluded.size, frontier = excluded.frontier";
pub(crate) const SELECT_LEDGER_LEAVES: &str = "SELECT idx, leaf FROM ledger_leaves \
     WHERE workspace_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3";
/// A second checkpoint for the same size is ignored: the first one stays.
pub(crate) const SELECT_LEAVES_BY_ACTOR: &str = "SELECT l.idx, l.leaf FROM ledger_refs r \
     JOIN ledger_leaves l ON l.workspace_id = r.workspace_id AND l.idx = r.idx \
     WHERE r.workspace_id = $1 AND r.actor = $2 ORDER BY r.idx";
pub(crate) const SELECT_LEAVES_BY_TARGET: &str = "SELECT l.idx, l.leaf FROM ledger_refs r \
     JOIN ledger_leaves l ON l.workspace_id = r.workspace_id AND l.idx = r.idx \
     WHERE r.workspace_id = $1 AND r.target = $2 ORDER BY r.idx";
pub(crate) const SELECT_LEAVES_BY_ACTOR_AND_TARGET: &str = "SELECT l.idx, l.leaf FROM ledger_refs r \
     JOIN ledger_leaves l ON l.workspace_id = r.workspace_id AND l.idx = r.idx \
     WHERE r.workspace_id = $1 AND r.actor = $2 AND r.target = $3 ORDER BY r.idx";
pub(crate) const COUNT_LEDGER_REFS: &str =
    "SELECT COUNT(*) FROM ledger_refs WHERE workspace_id = $1";
pub(crate) const INSERT_CHECKPOINT: &str = "INSERT INTO ledger_checkpoints \
     (workspace_id, size, note, created_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (workspace_id, size) DO NOTHING";
pub(crate) const SELECT_LATEST_CHECKPOINT: &str = "SELECT size, note, created_at \
     FROM ledger_checkpoints WHERE workspace_id = $1 ORDER BY size DESC LIMIT 1";
pub(crate) const SELECT_CHECKPOINT_AT_OR_BEFORE: &str = "SELECT size, note, created_at \
     FROM ledger_checkpoints WHERE workspace_id = $1 AND size <= $2 ORDER BY size DESC LIMIT 1";

// Batched inserts for imports and ledger appends: one statement carries many
// rows.

/// How a backend writes the bound parameters of a generated statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `$1, $2, ...`.
    Numbered,
    /// `?, ?, ...`. SQLite finds the number of a named parameter (`$N`) by a
    /// linear search, and sqlx asks for the name of every parameter when it
    /// binds, so binding N named parameters takes N² steps; anonymous ones
    /// bind in N.
    Anonymous,
}

/// Parameters each row binds: workspace, set, id, ordinal, cells.
pub(crate) const ROW_PARAMS: usize = 5;
/// Parameters each index entry binds: workspace, set, column, hash, row id.
pub(crate) const INDEX_PARAMS: usize = 5;
/// Parameters each ledger leaf binds: workspace, index, leaf.
pub(crate) const LEAF_PARAMS: usize = 3;
/// Beyond this many rows a statement gets no faster, only larger.
const MAX_BATCH: usize = 1000;

/// How many items of `params_each` parameters fit in one statement.
pub(crate) fn batch_len(max_bind_params: usize, params_each: usize) -> usize {
    (max_bind_params / params_each.max(1)).clamp(1, MAX_BATCH)
}

pub(crate) fn insert_rows_sql(rows: usize, placeholders: Placeholders) -> String {
    batch_insert(
        "INSERT INTO record_rows (workspace_id, set_id, id, ordinal, cells) VALUES ",
        rows,
        ROW_PARAMS,
        placeholders,
    )
}

pub(crate) fn insert_index_sql(entries: usize, placeholders: Placeholders) -> String {
    batch_insert(
        "INSERT INTO index_entries (workspace_id, set_id, column_name, hash, row_id) VALUES ",
        entries,
        INDEX_PARAMS,
        placeholders,
    )
}

pub(crate) fn insert_leaves_sql(leaves: usize, placeholders: Placeholders) -> String {
    batch_insert(
        "INSERT INTO ledger_leaves (workspace_id, idx, leaf) VALUES ",
        leaves,
        LEAF_PARAMS,
        placeholders,
    )
}

/// Parameters each ledger ref binds: workspace, index, actor, target.
pub(crate) const REF_PARAMS: usize = 4;

pub(crate) fn insert_refs_sql(refs: usize, placeholders: Placeholders) -> String {
    batch_insert(
        "INSERT INTO ledger_refs (workspace_id, idx, actor, target) VALUES ",
        refs,
        REF_PARAMS,
        placeholders,
    )
}

fn batch_insert(head: &str, items: usize, params_each: usize, style: Placeholders) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(head.len() + items * (4 + 8 * params_each));
    sql.push_str(head);
    for item in 0..items {
        sql.push_str(if item == 0 { "(" } else { ", (" });
        for param in 0..params_each {
            if param > 0 {
                sql.push_str(", ");
            }
            match style {
                // Writing into a String cannot fail.
                Placeholders::Numbered => {
                    let _ = write!(sql, "${}", 1 + item * params_each + param);
                }
                Placeholders::Anonymous => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

// Values in and out.

/// Milliseconds since the Unix epoch. Times are stored to the millisecond.
pub(crate) fn millis(time: OffsetDateTime) -> i64 {
    // INVARIANT: `time` (without its `large-dates` feature) stays within
    // years -9999..=9999, about ±3.2e14 ms, so the quotient fits in an i64.
    time.unix_timestamp_nanos().div_euclid(1_000_000) as i64
}

pub(crate) fn time_from_millis(ms: i64, what: &'static str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("a stored {what} is out of range")))
}

/// A count or size as the databases' signed 64-bit integer.
pub(crate) fn signed(value: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Conflict(format!("{what} is too large to store")))
}

pub(crate) fn unsigned(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("a stored {what} is negative")))
}

pub(crate) fn parse_id<T: FromStr>(text: &str, what: &'static str) -> Result<T, StoreError> {
    parse(text, what)
}

pub(crate) fn parse<T: FromStr>(text: &str, what: &'static str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("a stored {what} is not valid")))
}

pub(crate) fn columns_json(columns: &[Column]) -> Result<String, StoreError> {
    serde_json::to_string(columns)
        .map_err(|_| StoreError::Conflict("the record set's columns cannot be stored".into()))
}

fn columns_from_json(json: &str) -> Result<Vec<Column>, StoreError> {
    serde_json::from_str(json)
        .map_err(|_| StoreError::Corrupt("a stored record set's column list is not valid".into()))
}

// Rows as the databases return them, column for column, and their records.

pub(crate) type WorkspaceRow = (
    String,
    String,
    i64,
    String,
    String,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
);
pub(crate) type PersonRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    Option<Vec<u8>>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);
pub(crate) type GrantRow = (
    String,
    String,
    String,
    Vec<u8>,
    String,
    Vec<u8>,
    String,
    String,
    Option<Vec<u8>>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    bool,
);
pub(crate) type SessionRow = (
    Vec<u8>,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
);
pub(crate) type InviteRow = (Vec<u8>, String, String, String, i64, i64, Option<i64>);
pub(crate) type DocumentRow = (
    String,
    String,
    Vec<u8>,
    Vec<u8>,
    String,
    i64,
    i64,
    String,
    Vec<u8>,
    String,
    i64,
    i64,
    Option<String>,
);
pub(crate) type RecordSetRow = (
    String,
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    i64,
    Vec<u8>,
    String,
    i64,
);
pub(crate) type RowRow = (String, String, i64, Vec<u8>);
/// A ledger head's size and frontier.
pub(crate) type LedgerHeadRow = (i64, Vec<u8>);
/// A ledger leaf's index and bytes.
pub(crate) type LedgerLeafRow = (i64, Vec<u8>);
pub(crate) type CheckpointRow = (i64, String, i64);
/// An owner id, its KEK id and its wrapped key.
pub(crate) type KeyRow = (String, String, Vec<u8>);
/// The KEK id, signing key and names key of a workspace.
pub(crate) type WorkspaceKeysRow = (String, Vec<u8>, Vec<u8>);

pub(crate) fn workspace(row: WorkspaceRow) -> Result<WorkspaceRecord, StoreError> {
    let (id, name, created_at, root_seal, kek_id, kek_wrapped, signing, public, names) = row;
    Ok(WorkspaceRecord {
        id: parse(&id, "workspace id")?,
        name,
        created_at: time_from_millis(created_at, "workspace creation time")?,
        root_seal,
        kek_id: parse(&kek_id, "workspace key id")?,
        kek_wrapped,
        signing_key_wrapped: signing,
        signing_public_key: public,
        names_key_wrapped: names,
    })
}

pub(crate) fn person(row: PersonRow) -> Result<PersonRecord, StoreError> {
    let (
        id,
        workspace,
        email,
        name,
        role,
        password_hash,
        created_at,
        status,
        totp_secret_ct,
        totp_last_step,
        offboarded_at,
        offboard_reason,
    ) = row;
    Ok(PersonRecord {
        id: parse(&id, "person id")?,
        workspace: parse(&workspace, "person's workspace id")?,
        email,
        name,
        role: parse::<Role>(&role, "person's role")?,
        password_hash,
        created_at: time_from_millis(created_at, "person's creation time")?,
        status: parse::<PersonStatus>(&status, "person's status")?,
        totp_secret_ct,
        totp_last_step: totp_last_step
            .map(|step| unsigned(step, "last TOTP step"))
            .transpose()?,
        offboarded_at: offboarded_at
            .map(|ms| time_from_millis(ms, "offboarding time"))
            .transpose()?,
        offboard_reason,
    })
}

pub(crate) fn grant(row: GrantRow) -> Result<GrantRecord, StoreError> {
    let (
        id,
        workspace,
        person,
        scope_ct,
        actions,
        purpose_ct,
        status,
        requested_by,
        request_reason_ct,
        approved_by,
        created_at,
        expires_at,
        ended_at,
        end_reason,
        require_passcode,
    ) = row;
    Ok(GrantRecord {
        id: parse(&id, "grant id")?,
        workspace: parse(&workspace, "grant's workspace id")?,
        person: parse(&person, "grant's person id")?,
        scope_ct,
        actions,
        purpose_ct,
        status: parse::<GrantStatus>(&status, "grant status")?,
        requested_by: parse(&requested_by, "grant's requester id")?,
        request_reason_ct,
        approved_by: approved_by
            .map(|id| parse(&id, "grant's approver id"))
            .transpose()?,
        created_at: time_from_millis(created_at, "grant creation time")?,
        expires_at: time_from_millis(expires_at, "grant expiry")?,
        ended_at: ended_at
            .map(|ms| time_from_millis(ms, "grant end time"))
            .transpose()?,
        end_reason,
        require_passcode,
    })
}

pub(crate) fn session(row: SessionRow) -> Result<SessionRecord, StoreError> {
    let (hash, workspace, person, kind, label, created_at, last_used_at, expires_at, device) = row;
    Ok(SessionRecord {
        hash,
        workspace: parse(&workspace, "session's workspace id")?,
        person: parse(&person, "session's person id")?,
        kind: SessionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt("a stored session kind is not valid".into()))?,
        label,
        created_at: time_from_millis(created_at, "session creation time")?,
        last_used_at: time_from_millis(last_used_at, "session's last use")?,
        expires_at: time_from_millis(expires_at, "session expiry")?,
        device: device
            .map(|d| parse(&d, "session's device id"))
            .transpose()?,
    })
}

pub(crate) fn invite(row: InviteRow) -> Result<InviteRecord, StoreError> {
    let (hash, workspace, person, invited_by, created_at, expires_at, used_at) = row;
    Ok(InviteRecord {
        hash,
        workspace: parse(&workspace, "invite's workspace id")?,
        person: parse(&person, "invite's person id")?,
        invited_by: parse(&invited_by, "invite's inviter id")?,
        created_at: time_from_millis(created_at, "invite creation time")?,
        expires_at: time_from_millis(expires_at, "invite expiry")?,
        used_at: used_at
            .map(|ms| time_from_millis(ms, "invite use time"))
            .transpose()?,
    })
}

pub(crate) fn document(row: DocumentRow) -> Result<DocumentRecord, StoreError> {
    let (
        id,
        workspace,
        name_ct,
        name_index,
        label,
        size,
        version,
        blob,
        key,
        kek,
        created,
        updated,
        scan,
    ) = row;
    Ok(DocumentRecord {
        id: parse(&id, "document id")?,
        workspace: parse(&workspace, "document's workspace id")?,
        name_ct,
        name_index,
        label: parse::<Label>(&label, "document label")?,
        size: unsigned(size, "document size")?,
        version: unsigned(version, "document version")?,
        blob: BlobKey::parse(&blob)
            .map_err(|_| StoreError::Corrupt("a stored document's blob key is not valid".into()))?,
        data_key_wrapped: key,
        kek_id: parse(&kek, "document's key id")?,
        created_at: time_from_millis(created, "document creation time")?,
        updated_at: time_from_millis(updated, "document update time")?,
        scan,
    })
}

pub(crate) fn record_set(row: RecordSetRow) -> Result<RecordSetRecord, StoreError> {
    let (id, workspace, name, label, columns, customers, contact, row_count, key, kek, created) =
        row;
    Ok(RecordSetRecord {
        id: parse(&id, "record set id")?,
        workspace: parse(&workspace, "record set's workspace id")?,
        name,
        label: parse::<Label>(&label, "record set label")?,
        columns: columns_from_json(&columns)?,
        rows_are_customers: customers,
        contact_column: contact,
        row_count: unsigned(row_count, "record set row count")?,
        data_key_wrapped: key,
        kek_id: parse(&kek, "record set's key id")?,
        created_at: time_from_millis(created, "record set creation time")?,
    })
}

pub(crate) fn row(row: RowRow) -> Result<RowRecord, StoreError> {
    let (id, set, ordinal, cells) = row;
    Ok(RowRecord {
        id: parse(&id, "row id")?,
        set: parse(&set, "row's record set id")?,
        ordinal: unsigned(ordinal, "row position")?,
        cells,
    })
}

pub(crate) fn ledger_head(row: LedgerHeadRow) -> Result<LedgerHead, StoreError> {
    let (size, frontier) = row;
    Ok(LedgerHead {
        size: unsigned(size, "ledger size")?,
        frontier,
    })
}

pub(crate) fn ledger_leaf(row: LedgerLeafRow) -> Result<LedgerLeaf, StoreError> {
    let (index, leaf) = row;
    Ok(LedgerLeaf {
        index: unsigned(index, "ledger leaf index")?,
        leaf,
    })
}

pub(crate) fn checkpoint(row: CheckpointRow) -> Result<CheckpointRecord, StoreError> {
    let (size, note, created_at) = row;
    Ok(CheckpointRecord {
        size: unsigned(size, "checkpoint size")?,
        note,
        created_at: time_from_millis(created_at, "checkpoint creation time")?,
    })
}

pub(crate) fn document_key(row: KeyRow) -> Result<WrappedKeyRecord, StoreError> {
    let (id, kek, wrapped) = row;
    Ok(WrappedKeyRecord {
        owner: KeyOwner::Document(parse(&id, "document id")?),
        kek_id: parse(&kek, "document's key id")?,
        wrapped,
    })
}

pub(crate) fn record_set_key(row: KeyRow) -> Result<WrappedKeyRecord, StoreError> {
    let (id, kek, wrapped) = row;
    Ok(WrappedKeyRecord {
        owner: KeyOwner::RecordSet(parse(&id, "record set id")?),
        kek_id: parse(&kek, "record set's key id")?,
        wrapped,
    })
}

pub(crate) fn workspace_keys(
    (kek, signing, names): WorkspaceKeysRow,
) -> Result<[WrappedKeyRecord; 2], StoreError> {
    let kek_id = parse(&kek, "workspace key id")?;
    Ok([
        WrappedKeyRecord {
            owner: KeyOwner::Signing,
            kek_id,
            wrapped: signing,
        },
        WrappedKeyRecord {
            owner: KeyOwner::Names,
            kek_id,
            wrapped: names,
        },
    ])
}

// Errors.

// Messages for uniqueness rules, in words a user understands; the vault
// adds what it was doing.
pub(crate) const WORKSPACE_EXISTS: &str = "a workspace with this name already exists";
pub(crate) const PERSON_EXISTS: &str = "a person with this e-mail address already exists";
pub(crate) const GRANT_EXISTS: &str = "a grant with this id already exists";
pub(crate) const SESSION_EXISTS: &str = "this session token already exists";
pub(crate) const INVITE_EXISTS: &str = "this invitation token already exists";
pub(crate) const DOCUMENT_EXISTS: &str = "a document with this name already exists";
pub(crate) const RECORD_SET_EXISTS: &str = "a record set with this name already exists";
pub(crate) const ROW_EXISTS: &str = "two rows of the import have the same id or the same position";
pub(crate) const LEAF_EXISTS: &str = "a ledger leaf with this index already exists";

/// Maps a failed statement of `op` (what the store was doing, such as
/// "inserting a document") to a [`StoreError`].
pub(crate) fn failed(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| classify(op, None, err)
}

/// Like [`failed`], naming the uniqueness rule a statement may break.
pub(crate) fn failed_unique(
    op: &'static str,
    conflict: &'static str,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| classify(op, Some(conflict), err)
}

/// What a database error means to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Unique,
    ForeignKey,
    /// A concurrent transaction got in the way; trying again may work.
    Retry,
    Unavailable,
    Corrupt,
    Unexpected,
}

/// Classifies by SQLite's extended result code (constraint violations are
/// told apart by [`DatabaseError::kind`] first).
fn sqlite_class(code: i32) -> Class {
    // The primary result code is the low byte of the extended one.
    match code & 0xff {
        // BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
        5 | 6 | 7 | 8 | 10 | 13 | 14 | 15 => Class::Unavailable,
        // CORRUPT, NOTADB.
        11 | 26 => Class::Corrupt,
        _ => Class::Unexpected,
    }
}

/// Classifies by PostgreSQL's SQLSTATE.
fn postgres_class(sqlstate: &str) -> Class {
    match sqlstate {
        "23505" => Class::Unique,
        "23503" => Class::ForeignKey,
        // serialization_failure, deadlock_detected.
        "40001" | "40P01" => Class::Retry,
        // read_only_sql_transaction, invalid_catalog_name (no database).
        "25006" | "3D000" => Class::Unavailable,
        // data_corrupted, index_corrupted.
        "XX001" | "XX002" => Class::Corrupt,
        // Connection exceptions, invalid authorization, insufficient
        // resources (disk full, out of memory), operator intervention
        // (shutdown, cancel) and system errors (I/O).
        _ if ["08", "28", "53", "57", "58"]
            .iter()
            .any(|class| sqlstate.starts_with(class)) =>
        {
            Class::Unavailable
        }
        _ => Class::Unexpected,
    }
}

fn database_class(db: &dyn DatabaseError) -> Class {
    match db.kind() {
        ErrorKind::UniqueViolation => return Class::Unique,
        ErrorKind::ForeignKeyViolation => return Class::ForeignKey,
        _ => {}
    }
    let code = db.code();
    let code = code.as_deref().unwrap_or_default();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        sqlite_class(code.parse().unwrap_or_default())
    } else {
        postgres_class(code)
    }
}

// INVARIANT: no message built here contains a bound value. Database drivers
// name tables, columns and constraints in their messages but not the values
// of typed parameters; the messages of uniqueness violations are not used at
// all, since PostgreSQL's carry the offending key in their detail.
fn classify(op: &'static str, conflict: Option<&'static str>, err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Database(db) => match database_class(db.as_ref()) {
            Class::Unique => StoreError::Conflict(
                conflict
                    .unwrap_or("a value that must be unique already exists")
                    .to_owned(),
            ),
            Class::ForeignKey => StoreError::Conflict(format!(
                "{op}: it refers to something that does not exist in this workspace"
            )),
            Class::Retry => StoreError::Conflict(format!(
                "{op}: a concurrent change got in the way; nothing was changed, try again"
            )),
            Class::Unavailable => StoreError::Unavailable(format!("{op}: {}", db.message())),
            Class::Corrupt => StoreError::Corrupt(format!("{op}: {}", db.message())),
            Class::Unexpected => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                let message = db.message();
                tracing::error!(op, code = %code, message, "unexpected database error");
                StoreError::Unavailable(format!(
                    "{op} failed unexpectedly (database error {code}): {}",
                    db.message()
                ))
            }
        },
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(format!("{op}: {err}")),
        sqlx::Error::PoolTimedOut => StoreError::Unavailable(format!(
            "{op}: timed out waiting for a database connection (the database is overloaded or \
             unreachable)"
        )),
        other => StoreError::Unavailable(format!("{op}: {other}")),
    }
}

/// Maps a migration failure on connect.
pub(crate) fn migration_failed(err: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match err {
        MigrateError::VersionMissing(version) => StoreError::Corrupt(format!(
            "the database was migrated by a newer confidant (its migration {version} is unknown \
             here): upgrade confidant"
        )),
        MigrateError::VersionMismatch(version) => StoreError::Corrupt(format!(
            "the database's migration {version} differs from this confidant's: the database was \
             written by another build"
        )),
        MigrateError::Execute(err) | MigrateError::ExecuteMigration(err, _) => {
            classify("migrating the database", None, err)
        }
        other => StoreError::Unavailable(format!("migrating the database: {other}")),
    }
}

/// Builds the migrator from SQL files embedded at compile time, in order.
pub(crate) fn migrator(files: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr as _;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// A database URL with its password replaced, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Writes the [`Store`](crate::Store) implementation for `$store`, whose
/// `pool` field is a `sqlx::Pool<$db>`, and the [`RecordImport`](crate::RecordImport)
/// and [`LedgerAppend`](crate::LedgerAppend) it hands out. `$store` provides `const DIALECT: Dialect` and
/// `async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>, sqlx::Error>`.
macro_rules! impl_store {
    ($store:ident, $db:ty) => {
        mod store_impl {
            use std::collections::HashSet;

            use async_trait::async_trait;
            use confidant_core::{ItemId, KeyId, PersonId, RecordSetId, WorkspaceId};
            use sqlx::{AssertSqlSafe, Transaction};

            use super::$store;
            use $crate::sql::*;
            use $crate::{
                Acceptance, GrantChange, GrantRecord, InviteRecord, Offboarding, SecondFactorRecord, SessionRecord, Backend, BlobKey, CheckpointRecord, DocumentRecord, IndexEntry,
                KeyOwner, KeyRotation, LedgerAppend, LedgerHead, LedgerLeaf, LedgerRef, PersonRecord,
                RecordImport, RecordSetRecord, RowRecord, Store, StoreError, WorkspaceRecord,
                WrappedKeyRecord,
            };

            type Tx = Transaction<'static, $db>;

            /// Offboards a person within `tx` (see `Store::offboard_person`;
            /// the incidents open one in the same transaction).
            pub(super) async fn offboard_in(
                tx: &mut Tx,
                ws: WorkspaceId,
                id: PersonId,
                at: time::OffsetDateTime,
                reason: &str,
            ) -> Result<Option<Offboarding>, StoreError> {
                const OP: &str = "offboarding a person";
                let Some(before) = sqlx::query_as::<_, PersonRow>(SELECT_PERSON)
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(failed(OP))?
                    .map(person)
                    .transpose()?
                else {
                    return Ok(None);
                };
                let updated = sqlx::query(OFFBOARD_PERSON)
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .bind(millis(at))
                    .bind(reason)
                    .execute(&mut **tx)
                    .await
                    .map_err(failed(OP))?;
                if updated.rows_affected() != 1 {
                    return Err(StoreError::Conflict(
                        "the person was offboarded already".into(),
                    ));
                }
                let sessions = sqlx::query(DELETE_SESSIONS_OF)
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(failed(OP))?
                    .rows_affected();
                let invites = sqlx::query(CANCEL_INVITES)
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(failed(OP))?
                    .rows_affected();
                let grants = sqlx::query(END_GRANTS_OF)
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .bind(millis(at))
                    .bind(format!("offboarded: {reason}"))
                    .execute(&mut **tx)
                    .await
                    .map_err(failed(OP))?
                    .rows_affected();
                let passcodes = sqlx::query($crate::gates::REVOKE_PASSCODES_OF_PERSON)
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .bind(millis(at))
                    .execute(&mut **tx)
                    .await
                    .map_err(failed(OP))?
                    .rows_affected();
                let devices = sqlx::query($crate::devices::REVOKE_DEVICES_OF_PERSON)
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .bind(millis(at))
                    .bind("offboarded")
                    .execute(&mut **tx)
                    .await
                    .map_err(failed(OP))?
                    .rows_affected();
                Ok(Some(Offboarding {
                    person: before,
                    sessions_ended: sessions,
                    invites_cancelled: invites,
                    grants_ended: grants,
                    passcodes_revoked: passcodes,
                    devices_revoked: devices,
                }))
            }

            /// Fails with `Conflict` unless `kek` is the workspace's current
            /// KEK, and keeps it current until `tx` ends, so a key wrapped by
            /// this transaction can never end up under a rotated-out KEK.
            async fn lock_current_kek(
                tx: &mut Tx,
                workspace: WorkspaceId,
                kek: KeyId,
                op: &'static str,
            ) -> Result<(), StoreError> {
                let current = sqlx::query(<$store>::DIALECT.lock_current_kek)
                    .bind(workspace.to_string())
                    .bind(kek.to_string())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(failed(op))?;
                match current {
                    Some(_) => Ok(()),
                    None => Err(StoreError::Conflict(
                        "the workspace's keys were rotated (or the workspace does not exist): \
                         read the workspace again and retry"
                            .into(),
                    )),
                }
            }

            async fn add_person<'c, E>(
                executor: E,
                person: &PersonRecord,
                op: &'static str,
            ) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query(INSERT_PERSON)
                    .bind(person.id.to_string())
                    .bind(person.workspace.to_string())
                    .bind(&person.email)
                    .bind(&person.name)
                    .bind(person.role.as_str())
                    .bind(person.password_hash.as_deref())
                    .bind(millis(person.created_at))
                    .bind(person.status.as_str())
                    .bind(person.totp_secret_ct.as_deref())
                    .bind(person.totp_last_step.map(|s| signed(s, "a TOTP step")).transpose()?)
                    .bind(person.offboarded_at.map(millis))
                    .bind(person.offboard_reason.as_deref())
                    .execute(executor)
                    .await
                    .map_err(failed_unique(op, PERSON_EXISTS))?;
                Ok(())
            }

            async fn add_session<'c, E>(
                executor: E,
                session: &SessionRecord,
                op: &'static str,
            ) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query(INSERT_SESSION)
                    .bind(&session.hash)
                    .bind(session.workspace.to_string())
                    .bind(session.person.to_string())
                    .bind(session.kind.as_str())
                    .bind(&session.label)
                    .bind(millis(session.created_at))
                    .bind(millis(session.last_used_at))
                    .bind(millis(session.expires_at))
                    .bind(session.device.map(|d| d.to_string()))
                    .execute(executor)
                    .await
                    .map_err(failed_unique(op, SESSION_EXISTS))?;
                Ok(())
            }

            async fn replace_recovery_codes(
                tx: &mut Tx,
                ws: &str,
                person: &str,
                factor: &SecondFactorRecord,
                op: &'static str,
            ) -> Result<(), StoreError> {
                sqlx::query(DELETE_RECOVERY_CODES)
                    .bind(ws)
                    .bind(person)
                    .execute(&mut **tx)
                    .await
                    .map_err(failed(op))?;
                for hash in &factor.recovery_code_hashes {
                    sqlx::query(INSERT_RECOVERY_CODE)
                        .bind(ws)
                        .bind(person)
                        .bind(hash)
                        .execute(&mut **tx)
                        .await
                        .map_err(failed_unique(op, "two recovery codes are the same"))?;
                }
                Ok(())
            }

            #[async_trait]
            impl Store for $store {
                fn backend(&self) -> Backend {
                    Self::DIALECT.backend
                }

                async fn create_workspace(
                    &self,
                    workspace: &WorkspaceRecord,
                    owner: &PersonRecord,
                ) -> Result<(), StoreError> {
                    const OP: &str = "creating the workspace";
                    if owner.workspace != workspace.id {
                        return Err(StoreError::Conflict(
                            "the owner belongs to another workspace".into(),
                        ));
                    }
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    sqlx::query(INSERT_WORKSPACE)
                        .bind(workspace.id.to_string())
                        .bind(&workspace.name)
                        .bind(millis(workspace.created_at))
                        .bind(&workspace.root_seal)
                        .bind(workspace.kek_id.to_string())
                        .bind(&workspace.kek_wrapped)
                        .bind(&workspace.signing_key_wrapped)
                        .bind(&workspace.signing_public_key)
                        .bind(&workspace.names_key_wrapped)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed_unique(OP, WORKSPACE_EXISTS))?;
                    add_person(&mut *tx, owner, OP).await?;
                    tx.commit().await.map_err(failed(OP))
                }

                async fn workspace(&self) -> Result<Option<WorkspaceRecord>, StoreError> {
                    const OP: &str = "reading the workspace";
                    sqlx::query_as::<_, WorkspaceRow>(SELECT_WORKSPACE)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed(OP))?
                        .map(workspace)
                        .transpose()
                }

                async fn workspaces(&self) -> Result<Vec<WorkspaceRecord>, StoreError> {
                    sqlx::query_as::<_, WorkspaceRow>(SELECT_WORKSPACES)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("listing the workspaces"))?
                        .into_iter()
                        .map(workspace)
                        .collect()
                }

                async fn wrapped_keys(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Vec<WrappedKeyRecord>, StoreError> {
                    const OP: &str = "reading the wrapped keys";
                    // One read transaction, so the keys form one consistent
                    // picture.
                    let mut tx = self
                        .pool
                        .begin_with(Self::DIALECT.begin_read)
                        .await
                        .map_err(failed(OP))?;
                    let ws_text = ws.to_string();
                    let Some(own) = sqlx::query_as::<_, WorkspaceKeysRow>(SELECT_WORKSPACE_KEYS)
                        .bind(&ws_text)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(OP))?
                    else {
                        return Ok(Vec::new());
                    };
                    let mut keys = Vec::from(workspace_keys(own)?);
                    let documents = sqlx::query_as::<_, KeyRow>(SELECT_DOCUMENT_KEYS)
                        .bind(&ws_text)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    let sets = sqlx::query_as::<_, KeyRow>(SELECT_RECORD_SET_KEYS)
                        .bind(&ws_text)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    tx.commit().await.map_err(failed(OP))?;
                    for key in documents {
                        keys.push(document_key(key)?);
                    }
                    for key in sets {
                        keys.push(record_set_key(key)?);
                    }
                    Ok(keys)
                }

                async fn rotate_keys(
                    &self,
                    ws: WorkspaceId,
                    rotation: &KeyRotation,
                ) -> Result<(), StoreError> {
                    const OP: &str = "rotating the workspace keys";
                    if rotation.new_kek_id == rotation.old_kek_id {
                        return Err(StoreError::Conflict(
                            "the new key-encryption key must differ from the old one".into(),
                        ));
                    }
                    if rotation.keys.iter().any(|k| k.kek_id != rotation.new_kek_id) {
                        return Err(StoreError::Conflict(
                            "a rewrapped key names another key-encryption key than the new one"
                                .into(),
                        ));
                    }
                    let find = |owner: KeyOwner| {
                        rotation.keys.iter().find(|k| k.owner == owner).ok_or_else(|| {
                            StoreError::Conflict(format!(
                                "the rotation lacks the workspace's {} key; nothing was changed",
                                if owner == KeyOwner::Signing { "signing" } else { "names" }
                            ))
                        })
                    };
                    let signing = find(KeyOwner::Signing)?;
                    let names = find(KeyOwner::Names)?;
                    let ws_text = ws.to_string();
                    let new_kek = rotation.new_kek_id.to_string();

                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    // Conditional on the old KEK, so of two concurrent
                    // rotations from the same KEK only one can succeed.
                    let updated = sqlx::query(ROTATE_WORKSPACE_KEYS)
                        .bind(&ws_text)
                        .bind(rotation.old_kek_id.to_string())
                        .bind(&new_kek)
                        .bind(&rotation.new_kek_wrapped)
                        .bind(&signing.wrapped)
                        .bind(&names.wrapped)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if updated.rows_affected() == 0 {
                        return Err(StoreError::Conflict(
                            "the workspace's key-encryption key is not the one being rotated \
                             (another rotation ran first); nothing was changed"
                                .into(),
                        ));
                    }
                    for key in &rotation.keys {
                        let (sql, id) = match key.owner {
                            KeyOwner::Signing | KeyOwner::Names => continue,
                            KeyOwner::Document(id) => (REWRAP_DOCUMENT_KEY, id.to_string()),
                            KeyOwner::RecordSet(id) => (REWRAP_RECORD_SET_KEY, id.to_string()),
                        };
                        // A key whose owner was deleted meanwhile updates
                        // nothing, which is fine: it is no longer needed.
                        sqlx::query(sql)
                            .bind(&ws_text)
                            .bind(id)
                            .bind(&new_kek)
                            .bind(&key.wrapped)
                            .execute(&mut *tx)
                            .await
                            .map_err(failed(OP))?;
                    }
                    let left: i64 = sqlx::query_scalar(COUNT_KEYS_UNDER_KEK)
                        .bind(&ws_text)
                        .bind(rotation.old_kek_id.to_string())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if left > 0 {
                        // Dropping `tx` rolls everything back.
                        return Err(StoreError::Conflict(format!(
                            "{left} key(s) of the workspace are not in the rotation (a document \
                             or record set was added meanwhile); nothing was changed, rotate again"
                        )));
                    }
                    tx.commit().await.map_err(failed(OP))
                }

                async fn person(
                    &self,
                    ws: WorkspaceId,
                    id: PersonId,
                ) -> Result<Option<PersonRecord>, StoreError> {
                    sqlx::query_as::<_, PersonRow>(SELECT_PERSON)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a person"))?
                        .map(person)
                        .transpose()
                }

                async fn person_by_email(
                    &self,
                    ws: WorkspaceId,
                    email: &str,
                ) -> Result<Option<PersonRecord>, StoreError> {
                    sqlx::query_as::<_, PersonRow>(SELECT_PERSON_BY_EMAIL)
                        .bind(ws.to_string())
                        .bind(email)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("finding a person by e-mail address"))?
                        .map(person)
                        .transpose()
                }

                async fn owner(&self, ws: WorkspaceId) -> Result<Option<PersonRecord>, StoreError> {
                    sqlx::query_as::<_, PersonRow>(SELECT_OWNER)
                        .bind(ws.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading the workspace's owner"))?
                        .map(person)
                        .transpose()
                }

                async fn insert_person(&self, person: &PersonRecord) -> Result<(), StoreError> {
                    add_person(&self.pool, person, "adding a person").await
                }

                async fn people(&self, ws: WorkspaceId) -> Result<Vec<PersonRecord>, StoreError> {
                    sqlx::query_as::<_, PersonRow>(SELECT_PEOPLE)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("listing people"))?
                        .into_iter()
                        .map(person)
                        .collect()
                }

                async fn workspaces_of_email(
                    &self,
                    email: &str,
                ) -> Result<Vec<WorkspaceId>, StoreError> {
                    let ids: Vec<String> = sqlx::query_scalar(SELECT_WORKSPACES_OF_EMAIL)
                        .bind(email)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("finding an e-mail address's workspaces"))?;
                    ids.iter().map(|id| parse_id(id, "workspace id")).collect()
                }

                async fn insert_invite(
                    &self,
                    invite: &InviteRecord,
                    new_person: Option<&PersonRecord>,
                ) -> Result<(), StoreError> {
                    const OP: &str = "storing an invitation";
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    if let Some(person) = new_person {
                        add_person(&mut *tx, person, OP).await?;
                    }
                    let status: Option<String> = sqlx::query_scalar(SELECT_PERSON_STATUS)
                        .bind(invite.workspace.to_string())
                        .bind(invite.person.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if status.as_deref() != Some("invited") {
                        return Err(StoreError::Conflict(
                            "only a person who has not accepted an invitation yet can be invited"
                                .into(),
                        ));
                    }
                    sqlx::query(CANCEL_INVITES)
                        .bind(invite.workspace.to_string())
                        .bind(invite.person.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    sqlx::query(INSERT_INVITE)
                        .bind(&invite.hash)
                        .bind(invite.workspace.to_string())
                        .bind(invite.person.to_string())
                        .bind(invite.invited_by.to_string())
                        .bind(millis(invite.created_at))
                        .bind(millis(invite.expires_at))
                        .bind(invite.used_at.map(millis))
                        .execute(&mut *tx)
                        .await
                        .map_err(failed_unique(OP, INVITE_EXISTS))?;
                    tx.commit().await.map_err(failed(OP))
                }

                async fn invite(&self, hash: &[u8]) -> Result<Option<InviteRecord>, StoreError> {
                    sqlx::query_as::<_, InviteRow>(SELECT_INVITE)
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading an invitation"))?
                        .map(invite)
                        .transpose()
                }

                async fn accept_invite(&self, acceptance: &Acceptance) -> Result<(), StoreError> {
                    const OP: &str = "accepting an invitation";
                    let ws = acceptance.workspace.to_string();
                    let person = acceptance.person.to_string();
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let used = sqlx::query(USE_INVITE)
                        .bind(&acceptance.invite_hash)
                        .bind(&ws)
                        .bind(&person)
                        .bind(millis(acceptance.at))
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if used.rows_affected() != 1 {
                        return Err(StoreError::Conflict(
                            "the invitation was used, cancelled or has expired".into(),
                        ));
                    }
                    let factor = &acceptance.second_factor;
                    let activated = sqlx::query(ACTIVATE_PERSON)
                        .bind(&ws)
                        .bind(&person)
                        .bind(&acceptance.password_hash)
                        .bind(&factor.totp_secret_ct)
                        .bind(signed(factor.confirmed_step, "a TOTP step")?)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if activated.rows_affected() != 1 {
                        return Err(StoreError::Conflict(
                            "the person is no longer waiting for this invitation".into(),
                        ));
                    }
                    replace_recovery_codes(&mut tx, &ws, &person, factor, OP).await?;
                    add_session(&mut *tx, &acceptance.session, OP).await?;
                    tx.commit().await.map_err(failed(OP))
                }

                async fn set_second_factor(
                    &self,
                    ws: WorkspaceId,
                    person: PersonId,
                    factor: &SecondFactorRecord,
                ) -> Result<(), StoreError> {
                    const OP: &str = "setting a second factor";
                    let ws = ws.to_string();
                    let person = person.to_string();
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let updated = sqlx::query(SET_SECOND_FACTOR)
                        .bind(&ws)
                        .bind(&person)
                        .bind(&factor.totp_secret_ct)
                        .bind(signed(factor.confirmed_step, "a TOTP step")?)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if updated.rows_affected() != 1 {
                        return Err(StoreError::Conflict(
                            "only an active person can enroll a second factor".into(),
                        ));
                    }
                    replace_recovery_codes(&mut tx, &ws, &person, factor, OP).await?;
                    tx.commit().await.map_err(failed(OP))
                }

                async fn claim_totp_step(
                    &self,
                    ws: WorkspaceId,
                    person: PersonId,
                    step: u64,
                ) -> Result<bool, StoreError> {
                    let claimed = sqlx::query(CLAIM_TOTP_STEP)
                        .bind(ws.to_string())
                        .bind(person.to_string())
                        .bind(signed(step, "a TOTP step")?)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("using a one-time code"))?;
                    Ok(claimed.rows_affected() == 1)
                }

                async fn use_recovery_code(
                    &self,
                    ws: WorkspaceId,
                    person: PersonId,
                    hash: &[u8],
                    at: time::OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let used = sqlx::query(USE_RECOVERY_CODE)
                        .bind(ws.to_string())
                        .bind(person.to_string())
                        .bind(hash)
                        .bind(millis(at))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("using a recovery code"))?;
                    Ok(used.rows_affected() == 1)
                }

                async fn recovery_codes_left(
                    &self,
                    ws: WorkspaceId,
                    person: PersonId,
                ) -> Result<u64, StoreError> {
                    let count: i64 = sqlx::query_scalar(COUNT_RECOVERY_CODES)
                        .bind(ws.to_string())
                        .bind(person.to_string())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(failed("counting recovery codes"))?;
                    Ok(u64::try_from(count).unwrap_or(0))
                }

                async fn offboard_person(
                    &self,
                    ws: WorkspaceId,
                    id: PersonId,
                    at: time::OffsetDateTime,
                    reason: &str,
                ) -> Result<Option<Offboarding>, StoreError> {
                    const OP: &str = "offboarding a person";
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let done = offboard_in(&mut tx, ws, id, at, reason).await?;
                    if done.is_some() {
                        tx.commit().await.map_err(failed(OP))?;
                    }
                    Ok(done)
                }

                async fn owner_policies(&self, ws: WorkspaceId) -> Result<String, StoreError> {
                    let text: Option<String> = sqlx::query_scalar(SELECT_OWNER_POLICIES)
                        .bind(ws.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading the owner's policies"))?;
                    Ok(text.unwrap_or_default())
                }

                async fn set_owner_policies(
                    &self,
                    ws: WorkspaceId,
                    text: &str,
                ) -> Result<(), StoreError> {
                    let updated = sqlx::query(SET_OWNER_POLICIES)
                        .bind(ws.to_string())
                        .bind(text)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving the owner's policies"))?;
                    if updated.rows_affected() != 1 {
                        return Err(StoreError::Conflict("the workspace does not exist".into()));
                    }
                    Ok(())
                }

                async fn insert_grant(&self, grant: &GrantRecord) -> Result<(), StoreError> {
                    sqlx::query(INSERT_GRANT)
                        .bind(grant.id.to_string())
                        .bind(grant.workspace.to_string())
                        .bind(grant.person.to_string())
                        .bind(&grant.scope_ct)
                        .bind(&grant.actions)
                        .bind(&grant.purpose_ct)
                        .bind(grant.status.as_str())
                        .bind(grant.requested_by.to_string())
                        .bind(grant.request_reason_ct.as_deref())
                        .bind(grant.approved_by.map(|p| p.to_string()))
                        .bind(millis(grant.created_at))
                        .bind(millis(grant.expires_at))
                        .bind(grant.ended_at.map(millis))
                        .bind(grant.end_reason.as_deref())
                        .bind(grant.require_passcode)
                        .execute(&self.pool)
                        .await
                        .map_err(failed_unique("storing a grant", GRANT_EXISTS))?;
                    Ok(())
                }

                async fn grant(
                    &self,
                    ws: WorkspaceId,
                    id: confidant_core::GrantId,
                ) -> Result<Option<GrantRecord>, StoreError> {
                    sqlx::query_as::<_, GrantRow>(SELECT_GRANT)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a grant"))?
                        .map(grant)
                        .transpose()
                }

                async fn grants_of(
                    &self,
                    ws: WorkspaceId,
                    person: PersonId,
                ) -> Result<Vec<GrantRecord>, StoreError> {
                    sqlx::query_as::<_, GrantRow>(SELECT_GRANTS_OF)
                        .bind(ws.to_string())
                        .bind(person.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("listing a person's grants"))?
                        .into_iter()
                        .map(grant)
                        .collect()
                }

                async fn grants(&self, ws: WorkspaceId) -> Result<Vec<GrantRecord>, StoreError> {
                    sqlx::query_as::<_, GrantRow>(SELECT_GRANTS)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("listing grants"))?
                        .into_iter()
                        .map(grant)
                        .collect()
                }

                async fn change_grant(
                    &self,
                    ws: WorkspaceId,
                    id: confidant_core::GrantId,
                    change: &GrantChange,
                ) -> Result<Option<GrantRecord>, StoreError> {
                    const OP: &str = "changing a grant";
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let Some(current) = sqlx::query_as::<_, GrantRow>(SELECT_GRANT)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(OP))?
                        .map(grant)
                        .transpose()?
                    else {
                        return Ok(None);
                    };
                    if !change.from.contains(&current.status) {
                        return Err(StoreError::Conflict(format!(
                            "the grant is {} already",
                            current.status
                        )));
                    }
                    let query = match change.to {
                        confidant_core::GrantStatus::Ended => sqlx::query(END_GRANT)
                            .bind(ws.to_string())
                            .bind(id.to_string())
                            .bind(change.to.as_str())
                            .bind(millis(change.at))
                            .bind(change.reason.as_deref()),
                        _ => sqlx::query(APPROVE_GRANT)
                            .bind(ws.to_string())
                            .bind(id.to_string())
                            .bind(change.to.as_str())
                            .bind(change.by.map(|p| p.to_string()))
                            .bind(change.scope_ct.as_deref()),
                    };
                    query.execute(&mut *tx).await.map_err(failed(OP))?;
                    let changed = sqlx::query_as::<_, GrantRow>(SELECT_GRANT)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(OP))?
                        .map(grant)
                        .transpose()?;
                    tx.commit().await.map_err(failed(OP))?;
                    Ok(changed)
                }

                async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
                    add_session(&self.pool, session, "starting a session").await
                }

                async fn session(&self, hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
                    sqlx::query_as::<_, SessionRow>(SELECT_SESSION)
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a session"))?
                        .map(session)
                        .transpose()
                }

                async fn replace_session(
                    &self,
                    old: &[u8],
                    new: &SessionRecord,
                ) -> Result<bool, StoreError> {
                    const OP: &str = "renewing a session";
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let deleted = sqlx::query(DELETE_SESSION)
                        .bind(old)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if deleted.rows_affected() != 1 {
                        return Ok(false);
                    }
                    add_session(&mut *tx, new, OP).await?;
                    tx.commit().await.map_err(failed(OP))?;
                    Ok(true)
                }

                async fn touch_session(
                    &self,
                    hash: &[u8],
                    at: time::OffsetDateTime,
                ) -> Result<(), StoreError> {
                    sqlx::query(TOUCH_SESSION)
                        .bind(hash)
                        .bind(millis(at))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("noting a session's use"))?;
                    Ok(())
                }

                async fn delete_session(&self, hash: &[u8]) -> Result<(), StoreError> {
                    sqlx::query(DELETE_SESSION)
                        .bind(hash)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("ending a session"))?;
                    Ok(())
                }

                async fn sessions_of(
                    &self,
                    ws: WorkspaceId,
                    person: PersonId,
                ) -> Result<Vec<SessionRecord>, StoreError> {
                    sqlx::query_as::<_, SessionRow>(SELECT_SESSIONS_OF)
                        .bind(ws.to_string())
                        .bind(person.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("listing sessions"))?
                        .into_iter()
                        .map(session)
                        .collect()
                }

                async fn insert_document(&self, doc: &DocumentRecord) -> Result<(), StoreError> {
                    const OP: &str = "storing a document";
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    lock_current_kek(&mut tx, doc.workspace, doc.kek_id, OP).await?;
                    sqlx::query(INSERT_DOCUMENT)
                        .bind(doc.id.to_string())
                        .bind(doc.workspace.to_string())
                        .bind(&doc.name_ct)
                        .bind(&doc.name_index)
                        .bind(doc.label.as_str())
                        .bind(signed(doc.size, "the document size")?)
                        .bind(signed(doc.version, "the document version")?)
                        .bind(doc.blob.as_str())
                        .bind(&doc.data_key_wrapped)
                        .bind(doc.kek_id.to_string())
                        .bind(millis(doc.created_at))
                        .bind(millis(doc.updated_at))
                        .bind(doc.scan.as_deref())
                        .execute(&mut *tx)
                        .await
                        .map_err(failed_unique(OP, DOCUMENT_EXISTS))?;
                    tx.commit().await.map_err(failed(OP))
                }

                async fn replace_document(
                    &self,
                    doc: &DocumentRecord,
                ) -> Result<Option<DocumentRecord>, StoreError> {
                    const OP: &str = "replacing a document";
                    const STALE: &str = "the document was changed by someone else since it was \
                                         read: read it again and retry";
                    let previous_version = doc.version.checked_sub(1).ok_or_else(|| {
                        StoreError::Conflict("a replacement must have a version above 0".into())
                    })?;
                    let (ws, id) = (doc.workspace.to_string(), doc.id.to_string());
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let Some(old) = sqlx::query_as::<_, DocumentRow>(SELECT_DOCUMENT)
                        .bind(&ws)
                        .bind(&id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(OP))?
                    else {
                        return Ok(None);
                    };
                    let old = document(old)?;
                    if old.version != previous_version {
                        return Err(StoreError::Conflict(STALE.into()));
                    }
                    lock_current_kek(&mut tx, doc.workspace, doc.kek_id, OP).await?;
                    // Conditional on the version as well: on PostgreSQL a
                    // concurrent replacement may commit between the read
                    // above and this update.
                    let updated = sqlx::query(REPLACE_DOCUMENT)
                        .bind(&ws)
                        .bind(&id)
                        .bind(&doc.name_ct)
                        .bind(&doc.name_index)
                        .bind(doc.label.as_str())
                        .bind(signed(doc.size, "the document size")?)
                        .bind(signed(doc.version, "the document version")?)
                        .bind(doc.blob.as_str())
                        .bind(&doc.data_key_wrapped)
                        .bind(doc.kek_id.to_string())
                        .bind(millis(doc.updated_at))
                        .bind(signed(previous_version, "the document version")?)
                        .bind(doc.scan.as_deref())
                        .execute(&mut *tx)
                        .await
                        .map_err(failed_unique(OP, DOCUMENT_EXISTS))?;
                    if updated.rows_affected() == 0 {
                        return Err(StoreError::Conflict(STALE.into()));
                    }
                    tx.commit().await.map_err(failed(OP))?;
                    Ok(Some(old))
                }

                async fn document(
                    &self,
                    ws: WorkspaceId,
                    id: ItemId,
                ) -> Result<Option<DocumentRecord>, StoreError> {
                    sqlx::query_as::<_, DocumentRow>(SELECT_DOCUMENT)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a document"))?
                        .map(document)
                        .transpose()
                }

                async fn document_by_name_index(
                    &self,
                    ws: WorkspaceId,
                    name_index: &[u8],
                ) -> Result<Option<DocumentRecord>, StoreError> {
                    sqlx::query_as::<_, DocumentRow>(SELECT_DOCUMENT_BY_NAME_INDEX)
                        .bind(ws.to_string())
                        .bind(name_index)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("finding a document by name"))?
                        .map(document)
                        .transpose()
                }

                async fn documents(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Vec<DocumentRecord>, StoreError> {
                    sqlx::query_as::<_, DocumentRow>(SELECT_DOCUMENTS)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("listing documents"))?
                        .into_iter()
                        .map(document)
                        .collect()
                }

                async fn delete_document(
                    &self,
                    ws: WorkspaceId,
                    id: ItemId,
                ) -> Result<Option<DocumentRecord>, StoreError> {
                    const OP: &str = "deleting a document";
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let deleted = sqlx::query_as::<_, DocumentRow>(DELETE_DOCUMENT)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(OP))?
                        .map(document)
                        .transpose()?;
                    tx.commit().await.map_err(failed(OP))?;
                    Ok(deleted)
                }

                async fn set_document_label(
                    &self,
                    ws: WorkspaceId,
                    id: ItemId,
                    label: confidant_core::Label,
                ) -> Result<bool, StoreError> {
                    let updated = sqlx::query(SET_DOCUMENT_LABEL)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(label.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err(failed("changing a document's label"))?;
                    Ok(updated.rows_affected() == 1)
                }

                async fn referenced_blobs(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Vec<BlobKey>, StoreError> {
                    sqlx::query_scalar::<_, String>(SELECT_BLOB_KEYS)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("listing document blobs"))?
                        .iter()
                        .map(|key| {
                            BlobKey::parse(key).map_err(|_| {
                                StoreError::Corrupt(
                                    "a stored document's blob key is not valid".into(),
                                )
                            })
                        })
                        .collect()
                }

                async fn begin_record_import(
                    &self,
                    set: &RecordSetRecord,
                ) -> Result<Box<dyn RecordImport>, StoreError> {
                    const OP: &str = "starting a record set import";
                    let columns = columns_json(&set.columns)?;
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    lock_current_kek(&mut tx, set.workspace, set.kek_id, OP).await?;
                    // The set goes in first, so a name conflict shows now
                    // rather than after the rows; nobody else sees it before
                    // commit.
                    sqlx::query(INSERT_RECORD_SET)
                        .bind(set.id.to_string())
                        .bind(set.workspace.to_string())
                        .bind(&set.name)
                        .bind(set.label.as_str())
                        .bind(columns)
                        .bind(set.rows_are_customers)
                        .bind(set.contact_column.as_deref())
                        .bind(0_i64)
                        .bind(&set.data_key_wrapped)
                        .bind(set.kek_id.to_string())
                        .bind(millis(set.created_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(failed_unique(OP, RECORD_SET_EXISTS))?;
                    let max = Self::DIALECT.max_bind_params;
                    Ok(Box::new(Import {
                        tx,
                        workspace: set.workspace.to_string(),
                        set_id: set.id.to_string(),
                        indexed: set
                            .columns
                            .iter()
                            .filter(|c| c.indexed)
                            .map(|c| c.name.clone())
                            .collect(),
                        set: RecordSetRecord { row_count: 0, ..set.clone() },
                        row_batch: batch_len(max, ROW_PARAMS),
                        index_batch: batch_len(max, INDEX_PARAMS),
                        placeholders: Self::DIALECT.placeholders,
                        failed: false,
                    }))
                }

                async fn record_sets(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Vec<RecordSetRecord>, StoreError> {
                    sqlx::query_as::<_, RecordSetRow>(SELECT_RECORD_SETS)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("listing record sets"))?
                        .into_iter()
                        .map(record_set)
                        .collect()
                }

                async fn record_set(
                    &self,
                    ws: WorkspaceId,
                    id: RecordSetId,
                ) -> Result<Option<RecordSetRecord>, StoreError> {
                    sqlx::query_as::<_, RecordSetRow>(SELECT_RECORD_SET)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a record set"))?
                        .map(record_set)
                        .transpose()
                }

                async fn record_set_by_name(
                    &self,
                    ws: WorkspaceId,
                    name: &str,
                ) -> Result<Option<RecordSetRecord>, StoreError> {
                    sqlx::query_as::<_, RecordSetRow>(SELECT_RECORD_SET_BY_NAME)
                        .bind(ws.to_string())
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("finding a record set by name"))?
                        .map(record_set)
                        .transpose()
                }

                async fn rows(
                    &self,
                    ws: WorkspaceId,
                    set: RecordSetId,
                    offset: u64,
                    limit: u64,
                ) -> Result<Vec<RowRecord>, StoreError> {
                    // Beyond i64::MAX means "all", which i64::MAX says too.
                    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                    sqlx::query_as::<_, RowRow>(SELECT_ROWS)
                        .bind(ws.to_string())
                        .bind(set.to_string())
                        .bind(clamp(limit))
                        .bind(clamp(offset))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading rows"))?
                        .into_iter()
                        .map(row)
                        .collect()
                }

                async fn row(
                    &self,
                    ws: WorkspaceId,
                    set: RecordSetId,
                    id: confidant_core::RowId,
                ) -> Result<Option<RowRecord>, StoreError> {
                    sqlx::query_as::<_, RowRow>(SELECT_ROW)
                        .bind(ws.to_string())
                        .bind(set.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a row"))?
                        .map(row)
                        .transpose()
                }

                async fn rows_by_index(
                    &self,
                    ws: WorkspaceId,
                    set: RecordSetId,
                    column: &str,
                    hash: &[u8],
                ) -> Result<Vec<RowRecord>, StoreError> {
                    sqlx::query_as::<_, RowRow>(SELECT_ROWS_BY_INDEX)
                        .bind(ws.to_string())
                        .bind(set.to_string())
                        .bind(column)
                        .bind(hash)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("finding rows by index"))?
                        .into_iter()
                        .map(row)
                        .collect()
                }

                async fn begin_ledger_append(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Box<dyn LedgerAppend>, StoreError> {
                    const OP: &str = "starting a ledger append";
                    let workspace = ws.to_string();
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    sqlx::query(ENSURE_LEDGER_HEAD)
                        .bind(&workspace)
                        .bind(Vec::<u8>::new())
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    let head = sqlx::query_as::<_, LedgerHeadRow>(Self::DIALECT.lock_ledger_head)
                        .bind(&workspace)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    Ok(Box::new(Append {
                        tx,
                        workspace,
                        head: ledger_head(head)?,
                        leaf_batch: batch_len(Self::DIALECT.max_bind_params, LEAF_PARAMS),
                        placeholders: Self::DIALECT.placeholders,
                    }))
                }

                async fn ledger_head(&self, ws: WorkspaceId) -> Result<LedgerHead, StoreError> {
                    Ok(sqlx::query_as::<_, LedgerHeadRow>(SELECT_LEDGER_HEAD)
                        .bind(ws.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading the ledger head"))?
                        .map(ledger_head)
                        .transpose()?
                        .unwrap_or_default())
                }

                async fn ledger_leaves(
                    &self,
                    ws: WorkspaceId,
                    from: u64,
                    limit: u64,
                ) -> Result<Vec<LedgerLeaf>, StoreError> {
                    // Beyond i64::MAX means "none" for `from` and "all" for
                    // `limit`, which i64::MAX says too.
                    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                    sqlx::query_as::<_, LedgerLeafRow>(SELECT_LEDGER_LEAVES)
                        .bind(ws.to_string())
                        .bind(clamp(from))
                        .bind(clamp(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading ledger leaves"))?
                        .into_iter()
                        .map(ledger_leaf)
                        .collect()
                }

                async fn ledger_leaves_about(
                    &self,
                    ws: WorkspaceId,
                    actor: Option<PersonId>,
                    target: Option<uuid::Uuid>,
                ) -> Result<Vec<LedgerLeaf>, StoreError> {
                    let query = match (actor, target) {
                        (Some(a), Some(t)) => sqlx::query_as::<_, LedgerLeafRow>(
                            SELECT_LEAVES_BY_ACTOR_AND_TARGET,
                        )
                        .bind(ws.to_string())
                        .bind(a.to_string())
                        .bind(t.to_string()),
                        (Some(a), None) => sqlx::query_as::<_, LedgerLeafRow>(SELECT_LEAVES_BY_ACTOR)
                            .bind(ws.to_string())
                            .bind(a.to_string()),
                        (None, Some(t)) => sqlx::query_as::<_, LedgerLeafRow>(SELECT_LEAVES_BY_TARGET)
                            .bind(ws.to_string())
                            .bind(t.to_string()),
                        (None, None) => {
                            return Err(StoreError::Conflict(
                                "ledger leaves about nobody and nothing: name a person or a target"
                                    .into(),
                            ));
                        }
                    };
                    query
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading ledger leaves by person or item"))?
                        .into_iter()
                        .map(ledger_leaf)
                        .collect()
                }

                async fn ledger_refs_count(&self, ws: WorkspaceId) -> Result<u64, StoreError> {
                    let (n,): (i64,) = sqlx::query_as(COUNT_LEDGER_REFS)
                        .bind(ws.to_string())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(failed("counting ledger refs"))?;
                    unsigned(n, "ledger refs")
                }

                async fn insert_checkpoint(
                    &self,
                    ws: WorkspaceId,
                    checkpoint: &CheckpointRecord,
                ) -> Result<(), StoreError> {
                    sqlx::query(INSERT_CHECKPOINT)
                        .bind(ws.to_string())
                        .bind(signed(checkpoint.size, "the checkpoint size")?)
                        .bind(&checkpoint.note)
                        .bind(millis(checkpoint.created_at))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("storing a checkpoint"))?;
                    Ok(())
                }

                async fn latest_checkpoint(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Option<CheckpointRecord>, StoreError> {
                    sqlx::query_as::<_, CheckpointRow>(SELECT_LATEST_CHECKPOINT)
                        .bind(ws.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading the latest checkpoint"))?
                        .map(checkpoint)
                        .transpose()
                }

                async fn checkpoint_at_or_before(
                    &self,
                    ws: WorkspaceId,
                    size: u64,
                ) -> Result<Option<CheckpointRecord>, StoreError> {
                    // Every stored size is at most i64::MAX.
                    let size = i64::try_from(size).unwrap_or(i64::MAX);
                    sqlx::query_as::<_, CheckpointRow>(SELECT_CHECKPOINT_AT_OR_BEFORE)
                        .bind(ws.to_string())
                        .bind(size)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("finding a checkpoint"))?
                        .map(checkpoint)
                        .transpose()
                }

                async fn delete_record_set(
                    &self,
                    ws: WorkspaceId,
                    id: RecordSetId,
                ) -> Result<Option<RecordSetRecord>, StoreError> {
                    const OP: &str = "deleting a record set";
                    let (ws, id) = (ws.to_string(), id.to_string());
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let Some(deleted) = sqlx::query_as::<_, RecordSetRow>(DELETE_RECORD_SET)
                        .bind(&ws)
                        .bind(&id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(OP))?
                    else {
                        return Ok(None);
                    };
                    for sql in [DELETE_INDEX_ENTRIES, DELETE_ROWS] {
                        sqlx::query(sql)
                            .bind(&ws)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await
                            .map_err(failed(OP))?;
                    }
                    tx.commit().await.map_err(failed(OP))?;
                    record_set(deleted).map(Some)
                }
            }

            /// A ledger append in progress: one open write transaction that
            /// holds the workspace's ledger head locked.
            #[derive(Debug)]
            struct Append {
                tx: Tx,
                workspace: String,
                /// The head as read under the lock.
                head: LedgerHead,
                leaf_batch: usize,
                placeholders: Placeholders,
            }

            #[async_trait]
            impl LedgerAppend for Append {
                fn head(&self) -> &LedgerHead {
                    &self.head
                }

                async fn commit_indexed(
                    self: Box<Self>,
                    leaves: &[Vec<u8>],
                    refs: &[LedgerRef],
                    new_head: &LedgerHead,
                    checkpoint: Option<&CheckpointRecord>,
                ) -> Result<(), StoreError> {
                    const OP: &str = "appending to the ledger";
                    if !refs.is_empty() && refs.len() != leaves.len() {
                        return Err(StoreError::Conflict(format!(
                            "{} ledger refs for {} leaves; nothing was stored",
                            refs.len(),
                            leaves.len()
                        )));
                    }
                    let Append { mut tx, workspace, head, leaf_batch, placeholders } = *self;
                    let expected = u64::try_from(leaves.len())
                        .ok()
                        .and_then(|n| head.size.checked_add(n));
                    if expected != Some(new_head.size) {
                        // Dropping `tx` rolls back and releases the lock.
                        return Err(StoreError::Conflict(format!(
                            "the new ledger head has size {}, but the ledger holds {} leaves and \
                             {} were appended; nothing was stored",
                            new_head.size,
                            head.size,
                            leaves.len()
                        )));
                    }
                    if let Some(cp) = checkpoint
                        && cp.size != new_head.size
                    {
                        return Err(StoreError::Conflict(format!(
                            "a checkpoint of size {} cannot be stored with a ledger head of size {}; \
                             nothing was stored",
                            cp.size, new_head.size
                        )));
                    }
                    // Inserted only, never changed: see the invariant above
                    // `ENSURE_LEDGER_HEAD`.
                    let mut next = head.size;
                    for chunk in leaves.chunks(leaf_batch) {
                        let sql = insert_leaves_sql(chunk.len(), placeholders);
                        let mut query = sqlx::query(AssertSqlSafe(sql));
                        for leaf in chunk {
                            query = query
                                .bind(&workspace)
                                .bind(signed(next, "a ledger leaf index")?)
                                .bind(leaf.as_slice());
                            next += 1;
                        }
                        query
                            .execute(&mut *tx)
                            .await
                            .map_err(failed_unique(OP, LEAF_EXISTS))?;
                    }
                    let mut next = head.size;
                    for chunk in refs.chunks(leaf_batch) {
                        let sql = insert_refs_sql(chunk.len(), placeholders);
                        let mut query = sqlx::query(AssertSqlSafe(sql));
                        for r in chunk {
                            query = query
                                .bind(&workspace)
                                .bind(signed(next, "a ledger leaf index")?)
                                .bind(r.actor.map(|a| a.to_string()))
                                .bind(r.target.to_string());
                            next += 1;
                        }
                        query.execute(&mut *tx).await.map_err(failed(OP))?;
                    }
                    sqlx::query(UPSERT_LEDGER_HEAD)
                        .bind(&workspace)
                        .bind(signed(new_head.size, "the ledger size")?)
                        .bind(new_head.frontier.as_slice())
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if let Some(cp) = checkpoint {
                        sqlx::query(INSERT_CHECKPOINT)
                            .bind(&workspace)
                            .bind(signed(cp.size, "the checkpoint size")?)
                            .bind(&cp.note)
                            .bind(millis(cp.created_at))
                            .execute(&mut *tx)
                            .await
                            .map_err(failed(OP))?;
                    }
                    tx.commit().await.map_err(failed(OP))
                }
            }

            /// An import in progress: one open write transaction.
            #[derive(Debug)]
            struct Import {
                tx: Tx,
                workspace: String,
                set_id: String,
                /// Names of the set's indexed columns.
                indexed: HashSet<String>,
                set: RecordSetRecord,
                row_batch: usize,
                index_batch: usize,
                placeholders: Placeholders,
                /// Set when a statement failed: PostgreSQL then answers
                /// COMMIT with a silent rollback, and SQLite would keep the
                /// rows before the failure, so the import must not commit.
                failed: bool,
            }

            impl Import {
                async fn insert(
                    &mut self,
                    rows: &[RowRecord],
                    index: &[IndexEntry],
                ) -> Result<(), StoreError> {
                    const OP: &str = "importing rows";
                    for chunk in rows.chunks(self.row_batch) {
                        let sql = insert_rows_sql(chunk.len(), self.placeholders);
                        let mut query = sqlx::query(AssertSqlSafe(sql));
                        for row in chunk {
                            query = query
                                .bind(&self.workspace)
                                .bind(&self.set_id)
                                .bind(row.id.to_string())
                                .bind(signed(row.ordinal, "a row position")?)
                                .bind(row.cells.as_slice());
                        }
                        query
                            .execute(&mut *self.tx)
                            .await
                            .map_err(failed_unique(OP, ROW_EXISTS))?;
                        self.set.row_count += chunk.len() as u64;
                    }
                    for chunk in index.chunks(self.index_batch) {
                        let sql = insert_index_sql(chunk.len(), self.placeholders);
                        let mut query = sqlx::query(AssertSqlSafe(sql));
                        for entry in chunk {
                            query = query
                                .bind(&self.workspace)
                                .bind(&self.set_id)
                                .bind(entry.column.as_str())
                                .bind(entry.hash.as_slice())
                                .bind(entry.row.to_string());
                        }
                        query.execute(&mut *self.tx).await.map_err(failed(OP))?;
                    }
                    Ok(())
                }
            }

            #[async_trait]
            impl RecordImport for Import {
                async fn add_rows(
                    &mut self,
                    rows: &[RowRecord],
                    index: &[IndexEntry],
                ) -> Result<(), StoreError> {
                    if self.failed {
                        return Err(StoreError::Conflict(IMPORT_FAILED.into()));
                    }
                    if rows.iter().any(|r| r.set != self.set.id) {
                        return Err(StoreError::Conflict(
                            "a row of the import belongs to another record set".into(),
                        ));
                    }
                    if let Some(entry) = index.iter().find(|e| !self.indexed.contains(&e.column)) {
                        return Err(StoreError::Conflict(format!(
                            "column {:?} is not an indexed column of the record set",
                            entry.column
                        )));
                    }
                    let result = self.insert(rows, index).await;
                    self.failed = result.is_err();
                    result
                }

                async fn commit(self: Box<Self>) -> Result<RecordSetRecord, StoreError> {
                    const OP: &str = "finishing a record set import";
                    let Import { mut tx, workspace, set_id, set, failed: earlier, .. } = *self;
                    if earlier {
                        return Err(StoreError::Conflict(IMPORT_FAILED.into()));
                    }
                    sqlx::query(SET_ROW_COUNT)
                        .bind(workspace)
                        .bind(set_id)
                        .bind(signed(set.row_count, "the row count")?)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    tx.commit().await.map_err(failed(OP))?;
                    Ok(set)
                }
            }
        }
    };
}

pub(crate) use impl_store;

pub(crate) const IMPORT_FAILED: &str =
    "an earlier step of this import failed, so nothing of it was stored: start the import again";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn batch_statements_number_their_parameters() {
        assert_eq!(
            insert_rows_sql(2, Placeholders::Numbered),
            "INSERT INTO record_rows (workspace_id, set_id, id, ordinal, cells) VALUES \
             ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)"
        );
        assert!(
            insert_index_sql(2, Placeholders::Anonymous)
                .ends_with("VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)")
        );
    }

    #[test]
    fn ledger_leaves_are_inserted_in_numbered_batches() {
        assert_eq!(
            insert_leaves_sql(2, Placeholders::Numbered),
            "INSERT INTO ledger_leaves (workspace_id, idx, leaf) VALUES ($1, $2, $3), ($4, $5, $6)"
        );
        assert!(insert_leaves_sql(3, Placeholders::Anonymous).ends_with("(?, ?, ?)"));
        assert_eq!(batch_len(32766, LEAF_PARAMS), MAX_BATCH);
    }

    /// The ledger is append-only: no SQL of the store rewrites or removes a
    /// leaf. (The phrases searched for are built at run time, so this test
    /// does not find itself.)
    #[test]
    fn no_statement_changes_a_ledger_leaf() {
        let sources = [
            include_str!("sql.rs"),
            include_str!("sqlite.rs"),
            include_str!("postgres.rs"),
            include_str!("../migrations/sqlite/0002_ledger.sql"),
            include_str!("../migrations/postgres/0002_ledger.sql"),
        ];
        let table = "ledger_leaves";
        for source in sources {
            // Statements may be split over lines and string continuations.
            let text = source
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("\\ ", "")
                .to_lowercase();
            for verb in ["update", "delete from", "replace into", "truncate"] {
                let phrase = format!("{verb} {table}");
                assert!(!text.contains(&phrase), "found {phrase:?}");
            }
        }
        assert!(!insert_leaves_sql(2, Placeholders::Numbered).contains("CONFLICT"));
    }

    #[test]
    fn batches_respect_the_parameter_limit() {
        for (limit, each) in [(32766, ROW_PARAMS), (65535, INDEX_PARAMS), (999, 3), (4, 5)] {
            let n = batch_len(limit, each);
            assert!(n >= 1);
            assert!(n == 1 || n * each <= limit, "{limit} {each} -> {n}");
        }
        assert_eq!(batch_len(999, 5), 199);
        assert_eq!(batch_len(32766, 5), MAX_BATCH);
    }

    #[test]
    fn times_round_trip_to_the_millisecond() {
        let t = time::macros::datetime!(2026-05-20 10:11:12.345_678 UTC);
        let back = time_from_millis(millis(t), "t").unwrap();
        assert_eq!(back, time::macros::datetime!(2026-05-20 10:11:12.345 UTC));
        let before_1970 = time::macros::datetime!(1969-12-31 23:59:59.9995 UTC);
        assert_eq!(millis(before_1970), -1);
    }

    #[test]
    fn counts_out_of_range_are_refused() {
        assert!(matches!(
            signed(u64::MAX, "x"),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(unsigned(-1, "x"), Err(StoreError::Corrupt(_))));
        assert_eq!(signed(7, "x").unwrap(), 7);
    }

    #[test]
    fn sqlite_errors_are_classified() {
        let cases = [
            (13, Class::Unavailable),   // SQLITE_FULL
            (8, Class::Unavailable),    // SQLITE_READONLY
            (1034, Class::Unavailable), // SQLITE_IOERR_FSYNC
            (5, Class::Unavailable),    // SQLITE_BUSY
            (11, Class::Corrupt),
            (26, Class::Corrupt),
            (1, Class::Unexpected),    // SQLITE_ERROR (a bug)
            (1299, Class::Unexpected), // SQLITE_CONSTRAINT_NOTNULL
        ];
        for (code, want) in cases {
            assert_eq!(sqlite_class(code), want, "{code}");
        }
    }

    #[test]
    fn postgres_errors_are_classified() {
        let cases = [
            ("23505", Class::Unique),
            ("23503", Class::ForeignKey),
            ("40001", Class::Retry),
            ("53100", Class::Unavailable), // disk_full
            ("08006", Class::Unavailable), // connection_failure
            ("57P01", Class::Unavailable), // admin_shutdown
            ("25006", Class::Unavailable), // read_only_sql_transaction
            ("XX001", Class::Corrupt),
            ("42601", Class::Unexpected), // syntax_error
        ];
        for (code, want) in cases {
            assert_eq!(postgres_class(code), want, "{code}");
        }
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://ann:s3cret@db.example:5432/confidant?sslmode=require"),
            "postgres://ann:***@db.example:5432/confidant?sslmode=require"
        );
        assert_eq!(redact_url("postgres://ann@db/x"), "postgres://ann@db/x");
        assert_eq!(
            redact_url("sqlite://data/confidant.db"),
            "sqlite://data/confidant.db"
        );
        assert_eq!(redact_url("postgres://a:b:c@h"), "postgres://a:***@h");
    }

    #[test]
    fn corrupt_rows_are_reported_not_panicked_on() {
        let row: RowRow = ("not-a-uuid".into(), "x".into(), 0, vec![]);
        assert!(matches!(super::row(row), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            columns_from_json("{"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
