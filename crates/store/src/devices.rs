//! Persistence of enrolled devices: the owner's one-time enrollment codes,
//! the devices with their public keys and latest verified posture report,
//! the one-time codes that link a session to a device, and the workspace's
//! posture policy.
//!
//! A trait of its own ([`DeviceStore`], a supertrait of
//! [`Store`](crate::Store)) written once for both backends like
//! [`GateStore`](crate::GateStore). Codes are kept as SHA-256 hashes only.

use async_trait::async_trait;
use confidant_core::{DeviceId, PersonId, WorkspaceId};
use time::OffsetDateTime;

use crate::StoreError;
use crate::sql::{parse, time_from_millis};

/// A one-time enrollment code, as its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollmentRecord {
    pub code_hash: Vec<u8>,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub created_by: PersonId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub device: Option<DeviceId>,
}

/// An enrolled device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: DeviceId,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    /// What the device calls itself.
    pub name: String,
    pub os: String,
    /// The Ed25519 public key (32 bytes).
    pub public_key: Vec<u8>,
    pub enrolled_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoke_reason: Option<String>,
    /// The sequence number of the latest accepted report (0: none yet).
    pub report_seq: u64,
    /// When the agent ran the checks of the latest accepted report.
    pub checked_at: Option<OffsetDateTime>,
    pub received_at: Option<OffsetDateTime>,
    /// The latest accepted report, as the agent's JSON.
    pub report: Option<String>,
}

/// A verified report to keep as a device's latest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedReport<'a> {
    pub seq: u64,
    pub checked_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub report: &'a str,
}

/// A one-time code a session showed, for its device to claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRecord {
    pub code_hash: Vec<u8>,
    pub workspace: WorkspaceId,
    pub session_hash: Vec<u8>,
    pub person: PersonId,
    pub expires_at: OffsetDateTime,
}

/// See the module documentation.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn insert_enrollment(&self, enrollment: &EnrollmentRecord) -> Result<(), StoreError>;
    /// An enrollment code by its hash, in any workspace.
    async fn enrollment(&self, code_hash: &[u8]) -> Result<Option<EnrollmentRecord>, StoreError>;
    /// Uses an unused, unexpired code and adds the device in one
    /// transaction; `Ok(false)` when the code was used or expired first.
    /// `Conflict` when the public key is enrolled already.
    async fn enroll_device(
        &self,
        code_hash: &[u8],
        device: &DeviceRecord,
    ) -> Result<bool, StoreError>;
    /// A device by its id, in any workspace (ids are random).
    async fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError>;
    /// Every device of the workspace, newest first.
    async fn devices(&self, workspace: WorkspaceId) -> Result<Vec<DeviceRecord>, StoreError>;
    /// Keeps a report as the device's latest, only when the device is not
    /// revoked and the report's sequence number is higher than the kept
    /// one's; `Ok(false)` otherwise (a replay, or a race with revocation).
    async fn accept_report(
        &self,
        workspace: WorkspaceId,
        device: DeviceId,
        report: &AcceptedReport<'_>,
    ) -> Result<bool, StoreError>;
    /// Revokes a device; `Ok(false)` when it was revoked already or is not
    /// the workspace's.
    async fn revoke_device(
        &self,
        workspace: WorkspaceId,
        device: DeviceId,
        at: OffsetDateTime,
        reason: &str,
    ) -> Result<bool, StoreError>;

    async fn insert_link(&self, link: &LinkRecord) -> Result<(), StoreError>;
    /// Takes (deletes and returns) a link code by its hash, in any
    /// workspace: each code links once.
    async fn take_link(&self, code_hash: &[u8]) -> Result<Option<LinkRecord>, StoreError>;
    /// Links a session or token to a device; `Ok(false)` when the session
    /// is gone.
    async fn link_session(
        &self,
        workspace: WorkspaceId,
        session_hash: &[u8],
        device: DeviceId,
    ) -> Result<bool, StoreError>;

    /// The workspace's posture requirements (`None`: the default) and the
    /// hours a report counts (`None`: the default).
    async fn posture_policy(
        &self,
        workspace: WorkspaceId,
    ) -> Result<(Option<String>, Option<u32>), StoreError>;
    async fn set_posture_policy(
        &self,
        workspace: WorkspaceId,
        requirements: &str,
        max_age_hours: u32,
    ) -> Result<(), StoreError>;
}

macro_rules! device_columns {
    () => {
        "id, workspace_id, person_id, name, os, public_key, enrolled_at, revoked_at, \
         revoke_reason, report_seq, checked_at, received_at, report"
    };
}
macro_rules! enrollment_columns {
    () => {
        "code_hash, workspace_id, person_id, created_by, created_at, expires_at, used_at, device_id"
    };
}

pub(crate) const INSERT_ENROLLMENT: &str = concat!(
    "INSERT INTO device_enrollments (",
    enrollment_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
);
pub(crate) const SELECT_ENROLLMENT: &str = concat!(
    "SELECT ",
    enrollment_columns!(),
    " FROM device_enrollments WHERE code_hash = $1"
);
pub(crate) const USE_ENROLLMENT: &str = "UPDATE device_enrollments SET used_at = $2, \
     device_id = $3 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2";
pub(crate) const INSERT_DEVICE: &str = concat!(
    "INSERT INTO devices (",
    device_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);
pub(crate) const SELECT_DEVICE: &str =
    concat!("SELECT ", device_columns!(), " FROM devices WHERE id = $1");
pub(crate) const SELECT_DEVICES: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices WHERE workspace_id = $1 ORDER BY enrolled_at DESC, id"
);
pub(crate) const ACCEPT_REPORT: &str = "UPDATE devices SET report_seq = $3, checked_at = $4, \
     received_at = $5, report = $6 \
     WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL AND report_seq < $3";
pub(crate) const REVOKE_DEVICE: &str = "UPDATE devices SET revoked_at = $3, revoke_reason = $4 \
     WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL";
pub(crate) const REVOKE_DEVICES_OF_PERSON: &str = "UPDATE devices SET revoked_at = $3, \
     revoke_reason = $4 WHERE workspace_id = $1 AND person_id = $2 AND revoked_at IS NULL";
pub(crate) const INSERT_LINK: &str = "INSERT INTO device_links (code_hash, workspace_id, \
     session_hash, person_id, expires_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const TAKE_LINK: &str = "DELETE FROM device_links WHERE code_hash = $1 \
     RETURNING code_hash, workspace_id, session_hash, person_id, expires_at";
pub(crate) const LINK_SESSION: &str =
    "UPDATE sessions SET device_id = $3 WHERE workspace_id = $1 AND hash = $2";
pub(crate) const SELECT_POSTURE_POLICY: &str =
    "SELECT posture_requirements, posture_max_age_hours FROM workspaces WHERE id = $1";
pub(crate) const SET_POSTURE_POLICY: &str = "UPDATE workspaces SET posture_requirements = $2, \
     posture_max_age_hours = $3 WHERE id = $1";

pub(crate) const DEVICE_EXISTS: &str =
    "this device key is enrolled already: run `confidant agent enroll` again to make a new key";
pub(crate) const CODE_EXISTS: &str = "a code with this hash exists already";

pub(crate) type DeviceRow = (
    String,
    String,
    String,
    String,
    String,
    Vec<u8>,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);
pub(crate) type EnrollmentRow = (
    Vec<u8>,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);
pub(crate) type LinkRow = (Vec<u8>, String, Vec<u8>, String, i64);

fn optional_time(
    ms: Option<i64>,
    what: &'static str,
) -> Result<Option<OffsetDateTime>, StoreError> {
    ms.map(|ms| time_from_millis(ms, what)).transpose()
}

pub(crate) fn seq_value(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(crate) fn device(row: DeviceRow) -> Result<DeviceRecord, StoreError> {
    let (
        id,
        workspace,
        person,
        name,
        os,
        public_key,
        enrolled_at,
        revoked_at,
        revoke_reason,
        report_seq,
        checked_at,
        received_at,
        report,
    ) = row;
    Ok(DeviceRecord {
        id: parse(&id, "device id")?,
        workspace: parse(&workspace, "device's workspace id")?,
        person: parse(&person, "device's person id")?,
        name,
        os,
        public_key,
        enrolled_at: time_from_millis(enrolled_at, "device enrollment time")?,
        revoked_at: optional_time(revoked_at, "device revocation time")?,
        revoke_reason,
        report_seq: u64::try_from(report_seq)
            .map_err(|_| StoreError::Corrupt("a device's report number is negative".into()))?,
        checked_at: optional_time(checked_at, "device report time")?,
        received_at: optional_time(received_at, "device report arrival")?,
        report,
    })
}

pub(crate) fn enrollment(row: EnrollmentRow) -> Result<EnrollmentRecord, StoreError> {
    let (code_hash, workspace, person, created_by, created_at, expires_at, used_at, device) = row;
    Ok(EnrollmentRecord {
        code_hash,
        workspace: parse(&workspace, "enrollment's workspace id")?,
        person: parse(&person, "enrollment's person id")?,
        created_by: parse(&created_by, "enrollment's creator id")?,
        created_at: time_from_millis(created_at, "enrollment creation time")?,
        expires_at: time_from_millis(expires_at, "enrollment expiry")?,
        used_at: optional_time(used_at, "enrollment use time")?,
        device: device
            .map(|d| parse(&d, "enrollment's device id"))
            .transpose()?,
    })
}

pub(crate) fn link(row: LinkRow) -> Result<LinkRecord, StoreError> {
    let (code_hash, workspace, session_hash, person, expires_at) = row;
    Ok(LinkRecord {
        code_hash,
        workspace: parse(&workspace, "link's workspace id")?,
        session_hash,
        person: parse(&person, "link's person id")?,
        expires_at: time_from_millis(expires_at, "link expiry")?,
    })
}

/// Writes [`DeviceStore`] for a store type with a `pool` field.
macro_rules! impl_devices {
    ($store:ident, $db:ty) => {
        mod devices_impl {
            use async_trait::async_trait;
            use confidant_core::{DeviceId, WorkspaceId};
            use time::OffsetDateTime;

            use super::$store;
            use $crate::devices::*;
            use $crate::sql::{failed, failed_unique, millis};
            use $crate::{DeviceStore, StoreError};

            #[async_trait]
            impl DeviceStore for $store {
                async fn insert_enrollment(&self, e: &EnrollmentRecord) -> Result<(), StoreError> {
                    sqlx::query(INSERT_ENROLLMENT)
                        .bind(e.code_hash.as_slice())
                        .bind(e.workspace.to_string())
                        .bind(e.person.to_string())
                        .bind(e.created_by.to_string())
                        .bind(millis(e.created_at))
                        .bind(millis(e.expires_at))
                        .bind(e.used_at.map(millis))
                        .bind(e.device.map(|d| d.to_string()))
                        .execute(&self.pool)
                        .await
                        .map_err(failed_unique("saving an enrollment code", CODE_EXISTS))?;
                    Ok(())
                }

                async fn enrollment(
                    &self,
                    code_hash: &[u8],
                ) -> Result<Option<EnrollmentRecord>, StoreError> {
                    sqlx::query_as::<_, EnrollmentRow>(SELECT_ENROLLMENT)
                        .bind(code_hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading an enrollment code"))?
                        .map(enrollment)
                        .transpose()
                }

                async fn enroll_device(
                    &self,
                    code_hash: &[u8],
                    d: &DeviceRecord,
                ) -> Result<bool, StoreError> {
                    const OP: &str = "enrolling a device";
                    let mut tx = self.pool.begin().await.map_err(failed(OP))?;
                    let used = sqlx::query(USE_ENROLLMENT)
                        .bind(code_hash)
                        .bind(millis(d.enrolled_at))
                        .bind(d.id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(failed(OP))?;
                    if used.rows_affected() != 1 {
                        return Ok(false);
                    }
                    sqlx::query(INSERT_DEVICE)
                        .bind(d.id.to_string())
                        .bind(d.workspace.to_string())
                        .bind(d.person.to_string())
                        .bind(&d.name)
                        .bind(&d.os)
                        .bind(d.public_key.as_slice())
                        .bind(millis(d.enrolled_at))
                        .bind(d.revoked_at.map(millis))
                        .bind(d.revoke_reason.as_deref())
                        .bind(seq_value(d.report_seq))
                        .bind(d.checked_at.map(millis))
                        .bind(d.received_at.map(millis))
                        .bind(d.report.as_deref())
                        .execute(&mut *tx)
                        .await
                        .map_err(failed_unique(OP, DEVICE_EXISTS))?;
                    tx.commit().await.map_err(failed(OP))?;
                    Ok(true)
                }

                async fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
                    sqlx::query_as::<_, DeviceRow>(SELECT_DEVICE)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a device"))?
                        .map(device)
                        .transpose()
                }

                async fn devices(&self, ws: WorkspaceId) -> Result<Vec<DeviceRecord>, StoreError> {
                    sqlx::query_as::<_, DeviceRow>(SELECT_DEVICES)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading the devices"))?
                        .into_iter()
                        .map(device)
                        .collect()
                }

                async fn accept_report(
                    &self,
                    ws: WorkspaceId,
                    id: DeviceId,
                    r: &AcceptedReport<'_>,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(ACCEPT_REPORT)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(seq_value(r.seq))
                        .bind(millis(r.checked_at))
                        .bind(millis(r.received_at))
                        .bind(r.report)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving a posture report"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn revoke_device(
                    &self,
                    ws: WorkspaceId,
                    id: DeviceId,
                    at: OffsetDateTime,
                    reason: &str,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(REVOKE_DEVICE)
                        .bind(ws.to_string())
                        .bind(id.to_string())
                        .bind(millis(at))
                        .bind(reason)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("revoking a device"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn insert_link(&self, l: &LinkRecord) -> Result<(), StoreError> {
                    sqlx::query(INSERT_LINK)
                        .bind(l.code_hash.as_slice())
                        .bind(l.workspace.to_string())
                        .bind(l.session_hash.as_slice())
                        .bind(l.person.to_string())
                        .bind(millis(l.expires_at))
                        .execute(&self.pool)
                        .await
                        .map_err(failed_unique("saving a link code", CODE_EXISTS))?;
                    Ok(())
                }

                async fn take_link(
                    &self,
                    code_hash: &[u8],
                ) -> Result<Option<LinkRecord>, StoreError> {
                    sqlx::query_as::<_, LinkRow>(TAKE_LINK)
                        .bind(code_hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("using a link code"))?
                        .map(link)
                        .transpose()
                }

                async fn link_session(
                    &self,
                    ws: WorkspaceId,
                    session_hash: &[u8],
                    id: DeviceId,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(LINK_SESSION)
                        .bind(ws.to_string())
                        .bind(session_hash)
                        .bind(id.to_string())
                        .execute(&self.pool)
                        .await
                        .map_err(failed("linking a session to a device"))?;
                    Ok(done.rows_affected() == 1)
                }

                async fn posture_policy(
                    &self,
                    ws: WorkspaceId,
                ) -> Result<(Option<String>, Option<u32>), StoreError> {
                    let row: Option<(Option<String>, Option<i32>)> =
                        sqlx::query_as(SELECT_POSTURE_POLICY)
                            .bind(ws.to_string())
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(failed("reading the posture policy"))?;
                    let (text, hours) = row.ok_or_else(|| {
                        StoreError::Conflict("the workspace does not exist".into())
                    })?;
                    let hours = hours
                        .map(|h| {
                            u32::try_from(h).map_err(|_| {
                                StoreError::Corrupt("the posture report age is negative".into())
                            })
                        })
                        .transpose()?;
                    Ok((text, hours))
                }

                async fn set_posture_policy(
                    &self,
                    ws: WorkspaceId,
                    requirements: &str,
                    max_age_hours: u32,
                ) -> Result<(), StoreError> {
                    let updated = sqlx::query(SET_POSTURE_POLICY)
                        .bind(ws.to_string())
                        .bind(requirements)
                        .bind(i32::try_from(max_age_hours).unwrap_or(i32::MAX))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving the posture policy"))?;
                    if updated.rows_affected() != 1 {
                        return Err(StoreError::Conflict("the workspace does not exist".into()));
                    }
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_devices;
