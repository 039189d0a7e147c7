//! `confidant scan`: offline, no data dir.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::util::{confidant, contains};

const CARD: &str = "4111 1111 1111 1111";

fn write(dir: &Path, name: &str, contents: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Runs `confidant scan ARGS --format json`, returns the finding lines, the
/// summary and the exit code.
fn scan_json(dir: &Path, args: &[&str]) -> (Vec<Value>, Value, i32) {
    let out = confidant()
        .current_dir(dir)
        .arg("scan")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    (
        lines,
        summary["summary"].clone(),
        out.status.code().unwrap(),
    )
}

fn sample_dir() -> TempDir {
    let temp = TempDir::new().unwrap();
    write(
        temp.path(),
        "customers/notes.txt",
        &format!(
            "Customer notes (é)\nName: Ann Lee\ncard {CARD}\nSSN 123-45-6789, mail ann@example.com\n"
        ),
    );
    write(
        temp.path(),
        "clean.md",
        "# Nothing to see\nOrder 4111111111111111 shipped.\n",
    );
    temp
}

#[test]
fn json_lines_have_the_documented_shape_and_offsets() {
    let temp = sample_dir();
    let (findings, summary, code) = scan_json(temp.path(), &["."]);
    assert_eq!(code, 0);
    let file = std::fs::read(temp.path().join("customers/notes.txt")).unwrap();
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["person_name", "card_number", "ssn", "email"]);
    for f in &findings {
        let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["end", "kind", "line", "masked", "path", "score", "start"]
        );
        assert!(f["path"].as_str().unwrap().ends_with("notes.txt"));
        let (s, e) = (
            f["start"].as_u64().unwrap() as usize,
            f["end"].as_u64().unwrap() as usize,
        );
        let raw = std::str::from_utf8(&file[s..e]).unwrap();
        let masked = f["masked"].as_str().unwrap();
        // The mask keeps the layout: same length, same separators, and the
        // kept characters are the value's own.
        assert_eq!(raw.chars().count(), masked.chars().count());
        for (r, m) in raw.chars().zip(masked.chars()) {
            assert!(m == '*' || m == r, "{raw} vs {masked}");
        }
        let score = f["score"].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&score));
    }
    // The keys come in the documented order, one object per line.
    let raw = confidant()
        .current_dir(temp.path())
        .args(["scan", "customers", "--format", "json"])
        .output()
        .unwrap();
    let raw = String::from_utf8(raw.stdout).unwrap();
    assert_eq!(raw.lines().count(), 5);
    for line in raw.lines().take(4) {
        let at: Vec<usize> = ["path", "start", "end", "line", "kind", "score", "masked"]
            .iter()
            .map(|k| line.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
    }
    assert!(raw.lines().last().unwrap().starts_with("{\"summary\":{"));
    let card = &findings[1];
    assert_eq!(card["line"], 3);
    assert_eq!(card["masked"], "**** **** **** 1111");
    assert_eq!(summary["files"], 2);
    assert_eq!(summary["findings"], 4);
    assert_eq!(summary["by_kind"]["card_number"], 1);
    let clean = std::fs::metadata(temp.path().join("clean.md"))
        .unwrap()
        .len();
    assert_eq!(
        summary["bytes"].as_u64().unwrap(),
        file.len() as u64 + clean
    );
    assert_eq!(summary["unreadable"], serde_json::json!([]));
}

#[test]
fn fail_on_sets_the_exit_code() {
    let temp = sample_dir();
    let (_, _, code) = scan_json(temp.path(), &[".", "--fail-on", "card_number,iban"]);
    assert_eq!(code, 1);
    let (_, _, code) = scan_json(temp.path(), &[".", "--fail-on", "iban,secret"]);
    assert_eq!(code, 0);
    let out = confidant()
        .current_dir(temp.path())
        .args(["scan", ".", "--fail-on", "ssn"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim(), "error: found ssn (--fail-on)");
    // Text output: a table per file with masked values only.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("**** **** **** 1111"), "{stdout}");
    assert!(!stdout.contains(CARD));
    assert!(!stdout.contains("123-45-6789"));
    // An unknown kind is a usage error.
    let out = confidant()
        .args(["scan", ".", "--fail-on", "bank_account"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn redacted_copies_hold_no_raw_values() {
    let temp = sample_dir();
    write(
        temp.path(),
        "in/deep/cards.csv",
        &format!("name,card\nAnn,{CARD}\nBen,5555-5555-5555-4444\n"),
    );
    let out_dir = temp.path().join("redacted");
    let (_, summary, code) = scan_json(
        temp.path(),
        &[
            "in",
            "customers/notes.txt",
            "--redact",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(summary["files"], 2);
    let csv = std::fs::read(out_dir.join("deep/cards.csv")).unwrap();
    let notes = std::fs::read(out_dir.join("notes.txt")).unwrap();
    for raw in [CARD.as_bytes(), b"5555-5555-5555-4444", b"123-45-6789"] {
        assert!(!contains(&csv, raw) && !contains(&notes, raw));
    }
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "name,card\nAnn,**** **** **** 1111\nBen,****-****-****-4444\n"
    );
    assert!(contains(&notes, b"a**@example.com"));
    // A redaction folder that holds what is scanned would overwrite the
    // originals: refused, nothing written.
    let before = std::fs::read(temp.path().join("clean.md")).unwrap();
    let out = confidant()
        .current_dir(temp.path())
        .args(["scan", ".", "--redact", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("inside the redaction folder")
    );
    assert_eq!(std::fs::read(temp.path().join("clean.md")).unwrap(), before);
    // Scanning the redacted copies finds no cards.
    let (findings, _, _) = scan_json(&out_dir, &["."]);
    assert!(
        findings.iter().all(|f| f["kind"] != "card_number"),
        "{findings:?}"
    );
}

#[test]
fn ignore_files_are_respected_and_hidden_files_scanned() {
    let temp = TempDir::new().unwrap();
    write(temp.path(), ".gitignore", "build/\n*.log\n");
    write(temp.path(), ".confidantignore", "fixtures/\n");
    write(temp.path(), "build/out.txt", &format!("card {CARD}\n"));
    write(temp.path(), "debug.log", &format!("card {CARD}\n"));
    write(temp.path(), "fixtures/f.txt", &format!("card {CARD}\n"));
    write(
        temp.path(),
        ".env",
        "API_KEY=a8f5f167f44f4964e6c998dee827110c\n",
    );
    write(temp.path(), "kept.txt", &format!("card {CARD}\n"));
    let (findings, summary, _) = scan_json(temp.path(), &["."]);
    let paths: Vec<&str> = findings
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["./.env", "./kept.txt"], "{summary}");
    assert_eq!(findings[0]["kind"], "secret");
}

#[test]
fn unreadable_and_binary_files_are_reported() {
    let temp = TempDir::new().unwrap();
    write(temp.path(), "ok.txt", "nothing\n");
    std::os::unix::fs::symlink(
        temp.path().join("gone.txt"),
        temp.path().join("dangling.txt"),
    )
    .unwrap();
    let mut binary = vec![0u8, 1, 2, 3];
    binary.extend_from_slice(CARD.as_bytes());
    std::fs::write(temp.path().join("blob.bin"), binary).unwrap();
    let (findings, summary, code) = scan_json(temp.path(), &["."]);
    assert_eq!(code, 0);
    assert!(findings.is_empty());
    assert_eq!(summary["files"], 1);
    let unreadable = summary["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{summary}");
    assert_eq!(unreadable[0]["path"], "./dangling.txt");
    assert_eq!(summary["skipped_binary"], serde_json::json!(["./blob.bin"]));
    // A path that does not exist is unreadable too.
    let (_, summary, _) = scan_json(temp.path(), &["missing.txt"]);
    assert_eq!(summary["unreadable"][0]["path"], "missing.txt");
    // Text output names it; --fail-on cannot vouch for what it could not read.
    let out = confidant()
        .current_dir(temp.path())
        .args(["scan", ".", "--fail-on", "card_number"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("unreadable: ./dangling.txt"), "{stdout}");
    assert!(stdout.contains("skipped (binary): ./blob.bin"), "{stdout}");
}

#[test]
fn scan_needs_no_data_dir() {
    let temp = sample_dir();
    confidant()
        .env("CONFIDANT_DATA", temp.path().join("no such dir"))
        .current_dir(temp.path())
        .args(["scan", "clean.md"])
        .assert()
        .success();
}

/// A zip file with these entries, as office formats are.
fn zip_file(path: &Path, entries: &[(&str, &str)]) {
    std::fs::write(path, confidant_testkit::office::zip_with(entries).unwrap()).unwrap();
}

#[test]
fn docx_and_xlsx_text_is_scanned() {
    let temp = TempDir::new().unwrap();
    zip_file(
        &temp.path().join("letter.docx"),
        &[(
            "word/document.xml",
            r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Dear Mr Okafor,</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">your card 4111 1111 </w:t></w:r><w:r><w:t>1111 1111 &amp; SSN 123-45-6789</w:t></w:r></w:p></w:body></w:document>"#,
        )],
    );
    let ns = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
    zip_file(
        &temp.path().join("book.xlsx"),
        &[
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
            ),
            (
                "_rels/.rels",
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
            (
                "xl/workbook.xml",
                &format!(
                    r#"<?xml version="1.0"?><workbook {ns} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Customers" sheetId="1" r:id="rId1"/></sheets></workbook>"#
                ),
            ),
            (
                "xl/_rels/workbook.xml.rels",
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
            ),
            (
                "xl/worksheets/sheet1.xml",
                &format!(
                    r#"<?xml version="1.0"?><worksheet {ns}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="B1" t="inlineStr"><is><t>card</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>ann@example.com</t></is></c><c r="B2"><v>5555555555554444</v></c></row></sheetData></worksheet>"#
                ),
            ),
        ],
    );
    std::fs::write(temp.path().join("broken.xlsx"), "not a zip").unwrap();
    let out_dir = temp.path().join("out");
    let (findings, summary, code) = scan_json(
        temp.path(),
        &[
            "book.xlsx",
            "broken.xlsx",
            "letter.docx",
            "--redact",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{summary}");
    assert_eq!(
        summary["unreadable"].as_array().unwrap().len(),
        1,
        "{summary}"
    );
    let got: Vec<(&str, &str, &str)> = findings
        .iter()
        .map(|f| {
            assert_eq!(f["offsets"], "extracted_text");
            (
                f["path"].as_str().unwrap(),
                f["kind"].as_str().unwrap(),
                f["masked"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("book.xlsx", "email", "a**@example.com"),
            ("book.xlsx", "card_number", "************4444"),
            ("letter.docx", "person_name", "O*****"),
            ("letter.docx", "card_number", "**** **** **** 1111"),
            ("letter.docx", "ssn", "***-**-6789"),
        ]
    );
    assert_eq!(summary["unreadable"][0]["path"], "broken.xlsx");
    assert_eq!(
        summary["not_redacted"],
        serde_json::json!(["book.xlsx", "letter.docx"])
    );
    assert!(!out_dir.join("letter.docx").exists());
}

/// A one-page PDF with these lines of text.
fn pdf_file(path: &Path, lines: &[&str]) {
    std::fs::write(
        path,
        confidant_testkit::office::pdf_with_lines(lines).unwrap(),
    )
    .unwrap();
}

#[test]
fn pdf_text_is_scanned() {
    let temp = TempDir::new().unwrap();
    pdf_file(
        &temp.path().join("statement.pdf"),
        &[
            "Statement for Ms Priya Shah",
            "Card 4111 1111 1111 1111",
            "SSN 123-45-6789",
        ],
    );
    std::fs::write(temp.path().join("fake.pdf"), "%PDF-1.4 nothing else").unwrap();
    let (findings, summary, code) = scan_json(temp.path(), &["statement.pdf", "fake.pdf"]);
    assert_eq!(code, 0, "{summary}");
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["person_name", "card_number", "ssn"], "{findings:?}");
    assert!(findings.iter().all(|f| f["offsets"] == "extracted_text"));
    assert_eq!(findings[1]["line"], 2);
    assert_eq!(findings[1]["masked"], "**** **** **** 1111");
    assert_eq!(summary["unreadable"][0]["path"], "fake.pdf", "{summary}");
}
