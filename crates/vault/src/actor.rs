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
}

impl Actor {
    pub(crate) fn from_person(p: Person) -> Self {
        Actor {
            person: p.id,
            workspace: p.workspace,
            email: p.email,
            name: p.name,
            role: p.role,
        }
    }
}

/// The domain's view of a stored person (without the password hash).
pub(crate) fn person_of(record: PersonRecord) -> Person {
    Person {
        id: record.id,
        workspace: record.workspace,
        email: record.email,
        name: record.name,
        role: record.role,
    }
}
