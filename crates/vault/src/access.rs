//! Need to know at the door: every read by someone who is not the owner or
//! an admin is decided by the `policy` engine (Cedar) from the person's
//! live grants, and recorded with the engine's explanation. Columns of a
//! record set outside a grant are masked before they leave; sensitive
//! categories are masked even inside a grant and revealed one value at a
//! time, each reveal its own decision and its own ledger entry. An item a
//! person may not reach answers exactly like an item that does not exist.

use confidant_core::{
    Access, Column, DataCategory, DocumentMeta, Grant, PersonStatus, RowId, mask_value,
};
use confidant_ledger::{KnownAction, Target, TargetId};
use confidant_policy::{Decision, Engine, Item, Request, Subject};
use confidant_store::{DocumentRecord, RecordSetRecord};

use crate::audit::Attempt;
use crate::gates::Circumstances;
use crate::{Actor, DocRef, Vault, VaultError};

/// A value as it leaves the vault for a person: in the clear, or masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Clear(String),
    Masked(String),
}

impl Shown {
    pub fn text(&self) -> &str {
        match self {
            Shown::Clear(s) | Shown::Masked(s) => s,
        }
    }

    pub fn is_masked(&self) -> bool {
        matches!(self, Shown::Masked(_))
    }
}

/// An item resolved for a decision about someone else.
enum Resolved {
    Document(Box<(DocumentRecord, DocumentMeta)>),
    /// A record set and the index of one of its columns.
    Column(RecordSetRecord, usize),
}

/// What a decision was about, for `access explain`.
#[derive(Debug, Clone)]
pub enum ExplainItem {
    Document(DocRef),
    Column { set: String, column: String },
}

/// A decision as the ledger keeps it: the policies and grants that decided
/// it, by id. Never the explanation's words, which name items (the ledger
/// is kept in the clear; document names are not).
pub(crate) fn ledger_reason(decision: &Decision) -> String {
    let policies: Vec<&str> = decision.reasons.iter().map(|r| r.policy.as_str()).collect();
    let mut out = format!(
        "{} by policy {}",
        if decision.allowed {
            "allowed"
        } else {
            "denied"
        },
        policies.join(", ")
    );
    if !decision.grants.is_empty() {
        let grants: Vec<String> = decision.grants.iter().map(|g| g.to_string()).collect();
        out.push_str(&format!(" (grant {})", grants.join(", ")));
    }
    out
}

/// One column of a record set, as the policy engine sees it.
pub(crate) fn column_item<'a>(set: &'a RecordSetRecord, column: &'a Column) -> Item<'a> {
    Item::Column {
        workspace: set.workspace,
        set: set.id,
        set_name: &set.name,
        column: &column.name,
        category: column.category,
        label: set.label,
    }
}

pub(crate) fn known_action(access: Access) -> KnownAction {
    match access {
        Access::View => KnownAction::View,
        Access::Download => KnownAction::Download,
        Access::Export => KnownAction::Export,
        Access::Edit => KnownAction::Edit,
        Access::Reveal => KnownAction::Reveal,
    }
}

/// The engine of the workspace's current policies, rebuilt only when the
/// owner's policies change (in this process or another).
#[derive(Debug, Default)]
pub(crate) struct EngineCache(std::sync::Mutex<Option<(String, std::sync::Arc<Engine>)>>);

impl Vault {
    /// The engine for a decision now: the default policies and the owner's
    /// current ones (read from the store, so a change made by another
    /// server process applies to the next request).
    pub(crate) async fn engine(&self) -> Result<std::sync::Arc<Engine>, VaultError> {
        let text = self.store().owner_policies(self.workspace()).await?;
        let cache = &self.inner.engine;
        {
            let guard = cache
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((cached, engine)) = guard.as_ref()
                && *cached == text
            {
                return Ok(engine.clone());
            }
        }
        let engine = if text.trim().is_empty() {
            Engine::new()
        } else {
            Engine::with_owner_policies(&text).map_err(|e| {
                VaultError::Integrity(format!(
                    "the stored owner policies do not validate ({e}): fix them with `confidant policy set`"
                ))
            })?
        };
        let engine = std::sync::Arc::new(engine);
        *cache
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((text, engine.clone()));
        Ok(engine)
    }

    /// The owner's own policies (owner, admins and auditors read them).
    pub async fn owner_policies(&self, actor: &Actor) -> Result<String, VaultError> {
        self.require_reader(actor, "read the policies")?;
        Ok(self.store().owner_policies(self.workspace()).await?)
    }

    /// Replaces the owner's own policies after validating them against the
    /// schema; a mistake is reported with its line and column and nothing
    /// changes (owner and admins).
    pub async fn set_owner_policies(&self, actor: &Actor, text: &str) -> Result<usize, VaultError> {
        self.gate(actor, "change the policies", KnownAction::PolicyChange)
            .await?;
        let engine = Engine::with_owner_policies(text)
            .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::PolicyChange,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!(
            "{}: owner policies replaced ({} bytes)",
            attempt.reason,
            text.len()
        );
        self.record(&[attempt]).await?;
        self.store()
            .set_owner_policies(self.workspace(), text)
            .await?;
        Ok(engine.policy_count())
    }
}

/// The policies of the gates a person can pass themselves.
const GATES: [(&str, &str); 3] = [
    (
        "nda-signed",
        "sign the current confidentiality agreement (NDA) on the Agreements page, or with \
         `confidant agreements sign`",
    ),
    (
        "handbook-acknowledged",
        "acknowledge the current confidentiality handbook on the Agreements page, or with \
         `confidant agreements sign --kind handbook`",
    ),
    (
        "day-passcode",
        "enter today's passcode for this item (the owner gives it to you each day)",
    ),
];

/// The default policy that needs a passing device for gated labels.
const DEVICE_GATE: &str = "device-posture";

/// What stands between a person and an item their grant covers: the
/// agreements and the day passcode, with what to do about each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub agreement: bool,
    pub handbook: bool,
    pub passcode: bool,
    /// The device the request came from does not pass the posture policy
    /// (its steps say why: not linked, no report, stale, a failing check).
    pub device: bool,
    /// Every step, in plain words.
    pub steps: Vec<String>,
}

impl Blocker {
    /// The blocker of a refusal, when the person has a live grant covering
    /// the item and only the gates stand in the way. Without a covering
    /// grant there is none: the item answers like a missing one.
    pub(crate) fn of(
        decision: &Decision,
        covered: bool,
        gates: &crate::gates::Circumstances,
        item: &Item<'_>,
    ) -> Option<Blocker> {
        if decision.allowed || !covered {
            return None;
        }
        let fired = |id: &str| decision.reasons.iter().any(|r| r.policy == id);
        let mut steps: Vec<String> = GATES
            .iter()
            .filter(|(id, _)| fired(id))
            .map(|(_, step)| (*step).to_owned())
            .collect();
        let device = fired(DEVICE_GATE);
        if device {
            steps.extend(gates.device_steps(item));
        }
        if steps.is_empty() {
            return None;
        }
        Some(Blocker {
            agreement: fired(GATES[0].0),
            handbook: fired(GATES[1].0),
            passcode: fired(GATES[2].0),
            device,
            steps,
        })
    }

    pub fn message(&self) -> String {
        format!(
            "your grant covers this, but first: {}",
            self.steps.join("; then ")
        )
    }
}

impl Vault {
    /// The person's grants, opened (all states: the engine picks the live
    /// ones).
    pub(crate) async fn grants_for_decision(
        &self,
        person: confidant_core::PersonId,
    ) -> Result<Vec<Grant>, VaultError> {
        let records = self.store().grants_of(self.workspace(), person).await?;
        records.iter().map(|r| self.open_grant(r)).collect()
    }

    fn subject<'a>(actor: &'a Actor) -> Subject<'a> {
        Subject {
            id: actor.person,
            name: &actor.name,
            role: actor.role,
            status: PersonStatus::Active,
            workspace: actor.workspace,
        }
    }

    pub(crate) fn decide(
        &self,
        engine: &Engine,
        actor: &Actor,
        action: Access,
        item: Item<'_>,
        grants: &[Grant],
        gates: &Circumstances,
    ) -> Decision {
        engine.decide(&Request {
            person: Self::subject(actor),
            action,
            item,
            grants,
            context: gates.context(&item),
        })
    }

    /// Whether a live grant of `actor` covers `item` for `action`.
    pub(crate) fn covered(
        actor: &Actor,
        action: Access,
        item: Item<'_>,
        grants: &[Grant],
        gates: &Circumstances,
    ) -> bool {
        Request {
            person: Self::subject(actor),
            action,
            item,
            grants,
            context: gates.context(&item),
        }
        .live_grants()
        .next()
        .is_some()
    }

    fn document_item<'a>(&self, record: &'a DocumentRecord, meta: &'a DocumentMeta) -> Item<'a> {
        Item::Document {
            workspace: record.workspace,
            id: record.id,
            name: &meta.name,
            label: record.label,
            categories: meta.scan.as_ref().map_or(&[], |s| s.categories.as_slice()),
        }
    }

    /// Documents a non-manager may view, with the decision recorded.
    pub(crate) async fn granted_documents(
        &self,
        actor: &Actor,
    ) -> Result<Vec<DocumentMeta>, VaultError> {
        self.require_member(actor)?;
        let grants = self.grants_for_decision(actor.person).await?;
        let gates = self.circumstances(actor).await?;
        let engine = self.engine().await?;
        let names = &self.current_keys().names;
        let mut out = Vec::new();
        for record in self.store().documents(self.workspace()).await? {
            let meta = self.doc_meta(&record, names)?;
            let item = self.document_item(&record, &meta);
            // Listed when viewable now, or when a grant covers it and only
            // the gates stand in the way (the person sees what to do).
            if self
                .decide(&engine, actor, Access::View, item, &grants, &gates)
                .allowed
                || Self::covered(actor, Access::View, item, &grants, &gates)
            {
                out.push(meta);
            }
        }
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::View,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!("listed the {} documents their grants cover", out.len());
        self.record(&[attempt]).await?;
        Ok(out)
    }

    /// Decides `action` on a document for a non-manager; a refusal is
    /// recorded and answered like a missing document.
    pub(crate) async fn authorize_document(
        &self,
        actor: &Actor,
        doc: &DocRef,
        action: Access,
    ) -> Result<(DocumentRecord, DocumentMeta, Decision), VaultError> {
        self.require_member(actor)?;
        let record = self.find_document(doc).await?;
        let keys = self.keys_for(record.kek_id).await?;
        let meta = self.doc_meta(&record, &keys.names)?;
        let grants = self.grants_for_decision(actor.person).await?;
        let engine = self.engine().await?;
        let gates = self.circumstances(actor).await?;
        let item = self.document_item(&record, &meta);
        let decision = self.decide(&engine, actor, action, item, &grants, &gates);
        if !decision.allowed {
            let blocker = Blocker::of(
                &decision,
                Self::covered(actor, action, item, &grants, &gates),
                &gates,
                &item,
            );
            let mut attempt = Attempt::allowed(
                actor,
                known_action(action),
                Target::whole(TargetId::Document(record.id)),
            );
            attempt.allowed = false;
            attempt.reason = ledger_reason(&decision);
            self.record(&[attempt]).await?;
            return Err(match blocker {
                Some(blocker) => VaultError::Blocked(blocker),
                None => crate::documents::not_found(doc),
            });
        }
        Ok((record, meta, decision))
    }

    /// For each column of `set`, whether `actor` may view it in the clear
    /// (one decision per column).
    pub(crate) fn viewable_columns(
        &self,
        engine: &Engine,
        actor: &Actor,
        set: &RecordSetRecord,
        grants: &[Grant],
        gates: &Circumstances,
        action: Access,
    ) -> Vec<Decision> {
        set.columns
            .iter()
            .map(|c| self.decide(engine, actor, action, column_item(set, c), grants, gates))
            .collect()
    }

    /// Whether `actor` is the owner or an admin of this workspace, who
    /// reach everything by role.
    pub(crate) fn is_manager(&self, actor: &Actor) -> bool {
        actor.workspace == self.workspace() && actor.role.manages_people()
    }

    /// Masks one value for a person: `allowed` says whether a grant covers
    /// its column; sensitive categories stay masked in bulk views anyway.
    pub(crate) fn show(category: DataCategory, value: &str, allowed: bool) -> Shown {
        if allowed && !category.reveal_only() {
            Shown::Clear(value.to_owned())
        } else {
            Shown::Masked(mask_value(category, value))
        }
    }

    /// Explains whether `who` may do `action` with an item, in plain words
    /// (owner and admins ask; nothing is read or recorded as an access).
    pub async fn explain_access(
        &self,
        actor: &Actor,
        who: &str,
        item: &ExplainItem,
        action: Access,
    ) -> Result<Decision, VaultError> {
        self.require_owner(actor, "explain access")?;
        let person = self.find_person(who).await?;
        let grants = self.grants_for_decision(person.id).await?;
        let gates = self
            .circumstances_of(
                person.id,
                person.role,
                &crate::devices::DeviceChoice::AnyOfPerson,
            )
            .await?;
        let resolved = self.resolve_explain_item(item).await?;
        let engine = self.engine().await?;
        Ok(self.decide_for(&engine, &person, &resolved, action, &grants, &gates))
    }

    /// Who may do what with an item: every person of the workspace with
    /// the actions the policies allow them (owner and admins ask).
    pub async fn who_can(
        &self,
        actor: &Actor,
        item: &ExplainItem,
    ) -> Result<Vec<(String, Vec<Access>)>, VaultError> {
        self.require_owner(actor, "see who can reach an item")?;
        let resolved = self.resolve_explain_item(item).await?;
        let engine = self.engine().await?;
        let mut out = Vec::new();
        for person in self.store().people(self.workspace()).await? {
            let grants = self.grants_for_decision(person.id).await?;
            let gates = self
                .circumstances_of(
                    person.id,
                    person.role,
                    &crate::devices::DeviceChoice::AnyOfPerson,
                )
                .await?;
            let actions: Vec<Access> = Access::ALL
                .into_iter()
                .filter(|a| {
                    self.decide_for(&engine, &person, &resolved, *a, &grants, &gates)
                        .allowed
                })
                .collect();
            if !actions.is_empty() {
                out.push((person.email.clone(), actions));
            }
        }
        Ok(out)
    }

    /// What a person may reach: every document and record-set column the
    /// policies allow them, with the actions (owner and admins ask).
    pub async fn what_can(
        &self,
        actor: &Actor,
        who: &str,
    ) -> Result<Vec<(String, Vec<Access>)>, VaultError> {
        self.require_owner(actor, "see what a person can reach")?;
        let person = self.find_person(who).await?;
        let grants = self.grants_for_decision(person.id).await?;
        let gates = self
            .circumstances_of(
                person.id,
                person.role,
                &crate::devices::DeviceChoice::AnyOfPerson,
            )
            .await?;
        let engine = self.engine().await?;
        let mut out = Vec::new();
        let names = &self.current_keys().names;
        for record in self.store().documents(self.workspace()).await? {
            let meta = self.doc_meta(&record, names)?;
            let label = format!("document {}", meta.name);
            let resolved = Resolved::Document(Box::new((record, meta)));
            let actions: Vec<Access> = Access::ALL
                .into_iter()
                .filter(|a| {
                    self.decide_for(&engine, &person, &resolved, *a, &grants, &gates)
                        .allowed
                })
                .collect();
            if !actions.is_empty() {
                out.push((label, actions));
            }
        }
        for set in self.store().record_sets(self.workspace()).await? {
            for (index, column) in set.columns.iter().enumerate() {
                let resolved = Resolved::Column(set.clone(), index);
                let actions: Vec<Access> = Access::ALL
                    .into_iter()
                    .filter(|a| {
                        self.decide_for(&engine, &person, &resolved, *a, &grants, &gates)
                            .allowed
                    })
                    .collect();
                if !actions.is_empty() {
                    out.push((
                        format!("record set {}, column {}", set.name, column.name),
                        actions,
                    ));
                }
            }
        }
        Ok(out)
    }

    async fn resolve_explain_item(&self, item: &ExplainItem) -> Result<Resolved, VaultError> {
        match item {
            ExplainItem::Document(doc) => {
                let record = self.find_document(doc).await?;
                let meta = self.doc_meta(&record, &self.current_keys().names)?;
                Ok(Resolved::Document(Box::new((record, meta))))
            }
            ExplainItem::Column { set, column } => {
                let found = self.find_record_set(set).await?;
                let index = found
                    .columns
                    .iter()
                    .position(|c| c.name == *column)
                    .ok_or_else(|| {
                        VaultError::NotFound(format!(
                            "record set {:?} has no column {column:?}",
                            found.name
                        ))
                    })?;
                Ok(Resolved::Column(found, index))
            }
        }
    }

    fn decide_for(
        &self,
        engine: &Engine,
        person: &confidant_store::PersonRecord,
        resolved: &Resolved,
        action: Access,
        grants: &[Grant],
        gates: &Circumstances,
    ) -> Decision {
        let subject = Subject {
            id: person.id,
            name: &person.name,
            role: person.role,
            status: person.status,
            workspace: person.workspace,
        };
        let item = match resolved {
            Resolved::Document(doc) => self.document_item(&doc.0, &doc.1),
            Resolved::Column(set, index) => column_item(set, &set.columns[*index]),
        };
        engine.decide(&Request {
            person: subject,
            action,
            item,
            grants,
            context: gates.context(&item),
        })
    }

    /// Reveals one value of one row to a person whose grant allows
    /// `reveal` on its column: its own decision and its own ledger entry.
    pub async fn reveal(
        &self,
        actor: &Actor,
        set: &str,
        row: RowId,
        column: &str,
    ) -> Result<String, VaultError> {
        self.require_member(actor)?;
        let found = self.find_record_set(set).await?;
        let Some(col) = found.columns.iter().find(|c| c.name == column) else {
            return Err(crate::records::set_not_found(set));
        };
        let allowed = if self.is_manager(actor) {
            None
        } else {
            let grants = self.grants_for_decision(actor.person).await?;
            let engine = self.engine().await?;
            let gates = self.circumstances(actor).await?;
            let item = column_item(&found, col);
            let decision = self.decide(&engine, actor, Access::Reveal, item, &grants, &gates);
            let covered = Self::covered(actor, Access::Reveal, item, &grants, &gates);
            let blocker = Blocker::of(&decision, covered, &gates, &item);
            Some((decision, blocker))
        };
        if let Some((decision, blocker)) = &allowed
            && !decision.allowed
        {
            let mut attempt = Attempt::allowed(
                actor,
                KnownAction::Reveal,
                Target {
                    id: TargetId::RecordSet(found.id),
                    rows: vec![row],
                    columns: vec![column.to_owned()],
                },
            );
            attempt.allowed = false;
            attempt.reason = ledger_reason(decision);
            self.record(&[attempt]).await?;
            return Err(match blocker {
                Some(blocker) => VaultError::Blocked(blocker.clone()),
                None => crate::records::set_not_found(set),
            });
        }
        let value = self.cell(&found, row, column).await?;
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::Reveal,
            Target {
                id: TargetId::RecordSet(found.id),
                rows: vec![row],
                columns: vec![column.to_owned()],
            },
        )
        .categories([col.category]);
        if let Some((decision, _)) = &allowed {
            attempt.reason = ledger_reason(decision);
        }
        attempt.reason = format!("{} (column {column})", attempt.reason);
        self.record(&[attempt]).await?;
        Ok(value)
    }
}
