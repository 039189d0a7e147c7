//! `confidant agent`: the device posture agent on an assistant's computer.
//!
//! `check` only reads this machine (firewall, disk encryption, screen lock,
//! OS updates): it needs no data dir, no server and no enrollment. It exits
//! 0 whenever the checks ran, whatever they found (a failing check is a
//! result, not an error); scripts read the statuses from `--format json`.
//!
//! `enroll`, `report`, `run` and `link` talk to the server with the device
//! key (confidant_agent::identity), kept per server in
//! `CONFIG_DIR/devices/`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use confidant_agent::identity::DeviceIdentity;
use confidant_agent::{LocalSystem, Options, Os};
use confidant_protocol::PostureReport;
use confidant_protocol::device::{EnrolledDevice, LinkCode, ReportVerdict};
use time::{Duration, OffsetDateTime};

use crate::client::{self, Client};
use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Check this computer: firewall, disk encryption, screen lock and OS
    /// updates, each pass, fail or unknown with what to fix. Reads the
    /// machine only; needs no enrollment. Exits 0 whatever the results.
    /// Run it with sudo to let it read the firewall rules.
    Check(CheckArgs),
    /// Enroll this computer with a code from the owner: makes the device
    /// key (kept in your config dir, readable only by you), registers it
    /// and sends the first report. When you are signed in to the same
    /// server (`confidant login`), your token is linked to this device.
    Enroll(EnrollArgs),
    /// Check this computer and send the signed report; prints what it lets
    /// you open and what to fix.
    Report(ReportArgs),
    /// Keep reporting: every --every minutes and whenever the network
    /// changes (run it at login, e.g. from a systemd user unit).
    Run(RunArgs),
    /// Link a session to this device: CODE comes from "Link this browser"
    /// on the Devices page; without CODE, your saved login's token is
    /// linked.
    Link(LinkArgs),
}

/// How strict the local checks are.
#[derive(Debug, Args, Clone, Copy)]
pub struct CheckOptions {
    /// OS updates older than this many days fail.
    #[arg(
        long,
        value_name = "DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    max_update_age: u16,
    /// The screen must lock by itself after at most this many idle minutes.
    #[arg(
        long,
        value_name = "MINUTES",
        default_value_t = 15,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    max_idle: u16,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// text: one line per check (status, name, what was seen, the fix);
    /// json: the posture report.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[command(flatten)]
    options: CheckOptions,
}

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The server, e.g. https://vault.example.com.
    server: String,
    /// The enrollment code the owner gave you.
    code: String,
    /// What to call this computer (default: its host name).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    options: CheckOptions,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The server (needed only when this computer is enrolled with
    /// several).
    #[arg(long)]
    server: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[command(flatten)]
    options: CheckOptions,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[arg(long)]
    server: Option<String>,
    /// Minutes between reports (a report counts for 12 hours by default).
    #[arg(
        long,
        value_name = "MINUTES",
        default_value_t = 60,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    every: u16,
    #[command(flatten)]
    options: CheckOptions,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The code the Devices page showed (without it: link your saved
    /// login's token).
    code: Option<String>,
    #[arg(long)]
    server: Option<String>,
}

pub async fn run(command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Check(args) => check(&args),
        AgentCommand::Enroll(args) => enroll(args).await,
        AgentCommand::Report(args) => {
            let server = enrolled_server(args.server.as_deref())?;
            let verdict = report(&server, args.options).await?;
            match args.format {
                Format::Json => output::json(&verdict),
                Format::Text => {
                    print_verdict(&verdict);
                    Ok(())
                }
            }
        }
        AgentCommand::Run(args) => run_forever(args).await,
        AgentCommand::Link(args) => {
            let server = enrolled_server(args.server.as_deref())?;
            let name = match args.code {
                Some(code) => link_code(&server, &code).await?,
                None => link_saved_login(&server).await?,
            };
            println!("linked: the session now counts as coming from {name}");
            Ok(())
        }
    }
}

fn local_posture(options: CheckOptions) -> PostureReport {
    let mut opts = Options::new(Os::current(), OffsetDateTime::now_utc());
    opts.max_update_age = Duration::days(options.max_update_age.into());
    opts.max_idle = Duration::minutes(options.max_idle.into());
    confidant_agent::check(&LocalSystem::new(), &opts)
}

fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let report = local_posture(args.options);
    match args.format {
        Format::Json => output::json(&report),
        Format::Text => {
            let mut out = io::stdout().lock();
            write_text(&mut out, &report)?;
            Ok(())
        }
    }
}

/// Where the identity for `server` is kept:
/// `CONFIG_DIR/devices/<server, as a file name>.json`.
pub(crate) fn identity_path(server: &str) -> anyhow::Result<PathBuf> {
    let name: String = server
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    Ok(client::config_dir()?
        .join("devices")
        .join(format!("{name}.json")))
}

/// The server this computer is enrolled with: `wanted`, or the only one.
fn enrolled_server(wanted: Option<&str>) -> anyhow::Result<String> {
    if let Some(server) = wanted {
        let server = client::server_url(server)?;
        if !identity_path(&server)?.exists() {
            bail!(
                "this computer is not enrolled with {server}: run `confidant agent enroll {server} CODE`"
            );
        }
        return Ok(server);
    }
    let dir = client::config_dir()?.join("devices");
    let mut servers = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Ok(identity) = DeviceIdentity::load(&path)
            {
                servers.push(identity.server);
            }
        }
    }
    match servers.len() {
        0 => bail!(
            "this computer is not enrolled: ask the owner for an enrollment code and run `confidant agent enroll https://HOST CODE`"
        ),
        1 => Ok(servers.remove(0)),
        _ => bail!(
            "this computer is enrolled with several servers ({}): say which with --server",
            servers.join(", ")
        ),
    }
}

fn load_identity(server: &str) -> anyhow::Result<(DeviceIdentity, PathBuf)> {
    let path = identity_path(server)?;
    let identity = DeviceIdentity::load(&path)?;
    Ok((identity, path))
}

async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    server: &str,
    path: &str,
    body: &B,
) -> anyhow::Result<T> {
    let response = client::http()?
        .post(format!("{server}{path}"))
        .json(body)
        .send()
        .await
        .with_context(|| format!("cannot reach {server}"))?;
    Ok(client::check(response).await?.json().await?)
}

async fn enroll(args: EnrollArgs) -> anyhow::Result<()> {
    let server = client::server_url(&args.server)?;
    let path = identity_path(&server)?;
    let mut identity = DeviceIdentity::generate(&server, &mut rand_core::OsRng);
    // Checked once: the host name names the device, the rest is the first
    // report.
    let posture = local_posture(args.options);
    let name = args.name.unwrap_or_else(|| posture.host.clone());
    let request = identity.enroll_request(&args.code, &name, Os::current().name());
    let enrolled: EnrolledDevice = post(&server, "/api/v1/devices/enroll", &request).await?;
    identity.device = enrolled.device.clone();
    identity.person = enrolled.person.clone();
    identity.workspace = enrolled.workspace.clone();
    identity.save(&path)?;
    println!(
        "enrolled {name} for {} in {} (device {}); the key is in {}",
        enrolled.person,
        enrolled.workspace,
        enrolled.device,
        path.display()
    );
    let verdict = send_report(&server, &posture).await?;
    print_verdict(&verdict);
    if Client::from_saved().is_ok_and(|c| c.server() == server) {
        match link_saved_login(&server).await {
            Ok(_) => println!("your saved login's token is linked to this device"),
            Err(e) => eprintln!("warning: your saved login is not linked to this device: {e:#}"),
        }
    }
    println!("keep it reporting: run `confidant agent run` (e.g. at login)");
    Ok(())
}

/// Runs the checks, signs and sends the report.
async fn report(server: &str, options: CheckOptions) -> anyhow::Result<ReportVerdict> {
    send_report(server, &local_posture(options)).await
}

/// Signs and sends a report of checks already made.
async fn send_report(server: &str, posture: &PostureReport) -> anyhow::Result<ReportVerdict> {
    let (mut identity, path) = load_identity(server)?;
    let signed = identity.sign_report(posture, OffsetDateTime::now_utc())?;
    // Saved first: a sequence number is never used twice.
    identity.save(&path)?;
    post(server, "/api/v1/devices/report", &signed).await
}

fn print_verdict(verdict: &ReportVerdict) {
    for label in &verdict.labels {
        if label.ok {
            println!("{}: this device may open such items", label.label);
        } else {
            println!("{}: blocked", label.label);
            for step in &label.steps {
                println!("  - {}", output::clean(step));
            }
        }
    }
}

/// Links the session that showed `code` to this device.
async fn link_code(server: &str, code: &str) -> anyhow::Result<String> {
    let (identity, _) = load_identity(server)?;
    let answer: serde_json::Value =
        post(server, "/api/v1/devices/link", &identity.link_request(code)).await?;
    Ok(answer
        .get("device_name")
        .and_then(|n| n.as_str())
        .unwrap_or("this device")
        .to_owned())
}

/// Links the saved login's API token to this device.
pub(crate) async fn link_saved_login(server: &str) -> anyhow::Result<String> {
    let client = Client::from_saved()?;
    if client.server() != server {
        bail!(
            "your saved login is for {}, not {server}: run `confidant login {server}` first",
            client.server()
        );
    }
    let code: LinkCode = client
        .post("/api/v1/devices/link-code", &serde_json::json!({}))
        .await?;
    link_code(server, &code.code).await
}

/// The address this computer reaches the internet from, to notice a
/// network change (no packet is sent: a UDP "connect" only picks a route).
fn route_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

async fn run_forever(args: RunArgs) -> anyhow::Result<()> {
    let server = enrolled_server(args.server.as_deref())?;
    let every = StdDuration::from_secs(u64::from(args.every) * 60);
    let poll = StdDuration::from_secs(15);
    let mut last_route = route_address();
    let mut next = tokio::time::Instant::now();
    println!(
        "reporting to {server} every {} minutes and on network changes; Ctrl-C stops",
        args.every
    );
    loop {
        if tokio::time::Instant::now() >= next {
            match report(&server, args.options).await {
                Ok(verdict) => {
                    let ok: Vec<&str> = verdict
                        .labels
                        .iter()
                        .filter(|l| l.ok)
                        .map(|l| l.label.as_str())
                        .collect();
                    println!(
                        "{}: reported; opens {}",
                        output::time(OffsetDateTime::now_utc()),
                        if ok.is_empty() {
                            "no confidential items".to_owned()
                        } else {
                            ok.join(", ")
                        }
                    );
                    next = tokio::time::Instant::now() + every;
                }
                Err(e) => {
                    eprintln!("report failed ({e:#}); trying again in a minute");
                    next = tokio::time::Instant::now() + StdDuration::from_secs(60);
                }
            }
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tokio::time::sleep(poll) => {}
        }
        let route = route_address();
        if route != last_route {
            println!("the network changed: reporting now");
            last_route = route;
            next = tokio::time::Instant::now();
        }
    }
}

/// One line per check: `fail     firewall         what was seen (fix: ...)`.
/// Details come from the machine's tools, so control characters are
/// cleaned before they reach the terminal.
fn write_text(out: &mut impl Write, report: &PostureReport) -> io::Result<()> {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for check in &report.checks {
        let mut line = format!(
            "{:<7}  {:<width$}  {}",
            check.status.as_str(),
            output::clean(&check.name),
            output::clean(&check.detail)
        );
        if !check.fix.is_empty() {
            line.push_str(" (fix: ");
            line.push_str(&output::clean(&check.fix));
            line.push(')');
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use confidant_protocol::{CheckStatus, PostureCheck};

    use super::*;

    #[test]
    fn text_is_one_line_per_check_with_the_fix() {
        let check = |name: &str, status, detail: &str, fix: &str| PostureCheck {
            name: name.to_owned(),
            status,
            detail: detail.to_owned(),
            fix: fix.to_owned(),
        };
        let report = PostureReport {
            checks: vec![
                check(
                    "firewall",
                    CheckStatus::Fail,
                    "ufw is inactive",
                    "run: sudo ufw enable",
                ),
                check(
                    "screen_lock",
                    CheckStatus::Pass,
                    "the screen locks after 5 minutes idle",
                    "",
                ),
                check(
                    "os_updates",
                    CheckStatus::Unknown,
                    "odd\x1b[2Joutput\nhere",
                    "check by hand",
                ),
            ],
            host: "laptop".to_owned(),
            os: "linux".to_owned(),
            os_version: None,
            arch: "x86_64".to_owned(),
            agent_version: "0.1.0".to_owned(),
            checked_at: time::macros::datetime!(2025-03-01 12:00 UTC),
        };
        let mut out = Vec::new();
        write_text(&mut out, &report).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "fail     firewall     ufw is inactive (fix: run: sudo ufw enable)\n\
             pass     screen_lock  the screen locks after 5 minutes idle\n\
             unknown  os_updates   odd [2Joutput here (fix: check by hand)\n"
        );
    }
}
