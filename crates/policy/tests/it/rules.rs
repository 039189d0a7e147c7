//! The default policies, one rule at a time.

use confidant_core::{Access, DataCategory, GrantScope, GrantStatus, Label, PersonStatus, Role};
use confidant_policy::{DEFAULT_DENY, Engine};

use crate::*;

#[test]
fn built_ins_load() {
    let engine = Engine::new();
    assert_eq!(engine.policy_count(), 9);
    assert_eq!(engine.owner_policies(), "");
}

#[test]
fn the_owner_and_admins_may_do_everything_in_their_workspace() {
    let engine = Engine::new();
    for role in [Role::Owner, Role::Admin] {
        for action in Access::ALL {
            for item in [
                column("card", DataCategory::CardNumber),
                record_set(),
                document(1, "invoices/q3.pdf", Label::Restricted),
            ] {
                let d = ask(&engine, person(1, role), action, item, &[], noon());
                assert!(d.allowed, "{role} {action} {item:?}: {d}");
                assert_eq!(policies(&d), ["owner-and-admins"]);
                assert!(d.grants.is_empty());
            }
        }
    }
    let d = ask(
        &engine,
        person(1, Role::Owner),
        Access::View,
        record_set(),
        &[],
        noon(),
    );
    assert_eq!(
        d.explain(),
        "allowed\n- alex is the owner: the owner and admins may do everything in their \
         workspace (policy owner-and-admins)"
    );
}

#[test]
fn everyone_else_is_denied_without_a_grant() {
    let engine = Engine::new();
    for role in [Role::Assistant, Role::Vendor, Role::Associate] {
        for action in Access::ALL {
            let d = ask(
                &engine,
                person(2, role),
                action,
                column("phone", DataCategory::Phone),
                &[],
                noon(),
            );
            assert!(!d.allowed, "{role} {action}");
            assert_eq!(policies(&d), [DEFAULT_DENY]);
        }
    }
    let d = ask(
        &engine,
        person(2, Role::Assistant),
        Access::View,
        column("phone", DataCategory::Phone),
        &[],
        noon(),
    );
    assert_eq!(
        d.reasons[0].words,
        "no grant lets alex view column 'phone' of 'customers': access is on a need-to-know basis"
    );
}

#[test]
fn a_live_grant_allows_exactly_what_it_covers() {
    let engine = Engine::new();
    let alex = person(2, Role::Assistant);
    let g = grant(
        1,
        &alex,
        columns(&["name", "phone"]),
        &[Access::View, Access::Reveal],
    );
    let grants = [g.clone()];
    let phone = column("phone", DataCategory::Phone);

    let d = ask(&engine, alex, Access::View, phone, &grants, noon());
    assert!(d.allowed, "{d}");
    assert_eq!(d.grants, [g.id]);
    assert_eq!(
        d.explain(),
        "allowed\n- grant 'schedule appointments' (until 2026-06-16) lets alex view column \
         'phone' of 'customers' (policy need-to-know)"
    );
    assert!(ask(&engine, alex, Access::Reveal, phone, &grants, noon()).allowed);
    // The whole set is reachable (its other columns get masked by the vault).
    assert!(ask(&engine, alex, Access::View, record_set(), &grants, noon()).allowed);

    // Another column of the same set, another action, another set: denied.
    let d = ask(
        &engine,
        alex,
        Access::View,
        column("card", DataCategory::CardNumber),
        &grants,
        noon(),
    );
    assert!(!d.allowed);
    assert!(d.grants.is_empty());
    let d = ask(&engine, alex, Access::Export, phone, &grants, noon());
    assert!(!d.allowed);
    assert_eq!(
        d.reasons[0].words,
        "grant 'schedule appointments' (until 2026-06-16) covers column 'phone' of 'customers' \
         for view, reveal only, not export"
    );
    let elsewhere = confidant_policy::Item::Column {
        workspace: workspace(),
        set: id(999),
        set_name: "suppliers",
        column: "phone",
        category: DataCategory::Phone,
        label: Label::Confidential,
    };
    assert!(!ask(&engine, alex, Access::View, elsewhere, &grants, noon()).allowed);
}

#[test]
fn document_and_folder_grants() {
    let engine = Engine::new();
    let alex = person(2, Role::Assistant);
    let grants = [
        grant(
            1,
            &alex,
            GrantScope::Document { id: doc_id(1) },
            &[Access::View],
        ),
        grant(
            2,
            &alex,
            GrantScope::Folder {
                path: "invoices/".into(),
            },
            &[Access::View, Access::Download],
        ),
    ];
    let q3 = document(1, "reports/q3.pdf", Label::Confidential);
    let d = ask(&engine, alex, Access::View, q3, &grants, noon());
    assert!(d.allowed);
    assert_eq!(d.grants, [grants[0].id]);
    assert!(!ask(&engine, alex, Access::Download, q3, &grants, noon()).allowed);

    let invoice = document(2, "invoices/2026/may.pdf", Label::Confidential);
    let d = ask(&engine, alex, Access::Download, invoice, &grants, noon());
    assert!(d.allowed);
    assert_eq!(d.grants, [grants[1].id]);
    let outside = document(3, "invoices-old/may.pdf", Label::Confidential);
    assert!(!ask(&engine, alex, Access::View, outside, &grants, noon()).allowed);
}

#[test]
fn grants_out_of_force_do_not_allow_and_say_why() {
    let engine = Engine::new();
    let alex = person(2, Role::Assistant);
    let phone = column("phone", DataCategory::Phone);
    let live = grant(1, &alex, columns(&["phone"]), &[Access::View]);

    let mut requested = live.clone();
    requested.status = GrantStatus::Requested;
    let d = ask(&engine, alex, Access::View, phone, &[requested], noon());
    assert!(!d.allowed);
    assert_eq!(
        d.reasons[0].words,
        "the request for grant 'schedule appointments' (until 2026-06-16) waits for approval: \
         until then alex may not view column 'phone' of 'customers'"
    );

    let mut ended = live.clone();
    ended.status = GrantStatus::Ended;
    ended.ended_at = Some(at(-3_600));
    let d = ask(&engine, alex, Access::View, phone, &[ended], noon());
    assert!(!d.allowed);
    assert_eq!(
        d.reasons[0].words,
        "grant 'schedule appointments' (until 2026-06-16) was ended on 2026-06-15: alex may no \
         longer view column 'phone' of 'customers'"
    );

    // Expired: at and after `expires_at`.
    for context in [later(1), later(2)] {
        let d = ask(
            &engine,
            alex,
            Access::View,
            phone,
            std::slice::from_ref(&live),
            context,
        );
        assert!(!d.allowed);
        assert_eq!(
            d.reasons[0].words,
            "grant 'schedule appointments' expired on 2026-06-16: alex may no longer view \
             column 'phone' of 'customers'"
        );
    }
    assert!(ask(&engine, alex, Access::View, phone, &[live], noon()).allowed);
}

#[test]
fn grants_of_other_people_count_for_nothing() {
    let engine = Engine::new();
    let alex = person(2, Role::Assistant);
    let sam = person(3, Role::Assistant);
    let grants = [grant(1, &sam, columns(&["phone"]), &[Access::View])];
    let d = ask(
        &engine,
        alex,
        Access::View,
        column("phone", DataCategory::Phone),
        &grants,
        noon(),
    );
    assert!(!d.allowed);
    assert_eq!(policies(&d), [DEFAULT_DENY]);
}

#[test]
fn invited_and_offboarded_people_get_nothing() {
    let engine = Engine::new();
    for status in [PersonStatus::Invited, PersonStatus::Offboarded] {
        for role in [Role::Owner, Role::Admin, Role::Assistant] {
            let mut who = person(2, role);
            who.status = status;
            let grants = [grant(1, &who, columns(&["phone"]), &[Access::View])];
            let d = ask(
                &engine,
                who,
                Access::View,
                column("phone", DataCategory::Phone),
                &grants,
                noon(),
            );
            assert!(!d.allowed, "{status} {role}");
            assert_eq!(policies(&d), ["active-people-only"]);
            assert!(d.grants.is_empty());
            assert_eq!(
                d.reasons[0].words,
                format!("alex is {status}: only active people have access")
            );
        }
    }
}

#[test]
fn nobody_reaches_into_another_workspace() {
    let engine = Engine::new();
    for role in [Role::Owner, Role::Admin, Role::Assistant] {
        let mut who = person(2, role);
        who.workspace = other_workspace();
        // Even a grant naming the item (wrongly made in the person's own
        // workspace) does not open another workspace's item.
        let grants = [grant(1, &who, columns(&["phone"]), &[Access::View])];
        let d = ask(
            &engine,
            who,
            Access::View,
            column("phone", DataCategory::Phone),
            &grants,
            noon(),
        );
        assert!(!d.allowed, "{role}");
        assert_eq!(policies(&d), ["own-workspace-only"]);
        assert_eq!(
            d.reasons[0].words,
            "alex belongs to another workspace than this column: nobody reaches into another \
             workspace"
        );
    }
}

#[test]
fn auditors_never_see_customer_data() {
    let engine = Engine::new();
    let auditor = person(4, Role::Auditor);
    let grants = [
        grant(1, &auditor, columns(&["phone"]), &[Access::View]),
        grant(
            2,
            &auditor,
            GrantScope::Document { id: doc_id(1) },
            &[Access::View],
        ),
    ];
    for item in [
        column("phone", DataCategory::Phone),
        record_set(),
        document(1, "q3.pdf", Label::Public),
    ] {
        let d = ask(&engine, auditor, Access::View, item, &grants, noon());
        assert!(!d.allowed, "{item:?}");
        assert_eq!(policies(&d), ["auditors-never-see-customer-data"]);
        assert_eq!(
            d.explain(),
            "denied\n- alex is an auditor: auditors never see customer data (policy auditors-never-see-customer-data)"
        );
    }
}

#[test]
fn the_context_starts_unsatisfied() {
    let c = Context::new(at(0), 12 * 60);
    assert!(!c.agreement_signed && !c.handbook_acknowledged && !c.passcode_ok && !c.device_ok);
    assert_eq!(c.client, None);
}

#[test]
fn the_schema_and_defaults_are_published() {
    for field in [
        "now",
        "minute_of_day",
        "granted",
        "grant_ids",
        "agreement_signed",
        "handbook_acknowledged",
        "passcode_required",
        "passcode_ok",
        "device_ok",
        "client?",
    ] {
        assert!(
            confidant_policy::SCHEMA.contains(&format!("{field}:")),
            "{field}"
        );
    }
    for id in [
        "owner-and-admins",
        "need-to-know",
        "active-people-only",
        "own-workspace-only",
        "auditors-never-see-customer-data",
        "nda-signed",
        "handbook-acknowledged",
        "day-passcode",
        "device-posture",
    ] {
        assert!(
            confidant_policy::DEFAULT_POLICIES.contains(&format!("@id(\"{id}\")")),
            "{id}"
        );
    }
}

#[test]
fn grants_open_nothing_before_the_agreements_and_the_day_passcode() {
    let engine = Engine::new();
    let alex = person(2, Role::Assistant);
    let internal = document(1, "handbook.pdf", Label::Internal);
    let confidential = document(2, "invoices.pdf", Label::Confidential);
    let grants = [
        grant(
            1,
            &alex,
            GrantScope::Document { id: doc_id(1) },
            &[Access::View],
        ),
        grant(
            2,
            &alex,
            GrantScope::Document { id: doc_id(2) },
            &[Access::View],
        ),
    ];
    let bare = Context::new(at(0), 12 * 60);
    let d = ask(&engine, alex, Access::View, internal, &grants, bare);
    assert!(!d.allowed);
    assert_eq!(
        policies(&d),
        ["nda-signed", "handbook-acknowledged", "device-posture"]
    );
    assert!(
        d.explain()
            .contains("has not signed the current confidentiality agreement")
    );

    let mut signed = bare;
    signed.agreement_signed = true;
    signed.handbook_acknowledged = true;
    // (The device passes, as the vault says when it does or when the
    // posture policy needs nothing for the label.)
    signed.device_ok = true;
    // Internal: no passcode needed.
    assert!(ask(&engine, alex, Access::View, internal, &grants, signed).allowed);
    // Confidential: the day passcode is.
    let d = ask(&engine, alex, Access::View, confidential, &grants, signed);
    assert!(!d.allowed);
    assert_eq!(policies(&d), ["day-passcode"]);
    assert!(d.explain().contains("today's passcode"), "{d}");
    let mut entered = signed;
    entered.passcode_ok = true;
    assert!(ask(&engine, alex, Access::View, confidential, &grants, entered).allowed);

    // A grant that asks for the passcode asks for it on any label.
    let mut strict = grants;
    strict[0].require_passcode = true;
    let d = ask(&engine, alex, Access::View, internal, &strict, signed);
    assert_eq!(policies(&d), ["day-passcode"]);

    // The owner and admins pass every gate by role.
    let owner = person(1, Role::Owner);
    assert!(ask(&engine, owner, Access::View, confidential, &[], bare).allowed);
}

#[test]
fn a_grant_opens_nothing_from_a_device_that_does_not_pass() {
    let engine = Engine::new();
    let alex = person(2, Role::Assistant);
    let owner = person(1, Role::Owner);
    let confidential = document(2, "invoices.pdf", Label::Confidential);
    let grants = [grant(
        1,
        &alex,
        GrantScope::Document { id: doc_id(2) },
        &[Access::View],
    )];
    let mut context = noon();
    assert!(ask(&engine, alex, Access::View, confidential, &grants, context).allowed);
    context.device_ok = false;
    let d = ask(&engine, alex, Access::View, confidential, &grants, context);
    assert!(!d.allowed);
    assert_eq!(policies(&d), ["device-posture"]);
    assert!(
        d.explain()
            .contains("device does not pass the posture checks"),
        "{}",
        d.explain()
    );
    // The owner works from anywhere.
    assert!(ask(&engine, owner, Access::View, confidential, &[], context).allowed);
}
