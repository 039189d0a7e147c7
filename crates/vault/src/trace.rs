//! Tracing a leaked copy: every fingerprint, stamp, metadata id and honey
//! record found in a file is matched against the workspace's ledger, and
//! each delivery is answered with whom it went to, when, which item, which
//! action, and the ledger entry with its inclusion proof.

use confidant_core::delivery::DeliveryId;
use confidant_ledger::{Entry, TargetId};

use crate::audit::InclusionProof;
use crate::{Actor, Vault, VaultError};

/// One delivery a leaked file names, and what the ledger says of it.
#[derive(Debug, Clone)]
pub struct TracedDelivery {
    pub delivery: DeliveryId,
    /// What was found, in words ("invisible fingerprint in text (x3)").
    pub evidence: Vec<String>,
    /// The ledger's entry for it; `None` when no entry of this workspace
    /// names the delivery (a forged or foreign id).
    pub sent: Option<Sent>,
}

/// The ledger's record of a delivery.
#[derive(Debug, Clone)]
pub struct Sent {
    pub index: u64,
    pub entry: Entry,
    /// The recipient, as the people list names them.
    pub email: String,
    pub name: String,
    /// The item, by name ("document invoices/q3.txt").
    pub item: String,
    /// The entry's inclusion proof in the latest signed checkpoint, or why
    /// there is none yet.
    pub proof: Result<InclusionProof, String>,
}

/// What a trace found.
#[derive(Debug, Clone)]
pub struct TraceReport {
    /// The file's format, when recognised.
    pub format: Option<String>,
    pub deliveries: Vec<TracedDelivery>,
    /// Honey records found, with the delivery each belongs to.
    pub honey: Vec<(String, DeliveryId)>,
    pub notes: Vec<String>,
}

impl TraceReport {
    pub fn is_empty(&self) -> bool {
        self.deliveries.is_empty() && self.honey.is_empty()
    }
}

impl Vault {
    /// Whether `actor` may trace leaked copies (owner, admins, auditors),
    /// for a page that offers the upload.
    pub fn may_trace(&self, actor: &Actor) -> Result<(), VaultError> {
        self.require_reader(actor, "trace a leaked copy")
    }

    /// Traces a leaked file (owner, admins and auditors): which deliveries
    /// it came from, to whom, when, what.
    pub async fn trace(
        &self,
        actor: &Actor,
        file_name: Option<&str>,
        bytes: &[u8],
    ) -> Result<TraceReport, VaultError> {
        self.may_trace(actor)?;
        let options = confidant_mark::TraceOptions {
            honey_domains: Vec::new(),
            file_name: file_name.map(str::to_owned),
        };
        let owned = bytes.to_vec();
        let found =
            tokio::task::spawn_blocking(move || confidant_mark::trace_with(&owned, &options))
                .await
                .map_err(|e| VaultError::Internal(format!("tracing failed: {e}")))?;
        let log = self.ledger_log(actor, None, None).await?;
        let people = self.store().people(self.workspace()).await?;
        let mut deliveries = Vec::new();
        let mut ids: Vec<DeliveryId> = found.deliveries();
        // Honey records name their delivery through the honey table.
        let honey = self.honey_matches(&found.honey_candidates).await?;
        for (_, delivery) in &honey {
            if !ids.contains(delivery) {
                ids.push(*delivery);
            }
        }
        for delivery in ids {
            let evidence: Vec<String> = found
                .findings
                .iter()
                .filter(|f| f.delivery == delivery)
                .flat_map(|f| f.evidence.iter())
                .map(|e| format!("{:?} in {} (x{})", e.kind, e.place, e.count))
                .chain(
                    honey
                        .iter()
                        .filter(|(_, d)| *d == delivery)
                        .map(|(what, _)| format!("honey record: {what}")),
                )
                .collect();
            let text = delivery.to_string();
            let sent = match log
                .iter()
                .find(|(_, e)| e.delivery.as_ref().is_some_and(|d| d.as_str() == text))
            {
                None => None,
                Some((index, entry)) => {
                    let person = people.iter().find(|p| Some(p.id) == entry.actor);
                    let item = match entry.target.id {
                        TargetId::Document(id) => match self.document_name(id).await {
                            Ok(name) => format!("document {name}"),
                            Err(_) => format!("document {id} (deleted)"),
                        },
                        TargetId::RecordSet(id) => {
                            match self.store().record_set(self.workspace(), id).await? {
                                Some(set) => format!("record set {}", set.name),
                                None => format!("record set {id} (deleted)"),
                            }
                        }
                        other => format!("{:?}", other.kind()),
                    };
                    Some(Sent {
                        index: *index,
                        entry: entry.clone(),
                        email: person.map(|p| p.email.clone()).unwrap_or_default(),
                        name: person.map(|p| p.name.clone()).unwrap_or_default(),
                        item,
                        proof: self
                            .inclusion_proof(actor, *index)
                            .await
                            .map_err(|e| e.to_string()),
                    })
                }
            };
            deliveries.push(TracedDelivery {
                delivery,
                evidence,
                sent,
            });
        }
        Ok(TraceReport {
            format: found.format.map(|f| f.name().to_owned()),
            deliveries,
            honey,
            notes: found.notes,
        })
    }
}
