//! Is a firewall dropping incoming connections that no rule allows?
//!
//! Linux: the kernel's ruleset is the truth, read with `nft` (which also
//! shows rules made by iptables-nft, ufw and firewalld) and `iptables`
//! (and `iptables-legacy` when legacy tables are in use); `ufw status` and
//! `firewall-cmd --state` count as well. macOS: the application firewall or
//! pf. Windows: the firewall profiles of the networks in use.

use crate::rules::Ruleset;
use crate::system::{Output, RunError, System};
use crate::{Finding, first_line, needs_privileges};

const AS_ROOT: &str =
    "run the check as root to read the firewall rules: sudo confidant agent check";

/// What one Linux tool said.
#[derive(Debug, Default)]
struct Readings {
    /// Why incoming traffic gets in, per tool ("table ip filter, chain
    /// INPUT accepts it (its policy is accept)").
    open: Vec<String>,
    /// Tools that ran but could not answer, with their complaint.
    unreadable: Vec<String>,
    /// Whether the kernel's ruleset itself was read (nft or iptables).
    ruleset_read: bool,
    needs_root: bool,
    ufw_installed: bool,
    firewalld_installed: bool,
}

impl Readings {
    fn note_open(&mut self, what: String) {
        if !self.open.contains(&what) {
            self.open.push(what);
        }
    }

    fn note_unreadable(&mut self, tool: &str, why: &str) {
        self.needs_root |= needs_privileges(why);
        self.unreadable.push(format!("{tool}: {why}"));
    }

    /// A command that did not succeed: unreadable unless not installed.
    fn note_failure(&mut self, tool: &str, result: &Result<Output, RunError>) {
        match result {
            Ok(out) => {
                let text = out.all_text();
                let why = first_line(&text);
                let why = if why.is_empty() {
                    "failed without a message"
                } else {
                    why
                };
                self.note_unreadable(tool, why);
            }
            Err(RunError::NotFound(_)) => {}
            Err(e) => self.note_unreadable(tool, &e.to_string()),
        }
    }

    /// Looks at a ruleset; returns a pass when it protects.
    fn ruleset(&mut self, tool: &str, ruleset: &Ruleset) -> Option<Finding> {
        self.ruleset_read = true;
        let chains = ruleset.input_chains();
        if let Some(chain) = chains.iter().find(|c| c.drops) {
            return Some(Finding::pass(format!(
                "{tool}: {} drops incoming connections that no rule allows ({})",
                chain.chain, chain.why
            )));
        }
        if chains.is_empty() {
            self.note_open(format!("{tool} has no input filter chain"));
        }
        for chain in chains {
            self.note_open(format!("{} lets them in ({})", chain.chain, chain.why));
        }
        None
    }
}

pub(crate) fn linux(system: &dyn System) -> Finding {
    let mut seen = Readings::default();

    let nft = system.run("nft", &["-j", "list", "ruleset"]);
    match &nft {
        Ok(out) if out.success => match Ruleset::from_nft_json(&out.stdout) {
            Ok(ruleset) => {
                if let Some(pass) = seen.ruleset("nftables", &ruleset) {
                    return pass;
                }
            }
            Err(e) => seen.note_unreadable("nft", &e.to_string()),
        },
        _ => seen.note_failure("nft", &nft),
    }

    // Legacy iptables rules are invisible to nft; their tool is asked only
    // when legacy tables exist, since asking would load the module.
    let legacy_in_use = system
        .read_file("/proc/net/ip_tables_names")
        .is_ok_and(|names| !names.trim().is_empty());
    let mut tools = vec!["iptables"];
    if legacy_in_use {
        tools.push("iptables-legacy");
    }
    for tool in tools {
        let result = system.run(tool, &["-S"]);
        match &result {
            Ok(out) if out.success && out.stdout.contains("-P INPUT") => {
                let ruleset = Ruleset::from_iptables(&out.stdout, "ip");
                if let Some(pass) = seen.ruleset(tool, &ruleset) {
                    return pass;
                }
            }
            Ok(out) if out.success => seen.note_unreadable(tool, "printed no INPUT chain"),
            _ => seen.note_failure(tool, &result),
        }
    }

    let ufw = system.run("ufw", &["status"]);
    match &ufw {
        Ok(out) => {
            seen.ufw_installed = true;
            match ufw_active(&out.stdout) {
                Some(true) => return Finding::pass("ufw is active"),
                Some(false) => seen.note_open("ufw is inactive".to_owned()),
                None => seen.note_failure("ufw", &ufw),
            }
        }
        Err(_) => seen.note_failure("ufw", &ufw),
    }

    let firewalld = system.run("firewall-cmd", &["--state"]);
    match &firewalld {
        Ok(out) => {
            seen.firewalld_installed = true;
            match out.all_text().trim() {
                "running" => return Finding::pass("firewalld is running"),
                "not running" => seen.note_open("firewalld is not running".to_owned()),
                _ => seen.note_failure("firewall-cmd", &firewalld),
            }
        }
        Err(_) => seen.note_failure("firewall-cmd", &firewalld),
    }

    let fix = if seen.ufw_installed {
        "run: sudo ufw enable"
    } else if seen.firewalld_installed {
        "run: sudo systemctl enable --now firewalld"
    } else {
        "install a firewall and turn it on, for example run: sudo apt install ufw && sudo ufw enable; \
         or load an nftables ruleset whose input chain has policy drop"
    };
    if seen.ruleset_read {
        return Finding::fail(
            format!(
                "no firewall drops incoming connections: {}",
                seen.open.join("; ")
            ),
            fix,
        );
    }
    let mut said = seen.open.clone();
    said.extend(seen.unreadable.iter().cloned());
    if said.is_empty() {
        return Finding::unknown(
            "no firewall tool (nft, iptables, ufw, firewall-cmd) is installed, so the rules \
             cannot be read",
            fix,
        );
    }
    let fix = if seen.needs_root {
        AS_ROOT.to_owned()
    } else {
        format!("find out whether a firewall is on; if not, {fix}")
    };
    Finding::unknown(
        format!("could not read the firewall rules: {}", said.join("; ")),
        fix,
    )
}

/// `ufw status`: whether it is active, `None` when it did not say.
pub(crate) fn ufw_active(stdout: &str) -> Option<bool> {
    stdout.lines().find_map(|line| {
        let state = line.trim().strip_prefix("Status:")?.trim();
        match state {
            "active" => Some(true),
            "inactive" => Some(false),
            _ => None,
        }
    })
}

const MACOS_FIX: &str = "turn on the firewall in System Settings > Network > Firewall, or run: \
     sudo /usr/libexec/ApplicationFirewall/socketfilterfw --setglobalstate on";

pub(crate) fn macos(system: &dyn System) -> Finding {
    let app = system.run(
        "/usr/libexec/ApplicationFirewall/socketfilterfw",
        &["--getglobalstate"],
    );
    let app_on = app
        .as_ref()
        .ok()
        .and_then(|out| application_firewall_on(&out.all_text()));
    if app_on == Some(true) {
        return Finding::pass("the application firewall is on");
    }
    let pf = system.run("pfctl", &["-s", "info"]);
    let pf_on = pf.as_ref().ok().and_then(|out| pf_enabled(&out.all_text()));
    if pf_on == Some(true) {
        return Finding::pass("the pf packet filter is enabled");
    }
    match (app_on, pf_on) {
        (Some(false), Some(false)) => Finding::fail(
            "the application firewall is off and pf is disabled",
            MACOS_FIX,
        ),
        (Some(false), None) => Finding::fail(
            "the application firewall is off (pf could not be read without root)",
            MACOS_FIX,
        ),
        _ => Finding::unknown(
            format!(
                "could not read the firewall state: {}",
                describe_failure("socketfilterfw", &app)
            ),
            "check System Settings > Network > Firewall",
        ),
    }
}

/// `socketfilterfw --getglobalstate`: "Firewall is enabled. (State = 1)".
pub(crate) fn application_firewall_on(text: &str) -> Option<bool> {
    if let Some(at) = text.find("State = ") {
        let digits: String = text[at + "State = ".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(state) = digits.parse::<u32>() {
            return Some(state >= 1);
        }
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("firewall is enabled") || lower.contains("firewall is blocking") {
        Some(true)
    } else if lower.contains("firewall is disabled") {
        Some(false)
    } else {
        None
    }
}

/// `pfctl -s info`: "Status: Enabled for 0 days 01:02:03".
pub(crate) fn pf_enabled(text: &str) -> Option<bool> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Status:")?.trim_start();
        if rest.starts_with("Enabled") {
            Some(true)
        } else if rest.starts_with("Disabled") {
            Some(false)
        } else {
            None
        }
    })
}

fn describe_failure(tool: &str, result: &Result<Output, RunError>) -> String {
    match result {
        Ok(out) => {
            let text = out.all_text();
            let line = first_line(&text);
            if line.is_empty() {
                format!("{tool} printed nothing useful")
            } else {
                format!("{tool}: {line}")
            }
        }
        Err(e) => e.to_string(),
    }
}

const WINDOWS_FIX: &str = "turn the firewall on in Windows Security > Firewall & network \
     protection, or run in an administrator terminal: netsh advfirewall set allprofiles state on";

/// PowerShell's answer, one `Name=True` line per profile (not localized,
/// unlike netsh's words).
const PS_PROFILES: &str = "Get-NetFirewallProfile | ForEach-Object { $_.Name + '=' + $_.Enabled }";

pub(crate) fn windows(system: &dyn System) -> Finding {
    let all = system.run("netsh", &["advfirewall", "show", "allprofiles", "state"]);
    let mut profiles = all
        .as_ref()
        .ok()
        .map(|out| netsh_profiles(&out.stdout))
        .unwrap_or_default();
    if profiles.is_empty() {
        let ps = system.run(
            "powershell",
            &["-NoProfile", "-NonInteractive", "-Command", PS_PROFILES],
        );
        profiles = ps
            .as_ref()
            .ok()
            .map(|out| powershell_profiles(&out.stdout))
            .unwrap_or_default();
    }
    if profiles.is_empty() {
        return Finding::unknown(
            format!(
                "could not read the firewall profiles: {}",
                describe_failure("netsh", &all)
            ),
            "check Windows Security > Firewall & network protection",
        );
    }
    let off: Vec<&str> = profiles
        .iter()
        .filter(|(_, on)| !on)
        .map(|(name, _)| name.as_str())
        .collect();
    if off.is_empty() {
        let names: Vec<&str> = profiles.iter().map(|(n, _)| n.as_str()).collect();
        return Finding::pass(format!(
            "the firewall is on for every profile ({})",
            names.join(", ")
        ));
    }
    // A profile that is off matters only while a network uses it.
    let current = system
        .run("netsh", &["advfirewall", "show", "currentprofile", "state"])
        .ok()
        .map(|out| netsh_profiles(&out.stdout))
        .unwrap_or_default();
    let current_off: Vec<&str> = current
        .iter()
        .filter(|(_, on)| !on)
        .map(|(n, _)| n.as_str())
        .collect();
    if !current.is_empty() && current_off.is_empty() {
        let in_use: Vec<&str> = current.iter().map(|(n, _)| n.as_str()).collect();
        return Finding::pass(format!(
            "the firewall is on for the profile in use ({}); off for {}, which no network uses now",
            in_use.join(", "),
            off.join(", ")
        ));
    }
    let off = if current_off.is_empty() {
        off
    } else {
        current_off
    };
    Finding::fail(
        format!("the firewall is off for the {} profile", off.join(", ")),
        WINDOWS_FIX,
    )
}

/// `netsh advfirewall show ... state`: profile names with their state.
pub(crate) fn netsh_profiles(text: &str) -> Vec<(String, bool)> {
    let mut profiles = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_suffix("Profile Settings:") {
            current = Some(name.trim().to_owned());
            continue;
        }
        let mut words = line.split_whitespace();
        if words.next() == Some("State") {
            let on = match words.next() {
                Some("ON") => true,
                Some("OFF") => false,
                _ => continue,
            };
            if let Some(name) = current.take() {
                profiles.push((name, on));
            }
        }
    }
    profiles
}

/// PowerShell's `Name=True` lines.
pub(crate) fn powershell_profiles(text: &str) -> Vec<(String, bool)> {
    text.lines()
        .filter_map(|line| {
            let (name, on) = line.trim().split_once('=')?;
            let on = match on.trim() {
                "True" | "1" => true,
                "False" | "0" => false,
                _ => return None,
            };
            Some((name.trim().to_owned(), on))
        })
        .collect()
}

#[cfg(test)]
mod tests;
