//! Are OS updates recent? Debian and Ubuntu: when apt last refreshed its
//! package lists, when it last upgraded, and whether security updates are
//! waiting. macOS: the newest entry of `softwareupdate --history`. Windows:
//! the newest installed hotfix. Anything else is unknown.
//!
//! Dates in apt's history and in the tools' listings are local time without
//! an offset; they are read as UTC, which is at most half a day off, small
//! beside a threshold in days.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::system::System;
use crate::{Finding, age_in_words, first_line};

const APT_FIX: &str = "run: sudo apt update && sudo apt upgrade, and keep automatic updates on \
     with: sudo apt install unattended-upgrades";

const APT_LISTS: &str = "/var/lib/apt/lists";
const APT_STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";
const APT_HISTORY: &str = "/var/log/apt/history.log";

pub(crate) fn linux(system: &dyn System, now: OffsetDateTime, max_age: Duration) -> Finding {
    let os_release = system.read_file("/etc/os-release").unwrap_or_default();
    let lists = system.list_dir(APT_LISTS);
    if !is_debian_like(&os_release) && lists.is_err() {
        let name = os_release_value(&os_release, "PRETTY_NAME")
            .unwrap_or_else(|| "this distribution".to_owned());
        return Finding::unknown(
            format!(
                "the agent reads update freshness only on Debian and Ubuntu (apt), not on {name}"
            ),
            "make sure updates are installed at least monthly with your distribution's tool",
        );
    }
    let mut refreshed = system.modified(APT_STAMP).ok();
    for name in lists.unwrap_or_default() {
        if (name.ends_with("_InRelease") || name.ends_with("_Release"))
            && let Ok(when) = system.modified(&format!("{APT_LISTS}/{name}"))
        {
            refreshed = refreshed.max(Some(when));
        }
    }
    let upgraded = system
        .read_file(APT_HISTORY)
        .ok()
        .and_then(|text| last_apt_upgrade(&text));
    let pending = system
        .run(
            "apt-get",
            &["-s", "-o", "Debug::NoLocking=true", "dist-upgrade"],
        )
        .ok()
        .filter(|out| out.success)
        .map(|out| pending_security_updates(&out.stdout));
    apt_verdict(now, max_age, refreshed, upgraded, pending.as_deref())
}

pub(crate) fn apt_verdict(
    now: OffsetDateTime,
    max_age: Duration,
    refreshed: Option<OffsetDateTime>,
    upgraded: Option<OffsetDateTime>,
    pending: Option<&[String]>,
) -> Finding {
    let Some(refreshed) = refreshed else {
        return Finding::unknown(
            format!("could not tell when apt last refreshed its package lists ({APT_LISTS})"),
            APT_FIX,
        );
    };
    let refreshed_age = now - refreshed;
    let max_words = age_in_words(max_age);
    if refreshed_age > max_age {
        return Finding::fail(
            format!(
                "apt last refreshed its package lists {} ago (at most {max_words} allowed), so \
                 new updates are not being fetched",
                age_in_words(refreshed_age)
            ),
            APT_FIX,
        );
    }
    let mut detail = format!(
        "apt refreshed its package lists {} ago",
        age_in_words(refreshed_age)
    );
    let upgraded_age = upgraded.map(|u| now - u);
    if let Some(age) = upgraded_age {
        detail.push_str(&format!("; last upgrade {} ago", age_in_words(age)));
    }
    match pending {
        None => detail.push_str("; waiting security updates could not be read"),
        Some([]) => detail.push_str("; no security updates are waiting"),
        Some(packages) => {
            let mut names: Vec<&str> = packages.iter().take(5).map(String::as_str).collect();
            if packages.len() > names.len() {
                names.push("...");
            }
            let waiting = format!(
                "{} security update{} waiting ({})",
                packages.len(),
                if packages.len() == 1 { " is" } else { "s are" },
                names.join(", ")
            );
            let recent = upgraded_age.is_some_and(|age| age <= max_age);
            if !recent {
                let last = upgraded_age.map_or_else(
                    || "no recent upgrade in apt's history".to_owned(),
                    |age| format!("the last upgrade was {} ago", age_in_words(age)),
                );
                return Finding::fail(format!("{waiting} and {last}"), APT_FIX);
            }
            detail.push_str(&format!("; {waiting}"));
        }
    }
    Finding::pass(detail)
}

fn os_release_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix('=')?;
        Some(value.trim().trim_matches('"').to_owned())
    })
}

/// `/etc/os-release` of Debian, Ubuntu and their derivatives.
pub(crate) fn is_debian_like(os_release: &str) -> bool {
    ["ID", "ID_LIKE"].iter().any(|key| {
        os_release_value(os_release, key).is_some_and(|v| {
            v.split_whitespace()
                .any(|id| id == "debian" || id == "ubuntu")
        })
    })
}

/// The end of the newest upgrade in apt's history.log: a transaction that
/// upgraded packages and was asked to (`apt upgrade`, `unattended-upgrade`,
/// a desktop updater without a command line), not an `apt install` that
/// happened to upgrade a dependency.
pub(crate) fn last_apt_upgrade(history: &str) -> Option<OffsetDateTime> {
    let mut newest = None;
    for block in history.split("\n\n") {
        let upgraded = block.lines().any(|l| l.starts_with("Upgrade:"));
        let asked = block
            .lines()
            .find_map(|l| l.strip_prefix("Commandline:"))
            .is_none_or(|command| command.contains("upgrade"));
        if !(upgraded && asked) {
            continue;
        }
        let when = block
            .lines()
            .find_map(|l| l.strip_prefix("End-Date:"))
            .or_else(|| block.lines().find_map(|l| l.strip_prefix("Start-Date:")));
        if let Some(when) = when.and_then(parse_iso_datetime) {
            newest = newest.max(Some(when));
        }
    }
    newest
}

/// `apt-get -s dist-upgrade`: the packages whose new version comes from a
/// security archive.
pub(crate) fn pending_security_updates(simulation: &str) -> Vec<String> {
    simulation
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Inst ")?;
            let name = rest.split_whitespace().next()?;
            let origin = &rest[rest.find('(')?..];
            origin
                .to_ascii_lowercase()
                .contains("security")
                .then(|| name.to_owned())
        })
        .collect()
}

/// `2024-05-01  10:00:00` (apt's two spaces included) or `2024-05-01`.
fn parse_iso_datetime(text: &str) -> Option<OffsetDateTime> {
    let mut words = text.split_whitespace();
    let date = parse_ymd(words.next()?)?;
    let time = words.next().and_then(parse_hms).unwrap_or(Time::MIDNIGHT);
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn numbers(text: &str, separator: char) -> Option<Vec<u32>> {
    text.split(separator)
        .map(|part| part.trim().parse().ok())
        .collect()
}

fn parse_ymd(text: &str) -> Option<Date> {
    let [y, m, d] = numbers(text, '-')?[..] else {
        return None;
    };
    date(y, m, d)
}

/// `04/02/2024` (month first, as the tools print in the C and US locales).
fn parse_mdy(text: &str) -> Option<Date> {
    let [m, d, y] = numbers(text, '/')?[..] else {
        return None;
    };
    date(y, m, d)
}

fn date(y: u32, m: u32, d: u32) -> Option<Date> {
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()
}

fn parse_hms(text: &str) -> Option<Time> {
    let [h, m, s] = numbers(text, ':')?[..] else {
        return None;
    };
    Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(s).ok()?,
    )
    .ok()
}

/// The newest dated entry: its date and its name.
type Newest = Option<(OffsetDateTime, String)>;

fn verdict_by_newest(
    now: OffsetDateTime,
    max_age: Duration,
    newest: Newest,
    what: &str,
    fix: &str,
) -> Option<Finding> {
    let (when, name) = newest?;
    let age = now - when;
    let detail = format!(
        "the newest {what} ({name}) was installed {} ago",
        age_in_words(age)
    );
    Some(if age > max_age {
        Finding::fail(
            format!("{detail}, more than the {} allowed", age_in_words(max_age)),
            fix,
        )
    } else {
        Finding::pass(detail)
    })
}

const MACOS_FIX: &str = "install updates in System Settings > General > Software Update, and turn \
     on Automatic Updates";

pub(crate) fn macos(system: &dyn System, now: OffsetDateTime, max_age: Duration) -> Finding {
    let out = match system.run("softwareupdate", &["--history"]) {
        Ok(out) if out.success => out,
        Ok(out) => {
            return Finding::unknown(
                format!(
                    "softwareupdate --history failed: {}",
                    first_line(&out.all_text())
                ),
                MACOS_FIX,
            );
        }
        Err(e) => {
            return Finding::unknown(format!("could not read the update history: {e}"), MACOS_FIX);
        }
    };
    verdict_by_newest(
        now,
        max_age,
        newest_softwareupdate(&out.stdout),
        "update",
        MACOS_FIX,
    )
    .unwrap_or_else(|| {
        Finding::unknown("softwareupdate --history lists no dated updates", MACOS_FIX)
    })
}

/// `softwareupdate --history`: rows of name, version and
/// `MM/DD/YYYY, HH:MM:SS`.
pub(crate) fn newest_softwareupdate(text: &str) -> Newest {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            // The date and time are the last two words: "04/02/2024," "10:15:07".
            let [.., day, clock] = words[..] else {
                return None;
            };
            let date = parse_mdy(day.trim_end_matches(','))?;
            let time = parse_hms(clock).unwrap_or(Time::MIDNIGHT);
            let name_words = words.len().checked_sub(3)?;
            let name = words[..name_words].join(" ");
            Some((PrimitiveDateTime::new(date, time).assume_utc(), name))
        })
        .max_by_key(|(when, _)| *when)
}

const WINDOWS_FIX: &str = "install updates in Settings > Windows Update";

/// One `KB5034441 2024-01-10` line per installed hotfix.
const PS_HOTFIXES: &str = "Get-HotFix | Where-Object InstalledOn | ForEach-Object { $_.HotFixID + ' ' + $_.InstalledOn.ToString('yyyy-MM-dd') }";

pub(crate) fn windows(system: &dyn System, now: OffsetDateTime, max_age: Duration) -> Finding {
    let result = system.run(
        "powershell",
        &["-NoProfile", "-NonInteractive", "-Command", PS_HOTFIXES],
    );
    let newest = result
        .as_ref()
        .ok()
        .filter(|out| out.success)
        .and_then(|out| newest_hotfix(&out.stdout));
    if let Some(found) = verdict_by_newest(now, max_age, newest, "update", WINDOWS_FIX) {
        return found;
    }
    let why = match &result {
        Ok(out) => first_line(&out.all_text()).to_owned(),
        Err(e) => e.to_string(),
    };
    Finding::unknown(
        format!("could not read the installed updates (Get-HotFix): {why}"),
        "check Settings > Windows Update > Update history",
    )
}

/// Lines of `KB5034441 2024-01-10` (PowerShell) or `KB5034441 1/10/2024`
/// (`wmic qfe get HotFixID,InstalledOn`).
pub(crate) fn newest_hotfix(text: &str) -> Newest {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let id = words.next()?;
            let day = words.next()?;
            let date = parse_ymd(day).or_else(|| parse_mdy(day))?;
            Some((
                PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc(),
                id.to_owned(),
            ))
        })
        .max_by_key(|(when, _)| *when)
}

#[cfg(test)]
mod tests;
