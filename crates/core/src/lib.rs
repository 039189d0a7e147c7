//! confidant's domain: the words every other crate speaks.
//!
//! Workspaces, people and roles, labels and data categories, documents and
//! record sets, and the rules that validate them. Plain data and pure
//! functions only: this crate does no I/O, never reads the clock (times are
//! passed in as [`time::OffsetDateTime`]) and never reads the OS random
//! number generator (ids are made from a caller-supplied RNG).

mod category;
pub mod delivery;
mod grant;
mod ids;
mod item;
mod label;
mod person;
mod records;

pub use category::{DataCategory, UnknownCategoryError, mask_value};
pub use grant::{
    Access, DEFAULT_MAX_GRANT, Grant, GrantError, GrantScope, GrantStatus, RowFilter,
    UnknownAccessError, UnknownGrantStatusError, validate_grant,
};
pub use ids::{GrantId, IdError, ItemId, KeyId, PersonId, RecordSetId, RowId, WorkspaceId};
pub use item::{DocumentMeta, NameError, ScanSummary, validate_document_name};
pub use label::{Label, UnknownLabelError};
pub use person::{
    EmailError, Person, PersonStatus, Role, UnknownRoleError, UnknownStatusError, normalize_email,
};
pub use records::{
    Column, ColumnSpecError, RecordSetMeta, RecordSetSpec, RecordSetSpecError,
    parse_column_categories, validate_record_set_name,
};
