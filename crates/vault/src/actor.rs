use confidant_core::{Person, PersonId, Role, WorkspaceId};

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
