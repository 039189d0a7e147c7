//! Adding data from the browser: uploading a document and importing a CSV
//! file after confirming its columns' suggested categories (multipart
//! forms, as a browser sends them).

use anyhow::{Context, Result};
use confidant_core::{DataCategory, Label, Role};
use confidant_server::ServerOptions;

use crate::util::{Browser, TestApp, hidden_csrf, location, text};

/// The id in the confirmation form's action.
fn import_id(page: &str) -> Result<String> {
    let at = page
        .find("action=\"/records/import/")
        .context("no confirmation form")?
        + "action=\"/records/import/".len();
    Ok(page[at..at + 32].to_owned())
}

/// Twenty customers with valid card numbers.
fn customers_csv(ragged_line: Option<usize>) -> String {
    let cards = [
        "4111 1111 1111 1111",
        "5555-5555-5555-4444",
        "378282246310005",
        "6011111111111117",
    ];
    let names = ["Ann Lee", "Priya Shah", "Tom Berg", "Li Wei", "Omar Haddad"];
    let mut csv = String::from("name,email,card,notes\n");
    for i in 0..20 {
        if Some(i + 2) == ragged_line {
            csv.push_str("only,three,cells\n");
            continue;
        }
        csv.push_str(&format!(
            "{},c{i}@example.com,{},called on Monday\n",
            names[i % names.len()],
            cards[i % cards.len()]
        ));
    }
    csv
}

/// Uploads `csv` as "customers" and returns the waiting import's id.
async fn stage(app: &TestApp, browser: &mut Browser, csrf: &str, csv: String) -> Result<String> {
    let response = browser
        .post_multipart(
            app,
            "/records/import",
            &[("csrf", csrf), ("name", "customers")],
            ("file", "customers.csv", csv.as_bytes()),
        )
        .await?;
    assert_eq!(response.status(), 200);
    import_id(&text(response).await?)
}

#[tokio::test]
async fn the_owner_uploads_a_document_and_sees_the_suggested_label() -> Result<()> {
    let app = TestApp::with_options(ServerOptions {
        max_upload_bytes: 4_096,
        ..ServerOptions::default()
    })
    .await?;
    let owner = app.vault.owner().await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let home = text(browser.get(&app, "/").await?).await?;
    assert!(home.contains("href=\"/add\""), "the home page links to it");
    let page = text(browser.get(&app, "/add").await?).await?;
    assert!(page.contains("Upload a document"), "{page}");
    let csrf = hidden_csrf(&page)?;

    let letter = b"Dear bank, please charge card 4111 1111 1111 1111 for the visa fee.";
    let response = browser
        .post_multipart(
            &app,
            "/documents",
            &[
                ("csrf", &csrf),
                ("name", "letters/visa.txt"),
                ("label", "suggested"),
            ],
            ("file", "visa.txt", letter),
        )
        .await?;
    assert_eq!(response.status(), 303);
    let to = location(&response).context("redirected")?.to_owned();
    let docs = app.vault.documents(&owner).await?;
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    assert_eq!(doc.name, "letters/visa.txt");
    assert_eq!(doc.label, Label::Restricted, "as the scan suggests");
    let scan = doc.scan.as_ref().context("scanned")?;
    assert!(scan.categories.contains(&DataCategory::CardNumber));
    assert_eq!(to, format!("/documents/{}/view", doc.id));
    let view = text(browser.get(&app, &to).await?).await?;
    assert!(view.contains("restricted"), "{view}");

    // A label chosen by the owner wins; an empty name takes the file's.
    let response = browser
        .post_multipart(
            &app,
            "/documents",
            &[("csrf", &csrf), ("name", ""), ("label", "internal")],
            ("file", "menu.txt", b"soup of the day"),
        )
        .await?;
    assert_eq!(response.status(), 303);
    let docs = app.vault.documents(&owner).await?;
    let menu = docs
        .iter()
        .find(|d| d.name == "menu.txt")
        .context("named after the file")?;
    assert_eq!(menu.label, Label::Internal);

    // Refused, and nothing stored: a forged form, a file over the limit,
    // no file at all.
    let blobs = app.blob_files()?.len();
    let forged = browser
        .post_multipart(
            &app,
            "/documents",
            &[("csrf", "forged"), ("name", "x.txt")],
            ("file", "x.txt", b"x"),
        )
        .await?;
    assert_eq!(forged.status(), 403);
    let big = browser
        .post_multipart(
            &app,
            "/documents",
            &[("csrf", &csrf), ("name", "big.bin")],
            ("file", "big.bin", &[7u8; 8_192]),
        )
        .await?;
    assert_eq!(big.status(), 413);
    assert!(text(big).await?.contains("nothing was stored"), "says so");
    let long_name = "n".repeat(5_000);
    let long = browser
        .post_multipart(
            &app,
            "/documents",
            &[("csrf", &csrf), ("name", &long_name)],
            ("file", "x.txt", b"x"),
        )
        .await?;
    assert_eq!(long.status(), 413);
    assert_eq!(app.vault.documents(&owner).await?.len(), 2);
    assert_eq!(app.blob_files()?.len(), blobs, "no blob left behind");

    // An assistant gets neither the page nor the upload.
    let alex = app
        .add_member("alex@example.com", "Alex", Role::Assistant)
        .await?;
    let mut assistant = Browser::default();
    assistant.sign_in_as(&app, &alex).await?;
    let home = text(assistant.get(&app, "/").await?).await?;
    assert!(!home.contains("href=\"/add\""));
    assert_eq!(assistant.get(&app, "/add").await?.status(), 403);
    let csrf = assistant.session_csrf(&app).await?;
    let refused = assistant
        .post_multipart(
            &app,
            "/documents",
            &[("csrf", &csrf), ("name", "mine.txt")],
            ("file", "mine.txt", b"hello"),
        )
        .await?;
    assert_eq!(refused.status(), 403);
    assert_eq!(app.vault.documents(&owner).await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn the_owner_replaces_and_deletes_a_document_from_its_page() -> Result<()> {
    let app = TestApp::new().await?;
    let owner = app.vault.owner().await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let csrf = hidden_csrf(&text(browser.get(&app, "/add").await?).await?)?;
    let response = browser
        .post_multipart(
            &app,
            "/documents",
            &[("csrf", &csrf), ("name", "plan.txt"), ("label", "internal")],
            ("file", "plan.txt", b"first plan"),
        )
        .await?;
    let view = location(&response).context("redirected")?.to_owned();
    let page = text(browser.get(&app, &view).await?).await?;
    assert!(page.contains("Replace or delete"), "{page}");
    let id = app.vault.documents(&owner).await?[0].id.to_string();

    // A new version: the same document, its content and scan replaced.
    let replaced = browser
        .post_multipart(
            &app,
            &format!("/documents/{id}/replace"),
            &[("csrf", &csrf)],
            (
                "file",
                "plan-v2.txt",
                b"call +1 212 555 0100 about the plan",
            ),
        )
        .await?;
    assert_eq!(replaced.status(), 303);
    assert_eq!(location(&replaced), Some(view.as_str()));
    let docs = app.vault.documents(&owner).await?;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].version, 2);
    assert!(
        docs[0]
            .scan
            .as_ref()
            .is_some_and(|s| s.categories.contains(&DataCategory::Phone)),
        "the new version is scanned"
    );
    let shown = text(browser.get(&app, &view).await?).await?;
    assert!(shown.contains("about the plan"), "{shown}");

    // Deleting needs the box ticked; then it is gone.
    let unconfirmed = browser
        .post_form(
            &app,
            &format!("/documents/{id}/delete"),
            &[("csrf", &csrf)],
            None,
        )
        .await?;
    assert_eq!(unconfirmed.status(), 400);
    assert_eq!(app.vault.documents(&owner).await?.len(), 1);
    let deleted = browser
        .post_form(
            &app,
            &format!("/documents/{id}/delete"),
            &[("csrf", &csrf), ("confirm", "yes")],
            None,
        )
        .await?;
    assert_eq!(deleted.status(), 303);
    assert_eq!(location(&deleted), Some("/"));
    assert!(app.vault.documents(&owner).await?.is_empty());
    assert_eq!(browser.get(&app, &view).await?.status(), 404);
    Ok(())
}

#[tokio::test]
async fn the_owner_imports_a_csv_after_confirming_its_columns() -> Result<()> {
    let app = TestApp::new().await?;
    let owner = app.vault.owner().await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let csrf = hidden_csrf(&text(browser.get(&app, "/add").await?).await?)?;

    let csv = customers_csv(None);
    let response = browser
        .post_multipart(
            &app,
            "/records/import",
            &[("csrf", &csrf), ("name", "")],
            ("file", "Customers 2026.csv", csv.as_bytes()),
        )
        .await?;
    assert_eq!(response.status(), 200);
    let page = text(response).await?;
    // The suggestions, with their evidence, preselected.
    assert!(page.contains("value=\"customers-2026\""), "{page}");
    assert!(
        page.contains("column 3 (card): card_number, 100% of 20 values valid"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"card_number\" selected>"),
        "{page}"
    );
    assert!(page.contains("<option value=\"email\" selected>"), "{page}");
    assert!(
        page.contains("<option value=\"restricted\" selected>"),
        "card numbers make it Restricted"
    );
    assert!(
        app.vault.record_sets(&owner).await?.is_empty(),
        "nothing imported before the columns are confirmed"
    );
    let id = import_id(&page)?;

    // The owner keeps the suggestions but one, and names the set.
    let confirm = |name: &'static str, notes: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_owned()),
            ("category-1", "name".to_owned()),
            ("category-2", "email".to_owned()),
            ("category-3", "card_number".to_owned()),
            ("category-4", notes.to_owned()),
            ("index-2", "on".to_owned()),
            ("label", "restricted".to_owned()),
            ("customers", "on".to_owned()),
            ("contact", "email".to_owned()),
        ]
    };
    let fields = confirm("customers", "free_text");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser
        .post_form(&app, &format!("/records/import/{id}"), &fields, None)
        .await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/records/customers"));
    let set = app.vault.record_set(&owner, "customers").await?;
    assert_eq!(set.row_count, 20);
    assert_eq!(set.label, Label::Restricted);
    assert!(set.rows_are_customers);
    assert_eq!(set.contact_column.as_deref(), Some("email"));
    let columns: Vec<(&str, DataCategory, bool)> = set
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.category, c.indexed))
        .collect();
    assert_eq!(
        columns,
        [
            ("name", DataCategory::Name, false),
            ("email", DataCategory::Email, true),
            ("card", DataCategory::CardNumber, false),
            ("notes", DataCategory::FreeText, false),
        ]
    );
    let shown = text(browser.get(&app, "/records/customers").await?).await?;
    assert!(shown.contains("Ann Lee"), "the owner sees the rows");

    // Done: the file no longer waits.
    let again = browser
        .post_form(&app, &format!("/records/import/{id}"), &fields, None)
        .await?;
    assert_eq!(again.status(), 404);
    assert_eq!(app.vault.record_sets(&owner).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_refused_import_changes_nothing_and_keeps_the_choices() -> Result<()> {
    let app = TestApp::new().await?;
    let owner = app.vault.owner().await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let csrf = hidden_csrf(&text(browser.get(&app, "/add").await?).await?)?;
    // A ragged row: the whole import is refused, with the line.
    let ragged = stage(&app, &mut browser, &csrf, customers_csv(Some(7))).await?;
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "customers"),
        ("category-1", "name"),
        ("category-2", "email"),
        ("category-3", "card_number"),
        ("category-4", "free_text"),
        ("label", "restricted"),
    ];
    let refused = browser
        .post_form(&app, &format!("/records/import/{ragged}"), &fields, None)
        .await?;
    assert_eq!(refused.status(), 400);
    let page = text(refused).await?;
    assert!(page.contains("line 7"), "{page}");
    assert!(page.contains("nothing was imported"), "{page}");
    assert!(
        page.contains("<option value=\"free_text\" selected>"),
        "the owner's choices come back"
    );
    assert!(app.vault.record_sets(&owner).await?.is_empty());

    // Cancelled: gone.
    let cancelled = browser
        .post_form(
            &app,
            &format!("/records/import/{ragged}/cancel"),
            &[("csrf", &csrf)],
            None,
        )
        .await?;
    assert_eq!(cancelled.status(), 303);
    let gone = browser
        .post_form(&app, &format!("/records/import/{ragged}"), &fields, None)
        .await?;
    assert_eq!(gone.status(), 404);

    // A category that does not exist, then a name already taken: refused,
    // and the same file imports once both are fixed.
    let good = stage(&app, &mut browser, &csrf, customers_csv(None)).await?;
    let mut wrong = fields;
    wrong[5] = ("category-4", "shoe_size");
    let refused = browser
        .post_form(&app, &format!("/records/import/{good}"), &wrong, None)
        .await?;
    assert_eq!(refused.status(), 400);
    assert!(text(refused).await?.contains("shoe_size"));
    app.vault
        .import_records(
            &owner,
            "customers",
            std::io::Cursor::new(b"name\nAnn\n".to_vec()),
            confidant_vault::ColumnMapping {
                categories: vec![("name".into(), DataCategory::Name)],
                indexed: Vec::new(),
                rows_are_customers: false,
                contact_column: None,
                label: Label::Confidential,
            },
        )
        .await?;
    let taken = browser
        .post_form(&app, &format!("/records/import/{good}"), &fields, None)
        .await?;
    assert_eq!(taken.status(), 400);
    assert!(text(taken).await?.contains("already exists"));
    let mut renamed = fields;
    renamed[1] = ("name", "customers-west");
    let done = browser
        .post_form(&app, &format!("/records/import/{good}"), &renamed, None)
        .await?;
    assert_eq!(done.status(), 303);
    assert_eq!(
        app.vault
            .record_set(&owner, "customers-west")
            .await?
            .row_count,
        20
    );

    // Another person's waiting file is answered as unknown.
    let mine = stage(&app, &mut browser, &csrf, customers_csv(None)).await?;
    let admin = app
        .add_member("sam@example.com", "Sam", Role::Admin)
        .await?;
    let mut other = Browser::default();
    other.sign_in_as(&app, &admin).await?;
    let other_csrf = other.session_csrf(&app).await?;
    let mut theirs = renamed;
    theirs[0] = ("csrf", other_csrf.as_str());
    theirs[1] = ("name", "stolen");
    let refused = other
        .post_form(&app, &format!("/records/import/{mine}"), &theirs, None)
        .await?;
    assert_eq!(refused.status(), 404);
    assert!(app.vault.record_set(&owner, "stolen").await.is_err());
    Ok(())
}
