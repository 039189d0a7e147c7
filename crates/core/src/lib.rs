//! confidant's domain: the words every other crate speaks.
//!
//! Workspaces, people and roles, labels and data categories, documents and
//! record sets, and the rules that validate them. Plain data and pure
//! functions only: this crate does no I/O, never reads the clock (times are
//! passed in as [`time::OffsetDateTime`]) and never reads the OS random
//! number generator (ids are made from a caller-supplied RNG).

mod agreement;
mod category;
pub mod delivery;
pub mod device;
mod grant;
mod ids;
pub mod incident;
mod item;
mod label;
mod passcode;
mod person;
mod records;
mod workday;

pub use agreement::{
    Agreement, AgreementError, AgreementKind, MAX_AGREEMENT_DAYS, MAX_AGREEMENT_TEXT, Signature,
    Standing, UnknownKindError, default_handbook, default_nda, signs_agreements, standing,
    validate_agreement, validate_signing,
};
pub use category::{DataCategory, UnknownCategoryError, mask_value};
pub use grant::{
    Access, DEFAULT_MAX_GRANT, Grant, GrantError, GrantScope, GrantStatus, NamedItem, RowFilter,
    UnknownAccessError, UnknownGrantStatusError, validate_grant,
};
pub use ids::{
    AgreementId, BreakGlassId, DeviceId, GrantId, IdError, IncidentId, ItemId, KeyId, NoticeId,
    PasscodeId, PersonId, RecordSetId, RowId, SignatureId, WorkspaceId,
};
pub use item::{DocumentMeta, NameError, ScanSummary, validate_document_name};
pub use label::{Label, UnknownLabelError};
pub use passcode::{
    MAX_PASSCODE_FAILURES, MAX_PASSCODE_HOURS, normalize_passcode, passcode_required, passcode_text,
};
pub use person::{
    EmailError, Person, PersonStatus, Role, UnknownRoleError, UnknownStatusError, normalize_email,
};
pub use records::{
    Column, ColumnSpecError, RecordSetMeta, RecordSetSpec, RecordSetSpecError,
    parse_column_categories, validate_record_set_name,
};
pub use workday::{BusinessDay, DEFAULT_DAY_END, WorkdayError};
