#![allow(clippy::unwrap_used, clippy::expect_used)]

use confidant_protocol::CheckStatus;

use super::*;
use crate::system::fake::FakeSystem;

const NFT: &str = "nft -j list ruleset";
const IPTABLES: &str = "iptables -S";
const OPEN_IPTABLES: &str = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n";

fn nft_only(json: &str) -> FakeSystem {
    FakeSystem::default().command(NFT, Output::ok(json))
}

#[test]
fn linux_nft_verdicts() {
    let empty = include_str!("../../tests/data/nft-empty.json");
    let cases = [
        (
            nft_only(empty),
            CheckStatus::Fail,
            "nftables has no input filter chain",
        ),
        (
            nft_only(include_str!("../../tests/data/nft-final-reject.json")),
            CheckStatus::Pass,
            "nftables: table inet filter, chain input drops incoming connections that no rule allows (an unconditional reject in chain input)",
        ),
        (
            nft_only(include_str!("../../tests/data/nft-iptables-ufw.json")),
            CheckStatus::Pass,
            "its policy is drop",
        ),
        (
            nft_only(empty).command(IPTABLES, Output::ok(OPEN_IPTABLES)),
            CheckStatus::Fail,
            "table ip filter, chain INPUT lets them in (its policy is accept)",
        ),
        (
            nft_only(empty).command(
                "ufw status",
                Output::ok("Status: active\n\nTo Action From\n"),
            ),
            CheckStatus::Pass,
            "ufw is active",
        ),
        (
            nft_only(empty).command("firewall-cmd --state", Output::ok("running\n")),
            CheckStatus::Pass,
            "firewalld is running",
        ),
    ];
    for (system, status, detail) in cases {
        let found = linux(&system);
        assert_eq!(found.status, status, "{found:?}");
        assert!(found.detail.contains(detail), "{found:?}");
        assert_eq!(
            found.fix.is_empty(),
            status == CheckStatus::Pass,
            "{found:?}"
        );
    }
}

#[test]
fn linux_fix_names_the_installed_tool() {
    let empty = include_str!("../../tests/data/nft-empty.json");
    let ufw = linux(&nft_only(empty).command("ufw status", Output::ok("Status: inactive\n")));
    assert_eq!(ufw.status, CheckStatus::Fail);
    assert_eq!(ufw.fix, "run: sudo ufw enable");
    assert!(ufw.detail.contains("ufw is inactive"), "{ufw:?}");

    let firewalld = linux(
        &nft_only(empty).command("firewall-cmd --state", Output::failed(252, "not running\n")),
    );
    assert_eq!(firewalld.status, CheckStatus::Fail);
    assert_eq!(firewalld.fix, "run: sudo systemctl enable --now firewalld");

    let neither = linux(&nft_only(empty));
    assert!(neither.fix.contains("sudo apt install ufw"), "{neither:?}");
}

#[test]
fn linux_without_root_is_unknown_and_says_so() {
    let system = FakeSystem::default()
        .command(
            NFT,
            Output::failed(1, "Error: Operation not permitted\nlist ruleset\n"),
        )
        .command(
            IPTABLES,
            Output::failed(
                4,
                "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n",
            ),
        )
        .command(
            "ufw status",
            Output::failed(1, "ERROR: You need to be root to run this script\n"),
        );
    let found = linux(&system);
    assert_eq!(found.status, CheckStatus::Unknown, "{found:?}");
    assert!(
        found.detail.contains("nft: Error: Operation not permitted"),
        "{found:?}"
    );
    assert_eq!(found.fix, AS_ROOT);
}

#[test]
fn linux_ufw_inactive_is_not_proof_when_the_rules_are_unreadable() {
    let system = FakeSystem::default()
        .command(NFT, Output::failed(1, "Error: Operation not permitted\n"))
        .command("ufw status", Output::ok("Status: inactive\n"));
    let found = linux(&system);
    assert_eq!(found.status, CheckStatus::Unknown, "{found:?}");
}

#[test]
fn linux_with_no_tools_is_unknown() {
    let found = linux(&FakeSystem::default());
    assert_eq!(found.status, CheckStatus::Unknown);
    assert!(found.detail.contains("no firewall tool"), "{found:?}");
}

#[test]
fn linux_timeouts_and_garbage_are_unreadable() {
    let system = FakeSystem::default()
        .command_error(NFT, RunError::TimedOut("nft".into(), 20))
        .command(IPTABLES, Output::ok("nothing useful\n"));
    let found = linux(&system);
    assert_eq!(found.status, CheckStatus::Unknown, "{found:?}");
    assert!(
        found.detail.contains("did not finish within 20 seconds"),
        "{found:?}"
    );
    let system = FakeSystem::default().command(NFT, Output::ok("<html>"));
    assert_eq!(linux(&system).status, CheckStatus::Unknown);
}

#[test]
fn linux_legacy_iptables_is_asked_only_when_in_use() {
    let empty = include_str!("../../tests/data/nft-empty.json");
    let legacy_drop = "-P INPUT DROP\n";
    let without = nft_only(empty).command("iptables-legacy -S", Output::ok(legacy_drop));
    assert_eq!(linux(&without).status, CheckStatus::Fail);
    let with = without.file("/proc/net/ip_tables_names", "filter\n");
    let found = linux(&with);
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    assert!(found.detail.starts_with("iptables-legacy:"), "{found:?}");
}

#[test]
fn ufw_status_lines() {
    assert_eq!(ufw_active("Status: active\n"), Some(true));
    assert_eq!(ufw_active("Status: inactive\n"), Some(false));
    assert_eq!(ufw_active("ERROR: You need to be root\n"), None);
}

const SOCKETFILTERFW: &str = "/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate";

#[test]
fn macos_cases() {
    let cases = [
        (
            FakeSystem::default().command(SOCKETFILTERFW, Output::ok("Firewall is enabled. (State = 1)\n")),
            CheckStatus::Pass,
        ),
        (
            FakeSystem::default().command(
                SOCKETFILTERFW,
                Output::ok("Firewall is blocking all non-essential incoming connections. (State = 2)\n"),
            ),
            CheckStatus::Pass,
        ),
        (
            FakeSystem::default()
                .command(SOCKETFILTERFW, Output::ok("Firewall is disabled. (State = 0)\n"))
                .command("pfctl -s info", Output::ok("Status: Enabled for 0 days 02:13:44           Debug: Urgent\n\nState Table                          Total             Rate\n")),
            CheckStatus::Pass,
        ),
        (
            FakeSystem::default()
                .command(SOCKETFILTERFW, Output::ok("Firewall is disabled. (State = 0)\n"))
                .command("pfctl -s info", Output::ok("Status: Disabled                              Debug: Urgent\n")),
            CheckStatus::Fail,
        ),
        (
            FakeSystem::default()
                .command(SOCKETFILTERFW, Output::ok("Firewall is disabled. (State = 0)\n"))
                .command("pfctl -s info", Output::failed(1, "pfctl: /dev/pf: Permission denied\n")),
            CheckStatus::Fail,
        ),
        (FakeSystem::default(), CheckStatus::Unknown),
    ];
    for (system, status) in cases {
        let found = macos(&system);
        assert_eq!(found.status, status, "{found:?}");
    }
}

const NETSH_ALL: &str = "netsh advfirewall show allprofiles state";
const NETSH_CURRENT: &str = "netsh advfirewall show currentprofile state";

#[test]
fn windows_cases() {
    let on = include_str!("../../tests/data/netsh-allprofiles-on.txt");
    let public_off = include_str!("../../tests/data/netsh-public-off.txt");
    let crlf = on.replace('\n', "\r\n");
    let cases = [
        (
            FakeSystem::default().command(NETSH_ALL, Output::ok(on)),
            CheckStatus::Pass,
            "every profile (Domain, Private, Public)",
        ),
        (
            FakeSystem::default().command(NETSH_ALL, Output::ok(&crlf)),
            CheckStatus::Pass,
            "every profile",
        ),
        (
            FakeSystem::default()
                .command(NETSH_ALL, Output::ok(public_off))
                .command(
                    NETSH_CURRENT,
                    Output::ok(include_str!("../../tests/data/netsh-current-private.txt")),
                ),
            CheckStatus::Pass,
            "off for Public, which no network uses now",
        ),
        (
            FakeSystem::default()
                .command(NETSH_ALL, Output::ok(public_off))
                .command(
                    NETSH_CURRENT,
                    Output::ok(include_str!(
                        "../../tests/data/netsh-current-public-off.txt"
                    )),
                ),
            CheckStatus::Fail,
            "off for the Public profile",
        ),
        (
            FakeSystem::default().command(NETSH_ALL, Output::ok(public_off)),
            CheckStatus::Fail,
            "off for the Public profile",
        ),
        (
            FakeSystem::default()
                .command(
                    NETSH_ALL,
                    Output::ok("Die angeforderte Operation erfordert Erhöhung.\n"),
                )
                .command(
                    &format!("powershell -NoProfile -NonInteractive -Command {PS_PROFILES}"),
                    Output::ok("Domain=True\r\nPrivate=True\r\nPublic=False\r\n"),
                ),
            CheckStatus::Fail,
            "off for the Public profile",
        ),
        (
            FakeSystem::default(),
            CheckStatus::Unknown,
            "could not read",
        ),
    ];
    for (system, status, detail) in cases {
        let found = windows(&system);
        assert_eq!(found.status, status, "{found:?}");
        assert!(found.detail.contains(detail), "{found:?}");
    }
}
