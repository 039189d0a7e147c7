//! The access ledger end to end: every access is recorded before data
//! leaves, the record verifies, tampering is found, and a ledger that
//! cannot be written means no data (fail closed).

use crate::util::{CUSTOMERS_COLUMNS, CUSTOMERS_CSV, Workspace, noise};

fn sqlite(ws: &Workspace, sql: &str) {
    let db = ws.data.join("confidant.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
}

fn export(ws: &Workspace) -> Vec<serde_json::Value> {
    let out = ws.path("ledger.jsonl");
    ws.ok(&["audit", "export", "--out", out.to_str().unwrap()]);
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_access_is_recorded_and_the_record_verifies() {
    let ws = Workspace::new();
    let doc = ws.write("a.txt", b"alpha");
    ws.ok(&["docs", "add", doc.to_str().unwrap()]);
    ws.ok(&["docs", "get", "a.txt", "--out", "-"]);
    let csv = ws.write("c.csv", CUSTOMERS_CSV.as_bytes());
    ws.ok(&[
        "records",
        "import",
        csv.to_str().unwrap(),
        "--name",
        "customers",
        "--columns",
        CUSTOMERS_COLUMNS,
        "--index",
        "email",
    ]);
    ws.ok(&["records", "show", "customers", "--limit", "2"]);
    ws.ok(&[
        "records",
        "find",
        "customers",
        "--where",
        "email=ben@example.com",
    ]);

    let lines = export(&ws);
    let actions: Vec<&str> = lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["add", "download", "import", "view", "view"],
        "{lines:#?}"
    );
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i);
        assert_eq!(line["decision"], "allow");
        assert!(line["leaf"].as_str().is_some_and(|l| !l.is_empty()));
    }
    // The view names the two rows shown, the columns and their categories.
    let view = &lines[3];
    assert_eq!(view["target"]["rows"].as_array().unwrap().len(), 2);
    assert!(
        view["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "card_number")
    );
    // A search keeps the searched value as a keyed hash, never the value.
    let find = &lines[4];
    assert_eq!(find["target"]["rows"].as_array().unwrap().len(), 1);
    assert!(
        find["keyed"]["searched"]
            .as_str()
            .is_some_and(|h| !h.is_empty()),
        "{find}"
    );
    // Secret values never appear in the record.
    let text = std::fs::read_to_string(ws.path("ledger.jsonl")).unwrap();
    assert!(
        !text.contains("4000001234567899")
            && !text.contains("Ann Lee")
            && !text.contains("alpha")
            && !text.contains("ben@example.com")
    );

    let out = ws.ok(&["audit", "verify"]);
    assert!(out.contains("ledger verified: 5 entries"), "{out}");
    let key = ws.ok(&["audit", "key"]);
    let parts: Vec<&str> = key.trim().splitn(3, '+').collect();
    assert!(parts[0].starts_with("confidant.local/"), "{key}");
    assert!(
        parts[1].len() == 8 && parts[1].chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    assert!(parts[2].len() > 40, "{key}");
    let note = ws.ok(&["audit", "checkpoint"]);
    let body: Vec<&str> = note.lines().collect();
    assert!(body[0].starts_with("confidant.local/"), "{note}");
    assert_eq!(body[1], "5", "the checkpoint covers every entry");
}

#[test]
fn a_changed_entry_is_found() {
    let ws = Workspace::new();
    let doc = ws.write("a.txt", b"alpha");
    ws.ok(&["docs", "add", doc.to_str().unwrap()]);
    for _ in 0..4 {
        ws.ok(&["docs", "get", "a.txt", "--out", "-"]);
    }
    ws.ok(&["audit", "verify"]);
    // Someone with the database rewrites entry 2 to hide a download.
    sqlite(
        &ws,
        "UPDATE ledger_leaves SET leaf = CAST(REPLACE(CAST(leaf AS TEXT), 'download', 'view') AS BLOB) WHERE idx = 2",
    );
    let err = ws.fails(&["audit", "verify"]);
    assert!(err.contains("the ledger was changed"), "{err}");
    assert!(
        err.contains("entry 2 "),
        "the first changed entry is named: {err}"
    );
}

#[test]
fn no_ledger_no_data() {
    let ws = Workspace::new();
    let body = noise(100_000, 3);
    let doc = ws.write("a.bin", &body);
    ws.ok(&["docs", "add", doc.to_str().unwrap()]);
    // The ledger's storage starts refusing writes (as a full disk would).
    sqlite(
        &ws,
        "CREATE TRIGGER refuse BEFORE INSERT ON ledger_leaves BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    );
    let out = ws
        .cmd()
        .args(["docs", "get", "a.bin", "--out", "-"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "not one protected byte left");
    assert!(String::from_utf8_lossy(&out.stderr).contains("access record cannot be written"));
    let csv = ws.write("c.csv", CUSTOMERS_CSV.as_bytes());
    let err = ws.fails(&[
        "records",
        "import",
        csv.to_str().unwrap(),
        "--name",
        "customers",
        "--columns",
        CUSTOMERS_COLUMNS,
    ]);
    assert!(err.contains("access record cannot be written"), "{err}");
    // When the fault clears, service resumes.
    sqlite(&ws, "DROP TRIGGER refuse;");
    let out = ws
        .cmd()
        .args(["docs", "get", "a.bin", "--out", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, body);
    ws.ok(&["audit", "verify"]);
}

#[test]
fn the_ledger_extends_an_old_checkpoint_unless_history_was_rewritten() {
    let ws = Workspace::new();
    let doc = ws.write("a.txt", b"alpha");
    ws.ok(&["docs", "add", doc.to_str().unwrap()]);
    ws.ok(&["docs", "get", "a.txt", "--out", "-"]);
    // The owner keeps today's checkpoint somewhere else.
    let kept = ws.write("kept.note", ws.ok(&["audit", "checkpoint"]).as_bytes());
    ws.ok(&["docs", "get", "a.txt", "--out", "-"]);
    let out = ws.ok(&[
        "audit",
        "verify",
        "--since-checkpoint",
        kept.to_str().unwrap(),
    ]);
    assert!(out.contains("extends the checkpoint of 2 entries"), "{out}");

    // Someone with the database cuts the ledger back to its first entry
    // and removes every checkpoint: the server's own check has nothing to
    // compare with any more...
    sqlite(
        &ws,
        "DELETE FROM ledger_checkpoints; DELETE FROM ledger_leaves WHERE idx >= 1;",
    );
    ws.ok(&["audit", "verify"]);
    // ...but the checkpoint kept elsewhere still tells.
    let err = ws.fails(&[
        "audit",
        "verify",
        "--since-checkpoint",
        kept.to_str().unwrap(),
    ]);
    assert!(
        err.contains("no checkpoint, but an old one exists"),
        "{err}"
    );

    // A note that is not this workspace's is refused.
    let forged = ws.write("forged.note", b"confidant.local/x\n2\nAAAA\n\n");
    let other = Workspace::new();
    let err = other.fails(&[
        "audit",
        "verify",
        "--since-checkpoint",
        forged.to_str().unwrap(),
    ]);
    assert!(
        err.contains("does not verify") || err.contains("no checkpoint"),
        "{err}"
    );
}

#[test]
fn log_filters_and_proofs() {
    let ws = Workspace::new();
    for name in ["a.txt", "b.txt"] {
        let doc = ws.write(name, b"x");
        ws.ok(&["docs", "add", doc.to_str().unwrap()]);
    }
    ws.ok(&["docs", "get", "b.txt", "--out", "-"]);
    let all = ws.json(&["audit", "log", "--format", "json"]);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let about_b = ws.json(&["audit", "log", "--item", "b.txt", "--format", "json"]);
    let actions: Vec<&str> = about_b
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["add", "download"]);
    assert_eq!(about_b[1]["index"], 2);
    let by_owner = ws.json(&[
        "audit",
        "log",
        "--person",
        "owner@example.com",
        "--format",
        "json",
    ]);
    assert_eq!(by_owner.as_array().unwrap().len(), 3);
    let text = ws.ok(&["audit", "log"]);
    assert!(
        text.contains("owner@example.com") && text.contains("download"),
        "{text}"
    );
    let err = ws.fails(&["audit", "log", "--person", "nobody@example.com"]);
    assert!(err.contains("no person"), "{err}");
    // Time windows and refusals.
    let future = ws.json(&["audit", "log", "--since", "2999-01-01", "--format", "json"]);
    assert_eq!(future.as_array().unwrap().len(), 0);
    let past = ws.json(&[
        "audit",
        "log",
        "--since",
        "2000-01-01",
        "--until",
        "2999-01-01T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(past.as_array().unwrap().len(), 3);
    assert_eq!(
        ws.json(&["audit", "log", "--denied", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let err = ws.fails(&["audit", "log", "--since", "yesterday"]);
    assert!(err.contains("YYYY-MM-DD"), "{err}");

    let proof = ws.json(&["audit", "prove", "--index", "1"]);
    assert_eq!(proof["index"], 1);
    assert_eq!(proof["tree_size"], 3);
    assert_eq!(
        proof["proof"].as_array().unwrap().len(),
        2,
        "a leaf of a 3-leaf tree needs 2 hashes"
    );
    assert!(proof["checkpoint"].as_str().unwrap().contains("\n3\n"));
    let err = ws.fails(&["audit", "prove", "--index", "3"]);
    assert!(err.contains("not covered"), "{err}");
}

/// Anyone holding an export, a checkpoint and the public key can check the
/// record without the server, its data dir or its passphrase.
#[test]
fn an_export_verifies_offline_and_tampering_shows() {
    let ws = Workspace::new();
    let doc = ws.write("a.txt", b"alpha");
    ws.ok(&["docs", "add", doc.to_str().unwrap()]);
    ws.ok(&["docs", "get", "a.txt", "--out", "-"]);
    let key = ws.ok(&["audit", "key"]);
    let note = ws.write("cp.note", ws.ok(&["audit", "checkpoint"]).as_bytes());
    let export = ws.path("ledger.jsonl");
    ws.ok(&["audit", "export", "--out", export.to_str().unwrap()]);

    let offline = |file: &std::path::Path| {
        crate::util::confidant()
            .args(["audit", "verify", "--export"])
            .arg(file)
            .arg("--checkpoint")
            .arg(&note)
            .args(["--verifier-key", key.trim()])
            .output()
            .unwrap()
    };
    let out = offline(&export);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("exported ledger verified: 2 entries"));

    // Drop the download from the export: the checkpoint gives it away.
    let text = std::fs::read_to_string(&export).unwrap();
    let first_line_only = ws.write("cut.jsonl", text.lines().next().unwrap().as_bytes());
    let out = offline(&first_line_only);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match the checkpoint"));

    // Another workspace's key does not verify this checkpoint.
    let other = Workspace::new();
    let other_key = other.ok(&["audit", "key"]);
    let out = crate::util::confidant()
        .args(["audit", "verify", "--export"])
        .arg(&export)
        .arg("--checkpoint")
        .arg(&note)
        .args(["--verifier-key", other_key.trim()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
}

/// kill -9 while others read: the ledger still verifies, and every read that
/// returned data has its entry.
#[test]
fn killed_readers_leave_a_ledger_that_verifies() {
    let ws = Workspace::new();
    let body = noise(300_000, 11);
    let doc = ws.write("a.bin", &body);
    ws.ok(&["docs", "add", doc.to_str().unwrap()]);
    let served = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..10 {
                    let out = ws
                        .cmd()
                        .args(["docs", "get", "a.bin", "--out", "-"])
                        .output()
                        .unwrap();
                    if out.status.success() && out.stdout == body {
                        served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
        scope.spawn(|| {
            for i in 0..10u64 {
                let mut child =
                    std::process::Command::new(assert_cmd::cargo::cargo_bin("confidant"))
                        .args(["docs", "get", "a.bin", "--out", "-"])
                        .env("CONFIDANT_DATA", &ws.data)
                        .env("CONFIDANT_KEY_FILE", &ws.key)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .spawn()
                        .unwrap();
                std::thread::sleep(std::time::Duration::from_millis(5 + 7 * i));
                child.kill().ok(); // SIGKILL, wherever it is
                child.wait().unwrap();
            }
        });
    });
    let served = served.load(std::sync::atomic::Ordering::SeqCst);
    assert!(served >= 25, "most reads succeed under load, got {served}");
    ws.ok(&["audit", "verify"]);
    let downloads = export(&ws)
        .iter()
        .filter(|e| e["action"] == "download")
        .count();
    assert!(
        downloads >= served,
        "{downloads} download entries for {served} reads that returned data"
    );
}

#[test]
fn the_daily_digest_counts_per_person_action_and_category() {
    let ws = Workspace::new();
    let csv = ws.write("c.csv", CUSTOMERS_CSV.as_bytes());
    ws.ok(&[
        "records",
        "import",
        csv.to_str().unwrap(),
        "--name",
        "customers",
        "--columns",
        CUSTOMERS_COLUMNS,
    ]);
    let page = ws.json(&[
        "records",
        "show",
        "customers",
        "--limit",
        "2",
        "--format",
        "json",
    ]);
    let row = page["rows"][1]["id"].as_str().unwrap().to_owned();
    let digest = ws.json(&["audit", "digest", "--format", "json"]);
    let owner = &digest["people"][0];
    assert_eq!(owner["email"], "owner@example.com");
    assert_eq!(owner["actions"]["import"], 1);
    assert_eq!(owner["actions"]["view"], 1);
    assert_eq!(owner["opened"], 1);
    assert_eq!(owner["rows"], 2);
    assert_eq!(owner["categories"]["card_number"], 2, "{digest}");
    let empty = ws.json(&["audit", "digest", "--day", "2001-01-01", "--format", "json"]);
    assert_eq!(empty["people"], serde_json::json!([]));
    assert_eq!(empty["day"], "2001-01-01");
    assert_eq!(empty["previous"], "2000-12-31");
    let bad = ws.fails(&["audit", "digest", "--day", "yesterday"]);
    assert!(bad.contains("is not a date: use YYYY-MM-DD"), "{bad}");
    // No alert has been raised (serve's schedule raises them).
    assert_eq!(
        ws.json(&["audit", "alerts", "--format", "json"]),
        serde_json::json!([])
    );
    let none = ws.ok(&["audit", "alerts"]);
    assert!(none.starts_with("no alerts raised"), "{none}");
    // Who saw this customer's row?
    let seen = ws.json(&["audit", "log", "--row", &row, "--format", "json"]);
    assert_eq!(seen.as_array().unwrap().len(), 1);
    assert_eq!(seen[0]["action"], "view");
}
