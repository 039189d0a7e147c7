//! The engine keeps the entities of a person and an item for the next
//! decision about them; an item or person that differs in any attribute
//! the policies read must never get the kept entities of another.

use confidant_core::{Access, DataCategory, GrantScope, Label, PersonStatus, Role};
use confidant_policy::{Engine, Item};

use crate::*;

const RULES: &str = r#"
@id("no-cards") forbid (principal, action, resource)
  when { resource.categories.contains("card_number") };
@id("hr-folder") forbid (principal, action, resource is Document)
  when { resource.folder == "hr/" };
@id("restricted") forbid (principal, action, resource)
  when { resource.label == "restricted" };
@id("vip-set") forbid (principal, action, resource is Column)
  when { resource.set_name == "vip" };
"#;

#[test]
fn kept_entities_never_answer_for_another_item_or_person() {
    let engine = Engine::with_owner_policies(RULES).unwrap();
    let alex = person(2, Role::Assistant);
    let grants = [
        grant(1, &alex, columns(&["c"]), &[Access::View]),
        grant(
            2,
            &alex,
            GrantScope::Document { id: doc_id(1) },
            &[Access::View],
        ),
    ];
    let col = |category, set_name, label| Item::Column {
        workspace: workspace(),
        set: customers(),
        set_name,
        column: "c",
        category,
        label,
    };
    let doc = |name, label, categories| Item::Document {
        workspace: workspace(),
        id: doc_id(1),
        name,
        label,
        categories,
    };
    let suspended = confidant_policy::Subject {
        status: PersonStatus::Offboarded,
        ..alex
    };
    let elsewhere = confidant_policy::Subject {
        workspace: other_workspace(),
        ..alex
    };
    // The same ids each time, one attribute changed at a time, back and
    // forth so every answer follows one the other way.
    let cases: Vec<(confidant_policy::Subject<'_>, Item<'_>, bool)> = vec![
        (
            alex,
            col(DataCategory::Phone, "customers", Label::Confidential),
            true,
        ),
        (
            alex,
            col(DataCategory::CardNumber, "customers", Label::Confidential),
            false,
        ),
        (
            alex,
            col(DataCategory::Phone, "customers", Label::Confidential),
            true,
        ),
        (
            alex,
            col(DataCategory::Phone, "vip", Label::Confidential),
            false,
        ),
        (
            alex,
            col(DataCategory::Phone, "customers", Label::Restricted),
            false,
        ),
        (
            alex,
            col(DataCategory::Phone, "customers", Label::Confidential),
            true,
        ),
        (
            suspended,
            col(DataCategory::Phone, "customers", Label::Confidential),
            false,
        ),
        (
            elsewhere,
            col(DataCategory::Phone, "customers", Label::Confidential),
            false,
        ),
        (
            alex,
            doc("a/x.pdf", Label::Internal, &[DataCategory::Name]),
            true,
        ),
        (
            alex,
            doc("hr/x.pdf", Label::Internal, &[DataCategory::Name]),
            false,
        ),
        (
            alex,
            doc("a/x.pdf", Label::Internal, &[DataCategory::CardNumber]),
            false,
        ),
        (
            alex,
            doc("a/x.pdf", Label::Restricted, &[DataCategory::Name]),
            false,
        ),
        (
            alex,
            doc("a/x.pdf", Label::Internal, &[DataCategory::Name]),
            true,
        ),
    ];
    for round in 0..2 {
        for (who, item, allowed) in &cases {
            let kept = ask(&engine, *who, Access::View, *item, &grants, noon());
            assert_eq!(
                kept.allowed, *allowed,
                "round {round}: {item:?} {who:?}: {kept}"
            );
            // A fresh engine, with nothing kept, says the same, for the
            // same reasons.
            let fresh = Engine::with_owner_policies(RULES).unwrap();
            let new = ask(&fresh, *who, Access::View, *item, &grants, noon());
            assert_eq!(kept, new, "round {round}: {item:?}");
        }
    }
}
