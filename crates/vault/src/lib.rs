//! confidant's one door. Every use case (initialise a workspace, add, read,
//! replace and delete documents, import and query record sets, rotate keys)
//! is a method of [`Vault`], and every read of protected data goes through
//! it: it checks who is asking, decrypts, and only then returns data.
//! Nothing else touches the store for protected data.
//!
//! The vault holds the workspace's unsealed keys in memory (zeroized on
//! drop) and reads the clock and the OS RNG: it is the edge where time and
//! randomness enter; the crates below it take both as parameters.
//!
//! What it deliberately leaves out: HTTP, terminals and file-system paths of
//! the user (the `server` and `cli` crates), and the concrete store (the
//! composition root picks SQLite or PostgreSQL and hands in `Arc<dyn Store>`).

mod access;
mod actor;
mod agreements;
pub mod alerts;
mod audit;
mod auth;
pub mod backup;
mod clock;
pub mod columns;
mod devices;
mod digest;
mod documents;
mod error;
mod export;
mod gates;
mod grants;
pub mod incidents;
mod keys;
mod passcodes;
mod password_rules;
mod pdf;
mod people;
mod records;
pub mod scan;
pub mod schedule;
mod second_factor;
mod tenants;
mod throttle;
mod trace;
mod viewer;

use std::sync::Arc;

use confidant_core::WorkspaceId;
use confidant_store::{BlobStore, Store};

pub use access::{Blocker, ExplainItem, Shown};
pub use actor::Actor;
pub use agreements::{AgreementDraft, AgreementDue, Blocked, SignatureView, Signing, text_sha256};
pub use audit::{InclusionProof, LedgerOverview, LedgerReport};
pub use auth::{IssuedToken, SessionInfo, SessionPolicy, SessionRequest, SignIn};
pub use clock::{Clock, FixedClock, ManualClock, SystemClock};
pub use confidant_ledger::{Decision as LedgerDecision, Entry as LedgerEntry};
pub use confidant_policy::{DEFAULT_POLICIES, Decision};
pub use devices::{
    DeviceEnrollment, DeviceView, Enrolled, IncomingReport, MAX_REPORT_BYTES, OneTimeCode,
};
pub use digest::{AccessDigest, PersonDay};
pub use documents::{DocRef, DocumentStream};
pub use error::VaultError;
pub use export::{Export, ExportFormat, HONEY_PER_EXPORT};
pub use grants::{GrantRequest, GrantTarget, GrantView};
pub use keys::{InitOptions, MIN_SECRET_CHARS, Unlock};
pub use passcodes::{IssuedPasscode, PasscodeItem, PasscodeState};
pub use password_rules::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, check_new_password};
pub use people::{Accessed, Invitation, InvitationView, Offboarded, PersonDetail, Welcome};
pub use records::{ColumnMapping, RecordPage, RecordRow};
pub use second_factor::{RECOVERY_CODES, TotpSetup, code_at};
pub use tenants::Tenants;
pub use trace::{Sent, TraceReport, TracedDelivery};
pub use viewer::{MAX_VIEW_PAGES, Rendered};

pub use confidant_crypto::{KdfParams, KeyFile};

/// An open workspace: its store, blobs, keys and clock.
#[derive(Debug, Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    blobs: BlobStore,
    clock: Arc<dyn Clock>,
    workspace: WorkspaceId,
    workspace_name: String,
    keys: keys::KeyRing,
    /// Shared by every workspace a server process opens.
    throttle: Arc<throttle::Throttle>,
    /// Bounds concurrent password checks (CPU and 64 MiB each); shared by
    /// every workspace a server process opens.
    password_checks: Arc<tokio::sync::Semaphore>,
    session_policy: std::sync::RwLock<auth::SessionPolicy>,
    /// This process's appends to the workspace's ledger, committed in
    /// groups.
    ledger_group: audit::LedgerGroup,
    /// The policy engine of the current owner policies.
    engine: access::EngineCache,
}

/// A day as the owner reads it in reasons and lists (UTC).
pub(crate) fn format_day(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

impl Vault {
    pub fn workspace(&self) -> WorkspaceId {
        self.inner.workspace
    }

    pub fn workspace_name(&self) -> &str {
        &self.inner.workspace_name
    }

    /// The time on the vault's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }

    fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// The workspace owner, as an actor: for the owner's own console (the
    /// CLI working directly on a data dir), who has proven possession of
    /// the passphrase or key file by opening the vault.
    pub async fn owner(&self) -> Result<Actor, VaultError> {
        let ws = self.inner.workspace;
        let owner = self.store().owner(ws).await?.ok_or_else(|| {
            VaultError::Internal("the workspace has no owner: the database is damaged".into())
        })?;
        Ok(Actor::from_record(&owner))
    }
}
