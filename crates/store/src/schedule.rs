//! Persistence of the jobs `confidant serve` runs on its own schedule.
//!
//! One row per workspace, job and period (a business day, as the job names
//! it), so a job is done once per period even across restarts and several
//! server processes on one PostgreSQL. Runs move only by conditional
//! updates, like the notice outbox: a claim (`running`, with a token) ->
//! handed over (`handed_at`: a message went to the mail server or the
//! hook) -> `done`; a failure -> `failed`, claimable again from
//! `next_attempt_at`; a claim of a process that stopped before handing
//! anything over is claimable again once stale, one that stopped after the
//! hand-over becomes `uncertain` and is never run again (it may have been
//! delivered: sending it twice is worse than the owner asking once).

use async_trait::async_trait;
use confidant_core::{GrantId, WorkspaceId};
use time::OffsetDateTime;

use crate::StoreError;
use crate::sql::{parse, time_from_millis};

/// Where a scheduled run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Running,
    Done,
    Failed,
    Uncertain,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Uncertain => "uncertain",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "running" => RunStatus::Running,
            "done" => RunStatus::Done,
            "failed" => RunStatus::Failed,
            "uncertain" => RunStatus::Uncertain,
            _ => {
                return Err(StoreError::Corrupt(
                    "a stored schedule run status is not valid".into(),
                ));
            }
        })
    }
}

/// One run of a scheduled job, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleRun {
    pub workspace: WorkspaceId,
    pub job: String,
    pub period: String,
    pub status: RunStatus,
    pub attempts: u32,
    pub claimed_at: OffsetDateTime,
    pub handed_at: Option<OffsetDateTime>,
    pub next_attempt_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    /// Counts when done, the failure when failed (never a secret).
    pub detail: Option<String>,
    /// A sealed payload waits for the owner (see [`ScheduleStore::take_sealed`]).
    pub sealed: bool,
}

/// The schedule's persistence; see the module documentation.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Claims the run of `job` for `period` for `token` at `now`: true when
    /// it was never claimed, failed and is due again, or was claimed at or
    /// before `stale_before` by a process that handed nothing over. A stale
    /// claim that did hand something over becomes `uncertain` here.
    async fn claim_run(
        &self,
        workspace: WorkspaceId,
        job: &str,
        period: &str,
        token: &str,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records that the claimed run handed its message over.
    async fn run_handed(
        &self,
        workspace: WorkspaceId,
        job: &str,
        period: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records that the claimed run finished, with its counts.
    async fn run_done(
        &self,
        workspace: WorkspaceId,
        job: &str,
        period: &str,
        token: &str,
        now: OffsetDateTime,
        detail: &str,
    ) -> Result<bool, StoreError>;
    /// Records that the claimed run failed; it may be claimed again from
    /// `retry_at`.
    async fn run_failed(
        &self,
        workspace: WorkspaceId,
        job: &str,
        period: &str,
        token: &str,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Keeps a sealed payload with the claimed run (a passcode digest for
    /// the owner's page).
    async fn seal_run(
        &self,
        workspace: WorkspaceId,
        job: &str,
        period: &str,
        token: &str,
        sealed: &[u8],
    ) -> Result<bool, StoreError>;
    /// Takes a run's sealed payload away: it is returned once, to one
    /// caller, then gone.
    async fn take_sealed(
        &self,
        workspace: WorkspaceId,
        job: &str,
        period: &str,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// A run, when it was ever claimed.
    async fn schedule_run(
        &self,
        workspace: WorkspaceId,
        job: &str,
        period: &str,
    ) -> Result<Option<ScheduleRun>, StoreError>;
    /// The latest runs, newest claim first.
    async fn schedule_runs(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> Result<Vec<ScheduleRun>, StoreError>;
    /// The grants with at least `failures` wrong passcodes in the business
    /// day ending at `day_end` (the ones locked for the day).
    async fn locked_grants(
        &self,
        workspace: WorkspaceId,
        day_end: OffsetDateTime,
        failures: u32,
    ) -> Result<Vec<GrantId>, StoreError>;
}

macro_rules! run_columns {
    () => {
        "workspace_id, job, period, status, attempts, claimed_at, handed_at, next_attempt_at, \
         finished_at, detail, CAST(CASE WHEN sealed IS NULL THEN 0 ELSE 1 END AS BIGINT)"
    };
}

pub(crate) const MARK_UNCERTAIN: &str = "UPDATE schedule_runs SET status = 'uncertain', \
     claim_token = NULL WHERE workspace_id = $1 AND job = $2 AND period = $3 \
     AND status = 'running' AND handed_at IS NOT NULL AND claimed_at <= $4";
pub(crate) const CLAIM_RUN: &str = "INSERT INTO schedule_runs (workspace_id, job, period, \
     status, attempts, claim_token, claimed_at, next_attempt_at) \
     VALUES ($1, $2, $3, 'running', 1, $4, $5, $5) \
     ON CONFLICT (workspace_id, job, period) DO UPDATE SET status = 'running', \
     attempts = schedule_runs.attempts + 1, claim_token = $4, claimed_at = $5, handed_at = NULL \
     WHERE (schedule_runs.status = 'failed' AND schedule_runs.next_attempt_at <= $5) \
     OR (schedule_runs.status = 'running' AND schedule_runs.handed_at IS NULL \
     AND schedule_runs.claimed_at <= $6)";
// The steps of a claimed run take the same parameters: the run and its
// token ($1-$4), a time ($5) and a detail ($6, kept when NULL).
pub(crate) const HAND_RUN: &str = "UPDATE schedule_runs SET handed_at = $5, \
     detail = COALESCE($6, detail) \
     WHERE workspace_id = $1 AND job = $2 AND period = $3 AND status = 'running' \
     AND claim_token = $4";
pub(crate) const DONE_RUN: &str = "UPDATE schedule_runs SET status = 'done', finished_at = $5, \
     detail = $6, claim_token = NULL WHERE workspace_id = $1 AND job = $2 AND period = $3 \
     AND status = 'running' AND claim_token = $4";
pub(crate) const FAILED_RUN: &str = "UPDATE schedule_runs SET status = 'failed', \
     next_attempt_at = $5, detail = $6, claim_token = NULL, handed_at = NULL \
     WHERE workspace_id = $1 AND job = $2 AND period = $3 AND status = 'running' \
     AND claim_token = $4";
pub(crate) const SEAL_RUN: &str = "UPDATE schedule_runs SET sealed = $5 \
     WHERE workspace_id = $1 AND job = $2 AND period = $3 AND status = 'running' \
     AND claim_token = $4";
pub(crate) const SELECT_SEALED: &str = "SELECT sealed FROM schedule_runs \
     WHERE workspace_id = $1 AND job = $2 AND period = $3 AND sealed IS NOT NULL";
pub(crate) const CLEAR_SEALED: &str = "UPDATE schedule_runs SET sealed = NULL \
     WHERE workspace_id = $1 AND job = $2 AND period = $3 AND sealed IS NOT NULL";
pub(crate) const SELECT_RUN: &str = concat!(
    "SELECT ",
    run_columns!(),
    " FROM schedule_runs WHERE workspace_id = $1 AND job = $2 AND period = $3"
);
pub(crate) const SELECT_RUNS: &str = concat!(
    "SELECT ",
    run_columns!(),
    " FROM schedule_runs WHERE workspace_id = $1 ORDER BY claimed_at DESC, job, period LIMIT $2"
);
pub(crate) const SELECT_LOCKED: &str = "SELECT grant_id FROM passcode_failures \
     WHERE workspace_id = $1 AND day_end = $2 AND failures >= $3 ORDER BY grant_id";

pub(crate) type RunRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
    Option<String>,
    i64,
);

pub(crate) fn run(row: RunRow) -> Result<ScheduleRun, StoreError> {
    let (ws, job, period, status, attempts, claimed, handed, next, finished, detail, sealed) = row;
    let opt = |ms: Option<i64>, what| ms.map(|m| time_from_millis(m, what)).transpose();
    Ok(ScheduleRun {
        workspace: parse(&ws, "schedule run's workspace id")?,
        job,
        period,
        status: RunStatus::parse(&status)?,
        attempts: u32::try_from(attempts).map_err(|_| {
            StoreError::Corrupt("a schedule run's attempts are out of range".into())
        })?,
        claimed_at: time_from_millis(claimed, "schedule run claim time")?,
        handed_at: opt(handed, "schedule run hand-over time")?,
        next_attempt_at: time_from_millis(next, "schedule run retry time")?,
        finished_at: opt(finished, "schedule run finishing time")?,
        detail,
        sealed: sealed != 0,
    })
}

/// Writes [`ScheduleStore`] for a store type with a `pool` field.
macro_rules! impl_schedule {
    ($store:ident, $db:ty) => {
        mod schedule_impl {
            use async_trait::async_trait;
            use confidant_core::{GrantId, WorkspaceId};
            use time::OffsetDateTime;

            use super::$store;
            use $crate::schedule::*;
            use $crate::sql::{failed, millis, parse};
            use $crate::{ScheduleStore, StoreError};

            /// One step of a claimed run, taken only by the holder of its
            /// token (see the parameters above `HAND_RUN`).
            async fn run_step(
                pool: &sqlx::Pool<$db>,
                sql: &'static str,
                op: &'static str,
                ws: WorkspaceId,
                (job, period, token): (&str, &str, &str),
                at: OffsetDateTime,
                detail: Option<&str>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql)
                    .bind(ws.to_string())
                    .bind(job)
                    .bind(period)
                    .bind(token)
                    .bind(millis(at))
                    .bind(detail)
                    .execute(pool)
                    .await
                    .map_err(failed(op))?;
                Ok(done.rows_affected() == 1)
            }

            #[async_trait]
            impl ScheduleStore for $store {
                async fn claim_run(
                    &self,
                    ws: WorkspaceId,
                    job: &str,
                    period: &str,
                    token: &str,
                    now: OffsetDateTime,
                    stale_before: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    let mut tx = self
                        .pool
                        .begin()
                        .await
                        .map_err(failed("claiming a scheduled run"))?;
                    sqlx::query(MARK_UNCERTAIN)
                        .bind(ws.to_string())
                        .bind(job)
                        .bind(period)
                        .bind(millis(stale_before))
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("claiming a scheduled run"))?;
                    let claimed = sqlx::query(CLAIM_RUN)
                        .bind(ws.to_string())
                        .bind(job)
                        .bind(period)
                        .bind(token)
                        .bind(millis(now))
                        .bind(millis(stale_before))
                        .execute(&mut *tx)
                        .await
                        .map_err(failed("claiming a scheduled run"))?
                        .rows_affected();
                    tx.commit()
                        .await
                        .map_err(failed("claiming a scheduled run"))?;
                    Ok(claimed == 1)
                }

                async fn run_handed(
                    &self,
                    ws: WorkspaceId,
                    job: &str,
                    period: &str,
                    token: &str,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    run_step(
                        &self.pool,
                        HAND_RUN,
                        "recording a scheduled run's hand-over",
                        ws,
                        (job, period, token),
                        now,
                        None,
                    )
                    .await
                }

                async fn run_done(
                    &self,
                    ws: WorkspaceId,
                    job: &str,
                    period: &str,
                    token: &str,
                    now: OffsetDateTime,
                    detail: &str,
                ) -> Result<bool, StoreError> {
                    run_step(
                        &self.pool,
                        DONE_RUN,
                        "recording a finished scheduled run",
                        ws,
                        (job, period, token),
                        now,
                        Some(detail),
                    )
                    .await
                }

                async fn run_failed(
                    &self,
                    ws: WorkspaceId,
                    job: &str,
                    period: &str,
                    token: &str,
                    error: &str,
                    retry_at: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    run_step(
                        &self.pool,
                        FAILED_RUN,
                        "recording a failed scheduled run",
                        ws,
                        (job, period, token),
                        retry_at,
                        Some(error),
                    )
                    .await
                }

                async fn seal_run(
                    &self,
                    ws: WorkspaceId,
                    job: &str,
                    period: &str,
                    token: &str,
                    sealed: &[u8],
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(SEAL_RUN)
                        .bind(ws.to_string())
                        .bind(job)
                        .bind(period)
                        .bind(token)
                        .bind(sealed)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("keeping a sealed digest"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn take_sealed(
                    &self,
                    ws: WorkspaceId,
                    job: &str,
                    period: &str,
                ) -> Result<Option<Vec<u8>>, StoreError> {
                    let op = "taking a sealed digest";
                    let mut tx = self.pool.begin().await.map_err(failed(op))?;
                    let found: Option<(Vec<u8>,)> = sqlx::query_as(SELECT_SEALED)
                        .bind(ws.to_string())
                        .bind(job)
                        .bind(period)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(failed(op))?;
                    let Some((sealed,)) = found else {
                        return Ok(None);
                    };
                    // INVARIANT: only the caller whose update cleared it
                    // gets it (a concurrent taker's update finds NULL).
                    let cleared = sqlx::query(CLEAR_SEALED)
                        .bind(ws.to_string())
                        .bind(job)
                        .bind(period)
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(op))?
                        .rows_affected();
                    tx.commit().await.map_err(failed(op))?;
                    Ok((cleared == 1).then_some(sealed))
                }

                async fn schedule_run(
                    &self,
                    ws: WorkspaceId,
                    job: &str,
                    period: &str,
                ) -> Result<Option<ScheduleRun>, StoreError> {
                    sqlx::query_as::<_, RunRow>(SELECT_RUN)
                        .bind(ws.to_string())
                        .bind(job)
                        .bind(period)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a scheduled run"))?
                        .map(run)
                        .transpose()
                }

                async fn schedule_runs(
                    &self,
                    ws: WorkspaceId,
                    limit: u32,
                ) -> Result<Vec<ScheduleRun>, StoreError> {
                    sqlx::query_as::<_, RunRow>(SELECT_RUNS)
                        .bind(ws.to_string())
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading the scheduled runs"))?
                        .into_iter()
                        .map(run)
                        .collect()
                }

                async fn locked_grants(
                    &self,
                    ws: WorkspaceId,
                    day_end: OffsetDateTime,
                    failures: u32,
                ) -> Result<Vec<GrantId>, StoreError> {
                    let rows: Vec<(String,)> = sqlx::query_as(SELECT_LOCKED)
                        .bind(ws.to_string())
                        .bind(millis(day_end))
                        .bind(i64::from(failures))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading the locked grants"))?;
                    rows.iter()
                        .map(|(id,)| parse(id, "locked grant id"))
                        .collect()
                }
            }
        }
    };
}

pub(crate) use impl_schedule;
