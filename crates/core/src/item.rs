use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{ItemId, Label, WorkspaceId};

/// What the vault tells about a document without opening it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentMeta {
    pub id: ItemId,
    pub workspace: WorkspaceId,
    pub name: String,
    pub label: Label,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Starts at 1 and grows by one with every replacement.
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// What scanning the current version found; `None` for versions stored
    /// before documents were scanned.
    pub scan: Option<ScanSummary>,
}

/// What the detector found in a document's text when it was stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// Findings per detector kind (`card_number`, `email`, ...).
    pub kinds: std::collections::BTreeMap<String, u64>,
    /// Data categories of the findings, sorted.
    pub categories: Vec<crate::DataCategory>,
    /// The label these findings suggest.
    pub suggested_label: Label,
    /// Bytes scanned (from the start of the document).
    pub scanned_bytes: u64,
    /// The whole document was scanned (false when it was longer than the
    /// scan limit, or binary).
    pub complete: bool,
    /// The document is not text and not a format whose text is extracted
    /// (an image, an archive, ...), or its text could not be extracted: not
    /// scanned.
    pub binary: bool,
    /// `pdf`, `docx` or `xlsx` when the text scanned was extracted from
    /// the document (then `scanned_bytes` counts extracted text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// Why the document could not be read when it looked like a PDF, DOCX
    /// or XLSX file ("not a readable PDF: ..."): its contents are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("the name is empty: give a name such as \"Q3 invoices.pdf\"")]
    Empty,
    #[error("the name is {0} bytes long: use at most 255")]
    TooLong(usize),
    #[error("the name contains a control character (such as a newline or tab): remove it")]
    ControlCharacter,
}

/// Checks a document name; returns it trimmed. Names may contain slashes
/// (`invoices/2026/q3.pdf`), which later issues use as folders.
pub fn validate_document_name(input: &str) -> Result<&str, NameError> {
    let name = input.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > 255 {
        return Err(NameError::TooLong(name.len()));
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_names() {
        assert_eq!(
            validate_document_name("  Q3 invoices.pdf "),
            Ok("Q3 invoices.pdf")
        );
        assert_eq!(validate_document_name(" "), Err(NameError::Empty));
        assert_eq!(
            validate_document_name("a\nb"),
            Err(NameError::ControlCharacter)
        );
        assert_eq!(
            validate_document_name(&"x".repeat(256)),
            Err(NameError::TooLong(256))
        );
    }
}
