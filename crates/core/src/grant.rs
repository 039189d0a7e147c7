//! Grants: need-to-know access of one person to one item (a document, a
//! folder of documents, or columns of a record set), for named actions, a
//! stated purpose and a limited time.
//!
//! Pure data and rules; the vault stores grants and the `policy` crate
//! decides with them.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{GrantId, ItemId, PersonId, RecordSetId, WorkspaceId};

/// What a grant lets its person do with an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// See it in the browser (documents) or see masked rows (record sets).
    View,
    /// Take a copy of a document.
    Download,
    /// Export rows of a record set in bulk.
    Export,
    /// Change it.
    Edit,
    /// Reveal one sensitive value of a granted column, one at a time.
    Reveal,
}

impl Access {
    pub const ALL: [Access; 5] = [
        Access::View,
        Access::Download,
        Access::Export,
        Access::Edit,
        Access::Reveal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Access::View => "view",
            Access::Download => "download",
            Access::Export => "export",
            Access::Edit => "edit",
            Access::Reveal => "reveal",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown action {0:?}: use view, download, export, edit or reveal")]
pub struct UnknownAccessError(pub String);

impl FromStr for Access {
    type Err = UnknownAccessError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Access::ALL
            .into_iter()
            .find(|a| a.as_str() == wanted)
            .ok_or_else(|| UnknownAccessError(s.to_owned()))
    }
}

/// Only rows whose `column` holds exactly `equals` (e.g. region = West).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowFilter {
    pub column: String,
    pub equals: String,
}

/// What a grant covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GrantScope {
    Document {
        id: ItemId,
    },
    /// Every document whose name starts with this folder path (ending in
    /// `/`), now or later.
    Folder {
        path: String,
    },
    /// These columns of a record set (the others are masked), optionally
    /// only some rows.
    RecordSet {
        id: RecordSetId,
        columns: BTreeSet<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rows: Option<RowFilter>,
    },
    /// A request's item as the person named it, resolved to ids only when
    /// the owner approves: resolving it sooner would tell the person
    /// whether a name exists. Covers nothing.
    Named {
        item: NamedItem,
    },
}

/// An item named in a request (see [`GrantScope::Named`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum NamedItem {
    /// A document, by name or id as typed.
    Document { name: String },
    /// Columns of a record set, by its name or id as typed.
    RecordSet {
        name: String,
        columns: BTreeSet<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rows: Option<RowFilter>,
    },
}

impl GrantScope {
    /// Whether a document with this id and name is covered.
    pub fn covers_document(&self, id: ItemId, name: &str) -> bool {
        match self {
            GrantScope::Document { id: granted } => *granted == id,
            GrantScope::Folder { path } => name.starts_with(path.as_str()),
            GrantScope::RecordSet { .. } | GrantScope::Named { .. } => false,
        }
    }

    /// Whether this column of this set is covered.
    pub fn covers_column(&self, set: RecordSetId, column: &str) -> bool {
        match self {
            GrantScope::RecordSet { id, columns, .. } => *id == set && columns.contains(column),
            _ => false,
        }
    }

    /// Whether any part of this set is covered.
    pub fn covers_set(&self, set: RecordSetId) -> bool {
        matches!(self, GrantScope::RecordSet { id, .. } if *id == set)
    }
}

/// Where a grant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Asked for by the person; not in force until the owner approves.
    Requested,
    Active,
    /// Ended early (or the request refused), by the owner or offboarding.
    Ended,
}

impl GrantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Requested => "requested",
            GrantStatus::Active => "active",
            GrantStatus::Ended => "ended",
        }
    }
}

impl fmt::Display for GrantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown grant status {0:?}")]
pub struct UnknownGrantStatusError(pub String);

impl FromStr for GrantStatus {
    type Err = UnknownGrantStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "requested" => Ok(GrantStatus::Requested),
            "active" => Ok(GrantStatus::Active),
            "ended" => Ok(GrantStatus::Ended),
            other => Err(UnknownGrantStatusError(other.to_owned())),
        }
    }
}

/// One person's need-to-know access to one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: GrantId,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub scope: GrantScope,
    pub actions: BTreeSet<Access>,
    /// Why the person needs it (required; shown to them and in reports).
    pub purpose: String,
    pub status: GrantStatus,
    /// Who asked: the person themselves (a request) or the owner.
    pub requested_by: PersonId,
    /// The reason given with a request.
    pub request_reason: Option<String>,
    /// Who put it in force (the owner or an admin).
    pub approved_by: Option<PersonId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<String>,
    /// The owner asked for the day passcode even where the item's label
    /// does not need one.
    #[serde(default)]
    pub require_passcode: bool,
}

impl Grant {
    /// In force at `now`: active and not expired.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.status == GrantStatus::Active && now < self.expires_at
    }

    pub fn allows(&self, action: Access) -> bool {
        self.actions.contains(&action)
    }
}

/// Why a new grant is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GrantError {
    #[error(
        "say what the access is for (--purpose): it is shown to the person and kept in reports"
    )]
    NoPurpose,
    #[error("the purpose is {0} characters long: use at most 500")]
    PurposeTooLong(usize),
    #[error("name at least one action: view, download, export, edit or reveal")]
    NoActions,
    #[error("the expiry is not in the future: give a later --until")]
    AlreadyExpired,
    #[error(
        "the grant would last {days} days, longer than this workspace's limit of {max_days}: give an earlier --until"
    )]
    TooLong { days: i64, max_days: i64 },
    #[error("name at least one column of the record set (--columns)")]
    NoColumns,
    #[error("name the document or record set the access is for")]
    NoItem,
    #[error("a folder path must end in '/' (like invoices/)")]
    FolderPath,
    #[error("{0}")]
    Action(String),
}

/// The longest a grant may last unless the workspace says otherwise.
pub const DEFAULT_MAX_GRANT: Duration = Duration::days(30);

/// Checks what a new grant (or request) says; returns the purpose trimmed.
pub fn validate_grant(
    scope: &GrantScope,
    actions: &BTreeSet<Access>,
    purpose: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
    max: Duration,
) -> Result<String, GrantError> {
    let purpose = purpose.trim();
    if purpose.is_empty() {
        return Err(GrantError::NoPurpose);
    }
    let len = purpose.chars().count();
    if len > 500 {
        return Err(GrantError::PurposeTooLong(len));
    }
    if actions.is_empty() {
        return Err(GrantError::NoActions);
    }
    if expires_at <= now {
        return Err(GrantError::AlreadyExpired);
    }
    if expires_at - now > max {
        return Err(GrantError::TooLong {
            days: (expires_at - now).whole_days() + 1,
            max_days: max.whole_days(),
        });
    }
    let documents = match scope {
        GrantScope::RecordSet { columns, .. }
        | GrantScope::Named {
            item: NamedItem::RecordSet { columns, .. },
        } if columns.is_empty() => return Err(GrantError::NoColumns),
        GrantScope::Folder { path } if !path.ends_with('/') || path.len() < 2 => {
            return Err(GrantError::FolderPath);
        }
        GrantScope::Named {
            item: NamedItem::Document { name } | NamedItem::RecordSet { name, .. },
        } if name.trim().is_empty() => return Err(GrantError::NoItem),
        GrantScope::Document { .. }
        | GrantScope::Folder { .. }
        | GrantScope::Named {
            item: NamedItem::Document { .. },
        } => true,
        GrantScope::RecordSet { .. }
        | GrantScope::Named {
            item: NamedItem::RecordSet { .. },
        } => false,
    };
    if documents {
        if let Some(a) = actions
            .iter()
            .find(|a| matches!(a, Access::Export | Access::Reveal))
        {
            return Err(GrantError::Action(format!(
                "{a} applies to record sets, not documents: use view, download or edit"
            )));
        }
    } else if actions.contains(&Access::Download) {
        return Err(GrantError::Action(
            "download applies to documents; for record sets use export".into(),
        ));
    }
    Ok(purpose.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
    }

    fn id<T: FromStr>(n: u8) -> T
    where
        T::Err: fmt::Debug,
    {
        format!("00000000-0000-4000-8000-0000000000{n:02x}")
            .parse()
            .unwrap()
    }

    fn set_scope(columns: &[&str]) -> GrantScope {
        GrantScope::RecordSet {
            id: id(1),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: None,
        }
    }

    #[test]
    fn grants_need_a_purpose_actions_and_a_near_expiry() {
        let view: BTreeSet<Access> = [Access::View].into();
        let scope = set_scope(&["name"]);
        let day = Duration::days(1);
        assert_eq!(
            validate_grant(
                &scope,
                &view,
                "  call customers ",
                t(0),
                t(0) + day,
                DEFAULT_MAX_GRANT
            ),
            Ok("call customers".into())
        );
        assert_eq!(
            validate_grant(&scope, &view, " ", t(0), t(0) + day, DEFAULT_MAX_GRANT),
            Err(GrantError::NoPurpose)
        );
        assert_eq!(
            validate_grant(
                &scope,
                &BTreeSet::new(),
                "x",
                t(0),
                t(0) + day,
                DEFAULT_MAX_GRANT
            ),
            Err(GrantError::NoActions)
        );
        assert_eq!(
            validate_grant(&scope, &view, "x", t(0), t(0), DEFAULT_MAX_GRANT),
            Err(GrantError::AlreadyExpired)
        );
        assert!(matches!(
            validate_grant(
                &scope,
                &view,
                "x",
                t(0),
                t(0) + Duration::days(31),
                DEFAULT_MAX_GRANT
            ),
            Err(GrantError::TooLong { max_days: 30, .. })
        ));
        assert_eq!(
            validate_grant(
                &set_scope(&[]),
                &view,
                "x",
                t(0),
                t(0) + day,
                DEFAULT_MAX_GRANT
            ),
            Err(GrantError::NoColumns)
        );
        let folder = GrantScope::Folder {
            path: "invoices".into(),
        };
        assert_eq!(
            validate_grant(&folder, &view, "x", t(0), t(0) + day, DEFAULT_MAX_GRANT),
            Err(GrantError::FolderPath)
        );
        let export: BTreeSet<Access> = [Access::Export].into();
        let doc = GrantScope::Document { id: id(2) };
        assert!(matches!(
            validate_grant(&doc, &export, "x", t(0), t(0) + day, DEFAULT_MAX_GRANT),
            Err(GrantError::Action(_))
        ));
    }

    #[test]
    fn scopes_cover_what_they_name() {
        let doc: ItemId = id(3);
        let folder = GrantScope::Folder {
            path: "invoices/".into(),
        };
        assert!(folder.covers_document(doc, "invoices/2026/q3.pdf"));
        assert!(!folder.covers_document(doc, "invoices.pdf"));
        assert!(GrantScope::Document { id: doc }.covers_document(doc, "anything"));
        let scope = set_scope(&["name", "phone"]);
        let GrantScope::RecordSet { id: set, .. } = &scope else {
            unreachable!()
        };
        assert!(scope.covers_column(*set, "phone"));
        assert!(!scope.covers_column(*set, "card"));
        assert!(!scope.covers_column(id(9), "phone"));
        assert!(scope.covers_set(*set));
    }

    #[test]
    fn actions_round_trip() {
        for a in Access::ALL {
            assert_eq!(a.as_str().parse::<Access>().ok(), Some(a));
        }
        assert!("delete".parse::<Access>().is_err());
    }
}
