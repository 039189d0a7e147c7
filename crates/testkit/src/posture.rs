//! Posture reports for tests that need a device in a given state (the real
//! checks on real rulesets are tested in the agent and the CLI's
//! end-to-end test).

use confidant_protocol::{CheckStatus, PostureCheck, PostureReport};
use time::OffsetDateTime;

/// Every check passes.
pub const PASS: [CheckStatus; 4] = [CheckStatus::Pass; 4];

/// The firewall fails; the rest pass.
pub const NO_FIREWALL: [CheckStatus; 4] = [
    CheckStatus::Fail,
    CheckStatus::Pass,
    CheckStatus::Pass,
    CheckStatus::Pass,
];

/// A report from "alex-laptop" made at `at` whose checks (firewall, disk
/// encryption, screen lock, OS updates) have these statuses; a check that
/// does not pass says "run: fix-NAME".
pub fn report(at: OffsetDateTime, statuses: [CheckStatus; 4]) -> PostureReport {
    PostureReport {
        checks: ["firewall", "disk_encryption", "screen_lock", "os_updates"]
            .into_iter()
            .zip(statuses)
            .map(|(name, status)| PostureCheck {
                name: name.into(),
                status,
                detail: format!("{name} seen as {}", status.as_str()),
                fix: if status == CheckStatus::Pass {
                    String::new()
                } else {
                    format!("run: fix-{name}")
                },
            })
            .collect(),
        host: "alex-laptop".into(),
        os: "linux".into(),
        os_version: None,
        arch: "x86_64".into(),
        agent_version: "test".into(),
        checked_at: at,
    }
}
