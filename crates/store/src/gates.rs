//! Persistence of the gates in front of confidential items: the
//! workspace's business day, agreements and signatures, day passcodes
//! (hashes only), their wrong tries and the items they unlocked; and the
//! honey records of stamped exports (keyed hashes only).
//!
//! A trait of its own ([`GateStore`], a supertrait of [`Store`](crate::Store))
//! with its SQL and row mapping here, written once for both backends like
//! the rest of the store (see `sql.rs`).

use async_trait::async_trait;
use confidant_core::{
    Agreement, AgreementKind, GrantId, ItemId, Label, PasscodeId, PersonId, Role, Signature,
    WorkspaceId,
};
use time::OffsetDateTime;

use crate::StoreError;
use crate::sql::{parse, time_from_millis};

/// A day passcode as stored: its Argon2id hash, never the passcode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasscodeRecord {
    pub id: PasscodeId,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub grant: GrantId,
    /// PHC string of the Argon2id hash.
    pub hash: String,
    pub valid_from: OffsetDateTime,
    pub valid_until: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl PasscodeRecord {
    /// Usable at `now`: inside its window and not revoked.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.valid_from <= now && now < self.valid_until
    }
}

/// An item a person opened with a passcode, open without it until `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlockRecord {
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub passcode: PasscodeId,
    pub grant: GrantId,
    /// The item's id (a document or a record set) in its text form.
    pub item: String,
    pub until: OffsetDateTime,
}

/// Whose passcodes to revoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasscodeScope {
    Grant(GrantId),
    Person(PersonId),
    /// One passcode (one the schedule issued but could not deliver).
    One(PasscodeId),
}

/// The gates' persistence; see the module documentation.
#[async_trait]
pub trait GateStore: Send + Sync {
    /// The workspace's time zone (IANA name) and the minute its business
    /// day ends.
    async fn business_day(&self, workspace: WorkspaceId) -> Result<(String, u16), StoreError>;
    async fn set_business_day(
        &self,
        workspace: WorkspaceId,
        time_zone: &str,
        ends_at: u16,
    ) -> Result<(), StoreError>;

    /// Publishes a version; `Conflict` when that version of that kind and
    /// audience exists already (two owners publishing at once).
    async fn insert_agreement(&self, agreement: &Agreement) -> Result<(), StoreError>;
    /// Every version of every agreement, by kind, audience and version.
    async fn agreements(&self, workspace: WorkspaceId) -> Result<Vec<Agreement>, StoreError>;
    async fn insert_signature(&self, signature: &Signature) -> Result<(), StoreError>;
    /// Every signature of the workspace, newest first.
    async fn signatures(&self, workspace: WorkspaceId) -> Result<Vec<Signature>, StoreError>;
    async fn signatures_of(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
    ) -> Result<Vec<Signature>, StoreError>;

    async fn insert_passcode(&self, passcode: &PasscodeRecord) -> Result<(), StoreError>;
    /// A grant's passcodes that end after `after`, oldest first.
    async fn passcodes_of_grant(
        &self,
        workspace: WorkspaceId,
        grant: GrantId,
        after: OffsetDateTime,
    ) -> Result<Vec<PasscodeRecord>, StoreError>;
    /// Revokes every unrevoked passcode of a grant or a person; returns how
    /// many.
    async fn revoke_passcodes(
        &self,
        workspace: WorkspaceId,
        scope: PasscodeScope,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Counts one more wrong try on a grant's passcode for the business day
    /// ending at `day_end`; returns the day's count so far.
    async fn add_passcode_failure(
        &self,
        workspace: WorkspaceId,
        grant: GrantId,
        day_end: OffsetDateTime,
    ) -> Result<u32, StoreError>;
    async fn passcode_failures(
        &self,
        workspace: WorkspaceId,
        grant: GrantId,
        day_end: OffsetDateTime,
    ) -> Result<u32, StoreError>;
    /// Records an unlock (once per passcode and item).
    async fn insert_unlock(&self, unlock: &UnlockRecord) -> Result<(), StoreError>;
    /// A person's unlocks still open at `now` whose passcode is not revoked.
    async fn unlocks_of(
        &self,
        workspace: WorkspaceId,
        person: PersonId,
        now: OffsetDateTime,
    ) -> Result<Vec<UnlockRecord>, StoreError>;

    /// Whether the owner's own copies are stamped (on unless they turned
    /// it off).
    async fn owner_copies_stamped(&self, workspace: WorkspaceId) -> Result<bool, StoreError>;
    async fn set_owner_copies_stamped(
        &self,
        workspace: WorkspaceId,
        stamped: bool,
    ) -> Result<(), StoreError>;

    /// Whether a document is view only.
    async fn view_only(&self, workspace: WorkspaceId, document: ItemId)
    -> Result<bool, StoreError>;
    /// Sets or clears a document's view-only flag.
    async fn set_view_only(
        &self,
        workspace: WorkspaceId,
        document: ItemId,
        view_only: bool,
    ) -> Result<(), StoreError>;

    /// Keeps the keyed hashes of an export's honey values with its
    /// delivery (all or nothing).
    async fn insert_honey_tags(
        &self,
        workspace: WorkspaceId,
        delivery: &str,
        tags: &[Vec<u8>],
    ) -> Result<(), StoreError>;
    /// The deliveries whose honey values have this keyed hash.
    async fn honey_deliveries(
        &self,
        workspace: WorkspaceId,
        tag: &[u8],
    ) -> Result<Vec<String>, StoreError>;
}

pub(crate) const SELECT_VIEW_ONLY: &str =
    "SELECT 1 FROM view_only_documents WHERE workspace_id = $1 AND document_id = $2";
pub(crate) const SET_VIEW_ONLY: &str = "INSERT INTO view_only_documents (workspace_id, \
     document_id) VALUES ($1, $2) ON CONFLICT (workspace_id, document_id) DO NOTHING";
pub(crate) const CLEAR_VIEW_ONLY: &str =
    "DELETE FROM view_only_documents WHERE workspace_id = $1 AND document_id = $2";
pub(crate) const SELECT_OWNER_STAMPS: &str =
    "SELECT owner_copies_stamped FROM workspaces WHERE id = $1";
pub(crate) const SET_OWNER_STAMPS: &str =
    "UPDATE workspaces SET owner_copies_stamped = $2 WHERE id = $1";
pub(crate) const SELECT_BUSINESS_DAY: &str =
    "SELECT time_zone, day_ends_at FROM workspaces WHERE id = $1";
pub(crate) const SET_BUSINESS_DAY: &str =
    "UPDATE workspaces SET time_zone = $2, day_ends_at = $3 WHERE id = $1";

macro_rules! agreement_columns {
    () => {
        "id, workspace_id, kind, audience, version, title, body, covers, valid_days, grace_days, \
         published_at, published_by"
    };
}
macro_rules! signature_columns {
    () => {
        "id, workspace_id, person_id, agreement_id, kind, audience, version, text_sha256, covers, \
         typed_name, signed_at, expires_at, client, user_agent, seal"
    };
}
macro_rules! passcode_columns {
    () => {
        "id, workspace_id, person_id, grant_id, hash, valid_from, valid_until, created_at, \
         revoked_at"
    };
}

pub(crate) const INSERT_AGREEMENT: &str = concat!(
    "INSERT INTO agreements (",
    agreement_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
pub(crate) const SELECT_AGREEMENTS: &str = concat!(
    "SELECT ",
    agreement_columns!(),
    " FROM agreements WHERE workspace_id = $1 ORDER BY kind, audience, version"
);
pub(crate) const INSERT_SIGNATURE: &str = concat!(
    "INSERT INTO signatures (",
    signature_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);
pub(crate) const SELECT_SIGNATURES: &str = concat!(
    "SELECT ",
    signature_columns!(),
    " FROM signatures WHERE workspace_id = $1 ORDER BY signed_at DESC, id"
);
pub(crate) const SELECT_SIGNATURES_OF: &str = concat!(
    "SELECT ",
    signature_columns!(),
    " FROM signatures WHERE workspace_id = $1 AND person_id = $2 ORDER BY signed_at DESC, id"
);
pub(crate) const INSERT_PASSCODE: &str = concat!(
    "INSERT INTO passcodes (",
    passcode_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);
pub(crate) const SELECT_PASSCODES_OF_GRANT: &str = concat!(
    "SELECT ",
    passcode_columns!(),
    " FROM passcodes WHERE workspace_id = $1 AND grant_id = $2 AND valid_until > $3 \
     ORDER BY valid_from, id"
);
pub(crate) const REVOKE_PASSCODES_OF_GRANT: &str = "UPDATE passcodes SET revoked_at = $3 \
     WHERE workspace_id = $1 AND grant_id = $2 AND revoked_at IS NULL";
pub(crate) const REVOKE_PASSCODES_OF_PERSON: &str = "UPDATE passcodes SET revoked_at = $3 \
     WHERE workspace_id = $1 AND person_id = $2 AND revoked_at IS NULL";
pub(crate) const REVOKE_ONE_PASSCODE: &str = "UPDATE passcodes SET revoked_at = $3 \
     WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL";
pub(crate) const ADD_PASSCODE_FAILURE: &str = "INSERT INTO passcode_failures \
     (workspace_id, grant_id, day_end, failures) VALUES ($1, $2, $3, 1) \
     ON CONFLICT (grant_id, day_end) DO UPDATE SET failures = passcode_failures.failures + 1 \
     RETURNING failures";
pub(crate) const SELECT_PASSCODE_FAILURES: &str = "SELECT failures FROM passcode_failures \
     WHERE workspace_id = $1 AND grant_id = $2 AND day_end = $3";
pub(crate) const INSERT_UNLOCK: &str = "INSERT INTO passcode_unlocks \
     (workspace_id, person_id, passcode_id, grant_id, item, until) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (passcode_id, item) DO NOTHING";
pub(crate) const SELECT_UNLOCKS_OF: &str = "SELECT u.workspace_id, u.person_id, u.passcode_id, \
     u.grant_id, u.item, u.until FROM passcode_unlocks u \
     JOIN passcodes p ON p.id = u.passcode_id \
     WHERE u.workspace_id = $1 AND u.person_id = $2 AND u.until > $3 AND p.revoked_at IS NULL \
     ORDER BY u.until";

pub(crate) const INSERT_HONEY_TAG: &str = "INSERT INTO honey_tags (workspace_id, tag_hash, \
     delivery) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, tag_hash, delivery) DO NOTHING";
pub(crate) const SELECT_HONEY_DELIVERIES: &str = "SELECT delivery FROM honey_tags \
     WHERE workspace_id = $1 AND tag_hash = $2 ORDER BY delivery";

pub(crate) const AGREEMENT_EXISTS: &str = "this version of the agreement was published a moment ago by someone else: reload and try again";
pub(crate) const SIGNATURE_EXISTS: &str = "a signature with this id exists already";
pub(crate) const PASSCODE_EXISTS: &str = "a passcode with this id exists already";

pub(crate) type AgreementRow = (
    String,
    String,
    String,
    String,
    i32,
    String,
    String,
    String,
    Option<i32>,
    i32,
    i64,
    Option<String>,
);
pub(crate) type SignatureRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
    Vec<u8>,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    String,
    Vec<u8>,
);
pub(crate) type PasscodeRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
);
pub(crate) type UnlockRow = (String, String, String, String, String, i64);

fn count(value: i32, what: &'static str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} is negative")))
}

pub(crate) fn small(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

pub(crate) fn agreement(row: AgreementRow) -> Result<Agreement, StoreError> {
    let (
        id,
        workspace,
        kind,
        audience,
        version,
        title,
        text,
        covers,
        valid_days,
        grace_days,
        published_at,
        published_by,
    ) = row;
    Ok(Agreement {
        id: parse(&id, "agreement id")?,
        workspace: parse(&workspace, "agreement's workspace id")?,
        kind: parse::<AgreementKind>(&kind, "agreement kind")?,
        audience: parse::<Role>(&audience, "agreement's audience")?,
        version: count(version, "agreement version")?,
        title,
        text,
        covers: parse::<Label>(&covers, "agreement's label")?,
        valid_days: valid_days
            .map(|d| count(d, "agreement validity"))
            .transpose()?,
        grace_days: count(grace_days, "agreement grace period")?,
        published_at: time_from_millis(published_at, "agreement publication time")?,
        published_by: published_by
            .map(|p| parse(&p, "agreement's publisher id"))
            .transpose()?,
    })
}

pub(crate) fn signature(row: SignatureRow) -> Result<Signature, StoreError> {
    let (
        id,
        workspace,
        person,
        agreement,
        kind,
        audience,
        version,
        text_sha256,
        covers,
        typed_name,
        signed_at,
        expires_at,
        client,
        user_agent,
        seal,
    ) = row;
    Ok(Signature {
        id: parse(&id, "signature id")?,
        workspace: parse(&workspace, "signature's workspace id")?,
        person: parse(&person, "signature's person id")?,
        agreement: parse(&agreement, "signature's agreement id")?,
        kind: parse::<AgreementKind>(&kind, "signature's agreement kind")?,
        audience: parse::<Role>(&audience, "signature's audience")?,
        version: count(version, "signature's agreement version")?,
        text_sha256: text_sha256
            .try_into()
            .map_err(|_| StoreError::Corrupt("a signature's text hash is not 32 bytes".into()))?,
        covers: parse::<Label>(&covers, "signature's label")?,
        typed_name,
        signed_at: time_from_millis(signed_at, "signature time")?,
        expires_at: expires_at
            .map(|ms| time_from_millis(ms, "signature expiry"))
            .transpose()?,
        client,
        user_agent,
        seal,
    })
}

pub(crate) fn passcode(row: PasscodeRow) -> Result<PasscodeRecord, StoreError> {
    let (id, workspace, person, grant, hash, valid_from, valid_until, created_at, revoked_at) = row;
    Ok(PasscodeRecord {
        id: parse(&id, "passcode id")?,
        workspace: parse(&workspace, "passcode's workspace id")?,
        person: parse(&person, "passcode's person id")?,
        grant: parse(&grant, "passcode's grant id")?,
        hash,
        valid_from: time_from_millis(valid_from, "passcode start")?,
        valid_until: time_from_millis(valid_until, "passcode end")?,
        created_at: time_from_millis(created_at, "passcode creation time")?,
        revoked_at: revoked_at
            .map(|ms| time_from_millis(ms, "passcode revocation time"))
            .transpose()?,
    })
}

pub(crate) fn unlock(row: UnlockRow) -> Result<UnlockRecord, StoreError> {
    let (workspace, person, passcode, grant, item, until) = row;
    Ok(UnlockRecord {
        workspace: parse(&workspace, "unlock's workspace id")?,
        person: parse(&person, "unlock's person id")?,
        passcode: parse(&passcode, "unlock's passcode id")?,
        grant: parse(&grant, "unlock's grant id")?,
        item,
        until: time_from_millis(until, "unlock end")?,
    })
}

/// Writes [`GateStore`] for a store type with a `pool` field.
macro_rules! impl_gates {
    ($store:ident, $db:ty) => {
        mod gates_impl {
            use async_trait::async_trait;
            use confidant_core::{Agreement, GrantId, PersonId, Signature, WorkspaceId};
            use time::OffsetDateTime;

            use super::$store;
            use $crate::gates::*;
            use $crate::sql::{failed, failed_unique, millis};
            use $crate::{GateStore, StoreError};

            #[async_trait]
            impl GateStore for $store {
                async fn business_day(&self, ws: WorkspaceId) -> Result<(String, u16), StoreError> {
                    let row: Option<(String, i32)> = sqlx::query_as(SELECT_BUSINESS_DAY)
                        .bind(ws.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading the business day"))?;
                    let (zone, ends) = row.ok_or_else(|| {
                        StoreError::Conflict("the workspace does not exist".into())
                    })?;
                    let ends = u16::try_from(ends).map_err(|_| {
                        StoreError::Corrupt("the business day's end is out of range".into())
                    })?;
                    Ok((zone, ends))
                }

                async fn view_only(
                    &self,
                    ws: WorkspaceId,
                    document: confidant_core::ItemId,
                ) -> Result<bool, StoreError> {
                    let row: Option<(i32,)> = sqlx::query_as(SELECT_VIEW_ONLY)
                        .bind(ws.to_string())
                        .bind(document.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading a document's view-only flag"))?;
                    Ok(row.is_some())
                }

                async fn set_view_only(
                    &self,
                    ws: WorkspaceId,
                    document: confidant_core::ItemId,
                    view_only: bool,
                ) -> Result<(), StoreError> {
                    let sql = if view_only {
                        SET_VIEW_ONLY
                    } else {
                        CLEAR_VIEW_ONLY
                    };
                    sqlx::query(sql)
                        .bind(ws.to_string())
                        .bind(document.to_string())
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving a document's view-only flag"))?;
                    Ok(())
                }

                async fn owner_copies_stamped(&self, ws: WorkspaceId) -> Result<bool, StoreError> {
                    let row: Option<(bool,)> = sqlx::query_as(SELECT_OWNER_STAMPS)
                        .bind(ws.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading the stamping setting"))?;
                    row.map(|(on,)| on)
                        .ok_or_else(|| StoreError::Conflict("the workspace does not exist".into()))
                }

                async fn set_owner_copies_stamped(
                    &self,
                    ws: WorkspaceId,
                    stamped: bool,
                ) -> Result<(), StoreError> {
                    let updated = sqlx::query(SET_OWNER_STAMPS)
                        .bind(ws.to_string())
                        .bind(stamped)
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving the stamping setting"))?;
                    if updated.rows_affected() != 1 {
                        return Err(StoreError::Conflict("the workspace does not exist".into()));
                    }
                    Ok(())
                }

                async fn set_business_day(
                    &self,
                    ws: WorkspaceId,
                    time_zone: &str,
                    ends_at: u16,
                ) -> Result<(), StoreError> {
                    let updated = sqlx::query(SET_BUSINESS_DAY)
                        .bind(ws.to_string())
                        .bind(time_zone)
                        .bind(i32::from(ends_at))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("saving the business day"))?;
                    if updated.rows_affected() != 1 {
                        return Err(StoreError::Conflict("the workspace does not exist".into()));
                    }
                    Ok(())
                }

                async fn insert_agreement(&self, a: &Agreement) -> Result<(), StoreError> {
                    sqlx::query(INSERT_AGREEMENT)
                        .bind(a.id.to_string())
                        .bind(a.workspace.to_string())
                        .bind(a.kind.as_str())
                        .bind(a.audience.as_str())
                        .bind(small(a.version))
                        .bind(&a.title)
                        .bind(&a.text)
                        .bind(a.covers.as_str())
                        .bind(a.valid_days.map(small))
                        .bind(small(a.grace_days))
                        .bind(millis(a.published_at))
                        .bind(a.published_by.map(|p| p.to_string()))
                        .execute(&self.pool)
                        .await
                        .map_err(failed_unique("publishing an agreement", AGREEMENT_EXISTS))?;
                    Ok(())
                }

                async fn agreements(&self, ws: WorkspaceId) -> Result<Vec<Agreement>, StoreError> {
                    sqlx::query_as::<_, AgreementRow>(SELECT_AGREEMENTS)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading the agreements"))?
                        .into_iter()
                        .map(agreement)
                        .collect()
                }

                async fn insert_signature(&self, s: &Signature) -> Result<(), StoreError> {
                    sqlx::query(INSERT_SIGNATURE)
                        .bind(s.id.to_string())
                        .bind(s.workspace.to_string())
                        .bind(s.person.to_string())
                        .bind(s.agreement.to_string())
                        .bind(s.kind.as_str())
                        .bind(s.audience.as_str())
                        .bind(small(s.version))
                        .bind(s.text_sha256.as_slice())
                        .bind(s.covers.as_str())
                        .bind(&s.typed_name)
                        .bind(millis(s.signed_at))
                        .bind(s.expires_at.map(millis))
                        .bind(s.client.as_deref())
                        .bind(&s.user_agent)
                        .bind(s.seal.as_slice())
                        .execute(&self.pool)
                        .await
                        .map_err(failed_unique("storing a signature", SIGNATURE_EXISTS))?;
                    Ok(())
                }

                async fn signatures(&self, ws: WorkspaceId) -> Result<Vec<Signature>, StoreError> {
                    sqlx::query_as::<_, SignatureRow>(SELECT_SIGNATURES)
                        .bind(ws.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading the signatures"))?
                        .into_iter()
                        .map(signature)
                        .collect()
                }

                async fn signatures_of(
                    &self,
                    ws: WorkspaceId,
                    person: PersonId,
                ) -> Result<Vec<Signature>, StoreError> {
                    sqlx::query_as::<_, SignatureRow>(SELECT_SIGNATURES_OF)
                        .bind(ws.to_string())
                        .bind(person.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading a person's signatures"))?
                        .into_iter()
                        .map(signature)
                        .collect()
                }

                async fn insert_passcode(&self, p: &PasscodeRecord) -> Result<(), StoreError> {
                    sqlx::query(INSERT_PASSCODE)
                        .bind(p.id.to_string())
                        .bind(p.workspace.to_string())
                        .bind(p.person.to_string())
                        .bind(p.grant.to_string())
                        .bind(&p.hash)
                        .bind(millis(p.valid_from))
                        .bind(millis(p.valid_until))
                        .bind(millis(p.created_at))
                        .bind(p.revoked_at.map(millis))
                        .execute(&self.pool)
                        .await
                        .map_err(failed_unique("storing a passcode", PASSCODE_EXISTS))?;
                    Ok(())
                }

                async fn passcodes_of_grant(
                    &self,
                    ws: WorkspaceId,
                    grant: GrantId,
                    after: OffsetDateTime,
                ) -> Result<Vec<PasscodeRecord>, StoreError> {
                    sqlx::query_as::<_, PasscodeRow>(SELECT_PASSCODES_OF_GRANT)
                        .bind(ws.to_string())
                        .bind(grant.to_string())
                        .bind(millis(after))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading a grant's passcodes"))?
                        .into_iter()
                        .map(passcode)
                        .collect()
                }

                async fn revoke_passcodes(
                    &self,
                    ws: WorkspaceId,
                    scope: PasscodeScope,
                    at: OffsetDateTime,
                ) -> Result<u64, StoreError> {
                    let (sql, id) = match scope {
                        PasscodeScope::Grant(g) => (REVOKE_PASSCODES_OF_GRANT, g.to_string()),
                        PasscodeScope::Person(p) => (REVOKE_PASSCODES_OF_PERSON, p.to_string()),
                        PasscodeScope::One(id) => (REVOKE_ONE_PASSCODE, id.to_string()),
                    };
                    let done = sqlx::query(sql)
                        .bind(ws.to_string())
                        .bind(id)
                        .bind(millis(at))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("revoking passcodes"))?;
                    Ok(done.rows_affected())
                }

                async fn add_passcode_failure(
                    &self,
                    ws: WorkspaceId,
                    grant: GrantId,
                    day_end: OffsetDateTime,
                ) -> Result<u32, StoreError> {
                    let n: i32 = sqlx::query_scalar(ADD_PASSCODE_FAILURE)
                        .bind(ws.to_string())
                        .bind(grant.to_string())
                        .bind(millis(day_end))
                        .fetch_one(&self.pool)
                        .await
                        .map_err(failed("counting a wrong passcode"))?;
                    Ok(u32::try_from(n).unwrap_or(0))
                }

                async fn passcode_failures(
                    &self,
                    ws: WorkspaceId,
                    grant: GrantId,
                    day_end: OffsetDateTime,
                ) -> Result<u32, StoreError> {
                    let n: Option<i32> = sqlx::query_scalar(SELECT_PASSCODE_FAILURES)
                        .bind(ws.to_string())
                        .bind(grant.to_string())
                        .bind(millis(day_end))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(failed("reading wrong passcodes"))?;
                    Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(0)))
                }

                async fn insert_unlock(&self, u: &UnlockRecord) -> Result<(), StoreError> {
                    sqlx::query(INSERT_UNLOCK)
                        .bind(u.workspace.to_string())
                        .bind(u.person.to_string())
                        .bind(u.passcode.to_string())
                        .bind(u.grant.to_string())
                        .bind(&u.item)
                        .bind(millis(u.until))
                        .execute(&self.pool)
                        .await
                        .map_err(failed("recording an unlock"))?;
                    Ok(())
                }

                async fn unlocks_of(
                    &self,
                    ws: WorkspaceId,
                    person: PersonId,
                    now: OffsetDateTime,
                ) -> Result<Vec<UnlockRecord>, StoreError> {
                    sqlx::query_as::<_, UnlockRow>(SELECT_UNLOCKS_OF)
                        .bind(ws.to_string())
                        .bind(person.to_string())
                        .bind(millis(now))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("reading a person's unlocks"))?
                        .into_iter()
                        .map(unlock)
                        .collect()
                }

                async fn insert_honey_tags(
                    &self,
                    ws: WorkspaceId,
                    delivery: &str,
                    tags: &[Vec<u8>],
                ) -> Result<(), StoreError> {
                    const OP: &str = "recording honey records";
                    let mut tx = self.begin_write().await.map_err(failed(OP))?;
                    for tag in tags {
                        sqlx::query(INSERT_HONEY_TAG)
                            .bind(ws.to_string())
                            .bind(tag.as_slice())
                            .bind(delivery)
                            .execute(&mut *tx)
                            .await
                            .map_err(failed(OP))?;
                    }
                    tx.commit().await.map_err(failed(OP))
                }

                async fn honey_deliveries(
                    &self,
                    ws: WorkspaceId,
                    tag: &[u8],
                ) -> Result<Vec<String>, StoreError> {
                    sqlx::query_scalar(SELECT_HONEY_DELIVERIES)
                        .bind(ws.to_string())
                        .bind(tag)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(failed("looking up honey records"))
                }
            }
        }
    };
}
pub(crate) use impl_gates;
