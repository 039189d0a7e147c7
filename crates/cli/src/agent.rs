//! `confidant agent`: the device posture agent on an assistant's computer.
//!
//! `check` only reads this machine (firewall, disk encryption, screen lock,
//! OS updates): it needs no data dir, no server and no enrollment. It exits
//! 0 whenever the checks ran, whatever they found (a failing check is a
//! result, not an error); scripts read the statuses from `--format json`.

use std::io::{self, Write};

use clap::{Args, Subcommand};
use confidant_agent::{LocalSystem, Options, Os};
use confidant_protocol::PostureReport;
use time::{Duration, OffsetDateTime};

use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Check this computer: firewall, disk encryption, screen lock and OS
    /// updates, each pass, fail or unknown with what to fix. Reads the
    /// machine only; needs no enrollment. Exits 0 whatever the results.
    /// Run it with sudo to let it read the firewall rules.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// text: one line per check (status, name, what was seen, the fix);
    /// json: the posture report.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
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

pub fn run(command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let mut options = Options::new(Os::current(), OffsetDateTime::now_utc());
    options.max_update_age = Duration::days(args.max_update_age.into());
    options.max_idle = Duration::minutes(args.max_idle.into());
    let report = confidant_agent::check(&LocalSystem::new(), &options);
    match args.format {
        Format::Json => output::json(&report),
        Format::Text => {
            let mut out = io::stdout().lock();
            write_text(&mut out, &report)?;
            Ok(())
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
