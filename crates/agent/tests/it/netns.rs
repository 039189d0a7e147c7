//! The Linux firewall check on real rulesets: each case makes its own
//! network namespace (`ip netns add confidant-test-...`, deleted by a drop
//! guard), loads a ruleset into it with `nft -f` or `iptables`, and runs the
//! check with every command prefixed by `ip netns exec NS`.
//!
//! Needs root and `ip`, `nft` and `iptables` (Debian: iproute2, nftables,
//! iptables; `cargo xtask test` installs them). Without them the tests fail
//! with an install hint, or say SKIPPED when `CONFIDANT_SKIP_NETNS=1`
//! (ignored in CI, where they always run).

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use confidant_agent::{Finding, LocalSystem, Os, Output, RunError, System};
use confidant_protocol::CheckStatus;
use time::OffsetDateTime;

/// Set to `1` to skip these tests where they cannot run (not in CI).
const SKIP_VAR: &str = "CONFIDANT_SKIP_NETNS";
const INSTALL_HINT: &str = "run them as root with `ip`, `nft` and `iptables` installed \
     (`apt-get install -y --no-install-recommends iproute2 nftables iptables`), or run \
     `cargo xtask test`, which installs them";
const TOOLS: [&str; 3] = ["ip", "nft", "iptables"];

/// What to do when the namespaces cannot be made.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Run,
    Skip,
    Fail,
}

fn plan(ready: bool, skip: Option<&str>, ci: Option<&str>) -> Plan {
    let in_ci = ci.is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    match (ready, skip) {
        (true, _) => Plan::Run,
        (false, _) if in_ci => Plan::Fail,
        (false, Some("1")) => Plan::Skip,
        (false, _) => Plan::Fail,
    }
}

#[test]
fn skipping_is_asked_for_and_never_in_ci() {
    assert_eq!(plan(true, None, None), Plan::Run);
    assert_eq!(plan(true, Some("1"), Some("true")), Plan::Run);
    assert_eq!(plan(false, None, None), Plan::Fail);
    assert_eq!(plan(false, Some("1"), None), Plan::Skip);
    assert_eq!(plan(false, Some("1"), Some("true")), Plan::Fail);
    assert_eq!(plan(false, Some("1"), Some("0")), Plan::Skip);
    assert_eq!(plan(false, Some("0"), None), Plan::Fail);
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

fn missing_tools() -> Vec<&'static str> {
    TOOLS
        .into_iter()
        .filter(|tool| {
            matches!(
                LocalSystem::new().run(tool, &["--version"]),
                Err(RunError::NotFound(_))
            )
        })
        .collect()
}

/// A namespace for one test, or `None` when skipped (said on stderr).
fn namespace() -> Option<Namespace> {
    let root = is_root();
    let missing = missing_tools();
    let why = if !root {
        "the network namespace tests need root".to_owned()
    } else if !missing.is_empty() {
        format!("the network namespace tests need {}", missing.join(", "))
    } else {
        match Namespace::new() {
            Ok(ns) => return Some(ns),
            Err(e) => format!("could not make a network namespace: {e}"),
        }
    };
    let skip = std::env::var(SKIP_VAR).ok();
    let ci = std::env::var("CI").ok();
    match plan(false, skip.as_deref(), ci.as_deref()) {
        Plan::Skip => {
            eprintln!("SKIPPED: network namespace test ({SKIP_VAR}=1): {why}");
            None
        }
        Plan::Run | Plan::Fail => {
            panic!("{why}; {INSTALL_HINT} (or set {SKIP_VAR}=1 to skip them outside CI)")
        }
    }
}

/// A network namespace, deleted on drop.
struct Namespace {
    name: String,
}

impl Namespace {
    fn new() -> io::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "confidant-test-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run(Command::new("ip").args(["netns", "add", &name]))?;
        Ok(Self { name })
    }

    /// The machine as seen from inside the namespace, with only the tools
    /// that read the kernel's ruleset (ufw and firewalld would answer for
    /// the host, whatever the namespace).
    fn system(&self, tools: &'static [&'static str]) -> RulesetTools {
        RulesetTools {
            inner: LocalSystem::new().with_prefix(["ip", "netns", "exec", self.name.as_str()]),
            tools,
        }
    }

    fn nft(&self, ruleset: &str) {
        let file = std::env::temp_dir().join(format!("{}.nft", self.name));
        std::fs::write(&file, ruleset).unwrap();
        let _remove = RemoveOnDrop(file.clone());
        run(Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "-f"])
            .arg(&file))
        .unwrap();
    }

    fn iptables(&self, args: &[&str]) {
        run(Command::new("ip")
            .args(["netns", "exec", &self.name, "iptables"])
            .args(args))
        .unwrap();
    }

    fn firewall(&self) -> Finding {
        self.firewall_with(&["nft", "iptables"])
    }

    /// The check on a machine that has only `tools` of nft and iptables.
    fn firewall_with(&self, tools: &'static [&'static str]) -> Finding {
        let found = confidant_agent::check_firewall(&self.system(tools), Os::Linux);
        eprintln!(
            "{}: {} | {}",
            found.status.as_str(),
            found.detail,
            found.fix
        );
        found
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Err(e) = run(Command::new("ip").args(["netns", "delete", &self.name])) {
            eprintln!("could not delete network namespace {}: {e}", self.name);
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(command: &mut Command) -> io::Result<()> {
    let out = command.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{command:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// The local machine, limited to some of nft and iptables.
struct RulesetTools {
    inner: LocalSystem,
    tools: &'static [&'static str],
}

impl System for RulesetTools {
    fn run(&self, program: &str, args: &[&str]) -> Result<Output, RunError> {
        if self.tools.contains(&program) {
            self.inner.run(program, args)
        } else {
            Err(RunError::NotFound(program.to_owned()))
        }
    }
    fn read_file(&self, path: &str) -> io::Result<String> {
        self.inner.read_file(path)
    }
    fn modified(&self, path: &str) -> io::Result<OffsetDateTime> {
        self.inner.modified(path)
    }
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn env(&self, name: &str) -> Option<String> {
        self.inner.env(name)
    }
}

#[test]
fn no_ruleset_fails() {
    let Some(ns) = namespace() else { return };
    let found = ns.firewall();
    assert_eq!(found.status, CheckStatus::Fail, "{found:?}");
    assert!(
        found.detail.contains("nftables has no input filter chain"),
        "{found:?}"
    );
    assert!(!found.fix.is_empty());
}

#[test]
fn accept_all_fails() {
    let Some(ns) = namespace() else { return };
    ns.nft(
        "table inet filter {\n\
           chain input {\n\
             type filter hook input priority 0; policy accept;\n\
             counter accept\n\
           }\n\
         }\n",
    );
    let found = ns.firewall();
    assert_eq!(found.status, CheckStatus::Fail, "{found:?}");
    assert!(
        found.detail.contains(
            "table inet filter, chain input lets them in (an unconditional accept in chain input)"
        ),
        "{found:?}"
    );
}

#[test]
fn an_accept_all_rule_before_a_drop_policy_fails() {
    let Some(ns) = namespace() else { return };
    ns.nft(
        "table inet filter {\n\
           chain input {\n\
             type filter hook input priority 0; policy drop;\n\
             accept\n\
           }\n\
         }\n",
    );
    assert_eq!(ns.firewall().status, CheckStatus::Fail);
}

#[test]
fn input_policy_drop_passes() {
    let Some(ns) = namespace() else { return };
    ns.nft(
        "table inet filter {\n\
           chain input {\n\
             type filter hook input priority 0; policy drop;\n\
             ct state established,related accept\n\
             iif \"lo\" accept\n\
             tcp dport 22 accept\n\
           }\n\
         }\n",
    );
    let found = ns.firewall();
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    assert!(found.detail.contains("its policy is drop"), "{found:?}");
    assert!(found.fix.is_empty());
}

#[test]
fn a_final_reject_rule_passes() {
    let Some(ns) = namespace() else { return };
    ns.nft(
        "table inet filter {\n\
           chain input {\n\
             type filter hook input priority 0; policy accept;\n\
             ct state established,related accept\n\
             tcp dport 22 accept\n\
             counter reject with icmpx type port-unreachable\n\
           }\n\
         }\n",
    );
    let found = ns.firewall();
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    assert!(
        found
            .detail
            .contains("an unconditional reject in chain input"),
        "{found:?}"
    );
}

#[test]
fn a_conditional_drop_alone_fails() {
    let Some(ns) = namespace() else { return };
    ns.nft(
        "table inet filter {\n\
           chain input {\n\
             type filter hook input priority 0; policy accept;\n\
             tcp dport 23 drop\n\
           }\n\
         }\n",
    );
    assert_eq!(ns.firewall().status, CheckStatus::Fail);
}

#[test]
fn ufw_style_chains_with_a_final_drop_pass() {
    let Some(ns) = namespace() else { return };
    ns.nft(
        "table inet filter {\n\
           chain ufw-user-input {\n\
             tcp dport 22 accept\n\
           }\n\
           chain ufw-before-input {\n\
             iif \"lo\" accept\n\
             ct state established,related accept\n\
             jump ufw-user-input\n\
           }\n\
           chain ufw-after-input {\n\
             udp dport 137 drop\n\
           }\n\
           chain ufw-reject-input {\n\
             counter drop\n\
           }\n\
           chain input {\n\
             type filter hook input priority 0; policy accept;\n\
             jump ufw-before-input\n\
             jump ufw-after-input\n\
             jump ufw-reject-input\n\
           }\n\
         }\n",
    );
    let found = ns.firewall();
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    assert!(
        found
            .detail
            .contains("an unconditional drop in chain ufw-reject-input"),
        "{found:?}"
    );
}

#[test]
fn iptables_input_policy_drop_passes() {
    let Some(ns) = namespace() else { return };
    ns.iptables(&["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"]);
    ns.iptables(&[
        "-A",
        "INPUT",
        "-p",
        "tcp",
        "--dport",
        "22",
        "-m",
        "comment",
        "--comment",
        "allow ssh",
        "-j",
        "ACCEPT",
    ]);
    ns.iptables(&["-P", "INPUT", "DROP"]);
    let found = ns.firewall();
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    assert!(found.detail.contains("chain INPUT"), "{found:?}");
    assert!(found.detail.contains("its policy is drop"), "{found:?}");
}

#[test]
fn iptables_alone_reads_the_rules_too() {
    let Some(ns) = namespace() else { return };
    let open = ns.firewall_with(&["iptables"]);
    assert_eq!(open.status, CheckStatus::Fail, "{open:?}");
    assert!(
        open.detail
            .contains("chain INPUT lets them in (its policy is accept)"),
        "{open:?}"
    );
    ns.iptables(&["-P", "INPUT", "DROP"]);
    let closed = ns.firewall_with(&["iptables"]);
    assert_eq!(closed.status, CheckStatus::Pass, "{closed:?}");
    assert!(
        closed
            .detail
            .starts_with("iptables: table ip filter, chain INPUT"),
        "{closed:?}"
    );
}

#[test]
fn iptables_ufw_style_chains_are_followed() {
    let Some(ns) = namespace() else { return };
    for chain in ["ufw-before-input", "ufw-user-input", "ufw-reject-input"] {
        ns.iptables(&["-N", chain]);
    }
    ns.iptables(&["-A", "INPUT", "-j", "ufw-before-input"]);
    ns.iptables(&[
        "-A",
        "ufw-before-input",
        "-m",
        "conntrack",
        "--ctstate",
        "RELATED,ESTABLISHED",
        "-j",
        "ACCEPT",
    ]);
    ns.iptables(&["-A", "ufw-before-input", "-j", "ufw-user-input"]);
    ns.iptables(&[
        "-A",
        "ufw-user-input",
        "-p",
        "tcp",
        "--dport",
        "22",
        "-j",
        "ACCEPT",
    ]);
    ns.iptables(&["-A", "INPUT", "-j", "ufw-reject-input"]);
    // Logged first, then rejected: the log target lets the packet go on.
    ns.iptables(&["-A", "ufw-reject-input", "-j", "LOG"]);
    ns.iptables(&[
        "-A",
        "ufw-reject-input",
        "-j",
        "REJECT",
        "--reject-with",
        "icmp-port-unreachable",
    ]);
    for tools in [&["nft", "iptables"][..], &["iptables"]] {
        let found = ns.firewall_with(tools);
        assert_eq!(found.status, CheckStatus::Pass, "{tools:?}: {found:?}");
        assert!(
            found
                .detail
                .contains("an unconditional reject in chain ufw-reject-input"),
            "{tools:?}: {found:?}"
        );
    }
}

#[test]
fn namespaces_are_deleted() {
    let Some(ns) = namespace() else { return };
    let name = ns.name.clone();
    drop(ns);
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains(&name));
}
