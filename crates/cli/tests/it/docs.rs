use serde_json::Value;

use crate::util::{Workspace, files_under, noise};

#[test]
fn documents_round_trip_through_the_cli() {
    let ws = Workspace::new();
    let body = noise(1_500_000, 1);
    let input = ws.write("report.bin", &body);
    let out = ws.ok(&[
        "docs",
        "add",
        input.to_str().unwrap(),
        "--name",
        "Q3 report.bin",
        "--label",
        "restricted",
    ]);
    assert!(out.contains("added \"Q3 report.bin\""), "{out}");

    let list = ws.json(&["docs", "list", "--format", "json"]);
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["name"], "Q3 report.bin");
    assert_eq!(docs[0]["label"], "restricted");
    assert_eq!(docs[0]["size"], 1_500_000);
    assert_eq!(docs[0]["version"], 1);
    let id = docs[0]["id"].as_str().unwrap().to_owned();

    // By name to a file, by id to stdout.
    let out_path = ws.path("out.bin");
    ws.ok(&[
        "docs",
        "get",
        "Q3 report.bin",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out_path).unwrap(), body);
    let stdout = ws
        .cmd()
        .args(["docs", "get", &id, "--out", "-"])
        .output()
        .unwrap();
    assert!(stdout.status.success());
    assert_eq!(stdout.stdout, body);

    // Replace makes version 2 with the new content.
    let new_body = noise(70_000, 2);
    let new_input = ws.write("v2.bin", &new_body);
    ws.ok(&["docs", "replace", &id, new_input.to_str().unwrap()]);
    let list = ws.json(&["docs", "list", "--format", "json"]);
    assert_eq!(list[0]["version"], 2);
    assert_eq!(list[0]["size"], 70_000);
    let stdout = ws
        .cmd()
        .args(["docs", "get", "Q3 report.bin", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(stdout.stdout, new_body);
    // Only the current version's body is kept.
    assert_eq!(files_under(&ws.data.join("blobs")).len(), 1);

    // Text listing shows the name and label.
    let text = ws.ok(&["docs", "list"]);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(
        text.contains("Q3 report.bin") && text.contains("restricted"),
        "{text}"
    );

    ws.ok(&["docs", "rm", "Q3 report.bin"]);
    assert_eq!(
        ws.json(&["docs", "list", "--format", "json"]),
        Value::Array(vec![])
    );
    assert!(
        files_under(&ws.data.join("blobs")).is_empty(),
        "the body is deleted with the document"
    );
    let err = ws.fails(&["docs", "get", &id, "--out", "-"]);
    assert!(err.contains("no document"), "{err}");
}

#[test]
fn empty_and_chunk_sized_documents_round_trip() {
    let ws = Workspace::new();
    for (name, len) in [
        ("empty", 0usize),
        ("one-chunk", 65_536),
        ("chunk-plus-one", 65_537),
    ] {
        let body = noise(len, len as u64);
        let input = ws.write(name, &body);
        ws.ok(&["docs", "add", input.to_str().unwrap()]);
        let out = ws
            .cmd()
            .args(["docs", "get", name, "--out", "-"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, body, "{name}");
    }
}

#[test]
fn duplicate_names_and_bad_input_are_refused() {
    let ws = Workspace::new();
    let input = ws.write("a.txt", b"hello");
    ws.ok(&["docs", "add", input.to_str().unwrap()]);
    let err = ws.fails(&["docs", "add", input.to_str().unwrap()]);
    assert!(err.contains("already exists"), "{err}");
    let err = ws.fails(&["docs", "add", ws.path("missing.txt").to_str().unwrap()]);
    assert!(err.contains("cannot read"), "{err}");
    let err = ws.fails(&[
        "docs",
        "add",
        input.to_str().unwrap(),
        "--name",
        "x",
        "--label",
        "secret",
    ]);
    assert!(err.contains("label"), "{err}");
    assert_eq!(
        ws.json(&["docs", "list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_flipped_byte_in_a_blob_is_an_integrity_error_and_no_output() {
    let ws = Workspace::new();
    let body = noise(200_000, 3);
    let input = ws.write("contract.pdf", &body);
    ws.ok(&["docs", "add", input.to_str().unwrap()]);
    let blobs = files_under(&ws.data.join("blobs"));
    assert_eq!(blobs.len(), 1);
    let mut bytes = std::fs::read(&blobs[0]).unwrap();
    bytes[100_000] ^= 0x20;
    std::fs::write(&blobs[0], &bytes).unwrap();

    let out_path = ws.path("leak.pdf");
    let err = ws.fails(&[
        "docs",
        "get",
        "contract.pdf",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(
        err.contains("integrity check failed for document \"contract.pdf\""),
        "{err}"
    );
    assert!(!out_path.exists(), "no partial file is left");
    assert!(
        files_under(ws.temp.path())
            .iter()
            .all(|p| !p.to_string_lossy().contains("partial"))
    );

    // Truncation at a chunk boundary is caught too.
    bytes[100_000] ^= 0x20;
    bytes.truncate(8 + 65_552);
    std::fs::write(&blobs[0], &bytes).unwrap();
    let err = ws.fails(&[
        "docs",
        "get",
        "contract.pdf",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(err.contains("integrity check failed"), "{err}");
}

#[test]
fn keys_rotate_rewraps_and_everything_stays_readable() {
    let ws = Workspace::new();
    let body = noise(300_000, 4);
    let input = ws.write("a.bin", &body);
    ws.ok(&["docs", "add", input.to_str().unwrap()]);
    let csv = ws.write("c.csv", crate::util::CUSTOMERS_CSV.as_bytes());
    ws.ok(&[
        "records",
        "import",
        csv.to_str().unwrap(),
        "--name",
        "customers",
        "--columns",
        crate::util::CUSTOMERS_COLUMNS,
        "--index",
        "email",
    ]);
    let blob_before = std::fs::read(&files_under(&ws.data.join("blobs"))[0]).unwrap();
    let out = ws.ok(&["keys", "rotate"]);
    assert!(out.contains("4 data keys rewrapped"), "{out}");
    // Content was not re-encrypted: the body is byte-identical.
    assert_eq!(
        std::fs::read(&files_under(&ws.data.join("blobs"))[0]).unwrap(),
        blob_before
    );
    let got = ws
        .cmd()
        .args(["docs", "get", "a.bin", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(got.stdout, body);
    let found = ws.json(&[
        "records",
        "find",
        "customers",
        "--where",
        "email=ben@example.com",
        "--format",
        "json",
    ]);
    assert_eq!(found["rows"][0]["values"]["name"], "Ben Martin");
    // Twice in a row works as well.
    ws.ok(&["keys", "rotate"]);
    let got = ws
        .cmd()
        .args(["docs", "get", "a.bin", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(got.stdout, body);
}
