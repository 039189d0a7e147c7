use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{DataCategory, Label, RecordSetId, UnknownCategoryError, WorkspaceId};

/// One column of a record set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub category: DataCategory,
    /// Whether the column has a blind index for exact-match lookup.
    pub indexed: bool,
}

/// What the owner asks for when importing a record set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSetSpec {
    pub name: String,
    pub label: Label,
    pub columns: Vec<Column>,
    /// Each row is a customer (a data subject) to be notified after a leak.
    pub rows_are_customers: bool,
    /// The column holding the customer's e-mail for notices.
    pub contact_column: Option<String>,
}

/// A stored record set, without its rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSetMeta {
    pub id: RecordSetId,
    pub workspace: WorkspaceId,
    pub name: String,
    pub label: Label,
    pub columns: Vec<Column>,
    pub rows_are_customers: bool,
    pub contact_column: Option<String>,
    pub row_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl RecordSetMeta {
    pub fn column(&self, name: &str) -> Option<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ColumnSpecError {
    #[error("column mapping {0:?} is not COLUMN=CATEGORY")]
    NotAPair(String),
    #[error("column {column:?}: {message}")]
    Category { column: String, message: String },
    #[error("column {0:?} is mapped twice")]
    Duplicate(String),
}

/// Parses `name=name,email=email,card=card_number`.
pub fn parse_column_categories(
    input: &str,
) -> Result<Vec<(String, DataCategory)>, ColumnSpecError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (column, category) = part
            .split_once('=')
            .ok_or_else(|| ColumnSpecError::NotAPair(part.to_owned()))?;
        let column = column.trim().to_owned();
        if column.is_empty() {
            return Err(ColumnSpecError::NotAPair(part.to_owned()));
        }
        let category = category
            .parse::<DataCategory>()
            .map_err(|e: UnknownCategoryError| ColumnSpecError::Category {
                column: column.clone(),
                message: e.to_string(),
            })?;
        if !seen.insert(column.clone()) {
            return Err(ColumnSpecError::Duplicate(column));
        }
        out.push((column, category));
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordSetSpecError {
    #[error(
        "record set name {0:?} is not valid: use 1 to 64 letters, digits, '-' or '_', \
         starting with a letter or digit"
    )]
    Name(String),
    #[error("the record set has no columns")]
    NoColumns,
    #[error("column name {0:?} is empty or too long (at most 128 bytes)")]
    ColumnName(String),
    #[error("column {0:?} appears twice")]
    DuplicateColumn(String),
    #[error("the contact column {0:?} is not a column of the set")]
    UnknownContactColumn(String),
    #[error("the contact column {column:?} has category {category}: it must be email")]
    ContactNotEmail {
        column: String,
        category: DataCategory,
    },
}

/// Checks a record set name such as `customers` or `west-2026`.
pub fn validate_record_set_name(name: &str) -> Result<(), RecordSetSpecError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(RecordSetSpecError::Name(name.to_owned()))
    }
}

impl RecordSetSpec {
    /// Checks the whole specification before anything is stored.
    pub fn validate(&self) -> Result<(), RecordSetSpecError> {
        validate_record_set_name(&self.name)?;
        if self.columns.is_empty() {
            return Err(RecordSetSpecError::NoColumns);
        }
        let mut seen = BTreeSet::new();
        for column in &self.columns {
            if column.name.trim().is_empty() || column.name.len() > 128 {
                return Err(RecordSetSpecError::ColumnName(column.name.clone()));
            }
            if !seen.insert(column.name.as_str()) {
                return Err(RecordSetSpecError::DuplicateColumn(column.name.clone()));
            }
        }
        if let Some(contact) = &self.contact_column {
            let column = self
                .columns
                .iter()
                .find(|c| &c.name == contact)
                .ok_or_else(|| RecordSetSpecError::UnknownContactColumn(contact.clone()))?;
            if column.category != DataCategory::Email {
                return Err(RecordSetSpecError::ContactNotEmail {
                    column: contact.clone(),
                    category: column.category,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_mappings() {
        assert_eq!(
            parse_column_categories("name=name, card = card_number"),
            Ok(vec![
                ("name".to_owned(), DataCategory::Name),
                ("card".to_owned(), DataCategory::CardNumber)
            ])
        );
        assert!(matches!(
            parse_column_categories("name"),
            Err(ColumnSpecError::NotAPair(_))
        ));
        assert!(matches!(
            parse_column_categories("a=ssn"),
            Err(ColumnSpecError::Category { column, .. }) if column == "a"
        ));
        assert_eq!(
            parse_column_categories("a=name,a=email"),
            Err(ColumnSpecError::Duplicate("a".into()))
        );
    }

    fn spec(contact: Option<&str>) -> RecordSetSpec {
        RecordSetSpec {
            name: "customers".into(),
            label: Label::Confidential,
            columns: vec![
                Column {
                    name: "name".into(),
                    category: DataCategory::Name,
                    indexed: false,
                },
                Column {
                    name: "email".into(),
                    category: DataCategory::Email,
                    indexed: true,
                },
            ],
            rows_are_customers: true,
            contact_column: contact.map(str::to_owned),
        }
    }

    #[test]
    fn record_set_specs() {
        assert_eq!(spec(Some("email")).validate(), Ok(()));
        assert!(matches!(
            spec(Some("name")).validate(),
            Err(RecordSetSpecError::ContactNotEmail { .. })
        ));
        assert!(matches!(
            spec(Some("phone")).validate(),
            Err(RecordSetSpecError::UnknownContactColumn(_))
        ));
        for bad in ["", "-x", "has space", "ünï"] {
            assert!(validate_record_set_name(bad).is_err(), "{bad:?}");
        }
    }
}
