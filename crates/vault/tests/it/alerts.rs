//! Threshold alerts and the owner's daily digest, one schedule tick at a
//! time with a clock the test moves: alerts reach a real SMTP server (the
//! testkit's sink) and a real HTTP server on 127.0.0.1 (axum, spawned
//! here) that checks the HMAC-SHA256 signature; each fires once per rule,
//! person and window, and not below its threshold.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use confidant_core::{Label, Role};
use confidant_ledger::Entry;
use confidant_store::RunStatus;
use confidant_testkit::smtp::{Sink, closed_port};
use confidant_vault::alerts::{AlertRules, AlertSettings, Burst, Rule, Webhook, WorkingHours};
use confidant_vault::schedule::{Job, ScheduleSettings};
use confidant_vault::{Actor, VaultError};
use secrecy::SecretString;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::schedule::{TestEdge, smtp};

/// What the webhook server received: headers and body of each POST.
type Posts = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A webhook receiver on 127.0.0.1 that answers `status`.
async fn receiver(status: StatusCode) -> (String, Posts) {
    let posts: Posts = Arc::default();
    let seen = posts.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((headers, body.to_vec()));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), posts)
}

/// The signature check a receiver does, with aws-lc-rs's HMAC directly.
fn signed_by(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(header) = headers
        .get("x-confidant-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(tag) = header
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    aws_lc_rs::hmac::verify(&key, body, &tag).is_ok()
}

fn no_rules() -> AlertRules {
    AlertRules {
        bulk_rows: None,
        bulk_factor: None,
        bulk_min_rows: 0,
        baseline_hours: 168,
        working_hours: None,
        denials: None,
        wrong_passcodes: None,
    }
}

fn settings(port: u16, rules: AlertRules, webhook: Option<&str>) -> ScheduleSettings {
    ScheduleSettings {
        smtp: Some(smtp(port)),
        alerts: AlertSettings {
            enabled: true,
            rules,
            email: true,
            webhook: webhook.map(|url| Webhook {
                url: url.to_owned(),
                secret: SecretString::from("whsec-test-secret"),
                timeout: std::time::Duration::from_secs(5),
            }),
        },
        ..ScheduleSettings::default()
    }
}

struct World {
    w: crate::gates::World,
    alex: Actor,
}

/// A workspace (UTC, days ending 18:00) with an Internal customers set
/// (one row) and an assistant who signed everything and holds a grant.
async fn world(at: OffsetDateTime) -> World {
    let w = crate::gates::world(at, Label::Internal).await;
    let alex = w
        .member("alex@example.com", "Alex Doe", Role::Assistant)
        .await;
    w.sign_all(&alex).await;
    w.grant("alex@example.com").await;
    World { w, alex }
}

impl World {
    async fn tick(&self, at: OffsetDateTime, settings: &ScheduleSettings) -> Vec<(Job, bool)> {
        self.w.clock.set(at);
        self.w
            .vault
            .run_schedule(settings, &TestEdge::default())
            .await
            .unwrap()
            .runs
            .into_iter()
            .map(|r| (r.job, r.result.is_ok()))
            .collect()
    }

    async fn view(&self, at: OffsetDateTime) -> Result<usize, VaultError> {
        self.w.clock.set(at);
        self.w
            .vault
            .show_records(&self.alex, "customers", 0, 10)
            .await
            .map(|p| p.rows.len())
    }

    async fn wrong_passcode(&self, at: OffsetDateTime) {
        self.w.clock.set(at);
        assert!(self.w.enter(&self.alex, "000000").await.is_err());
    }

    async fn ledger(&self) -> Vec<Entry> {
        self.w
            .vault
            .ledger_leaves(&self.w.owner)
            .await
            .unwrap()
            .iter()
            .map(|leaf| Entry::from_leaf(leaf).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn wrong_passcodes_alert_the_owner_by_mail_and_a_signed_webhook_once() {
    let w = world(datetime!(2026-11-30 09:00 UTC)).await;
    let sink = Sink::start(0).await;
    let (url, posts) = receiver(StatusCode::OK).await;
    let rules = AlertRules {
        wrong_passcodes: Some(Burst {
            count: 3,
            within: Duration::minutes(15),
        }),
        ..no_rules()
    };
    let settings = settings(sink.port, rules, Some(&url));

    // Two wrong passcodes: below the threshold, nothing.
    w.wrong_passcode(datetime!(2026-11-30 10:00 UTC)).await;
    w.wrong_passcode(datetime!(2026-11-30 10:01 UTC)).await;
    assert!(
        w.tick(datetime!(2026-11-30 10:02 UTC), &settings)
            .await
            .is_empty()
    );
    assert!(sink.received().is_empty());
    assert!(posts.lock().unwrap().is_empty());

    // The third within 15 minutes: one alert, e-mailed and posted.
    w.wrong_passcode(datetime!(2026-11-30 10:03 UTC)).await;
    let runs = w.tick(datetime!(2026-11-30 10:04 UTC), &settings).await;
    assert_eq!(
        runs,
        [
            (Job::Alert, true),
            (Job::AlertMail, true),
            (Job::AlertHook, true)
        ]
    );
    let mails = sink.received();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["owner@example.com"]);
    let body = mails[0].body();
    assert!(
        body.contains("alex@example.com entered 3 wrong day passcodes"),
        "{body}"
    );
    let posted = posts.lock().unwrap().clone();
    assert_eq!(posted.len(), 1);
    let (headers, bytes) = &posted[0];
    assert!(
        signed_by("whsec-test-secret", headers, bytes),
        "{headers:?}"
    );
    assert!(!signed_by("another secret", headers, bytes));
    let json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(json["schema"], "confidant.alert.v1");
    assert_eq!(json["rule"], "wrong_passcodes");
    assert_eq!(json["person"], w.alex.person.to_string());
    assert_eq!(json["person_email"], "alex@example.com");
    assert_eq!(json["count"], 3);
    assert_eq!(json["threshold"], 3);
    assert_eq!(json["workspace"], w.w.vault.workspace().to_string());
    assert_eq!(headers["x-confidant-event"], "alert");

    // Later ticks, and a fourth wrong passcode in the same window, do not
    // send it again.
    w.wrong_passcode(datetime!(2026-11-30 10:05 UTC)).await;
    assert!(
        w.tick(datetime!(2026-11-30 10:06 UTC), &settings)
            .await
            .is_empty()
    );
    assert!(
        w.tick(datetime!(2026-11-30 10:30 UTC), &settings)
            .await
            .is_empty()
    );
    assert_eq!(sink.received().len(), 1);
    assert_eq!(posts.lock().unwrap().len(), 1);

    // The owner's page lists it with its deliveries.
    let alerts = w.w.vault.alerts(&w.w.owner, 10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, Rule::WrongPasscodes);
    assert_eq!(alerts[0].email.as_deref(), Some("alex@example.com"));
    assert_eq!(alerts[0].mail, Some(RunStatus::Done));
    assert_eq!(alerts[0].hook, Some(RunStatus::Done));
    assert!(
        alerts[0].summary.contains("3 wrong passcodes"),
        "{}",
        alerts[0].summary
    );
    // An assistant may not see them.
    assert!(matches!(
        w.w.vault.alerts(&w.alex, 10).await,
        Err(VaultError::Forbidden(_))
    ));

    // The ledger records the alert in ids and counts: no address.
    let ledger = w.ledger().await;
    let recorded: Vec<&Entry> = ledger
        .iter()
        .filter(|e| e.reason.starts_with("scheduled alert"))
        .collect();
    assert_eq!(recorded.len(), 3, "the alert, its e-mail, its webhook");
    for e in recorded {
        assert!(!e.reason.contains('@'), "{}", e.reason);
        assert!(
            e.reason.contains(&w.alex.person.to_string()),
            "{}",
            e.reason
        );
    }
}

#[tokio::test]
async fn a_failed_webhook_is_tried_again_and_delivered_once() {
    let w = world(datetime!(2026-11-30 09:00 UTC)).await;
    let sink = Sink::start(0).await;
    let (url, posts) = receiver(StatusCode::SERVICE_UNAVAILABLE).await;
    let rules = AlertRules {
        wrong_passcodes: Some(Burst {
            count: 2,
            within: Duration::minutes(10),
        }),
        ..no_rules()
    };
    let failing = settings(sink.port, rules.clone(), Some(&url));
    w.wrong_passcode(datetime!(2026-11-30 10:00 UTC)).await;
    w.wrong_passcode(datetime!(2026-11-30 10:01 UTC)).await;
    let runs = w.tick(datetime!(2026-11-30 10:02 UTC), &failing).await;
    assert_eq!(
        runs,
        [
            (Job::Alert, true),
            (Job::AlertMail, true),
            (Job::AlertHook, false)
        ]
    );
    assert_eq!(posts.lock().unwrap().len(), 1, "tried once");
    // Before its backoff: not again.
    assert!(
        w.tick(datetime!(2026-11-30 10:02:30 UTC), &failing)
            .await
            .is_empty()
    );
    // The receiver is back (another one, at another address, for the test).
    let (url, good) = receiver(StatusCode::NO_CONTENT).await;
    let working = settings(sink.port, rules, Some(&url));
    let runs = w.tick(datetime!(2026-11-30 10:04 UTC), &working).await;
    assert_eq!(runs, [(Job::AlertHook, true)]);
    assert_eq!(good.lock().unwrap().len(), 1);
    assert!(
        w.tick(datetime!(2026-11-30 10:10 UTC), &working)
            .await
            .is_empty()
    );
    assert_eq!(good.lock().unwrap().len(), 1);
    assert_eq!(sink.received().len(), 1, "the e-mail went once");
    let alerts = w.w.vault.alerts(&w.w.owner, 10).await.unwrap();
    assert_eq!(alerts[0].hook, Some(RunStatus::Done));
}

#[tokio::test]
async fn bulk_access_and_off_hours_alert_above_their_thresholds_only() {
    let w = world(datetime!(2026-11-30 09:00 UTC)).await;
    let sink = Sink::start(0).await;
    let rules = AlertRules {
        bulk_rows: Some(3),
        working_hours: Some(WorkingHours {
            start: 8 * 60,
            end: 18 * 60,
            days: [true, true, true, true, true, false, false],
        }),
        ..no_rules()
    };
    let settings = settings(sink.port, rules, None);
    // Three rows in the hour, inside working hours: nothing.
    for minute in [0, 10, 20] {
        assert_eq!(
            w.view(datetime!(2026-11-30 10:00 UTC) + Duration::minutes(minute))
                .await
                .unwrap(),
            1
        );
    }
    assert!(
        w.tick(datetime!(2026-11-30 10:30 UTC), &settings)
            .await
            .is_empty()
    );
    // A fourth: bulk access.
    w.view(datetime!(2026-11-30 10:40 UTC)).await.unwrap();
    let runs = w.tick(datetime!(2026-11-30 10:41 UTC), &settings).await;
    assert_eq!(runs, [(Job::Alert, true), (Job::AlertMail, true)]);
    let mails = sink.received();
    assert!(
        mails[0]
            .body()
            .contains("alex@example.com opened 4 rows in the hour 2026-11-30T10:00Z"),
        "{}",
        mails[0].body()
    );
    // The next hour starts again from zero.
    w.view(datetime!(2026-11-30 11:00 UTC)).await.unwrap();
    assert!(
        w.tick(datetime!(2026-11-30 11:01 UTC), &settings)
            .await
            .is_empty()
    );

    // 17:59 is inside the working hours; 18:00 is not.
    w.view(datetime!(2026-11-30 17:59 UTC)).await.unwrap();
    assert!(
        w.tick(datetime!(2026-11-30 17:59:30 UTC), &settings)
            .await
            .is_empty()
    );
    let _ = w.view(datetime!(2026-11-30 18:00 UTC)).await;
    let runs = w.tick(datetime!(2026-11-30 18:01 UTC), &settings).await;
    assert_eq!(runs, [(Job::Alert, true), (Job::AlertMail, true)]);
    let _ = w.view(datetime!(2026-11-30 18:30 UTC)).await;
    assert!(
        w.tick(datetime!(2026-11-30 18:31 UTC), &settings)
            .await
            .is_empty()
    );
    assert_eq!(sink.received().len(), 2);
    let rules: Vec<Rule> =
        w.w.vault
            .alerts(&w.w.owner, 10)
            .await
            .unwrap()
            .iter()
            .map(|a| a.rule)
            .collect();
    assert_eq!(rules, [Rule::OffHours, Rule::BulkAccess]);
}

#[tokio::test]
async fn the_owner_gets_the_days_digest_once_after_the_day_ends() {
    let w = world(datetime!(2026-11-30 09:00 UTC)).await;
    let sink = Sink::start(0).await;
    let settings = ScheduleSettings {
        smtp: Some(smtp(sink.port)),
        digest: true,
        ..ScheduleSettings::default()
    };
    w.view(datetime!(2026-11-30 10:00 UTC)).await.unwrap();
    w.view(datetime!(2026-11-30 11:00 UTC)).await.unwrap();
    w.wrong_passcode(datetime!(2026-11-30 12:00 UTC)).await;
    // The next day's access belongs to the next digest.
    w.view(datetime!(2026-11-30 18:00 UTC)).await.unwrap_or(0);

    let digest =
        w.w.vault
            .access_digest(&w.w.owner, Some("2026-11-30"))
            .await
            .unwrap();
    assert_eq!(
        (digest.previous.as_str(), digest.next.as_str()),
        ("2026-11-29", "2026-12-01")
    );
    assert_eq!(digest.people.len(), 2, "{digest:?}");
    let alex = digest
        .people
        .iter()
        .find(|p| p.person == Some(w.alex.person))
        .unwrap();
    assert_eq!(alex.email, "alex@example.com");
    assert_eq!(
        (alex.opened, alex.rows, alex.items, alex.denied),
        (2, 2, 1, 1)
    );
    assert_eq!(alex.categories.get("name"), Some(&2));
    assert!(matches!(
        w.w.vault
            .access_digest(&w.w.owner, Some("30.11.2026"))
            .await,
        Err(VaultError::InvalidInput(_))
    ));
    assert!(matches!(
        w.w.vault.access_digest(&w.alex, None).await,
        Err(VaultError::Forbidden(_))
    ));

    // Before the day ends, nothing; after, one e-mail, once.
    // (17:59: the day that ended last is the 29th, whose digest goes now.)
    let runs = w.tick(datetime!(2026-11-30 17:59 UTC), &settings).await;
    assert_eq!(runs, [(Job::AccessDigest, true)]);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0]
            .header("Subject")
            .unwrap()
            .contains("access digest for 2026-11-29")
    );
    assert!(
        received[0].body().contains("Nobody used"),
        "{}",
        received[0].body()
    );
    let runs = w.tick(datetime!(2026-11-30 18:05 UTC), &settings).await;
    assert!(runs.contains(&(Job::AccessDigest, true)), "{runs:?}");
    w.tick(datetime!(2026-11-30 18:06 UTC), &settings).await;
    let digests: Vec<_> = sink
        .received()
        .into_iter()
        .filter(|m| {
            m.header("Subject")
                .unwrap()
                .contains("access digest for 2026-11-30")
        })
        .collect();
    assert_eq!(digests.len(), 1);
    let body = digests[0].body();
    assert!(body.contains("alex@example.com"), "{body}");
    assert!(body.contains("opened 2 times: 2 rows in 1 items"), "{body}");
    assert!(body.contains("refused 1 times: passcode use 1"), "{body}");
    let ledger = w.ledger().await;
    let run = ledger
        .iter()
        .find(|e| {
            e.reason
                .starts_with("scheduled access_digest for 2026-11-30")
        })
        .unwrap();
    assert!(!run.reason.contains('@'), "{}", run.reason);
}

#[tokio::test]
async fn alerts_that_cannot_be_mailed_are_still_listed() {
    let w = world(datetime!(2026-11-30 09:00 UTC)).await;
    let port = closed_port().await;
    let rules = AlertRules {
        wrong_passcodes: Some(Burst {
            count: 1,
            within: Duration::minutes(15),
        }),
        ..no_rules()
    };
    let settings = settings(port, rules, None);
    w.wrong_passcode(datetime!(2026-11-30 10:00 UTC)).await;
    let runs = w.tick(datetime!(2026-11-30 10:01 UTC), &settings).await;
    assert_eq!(runs, [(Job::Alert, true), (Job::AlertMail, false)]);
    let alerts = w.w.vault.alerts(&w.w.owner, 10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].mail, Some(RunStatus::Failed));
    assert_eq!(alerts[0].hook, None);
}
