//! Plants known values and searches every byte the server keeps for them.

use crate::util::{Workspace, contains, files_under};

pub const CARD: &str = "4000001234567899";
pub const EMAIL: &str = "sentinel.customer@example.org";
pub const PHRASE: &str = "purple elephants guard the sentinel vault";
pub const DOC_NAME: &str = "Sentinel Smith tax return.txt";

/// Adds a document and a record set holding the sentinels.
pub fn plant(ws: &Workspace) {
    let doc = ws.write(
        "plain.txt",
        format!("Dear customer,\n{PHRASE}\n").as_bytes(),
    );
    ws.ok(&["docs", "add", doc.to_str().unwrap(), "--name", DOC_NAME]);
    let csv = ws.write(
        "c.csv",
        format!("name,email,card\nSentinel Smith,{EMAIL},{CARD}\n").as_bytes(),
    );
    ws.ok(&[
        "records",
        "import",
        csv.to_str().unwrap(),
        "--name",
        "customers",
        "--columns",
        "name=name,email=email,card=card_number",
        "--index",
        "email,card",
    ]);
    // Prove they are really stored: reading them back works.
    let found = ws.json(&[
        "records",
        "find",
        "customers",
        "--where",
        &format!("card={CARD}"),
        "--format",
        "json",
    ]);
    assert_eq!(found["rows"][0]["values"]["email"], EMAIL);
}

pub fn assert_absent(what: &str, bytes: &[u8]) {
    for needle in [CARD, EMAIL, PHRASE, "Sentinel Smith", "purple elephants"] {
        assert!(
            !contains(bytes, needle.as_bytes()),
            "{needle:?} found in {what}"
        );
    }
}

#[test]
fn no_plaintext_in_the_sqlite_file_its_wal_or_the_blob_folder() {
    let ws = Workspace::new();
    plant(&ws);
    // Read the files while a reader keeps the WAL from being checkpointed away:
    // whatever is there, WAL or main file, must hold no plaintext.
    let files = files_under(&ws.data);
    assert!(files.iter().any(|f| f.ends_with("confidant.db")));
    assert!(files.iter().any(|f| f.to_string_lossy().contains("blobs")));
    for file in &files {
        assert_absent(&file.display().to_string(), &std::fs::read(file).unwrap());
    }
    // The test would catch plaintext: the inputs themselves contain it.
    assert!(contains(
        &std::fs::read(ws.path("c.csv")).unwrap(),
        CARD.as_bytes()
    ));
}
