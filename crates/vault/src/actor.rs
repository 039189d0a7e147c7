use confidant_core::{Person, PersonId, Role, WorkspaceId};
use confidant_store::PersonRecord;

/// Who is asking. Every vault method that touches protected data takes an
/// actor and checks it before anything is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub person: PersonId,
    pub workspace: WorkspaceId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Whether the person has enrolled a second factor (everyone but an
    /// owner who has not yet: the web UI sends them to enrollment first).
    pub has_second_factor: bool,
    /// The enrolled device the session or API token is linked to, if any
    /// (`confidant agent link`).
    pub device: Option<confidant_core::DeviceId>,
}

impl Actor {
    pub(crate) fn from_record(p: &PersonRecord) -> Self {
        Actor {
            person: p.id,
            workspace: p.workspace,
            email: p.email.clone(),
            name: p.name.clone(),
            role: p.role,
            has_second_factor: p.totp_secret_ct.is_some(),
            device: None,
        }
    }
}

/// The domain's view of a stored person (without secrets).
pub(crate) fn person_of(record: PersonRecord) -> Person {
    Person {
        id: record.id,
        workspace: record.workspace,
        email: record.email,
        name: record.name,
        role: record.role,
        status: record.status,
    }
}
