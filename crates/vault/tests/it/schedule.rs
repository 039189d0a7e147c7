//! What `serve` does on its own schedule, one tick at a time with a clock
//! the test moves and real SMTP delivery to the testkit's sink: the next
//! day's passcodes and their digest (once per day, retried after a failed
//! delivery with the undelivered passcodes revoked), the alert about a
//! locked grant, the daily checkpoint, the backup hook, and the ledger
//! entries, which name no address and no passcode.

use std::sync::Mutex;
use std::time::Duration as StdDuration;

use confidant_core::{Label, Role};
use confidant_ledger::Entry;
use confidant_store::RunStatus;
use confidant_testkit::smtp::{Sink, closed_port};
use confidant_vault::incidents::{SmtpSecurity, SmtpSettings};
use confidant_vault::schedule::{
    Job, PasscodeDelivery, RunOutcome, ScheduleEdge, ScheduleSettings, TickReport,
};
use confidant_vault::{Actor, VaultError};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The edge of a test: records what the hook got and counts backups.
#[derive(Default)]
pub(crate) struct TestEdge {
    pub(crate) hooked: Mutex<Vec<(String, String)>>,
    pub(crate) backups: Mutex<u32>,
    pub(crate) hook_fails: Mutex<bool>,
}

impl ScheduleEdge for TestEdge {
    fn passcode_hook<'a>(
        &'a self,
        subject: &'a str,
        digest: &'a SecretString,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if *self.hook_fails.lock().unwrap() {
                return Err("the hook exited with status 1".into());
            }
            self.hooked
                .lock()
                .unwrap()
                .push((subject.to_owned(), digest.expose_secret().to_owned()));
            Ok(())
        })
    }

    fn backup(&self) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            *self.backups.lock().unwrap() += 1;
            Ok("backup made, 0 pruned".into())
        })
    }
}

pub(crate) fn smtp(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "Acme Dental <confidant@acme.example>".into(),
        timeout: StdDuration::from_secs(5),
        ca_file: None,
    }
}

struct World {
    w: crate::gates::World,
    alex: Actor,
    grant: confidant_core::GrantId,
}

impl std::ops::Deref for World {
    type Target = crate::gates::World;
    fn deref(&self) -> &Self::Target {
        &self.w
    }
}

/// A workspace (UTC, days ending 18:00) with a Confidential customers set
/// and an assistant who signed everything and holds a grant on it.
async fn world(at: OffsetDateTime) -> World {
    let w = crate::gates::world(at, Label::Confidential).await;
    let alex = w
        .member("alex@example.com", "Alex Doe", Role::Assistant)
        .await;
    w.sign_all(&alex).await;
    let grant = w.grant("alex@example.com").await;
    World { w, alex, grant }
}

impl World {
    async fn tick(
        &self,
        at: OffsetDateTime,
        settings: &ScheduleSettings,
        edge: &TestEdge,
    ) -> TickReport {
        self.clock.set(at);
        self.vault.run_schedule(settings, edge).await.unwrap()
    }

    async fn enter(&self, passcode: &str) -> Result<OffsetDateTime, VaultError> {
        self.w.enter(&self.alex, passcode).await
    }

    async fn ledger(&self) -> Vec<Entry> {
        self.vault
            .ledger_leaves(&self.owner)
            .await
            .unwrap()
            .iter()
            .map(|leaf| Entry::from_leaf(leaf).unwrap())
            .collect()
    }
}

fn emailed(port: u16) -> ScheduleSettings {
    ScheduleSettings {
        smtp: Some(smtp(port)),
        passcodes: PasscodeDelivery::Email,
        passcode_lead: Duration::minutes(60),
        lock_alerts: true,
        ..ScheduleSettings::default()
    }
}

/// The passcodes in a digest, in order.
fn passcodes_in(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.trim().strip_prefix("passcode: "))
        .map(str::to_owned)
        .collect()
}

fn jobs(report: &TickReport) -> Vec<(Job, String, bool)> {
    report
        .runs
        .iter()
        .map(
            |RunOutcome {
                 job,
                 period,
                 result,
             }| (*job, period.clone(), result.is_ok()),
        )
        .collect()
}

#[tokio::test]
async fn tomorrows_passcodes_are_issued_before_the_day_ends_and_mailed_once() {
    let w = world(datetime!(2026-11-30 15:00 UTC)).await;
    let sink = Sink::start(0).await;
    let settings = emailed(sink.port);
    let edge = TestEdge::default();

    // Before the last hour of the day: nothing.
    let report = w
        .tick(datetime!(2026-11-30 16:59 UTC), &settings, &edge)
        .await;
    assert!(report.runs.is_empty(), "{report:?}");
    assert!(sink.received().is_empty());

    // In it: tomorrow's passcodes, one digest to the owner.
    let report = w
        .tick(datetime!(2026-11-30 17:10 UTC), &settings, &edge)
        .await;
    assert_eq!(
        jobs(&report),
        [(Job::PasscodeDigest, "2026-12-01".to_owned(), true)]
    );
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["owner@example.com"]);
    let body = received[0].body();
    assert!(body.contains("alex@example.com"), "{body}");
    assert!(body.contains("customers"), "{body}");
    let codes = passcodes_in(&body);
    assert_eq!(codes.len(), 1, "{body}");
    let subject = received[0].header("Subject").unwrap();
    assert!(subject.contains("2026-12-01"), "{subject}");

    // Later ticks never send it again.
    w.tick(datetime!(2026-11-30 17:11 UTC), &settings, &edge)
        .await;
    w.tick(datetime!(2026-11-30 17:59 UTC), &settings, &edge)
        .await;
    assert_eq!(sink.received().len(), 1);
    let run = w.vault.schedule_runs(&w.owner, 10).await.unwrap();
    assert_eq!(run[0].status, RunStatus::Done);
    assert_eq!(run[0].attempts, 1);

    // Today it does not open anything yet; tomorrow it does, until 18:00.
    assert!(w.enter(&codes[0]).await.is_err());
    w.clock.set(datetime!(2026-12-01 09:00 UTC));
    assert_eq!(
        w.enter(&codes[0]).await.unwrap(),
        datetime!(2026-12-01 18:00 UTC)
    );
    let page = w
        .vault
        .show_records(&w.alex, "customers", 0, 10)
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 1);

    // And the next evening, the next day's.
    w.tick(datetime!(2026-12-01 17:30 UTC), &settings, &edge)
        .await;
    let received = sink.received();
    assert_eq!(received.len(), 2);
    assert!(
        received[1]
            .header("Subject")
            .unwrap()
            .contains("2026-12-02")
    );
    let next = passcodes_in(&received[1].body());
    assert_eq!(next.len(), 1);
    assert_ne!(next[0], codes[0], "a new passcode each day");

    // The ledger says what ran, in ids and counts: no address, no passcode.
    let ledger = w.ledger().await;
    let runs: Vec<&Entry> = ledger
        .iter()
        .filter(|e| e.reason.starts_with("scheduled passcode_digest"))
        .collect();
    assert_eq!(runs.len(), 2);
    assert!(
        runs[0].reason.contains("1 passcodes issued and delivered"),
        "{}",
        runs[0].reason
    );
    for e in ledger.iter().filter(|e| e.reason.starts_with("scheduled")) {
        assert!(!e.reason.contains('@'), "{}", e.reason);
        assert!(!e.reason.contains(&codes[0]) && !e.reason.contains(&next[0]));
    }
    // The default agreements confidant published on its own are entries too.
    let published: Vec<&Entry> = ledger
        .iter()
        .filter(|e| e.reason.starts_with("published by confidant"))
        .collect();
    assert_eq!(
        published.len(),
        2,
        "the NDA and the handbook for assistants"
    );
    assert!(published.iter().all(|e| e.actor.is_none()));
}

#[tokio::test]
async fn an_undelivered_digest_is_revoked_and_sent_later_exactly_once() {
    let w = world(datetime!(2026-11-30 15:00 UTC)).await;
    let port = closed_port().await;
    let settings = emailed(port);
    let edge = TestEdge::default();

    // The mail server is down: the run fails, and the passcodes nobody saw
    // are revoked.
    let report = w
        .tick(datetime!(2026-11-30 17:05 UTC), &settings, &edge)
        .await;
    assert_eq!(
        jobs(&report),
        [(Job::PasscodeDigest, "2026-12-01".to_owned(), false)]
    );
    let states = w.vault.passcode_states(&w.owner).await.unwrap();
    assert!(
        !states[0].next_issued,
        "the undelivered passcode is revoked"
    );
    let run = &w.vault.schedule_runs(&w.owner, 1).await.unwrap()[0];
    assert_eq!(run.status, RunStatus::Failed);

    // Back up: not before the backoff (a minute), then once.
    let sink = Sink::start(port).await;
    let report = w
        .tick(datetime!(2026-11-30 17:05:30 UTC), &settings, &edge)
        .await;
    assert!(report.runs.is_empty());
    let report = w
        .tick(datetime!(2026-11-30 17:06 UTC), &settings, &edge)
        .await;
    assert_eq!(
        jobs(&report),
        [(Job::PasscodeDigest, "2026-12-01".to_owned(), true)]
    );
    w.tick(datetime!(2026-11-30 17:30 UTC), &settings, &edge)
        .await;
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let codes = passcodes_in(&received[0].body());
    assert_eq!(codes.len(), 1);
    assert!(
        received[0].body().contains("replaces any earlier one"),
        "a second try says the first one's passcodes are void"
    );
    assert!(w.vault.passcode_states(&w.owner).await.unwrap()[0].next_issued);
    let run = &w.vault.schedule_runs(&w.owner, 1).await.unwrap()[0];
    assert_eq!((run.status, run.attempts), (RunStatus::Done, 2));
    w.clock.set(datetime!(2026-12-01 08:00 UTC));
    w.enter(&codes[0]).await.unwrap();

    // The failure is in the ledger without the error (it may name an
    // address).
    let failed: Vec<Entry> = w
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.reason.contains("failed (attempt 1)"))
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(!failed[0].reason.contains("127.0.0.1"));
}

#[tokio::test]
async fn without_smtp_or_opt_in_the_passcodes_are_left_to_the_owner() {
    let w = world(datetime!(2026-11-30 17:30 UTC)).await;
    let sink = Sink::start(0).await;
    let edge = TestEdge::default();
    // SMTP configured, but e-mailing passcodes not chosen.
    let settings = ScheduleSettings {
        passcodes: PasscodeDelivery::Off,
        ..emailed(sink.port)
    };
    let report = w
        .tick(datetime!(2026-11-30 17:30 UTC), &settings, &edge)
        .await;
    assert!(report.runs.is_empty());
    // Chosen, without SMTP.
    let settings = ScheduleSettings {
        smtp: None,
        ..emailed(sink.port)
    };
    let report = w
        .tick(datetime!(2026-11-30 17:31 UTC), &settings, &edge)
        .await;
    assert!(report.runs.is_empty());
    assert!(sink.received().is_empty());
    assert!(!w.vault.passcode_states(&w.owner).await.unwrap()[0].next_issued);
}

#[tokio::test]
async fn the_hook_gets_the_digest_on_its_own() {
    let w = world(datetime!(2026-11-30 17:30 UTC)).await;
    let edge = TestEdge::default();
    let settings = ScheduleSettings {
        passcodes: PasscodeDelivery::Hook,
        passcode_lead: Duration::minutes(30),
        ..ScheduleSettings::default()
    };
    *edge.hook_fails.lock().unwrap() = true;
    let report = w
        .tick(datetime!(2026-11-30 17:30 UTC), &settings, &edge)
        .await;
    assert!(!jobs(&report)[0].2, "the hook failed");
    *edge.hook_fails.lock().unwrap() = false;
    w.tick(datetime!(2026-11-30 17:31 UTC), &settings, &edge)
        .await;
    w.tick(datetime!(2026-11-30 17:45 UTC), &settings, &edge)
        .await;
    let hooked = edge.hooked.lock().unwrap().clone();
    assert_eq!(hooked.len(), 1);
    assert!(hooked[0].0.contains("2026-12-01"));
    let codes = passcodes_in(&hooked[0].1);
    assert_eq!(codes.len(), 1);
    w.clock.set(datetime!(2026-12-01 10:00 UTC));
    w.enter(&codes[0]).await.unwrap();
}

#[tokio::test]
async fn a_locked_grant_alerts_the_owner_once_a_day() {
    let w = world(datetime!(2026-11-30 09:00 UTC)).await;
    let sink = Sink::start(0).await;
    let settings = emailed(sink.port);
    let edge = TestEdge::default();
    w.vault
        .issue_passcode(&w.owner, w.grant, None)
        .await
        .unwrap();
    for _ in 0..4 {
        assert!(w.enter("AAAA-AAAA-AAAA").await.is_err());
    }
    let report = w
        .tick(datetime!(2026-11-30 09:01 UTC), &settings, &edge)
        .await;
    assert!(report.runs.is_empty(), "four wrong tries lock nothing");
    assert!(matches!(
        w.enter("AAAA-AAAA-AAAA").await,
        Err(VaultError::RateLimited { .. })
    ));
    let report = w
        .tick(datetime!(2026-11-30 09:02 UTC), &settings, &edge)
        .await;
    assert_eq!(report.runs.len(), 1);
    assert_eq!(report.runs[0].job, Job::LockAlert);
    w.tick(datetime!(2026-11-30 09:03 UTC), &settings, &edge)
        .await;
    let received = sink.received();
    assert_eq!(received.len(), 1, "one alert per grant and day");
    assert_eq!(received[0].to, ["owner@example.com"]);
    let body = received[0].body();
    assert!(
        body.contains("alex@example.com") && body.contains("locked"),
        "{body}"
    );
    assert!(body.contains(&w.grant.to_string()));
    // The next day the lock is over: no alert.
    w.tick(datetime!(2026-12-01 09:00 UTC), &settings, &edge)
        .await;
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn after_the_day_ends_the_checkpoint_is_mailed_and_the_backup_taken_once() {
    let w = world(datetime!(2026-11-30 15:00 UTC)).await;
    let sink = Sink::start(0).await;
    let settings = ScheduleSettings {
        checkpoint_to: Some("offsite@example.net".into()),
        backup: true,
        ..emailed(sink.port)
    };
    let edge = TestEdge::default();
    // 17:30: yesterday's (the first tick of a new server catches up) and
    // tomorrow's passcodes.
    let report = w
        .tick(datetime!(2026-11-30 17:30 UTC), &settings, &edge)
        .await;
    let mut ran = jobs(&report);
    ran.sort_by_key(|(j, _, _)| j.as_str());
    assert_eq!(
        ran,
        [
            (Job::Backup, "2026-11-29".to_owned(), true),
            (Job::CheckpointMail, "2026-11-29".to_owned(), true),
            (Job::PasscodeDigest, "2026-12-01".to_owned(), true),
        ]
    );
    // 18:05: the 30th is over.
    let report = w
        .tick(datetime!(2026-11-30 18:05 UTC), &settings, &edge)
        .await;
    let mut ran = jobs(&report);
    ran.sort_by_key(|(j, _, _)| j.as_str());
    assert_eq!(
        ran,
        [
            (Job::Backup, "2026-11-30".to_owned(), true),
            (Job::CheckpointMail, "2026-11-30".to_owned(), true),
        ]
    );
    w.tick(datetime!(2026-11-30 18:06 UTC), &settings, &edge)
        .await;
    w.tick(datetime!(2026-12-01 03:00 UTC), &settings, &edge)
        .await;
    assert_eq!(*edge.backups.lock().unwrap(), 2);
    let checkpoints: Vec<_> = sink
        .received()
        .into_iter()
        .filter(|m| m.to == ["offsite@example.net"])
        .collect();
    assert_eq!(checkpoints.len(), 2);
    let body = checkpoints[1].body();
    let key = w.vault.ledger_verifier_key().unwrap();
    assert!(body.contains(&key), "{body}");
    let note = w.vault.latest_checkpoint(&w.owner).await.unwrap().unwrap();
    let origin = note.lines().next().unwrap();
    assert!(body.contains(origin), "{body}");
    let subject = checkpoints[1].header("Subject").unwrap();
    assert!(
        subject.contains("2026-11-30") && subject.contains("entries"),
        "{subject}"
    );
    let ledger = w.ledger().await;
    assert!(ledger.iter().any(|e| {
        e.reason
            .starts_with("scheduled backup for 2026-11-30: backup made")
    }));
}

#[tokio::test]
async fn kept_passcodes_never_travel_by_mail_and_are_shown_once() {
    let w = world(datetime!(2026-11-30 15:00 UTC)).await;
    let sink = Sink::start(0).await;
    let settings = ScheduleSettings {
        passcodes: PasscodeDelivery::Notify,
        ..emailed(sink.port)
    };
    let edge = TestEdge::default();
    assert_eq!(
        w.vault
            .take_passcode_digest(&w.owner)
            .await
            .unwrap()
            .map(|d| d.0),
        None
    );
    let report = w
        .tick(datetime!(2026-11-30 17:15 UTC), &settings, &edge)
        .await;
    assert_eq!(
        jobs(&report),
        [(Job::PasscodeDigest, "2026-12-01".to_owned(), true)]
    );
    w.tick(datetime!(2026-11-30 17:16 UTC), &settings, &edge)
        .await;
    // One e-mail, saying they are ready, without them.
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let note = received[0].body();
    assert!(
        note.contains("ready") && note.contains("holds none of them"),
        "{note}"
    );
    assert!(passcodes_in(&note).is_empty());

    // An assistant cannot take them; the owner can, once.
    assert!(w.vault.take_passcode_digest(&w.alex).await.is_err());
    let (day, kept) = w
        .vault
        .take_passcode_digest(&w.owner)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(day, "2026-12-01");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].grant, w.grant);
    assert_eq!(kept[0].email, "alex@example.com");
    assert_eq!(kept[0].valid_until, datetime!(2026-12-01 18:00 UTC));
    let code = kept[0].passcode.expose_secret().to_owned();
    assert!(!note.contains(&code));
    assert!(
        w.vault
            .take_passcode_digest(&w.owner)
            .await
            .unwrap()
            .is_none(),
        "once"
    );
    w.clock.set(datetime!(2026-12-01 09:00 UTC));
    w.enter(&code).await.unwrap();
    assert!(w.ledger().await.iter().any(|e| {
        e.reason
            .ends_with("the kept passcode digest for 2026-12-01 shown")
    }));
}
