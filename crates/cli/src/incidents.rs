//! `confidant incident`: open an incident against a person (optionally
//! offboarding them in the same step), see its exposure computed from the
//! ledger, preview and send the breach notices, and draft the regulator's
//! notification (owner, on the data dir).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use confidant_core::incident::{Channel, Exposure};
use confidant_vault::incidents::{
    DeliveryIncident, HoneyEvidence, IncidentRequest, IncidentView, LetterScope, SendOptions,
    SmtpSecurity, SmtpSettings,
};
use secrecy::SecretString;
use time::{Date, OffsetDateTime, format_description::well_known::Rfc3339};

use crate::datadir::{Global, data_dir, open_as_owner, read_config};
use crate::output::{Format, table};

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident: compute what a person reached in a window from the
    /// ledger; with --offboard, end their access in the same step.
    Open(OpenArgs),
    /// Every incident, newest first.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// An incident: its exposure (recomputed from the ledger), timeline,
    /// notices and the 72-hour clock.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// The breach notices of an incident: --preview renders them, --send
    /// queues and sends them over SMTP (see [smtp] in confidant.toml);
    /// without either, their delivery status.
    Notices(NoticesArgs),
    /// The notice template: prints it, or --set FILE replaces it.
    Template {
        #[arg(long, value_name = "FILE")]
        set: Option<PathBuf>,
    },
    /// A draft notification for the supervisory authority (GDPR Art. 33(3))
    /// with the 72-hour clock.
    Regulator { id: String },
    /// Notices as letters in one PDF (a page set per customer) for
    /// customers without an e-mail address and bounced notices, or --all;
    /// the notices are marked as letters.
    Letters {
        id: String,
        /// Where to write the PDF.
        #[arg(long, value_name = "FILE.pdf")]
        out: PathBuf,
        /// A letter for every affected customer, e-mailed or not.
        #[arg(long)]
        all: bool,
    },
    /// The exposure report: counts, customers, documents, a chart over time
    /// and the 72-hour clock, as a PDF (--pdf) or as `show` prints it.
    Report {
        id: String,
        /// Write the report as a PDF to this file.
        #[arg(long, value_name = "FILE.pdf")]
        pdf: Option<PathBuf>,
    },
    /// Records a bounced notice from the delivery status notification (the
    /// bounce mail, saved as .eml); the notice is then offered as a letter.
    Bounce {
        /// The bounce, as a file (RFC 3464 multipart/report).
        file: PathBuf,
        /// The incident, to match a bounce that does not quote the notice's
        /// Message-ID by the recipient's address.
        #[arg(long)]
        incident: Option<String>,
    },
    /// A honey record found in the wild (a honey e-mail address, or a file
    /// such as a mail received at one): opens an incident against the
    /// recipient of the delivery it belongs to.
    Honey(HoneyArgs),
}

#[derive(Debug, Args)]
pub struct HoneyArgs {
    /// A honey e-mail address, or a file that contains honey records.
    evidence: String,
    #[command(flatten)]
    around: AroundArgs,
}

/// What an incident opened from a delivery needs besides it.
#[derive(Debug, Args)]
pub struct AroundArgs {
    /// Hours before and after the delivery to look at (default 24).
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    around_hours: u32,
    /// What happened, in words for the customers (see `open --reason`).
    #[arg(long)]
    reason: String,
    /// When you became aware (default: now).
    #[arg(long)]
    aware: Option<String>,
    /// Offboard the person in the same step.
    #[arg(long)]
    offboard: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

impl AroundArgs {
    fn request(&self, delivery: String) -> anyhow::Result<DeliveryIncident> {
        Ok(DeliveryIncident {
            delivery,
            around: time::Duration::hours(i64::from(self.around_hours)),
            reason: self.reason.clone(),
            aware_at: aware(self.aware.as_deref())?,
            offboard: self.offboard,
        })
    }
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The person whose accesses are in question (e-mail).
    #[arg(
        long,
        required_unless_present_any = ["delivery", "item", "device"],
        conflicts_with_all = ["delivery", "item", "device"]
    )]
    person: Option<String>,
    /// Instead of --person: an enrolled device (id from `confidant devices
    /// list`), e.g. a lost laptop; the incident covers its person's
    /// accesses made from it in the window.
    #[arg(long, value_name = "ID", conflicts_with_all = ["delivery", "item", "offboard"])]
    device: Option<String>,
    /// With --device: revoke the device in the same step.
    #[arg(long, requires = "device")]
    revoke_device: bool,
    /// Instead of --person: a document or record set (name or id); the
    /// incident covers everyone's accesses to it in the window but the
    /// owner's and admins'.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["delivery", "offboard"])]
    item: Option<String>,
    /// First day of the window (YYYY-MM-DD, UTC) or an RFC 3339 time.
    #[arg(
        long,
        required_unless_present = "delivery",
        conflicts_with = "delivery"
    )]
    since: Option<String>,
    /// Last day of the window, included (default: now).
    #[arg(long, conflicts_with = "delivery")]
    until: Option<String>,
    /// Instead of --person and --since: a delivery id (what `confidant
    /// trace` found in a leaked copy); the incident is about its recipient
    /// from --around-hours before it to as long after.
    #[arg(long, value_name = "ID")]
    delivery: Option<String>,
    /// With --delivery: hours before and after it (default 24).
    #[arg(long, value_name = "HOURS", requires = "delivery")]
    around_hours: Option<u32>,
    /// When you became aware (RFC 3339 or YYYY-MM-DD; default: now). The
    /// regulator's 72-hour clock starts here.
    #[arg(long)]
    aware: Option<String>,
    /// What happened, in words for the customers: it becomes "What
    /// Happened" in their notices. Kept encrypted, never in the ledger.
    #[arg(long)]
    reason: String,
    /// Offboard the person in the same step (sessions, grants, passcodes).
    #[arg(long)]
    offboard: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct NoticesArgs {
    id: String,
    /// Render every notice without sending.
    #[arg(long, conflicts_with = "send")]
    preview: bool,
    /// Queue a notice for every affected customer with an e-mail address
    /// (once) and send the due ones.
    #[arg(long)]
    send: bool,
    /// Retry failed notices now instead of after their backoff.
    #[arg(long, requires = "send")]
    retry_now: bool,
    /// Send again notices whose sender stopped after handing them to the
    /// SMTP server (they may have arrived; the copy has the same
    /// Message-ID).
    #[arg(long, requires = "send")]
    resend_uncertain: bool,
    /// Seconds after which a claim belongs to a sender that stopped
    /// (default 300). For tests and recovery after a known crash.
    #[arg(long, requires = "send", hide = true)]
    lease_seconds: Option<u32>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// `[smtp]` in confidant.toml; CONFIDANT_SMTP_* variables override it.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: Option<String>,
    pub port: Option<u16>,
    /// starttls (default), tls or plain.
    pub security: Option<String>,
    pub username: Option<String>,
    /// The sender, e.g. "Dana's Plumbing <privacy@example.com>".
    pub from: Option<String>,
    pub timeout_seconds: Option<u64>,
    /// PEM certificates to trust instead of the public roots (a private CA
    /// or the server's self-signed certificate).
    pub ca_file: Option<PathBuf>,
}

/// The SMTP settings when a server is configured at all (`serve` runs
/// without one); a configuration that is there but wrong is an error.
pub(crate) fn smtp_settings_if_configured(global: &Global) -> anyhow::Result<Option<SmtpSettings>> {
    let config = read_config(data_dir(global)?)?.smtp.unwrap_or_default();
    let host = std::env::var("CONFIDANT_SMTP_HOST")
        .ok()
        .filter(|v| !v.trim().is_empty());
    if host.is_none() && config.host.is_none() {
        return Ok(None);
    }
    smtp_settings(global).map(Some)
}

fn smtp_settings(global: &Global) -> anyhow::Result<SmtpSettings> {
    let config = read_config(data_dir(global)?)?.smtp.unwrap_or_default();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let host = env("CONFIDANT_SMTP_HOST")
        .or(config.host)
        .context("no SMTP server: set [smtp] host in confidant.toml or CONFIDANT_SMTP_HOST")?;
    let security: SmtpSecurity = env("CONFIDANT_SMTP_SECURITY")
        .or(config.security)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or_default();
    let port = match env("CONFIDANT_SMTP_PORT") {
        Some(p) => p
            .parse()
            .with_context(|| format!("CONFIDANT_SMTP_PORT {p:?} is not a port"))?,
        None => config.port.unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        }),
    };
    let from = env("CONFIDANT_SMTP_FROM")
        .or(config.from)
        .context("no sender: set [smtp] from in confidant.toml or CONFIDANT_SMTP_FROM")?;
    let username = env("CONFIDANT_SMTP_USERNAME").or(config.username);
    let password = env("CONFIDANT_SMTP_PASSWORD").map(SecretString::from);
    if username.is_some() && password.is_none() {
        bail!("an SMTP username needs its password in CONFIDANT_SMTP_PASSWORD");
    }
    Ok(SmtpSettings {
        host,
        port,
        security,
        username,
        password,
        from,
        timeout: std::time::Duration::from_secs(config.timeout_seconds.unwrap_or(30)),
        ca_file: env("CONFIDANT_SMTP_CA_FILE")
            .map(PathBuf::from)
            .or(config.ca_file),
    })
}

/// `--aware`, when given.
fn aware(text: Option<&str>) -> anyhow::Result<Option<OffsetDateTime>> {
    text.map(|a| parse_when(a, false, "aware")).transpose()
}

/// A day (its start, or with `end` the start of the next day) or an RFC
/// 3339 time.
fn parse_when(text: &str, end: bool, what: &str) -> anyhow::Result<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = Date::parse(text, &format).with_context(|| {
        format!("--{what} {text:?} is not a day (YYYY-MM-DD) or an RFC 3339 time")
    })?;
    let start = day.midnight().assume_utc();
    Ok(if end {
        start + time::Duration::days(1)
    } else {
        start
    })
}

fn when(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| t.to_string())
}

fn channels(map: &std::collections::BTreeMap<Channel, u32>) -> String {
    map.iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cats(set: &std::collections::BTreeSet<confidant_core::DataCategory>) -> String {
    if set.is_empty() {
        "-".into()
    } else {
        set.iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A small text chart: accesses per day.
fn chart(exposure: &Exposure) -> Vec<String> {
    let max = exposure.by_day.values().copied().max().unwrap_or(0).max(1);
    exposure
        .by_day
        .iter()
        .map(|(day, n)| {
            let bar = "#".repeat(((u64::from(*n) * 40).div_ceil(u64::from(max))) as usize);
            format!("  {day}  {bar} {n}")
        })
        .collect()
}

fn view_json(v: &IncidentView, now: OffsetDateTime) -> serde_json::Value {
    let (due, left) = confidant_core::incident::regulator_clock(v.aware_at, now);
    serde_json::json!({
        "id": v.id.to_string(),
        "person": if v.item.is_some() { None } else { Some(&v.person_email) },
        "item": v.item,
        "since": v.since.format(&Rfc3339).ok(),
        "until": v.until.format(&Rfc3339).ok(),
        "aware_at": v.aware_at.format(&Rfc3339).ok(),
        "regulator_due": due.format(&Rfc3339).ok(),
        "regulator_hours_left": left.whole_hours(),
        "opened_at": v.opened_at.format(&Rfc3339).ok(),
        "offboarded": v.offboarded,
        "reason": v.reason,
        "summary": {
            "customers": v.exposure.customers.len(),
            "customers_in_the_clear": v.exposure.intelligible().count(),
            "documents": v.exposure.documents.len(),
            "ledger_entries": v.exposure.entries,
            "categories": v.exposure.category_counts().iter()
                .map(|(c, n)| (c.as_str().to_owned(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "by_day": v.exposure.by_day.iter()
                .map(|(d, n)| (d.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
        },
        "customers": v.customers.iter().map(|c| serde_json::json!({
            "record_set": c.set_name,
            "record_set_id": c.exposure.set.to_string(),
            "row": c.exposure.row.to_string(),
            "categories_in_the_clear": c.exposure.clear,
            "categories_masked_only": c.exposure.masked_only,
            "unintelligible": c.exposure.unintelligible(),
            "how": c.exposure.channels,
            "first": c.exposure.first.format(&Rfc3339).ok(),
            "last": c.exposure.last.format(&Rfc3339).ok(),
        })).collect::<Vec<_>>(),
        "documents": v.documents.iter().map(|d| serde_json::json!({
            "id": d.exposure.id.to_string(),
            "name": d.name,
            "how": d.exposure.channels,
            "first": d.exposure.first.format(&Rfc3339).ok(),
            "last": d.exposure.last.format(&Rfc3339).ok(),
        })).collect::<Vec<_>>(),
        "timeline": v.timeline.iter().map(|s| serde_json::json!({
            "at": s.at.format(&Rfc3339).ok(), "step": s.kind, "detail": s.detail,
        })).collect::<Vec<_>>(),
        "notices": notices_json(&v.notices),
    })
}

fn notices_json(notices: &[confidant_vault::incidents::NoticeRecord]) -> Vec<serde_json::Value> {
    notices
        .iter()
        .map(|n| {
            serde_json::json!({
                "id": n.id.to_string(),
                "record_set_id": n.set.to_string(),
                "row": n.row.to_string(),
                "status": n.status.as_str(),
                "attempts": n.attempts,
                "next_attempt_at": n.next_attempt_at.format(&Rfc3339).ok(),
                "sent_at": n.sent_at.and_then(|t| t.format(&Rfc3339).ok()),
                "last_error": n.last_error,
            })
        })
        .collect()
}

/// Checked before anything is exported: a PDF that cannot be written
/// would leave notices marked as letters that nobody has.
fn writable(out: &std::path::Path) -> anyhow::Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() || out.is_dir() {
        bail!(
            "cannot write {}: its folder does not exist or it is a folder (nothing was exported)",
            out.display()
        );
    }
    Ok(())
}

fn opened(view: &IncidentView, format: Format) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    match format {
        Format::Json => crate::output::json(&view_json(view, now))?,
        Format::Text => {
            print_view(view, now)?;
            println!(
                "next: `confidant incident notices {} --preview`, then `--send`",
                view.id
            );
        }
    }
    Ok(())
}

fn print_view(v: &IncidentView, now: OffsetDateTime) -> anyhow::Result<()> {
    let (due, left) = confidant_core::incident::regulator_clock(v.aware_at, now);
    println!("incident {}", v.id);
    match &v.item {
        Some(item) => {
            println!("  item:     {item} (everyone's accesses but the owner's and admins')")
        }
        None => println!("  person:   {}", v.person_email),
    }
    println!("  window:   {} to {}", when(v.since), when(v.until));
    println!("  what:     {}", crate::output::clean(&v.reason));
    println!(
        "  offboarded in the same step: {}",
        if v.offboarded { "yes" } else { "no" }
    );
    let clock = if left.is_negative() {
        format!("LATE by {} h", (-left).whole_hours())
    } else {
        format!("{} h left", left.whole_hours())
    };
    println!(
        "  regulator (72 h from awareness {}): due {} ({clock})",
        when(v.aware_at),
        when(due)
    );
    let e = &v.exposure;
    println!(
        "exposure: {} customers ({} in the clear, {} only masked), {} documents, from {} ledger entries",
        e.customers.len(),
        e.intelligible().count(),
        e.customers.len() - e.intelligible().count(),
        e.documents.len(),
        e.entries
    );
    for (c, n) in e.category_counts() {
        println!("  {:<16} {n} customers", c.as_str());
    }
    for line in chart(e) {
        println!("{line}");
    }
    if !v.customers.is_empty() {
        let rows: Vec<Vec<String>> = v
            .customers
            .iter()
            .map(|c| {
                vec![
                    c.set_name
                        .clone()
                        .unwrap_or_else(|| c.exposure.set.to_string()),
                    c.exposure.row.to_string(),
                    cats(&c.exposure.clear),
                    cats(&c.exposure.masked_only),
                    channels(&c.exposure.channels),
                    if c.exposure.unintelligible() {
                        "yes"
                    } else {
                        "no"
                    }
                    .into(),
                    when(c.exposure.last),
                ]
            })
            .collect();
        table(
            &[
                "RECORD SET",
                "ROW",
                "IN THE CLEAR",
                "MASKED ONLY",
                "HOW",
                "UNINTELLIGIBLE",
                "LAST",
            ],
            &rows,
        )?;
    }
    if !v.documents.is_empty() {
        let rows: Vec<Vec<String>> = v
            .documents
            .iter()
            .map(|d| {
                vec![
                    d.name.clone().unwrap_or_else(|| d.exposure.id.to_string()),
                    channels(&d.exposure.channels),
                    when(d.exposure.last),
                ]
            })
            .collect();
        table(&["DOCUMENT", "HOW", "LAST"], &rows)?;
    }
    println!("timeline:");
    for s in &v.timeline {
        println!("  {}  {}: {}", when(s.at), s.kind, s.detail);
    }
    if !v.notices.is_empty() {
        let mut counts = std::collections::BTreeMap::new();
        for n in &v.notices {
            *counts.entry(n.status.as_str()).or_insert(0) += 1;
        }
        let text: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        println!("notices: {}", text.join(", "));
    }
    Ok(())
}

pub async fn run(global: &Global, command: IncidentCommand) -> anyhow::Result<()> {
    let (vault, owner) = open_as_owner(global).await?;
    let now = OffsetDateTime::now_utc();
    match command {
        IncidentCommand::Open(args) => {
            let aware_at = aware(args.aware.as_deref())?;
            let view = match &args.delivery {
                Some(delivery) => {
                    let request = DeliveryIncident {
                        delivery: delivery.clone(),
                        around: time::Duration::hours(i64::from(args.around_hours.unwrap_or(24))),
                        reason: args.reason.clone(),
                        aware_at,
                        offboard: args.offboard,
                    };
                    vault.open_incident_for_delivery(&owner, &request).await?
                }
                None => {
                    let request = IncidentRequest {
                        person: args
                            .item
                            .clone()
                            .or_else(|| args.person.clone())
                            .unwrap_or_default(),
                        since: parse_when(args.since.as_deref().unwrap_or(""), false, "since")?,
                        until: args
                            .until
                            .as_deref()
                            .map(|u| parse_when(u, true, "until"))
                            .transpose()?,
                        reason: args.reason.clone(),
                        aware_at,
                        offboard: args.offboard,
                    };
                    if let Some(device) = &args.device {
                        vault
                            .open_device_incident(&owner, device, &request, args.revoke_device)
                            .await?
                    } else if args.item.is_some() {
                        vault.open_item_incident(&owner, &request).await?
                    } else {
                        vault.open_incident(&owner, &request).await?
                    }
                }
            };
            opened(&view, args.format)?;
        }
        IncidentCommand::Honey(args) => {
            let path = std::path::Path::new(&args.evidence);
            let evidence = if path.is_file() {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                HoneyEvidence::File(
                    path.file_name().map(|n| n.to_string_lossy().into_owned()),
                    bytes,
                )
            } else {
                HoneyEvidence::Address(args.evidence.clone())
            };
            let request = args.around.request(String::new())?;
            let view = vault
                .open_incident_for_honey(&owner, &evidence, &request)
                .await?;
            opened(&view, args.around.format)?;
        }
        IncidentCommand::Letters { id, out, all } => {
            writable(&out)?;
            let scope = if all {
                LetterScope::All
            } else {
                LetterScope::Needed
            };
            let export = vault.notice_letters(&owner, &id, scope).await?;
            crate::backup::write_atomic(&out, &export.pdf, 0o600)?;
            println!(
                "{} letters written to {} ({} without an e-mail address, {} bounced); {} notices \
                 marked as letters",
                export.letters,
                out.display(),
                export.without_address,
                export.bounced,
                export.marked
            );
            if export.without_postal_address > 0 {
                println!(
                    "{} letters have no postal address on file: add it by hand before posting",
                    export.without_postal_address
                );
            }
        }
        IncidentCommand::Report { id, pdf } => match pdf {
            Some(out) => {
                writable(&out)?;
                let bytes = vault.incident_report_pdf(&owner, &id).await?;
                crate::backup::write_atomic(&out, &bytes, 0o600)?;
                println!("the exposure report was written to {}", out.display());
            }
            None => print_view(&vault.incident(&owner, &id).await?, now)?,
        },
        IncidentCommand::Bounce { file, incident } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let outcome = vault
                .record_bounce(&owner, &bytes, incident.as_deref())
                .await?;
            println!(
                "notice {} of incident {} bounced (status {}): `confidant incident letters {} \
                 --out letters.pdf` prints its letter",
                outcome.notice.id, outcome.notice.incident, outcome.status, outcome.notice.incident
            );
        }
        IncidentCommand::List { format } => {
            let list = vault.incidents(&owner).await?;
            match format {
                Format::Json => crate::output::json(
                    &list
                        .iter()
                        .map(|i| {
                            serde_json::json!({
                                "id": i.id.to_string(),
                                "person_id": i.person.to_string(),
                                "since": i.since.format(&Rfc3339).ok(),
                                "until": i.until.format(&Rfc3339).ok(),
                                "opened_at": i.opened_at.format(&Rfc3339).ok(),
                                "offboarded": i.offboarded,
                            })
                        })
                        .collect::<Vec<_>>(),
                )?,
                Format::Text => {
                    if list.is_empty() {
                        println!("no incidents");
                        return Ok(());
                    }
                    let rows: Vec<Vec<String>> = list
                        .iter()
                        .map(|i| {
                            vec![
                                i.id.to_string(),
                                when(i.opened_at),
                                format!("{} to {}", when(i.since), when(i.until)),
                                if i.offboarded { "yes" } else { "no" }.into(),
                            ]
                        })
                        .collect();
                    table(&["ID", "OPENED", "WINDOW", "OFFBOARDED"], &rows)?;
                }
            }
        }
        IncidentCommand::Show { id, format } => {
            let view = vault.incident(&owner, &id).await?;
            match format {
                Format::Json => crate::output::json(&view_json(&view, now))?,
                Format::Text => print_view(&view, now)?,
            }
        }
        IncidentCommand::Notices(args) => notices(global, &vault, &owner, args).await?,
        IncidentCommand::Template { set } => match set {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                vault.set_notice_template(&owner, &text).await?;
                println!("the notice template was replaced");
            }
            None => {
                let (text, default) = vault.notice_template(&owner).await?;
                if default {
                    eprintln!("(the default template; `--set FILE` replaces it)");
                }
                print!("{text}");
            }
        },
        IncidentCommand::Regulator { id } => {
            print!("{}", vault.regulator_draft(&owner, &id).await?);
        }
    }
    Ok(())
}

async fn notices(
    global: &Global,
    vault: &confidant_vault::Vault,
    owner: &confidant_vault::Actor,
    args: NoticesArgs,
) -> anyhow::Result<()> {
    if args.preview {
        let drafts = vault.preview_notices(owner, &args.id).await?;
        match args.format {
            Format::Json => crate::output::json(
                &drafts
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "record_set_id": d.set.to_string(),
                            "row": d.row.to_string(),
                            "to": d.to,
                            "categories": d.categories,
                            "subject": d.notice.subject,
                            "body": d.notice.body,
                        })
                    })
                    .collect::<Vec<_>>(),
            )?,
            Format::Text => {
                if drafts.is_empty() {
                    println!("no customer had anything in the clear: no notices");
                }
                for d in &drafts {
                    println!(
                        "--- to: {}",
                        d.to.as_deref()
                            .unwrap_or("(no e-mail address: send a letter)")
                    );
                    println!("Subject: {}", crate::output::clean(&d.notice.subject));
                    println!();
                    println!("{}", d.notice.body);
                }
            }
        }
        return Ok(());
    }
    if args.send {
        let smtp = smtp_settings(global)?;
        let (added, without) = vault.queue_notices(owner, &args.id).await?;
        let mut options = SendOptions {
            retry_now: args.retry_now,
            resend_uncertain: args.resend_uncertain,
            ..SendOptions::default()
        };
        if let Some(seconds) = args.lease_seconds {
            options.lease = time::Duration::seconds(i64::from(seconds));
        }
        let report = vault.send_notices(owner, &args.id, &smtp, &options).await?;
        match args.format {
            Format::Json => crate::output::json(&serde_json::json!({
                "queued": added,
                "without_address": without,
                "sent": report.sent,
                "failed": report.failed.iter().map(|(id, why)| serde_json::json!({"id": id.to_string(), "reason": why})).collect::<Vec<_>>(),
                "skipped": report.skipped,
                "requeued": report.requeued,
                "uncertain": report.uncertain,
            }))?,
            Format::Text => {
                println!(
                    "{added} notices queued ({without} customers without an e-mail address); {} sent, {} failed",
                    report.sent,
                    report.failed.len()
                );
                for (id, why) in &report.failed {
                    println!("  failed {id}: {}", crate::output::clean(why));
                }
                if !report.failed.is_empty() {
                    println!(
                        "failed notices are retried with backoff on the next `--send` (or now with --retry-now)"
                    );
                }
                if report.uncertain > 0 {
                    println!(
                        "{} notices may have been delivered by a sender that stopped: check, then --resend-uncertain",
                        report.uncertain
                    );
                }
            }
        }
        if !report.failed.is_empty() {
            bail!("{} notices were not sent", report.failed.len());
        }
        return Ok(());
    }
    let list = vault.notices(owner, &args.id).await?;
    match args.format {
        Format::Json => crate::output::json(&notices_json(&list))?,
        Format::Text => {
            if list.is_empty() {
                println!("no notices queued: `--preview`, then `--send`");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|n| {
                    vec![
                        n.id.to_string(),
                        n.row.to_string(),
                        n.status.as_str().into(),
                        n.attempts.to_string(),
                        n.sent_at.map(when).unwrap_or_default(),
                        n.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            table(
                &["NOTICE", "ROW", "STATUS", "TRIES", "SENT", "LAST ERROR"],
                &rows,
            )?;
        }
    }
    Ok(())
}
