//! Day passcodes: the second secret on a sensitive grant, valid until the
//! end of the workspace's business day (or a window the owner sets), stored
//! only as an Argon2id hash, entered once per item per day, locked for the
//! day after five wrong tries. Every issue, use and failure is in the
//! ledger.

use confidant_core::{
    GrantId, GrantScope, GrantStatus, Label, MAX_PASSCODE_FAILURES, MAX_PASSCODE_HOURS, PasscodeId,
    normalize_passcode, passcode_required, passcode_text,
};
use confidant_ledger::{KnownAction, Target, TargetId};
use confidant_policy::Item;
use confidant_store::{PasscodeRecord, PasscodeScope, UnlockRecord};
use rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::audit::Attempt;
use crate::gates::unlock_key;
use crate::{Actor, DocRef, Vault, VaultError};

/// A passcode just issued: shown once, to be passed on by another channel.
#[derive(Debug)]
pub struct IssuedPasscode {
    pub id: PasscodeId,
    pub passcode: SecretString,
    pub grant: GrantId,
    pub email: String,
    /// What the grant covers, in words.
    pub item: String,
    pub valid_from: OffsetDateTime,
    pub valid_until: OffsetDateTime,
}

/// The item a passcode is entered for.
#[derive(Debug, Clone)]
pub enum PasscodeItem {
    Document(DocRef),
    RecordSet(String),
}

/// A grant's passcode state, for the owner's page.
#[derive(Debug, Clone)]
pub struct PasscodeState {
    pub grant: GrantId,
    pub email: String,
    pub item: String,
    /// A passcode is valid now, until then.
    pub valid_until: Option<OffsetDateTime>,
    /// One is issued for the next business day.
    pub next_issued: bool,
    /// Wrong tries today.
    pub failures: u32,
    pub locked: bool,
}

impl Vault {
    /// Whether a grant needs the day passcode: it asks for one, or it
    /// reaches a Confidential or Restricted item.
    async fn grant_needs_passcode(
        &self,
        grant: &confidant_core::Grant,
    ) -> Result<bool, VaultError> {
        if grant.require_passcode {
            return Ok(true);
        }
        let label = match &grant.scope {
            GrantScope::Document { id } => {
                match self.store().document(self.workspace(), *id).await? {
                    Some(d) => d.label,
                    None => return Ok(false),
                }
            }
            GrantScope::RecordSet { id, .. } => {
                match self.store().record_set(self.workspace(), *id).await? {
                    Some(s) => s.label,
                    None => return Ok(false),
                }
            }
            // A request not yet approved covers nothing; were it ever
            // asked, the passcode is the safe answer.
            GrantScope::Named { .. } => return Ok(true),
            GrantScope::Folder { .. } => {
                // The most sensitive document under the folder decides.
                let names = &self.current_keys().names;
                let mut highest = Label::Public;
                for record in self.store().documents(self.workspace()).await? {
                    let meta = self.doc_meta(&record, names)?;
                    if grant.scope.covers_document(record.id, &meta.name) {
                        highest = highest.max(record.label);
                    }
                }
                highest
            }
        };
        Ok(passcode_required(label, false))
    }

    async fn hash_passcode(&self, passcode: &str) -> Result<String, VaultError> {
        self.hash_new_password(&SecretString::from(passcode.to_owned()))
            .await
    }

    /// Issues a passcode for a live grant (owner and admins), valid from
    /// now to the end of the business day, or for `hours` when given. It
    /// replaces the grant's earlier passcodes (they stop working at once).
    pub async fn issue_passcode(
        &self,
        actor: &Actor,
        grant: GrantId,
        hours: Option<u32>,
    ) -> Result<IssuedPasscode, VaultError> {
        self.gate(actor, "issue a passcode", KnownAction::PasscodeIssue)
            .await?;
        let now = self.inner.clock.now();
        let until = match hours {
            Some(0) => {
                return Err(VaultError::InvalidInput(
                    "a passcode valid for 0 hours would never work: give 1 to 168 hours, or \
                     leave it out for the rest of the business day"
                        .into(),
                ));
            }
            Some(h) if h > MAX_PASSCODE_HOURS => {
                return Err(VaultError::InvalidInput(format!(
                    "a passcode lasts at most {MAX_PASSCODE_HOURS} hours (a week); {h} is too long"
                )));
            }
            Some(h) => now + time::Duration::hours(i64::from(h)),
            None => self
                .business_day()
                .await?
                .day_end_after(now)
                .map_err(|e| VaultError::Internal(e.to_string()))?,
        };
        self.issue_for(actor, grant, now, until, true).await
    }

    async fn issue_for(
        &self,
        actor: &Actor,
        grant: GrantId,
        from: OffsetDateTime,
        until: OffsetDateTime,
        replace: bool,
    ) -> Result<IssuedPasscode, VaultError> {
        let view = self.grant_by_id(actor, grant).await?;
        let now = self.inner.clock.now();
        if view.grant.status != GrantStatus::Active || view.grant.expires_at <= now {
            return Err(VaultError::Conflict(format!(
                "grant {grant} is not in force ({}): a passcode for it would open nothing",
                if view.grant.status == GrantStatus::Active {
                    "expired"
                } else {
                    view.grant.status.as_str()
                }
            )));
        }
        let until = until.min(view.grant.expires_at);
        let passcode = passcode_text(OsRng.next_u64());
        let bare = normalize_passcode(&passcode).ok_or_else(|| {
            VaultError::Internal("a generated passcode does not read back".into())
        })?;
        let record = PasscodeRecord {
            id: PasscodeId::random(&mut OsRng),
            workspace: self.workspace(),
            person: view.grant.person,
            grant,
            hash: self.hash_passcode(&bare).await?,
            valid_from: from,
            valid_until: until,
            created_at: now,
            revoked_at: None,
        };
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::PasscodeIssue,
            Target::whole(TargetId::Person(view.grant.person)),
        );
        attempt.reason = format!(
            "{}: passcode {} for grant {grant}, valid {} to {}",
            attempt.reason,
            record.id,
            from.unix_timestamp(),
            until.unix_timestamp()
        );
        self.record(&[attempt]).await?;
        if replace {
            self.store()
                .revoke_passcodes(self.workspace(), PasscodeScope::Grant(grant), now)
                .await?;
        }
        self.store().insert_passcode(&record).await?;
        Ok(IssuedPasscode {
            id: record.id,
            passcode: SecretString::from(passcode),
            grant,
            email: view.person_email,
            item: view.item,
            valid_from: from,
            valid_until: until,
        })
    }

    /// Issues the next business day's passcodes for every live grant that
    /// needs one and has none for that day yet (owner and admins): the
    /// digest to pass on. Run it once a day (`confidant passcodes rotate`
    /// from cron, or `serve` at the end of each business day).
    pub async fn rotate_passcodes(&self, actor: &Actor) -> Result<Vec<IssuedPasscode>, VaultError> {
        self.require_owner(actor, "rotate the passcodes")?;
        let now = self.inner.clock.now();
        let (start, end) = self
            .business_day()
            .await?
            .next_day(now)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        let mut out = Vec::new();
        for record in self.store().grants(self.workspace()).await? {
            let grant = self.open_grant(&record)?;
            if grant.status != GrantStatus::Active
                || grant.expires_at <= start
                || !self.grant_needs_passcode(&grant).await?
            {
                continue;
            }
            let existing = self
                .store()
                .passcodes_of_grant(self.workspace(), grant.id, start)
                .await?;
            if existing
                .iter()
                .any(|p| p.revoked_at.is_none() && p.valid_from >= start)
            {
                continue;
            }
            out.push(self.issue_for(actor, grant.id, start, end, false).await?);
        }
        Ok(out)
    }

    /// The passcode state of every live grant that needs one (owner and
    /// admins): who has today's, who is locked out.
    pub async fn passcode_states(&self, actor: &Actor) -> Result<Vec<PasscodeState>, VaultError> {
        self.require_owner(actor, "see the passcodes")?;
        let now = self.inner.clock.now();
        let day = self.business_day().await?;
        let day_end = day
            .day_end_after(now)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        let mut out = Vec::new();
        for view in self.grants(actor, None).await? {
            let grant = &view.grant;
            if !grant.is_live(now) || !self.grant_needs_passcode(grant).await? {
                continue;
            }
            let passcodes = self
                .store()
                .passcodes_of_grant(self.workspace(), grant.id, now)
                .await?;
            let failures = self
                .store()
                .passcode_failures(self.workspace(), grant.id, day_end)
                .await?;
            out.push(PasscodeState {
                grant: grant.id,
                email: view.person_email.clone(),
                item: view.item.clone(),
                valid_until: passcodes
                    .iter()
                    .filter(|p| p.is_live(now))
                    .map(|p| p.valid_until)
                    .max(),
                next_issued: passcodes
                    .iter()
                    .any(|p| p.revoked_at.is_none() && p.valid_from >= day_end),
                failures,
                locked: failures >= MAX_PASSCODE_FAILURES,
            });
        }
        Ok(out)
    }

    /// Enters the day passcode for an item: on success the item opens for
    /// `actor` without it until the passcode's end. A wrong passcode counts
    /// against each grant covering the item; the fifth locks them for the
    /// day. Items the person has no live grant on answer like missing ones.
    pub async fn enter_passcode(
        &self,
        actor: &Actor,
        item: &PasscodeItem,
        typed: &SecretString,
    ) -> Result<OffsetDateTime, VaultError> {
        self.require_member(actor)?;
        let now = self.inner.clock.now();
        // Resolve the item the way a read would, and its covering grants.
        let (target, key, grants) = match item {
            PasscodeItem::Document(doc) => {
                let record = self.find_document(doc).await?;
                let keys = self.keys_for(record.kek_id).await?;
                let meta = self.doc_meta(&record, &keys.names)?;
                let item = Item::Document {
                    workspace: record.workspace,
                    id: record.id,
                    name: &meta.name,
                    label: record.label,
                    categories: &[],
                };
                let grants = self.covering_grants(actor, &item, now).await?;
                if grants.is_empty() {
                    return Err(self
                        .passcode_refused(actor, TargetId::Document(record.id), "no live grant")
                        .await
                        .unwrap_or_else(|| crate::documents::not_found(doc)));
                }
                (TargetId::Document(record.id), unlock_key(&item), grants)
            }
            PasscodeItem::RecordSet(name) => {
                let set = self.find_record_set(name).await?;
                let item = Item::RecordSet {
                    workspace: set.workspace,
                    id: set.id,
                    name: &set.name,
                    label: set.label,
                    categories: &[],
                };
                let grants = self.covering_grants(actor, &item, now).await?;
                if grants.is_empty() {
                    return Err(self
                        .passcode_refused(actor, TargetId::RecordSet(set.id), "no live grant")
                        .await
                        .unwrap_or_else(|| crate::records::set_not_found(name)));
                }
                (TargetId::RecordSet(set.id), unlock_key(&item), grants)
            }
        };
        let day_end = self
            .business_day()
            .await?
            .day_end_after(now)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        let mut locked = true;
        for grant in &grants {
            let failures = self
                .store()
                .passcode_failures(self.workspace(), *grant, day_end)
                .await?;
            locked &= failures >= MAX_PASSCODE_FAILURES;
        }
        if locked {
            if let Some(e) = self
                .passcode_refused(
                    actor,
                    target,
                    "locked for the day after five wrong passcodes",
                )
                .await
            {
                return Err(e);
            }
            return Err(VaultError::RateLimited {
                message: "this item's passcode is locked for the rest of the day after five \
                          wrong tries; the owner has been told and can issue a new one"
                    .into(),
                retry_after: day_end - now,
            });
        }
        let mut live = Vec::new();
        for grant in &grants {
            live.extend(
                self.store()
                    .passcodes_of_grant(self.workspace(), *grant, now)
                    .await?
                    .into_iter()
                    .filter(|p| p.is_live(now)),
            );
        }
        if live.is_empty() {
            if let Some(e) = self
                .passcode_refused(actor, target, "no passcode issued for today")
                .await
            {
                return Err(e);
            }
            return Err(VaultError::Forbidden(
                "no passcode has been issued to you for this item today: ask the owner for \
                 today's passcode"
                    .into(),
            ));
        }
        let bare = normalize_passcode(typed.expose_secret());
        let mut matched = None;
        if let Some(bare) = &bare {
            let typed = SecretString::from(bare.clone());
            for passcode in &live {
                if self
                    .check_password(&typed, Some(passcode.hash.clone()))
                    .await?
                {
                    matched = Some(passcode.clone());
                    break;
                }
            }
        }
        let Some(passcode) = matched else {
            let mut most = 0;
            for grant in &grants {
                most = most.max(
                    self.store()
                        .add_passcode_failure(self.workspace(), *grant, day_end)
                        .await?,
                );
            }
            let left = MAX_PASSCODE_FAILURES.saturating_sub(most);
            let why = if left == 0 {
                "wrong passcode: locked for the day after five wrong tries (alert)".to_owned()
            } else {
                format!("wrong passcode ({most} of {MAX_PASSCODE_FAILURES} today)")
            };
            if let Some(e) = self.passcode_refused(actor, target, &why).await {
                return Err(e);
            }
            return Err(if left == 0 {
                VaultError::RateLimited {
                    message: "that passcode is not right, and that was the fifth wrong try: the \
                              item is locked for the rest of the day and the owner has been told"
                        .into(),
                    retry_after: day_end - now,
                }
            } else {
                VaultError::InvalidInput(format!(
                    "that passcode is not right: {left} {} left today (passcodes look like \
                     K7F3-9QXM-2HDP)",
                    if left == 1 { "try" } else { "tries" }
                ))
            });
        };
        let mut attempt = Attempt::allowed(actor, KnownAction::PasscodeUse, Target::whole(target));
        attempt.reason = format!(
            "passcode {} of grant {} entered; open until {}",
            passcode.id,
            passcode.grant,
            passcode.valid_until.unix_timestamp()
        );
        self.record(&[attempt]).await?;
        self.store()
            .insert_unlock(&UnlockRecord {
                workspace: self.workspace(),
                person: actor.person,
                passcode: passcode.id,
                grant: passcode.grant,
                item: key,
                until: passcode.valid_until,
            })
            .await?;
        Ok(passcode.valid_until)
    }

    /// The ids of `actor`'s live grants that cover `item` (any action).
    async fn covering_grants(
        &self,
        actor: &Actor,
        item: &Item<'_>,
        now: OffsetDateTime,
    ) -> Result<Vec<GrantId>, VaultError> {
        Ok(self
            .grants_for_decision(actor.person)
            .await?
            .into_iter()
            .filter(|g| g.is_live(now) && item.is_covered_by(&g.scope))
            .map(|g| g.id)
            .collect())
    }

    /// Records a refused passcode use. When the ledger cannot be written
    /// the refusal becomes `Unavailable` (returned as `Some`).
    async fn passcode_refused(
        &self,
        actor: &Actor,
        target: TargetId,
        why: &str,
    ) -> Option<VaultError> {
        let mut attempt = Attempt::allowed(actor, KnownAction::PasscodeUse, Target::whole(target));
        attempt.allowed = false;
        attempt.reason = why.to_owned();
        self.record(&[attempt]).await.err()
    }

    /// Revokes a grant's passcodes (when it ends).
    pub(crate) async fn revoke_grant_passcodes(&self, grant: GrantId) -> Result<(), VaultError> {
        self.store()
            .revoke_passcodes(
                self.workspace(),
                PasscodeScope::Grant(grant),
                self.inner.clock.now(),
            )
            .await?;
        Ok(())
    }
}
