//! confidant's persistence: one [`Store`] trait for metadata and one
//! [`BlobStore`] for encrypted document bodies.
//!
//! Two adapters implement [`Store`] and pass the same conformance suite
//! (`tests/it/conformance.rs`): SQLite (the embedded default, one file in the
//! data dir, WAL) and PostgreSQL (for several server processes). Blobs go
//! through the `object_store` crate (a local folder by default).
//!
//! What this crate deliberately leaves out: it never sees a key or a
//! plaintext of customer data. Every value it stores for customer data is
//! ciphertext or a keyed hash made by the vault; it only keeps, orders and
//! finds those bytes. Only the composition root (the `cli` crate) names a
//! concrete adapter; everything else holds an `Arc<dyn Store>`.

mod blob;
mod break_glass;
mod devices;
mod dump;
mod error;
mod gates;
mod incidents;
mod postgres;
mod records;
mod schedule;
mod sql;
mod sqlite;

pub use blob::{BlobKey, BlobStore, BlobWriter};
pub use break_glass::{BreakGlassRecord, BreakGlassStore};
pub use devices::{AcceptedReport, DeviceRecord, DeviceStore, EnrollmentRecord, LinkRecord};
pub use dump::{
    ColumnInfo, ColumnType, Dump, DumpLoader, DumpReader, TableInfo, Value, connect_for_load,
    row_counts,
};
pub use error::StoreError;
pub use gates::{GateStore, PasscodeRecord, PasscodeScope, UnlockRecord};
pub use incidents::{
    IncidentItem, IncidentRecord, IncidentStep, IncidentStore, NoticeRecord, NoticeStatus,
};
pub use postgres::PgStore;
pub use records::*;
pub use schedule::{RunStatus, ScheduleRun, ScheduleStore};
pub use sqlite::SqliteStore;

use std::sync::Arc;

use async_trait::async_trait;
use confidant_core::{ItemId, PersonId, RecordSetId, WorkspaceId};

/// Which database an adapter talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Opens the store named by a database URL: `sqlite://PATH` (created when
/// missing) or `postgres://...`. Runs the backend's migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::InvalidUrl(sql::redact_url(url)))
    }
}

/// Metadata persistence. Every method is one atomic unit: it either happens
/// completely or not at all. Methods that look a thing up return `Ok(None)`
/// when it does not exist; `StoreError` means the store itself failed or a
/// uniqueness rule was broken ([`StoreError::Conflict`]).
///
/// Times are kept to the millisecond. A document or record set is stored
/// only with a data key wrapped by the workspace's current KEK: inserting,
/// replacing or importing one whose `kek_id` is not current fails with
/// `Conflict`, so no key can be left under a KEK that a rotation retired.
#[async_trait]
pub trait Store:
    GateStore
    + IncidentStore
    + DeviceStore
    + ScheduleStore
    + BreakGlassStore
    + Dump
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    fn backend(&self) -> Backend;

    // Workspaces and their keys.

    /// Creates a workspace with its owner in one transaction. A database
    /// holds any number of workspaces (tenants); fails with `Conflict` when
    /// one of the same name exists.
    async fn create_workspace(
        &self,
        workspace: &WorkspaceRecord,
        owner: &PersonRecord,
    ) -> Result<(), StoreError>;
    /// The first workspace created in this database, if any.
    async fn workspace(&self) -> Result<Option<WorkspaceRecord>, StoreError>;
    /// Every workspace of this database, oldest first.
    async fn workspaces(&self) -> Result<Vec<WorkspaceRecord>, StoreError>;
    /// Every wrapped data key of a workspace, for key rotation.
    async fn wrapped_keys(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<WrappedKeyRecord>, StoreError>;
    /// Replaces the workspace's key-encryption key and every wrapped key in
    /// one transaction. Fails with `Conflict` (and changes nothing) when the
    /// workspace's current KEK is not `rotation.old_kek_id` or when any key
    /// wrapped under the old KEK is not in `rotation.keys` (for example a
    /// document added while the rotation ran).
    async fn rotate_keys(
        &self,
        workspace: WorkspaceId,
        rotation: &KeyRotation,
    ) -> Result<(), StoreError>;

    // People, invitations, second factors and sessions.

    async fn person(
        &self,
        workspace: WorkspaceId,
        id: PersonId,
    ) -> Result<Option<PersonRecord>, StoreError>;
    async fn person_by_email(
        &self,
        workspace: WorkspaceId,
        email: &str,
    ) -> Result<Option<PersonRecord>, StoreError>;
    /// The workspaces where someone has this (normalized) e-mail address,
    /// oldest workspace first: sign-in finds the account this way.
    async fn workspaces_of_email(&self, email: &str) -> Result<Vec<WorkspaceId>, StoreError>;
    /// The workspace's owner (the one person with role owner).
    async fn owner(&self, workspace: WorkspaceId) -> Result<Option<PersonRecord>, StoreError>;
    /// Adds a person; `Conflict` when the e-mail is taken in the workspace.
    async fn insert_person(&self, person: &PersonRecord) -> Result<(), StoreError>;
    /// Everyone of the workspace, oldest first.
    async fn people(&self, workspace: WorkspaceId) -> Result<Vec<PersonRecord>, StoreError>;

    /// Stores an invitation in one transaction: `new_person` first when
    /// given (`Conflict` when the e-mail is taken), then the invite, and
    /// cancels the person's earlier unused invites. Fails with `Conflict`
    /// when the person is not `Invited`.
    async fn insert_invite(
        &self,
        invite: &InviteRecord,
        new_person: Option<&PersonRecord>,
    ) -> Result<(), StoreError>;
    /// The invite with this hash, used or not (the caller checks).
    async fn invite(&self, hash: &[u8]) -> Result<Option<InviteRecord>, StoreError>;
    /// Accepts an invitation in one transaction: marks the invite used
    /// (it must be unused and unexpired at `acceptance.at`), sets the
    /// password and second factor, makes the person active and starts the
    /// first session. `Conflict` (changing nothing) when the invite was
    /// used, expired or cancelled, or the person is not invited.
    async fn accept_invite(&self, acceptance: &Acceptance) -> Result<(), StoreError>;
    /// Replaces an active person's second factor and recovery codes.
    async fn set_second_factor(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
        factor: &SecondFactorRecord,
    ) -> Result<(), StoreError>;
    /// Records that TOTP time step `step` was used, when it is later than
    /// the last one used; `false` (a replayed or older code) otherwise.
    async fn claim_totp_step(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
        step: u64,
    ) -> Result<bool, StoreError>;
    /// Marks an unused recovery code used; `false` when there is no such
    /// unused code.
    async fn use_recovery_code(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
        hash: &[u8],
        at: time::OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// How many unused recovery codes the person has left.
    async fn recovery_codes_left(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
    ) -> Result<u64, StoreError>;
    /// Offboards a person in one transaction: status offboarded with the
    /// time and reason, every session ended, unused invites cancelled, every
    /// grant and request ended.
    /// `Ok(None)` when there is no such person; `Conflict` when they are
    /// offboarded already.
    async fn offboard_person(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
        at: time::OffsetDateTime,
        reason: &str,
    ) -> Result<Option<Offboarding>, StoreError>;

    /// The owner's own policies (Cedar text; empty when none).
    async fn owner_policies(&self, workspace: WorkspaceId) -> Result<String, StoreError>;
    /// Replaces the owner's own policies.
    async fn set_owner_policies(
        &self,
        workspace: WorkspaceId,
        text: &str,
    ) -> Result<(), StoreError>;

    // Grants.

    /// `Conflict` when the person or the workspace does not exist.
    async fn insert_grant(&self, grant: &GrantRecord) -> Result<(), StoreError>;
    async fn grant(
        &self,
        workspace: WorkspaceId,
        id: confidant_core::GrantId,
    ) -> Result<Option<GrantRecord>, StoreError>;
    /// A person's grants and requests, newest first.
    async fn grants_of(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
    ) -> Result<Vec<GrantRecord>, StoreError>;
    /// Every grant and request of the workspace, newest first.
    async fn grants(&self, workspace: WorkspaceId) -> Result<Vec<GrantRecord>, StoreError>;
    /// Changes a grant's status when it is one of `change.from`; returns
    /// the grant as it now is, `Ok(None)` when there is no such grant, and
    /// `Conflict` when its status was another.
    async fn change_grant(
        &self,
        workspace: WorkspaceId,
        id: confidant_core::GrantId,
        change: &GrantChange,
    ) -> Result<Option<GrantRecord>, StoreError>;

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// The session with this hash, whatever its expiry (the caller checks).
    async fn session(&self, hash: &[u8]) -> Result<Option<SessionRecord>, StoreError>;
    /// Replaces the session `old` by `new` in one step (a new id at
    /// sign-in); `false` when `old` was gone.
    async fn replace_session(&self, old: &[u8], new: &SessionRecord) -> Result<bool, StoreError>;
    /// Notes a session's use.
    async fn touch_session(&self, hash: &[u8], at: time::OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_session(&self, hash: &[u8]) -> Result<(), StoreError>;
    /// A person's sessions and tokens, newest first.
    async fn sessions_of(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    // Documents.

    /// Fails with `Conflict` when the workspace has a document with the same
    /// `name_index`.
    async fn insert_document(&self, document: &DocumentRecord) -> Result<(), StoreError>;
    /// Replaces the row with the same id when its version is
    /// `document.version - 1`; returns the replaced row. `Ok(None)` when the
    /// document is gone; `Conflict` when someone else replaced it first.
    async fn replace_document(
        &self,
        document: &DocumentRecord,
    ) -> Result<Option<DocumentRecord>, StoreError>;
    async fn document(
        &self,
        workspace: WorkspaceId,
        id: ItemId,
    ) -> Result<Option<DocumentRecord>, StoreError>;
    async fn document_by_name_index(
        &self,
        workspace: WorkspaceId,
        name_index: &[u8],
    ) -> Result<Option<DocumentRecord>, StoreError>;
    /// All documents of a workspace, oldest first.
    async fn documents(&self, workspace: WorkspaceId) -> Result<Vec<DocumentRecord>, StoreError>;
    /// Deletes and returns the document row (the caller removes the blob).
    async fn delete_document(
        &self,
        workspace: WorkspaceId,
        id: ItemId,
    ) -> Result<Option<DocumentRecord>, StoreError>;
    /// Sets a document's label; `false` when there is no such document.
    async fn set_document_label(
        &self,
        workspace: WorkspaceId,
        id: ItemId,
        label: confidant_core::Label,
    ) -> Result<bool, StoreError>;
    /// Every blob key that a document row refers to, for sweeping orphans.
    async fn referenced_blobs(&self, workspace: WorkspaceId) -> Result<Vec<BlobKey>, StoreError>;

    // Record sets.

    /// Starts an atomic import of a new record set: nothing of it is visible
    /// until [`RecordImport::commit`] returns, and dropping the import (or a
    /// crash) leaves no trace. Fails with `Conflict` at commit (or earlier)
    /// when a set with the same name exists.
    async fn begin_record_import(
        &self,
        set: &RecordSetRecord,
    ) -> Result<Box<dyn RecordImport>, StoreError>;
    async fn record_sets(&self, workspace: WorkspaceId)
    -> Result<Vec<RecordSetRecord>, StoreError>;
    async fn record_set(
        &self,
        workspace: WorkspaceId,
        id: RecordSetId,
    ) -> Result<Option<RecordSetRecord>, StoreError>;
    async fn record_set_by_name(
        &self,
        workspace: WorkspaceId,
        name: &str,
    ) -> Result<Option<RecordSetRecord>, StoreError>;
    /// Rows in import order, `limit` rows after skipping `offset`.
    async fn rows(
        &self,
        workspace: WorkspaceId,
        set: RecordSetId,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<RowRecord>, StoreError>;
    /// One row of a set.
    async fn row(
        &self,
        workspace: WorkspaceId,
        set: RecordSetId,
        id: confidant_core::RowId,
    ) -> Result<Option<RowRecord>, StoreError>;
    /// Rows whose blind index for `column` equals `hash`, in import order.
    async fn rows_by_index(
        &self,
        workspace: WorkspaceId,
        set: RecordSetId,
        column: &str,
        hash: &[u8],
    ) -> Result<Vec<RowRecord>, StoreError>;
    /// Deletes a record set with its rows and index entries.
    async fn delete_record_set(
        &self,
        workspace: WorkspaceId,
        id: RecordSetId,
    ) -> Result<Option<RecordSetRecord>, StoreError>;

    // The access ledger: an append-only sequence of leaves per workspace
    // (canonical entry bytes made by the ledger crate; opaque here), its
    // head, and signed checkpoints.

    /// Starts an append to the workspace's ledger and takes its write lock,
    /// so appends from every process form one chain per workspace. Dropping
    /// the append (or a crash) leaves the ledger as it was. Fails with
    /// `Conflict` when the workspace does not exist.
    async fn begin_ledger_append(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Box<dyn LedgerAppend>, StoreError>;
    /// The head: how many leaves the ledger holds and the frontier stored
    /// with the last append (empty for an empty ledger).
    async fn ledger_head(&self, workspace: WorkspaceId) -> Result<LedgerHead, StoreError>;
    /// Up to `limit` leaves from index `from`, in order.
    async fn ledger_leaves(
        &self,
        workspace: WorkspaceId,
        from: u64,
        limit: u64,
    ) -> Result<Vec<LedgerLeaf>, StoreError>;
    /// The leaves whose entries name `actor` (when given) and `target`
    /// (when given), in order, from the index appends write beside them
    /// ([`LedgerAppend::commit_indexed`]). At least one must be given.
    async fn ledger_leaves_about(
        &self,
        workspace: WorkspaceId,
        actor: Option<PersonId>,
        target: Option<uuid::Uuid>,
    ) -> Result<Vec<LedgerLeaf>, StoreError>;
    /// How many leaves that index covers (the ledger's size when every
    /// append was indexed).
    async fn ledger_refs_count(&self, workspace: WorkspaceId) -> Result<u64, StoreError>;
    /// Keeps a signed checkpoint (a signed note) for tree size `size`; a
    /// second one for the same size replaces nothing and is not an error.
    /// Fails with `Conflict` when the workspace does not exist.
    async fn insert_checkpoint(
        &self,
        workspace: WorkspaceId,
        checkpoint: &CheckpointRecord,
    ) -> Result<(), StoreError>;
    /// The checkpoint of the largest size.
    async fn latest_checkpoint(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<CheckpointRecord>, StoreError>;
    /// The checkpoint of the largest size not above `size`.
    async fn checkpoint_at_or_before(
        &self,
        workspace: WorkspaceId,
        size: u64,
    ) -> Result<Option<CheckpointRecord>, StoreError>;
}

/// An append to a workspace's ledger in progress: one transaction holding
/// the ledger's write lock.
#[async_trait]
pub trait LedgerAppend: Send {
    /// The head when the lock was taken; the new leaves get the indexes
    /// `head().size ..`.
    fn head(&self) -> &LedgerHead;
    /// Stores `leaves` after the head, `new_head` as the head and, when
    /// given, the checkpoint signed over the new head, durably, in one
    /// commit (one fsync). `new_head.size` must be `head().size +
    /// leaves.len()` and the checkpoint's size `new_head.size` (`Conflict`
    /// otherwise, and nothing is stored).
    async fn commit(
        self: Box<Self>,
        leaves: &[Vec<u8>],
        new_head: &LedgerHead,
        checkpoint: Option<&CheckpointRecord>,
    ) -> Result<(), StoreError> {
        self.commit_indexed(leaves, &[], new_head, checkpoint).await
    }
    /// [`Self::commit`], and `refs` (one per leaf, in the same order, or
    /// none) in the same commit: who and what each entry is about, for
    /// [`Store::ledger_leaves_about`]. `Conflict` when `refs` is neither
    /// empty nor as long as `leaves`.
    async fn commit_indexed(
        self: Box<Self>,
        leaves: &[Vec<u8>],
        refs: &[LedgerRef],
        new_head: &LedgerHead,
        checkpoint: Option<&CheckpointRecord>,
    ) -> Result<(), StoreError>;
}

/// Who and what a ledger entry is about, as its leaf names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerRef {
    pub actor: Option<PersonId>,
    /// The target's id.
    pub target: uuid::Uuid,
}

/// A record set import in progress (one database transaction).
#[async_trait]
pub trait RecordImport: Send {
    /// Adds rows with their blind-index entries.
    async fn add_rows(
        &mut self,
        rows: &[RowRecord],
        index: &[IndexEntry],
    ) -> Result<(), StoreError>;
    /// Makes the set and all added rows visible at once, with
    /// `row_count` set to the number of rows added.
    async fn commit(self: Box<Self>) -> Result<RecordSetRecord, StoreError>;
}
