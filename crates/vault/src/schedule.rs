//! The work `confidant serve` does on its own schedule, driven by each
//! workspace's business day: before a day ends, the next day's passcodes
//! and their digest for the owner; after it ends, the latest signed
//! checkpoint e-mailed off the server and a backup; at any time, an alert
//! when a grant is locked after five wrong passcodes, and the incident
//! notices that are due.
//!
//! [`due_at`] is the pure part: what is due at an instant. The rest runs
//! one tick ([`Vault::run_schedule`]); the loop that calls it every minute
//! lives at the edge (the CLI's `serve`), with the things a vault does not
//! do itself behind [`ScheduleEdge`] (running the owner's hook command,
//! writing backup files).
//!
//! Each run of a job is claimed in the store for its period (the business
//! day it is for) before it starts and marked done after, so it happens
//! once per period across restarts and several server processes; a run
//! that failed (the mail server down) is tried again on a later tick with
//! backoff; a run that handed its message over and then stopped is never
//! repeated. Every outcome is a ledger entry with ids and counts only.

use futures::future::BoxFuture;
use rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use confidant_core::{BusinessDay, MAX_PASSCODE_FAILURES, WorkdayError};
use confidant_ledger::{KnownAction, Target, TargetId};
use confidant_store::{NoticeStatus, PasscodeScope};
pub use confidant_store::{RunStatus, ScheduleRun};

use crate::audit::Attempt;
use crate::incidents::{Mail, SendOptions, SmtpSettings, retry_backoff, send_mail};
use crate::{Actor, IssuedPasscode, Vault, VaultError};

/// A claim older than this belongs to a process that stopped.
const LEASE: Duration = Duration::minutes(5);

/// A job `serve` runs on its schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    /// The next business day's passcodes, and their digest for the owner.
    PasscodeDigest,
    /// The latest signed checkpoint, e-mailed to an address off the server.
    CheckpointMail,
    /// A backup of the whole server, then pruning.
    Backup,
    /// An alert to the owner about a grant locked after wrong passcodes.
    LockAlert,
    /// The owner's digest of a business day's accesses, e-mailed.
    AccessDigest,
    /// A threshold alert raised (recorded once per rule, subject, window).
    Alert,
    /// A threshold alert e-mailed to the owner.
    AlertMail,
    /// A threshold alert posted to the webhook.
    AlertHook,
}

impl Job {
    pub fn as_str(self) -> &'static str {
        match self {
            Job::PasscodeDigest => "passcode_digest",
            Job::CheckpointMail => "checkpoint_mail",
            Job::Backup => "backup",
            Job::LockAlert => "lock_alert",
            Job::AccessDigest => "access_digest",
            Job::Alert => "alert",
            Job::AlertMail => "alert_mail",
            Job::AlertHook => "alert_hook",
        }
    }

    fn action(self) -> KnownAction {
        match self {
            Job::Backup => KnownAction::Backup,
            _ => KnownAction::Notify,
        }
    }
}

/// Which of the day's jobs are turned on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub passcodes: bool,
    /// How long before the day's end the next day's passcodes are issued.
    pub passcode_lead: Duration,
    pub checkpoint: bool,
    pub backup: bool,
    /// The owner's access digest of the day that ended.
    pub digest: bool,
}

/// A job due at an instant, for a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub job: Job,
    /// The business day it is for, as its local date (`YYYY-MM-DD`).
    pub period: String,
}

/// The name of the business day ending at `end`: its local date (a day
/// ending at midnight is named after the date it covers).
fn day_name(day: &BusinessDay, end: OffsetDateTime) -> String {
    day.local_date(end - Duration::minutes(1))
}

/// What is due at `now`: the next day's passcodes from `passcode_lead`
/// before the day's end until the end (after it, "the next day" is another
/// day); the checkpoint and the backup of the day that ended last, from
/// its end until they are done.
pub fn due_at(
    now: OffsetDateTime,
    day: &BusinessDay,
    plan: &Plan,
) -> Result<Vec<Due>, WorkdayError> {
    let (start, end) = day.day_of(now)?;
    let mut due = Vec::new();
    if plan.passcodes && now >= end - plan.passcode_lead {
        let (_, next_end) = day.next_day(now)?;
        due.push(Due {
            job: Job::PasscodeDigest,
            period: day_name(day, next_end),
        });
    }
    let ended = day_name(day, start);
    if plan.checkpoint {
        due.push(Due {
            job: Job::CheckpointMail,
            period: ended.clone(),
        });
    }
    if plan.digest {
        due.push(Due {
            job: Job::AccessDigest,
            period: ended.clone(),
        });
    }
    if plan.backup {
        due.push(Due {
            job: Job::Backup,
            period: ended,
        });
    }
    Ok(due)
}

/// How the next day's passcodes reach the owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PasscodeDelivery {
    /// Not sent: the owner issues them on the Passcodes page or with
    /// `confidant passcodes rotate`, and they are shown there once.
    #[default]
    Off,
    /// E-mailed to the owner (an explicit opt-in: the passcodes travel in
    /// the clear unless the mail server and the owner's mailbox protect
    /// them).
    Email,
    /// Given to the owner's command on stdin (an SMS gateway, a password
    /// manager's import), see [`ScheduleEdge::passcode_hook`].
    Hook,
    /// Kept sealed for the owner's Passcodes page, shown there once; the
    /// e-mail (with SMTP) only says they are ready. The passcodes never
    /// leave the server but to the signed-in owner.
    Notify,
}

/// What `serve` does on its schedule.
#[derive(Clone, Debug, Default)]
pub struct ScheduleSettings {
    pub smtp: Option<SmtpSettings>,
    pub passcodes: PasscodeDelivery,
    pub passcode_lead: Duration,
    /// E-mail the owner when a grant is locked for the day (needs SMTP).
    pub lock_alerts: bool,
    /// Where the daily checkpoint goes (needs SMTP).
    pub checkpoint_to: Option<String>,
    /// Send the incident notices that are due (needs SMTP).
    pub notices: bool,
    /// Take the daily backup (only one workspace of a server asks for it:
    /// a backup holds every workspace).
    pub backup: bool,
    /// E-mail the owner the access digest of each business day (needs SMTP).
    pub digest: bool,
    /// Threshold alerts over the ledger (`[alerts]`).
    pub alerts: crate::alerts::AlertSettings,
}

impl ScheduleSettings {
    /// The day's jobs that can actually run with these settings.
    pub fn plan(&self) -> Plan {
        let smtp = self.smtp.is_some();
        Plan {
            passcodes: match self.passcodes {
                PasscodeDelivery::Off => false,
                PasscodeDelivery::Email => smtp,
                PasscodeDelivery::Hook | PasscodeDelivery::Notify => true,
            },
            passcode_lead: self.passcode_lead,
            checkpoint: smtp && self.checkpoint_to.is_some(),
            backup: self.backup,
            digest: smtp && self.digest,
        }
    }

    /// The sentence the Passcodes page shows about automatic delivery.
    pub fn passcode_delivery_text(&self, day: &BusinessDay) -> String {
        let lead = self.passcode_lead.whole_minutes();
        match (&self.passcodes, self.plan().passcodes) {
            (PasscodeDelivery::Email, true) => format!(
                "The next business day's passcodes are issued {lead} minutes before the day ends \
                 ({} {}) and e-mailed to you as a digest.",
                day.ends_at_text(),
                day.time_zone()
            ),
            (PasscodeDelivery::Hook, _) => format!(
                "The next business day's passcodes are issued {lead} minutes before the day ends \
                 ({} {}) and given to your passcode hook command.",
                day.ends_at_text(),
                day.time_zone()
            ),
            (PasscodeDelivery::Notify, _) => format!(
                "The next business day's passcodes are issued {lead} minutes before the day ends \
                 ({} {}) and kept here for you, sealed, to be shown once{}.",
                day.ends_at_text(),
                day.time_zone(),
                if self.smtp.is_some() {
                    "; you get an e-mail (without them) when they are ready"
                } else {
                    ": open this page before the day ends"
                }
            ),
            (PasscodeDelivery::Email, false) => "Passcodes are set to be e-mailed, but no SMTP \
                 server is configured ([smtp] in confidant.toml): issue them here."
                .to_owned(),
            (PasscodeDelivery::Off, _) => "Passcodes are not sent automatically: issue \
                 tomorrow's here or with `confidant passcodes rotate`, or set [schedule] \
                 passcodes = \"email\" (with [smtp]) or \"hook\" in confidant.toml."
                .to_owned(),
        }
    }
}

/// What the schedule asks of the process that runs it.
pub trait ScheduleEdge: Send + Sync {
    /// Gives the passcode digest to the owner's hook command.
    fn passcode_hook<'a>(
        &'a self,
        subject: &'a str,
        digest: &'a SecretString,
    ) -> BoxFuture<'a, Result<(), String>>;
    /// Takes the daily backup and prunes old ones; returns what it did, in
    /// ids and counts.
    fn backup(&self) -> BoxFuture<'_, Result<String, String>>;
}

/// One run of a job in a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub job: Job,
    pub period: String,
    /// What was done (counts), or why it failed.
    pub result: Result<String, String>,
}

/// What a tick did (the runs it claimed; jobs done before or claimed
/// elsewhere are not listed).
#[derive(Clone, Debug, Default)]
pub struct TickReport {
    pub runs: Vec<RunOutcome>,
    /// Incident notices sent and failed this tick.
    pub notices_sent: u64,
    pub notices_failed: u64,
}

/// One passcode of a digest kept for the owner's page (sealed as JSON).
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptPasscode {
    id: String,
    grant: String,
    email: String,
    item: String,
    passcode: String,
    valid_from: i64,
    valid_until: i64,
}

pub(crate) struct Claim {
    pub(crate) job: Job,
    pub(crate) period: String,
    token: String,
}

/// The text of the passcode digest (secret: it holds the passcodes).
pub fn passcode_digest_text(business: &str, day: &str, issued: &[IssuedPasscode]) -> SecretString {
    let mut text = format!(
        "Day passcodes of {business} for the business day {day}\n\n\
         Pass each one on to its person by another channel than e-mail (a call, a text \
         message). They work from the start of that day until its end; confidant keeps only \
         a hash, so this is the only copy. Delete this message once they are passed on.\n\n"
    );
    for i in issued {
        text.push_str(&format!(
            "{}\n  {}\n  passcode: {}\n  grant {}\n\n",
            i.email,
            i.item,
            i.passcode.expose_secret(),
            i.grant
        ));
    }
    text.push_str(&format!("{} passcodes.\n", issued.len()));
    SecretString::from(text)
}

impl Vault {
    /// Runs one tick of the schedule as the workspace's owner: the jobs due
    /// now, each at most once per period. A job's failure is reported and
    /// tried again on a later tick; it does not stop the others.
    pub async fn run_schedule(
        &self,
        settings: &ScheduleSettings,
        edge: &dyn ScheduleEdge,
    ) -> Result<TickReport, VaultError> {
        let owner = self.owner().await?;
        let now = self.inner.clock.now();
        let day = self.business_day().await?;
        let mut report = TickReport::default();
        let due =
            due_at(now, &day, &settings.plan()).map_err(|e| VaultError::Internal(e.to_string()))?;
        for due in due {
            let Some(claim) = self.claim_run(due.job, &due.period).await? else {
                continue;
            };
            let result = match due.job {
                Job::PasscodeDigest => self.passcode_digest(&owner, &claim, settings, edge).await,
                Job::CheckpointMail => self.checkpoint_mail(&owner, &claim, settings).await,
                Job::Backup => edge.backup().await,
                Job::AccessDigest => self.digest_mail(&owner, &claim, settings).await,
                Job::LockAlert | Job::Alert | Job::AlertMail | Job::AlertHook => {
                    Err("not a daily job".to_owned())
                }
            };
            report
                .runs
                .push(self.finish_run(&owner, claim, result).await?);
        }
        if settings.lock_alerts && settings.smtp.is_some() {
            self.lock_alerts(&owner, &day, now, settings, &mut report)
                .await?;
        }
        if settings.alerts.enabled && !settings.alerts.rules.is_off() {
            self.run_alerts(&owner, &day, now, settings, &mut report)
                .await?;
        }
        if settings.notices
            && let Some(smtp) = &settings.smtp
        {
            self.drain_notices(&owner, smtp, now, &mut report).await?;
        }
        Ok(report)
    }

    /// The latest runs of the schedule (owner and admins).
    pub async fn schedule_runs(
        &self,
        actor: &Actor,
        limit: u32,
    ) -> Result<Vec<ScheduleRun>, VaultError> {
        self.require_owner(actor, "see the schedule")?;
        Ok(self.store().schedule_runs(self.workspace(), limit).await?)
    }

    pub(crate) async fn claim_run(
        &self,
        job: Job,
        period: &str,
    ) -> Result<Option<Claim>, VaultError> {
        let mut token = [0u8; 16];
        OsRng.fill_bytes(&mut token);
        let token = hex::encode(token);
        let now = self.inner.clock.now();
        let claimed = self
            .store()
            .claim_run(
                self.workspace(),
                job.as_str(),
                period,
                &token,
                now,
                now - LEASE,
            )
            .await?;
        Ok(claimed.then(|| Claim {
            job,
            period: period.to_owned(),
            token,
        }))
    }

    pub(crate) async fn handed(&self, claim: &Claim) -> Result<(), String> {
        self.store()
            .run_handed(
                self.workspace(),
                claim.job.as_str(),
                &claim.period,
                &claim.token,
                self.inner.clock.now(),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Records a run's outcome in the store and the ledger.
    pub(crate) async fn finish_run(
        &self,
        owner: &Actor,
        claim: Claim,
        result: Result<String, String>,
    ) -> Result<RunOutcome, VaultError> {
        let ws = self.workspace();
        let job = claim.job.as_str();
        let now = self.inner.clock.now();
        let mut attempt = Attempt::allowed(
            owner,
            claim.job.action(),
            Target::whole(TargetId::Workspace(ws)),
        );
        match &result {
            Ok(detail) => {
                attempt.reason = format!("scheduled {job} for {}: {detail}", claim.period);
                self.record(&[attempt]).await?;
                self.store()
                    .run_done(ws, job, &claim.period, &claim.token, now, detail)
                    .await?;
            }
            Err(error) => {
                let attempts = self
                    .store()
                    .schedule_run(ws, job, &claim.period)
                    .await?
                    .map_or(1, |r| r.attempts);
                let retry_at = now + retry_backoff(attempts);
                // The error may name an address: it stays in the store,
                // the plaintext ledger gets the attempt count only.
                attempt.reason = format!(
                    "scheduled {job} for {} failed (attempt {attempts}); tried again from {}",
                    claim.period,
                    retry_at.unix_timestamp()
                );
                self.record(&[attempt]).await?;
                self.store()
                    .run_failed(ws, job, &claim.period, &claim.token, error, retry_at)
                    .await?;
            }
        }
        Ok(RunOutcome {
            job: claim.job,
            period: claim.period,
            result,
        })
    }

    /// Issues the next business day's passcodes and delivers their digest;
    /// when the delivery fails, the passcodes just issued are revoked (no
    /// one has seen them) and the next try issues new ones.
    async fn passcode_digest(
        &self,
        owner: &Actor,
        claim: &Claim,
        settings: &ScheduleSettings,
        edge: &dyn ScheduleEdge,
    ) -> Result<String, String> {
        let issued = self
            .rotate_passcodes(owner)
            .await
            .map_err(|e| e.to_string())?;
        if issued.is_empty() {
            return Ok("no grant needs a new passcode; nothing sent".to_owned());
        }
        if settings.passcodes == PasscodeDelivery::Notify {
            return self.keep_digest(owner, claim, settings, &issued).await;
        }
        let subject = format!(
            "{}: day passcodes for {}",
            self.workspace_name(),
            claim.period
        );
        let mut body = passcode_digest_text(self.workspace_name(), &claim.period, &issued);
        let attempts = self
            .store()
            .schedule_run(self.workspace(), claim.job.as_str(), &claim.period)
            .await
            .map_err(|e| e.to_string())?
            .map_or(1, |r| r.attempts);
        if attempts > 1 {
            // An earlier try may have arrived after all (a timeout after the
            // mail server took it): its passcodes were revoked.
            body = SecretString::from(format!(
                "This digest replaces any earlier one for {}: the passcodes in an earlier one \
                 no longer work.\n\n{}",
                claim.period,
                body.expose_secret()
            ));
        }
        let delivered = match (&settings.passcodes, &settings.smtp) {
            (crate::schedule::PasscodeDelivery::Hook, _) => {
                self.handed(claim).await?;
                edge.passcode_hook(&subject, &body).await
            }
            (crate::schedule::PasscodeDelivery::Email, Some(smtp)) => {
                self.handed(claim).await?;
                send_mail(
                    smtp,
                    &Mail {
                        to: owner.email.clone(),
                        subject,
                        body,
                        // Each try carries other passcodes: its own id, so
                        // that no mail client drops it as a duplicate.
                        message_id: format!(
                            "passcodes-{}-{}-{}",
                            self.workspace(),
                            claim.period,
                            claim.token
                        ),
                    },
                )
                .await
            }
            _ => Err("no way to deliver the passcodes is configured".to_owned()),
        };
        match delivered {
            Ok(()) => Ok(format!(
                "{} passcodes issued and delivered to the owner ({})",
                issued.len(),
                match settings.passcodes {
                    PasscodeDelivery::Hook => "hook",
                    _ => "e-mail",
                }
            )),
            Err(e) => {
                let now = self.inner.clock.now();
                for i in &issued {
                    if let Err(revoke) = self
                        .store()
                        .revoke_passcodes(self.workspace(), PasscodeScope::One(i.id), now)
                        .await
                    {
                        return Err(format!(
                            "{e}; and a passcode that was not delivered could not be revoked: \
                             {revoke}"
                        ));
                    }
                }
                Err(e)
            }
        }
    }

    /// Seals the digest into the run for the owner's page and, with SMTP,
    /// tells the owner it is ready (the message holds no passcode). The
    /// passcodes are safe whatever the mail does, so a failed notice is
    /// reported in the run's detail, not retried.
    async fn keep_digest(
        &self,
        owner: &Actor,
        claim: &Claim,
        settings: &ScheduleSettings,
        issued: &[IssuedPasscode],
    ) -> Result<String, String> {
        let mut rows: Vec<KeptPasscode> = issued
            .iter()
            .map(|i| KeptPasscode {
                id: i.id.to_string(),
                grant: i.grant.to_string(),
                email: i.email.clone(),
                item: i.item.clone(),
                passcode: i.passcode.expose_secret().to_owned(),
                valid_from: i.valid_from.unix_timestamp(),
                valid_until: i.valid_until.unix_timestamp(),
            })
            .collect();
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(&rows).map_err(|e| format!("cannot write the digest: {e}"))?,
        );
        for row in &mut rows {
            zeroize::Zeroize::zeroize(&mut row.passcode);
        }
        // Sealed to its workspace and day: a blob moved to another run
        // does not open.
        let sealed = self
            .seal_small(
                &[
                    self.workspace().as_bytes(),
                    b"passcode-digest",
                    claim.period.as_bytes(),
                ],
                &json,
            )
            .map_err(|e| e.to_string())?;
        let kept = self
            .store()
            .seal_run(
                self.workspace(),
                claim.job.as_str(),
                &claim.period,
                &claim.token,
                &sealed,
            )
            .await
            .map_err(|e| e.to_string())?;
        if !kept {
            return Err("the run was taken over by another process".to_owned());
        }
        let kept = format!(
            "{} passcodes issued and kept sealed for the owner's Passcodes page",
            issued.len()
        );
        let Some(smtp) = &settings.smtp else {
            return Ok(kept);
        };
        let body = format!(
            "The day passcodes of {} for the business day {} are ready: {} of them. Sign in and \
             open Passcodes to see them; they are shown once, then only their hashes are kept. \
             This message holds none of them.",
            self.workspace_name(),
            claim.period,
            issued.len()
        );
        let sent = send_mail(
            smtp,
            &Mail {
                to: owner.email.clone(),
                subject: format!(
                    "{}: day passcodes for {} are ready",
                    self.workspace_name(),
                    claim.period
                ),
                body: SecretString::from(body),
                message_id: format!("passcodes-ready-{}-{}", self.workspace(), claim.period),
            },
        )
        .await;
        Ok(match sent {
            Ok(()) => format!("{kept}; the owner was told by e-mail"),
            Err(_) => format!("{kept}; the e-mail telling the owner failed"),
        })
    }

    /// The passcodes the schedule kept sealed for the owner's page, taken
    /// away as they are returned: a second call gets none (owner and
    /// admins). Returns the business day they are for, and the passcodes.
    pub async fn take_passcode_digest(
        &self,
        actor: &Actor,
    ) -> Result<Option<(String, Vec<IssuedPasscode>)>, VaultError> {
        self.require_owner(actor, "see the kept passcodes")?;
        let ws = self.workspace();
        let job = Job::PasscodeDigest.as_str();
        let runs = self.store().schedule_runs(ws, 50).await?;
        let Some(run) = runs.iter().find(|r| r.job == job && r.sealed) else {
            return Ok(None);
        };
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::Notify,
            Target::whole(TargetId::Workspace(ws)),
        );
        attempt.reason = format!(
            "{}: the kept passcode digest for {} shown",
            attempt.reason, run.period
        );
        self.record(&[attempt]).await?;
        let Some(sealed) = self.store().take_sealed(ws, job, &run.period).await? else {
            return Ok(None);
        };
        let json = zeroize::Zeroizing::new(self.open_small(
            "a kept passcode digest",
            &[ws.as_bytes(), b"passcode-digest", run.period.as_bytes()],
            &sealed,
        )?);
        let rows: Vec<KeptPasscode> = serde_json::from_slice(&json)
            .map_err(|_| VaultError::Integrity("a kept passcode digest is not readable".into()))?;
        let bad = || VaultError::Integrity("a kept passcode digest is damaged".into());
        let issued = rows
            .into_iter()
            .map(|mut r| {
                Ok(IssuedPasscode {
                    id: r.id.parse().map_err(|_| bad())?,
                    grant: r.grant.parse().map_err(|_| bad())?,
                    email: r.email,
                    item: r.item,
                    passcode: SecretString::from(std::mem::take(&mut r.passcode)),
                    valid_from: OffsetDateTime::from_unix_timestamp(r.valid_from)
                        .map_err(|_| bad())?,
                    valid_until: OffsetDateTime::from_unix_timestamp(r.valid_until)
                        .map_err(|_| bad())?,
                })
            })
            .collect::<Result<Vec<_>, VaultError>>()?;
        Ok(Some((run.period.clone(), issued)))
    }

    /// E-mails the latest signed checkpoint and the key that verifies it.
    async fn checkpoint_mail(
        &self,
        owner: &Actor,
        claim: &Claim,
        settings: &ScheduleSettings,
    ) -> Result<String, String> {
        let (Some(smtp), Some(to)) = (&settings.smtp, &settings.checkpoint_to) else {
            return Err("no SMTP server or no checkpoint address is configured".to_owned());
        };
        let note = self
            .latest_checkpoint(owner)
            .await
            .map_err(|e| e.to_string())?;
        let Some(note) = note else {
            return Ok("the ledger has no checkpoint yet; nothing sent".to_owned());
        };
        let key = self.ledger_verifier_key().map_err(|e| e.to_string())?;
        let size = note.lines().nth(1).unwrap_or("?").to_owned();
        let body = format!(
            "The signed checkpoint of the access ledger of {} at the end of the business day \
             {}. Keep this message: with it, `confidant audit verify --since-checkpoint FILE` \
             (FILE holding the note below, from its first line to the signature line) proves \
             that the ledger still extends it, so history before it cannot have been rewritten.\n\n\
             Verifier key: {key}\n\n{note}",
            self.workspace_name(),
            claim.period
        );
        self.handed(claim).await?;
        send_mail(
            smtp,
            &Mail {
                to: to.clone(),
                subject: format!(
                    "{}: ledger checkpoint {} ({size} entries)",
                    self.workspace_name(),
                    claim.period
                ),
                body: SecretString::from(body),
                message_id: format!("checkpoint-{}-{}", self.workspace(), claim.period),
            },
        )
        .await?;
        Ok(format!("checkpoint of {size} entries e-mailed"))
    }

    /// E-mails the owner the access digest of the business day that ended.
    async fn digest_mail(
        &self,
        owner: &Actor,
        claim: &Claim,
        settings: &ScheduleSettings,
    ) -> Result<String, String> {
        let Some(smtp) = &settings.smtp else {
            return Err("no SMTP server is configured".to_owned());
        };
        let digest = self
            .access_digest(owner, Some(&claim.period))
            .await
            .map_err(|e| e.to_string())?;
        let body = digest.to_text(self.workspace_name());
        self.handed(claim).await?;
        send_mail(
            smtp,
            &Mail {
                to: owner.email.clone(),
                subject: format!(
                    "{}: access digest for {} ({} people)",
                    self.workspace_name(),
                    claim.period,
                    digest.people.len()
                ),
                body: SecretString::from(body),
                message_id: format!("digest-{}-{}", self.workspace(), claim.period),
            },
        )
        .await?;
        let opened: u64 = digest.people.iter().map(|p| p.opened).sum();
        let denied: u64 = digest.people.iter().map(|p| p.denied).sum();
        Ok(format!(
            "digest of {} people ({opened} opened, {denied} refused) e-mailed to the owner",
            digest.people.len()
        ))
    }

    /// E-mails the owner once per grant and day about a grant locked after
    /// five wrong passcodes.
    async fn lock_alerts(
        &self,
        owner: &Actor,
        day: &BusinessDay,
        now: OffsetDateTime,
        settings: &ScheduleSettings,
        report: &mut TickReport,
    ) -> Result<(), VaultError> {
        let Some(smtp) = &settings.smtp else {
            return Ok(());
        };
        let end = day
            .day_end_after(now)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        let name = day_name(day, end);
        for grant in self
            .store()
            .locked_grants(self.workspace(), end, MAX_PASSCODE_FAILURES)
            .await?
        {
            let period = format!("{name} grant {grant}");
            let Some(claim) = self.claim_run(Job::LockAlert, &period).await? else {
                continue;
            };
            let result = async {
                let view = self
                    .grant_by_id(owner, grant)
                    .await
                    .map_err(|e| e.to_string())?;
                let body = format!(
                    "Five wrong passcodes were entered for the grant of {} on {} (grant {grant}). \
                     It is locked for the rest of the business day {name}, until {} {}.\n\n\
                     If that was not {}, end the grant or offboard the person; if it was, issue \
                     a new passcode on the Passcodes page. Every try is in the access record \
                     (passcode_use).",
                    view.person_email,
                    view.item,
                    day.ends_at_text(),
                    day.time_zone(),
                    view.person_email,
                );
                self.handed(&claim).await?;
                send_mail(
                    smtp,
                    &Mail {
                        to: owner.email.clone(),
                        subject: format!(
                            "{}: a passcode is locked after five wrong tries",
                            self.workspace_name()
                        ),
                        body: SecretString::from(body),
                        message_id: format!("lock-{}-{grant}-{name}", self.workspace()),
                    },
                )
                .await?;
                Ok(format!("grant {grant} locked: the owner was alerted"))
            }
            .await;
            report
                .runs
                .push(self.finish_run(owner, claim, result).await?);
        }
        Ok(())
    }

    /// Sends the incident notices that are due (queued, failed and due
    /// again, or claimed by a sender that stopped).
    async fn drain_notices(
        &self,
        owner: &Actor,
        smtp: &SmtpSettings,
        now: OffsetDateTime,
        report: &mut TickReport,
    ) -> Result<(), VaultError> {
        let options = SendOptions::default();
        for incident in self.store().incidents(self.workspace()).await? {
            let notices = self.store().notices(self.workspace(), incident.id).await?;
            let due = notices.iter().any(|n| match n.status {
                NoticeStatus::Queued | NoticeStatus::Failed => n.next_attempt_at <= now,
                NoticeStatus::Sending => n.claimed_at.is_some_and(|c| c <= now - options.lease),
                NoticeStatus::Sent
                | NoticeStatus::Uncertain
                | NoticeStatus::Bounced
                | NoticeStatus::Letter => false,
            });
            if !due {
                continue;
            }
            let sent = self
                .send_notices(owner, &incident.id.to_string(), smtp, &options)
                .await?;
            report.notices_sent += sent.sent;
            report.notices_failed += sent.failed.len() as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn plan() -> Plan {
        Plan {
            passcodes: true,
            passcode_lead: Duration::minutes(60),
            checkpoint: true,
            backup: true,
            digest: true,
        }
    }

    fn jobs(at: OffsetDateTime, day: &BusinessDay, plan: &Plan) -> Vec<(Job, String)> {
        due_at(at, day, plan)
            .unwrap()
            .into_iter()
            .map(|d| (d.job, d.period))
            .collect()
    }

    #[test]
    fn the_next_days_passcodes_are_due_in_the_hour_before_the_day_ends() {
        let day = BusinessDay::new("America/New_York", 18 * 60).unwrap();
        // 16:59 EST: not yet; 17:00 to 17:59: for Tuesday 1 December.
        let passcodes = |at| {
            jobs(at, &day, &plan())
                .into_iter()
                .filter(|(j, _)| *j == Job::PasscodeDigest)
                .map(|(_, p)| p)
                .collect::<Vec<_>>()
        };
        assert!(passcodes(datetime!(2026-11-30 21:59 UTC)).is_empty());
        assert_eq!(passcodes(datetime!(2026-11-30 22:00 UTC)), ["2026-12-01"]);
        assert_eq!(
            passcodes(datetime!(2026-11-30 22:59:59 UTC)),
            ["2026-12-01"]
        );
        // At 18:00 the day is over: the next digest is due an hour before
        // the next end.
        assert!(passcodes(datetime!(2026-11-30 23:00 UTC)).is_empty());
        assert_eq!(passcodes(datetime!(2026-12-01 22:30 UTC)), ["2026-12-02"]);
    }

    #[test]
    fn the_checkpoint_and_backup_are_for_the_day_that_ended_last() {
        let day = BusinessDay::new("Europe/Berlin", 18 * 60).unwrap();
        // 17:59 CET on 30 November: the day that ended last is the 29th.
        let before = jobs(datetime!(2026-11-30 16:59 UTC), &day, &plan());
        assert!(before.contains(&(Job::Backup, "2026-11-29".into())));
        assert!(before.contains(&(Job::CheckpointMail, "2026-11-29".into())));
        // From 18:00, the 30th.
        let after = jobs(datetime!(2026-11-30 17:00 UTC), &day, &plan());
        assert!(after.contains(&(Job::Backup, "2026-11-30".into())));
        assert!(after.contains(&(Job::CheckpointMail, "2026-11-30".into())));
        // Across the end of summer time (25 October, a 25-hour day).
        let dst = jobs(datetime!(2026-10-25 17:30 UTC), &day, &plan());
        assert!(dst.contains(&(Job::Backup, "2026-10-25".into())), "{dst:?}");
    }

    #[test]
    fn a_day_ending_at_midnight_is_named_after_the_date_it_covers() {
        let day = BusinessDay::new("UTC", 0).unwrap();
        let due = jobs(datetime!(2026-11-30 23:30 UTC), &day, &plan());
        assert!(
            due.contains(&(Job::PasscodeDigest, "2026-12-01".into())),
            "{due:?}"
        );
        assert!(due.contains(&(Job::Backup, "2026-11-29".into())), "{due:?}");
    }

    #[test]
    fn jobs_turned_off_are_never_due() {
        let day = BusinessDay::utc();
        let off = Plan {
            passcodes: false,
            passcode_lead: Duration::minutes(60),
            checkpoint: false,
            backup: false,
            digest: false,
        };
        assert!(jobs(datetime!(2026-11-30 17:30 UTC), &day, &off).is_empty());
        let settings = ScheduleSettings {
            passcodes: PasscodeDelivery::Email,
            checkpoint_to: Some("offsite@example.net".into()),
            ..ScheduleSettings::default()
        };
        // Without SMTP, neither the e-mailed digest nor the checkpoint.
        let plan = settings.plan();
        assert!(!plan.passcodes && !plan.checkpoint);
        assert!(settings.passcode_delivery_text(&day).contains("no SMTP"));
    }
}
