//! The gates in front of confidential items, with a clock the test moves:
//! agreements (unsigned, outdated, expired, handbook missing) and day
//! passcodes (missing, wrong, expired, another person's, another grant's,
//! locked after five wrong tries), across a business day's end, a DST
//! change and time zones.

use std::sync::Arc;

use confidant_core::{Access, AgreementKind, DataCategory, Label, Role};
use confidant_store::BlobStore;
use confidant_vault::{
    Actor, AgreementDraft, ColumnMapping, GrantRequest, GrantTarget, InitOptions, KdfParams,
    KeyFile, ManualClock, PasscodeItem, Signing, Unlock, Vault, VaultError, code_at,
};
use rand_core::OsRng;
use secrecy::{ExposeSecret, SecretString};
use tempfile::TempDir;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub(crate) struct World {
    _dir: TempDir,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) vault: Vault,
    pub(crate) owner: Actor,
}

/// A workspace on SQLite whose clock starts at `at`, with a customers set
/// labelled `label`.
pub(crate) async fn world(at: OffsetDateTime, label: Label) -> World {
    let dir = TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let blobs = BlobStore::local(&dir.path().join("blobs")).unwrap();
    let clock = Arc::new(ManualClock::new(at));
    let key = KeyFile::generate(&mut OsRng);
    let vault = Vault::init(
        confidant_store::connect(&url).await.unwrap(),
        blobs,
        clock.clone(),
        InitOptions {
            workspace_name: "Acme Dental".into(),
            owner_email: "owner@example.com".into(),
            owner_name: "Olivia".into(),
            owner_password: SecretString::from("a long owner password"),
            unlock: Unlock::KeyFile(key),
            kdf: KdfParams::default(),
        },
    )
    .await
    .unwrap();
    let owner = vault.owner().await.unwrap();
    vault
        .import_records(
            &owner,
            "customers",
            std::io::Cursor::new(b"name,card\nAnn Lee,4111111111111111\n".to_vec()),
            ColumnMapping {
                categories: vec![
                    ("name".into(), DataCategory::Name),
                    ("card".into(), DataCategory::CardNumber),
                ],
                indexed: vec![],
                rows_are_customers: true,
                contact_column: None,
                label,
            },
        )
        .await
        .unwrap();
    // These tests move the clock across days: the agreements and passcodes
    // are under test here, the device gate in devices.rs.
    vault
        .set_posture_policy(&owner, &confidant_core::device::PosturePolicy::none())
        .await
        .unwrap();
    World {
        _dir: dir,
        clock,
        vault,
        owner,
    }
}

impl World {
    pub(crate) fn now(&self) -> OffsetDateTime {
        use confidant_vault::Clock as _;
        self.clock.now()
    }

    pub(crate) async fn member(&self, email: &str, name: &str, role: Role) -> Actor {
        let invitation = self
            .vault
            .invite(&self.owner, email, name, role, None)
            .await
            .unwrap();
        let setup = self.vault.new_totp_setup(email).unwrap();
        let secret = setup.secret.expose_secret().to_owned();
        self.vault
            .accept_invitation(
                &invitation.token,
                &SecretString::from("velvet lantern orbit mosaic"),
                &secret,
                &code_at(&secret, self.now()).unwrap(),
                None,
                &confidant_vault::SessionRequest::web("test"),
            )
            .await
            .unwrap()
            .session
            .actor
    }

    pub(crate) async fn grant(&self, email: &str) -> confidant_core::GrantId {
        self.vault
            .grant(
                &self.owner,
                email,
                &GrantRequest {
                    target: GrantTarget::Records {
                        set: "customers".into(),
                        columns: vec!["name".into()],
                        rows: None,
                    },
                    actions: [Access::View].into(),
                    purpose: "schedule appointments".into(),
                    until: self.now() + Duration::days(20),
                    require_passcode: false,
                },
            )
            .await
            .unwrap()
            .grant
            .id
    }

    async fn sign(&self, who: &Actor, kind: AgreementKind) -> Result<(), VaultError> {
        let due = self.vault.my_agreements(who).await?;
        let agreement = &due
            .iter()
            .find(|d| d.agreement.kind == kind)
            .unwrap()
            .agreement;
        self.vault
            .sign_agreement(
                who,
                agreement.id,
                &Signing {
                    typed_name: who.name.clone(),
                    consent: true,
                    client: Some("198.51.100.4".parse().unwrap()),
                    user_agent: "Mozilla/5.0 (test)".into(),
                },
            )
            .await
            .map(|_| ())
    }

    pub(crate) async fn sign_all(&self, who: &Actor) {
        self.sign(who, AgreementKind::Nda).await.unwrap();
        self.sign(who, AgreementKind::Handbook).await.unwrap();
    }

    async fn page(&self, who: &Actor) -> Result<usize, VaultError> {
        self.vault
            .show_records(who, "customers", 0, 10)
            .await
            .map(|p| p.rows.len())
    }

    pub(crate) async fn enter(
        &self,
        who: &Actor,
        passcode: &str,
    ) -> Result<OffsetDateTime, VaultError> {
        self.vault
            .enter_passcode(
                who,
                &PasscodeItem::RecordSet("customers".into()),
                &SecretString::from(passcode.to_owned()),
            )
            .await
    }
}

fn blocked(result: Result<usize, VaultError>) -> confidant_vault::Blocker {
    match result {
        Err(VaultError::Blocked(b)) => b,
        other => panic!("expected the gates to block, got {other:?}"),
    }
}

#[tokio::test]
async fn agreements_gate_every_grant_until_signed_in_their_current_version() {
    // An Internal set: the agreements are the only gates.
    let w = world(datetime!(2026-11-30 15:00 UTC), Label::Internal).await;
    let alex = w
        .member("alex@example.com", "Alex Doe", Role::Assistant)
        .await;
    w.grant("alex@example.com").await;

    // Unsigned: both agreements named, with what to do.
    let b = blocked(w.page(&alex).await);
    assert!(b.agreement && b.handbook && !b.passcode);
    assert!(b.steps[0].contains("Agreements page"), "{:?}", b.steps);
    let blocked_people = w.vault.blocked_people(&w.owner).await.unwrap();
    assert_eq!(blocked_people.len(), 1);
    assert_eq!(blocked_people[0].reasons.len(), 2);

    // The NDA alone is not enough: the handbook too.
    w.sign(&alex, AgreementKind::Nda).await.unwrap();
    let b = blocked(w.page(&alex).await);
    assert!(!b.agreement && b.handbook);
    w.sign(&alex, AgreementKind::Handbook).await.unwrap();
    assert_eq!(w.page(&alex).await.unwrap(), 1);
    assert!(w.vault.blocked_people(&w.owner).await.unwrap().is_empty());

    // The default NDA was written from the workspace: its categories.
    let due = w.vault.my_agreements(&alex).await.unwrap();
    let nda = &due[0].agreement;
    assert_eq!(nda.kind, AgreementKind::Nda);
    assert!(nda.text.contains("payment card numbers"), "{}", nda.text);
    assert!(nda.text.contains("Acme Dental"));

    // A new version with no grace period: re-sign before the next access.
    let draft = |grace_days, valid_days| AgreementDraft {
        kind: AgreementKind::Nda,
        audience: Role::Assistant,
        title: "NDA".into(),
        text: format!("{}\n9. Also: no screenshots.\n", nda.text),
        covers: Label::Restricted,
        valid_days,
        grace_days,
    };
    let v2 = w
        .vault
        .publish_agreement(&w.owner, &draft(0, None))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let b = blocked(w.page(&alex).await);
    assert!(b.agreement && !b.handbook);
    // Signing the old version is refused; the current one works.
    let old = w
        .vault
        .sign_agreement(
            &alex,
            nda.id,
            &Signing {
                typed_name: "Alex Doe".into(),
                consent: true,
                client: None,
                user_agent: "t".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(old.to_string().contains("version 2"), "{old}");
    // Without consent or a name: refused, nothing stored.
    let no_consent = w
        .vault
        .sign_agreement(
            &alex,
            v2.id,
            &Signing {
                typed_name: "Alex Doe".into(),
                consent: false,
                client: None,
                user_agent: "t".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(no_consent, VaultError::InvalidInput(_)));
    w.sign(&alex, AgreementKind::Nda).await.unwrap();
    assert_eq!(w.page(&alex).await.unwrap(), 1);

    // Version 3 with a 7-day grace period and a 10-day validity: the old
    // signature counts for the grace period, then not.
    w.vault
        .publish_agreement(&w.owner, &draft(7, Some(10)))
        .await
        .unwrap();
    assert_eq!(w.page(&alex).await.unwrap(), 1, "inside the grace period");
    w.clock
        .set(w.now() + Duration::days(7) + Duration::seconds(1));
    blocked(w.page(&alex).await);
    w.sign(&alex, AgreementKind::Nda).await.unwrap();
    assert_eq!(w.page(&alex).await.unwrap(), 1);
    // Ten days later the signature expired.
    w.clock.set(w.now() + Duration::days(10));
    let b = blocked(w.page(&alex).await);
    assert!(b.agreement);

    // Every signature is sealed by the workspace key and on the record.
    let signatures = w.vault.signatures(&w.owner).await.unwrap();
    assert_eq!(signatures.len(), 4);
    assert!(signatures.iter().all(|s| s.seal_ok));
    let signed = w
        .vault
        .ledger_log(&w.owner, Some("alex@example.com"), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.action.to_string() == "sign_agreement")
        .count();
    assert_eq!(signed, 4);
    // Assistants cannot read the signatures or publish.
    assert!(w.vault.signatures(&alex).await.is_err());
    assert!(matches!(
        w.vault.publish_agreement(&alex, &draft(0, None)).await,
        Err(VaultError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_signed_agreement_downloads_as_a_valid_pdf_with_its_certificate() {
    let w = world(datetime!(2026-11-30 15:00 UTC), Label::Internal).await;
    let alex = w
        .member("alex@example.com", "Zoë Ивановa", Role::Vendor)
        .await;
    w.sign_all(&alex).await;
    let signature = w.vault.signatures(&w.owner).await.unwrap()[0]
        .signature
        .clone();
    let pdf = w.vault.signature_pdf(&w.owner, signature.id).await.unwrap();
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("signed.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let check = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .expect("qpdf (the test command installs it)");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; the test command installs it)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("SIGNATURE CERTIFICATE"), "{text}");
    assert!(text.contains("Typed name: Zoë"), "{text}");
    assert!(text.contains("Seal check when this file was made: valid"));
    let hash: String = signature
        .text_sha256
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(text.contains(&hash), "{text}");
    assert!(text.contains("198.51.100.4"));
    // Only the owner's side downloads it.
    assert!(w.vault.signature_pdf(&alex, signature.id).await.is_err());
}

#[tokio::test]
async fn day_passcodes_end_with_the_business_day_across_dst_and_time_zones() {
    // Friday 2027-03-12, 15:00 in New York (EST, UTC-5).
    let w = world(datetime!(2027-03-12 20:00 UTC), Label::Restricted).await;
    w.vault
        .set_business_day(&w.owner, "America/New_York", "18:00")
        .await
        .unwrap();
    assert!(
        w.vault
            .set_business_day(&w.owner, "Mars/Olympus", "18:00")
            .await
            .is_err()
    );
    let alex = w
        .member("alex@example.com", "Alex Doe", Role::Assistant)
        .await;
    let grant = w.grant("alex@example.com").await;
    w.sign_all(&alex).await;

    // Missing: no passcode issued yet.
    assert!(blocked(w.page(&alex).await).passcode);
    assert!(matches!(
        w.enter(&alex, "AAAA-BBBB-CCCC").await,
        Err(VaultError::Forbidden(_))
    ));

    let today = w.vault.issue_passcode(&w.owner, grant, None).await.unwrap();
    // Valid until 18:00 New York time.
    assert_eq!(today.valid_until, datetime!(2027-03-12 23:00 UTC));
    // Just before the boundary it opens the set...
    w.clock.set(datetime!(2027-03-12 22:59:59 UTC));
    w.enter(&alex, today.passcode.expose_secret())
        .await
        .unwrap();
    assert_eq!(w.page(&alex).await.unwrap(), 1);
    // ...and once per day is enough: the next read needs no passcode.
    assert_eq!(w.page(&alex).await.unwrap(), 1);

    // Tomorrow's passcodes, issued before the boundary, do not work yet.
    let next = w.vault.rotate_passcodes(&w.owner).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].valid_from, datetime!(2027-03-12 23:00 UTC));
    assert_eq!(next[0].valid_until, datetime!(2027-03-13 23:00 UTC));
    assert!(w.vault.rotate_passcodes(&w.owner).await.unwrap().is_empty());

    // Just after the boundary today's passcode is useless.
    w.clock.set(datetime!(2027-03-12 23:00:00 UTC));
    assert!(blocked(w.page(&alex).await).passcode);
    let expired = w.enter(&alex, today.passcode.expose_secret()).await;
    assert!(
        matches!(expired, Err(VaultError::InvalidInput(_))),
        "{expired:?}"
    );
    w.enter(&alex, next[0].passcode.expose_secret())
        .await
        .unwrap();
    assert_eq!(w.page(&alex).await.unwrap(), 1);

    // Across the DST change (Sunday 2027-03-14, 02:00 EST -> 03:00 EDT):
    // Sunday's day ends at 18:00 EDT, 22:00 UTC, a 23-hour day.
    w.clock.set(datetime!(2027-03-13 23:30 UTC));
    let sunday = w.vault.issue_passcode(&w.owner, grant, None).await.unwrap();
    assert_eq!(sunday.valid_until, datetime!(2027-03-14 22:00 UTC));
    w.enter(&alex, sunday.passcode.expose_secret())
        .await
        .unwrap();
    w.clock.set(datetime!(2027-03-14 21:59:59 UTC));
    assert_eq!(w.page(&alex).await.unwrap(), 1);
    w.clock.set(datetime!(2027-03-14 22:00:00 UTC));
    assert!(blocked(w.page(&alex).await).passcode);

    // Another time zone, another boundary: Tokyo's 18:00 is 09:00 UTC.
    w.vault
        .set_business_day(&w.owner, "Asia/Tokyo", "18:00")
        .await
        .unwrap();
    let tokyo = w.vault.issue_passcode(&w.owner, grant, None).await.unwrap();
    assert_eq!(tokyo.valid_until, datetime!(2027-03-15 09:00 UTC));
    // A window the owner sets instead of the day.
    let window = w
        .vault
        .issue_passcode(&w.owner, grant, Some(2))
        .await
        .unwrap();
    assert_eq!(window.valid_until - window.valid_from, Duration::hours(2));
    // Issuing replaced the earlier one.
    assert!(
        w.enter(&alex, tokyo.passcode.expose_secret())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn passcodes_are_bound_to_their_person_and_grant_and_lock_after_five_wrong_tries() {
    let w = world(datetime!(2026-11-30 15:00 UTC), Label::Confidential).await;
    let alex = w
        .member("alex@example.com", "Alex Doe", Role::Assistant)
        .await;
    let bo = w.member("bo@example.com", "Bo Chan", Role::Assistant).await;
    let alex_grant = w.grant("alex@example.com").await;
    let bo_grant = w.grant("bo@example.com").await;
    w.sign_all(&alex).await;
    w.sign_all(&bo).await;
    // A second set, with its own grant for Alex.
    w.vault
        .import_records(
            &w.owner,
            "suppliers",
            std::io::Cursor::new(b"name\nAcme Ltd\n".to_vec()),
            ColumnMapping {
                categories: vec![("name".into(), DataCategory::Name)],
                indexed: vec![],
                rows_are_customers: false,
                contact_column: None,
                label: Label::Confidential,
            },
        )
        .await
        .unwrap();
    let suppliers_grant = w
        .vault
        .grant(
            &w.owner,
            "alex@example.com",
            &GrantRequest {
                target: GrantTarget::Records {
                    set: "suppliers".into(),
                    columns: vec!["name".into()],
                    rows: None,
                },
                actions: [Access::View].into(),
                purpose: "orders".into(),
                until: w.now() + Duration::days(5),
                require_passcode: false,
            },
        )
        .await
        .unwrap()
        .grant
        .id;
    let alex_code = w
        .vault
        .issue_passcode(&w.owner, alex_grant, None)
        .await
        .unwrap();
    let bo_code = w
        .vault
        .issue_passcode(&w.owner, bo_grant, None)
        .await
        .unwrap();
    let suppliers_code = w
        .vault
        .issue_passcode(&w.owner, suppliers_grant, None)
        .await
        .unwrap();

    // Another person's passcode, another grant's passcode: wrong.
    assert!(matches!(
        w.enter(&alex, bo_code.passcode.expose_secret()).await,
        Err(VaultError::InvalidInput(_))
    ));
    assert!(matches!(
        w.enter(&alex, suppliers_code.passcode.expose_secret())
            .await,
        Err(VaultError::InvalidInput(_))
    ));
    // Not a passcode at all counts too.
    assert!(w.enter(&alex, "hello").await.is_err());
    assert!(w.enter(&alex, "ZZZZ-ZZZZ-ZZZ0").await.is_err());
    // The fifth wrong try locks the grant for the day, and then even the
    // right passcode does not open it.
    assert!(matches!(
        w.enter(&alex, "ZZZZ-ZZZZ-ZZZ1").await,
        Err(VaultError::RateLimited { .. })
    ));
    assert!(matches!(
        w.enter(&alex, alex_code.passcode.expose_secret()).await,
        Err(VaultError::RateLimited { .. })
    ));
    assert!(blocked(w.page(&alex).await).passcode);
    let states = w.vault.passcode_states(&w.owner).await.unwrap();
    let locked: Vec<_> = states.iter().filter(|s| s.locked).collect();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].email, "alex@example.com");
    // Bo is not affected.
    w.enter(&bo, bo_code.passcode.expose_secret())
        .await
        .unwrap();
    assert_eq!(w.page(&bo).await.unwrap(), 1);
    // Every use and every failure is on the record.
    let uses = w
        .vault
        .ledger_log(&w.owner, Some("alex@example.com"), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.action.to_string() == "passcode_use")
        .count();
    assert_eq!(uses, 6);
    // The next business day the lock is over.
    w.clock.set(datetime!(2026-11-30 18:00 UTC));
    let fresh = w
        .vault
        .issue_passcode(&w.owner, alex_grant, None)
        .await
        .unwrap();
    w.enter(&alex, fresh.passcode.expose_secret())
        .await
        .unwrap();
    assert_eq!(w.page(&alex).await.unwrap(), 1);

    // Ending the grant revokes its passcodes at once; offboarding, all.
    w.vault
        .end_grant(&w.owner, alex_grant, "done")
        .await
        .unwrap();
    assert!(
        w.enter(&alex, fresh.passcode.expose_secret())
            .await
            .is_err()
    );
    // Yesterday's suppliers passcode is over; a fresh one opens that set,
    // whose grant goes on.
    let suppliers = PasscodeItem::RecordSet("suppliers".into());
    let old = SecretString::from(suppliers_code.passcode.expose_secret().to_owned());
    assert!(
        w.vault
            .enter_passcode(&alex, &suppliers, &old)
            .await
            .is_err()
    );
    let today = w
        .vault
        .issue_passcode(&w.owner, suppliers_grant, None)
        .await
        .unwrap();
    let s = w
        .vault
        .enter_passcode(&alex, &suppliers, &today.passcode)
        .await;
    assert!(s.is_ok(), "{s:?}");
    w.vault
        .offboard(&w.owner, "alex@example.com", "left")
        .await
        .unwrap();
    assert!(
        w.vault
            .passcode_states(&w.owner)
            .await
            .unwrap()
            .iter()
            .all(|s| s.email != "alex@example.com")
    );
}
