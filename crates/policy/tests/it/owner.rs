//! Owner-written policies: the issue's examples, context fields, and the
//! errors that point at the line and column to fix.

use confidant_core::{Access, DataCategory, GrantScope, Label, Role};
use confidant_policy::{Context, Engine, Location, PolicyError};

use crate::*;

pub const BUSINESS_HOURS: &str = r#"
// No access to Restricted items outside 08:00-18:00 workspace time.
@id("restricted-in-business-hours")
@reason("Restricted items open only between 08:00 and 18:00 workspace time")
forbid (principal, action, resource)
when {
  resource.label == "restricted" &&
  (context.minute_of_day < 480 || context.minute_of_day >= 1080)
};
"#;

pub const VENDORS_NO_CARDS: &str = r#"
// Vendors never see card numbers.
@id("vendors-never-see-card-numbers")
@reason("vendors never see card numbers")
forbid (principal, action, resource)
when {
  principal.role == "vendor" && resource.categories.contains("card_number")
};
"#;

fn at_minute(minute: u16) -> Context {
    ready(Context::new(at(0), minute))
}

#[test]
fn restricted_items_only_in_business_hours() {
    let engine = Engine::with_owner_policies(BUSINESS_HOURS).unwrap();
    assert_eq!(engine.policy_count(), 10);
    assert_eq!(engine.owner_policies(), BUSINESS_HOURS);
    let alex = person(2, Role::Assistant);
    let restricted = document(1, "contracts/bank.pdf", Label::Restricted);
    let confidential = document(2, "contracts/plan.pdf", Label::Confidential);
    let grants = [grant(
        1,
        &alex,
        GrantScope::Folder {
            path: "contracts/".into(),
        },
        &[Access::View],
    )];
    for (minute, open) in [
        (0, false),
        (479, false),
        (480, true),
        (1079, true),
        (1080, false),
        (1439, false),
    ] {
        let d = ask(
            &engine,
            alex,
            Access::View,
            restricted,
            &grants,
            at_minute(minute),
        );
        assert_eq!(d.allowed, open, "minute {minute}: {d}");
        if !open {
            assert_eq!(policies(&d), ["restricted-in-business-hours"]);
            assert_eq!(
                d.reasons[0].words,
                "Restricted items open only between 08:00 and 18:00 workspace time"
            );
        }
        // Only Restricted items are concerned.
        assert!(
            ask(
                &engine,
                alex,
                Access::View,
                confidential,
                &grants,
                at_minute(minute)
            )
            .allowed
        );
    }
    // It binds the owner too: forbids win over every permit.
    let d = ask(
        &engine,
        person(1, Role::Owner),
        Access::View,
        restricted,
        &[],
        at_minute(1200),
    );
    assert!(!d.allowed);
}

#[test]
fn vendors_never_see_card_numbers() {
    let engine = Engine::with_owner_policies(VENDORS_NO_CARDS).unwrap();
    let vendor = person(5, Role::Vendor);
    let assistant = person(2, Role::Assistant);
    let card = column("card", DataCategory::CardNumber);
    let phone = column("phone", DataCategory::Phone);
    let vendor_grants = [grant(
        1,
        &vendor,
        columns(&["card", "phone"]),
        &[Access::View, Access::Reveal],
    )];
    let assistant_grants = [grant(2, &assistant, columns(&["card"]), &[Access::View])];

    let d = ask(
        &engine,
        vendor,
        Access::Reveal,
        card,
        &vendor_grants,
        noon(),
    );
    assert!(!d.allowed);
    assert_eq!(
        d.explain(),
        "denied\n- vendors never see card numbers (policy vendors-never-see-card-numbers)"
    );
    assert!(ask(&engine, vendor, Access::View, phone, &vendor_grants, noon()).allowed);
    assert!(
        ask(
            &engine,
            assistant,
            Access::View,
            card,
            &assistant_grants,
            noon()
        )
        .allowed
    );

    // Documents and record sets with card numbers in them too.
    let statement = confidant_policy::Item::Document {
        workspace: workspace(),
        id: doc_id(7),
        name: "statement.pdf",
        label: Label::Restricted,
        categories: &[DataCategory::Name, DataCategory::CardNumber],
    };
    let grants = [grant(
        3,
        &vendor,
        GrantScope::Document { id: doc_id(7) },
        &[Access::View],
    )];
    assert!(!ask(&engine, vendor, Access::View, statement, &grants, noon()).allowed);
}

#[test]
fn both_examples_together_and_policies_without_ids() {
    let text = format!(
        "{BUSINESS_HOURS}{VENDORS_NO_CARDS}\nforbid (principal, action == Action::\"export\", resource);\n"
    );
    let engine = Engine::with_owner_policies(&text).unwrap();
    assert_eq!(engine.policy_count(), 12);
    let alex = person(2, Role::Assistant);
    let grants = [grant(
        1,
        &alex,
        columns(&["phone"]),
        &[Access::View, Access::Export],
    )];
    let phone = column("phone", DataCategory::Phone);
    assert!(ask(&engine, alex, Access::View, phone, &grants, noon()).allowed);
    let d = ask(&engine, alex, Access::Export, phone, &grants, noon());
    assert!(!d.allowed);
    assert_eq!(policies(&d), ["owner-3"]);
    assert_eq!(d.reasons[0].words, "policy 'owner-3' forbids this");
}

#[test]
fn owner_policies_can_use_the_context_that_later_features_fill() {
    let text = r#"
@id("nda-first")
@reason("sign the current NDA first")
forbid (principal, action, resource)
unless { context.agreement_signed && context.handbook_acknowledged };

@id("office-network")
forbid (principal, action == Action::"reveal", resource)
unless { context has client && context.client.isInRange(ip("10.0.0.0/8")) };

@id("posture")
forbid (principal, action, resource)
when { resource.label_level >= 2 && !(context.device_ok && context.passcode_ok) };
"#;
    let engine = Engine::with_owner_policies(text).unwrap();
    let alex = person(2, Role::Assistant);
    let grants = [grant(
        1,
        &alex,
        columns(&["phone"]),
        &[Access::View, Access::Reveal],
    )];
    let phone = column("phone", DataCategory::Phone);

    // Nothing is open by accident: the defaults say "not satisfied".
    let unsatisfied = Context::new(at(0), 12 * 60);
    let d = ask(&engine, alex, Access::View, phone, &grants, unsatisfied);
    assert!(!d.allowed);
    for policy in [
        "nda-first",
        "posture",
        "nda-signed",
        "handbook-acknowledged",
    ] {
        assert!(policies(&d).contains(&policy), "{policy}: {d}");
    }

    let mut ready = unsatisfied;
    ready.agreement_signed = true;
    ready.handbook_acknowledged = true;
    ready.device_ok = true;
    ready.passcode_ok = true;
    assert!(ask(&engine, alex, Access::View, phone, &grants, ready).allowed);
    let d = ask(&engine, alex, Access::Reveal, phone, &grants, ready);
    assert_eq!(policies(&d), ["office-network"]);
    ready.client = Some("10.1.2.3".parse().unwrap());
    assert!(ask(&engine, alex, Access::Reveal, phone, &grants, ready).allowed);
    ready.client = Some("192.0.2.1".parse().unwrap());
    assert!(!ask(&engine, alex, Access::Reveal, phone, &grants, ready).allowed);
    ready.client = Some("2001:db8::1".parse().unwrap());
    assert!(!ask(&engine, alex, Access::Reveal, phone, &grants, ready).allowed);
}

#[test]
fn owner_policies_can_name_sets_folders_and_items() {
    let text = format!(
        r#"
@id("no-customer-exports")
forbid (principal, action == Action::"export", resource in RecordSet::"{set}");

@id("hr-folder")
forbid (principal, action, resource is Document)
when {{ resource.folder like "hr/*" && principal.role != "owner" }};

@id("columns-by-name")
forbid (principal, action, resource is Column)
when {{ resource.set_name == "customers" && resource.column == "notes" }};
"#,
        set = customers()
    );
    let engine = Engine::with_owner_policies(&text).unwrap();
    let alex = person(2, Role::Assistant);
    let grants = [
        grant(
            1,
            &alex,
            columns(&["phone", "notes"]),
            &[Access::View, Access::Export],
        ),
        grant(
            2,
            &alex,
            GrantScope::Folder { path: "hr/".into() },
            &[Access::View],
        ),
    ];
    let phone = column("phone", DataCategory::Phone);
    assert!(ask(&engine, alex, Access::View, phone, &grants, noon()).allowed);
    assert!(!ask(&engine, alex, Access::Export, phone, &grants, noon()).allowed);
    assert!(
        !ask(
            &engine,
            alex,
            Access::View,
            column("notes", DataCategory::FreeText),
            &grants,
            noon()
        )
        .allowed
    );
    let hr = document(9, "hr/2026/reviews.pdf", Label::Confidential);
    assert!(!ask(&engine, alex, Access::View, hr, &grants, noon()).allowed);
    assert!(
        ask(
            &engine,
            person(1, Role::Owner),
            Access::View,
            hr,
            &[],
            noon()
        )
        .allowed
    );
}

#[test]
fn fifty_owner_policies_validate() {
    let text = fifty_policies();
    let engine = Engine::with_owner_policies(&text).unwrap();
    assert_eq!(engine.policy_count(), 59);
}

/// Fifty plausible owner policies (the benchmark uses the same shapes).
pub fn fifty_policies() -> String {
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

fn refused(text: &str) -> PolicyError {
    match Engine::with_owner_policies(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn syntax_errors_say_where() {
    let text = "@id(\"ok\")\nforbid (principal, action, resource);\n\nforbid (principal, action, resource)\n  when { principal.role == };\n";
    let e = refused(text);
    assert!(matches!(e, PolicyError::Syntax { .. }), "{e}");
    assert_eq!(
        e.location(),
        Location {
            line: 5,
            column: 28
        }
    );
    let message = e.to_string();
    assert!(message.starts_with("line 5, column 28: "), "{message}");
    assert!(message.contains("unexpected token `}`"), "{message}");

    let e = refused("forbid (principal, action, resource)");
    assert!(matches!(e, PolicyError::Syntax { .. }), "{e}");
    assert_eq!(e.location().line, 1);
    assert!(e.to_string().contains("`;`"), "{e}");

    let e = refused("\n  frobid (principal, action, resource);");
    assert_eq!(e.location(), Location { line: 2, column: 3 }, "{e}");
}

#[test]
fn schema_errors_say_where_and_what() {
    let text = "@id(\"first\")\nforbid (principal, action, resource);\n\n@id(\"typo\")\nforbid (principal, action, resource)\nwhen { principal.rol == \"vendor\" };\n";
    let e = refused(text);
    let PolicyError::Schema {
        policy, message, ..
    } = &e
    else {
        panic!("{e}");
    };
    assert_eq!(policy, "typo");
    assert!(message.contains("rol"), "{message}");
    assert!(message.contains("role"), "did you mean: {message}");
    assert_eq!(e.location(), Location { line: 6, column: 8 }, "{e}");

    // A type error: a label compared with a number.
    let e = refused("forbid (principal, action, resource)\n  when { resource.label > 2 };");
    assert!(matches!(e, PolicyError::Schema { .. }), "{e}");
    assert_eq!(e.location().line, 2, "{e}");

    // An unknown action and an unknown entity type.
    let e = refused("forbid (principal, action == Action::\"delete\", resource);");
    assert!(matches!(e, PolicyError::Schema { .. }), "{e}");
    assert_eq!(e.location().line, 1);
    let e = refused("\nforbid (principal, action, resource is Folder);");
    assert!(matches!(e, PolicyError::Schema { .. }), "{e}");
    assert_eq!(e.location().line, 2);

    // An optional attribute used without `has`.
    let e = refused("forbid (principal, action, resource)\nwhen { context.client.isLoopback() };");
    assert!(matches!(e, PolicyError::Schema { .. }), "{e}");
    assert_eq!(e.location().line, 2, "{e}");
}

#[test]
fn owner_policies_only_forbid() {
    let text =
        format!("{VENDORS_NO_CARDS}\n@id(\"open\")\npermit (principal, action, resource);\n");
    let e = refused(&text);
    assert_eq!(
        e,
        PolicyError::Permit {
            at: Location {
                line: 10,
                column: 1
            },
            policy: "open".into()
        }
    );
    assert!(e.to_string().contains("can only `forbid`"), "{e}");
}

#[test]
fn other_refusals() {
    let e = refused("forbid (principal == ?principal, action, resource);");
    assert!(matches!(e, PolicyError::Template { .. }), "{e}");

    let e = refused(
        "@id(\"x\")\nforbid (principal, action, resource);\n@id(\"x\")\nforbid (principal, action, resource);",
    );
    assert_eq!(
        e,
        PolicyError::DuplicateId {
            at: Location { line: 3, column: 1 },
            id: "x".into()
        }
    );

    let e = refused("@id(\"need-to-know\")\nforbid (principal, action, resource);");
    assert!(matches!(e, PolicyError::ReservedId { .. }), "{e}");

    let long = "// padding\n".repeat(confidant_policy::MAX_OWNER_POLICY_BYTES / 10);
    let e = refused(&long);
    assert!(matches!(e, PolicyError::TooLong { .. }), "{e}");

    let deep = format!(
        "forbid (principal, action, resource)\nwhen {{ {}true{} }};",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    let e = refused(&deep);
    assert!(matches!(e, PolicyError::TooDeep { .. }), "{e}");
    assert_eq!(e.location().line, 2);
}

#[test]
fn a_refused_text_leaves_the_engine_as_it_was() {
    let mut engine = Engine::with_owner_policies(VENDORS_NO_CARDS).unwrap();
    assert!(
        engine
            .set_owner_policies("permit (principal, action, resource);")
            .is_err()
    );
    assert_eq!(engine.owner_policies(), VENDORS_NO_CARDS);
    assert_eq!(engine.policy_count(), 10);
    engine.set_owner_policies(BUSINESS_HOURS).unwrap();
    assert_eq!(engine.policy_count(), 10);
    engine.set_owner_policies("").unwrap();
    assert_eq!(engine.policy_count(), 9);
}

#[test]
fn empty_and_comment_only_texts_are_fine() {
    for text in ["", "   \n", "// nothing yet\n"] {
        let engine = Engine::with_owner_policies(text).unwrap();
        assert_eq!(engine.policy_count(), 9);
    }
}

#[test]
fn complex_policies_are_refused_before_cedar_stops_checking() {
    // At the limit, a type error in the deepest place is still found.
    let at_limit = format!(
        "forbid (principal, action, resource)\nwhen {{ 1 || {} }};",
        vec!["context.passcode_ok"; confidant_policy::MAX_OPERATORS / 2].join(" || ")
    );
    let e = refused(&at_limit);
    assert!(matches!(e, PolicyError::Schema { .. }), "{e}");
    assert_eq!(e.location(), Location { line: 2, column: 8 }, "{e}");
    assert!(!e.to_string().contains("for policy"), "said twice: {e}");

    let over = format!(
        "forbid (principal, action, resource)\nwhen {{ {} }};",
        vec!["true"; confidant_policy::MAX_OPERATORS + 2].join(" || ")
    );
    let e = refused(&over);
    assert!(matches!(e, PolicyError::TooComplex { .. }), "{e}");
    assert_eq!(e.location().line, 2);

    // Many policies may each use the allowance.
    let one = format!(
        "forbid (principal, action, resource) when {{ {} }};\n",
        vec!["context.passcode_ok"; confidant_policy::MAX_OPERATORS / 2].join(" && ")
    );
    assert!(Engine::with_owner_policies(&one.repeat(10)).is_ok());

    // An `if` chain (which nests without brackets) counts too.
    let ifs = format!(
        "forbid (principal, action, resource) when {{ {}true }};",
        "if context.passcode_ok then true else ".repeat(500)
    );
    assert!(matches!(refused(&ifs), PolicyError::TooComplex { .. }));
}
