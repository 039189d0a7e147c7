//! The device posture agent: checks that read the local machine (firewall,
//! disk encryption, screen lock, OS updates) on Linux, macOS and Windows,
//! and the report they make ([`confidant_protocol::PostureReport`]).
//!
//! Every check is a pure function of what the machine says: command outputs,
//! files and times come through the [`System`] trait, the current time is a
//! parameter. The parsers are unit-tested on recorded outputs of each tool;
//! [`LocalSystem`] runs the real commands, directly (never through a shell)
//! and with a timeout. A check that cannot tell says `unknown` and why; it
//! never fails the run.
//!
//! The device's key and the signing of enrollment, reports and session
//! links live in [`identity`]; sending them is the CLI's (`confidant agent
//! enroll|report|run|link`). Left out on purpose: changing anything on the
//! machine (a check only reads) and the server's side of posture. This
//! crate links `protocol` only, never the vault or the server.

mod disk;
mod firewall;
mod host;
pub mod identity;
mod rules;
mod screen_lock;
mod system;
mod updates;

use confidant_protocol::{
    CHECK_DISK_ENCRYPTION, CHECK_FIREWALL, CHECK_OS_UPDATES, CHECK_SCREEN_LOCK, CheckStatus,
    PostureCheck, PostureReport,
};
use time::{Duration, OffsetDateTime};

pub use system::{LocalSystem, Output, RunError, System};

/// The operating system whose tools the checks ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    /// Any other; every check says unknown.
    Other,
}

impl Os {
    /// The system this agent was built for.
    pub fn current() -> Self {
        match std::env::consts::OS {
            "linux" => Self::Linux,
            "macos" => Self::MacOs,
            "windows" => Self::Windows,
            _ => Self::Other,
        }
    }

    /// The name in reports: `linux`, `macos`, `windows`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linux => "linux",
            Self::MacOs => "macos",
            Self::Windows => "windows",
            Self::Other => std::env::consts::OS,
        }
    }
}

/// What a check run needs besides the machine.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub os: Os,
    /// The time of the check (the clock stays at the edge).
    pub now: OffsetDateTime,
    /// OS updates older than this fail (default 30 days).
    pub max_update_age: Duration,
    /// The screen must lock after at most this much idle time (default
    /// 15 minutes).
    pub max_idle: Duration,
}

impl Options {
    /// The defaults for `os` at `now`.
    pub fn new(os: Os, now: OffsetDateTime) -> Self {
        Self {
            os,
            now,
            max_update_age: Duration::days(30),
            max_idle: Duration::minutes(15),
        }
    }
}

/// One check's result before it gets its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub status: CheckStatus,
    pub detail: String,
    pub fix: String,
}

impl Finding {
    pub fn pass(detail: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Pass,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    pub fn fail(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    pub fn unknown(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Unknown,
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    fn named(self, name: &str) -> PostureCheck {
        PostureCheck {
            name: name.to_owned(),
            status: self.status,
            detail: self.detail,
            fix: self.fix,
        }
    }
}

fn unsupported(os: Os) -> Finding {
    Finding::unknown(
        format!("the agent has no check for {} yet", os.name()),
        "check this by hand",
    )
}

/// The firewall check alone.
pub fn check_firewall(system: &dyn System, os: Os) -> Finding {
    match os {
        Os::Linux => firewall::linux(system),
        Os::MacOs => firewall::macos(system),
        Os::Windows => firewall::windows(system),
        Os::Other => unsupported(os),
    }
}

/// The disk encryption check alone.
pub fn check_disk_encryption(system: &dyn System, os: Os) -> Finding {
    match os {
        Os::Linux => disk::linux(system),
        Os::MacOs => disk::macos(system),
        Os::Windows => disk::windows(system),
        Os::Other => unsupported(os),
    }
}

/// The screen lock check alone.
pub fn check_screen_lock(system: &dyn System, options: &Options) -> Finding {
    match options.os {
        Os::Linux => screen_lock::linux(system, options.max_idle),
        Os::MacOs => screen_lock::macos(system, options.max_idle),
        Os::Windows => screen_lock::windows(system, options.max_idle),
        Os::Other => unsupported(options.os),
    }
}

/// The OS updates check alone.
pub fn check_os_updates(system: &dyn System, options: &Options) -> Finding {
    match options.os {
        Os::Linux => updates::linux(system, options.now, options.max_update_age),
        Os::MacOs => updates::macos(system, options.now, options.max_update_age),
        Os::Windows => updates::windows(system, options.now, options.max_update_age),
        Os::Other => unsupported(options.os),
    }
}

/// Runs every check and makes the report. Never fails: what cannot be
/// read is `unknown`.
pub fn check(system: &dyn System, options: &Options) -> PostureReport {
    let checks = vec![
        check_firewall(system, options.os).named(CHECK_FIREWALL),
        check_disk_encryption(system, options.os).named(CHECK_DISK_ENCRYPTION),
        check_screen_lock(system, options).named(CHECK_SCREEN_LOCK),
        check_os_updates(system, options).named(CHECK_OS_UPDATES),
    ];
    PostureReport {
        checks,
        host: host::name(system, options.os),
        os: options.os.name().to_owned(),
        os_version: host::version(system, options.os),
        arch: std::env::consts::ARCH.to_owned(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        checked_at: options.now,
    }
}

/// `n` days, or hours when under a day, in words ("12 days", "5 hours").
fn age_in_words(age: Duration) -> String {
    let days = age.whole_days();
    if days >= 2 {
        format!("{days} days")
    } else if days == 1 {
        "1 day".to_owned()
    } else {
        let hours = age.whole_hours().max(0);
        if hours == 1 {
            "1 hour".to_owned()
        } else {
            format!("{hours} hours")
        }
    }
}

/// The first non-empty line of a command's error output, for details.
fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// Whether a command's complaint means it needs more privileges.
fn needs_privileges(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "permission denied",
        "operation not permitted",
        "must be root",
        "need to be root",
        "access is denied",
        "requires elevation",
        "access a required resource was denied",
        "administrator",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::system::fake::FakeSystem;

    #[test]
    fn a_machine_that_answers_nothing_is_unknown_everywhere_with_every_name() {
        let now = time::macros::datetime!(2025-03-01 12:00 UTC);
        for os in [Os::Linux, Os::MacOs, Os::Windows, Os::Other] {
            let report = check(&FakeSystem::default(), &Options::new(os, now));
            let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, confidant_protocol::CHECK_NAMES, "{os:?}");
            for c in &report.checks {
                assert_eq!(c.status, CheckStatus::Unknown, "{os:?} {c:?}");
                assert!(!c.detail.is_empty(), "{os:?} {c:?}");
            }
            assert_eq!(report.checked_at, now);
        }
    }

    #[test]
    fn the_json_shape_is_the_contract() {
        let now = time::macros::datetime!(2025-03-01 12:00 UTC);
        let report = check(
            &FakeSystem::default().file("/proc/sys/kernel/hostname", "laptop\n"),
            &Options::new(Os::Linux, now),
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["host"], "laptop");
        assert_eq!(json["os"], "linux");
        assert_eq!(json["checked_at"], "2025-03-01T12:00:00Z");
        let first = &json["checks"][0];
        assert_eq!(first["name"], "firewall");
        assert_eq!(first["status"], "unknown");
        assert!(first["detail"].is_string());
        assert!(first["fix"].is_string());
        let back: PostureReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn ages_in_words() {
        assert_eq!(age_in_words(Duration::days(40)), "40 days");
        assert_eq!(age_in_words(Duration::hours(30)), "1 day");
        assert_eq!(age_in_words(Duration::hours(5)), "5 hours");
        assert_eq!(age_in_words(Duration::minutes(70)), "1 hour");
        assert_eq!(age_in_words(Duration::minutes(-5)), "0 hours");
    }
}
