//! What the vault asks: who, what action, which item, with which grants and
//! in which circumstances.

use std::net::IpAddr;

use confidant_core::{
    Access, DataCategory, Grant, GrantScope, ItemId, Label, Person, PersonId, PersonStatus,
    RecordSetId, Role, WorkspaceId,
};
use time::OffsetDateTime;

/// The person asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject<'a> {
    pub id: PersonId,
    /// How explanations name the person (their name or e-mail address).
    pub name: &'a str,
    pub role: Role,
    pub status: PersonStatus,
    pub workspace: WorkspaceId,
}

impl<'a> From<&'a Person> for Subject<'a> {
    fn from(person: &'a Person) -> Self {
        let name = if person.name.trim().is_empty() {
            person.email.as_str()
        } else {
            person.name.as_str()
        };
        Subject {
            id: person.id,
            name,
            role: person.role,
            status: person.status,
            workspace: person.workspace,
        }
    }
}

/// The item asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Item<'a> {
    /// A document; `name` is its full name with folders (`invoices/q3.pdf`).
    Document {
        workspace: WorkspaceId,
        id: ItemId,
        name: &'a str,
        label: Label,
        categories: &'a [DataCategory],
    },
    /// A record set as a whole (listing it, exporting it). `categories` are
    /// the categories of the columns the request would return.
    RecordSet {
        workspace: WorkspaceId,
        id: RecordSetId,
        name: &'a str,
        label: Label,
        categories: &'a [DataCategory],
    },
    /// One column of a record set (showing it unmasked, revealing a value).
    Column {
        workspace: WorkspaceId,
        set: RecordSetId,
        set_name: &'a str,
        column: &'a str,
        category: DataCategory,
        label: Label,
    },
}

impl Item<'_> {
    pub fn workspace(&self) -> WorkspaceId {
        match self {
            Item::Document { workspace, .. }
            | Item::RecordSet { workspace, .. }
            | Item::Column { workspace, .. } => *workspace,
        }
    }

    pub fn label(&self) -> Label {
        match self {
            Item::Document { label, .. }
            | Item::RecordSet { label, .. }
            | Item::Column { label, .. } => *label,
        }
    }

    /// Whether a grant with this scope reaches this item.
    pub fn is_covered_by(&self, scope: &GrantScope) -> bool {
        match self {
            Item::Document { id, name, .. } => scope.covers_document(*id, name),
            Item::RecordSet { id, .. } => scope.covers_set(*id),
            Item::Column { set, column, .. } => scope.covers_column(*set, column),
        }
    }

    /// The item in words: `document 'q3.pdf'`, `column 'phone' of 'customers'`.
    pub fn describe(&self) -> String {
        match self {
            Item::Document { name, .. } => format!("document '{name}'"),
            Item::RecordSet { name, .. } => format!("record set '{name}'"),
            Item::Column {
                set_name, column, ..
            } => format!("column '{column}' of '{set_name}'"),
        }
    }

    /// The kind of item in one word, for explanations.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Document { .. } => "document",
            Item::RecordSet { .. } => "record set",
            Item::Column { .. } => "column",
        }
    }
}

/// The circumstances of a request. Everything not yet known is "not
/// satisfied" ([`Context::new`]), so that nothing is open by accident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    pub now: OffsetDateTime,
    /// Minutes since midnight in the workspace's time zone (0..=1439),
    /// computed by the caller, which knows the zone.
    pub minute_of_day: u16,
    /// The person signed the current agreement (NDA) covering the item.
    pub agreement_signed: bool,
    /// The person acknowledged the current handbook.
    pub handbook_acknowledged: bool,
    /// The person gave today's passcode for this item (through a grant of
    /// theirs). Whether one is needed is the engine's to say, from the
    /// item's label and the grants covering it.
    pub passcode_ok: bool,
    /// The person's device sent a fresh, passing posture report.
    pub device_ok: bool,
    /// The client's address, when known.
    pub client: Option<IpAddr>,
}

impl Context {
    /// A context at `now` with every condition unsatisfied and no client
    /// address.
    pub fn new(now: OffsetDateTime, minute_of_day: u16) -> Context {
        Context {
            now,
            minute_of_day,
            agreement_signed: false,
            handbook_acknowledged: false,
            passcode_ok: false,
            device_ok: false,
            client: None,
        }
    }
}

/// One question for the engine: may `person` do `action` with `item`?
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub person: Subject<'a>,
    pub action: Access,
    pub item: Item<'a>,
    /// The person's grants, in any state; the engine picks those that are
    /// live at `context.now` and cover the item and action. Grants of other
    /// people or workspaces are ignored, so passing more is safe (only
    /// slower).
    pub grants: &'a [Grant],
    pub context: Context,
}

impl<'a> Request<'a> {
    /// The grants that let the person do the action with the item now.
    pub fn live_grants(&self) -> impl Iterator<Item = &'a Grant> + use<'a> {
        let (person, workspace, now, action, item) = (
            self.person.id,
            self.person.workspace,
            self.context.now,
            self.action,
            self.item,
        );
        self.grants.iter().filter(move |g| {
            // Cheapest tests first: most grants passed in a workspace-wide
            // list belong to someone else.
            g.person == person
                && g.workspace == workspace
                && g.is_live(now)
                && g.allows(action)
                && item.is_covered_by(&g.scope)
        })
    }
}
