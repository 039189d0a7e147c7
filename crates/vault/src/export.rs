//! Exporting a record set as CSV: its own action (`export`), decided per
//! column like a view (columns outside the grant, and sensitive ones, leave
//! masked). A copy of a Confidential or Restricted set is stamped for its
//! recipient (a banner row and invisible fingerprints) and carries a few
//! honey records: plausible fake customers unique to this delivery, whose
//! keyed hashes are kept so a leaked list names its source even when the
//! banner and fingerprints are stripped.

use confidant_core::Access;
use confidant_core::delivery::DeliveryId;
use confidant_ledger::KnownAction;
use confidant_mark::{ColumnSpec, HoneyCandidate, HoneyTag};
use rand_core::OsRng;

use crate::{Actor, Vault, VaultError};

/// Honey records added to each stamped export.
pub const HONEY_PER_EXPORT: usize = 3;

/// An export, ready to leave.
#[derive(Debug, Clone)]
pub struct Export {
    pub file_name: String,
    pub format: ExportFormat,
    /// The file: CSV or XLSX, stamped when the set is Confidential or
    /// Restricted.
    pub bytes: Vec<u8>,
    /// The delivery of a stamped copy.
    pub delivery: Option<DeliveryId>,
    /// Real rows in it (honey records not counted).
    pub rows: usize,
}

/// The file an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    /// `csv` or `xlsx` (also the file name's extension).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    /// `csv` or `xlsx`, in any case.
    pub fn parse(text: &str) -> Result<ExportFormat, VaultError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            other => Err(VaultError::InvalidInput(format!(
                "{other:?} is not an export format: use csv or xlsx"
            ))),
        }
    }
}

impl Vault {
    /// The keyed hash under which a honey value is kept.
    fn honey_hash(&self, tag: &HoneyTag) -> Vec<u8> {
        self.current_keys().names.blind_index(
            &[b"honey", tag.category.as_str().as_bytes()],
            tag.value.as_bytes(),
        )
    }

    /// The workspace's key for making honey records (derived from its
    /// names key, so a rotation keeps it).
    fn honey_key(&self) -> [u8; 32] {
        let names = &self.current_keys().names;
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(&names.blind_index(&[b"honey-key"], b"0"));
        key[16..].copy_from_slice(&names.blind_index(&[b"honey-key"], b"1"));
        key
    }

    /// Where honey e-mail addresses point: the owner's own mail domain,
    /// which the owner controls, so mail to a honey address reaches them.
    async fn honey_domain(&self) -> Result<String, VaultError> {
        let owner = self
            .store()
            .owner(self.workspace())
            .await?
            .ok_or_else(|| VaultError::Integrity("the workspace has no owner".into()))?;
        Ok(owner
            .email
            .rsplit_once('@')
            .map_or_else(|| "example.invalid".to_owned(), |(_, d)| d.to_owned()))
    }

    /// Exports a record set as CSV for `actor` (`export` action): the owner
    /// and admins get every column; anyone else what their grants allow,
    /// the rest masked. Recorded (with its delivery) before it leaves.
    pub async fn export_records(&self, actor: &Actor, set: &str) -> Result<Export, VaultError> {
        self.export_records_as(actor, set, ExportFormat::Csv).await
    }

    /// A record set exported as CSV or XLSX (the `export` action); for
    /// XLSX the honey records are rows of the sheet, the stamp a first
    /// sheet, the print headers and a document property.
    pub async fn export_records_as(
        &self,
        actor: &Actor,
        set: &str,
        format: ExportFormat,
    ) -> Result<Export, VaultError> {
        let (record, rows, masked) = if self.is_manager(actor) {
            self.gate(actor, "export records", KnownAction::Export)
                .await?;
            let record = self.find_record_set(set).await?;
            let cells = self.cell_keys(&record).await?;
            let stored = self
                .store()
                .rows(self.workspace(), record.id, 0, i64::MAX as u64)
                .await?;
            let rows = Self::decrypt_rows(&record, &cells, &stored)?;
            (record, rows, Vec::new())
        } else {
            self.granted_rows(actor, set, 0, i64::MAX as u64, Access::Export)
                .await?
        };
        let real = rows.len();
        let mut values: Vec<Vec<String>> = rows.iter().map(|r| r.values.clone()).collect();
        let mut delivery = None;
        let mut honey_hashes = Vec::new();
        if record.label.requires_stamp() {
            let id = DeliveryId::random(&mut OsRng);
            let specs: Vec<ColumnSpec> = record.columns.iter().map(ColumnSpec::from).collect();
            let key = self.honey_key();
            let domain = self.honey_domain().await?;
            let mut honey =
                confidant_mark::honey_records(&key, id, &specs, &domain, HONEY_PER_EXPORT);
            // Honey rows are shown like real ones: masked where those are.
            for values in &mut honey {
                for (i, column) in record.columns.iter().enumerate() {
                    if masked.contains(&column.name)
                        && let Some(value) = values.get_mut(i)
                    {
                        *value = Self::show(column.category, value, false).text().to_owned();
                    }
                }
            }
            // Only what is in the clear can be found again in a leak.
            honey_hashes = confidant_mark::honey_tags(&specs, &honey)
                .iter()
                .filter(|t| {
                    specs
                        .iter()
                        .any(|c| c.category == t.category && !masked.contains(&c.name))
                })
                .map(|t| self.honey_hash(t))
                .collect();
            let seed = confidant_mark::honey_seed(&key, id);
            confidant_mark::insert_honey(&mut values, honey, &seed);
            delivery = Some(id);
        }
        let header: Vec<&str> = record.columns.iter().map(|c| c.name.as_str()).collect();
        let mut bytes = match format {
            ExportFormat::Csv => {
                let mut csv = csv::Writer::from_writer(Vec::new());
                let write_failed =
                    |e: csv::Error| VaultError::Internal(format!("writing CSV: {e}"));
                csv.write_record(&header).map_err(write_failed)?;
                for row in &values {
                    csv.write_record(row).map_err(write_failed)?;
                }
                csv.into_inner()
                    .map_err(|e| VaultError::Internal(format!("writing CSV: {e}")))?
            }
            ExportFormat::Xlsx => confidant_mark::write_xlsx(&record.name, &header, &values)
                .map_err(|e| VaultError::Internal(e.to_string()))?,
        };
        if let Some(id) = delivery {
            let stamp = confidant_mark::Stamp {
                label: record.label.as_str().to_uppercase(),
                recipient_name: actor.name.clone(),
                recipient_email: actor.email.clone(),
                delivery: id,
                issued_at: self.inner.clock.now(),
            };
            let mark_format = match format {
                ExportFormat::Csv => confidant_mark::Format::Csv,
                ExportFormat::Xlsx => confidant_mark::Format::Xlsx,
            };
            bytes = tokio::task::spawn_blocking(move || {
                confidant_mark::stamp(mark_format, &bytes, &stamp)
            })
            .await
            .map_err(|e| VaultError::Internal(format!("stamping the export failed: {e}")))?
            .map_err(|e| VaultError::Internal(format!("stamping the export failed: {e}")))?;
            self.store()
                .insert_honey_tags(self.workspace(), &id.to_string(), &honey_hashes)
                .await?;
        }
        // The ledger names the real rows that left (not the honey ones).
        self.record_rows_left(
            actor,
            &record,
            &rows,
            None,
            &masked,
            KnownAction::Export,
            delivery.map(|d| d.to_string()),
        )
        .await?;
        Ok(Export {
            file_name: format!("{}.{}", record.name, format.extension()),
            format,
            bytes,
            delivery,
            rows: real,
        })
    }

    /// Honey values found in a leaked file, with the deliveries they went
    /// out with.
    pub(crate) async fn honey_matches(
        &self,
        candidates: &[HoneyCandidate],
    ) -> Result<Vec<(String, DeliveryId)>, VaultError> {
        let mut out = Vec::new();
        for candidate in candidates {
            let hash = self.honey_hash(&candidate.tag);
            for delivery in self
                .store()
                .honey_deliveries(self.workspace(), &hash)
                .await?
            {
                if let Ok(id) = delivery.parse::<DeliveryId>() {
                    out.push((
                        format!("{} {}", candidate.tag.category, candidate.tag.value),
                        id,
                    ));
                }
            }
        }
        Ok(out)
    }
}
