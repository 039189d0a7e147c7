//! `confidant backup` end to end: keygen, create, verify (with and without
//! the identity), restore into a new data dir, prune, and the Debian `age`
//! command decrypting what we wrote.

use std::process::Command as StdCommand;

use predicates::prelude::*;

use crate::util::Workspace;

fn only_backup(dir: &std::path::Path) -> std::path::PathBuf {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "age"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn keygen_create_verify_restore_and_age_decrypts() {
    let ws = Workspace::new();
    let doc = ws.temp.path().join("letter.txt");
    std::fs::write(&doc, "Dear Ann, your card 4111 1111 1111 1111").unwrap();
    ws.cmd().args(["docs", "add"]).arg(&doc).assert().success();
    let key = ws.temp.path().join("backup-key.txt");
    let dest = ws.temp.path().join("backups");
    ws.cmd()
        .args(["backup", "keygen", "--out"])
        .arg(&key)
        .arg("--destination")
        .arg(&dest)
        .assert()
        .success()
        .stdout(predicate::str::contains("recipient: age1"));
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A second keygen to the same path refuses.
    ws.cmd()
        .args(["backup", "keygen", "--out"])
        .arg(&key)
        .assert()
        .failure();
    // Cron-friendly: no arguments, the saved settings.
    ws.cmd()
        .args(["backup", "create"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ledger"));
    let file = only_backup(&dest);
    // The signature checks without any key.
    ws.cmd()
        .args(["backup", "verify"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("signature: good"));
    ws.cmd()
        .args(["backup", "verify"])
        .arg(&file)
        .arg("--identity")
        .arg(&key)
        .assert()
        .success()
        .stdout(predicate::str::contains("contents: good"));
    // The Debian age command decrypts it (zstd inside).
    let out = StdCommand::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&file)
        .output()
        .expect("the age command is installed (apt-get install age)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = zstd::decode_all(&out.stdout[..]).unwrap();
    assert!(plain.starts_with(b"CONFIDANT-BACKUP-1\n"));
    // A flipped byte: verify refuses, restore refuses and leaves nothing.
    let bad = ws.temp.path().join("bad.age");
    let mut bytes = std::fs::read(&file).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x20;
    std::fs::write(&bad, &bytes).unwrap();
    std::fs::copy(
        format!("{}.sig", file.display()),
        format!("{}.sig", bad.display()),
    )
    .unwrap();
    ws.cmd()
        .args(["backup", "verify"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicate::str::contains("was changed"));
    let target = ws.temp.path().join("restored");
    ws.cmd()
        .args(["backup", "restore"])
        .arg(&bad)
        .arg("--identity")
        .arg(&key)
        .arg("--data")
        .arg(&target)
        .assert()
        .failure();
    assert!(!target.exists());
    // Without the .sig, the flipped byte is still caught inside.
    std::fs::remove_file(format!("{}.sig", bad.display())).unwrap();
    ws.cmd()
        .args(["backup", "restore"])
        .arg(&bad)
        .arg("--identity")
        .arg(&key)
        .arg("--data")
        .arg(&target)
        .assert()
        .failure();
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(ws.temp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("restore-"))
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
    // The good one restores; the restored data dir opens with the same key
    // file and its ledger verifies.
    ws.cmd()
        .args(["backup", "restore"])
        .arg(&file)
        .arg("--identity")
        .arg(&key)
        .arg("--data")
        .arg(&target)
        .assert()
        .success()
        .stdout(predicate::str::contains("matches the manifest"));
    ws.cmd()
        .args(["audit", "verify", "--data"])
        .arg(&target)
        .assert()
        .success();
    ws.cmd()
        .args(["docs", "get", "letter.txt", "--out", "-", "--data"])
        .arg(&target)
        .assert()
        .success()
        // The owner's copy of the Restricted letter is stamped for them.
        .stdout(predicate::str::contains("RESTRICTED - for Olivia Owner"))
        .stdout(predicate::str::contains(
            "Ann, your card 4111 1111 1111 1111",
        ));
    // A second restore into the now full target refuses.
    ws.cmd()
        .args(["backup", "restore"])
        .arg(&file)
        .arg("--identity")
        .arg(&key)
        .arg("--data")
        .arg(&target)
        .assert()
        .failure()
        .stderr(predicate::str::contains("not empty"));
    // Prune keeps the newest.
    ws.cmd()
        .args(["backup", "prune", "--keep-last", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 backups kept"));
}
