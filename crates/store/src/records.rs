//! The rows the store keeps. Fields holding customer data are ciphertext
//! (`*_ct`, `cells`, `*_wrapped`) or keyed hashes (`*_index`, `hash`) made by
//! the vault; the store never interprets them.

use confidant_core::{
    Column, GrantId, GrantStatus, ItemId, KeyId, Label, PersonId, PersonStatus, RecordSetId, Role,
    RowId, WorkspaceId,
};
use time::OffsetDateTime;

use crate::BlobKey;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceRecord {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: OffsetDateTime,
    /// The root key sealed by a passphrase or key file (opaque text, JSON).
    pub root_seal: String,
    pub kek_id: KeyId,
    /// The key-encryption key sealed by the root key.
    pub kek_wrapped: Vec<u8>,
    /// The workspace's Ed25519 signing key seed, wrapped by the KEK.
    pub signing_key_wrapped: Vec<u8>,
    pub signing_public_key: Vec<u8>,
    /// The key for document names and their index, wrapped by the KEK.
    pub names_key_wrapped: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRecord {
    pub id: PersonId,
    pub workspace: WorkspaceId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// PHC string (Argon2id); `None` until an invitation is accepted.
    pub password_hash: Option<String>,
    pub created_at: OffsetDateTime,
    pub status: PersonStatus,
    /// The TOTP secret sealed by the vault; `None` until enrolled.
    pub totp_secret_ct: Option<Vec<u8>>,
    /// The last TOTP time step accepted (codes are single-use).
    pub totp_last_step: Option<u64>,
    pub offboarded_at: Option<OffsetDateTime>,
    pub offboard_reason: Option<String>,
}

/// What a session token is good for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// A browser session (cookie).
    Web,
    /// An API token (the CLI's `confidant login`).
    Api,
    /// Between a correct password and the second factor: good for nothing
    /// but completing the sign-in.
    SecondFactor,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
            SessionKind::SecondFactor => "second_factor",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<SessionKind> {
        match text {
            "web" => Some(SessionKind::Web),
            "api" => Some(SessionKind::Api),
            "second_factor" => Some(SessionKind::SecondFactor),
            _ => None,
        }
    }
}

/// A server-side session or API token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the token; the token itself is never stored.
    pub hash: Vec<u8>,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub kind: SessionKind,
    /// What the holder called it (e.g. "cli on laptop"), or the browser.
    pub label: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    /// The absolute end of its life, whatever its use.
    pub expires_at: OffsetDateTime,
    /// The enrolled device it is linked to (`confidant agent link`).
    pub device: Option<confidant_core::DeviceId>,
}

/// A single-use invitation link, kept as the SHA-256 of its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRecord {
    pub hash: Vec<u8>,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub invited_by: PersonId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// Everything accepting an invitation stores, in one transaction.
#[derive(Clone, Debug)]
pub struct Acceptance {
    pub invite_hash: Vec<u8>,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub at: OffsetDateTime,
    pub password_hash: String,
    pub second_factor: SecondFactorRecord,
    /// The first session, started at once.
    pub session: SessionRecord,
}

/// A person's second factor: the sealed TOTP secret, the step of the code
/// that confirmed it, and the hashes of fresh recovery codes.
#[derive(Clone, Debug)]
pub struct SecondFactorRecord {
    pub totp_secret_ct: Vec<u8>,
    pub confirmed_step: u64,
    pub recovery_code_hashes: Vec<Vec<u8>>,
}

/// What offboarding ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offboarding {
    /// The person as they were before.
    pub person: PersonRecord,
    pub sessions_ended: u64,
    pub invites_cancelled: u64,
    /// Grants (and requests) ended.
    pub grants_ended: u64,
    /// Day passcodes revoked.
    pub passcodes_revoked: u64,
    /// Enrolled devices revoked.
    pub devices_revoked: u64,
}

/// A stored grant. What it covers, its purpose and a request's reason are
/// sealed by the vault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: GrantId,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub scope_ct: Vec<u8>,
    /// Action names, comma-separated (`view,reveal`).
    pub actions: String,
    pub purpose_ct: Vec<u8>,
    pub status: GrantStatus,
    pub requested_by: PersonId,
    pub request_reason_ct: Option<Vec<u8>>,
    pub approved_by: Option<PersonId>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<String>,
    /// The owner asked for the day passcode whatever the item's label.
    pub require_passcode: bool,
}

/// A change of a grant's status, made only from `from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantChange {
    pub from: Vec<GrantStatus>,
    pub to: GrantStatus,
    pub at: OffsetDateTime,
    /// Who approved (for `Active`).
    pub by: Option<PersonId>,
    /// Why it ended (for `Ended`).
    pub reason: Option<String>,
    /// The item resolved on approval, sealed (a request names its item;
    /// see `GrantScope::Named`); `None` keeps the stored scope.
    pub scope_ct: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRecord {
    pub id: ItemId,
    pub workspace: WorkspaceId,
    /// The document's name, encrypted with the workspace names key.
    pub name_ct: Vec<u8>,
    /// Keyed hash of the name, unique per workspace.
    pub name_index: Vec<u8>,
    pub label: Label,
    /// Plaintext size.
    pub size: u64,
    pub version: u64,
    pub blob: BlobKey,
    /// This version's data key, wrapped by the KEK `kek_id`.
    pub data_key_wrapped: Vec<u8>,
    pub kek_id: KeyId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// What scanning this version found (JSON made by the vault; counts,
    /// never values); `None` when it was not scanned.
    pub scan: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSetRecord {
    pub id: RecordSetId,
    pub workspace: WorkspaceId,
    pub name: String,
    pub label: Label,
    pub columns: Vec<Column>,
    pub rows_are_customers: bool,
    pub contact_column: Option<String>,
    pub row_count: u64,
    /// The set's key (cells and blind indexes derive from it), wrapped by
    /// the KEK `kek_id`.
    pub data_key_wrapped: Vec<u8>,
    pub kek_id: KeyId,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowRecord {
    pub id: RowId,
    pub set: RecordSetId,
    /// Position in import order, from 0.
    pub ordinal: u64,
    /// The row's encrypted cells, encoded by the vault.
    pub cells: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pub row: RowId,
    pub column: String,
    pub hash: Vec<u8>,
}

/// What a wrapped key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyOwner {
    /// The workspace signing key.
    Signing,
    /// The workspace names key.
    Names,
    Document(ItemId),
    RecordSet(RecordSetId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKeyRecord {
    pub owner: KeyOwner,
    pub kek_id: KeyId,
    pub wrapped: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRotation {
    pub old_kek_id: KeyId,
    pub new_kek_id: KeyId,
    /// The new KEK sealed by the root key.
    pub new_kek_wrapped: Vec<u8>,
    /// Every key of the workspace, rewrapped under the new KEK.
    pub keys: Vec<WrappedKeyRecord>,
}

/// A ledger's size and the frontier (compact range) of its Merkle tree,
/// encoded by the ledger crate; the store keeps the bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerHead {
    pub size: u64,
    pub frontier: Vec<u8>,
}

/// One stored ledger leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerLeaf {
    pub index: u64,
    /// The entry's canonical bytes, as appended.
    pub leaf: Vec<u8>,
}

/// A signed checkpoint of a ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRecord {
    pub size: u64,
    /// The C2SP signed note, as text.
    pub note: String,
    pub created_at: OffsetDateTime,
}
