use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{PersonId, WorkspaceId};

/// What a person is to the business. The auditor reads the access record
/// and reports but no customer data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Assistant,
    Vendor,
    Associate,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Owner,
        Role::Admin,
        Role::Assistant,
        Role::Vendor,
        Role::Associate,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Assistant => "assistant",
            Role::Vendor => "vendor",
            Role::Associate => "associate",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: use one of owner, admin, assistant, vendor, associate, auditor")]
pub struct UnknownRoleError(pub String);

impl FromStr for Role {
    type Err = UnknownRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| UnknownRoleError(s.to_owned()))
    }
}

impl Role {
    /// Whether the role runs the workspace (people, grants, settings).
    pub fn manages_people(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Whether `self` may invite or offboard a person of role `other`: the
    /// owner anyone but another owner, an admin only roles below admin.
    pub fn may_manage(self, other: Role) -> bool {
        match self {
            Role::Owner => other != Role::Owner,
            Role::Admin => !matches!(other, Role::Owner | Role::Admin),
            _ => false,
        }
    }
}

/// Where a person stands: invited (the link not yet used), active, or
/// offboarded (for good: every session, token and grant ended).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    Invited,
    Active,
    Offboarded,
}

impl PersonStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Invited => "invited",
            PersonStatus::Active => "active",
            PersonStatus::Offboarded => "offboarded",
        }
    }
}

impl fmt::Display for PersonStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown person status {0:?}: expected invited, active or offboarded")]
pub struct UnknownStatusError(pub String);

impl FromStr for PersonStatus {
    type Err = UnknownStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "invited" => Ok(PersonStatus::Invited),
            "active" => Ok(PersonStatus::Active),
            "offboarded" => Ok(PersonStatus::Offboarded),
            other => Err(UnknownStatusError(other.to_owned())),
        }
    }
}

/// A person of a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub workspace: WorkspaceId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: PersonStatus,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an e-mail address: expected something like ann@example.com")]
pub struct EmailError(pub String);

/// Lower-cases and checks the shape of an e-mail address used as a sign-in
/// name. Deliverability is not checked here.
pub fn normalize_email(input: &str) -> Result<String, EmailError> {
    let email = input.trim().to_lowercase();
    let well_formed = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(email)
    } else {
        Err(EmailError(input.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Ann@Example.com").ok().as_deref(),
            Some("ann@example.com")
        );
        for bad in [
            "", "ann", "ann@", "@x.y", "a@b", "a b@c.d", "a@b@c.d", "a@.b", "a@b.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn who_manages_whom() {
        assert!(Role::Owner.may_manage(Role::Admin));
        assert!(!Role::Owner.may_manage(Role::Owner));
        assert!(Role::Admin.may_manage(Role::Assistant));
        assert!(!Role::Admin.may_manage(Role::Admin));
        assert!(!Role::Assistant.may_manage(Role::Vendor));
        assert!(!Role::Auditor.may_manage(Role::Vendor));
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().ok(), Some(r));
        }
    }
}
