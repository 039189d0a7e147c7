//! Incidents end to end at the vault, on SQLite and PostgreSQL: an
//! assistant's accesses, the exposure computed from the ledger, and
//! notices delivered to a real SMTP server on 127.0.0.1 (a small sink
//! written for the tests) exactly once each, through an outage and
//! through simulated crashes of the sender.

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use confidant_core::incident::Channel;
use confidant_core::{Access, DataCategory, Label, Role};
use confidant_vault::incidents::{
    IncidentRequest, NoticeStatus, SendOptions, SmtpSecurity, SmtpSettings, StopPoint,
};
use confidant_vault::{Actor, ColumnMapping, DocRef, GrantRequest, GrantTarget, Vault};
use time::{Duration, OffsetDateTime};

use crate::Setup;
use crate::grants::{member, sign_all};
use confidant_testkit::smtp::{Sink, closed_port};

fn mapping(columns: &[(&str, DataCategory)]) -> ColumnMapping {
    ColumnMapping {
        categories: columns.iter().map(|(n, c)| ((*n).into(), *c)).collect(),
        indexed: vec![],
        rows_are_customers: true,
        contact_column: Some("email".into()),
        label: Label::Internal,
    }
}

fn grant(target: GrantTarget, actions: &[Access]) -> GrantRequest {
    GrantRequest {
        target,
        actions: actions.iter().copied().collect(),
        purpose: "answer customer calls".into(),
        until: OffsetDateTime::now_utc() + Duration::days(7),
        require_passcode: false,
    }
}

fn records(set: &str, columns: &[&str]) -> GrantTarget {
    GrantTarget::Records {
        set: set.into(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows: None,
    }
}

/// The owner's data, and what the assistant does with it: customers Ann,
/// Bo and Cy viewed with their names in the clear (e-mail and card
/// masked), Ann's and Bo's cards revealed, Di and Ed never shown; leads
/// Lu and Max viewed fully masked; a document downloaded.
pub(crate) async fn scenario(vault: &Vault) -> (Actor, Actor) {
    let owner = vault.owner().await.unwrap();
    let customers = "name,email,card,notes\n\
        Ann Lee,ann@example.net,4111111111111111,likes mornings\n\
        Bo Chan,bo@example.net,5500000000000004,\n\
        Cy Diaz,cy@example.net,4012888888881881,\n\
        Di Ek,di@example.net,4222222222222,\n\
        Ed Fox,ed@example.net,378282246310005,\n";
    vault
        .import_records(
            &owner,
            "customers",
            std::io::Cursor::new(customers.as_bytes().to_vec()),
            mapping(&[
                ("name", DataCategory::Name),
                ("email", DataCategory::Email),
                ("card", DataCategory::CardNumber),
                ("notes", DataCategory::FreeText),
            ]),
        )
        .await
        .unwrap();
    let leads = "name,email,card\nLu Moss,lu@example.net,4111111111111111\nMax Ng,max@example.net,5500000000000004\n";
    vault
        .import_records(
            &owner,
            "leads",
            std::io::Cursor::new(leads.as_bytes().to_vec()),
            mapping(&[
                ("name", DataCategory::Name),
                ("email", DataCategory::Email),
                ("card", DataCategory::CardNumber),
            ]),
        )
        .await
        .unwrap();
    vault
        .add_document(&owner, "price list.txt", Label::Internal, &b"prices"[..])
        .await
        .unwrap();
    let alex = member(vault, "alex@example.com", Role::Assistant).await;
    for request in [
        grant(
            records("customers", &["name", "card"]),
            &[Access::View, Access::Reveal],
        ),
        grant(records("leads", &["card"]), &[Access::View]),
        grant(
            GrantTarget::Document(DocRef::Name("price list.txt".into())),
            &[Access::View, Access::Download],
        ),
    ] {
        vault
            .grant(&owner, "alex@example.com", &request)
            .await
            .unwrap();
    }
    sign_all(vault, &alex).await;
    let page = vault.show_records(&alex, "customers", 0, 3).await.unwrap();
    assert_eq!(page.rows.len(), 3);
    assert!(page.masked.contains(&"email".to_owned()));
    assert!(page.masked.contains(&"card".to_owned()));
    for row in &page.rows[..2] {
        let card = vault
            .reveal(&alex, "customers", row.id, "card")
            .await
            .unwrap();
        assert!(card.len() >= 13);
    }
    let leads = vault.show_records(&alex, "leads", 0, 10).await.unwrap();
    assert_eq!(leads.rows.len(), 2);
    crate::read(vault, &alex, "price list.txt").await.unwrap();
    (owner, alex)
}

fn since() -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::days(1)
}

pub(crate) fn request(offboard: bool) -> IncidentRequest {
    IncidentRequest {
        person: "alex@example.com".into(),
        since: since(),
        until: None,
        reason: "An assistant's laptop was stolen.".into(),
        aware_at: None,
        offboard,
    }
}

pub(crate) fn smtp(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "Test Business <privacy@business.example>".into(),
        timeout: StdDuration::from_secs(5),
        ca_file: None,
    }
}

/// The exposure in names, comparable across backends (ids are random).
type Summary = Vec<(
    String,
    String,
    Vec<DataCategory>,
    Vec<DataCategory>,
    Vec<Channel>,
)>;

async fn summary(vault: &Vault, owner: &Actor, id: &str) -> (Summary, usize) {
    let view = vault.incident(owner, id).await.unwrap();
    let mut out = Vec::new();
    for c in &view.customers {
        let set = c.set_name.clone().unwrap();
        let name = vault
            .show_records(owner, &set, 0, 100)
            .await
            .unwrap()
            .rows
            .into_iter()
            .find(|r| r.id == c.exposure.row)
            .unwrap()
            .values[0]
            .clone();
        out.push((
            set,
            name,
            c.exposure.clear.iter().copied().collect(),
            c.exposure.masked_only.iter().copied().collect(),
            c.exposure.channels.keys().copied().collect(),
        ));
    }
    out.sort();
    (out, view.documents.len())
}

async fn exposure_and_notices(postgres: bool) -> Option<(Summary, usize)> {
    let setup = Setup::new(postgres).await?;
    let vault = setup.open().await;
    let (owner, alex) = scenario(&vault).await;

    // Bad input changes nothing.
    let mut bad = request(true);
    bad.since = OffsetDateTime::now_utc() + Duration::days(1);
    assert!(vault.open_incident(&owner, &bad).await.is_err());
    let mut bad = request(true);
    bad.reason = "  ".into();
    assert!(vault.open_incident(&owner, &bad).await.is_err());
    assert!(vault.incidents(&owner).await.unwrap().is_empty());
    assert!(vault.open_incident(&alex, &request(false)).await.is_err());

    let opened = vault.open_incident(&owner, &request(true)).await.unwrap();
    assert!(opened.offboarded);
    assert!(
        vault.show_records(&alex, "customers", 0, 3).await.is_err(),
        "offboarded in the same step"
    );
    assert_eq!(opened.regulator_due - opened.aware_at, Duration::hours(72));
    let id = opened.id.to_string();
    let (summary, documents) = summary(&vault, &owner, &id).await;
    use DataCategory::*;
    let expected: Summary = vec![
        (
            "customers".into(),
            "Ann Lee".into(),
            vec![CardNumber, Name],
            vec![Email, FreeText],
            vec![Channel::ClearView, Channel::Revealed],
        ),
        (
            "customers".into(),
            "Bo Chan".into(),
            vec![CardNumber, Name],
            vec![Email, FreeText],
            vec![Channel::ClearView, Channel::Revealed],
        ),
        (
            "customers".into(),
            "Cy Diaz".into(),
            vec![Name],
            vec![Email, CardNumber, FreeText],
            vec![Channel::ClearView],
        ),
        (
            "leads".into(),
            "Lu Moss".into(),
            vec![],
            vec![Email, CardNumber, Name],
            vec![Channel::MaskedView],
        ),
        (
            "leads".into(),
            "Max Ng".into(),
            vec![],
            vec![Email, CardNumber, Name],
            vec![Channel::MaskedView],
        ),
    ];
    // masked_only is a set: compare as sets.
    let norm = |s: &Summary| -> Vec<_> {
        s.iter()
            .map(|(a, b, c, d, e)| {
                (
                    a.clone(),
                    b.clone(),
                    c.clone(),
                    d.iter().copied().collect::<BTreeSet<_>>(),
                    e.clone(),
                )
            })
            .collect()
    };
    assert_eq!(norm(&summary), norm(&expected));
    assert_eq!(documents, 1);
    assert_eq!(opened.timeline.len(), 2, "opened, offboarded");

    // The ledger has the incident's steps, without names or addresses.
    let log = vault.ledger_log(&owner, None, None).await.unwrap();
    let steps: Vec<_> = log
        .iter()
        .filter(|(_, e)| e.action.to_string() == "incident")
        .collect();
    assert_eq!(steps.len(), 2);
    for (_, e) in &log {
        for secret in ["Ann", "ann@example.net", "price list", "laptop"] {
            assert!(!e.reason.contains(secret), "{} in {:?}", secret, e.reason);
        }
    }

    // Preview: Ann, Bo and Cy, each with exactly their categories.
    let drafts = vault.preview_notices(&owner, &id).await.unwrap();
    let mut to: Vec<_> = drafts.iter().map(|d| d.to.clone().unwrap()).collect();
    to.sort();
    assert_eq!(to, ["ann@example.net", "bo@example.net", "cy@example.net"]);
    for d in &drafts {
        let want = if d.to.as_deref() == Some("cy@example.net") {
            "Your name. It was"
        } else {
            "Your payment card number and name. It was"
        };
        assert!(d.notice.body.contains(want), "{}", d.notice.body);
        assert!(d.notice.body.contains("An assistant's laptop was stolen."));
    }

    // Queue (twice: once), send while the SMTP server is down.
    assert_eq!(vault.queue_notices(&owner, &id).await.unwrap(), (3, 0));
    assert_eq!(vault.queue_notices(&owner, &id).await.unwrap(), (0, 0));
    let port = closed_port().await;
    let report = vault
        .send_notices(&owner, &id, &smtp(port), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed.len()), (0, 3));
    let notices = vault.notices(&owner, &id).await.unwrap();
    assert!(notices.iter().all(|n| n.status == NoticeStatus::Failed
        && n.attempts == 1
        && n.last_error.is_some()
        && n.next_attempt_at > OffsetDateTime::now_utc()));
    // Not due yet: nothing is tried.
    let report = vault
        .send_notices(&owner, &id, &smtp(port), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.sent, report.failed.len(), report.skipped),
        (0, 0, 3)
    );

    // The server comes back; the owner retries now.
    let sink = Sink::start(port).await;
    let retry = SendOptions {
        retry_now: true,
        ..SendOptions::default()
    };
    let report = vault
        .send_notices(&owner, &id, &smtp(port), &retry)
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed.len()), (3, 0));
    // And again: nothing more is sent.
    let report = vault
        .send_notices(&owner, &id, &smtp(port), &retry)
        .await
        .unwrap();
    assert_eq!(report.sent, 0);
    let received = sink.received();
    assert_eq!(received.len(), 3, "exactly one notice each");
    let mut rcpt: Vec<_> = received.iter().flat_map(|m| m.to.clone()).collect();
    rcpt.sort();
    assert_eq!(
        rcpt,
        ["ann@example.net", "bo@example.net", "cy@example.net"]
    );
    let notices = vault.notices(&owner, &id).await.unwrap();
    for m in &received {
        let body = m.body();
        let want = if m.to[0] == "cy@example.net" {
            "Your name. It was"
        } else {
            "Your payment card number and name. It was"
        };
        assert!(body.contains(want), "{body}");
        assert!(
            !body.contains("e-mail address and"),
            "masked categories are not named"
        );
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("Notice of Data Breach")
        );
        let mid = m.header("Message-ID").unwrap();
        assert!(
            notices
                .iter()
                .any(|n| mid == format!("<notice-{}@business.example>", n.id)),
            "{mid}"
        );
    }
    assert!(
        notices
            .iter()
            .all(|n| n.status == NoticeStatus::Sent && n.attempts == 2)
    );
    let view = vault.incident(&owner, &id).await.unwrap();
    assert!(view.timeline.iter().any(|s| s.kind == "notices sent"));
    Some((summary, documents))
}

#[tokio::test]
async fn exposure_and_notices_sqlite() {
    exposure_and_notices(false).await.unwrap();
}

#[tokio::test]
async fn exposure_and_notices_postgres() {
    exposure_and_notices(true).await;
}

/// Both backends give the same exposure for the same story.
#[tokio::test]
async fn exposure_is_identical_on_both_backends() {
    let sqlite = exposure_and_notices(false).await.unwrap();
    if let Some(postgres) = exposure_and_notices(true).await {
        assert_eq!(sqlite, postgres);
    }
}

/// A sender that stops (simulated: the vault's test hook returns at the
/// named point and leaves the store exactly as a killed process would)
/// never causes a second copy of a notice: a claim that was not handed to
/// the SMTP server is sent once after its lease; one that was handed over
/// is held as uncertain until the owner decides.
async fn crashes_never_double_send(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    let vault = setup.open().await;
    let (owner, _) = scenario(&vault).await;
    let sink = Sink::start(0).await;
    let settings = smtp(sink.port);

    // Crash after the server accepted the first notice.
    let first = vault.open_incident(&owner, &request(false)).await.unwrap();
    let id = first.id.to_string();
    vault.queue_notices(&owner, &id).await.unwrap();
    let crash = |stop| SendOptions {
        stop: Some(stop),
        ..SendOptions::default()
    };
    vault
        .send_notices(&owner, &id, &settings, &crash(StopPoint::AfterAccept))
        .await
        .unwrap();
    assert_eq!(sink.received().len(), 1);
    // A restarted sender within the lease leaves the claim alone.
    let report = vault
        .send_notices(&owner, &id, &settings, &SendOptions::default())
        .await
        .unwrap();
    assert_eq!((report.sent, report.uncertain), (2, 0));
    // After the lease: held as uncertain, not sent again.
    let expired = SendOptions {
        lease: Duration::ZERO,
        ..SendOptions::default()
    };
    let report = vault
        .send_notices(&owner, &id, &settings, &expired)
        .await
        .unwrap();
    assert_eq!((report.sent, report.uncertain), (0, 1));
    assert_eq!(sink.received().len(), 3);
    let mut rcpt: Vec<_> = sink.received().iter().map(|m| m.to[0].clone()).collect();
    rcpt.sort();
    rcpt.dedup();
    assert_eq!(rcpt.len(), 3, "one copy each");

    // Crash after claiming, before anything was handed over.
    let second = vault.open_incident(&owner, &request(false)).await.unwrap();
    let id2 = second.id.to_string();
    vault.queue_notices(&owner, &id2).await.unwrap();
    vault
        .send_notices(&owner, &id2, &settings, &crash(StopPoint::AfterClaim))
        .await
        .unwrap();
    assert_eq!(sink.received().len(), 3, "nothing sent by the crashed run");
    let report = vault
        .send_notices(&owner, &id2, &settings, &expired)
        .await
        .unwrap();
    assert_eq!((report.requeued, report.sent), (1, 3));
    let received = sink.received();
    assert_eq!(received.len(), 6);
    let ids: BTreeSet<_> = received
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "no notice twice");

    // The owner decides to send the uncertain one again: same Message-ID.
    let resend = SendOptions {
        resend_uncertain: true,
        ..SendOptions::default()
    };
    let report = vault
        .send_notices(&owner, &id, &settings, &resend)
        .await
        .unwrap();
    assert_eq!(report.sent, 1);
    let received = sink.received();
    assert_eq!(received.len(), 7);
    assert!(ids.contains(&received[6].header("Message-ID").unwrap()));
}

#[tokio::test]
async fn crashes_never_double_send_sqlite() {
    crashes_never_double_send(false).await;
}

#[tokio::test]
async fn crashes_never_double_send_postgres() {
    crashes_never_double_send(true).await;
}
