//! The same journeys with metadata in a real PostgreSQL server.

use crate::sentinel;
use crate::util::{Workspace, noise};

pub(crate) fn database() -> Option<String> {
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

fn psql(url: &str, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
}

/// Fail closed on PostgreSQL too: when the ledger refuses writes, not one
/// protected byte leaves; when the fault clears, service resumes and the
/// record verifies.
#[test]
fn no_ledger_no_data_on_postgres() {
    let Some(url) = database() else { return };
    let ws = Workspace::new_with(Some(&url));
    let body = noise(150_000, 8);
    let input = ws.write("x.bin", &body);
    ws.ok(&["docs", "add", input.to_str().unwrap()]);
    psql(
        &url,
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON ledger_leaves FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    let out = ws
        .cmd()
        .args(["docs", "get", "x.bin", "--out", "-"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "not one protected byte left");
    assert!(String::from_utf8_lossy(&out.stderr).contains("access record cannot be written"));
    psql(&url, "DROP TRIGGER refuse ON ledger_leaves;");
    let out = ws
        .cmd()
        .args(["docs", "get", "x.bin", "--out", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, body);
    let verified = ws.ok(&["audit", "verify"]);
    assert!(
        verified.contains("ledger verified: 2 entries"),
        "{verified}"
    );
}
