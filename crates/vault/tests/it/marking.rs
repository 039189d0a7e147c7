//! Copies of Confidential and Restricted documents leave stamped for their
//! recipient, with a delivery id on the record; a copy that cannot be
//! stamped does not leave (but to the owner's side).

use confidant_core::{Access, Label, Role};
use confidant_vault::{DocRef, GrantRequest, GrantTarget, PasscodeItem, VaultError};
use time::{Duration, OffsetDateTime};

use crate::grants::{member, sign_all, unlock};
use crate::{Setup, read};

#[tokio::test]
async fn confidential_copies_are_stamped_for_their_recipient_and_traceable() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let body = "Invoice 1001: Ann Lee, 4 crowns, paid.\nInvoice 1002: Bo Chan, cleaning, open.\n";
    vault
        .add_document(
            &owner,
            "invoices/q3.txt",
            Label::Confidential,
            body.as_bytes(),
        )
        .await
        .unwrap();
    vault
        .add_document(
            &owner,
            "invoices/scan.bin",
            Label::Confidential,
            &[0u8, 159, 146, 150][..],
        )
        .await
        .unwrap();
    vault
        .add_document(
            &owner,
            "invoices/readme.txt",
            Label::Internal,
            &b"plain"[..],
        )
        .await
        .unwrap();
    let alex = member(&vault, "alex@example.com", Role::Assistant).await;
    let granted = vault
        .grant(
            &owner,
            "alex@example.com",
            &GrantRequest {
                target: GrantTarget::Folder("invoices/".into()),
                actions: [Access::View, Access::Download].into(),
                purpose: "bookkeeping".into(),
                until: OffsetDateTime::now_utc() + Duration::days(3),
                require_passcode: false,
            },
        )
        .await
        .unwrap();
    sign_all(&vault, &alex).await;
    unlock(
        &vault,
        &owner,
        &alex,
        granted.grant.id,
        PasscodeItem::Document(DocRef::Name("invoices/q3.txt".into())),
    )
    .await;

    let copy = String::from_utf8(read(&vault, &alex, "invoices/q3.txt").await.unwrap()).unwrap();
    assert!(
        copy.starts_with("CONFIDENTIAL - for Alex Doe <alex@example.com>"),
        "{copy}"
    );
    assert!(confidant_mark::fingerprint::strip(&copy).contains("Invoice 1002: Bo Chan"));
    // The delivery in the copy is the one on the record, with Alex's name.
    let trace = confidant_mark::trace(copy.as_bytes());
    let deliveries = trace.deliveries();
    assert_eq!(deliveries.len(), 1, "{trace}");
    let (_, entry) = vault
        .ledger_log(&owner, Some("alex@example.com"), Some("invoices/q3.txt"))
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|(_, e)| e.action.to_string() == "download")
        .unwrap();
    assert_eq!(
        entry.delivery.as_ref().map(|d| d.as_str().to_owned()),
        Some(deliveries[0].to_string())
    );
    // A second copy is another delivery.
    let again = String::from_utf8(read(&vault, &alex, "invoices/q3.txt").await.unwrap()).unwrap();
    assert_ne!(
        confidant_mark::trace(again.as_bytes()).deliveries(),
        deliveries
    );

    // Internal documents leave as they are.
    assert_eq!(
        read(&vault, &alex, "invoices/readme.txt").await.unwrap(),
        b"plain"
    );

    // A Confidential file no stamp fits never leaves to Alex ...
    unlock(
        &vault,
        &owner,
        &alex,
        granted.grant.id,
        PasscodeItem::Document(DocRef::Name("invoices/scan.bin".into())),
    )
    .await;
    let refused = read(&vault, &alex, "invoices/scan.bin").await.unwrap_err();
    assert!(
        matches!(&refused, VaultError::InvalidInput(m) if m.contains("not served unstamped")),
        "{refused:?}"
    );
    // ... while the owner gets their own file back, and the record says so.
    assert_eq!(
        read(&vault, &owner, "invoices/scan.bin").await.unwrap(),
        [0u8, 159, 146, 150]
    );
    // The owner's own copy of the text is stamped too.
    let owners = String::from_utf8(read(&vault, &owner, "invoices/q3.txt").await.unwrap()).unwrap();
    assert!(owners.starts_with("CONFIDENTIAL - for Olivia"), "{owners}");
}

#[tokio::test]
async fn exports_carry_honey_records_and_a_leak_is_traced_to_its_recipient() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let mut csv = String::from("name,email,card,city\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "Customer {i},customer{i}@clients.example,4111111111111111,Springfield\n"
        ));
    }
    vault
        .import_records(
            &owner,
            "customers",
            std::io::Cursor::new(csv.into_bytes()),
            confidant_vault::ColumnMapping {
                categories: vec![
                    ("name".into(), confidant_core::DataCategory::Name),
                    ("email".into(), confidant_core::DataCategory::Email),
                    ("card".into(), confidant_core::DataCategory::CardNumber),
                    ("city".into(), confidant_core::DataCategory::PostalAddress),
                ],
                indexed: vec![],
                rows_are_customers: true,
                contact_column: Some("email".into()),
                label: Label::Restricted,
            },
        )
        .await
        .unwrap();
    let alex = member(&vault, "alex@example.com", Role::Assistant).await;
    // Alex may export names and e-mail addresses only.
    let granted = vault
        .grant(
            &owner,
            "alex@example.com",
            &GrantRequest {
                target: GrantTarget::Records {
                    set: "customers".into(),
                    columns: vec!["name".into(), "email".into()],
                    rows: None,
                },
                actions: [Access::View, Access::Export].into(),
                purpose: "send reminders".into(),
                until: OffsetDateTime::now_utc() + Duration::days(3),
                require_passcode: false,
            },
        )
        .await
        .unwrap();
    sign_all(&vault, &alex).await;
    unlock(
        &vault,
        &owner,
        &alex,
        granted.grant.id,
        PasscodeItem::RecordSet("customers".into()),
    )
    .await;
    let export = vault.export_records(&alex, "customers").await.unwrap();
    assert_eq!(export.rows, 40);
    let delivery = export.delivery.expect("a Restricted export is stamped");
    let text = String::from_utf8(export.bytes.clone()).unwrap();
    let plain = confidant_mark::fingerprint::strip(&text);
    assert!(plain.starts_with("RESTRICTED - for Alex Doe"), "{plain}");
    let lines: Vec<&str> = plain.lines().collect();
    // Banner, header, 40 rows and the honey records.
    assert_eq!(
        lines.len(),
        2 + 40 + confidant_vault::HONEY_PER_EXPORT,
        "{plain}"
    );
    assert!(
        !plain.contains("4111111111111111"),
        "the card column leaves masked"
    );
    assert!(plain.contains("customer7@clients.example"));
    // Honey addresses are at the owner's own mail domain.
    let honey: Vec<&str> = lines[2..]
        .iter()
        .copied()
        .filter(|l| l.contains("@example.com"))
        .collect();
    assert_eq!(honey.len(), confidant_vault::HONEY_PER_EXPORT, "{plain}");
    // Exporting is its own action: a view-only grant cannot export.
    let bo = member(&vault, "bo@example.com", Role::Assistant).await;
    vault
        .grant(
            &owner,
            "bo@example.com",
            &GrantRequest {
                target: GrantTarget::Records {
                    set: "customers".into(),
                    columns: vec!["name".into()],
                    rows: None,
                },
                actions: [Access::View].into(),
                purpose: "look".into(),
                until: OffsetDateTime::now_utc() + Duration::days(3),
                require_passcode: false,
            },
        )
        .await
        .unwrap();
    sign_all(&vault, &bo).await;
    assert!(matches!(
        vault.export_records(&bo, "customers").await,
        Err(VaultError::NotFound(_))
    ));

    // The leak: the banner and fingerprints stripped, rows shuffled and cut
    // down to a few lines that include a honey record.
    let mut leaked: Vec<&str> = lines[2..].to_vec();
    leaked.reverse();
    let leaked = leaked.join("\n");
    assert!(
        confidant_mark::trace(leaked.as_bytes())
            .deliveries()
            .is_empty()
    );
    let report = vault
        .trace(&owner, Some("list.csv"), leaked.as_bytes())
        .await
        .unwrap();
    assert_eq!(report.deliveries.len(), 1, "{report:?}");
    let traced = &report.deliveries[0];
    assert_eq!(traced.delivery, delivery);
    let sent = traced.sent.as_ref().expect("the ledger names the delivery");
    assert_eq!(sent.email, "alex@example.com");
    assert_eq!(sent.item, "record set customers");
    assert_eq!(sent.entry.action.to_string(), "export");
    assert!(sent.proof.is_ok(), "{:?}", sent.proof);
    assert!(!report.honey.is_empty());

    // The same as a workbook: honey rows in the sheet, the stamp as a
    // first sheet and a document property; traced back to its recipient.
    let xlsx = vault
        .export_records_as(&alex, "customers", confidant_vault::ExportFormat::Xlsx)
        .await
        .unwrap();
    assert_eq!(xlsx.file_name, "customers.xlsx");
    assert_eq!(xlsx.rows, 40);
    assert_eq!(
        confidant_mark::Format::detect(Some("customers.xlsx"), &xlsx.bytes),
        Some(confidant_mark::Format::Xlsx)
    );
    let xlsx_delivery = xlsx.delivery.expect("stamped");
    assert_ne!(xlsx_delivery, delivery, "each export is its own delivery");
    let report = vault
        .trace(&owner, Some("leaked.xlsx"), &xlsx.bytes)
        .await
        .unwrap();
    let found: Vec<_> = report.deliveries.iter().map(|d| d.delivery).collect();
    assert_eq!(found, vec![xlsx_delivery], "{report:?}");
    assert_eq!(
        report.honey.len(),
        confidant_vault::HONEY_PER_EXPORT,
        "{report:?}"
    );
    let sent = report.deliveries[0].sent.as_ref().unwrap();
    assert_eq!(sent.entry.action.to_string(), "export");

    // A stamped document copy pasted into a letter is traced too.
    vault
        .add_document(
            &owner,
            "memo.txt",
            Label::Confidential,
            &b"The merger closes on Friday. Tell nobody.\nNumbers follow next week.\n"[..],
        )
        .await
        .unwrap();
    let copy = String::from_utf8(read(&vault, &owner, "memo.txt").await.unwrap()).unwrap();
    let excerpt: String = copy.lines().nth(2).unwrap_or_default().to_owned();
    let letter = format!("Dear editor,\n\nlook at this: {excerpt}\n\nA friend\n");
    let report = vault.trace(&owner, None, letter.as_bytes()).await.unwrap();
    assert_eq!(report.deliveries.len(), 1, "{report:?} from {excerpt:?}");
    let sent = report.deliveries[0].sent.as_ref().unwrap();
    assert_eq!(sent.item, "document memo.txt");
    assert_eq!(sent.email, "owner@example.com");

    // Nothing in a file that was never ours.
    let nothing = vault
        .trace(&owner, None, b"just some text, no marks")
        .await
        .unwrap();
    assert!(nothing.is_empty());
    // Only the owner's side traces.
    assert!(vault.trace(&alex, None, b"x").await.is_err());
}

#[tokio::test]
async fn the_owner_may_turn_off_stamps_on_their_own_copies_only() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let body = "Invoice 1001: Ann Lee, 4 crowns, paid.\n";
    vault
        .add_document(&owner, "q3.txt", Label::Confidential, body.as_bytes())
        .await
        .unwrap();
    let admin = member(&vault, "dana@example.com", Role::Admin).await;
    // On by default: the owner's copy is stamped too.
    assert!(vault.owner_copies_stamped().await.unwrap());
    let copy = String::from_utf8(read(&vault, &owner, "q3.txt").await.unwrap()).unwrap();
    assert!(copy.starts_with("CONFIDENTIAL - for Olivia"), "{copy}");
    // Nobody but the owner decides it.
    assert!(matches!(
        vault.set_owner_copies_stamped(&admin, false).await,
        Err(VaultError::Forbidden(_))
    ));
    vault.set_owner_copies_stamped(&owner, false).await.unwrap();
    assert!(!vault.owner_copies_stamped().await.unwrap());
    // The owner's copy is the original, and the record says why; an
    // admin's copy is still stamped.
    assert_eq!(
        read(&vault, &owner, "q3.txt").await.unwrap(),
        body.as_bytes()
    );
    let admins = String::from_utf8(read(&vault, &admin, "q3.txt").await.unwrap()).unwrap();
    assert!(
        admins.starts_with("CONFIDENTIAL - for Alex Doe"),
        "{admins}"
    );
    let reasons: Vec<String> = vault
        .ledger_log(&owner, None, Some("q3.txt"))
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.reason)
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.ends_with("unstamped: the owner turned off stamps on their own copies")),
        "{reasons:?}"
    );
    vault.set_owner_copies_stamped(&owner, true).await.unwrap();
    let copy = String::from_utf8(read(&vault, &owner, "q3.txt").await.unwrap()).unwrap();
    assert!(copy.starts_with("CONFIDENTIAL"), "{copy}");
}

#[tokio::test]
async fn a_view_only_document_is_shown_stamped_and_never_downloaded() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let body = "Invoice 1001: Ann Lee, 4 crowns, paid.\n";
    vault
        .add_document(&owner, "q3.txt", Label::Confidential, body.as_bytes())
        .await
        .unwrap();
    let pdf = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mark/tests/data/libreoffice.pdf"),
    )
    .unwrap();
    vault
        .add_document(&owner, "contract.pdf", Label::Confidential, &pdf[..])
        .await
        .unwrap();
    let alex = member(&vault, "alex@example.com", Role::Assistant).await;
    for name in ["q3.txt", "contract.pdf"] {
        let grant = vault
            .grant(
                &owner,
                "alex@example.com",
                &GrantRequest {
                    target: GrantTarget::Document(DocRef::Name(name.into())),
                    actions: [Access::View, Access::Download].into(),
                    purpose: "bookkeeping".into(),
                    until: OffsetDateTime::now_utc() + Duration::days(3),
                    require_passcode: false,
                },
            )
            .await
            .unwrap()
            .grant
            .id;
        sign_all(&vault, &alex).await;
        unlock(
            &vault,
            &owner,
            &alex,
            grant,
            PasscodeItem::Document(DocRef::Name(name.into())),
        )
        .await;
    }
    // Only the owner and admins set it.
    assert!(matches!(
        vault
            .set_view_only(&alex, &DocRef::Name("q3.txt".into()), true)
            .await,
        Err(VaultError::Forbidden(_))
    ));
    for name in ["q3.txt", "contract.pdf"] {
        vault
            .set_view_only(&owner, &DocRef::Name(name.into()), true)
            .await
            .unwrap();
    }
    // Alex cannot download it, by any route that opens documents...
    assert!(matches!(
        read(&vault, &alex, "q3.txt").await,
        Err(VaultError::ViewOnly(m)) if m.contains("view only")
    ));
    // ... but sees it, stamped for Alex, with its own delivery.
    let (_, shown, view_only) = vault
        .view_document(&alex, &DocRef::Name("q3.txt".into()))
        .await
        .unwrap();
    assert!(view_only);
    let confidant_vault::Rendered::Text(text) = shown else {
        panic!("text is shown as text: {shown:?}");
    };
    assert!(text.starts_with("CONFIDENTIAL - for Alex Doe"), "{text}");
    assert!(text.contains("Ann Lee"));
    // A PDF is shown as pictures of its pages, rendered by pdftoppm.
    let (_, shown, view_only) = vault
        .view_document(&alex, &DocRef::Name("contract.pdf".into()))
        .await
        .unwrap();
    assert!(view_only);
    let confidant_vault::Rendered::Pages { pngs, more } = shown else {
        panic!("a PDF is shown as pages: {shown:?}");
    };
    assert!(!pngs.is_empty() && !more);
    assert!(pngs.iter().all(|p| p.starts_with(b"\x89PNG\r\n\x1a\n")));
    // Each view is on the record with its delivery; the refused download
    // too.
    let entries: Vec<_> = vault
        .ledger_log(&owner, Some("alex@example.com"), None)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let views = entries
        .iter()
        .filter(|e| e.action.to_string() == "view" && e.delivery.is_some())
        .count();
    assert_eq!(views, 2);
    assert!(entries.iter().any(|e| e.action.to_string() == "download"
        && e.decision == confidant_vault::LedgerDecision::Deny));
    // The owner still downloads it; turned off, Alex can again.
    assert!(read(&vault, &owner, "q3.txt").await.is_ok());
    vault
        .set_view_only(&owner, &DocRef::Name("q3.txt".into()), false)
        .await
        .unwrap();
    let copy = String::from_utf8(read(&vault, &alex, "q3.txt").await.unwrap()).unwrap();
    assert!(copy.contains("Ann Lee"));
}
