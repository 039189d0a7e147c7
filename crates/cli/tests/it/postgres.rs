//! The same journeys with metadata in a real PostgreSQL server.

use crate::sentinel;
use crate::util::{Workspace, noise};

fn database() -> Option<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(confidant_testkit::postgres_url()) {
        Ok(Some(url)) => Some(url),
        Ok(None) => {
            eprintln!("SKIPPED: PostgreSQL tests (CONFIDANT_SKIP_POSTGRES=1)");
            None
        }
        Err(e) => panic!("{e:#}"),
    }
}

#[test]
fn documents_and_records_on_postgres_leave_no_plaintext_in_a_dump() {
    let Some(url) = database() else { return };
    let ws = Workspace::new_with(Some(&url));
    assert!(
        !ws.data.join("confidant.db").exists(),
        "metadata lives in PostgreSQL"
    );
    let body = noise(300_000, 5);
    let input = ws.write("x.bin", &body);
    ws.ok(&["docs", "add", input.to_str().unwrap()]);
    let got = ws
        .cmd()
        .args(["docs", "get", "x.bin", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(got.stdout, body);

    sentinel::plant(&ws);
    ws.ok(&["keys", "rotate"]);
    let found = ws.json(&[
        "records",
        "find",
        "customers",
        "--where",
        &format!("email={}", sentinel::EMAIL),
        "--format",
        "json",
    ]);
    assert_eq!(found["rows"][0]["values"]["card"], sentinel::CARD);

    let dump = confidant_testkit::pg_dump(&url).unwrap();
    assert!(dump.len() > 1000, "the dump has content");
    assert!(
        crate::util::contains(&dump, b"record_rows"),
        "the dump holds the tables"
    );
    sentinel::assert_absent("pg_dump", &dump);

    // A second init against the same database refuses.
    let other = tempfile::TempDir::new().unwrap();
    let out = crate::util::confidant()
        .args([
            "init",
            "--owner-email",
            "x@example.com",
            "--owner-name",
            "X",
            "--database",
            &url,
        ])
        .arg("--data")
        .arg(other.path().join("d"))
        .arg("--key-file")
        .arg(other.path().join("k"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a workspace"));
    assert!(!other.path().join("d").exists() && !other.path().join("k").exists());
}
