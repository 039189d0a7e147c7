//! Integration tests of the decision engine, through its public API only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod owner;
mod props;
mod rules;

use std::collections::BTreeSet;

use confidant_core::{
    Access, DataCategory, Grant, GrantScope, GrantStatus, ItemId, Label, PersonStatus, RecordSetId,
    Role, WorkspaceId,
};
use confidant_policy::{Context, Decision, Engine, Item, Request, Subject};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// An id of any kind from a small number, so tests read well.
pub fn id<T: std::str::FromStr>(n: u128) -> T
where
    T::Err: std::fmt::Debug,
{
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | n)
        .to_string()
        .parse()
        .unwrap()
}

/// 2026-06-15 12:00:00 UTC plus `seconds`.
pub fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_781_524_800 + seconds).unwrap()
}

pub fn workspace() -> WorkspaceId {
    id(1)
}

pub fn other_workspace() -> WorkspaceId {
    id(2)
}

pub fn person(n: u128, role: Role) -> Subject<'static> {
    Subject {
        id: id(100 + n),
        name: "alex",
        role,
        status: PersonStatus::Active,
        workspace: workspace(),
    }
}

pub fn customers() -> RecordSetId {
    id(300)
}

pub fn column(name: &'static str, category: DataCategory) -> Item<'static> {
    Item::Column {
        workspace: workspace(),
        set: customers(),
        set_name: "customers",
        column: name,
        category,
        label: Label::Confidential,
    }
}

pub fn document(n: u128, name: &'static str, label: Label) -> Item<'static> {
    Item::Document {
        workspace: workspace(),
        id: id(400 + n),
        name,
        label,
        categories: &[DataCategory::Name, DataCategory::Email],
    }
}

pub fn record_set() -> Item<'static> {
    Item::RecordSet {
        workspace: workspace(),
        id: customers(),
        name: "customers",
        label: Label::Confidential,
        categories: &[DataCategory::Name, DataCategory::Phone],
    }
}

/// An active grant of `who` for `actions` on `scope`, expiring a day after
/// [`at`]`(0)`.
pub fn grant(n: u128, who: &Subject<'_>, scope: GrantScope, actions: &[Access]) -> Grant {
    Grant {
        id: id(500 + n),
        workspace: who.workspace,
        person: who.id,
        scope,
        actions: actions.iter().copied().collect(),
        purpose: "schedule appointments".into(),
        status: GrantStatus::Active,
        requested_by: id(101),
        request_reason: None,
        approved_by: Some(id(101)),
        created_at: at(-86_400),
        expires_at: at(86_400),
        ended_at: None,
        end_reason: None,
        require_passcode: false,
    }
}

pub fn columns(names: &[&str]) -> GrantScope {
    GrantScope::RecordSet {
        id: customers(),
        columns: names.iter().map(|c| c.to_string()).collect::<BTreeSet<_>>(),
        rows: None,
    }
}

/// The gates of the agreements, the day passcode and the device passed (what the
/// vault says once the person signed, acknowledged and entered it).
pub fn ready(mut context: Context) -> Context {
    context.agreement_signed = true;
    context.handbook_acknowledged = true;
    context.passcode_ok = true;
    context.device_ok = true;
    context
}

/// Noon, workspace time, with the gates passed.
pub fn noon() -> Context {
    ready(Context::new(at(0), 12 * 60))
}

pub fn ask(
    engine: &Engine,
    who: Subject<'_>,
    action: Access,
    item: Item<'_>,
    grants: &[Grant],
    context: Context,
) -> Decision {
    engine.decide(&Request {
        person: who,
        action,
        item,
        grants,
        context,
    })
}

/// The policy ids of a decision's reasons.
pub fn policies(decision: &Decision) -> Vec<&str> {
    decision.reasons.iter().map(|r| r.policy.as_str()).collect()
}

pub fn doc_id(n: u128) -> ItemId {
    id(400 + n)
}

pub fn later(days: i64) -> Context {
    ready(Context::new(at(0) + Duration::days(days), 12 * 60))
}
