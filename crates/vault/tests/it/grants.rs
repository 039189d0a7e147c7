//! Grants at the vault: given, asked for, approved, ended, listed, and
//! ended by offboarding.

use confidant_core::{Access, DataCategory, GrantStatus, Label, Role};
use confidant_vault::{ColumnMapping, GrantRequest, GrantTarget, Vault, VaultError, code_at};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::Setup;

/// Signs every agreement `who` must sign, as they would in the web UI.
pub async fn sign_all(vault: &Vault, who: &confidant_vault::Actor) {
    for due in vault.my_agreements(who).await.unwrap() {
        vault
            .sign_agreement(
                who,
                due.agreement.id,
                &confidant_vault::Signing {
                    typed_name: who.name.clone(),
                    consent: true,
                    client: Some("192.0.2.7".parse().unwrap()),
                    user_agent: "test".into(),
                },
            )
            .await
            .unwrap();
    }
}

/// The owner issues today's passcode for a grant; `who` enters it for an
/// item.
pub async fn unlock(
    vault: &Vault,
    owner: &confidant_vault::Actor,
    who: &confidant_vault::Actor,
    grant: confidant_core::GrantId,
    item: confidant_vault::PasscodeItem,
) {
    let issued = vault.issue_passcode(owner, grant, None).await.unwrap();
    vault
        .enter_passcode(who, &item, &issued.passcode)
        .await
        .unwrap();
}

pub async fn member(vault: &Vault, email: &str, role: Role) -> confidant_vault::Actor {
    let owner = vault.owner().await.unwrap();
    let invitation = vault
        .invite(&owner, email, "Alex Doe", role, None)
        .await
        .unwrap();
    let setup = vault.new_totp_setup(email).unwrap();
    let secret = setup.secret.expose_secret().to_owned();
    let actor = vault
        .accept_invitation(
            &invitation.token,
            &SecretString::from("velvet lantern orbit mosaic"),
            &secret,
            &code_at(&secret, OffsetDateTime::now_utc()).unwrap(),
            None,
            &confidant_vault::SessionRequest::web("test"),
        )
        .await
        .unwrap()
        .session
        .actor;
    crate::devices::with_passing_device(vault, actor).await
}

/// Imports `csv` as the record set "customers", rows as customers, with
/// these column categories and label.
async fn import_customers(
    vault: &Vault,
    owner: &confidant_vault::Actor,
    csv: &str,
    categories: &[(&str, DataCategory)],
    label: Label,
) {
    vault
        .import_records(
            owner,
            "customers",
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            ColumnMapping {
                categories: categories
                    .iter()
                    .map(|(name, category)| (name.to_string(), *category))
                    .collect(),
                indexed: vec![],
                rows_are_customers: true,
                contact_column: None,
                label,
            },
        )
        .await
        .unwrap();
}

fn records(columns: &[&str], actions: &[Access], days: i64) -> GrantRequest {
    GrantRequest {
        target: GrantTarget::Records {
            set: "customers".into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: None,
        },
        actions: actions.iter().copied().collect(),
        purpose: "schedule appointments".into(),
        until: OffsetDateTime::now_utc() + Duration::days(days),
        require_passcode: false,
    }
}

#[tokio::test]
async fn grants_are_given_asked_for_approved_and_ended() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let csv = "name,phone,card\nAnn Lee,+44 20 7946 0958,4111111111111111\n";
    import_customers(
        &vault,
        &owner,
        csv,
        &[
            ("name", DataCategory::Name),
            ("phone", DataCategory::Phone),
            ("card", DataCategory::CardNumber),
        ],
        Label::Restricted,
    )
    .await;
    vault
        .add_document(&owner, "invoices/q3.txt", Label::Internal, &b"q3"[..])
        .await
        .unwrap();
    let alex = member(&vault, "alex@example.com", Role::Assistant).await;
    let bo = member(&vault, "bo@example.com", Role::Vendor).await;

    let given = vault
        .grant(
            &owner,
            "alex@example.com",
            &records(&["name", "phone"], &[Access::View], 7),
        )
        .await
        .unwrap();
    assert_eq!(given.grant.status, GrantStatus::Active);
    assert_eq!(given.item, "record set customers: name, phone");
    assert_eq!(given.person_email, "alex@example.com");

    // What a grant says is checked, and nothing is stored when it is wrong.
    for (request, expected) in [
        (records(&["name"], &[Access::View], 45), "longer than"),
        (records(&["nope"], &[Access::View], 7), "no column \"nope\""),
        (records(&["name"], &[], 7), "at least one action"),
        (
            records(&["name"], &[Access::Download], 7),
            "download applies to documents",
        ),
    ] {
        let err = vault
            .grant(&owner, "alex@example.com", &request)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
    let mut no_purpose = records(&["name"], &[Access::View], 7);
    no_purpose.purpose = "  ".into();
    assert!(matches!(
        vault.grant(&owner, "alex@example.com", &no_purpose).await,
        Err(VaultError::InvalidInput(_))
    ));
    assert!(matches!(
        vault
            .grant(
                &owner,
                "owner@example.com",
                &records(&["name"], &[Access::View], 7)
            )
            .await,
        Err(VaultError::InvalidInput(_))
    ));
    // Only the owner and admins grant.
    assert!(matches!(
        vault
            .grant(
                &alex,
                "bo@example.com",
                &records(&["name"], &[Access::View], 7)
            )
            .await,
        Err(VaultError::Forbidden(_))
    ));

    // Bo asks for a folder, with a reason; the owner approves.
    let folder = GrantRequest {
        target: GrantTarget::Folder("invoices/".into()),
        actions: [Access::View, Access::Download].into(),
        purpose: "bookkeeping".into(),
        until: OffsetDateTime::now_utc() + Duration::days(3),
        require_passcode: false,
    };
    assert!(matches!(
        vault.request_grant(&bo, &folder, " ").await,
        Err(VaultError::InvalidInput(_))
    ));
    let asked = vault
        .request_grant(&bo, &folder, "monthly close")
        .await
        .unwrap();
    assert_eq!(asked.grant.status, GrantStatus::Requested);
    assert_eq!(asked.grant.request_reason.as_deref(), Some("monthly close"));
    assert!(!asked.grant.is_live(OffsetDateTime::now_utc()));
    assert!(matches!(
        vault.approve_grant(&bo, asked.grant.id).await,
        Err(VaultError::Forbidden(_))
    ));
    let approved = vault.approve_grant(&owner, asked.grant.id).await.unwrap();
    assert!(approved.grant.is_live(OffsetDateTime::now_utc()));
    assert!(matches!(
        vault.approve_grant(&owner, asked.grant.id).await,
        Err(VaultError::Conflict(_))
    ));

    // Each sees their own; the owner sees all.
    assert_eq!(vault.grants(&alex, None).await.unwrap().len(), 1);
    assert_eq!(vault.grants(&bo, None).await.unwrap().len(), 1);
    assert_eq!(vault.grants(&owner, None).await.unwrap().len(), 2);
    assert_eq!(
        vault
            .grants(&owner, Some("bo@example.com"))
            .await
            .unwrap()
            .len(),
        1
    );

    // A person ends their own; nobody else's (not even its existence).
    assert!(matches!(
        vault.end_grant(&alex, approved.grant.id, "not mine").await,
        Err(VaultError::NotFound(_))
    ));
    let ended = vault
        .end_grant(&bo, approved.grant.id, "close done")
        .await
        .unwrap();
    assert_eq!(ended.grant.status, GrantStatus::Ended);
    assert_eq!(ended.grant.end_reason.as_deref(), Some("close done"));

    // Offboarding ends the rest and says what was in force.
    let done = vault
        .offboard(&owner, "alex@example.com", "contract ended")
        .await
        .unwrap();
    assert_eq!(done.grants_ended, 1);
    assert_eq!(done.grants.len(), 1);
    assert_eq!(done.grants[0].item, "record set customers: name, phone");
    let after = vault
        .grants(&owner, Some("alex@example.com"))
        .await
        .unwrap();
    assert_eq!(after[0].grant.status, GrantStatus::Ended);
    assert!(matches!(
        vault
            .grant(
                &owner,
                "alex@example.com",
                &records(&["name"], &[Access::View], 7)
            )
            .await,
        Err(VaultError::Conflict(_))
    ));

    // Every change is on the record.
    let changes = vault
        .ledger_log(&owner, None, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.action.to_string() == "grant_change")
        .count();
    assert!(changes >= 5, "{changes}");
    // The record is kept in the clear: people are named by id, never by
    // their address.
    for (_, e) in vault.ledger_log(&owner, None, None).await.unwrap() {
        assert!(
            !e.reason.contains('@'),
            "an address in the record: {}",
            e.reason
        );
    }
}

/// Default deny: an assistant reaches exactly what live grants cover;
/// columns outside them are masked, sensitive ones revealed one at a time;
/// what they may not see answers like what does not exist.
#[tokio::test]
async fn assistants_see_only_what_grants_cover() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let csv = "name,phone,card,region\n\
               Ann Lee,+44 20 7946 0958,4111111111111111,West\n\
               Bo Chan,+44 20 7946 0123,5500000000000004,East\n";
    import_customers(
        &vault,
        &owner,
        csv,
        &[
            ("name", DataCategory::Name),
            ("phone", DataCategory::Phone),
            ("card", DataCategory::CardNumber),
            ("region", DataCategory::Other),
        ],
        Label::Restricted,
    )
    .await;
    for name in ["invoices/q3.txt", "hr/salaries.txt"] {
        vault
            .add_document(&owner, name, Label::Confidential, &b"secret"[..])
            .await
            .unwrap();
    }
    let alex = member(&vault, "alex@example.com", Role::Assistant).await;

    // Nothing before a grant.
    assert!(vault.documents(&alex).await.unwrap().is_empty());
    assert!(vault.record_sets(&alex).await.unwrap().is_empty());
    let missing = vault
        .show_records(&alex, "no such set", 0, 10)
        .await
        .unwrap_err()
        .to_string();
    let hidden = vault
        .show_records(&alex, "customers", 0, 10)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        missing.replace("no such set", "X"),
        hidden.replace("customers", "X"),
        "not allowed answers like not there"
    );

    let mut request = records(&["name", "phone", "card"], &[Access::View], 7);
    if let GrantTarget::Records { rows, .. } = &mut request.target {
        *rows = Some(confidant_core::RowFilter {
            column: "region".into(),
            equals: "West".into(),
        });
    }
    let granted = vault
        .grant(&owner, "alex@example.com", &request)
        .await
        .unwrap();
    // The grant alone opens nothing yet: the agreements come first, and a
    // Restricted set needs the day passcode; the person is told so.
    let Err(VaultError::Blocked(blocker)) = vault.show_records(&alex, "customers", 0, 10).await
    else {
        panic!("blocked by the gates");
    };
    assert!(blocker.agreement && blocker.handbook && blocker.passcode);
    assert_eq!(vault.record_sets(&alex).await.unwrap().len(), 1, "listed");
    sign_all(&vault, &alex).await;
    let Err(VaultError::Blocked(blocker)) = vault.show_records(&alex, "customers", 0, 10).await
    else {
        panic!("blocked by the passcode");
    };
    assert!(!blocker.agreement && !blocker.handbook && blocker.passcode);
    unlock(
        &vault,
        &owner,
        &alex,
        granted.grant.id,
        confidant_vault::PasscodeItem::RecordSet("customers".into()),
    )
    .await;
    let page = vault.show_records(&alex, "customers", 0, 10).await.unwrap();
    assert_eq!(page.rows.len(), 1, "only rows where region = West");
    assert_eq!(
        page.rows[0].values,
        vec!["Ann Lee", "+44 20 7946 0958", "••••••1111", "••••••"]
    );
    assert_eq!(page.masked, vec!["card".to_owned(), "region".to_owned()]);
    let row = page.rows[0].id;
    // The record says what left in the clear, and what only masked.
    let (_, viewed) = vault
        .ledger_log(&owner, Some("alex@example.com"), Some("customers"))
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|(_, e)| e.action.to_string() == "view" && !e.target.rows.is_empty())
        .unwrap();
    assert_eq!(viewed.target.columns, ["name", "phone"]);
    let categories: Vec<String> = viewed.categories.iter().map(|c| c.to_string()).collect();
    assert_eq!(categories, ["name", "phone"]);
    assert!(
        viewed.reason.contains("masked: card, region"),
        "{}",
        viewed.reason
    );

    // Revealing needs a grant that says so, one value at a time.
    assert!(matches!(
        vault.reveal(&alex, "customers", row, "card").await,
        Err(VaultError::NotFound(_))
    ));
    vault
        .grant(
            &owner,
            "alex@example.com",
            &records(&["card"], &[Access::Reveal], 1),
        )
        .await
        .unwrap();
    assert_eq!(
        vault.reveal(&alex, "customers", row, "card").await.unwrap(),
        "4111111111111111"
    );
    assert!(matches!(
        vault.reveal(&alex, "customers", row, "region").await,
        Err(VaultError::NotFound(_))
    ));
    let reveals: Vec<_> = vault
        .ledger_log(&owner, Some("alex@example.com"), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.action.to_string() == "reveal")
        .collect();
    assert_eq!(
        reveals.len(),
        3,
        "each reveal, allowed or not, is on the record"
    );
    assert_eq!(
        reveals
            .iter()
            .filter(|(_, e)| e.decision == confidant_ledger::Decision::Allow)
            .count(),
        1
    );

    // A folder grant: those documents only; the others look absent.
    let folder = GrantRequest {
        target: GrantTarget::Folder("invoices/".into()),
        actions: [Access::View, Access::Download].into(),
        purpose: "bookkeeping".into(),
        until: OffsetDateTime::now_utc() + Duration::days(3),
        require_passcode: false,
    };
    let granted = vault
        .grant(&owner, "alex@example.com", &folder)
        .await
        .unwrap();
    let q3 = confidant_vault::DocRef::Name("invoices/q3.txt".into());
    // A Confidential document: a wrong passcode is refused and counted.
    let issued = vault
        .issue_passcode(&owner, granted.grant.id, None)
        .await
        .unwrap();
    assert!(matches!(
        vault.open_document(&alex, &q3).await,
        Err(VaultError::Blocked(_))
    ));
    let wrong = vault
        .enter_passcode(
            &alex,
            &confidant_vault::PasscodeItem::Document(q3.clone()),
            &SecretString::from("AAAA-BBBB-CCCC"),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("4 tries left"), "{wrong}");
    vault
        .enter_passcode(
            &alex,
            &confidant_vault::PasscodeItem::Document(q3.clone()),
            &SecretString::from(issued.passcode.expose_secret().to_lowercase()),
        )
        .await
        .unwrap();
    let docs: Vec<String> = vault
        .documents(&alex)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(docs, ["invoices/q3.txt"]);
    assert!(
        vault
            .open_document(
                &alex,
                &confidant_vault::DocRef::Name("invoices/q3.txt".into())
            )
            .await
            .is_ok()
    );
    let denied = vault
        .open_document(
            &alex,
            &confidant_vault::DocRef::Name("hr/salaries.txt".into()),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    let absent = vault
        .open_document(
            &alex,
            &confidant_vault::DocRef::Name("hr/nothing.txt".into()),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        denied.replace("salaries", "X"),
        absent.replace("nothing", "X")
    );

    // The owner asks why.
    let why = vault
        .explain_access(
            &owner,
            "alex@example.com",
            &confidant_vault::ExplainItem::Column {
                set: "customers".into(),
                column: "card".into(),
            },
            Access::Reveal,
        )
        .await
        .unwrap();
    assert!(why.allowed, "{}", why.explain());
    let why = vault
        .explain_access(
            &owner,
            "alex@example.com",
            &confidant_vault::ExplainItem::Document(confidant_vault::DocRef::Name(
                "hr/salaries.txt".into(),
            )),
            Access::View,
        )
        .await
        .unwrap();
    assert!(!why.allowed);
    assert!(!why.explain().is_empty());

    // Who can, what can: the same decisions, turned around.
    let who = vault
        .who_can(
            &owner,
            &confidant_vault::ExplainItem::Column {
                set: "customers".into(),
                column: "card".into(),
            },
        )
        .await
        .unwrap();
    let alex_can: Vec<Access> = who
        .iter()
        .find(|(email, _)| email == "alex@example.com")
        .map(|(_, actions)| actions.clone())
        .unwrap();
    assert_eq!(alex_can, [Access::View, Access::Reveal]);
    assert!(who.iter().any(|(email, _)| email == "owner@example.com"));
    let what: Vec<String> = vault
        .what_can(&owner, "alex@example.com")
        .await
        .unwrap()
        .into_iter()
        .map(|(item, _)| item)
        .collect();
    assert_eq!(
        what,
        [
            "document invoices/q3.txt",
            "record set customers, column name",
            "record set customers, column phone",
            "record set customers, column card",
        ]
    );
}

/// The owner's own policies are validated, stored, and bind at once in
/// every server process.
#[tokio::test]
async fn owner_policies_bind_everyone_at_once() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let other_process = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let csv = "name,card\nAnn Lee,4111111111111111\n";
    import_customers(
        &vault,
        &owner,
        csv,
        &[
            ("name", DataCategory::Name),
            ("card", DataCategory::CardNumber),
        ],
        Label::Restricted,
    )
    .await;
    let alex = member(&vault, "alex@example.com", Role::Vendor).await;
    let granted = vault
        .grant(
            &owner,
            "alex@example.com",
            &records(&["name", "card"], &[Access::View, Access::Reveal], 7),
        )
        .await
        .unwrap();
    sign_all(&vault, &alex).await;
    unlock(
        &vault,
        &owner,
        &alex,
        granted.grant.id,
        confidant_vault::PasscodeItem::RecordSet("customers".into()),
    )
    .await;
    let row = other_process
        .show_records(&alex, "customers", 0, 10)
        .await
        .unwrap()
        .rows[0]
        .id;
    assert!(
        other_process
            .reveal(&alex, "customers", row, "card")
            .await
            .is_ok()
    );

    // A mistake is reported with its place, and nothing changes.
    let err = vault
        .set_owner_policies(
            &owner,
            "forbid (principal, action, resource)\nwhen { principal.rol == \"vendor\" };",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert_eq!(vault.owner_policies(&owner).await.unwrap(), "");
    assert!(matches!(
        vault.set_owner_policies(&alex, "").await,
        Err(VaultError::Forbidden(_))
    ));

    let policy = r#"@id("vendors-never-see-card-numbers")
forbid (principal, action, resource)
when { principal.role == "vendor" && resource.categories.contains("card_number") };"#;
    vault.set_owner_policies(&owner, policy).await.unwrap();
    assert_eq!(vault.owner_policies(&owner).await.unwrap(), policy);
    // The other process applies it on its next decision.
    assert!(matches!(
        other_process.reveal(&alex, "customers", row, "card").await,
        Err(VaultError::NotFound(_))
    ));
    let page = other_process
        .show_records(&alex, "customers", 0, 10)
        .await
        .unwrap();
    assert_eq!(page.rows[0].values, ["Ann Lee", "••••••1111"]);
    let why = vault
        .explain_access(
            &owner,
            "alex@example.com",
            &confidant_vault::ExplainItem::Column {
                set: "customers".into(),
                column: "card".into(),
            },
            Access::Reveal,
        )
        .await
        .unwrap();
    assert!(!why.allowed);
    assert!(
        why.explain().contains("vendors-never-see-card-numbers"),
        "{}",
        why.explain()
    );
}

/// Asking for access says nothing about what exists: a request for a
/// document or record set that does not exist (or a column it lacks) is
/// taken like any other. Its item is looked up when the owner approves,
/// and the owner is told then.
#[tokio::test]
async fn requests_are_no_oracle_for_names() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let csv = "name,phone\nAnn Lee,+44 20 7946 0958\n";
    import_customers(
        &vault,
        &owner,
        csv,
        &[("name", DataCategory::Name), ("phone", DataCategory::Phone)],
        Label::Internal,
    )
    .await;
    let doc = vault
        .add_document(&owner, "plans/merger.txt", Label::Internal, &b"secret"[..])
        .await
        .unwrap();
    let alex = member(&vault, "alex@example.com", Role::Assistant).await;
    let ask = |target: GrantTarget, actions: &[Access]| GrantRequest {
        target,
        actions: actions.iter().copied().collect(),
        purpose: "work".into(),
        until: OffsetDateTime::now_utc() + Duration::days(3),
        require_passcode: false,
    };
    let set = |name: &str, columns: &[&str]| GrantTarget::Records {
        set: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: None,
    };

    // Existing and missing names get the same answer, and the item reads
    // back as typed.
    let mut asked = Vec::new();
    for (target, actions, item) in [
        (
            GrantTarget::Document(confidant_vault::DocRef::Name("plans/merger.txt".into())),
            &[Access::View][..],
            "document \"plans/merger.txt\" (as asked)",
        ),
        (
            GrantTarget::Document(confidant_vault::DocRef::Name("plans/nothing.txt".into())),
            &[Access::View][..],
            "document \"plans/nothing.txt\" (as asked)",
        ),
        (
            set("customers", &["name"]),
            &[Access::View][..],
            "record set \"customers\": name (as asked)",
        ),
        (
            set("customers", &["salary"]),
            &[Access::View][..],
            "record set \"customers\": salary (as asked)",
        ),
        (
            set("payroll", &["name"]),
            &[Access::View][..],
            "record set \"payroll\": name (as asked)",
        ),
    ] {
        let view = vault
            .request_grant(&alex, &ask(target, actions), "need it")
            .await
            .unwrap();
        assert_eq!(view.grant.status, GrantStatus::Requested);
        assert_eq!(view.item, item);
        asked.push(view.grant.id);
    }
    // What does not depend on the workspace is still checked at once.
    let err = vault
        .request_grant(
            &alex,
            &ask(set("payroll", &["name"]), &[Access::Download]),
            "need it",
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("download applies"), "{err}");

    // Approving a request for what does not exist tells the owner, and
    // changes nothing.
    for id in [asked[1], asked[3], asked[4]] {
        let err = vault.approve_grant(&owner, id).await.unwrap_err();
        assert!(matches!(err, VaultError::InvalidInput(_)), "{err}");
        assert!(
            err.to_string().contains("cannot be approved as asked"),
            "{err}"
        );
        let still = vault
            .grants(&owner, Some("alex@example.com"))
            .await
            .unwrap();
        let still = still.iter().find(|g| g.grant.id == id).unwrap();
        assert_eq!(still.grant.status, GrantStatus::Requested);
    }
    let err = vault.approve_grant(&owner, asked[3]).await.unwrap_err();
    assert!(err.to_string().contains("no column \"salary\""), "{err}");

    // Approving one for what exists puts the resolved item in force.
    let approved = vault.approve_grant(&owner, asked[0]).await.unwrap();
    assert_eq!(
        approved.grant.scope,
        confidant_core::GrantScope::Document { id: doc.id }
    );
    assert_eq!(approved.item, "document plans/merger.txt");
    let approved = vault.approve_grant(&owner, asked[2]).await.unwrap();
    assert_eq!(approved.item, "record set customers: name");
    assert!(approved.grant.is_live(OffsetDateTime::now_utc()));

    // The ledger names no item the person typed.
    let reasons: Vec<String> = vault
        .ledger_log(&owner, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.reason)
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("a document named in the request")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .all(|r| !r.contains("nothing.txt") && !r.contains("payroll") && !r.contains("salary")),
        "{reasons:?}"
    );
}
