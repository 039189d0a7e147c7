//! The circumstances of one person's requests: whether their agreements
//! count (per label), which items they unlocked with today's passcode, and
//! the workspace's local time. Read once per request and turned into the
//! policy context of each decision about an item.

use confidant_core::{BusinessDay, PersonId, Role};
use confidant_policy::{Context, Item};
use confidant_store::UnlockRecord;
use time::OffsetDateTime;

use crate::agreements::AgreementGates;
use crate::devices::{DeviceChoice, DeviceGate};
use crate::{Vault, VaultError};

/// See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct Circumstances {
    now: OffsetDateTime,
    minute_of_day: u16,
    agreements: AgreementGates,
    unlocks: Vec<UnlockRecord>,
    device: DeviceGate,
}

/// The id of the item a passcode unlocks: the document, or the record set
/// of a column.
pub(crate) fn unlock_key(item: &Item<'_>) -> String {
    match item {
        Item::Document { id, .. } => id.to_string(),
        Item::RecordSet { id, .. } => id.to_string(),
        Item::Column { set, .. } => set.to_string(),
    }
}

impl Circumstances {
    /// The policy context of a decision about `item`.
    pub(crate) fn context(&self, item: &Item<'_>) -> Context {
        let mut context = Context::new(self.now, self.minute_of_day);
        context.agreement_signed = self.agreements.nda_labels.contains(&item.label());
        context.handbook_acknowledged = self.agreements.handbook;
        let key = unlock_key(item);
        context.passcode_ok = self.unlocks.iter().any(|u| u.item == key);
        context.device_ok = self.device.ok(item.label());
        context
    }

    /// What to do about the device before opening `item` (empty: nothing).
    pub(crate) fn device_steps(&self, item: &Item<'_>) -> Vec<String> {
        self.device.steps(item.label())
    }
}

impl Vault {
    /// The workspace's business day (its time zone and the day's end).
    pub async fn business_day(&self) -> Result<BusinessDay, VaultError> {
        let (zone, ends) = self.store().business_day(self.workspace()).await?;
        BusinessDay::new(&zone, ends).map_err(|e| {
            VaultError::Integrity(format!(
                "the stored business day does not load ({e}): set it again with `confidant \
                 workspace set-day`"
            ))
        })
    }

    /// Sets the workspace's time zone and the time its business day ends
    /// (owner and admins): day passcodes end then, and time-of-day policies
    /// read this zone.
    pub async fn set_business_day(
        &self,
        actor: &crate::Actor,
        time_zone: &str,
        ends_at: &str,
    ) -> Result<BusinessDay, VaultError> {
        use confidant_ledger::{KnownAction, Target, TargetId};
        self.gate(actor, "change the business day", KnownAction::PolicyChange)
            .await?;
        let ends = BusinessDay::parse_time(ends_at)
            .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let day = BusinessDay::new(time_zone, ends)
            .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let mut attempt = crate::audit::Attempt::allowed(
            actor,
            KnownAction::PolicyChange,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!(
            "{}: business day set to end at {} {}",
            attempt.reason,
            day.ends_at_text(),
            day.time_zone()
        );
        self.record(&[attempt]).await?;
        self.store()
            .set_business_day(self.workspace(), day.time_zone(), day.ends_at())
            .await?;
        Ok(day)
    }

    /// Whether the owner's own copies of Confidential and Restricted
    /// documents are stamped (on unless the owner turned it off).
    pub async fn owner_copies_stamped(&self) -> Result<bool, VaultError> {
        Ok(self.store().owner_copies_stamped(self.workspace()).await?)
    }

    /// The owner turns stamps on their own copies off or on again (the
    /// owner only: everyone else's copies are always stamped).
    pub async fn set_owner_copies_stamped(
        &self,
        actor: &crate::Actor,
        stamped: bool,
    ) -> Result<(), VaultError> {
        use confidant_ledger::{KnownAction, Target, TargetId};
        if actor.role != Role::Owner || actor.workspace != self.workspace() {
            let target = Target::whole(TargetId::Workspace(self.workspace()));
            return Err(self
                .refused(
                    actor,
                    KnownAction::PolicyChange,
                    target,
                    VaultError::Forbidden(
                        "only the owner decides whether their own copies are stamped".into(),
                    ),
                )
                .await);
        }
        let mut attempt = crate::audit::Attempt::allowed(
            actor,
            KnownAction::PolicyChange,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!(
            "{}: stamps on the owner's own copies turned {}",
            attempt.reason,
            if stamped { "on" } else { "off" }
        );
        self.record(&[attempt]).await?;
        self.store()
            .set_owner_copies_stamped(self.workspace(), stamped)
            .await?;
        Ok(())
    }

    /// The circumstances of the actor's requests now, from the device
    /// their session is linked to.
    pub(crate) async fn circumstances(
        &self,
        actor: &crate::Actor,
    ) -> Result<Circumstances, VaultError> {
        self.circumstances_of(
            actor.person,
            actor.role,
            &DeviceChoice::Session(actor.device),
        )
        .await
    }

    /// The circumstances of `person`'s requests now, counting `device`.
    pub(crate) async fn circumstances_of(
        &self,
        person: PersonId,
        role: Role,
        device: &DeviceChoice,
    ) -> Result<Circumstances, VaultError> {
        let now = self.inner.clock.now();
        let day = self.business_day().await?;
        let (agreements, unlocks, device) = if role.manages_people() {
            // The owner and admins pass the gates by role.
            (
                AgreementGates::default(),
                Vec::new(),
                DeviceGate::exempt(now),
            )
        } else {
            (
                self.agreement_gates(person, role).await?,
                self.store()
                    .unlocks_of(self.workspace(), person, now)
                    .await?,
                self.device_gate(person, device, now).await?,
            )
        };
        Ok(Circumstances {
            now,
            minute_of_day: day.minute_of_day(now),
            agreements,
            unlocks,
            device,
        })
    }
}
