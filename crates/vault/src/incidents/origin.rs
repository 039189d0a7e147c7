//! Incidents opened from evidence instead of a name: a delivery id (what
//! `trace` found in a leaked copy) names the person it went to and the
//! time around which to look; a honey record found in the wild (an
//! address at the honey domain, or a mail received at one) names its
//! delivery through the keyed honey hashes.

use confidant_core::DataCategory;
use confidant_core::delivery::DeliveryId;
use confidant_mark::{HoneyCandidate, HoneyTag};
use time::{Duration, OffsetDateTime};

use super::{IncidentRequest, IncidentView, datetime};
use crate::{Actor, Vault, VaultError};

/// An incident about one delivery: its recipient's accesses from
/// `around` before it to `around` after it (at most until now).
#[derive(Clone, Debug)]
pub struct DeliveryIncident {
    /// The delivery id, as `confidant trace` prints it.
    pub delivery: String,
    pub around: Duration,
    pub reason: String,
    pub aware_at: Option<OffsetDateTime>,
    pub offboard: bool,
}

/// A honey record seen in the wild.
#[derive(Clone, Debug)]
pub enum HoneyEvidence {
    /// A honey e-mail address (a mail came to it, or it was seen listed).
    Address(String),
    /// A file (a mail received at a honey address, a leaked list): its
    /// name (for its format) and bytes.
    File(Option<String>, Vec<u8>),
}

impl Vault {
    /// Opens an incident against the recipient of a delivery, over the
    /// window around it; the timeline says which delivery (and ledger
    /// entry) it came from.
    pub async fn open_incident_for_delivery(
        &self,
        actor: &Actor,
        request: &DeliveryIncident,
    ) -> Result<IncidentView, VaultError> {
        self.require_owner(actor, "open an incident")?;
        let delivery: DeliveryId = request.delivery.trim().parse().map_err(|_| {
            VaultError::InvalidInput(format!(
                "{:?} is not a delivery id: `confidant trace FILE` prints the ids a leaked copy \
                 carries (nothing was changed)",
                request.delivery
            ))
        })?;
        if request.around <= Duration::ZERO || request.around > Duration::days(366) {
            return Err(VaultError::InvalidInput(
                "the window around a delivery is from 1 hour to 366 days (nothing was changed)"
                    .into(),
            ));
        }
        let text = delivery.to_string();
        let log = self.ledger_log(actor, None, None).await?;
        let Some((index, entry)) = log
            .iter()
            .find(|(_, e)| e.delivery.as_ref().is_some_and(|d| d.as_str() == text))
        else {
            return Err(VaultError::NotFound(format!(
                "no ledger entry of this workspace names delivery {delivery}: it is foreign \
                 or forged (nothing was changed)"
            )));
        };
        let Some(person) = entry.actor else {
            return Err(VaultError::NotFound(format!(
                "delivery {delivery} names no person (nothing was changed)"
            )));
        };
        let email = self
            .store()
            .person(self.workspace(), person)
            .await?
            .map(|p| p.email)
            .ok_or_else(|| {
                VaultError::NotFound(format!(
                    "the recipient of delivery {delivery} is no longer a person of this \
                     workspace (nothing was changed)"
                ))
            })?;
        let at = datetime(entry.time.unix_millis());
        let view = self
            .open_incident(
                actor,
                &IncidentRequest {
                    person: email,
                    since: at - request.around,
                    until: Some(at + request.around),
                    reason: request.reason.clone(),
                    aware_at: request.aware_at,
                    offboard: request.offboard,
                },
            )
            .await?;
        self.incident_step(
            actor,
            view.id,
            confidant_ledger::TargetId::Person(person),
            "from a delivery",
            format!("delivery {delivery} (ledger entry {index})"),
        )
        .await?;
        self.incident(actor, &view.id.to_string()).await
    }

    /// The delivery a honey record belongs to, found through the keyed
    /// honey hashes; an error when none or several match.
    pub async fn honey_delivery(
        &self,
        actor: &Actor,
        evidence: &HoneyEvidence,
    ) -> Result<DeliveryId, VaultError> {
        self.require_owner(actor, "report a honey record")?;
        let matches = match evidence {
            HoneyEvidence::Address(address) => {
                let address = address.trim().trim_matches(['<', '>']);
                if !address.contains('@') || address.contains(char::is_whitespace) {
                    return Err(VaultError::InvalidInput(format!(
                        "{address:?} is not an e-mail address: give the honey address, or the \
                         file of a mail received at it (nothing was changed)"
                    )));
                }
                let candidate = HoneyCandidate {
                    tag: HoneyTag::new(DataCategory::Email, address),
                    place: "the address given".into(),
                    count: 1,
                };
                self.honey_matches(std::slice::from_ref(&candidate)).await?
            }
            HoneyEvidence::File(name, bytes) => {
                self.trace(actor, name.as_deref(), bytes).await?.honey
            }
        };
        let mut deliveries: Vec<DeliveryId> = matches.iter().map(|(_, d)| *d).collect();
        deliveries.sort();
        deliveries.dedup();
        match deliveries.as_slice() {
            [one] => Ok(*one),
            [] => Err(VaultError::NotFound(
                "no honey record of this workspace matches: it is not one of ours, or its \
                 export was made by another workspace (nothing was changed)"
                    .into(),
            )),
            many => Err(VaultError::Conflict(format!(
                "honey records of {} deliveries were found ({}): open one incident per delivery \
                 with `incident open --delivery ID` (nothing was changed)",
                many.len(),
                many.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Opens an incident against the recipient of the delivery a honey
    /// record belongs to.
    pub async fn open_incident_for_honey(
        &self,
        actor: &Actor,
        evidence: &HoneyEvidence,
        request: &DeliveryIncident,
    ) -> Result<IncidentView, VaultError> {
        let delivery = self.honey_delivery(actor, evidence).await?;
        let view = self
            .open_incident_for_delivery(
                actor,
                &DeliveryIncident {
                    delivery: delivery.to_string(),
                    ..request.clone()
                },
            )
            .await?;
        self.incident_step(
            actor,
            view.id,
            confidant_ledger::TargetId::Person(view.person),
            "honey record found",
            format!("a honey record of delivery {delivery} was reported"),
        )
        .await?;
        self.incident(actor, &view.id.to_string()).await
    }
}
