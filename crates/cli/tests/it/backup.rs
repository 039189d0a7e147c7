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

/// Invites `email` as `role` straight on the data dir and returns three of
/// their recovery codes (each signs in once, as CONFIDANT_CODE).
async fn member(ws: &Workspace, email: &str, role: confidant_core::Role) -> Vec<String> {
    use secrecy::ExposeSecret as _;
    let store = confidant_store::connect(&format!(
        "sqlite://{}",
        ws.data.join("confidant.db").display()
    ))
    .await
    .unwrap();
    let blobs = confidant_store::BlobStore::local(&ws.data.join("blobs")).unwrap();
    let key = std::fs::read_to_string(&ws.key).unwrap();
    let unlock = confidant_vault::Unlock::KeyFile(confidant_vault::KeyFile::parse(&key).unwrap());
    let vault = confidant_vault::Vault::open(
        store,
        blobs,
        std::sync::Arc::new(confidant_vault::SystemClock),
        &unlock,
    )
    .await
    .unwrap();
    let owner = vault.owner().await.unwrap();
    let invitation = vault
        .invite(&owner, email, "Ada Admin", role, None)
        .await
        .unwrap();
    let setup = vault.new_totp_setup(email).unwrap();
    let secret = setup.secret.expose_secret().to_owned();
    let welcome = vault
        .accept_invitation(
            &invitation.token,
            &secrecy::SecretString::from(MEMBER_PASSWORD),
            &secret,
            &confidant_vault::code_at(&secret, time::OffsetDateTime::now_utc()).unwrap(),
            None,
            &confidant_vault::SessionRequest::web("test"),
        )
        .await
        .unwrap();
    welcome
        .recovery_codes
        .iter()
        .map(|c| c.expose_secret().to_owned())
        .collect()
}

const MEMBER_PASSWORD: &str = "velvet lantern orbit mosaic";

#[test]
fn an_admin_touches_backups_only_under_an_approved_break_glass_grant() {
    use confidant_core::Role;
    let ws = Workspace::new();
    let doc = ws.write("letter.txt", b"Dear Ann, your card 4111 1111 1111 1111");
    ws.cmd().args(["docs", "add"]).arg(&doc).assert().success();
    let key = ws.path("backup-key.txt");
    let dest = ws.path("backups");
    ws.cmd()
        .args(["backup", "keygen", "--out"])
        .arg(&key)
        .arg("--destination")
        .arg(&dest)
        .assert()
        .success();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut ada = rt.block_on(member(&ws, "ada@example.com", Role::Admin));
    let mut sam = rt.block_on(member(&ws, "sam@example.com", Role::Admin));
    let mut va = rt.block_on(member(&ws, "va@example.com", Role::Assistant));
    // `confidant backup SUB --as EMAIL ...`, signed in as that person.
    let person = |email: &str, code: String, sub: &str| {
        let mut cmd = ws.cmd();
        cmd.env("CONFIDANT_PASSWORD", MEMBER_PASSWORD)
            .env("CONFIDANT_CODE", code)
            .args(["backup", sub, "--as", email]);
        cmd
    };
    let backups = || -> usize {
        std::fs::read_dir(&dest)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "age"))
                })
                .count()
            })
            .unwrap_or(0)
    };

    // No grant: the admin is refused and nothing is written.
    ws.cmd()
        .env("CONFIDANT_PASSWORD", MEMBER_PASSWORD)
        .env("CONFIDANT_CODE", ada.pop().unwrap())
        .args(["backup", "create", "--as", "ada@example.com"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no active break-glass grant"));
    assert_eq!(backups(), 0);
    // A wrong password: refused before anything.
    ws.cmd()
        .env("CONFIDANT_PASSWORD", "not the password")
        .args(["backup", "create", "--as", "ada@example.com"])
        .assert()
        .failure();

    // The owner grants; by default a second admin approves.
    ws.cmd()
        .args(["backup", "break-glass", "grant", "--to", "va@example.com"])
        .args(["--reason", "quarterly restore test", "--hours", "4"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("admins only"));
    ws.cmd()
        .args(["backup", "break-glass", "grant", "--to", "ada@example.com"])
        .args(["--reason", "quarterly restore test", "--hours", "400"])
        .assert()
        .failure();
    let out = ws.ok(&[
        "backup",
        "break-glass",
        "grant",
        "--to",
        "ada@example.com",
        "--reason",
        "quarterly restore test",
        "--hours",
        "4",
    ]);
    assert!(out.contains("needs a second admin"), "{out}");
    let id = out.split_whitespace().nth(2).unwrap().to_owned();
    let listed = ws.ok(&["backup", "break-glass", "list"]);
    assert!(listed.contains("awaiting approval"), "{listed}");
    // The holder cannot approve their own grant.
    let approve = |email: &str, code: String| {
        let mut cmd = ws.cmd();
        cmd.env("CONFIDANT_PASSWORD", MEMBER_PASSWORD)
            .env("CONFIDANT_CODE", code)
            .args(["backup", "break-glass", "approve", &id, "--as", email]);
        cmd.assert()
    };
    approve("ada@example.com", ada.pop().unwrap())
        .failure()
        .stderr(predicate::str::contains("second person"));
    person("ada@example.com", ada.pop().unwrap(), "create")
        .assert()
        .failure();
    approve("sam@example.com", sam.pop().unwrap()).success();

    // Now Ada backs up, checks and restores, each under her sign-in.
    person("ada@example.com", ada.pop().unwrap(), "create")
        .assert()
        .success();
    assert_eq!(backups(), 1);
    let file = only_backup(&dest);
    person("ada@example.com", ada.pop().unwrap(), "verify")
        .arg(&file)
        .arg("--identity")
        .arg(&key)
        .assert()
        .success()
        .stdout(predicate::str::contains("contents: good"));
    let target = ws.path("restored");
    person("ada@example.com", ada.pop().unwrap(), "restore")
        .arg(&file)
        .arg("--identity")
        .arg(&key)
        .arg("--data")
        .arg(&target)
        .assert()
        .success()
        .stdout(predicate::str::contains("naming you"));
    ws.cmd()
        .args(["audit", "verify", "--data"])
        .arg(&target)
        .assert()
        .success();
    // The assistant never, not even to check one.
    person("va@example.com", va.pop().unwrap(), "verify")
        .arg(&file)
        .arg("--identity")
        .arg(&key)
        .assert()
        .failure()
        .stderr(predicate::str::contains("only the owner"));
    // Nor to restore into PostgreSQL: refused after the rows are loaded
    // (the grant is checked inside the restored data), and the rows are
    // deleted again, so the target is as empty as before.
    if let Some(url) = crate::postgres::database() {
        let target = ws.path("restored-pg");
        person("va@example.com", va.pop().unwrap(), "restore")
            .arg(&file)
            .arg("--identity")
            .arg(&key)
            .arg("--data")
            .arg(&target)
            .arg("--database")
            .arg(&url)
            .assert()
            .failure()
            .stderr(predicate::str::contains("deleted again"));
        assert!(!target.exists(), "no data dir is left");
        let rows: i64 = rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut total = 0;
            for table in [
                "workspaces",
                "people",
                "documents",
                "ledger_leaves",
                "break_glass_grants",
            ] {
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM {table}"
                )))
                .fetch_one(&mut conn)
                .await
                .unwrap();
                total += n;
            }
            total
        });
        assert_eq!(rows, 0, "the refused restore left rows behind");
        // The emptied database takes the same restore by the owner.
        ws.cmd()
            .args(["backup", "restore"])
            .arg(&file)
            .arg("--identity")
            .arg(&key)
            .arg("--data")
            .arg(&target)
            .arg("--database")
            .arg(&url)
            .assert()
            .success();
    }
    // Ended by the owner: Ada is refused again.
    ws.ok(&["backup", "break-glass", "end", &id]);
    person("ada@example.com", ada.pop().unwrap(), "create")
        .assert()
        .failure();
    assert_eq!(backups(), 1);

    let log = ws.ok(&["audit", "log"]);
    for needle in [
        "issued to person",
        "approved",
        "used to make a backup",
        "used to check a backup",
        "ended",
    ] {
        assert!(log.contains(needle), "{needle}: {log}");
    }
    assert!(
        !log.contains("quarterly restore test"),
        "no free text in the ledger"
    );
    ws.ok(&["audit", "verify"]);
}

#[test]
fn one_workspace_of_a_server_backs_up_and_restores_alone() {
    let ws = Workspace::new();
    let doc = ws.write("alpha.txt", b"Alpha's letter");
    ws.cmd().args(["docs", "add"]).arg(&doc).assert().success();
    ws.ok(&[
        "workspace",
        "add",
        "--name",
        "Beta Dental",
        "--owner-email",
        "bea@example.com",
        "--owner-name",
        "Bea",
    ]);
    let beta_doc = ws.write("beta.txt", b"Beta's letter");
    ws.cmd()
        .args(["--workspace", "Beta Dental", "docs", "add"])
        .arg(&beta_doc)
        .assert()
        .success();
    let key = ws.path("backup-key.txt");
    let dest = ws.path("backups");
    ws.cmd()
        .args(["backup", "keygen", "--out"])
        .arg(&key)
        .arg("--destination")
        .arg(&dest)
        .assert()
        .success();
    let out = ws.ok(&["backup", "create", "--workspace", "Beta Dental"]);
    assert!(out.contains("workspace \"Beta Dental\""), "{out}");
    assert_eq!(out.matches("workspace \"").count(), 1, "{out}");
    let file = only_backup(&dest);
    let target = ws.path("beta-alone");
    ws.cmd()
        .args(["backup", "restore"])
        .arg(&file)
        .arg("--identity")
        .arg(&key)
        .arg("--data")
        .arg(&target)
        .assert()
        .success();
    let docs = ws
        .cmd()
        .args(["docs", "list", "--data"])
        .arg(&target)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&docs.stdout);
    assert!(
        docs.status.success(),
        "{}",
        String::from_utf8_lossy(&docs.stderr)
    );
    assert!(
        listed.contains("beta.txt") && !listed.contains("alpha.txt"),
        "{listed}"
    );
    ws.cmd()
        .args(["audit", "verify", "--data"])
        .arg(&target)
        .assert()
        .success();
}
