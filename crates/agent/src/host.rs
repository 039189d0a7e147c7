//! Who the machine says it is: host name and OS version, best effort.

use crate::Os;
use crate::system::System;

/// The host name; empty when nothing says.
pub(crate) fn name(system: &dyn System, os: Os) -> String {
    let from_file = || {
        system
            .read_file("/proc/sys/kernel/hostname")
            .ok()
            .map(|n| n.trim().to_owned())
    };
    let from_env = || {
        system
            .env("COMPUTERNAME")
            .or_else(|| system.env("HOSTNAME"))
    };
    let from_command = || {
        let out = system.run("hostname", &[]).ok().filter(|o| o.success)?;
        Some(out.stdout.trim().to_owned())
    };
    let found = match os {
        Os::Linux => from_file().filter(|n| !n.is_empty()).or_else(from_env),
        Os::Windows => from_env(),
        Os::MacOs | Os::Other => None,
    };
    found
        .filter(|n| !n.is_empty())
        .or_else(from_command)
        .unwrap_or_default()
}

/// "Debian GNU/Linux 12 (bookworm)", "macOS 14.4.1", "Windows 10 Pro
/// 23H2 (build 22631)".
pub(crate) fn version(system: &dyn System, os: Os) -> Option<String> {
    match os {
        Os::Linux => {
            let text = system.read_file("/etc/os-release").ok()?;
            text.lines().find_map(|line| {
                let value = line.strip_prefix("PRETTY_NAME=")?;
                Some(value.trim().trim_matches('"').to_owned())
            })
        }
        Os::MacOs => {
            let field = |flag: &str| {
                let out = system.run("sw_vers", &[flag]).ok().filter(|o| o.success)?;
                Some(out.stdout.trim().to_owned())
            };
            Some(format!(
                "{} {}",
                field("-productName")?,
                field("-productVersion")?
            ))
        }
        Os::Windows => {
            let out = system
                .run(
                    "reg",
                    &[
                        "query",
                        r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion",
                    ],
                )
                .ok()
                .filter(|o| o.success)?;
            let values = crate::screen_lock::reg_values(&out.stdout);
            let mut text = values.get("ProductName")?.clone();
            if let Some(release) = values.get("DisplayVersion") {
                text.push_str(&format!(" {release}"));
            }
            if let Some(build) = values.get("CurrentBuild") {
                text.push_str(&format!(" (build {build})"));
            }
            Some(text)
        }
        Os::Other => None,
    }
}
