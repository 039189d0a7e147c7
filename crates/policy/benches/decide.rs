//! Decision latency: 10,000 grants in the workspace (500 people with 20
//! each) and 50 owner policies. Prints one JSON line per case with the p50,
//! p99, p99.9 and mean time of one `Engine::decide`, in microseconds:
//! `cargo bench -p confidant-policy --bench decide [-- ITERATIONS] [WORD]`;
//! with a WORD, only the cases whose name contains it run (for profiling).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Instant;

use confidant_core::{
    Access, DataCategory, Grant, GrantScope, GrantStatus, Label, PersonStatus, RecordSetId, Role,
    WorkspaceId,
};
use confidant_policy::{Context, Engine, Item, Request, Subject};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const PEOPLE: u128 = 500;
const GRANTS_EACH: u128 = 20;
const COLUMNS: [&str; 8] = [
    "name", "phone", "email", "city", "card", "iban", "birthday", "notes",
];
const CATEGORIES: [DataCategory; 8] = [
    DataCategory::Name,
    DataCategory::Phone,
    DataCategory::Email,
    DataCategory::PostalAddress,
    DataCategory::CardNumber,
    DataCategory::BankAccount,
    DataCategory::DateOfBirth,
    DataCategory::FreeText,
];

fn id<T: std::str::FromStr>(kind: u128, n: u128) -> T
where
    T::Err: std::fmt::Debug,
{
    Uuid::from_u128((kind << 96) | 0x0000_0000_0000_4000_8000_0000_0000_0000 | n)
        .to_string()
        .parse()
        .unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_781_524_800).unwrap()
}

/// 20 grants per person: record-set columns (most), documents and folders;
/// a few expired, ended or only requested.
fn workspace_grants(workspace: WorkspaceId) -> Vec<Grant> {
    let mut grants = Vec::new();
    for p in 0..PEOPLE {
        for g in 0..GRANTS_EACH {
            let n = p * GRANTS_EACH + g;
            let scope = match g % 4 {
                0 | 1 => GrantScope::RecordSet {
                    id: id(3, g % 10),
                    columns: COLUMNS
                        .iter()
                        .skip((g % 3) as usize)
                        .step_by(2)
                        .map(|c| c.to_string())
                        .collect(),
                    rows: None,
                },
                2 => GrantScope::Document {
                    id: id(4, n % 1000),
                },
                _ => GrantScope::Folder {
                    path: format!("folder-{}/", g % 7),
                },
            };
            let status = match g % 10 {
                7 => GrantStatus::Ended,
                8 => GrantStatus::Requested,
                _ => GrantStatus::Active,
            };
            let expires_at = if g % 10 == 9 {
                now() - Duration::days(1)
            } else {
                now() + Duration::days(20)
            };
            grants.push(Grant {
                id: id(5, n),
                workspace,
                person: id(1, p),
                scope,
                actions: BTreeSet::from([Access::View, Access::Reveal]),
                purpose: format!("purpose {n}"),
                status,
                requested_by: id(1, p),
                request_reason: None,
                approved_by: None,
                created_at: now() - Duration::days(10),
                expires_at,
                ended_at: None,
                end_reason: None,
                require_passcode: false,
            });
        }
    }
    grants
}

/// Fifty owner policies of the shapes owners write (the integration tests
/// validate the same shapes).
fn fifty_policies() -> String {
    let roles = ["vendor", "associate", "assistant"];
    let categories = [
        "card_number",
        "bank_account",
        "national_id",
        "date_of_birth",
        "postal_address",
    ];
    let mut text = String::new();
    for i in 0..50 {
        let role = roles[i % roles.len()];
        let category = categories[i % categories.len()];
        let policy = match i % 5 {
            0 => format!(
                "forbid (principal, action, resource) when {{ principal.role == \"{role}\" && resource.categories.contains(\"{category}\") && context.minute_of_day < {} }};",
                300 + i
            ),
            1 => format!(
                "forbid (principal, action == Action::\"export\", resource) when {{ resource.label_level >= 2 && principal.role == \"{role}\" && context.now > {} }};",
                1_900_000_000 + i
            ),
            2 => format!(
                "forbid (principal, action, resource is Document) when {{ resource.folder like \"private-{i}/*\" }};"
            ),
            3 => format!(
                "forbid (principal, action == Action::\"reveal\", resource is Column) when {{ resource.column == \"secret_{i}\" && !context.passcode_ok && principal.role != \"owner\" }};"
            ),
            _ => format!(
                "forbid (principal, action, resource) when {{ context has client && context.client.isInRange(ip(\"198.51.{i}.0/24\")) }};"
            ),
        };
        text.push_str(&format!(
            "@id(\"rule-{i}\")\n@reason(\"house rule {i}\")\n{policy}\n\n"
        ));
    }
    text
}

struct Stats {
    p50: f64,
    p99: f64,
    p999: f64,
    mean: f64,
    allowed: usize,
}

fn measure(iterations: usize, mut decide: impl FnMut(usize) -> bool) -> Stats {
    for i in 0..iterations / 10 {
        black_box(decide(i));
    }
    let mut times = Vec::with_capacity(iterations);
    let mut allowed = 0;
    for i in 0..iterations {
        let start = Instant::now();
        let ok = black_box(decide(i));
        times.push(start.elapsed().as_nanos() as f64 / 1_000.0);
        allowed += usize::from(ok);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        mean: times.iter().sum::<f64>() / times.len() as f64,
        allowed,
    }
}

fn report(case: &str, grants: usize, policies: usize, iterations: usize, s: &Stats) {
    println!(
        "{{\"bench\":\"policy-decide\",\"case\":\"{case}\",\"grants_passed\":{grants},\"workspace_grants\":{},\"policies\":{policies},\"iterations\":{iterations},\"allowed\":{},\"p50_us\":{:.2},\"p99_us\":{:.2},\"p999_us\":{:.2},\"mean_us\":{:.2}}}",
        PEOPLE * GRANTS_EACH,
        s.allowed,
        s.p50,
        s.p99,
        s.p999,
        s.mean
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let iterations: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let only: Option<&str> = args
        .iter()
        .find(|a| a.parse::<usize>().is_err())
        .map(String::as_str);
    let wanted = |case: &str| only.is_none_or(|word| case.contains(word));
    let workspace: WorkspaceId = id(0, 1);
    let all = workspace_grants(workspace);
    let person_index = 123u128;
    let own: Vec<Grant> = all
        .iter()
        .filter(|g| g.person == id(1, person_index))
        .cloned()
        .collect();
    assert_eq!(own.len(), GRANTS_EACH as usize);

    let text = fifty_policies();
    let start = Instant::now();
    let engine = Engine::with_owner_policies(&text).unwrap();
    let build_ms = start.elapsed().as_secs_f64() * 1e3;
    println!(
        "{{\"bench\":\"policy-build\",\"policies\":{},\"owner_text_bytes\":{},\"build_ms\":{build_ms:.2}}}",
        engine.policy_count(),
        text.len()
    );
    let defaults = Engine::new();

    let alex = Subject {
        id: id(1, person_index),
        name: "alex",
        role: Role::Assistant,
        status: PersonStatus::Active,
        workspace,
    };
    let owner = Subject {
        role: Role::Owner,
        id: id(1, 9_999),
        ..alex
    };
    let mut context = Context::new(now(), 10 * 60);
    context.agreement_signed = true;
    context.handbook_acknowledged = true;
    context.passcode_ok = true;
    // The device passes (the gates pass, so the decisions reach the
    // grants and the owner's policies).
    context.device_ok = true;
    context.client = Some("192.0.2.7".parse().unwrap());
    let set: RecordSetId = id(3, 1);
    let column = |i: usize| Item::Column {
        workspace,
        set,
        set_name: "customers",
        column: COLUMNS[i % COLUMNS.len()],
        category: CATEGORIES[i % CATEGORIES.len()],
        label: Label::Confidential,
    };
    let ask = |engine: &Engine, who: Subject<'static>, item: Item<'_>, grants: &[Grant]| {
        engine
            .decide(&Request {
                person: who,
                action: Access::View,
                item,
                grants,
                context,
            })
            .allowed
    };
    let policies = engine.policy_count();

    let case = "columns, the person's 20 grants";
    if wanted(case) {
        let s = measure(iterations, |i| ask(&engine, alex, column(i), &own));
        report(case, own.len(), policies, iterations, &s);
    }

    // Every decision about a column never asked about before: nothing
    // kept from an earlier decision (the engine keeps the entities of a
    // person and an item, and a page asks about the same columns again).
    let case = "columns never asked about before, the person's 20 grants";
    if wanted(case) {
        let fresh_names: Vec<String> = (0..iterations + iterations / 10)
            .map(|i| format!("column-{i}"))
            .collect();
        let mut asked = 0;
        let s = measure(iterations, |i| {
            // A new name for every call, warm-up calls included.
            asked += 1;
            let item = Item::Column {
                workspace,
                set,
                set_name: "customers",
                column: &fresh_names[asked % fresh_names.len()],
                category: CATEGORIES[i % CATEGORIES.len()],
                label: Label::Confidential,
            };
            ask(&engine, alex, item, &own)
        });
        report(case, own.len(), policies, iterations, &s);
    }

    let case = "columns, all 10,000 grants";
    if wanted(case) {
        let s = measure(iterations, |i| ask(&engine, alex, column(i), &all));
        report(case, all.len(), policies, iterations, &s);
    }

    let case = "documents, the person's 20 grants";
    if wanted(case) {
        let names: Vec<String> = (0..64)
            .map(|i| format!("folder-{}/doc-{i}.pdf", i % 9))
            .collect();
        let s = measure(iterations, |i| {
            let item = Item::Document {
                workspace,
                id: id(4, (person_index * GRANTS_EACH + (i as u128 % 40)) % 1000),
                name: &names[i % names.len()],
                label: Label::Confidential,
                categories: &[DataCategory::Name, DataCategory::Email],
            };
            ask(&engine, alex, item, &own)
        });
        report(case, own.len(), policies, iterations, &s);
    }

    let case = "columns, the owner (no grants)";
    if wanted(case) {
        let s = measure(iterations, |i| ask(&engine, owner, column(i), &[]));
        report(case, 0, policies, iterations, &s);
    }

    let case = "columns, the person's 20 grants, default policies only";
    if wanted(case) {
        let s = measure(iterations, |i| ask(&defaults, alex, column(i), &own));
        report(case, own.len(), defaults.policy_count(), iterations, &s);
    }
}
