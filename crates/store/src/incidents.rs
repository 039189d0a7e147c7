//! Persistence of incidents, their timelines, the notice template and the
//! notice outbox.
//!
//! A trait of its own ([`IncidentStore`], a supertrait of
//! [`Store`](crate::Store)) with its SQL and row mapping here, written once
//! for both backends like [`GateStore`](crate::GateStore). Only ids, times
//! and states are kept: the vault seals the reason, recomputes the exposure
//! from the ledger and derives each notice's address and text from the
//! customer's encrypted row when it sends it.
//!
//! The outbox's states move only by conditional updates, so that two
//! senders (or a sender restarted after a crash) never both hand the same
//! notice to the SMTP server: `queued`/`failed` -> `sending` (a claim with a
//! token) -> handed over (`handed_at`) -> `sent`; a claim that was never
//! handed over goes back to `queued` when it is stale, one that was handed
//! over becomes `uncertain` and waits for the owner. A sent (or uncertain)
//! notice the recipient's mail system returned becomes `bounced`; a notice
//! printed as a letter (a customer without an e-mail address, a bounce, or
//! on the owner's request) is `letter`.

use async_trait::async_trait;
use confidant_core::{IncidentId, ItemId, NoticeId, PersonId, RecordSetId, RowId, WorkspaceId};
use time::OffsetDateTime;

use crate::StoreError;
use crate::sql::{parse, time_from_millis};

/// The item an incident is about, when it is about everyone's accesses
/// to one item instead of one person's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IncidentItem {
    Document(ItemId),
    RecordSet(RecordSetId),
    /// The accesses its person made from one enrolled device.
    Device(confidant_core::DeviceId),
}

impl IncidentItem {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            IncidentItem::Document(_) => "document",
            IncidentItem::RecordSet(_) => "record_set",
            IncidentItem::Device(_) => "device",
        }
    }

    pub(crate) fn id(self) -> String {
        match self {
            IncidentItem::Document(id) => id.to_string(),
            IncidentItem::RecordSet(id) => id.to_string(),
            IncidentItem::Device(id) => id.to_string(),
        }
    }

    fn parse(kind: Option<String>, id: Option<String>) -> Result<Option<Self>, StoreError> {
        Ok(match (kind.as_deref(), id) {
            (None, None) => None,
            (Some("document"), Some(id)) => Some(IncidentItem::Document(parse(
                &id,
                "incident's document id",
            )?)),
            (Some("record_set"), Some(id)) => Some(IncidentItem::RecordSet(parse(
                &id,
                "incident's record set id",
            )?)),
            (Some("device"), Some(id)) => {
                Some(IncidentItem::Device(parse(&id, "incident's device id")?))
            }
            _ => {
                return Err(StoreError::Corrupt(
                    "a stored incident's item is not valid".into(),
                ));
            }
        })
    }
}

/// An incident as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRecord {
    pub id: IncidentId,
    pub workspace: WorkspaceId,
    /// Whose accesses it is about (for an item incident: who opened it).
    pub person: PersonId,
    /// Set for an incident about everyone's accesses to one item.
    pub item: Option<IncidentItem>,
    pub since: OffsetDateTime,
    pub until: OffsetDateTime,
    /// When the owner became aware (the 72-hour clock starts here).
    pub aware_at: OffsetDateTime,
    pub opened_at: OffsetDateTime,
    pub opened_by: PersonId,
    /// The owner's description, sealed by the vault.
    pub reason_ct: Vec<u8>,
    pub offboarded: bool,
}

/// One step of an incident's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentStep {
    pub at: OffsetDateTime,
    pub kind: String,
    /// Ids and counts only.
    pub detail: String,
}

/// Where a notice is in the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoticeStatus {
    Queued,
    Sending,
    Sent,
    Failed,
    Uncertain,
    /// Returned by the recipient's mail system (a delivery status
    /// notification): a letter is due instead.
    Bounced,
    /// Exported as a letter (PDF) for the owner to post.
    Letter,
}

impl NoticeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStatus::Queued => "queued",
            NoticeStatus::Sending => "sending",
            NoticeStatus::Sent => "sent",
            NoticeStatus::Failed => "failed",
            NoticeStatus::Uncertain => "uncertain",
            NoticeStatus::Bounced => "bounced",
            NoticeStatus::Letter => "letter",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "queued" => NoticeStatus::Queued,
            "sending" => NoticeStatus::Sending,
            "sent" => NoticeStatus::Sent,
            "failed" => NoticeStatus::Failed,
            "uncertain" => NoticeStatus::Uncertain,
            "bounced" => NoticeStatus::Bounced,
            "letter" => NoticeStatus::Letter,
            _ => {
                return Err(StoreError::Corrupt(
                    "a stored notice status is not valid".into(),
                ));
            }
        })
    }
}

/// One notice in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeRecord {
    pub id: NoticeId,
    pub workspace: WorkspaceId,
    pub incident: IncidentId,
    pub set: RecordSetId,
    pub row: RowId,
    pub status: NoticeStatus,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub claim_token: Option<String>,
    pub claimed_at: Option<OffsetDateTime>,
    pub handed_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
}

/// The incidents' persistence; see the module documentation.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    async fn insert_incident(&self, incident: &IncidentRecord) -> Result<(), StoreError>;
    /// Every incident of the workspace, newest first.
    async fn incidents(&self, workspace: WorkspaceId) -> Result<Vec<IncidentRecord>, StoreError>;
    async fn incident(
        &self,
        workspace: WorkspaceId,
        id: IncidentId,
    ) -> Result<Option<IncidentRecord>, StoreError>;
    async fn add_incident_step(
        &self,
        workspace: WorkspaceId,
        incident: IncidentId,
        step: &IncidentStep,
    ) -> Result<(), StoreError>;
    /// Offboards the incident's person and stores the incident with its
    /// first step, in one transaction: both or neither. `Ok(None)` when
    /// the person does not exist; `Conflict` when they were offboarded
    /// already (nothing is stored then).
    async fn insert_incident_offboarding(
        &self,
        incident: &IncidentRecord,
        opened: &IncidentStep,
        offboard_reason: &str,
    ) -> Result<Option<crate::Offboarding>, StoreError>;
    /// The timeline, oldest first.
    async fn incident_steps(
        &self,
        workspace: WorkspaceId,
        incident: IncidentId,
    ) -> Result<Vec<IncidentStep>, StoreError>;

    async fn notice_template(&self, workspace: WorkspaceId) -> Result<Option<String>, StoreError>;
    async fn set_notice_template(
        &self,
        workspace: WorkspaceId,
        body: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Queues notices in one transaction; a notice for a row the incident
    /// already has is skipped. Returns how many were added.
    async fn insert_notices(&self, notices: &[NoticeRecord]) -> Result<u64, StoreError>;
    /// An incident's notices, in row order.
    async fn notices(
        &self,
        workspace: WorkspaceId,
        incident: IncidentId,
    ) -> Result<Vec<NoticeRecord>, StoreError>;
    /// Claims a queued or failed notice due by `due_by` for `token` at
    /// `now`; false when it is not (sent, claimed by another sender, not
    /// due).
    async fn claim_notice(
        &self,
        workspace: WorkspaceId,
        id: NoticeId,
        token: &str,
        now: OffsetDateTime,
        due_by: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records that the claimed notice is being handed to the SMTP server.
    async fn notice_handed(
        &self,
        workspace: WorkspaceId,
        id: NoticeId,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records that the SMTP server accepted the claimed notice.
    async fn notice_sent(
        &self,
        workspace: WorkspaceId,
        id: NoticeId,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records a failed attempt of the claimed notice, due again at `retry_at`.
    async fn notice_failed(
        &self,
        workspace: WorkspaceId,
        id: NoticeId,
        token: &str,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Recovers the claims of senders that stopped (claimed at or before
    /// `stale_before`, so a zero lease recovers a claim made this very
    /// millisecond): never handed over -> queued, handed over ->
    /// uncertain. Returns (requeued, uncertain).
    async fn recover_notices(
        &self,
        workspace: WorkspaceId,
        incident: IncidentId,
        stale_before: OffsetDateTime,
    ) -> Result<(u64, u64), StoreError>;
    /// One notice by id (any incident of the workspace).
    async fn notice(
        &self,
        workspace: WorkspaceId,
        id: NoticeId,
    ) -> Result<Option<NoticeRecord>, StoreError>;
    /// Records that a sent or uncertain notice bounced (`reason`: codes,
    /// no address); false when it is in another state.
    async fn notice_bounced(
        &self,
        workspace: WorkspaceId,
        id: NoticeId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Marks notices as exported as letters, in one transaction: a
    /// customer without a notice gets one (status `letter`, `sent_at` the
    /// export); a queued, failed or bounced one becomes `letter`; a notice
    /// sent, being sent, uncertain or already a letter keeps its state.
    /// Returns how many changed.
    async fn mark_letters(&self, notices: &[NoticeRecord]) -> Result<u64, StoreError>;
    /// The owner's decision: queue the uncertain notices again.
    async fn requeue_uncertain(
        &self,
        workspace: WorkspaceId,
        incident: IncidentId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}

macro_rules! incident_columns {
    () => {
        "id, workspace_id, person_id, window_start, window_end, aware_at, opened_at, opened_by, \
         reason_ct, offboarded, item_kind, item_id"
    };
}
macro_rules! notice_columns {
    () => {
        "id, workspace_id, incident_id, record_set_id, row_id, status, attempts, \
         next_attempt_at, claim_token, claimed_at, handed_at, sent_at, last_error, created_at"
    };
}

pub(crate) const INSERT_INCIDENT: &str = concat!(
    "INSERT INTO incidents (",
    incident_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
pub(crate) const SELECT_INCIDENTS: &str = concat!(
    "SELECT ",
    incident_columns!(),
    " FROM incidents WHERE workspace_id = $1 ORDER BY opened_at DESC, id"
);
pub(crate) const SELECT_INCIDENT: &str = concat!(
    "SELECT ",
    incident_columns!(),
    " FROM incidents WHERE workspace_id = $1 AND id = $2"
);
pub(crate) const INSERT_STEP: &str = "INSERT INTO incident_steps (workspace_id, incident_id, at, \
     kind, detail) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const SELECT_STEPS: &str = "SELECT at, kind, detail FROM incident_steps \
     WHERE workspace_id = $1 AND incident_id = $2 ORDER BY at";
pub(crate) const SELECT_TEMPLATE: &str =
    "SELECT body FROM notice_templates WHERE workspace_id = $1";
pub(crate) const UPSERT_TEMPLATE: &str = "INSERT INTO notice_templates (workspace_id, body, \
     updated_at) VALUES ($1, $2, $3) ON CONFLICT (workspace_id) DO UPDATE SET body = $2, \
     updated_at = $3";
pub(crate) const INSERT_NOTICE: &str = concat!(
    "INSERT INTO notices (",
    notice_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (workspace_id, incident_id, record_set_id, row_id) DO NOTHING"
);
pub(crate) const SELECT_NOTICES: &str = concat!(
    "SELECT ",
    notice_columns!(),
    " FROM notices WHERE workspace_id = $1 AND incident_id = $2 ORDER BY record_set_id, row_id"
);
pub(crate) const CLAIM_NOTICE: &str = "UPDATE notices SET status = 'sending', claim_token = $3, \
     claimed_at = $4, handed_at = NULL, attempts = attempts + 1 \
     WHERE workspace_id = $1 AND id = $2 AND status IN ('queued', 'failed') \
     AND next_attempt_at <= $5";
pub(crate) const HAND_NOTICE: &str = "UPDATE notices SET handed_at = $4 \
     WHERE workspace_id = $1 AND id = $2 AND status = 'sending' AND claim_token = $3";
pub(crate) const SENT_NOTICE: &str = "UPDATE notices SET status = 'sent', sent_at = $4, \
     last_error = NULL WHERE workspace_id = $1 AND id = $2 AND status = 'sending' \
     AND claim_token = $3";
pub(crate) const FAILED_NOTICE: &str = "UPDATE notices SET status = 'failed', last_error = $4, \
     next_attempt_at = $5, claim_token = NULL, handed_at = NULL \
     WHERE workspace_id = $1 AND id = $2 AND status = 'sending' AND claim_token = $3";
pub(crate) const REQUEUE_STALE: &str = "UPDATE notices SET status = 'queued', claim_token = NULL \
     WHERE workspace_id = $1 AND incident_id = $2 AND status = 'sending' \
     AND handed_at IS NULL AND claimed_at <= $3";
pub(crate) const UNCERTAIN_STALE: &str = "UPDATE notices SET status = 'uncertain', \
     last_error = 'the sender stopped after handing the notice to the SMTP server; it may have been delivered' \
     WHERE workspace_id = $1 AND incident_id = $2 AND status = 'sending' \
     AND handed_at IS NOT NULL AND claimed_at <= $3";
pub(crate) const SELECT_NOTICE: &str = concat!(
    "SELECT ",
    notice_columns!(),
    " FROM notices WHERE workspace_id = $1 AND id = $2"
);
pub(crate) const BOUNCED_NOTICE: &str = "UPDATE notices SET status = 'bounced', last_error = $3, \
     claim_token = NULL, next_attempt_at = $4 \
     WHERE workspace_id = $1 AND id = $2 AND status IN ('sent', 'uncertain')";
pub(crate) const LETTER_NOTICE: &str = concat!(
    "INSERT INTO notices (",
    notice_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, 'letter', 0, $6, NULL, NULL, NULL, $6, NULL, $6) \
     ON CONFLICT (workspace_id, incident_id, record_set_id, row_id) DO UPDATE \
     SET status = 'letter', sent_at = excluded.sent_at, claim_token = NULL \
     WHERE notices.status IN ('queued', 'failed', 'bounced')"
);
pub(crate) const REQUEUE_UNCERTAIN: &str = "UPDATE notices SET status = 'queued', \
     claim_token = NULL, handed_at = NULL, next_attempt_at = $3 \
     WHERE workspace_id = $1 AND incident_id = $2 AND status = 'uncertain'";

pub(crate) type IncidentRow = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    String,
    Vec<u8>,
    i64,
    Option<String>,
    Option<String>,
);

pub(crate) fn incident(row: IncidentRow) -> Result<IncidentRecord, StoreError> {
    let (id, ws, person, since, until, aware, opened, by, reason_ct, offboarded, kind, item) = row;
    Ok(IncidentRecord {
        id: parse(&id, "incident id")?,
        workspace: parse(&ws, "incident's workspace id")?,
        person: parse(&person, "incident's person id")?,
        since: time_from_millis(since, "incident window start")?,
        until: time_from_millis(until, "incident window end")?,
        aware_at: time_from_millis(aware, "incident awareness time")?,
        opened_at: time_from_millis(opened, "incident opening time")?,
        opened_by: parse(&by, "incident's opener id")?,
        reason_ct,
        offboarded: offboarded != 0,
        item: IncidentItem::parse(kind, item)?,
    })
}

pub(crate) type NoticeRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
);

fn opt_time(ms: Option<i64>, what: &'static str) -> Result<Option<OffsetDateTime>, StoreError> {
    ms.map(|m| time_from_millis(m, what)).transpose()
}

pub(crate) fn notice(row: NoticeRow) -> Result<NoticeRecord, StoreError> {
    let (id, ws, inc, set, r, status, attempts, next, token, claimed, handed, sent, err, created) =
        row;
    Ok(NoticeRecord {
        id: parse(&id, "notice id")?,
        workspace: parse(&ws, "notice's workspace id")?,
        incident: parse(&inc, "notice's incident id")?,
        set: parse(&set, "notice's record set id")?,
        row: parse(&r, "notice's row id")?,
        status: NoticeStatus::parse(&status)?,
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Corrupt("a notice's attempts are out of range".into()))?,
        next_attempt_at: time_from_millis(next, "notice retry time")?,
        claim_token: token,
        claimed_at: opt_time(claimed, "notice claim time")?,
        handed_at: opt_time(handed, "notice hand-over time")?,
        sent_at: opt_time(sent, "notice sending time")?,
        last_error: err,
        created_at: time_from_millis(created, "notice creation time")?,
    })
}

/// Writes [`IncidentStore`] for a store type with a `pool` field.
macro_rules! impl_incidents {
    ($store:ident, $db:ty) => {
        mod incidents_impl {
            use async_trait::async_trait;
            use confidant_core::{IncidentId, NoticeId, WorkspaceId};
            use time::OffsetDateTime;

            use super::$store;
            use $crate::incidents::*;
            use $crate::sql::{failed, millis};
            use $crate::{IncidentStore, StoreError};

            fn insert_incident(
                i: &IncidentRecord,
            ) -> sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments> {
                sqlx::query(INSERT_INCIDENT)
                    .bind(i.id.to_string())
                    .bind(i.workspace.to_string())
                    .bind(i.person.to_string())
                    .bind(millis(i.since))
                    .bind(millis(i.until))
                    .bind(millis(i.aware_at))
                    .bind(millis(i.opened_at))
                    .bind(i.opened_by.to_string())
                    .bind(i.reason_ct.as_slice())
                    .bind(i64::from(i.offboarded))
                    .bind(i.item.map(IncidentItem::kind))
                    .bind(i.item.map(IncidentItem::id))
            }

            /// One step of a claimed notice (handed over, sent), taken only
            /// by the holder of its claim token.
            async fn notice_step(
                pool: &sqlx::Pool<$db>,
                sql: &'static str,
                op: &'static str,
                ws: WorkspaceId,
                id: NoticeId,
                token: &str,
                now: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql)
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .bind(token)
                    .bind(millis(now))
                    .execute(pool)
                    .await
                    .map_err(failed(op))?;
                Ok(done.rows_affected() == 1)
            }

            #[async_trait]
            impl IncidentStore for $store {
                async fn insert_incident(&self, i: &IncidentRecord) -> Result<(), StoreError> {
                    insert_incident(i)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving an incident"))?;
                    Ok(())
                }

                async fn incidents(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Vec<IncidentRecord>, StoreError> {
                    sqlx::query_as::<_, IncidentRow>(SELECT_INCIDENTS)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading the incidents"))?
                        .into_iter()
                        .map(incident)
                        .collect()
                }

                async fn incident(
                    &self,
                    ws: WorkspaceId,
                    id: IncidentId,
                ) -> Result<Option<IncidentRecord>, StoreError> {
                    sqlx::query_as::<_, IncidentRow>(SELECT_INCIDENT)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading an incident"))?
                        .map(incident)
                        .transpose()
                }

                async fn insert_incident_offboarding(
                    &self,
                    i: &IncidentRecord,
                    opened: &IncidentStep,
                    reason: &str,
                ) -> Result<Option<$crate::Offboarding>, StoreError> {
                    const OP: &str = "opening an incident and offboarding";
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    let Some(done) = super::store_impl::offboard_in(
                        &mut tx,
                        i.workspace,
                        i.person,
                        i.opened_at,
                        reason,
                    )
                    .await?
                    else {
                        return Ok(None);
                    };
                    insert_incident(i)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    sqlx::query(INSERT_STEP)
                        .bind(i.workspace.to_string())
                        .bind(i.id.to_string())
                        .bind(millis(opened.at))
                        .bind(&opened.kind)
                        .bind(&opened.detail)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    tx.commit().await.map_err(failed(OP))?;
                    Ok(Some(done))
                }

                async fn add_incident_step(
                    &self,
                    ws: WorkspaceId,
                    id: IncidentId,
                    step: &IncidentStep,
                ) -> Result<(), StoreError> {
                    sqlx::query(INSERT_STEP)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(millis(step.at))
                        .bind(&step.kind)
                        .bind(&step.detail)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving an incident step"))?;
                    Ok(())
                }

                async fn incident_steps(
                    &self,
                    ws: WorkspaceId,
                    id: IncidentId,
                ) -> Result<Vec<IncidentStep>, StoreError> {
                    let rows: Vec<(i64, String, String)> = sqlx::query_as(SELECT_STEPS)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading an incident's timeline"))?;
                    rows.into_iter()
                        .map(|(at, kind, detail)| {
                            Ok(IncidentStep {
                                at: $crate::sql::time_from_millis(at, "incident step time")?,
                                kind,
                                detail,
                            })
                        })
                        .collect()
                }

                async fn notice_template(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Option<String>, StoreError> {
                    let row: Option<(String,)> = sqlx::query_as(SELECT_TEMPLATE)
                        .bind(ws.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading the notice template"))?;
                    Ok(row.map(|(b,)| b))
                }

                async fn set_notice_template(
                    &self,
                    ws: WorkspaceId,
                    body: &str,
                    at: OffsetDateTime,
                ) -> Result<(), StoreError> {
                    sqlx::query(UPSERT_TEMPLATE)
                        .bind(ws.to_string())
                        .bind(body)
                        .bind(millis(at))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving the notice template"))?;
                    Ok(())
                }

                async fn insert_notices(
                    &self,
                    notices: &[NoticeRecord],
                ) -> Result<u64, StoreError> {
                    let mut tx = self
                        .pool
                        .begin()
                        .await
                        .map_err(failed("queueing notices"))?;
                    let mut added = 0;
                    for n in notices {
                        added += sqlx::query(INSERT_NOTICE)
                            .bind(n.id.to_string())
                            .bind(n.workspace.to_string())
                            .bind(n.incident.to_string())
                            .bind(n.set.to_string())
                            .bind(n.row.to_string())
                            .bind(n.status.as_str())
                            .bind(i64::from(n.attempts))
                            .bind(millis(n.next_attempt_at))
                            .bind(n.claim_token.clone())
                            .bind(n.claimed_at.map(millis))
                            .bind(n.handed_at.map(millis))
                            .bind(n.sent_at.map(millis))
                            .bind(n.last_error.clone())
                            .bind(millis(n.created_at))
                            .execute(&mut *tx)
                            .await
                            .map_err(failed("queueing notices"))?
                            .rows_affected();
                    }
                    tx.commit().await.map_err(failed("queueing notices"))?;
                    Ok(added)
                }

                async fn notices(
                    &self,
                    ws: WorkspaceId,
                    id: IncidentId,
                ) -> Result<Vec<NoticeRecord>, StoreError> {
                    sqlx::query_as::<_, NoticeRow>(SELECT_NOTICES)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading the notices"))?
                        .into_iter()
                        .map(notice)
                        .collect()
                }

                async fn claim_notice(
                    &self,
                    ws: WorkspaceId,
                    id: NoticeId,
                    token: &str,
                    now: OffsetDateTime,
                    due_by: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(CLAIM_NOTICE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(token)
                        .bind(millis(now))
                        .bind(millis(due_by))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("claiming a notice"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn notice_handed(
                    &self,
                    ws: WorkspaceId,
                    id: NoticeId,
                    token: &str,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    notice_step(
                        &self.pool,
                        HAND_NOTICE,
                        "recording a notice's hand-over",
                        ws,
                        id,
                        token,
                        now,
                    )
                    .await
                }

                async fn notice_sent(
                    &self,
                    ws: WorkspaceId,
                    id: NoticeId,
                    token: &str,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    notice_step(
                        &self.pool,
                        SENT_NOTICE,
                        "recording a sent notice",
                        ws,
                        id,
                        token,
                        now,
                    )
                    .await
                }

                async fn notice_failed(
                    &self,
                    ws: WorkspaceId,
                    id: NoticeId,
                    token: &str,
                    error: &str,
                    retry_at: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(FAILED_NOTICE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(token)
                        .bind(error)
                        .bind(millis(retry_at))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("recording a failed notice"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn recover_notices(
                    &self,
                    ws: WorkspaceId,
                    id: IncidentId,
                    stale_before: OffsetDateTime,
                ) -> Result<(u64, u64), StoreError> {
                    let mut tx = self
                        .pool
                        .begin()
                        .await
                        .map_err(failed("recovering notices"))?;
                    let requeued = sqlx::query(REQUEUE_STALE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(millis(stale_before))
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("recovering notices"))?
                        .rows_affected();
                    let uncertain = sqlx::query(UNCERTAIN_STALE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(millis(stale_before))
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("recovering notices"))?
                        .rows_affected();
                    tx.commit().await.map_err(failed("recovering notices"))?;
                    Ok((requeued, uncertain))
                }

                async fn notice(
                    &self,
                    ws: WorkspaceId,
                    id: NoticeId,
                ) -> Result<Option<NoticeRecord>, StoreError> {
                    sqlx::query_as::<_, NoticeRow>(SELECT_NOTICE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a notice"))?
                        .map(notice)
                        .transpose()
                }

                async fn notice_bounced(
                    &self,
                    ws: WorkspaceId,
                    id: NoticeId,
                    reason: &str,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(BOUNCED_NOTICE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(reason)
                        .bind(millis(now))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("recording a bounced notice"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn mark_letters(&self, notices: &[NoticeRecord]) -> Result<u64, StoreError> {
                    const OP: &str = "marking notices as letters";
                    let mut tx = self.pool.begin().await.map_err(failed(OP))?;
                    let mut changed = 0;
                    for n in notices {
                        changed += sqlx::query(LETTER_NOTICE)
                            .bind(n.id.to_string())
                            .bind(n.workspace.to_string())
                            .bind(n.incident.to_string())
                            .bind(n.set.to_string())
                            .bind(n.row.to_string())
                            .bind(millis(n.created_at))
                            .execute(&mut *tx)
                            .await
                            .map_err(failed(OP))?
                            .rows_affected();
                    }
                    tx.commit().await.map_err(failed(OP))?;
                    Ok(changed)
                }

                async fn requeue_uncertain(
                    &self,
                    ws: WorkspaceId,
                    id: IncidentId,
                    now: OffsetDateTime,
                ) -> Result<u64, StoreError> {
                    Ok(sqlx::query(REQUEUE_UNCERTAIN)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(millis(now))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("queueing uncertain notices again"))?
                        .rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_incidents;
