//! Incidents, the second part: notices over STARTTLS to a real TLS
//! server, letters and the exposure report as PDFs (checked with `qpdf
//! --check` and `pdftotext`), bounces from delivery status notifications,
//! and incidents opened from a delivery id or a honey record.

use std::io::Write as _;
use std::process::Command;

use confidant_core::{Access, DataCategory, Label, Role};
use confidant_testkit::smtp::{self, Sink};
use confidant_vault::incidents::{
    DeliveryIncident, HoneyEvidence, LetterScope, NoticeStatus, SendOptions, SmtpSecurity,
};
use confidant_vault::{ColumnMapping, GrantRequest, GrantTarget, PasscodeItem, Vault, VaultError};
use time::{Duration, OffsetDateTime};

use crate::Setup;
use crate::grants::{member, sign_all, unlock};
use crate::incidents::{request, scenario, smtp};

fn tool(name: &str, package: &str) -> Command {
    let found = Command::new("which").arg(name).output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "`{name}` is needed by this test: apt-get install {package} (cargo xtask test installs it)"
    );
    Command::new(name)
}

fn temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    file
}

/// `qpdf --check` passes, and the text by `pdftotext`, pages split.
fn checked_text(pdf: &[u8]) -> Vec<String> {
    let file = temp(pdf);
    let check = tool("qpdf", "qpdf")
        .arg("--check")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "qpdf --check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let text = tool("pdftotext", "poppler-utils")
        .args(["-layout"])
        .arg(file.path())
        .arg("-")
        .output()
        .unwrap();
    assert!(text.status.success());
    let mut pages: Vec<String> = String::from_utf8_lossy(&text.stdout)
        .split('\u{c}')
        .map(str::to_owned)
        .collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

#[tokio::test]
async fn notices_go_over_starttls_and_an_untrusted_certificate_is_refused() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let (owner, _) = scenario(&vault).await;
    let id = vault
        .open_incident(&owner, &request(false))
        .await
        .unwrap()
        .id
        .to_string();
    vault.queue_notices(&owner, &id).await.unwrap();
    let sink = Sink::start_starttls(0).await;
    let mut settings = smtp(sink.port);
    settings.security = SmtpSecurity::StartTls;

    // A CA file that is not a certificate: refused before anything is tried.
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), "not a certificate").unwrap();
    settings.ca_file = Some(junk.path().to_owned());
    let err = vault
        .send_notices(&owner, &id, &settings, &SendOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    let notices = vault.notices(&owner, &id).await.unwrap();
    assert!(
        notices
            .iter()
            .all(|n| n.status == NoticeStatus::Queued && n.attempts == 0)
    );

    // Trusting another CA: the server's certificate is refused, clearly,
    // and nothing reaches it.
    settings.ca_file = Some(smtp::other_ca_file());
    let report = vault
        .send_notices(&owner, &id, &settings, &SendOptions::default())
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed.len()), (0, 3));
    for (_, why) in &report.failed {
        assert!(
            why.contains("certificate was refused") && why.contains("ca_file"),
            "{why}"
        );
    }
    assert!(sink.received().is_empty());
    assert!(!sink.failed_handshakes.lock().unwrap().is_empty());

    // Trusting the test CA: every notice goes over TLS, once.
    settings.ca_file = Some(smtp::ca_file());
    let retry = SendOptions {
        retry_now: true,
        ..SendOptions::default()
    };
    let report = vault
        .send_notices(&owner, &id, &settings, &retry)
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed.len()), (3, 0));
    let received = sink.received();
    assert_eq!(received.len(), 3);
    assert!(
        received.iter().all(|m| m.tls),
        "every notice after STARTTLS"
    );

    // STARTTLS is required: a server that does not offer it gets nothing.
    let plain = Sink::start(0).await;
    let id2 = vault
        .open_incident(&owner, &request(false))
        .await
        .unwrap()
        .id
        .to_string();
    vault.queue_notices(&owner, &id2).await.unwrap();
    let mut settings = smtp(plain.port);
    settings.security = SmtpSecurity::StartTls;
    settings.ca_file = Some(smtp::ca_file());
    let report = vault
        .send_notices(&owner, &id2, &settings, &SendOptions::default())
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed.len()), (0, 3));
    assert!(plain.received().is_empty(), "never in plain text");
}

/// Clients with and without e-mail and postal addresses; Alex sees the
/// names of all three (cards masked).
async fn clients(vault: &Vault) -> (confidant_vault::Actor, confidant_vault::Actor) {
    let owner = vault.owner().await.unwrap();
    let csv = "name,email,address,card\n\
        Ann Lee,ann@example.net,1 Elm St; Springfield,4111111111111111\n\
        Bo Chan,,22 Oak Ave; Shelbyville,5500000000000004\n\
        Cy Diaz,cy@example.net,,4012888888881881\n";
    vault
        .import_records(
            &owner,
            "clients",
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            ColumnMapping {
                categories: vec![
                    ("name".into(), DataCategory::Name),
                    ("email".into(), DataCategory::Email),
                    ("address".into(), DataCategory::PostalAddress),
                    ("card".into(), DataCategory::CardNumber),
                ],
                indexed: vec![],
                rows_are_customers: true,
                contact_column: Some("email".into()),
                label: Label::Internal,
            },
        )
        .await
        .unwrap();
    let alex = member(vault, "alex@example.com", Role::Assistant).await;
    vault
        .grant(
            &owner,
            "alex@example.com",
            &GrantRequest {
                target: GrantTarget::Records {
                    set: "clients".into(),
                    columns: vec!["name".into(), "card".into()],
                    rows: None,
                },
                actions: [Access::View].into(),
                purpose: "billing".into(),
                until: OffsetDateTime::now_utc() + Duration::days(7),
                require_passcode: false,
            },
        )
        .await
        .unwrap();
    sign_all(vault, &alex).await;
    let page = vault.show_records(&alex, "clients", 0, 10).await.unwrap();
    assert_eq!(page.rows.len(), 3);
    (owner, alex)
}

/// A bounce as a mail system writes it (RFC 3464).
fn bounce(recipient: &str, message_id: Option<&str>) -> Vec<u8> {
    let quoted = message_id
        .map(|m| format!("Message-ID: {m}\r\n"))
        .unwrap_or_default();
    format!(
        "From: MAILER-DAEMON@mx.example.net\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"b1\"\r\n\
         \r\n--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: user unknown\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: Test Business <privacy@business.example>\r\nTo: {recipient}\r\n{quoted}\
         Subject: Notice of Data Breach\r\n\r\n--b1--\r\n"
    )
    .into_bytes()
}

async fn letters_bounces_and_the_report(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    let vault = setup.open().await;
    let (owner, _) = clients(&vault).await;
    let view = vault.open_incident(&owner, &request(false)).await.unwrap();
    let id = view.id.to_string();
    assert_eq!(view.exposure.intelligible().count(), 3);

    // Bo has no e-mail address: two notices go by e-mail.
    assert_eq!(vault.queue_notices(&owner, &id).await.unwrap(), (2, 1));
    let sink = Sink::start(0).await;
    let report = vault
        .send_notices(&owner, &id, &smtp(sink.port), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(report.sent, 2);

    // Letters for those who need one: Bo only, with his postal address.
    let letters = vault
        .notice_letters(&owner, &id, LetterScope::Needed)
        .await
        .unwrap();
    assert_eq!(
        (letters.letters, letters.without_address, letters.marked),
        (1, 1, 1)
    );
    let pages = checked_text(&letters.pdf);
    assert_eq!(pages.len(), 1, "{pages:?}");
    let page = &pages[0];
    for want in [
        "Bo Chan",
        "22 Oak Ave",
        "Shelbyville",
        "Subject: Notice of Data Breach",
        "Your name. It was viewed on screen.",
        "An assistant's laptop was stolen.",
    ] {
        assert!(page.contains(want), "{want} not in {page}");
    }
    assert!(!page.contains("Ann Lee") && !page.contains("Cy Diaz"));
    let notices = vault.notices(&owner, &id).await.unwrap();
    let mut states: Vec<_> = notices.iter().map(|n| n.status).collect();
    states.sort();
    assert_eq!(
        states,
        [NoticeStatus::Sent, NoticeStatus::Sent, NoticeStatus::Letter]
    );

    // Ann's notice bounces: the report quotes its Message-ID.
    let ann = sink
        .received()
        .into_iter()
        .find(|m| m.to == ["ann@example.net"])
        .unwrap();
    let mid = ann.header("Message-ID").unwrap();
    let outcome = vault
        .record_bounce(&owner, &bounce("ann@example.net", Some(&mid)), None)
        .await
        .unwrap();
    assert_eq!(outcome.notice.status, NoticeStatus::Bounced);
    assert_eq!(outcome.status, "5.1.1");
    let why = outcome.notice.last_error.clone().unwrap();
    assert!(why.contains("5.1.1") && !why.contains("ann@"), "{why}");
    assert_eq!(
        mid,
        format!("<notice-{}@business.example>", outcome.notice.id)
    );
    // Twice: refused, nothing changes.
    let again = vault
        .record_bounce(&owner, &bounce("ann@example.net", Some(&mid)), None)
        .await;
    assert!(matches!(again, Err(VaultError::Conflict(_))), "{again:?}");
    // Not a report, or a report without a Message-ID and no incident.
    assert!(matches!(
        vault.record_bounce(&owner, b"hello", None).await,
        Err(VaultError::InvalidInput(_))
    ));
    let err = vault
        .record_bounce(&owner, &bounce("cy@example.net", None), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--incident"), "{err}");
    // With the incident named, Cy's notice is found by the address.
    let cy = vault
        .record_bounce(&owner, &bounce("cy@example.net", None), Some(&id))
        .await
        .unwrap();
    assert_eq!(cy.notice.status, NoticeStatus::Bounced);
    assert_ne!(cy.notice.id, outcome.notice.id);

    // The bounced ones are offered as letters now (Bo's again, unchanged).
    let letters = vault
        .notice_letters(&owner, &id, LetterScope::Needed)
        .await
        .unwrap();
    assert_eq!(
        (letters.letters, letters.bounced, letters.marked),
        (3, 2, 2)
    );
    assert_eq!(letters.without_postal_address, 1, "Cy has none");
    let pages = checked_text(&letters.pdf);
    assert_eq!(pages.len(), 3, "one page set per letter");
    let ann_page = pages.iter().find(|p| p.contains("Ann Lee")).unwrap();
    assert!(ann_page.contains("1 Elm St"));
    let cy_page = pages.iter().find(|p| p.contains("Cy Diaz")).unwrap();
    assert!(cy_page.contains("no postal address on file"));
    assert!(
        vault
            .notices(&owner, &id)
            .await
            .unwrap()
            .iter()
            .all(|n| n.status == NoticeStatus::Letter)
    );
    // Every letter exported: no more are due, unless all are asked for.
    assert!(matches!(
        vault.notice_letters(&owner, &id, LetterScope::Needed).await,
        Ok(l) if l.marked == 0
    ));

    // The exposure report.
    let pdf = vault.incident_report_pdf(&owner, &id).await.unwrap();
    let text = checked_text(&pdf).join("\n");
    for want in [
        "Exposure report",
        "alex@example.com",
        "The 72-hour clock",
        "71 hours left",
        "3 customers reached: 3 with something in the clear",
        "name: 3",
        "viewed on screen: 3",
        "Accesses per day",
        "letter: 3",
        "notice bounced",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    assert!(!text.contains("Ann Lee"), "customers by row, never by name");

    // The ledger has every step, and no address or name.
    let log = vault.ledger_log(&owner, None, None).await.unwrap();
    let reasons: Vec<&str> = log.iter().map(|(_, e)| e.reason.as_str()).collect();
    for step in ["letters exported", "notice bounced", "report exported"] {
        assert!(reasons.iter().any(|r| r.contains(step)), "{step}");
    }
    for (_, e) in &log {
        for secret in ["ann@", "cy@", "Ann Lee", "Oak Ave"] {
            assert!(!e.reason.contains(secret), "{secret} in {:?}", e.reason);
        }
    }
    let view = vault.incident(&owner, &id).await.unwrap();
    let kinds: Vec<&str> = view.timeline.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "notice bounced").count(),
        2,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn letters_bounces_and_the_report_sqlite() {
    letters_bounces_and_the_report(false).await;
}

#[tokio::test]
async fn letters_bounces_and_the_report_postgres() {
    letters_bounces_and_the_report(true).await;
}

#[tokio::test]
async fn incidents_open_from_a_delivery_and_from_a_honey_record() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let mut csv = String::from("name,email,card\n");
    for i in 0..12 {
        csv.push_str(&format!(
            "Customer {i},customer{i}@clients.example,4111111111111111\n"
        ));
    }
    vault
        .import_records(
            &owner,
            "customers",
            std::io::Cursor::new(csv.into_bytes()),
            ColumnMapping {
                categories: vec![
                    ("name".into(), DataCategory::Name),
                    ("email".into(), DataCategory::Email),
                    ("card".into(), DataCategory::CardNumber),
                ],
                indexed: vec![],
                rows_are_customers: true,
                contact_column: Some("email".into()),
                label: Label::Confidential,
            },
        )
        .await
        .unwrap();
    let alex = member(&vault, "alex@example.com", Role::Assistant).await;
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
    let delivery = export.delivery.expect("a Confidential export is stamped");
    let text = confidant_mark::fingerprint::strip(&String::from_utf8(export.bytes).unwrap());
    // Past the banner and the header.
    let honey_line = text
        .lines()
        .skip(2)
        .find(|l| l.contains("@example.com"))
        .expect("a honey record at the owner's domain")
        .to_owned();
    let honey_address = honey_line
        .split(',')
        .find(|f| f.contains('@'))
        .unwrap()
        .to_owned();

    // Bad input changes nothing.
    let base = DeliveryIncident {
        delivery: "not-an-id".into(),
        around: Duration::days(1),
        reason: "A customer list showed up on a forum.".into(),
        aware_at: None,
        offboard: false,
    };
    assert!(matches!(
        vault.open_incident_for_delivery(&owner, &base).await,
        Err(VaultError::InvalidInput(_))
    ));
    let foreign = DeliveryIncident {
        delivery: confidant_core::delivery::DeliveryId::random(&mut rand_core::OsRng).to_string(),
        ..base.clone()
    };
    assert!(matches!(
        vault.open_incident_for_delivery(&owner, &foreign).await,
        Err(VaultError::NotFound(_))
    ));
    for bad in ["nobody", "stranger@example.com"] {
        assert!(
            vault
                .open_incident_for_honey(&owner, &HoneyEvidence::Address(bad.into()), &base)
                .await
                .is_err()
        );
    }
    assert!(vault.incidents(&owner).await.unwrap().is_empty());

    // From the delivery id: Alex, the window around the export.
    let by_delivery = DeliveryIncident {
        delivery: delivery.to_string(),
        ..base.clone()
    };
    let view = vault
        .open_incident_for_delivery(&owner, &by_delivery)
        .await
        .unwrap();
    assert_eq!(view.person_email, "alex@example.com");
    assert_eq!(view.exposure.customers.len(), 12);
    assert!(view.since < OffsetDateTime::now_utc() - Duration::hours(23));
    assert!(
        view.timeline
            .iter()
            .any(|s| s.kind == "from a delivery" && s.detail.contains(&delivery.to_string()))
    );

    // From the honey address alone, and from a mail received at it; the
    // assistant is offboarded in the same step.
    let by_address = vault
        .open_incident_for_honey(
            &owner,
            &HoneyEvidence::Address(honey_address.clone()),
            &base,
        )
        .await
        .unwrap();
    assert_eq!(by_address.person_email, "alex@example.com");
    assert!(
        by_address
            .timeline
            .iter()
            .any(|s| s.kind == "honey record found")
    );
    let mail = format!(
        "From: someone@spam.example\r\nTo: {honey_address}\r\nSubject: great offer\r\n\r\nHello!\r\n"
    );
    let offboarding = DeliveryIncident {
        offboard: true,
        ..base.clone()
    };
    let by_mail = vault
        .open_incident_for_honey(
            &owner,
            &HoneyEvidence::File(Some("offer.eml".into()), mail.into_bytes()),
            &offboarding,
        )
        .await
        .unwrap();
    assert!(by_mail.offboarded);
    assert!(vault.show_records(&alex, "customers", 0, 1).await.is_err());
    assert_eq!(vault.incidents(&owner).await.unwrap().len(), 3);
    let log = vault.ledger_log(&owner, None, None).await.unwrap();
    assert!(
        log.iter().all(|(_, e)| !e.reason.contains(&honey_address)),
        "the honey address stays out of the ledger"
    );
}

/// An incident about an item: everyone's accesses to it in the window
/// (Alex's and Bo's), never the owner's own.
async fn item_incidents(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    let vault = setup.open().await;
    let (owner, _) = scenario(&vault).await;
    // Bo sees every customer's name (Alex saw three, see `scenario`).
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
                purpose: "calls".into(),
                until: OffsetDateTime::now_utc() + Duration::days(7),
                require_passcode: false,
            },
        )
        .await
        .unwrap();
    sign_all(&vault, &bo).await;
    assert_eq!(
        vault
            .show_records(&bo, "customers", 0, 10)
            .await
            .unwrap()
            .rows
            .len(),
        5
    );
    // The owner reads the leads in the clear: their own, not counted.
    vault.show_records(&owner, "leads", 0, 10).await.unwrap();

    let mut item = request(false);
    item.person = "nothing-by-this-name".into();
    assert!(matches!(
        vault.open_item_incident(&owner, &item).await,
        Err(VaultError::NotFound(_))
    ));
    item.person = "customers".into();
    item.offboard = true;
    assert!(matches!(
        vault.open_item_incident(&owner, &item).await,
        Err(VaultError::InvalidInput(_))
    ));
    assert!(vault.incidents(&owner).await.unwrap().is_empty());

    item.offboard = false;
    let customers = vault.open_item_incident(&owner, &item).await.unwrap();
    assert_eq!(customers.item.as_deref(), Some("record set customers"));
    assert_eq!(customers.exposure.customers.len(), 5, "Alex's 3 and Bo's 5");
    assert_eq!(customers.exposure.intelligible().count(), 5);
    assert!(customers.exposure.documents.is_empty());
    let ann = customers
        .exposure
        .customers
        .iter()
        .filter(|c| c.clear.contains(&DataCategory::CardNumber))
        .count();
    assert_eq!(ann, 2, "the two cards Alex revealed");
    let id = customers.id.to_string();
    assert_eq!(vault.queue_notices(&owner, &id).await.unwrap(), (5, 0));
    // Reloaded from the store, it is still about the item.
    let again = vault.incident(&owner, &id).await.unwrap();
    assert_eq!(again.exposure.customers.len(), 5);

    item.person = "leads".into();
    let leads = vault.open_item_incident(&owner, &item).await.unwrap();
    assert_eq!(leads.exposure.customers.len(), 2);
    assert_eq!(
        leads.exposure.intelligible().count(),
        0,
        "Alex saw them masked; the owner's clear view does not count"
    );
    item.person = "price list.txt".into();
    let document = vault.open_item_incident(&owner, &item).await.unwrap();
    assert_eq!(document.exposure.documents.len(), 1);
    assert!(document.exposure.customers.is_empty());

    // The ledger names the item, not a person, for the item's steps.
    let log = vault.ledger_log(&owner, None, None).await.unwrap();
    let opening = log
        .iter()
        .find(|(_, e)| e.reason.contains(&format!("incident {id}: opened")))
        .unwrap();
    assert_eq!(opening.1.target.id.kind().to_string(), "record_set");
}

#[tokio::test]
async fn item_incidents_sqlite() {
    item_incidents(false).await;
}

#[tokio::test]
async fn item_incidents_postgres() {
    item_incidents(true).await;
}
