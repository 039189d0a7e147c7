#![allow(clippy::unwrap_used, clippy::expect_used)]

use confidant_protocol::CheckStatus;
use time::macros::datetime;

use super::*;
use crate::system::Output;
use crate::system::fake::FakeSystem;

const MAX: Duration = Duration::days(30);

#[test]
fn apt_history_and_simulation() {
    let history = include_str!("../../tests/data/apt-history.log");
    assert_eq!(
        last_apt_upgrade(history),
        Some(datetime!(2025-07-02 09:00:04 UTC))
    );
    assert_eq!(
        last_apt_upgrade("Start-Date: 2025-01-01  10:00:00\nInstall: jq\n"),
        None
    );
    // A desktop updater writes no command line.
    assert_eq!(
        last_apt_upgrade(
            "Start-Date: 2025-01-01  10:00:00\nRequested-By: alex (1000)\nUpgrade: a:amd64 (1, 2)\nEnd-Date: 2025-01-01  10:00:05\n"
        ),
        Some(datetime!(2025-01-01 10:00:05 UTC))
    );
    let pending =
        pending_security_updates(include_str!("../../tests/data/apt-get-s-dist-upgrade.txt"));
    assert_eq!(
        pending,
        [
            "libgcrypt20-dev",
            "libgcrypt20",
            "liblzma-dev",
            "liblzma5",
            "libapt-pkg6.0"
        ]
    );
}

#[test]
fn os_release_families() {
    assert!(is_debian_like(
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
    ));
    assert!(is_debian_like(
        "NAME=\"Linux Mint\"\nID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"
    ));
    assert!(is_debian_like("ID=ubuntu\nID_LIKE=debian\n"));
    assert!(!is_debian_like("ID=fedora\n"));
    assert!(!is_debian_like("ID_LIKE=\"rhel centos fedora\"\n"));
}

#[test]
fn apt_verdicts() {
    let now = datetime!(2025-08-01 12:00 UTC);
    let days = |n: i64| Some(now - Duration::days(n));
    let two = ["libssl3".to_owned(), "openssl".to_owned()];
    let none: [String; 0] = [];
    let cases: [(_, _, Option<&[String]>, _, &str); 7] = [
        (
            days(2),
            days(3),
            Some(&none),
            CheckStatus::Pass,
            "apt refreshed its package lists 2 days ago; last upgrade 3 days ago; no security updates are waiting",
        ),
        (
            days(45),
            days(3),
            Some(&none),
            CheckStatus::Fail,
            "45 days ago (at most 30 days allowed)",
        ),
        (
            days(1),
            days(10),
            Some(&two),
            CheckStatus::Pass,
            "2 security updates are waiting (libssl3, openssl)",
        ),
        (
            days(1),
            days(40),
            Some(&two),
            CheckStatus::Fail,
            "and the last upgrade was 40 days ago",
        ),
        (
            days(1),
            None,
            Some(&two),
            CheckStatus::Fail,
            "no recent upgrade in apt's history",
        ),
        (days(1), None, None, CheckStatus::Pass, "could not be read"),
        (None, days(1), None, CheckStatus::Unknown, "could not tell"),
    ];
    for (refreshed, upgraded, pending, status, detail) in cases {
        let found = apt_verdict(now, MAX, refreshed, upgraded, pending);
        assert_eq!(found.status, status, "{found:?}");
        assert!(found.detail.contains(detail), "{found:?}");
    }
}

#[test]
fn linux_reads_apt_files() {
    let now = datetime!(2025-07-20 12:00 UTC);
    let system = FakeSystem::default()
        .file("/etc/os-release", "ID=debian\n")
        .dir(
            "/var/lib/apt/lists",
            &[
                "deb.debian.org_debian_dists_bookworm_InRelease",
                "lock",
                "partial",
            ],
        )
        .mtime(
            "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
            datetime!(2025-07-19 06:00 UTC),
        )
        .mtime(
            "/var/lib/apt/periodic/update-success-stamp",
            datetime!(2025-07-01 06:00 UTC),
        )
        .file(
            "/var/log/apt/history.log",
            include_str!("../../tests/data/apt-history.log"),
        )
        .command(
            "apt-get -s -o Debug::NoLocking=true dist-upgrade",
            Output::ok(include_str!("../../tests/data/apt-get-s-dist-upgrade.txt")),
        );
    let found = linux(&system, now, MAX);
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    assert!(found.detail.starts_with("apt refreshed its package lists 1 day ago; last upgrade 18 days ago; 5 security updates"), "{found:?}");

    let fedora = FakeSystem::default().file(
        "/etc/os-release",
        "PRETTY_NAME=\"Fedora Linux 40\"\nID=fedora\n",
    );
    let found = linux(&fedora, now, MAX);
    assert_eq!(found.status, CheckStatus::Unknown);
    assert!(found.detail.contains("Fedora Linux 40"), "{found:?}");
}

#[test]
fn macos_history() {
    let (when, name) =
        newest_softwareupdate(include_str!("../../tests/data/softwareupdate-history.txt")).unwrap();
    assert_eq!(when, datetime!(2024-04-02 10:15:07 UTC));
    assert_eq!(name, "macOS Sonoma 14.4.1");
    let system = FakeSystem::default().command(
        "softwareupdate --history",
        Output::ok(include_str!("../../tests/data/softwareupdate-history.txt")),
    );
    assert_eq!(
        macos(&system, datetime!(2024-04-20 00:00 UTC), MAX).status,
        CheckStatus::Pass
    );
    let late = macos(&system, datetime!(2024-06-20 00:00 UTC), MAX);
    assert_eq!(late.status, CheckStatus::Fail);
    assert!(
        late.detail
            .contains("78 days ago, more than the 30 days allowed"),
        "{late:?}"
    );
    let empty = FakeSystem::default().command(
        "softwareupdate --history",
        Output::ok("Display Name   Version   Date\n-----  ----  ----\n"),
    );
    assert_eq!(
        macos(&empty, datetime!(2024-04-20 00:00 UTC), MAX).status,
        CheckStatus::Unknown
    );
    assert_eq!(
        macos(&FakeSystem::default(), datetime!(2024-04-20 00:00 UTC), MAX).status,
        CheckStatus::Unknown
    );
}

#[test]
fn windows_hotfixes() {
    let (when, id) = newest_hotfix(include_str!("../../tests/data/get-hotfix.txt")).unwrap();
    assert_eq!(
        (when, id.as_str()),
        (datetime!(2024-01-12 00:00 UTC), "KB5034441")
    );
    let wmic = "HotFixID   InstalledOn\nKB5031356  10/11/2023\nKB5032189  11/15/2023\n";
    assert_eq!(newest_hotfix(wmic).unwrap().1, "KB5032189");
    let ps = format!("powershell -NoProfile -NonInteractive -Command {PS_HOTFIXES}");
    let system = FakeSystem::default().command(
        &ps,
        Output::ok(include_str!("../../tests/data/get-hotfix.txt")),
    );
    assert_eq!(
        windows(&system, datetime!(2024-02-01 00:00 UTC), MAX).status,
        CheckStatus::Pass
    );
    assert_eq!(
        windows(&system, datetime!(2024-03-01 00:00 UTC), MAX).status,
        CheckStatus::Fail
    );
    assert_eq!(
        windows(&FakeSystem::default(), datetime!(2024-03-01 00:00 UTC), MAX).status,
        CheckStatus::Unknown
    );
}

#[test]
fn dates() {
    assert_eq!(
        parse_mdy("02/29/2024"),
        Some(time::macros::date!(2024 - 02 - 29))
    );
    assert_eq!(parse_mdy("13/01/2024"), None);
    assert_eq!(
        parse_ymd("2024-1-5"),
        Some(time::macros::date!(2024 - 01 - 05))
    );
    assert_eq!(parse_ymd("2024-01"), None);
    assert_eq!(parse_hms("25:00:00"), None);
    assert_eq!(
        parse_iso_datetime("2025-06-24  14:36:25"),
        Some(datetime!(2025-06-24 14:36:25 UTC))
    );
}
