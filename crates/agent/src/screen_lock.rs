//! Does the screen lock by itself after a short idle time? Linux: GNOME
//! (and Cinnamon) through gsettings, KDE Plasma through kreadconfig;
//! a machine without a graphical session is unknown. macOS: the password
//! after sleep or screen saver, and when those start. Windows: the machine
//! inactivity limit, or a password-protected screen saver.

use std::collections::HashMap;

use time::Duration;

use crate::system::{Output, RunError, System};
use crate::{Finding, first_line};

fn minutes(d: Duration) -> String {
    let m = d.whole_minutes();
    if m == 1 {
        "1 minute".to_owned()
    } else if m >= 1 {
        format!("{m} minutes")
    } else {
        format!("{} seconds", d.whole_seconds())
    }
}

/// The settings tool of a desktop, and how to ask it.
struct Reader<'a> {
    system: &'a dyn System,
    /// Under sudo, the desktop's settings are the invoking user's: ask as
    /// that user (`sudo -n -H -u USER ...`).
    as_user: Option<String>,
}

impl Reader<'_> {
    fn run(&self, program: &str, args: &[&str]) -> Result<Output, RunError> {
        match &self.as_user {
            Some(user) => {
                let mut full = vec!["-n", "-H", "-u", user.as_str(), program];
                full.extend_from_slice(args);
                self.system.run("sudo", &full)
            }
            None => self.system.run(program, args),
        }
    }

    /// A command's trimmed output when it succeeded.
    fn value(&self, program: &str, args: &[&str]) -> Result<String, String> {
        match self.run(program, args) {
            Ok(out) if out.success => Ok(out.stdout.trim().to_owned()),
            Ok(out) => Err(first_line(&out.all_text()).to_owned()),
            Err(e) => Err(e.to_string()),
        }
    }
}

pub(crate) fn linux(system: &dyn System, max_idle: Duration) -> Finding {
    let session_type = system.env("XDG_SESSION_TYPE").unwrap_or_default();
    let graphical = system.env("DISPLAY").is_some()
        || system.env("WAYLAND_DISPLAY").is_some()
        || matches!(session_type.as_str(), "x11" | "wayland");
    if !graphical {
        return Finding::unknown(
            "no graphical session here (DISPLAY and WAYLAND_DISPLAY are not set): a server or a \
             remote terminal has no screen to lock",
            "on a desktop computer, run the check in a terminal of your desktop session",
        );
    }
    let as_user = system
        .env("SUDO_USER")
        .filter(|u| u != "root" && !u.is_empty());
    let reader = Reader { system, as_user };
    let desktop = system.env("XDG_CURRENT_DESKTOP").unwrap_or_default();
    let upper = desktop.to_ascii_uppercase();
    if upper.contains("KDE") {
        return kde(&reader, max_idle);
    }
    let schemas = if upper.contains("CINNAMON") {
        (
            "org.cinnamon.desktop.screensaver",
            "org.cinnamon.desktop.session",
        )
    } else {
        ("org.gnome.desktop.screensaver", "org.gnome.desktop.session")
    };
    let lock = reader.value("gsettings", &["get", schemas.0, "lock-enabled"]);
    let idle = reader.value("gsettings", &["get", schemas.1, "idle-delay"]);
    let lock_delay = reader
        .value("gsettings", &["get", schemas.0, "lock-delay"])
        .ok()
        .and_then(|v| gvariant_u32(&v))
        .unwrap_or(0);
    match (lock, idle) {
        (Ok(lock), Ok(idle)) => {
            gnome(&lock, &idle, lock_delay, schemas, max_idle).unwrap_or_else(|| {
                Finding::unknown(
                    format!(
                        "gsettings gave answers the agent does not understand: {lock:?}, {idle:?}"
                    ),
                    "check Settings > Privacy > Screen Lock",
                )
            })
        }
        (Err(why), _) | (_, Err(why)) => {
            let name = if desktop.is_empty() {
                "this desktop".to_owned()
            } else {
                format!("the {desktop} desktop")
            };
            Finding::unknown(
                format!(
                    "could not read the screen lock settings of {name} (the agent reads GNOME, \
                     Cinnamon and KDE Plasma): {why}"
                ),
                "check your desktop's screen lock settings by hand: lock after at most 15 minutes",
            )
        }
    }
}

/// `gsettings get` answers: `true`, `uint32 300`.
pub(crate) fn gnome(
    lock: &str,
    idle: &str,
    lock_delay: u32,
    schemas: (&str, &str),
    max_idle: Duration,
) -> Option<Finding> {
    let enabled = match lock {
        "true" => true,
        "false" => false,
        _ => return None,
    };
    let idle = gvariant_u32(idle)?;
    let idle_fix = format!("run: gsettings set {} idle-delay 300", schemas.1);
    if !enabled {
        let mut fix = format!("run: gsettings set {} lock-enabled true", schemas.0);
        if idle == 0 || i64::from(idle) > max_idle.whole_seconds() {
            fix.push_str(&format!("; gsettings set {} idle-delay 300", schemas.1));
        }
        return Some(Finding::fail("automatic screen lock is off", fix));
    }
    if idle == 0 {
        return Some(Finding::fail(
            "the screen never blanks when idle (idle-delay is 0), so it never locks by itself",
            idle_fix,
        ));
    }
    let total = Duration::seconds(i64::from(idle) + i64::from(lock_delay));
    if total > max_idle {
        return Some(Finding::fail(
            format!(
                "the screen locks after {} idle, longer than the {} allowed",
                minutes(total),
                minutes(max_idle)
            ),
            idle_fix,
        ));
    }
    Some(Finding::pass(format!(
        "the screen locks after {} idle",
        minutes(total)
    )))
}

/// `uint32 300` or `300`.
fn gvariant_u32(text: &str) -> Option<u32> {
    text.trim()
        .strip_prefix("uint32")
        .unwrap_or(text)
        .trim()
        .parse()
        .ok()
}

fn kde(reader: &Reader<'_>, max_idle: Duration) -> Finding {
    let key = |tool: &str, key: &str, default: &str| {
        reader.value(
            tool,
            &[
                "--file",
                "kscreenlockerrc",
                "--group",
                "Daemon",
                "--key",
                key,
                "--default",
                default,
            ],
        )
    };
    for tool in ["kreadconfig6", "kreadconfig5"] {
        let (Ok(autolock), Ok(timeout)) =
            (key(tool, "Autolock", "true"), key(tool, "Timeout", "5"))
        else {
            continue;
        };
        if let Some(found) = kde_verdict(&autolock, &timeout, max_idle) {
            return found;
        }
    }
    Finding::unknown(
        "could not read KDE Plasma's screen locking settings (kreadconfig6 or kreadconfig5)",
        "check System Settings > Screen Locking",
    )
}

const KDE_FIX: &str =
    "in System Settings > Screen Locking, tick \"Lock screen automatically\" after 5 minutes";

/// `kreadconfig` answers: Autolock `true`, Timeout in minutes.
pub(crate) fn kde_verdict(autolock: &str, timeout: &str, max_idle: Duration) -> Option<Finding> {
    let autolock = match autolock.trim() {
        "true" => true,
        "false" => false,
        _ => return None,
    };
    let timeout: i64 = timeout.trim().parse().ok()?;
    if !autolock {
        return Some(Finding::fail("automatic screen lock is off", KDE_FIX));
    }
    let after = Duration::minutes(timeout);
    if timeout <= 0 || after > max_idle {
        return Some(Finding::fail(
            format!(
                "the screen locks after {} idle, longer than the {} allowed",
                minutes(after),
                minutes(max_idle)
            ),
            KDE_FIX,
        ));
    }
    Some(Finding::pass(format!(
        "the screen locks after {} idle",
        minutes(after)
    )))
}

const MACOS_FIX: &str = "in System Settings > Lock Screen, set \"Require password after screen \
     saver begins or display is turned off\" to Immediately and \"Turn display off when \
     inactive\" to 5 minutes";

pub(crate) fn macos(system: &dyn System, max_idle: Duration) -> Finding {
    // sysadminctl prints its answer on stderr, after a timestamp.
    let mut delay = system
        .run("sysadminctl", &["-screenLock", "status"])
        .ok()
        .and_then(|out| sysadminctl_screen_lock(&out.all_text()));
    if delay.is_none() {
        // The older preference, still written on many Macs.
        let ask = system
            .run(
                "defaults",
                &["read", "com.apple.screensaver", "askForPassword"],
            )
            .ok()
            .filter(|out| out.success);
        if let Some(ask) = ask {
            let wait = system
                .run(
                    "defaults",
                    &["read", "com.apple.screensaver", "askForPasswordDelay"],
                )
                .ok()
                .filter(|out| out.success)
                .and_then(|out| out.stdout.trim().parse::<f64>().ok())
                .map_or(Duration::ZERO, Duration::seconds_f64);
            delay = Some(match ask.stdout.trim() {
                "1" => ScreenLock::After(wait),
                _ => ScreenLock::Off,
            });
        }
    }
    let Some(delay) = delay else {
        return Finding::unknown(
            "could not read whether the Mac asks for a password after sleep or the screen saver",
            "check System Settings > Lock Screen",
        );
    };
    let ScreenLock::After(delay) = delay else {
        return Finding::fail(
            "the Mac does not ask for a password after sleep or the screen saver",
            MACOS_FIX,
        );
    };
    let saver = system
        .run(
            "defaults",
            &["-currentHost", "read", "com.apple.screensaver", "idleTime"],
        )
        .ok()
        .filter(|out| out.success)
        .and_then(|out| out.stdout.trim().parse::<i64>().ok())
        .map(Duration::seconds);
    let display = system
        .run("pmset", &["-g"])
        .ok()
        .and_then(|out| pmset_display_sleep(&out.stdout));
    macos_verdict(delay, saver, display, max_idle)
}

/// What `sysadminctl -screenLock status` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScreenLock {
    Off,
    /// The password is asked this long after sleep or the screen saver.
    After(Duration),
}

pub(crate) fn sysadminctl_screen_lock(text: &str) -> Option<ScreenLock> {
    let at = text.find("screenLock ")?;
    let rest = text[at + "screenLock ".len()..].lines().next()?.trim();
    if rest.starts_with("is off") {
        return Some(ScreenLock::Off);
    }
    let delay = rest.strip_prefix("delay is ")?;
    if delay.starts_with("immediate") {
        return Some(ScreenLock::After(Duration::ZERO));
    }
    let seconds: i64 = delay.split_whitespace().next()?.parse().ok()?;
    Some(ScreenLock::After(Duration::seconds(seconds)))
}

/// `pmset -g`: the ` displaysleep 10` line, in minutes (0: never).
pub(crate) fn pmset_display_sleep(text: &str) -> Option<Duration> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == "displaysleep")
            .then(|| words.next()?.parse::<i64>().ok())
            .flatten()
            .map(Duration::minutes)
    })
}

pub(crate) fn macos_verdict(
    delay: Duration,
    saver: Option<Duration>,
    display: Option<Duration>,
    max_idle: Duration,
) -> Finding {
    if saver.is_none() && display.is_none() {
        return Finding::unknown(
            format!(
                "the Mac asks for a password {} after sleep or the screen saver, but when those \
                 start could not be read",
                minutes(delay)
            ),
            "check System Settings > Lock Screen",
        );
    }
    // The earlier of screen saver and display sleep starts the lock; 0 is
    // never.
    let idle = [saver, display]
        .into_iter()
        .flatten()
        .filter(|d| d.is_positive())
        .min();
    let Some(idle) = idle else {
        return Finding::fail(
            "the screen saver and display sleep are both off, so the screen never locks by itself",
            MACOS_FIX,
        );
    };
    let total = idle + delay;
    if total > max_idle {
        return Finding::fail(
            format!(
                "the screen locks after {} idle, longer than the {} allowed",
                minutes(total),
                minutes(max_idle)
            ),
            MACOS_FIX,
        );
    }
    Finding::pass(format!("the screen locks after {} idle", minutes(total)))
}

const WINDOWS_FIX: &str = "in Settings > Personalization > Lock screen > Screen saver, pick a \
     screen saver, set Wait to 5 minutes and tick \"On resume, display logon screen\"";

const DESKTOP_KEY: &str = r"HKCU\Control Panel\Desktop";
const DESKTOP_POLICY_KEY: &str = r"HKCU\Software\Policies\Microsoft\Windows\Control Panel\Desktop";
const SYSTEM_POLICY_KEY: &str = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System";

pub(crate) fn windows(system: &dyn System, max_idle: Duration) -> Finding {
    let query = |key: &str| {
        system
            .run("reg", &["query", key])
            .ok()
            .filter(|out| out.success)
            .map(|out| reg_values(&out.stdout))
    };
    let machine = query(SYSTEM_POLICY_KEY).unwrap_or_default();
    let desktop = query(DESKTOP_KEY);
    let policy = query(DESKTOP_POLICY_KEY).unwrap_or_default();
    windows_verdict(&machine, desktop.as_ref(), &policy, max_idle)
}

pub(crate) fn windows_verdict(
    machine: &HashMap<String, String>,
    desktop: Option<&HashMap<String, String>>,
    policy: &HashMap<String, String>,
    max_idle: Duration,
) -> Finding {
    let inactivity = machine
        .get("InactivityTimeoutSecs")
        .and_then(|v| reg_number(v))
        .filter(|s| *s > 0)
        .map(Duration::seconds);
    if let Some(limit) = inactivity
        && limit <= max_idle
    {
        return Finding::pass(format!(
            "Windows locks after {} idle (machine inactivity limit)",
            minutes(limit)
        ));
    }
    let Some(desktop) = desktop else {
        return Finding::unknown(
            "could not read the screen saver settings from the registry",
            "check Settings > Personalization > Lock screen > Screen saver",
        );
    };
    // Group policy values win over the user's own.
    let value = |name: &str| policy.get(name).or_else(|| desktop.get(name));
    let active = value("ScreenSaveActive").is_some_and(|v| v == "1");
    let secure = value("ScreenSaverIsSecure").is_some_and(|v| v == "1");
    let chosen = value("SCRNSAVE.EXE").is_some_and(|v| !v.trim().is_empty());
    let timeout = value("ScreenSaveTimeOut")
        .and_then(|v| reg_number(v))
        .map(Duration::seconds);
    let too_long = |what: String| {
        Finding::fail(
            format!("{what}, longer than the {} allowed", minutes(max_idle)),
            WINDOWS_FIX,
        )
    };
    if !(active && chosen) {
        if let Some(limit) = inactivity {
            return too_long(format!(
                "Windows locks after {} idle (machine inactivity limit)",
                minutes(limit)
            ));
        }
        return Finding::fail(
            "no screen saver is set and no inactivity limit locks the screen",
            WINDOWS_FIX,
        );
    }
    if !secure {
        return Finding::fail(
            "the screen saver does not ask for the password on resume",
            WINDOWS_FIX,
        );
    }
    match timeout {
        Some(t) if t.is_positive() && t <= max_idle => Finding::pass(format!(
            "the screen saver locks the screen after {} idle",
            minutes(t)
        )),
        Some(t) if t.is_positive() => too_long(format!(
            "the screen saver locks the screen after {} idle",
            minutes(t)
        )),
        _ => Finding::unknown(
            "the screen saver asks for the password, but its wait time could not be read",
            "check Settings > Personalization > Lock screen > Screen saver",
        ),
    }
}

/// `reg query KEY`: value name to data.
pub(crate) fn reg_values(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let at = line.find("    REG_")?;
            let name = line[..at].trim();
            let rest = line[at..].trim_start();
            let (_kind, data) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            Some((name.to_owned(), data.trim().to_owned()))
        })
        .collect()
}

/// A REG_DWORD (`0x384`) or REG_SZ (`900`) number.
fn reg_number(text: &str) -> Option<i64> {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests;
