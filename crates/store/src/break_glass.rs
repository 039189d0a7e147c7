//! Persistence of break-glass grants on backups and of the workspace's
//! backup settings (whether such a grant needs a second person's approval).
//!
//! Grants move only by conditional updates: approve sets `approved_*` once,
//! on a grant that is neither ended nor expired; end sets `ended_*` once.

use async_trait::async_trait;
use confidant_core::{BreakGlassId, PersonId, WorkspaceId};
use time::OffsetDateTime;

use crate::StoreError;
use crate::sql::{parse, time_from_millis};

/// A break-glass grant, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassRecord {
    pub id: BreakGlassId,
    pub workspace: WorkspaceId,
    /// Who may use it.
    pub person: PersonId,
    pub reason: String,
    pub issued_by: PersonId,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Whether it needed a second person's approval when issued.
    pub needs_approval: bool,
    pub approved_by: Option<PersonId>,
    pub approved_at: Option<OffsetDateTime>,
    pub ended_by: Option<PersonId>,
    pub ended_at: Option<OffsetDateTime>,
}

/// The break-glass persistence; see the module documentation.
#[async_trait]
pub trait BreakGlassStore: Send + Sync {
    async fn insert_break_glass(&self, grant: &BreakGlassRecord) -> Result<(), StoreError>;
    async fn break_glass(
        &self,
        workspace: WorkspaceId,
        id: BreakGlassId,
    ) -> Result<Option<BreakGlassRecord>, StoreError>;
    /// Every grant of the workspace, newest first.
    async fn break_glass_grants(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<BreakGlassRecord>, StoreError>;
    /// Approves a grant that is not approved, not ended and not expired at
    /// `now`; false when it was not.
    async fn approve_break_glass(
        &self,
        workspace: WorkspaceId,
        id: BreakGlassId,
        by: PersonId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Ends a grant that is not ended; false when it was.
    async fn end_break_glass(
        &self,
        workspace: WorkspaceId,
        id: BreakGlassId,
        by: PersonId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Whether a break-glass grant needs a second person's approval
    /// (true unless set otherwise).
    async fn break_glass_needs_approval(&self, workspace: WorkspaceId) -> Result<bool, StoreError>;
    async fn set_break_glass_needs_approval(
        &self,
        workspace: WorkspaceId,
        required: bool,
    ) -> Result<(), StoreError>;
}

macro_rules! columns {
    () => {
        "id, workspace_id, person_id, reason, issued_by, issued_at, expires_at, \
         needs_approval, approved_by, approved_at, ended_by, ended_at"
    };
}

pub(crate) const INSERT: &str = "INSERT INTO break_glass_grants (id, workspace_id, person_id, \
     reason, issued_by, issued_at, expires_at, needs_approval, approved_by, approved_at, \
     ended_by, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
pub(crate) const APPROVE: &str = "UPDATE break_glass_grants SET approved_by = $3, \
     approved_at = $4 WHERE workspace_id = $1 AND id = $2 AND approved_at IS NULL \
     AND ended_at IS NULL AND expires_at > $4";
pub(crate) const END: &str = "UPDATE break_glass_grants SET ended_by = $3, ended_at = $4 \
     WHERE workspace_id = $1 AND id = $2 AND ended_at IS NULL";
pub(crate) const SELECT_NEEDS_APPROVAL: &str =
    "SELECT require_approval FROM backup_settings WHERE workspace_id = $1";
pub(crate) const SET_NEEDS_APPROVAL: &str = "INSERT INTO backup_settings (workspace_id, \
     require_approval) VALUES ($1, $2) ON CONFLICT (workspace_id) DO UPDATE \
     SET require_approval = $2";

pub(crate) const SELECT_ONE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM break_glass_grants WHERE workspace_id = $1 AND id = $2"
);
pub(crate) const SELECT_ALL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM break_glass_grants WHERE workspace_id = $1 ORDER BY issued_at DESC, id"
);

pub(crate) type Row = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

pub(crate) fn record(row: Row) -> Result<BreakGlassRecord, StoreError> {
    let (
        id,
        ws,
        person,
        reason,
        issued_by,
        issued,
        expires,
        needs,
        approved_by,
        approved,
        ended_by,
        ended,
    ) = row;
    let opt_time = |ms: Option<i64>, what| ms.map(|m| time_from_millis(m, what)).transpose();
    let opt_id = |id: Option<String>, what| id.map(|i| parse(&i, what)).transpose();
    Ok(BreakGlassRecord {
        id: parse(&id, "break-glass grant id")?,
        workspace: parse(&ws, "break-glass grant's workspace id")?,
        person: parse(&person, "break-glass grant's person id")?,
        reason,
        issued_by: parse(&issued_by, "break-glass grant's issuer id")?,
        issued_at: time_from_millis(issued, "break-glass issue time")?,
        expires_at: time_from_millis(expires, "break-glass expiry")?,
        needs_approval: needs != 0,
        approved_by: opt_id(approved_by, "break-glass approver id")?,
        approved_at: opt_time(approved, "break-glass approval time")?,
        ended_by: opt_id(ended_by, "break-glass ender id")?,
        ended_at: opt_time(ended, "break-glass end time")?,
    })
}

/// Writes [`BreakGlassStore`] for a store type with a `pool` field.
macro_rules! impl_break_glass {
    ($store:ident, $db:ty) => {
        mod break_glass_impl {
            use async_trait::async_trait;
            use confidant_core::{BreakGlassId, PersonId, WorkspaceId};
            use time::OffsetDateTime;

            use super::$store;
            use $crate::break_glass::*;
            use $crate::sql::{failed, millis};
            use $crate::{BreakGlassStore, StoreError};

            #[async_trait]
            impl BreakGlassStore for $store {
                async fn insert_break_glass(&self, g: &BreakGlassRecord) -> Result<(), StoreError> {
                    sqlx::query(INSERT)
                        .bind(g.id.to_string())
                        .bind(g.workspace.to_string())
                        .bind(g.person.to_string())
                        .bind(&g.reason)
                        .bind(g.issued_by.to_string())
                        .bind(millis(g.issued_at))
                        .bind(millis(g.expires_at))
                        .bind(i64::from(g.needs_approval))
                        .bind(g.approved_by.map(|p| p.to_string()))
                        .bind(g.approved_at.map(millis))
                        .bind(g.ended_by.map(|p| p.to_string()))
                        .bind(g.ended_at.map(millis))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("issuing a break-glass grant"))?;
                    Ok(())
                }

                async fn break_glass(
                    &self,
                    ws: WorkspaceId,
                    id: BreakGlassId,
                ) -> Result<Option<BreakGlassRecord>, StoreError> {
                    sqlx::query_as::<_, Row>(SELECT_ONE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a break-glass grant"))?
                        .map(record)
                        .transpose()
                }

                async fn break_glass_grants(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<Vec<BreakGlassRecord>, StoreError> {
                    sqlx::query_as::<_, Row>(SELECT_ALL)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading the break-glass grants"))?
                        .into_iter()
                        .map(record)
                        .collect()
                }

                async fn approve_break_glass(
                    &self,
                    ws: WorkspaceId,
                    id: BreakGlassId,
                    by: PersonId,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(APPROVE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(by.to_string())
                        .bind(millis(now))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("approving a break-glass grant"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn end_break_glass(
                    &self,
                    ws: WorkspaceId,
                    id: BreakGlassId,
                    by: PersonId,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(END)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(by.to_string())
                        .bind(millis(now))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("ending a break-glass grant"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn break_glass_needs_approval(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<bool, StoreError> {
                    let row: Option<(i64,)> = sqlx::query_as(SELECT_NEEDS_APPROVAL)
                        .bind(ws.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading the backup settings"))?;
                    Ok(row.is_none_or(|(v,)| v != 0))
                }

                async fn set_break_glass_needs_approval(
                    &self,
                    ws: WorkspaceId,
                    required: bool,
                ) -> Result<(), StoreError> {
                    sqlx::query(SET_NEEDS_APPROVAL)
                        .bind(ws.to_string())
                        .bind(i64::from(required))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving the backup settings"))?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_break_glass;
