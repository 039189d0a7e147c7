//! Property tests: random grants and requests against an independent
//! statement of need to know.

use confidant_core::{
    Access, DataCategory, Grant, GrantScope, GrantStatus, Label, PersonStatus, RecordSetId, Role,
};
use confidant_policy::{Engine, Item};
use proptest::prelude::*;

use crate::*;

const COLUMNS: [&str; 4] = ["name", "phone", "card", "notes"];
const DOCUMENTS: [&str; 4] = ["invoices/a.pdf", "invoices/2026/b.pdf", "hr/c.pdf", "d.pdf"];
const FOLDERS: [&str; 3] = ["invoices/", "invoices/2026/", "hr/"];

fn set(n: usize) -> RecordSetId {
    id(300 + n as u128)
}

fn access() -> impl Strategy<Value = Access> {
    prop::sample::select(Access::ALL.to_vec())
}

fn label() -> impl Strategy<Value = Label> {
    prop::sample::select(Label::ALL.to_vec())
}

fn item() -> impl Strategy<Value = Item<'static>> {
    prop_oneof![
        (0..2usize, 0..COLUMNS.len(), label()).prop_map(|(s, c, label)| Item::Column {
            workspace: workspace(),
            set: set(s),
            set_name: "customers",
            column: COLUMNS[c],
            category: DataCategory::ALL[c],
            label,
        }),
        (0..DOCUMENTS.len(), label()).prop_map(|(d, label)| Item::Document {
            workspace: workspace(),
            id: doc_id(d as u128),
            name: DOCUMENTS[d],
            label,
            categories: &[DataCategory::CardNumber],
        }),
        (0..2usize, label()).prop_map(|(s, label)| Item::RecordSet {
            workspace: workspace(),
            id: set(s),
            name: "customers",
            label,
            categories: &[],
        }),
    ]
}

fn scope() -> impl Strategy<Value = GrantScope> {
    prop_oneof![
        (0..DOCUMENTS.len()).prop_map(|d| GrantScope::Document {
            id: doc_id(d as u128)
        }),
        (0..FOLDERS.len()).prop_map(|f| GrantScope::Folder {
            path: FOLDERS[f].to_owned()
        }),
        (
            0..2usize,
            prop::collection::btree_set(0..COLUMNS.len(), 1..=COLUMNS.len())
        )
            .prop_map(|(s, cols)| GrantScope::RecordSet {
                id: set(s),
                columns: cols.into_iter().map(|c| COLUMNS[c].to_owned()).collect(),
                rows: None,
            }),
    ]
}

/// A grant of alex (usually) or sam, in this workspace (usually), in any
/// state, expiring between two days ago and two days ahead.
fn any_grant() -> impl Strategy<Value = Grant> {
    (
        0..64u128,
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.9),
        scope(),
        prop::collection::btree_set(access(), 1..=5),
        prop::sample::select(vec![
            GrantStatus::Active,
            GrantStatus::Requested,
            GrantStatus::Ended,
        ]),
        -2 * 86_400..2 * 86_400i64,
    )
        .prop_map(|(n, alex, here, scope, actions, status, expiry)| {
            let who = person(if alex { 2 } else { 3 }, Role::Assistant);
            let mut g = grant(n, &who, scope, &[]);
            g.actions = actions;
            g.status = status;
            g.expires_at = at(expiry);
            if !here {
                g.workspace = other_workspace();
            }
            g
        })
}

/// Need to know, stated independently of the engine.
fn covers(grant: &Grant, action: Access, item: &Item<'_>) -> bool {
    let alex = person(2, Role::Assistant);
    let scope_ok = match (&grant.scope, item) {
        (GrantScope::Document { id }, Item::Document { id: d, .. }) => id == d,
        (GrantScope::Folder { path }, Item::Document { name, .. }) => {
            name.starts_with(path.as_str())
        }
        (GrantScope::RecordSet { id, columns, .. }, Item::Column { set, column, .. }) => {
            id == set && columns.contains(*column)
        }
        (GrantScope::RecordSet { id, .. }, Item::RecordSet { id: s, .. }) => id == s,
        _ => false,
    };
    scope_ok
        && grant.person == alex.id
        && grant.workspace == alex.workspace
        && grant.status == GrantStatus::Active
        && at(0) < grant.expires_at
        && grant.actions.contains(&action)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Allowed exactly when a live grant of the person covers the item and
    /// action, and every grant named in the decision does.
    #[test]
    fn grants_allow_exactly_what_they_cover(
        grants in prop::collection::vec(any_grant(), 0..12),
        role in prop::sample::select(vec![Role::Assistant, Role::Vendor, Role::Associate]),
        action in access(),
        item in item(),
    ) {
        let engine = Engine::new();
        let d = ask(&engine, person(2, role), action, item, &grants, noon());
        let expected = grants.iter().any(|g| covers(g, action, &item));
        prop_assert_eq!(d.allowed, expected, "{}", d);
        for id in &d.grants {
            let g = grants.iter().find(|g| g.id == *id && covers(g, action, &item));
            prop_assert!(g.is_some(), "{id:?} does not cover the request");
        }
        prop_assert!(!d.reasons.is_empty());
    }

    /// Requested, ended and expired grants never allow anything.
    #[test]
    fn grants_out_of_force_never_allow(
        grants in prop::collection::vec(any_grant(), 0..12),
        days in 0..3i64,
        action in access(),
        item in item(),
    ) {
        let context = later(days);
        let dead: Vec<Grant> = grants
            .into_iter()
            .filter(|g| g.status != GrantStatus::Active || g.expires_at <= context.now)
            .collect();
        let engine = Engine::new();
        let d = ask(&engine, person(2, Role::Assistant), action, item, &dead, context);
        prop_assert!(!d.allowed, "{}", d);
        prop_assert!(d.grants.is_empty());
    }

    /// Forbids win: whatever the role and grants, an inactive person, one
    /// of another workspace, an auditor, or a request an owner policy
    /// forbids is denied.
    #[test]
    fn forbids_win(
        grants in prop::collection::vec(any_grant(), 0..12),
        role in prop::sample::select(Role::ALL.to_vec()),
        status in prop::sample::select(vec![PersonStatus::Invited, PersonStatus::Active, PersonStatus::Offboarded]),
        here in any::<bool>(),
        minute in 0..1440u16,
        action in access(),
        item in item(),
    ) {
        let engine = Engine::with_owner_policies(crate::owner::BUSINESS_HOURS).unwrap();
        let mut who = person(2, role);
        who.status = status;
        if !here {
            who.workspace = other_workspace();
        }
        // Grants of the person whatever their workspace.
        let grants: Vec<Grant> = grants
            .into_iter()
            .map(|mut g| {
                g.workspace = who.workspace;
                g
            })
            .collect();
        let context = ready(Context::new(at(0), minute));
        let d = ask(&engine, who, action, item, &grants, context);
        let after_hours = !(480..1080).contains(&minute) && item.label() == Label::Restricted;
        if status != PersonStatus::Active || !here || role == Role::Auditor || after_hours {
            prop_assert!(!d.allowed, "{}", d);
            prop_assert!(d.grants.is_empty());
        } else if matches!(role, Role::Owner | Role::Admin) {
            prop_assert!(d.allowed, "{}", d);
        }
    }

    /// The whole workspace's grants can be passed: other people's grants
    /// change nothing.
    #[test]
    fn other_peoples_grants_change_nothing(
        grants in prop::collection::vec(any_grant(), 0..12),
        action in access(),
        item in item(),
    ) {
        let engine = Engine::new();
        let alex = person(2, Role::Assistant);
        let own: Vec<Grant> = grants.iter().filter(|g| g.person == alex.id).cloned().collect();
        let all = ask(&engine, alex, action, item, &grants, noon());
        let mine = ask(&engine, alex, action, item, &own, noon());
        prop_assert_eq!(all.allowed, mine.allowed);
        prop_assert_eq!(all.grants, mine.grants);
    }
}

/// Owner policies of every scope shape, for the differential test.
const SHAPES: &str = r#"
@id("s1") forbid (principal, action == Action::"export", resource);
@id("s2") forbid (principal, action in [Action::"reveal", Action::"edit"], resource is Column)
  when { resource.category == "card_number" };
@id("s3") forbid (principal, action, resource is Document) when { resource.folder == "hr/" };
@id("s4") forbid (principal, action, resource in RecordSet::"00000000-0000-4000-8000-00000000012d");
@id("s5") forbid (principal, action, resource == Document::"00000000-0000-4000-8000-000000000191");
@id("s6") forbid (principal, action, resource is Column in RecordSet::"00000000-0000-4000-8000-00000000012c")
  when { resource.column == "notes" };
@id("s7") forbid (principal, action, resource)
  when { context has client && context.client.isInRange(ip("10.0.0.0/8")) };
@id("s8") forbid (principal, action == Action::"view", resource)
  unless { resource.label_level < 3 || (context.minute_of_day >= 480 && context.minute_of_day < 1080) };
@id("s9") forbid (principal is Person, action, resource is RecordSet) when { principal.role == "vendor" };
@id("s10") forbid (principal, action, resource)
  when { principal.role == "assistant" && resource.categories.contains("card_number") };
@id("s11") forbid (principal, action == Action::"view", resource)
  when { "associate" == principal.role && context.minute_of_day < 600 };
@id("s12") forbid (principal, action, resource is Column)
  when { principal.role != "owner" && principal.role != "admin" && resource.category == "phone" };
@id("s13") forbid (principal, action, resource)
  when { resource.label_level >= 2 && principal.role == "vendor" };
@id("s14") forbid (principal, action, resource)
  when { principal.role == "auditor" || principal.role == "associate" }
  when { resource.label == "restricted" };
@id("s15") forbid (principal, action, resource)
  unless { principal.role != "assistant" };
@id("s16") forbid (principal, action, resource is Document)
  when { resource.folder like "invoices/*" && resource.name like "*b.pdf" };
@id("s17") forbid (principal, action, resource)
  when { context has client && context.client.isInRange(ip("192.0.2.0/28")) && !context.granted };
@id("s18") forbid (principal, action, resource)
  when { (context has client && context.client.isInRange(ip("::/127"))) || principal.role == "vendor" };
@id("s19") forbid (principal, action, resource)
  when { resource is Column && resource.categories.contains("phone") && context.passcode_required }
  unless { context.device_ok && context.agreement_signed };
@id("s20") forbid (principal, action == Action::"reveal", resource)
  when { context.minute_of_day > 1200 && context.now * 100000000000 > 0 };
@id("s21") forbid (principal, action, resource)
  when { resource == Document::"00000000-0000-4000-8000-000000000190" && context.minute_of_day < 60 };
@id("s22") forbid (principal, action, resource)
  when { 3 <= resource.label_level && (resource is RecordSet || resource is Document) }
  unless { principal.workspace == resource.workspace && principal.status == "active" };
@id("s23") forbid (principal, action, resource is Column in RecordSet::"00000000-0000-4000-8000-00000000012c")
  when { resource.set_name == "customers" && resource.column like "n*" && resource.category != "name" };
@id("s24") forbid (principal, action, resource)
  when { context.handbook_acknowledged == false || context.minute_of_day >= 1439 };
"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Slicing the policies by action, kind of item and role, leaving out
    /// per request the policies whose guards rule them out, and leaving the
    /// client address out where no policy left reads it, changes no
    /// decision, no explanation and no error.
    #[test]
    fn slices_decide_like_the_whole_policy_set(
        grants in prop::collection::vec(any_grant(), 0..8),
        role in prop::sample::select(Role::ALL.to_vec()),
        status in prop::sample::select(vec![PersonStatus::Active, PersonStatus::Active, PersonStatus::Invited, PersonStatus::Offboarded]),
        elsewhere in prop::bool::weighted(0.1),
        minute in prop_oneof![0..1440u16, Just(1439u16), Just(1200u16), Just(1201u16)],
        gates in prop::array::uniform4(prop::bool::weighted(0.8)),
        client in prop::option::of(prop::sample::select(vec![
            "10.1.2.3", "192.0.2.1", "192.0.2.15", "192.0.2.16", "::1", "::ffff:10.1.2.3",
        ])),
        action in access(),
        item in item(),
    ) {
        let engine = Engine::with_owner_policies(SHAPES).unwrap();
        let mut context = Context::new(at(0), minute);
        [
            context.agreement_signed,
            context.handbook_acknowledged,
            context.passcode_ok,
            context.device_ok,
        ] = gates;
        context.client = client.map(|c| c.parse().unwrap());
        let mut who = person(2, role);
        who.status = status;
        if elsewhere {
            who.workspace = other_workspace();
        }
        let request = confidant_policy::Request {
            person: who,
            action,
            item,
            grants: &grants,
            context,
        };
        prop_assert_eq!(engine.decide(&request), engine.decide_with_every_policy(&request));
    }
}
