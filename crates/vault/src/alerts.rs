//! Threshold alerts over the ledger: bulk access (more rows in an hour
//! than a fixed number, or than a multiple of the person's usual hour),
//! access outside working hours, repeated refusals and repeated wrong
//! passcodes. [`evaluate`] is the pure part: ledger entries in, alerts
//! out. `serve`'s schedule runs it every minute over the last hour or so
//! of the ledger ([`crate::schedule`]), claims each alert once per (rule,
//! subject, window) and delivers it by e-mail to the owner and/or to a
//! webhook, signed with HMAC-SHA256 (docs/ledger.md, "Alerts").
//!
//! Why on the schedule and not after each append: an append is on the
//! path of every response and must stay a durable write and nothing more
//! (fail closed, group commit); a minute's delay is fine for an alert, and
//! one evaluation per minute reads the recent entries once for every rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use confidant_core::{BusinessDay, PersonId};
use confidant_ledger::{Decision, Entry, KnownAction};

use sha2::Digest as _;

use crate::digest::{opens_data, rows_of};
use crate::incidents::{Mail, SmtpSettings, send_mail};
use crate::schedule::{Claim, Job, RunStatus, ScheduleSettings, TickReport};
use crate::{Actor, Vault, VaultError};

/// A rule that can raise an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// More rows opened in a clock hour than allowed or than usual.
    BulkAccess,
    /// Anything done outside the working hours.
    OffHours,
    /// Refused attempts in a short time (wrong passcodes aside).
    RepeatedDenials,
    /// Wrong day passcodes in a short time.
    WrongPasscodes,
}

impl Rule {
    pub const ALL: [Rule; 4] = [
        Rule::BulkAccess,
        Rule::OffHours,
        Rule::RepeatedDenials,
        Rule::WrongPasscodes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::BulkAccess => "bulk_access",
            Rule::OffHours => "off_hours",
            Rule::RepeatedDenials => "repeated_denials",
            Rule::WrongPasscodes => "wrong_passcodes",
        }
    }

    pub fn parse(text: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// `count` events within `within`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burst {
    pub count: u32,
    pub within: Duration,
}

/// Working hours in the workspace's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingHours {
    /// Minutes after local midnight: work starts at `start` (inclusive)
    /// and ends at `end` (exclusive); `end < start` spans midnight.
    pub start: u16,
    pub end: u16,
    /// Working days, Monday first.
    pub days: [bool; 7],
}

impl WorkingHours {
    /// Whether `at` is inside the working hours of `day`'s time zone.
    pub fn contains(&self, day: &BusinessDay, at: OffsetDateTime) -> bool {
        let minute = day.minute_of_day(at);
        let weekday = usize::from(day.weekday(at));
        let in_hours = if self.start <= self.end {
            minute >= self.start && minute < self.end
        } else {
            minute >= self.start || minute < self.end
        };
        in_hours && self.days.get(weekday).copied().unwrap_or(false)
    }

    /// `08:00-18:00 Mon-Fri`.
    pub fn text(&self) -> String {
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let days: Vec<&str> = NAMES
            .iter()
            .zip(self.days)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        format!(
            "{:02}:{:02}-{:02}:{:02} {}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60,
            days.join(",")
        )
    }
}

/// The thresholds; a rule set to `None` is off.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRules {
    /// Alert when a person opens more than this many rows in one clock
    /// hour (a document counts as one row).
    pub bulk_rows: Option<u64>,
    /// Alert when a person opens more than this multiple of their median
    /// hourly rows (over their active hours in `baseline_hours`)...
    pub bulk_factor: Option<f64>,
    /// ...and more than this many rows (a quiet person's median is small).
    pub bulk_min_rows: u64,
    /// How far back the usual hour is taken from (168: a week). A person
    /// with fewer than [`MIN_BASELINE_HOURS`] active hours there has no
    /// usual hour yet: only `bulk_rows` applies.
    pub baseline_hours: u32,
    pub working_hours: Option<WorkingHours>,
    pub denials: Option<Burst>,
    pub wrong_passcodes: Option<Burst>,
}

/// Active hours needed before a person's median counts.
pub const MIN_BASELINE_HOURS: usize = 3;

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            bulk_rows: Some(1000),
            bulk_factor: Some(10.0),
            bulk_min_rows: 100,
            baseline_hours: 168,
            working_hours: None,
            denials: Some(Burst {
                count: 10,
                within: Duration::minutes(10),
            }),
            wrong_passcodes: Some(Burst {
                count: 3,
                within: Duration::minutes(15),
            }),
        }
    }
}

impl AlertRules {
    /// No rule is on.
    pub fn is_off(&self) -> bool {
        self.bulk_rows.is_none()
            && self.bulk_factor.is_none()
            && self.working_hours.is_none()
            && self.denials.is_none()
            && self.wrong_passcodes.is_none()
    }

    /// How far back a tick reads the ledger: the previous clock hour (its
    /// last minutes may not have been evaluated) and twice the longest
    /// burst window.
    pub fn lookback(&self, now: OffsetDateTime) -> OffsetDateTime {
        let longest = [self.denials, self.wrong_passcodes]
            .into_iter()
            .flatten()
            .map(|b| b.within)
            .max()
            .unwrap_or(Duration::ZERO);
        (hour_of(now) - Duration::hours(1)).min(now - longest * 2)
    }

    /// One line per rule, for the owner's page and `serve`'s start-up.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (self.bulk_rows, self.bulk_factor) {
            (None, None) => out.push("bulk access: off".to_owned()),
            (rows, factor) => {
                let mut parts = Vec::new();
                if let Some(n) = rows {
                    parts.push(format!("more than {n} rows in an hour"));
                }
                if let Some(k) = factor {
                    parts.push(format!(
                        "more than {k} x the person's median hour of the last {} hours \
                         (and more than {} rows)",
                        self.baseline_hours, self.bulk_min_rows
                    ));
                }
                out.push(format!("bulk access: {}", parts.join(", or ")));
            }
        }
        out.push(match &self.working_hours {
            Some(h) => format!("outside working hours: anything done outside {}", h.text()),
            None => "outside working hours: off (no working hours set)".to_owned(),
        });
        out.push(match self.denials {
            Some(b) => format!(
                "repeated refusals: {} within {} minutes",
                b.count,
                b.within.whole_minutes()
            ),
            None => "repeated refusals: off".to_owned(),
        });
        out.push(match self.wrong_passcodes {
            Some(b) => format!(
                "wrong passcodes: {} within {} minutes",
                b.count,
                b.within.whole_minutes()
            ),
            None => "wrong passcodes: off".to_owned(),
        });
        out
    }
}

/// Where alerts go.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub url: String,
    /// The HMAC-SHA256 key of the `X-Confidant-Signature` header.
    pub secret: SecretString,
    pub timeout: std::time::Duration,
}

/// `[alerts]`: the rules and where alerts go.
#[derive(Clone, Debug)]
pub struct AlertSettings {
    pub enabled: bool,
    pub rules: AlertRules,
    /// E-mail the owner (needs SMTP).
    pub email: bool,
    pub webhook: Option<Webhook>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        // Off unless asked for: `serve` turns them on from `[alerts]`.
        AlertSettings {
            enabled: false,
            rules: AlertRules::default(),
            email: true,
            webhook: None,
        }
    }
}

/// Whom an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Person(PersonId),
    /// An attempt without a known person, by client address.
    Client(IpAddr),
    Unknown,
}

impl Subject {
    fn of(entry: &Entry) -> Subject {
        match (entry.actor, entry.client) {
            (Some(p), _) => Subject::Person(p),
            (None, Some(ip)) => Subject::Client(ip),
            (None, None) => Subject::Unknown,
        }
    }

    /// `person UUID`, `client ADDRESS` or `unknown`.
    pub fn key(&self) -> String {
        match self {
            Subject::Person(p) => format!("person {p}"),
            Subject::Client(ip) => format!("client {ip}"),
            Subject::Unknown => "unknown".to_owned(),
        }
    }
}

/// One alert: a rule crossed by a subject in a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub rule: Rule,
    pub subject: Subject,
    /// The window's name: an hour (`2026-11-30T14:00Z`), a local date
    /// (`2026-11-30`) or a burst's bucket; with the rule and subject, the
    /// alert's identity (it fires once per rule, subject and window).
    pub window: String,
    /// The first and last entry time counted.
    pub first: OffsetDateTime,
    pub last: OffsetDateTime,
    /// What was counted (rows, entries, refusals, wrong passcodes)...
    pub count: u64,
    /// ...and the threshold it crossed.
    pub threshold: u64,
}

impl Alert {
    /// The identity: `RULE SUBJECT WINDOW` (the schedule's period).
    pub fn key(&self) -> String {
        format!(
            "{} {} {}",
            self.rule.as_str(),
            self.subject.key(),
            self.window
        )
    }

    /// What happened, in ids and counts (the ledger's reason).
    pub fn summary(&self) -> String {
        let what = match self.rule {
            Rule::BulkAccess => format!(
                "{} rows opened in the hour {} (threshold {})",
                self.count, self.window, self.threshold
            ),
            Rule::OffHours => format!(
                "{} attempts outside working hours on {}",
                self.count, self.window
            ),
            Rule::RepeatedDenials => format!(
                "{} refused attempts within {} minutes (threshold {})",
                self.count,
                (self.last - self.first).whole_minutes() + 1,
                self.threshold
            ),
            Rule::WrongPasscodes => format!(
                "{} wrong passcodes within {} minutes (threshold {})",
                self.count,
                (self.last - self.first).whole_minutes() + 1,
                self.threshold
            ),
        };
        format!("{} by {}: {what}", self.rule.as_str(), self.subject.key())
    }

    /// The webhook body (schema `confidant.alert.v1`, docs/ledger.md).
    pub fn to_json(
        &self,
        workspace: confidant_core::WorkspaceId,
        email: Option<&str>,
        at: OffsetDateTime,
    ) -> serde_json::Value {
        let rfc = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        let (person, client) = match self.subject {
            Subject::Person(p) => (Some(p.to_string()), None),
            Subject::Client(ip) => (None, Some(ip.to_string())),
            Subject::Unknown => (None, None),
        };
        serde_json::json!({
            "schema": "confidant.alert.v1",
            "id": self.key(),
            "workspace": workspace.to_string(),
            "rule": self.rule.as_str(),
            "person": person,
            "person_email": email,
            "client": client,
            "window": self.window,
            "first": rfc(self.first),
            "last": rfc(self.last),
            "count": self.count,
            "threshold": self.threshold,
            "sent_at": rfc(at),
            "text": self.summary(),
        })
    }
}

/// The start of the UTC clock hour of `at`.
pub fn hour_of(at: OffsetDateTime) -> OffsetDateTime {
    let secs = at.unix_timestamp();
    OffsetDateTime::from_unix_timestamp(secs - secs.rem_euclid(3600)).unwrap_or(at)
}

fn hour_name(hour: OffsetDateTime) -> String {
    format!("{}T{:02}:00Z", hour.date(), hour.hour())
}

/// Rows each person (the owner aside) opened per UTC clock hour.
pub fn hourly_rows<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    owner: PersonId,
) -> BTreeMap<(PersonId, OffsetDateTime), (u64, OffsetDateTime, OffsetDateTime)> {
    let mut out: BTreeMap<(PersonId, OffsetDateTime), (u64, OffsetDateTime, OffsetDateTime)> =
        BTreeMap::new();
    for e in entries {
        let Some(person) = e.actor else { continue };
        if person == owner || e.decision != Decision::Allow || !opens_data(&e.action) {
            continue;
        }
        let at = e.time.to_datetime();
        let slot = out.entry((person, hour_of(at))).or_insert((0, at, at));
        slot.0 += rows_of(e);
        slot.1 = slot.1.min(at);
        slot.2 = slot.2.max(at);
    }
    out
}

/// The median of a person's active hours, when there are enough of them.
pub fn usual_hour(hours: &[u64]) -> Option<u64> {
    let mut active: Vec<u64> = hours.iter().copied().filter(|&n| n > 0).collect();
    if active.len() < MIN_BASELINE_HOURS {
        return None;
    }
    active.sort_unstable();
    let mid = active.len() / 2;
    Some(if active.len().is_multiple_of(2) {
        (active[mid - 1] + active[mid]).div_ceil(2)
    } else {
        active[mid]
    })
}

/// The alerts the entries raise. `usual` is each person's median hourly
/// rows (see [`usual_hour`]) for the factor rule; `owner` is left out of
/// the bulk and working-hours rules (the owner reaches everything).
pub fn evaluate(
    entries: &[Entry],
    rules: &AlertRules,
    day: &BusinessDay,
    owner: PersonId,
    usual: &HashMap<PersonId, u64>,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if rules.bulk_rows.is_some() || rules.bulk_factor.is_some() {
        for ((person, hour), (rows, first, last)) in hourly_rows(entries, owner) {
            let mut thresholds = Vec::new();
            if let Some(n) = rules.bulk_rows {
                thresholds.push(n);
            }
            if let (Some(k), Some(median)) = (rules.bulk_factor, usual.get(&person)) {
                let factor = (k * *median as f64).ceil();
                let factor = if factor.is_finite() && factor >= 0.0 {
                    factor as u64
                } else {
                    u64::MAX
                };
                thresholds.push(factor.max(rules.bulk_min_rows));
            }
            if let Some(&threshold) = thresholds.iter().min()
                && rows > threshold
            {
                alerts.push(Alert {
                    rule: Rule::BulkAccess,
                    subject: Subject::Person(person),
                    window: hour_name(hour),
                    first,
                    last,
                    count: rows,
                    threshold,
                });
            }
        }
    }
    if let Some(hours) = &rules.working_hours {
        let mut outside: BTreeMap<(PersonId, String), (u64, OffsetDateTime, OffsetDateTime)> =
            BTreeMap::new();
        for e in entries {
            let Some(person) = e.actor else { continue };
            let at = e.time.to_datetime();
            if person == owner || e.action == KnownAction::SignOut.into() || hours.contains(day, at)
            {
                continue;
            }
            let slot = outside
                .entry((person, day.local_date(at)))
                .or_insert((0, at, at));
            slot.0 += 1;
            slot.1 = slot.1.min(at);
            slot.2 = slot.2.max(at);
        }
        for ((person, date), (count, first, last)) in outside {
            alerts.push(Alert {
                rule: Rule::OffHours,
                subject: Subject::Person(person),
                window: date,
                first,
                last,
                count,
                threshold: 0,
            });
        }
    }
    let passcode = |e: &Entry| e.action == KnownAction::PasscodeUse.into();
    if let Some(burst) = rules.denials {
        alerts.extend(bursts(
            Rule::RepeatedDenials,
            entries
                .iter()
                .filter(|e| e.decision == Decision::Deny && !passcode(e)),
            burst,
        ));
    }
    if let Some(burst) = rules.wrong_passcodes {
        alerts.extend(bursts(
            Rule::WrongPasscodes,
            entries
                .iter()
                .filter(|e| e.decision == Decision::Deny && passcode(e)),
            burst,
        ));
    }
    alerts
}

/// Alerts when a subject has `burst.count` matching entries with less than
/// `burst.within` between the first and the last. The window is the
/// bucket of `within` (counted from the Unix epoch) the triggering entry
/// falls in, so a long run of refusals raises one alert per bucket.
fn bursts<'a>(rule: Rule, entries: impl Iterator<Item = &'a Entry>, burst: Burst) -> Vec<Alert> {
    let mut times: BTreeMap<Subject, Vec<OffsetDateTime>> = BTreeMap::new();
    for e in entries {
        times
            .entry(Subject::of(e))
            .or_default()
            .push(e.time.to_datetime());
    }
    let n = usize::try_from(burst.count).unwrap_or(usize::MAX).max(1);
    let bucket_secs = burst.within.whole_seconds().max(1);
    let mut out = Vec::new();
    for (subject, mut times) in times {
        times.sort_unstable();
        let mut fired = BTreeSet::new();
        for i in n.saturating_sub(1)..times.len() {
            let first = times[i + 1 - n];
            let last = times[i];
            if last - first >= burst.within {
                continue;
            }
            let bucket = last.unix_timestamp().div_euclid(bucket_secs);
            if !fired.insert(bucket) {
                continue;
            }
            // Everything in the burst's reach, for the count.
            let count = times[..=i]
                .iter()
                .filter(|&&t| last - t < burst.within)
                .count() as u64;
            let start = OffsetDateTime::from_unix_timestamp(bucket * bucket_secs).unwrap_or(last);
            out.push(Alert {
                rule,
                subject,
                window: format!(
                    "{}T{:02}:{:02}Z+{}m",
                    start.date(),
                    start.hour(),
                    start.minute(),
                    burst.within.whole_minutes()
                ),
                first,
                last,
                count,
                threshold: u64::from(burst.count),
            });
        }
    }
    out
}

/// The `X-Confidant-Signature` header value of a webhook body:
/// `sha256=` and the lowercase hex HMAC-SHA256 of the body's bytes.
pub fn signature(secret: &SecretString, body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        secret.expose_secret().as_bytes(),
    );
    format!(
        "sha256={}",
        hex::encode(aws_lc_rs::hmac::sign(&key, body).as_ref())
    )
}

/// POSTs an alert to the webhook; any 2xx answer is delivery.
pub(crate) async fn post_webhook(hook: &Webhook, body: Vec<u8>, id: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(hook.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let answer = client
        .post(&hook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Confidant-Event", "alert")
        .header("X-Confidant-Delivery", id)
        .header("X-Confidant-Signature", signature(&hook.secret, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("the alert webhook did not answer: {e}"))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the alert webhook answered {}", answer.status()))
    }
}

/// An alert as the owner's page lists it: its run and its deliveries.
#[derive(Clone, Debug)]
pub struct RaisedAlert {
    pub rule: Rule,
    /// `person UUID`, `client ADDRESS` or `unknown`.
    pub subject: String,
    /// The person's e-mail address, when the subject is a member.
    pub email: Option<String>,
    pub window: String,
    pub raised_at: OffsetDateTime,
    /// What happened, in ids and counts.
    pub summary: String,
    /// The e-mail and webhook deliveries: done, failed (with why), or not
    /// configured (`None`).
    pub mail: Option<RunStatus>,
    pub hook: Option<RunStatus>,
}

/// The identity of an alert's run, split back into its parts.
fn split_key(key: &str) -> Option<(Rule, String, String)> {
    let (rule, rest) = key.split_once(' ')?;
    let rule = Rule::parse(rule)?;
    let (subject, window) = match rest.strip_prefix("unknown ") {
        Some(window) => ("unknown".to_owned(), window.to_owned()),
        None => {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next()?;
            let id = parts.next()?;
            (format!("{kind} {id}"), parts.next()?.to_owned())
        }
    };
    Some((rule, subject, window))
}

impl Vault {
    /// One evaluation of the alert rules over the recent ledger, and the
    /// delivery of each new alert (or of one whose delivery failed and is
    /// due again). Part of [`Vault::run_schedule`].
    pub(crate) async fn run_alerts(
        &self,
        owner: &Actor,
        day: &BusinessDay,
        now: OffsetDateTime,
        settings: &ScheduleSettings,
        report: &mut TickReport,
    ) -> Result<(), VaultError> {
        let rules = &settings.alerts.rules;
        let since = rules.lookback(now);
        let entries: Vec<Entry> = self
            .ledger_between(since, now + Duration::minutes(1))
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        let usual = self.usual_hours(&entries, rules, owner.person, now).await?;
        let alerts = evaluate(&entries, rules, day, owner.person, &usual);
        if alerts.is_empty() {
            return Ok(());
        }
        let emails = self.emails_by_person().await?;
        for alert in alerts {
            let key = alert.key();
            if let Some(claim) = self.claim_run(Job::Alert, &key).await? {
                let outcome = self.finish_run(owner, claim, Ok(alert.summary())).await?;
                report.runs.push(outcome);
            }
            let email = match alert.subject {
                Subject::Person(p) => emails.get(&p).map(String::as_str),
                _ => None,
            };
            if settings.alerts.email
                && let Some(smtp) = &settings.smtp
                && let Some(claim) = self.claim_run(Job::AlertMail, &key).await?
            {
                let result = self.mail_alert(owner, &claim, smtp, &alert, email).await;
                report
                    .runs
                    .push(self.finish_run(owner, claim, result).await?);
            }
            if let Some(hook) = &settings.alerts.webhook
                && let Some(claim) = self.claim_run(Job::AlertHook, &key).await?
            {
                let body = alert.to_json(self.workspace(), email, now).to_string();
                let result = match self.handed(&claim).await {
                    Ok(()) => post_webhook(hook, body.into_bytes(), &key)
                        .await
                        .map(|()| format!("{} posted to the webhook", alert.rule.as_str())),
                    Err(e) => Err(e),
                };
                report
                    .runs
                    .push(self.finish_run(owner, claim, result).await?);
            }
        }
        Ok(())
    }

    /// The usual hour of each person who opened more than the factor
    /// rule's floor in an hour of `entries`: their median active hour over
    /// the baseline before it. Read only when someone is that busy, so a
    /// quiet minute costs nothing more.
    async fn usual_hours(
        &self,
        entries: &[Entry],
        rules: &AlertRules,
        owner: PersonId,
        now: OffsetDateTime,
    ) -> Result<HashMap<PersonId, u64>, VaultError> {
        let mut usual = HashMap::new();
        if rules.bulk_factor.is_none() {
            return Ok(usual);
        }
        let busy: BTreeSet<PersonId> = hourly_rows(entries, owner)
            .into_iter()
            .filter(|(_, (rows, _, _))| *rows > rules.bulk_min_rows)
            .map(|((p, _), _)| p)
            .collect();
        if busy.is_empty() {
            return Ok(usual);
        }
        // The baseline ends where the hours being judged begin.
        let end = hour_of(now) - Duration::hours(1);
        let start = end - Duration::hours(i64::from(rules.baseline_hours));
        let before: Vec<Entry> = self
            .ledger_between(start, end)
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        let mut hours: HashMap<PersonId, Vec<u64>> = HashMap::new();
        for ((person, _), (rows, _, _)) in hourly_rows(&before, owner) {
            if busy.contains(&person) {
                hours.entry(person).or_default().push(rows);
            }
        }
        for (person, rows) in hours {
            if let Some(median) = usual_hour(&rows) {
                usual.insert(person, median);
            }
        }
        Ok(usual)
    }

    async fn mail_alert(
        &self,
        owner: &Actor,
        claim: &Claim,
        smtp: &SmtpSettings,
        alert: &Alert,
        email: Option<&str>,
    ) -> Result<String, String> {
        let who = email.map_or_else(|| alert.subject.key(), str::to_owned);
        let what = match alert.rule {
            Rule::BulkAccess => format!(
                "{who} opened {} rows in the hour {} (UTC), more than the threshold of {}.",
                alert.count, alert.window, alert.threshold
            ),
            Rule::OffHours => format!(
                "{who} used the workspace outside working hours on {}: {} attempts, the first \
                 at {} UTC.",
                alert.window, alert.count, alert.first
            ),
            Rule::RepeatedDenials => format!(
                "{who} was refused {} times between {} and {} UTC (threshold {}).",
                alert.count, alert.first, alert.last, alert.threshold
            ),
            Rule::WrongPasscodes => format!(
                "{who} entered {} wrong day passcodes between {} and {} UTC (threshold {}).",
                alert.count, alert.first, alert.last, alert.threshold
            ),
        };
        let body = format!(
            "{what}\n\nIf that was not expected, look at the access record (Access record, \
             filtered by the person), end their grants or offboard them. This alert is sent \
             once for this rule, person and window.\n\nAlert {}\n",
            alert.key()
        );
        let id = hex::encode(&sha2::Sha256::digest(alert.key().as_bytes())[..16]);
        self.handed(claim).await?;
        send_mail(
            smtp,
            &Mail {
                to: owner.email.clone(),
                subject: format!(
                    "{}: alert, {}",
                    self.workspace_name(),
                    alert.rule.as_str().replace('_', " ")
                ),
                body: SecretString::from(body),
                message_id: format!("alert-{}-{id}", self.workspace()),
            },
        )
        .await?;
        Ok(format!("{} e-mailed to the owner", alert.rule.as_str()))
    }

    /// The alerts raised, newest first, with their deliveries (owner,
    /// admins and auditors).
    pub async fn alerts(
        &self,
        actor: &Actor,
        limit: usize,
    ) -> Result<Vec<RaisedAlert>, VaultError> {
        self.require_reader(actor, "see the alerts")?;
        let runs = self.store().schedule_runs(self.workspace(), 2_000).await?;
        let status = |job: Job, period: &str| {
            runs.iter()
                .find(|r| r.job == job.as_str() && r.period == period)
                .map(|r| r.status)
        };
        let emails: HashMap<String, String> = self
            .store()
            .people(self.workspace())
            .await?
            .into_iter()
            .map(|p| (format!("person {}", p.id), p.email))
            .collect();
        let mut out = Vec::new();
        for run in runs.iter().filter(|r| r.job == Job::Alert.as_str()) {
            let Some((rule, subject, window)) = split_key(&run.period) else {
                continue;
            };
            out.push(RaisedAlert {
                rule,
                email: emails.get(&subject).cloned(),
                subject,
                window,
                raised_at: run.claimed_at,
                summary: run.detail.clone().unwrap_or_default(),
                mail: status(Job::AlertMail, &run.period),
                hook: status(Job::AlertHook, &run.period),
            });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
