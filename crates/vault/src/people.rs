//! People of a workspace: invitations (single-use, expiring links),
//! accepting one (password and second factor in one step), enrolling a
//! second factor, the people list and a person's detail, and offboarding.
//!
//! Offboarding is the one hook later parts hang their revocations on
//! (grants, passcodes, devices): it happens in one store transaction, so
//! the person's next request, in any server process, is refused.

use std::collections::BTreeMap;
use std::net::IpAddr;

use confidant_core::{Person, PersonId, PersonStatus, Role, normalize_email};
use confidant_ledger::{Action, Decision, Entry, KnownAction, Target, TargetId};
use confidant_store::{Acceptance, InviteRecord, PersonRecord, SecondFactorRecord, StoreError};
use rand_core::OsRng;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::auth::{IssuedToken, SessionInfo, SessionRequest, new_token, token_hash};
use crate::password_rules::check_new_password;
use crate::second_factor::{
    self, TotpSetup, decode_secret, new_recovery_codes, recovery_code_hashes,
};
use crate::{Actor, Vault, VaultError};

/// How long an invitation link works unless the inviter says otherwise.
pub const DEFAULT_INVITE_LIFETIME: Duration = Duration::hours(72);
/// The longest an invitation link may work.
pub const MAX_INVITE_LIFETIME: Duration = Duration::days(30);

/// A new invitation: the token goes into the link, once; only its hash is
/// kept.
#[derive(Debug)]
pub struct Invitation {
    pub person: Person,
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
}

/// What the invitation page shows before it is accepted.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub workspace_name: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: OffsetDateTime,
}

/// A person right after accepting: signed in, with recovery codes shown
/// once.
#[derive(Debug)]
pub struct Welcome {
    pub session: IssuedToken,
    pub recovery_codes: Vec<SecretString>,
}

/// One person as the owner sees them.
#[derive(Debug, Clone)]
pub struct PersonDetail {
    pub person: Person,
    pub created_at: OffsetDateTime,
    pub has_second_factor: bool,
    pub recovery_codes_left: u64,
    pub sessions: Vec<SessionInfo>,
    pub offboarded_at: Option<OffsetDateTime>,
    pub offboard_reason: Option<String>,
    /// Their latest ledger entries (index, entry), newest first.
    pub recent: Vec<(u64, Entry)>,
}

/// What offboarding did and what the person had reached.
#[derive(Debug, Clone)]
pub struct Offboarded {
    pub person: Person,
    pub sessions_ended: u64,
    pub invites_cancelled: u64,
    /// Grants and requests ended.
    pub grants_ended: u64,
    /// Enrolled devices revoked.
    pub devices_revoked: u64,
    /// The grants that were in force: what they could reach.
    pub grants: Vec<crate::GrantView>,
    /// What their role let them reach.
    pub role_access: String,
    /// Every item they were let at, from the ledger: target, what they
    /// did (action -> count), and when last.
    pub accessed: Vec<Accessed>,
}

/// One item a person was let at, summed up from the ledger.
#[derive(Debug, Clone)]
pub struct Accessed {
    /// document, record_set or row.
    pub kind: String,
    pub id: String,
    target: TargetId,
    /// The item's name when it still exists.
    pub name: Option<String>,
    pub actions: BTreeMap<String, u64>,
    pub last: OffsetDateTime,
}

fn invalid_invitation() -> VaultError {
    VaultError::Forbidden(
        "this invitation link is not valid: it was used already, replaced by a newer one, or it \
         expired. Ask whoever invited you for a new link"
            .into(),
    )
}

/// What a role reaches, in words (until grants exist).
fn role_access(role: Role) -> &'static str {
    match role {
        Role::Owner => "everything in the workspace (owner)",
        Role::Admin => "every document and record set, people and settings (admin)",
        Role::Auditor => "the access record and reports, no customer data (auditor)",
        Role::Assistant | Role::Vendor | Role::Associate => "only what their grants gave them",
    }
}

impl Vault {
    /// Invites a person by e-mail: a single-use link valid for `valid_for`
    /// (default 72 h, at most 30 days). Inviting someone whose invitation
    /// is still pending makes a new link and cancels the old one. Only the
    /// owner and admins invite, and an admin only roles below admin.
    pub async fn invite(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        role: Role,
        valid_for: Option<Duration>,
    ) -> Result<Invitation, VaultError> {
        self.gate_people(actor, role, "invite people").await?;
        let email = normalize_email(email).map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(VaultError::InvalidInput(
                "the person's name is empty, too long or has control characters: give their \
                 full name, as on their agreements"
                    .into(),
            ));
        }
        let valid_for = valid_for.unwrap_or(DEFAULT_INVITE_LIFETIME);
        if valid_for <= Duration::ZERO || valid_for > MAX_INVITE_LIFETIME {
            return Err(VaultError::InvalidInput(
                "an invitation must be valid for some time, at most 30 days".into(),
            ));
        }
        let ws = self.workspace();
        let now = self.inner.clock.now();
        let existing = self.store().person_by_email(ws, &email).await?;
        let (person, new_person) = match existing {
            None => {
                let record = PersonRecord {
                    id: PersonId::random(&mut OsRng),
                    workspace: ws,
                    email: email.clone(),
                    name: name.to_owned(),
                    role,
                    password_hash: None,
                    created_at: now,
                    status: PersonStatus::Invited,
                    totp_secret_ct: None,
                    totp_last_step: None,
                    offboarded_at: None,
                    offboard_reason: None,
                };
                (record.clone(), Some(record))
            }
            Some(p) if p.status == PersonStatus::Invited => (p, None),
            Some(p) if p.status == PersonStatus::Active => {
                return Err(VaultError::Conflict(format!(
                    "{email} is already an active member of this workspace (as {})",
                    p.role
                )));
            }
            Some(_) => {
                return Err(VaultError::Conflict(format!(
                    "{email} was offboarded, which is final: invite them with another address"
                )));
            }
        };
        let token = new_token();
        let expires_at = now + valid_for;
        let invite = InviteRecord {
            hash: token_hash(token.expose_secret()),
            workspace: ws,
            person: person.id,
            invited_by: actor.person,
            created_at: now,
            expires_at,
            used_at: None,
        };
        let mut attempt = crate::audit::Attempt::allowed(
            actor,
            KnownAction::Invite,
            Target::whole(TargetId::Person(person.id)),
        );
        attempt.reason = format!("{} invited as {}", attempt.reason, person.role);
        self.record(&[attempt]).await?;
        self.store()
            .insert_invite(&invite, new_person.as_ref())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => VaultError::Conflict(format!(
                    "{email} was added by someone else at the same time: look them up and try again"
                )),
                other => other.into(),
            })?;
        Ok(Invitation {
            person: crate::actor::person_of(person),
            token,
            expires_at,
        })
    }

    /// The pending invitation of `token`, for its page.
    pub async fn invitation(&self, token: &SecretString) -> Result<InvitationView, VaultError> {
        let (invite, person) = self.pending_invite(token).await?;
        let inviter = self
            .store()
            .person(self.workspace(), invite.invited_by)
            .await?
            .map(|p| p.name)
            .unwrap_or_else(|| "the workspace owner".into());
        Ok(InvitationView {
            workspace_name: self.workspace_name().to_owned(),
            email: person.email,
            name: person.name,
            role: person.role,
            invited_by: inviter,
            expires_at: invite.expires_at,
        })
    }

    async fn pending_invite(
        &self,
        token: &SecretString,
    ) -> Result<(InviteRecord, PersonRecord), VaultError> {
        let token = token.expose_secret();
        if !token.starts_with("cfd_") || token.len() > 100 {
            return Err(invalid_invitation());
        }
        let now = self.inner.clock.now();
        let invite = self
            .store()
            .invite(&token_hash(token))
            .await?
            .filter(|i| i.workspace == self.workspace())
            .filter(|i| i.used_at.is_none() && i.expires_at > now)
            .ok_or_else(invalid_invitation)?;
        let person = self
            .store()
            .person(self.workspace(), invite.person)
            .await?
            .filter(|p| p.status == PersonStatus::Invited)
            .ok_or_else(invalid_invitation)?;
        Ok((invite, person))
    }

    /// A fresh authenticator secret for `email` in this workspace, to show
    /// as a QR code while enrolling.
    pub fn new_totp_setup(&self, email: &str) -> Result<TotpSetup, VaultError> {
        second_factor::new_setup(&format!("confidant {}", self.workspace_name()), email)
    }

    /// The setup of a secret that a form sent back (to show its QR code
    /// again after a mistake); `InvalidInput` when it is not a secret.
    pub fn totp_setup_for(&self, email: &str, secret: &str) -> Result<TotpSetup, VaultError> {
        second_factor::setup_for(
            decode_secret(secret)?,
            &format!("confidant {}", self.workspace_name()),
            email,
        )
    }

    /// Accepts an invitation: checks the new password (ASVS rules) and the
    /// authenticator code for the secret shown on the page, then in one
    /// transaction uses up the link, stores both, makes the person active
    /// and signs them in. Nothing changes when anything is wrong; a used
    /// link never works again.
    pub async fn accept_invitation(
        &self,
        token: &SecretString,
        password: &SecretString,
        totp_secret: &str,
        code: &str,
        client: Option<IpAddr>,
        request: &SessionRequest,
    ) -> Result<Welcome, VaultError> {
        let (invite, person) = self.pending_invite(token).await?;
        check_new_password(
            password,
            &[&person.email, &person.name, self.workspace_name()],
        )?;
        let secret = decode_secret(totp_secret)?;
        let now = self.inner.clock.now();
        let step = second_factor::check_code(&secret, code, now).ok_or_else(|| {
            VaultError::InvalidInput(
                "the code from the authenticator app does not match: scan the QR code (or type \
                 the secret) in the app and enter the code it shows now"
                    .into(),
            )
        })?;
        let password_hash = self.hash_new_password(password).await?;
        let codes = new_recovery_codes();
        let ws = self.workspace();
        let factor = SecondFactorRecord {
            totp_secret_ct: self.seal_totp_secret(person.id, &secret)?,
            confirmed_step: step,
            recovery_code_hashes: recovery_code_hashes(ws, person.id, &codes),
        };
        let mut active = person.clone();
        active.status = PersonStatus::Active;
        active.totp_secret_ct = Some(factor.totp_secret_ct.clone());
        let (session, record) = self.new_session(&active, request.kind(), &request.label)?;
        self.record(&[crate::audit::Attempt {
            person: Some(person.id),
            client,
            action: KnownAction::AcceptInvite,
            target: Target::whole(TargetId::Person(person.id)),
            allowed: true,
            reason: "invitation accepted: password set, authenticator enrolled".into(),
            categories: Vec::new(),
            keyed: Vec::new(),
            delivery: None,
            device: None,
        }])
        .await?;
        self.store()
            .accept_invite(&Acceptance {
                invite_hash: invite.hash,
                workspace: ws,
                person: person.id,
                at: now,
                password_hash,
                second_factor: factor,
                session: record,
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => invalid_invitation(),
                other => other.into(),
            })?;
        Ok(Welcome {
            session,
            recovery_codes: codes,
        })
    }

    /// Enrolls (or replaces) the actor's own second factor: the secret
    /// shown as a QR code and a code from the app that confirms it. Returns
    /// fresh recovery codes, to show once; the old ones stop working.
    pub async fn enroll_second_factor(
        &self,
        actor: &Actor,
        totp_secret: &str,
        code: &str,
    ) -> Result<Vec<SecretString>, VaultError> {
        self.require_member(actor)?;
        let secret = decode_secret(totp_secret)?;
        let now = self.inner.clock.now();
        let step = second_factor::check_code(&secret, code, now).ok_or_else(|| {
            VaultError::InvalidInput(
                "the code from the authenticator app does not match: scan the QR code again and \
                 enter the code it shows now"
                    .into(),
            )
        })?;
        let codes = new_recovery_codes();
        let ws = self.workspace();
        let factor = SecondFactorRecord {
            totp_secret_ct: self.seal_totp_secret(actor.person, &secret)?,
            confirmed_step: step,
            recovery_code_hashes: recovery_code_hashes(ws, actor.person, &codes),
        };
        let mut attempt = crate::audit::Attempt::allowed(
            actor,
            KnownAction::EnrollSecondFactor,
            Target::whole(TargetId::Person(actor.person)),
        );
        attempt.reason = "authenticator app enrolled by its holder".into();
        self.record(&[attempt]).await?;
        self.store()
            .set_second_factor(ws, actor.person, &factor)
            .await?;
        Ok(codes)
    }

    /// Everyone of the workspace, oldest first (owner, admins, auditors).
    pub async fn people(&self, actor: &Actor) -> Result<Vec<Person>, VaultError> {
        self.require_reader(actor, "list people")?;
        Ok(self
            .store()
            .people(self.workspace())
            .await?
            .into_iter()
            .map(crate::actor::person_of)
            .collect())
    }

    /// A person found by e-mail address or id.
    pub(crate) async fn find_person(&self, who: &str) -> Result<PersonRecord, VaultError> {
        let ws = self.workspace();
        let found = if let Ok(id) = who.trim().parse::<PersonId>() {
            self.store().person(ws, id).await?
        } else {
            let email =
                normalize_email(who).map_err(|e| VaultError::InvalidInput(e.to_string()))?;
            self.store().person_by_email(ws, &email).await?
        };
        found.ok_or_else(|| {
            VaultError::NotFound(format!(
                "no person {} in this workspace: `confidant people list` shows everyone",
                who.trim()
            ))
        })
    }

    /// One person, their sessions and latest ledger entries (owner,
    /// admins, auditors).
    pub async fn person_detail(
        &self,
        actor: &Actor,
        who: &str,
    ) -> Result<PersonDetail, VaultError> {
        self.require_reader(actor, "see a person")?;
        let record = self.find_person(who).await?;
        let sessions = self.sessions_of_person(record.id).await?;
        let left = self
            .store()
            .recovery_codes_left(self.workspace(), record.id)
            .await?;
        let mut recent = self.ledger_log(actor, Some(&record.email), None).await?;
        recent.reverse();
        recent.truncate(50);
        Ok(PersonDetail {
            created_at: record.created_at,
            has_second_factor: record.totp_secret_ct.is_some(),
            recovery_codes_left: left,
            sessions,
            offboarded_at: record.offboarded_at,
            offboard_reason: record.offboard_reason.clone(),
            person: crate::actor::person_of(record),
            recent,
        })
    }

    /// Offboards a person in one step: the account is disabled, every
    /// session and API token ends, pending invitations are cancelled (and,
    /// as later parts arrive, grants, passcodes and devices are revoked in
    /// the same step). Returns what they had reached, from the ledger.
    pub async fn offboard(
        &self,
        actor: &Actor,
        who: &str,
        reason: &str,
    ) -> Result<Offboarded, VaultError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(VaultError::InvalidInput(
                "say why the person is offboarded (--reason, at most 500 characters): it is kept \
                 in the access record"
                    .into(),
            ));
        }
        self.require_owner(actor, "offboard people")?;
        let record = self.find_person(who).await?;
        self.may_offboard(actor, &record).await?;
        let now = self.inner.clock.now();
        let grants: Vec<crate::GrantView> = self
            .grants(actor, Some(&record.id.to_string()))
            .await?
            .into_iter()
            .filter(|g| g.grant.is_live(now))
            .collect();
        self.record_offboarding(actor, &record, reason).await?;
        let done = self
            .store()
            .offboard_person(self.workspace(), record.id, now, reason)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    VaultError::Conflict(format!("{} was offboarded already", record.email))
                }
                other => other.into(),
            })?
            .ok_or_else(|| VaultError::NotFound("the person disappeared".into()))?;
        let accessed = self.accessed_by(actor, &record.email).await?;
        let mut person = crate::actor::person_of(done.person);
        person.status = PersonStatus::Offboarded;
        Ok(Offboarded {
            role_access: role_access(person.role).to_owned(),
            person,
            sessions_ended: done.sessions_ended,
            invites_cancelled: done.invites_cancelled,
            grants_ended: done.grants_ended,
            devices_revoked: done.devices_revoked,
            grants,
            accessed,
        })
    }

    /// Items `person` was let at (allowed entries on documents, record
    /// sets and rows), summed up per item.
    async fn accessed_by(&self, actor: &Actor, email: &str) -> Result<Vec<Accessed>, VaultError> {
        let mut by_target: BTreeMap<Vec<u8>, Accessed> = BTreeMap::new();
        for (_, entry) in self.ledger_log(actor, Some(email), None).await? {
            if entry.decision != Decision::Allow {
                continue;
            }
            let id = entry.target.id;
            if !matches!(
                id,
                TargetId::Document(_) | TargetId::RecordSet(_) | TargetId::Row(_)
            ) {
                continue;
            }
            let action = match &entry.action {
                Action::Known(a) => a.as_str().to_owned(),
                other => other.to_string(),
            };
            let time = entry.time.to_datetime();
            let key = format!("{id:?}").into_bytes();
            let slot = by_target.entry(key).or_insert_with(|| Accessed {
                kind: id.kind().to_string(),
                id: match id {
                    TargetId::Document(d) => d.to_string(),
                    TargetId::RecordSet(s) => s.to_string(),
                    TargetId::Row(r) => r.to_string(),
                    TargetId::Person(p) => p.to_string(),
                    TargetId::Workspace(w) => w.to_string(),
                },
                target: id,
                name: None,
                actions: BTreeMap::new(),
                last: time,
            });
            *slot.actions.entry(action).or_default() += 1;
            slot.last = slot.last.max(time);
        }
        let mut out: Vec<Accessed> = by_target.into_values().collect();
        for item in &mut out {
            item.name = match item.target {
                TargetId::Document(id) => self.document_name(id).await.ok(),
                TargetId::RecordSet(id) => self
                    .store()
                    .record_set(self.workspace(), id)
                    .await?
                    .map(|s| s.name),
                _ => None,
            };
        }
        out.sort_by_key(|a| std::cmp::Reverse(a.last));
        Ok(out)
    }

    /// Refuses (and records the refusal) unless `actor` may manage people
    /// of `role`.
    /// Whether `actor` may offboard `record` (not themselves, not a role
    /// above theirs).
    pub(crate) async fn may_offboard(
        &self,
        actor: &Actor,
        record: &confidant_store::PersonRecord,
    ) -> Result<(), VaultError> {
        self.gate_people(actor, record.role, "offboard this person")
            .await?;
        if record.id == actor.person {
            return Err(VaultError::InvalidInput(
                "you cannot offboard yourself".into(),
            ));
        }
        Ok(())
    }

    /// Puts an offboarding on the ledger (before the store changes).
    pub(crate) async fn record_offboarding(
        &self,
        actor: &Actor,
        record: &confidant_store::PersonRecord,
        reason: &str,
    ) -> Result<(), VaultError> {
        let mut attempt = crate::audit::Attempt::allowed(
            actor,
            KnownAction::Offboard,
            Target::whole(TargetId::Person(record.id)),
        );
        attempt.reason = format!("offboarded: {reason}");
        self.record(&[attempt]).await
    }

    async fn gate_people(&self, actor: &Actor, role: Role, what: &str) -> Result<(), VaultError> {
        let allowed = actor.workspace == self.workspace() && actor.role.may_manage(role);
        if allowed {
            return Ok(());
        }
        let error = VaultError::Forbidden(format!(
            "{what}: a {} cannot manage people of role {role}",
            actor.role
        ));
        let target = Target::whole(TargetId::Workspace(self.workspace()));
        Err(self
            .refused(actor, KnownAction::Invite, target, error)
            .await)
    }

    /// Refuses actors of another workspace.
    pub(crate) fn require_member(&self, actor: &Actor) -> Result<(), VaultError> {
        if actor.workspace == self.workspace() {
            Ok(())
        } else {
            Err(VaultError::Forbidden(
                "you are not a member of this workspace".into(),
            ))
        }
    }
}
