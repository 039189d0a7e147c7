//! Grants: the owner (or an admin) gives a person need-to-know access to a
//! document, a folder or columns of a record set, for named actions, a
//! purpose and a limited time; a person may ask for one, with a reason, and
//! the owner approves it; either ends one early. Every change is on the
//! ledger. What a grant covers, its purpose and a request's reason are
//! sealed with the workspace names key, like document names.
//!
//! Deciding with grants (default deny) is the `policy` crate's job, called
//! from `access.rs`, which also masks; offboarding ends them all.

use std::collections::BTreeSet;

use confidant_core::{
    Access, DEFAULT_MAX_GRANT, Grant, GrantId, GrantScope, GrantStatus, NamedItem, PersonStatus,
    RowFilter, validate_grant,
};
use confidant_ledger::{KnownAction, Target, TargetId};
use confidant_store::{GrantChange, GrantRecord, StoreError};
use rand_core::OsRng;
use time::OffsetDateTime;

use crate::audit::Attempt;
use crate::{Actor, DocRef, Vault, VaultError};

/// What a grant is for, as a person names it.
#[derive(Debug, Clone)]
pub enum GrantTarget {
    Document(DocRef),
    /// A folder path such as `invoices/` (a prefix of document names).
    Folder(String),
    Records {
        set: String,
        columns: Vec<String>,
        rows: Option<RowFilter>,
    },
}

/// A new grant or request, as asked.
#[derive(Debug, Clone)]
pub struct GrantRequest {
    pub target: GrantTarget,
    pub actions: BTreeSet<Access>,
    pub purpose: String,
    pub until: OffsetDateTime,
    /// Ask for the day passcode even where the item's label does not need
    /// one (Confidential and Restricted items always do).
    pub require_passcode: bool,
}

/// A grant with what it covers in words.
#[derive(Debug, Clone)]
pub struct GrantView {
    pub grant: Grant,
    pub person_email: String,
    /// "document Q3 invoices.pdf", "folder invoices/", "record set
    /// customers: name, phone".
    pub item: String,
}

fn scope_context(id: GrantId) -> [Vec<u8>; 2] {
    [b"grant-scope".to_vec(), id.as_bytes().to_vec()]
}

fn purpose_context(id: GrantId) -> [Vec<u8>; 2] {
    [b"grant-purpose".to_vec(), id.as_bytes().to_vec()]
}

fn reason_context(id: GrantId) -> [Vec<u8>; 2] {
    [b"grant-request-reason".to_vec(), id.as_bytes().to_vec()]
}

fn actions_text(actions: &BTreeSet<Access>) -> String {
    actions
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

impl Vault {
    fn seal_field(&self, context: &[Vec<u8>; 2], value: &[u8]) -> Result<Vec<u8>, VaultError> {
        let ws = self.workspace();
        self.seal_small(&[ws.as_bytes(), &context[0], &context[1]], value)
    }

    fn open_field(&self, context: &[Vec<u8>; 2], sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let ws = self.workspace();
        self.open_small(
            "a stored grant",
            &[ws.as_bytes(), &context[0], &context[1]],
            sealed,
        )
    }

    /// Resolves what a person named into a scope of ids.
    async fn resolve_target(&self, target: &GrantTarget) -> Result<GrantScope, VaultError> {
        Ok(match target {
            GrantTarget::Document(doc) => GrantScope::Document {
                id: self.find_document(doc).await?.id,
            },
            GrantTarget::Folder(path) => GrantScope::Folder {
                path: path.trim().to_owned(),
            },
            GrantTarget::Records { set, columns, rows } => {
                let found = self.find_record_set(set).await?;
                let known: BTreeSet<&str> = found.columns.iter().map(|c| c.name.as_str()).collect();
                let mut wanted = BTreeSet::new();
                for column in columns {
                    let column = column.trim();
                    if !known.contains(column) {
                        return Err(VaultError::InvalidInput(format!(
                            "record set {:?} has no column {column:?}: its columns are {}",
                            found.name,
                            known.iter().copied().collect::<Vec<_>>().join(", ")
                        )));
                    }
                    wanted.insert(column.to_owned());
                }
                if let Some(filter) = rows
                    && !known.contains(filter.column.as_str())
                {
                    return Err(VaultError::InvalidInput(format!(
                        "the row filter names column {:?}, which record set {:?} does not have",
                        filter.column, found.name
                    )));
                }
                GrantScope::RecordSet {
                    id: found.id,
                    columns: wanted,
                    rows: rows.clone(),
                }
            }
        })
    }

    /// A request's item as the person named it, looked up only when the
    /// owner approves: looking it up now would tell the person whether a
    /// document or record set of that name exists (or its columns). A
    /// folder is a name prefix and needs no lookup.
    fn named_scope(target: &GrantTarget) -> GrantScope {
        match target {
            GrantTarget::Document(doc) => GrantScope::Named {
                item: NamedItem::Document {
                    name: match doc {
                        DocRef::Id(id) => id.to_string(),
                        DocRef::Name(name) => name.trim().to_owned(),
                    },
                },
            },
            GrantTarget::Folder(path) => GrantScope::Folder {
                path: path.trim().to_owned(),
            },
            GrantTarget::Records { set, columns, rows } => GrantScope::Named {
                item: NamedItem::RecordSet {
                    name: set.trim().to_owned(),
                    columns: columns.iter().map(|c| c.trim().to_owned()).collect(),
                    rows: rows.clone(),
                },
            },
        }
    }

    /// A person who may receive grants: active or invited, not the owner
    /// or an admin (who reach everything anyway).
    async fn grantee(&self, who: &str) -> Result<confidant_store::PersonRecord, VaultError> {
        let person = self.find_person(who).await?;
        if person.status == PersonStatus::Offboarded {
            return Err(VaultError::Conflict(format!(
                "{} was offboarded: nothing can be granted to them",
                person.email
            )));
        }
        if person.role.manages_people() {
            return Err(VaultError::InvalidInput(format!(
                "{} is {} and reaches everything already: grants are for assistants, vendors, \
                 associates and auditors",
                person.email, person.role
            )));
        }
        Ok(person)
    }

    async fn store_grant(
        &self,
        actor: &Actor,
        person: &confidant_store::PersonRecord,
        scope: GrantScope,
        request: &GrantRequest,
        status: GrantStatus,
        reason: Option<&str>,
    ) -> Result<GrantView, VaultError> {
        let now = self.inner.clock.now();
        let purpose = validate_grant(
            &scope,
            &request.actions,
            &request.purpose,
            now,
            request.until,
            DEFAULT_MAX_GRANT,
        )
        .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let id = GrantId::random(&mut OsRng);
        let scope_json = serde_json::to_vec(&scope)
            .map_err(|e| VaultError::Internal(format!("writing a grant's scope failed: {e}")))?;
        let record = GrantRecord {
            id,
            workspace: self.workspace(),
            person: person.id,
            scope_ct: self.seal_field(&scope_context(id), &scope_json)?,
            actions: actions_text(&request.actions),
            purpose_ct: self.seal_field(&purpose_context(id), purpose.as_bytes())?,
            status,
            requested_by: actor.person,
            request_reason_ct: reason
                .map(|r| self.seal_field(&reason_context(id), r.trim().as_bytes()))
                .transpose()?,
            approved_by: (status == GrantStatus::Active).then_some(actor.person),
            created_at: now,
            expires_at: request.until,
            ended_at: None,
            end_reason: None,
            require_passcode: request.require_passcode,
        };
        let view = self.grant_view(&record).await?;
        // The ledger is kept in the clear: it names items by id, never by
        // their (encrypted) names or folder paths.
        let item = match &scope {
            GrantScope::Document { id } => format!("document {id}"),
            GrantScope::Folder { .. } => "a folder of documents".to_owned(),
            GrantScope::RecordSet { id, columns, .. } => {
                format!("record set {id} ({} columns)", columns.len())
            }
            GrantScope::Named {
                item: NamedItem::Document { .. },
            } => "a document named in the request".to_owned(),
            GrantScope::Named {
                item: NamedItem::RecordSet { columns, .. },
            } => format!(
                "a record set named in the request ({} columns)",
                columns.len()
            ),
        };
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::GrantChange,
            Target::whole(TargetId::Person(person.id)),
        );
        // The person is the entry's target (by id): no address in the
        // reason, which is kept in the clear.
        attempt.reason = match status {
            GrantStatus::Requested => format!(
                "asked for {} on {item} until {} (grant {id})",
                record.actions,
                crate::format_day(request.until)
            ),
            _ => format!(
                "{}: granted {} on {item} until {} (grant {id})",
                attempt.reason,
                record.actions,
                crate::format_day(request.until)
            ),
        };
        self.record(&[attempt]).await?;
        self.store()
            .insert_grant(&record)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => VaultError::Conflict(
                    "the person was removed while the grant was made: nothing was stored".into(),
                ),
                other => other.into(),
            })?;
        Ok(view)
    }

    /// Grants `who` access to an item for `request.actions`, a purpose and
    /// until a time at most 30 days ahead (owner and admins).
    pub async fn grant(
        &self,
        actor: &Actor,
        who: &str,
        request: &GrantRequest,
    ) -> Result<GrantView, VaultError> {
        self.gate(actor, "grant access", KnownAction::GrantChange)
            .await?;
        let person = self.grantee(who).await?;
        let scope = self.resolve_target(&request.target).await?;
        self.store_grant(actor, &person, scope, request, GrantStatus::Active, None)
            .await
    }

    /// Asks the owner for access, with a reason (any active member).
    pub async fn request_grant(
        &self,
        actor: &Actor,
        request: &GrantRequest,
        reason: &str,
    ) -> Result<GrantView, VaultError> {
        self.require_member(actor)?;
        if reason.trim().is_empty() {
            return Err(VaultError::InvalidInput(
                "say why you need it (--reason): the owner reads it before approving".into(),
            ));
        }
        let person = self.grantee(&actor.person.to_string()).await?;
        self.store_grant(
            actor,
            &person,
            Vault::named_scope(&request.target),
            request,
            GrantStatus::Requested,
            Some(reason),
        )
        .await
    }

    /// Puts a requested grant in force (owner and admins). The item the
    /// request names is looked up now; if it does not exist (or lacks a
    /// column), nothing changes and the error says so.
    pub async fn approve_grant(&self, actor: &Actor, id: GrantId) -> Result<GrantView, VaultError> {
        self.gate(actor, "approve a request", KnownAction::GrantChange)
            .await?;
        let record = self
            .store()
            .grant(self.workspace(), id)
            .await?
            .ok_or_else(no_grant)?;
        let grant = self.open_grant(&record)?;
        let scope_ct = match &grant.scope {
            GrantScope::Named { item } => {
                let target = match item {
                    NamedItem::Document { name } => GrantTarget::Document(DocRef::parse(name)),
                    NamedItem::RecordSet {
                        name,
                        columns,
                        rows,
                    } => GrantTarget::Records {
                        set: name.clone(),
                        columns: columns.iter().cloned().collect(),
                        rows: rows.clone(),
                    },
                };
                let scope = self.resolve_target(&target).await.map_err(|e| {
                    let why = match e {
                        VaultError::NotFound(m) | VaultError::InvalidInput(m) => m,
                        other => return other,
                    };
                    VaultError::InvalidInput(format!(
                        "the request cannot be approved as asked ({why}); end it with a \
                         reason, and grant what is needed instead"
                    ))
                })?;
                let scope_json = serde_json::to_vec(&scope).map_err(|e| {
                    VaultError::Internal(format!("writing a grant's scope failed: {e}"))
                })?;
                Some(self.seal_field(&scope_context(id), &scope_json)?)
            }
            _ => None,
        };
        let change = GrantChange {
            from: vec![GrantStatus::Requested],
            to: GrantStatus::Active,
            at: self.inner.clock.now(),
            by: Some(actor.person),
            reason: None,
            scope_ct,
        };
        self.change_grant(actor, &record, &change, "approved").await
    }

    /// Ends a grant (or refuses a request) early: the owner and admins for
    /// anyone, a person for their own.
    pub async fn end_grant(
        &self,
        actor: &Actor,
        id: GrantId,
        reason: &str,
    ) -> Result<GrantView, VaultError> {
        self.require_member(actor)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(VaultError::InvalidInput(
                "say why the grant ends (--reason): it is kept with it".into(),
            ));
        }
        let record = self
            .store()
            .grant(self.workspace(), id)
            .await?
            .ok_or_else(no_grant)?;
        if record.person != actor.person && !actor.role.manages_people() {
            return Err(no_grant());
        }
        let change = GrantChange {
            from: vec![GrantStatus::Requested, GrantStatus::Active],
            to: GrantStatus::Ended,
            at: self.inner.clock.now(),
            by: None,
            reason: Some(reason.to_owned()),
            scope_ct: None,
        };
        let ended = self
            .change_grant(actor, &record, &change, &format!("ended: {reason}"))
            .await?;
        // Its day passcodes stop working with it.
        self.revoke_grant_passcodes(id).await?;
        Ok(ended)
    }

    /// One grant by id, with its words (owner and admins).
    pub(crate) async fn grant_by_id(
        &self,
        actor: &Actor,
        id: GrantId,
    ) -> Result<GrantView, VaultError> {
        self.require_owner(actor, "read a grant")?;
        let record = self
            .store()
            .grant(self.workspace(), id)
            .await?
            .ok_or_else(no_grant)?;
        self.grant_view(&record).await
    }

    /// Changes `record`'s status (the store checks it is still one of
    /// `change.from`), on the ledger first.
    async fn change_grant(
        &self,
        actor: &Actor,
        record: &GrantRecord,
        change: &GrantChange,
        what: &str,
    ) -> Result<GrantView, VaultError> {
        let id = record.id;
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::GrantChange,
            Target::whole(TargetId::Person(record.person)),
        );
        attempt.reason = format!("grant {id} {what}");
        self.record(&[attempt]).await?;
        let changed = self
            .store()
            .change_grant(self.workspace(), id, change)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => {
                    VaultError::Conflict(format!("{m}: nothing was changed"))
                }
                other => other.into(),
            })?
            .ok_or_else(no_grant)?;
        self.grant_view(&changed).await
    }

    /// Grants and requests, newest first: everyone's for the owner and
    /// admins (optionally of one person), one's own for others (an auditor
    /// reads grant changes in the access record, without item names).
    pub async fn grants(
        &self,
        actor: &Actor,
        person: Option<&str>,
    ) -> Result<Vec<GrantView>, VaultError> {
        self.require_member(actor)?;
        let ws = self.workspace();
        let sees_all = actor.role.manages_people();
        let records = match (sees_all, person) {
            (true, Some(who)) => {
                let person = self.find_person(who).await?;
                self.store().grants_of(ws, person.id).await?
            }
            (true, None) => self.store().grants(ws).await?,
            (false, _) => self.store().grants_of(ws, actor.person).await?,
        };
        let now = self.inner.clock.now();
        let mut out = Vec::with_capacity(records.len());
        for record in &records {
            let mut view = self.grant_view(record).await?;
            // Need to know holds for names too: once a grant of theirs is
            // over, a person no longer sees what it was on.
            if !sees_all && view.grant.status != GrantStatus::Requested && !view.grant.is_live(now)
            {
                view.item = match view.grant.scope {
                    GrantScope::Document { .. } => "a document (no longer granted)",
                    GrantScope::Folder { .. } => "a folder (no longer granted)",
                    GrantScope::RecordSet { .. }
                    | GrantScope::Named {
                        item: NamedItem::RecordSet { .. },
                    } => "a record set (no longer granted)",
                    GrantScope::Named {
                        item: NamedItem::Document { .. },
                    } => "a document (no longer granted)",
                }
                .to_owned();
            }
            out.push(view);
        }
        Ok(out)
    }

    pub(crate) fn open_grant(&self, record: &GrantRecord) -> Result<Grant, VaultError> {
        let scope: GrantScope =
            serde_json::from_slice(&self.open_field(&scope_context(record.id), &record.scope_ct)?)
                .map_err(|e| {
                    VaultError::Integrity(format!("a stored grant's scope is unreadable: {e}"))
                })?;
        let purpose =
            String::from_utf8(self.open_field(&purpose_context(record.id), &record.purpose_ct)?)
                .map_err(|_| {
                    VaultError::Integrity("a stored grant's purpose is not text".into())
                })?;
        let request_reason = record
            .request_reason_ct
            .as_ref()
            .map(|ct| {
                self.open_field(&reason_context(record.id), ct)
                    .and_then(|bytes| {
                        String::from_utf8(bytes).map_err(|_| {
                            VaultError::Integrity("a stored request reason is not text".into())
                        })
                    })
            })
            .transpose()?;
        let actions = record
            .actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse::<Access>().map_err(|_| {
                    VaultError::Integrity(format!("a stored grant names an unknown action {a:?}"))
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Grant {
            id: record.id,
            workspace: record.workspace,
            person: record.person,
            scope,
            actions,
            purpose,
            status: record.status,
            requested_by: record.requested_by,
            request_reason,
            approved_by: record.approved_by,
            created_at: record.created_at,
            expires_at: record.expires_at,
            ended_at: record.ended_at,
            end_reason: record.end_reason.clone(),
            require_passcode: record.require_passcode,
        })
    }

    async fn grant_view(&self, record: &GrantRecord) -> Result<GrantView, VaultError> {
        let grant = self.open_grant(record)?;
        let item = match &grant.scope {
            GrantScope::Document { id } => match self.document_name(*id).await {
                Ok(name) => format!("document {name}"),
                Err(_) => format!("document {id} (removed)"),
            },
            GrantScope::Folder { path } => format!("folder {path}"),
            GrantScope::RecordSet { id, columns, rows } => {
                let name = self
                    .store()
                    .record_set(self.workspace(), *id)
                    .await?
                    .map_or_else(|| format!("{id} (removed)"), |s| s.name);
                let columns = columns.iter().cloned().collect::<Vec<_>>().join(", ");
                match rows {
                    Some(f) => format!(
                        "record set {name}: {columns} (rows where {} = {})",
                        f.column, f.equals
                    ),
                    None => format!("record set {name}: {columns}"),
                }
            }
            // As the person typed it: whether it exists is checked when
            // the owner approves.
            GrantScope::Named {
                item: NamedItem::Document { name },
            } => format!("document {name:?} (as asked)"),
            GrantScope::Named {
                item:
                    NamedItem::RecordSet {
                        name,
                        columns,
                        rows,
                    },
            } => {
                let columns = columns.iter().cloned().collect::<Vec<_>>().join(", ");
                match rows {
                    Some(f) => format!(
                        "record set {name:?}: {columns} (rows where {} = {}; as asked)",
                        f.column, f.equals
                    ),
                    None => format!("record set {name:?}: {columns} (as asked)"),
                }
            }
        };
        let person_email = self
            .store()
            .person(self.workspace(), grant.person)
            .await?
            .map_or_else(|| grant.person.to_string(), |p| p.email);
        Ok(GrantView {
            grant,
            person_email,
            item,
        })
    }
}

fn no_grant() -> VaultError {
    VaultError::NotFound("there is no such grant: `confidant grants list` shows them".into())
}
