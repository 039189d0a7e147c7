//! kill -9 in the middle of writes: nothing half-written becomes visible,
//! and what was acknowledged stays.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Workspace, files_under, noise};

fn spawn_and_kill(ws: &Workspace, args: &[&str], after: impl Fn() -> bool) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("confidant"))
        .args(args)
        .env("CONFIDANT_DATA", &ws.data)
        .env("CONFIDANT_KEY_FILE", &ws.key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // Wait until the command is visibly in the middle of its work.
    while !after() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the command never started writing"
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the command finished ({status}) before it could be killed: make the input bigger"
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

fn blob_bytes(ws: &Workspace) -> u64 {
    files_under(&ws.data.join("blobs"))
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn killed_document_add_leaves_nothing_visible() {
    let ws = Workspace::new();
    let kept = ws.write("kept.txt", b"acknowledged before the crash");
    ws.ok(&["docs", "add", kept.to_str().unwrap()]);
    let before = blob_bytes(&ws);

    let big = ws.write("big.bin", &noise(400 << 20, 9));
    spawn_and_kill(&ws, &["docs", "add", big.to_str().unwrap()], || {
        blob_bytes(&ws) > before + (8 << 20)
    });

    let list = ws.json(&["docs", "list", "--format", "json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["kept.txt"],
        "only the acknowledged document is visible"
    );
    let got = ws
        .cmd()
        .args(["docs", "get", "kept.txt", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(got.stdout, b"acknowledged before the crash");
    // The same name can be added again.
    let small = ws.write("big.bin", b"small now");
    ws.ok(&["docs", "add", small.to_str().unwrap()]);
}

#[test]
fn killed_record_import_leaves_nothing_visible() {
    let ws = Workspace::new();
    let mut csv = String::from("name,email,notes\n");
    for i in 0..400_000 {
        csv.push_str(&format!(
            "Customer {i},c{i}@example.com,some notes about customer number {i}\n"
        ));
    }
    let path = ws.write("big.csv", csv.as_bytes());
    let wal = ws.data.join("confidant.db-wal");
    let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let start = wal_size();
    spawn_and_kill(
        &ws,
        &[
            "records",
            "import",
            path.to_str().unwrap(),
            "--name",
            "customers",
            "--columns",
            "name=name,email=email,notes=free_text",
        ],
        || wal_size() > start + (4 << 20),
    );
    assert_eq!(
        ws.json(&["records", "list", "--format", "json"]),
        serde_json::json!([])
    );
    let small = ws.write("small.csv", b"name,email,notes\nAnn,a@example.com,\n");
    ws.ok(&[
        "records",
        "import",
        small.to_str().unwrap(),
        "--name",
        "customers",
        "--columns",
        "name=name,email=email,notes=free_text",
    ]);
    assert_eq!(
        ws.json(&["records", "list", "--format", "json"])[0]["row_count"],
        1
    );
}
