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
