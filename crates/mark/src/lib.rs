//! Stamps and fingerprints every copy that leaves the vault, and traces a
//! leaked copy back to its delivery.
//!
//! - [`stamp`] turns a file (PDF, PNG, JPEG, text, Markdown, CSV, TSV, JSON,
//!   DOCX, XLSX) into a copy for one recipient: a visible stamp
//!   ("CONFIDENTIAL - for Alex Doe <alex@example.com> - 2026-11-29 14:03
//!   UTC - delivery 0K3F...") where the format can show one, the delivery
//!   id in the file's metadata, and in text an invisible fingerprint that
//!   survives copying a part of it. [`stamp_text_stream`] does the text
//!   formats in constant memory. Failure returns an error and no bytes:
//!   there is no path that hands out the original unstamped.
//! - [`honey_records`] makes plausible fake customers unique to a delivery
//!   for record-set exports, [`insert_honey`] hides them among the rows.
//! - [`trace`] lists every fingerprint, delivery id and honey candidate in a
//!   file or a fragment of one.
//!
//! Pure: no clock, no RNG, no I/O. The caller (the vault) passes the
//! delivery id, the time and the honey key, records the delivery in the
//! ledger, and resolves what a trace finds to people, items and ledger
//! entries. What survives what is in `docs/marking.md`.

mod error;
pub mod fingerprint;
mod format;
mod honey;
mod image;
mod office;
mod pdf;
mod stamp;
mod text;
mod trace;
mod winansi;
mod workbook;

pub use confidant_core::delivery::DeliveryId;
pub use error::MarkError;
pub use format::Format;
pub use honey::{
    ColumnSpec, HoneyTag, honey_records, honey_seed, honey_tags, insert_honey, luhn_valid,
};
pub use stamp::{Stamp, StampParts, stamp, stamp_text_stream};
pub use trace::{
    Evidence, EvidenceKind, Finding, HoneyCandidate, Trace, TraceOptions, trace, trace_with,
};
pub use workbook::write_xlsx;
