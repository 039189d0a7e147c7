#![allow(clippy::unwrap_used, clippy::expect_used)]

use confidant_protocol::CheckStatus;

use super::*;
use crate::system::Output;
use crate::system::fake::FakeSystem;

const LSBLK: &str = "lsblk -J -o NAME,TYPE,MOUNTPOINTS";
const LSBLK_OLD: &str = "lsblk -J -o NAME,TYPE,MOUNTPOINT";

#[test]
fn lsblk_paths() {
    let luks = root_path(include_str!("../../tests/data/lsblk-luks-lvm.json")).unwrap();
    let names: Vec<&str> = luks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["nvme0n1", "nvme0n1p3", "nvme0n1p3_crypt", "vgubuntu-root"]
    );
    let old = root_path(include_str!("../../tests/data/lsblk-old-mountpoint.json")).unwrap();
    assert_eq!(old.last().unwrap().name, "sda2");
    assert_eq!(root_path("{\"blockdevices\": []}"), None);
    assert_eq!(root_path("lsblk: unknown column: MOUNTPOINTS"), None);
}

#[test]
fn linux_through_lsblk() {
    let mounts = "/dev/mapper/vgubuntu-root / ext4 rw,relatime 0 0\n";
    let luks = FakeSystem::default().file("/proc/mounts", mounts).command(
        LSBLK,
        Output::ok(include_str!("../../tests/data/lsblk-luks-lvm.json")),
    );
    let found = linux(&luks);
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    assert!(found.detail.contains("nvme0n1p3_crypt"), "{found:?}");

    let plain = FakeSystem::default()
        .file("/proc/mounts", "/dev/vda / ext4 rw 0 0\n")
        .command(
            LSBLK,
            Output::ok(include_str!("../../tests/data/lsblk-plain-vm.json")),
        );
    let found = linux(&plain);
    assert_eq!(found.status, CheckStatus::Fail, "{found:?}");
    assert_eq!(found.fix, LINUX_FIX);

    let old = FakeSystem::default()
        .file("/proc/mounts", "/dev/sda2 / ext4 rw 0 0\n")
        .command(
            LSBLK,
            Output::failed(1, "lsblk: unknown column: MOUNTPOINTS\n"),
        )
        .command(
            LSBLK_OLD,
            Output::ok(include_str!("../../tests/data/lsblk-old-mountpoint.json")),
        );
    let found = linux(&old);
    assert_eq!(found.status, CheckStatus::Fail, "{found:?}");
    assert!(found.detail.contains("sda2 (part)"), "{found:?}");
}

#[test]
fn linux_through_sysfs_without_lsblk() {
    let base = || FakeSystem::default().dir("/sys/block", &["dm-0", "dm-1", "sda"]);
    // LVM on LUKS: root is dm-1 (LVM), on dm-0 (CRYPT).
    let lvm_on_luks = base()
        .file(
            "/proc/mounts",
            "sysfs /sys sysfs rw 0 0\n/dev/mapper/vg-root / ext4 rw 0 0\n",
        )
        .file("/sys/block/dm-0/dm/name", "sda3_crypt\n")
        .file(
            "/sys/block/dm-0/dm/uuid",
            "CRYPT-LUKS2-0123456789abcdef-sda3_crypt\n",
        )
        .file("/sys/block/dm-1/dm/name", "vg-root\n")
        .file("/sys/block/dm-1/dm/uuid", "LVM-abcdef\n")
        .dir("/sys/block/dm-1/slaves", &["dm-0"]);
    let found = linux(&lvm_on_luks);
    assert_eq!(found.status, CheckStatus::Pass, "{found:?}");
    assert!(found.detail.contains("dm-0"), "{found:?}");

    let plain_lvm = base()
        .file("/proc/mounts", "/dev/dm-1 / ext4 rw 0 0\n")
        .file("/sys/block/dm-1/dm/uuid", "LVM-abcdef\n")
        .dir("/sys/block/dm-1/slaves", &["sda2"]);
    assert_eq!(linux(&plain_lvm).status, CheckStatus::Fail);

    let partition = base().file("/proc/mounts", "/dev/sda2 / ext4 rw 0 0\n");
    assert_eq!(linux(&partition).status, CheckStatus::Fail);

    assert_eq!(linux(&FakeSystem::default()).status, CheckStatus::Unknown);
}

#[test]
fn linux_containers_and_zfs() {
    let container = FakeSystem::default()
        .file(
            "/proc/mounts",
            "overlay / overlay rw,lowerdir=/a,upperdir=/b 0 0\n",
        )
        .command(
            LSBLK,
            Output::ok(include_str!("../../tests/data/lsblk-plain-vm.json")),
        );
    let found = linux(&container);
    assert_eq!(found.status, CheckStatus::Unknown, "{found:?}");
    assert!(found.detail.contains("container"), "{found:?}");

    let zfs_mounts = "rpool/ROOT/ubuntu_abc / zfs rw 0 0\n";
    let zfs_get = "zfs get -H -o value encryption rpool/ROOT/ubuntu_abc";
    let encrypted = FakeSystem::default()
        .file("/proc/mounts", zfs_mounts)
        .command(zfs_get, Output::ok("aes-256-gcm\n"));
    assert_eq!(linux(&encrypted).status, CheckStatus::Pass);
    let plain = FakeSystem::default()
        .file("/proc/mounts", zfs_mounts)
        .command(zfs_get, Output::ok("off\n"));
    assert_eq!(linux(&plain).status, CheckStatus::Fail);
    let no_tool = FakeSystem::default().file("/proc/mounts", zfs_mounts);
    assert_eq!(linux(&no_tool).status, CheckStatus::Unknown);
}

#[test]
fn root_mount_takes_the_last_mount_on_slash() {
    let mounts = "rootfs / rootfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n";
    assert_eq!(
        root_mount(mounts),
        Some(("/dev/sda1".to_owned(), "ext4".to_owned()))
    );
    assert_eq!(root_mount(""), None);
}

#[test]
fn filevault_outputs() {
    let cases = [
        ("FileVault is On.\n", Some(CheckStatus::Pass)),
        ("FileVault is Off.\n", Some(CheckStatus::Fail)),
        (
            "FileVault is On.\nDeferred enablement appears to be active for user 'alex'.\n",
            Some(CheckStatus::Pass),
        ),
        (
            "Encryption in progress: Percent completed = 42.1\n",
            Some(CheckStatus::Fail),
        ),
        (
            "FileVault is Off.\nDecryption in progress: Percent completed = 10.5\n",
            Some(CheckStatus::Fail),
        ),
        ("Error: unexpected\n", None),
    ];
    for (text, status) in cases {
        assert_eq!(filevault(text).map(|f| f.status), status, "{text}");
    }
    let off =
        macos(&FakeSystem::default().command("fdesetup status", Output::ok("FileVault is Off.\n")));
    assert!(off.fix.contains("fdesetup enable"), "{off:?}");
    assert_eq!(macos(&FakeSystem::default()).status, CheckStatus::Unknown);
}

#[test]
fn bitlocker_outputs() {
    let on = bitlocker(include_str!("../../tests/data/manage-bde-on.txt"), "C:").unwrap();
    assert_eq!(on.status, CheckStatus::Pass);
    assert_eq!(on.detail, "BitLocker protects C: (fully encrypted)");
    let off = bitlocker(include_str!("../../tests/data/manage-bde-off.txt"), "C:").unwrap();
    assert_eq!(off.status, CheckStatus::Fail);
    assert_eq!(off.detail, "C: is not encrypted (BitLocker is off)");
    let suspended = bitlocker(
        include_str!("../../tests/data/manage-bde-suspended.txt"),
        "C:",
    )
    .unwrap();
    assert_eq!(suspended.status, CheckStatus::Fail);
    assert!(
        suspended.fix.contains("-protectors -enable C:"),
        "{suspended:?}"
    );
    assert!(
        bitlocker(
            "ERROR: An attempt to access a required resource was denied.",
            "C:"
        )
        .is_none()
    );
}

#[test]
fn windows_uses_the_system_drive_and_falls_back_to_powershell() {
    let d = FakeSystem::default().env("SystemDrive", "D:").command(
        "manage-bde -status D:",
        Output::ok(&include_str!("../../tests/data/manage-bde-on.txt").replace("C:", "D:")),
    );
    assert_eq!(windows(&d).status, CheckStatus::Pass);

    let denied = "ERROR: An attempt to access a required resource was denied.\nCheck that you have administrative rights on the computer.\n";
    let not_admin =
        FakeSystem::default().command("manage-bde -status C:", Output::failed(-1, denied));
    let found = windows(&not_admin);
    assert_eq!(found.status, CheckStatus::Unknown, "{found:?}");
    assert!(found.fix.contains("administrator"), "{found:?}");

    let translated = FakeSystem::default()
        .command("manage-bde -status C:", Output::ok("    Schutzstatus:    Der Schutz ist aktiviert.\n"))
        .command(
            "powershell -NoProfile -NonInteractive -Command (Get-BitLockerVolume -MountPoint 'C:').ProtectionStatus",
            Output::ok("On\r\n"),
        );
    assert_eq!(windows(&translated).status, CheckStatus::Pass);
}
