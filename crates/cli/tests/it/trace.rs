//! `confidant trace` and `records export` at the console: a stamped copy
//! and a stripped export are traced to their recipient; a file that was
//! never ours says so plainly.

use crate::util::Workspace;

#[test]
fn a_leaked_copy_and_a_stripped_export_are_traced_at_the_console() {
    let ws = Workspace::new();
    let memo = ws.write(
        "memo.txt",
        b"The merger closes on Friday.\nTell nobody before the announcement.\n",
    );
    ws.ok(&[
        "docs",
        "add",
        memo.to_str().unwrap(),
        "--label",
        "confidential",
    ]);
    let copy = ws.path("copy.txt");
    ws.ok(&["docs", "get", "memo.txt", "--out", copy.to_str().unwrap()]);
    let out = ws.ok(&["trace", copy.to_str().unwrap()]);
    assert!(out.contains("to: "), "{out}");
    assert!(out.contains("what: document memo.txt (download)"), "{out}");
    assert!(out.contains("inclusion proof:"), "{out}");

    let customers = ws.write(
        "customers.csv",
        b"name,email\nAnn Lee,ann@clients.example\nBo Chan,bo@clients.example\n",
    );
    ws.ok(&[
        "records",
        "import",
        customers.to_str().unwrap(),
        "--name",
        "customers",
        "--columns",
        "name=name,email=email",
    ]);
    let export = ws.path("export.csv");
    ws.ok(&[
        "records",
        "export",
        "customers",
        "--out",
        export.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&export).unwrap();
    // Strip what a careful leaker would: the banner and the invisible marks.
    let stripped: String = confidant_mark::fingerprint::strip(&text)
        .lines()
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n");
    let leaked = ws.write("leaked.csv", stripped.as_bytes());
    let out = ws.ok(&["trace", leaked.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["deliveries"][0]["item"], "record set customers",
        "{out}"
    );
    assert_eq!(report["deliveries"][0]["action"], "export", "{out}");
    assert!(
        report["honey_records"]
            .as_array()
            .is_some_and(|h| !h.is_empty())
    );

    // As a workbook (chosen by the file name): another reader (calamine,
    // behind `confidant scan`) opens it and sees the customers' addresses,
    // and trace finds its delivery.
    let xlsx = ws.path("export.xlsx");
    ws.ok(&[
        "records",
        "export",
        "customers",
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    let scanned = ws.ok(&["scan", xlsx.to_str().unwrap(), "--format", "json"]);
    assert!(scanned.contains("\"kind\":\"email\""), "{scanned}");
    let out = ws.ok(&["trace", xlsx.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["deliveries"][0]["action"], "export", "{out}");
    assert_eq!(
        report["honey_records"].as_array().map(Vec::len),
        Some(3),
        "{out}"
    );

    let innocent = ws.write("innocent.txt", b"nothing to see here");
    let out = ws.ok(&["trace", innocent.to_str().unwrap()]);
    assert!(out.starts_with("nothing found"), "{out}");
}
