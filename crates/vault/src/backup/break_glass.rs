//! Who may touch backups. The owner, always. An admin only under a
//! break-glass grant: named, with a reason and an expiry, issued by the
//! owner or another admin and, when the workspace requires it (the
//! default), approved by a second admin or owner who is neither the holder
//! nor the issuer. Assistants, vendors, associates and auditors never.
//!
//! Every issue, approval, end and use is a ledger entry (`break_glass`,
//! ids only), and so is every refused attempt to make, check or restore a
//! backup.

use confidant_core::{BreakGlassId, PersonStatus, Role};
use confidant_ledger::{KnownAction, Target, TargetId};
use time::{Duration, OffsetDateTime};

use crate::audit::Attempt;
use crate::{Actor, Vault, VaultError};

pub use confidant_store::BreakGlassRecord as BreakGlassGrant;

/// The longest a break-glass grant may last.
pub const MAX_BREAK_GLASS: Duration = Duration::days(7);
/// The longest reason kept.
const MAX_REASON: usize = 500;

/// Where a break-glass grant stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakGlassStatus {
    /// Issued; waits for a second person's approval.
    AwaitingApproval,
    /// Usable now.
    Active,
    Expired,
    Ended,
}

impl BreakGlassStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakGlassStatus::AwaitingApproval => "awaiting approval",
            BreakGlassStatus::Active => "active",
            BreakGlassStatus::Expired => "expired",
            BreakGlassStatus::Ended => "ended",
        }
    }
}

/// The status of `grant` at `now`.
pub fn break_glass_status(grant: &BreakGlassGrant, now: OffsetDateTime) -> BreakGlassStatus {
    if grant.ended_at.is_some() {
        BreakGlassStatus::Ended
    } else if grant.expires_at <= now {
        BreakGlassStatus::Expired
    } else if grant.needs_approval && grant.approved_at.is_none() {
        BreakGlassStatus::AwaitingApproval
    } else {
        BreakGlassStatus::Active
    }
}

/// What a person does with backups, for the ledger and for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupUse {
    Create,
    Verify,
    Restore,
}

impl BackupUse {
    fn action(self) -> KnownAction {
        match self {
            BackupUse::Create => KnownAction::Backup,
            BackupUse::Verify => KnownAction::BackupVerify,
            BackupUse::Restore => KnownAction::Restore,
        }
    }
    fn verb(self) -> &'static str {
        match self {
            BackupUse::Create => "make a backup",
            BackupUse::Verify => "check a backup",
            BackupUse::Restore => "restore a backup",
        }
    }
}

fn is_manager(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Admin)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Vault {
    fn manager_only(&self, actor: &Actor, what: &str) -> Result<(), VaultError> {
        if actor.workspace != self.workspace() || !is_manager(actor.role) {
            return Err(VaultError::Forbidden(format!(
                "{what}: only the owner or an admin may do this"
            )));
        }
        Ok(())
    }

    async fn record_break_glass(
        &self,
        actor: &Actor,
        target: TargetId,
        reason: String,
    ) -> Result<(), VaultError> {
        let mut attempt = Attempt::allowed(actor, KnownAction::BreakGlass, Target::whole(target));
        attempt.reason = reason;
        self.record(&[attempt]).await
    }

    /// Gives the admin with e-mail `holder` a break-glass grant on this
    /// workspace's backups until `expires_at` (at most 7 days ahead).
    pub async fn issue_break_glass(
        &self,
        actor: &Actor,
        holder: &str,
        reason: &str,
        expires_at: OffsetDateTime,
    ) -> Result<BreakGlassGrant, VaultError> {
        self.manager_only(actor, "issue a break-glass grant")?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(VaultError::InvalidInput(
                "a break-glass grant needs a reason: say why backups must be touched (--reason)"
                    .into(),
            ));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(VaultError::InvalidInput(format!(
                "the reason is longer than {MAX_REASON} characters: shorten it"
            )));
        }
        let now = self.inner.clock.now();
        if expires_at <= now {
            return Err(VaultError::InvalidInput(
                "the expiry is in the past: give a time ahead (--expires, e.g. 4h or 2d)".into(),
            ));
        }
        if expires_at > now + MAX_BREAK_GLASS {
            return Err(VaultError::InvalidInput(
                "a break-glass grant lasts at most 7 days: give an earlier expiry".into(),
            ));
        }
        let email = confidant_core::normalize_email(holder)
            .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let person = self
            .store()
            .person_by_email(self.workspace(), &email)
            .await?
            .filter(|p| p.status == PersonStatus::Active)
            .ok_or_else(|| {
                VaultError::NotFound(format!(
                    "{email} is not an active person of this workspace: invite them as an admin first"
                ))
            })?;
        match person.role {
            Role::Admin => {}
            Role::Owner => {
                return Err(VaultError::InvalidInput(
                    "the owner needs no break-glass grant: they may always touch backups".into(),
                ));
            }
            other => {
                return Err(VaultError::InvalidInput(format!(
                    "{email} is a {other}: break-glass grants on backups are for admins only"
                )));
            }
        }
        let needs_approval = self
            .store()
            .break_glass_needs_approval(self.workspace())
            .await?;
        let grant = BreakGlassGrant {
            id: BreakGlassId::random(&mut rand_core::OsRng),
            workspace: self.workspace(),
            person: person.id,
            reason: reason.to_owned(),
            issued_by: actor.person,
            issued_at: now,
            expires_at,
            needs_approval,
            approved_by: None,
            approved_at: None,
            ended_by: None,
            ended_at: None,
        };
        // Recorded first: no grant exists that the ledger does not name.
        self.record_break_glass(
            actor,
            TargetId::Person(person.id),
            format!(
                "break-glass grant {} on backups issued to person {}, expires {}, {}",
                grant.id,
                person.id,
                rfc3339(expires_at),
                if needs_approval {
                    "needs a second person's approval"
                } else {
                    "no approval required"
                }
            ),
        )
        .await?;
        self.store().insert_break_glass(&grant).await?;
        Ok(grant)
    }

    async fn break_glass_grant(&self, id: BreakGlassId) -> Result<BreakGlassGrant, VaultError> {
        self.store()
            .break_glass(self.workspace(), id)
            .await?
            .ok_or_else(|| {
                VaultError::NotFound(format!(
                    "no break-glass grant {id} in this workspace: see `confidant backup break-glass list`"
                ))
            })
    }

    /// A second admin or owner approves a grant (not its holder, not its
    /// issuer).
    pub async fn approve_break_glass(
        &self,
        actor: &Actor,
        id: BreakGlassId,
    ) -> Result<BreakGlassGrant, VaultError> {
        self.manager_only(actor, "approve a break-glass grant")?;
        let grant = self.break_glass_grant(id).await?;
        if actor.person == grant.person || actor.person == grant.issued_by {
            return Err(VaultError::Forbidden(
                "a break-glass grant is approved by a second person: neither its holder nor its issuer"
                    .into(),
            ));
        }
        let now = self.inner.clock.now();
        match break_glass_status(&grant, now) {
            BreakGlassStatus::AwaitingApproval => {}
            BreakGlassStatus::Active if !grant.needs_approval => {
                return Err(VaultError::Conflict(format!(
                    "break-glass grant {id} needs no approval: it is active"
                )));
            }
            other => {
                return Err(VaultError::Conflict(format!(
                    "break-glass grant {id} is {}: nothing to approve",
                    other.as_str()
                )));
            }
        }
        self.record_break_glass(
            actor,
            TargetId::Person(grant.person),
            format!("break-glass grant {id} on backups approved"),
        )
        .await?;
        if !self
            .store()
            .approve_break_glass(self.workspace(), id, actor.person, now)
            .await?
        {
            return Err(VaultError::Conflict(format!(
                "break-glass grant {id} changed meanwhile: look at it again"
            )));
        }
        self.break_glass_grant(id).await
    }

    /// Ends a grant now (the owner, an admin, or its holder).
    pub async fn end_break_glass(
        &self,
        actor: &Actor,
        id: BreakGlassId,
    ) -> Result<BreakGlassGrant, VaultError> {
        let grant = self.break_glass_grant(id).await?;
        if actor.workspace != self.workspace()
            || !(is_manager(actor.role) || actor.person == grant.person)
        {
            return Err(VaultError::Forbidden(
                "end a break-glass grant: only the owner, an admin or its holder may".into(),
            ));
        }
        if grant.ended_at.is_some() {
            return Err(VaultError::Conflict(format!(
                "break-glass grant {id} has ended already"
            )));
        }
        let now = self.inner.clock.now();
        self.record_break_glass(
            actor,
            TargetId::Person(grant.person),
            format!("break-glass grant {id} on backups ended"),
        )
        .await?;
        self.store()
            .end_break_glass(self.workspace(), id, actor.person, now)
            .await?;
        self.break_glass_grant(id).await
    }

    /// Every break-glass grant of the workspace, newest first.
    pub async fn break_glass_grants(
        &self,
        actor: &Actor,
    ) -> Result<Vec<BreakGlassGrant>, VaultError> {
        self.manager_only(actor, "list break-glass grants")?;
        Ok(self.store().break_glass_grants(self.workspace()).await?)
    }

    /// Whether a break-glass grant needs a second person's approval.
    pub async fn break_glass_approval_required(&self, actor: &Actor) -> Result<bool, VaultError> {
        self.manager_only(actor, "read the backup settings")?;
        Ok(self
            .store()
            .break_glass_needs_approval(self.workspace())
            .await?)
    }

    /// Sets whether new break-glass grants need a second person's approval
    /// (the owner only).
    pub async fn set_break_glass_approval(
        &self,
        actor: &Actor,
        required: bool,
    ) -> Result<(), VaultError> {
        if actor.workspace != self.workspace() || actor.role != Role::Owner {
            return Err(VaultError::Forbidden(
                "change the backup settings: only the workspace owner may".into(),
            ));
        }
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::PolicyChange,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!(
            "break-glass grants on backups: second approval {}",
            if required { "required" } else { "not required" }
        );
        self.record(&[attempt]).await?;
        Ok(self
            .store()
            .set_break_glass_needs_approval(self.workspace(), required)
            .await?)
    }

    /// Lets `actor` make, check or restore a backup of this workspace, or
    /// refuses. The owner may; an admin with an active break-glass grant
    /// may (the use is recorded, naming the grant); nobody else. A refusal
    /// is recorded too. Returns the grant used, if any.
    pub(crate) async fn authorize_backup(
        &self,
        actor: &Actor,
        what: BackupUse,
    ) -> Result<Option<BreakGlassId>, VaultError> {
        let target = Target::whole(TargetId::Workspace(self.workspace()));
        if actor.workspace != self.workspace() {
            return Err(VaultError::Forbidden(format!(
                "{}: the person belongs to another workspace",
                what.verb()
            )));
        }
        if actor.role == Role::Owner {
            return Ok(None);
        }
        let now = self.inner.clock.now();
        let active = if actor.role == Role::Admin {
            self.store()
                .break_glass_grants(self.workspace())
                .await?
                .into_iter()
                .find(|g| {
                    g.person == actor.person
                        && break_glass_status(g, now) == BreakGlassStatus::Active
                })
        } else {
            None
        };
        let Some(grant) = active else {
            let mut attempt = Attempt::allowed(actor, what.action(), target);
            attempt.allowed = false;
            attempt.reason = if actor.role == Role::Admin {
                "no active break-glass grant on backups".into()
            } else {
                "only the owner, or an admin under a break-glass grant, may touch backups".into()
            };
            self.record(&[attempt]).await?;
            return Err(VaultError::Forbidden(if actor.role == Role::Admin {
                format!(
                    "{}: you have no active break-glass grant on backups; ask the owner for one \
                     (`confidant backup break-glass grant`) and, if it needs approval, a second admin",
                    what.verb()
                )
            } else {
                format!(
                    "{}: only the owner, or an admin under a break-glass grant, may touch backups",
                    what.verb()
                )
            }));
        };
        self.record_break_glass(
            actor,
            TargetId::Workspace(self.workspace()),
            format!("break-glass grant {} used to {}", grant.id, what.verb()),
        )
        .await?;
        Ok(Some(grant.id))
    }

    /// Records that a backup's contents were checked (with the data dir at
    /// hand), by the owner or an admin under a break-glass grant.
    pub async fn record_backup_verify(
        &self,
        actor: &Actor,
        backup_id: &str,
    ) -> Result<(), VaultError> {
        let grant = self.authorize_backup(actor, BackupUse::Verify).await?;
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::BackupVerify,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = match grant {
            Some(g) => format!("backup {backup_id} checked under break-glass grant {g}"),
            None => format!("backup {backup_id} checked by the workspace owner"),
        };
        self.record(&[attempt]).await
    }
}
