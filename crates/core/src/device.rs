//! Device posture: which checks a workspace requires of the device a person
//! works from, for which labels, and what stands between a device's latest
//! report and an item.
//!
//! The agent on the person's computer checks the firewall, disk encryption,
//! screen lock and OS updates and sends a signed report; the vault keeps the
//! latest one per device. A request for an item is decided with the report
//! of the device its session is linked to: every check the workspace's
//! [`PosturePolicy`] requires for the item's label must pass, and the report
//! must be younger than the policy's maximum age.

use std::collections::BTreeMap;
use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::Label;

/// The checks an agent reports, by their names in the report.
pub const POSTURE_CHECKS: [&str; 4] = ["firewall", "disk_encryption", "screen_lock", "os_updates"];

/// A report older than this no longer counts, unless the owner sets another
/// age.
pub const DEFAULT_REPORT_HOURS: u32 = 12;

/// The longest age the owner may let a report count for.
pub const MAX_REPORT_HOURS: u32 = 7 * 24;

/// How long an enrollment code stays good.
pub const ENROLLMENT_HOURS: i64 = 24;

/// How far ahead of the server's clock a report's time may be.
pub const REPORT_CLOCK_SKEW: Duration = Duration::minutes(5);

/// Which checks must pass for which labels, and how young a report must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PosturePolicy {
    /// A report older than this many hours does not count.
    pub max_age_hours: u32,
    /// A check name and the lowest label at which it is required.
    pub required: BTreeMap<String, Label>,
}

impl Default for PosturePolicy {
    /// The firewall for Confidential and Restricted items; disk encryption
    /// and the screen lock too for Restricted ones; reports younger than
    /// 12 hours.
    fn default() -> Self {
        PosturePolicy {
            max_age_hours: DEFAULT_REPORT_HOURS,
            required: BTreeMap::from([
                ("firewall".to_owned(), Label::Confidential),
                ("disk_encryption".to_owned(), Label::Restricted),
                ("screen_lock".to_owned(), Label::Restricted),
            ]),
        }
    }
}

/// A posture policy that does not parse or does not make sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PosturePolicyError(String);

impl PosturePolicy {
    /// No check required for any label: devices do not matter.
    pub fn none() -> Self {
        PosturePolicy {
            max_age_hours: DEFAULT_REPORT_HOURS,
            required: BTreeMap::new(),
        }
    }

    /// Reads `firewall=confidential,disk_encryption=restricted` (or `none`)
    /// and a maximum report age in hours.
    pub fn parse(requirements: &str, max_age_hours: u32) -> Result<Self, PosturePolicyError> {
        if !(1..=MAX_REPORT_HOURS).contains(&max_age_hours) {
            return Err(PosturePolicyError(format!(
                "a report may count for 1 to {MAX_REPORT_HOURS} hours, not {max_age_hours}"
            )));
        }
        let mut required = BTreeMap::new();
        let text = requirements.trim();
        if !text.is_empty() && !text.eq_ignore_ascii_case("none") {
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (name, label) = part.split_once('=').ok_or_else(|| {
                    PosturePolicyError(format!(
                        "{part:?} is not CHECK=LABEL (e.g. firewall=confidential)"
                    ))
                })?;
                let name = name.trim().to_ascii_lowercase();
                if !POSTURE_CHECKS.contains(&name.as_str()) {
                    return Err(PosturePolicyError(format!(
                        "there is no posture check {name:?}: use one of {}",
                        POSTURE_CHECKS.join(", ")
                    )));
                }
                let label: Label = label.trim().parse().map_err(|_| {
                    PosturePolicyError(format!(
                        "{:?} is not a label: use public, internal, confidential or restricted",
                        label.trim()
                    ))
                })?;
                if required.insert(name.clone(), label).is_some() {
                    return Err(PosturePolicyError(format!("{name} is named twice")));
                }
            }
        }
        Ok(PosturePolicy {
            max_age_hours,
            required,
        })
    }

    /// The requirements as [`PosturePolicy::parse`] reads them back.
    pub fn requirements_text(&self) -> String {
        if self.required.is_empty() {
            return "none".to_owned();
        }
        self.required
            .iter()
            .map(|(name, label)| format!("{name}={label}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The checks an item with this label needs, in report order.
    pub fn required_for(&self, label: Label) -> Vec<&str> {
        POSTURE_CHECKS
            .into_iter()
            .filter(|name| self.required.get(*name).is_some_and(|min| label >= *min))
            .collect()
    }

    /// The maximum age of a report.
    pub fn max_age(&self) -> Duration {
        Duration::hours(i64::from(self.max_age_hours))
    }
}

/// What one check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckState {
    Pass,
    Fail,
    Unknown,
}

impl CheckState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Pass => "pass",
            CheckState::Fail => "fail",
            CheckState::Unknown => "unknown",
        }
    }
}

/// One check of a device's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub name: String,
    pub state: CheckState,
    /// What the agent saw.
    pub detail: String,
    /// What to do about it (empty when it passes).
    pub fix: String,
}

/// A device's latest verified report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posture {
    /// When the agent ran the checks.
    pub checked_at: OffsetDateTime,
    pub checks: Vec<CheckResult>,
}

/// The device a request comes from, as far as the gate is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStanding<'a> {
    /// The session or token is not linked to an enrolled device.
    Unlinked,
    /// It was, but the device has been revoked.
    Revoked,
    /// An enrolled device, with its latest report if it sent one.
    Enrolled(Option<&'a Posture>),
}

/// One thing that keeps a device from opening an item, with the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostureProblem {
    Unlinked,
    Revoked,
    NoReport,
    Stale {
        checked_at: OffsetDateTime,
        max_age_hours: u32,
    },
    Check(CheckResult),
}

impl PostureProblem {
    /// What to do, in plain words.
    pub fn step(&self) -> String {
        const REPORT: &str = "then send a new report with `confidant agent report`";
        match self {
            PostureProblem::Unlinked => "work from an enrolled device: link this session to it \
                 with `confidant agent link CODE` (the code is on the Devices page); no device \
                 yet? ask the owner for an enrollment code and run `confidant agent enroll URL \
                 CODE` on your computer"
                .to_owned(),
            PostureProblem::Revoked => "this session's device was revoked: ask the owner for a \
                 new enrollment code"
                .to_owned(),
            PostureProblem::NoReport => "send a posture report from your device with \
                 `confidant agent report`"
                .to_owned(),
            PostureProblem::Stale {
                checked_at,
                max_age_hours,
            } => format!(
                "your device's last report ({}) is older than {max_age_hours} hours: run \
                 `confidant agent report`, or keep `confidant agent run` going",
                checked_at.date()
            ),
            PostureProblem::Check(check) => {
                let fix = if check.fix.is_empty() {
                    String::new()
                } else {
                    format!(": {}", check.fix)
                };
                format!(
                    "the {} check says {} on your device ({}){fix}; {REPORT}",
                    check.name.replace('_', " "),
                    check.state.as_str(),
                    check.detail
                )
            }
        }
    }
}

impl fmt::Display for PostureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.step())
    }
}

/// What keeps the device from an item with `label` at `now` (empty: it may
/// open it, as far as the device goes).
pub fn posture_problems(
    policy: &PosturePolicy,
    label: Label,
    device: DeviceStanding<'_>,
    now: OffsetDateTime,
) -> Vec<PostureProblem> {
    let required = policy.required_for(label);
    if required.is_empty() {
        return Vec::new();
    }
    let posture = match device {
        DeviceStanding::Unlinked => return vec![PostureProblem::Unlinked],
        DeviceStanding::Revoked => return vec![PostureProblem::Revoked],
        DeviceStanding::Enrolled(None) => return vec![PostureProblem::NoReport],
        DeviceStanding::Enrolled(Some(posture)) => posture,
    };
    if now - posture.checked_at > policy.max_age() {
        return vec![PostureProblem::Stale {
            checked_at: posture.checked_at,
            max_age_hours: policy.max_age_hours,
        }];
    }
    required
        .into_iter()
        .filter_map(
            |name| match posture.checks.iter().find(|c| c.name == name) {
                Some(check) if check.state == CheckState::Pass => None,
                Some(check) => Some(PostureProblem::Check(check.clone())),
                None => Some(PostureProblem::Check(CheckResult {
                    name: name.to_owned(),
                    state: CheckState::Unknown,
                    detail: "the report does not have this check".to_owned(),
                    fix: "update confidant on your computer".to_owned(),
                })),
            },
        )
        .collect()
}

/// Whether a report's time is acceptable when it arrives at `now`: not
/// older than the policy's age, not ahead of the clock by more than the
/// skew. The error says what is wrong.
pub fn check_report_time(
    policy: &PosturePolicy,
    checked_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), String> {
    if checked_at > now + REPORT_CLOCK_SKEW {
        return Err(format!(
            "the report is dated {checked_at}, ahead of the server's clock ({now}): set the \
             device's clock right and report again"
        ));
    }
    if now - checked_at > policy.max_age() {
        return Err(format!(
            "the report is stale: made at {checked_at}, more than {} hours ago; run the checks \
             again",
            policy.max_age_hours
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn check(name: &str, state: CheckState) -> CheckResult {
        CheckResult {
            name: name.into(),
            state,
            detail: format!("{name} seen"),
            fix: format!("fix {name}"),
        }
    }

    fn posture(at: OffsetDateTime, states: [CheckState; 4]) -> Posture {
        Posture {
            checked_at: at,
            checks: POSTURE_CHECKS
                .into_iter()
                .zip(states)
                .map(|(n, s)| check(n, s))
                .collect(),
        }
    }

    #[test]
    fn the_default_needs_the_firewall_for_confidential_and_more_for_restricted() {
        let policy = PosturePolicy::default();
        assert!(policy.required_for(Label::Public).is_empty());
        assert!(policy.required_for(Label::Internal).is_empty());
        assert_eq!(policy.required_for(Label::Confidential), ["firewall"]);
        assert_eq!(
            policy.required_for(Label::Restricted),
            ["firewall", "disk_encryption", "screen_lock"]
        );
    }

    #[test]
    fn policies_read_back_and_bad_ones_say_why() {
        let policy = PosturePolicy::parse(" firewall=Confidential, os_updates=restricted", 6)
            .expect("valid");
        assert_eq!(
            policy.requirements_text(),
            "firewall=confidential,os_updates=restricted"
        );
        assert_eq!(
            PosturePolicy::parse(&policy.requirements_text(), 6),
            Ok(policy)
        );
        assert_eq!(PosturePolicy::parse("none", 12), Ok(PosturePolicy::none()));
        let err = |t: &str, h| PosturePolicy::parse(t, h).unwrap_err().to_string();
        assert!(err("antivirus=public", 12).contains("use one of firewall"));
        assert!(err("firewall", 12).contains("CHECK=LABEL"));
        assert!(err("firewall=secret", 12).contains("not a label"));
        assert!(err("firewall=public,firewall=internal", 12).contains("twice"));
        assert!(err("firewall=public", 0).contains("1 to 168"));
        assert!(err("firewall=public", 169).contains("1 to 168"));
    }

    #[test]
    fn a_device_passes_only_with_a_fresh_report_passing_every_required_check() {
        use CheckState::*;
        let policy = PosturePolicy::default();
        let now = datetime!(2026-11-29 12:00 UTC);
        let good = posture(now - Duration::hours(1), [Pass, Fail, Unknown, Fail]);
        let conf = Label::Confidential;
        assert!(
            posture_problems(&policy, conf, DeviceStanding::Enrolled(Some(&good)), now).is_empty()
        );
        // Restricted needs disk encryption and the screen lock too.
        let problems = posture_problems(
            &policy,
            Label::Restricted,
            DeviceStanding::Enrolled(Some(&good)),
            now,
        );
        assert_eq!(problems.len(), 2);
        assert!(
            problems[0]
                .step()
                .contains("disk encryption check says fail")
        );
        assert!(problems[0].step().contains("fix disk_encryption"));
        assert!(
            problems[1]
                .step()
                .contains("screen lock check says unknown")
        );
        // Nothing needed below Confidential, whatever the device.
        assert!(
            posture_problems(&policy, Label::Internal, DeviceStanding::Unlinked, now).is_empty()
        );
        assert_eq!(
            posture_problems(&policy, conf, DeviceStanding::Unlinked, now),
            [PostureProblem::Unlinked]
        );
        assert_eq!(
            posture_problems(&policy, conf, DeviceStanding::Revoked, now),
            [PostureProblem::Revoked]
        );
        assert_eq!(
            posture_problems(&policy, conf, DeviceStanding::Enrolled(None), now),
            [PostureProblem::NoReport]
        );
        // 12 hours exactly still counts; a second more does not.
        let edge = posture(now - Duration::hours(12), [Pass, Pass, Pass, Pass]);
        assert!(
            posture_problems(&policy, conf, DeviceStanding::Enrolled(Some(&edge)), now).is_empty()
        );
        let late = now + Duration::seconds(1);
        assert!(matches!(
            posture_problems(&policy, conf, DeviceStanding::Enrolled(Some(&edge)), late)[..],
            [PostureProblem::Stale { .. }]
        ));
        // A failing firewall, and a report without the check at all.
        let bad = posture(now, [Fail, Pass, Pass, Pass]);
        let problems = posture_problems(&policy, conf, DeviceStanding::Enrolled(Some(&bad)), now);
        assert!(
            problems[0]
                .step()
                .contains("firewall check says fail on your device (firewall seen): fix firewall")
        );
        let empty = Posture {
            checked_at: now,
            checks: Vec::new(),
        };
        let problems = posture_problems(&policy, conf, DeviceStanding::Enrolled(Some(&empty)), now);
        assert!(problems[0].step().contains("does not have this check"));
    }

    #[test]
    fn report_times_must_be_recent_and_not_ahead() {
        let policy = PosturePolicy::default();
        let now = datetime!(2026-11-29 12:00 UTC);
        assert!(check_report_time(&policy, now, now).is_ok());
        assert!(check_report_time(&policy, now + Duration::minutes(5), now).is_ok());
        assert!(
            check_report_time(&policy, now + Duration::minutes(6), now)
                .unwrap_err()
                .contains("ahead")
        );
        assert!(
            check_report_time(&policy, now - Duration::hours(13), now)
                .unwrap_err()
                .contains("stale")
        );
    }
}
