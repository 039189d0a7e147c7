//! `serve`'s own schedule: `[schedule]` in confidant.toml (with
//! CONFIDANT_SCHEDULE_* overrides), the loop that runs a tick of every
//! workspace each minute, and the edge the vault's schedule needs: the
//! owner's passcode hook (a command run directly, never through a shell,
//! with the digest on stdin) and the daily backup with pruning.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration as StdDuration;

use anyhow::{Context, bail};
use confidant_vault::alerts::{AlertRules, AlertSettings, Burst, Webhook, WorkingHours};
use confidant_vault::schedule::{PasscodeDelivery, ScheduleEdge, ScheduleSettings};
use confidant_vault::{Actor, Vault};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::backup::Keep;
use crate::datadir::{CONFIG_FILE, Global};

/// `[schedule]` in confidant.toml; every field optional.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Run the schedule at all (true).
    pub enabled: Option<bool>,
    /// Seconds between ticks (60).
    pub tick_seconds: Option<u64>,
    /// How the next business day's passcodes reach the owner: "off"
    /// (default), "notify" (kept for the Passcodes page, shown once; an
    /// e-mail without them says they are ready), "email" (needs [smtp])
    /// or "hook".
    pub passcodes: Option<String>,
    /// Minutes before the day's end they are issued (60).
    pub passcode_lead_minutes: Option<u32>,
    /// The hook: a program and its arguments, given the digest on stdin.
    pub passcode_hook: Option<Vec<String>>,
    /// Seconds the hook may take (30).
    pub passcode_hook_timeout_seconds: Option<u64>,
    /// E-mail the owner when a grant is locked after wrong passcodes (true).
    pub lock_alerts: Option<bool>,
    /// E-mail the latest signed checkpoint here after each business day.
    pub checkpoint_to: Option<String>,
    /// Send the incident notices that are due (true).
    pub notices: Option<bool>,
    /// E-mail the owner the access digest of each business day after it
    /// ends (true; needs [smtp]).
    pub digest: Option<bool>,
    /// Take a backup after each business day (false): into the
    /// destination of backup.toml, to its recipients.
    pub backup: Option<bool>,
    pub keep_daily: Option<usize>,
    pub keep_weekly: Option<usize>,
    pub keep_monthly: Option<usize>,
}

/// The schedule as `serve` runs it.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub enabled: bool,
    pub every: StdDuration,
    pub settings: ScheduleSettings,
    pub hook: Option<Hook>,
    pub keep: Keep,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_bool(name: &str) -> anyhow::Result<Option<bool>> {
    match env(name) {
        None => Ok(None),
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => bail!("{name}={v:?} is not true or false"),
        },
    }
}

impl Schedule {
    /// Reads `[schedule]` and the environment.
    pub fn from_config(global: &Global) -> anyhow::Result<Schedule> {
        let dir = crate::datadir::data_dir(global)?;
        let config = crate::datadir::read_config(dir)?
            .schedule
            .unwrap_or_default();
        let smtp = crate::incidents::smtp_settings_if_configured(global)?;
        let alerts = crate::datadir::read_config(dir)?.alerts.unwrap_or_default();
        let mut schedule = Self::from_parts(config, smtp)?;
        schedule.settings.alerts = alert_settings(alerts)?;
        Ok(schedule)
    }

    pub fn from_parts(
        config: ScheduleConfig,
        smtp: Option<confidant_vault::incidents::SmtpSettings>,
    ) -> anyhow::Result<Schedule> {
        let passcodes = match env("CONFIDANT_SCHEDULE_PASSCODES")
            .or(config.passcodes.clone())
            .as_deref()
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            // The default: tomorrow's passcodes are issued automatically
            // and kept sealed for the owner's Passcodes page (no secret
            // leaves the server).
            None | Some("notify") => PasscodeDelivery::Notify,
            Some("off") => PasscodeDelivery::Off,
            Some("email") => PasscodeDelivery::Email,
            Some("hook") => PasscodeDelivery::Hook,
            Some(other) => bail!(
                "[schedule] passcodes = {other:?} in {CONFIG_FILE} is not one of off, notify, \
                 email, hook"
            ),
        };
        let hook = match (
            env("CONFIDANT_SCHEDULE_PASSCODE_HOOK"),
            &config.passcode_hook,
        ) {
            (Some(program), _) => Some(vec![program]),
            (None, Some(argv)) => Some(argv.clone()),
            (None, None) => None,
        };
        let hook = match hook {
            Some(argv) => {
                let (program, args) = argv.split_first().with_context(|| {
                    format!("[schedule] passcode_hook in {CONFIG_FILE} is empty: name a program")
                })?;
                Some(Hook {
                    program: PathBuf::from(program),
                    args: args.to_vec(),
                    timeout: StdDuration::from_secs(
                        config.passcode_hook_timeout_seconds.unwrap_or(30).max(1),
                    ),
                })
            }
            None => None,
        };
        if passcodes == PasscodeDelivery::Hook && hook.is_none() {
            bail!(
                "[schedule] passcodes = \"hook\" needs passcode_hook = [\"/path/to/program\", ...] \
                 in {CONFIG_FILE} (or CONFIDANT_SCHEDULE_PASSCODE_HOOK)"
            );
        }
        if passcodes == PasscodeDelivery::Email && smtp.is_none() {
            tracing::warn!(
                "[schedule] passcodes = \"email\" but no SMTP server is configured: passcodes are \
                 not sent until [smtp] is set"
            );
        }
        let checkpoint_to = env("CONFIDANT_SCHEDULE_CHECKPOINT_TO").or(config.checkpoint_to);
        if let Some(to) = &checkpoint_to
            && to
                .parse::<confidant_vault::incidents::MailAddress>()
                .is_err()
        {
            bail!("[schedule] checkpoint_to = {to:?} in {CONFIG_FILE} is not an e-mail address");
        }
        let lead = config.passcode_lead_minutes.unwrap_or(60);
        if lead == 0 || lead > 12 * 60 {
            bail!(
                "[schedule] passcode_lead_minutes in {CONFIG_FILE} must be between 1 and 720 \
                 (the next day's passcodes are issued that long before the day ends)"
            );
        }
        let keep = Keep {
            last: 0,
            daily: config.keep_daily.unwrap_or(7),
            weekly: config.keep_weekly.unwrap_or(4),
            monthly: config.keep_monthly.unwrap_or(12),
        };
        let backup = env_bool("CONFIDANT_SCHEDULE_BACKUP")?
            .or(config.backup)
            .unwrap_or(false);
        if backup && keep == Keep::default() {
            bail!("[schedule] keeps no backup at all: set keep_daily, keep_weekly or keep_monthly");
        }
        Ok(Schedule {
            enabled: env_bool("CONFIDANT_SCHEDULE")?
                .or(config.enabled)
                .unwrap_or(true),
            every: StdDuration::from_secs(config.tick_seconds.unwrap_or(60).max(1)),
            settings: ScheduleSettings {
                smtp,
                passcodes,
                passcode_lead: time::Duration::minutes(i64::from(lead)),
                lock_alerts: config.lock_alerts.unwrap_or(true),
                checkpoint_to,
                notices: config.notices.unwrap_or(true),
                backup,
                digest: config.digest.unwrap_or(true),
                alerts: AlertSettings::default(),
            },
            hook,
            keep,
        })
    }

    /// One line per job for the start-up message.
    pub fn describe(&self) -> Vec<String> {
        let s = &self.settings;
        let smtp = s.smtp.is_some();
        let mut out = Vec::new();
        if !self.enabled {
            return vec!["the schedule is off ([schedule] enabled = false)".to_owned()];
        }
        let plan = s.plan();
        out.push(match (&s.passcodes, plan.passcodes) {
            (PasscodeDelivery::Off, _) => "tomorrow's passcodes: not sent (issue them on the \
                 Passcodes page; [schedule] passcodes = \"email\" or \"hook\" to send them)"
                .to_owned(),
            (PasscodeDelivery::Email, false) => {
                "tomorrow's passcodes: e-mail chosen but no [smtp]: not sent".to_owned()
            }
            (d, _) => format!(
                "tomorrow's passcodes: issued {} minutes before each day ends, {}",
                s.passcode_lead.whole_minutes(),
                match d {
                    PasscodeDelivery::Hook => "sent by the hook",
                    PasscodeDelivery::Notify if smtp => {
                        "kept for the Passcodes page (shown once), the owner told by e-mail"
                    }
                    PasscodeDelivery::Notify => "kept for the Passcodes page (shown once)",
                    _ => "sent by e-mail",
                }
            ),
        });
        out.push(if s.lock_alerts && smtp {
            "locked passcodes: the owner is e-mailed".to_owned()
        } else {
            "locked passcodes: shown on the Passcodes page only (no [smtp])".to_owned()
        });
        out.push(if plan.checkpoint {
            "ledger checkpoint: e-mailed after each business day".to_owned()
        } else {
            "ledger checkpoint: not e-mailed ([schedule] checkpoint_to and [smtp])".to_owned()
        });
        out.push(if s.backup {
            format!(
                "backups: after each business day, keeping {} daily, {} weekly, {} monthly",
                self.keep.daily, self.keep.weekly, self.keep.monthly
            )
        } else {
            "backups: not scheduled ([schedule] backup = true)".to_owned()
        });
        out.push(if s.plan().digest {
            "access digest: e-mailed to the owner after each business day".to_owned()
        } else {
            "access digest: on the Digest page only ([smtp] and [schedule] digest = true to \
             e-mail it)"
                .to_owned()
        });
        if s.alerts.enabled && !s.alerts.rules.is_off() {
            let to = match (s.alerts.email && smtp, &s.alerts.webhook) {
                (true, Some(_)) => "e-mailed to the owner and posted to the webhook",
                (true, None) => "e-mailed to the owner",
                (false, Some(_)) => "posted to the webhook",
                (false, None) => "listed on the Digest page only (no [smtp], no webhook)",
            };
            out.push(format!("alerts: checked every tick, {to}"));
            for rule in s.alerts.rules.describe() {
                out.push(format!("  {rule}"));
            }
        } else {
            out.push("alerts: off ([alerts] enabled = false)".to_owned());
        }
        out.push(if s.notices && smtp {
            "incident notices: sent when due".to_owned()
        } else {
            "incident notices: sent by `confidant incident notices --send` only".to_owned()
        });
        out
    }
}

/// `[alerts]` in confidant.toml; every field optional. A threshold of 0
/// turns its rule off.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Check the rules at all (true).
    pub enabled: Option<bool>,
    /// E-mail alerts to the owner (true; needs [smtp]).
    pub email: Option<bool>,
    /// POST each alert as JSON here (http or https).
    pub webhook_url: Option<String>,
    /// The HMAC-SHA256 key of the X-Confidant-Signature header (at least
    /// 16 characters; CONFIDANT_ALERTS_WEBHOOK_SECRET overrides it).
    pub webhook_secret: Option<String>,
    /// Seconds the webhook may take (10).
    pub webhook_timeout_seconds: Option<u64>,
    /// Alert when a person opens more rows than this in a clock hour (1000).
    pub bulk_rows_per_hour: Option<u64>,
    /// ...or more than this multiple of their median hour (10).
    pub bulk_factor: Option<f64>,
    /// ...and more than this many rows (100).
    pub bulk_min_rows: Option<u64>,
    /// The hours the median is taken from (168).
    pub baseline_hours: Option<u32>,
    /// Working hours in the workspace's time zone, "HH:MM-HH:MM"; unset:
    /// no alert for work outside them.
    pub working_hours: Option<String>,
    /// Working days (mon, tue, ...; Monday to Friday).
    pub working_days: Option<Vec<String>>,
    /// Alert after this many refused attempts (10)...
    pub denied_count: Option<u32>,
    /// ...within this many minutes (10).
    pub denied_minutes: Option<u32>,
    /// Alert after this many wrong day passcodes (3)...
    pub wrong_passcodes: Option<u32>,
    /// ...within this many minutes (15).
    pub wrong_passcode_minutes: Option<u32>,
}

/// Checks `[alerts]` and makes the vault's settings; a mistake is refused
/// with what to write instead.
pub fn alert_settings(config: AlertsConfig) -> anyhow::Result<AlertSettings> {
    let defaults = AlertRules::default();
    let nonzero = |n: u64| (n > 0).then_some(n);
    let burst = |count: Option<u32>, minutes: Option<u32>, default: Option<Burst>, name: &str| {
        let default = default.unwrap_or(Burst {
            count: 0,
            within: time::Duration::ZERO,
        });
        let count = count.unwrap_or(default.count);
        let minutes = minutes.map_or(default.within.whole_minutes(), i64::from);
        if count == 0 {
            return Ok(None);
        }
        if !(1..=24 * 60).contains(&minutes) {
            bail!("[alerts] {name} in {CONFIG_FILE} must be between 1 and 1440 minutes");
        }
        Ok::<_, anyhow::Error>(Some(Burst {
            count,
            within: time::Duration::minutes(minutes),
        }))
    };
    let factor = match config.bulk_factor {
        None => defaults.bulk_factor,
        Some(0.0) => None,
        Some(k) if k.is_finite() && k >= 1.0 => Some(k),
        Some(k) => bail!(
            "[alerts] bulk_factor = {k} in {CONFIG_FILE} must be 1 or more (how many times the \
             person's usual hour), or 0 for off"
        ),
    };
    let working_hours =
        match &config.working_hours {
            None => None,
            Some(text) => {
                let bad = || {
                    anyhow::anyhow!(
                        "[alerts] working_hours = {text:?} in {CONFIG_FILE} is not HH:MM-HH:MM \
                     (e.g. \"08:00-18:00\", in the workspace's time zone)"
                    )
                };
                let (start, end) = text.split_once('-').ok_or_else(bad)?;
                let start = confidant_core::BusinessDay::parse_time(start).map_err(|_| bad())?;
                let end = confidant_core::BusinessDay::parse_time(end).map_err(|_| bad())?;
                if start == end {
                    return Err(bad());
                }
                let mut days = [false; 7];
                let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
                match &config.working_days {
                    None => days[..5].fill(true),
                    Some(list) => {
                        for day in list {
                            let day = day.trim().to_ascii_lowercase();
                            let i = names.iter().position(|n| day.starts_with(n)).with_context(
                                || {
                                    format!(
                                        "[alerts] working_days in {CONFIG_FILE}: {day:?} is not a \
                                     day (mon, tue, wed, thu, fri, sat, sun)"
                                    )
                                },
                            )?;
                            days[i] = true;
                        }
                    }
                }
                Some(WorkingHours { start, end, days })
            }
        };
    let url = env("CONFIDANT_ALERTS_WEBHOOK_URL").or(config.webhook_url);
    let secret = env("CONFIDANT_ALERTS_WEBHOOK_SECRET").or(config.webhook_secret);
    let webhook = match (url, secret) {
        (None, _) => None,
        (Some(url), secret) => {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || reqwest::Url::parse(&url).is_err()
            {
                bail!("[alerts] webhook_url = {url:?} in {CONFIG_FILE} is not an http(s) URL");
            }
            let secret = secret
                .filter(|s| s.chars().count() >= 16)
                .with_context(|| {
                    format!(
                        "[alerts] webhook_url needs webhook_secret (16 characters or more) in \
                     {CONFIG_FILE} or CONFIDANT_ALERTS_WEBHOOK_SECRET: the receiver checks each \
                     alert's signature with it"
                    )
                })?;
            Some(Webhook {
                url,
                secret: SecretString::from(secret),
                timeout: StdDuration::from_secs(
                    config.webhook_timeout_seconds.unwrap_or(10).max(1),
                ),
            })
        }
    };
    Ok(AlertSettings {
        enabled: env_bool("CONFIDANT_ALERTS")?
            .or(config.enabled)
            .unwrap_or(true),
        email: config.email.unwrap_or(true),
        webhook,
        rules: AlertRules {
            bulk_rows: match config.bulk_rows_per_hour {
                None => defaults.bulk_rows,
                Some(n) => nonzero(n),
            },
            bulk_factor: factor,
            bulk_min_rows: config.bulk_min_rows.unwrap_or(defaults.bulk_min_rows),
            baseline_hours: config
                .baseline_hours
                .unwrap_or(defaults.baseline_hours)
                .clamp(3, 24 * 60),
            working_hours,
            denials: burst(
                config.denied_count,
                config.denied_minutes,
                defaults.denials,
                "denied_minutes",
            )?,
            wrong_passcodes: burst(
                config.wrong_passcodes,
                config.wrong_passcode_minutes,
                defaults.wrong_passcodes,
                "wrong_passcode_minutes",
            )?,
        },
    })
}

/// The owner's passcode hook.
#[derive(Debug, Clone)]
pub struct Hook {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub timeout: StdDuration,
}

impl Hook {
    /// Runs the program directly with the digest on stdin and the subject
    /// in CONFIDANT_SUBJECT; exit status 0 means delivered.
    pub async fn run(&self, subject: &str, digest: &SecretString) -> Result<(), String> {
        let name = self.program.display().to_string();
        // A clean environment: the server's own (its passphrase, the SMTP
        // password) is none of the hook's business.
        let mut command = tokio::process::Command::new(&self.program);
        command.env_clear();
        for name in ["PATH", "HOME", "LANG"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        let mut child = command
            .args(&self.args)
            .env("CONFIDANT_SUBJECT", subject)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run the passcode hook {name}: {e}"))?;
        let run = async {
            if let Some(mut stdin) = child.stdin.take() {
                stdin
                    .write_all(digest.expose_secret().as_bytes())
                    .await
                    .map_err(|e| format!("the passcode hook {name} did not read its input: {e}"))?;
            }
            child
                .wait()
                .await
                .map_err(|e| format!("the passcode hook {name} failed: {e}"))
        };
        match tokio::time::timeout(self.timeout, run).await {
            Err(_) => Err(format!(
                "the passcode hook {name} took longer than {} s and was stopped",
                self.timeout.as_secs()
            )),
            Ok(Err(e)) => Err(e),
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("the passcode hook {name} exited with {status}")),
        }
    }
}

/// What the schedule of a data dir needs from this process.
pub struct Edge {
    pub data: PathBuf,
    pub owned: Vec<(Vault, Actor)>,
    pub hook: Option<Hook>,
    pub keep: Keep,
}

impl ScheduleEdge for Edge {
    fn passcode_hook<'a>(
        &'a self,
        subject: &'a str,
        digest: &'a SecretString,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            match &self.hook {
                Some(hook) => hook.run(subject, digest).await,
                None => Err("no passcode hook is configured".to_owned()),
            }
        })
    }

    fn backup(&self) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            crate::backup::scheduled_backup(&self.data, &self.owned, self.keep)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }
}

/// Runs a tick of every workspace's schedule every `schedule.every`,
/// forever. Only the first workspace takes the backup (it holds them
/// all).
pub async fn run(vaults: Vec<Vault>, schedule: Schedule, edge: Edge) {
    let first = schedule.settings.clone();
    let rest = ScheduleSettings {
        backup: false,
        ..schedule.settings.clone()
    };
    loop {
        for (i, vault) in vaults.iter().enumerate() {
            let settings = if i == 0 { &first } else { &rest };
            match vault.run_schedule(settings, &edge).await {
                Ok(report) => {
                    for run in &report.runs {
                        match &run.result {
                            Ok(detail) => tracing::info!(
                                "{}: {} for {}: {detail}",
                                vault.workspace_name(),
                                run.job.as_str(),
                                run.period
                            ),
                            Err(e) => tracing::warn!(
                                "{}: {} for {} failed (tried again later): {e}",
                                vault.workspace_name(),
                                run.job.as_str(),
                                run.period
                            ),
                        }
                    }
                    if report.notices_sent + report.notices_failed > 0 {
                        tracing::info!(
                            "{}: incident notices: {} sent, {} failed",
                            vault.workspace_name(),
                            report.notices_sent,
                            report.notices_failed
                        );
                    }
                }
                Err(e) => tracing::warn!(
                    "{}: the schedule could not run (tried again next tick): {e}",
                    vault.workspace_name()
                ),
            }
        }
        tokio::time::sleep(schedule.every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ScheduleConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_send_nothing_secret_and_keep_seven_four_twelve() {
        let s = Schedule::from_parts(ScheduleConfig::default(), None).unwrap();
        assert!(s.enabled);
        // Issued automatically, kept for the Passcodes page: nothing
        // secret is sent anywhere.
        assert_eq!(s.settings.passcodes, PasscodeDelivery::Notify);
        assert!(!s.settings.backup);
        assert_eq!((s.keep.daily, s.keep.weekly, s.keep.monthly), (7, 4, 12));
        assert_eq!(s.settings.passcode_lead, time::Duration::minutes(60));
        assert!(
            s.describe()[0].contains("kept for the Passcodes page (shown once)"),
            "{:?}",
            s.describe()
        );
    }

    #[test]
    fn settings_are_read_and_mistakes_refused_with_what_to_do() {
        let s = Schedule::from_parts(
            config(
                "passcodes = \"hook\"\npasscode_hook = [\"/usr/local/bin/sms\", \"--to\", \"+15550100\"]\n\
                 passcode_lead_minutes = 30\nbackup = true\nkeep_daily = 3\ncheckpoint_to = \"offsite@example.net\"",
            ),
            None,
        )
        .unwrap();
        assert_eq!(s.settings.passcodes, PasscodeDelivery::Hook);
        let hook = s.hook.unwrap();
        assert_eq!(hook.program, PathBuf::from("/usr/local/bin/sms"));
        assert_eq!(hook.args, ["--to", "+15550100"]);
        assert_eq!(s.keep.daily, 3);
        assert!(s.settings.backup);
        assert_eq!(
            s.settings.checkpoint_to.as_deref(),
            Some("offsite@example.net")
        );

        let e = Schedule::from_parts(config("passcodes = \"sms\""), None).unwrap_err();
        assert!(e.to_string().contains("off, notify, email, hook"), "{e}");
        let s = Schedule::from_parts(config("passcodes = \"notify\""), None).unwrap();
        assert_eq!(s.settings.passcodes, PasscodeDelivery::Notify);
        assert!(
            s.settings.plan().passcodes,
            "kept for the page even without SMTP"
        );
        let e = Schedule::from_parts(config("passcodes = \"hook\""), None).unwrap_err();
        assert!(e.to_string().contains("passcode_hook"), "{e}");
        let e = Schedule::from_parts(config("checkpoint_to = \"nobody\""), None).unwrap_err();
        assert!(e.to_string().contains("not an e-mail address"), "{e}");
        let e = Schedule::from_parts(config("passcode_lead_minutes = 0"), None).unwrap_err();
        assert!(e.to_string().contains("between 1 and 720"), "{e}");
        assert!(toml::from_str::<ScheduleConfig>("passcode = \"email\"").is_err());
    }

    fn alerts(text: &str) -> anyhow::Result<AlertSettings> {
        alert_settings(toml::from_str(text).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn alert_thresholds_are_read_and_mistakes_refused_with_what_to_do() {
        let d = alerts("").unwrap();
        assert!(d.enabled && d.email && d.webhook.is_none());
        assert_eq!(d.rules, AlertRules::default());
        let s = alerts(
            "bulk_rows_per_hour = 0\nbulk_factor = 4\nworking_hours = \"22:00-06:00\"\n\
             working_days = [\"Sat\", \"sun\"]\ndenied_count = 0\nwrong_passcodes = 5\n\
             wrong_passcode_minutes = 30\nwebhook_url = \"https://hooks.example.net/x\"\n\
             webhook_secret = \"0123456789abcdef\"",
        )
        .unwrap();
        assert_eq!(s.rules.bulk_rows, None);
        assert_eq!(s.rules.bulk_factor, Some(4.0));
        let hours = s.rules.working_hours.unwrap();
        assert_eq!((hours.start, hours.end), (22 * 60, 6 * 60));
        assert_eq!(hours.days, [false, false, false, false, false, true, true]);
        assert_eq!(s.rules.denials, None);
        assert_eq!(
            s.rules.wrong_passcodes,
            Some(Burst {
                count: 5,
                within: time::Duration::minutes(30)
            })
        );
        assert_eq!(s.webhook.unwrap().url, "https://hooks.example.net/x");
        for (text, says) in [
            ("working_hours = \"8-18\"", "HH:MM-HH:MM"),
            (
                "working_hours = \"08:00-18:00\"\nworking_days = [\"funday\"]",
                "not a day",
            ),
            ("bulk_factor = 0.5", "1 or more"),
            (
                "webhook_url = \"ftp://x\"\nwebhook_secret = \"0123456789abcdef\"",
                "http(s) URL",
            ),
            ("webhook_url = \"https://x.example\"", "webhook_secret"),
            (
                "webhook_url = \"https://x.example\"\nwebhook_secret = \"short\"",
                "16 characters",
            ),
            ("denied_minutes = 0", "between 1 and 1440"),
        ] {
            let e = alerts(text).unwrap_err();
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
        assert!(toml::from_str::<AlertsConfig>("bulk_rows = 5").is_err());
    }

    #[tokio::test]
    async fn the_hook_gets_the_digest_on_stdin_and_its_exit_status_counts() {
        let dir = tempfile::TempDir::new().unwrap();
        let out = dir.path().join("got.txt");
        let ok = Hook {
            program: PathBuf::from("/bin/sh"),
            args: vec![
                "-c".into(),
                format!(
                    "cat > {0}; echo \"$CONFIDANT_SUBJECT\" >> {0}; env > {0}.env",
                    out.display()
                ),
            ],
            timeout: StdDuration::from_secs(10),
        };
        ok.run(
            "passcodes for 2026-12-01",
            &SecretString::from("K7F3-9QXM-2HDP\n"),
        )
        .await
        .unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got, "K7F3-9QXM-2HDP\npasscodes for 2026-12-01\n");
        // Only what the hook needs of the environment (cargo's test
        // variables, like the server's secrets, stay behind).
        let env = std::fs::read_to_string(dir.path().join("got.txt.env")).unwrap();
        assert!(env.contains("CONFIDANT_SUBJECT="), "{env}");
        assert!(!env.contains("CARGO"), "{env}");
        let failing = Hook {
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into(), "cat > /dev/null; exit 3".into()],
            timeout: StdDuration::from_secs(10),
        };
        let e = failing
            .run("s", &SecretString::from("x"))
            .await
            .unwrap_err();
        assert!(e.contains("exited with"), "{e}");
        let slow = Hook {
            program: PathBuf::from("/bin/sleep"),
            args: vec!["5".into()],
            timeout: StdDuration::from_millis(200),
        };
        let e = slow.run("s", &SecretString::from("x")).await.unwrap_err();
        assert!(e.contains("took longer"), "{e}");
        let missing = Hook {
            program: PathBuf::from("/nonexistent/hook"),
            args: vec![],
            timeout: StdDuration::from_secs(1),
        };
        let e = missing
            .run("s", &SecretString::from("x"))
            .await
            .unwrap_err();
        assert!(e.contains("cannot run"), "{e}");
    }
}
