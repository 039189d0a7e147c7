use crate::util::{CUSTOMERS_COLUMNS, CUSTOMERS_CSV, Workspace};

fn import(ws: &Workspace, csv: &[u8], extra: &[&str]) -> Result<String, String> {
    let path = ws.write("in.csv", csv);
    let mut args = vec![
        "records",
        "import",
        path.to_str().unwrap(),
        "--name",
        "customers",
    ];
    args.extend_from_slice(extra);
    let out = ws.cmd().args(&args).output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8(out.stderr).unwrap())
    }
}

#[test]
fn import_show_and_find() {
    let ws = Workspace::new();
    let out = import(
        &ws,
        CUSTOMERS_CSV.as_bytes(),
        &[
            "--columns",
            CUSTOMERS_COLUMNS,
            "--index",
            "email,phone",
            "--customers",
            "--contact-column",
            "email",
        ],
    )
    .unwrap();
    assert!(out.contains("imported 3 rows"), "{out}");

    let sets = ws.json(&["records", "list", "--format", "json"]);
    assert_eq!(sets[0]["name"], "customers");
    assert_eq!(sets[0]["row_count"], 3);
    assert_eq!(sets[0]["rows_are_customers"], true);
    assert_eq!(sets[0]["contact_column"], "email");
    assert_eq!(sets[0]["columns"][3]["category"], "card_number");
    assert_eq!(sets[0]["columns"][1]["indexed"], true);
    assert_eq!(sets[0]["columns"][0]["indexed"], false);

    let page = ws.json(&["records", "show", "customers", "--format", "json"]);
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["values"]["notes"], "likes mornings, not Mondays");
    assert_eq!(rows[1]["values"]["notes"], "two\nlines");
    assert_eq!(rows[2]["values"]["phone"], "");
    let ann_id = rows[0]["id"].as_str().unwrap().to_owned();

    // Lookup is exact after normalization: e-mail case and phone punctuation do not matter.
    let found = ws.json(&[
        "records",
        "find",
        "customers",
        "--where",
        "email=ann.lee@EXAMPLE.com",
        "--format",
        "json",
    ]);
    assert_eq!(found["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        found["rows"][0]["id"],
        ann_id.as_str(),
        "row ids are stable"
    );
    let found = ws.json(&[
        "records",
        "find",
        "customers",
        "--where",
        "phone=+15550100 2000",
        "--format",
        "json",
    ]);
    assert_eq!(found["rows"][0]["values"]["name"], "Ben Martin");
    let none = ws.json(&[
        "records",
        "find",
        "customers",
        "--where",
        "email=nobody@example.com",
        "--format",
        "json",
    ]);
    assert_eq!(none["rows"].as_array().unwrap().len(), 0);

    let err = ws.fails(&["records", "find", "customers", "--where", "name=Ann Lee"]);
    assert!(err.contains("no search index"), "{err}");

    let text = ws.ok(&[
        "records",
        "show",
        "customers",
        "--limit",
        "1",
        "--offset",
        "1",
    ]);
    assert!(
        text.contains("Ben Martin") && !text.contains("Ann Lee"),
        "{text}"
    );

    let err = import(
        &ws,
        CUSTOMERS_CSV.as_bytes(),
        &["--columns", CUSTOMERS_COLUMNS],
    )
    .unwrap_err();
    assert!(err.contains("already exists"), "{err}");
    ws.ok(&["records", "rm", "customers"]);
    assert_eq!(
        ws.json(&["records", "list", "--format", "json"]),
        serde_json::json!([])
    );
}

#[test]
fn mapping_file_works() {
    let ws = Workspace::new();
    let mapping = ws.write(
        "mapping.toml",
        b"customers = true\ncontact_column = \"email\"\nindex = [\"email\"]\n[columns]\nname = \"name\"\nemail = \"email\"\nphone = \"phone\"\ncard = \"card_number\"\nnotes = \"free_text\"\n",
    );
    import(
        &ws,
        CUSTOMERS_CSV.as_bytes(),
        &["--mapping", mapping.to_str().unwrap()],
    )
    .unwrap();
    let found = ws.json(&[
        "records",
        "find",
        "customers",
        "--where",
        "email=chloe@example.com",
        "--format",
        "json",
    ]);
    assert_eq!(found["rows"][0]["values"]["card"], "4000005555555553");
}

/// Every bad file is refused with the line named, and nothing is imported.
#[test]
fn bad_files_name_the_line_and_import_nothing() {
    let ws = Workspace::new();
    let mut bad_utf8 = b"name,email\nAnn,ann@example.com\nBen,".to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe]);
    bad_utf8.extend_from_slice(b"@example.com\n");
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (bad_utf8, "name=name,email=email", "line 3"),
        (
            b"name,email\nAnn,a@example.com\nBen,b@example.com\nCy\n".to_vec(),
            "name=name,email=email",
            "line 4",
        ),
        (
            b"name,email\nAnn,a@example.com\n".to_vec(),
            "name=name,email=ssn",
            "unknown data category",
        ),
        (
            b"name,email\nAnn,a@example.com\n".to_vec(),
            "name=name",
            "no data category for column(s) email",
        ),
        (
            b"name,email\nAnn,a@example.com\n".to_vec(),
            "name=name,email=email,phone=phone",
            "\"phone\"",
        ),
        (b"".to_vec(), "name=name", "empty"),
    ];
    for (csv, columns, want) in cases {
        let err = import(&ws, &csv, &["--columns", columns]).unwrap_err();
        assert!(err.contains(want), "want {want:?} in {err:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert_eq!(
            ws.json(&["records", "list", "--format", "json"]),
            serde_json::json!([]),
            "{want}"
        );
    }
    // After all those failures, the name is still free.
    import(
        &ws,
        b"name,email\nAnn,a@example.com\n",
        &["--columns", "name=name,email=email"],
    )
    .unwrap();
}

#[test]
fn a_changed_cell_is_an_integrity_error() {
    let ws = Workspace::new();
    import(
        &ws,
        CUSTOMERS_CSV.as_bytes(),
        &["--columns", CUSTOMERS_COLUMNS],
    )
    .unwrap();
    let db = ws.data.join("confidant.db");
    crate::util::tamper_first_row(&db);
    let err = ws.fails(&["records", "show", "customers"]);
    assert!(err.contains("integrity check failed for row"), "{err}");
}

/// `records suggest` reads a sample of the file (no data dir needed) and
/// proposes a category per column; its `--columns` argument imports as is.
#[test]
fn suggested_categories_come_from_the_values() {
    let ws = Workspace::new();
    let csv = ws.write(
        "s.csv",
        b"name,email,ssn,card,notes\n\
Ann Lee,ann@example.com,274 61 7738,4000001234567899,prefers mornings and never on a Monday please\n\
Ben Martin,ben@example.com,536-22-1234,4111 1111 1111 1111,likes a call before any visit to the house\n",
    );
    let out = crate::util::confidant()
        .args(["records", "suggest", "--format", "json"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let suggested: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let categories: Vec<&str> = suggested["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        ["name", "email", "national_id", "card_number", "free_text"]
    );
    assert_eq!(suggested["columns"][3]["matched"], 2);
    let argument = suggested["argument"].as_str().unwrap();
    ws.ok(&[
        "records",
        "import",
        csv.to_str().unwrap(),
        "--name",
        "s",
        "--columns",
        argument,
    ]);

    // The import itself shows them: without categories it stops and
    // shows the suggestions; with --suggested they fill the columns not
    // named, and a column imported against its suggestion gets a note.
    let out = ws
        .cmd()
        .args(["records", "import", csv.to_str().unwrap(), "--name", "t"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stdout.contains("card_number") && stdout.contains("100% of 2 values"),
        "{stdout}"
    );
    assert!(stderr.contains("pass --suggested"), "{stderr}");
    assert!(stderr.contains(argument), "{stderr}");
    let printed = ws.ok(&[
        "records",
        "import",
        csv.to_str().unwrap(),
        "--name",
        "t",
        "--suggested",
        "--columns",
        "notes=other",
    ]);
    assert!(
        printed.contains("column 4 (card): card_number, 100% of 2 values valid"),
        "{printed}"
    );
    assert!(
        printed.contains(
            "note: column 5 (notes): free_text, 100% of 2 values valid; imported as other"
        ),
        "{printed}"
    );
    let sets: serde_json::Value =
        serde_json::from_str(&ws.ok(&["records", "list", "--format", "json"])).unwrap();
    let t = sets
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "t")
        .unwrap();
    let categories: Vec<&str> = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        ["name", "email", "national_id", "card_number", "other"]
    );
}
