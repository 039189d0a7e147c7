use std::os::unix::fs::PermissionsExt;

use crate::util::{Workspace, confidant, files_under};

#[test]
fn init_twice_refuses_and_changes_nothing() {
    let ws = Workspace::new();
    let before: Vec<(std::path::PathBuf, Vec<u8>)> = files_under(&ws.data)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    let key_before = std::fs::read(&ws.key).unwrap();

    let out = confidant()
        .args([
            "init",
            "--owner-email",
            "x@example.com",
            "--owner-name",
            "X",
        ])
        .arg("--data")
        .arg(&ws.data)
        .arg("--key-file")
        .arg(ws.path("other.key"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already holds a workspace"), "{stderr}");
    let after: Vec<(std::path::PathBuf, Vec<u8>)> = files_under(&ws.data)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    assert_eq!(before, after, "the data dir must be unchanged");
    assert_eq!(std::fs::read(&ws.key).unwrap(), key_before);
    assert!(
        !ws.path("other.key").exists(),
        "no key file is left behind by a refused init"
    );
    // The original workspace still opens.
    assert_eq!(
        ws.json(&["docs", "list", "--format", "json"]),
        serde_json::json!([])
    );
}

#[test]
fn key_file_is_private_and_data_dir_is_private() {
    let ws = Workspace::new();
    let mode = std::fs::metadata(&ws.key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mode = std::fs::metadata(&ws.data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // A key file others can read is refused, as ssh refuses such keys.
    std::fs::set_permissions(&ws.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = ws.fails(&["docs", "list"]);
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn wrong_key_file_is_refused() {
    let ws = Workspace::new();
    let other = Workspace::new();
    let out = ws
        .cmd()
        .env("CONFIDANT_KEY_FILE", &other.key)
        .args(["docs", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("key file does not open this workspace"),
        "{stderr}"
    );
}

#[test]
fn passphrase_workspace_opens_only_with_the_right_passphrase() {
    let temp = tempfile::TempDir::new().unwrap();
    let data = temp.path().join("data");
    confidant()
        .args([
            "init",
            "--owner-email",
            "o@example.com",
            "--owner-name",
            "O",
        ])
        .arg("--data")
        .arg(&data)
        .env("CONFIDANT_PASSPHRASE", "a long and good passphrase")
        .assert()
        .success();
    let run = |pass: Option<&str>| {
        let mut cmd = confidant();
        cmd.arg("--data")
            .arg(&data)
            .args(["docs", "list", "--format", "json"]);
        if let Some(p) = pass {
            cmd.env("CONFIDANT_PASSPHRASE", p);
        }
        cmd.output().unwrap()
    };
    let wrong = run(Some("not the passphrase at all"));
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("passphrase is wrong"));
    let none = run(None);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("CONFIDANT_PASSPHRASE"));
    let right = run(Some("a long and good passphrase"));
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
}

#[test]
fn short_secrets_and_missing_dirs_are_clear_errors() {
    let temp = tempfile::TempDir::new().unwrap();
    let data = temp.path().join("data");
    let out = confidant()
        .args([
            "init",
            "--owner-email",
            "o@example.com",
            "--owner-name",
            "O",
        ])
        .arg("--data")
        .arg(&data)
        .env("CONFIDANT_PASSPHRASE", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));
    assert!(!data.exists(), "a refused init creates nothing");

    let out = confidant()
        .arg("--data")
        .arg(temp.path().join("nowhere"))
        .args(["docs", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("confidant init"));
}
