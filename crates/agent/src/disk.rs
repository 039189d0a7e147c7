//! Is the system disk encrypted? Linux: the root filesystem on dm-crypt
//! (LUKS), directly or under LVM, or a ZFS dataset with native encryption.
//! macOS: FileVault. Windows: BitLocker on the system drive.

use serde_json::Value;

use crate::system::System;
use crate::{Finding, first_line, needs_privileges};

const LINUX_FIX: &str = "full-disk encryption is chosen when installing: reinstall with \
     \"Encrypt the new installation\" (LUKS), or move your data to an encrypted disk";

/// Filesystems that are not a local block device: the disk underneath
/// cannot be seen from here (containers, network and memory filesystems).
const NOT_A_DISK: &[&str] = &[
    "overlay", "tmpfs", "ramfs", "rootfs", "9p", "virtiofs", "nfs", "nfs4", "cifs", "fuse",
    "squashfs", "aufs",
];

pub(crate) fn linux(system: &dyn System) -> Finding {
    let mounts = system.read_file("/proc/mounts").unwrap_or_default();
    let root = root_mount(&mounts);
    if let Some((device, fstype)) = &root {
        if fstype == "zfs" {
            return zfs(system, device);
        }
        if NOT_A_DISK.contains(&fstype.as_str()) || fstype.starts_with("fuse") {
            return Finding::unknown(
                format!(
                    "the root filesystem is {fstype} ({device}), not a disk: the agent runs in a \
                     container or on a network filesystem and cannot see the disk underneath"
                ),
                "run the check on the machine itself, not in a container",
            );
        }
    }
    if let Some(found) = lsblk(system) {
        return found;
    }
    let Some((device, _)) = root else {
        return Finding::unknown(
            "could not find the root filesystem in /proc/mounts",
            "check your disk encryption by hand (lsblk -f)",
        );
    };
    sysfs(system, &device)
}

/// The device and type of the filesystem mounted at `/` (the last one, if
/// several are stacked), from `/proc/mounts`.
pub(crate) fn root_mount(mounts: &str) -> Option<(String, String)> {
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let point = fields.next()?;
            let fstype = fields.next()?;
            (point == "/").then(|| (device.to_owned(), fstype.to_owned()))
        })
        .next_back()
}

fn lsblk(system: &dyn System) -> Option<Finding> {
    // MOUNTPOINTS (util-linux 2.37+) lists every mount of a device;
    // older versions know only MOUNTPOINT.
    for columns in ["NAME,TYPE,MOUNTPOINTS", "NAME,TYPE,MOUNTPOINT"] {
        let Ok(out) = system.run("lsblk", &["-J", "-o", columns]) else {
            return None;
        };
        if !out.success {
            continue;
        }
        let path = root_path(&out.stdout)?;
        return Some(verdict_for_path(&path));
    }
    None
}

/// One device on the way from a disk to the root filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Device {
    pub name: String,
    pub kind: String,
}

/// From `lsblk -J`: the devices from a disk down to the one mounted at `/`.
pub(crate) fn root_path(json: &str) -> Option<Vec<Device>> {
    let value: Value = serde_json::from_str(json).ok()?;
    let devices = value.get("blockdevices")?.as_array()?;
    devices.iter().find_map(|d| find_root(d, &mut Vec::new()))
}

fn find_root(node: &Value, path: &mut Vec<Device>) -> Option<Vec<Device>> {
    let text = |key: &str| node.get(key).and_then(Value::as_str).unwrap_or_default();
    path.push(Device {
        name: text("name").to_owned(),
        kind: text("type").to_owned(),
    });
    let mounted_at_root = node
        .get("mountpoints")
        .and_then(Value::as_array)
        .is_some_and(|points| points.iter().any(|p| p.as_str() == Some("/")))
        || node.get("mountpoint").and_then(Value::as_str) == Some("/");
    if mounted_at_root {
        return Some(path.clone());
    }
    let found = node
        .get("children")
        .and_then(Value::as_array)
        .and_then(|children| children.iter().find_map(|c| find_root(c, path)));
    path.pop();
    found
}

fn verdict_for_path(path: &[Device]) -> Finding {
    let chain: Vec<String> = path
        .iter()
        .map(|d| format!("{} ({})", d.name, d.kind))
        .collect();
    let chain = chain.join(" > ");
    if let Some(crypt) = path.iter().find(|d| d.kind == "crypt") {
        Finding::pass(format!(
            "the root filesystem is on the dm-crypt (LUKS) device {}: {chain}",
            crypt.name
        ))
    } else {
        Finding::fail(
            format!("the root filesystem is not on an encrypted device: {chain}"),
            LINUX_FIX,
        )
    }
}

/// Without lsblk: follows the root device through device-mapper in /sys.
fn sysfs(system: &dyn System, device: &str) -> Finding {
    let Some(name) = device.strip_prefix("/dev/") else {
        return Finding::unknown(
            format!("the root filesystem is on {device}, which is not a device the agent knows"),
            "check your disk encryption by hand (lsblk -f)",
        );
    };
    let dm = if let Some(mapped) = name.strip_prefix("mapper/") {
        let names = system.list_dir("/sys/block").unwrap_or_default();
        names
            .into_iter()
            .filter(|n| n.starts_with("dm-"))
            .find(|n| {
                system
                    .read_file(&format!("/sys/block/{n}/dm/name"))
                    .is_ok_and(|text| text.trim() == mapped)
            })
    } else if name.starts_with("dm-") {
        Some(name.to_owned())
    } else {
        None
    };
    let Some(dm) = dm else {
        return Finding::fail(
            format!("the root filesystem is on {device}, which is not encrypted"),
            LINUX_FIX,
        );
    };
    if let Some(crypt) = crypt_below(system, &dm, 0) {
        Finding::pass(format!(
            "the root filesystem ({device}) is on the dm-crypt (LUKS) device {crypt}"
        ))
    } else {
        Finding::fail(
            format!("the root filesystem ({device}) is on device-mapper but not on dm-crypt"),
            LINUX_FIX,
        )
    }
}

/// A dm-crypt device at or below `dm` (through LVM and other mappings).
fn crypt_below(system: &dyn System, dm: &str, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let uuid = system
        .read_file(&format!("/sys/block/{dm}/dm/uuid"))
        .unwrap_or_default();
    if uuid.trim_start().starts_with("CRYPT-") {
        return Some(dm.to_owned());
    }
    let slaves = system
        .list_dir(&format!("/sys/block/{dm}/slaves"))
        .unwrap_or_default();
    slaves
        .iter()
        .filter(|s| s.starts_with("dm-"))
        .find_map(|s| crypt_below(system, s, depth + 1))
}

fn zfs(system: &dyn System, dataset: &str) -> Finding {
    match system.run("zfs", &["get", "-H", "-o", "value", "encryption", dataset]) {
        Ok(out) if out.success => match out.stdout.trim() {
            "off" | "" => Finding::fail(
                format!("the root ZFS dataset {dataset} is not encrypted"),
                "ZFS encryption is set when a dataset is created: reinstall on an encrypted pool",
            ),
            cipher => Finding::pass(format!(
                "the root ZFS dataset {dataset} is encrypted ({cipher})"
            )),
        },
        Ok(out) => Finding::unknown(
            format!(
                "could not ask zfs about {dataset}: {}",
                first_line(&out.stderr)
            ),
            format!("run: zfs get encryption {dataset}"),
        ),
        Err(e) => Finding::unknown(
            format!("the root filesystem is ZFS ({dataset}) and {e}"),
            format!("run: zfs get encryption {dataset}"),
        ),
    }
}

const MACOS_FIX: &str = "turn on FileVault in System Settings > Privacy & Security > FileVault, or run: sudo fdesetup enable";

pub(crate) fn macos(system: &dyn System) -> Finding {
    match system.run("fdesetup", &["status"]) {
        Ok(out) => match filevault(&out.all_text()) {
            Some(found) => found,
            None => Finding::unknown(
                format!(
                    "fdesetup did not say whether FileVault is on: {}",
                    first_line(&out.all_text())
                ),
                "check System Settings > Privacy & Security > FileVault",
            ),
        },
        Err(e) => Finding::unknown(
            format!("could not ask about FileVault: {e}"),
            "check System Settings > Privacy & Security > FileVault",
        ),
    }
}

/// `fdesetup status`.
pub(crate) fn filevault(text: &str) -> Option<Finding> {
    let line = |needle: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.contains(needle))
            .map(str::to_owned)
    };
    if let Some(progress) = line("Encryption in progress") {
        return Some(Finding::fail(
            format!("FileVault is still encrypting the disk ({progress})"),
            "leave the Mac on and plugged in until FileVault has finished",
        ));
    }
    if let Some(progress) = line("Decryption in progress") {
        return Some(Finding::fail(
            format!("FileVault is decrypting the disk ({progress})"),
            MACOS_FIX,
        ));
    }
    if line("FileVault is On").is_some() {
        return Some(Finding::pass("FileVault is on"));
    }
    if line("FileVault is Off").is_some() {
        return Some(Finding::fail("FileVault is off", MACOS_FIX));
    }
    None
}

const WINDOWS_FIX: &str = "turn on BitLocker in Settings > Privacy & security > Device \
     encryption (or Control Panel > BitLocker Drive Encryption)";

pub(crate) fn windows(system: &dyn System) -> Finding {
    let drive = system.env("SystemDrive").unwrap_or_else(|| "C:".to_owned());
    let bde = system.run("manage-bde", &["-status", &drive]);
    if let Ok(out) = &bde
        && let Some(found) = bitlocker(&out.stdout, &drive)
    {
        return found;
    }
    // manage-bde's words are translated; PowerShell's enum names are not.
    let command = format!("(Get-BitLockerVolume -MountPoint '{drive}').ProtectionStatus");
    if let Ok(out) = system.run(
        "powershell",
        &["-NoProfile", "-NonInteractive", "-Command", &command],
    ) {
        match out.stdout.trim() {
            "On" => return Finding::pass(format!("BitLocker protects {drive}")),
            "Off" => {
                return Finding::fail(
                    format!("BitLocker does not protect {drive} (off or suspended)"),
                    WINDOWS_FIX,
                );
            }
            _ => {}
        }
    }
    let said = match &bde {
        Ok(out) => first_line(&out.all_text()).to_owned(),
        Err(e) => e.to_string(),
    };
    let fix = if needs_privileges(&said) {
        "run the check in an administrator terminal (manage-bde needs it)"
    } else {
        "check Settings > Privacy & security > Device encryption"
    };
    Finding::unknown(
        format!("could not read the BitLocker state of {drive}: {said}"),
        fix,
    )
}

/// `manage-bde -status C:`.
pub(crate) fn bitlocker(text: &str, drive: &str) -> Option<Finding> {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let (key, value) = line.trim().split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    };
    let protection = field("Protection Status")?;
    let conversion = field("Conversion Status").unwrap_or_default();
    if protection.starts_with("Protection On") {
        return Some(Finding::pass(format!(
            "BitLocker protects {drive} ({})",
            conversion.to_lowercase()
        )));
    }
    if protection.starts_with("Protection Off") {
        let detail = if conversion == "Fully Decrypted" {
            format!("{drive} is not encrypted (BitLocker is off)")
        } else if conversion == "Fully Encrypted" {
            format!("BitLocker protection of {drive} is suspended")
        } else {
            format!("BitLocker does not protect {drive} yet ({conversion})")
        };
        let fix = if conversion == "Fully Encrypted" {
            format!("run in an administrator terminal: manage-bde -protectors -enable {drive}")
        } else {
            WINDOWS_FIX.to_owned()
        };
        return Some(Finding::fail(detail, fix));
    }
    None
}

#[cfg(test)]
mod tests;
