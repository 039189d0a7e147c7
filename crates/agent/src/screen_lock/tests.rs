#![allow(clippy::unwrap_used, clippy::expect_used)]

use confidant_protocol::CheckStatus;

use super::*;
use crate::system::fake::FakeSystem;

const MAX: Duration = Duration::minutes(15);
const GNOME: (&str, &str) = ("org.gnome.desktop.screensaver", "org.gnome.desktop.session");

fn gnome_desktop(lock: &str, idle: &str) -> FakeSystem {
    FakeSystem::default()
        .env("WAYLAND_DISPLAY", "wayland-0")
        .env("XDG_CURRENT_DESKTOP", "ubuntu:GNOME")
        .command(
            "gsettings get org.gnome.desktop.screensaver lock-enabled",
            Output::ok(&format!("{lock}\n")),
        )
        .command(
            "gsettings get org.gnome.desktop.session idle-delay",
            Output::ok(&format!("{idle}\n")),
        )
}

#[test]
fn gnome_settings() {
    let cases = [
        (
            "true",
            "uint32 300",
            0,
            CheckStatus::Pass,
            "after 5 minutes idle",
        ),
        (
            "true",
            "uint32 900",
            0,
            CheckStatus::Pass,
            "after 15 minutes",
        ),
        (
            "true",
            "uint32 900",
            30,
            CheckStatus::Fail,
            "longer than the 15 minutes allowed",
        ),
        ("true", "uint32 0", 0, CheckStatus::Fail, "never blanks"),
        ("true", "uint32 3600", 0, CheckStatus::Fail, "60 minutes"),
        (
            "false",
            "uint32 300",
            0,
            CheckStatus::Fail,
            "automatic screen lock is off",
        ),
    ];
    for (lock, idle, delay, status, detail) in cases {
        let found = gnome(lock, idle, delay, GNOME, MAX).unwrap();
        assert_eq!(found.status, status, "{lock} {idle}: {found:?}");
        assert!(found.detail.contains(detail), "{found:?}");
    }
    let off = gnome("false", "uint32 0", 0, GNOME, MAX).unwrap();
    assert_eq!(
        off.fix,
        "run: gsettings set org.gnome.desktop.screensaver lock-enabled true; \
         gsettings set org.gnome.desktop.session idle-delay 300"
    );
    assert!(gnome("maybe", "uint32 300", 0, GNOME, MAX).is_none());
    assert!(gnome("true", "'five'", 0, GNOME, MAX).is_none());
}

#[test]
fn linux_reads_gnome_in_a_desktop_session() {
    let found = linux(&gnome_desktop("true", "uint32 300"), MAX);
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    let found = linux(
        &gnome_desktop("true", "uint32 300").command(
            "gsettings get org.gnome.desktop.screensaver lock-delay",
            Output::ok("uint32 900\n"),
        ),
        MAX,
    );
    assert_eq!(found.status, CheckStatus::Fail, "{found:?}");
}

#[test]
fn linux_without_a_desktop_is_unknown_even_if_gsettings_answers() {
    let headless = FakeSystem::default().command(
        "gsettings get org.gnome.desktop.screensaver lock-enabled",
        Output::ok("true\n"),
    );
    let found = linux(&headless, MAX);
    assert_eq!(found.status, CheckStatus::Unknown);
    assert!(found.detail.contains("no graphical session"), "{found:?}");
}

#[test]
fn linux_under_sudo_asks_as_the_user() {
    let system = FakeSystem::default()
        .env("DISPLAY", ":0")
        .env("SUDO_USER", "alex")
        .command(
            "sudo -n -H -u alex gsettings get org.gnome.desktop.screensaver lock-enabled",
            Output::ok("false\n"),
        )
        .command(
            "sudo -n -H -u alex gsettings get org.gnome.desktop.session idle-delay",
            Output::ok("uint32 300\n"),
        );
    assert_eq!(linux(&system, MAX).status, CheckStatus::Fail);
}

#[test]
fn linux_other_desktops() {
    let xfce = FakeSystem::default()
        .env("DISPLAY", ":0")
        .env("XDG_CURRENT_DESKTOP", "XFCE")
        .command(
            "gsettings get org.gnome.desktop.screensaver lock-enabled",
            Output::failed(
                1,
                "No such schema \u{201c}org.gnome.desktop.screensaver\u{201d}\n",
            ),
        );
    let found = linux(&xfce, MAX);
    assert_eq!(found.status, CheckStatus::Unknown);
    assert!(found.detail.contains("the XFCE desktop"), "{found:?}");
    assert!(found.detail.contains("No such schema"), "{found:?}");

    let kde = |autolock: &str, timeout: &str| {
        let args = |key: &str, default: &str| {
            format!(
                "kreadconfig6 --file kscreenlockerrc --group Daemon --key {key} --default {default}"
            )
        };
        FakeSystem::default()
            .env("DISPLAY", ":0")
            .env("XDG_CURRENT_DESKTOP", "KDE")
            .command(
                &args("Autolock", "true"),
                Output::ok(&format!("{autolock}\n")),
            )
            .command(&args("Timeout", "5"), Output::ok(&format!("{timeout}\n")))
    };
    assert_eq!(linux(&kde("true", "5"), MAX).status, CheckStatus::Pass);
    assert_eq!(linux(&kde("false", "5"), MAX).status, CheckStatus::Fail);
    assert_eq!(linux(&kde("true", "30"), MAX).status, CheckStatus::Fail);
    let no_tool = FakeSystem::default()
        .env("DISPLAY", ":0")
        .env("XDG_CURRENT_DESKTOP", "KDE");
    assert_eq!(linux(&no_tool, MAX).status, CheckStatus::Unknown);
}

#[test]
fn sysadminctl_outputs() {
    let cases = [
        (
            "2024-04-02 10:15:07.123 sysadminctl[8411:139911] screenLock delay is 300 seconds\n",
            Some(ScreenLock::After(Duration::seconds(300))),
        ),
        (
            "2024-04-02 10:15:07.123 sysadminctl[8411:139911] screenLock delay is immediate\n",
            Some(ScreenLock::After(Duration::ZERO)),
        ),
        (
            "2024-04-02 10:15:07.123 sysadminctl[8411:139911] screenLock is off\n",
            Some(ScreenLock::Off),
        ),
        ("sysadminctl: unrecognized option\n", None),
    ];
    for (text, want) in cases {
        assert_eq!(sysadminctl_screen_lock(text), want, "{text}");
    }
}

const PMSET: &str = "System-wide power settings:\nCurrently in use:\n standby              1\n Sleep On Power Button 1\n hibernatefile        /var/vm/sleepimage\n displaysleep         10\n sleep                1 (sleep prevented by coreaudiod)\n";

#[test]
fn macos_cases() {
    assert_eq!(pmset_display_sleep(PMSET), Some(Duration::minutes(10)));
    let base = |lock: &str| {
        FakeSystem::default().command("sysadminctl -screenLock status", Output::failed(0, lock))
    };
    let immediate = "2024-04-02 10:15:07.123 sysadminctl[1:2] screenLock delay is immediate\n";
    let cases = [
        (
            base(immediate).command("pmset -g", Output::ok(PMSET)),
            CheckStatus::Pass,
        ),
        (
            base(immediate)
                .command(
                    "pmset -g",
                    Output::ok(&PMSET.replace("displaysleep         10", "displaysleep         0")),
                )
                .command(
                    "defaults -currentHost read com.apple.screensaver idleTime",
                    Output::ok("0\n"),
                ),
            CheckStatus::Fail,
        ),
        (
            base(immediate)
                .command("pmset -g", Output::ok(&PMSET.replace("10\n", "60\n")))
                .command(
                    "defaults -currentHost read com.apple.screensaver idleTime",
                    Output::ok("300\n"),
                ),
            CheckStatus::Pass,
        ),
        (
            base("2024-04-02 10:15:07.123 sysadminctl[1:2] screenLock delay is 3600 seconds\n")
                .command("pmset -g", Output::ok(PMSET)),
            CheckStatus::Fail,
        ),
        (
            base("2024-04-02 10:15:07.123 sysadminctl[1:2] screenLock is off\n")
                .command("pmset -g", Output::ok(PMSET)),
            CheckStatus::Fail,
        ),
        (base(immediate), CheckStatus::Unknown),
        (FakeSystem::default(), CheckStatus::Unknown),
        (
            FakeSystem::default()
                .command(
                    "defaults read com.apple.screensaver askForPassword",
                    Output::ok("1\n"),
                )
                .command(
                    "defaults read com.apple.screensaver askForPasswordDelay",
                    Output::ok("5\n"),
                )
                .command("pmset -g", Output::ok(PMSET)),
            CheckStatus::Pass,
        ),
    ];
    for (system, status) in cases {
        let found = macos(&system, MAX);
        assert_eq!(found.status, status, "{found:?}");
    }
}

#[test]
fn registry_values() {
    let values = reg_values(include_str!("../../tests/data/reg-desktop-secure.txt"));
    assert_eq!(
        values.get("ScreenSaveTimeOut").map(String::as_str),
        Some("600")
    );
    assert_eq!(
        values.get("SCRNSAVE.EXE").map(String::as_str),
        Some(r"C:\Windows\system32\scrnsave.scr")
    );
    assert_eq!(
        values.get("ActiveWndTrackTimeout").map(String::as_str),
        Some("0x0")
    );
    assert_eq!(reg_number("0x384"), Some(900));
}

#[test]
fn windows_cases() {
    let secure = include_str!("../../tests/data/reg-desktop-secure.txt");
    let reg = |key: &str| format!("reg query {key}");
    let inactivity = "\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\n    InactivityTimeoutSecs    REG_DWORD    0x384\n";
    let cases = [
        (FakeSystem::default().command(&reg(DESKTOP_KEY), Output::ok(secure)), CheckStatus::Pass, "after 10 minutes"),
        (
            FakeSystem::default().command(&reg(DESKTOP_KEY), Output::ok(&secure.replace("ScreenSaverIsSecure    REG_SZ    1", "ScreenSaverIsSecure    REG_SZ    0"))),
            CheckStatus::Fail,
            "does not ask for the password",
        ),
        (
            FakeSystem::default().command(&reg(DESKTOP_KEY), Output::ok(&secure.replace("600", "1800"))),
            CheckStatus::Fail,
            "after 30 minutes idle, longer than",
        ),
        (
            FakeSystem::default().command(&reg(DESKTOP_KEY), Output::ok("\nHKEY_CURRENT_USER\\Control Panel\\Desktop\n    ScreenSaveActive    REG_SZ    1\n")),
            CheckStatus::Fail,
            "no screen saver is set",
        ),
        (
            FakeSystem::default()
                .command(&reg(SYSTEM_POLICY_KEY), Output::ok(inactivity))
                .command(&reg(DESKTOP_KEY), Output::ok("")),
            CheckStatus::Pass,
            "machine inactivity limit",
        ),
        (
            FakeSystem::default()
                .command(&reg(DESKTOP_KEY), Output::ok(&secure.replace("600", "1800")))
                .command(&reg(DESKTOP_POLICY_KEY), Output::ok("    ScreenSaveTimeOut    REG_SZ    300\n")),
            CheckStatus::Pass,
            "after 5 minutes",
        ),
        (FakeSystem::default(), CheckStatus::Unknown, "could not read"),
    ];
    for (system, status, detail) in cases {
        let found = windows(&system, MAX);
        assert_eq!(found.status, status, "{found:?}");
        assert!(found.detail.contains(detail), "{found:?}");
    }
}
