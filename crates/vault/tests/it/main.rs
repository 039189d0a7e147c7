//! The vault over real stores: SQLite in a temp dir and a real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use confidant_core::{Label, Role};
use confidant_store::BlobStore;
use confidant_vault::{
    Actor, ColumnMapping, DocRef, FixedClock, InitOptions, KdfParams, KeyFile, SessionPolicy,
    SessionRequest, SignIn, SystemClock, Unlock, Vault, VaultError,
};

mod alerts;
mod backup;
mod devices;
mod gates;
mod grants;
mod incidents;
mod incidents_more;
mod marking;
mod people;
mod schedule;

fn web() -> SessionRequest {
    SessionRequest::web("test browser")
}
use futures::StreamExt;
use rand_core::OsRng;
use secrecy::SecretString;
use tempfile::TempDir;

pub(crate) struct Setup {
    _dir: TempDir,
    pub(crate) url: String,
    pub(crate) blobs: BlobStore,
    pub(crate) key: String,
}

impl Setup {
    pub(crate) async fn new(postgres: bool) -> Option<Setup> {
        let dir = TempDir::new().unwrap();
        let url = if postgres {
            match confidant_testkit::postgres_url().await {
                Ok(Some(url)) => url,
                Ok(None) => {
                    eprintln!("SKIPPED: PostgreSQL (CONFIDANT_SKIP_POSTGRES=1)");
                    return None;
                }
                Err(e) => panic!("{e:#}"),
            }
        } else {
            format!("sqlite://{}", dir.path().join("v.db").display())
        };
        let blobs = BlobStore::local(&dir.path().join("blobs")).unwrap();
        let key = KeyFile::generate(&mut OsRng).to_text().to_string();
        let store = confidant_store::connect(&url).await.unwrap();
        Vault::init(
            store,
            blobs.clone(),
            Arc::new(SystemClock),
            InitOptions {
                workspace_name: "Test".into(),
                owner_email: "Owner@Example.com".into(),
                owner_name: "Olivia".into(),
                owner_password: SecretString::from("a long owner password"),
                unlock: Unlock::KeyFile(KeyFile::parse(&key).unwrap()),
                kdf: KdfParams::default(),
            },
        )
        .await
        .unwrap();
        Some(Setup {
            _dir: dir,
            url,
            blobs,
            key,
        })
    }

    /// Another server process on the same database and blobs.
    async fn open(&self) -> Vault {
        let store = confidant_store::connect(&self.url).await.unwrap();
        let unlock = Unlock::KeyFile(KeyFile::parse(&self.key).unwrap());
        Vault::open(store, self.blobs.clone(), Arc::new(SystemClock), &unlock)
            .await
            .unwrap()
    }
}

async fn read(vault: &Vault, actor: &Actor, name: &str) -> Result<Vec<u8>, VaultError> {
    let (_, mut stream) = vault
        .open_document(actor, &DocRef::Name(name.into()))
        .await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

fn mapping() -> ColumnMapping {
    ColumnMapping {
        categories: vec![
            ("name".into(), confidant_core::DataCategory::Name),
            ("email".into(), confidant_core::DataCategory::Email),
        ],
        indexed: vec!["email".into()],
        rows_are_customers: true,
        contact_column: Some("email".into()),
        label: Label::Confidential,
    }
}

/// A rotation by one process is picked up by another that still holds the
/// old key-encryption key in memory.
async fn rotation_reaches_other_processes(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    let a = setup.open().await;
    let b = setup.open().await;
    let owner = a.owner().await.unwrap();
    a.add_document(&owner, "a.txt", Label::Internal, &b"alpha"[..])
        .await
        .unwrap();
    a.import_records(
        &owner,
        "customers",
        std::io::Cursor::new(b"name,email\nAnn,ann@example.com\n".to_vec()),
        mapping(),
    )
    .await
    .unwrap();
    assert_eq!(b.rotate_keys(&owner).await.unwrap(), 4);
    // `a` still holds the old KEK; it must follow the rotation.
    assert_eq!(read(&a, &owner, "a.txt").await.unwrap(), b"alpha");
    let found = a
        .find_records(&owner, "customers", "email", "ANN@example.com")
        .await
        .unwrap();
    assert_eq!(found.rows[0].values, ["Ann", "ann@example.com"]);
    // And adding through `a` after the rotation wraps under the new KEK.
    a.add_document(&owner, "b.txt", Label::Internal, &b"beta"[..])
        .await
        .unwrap();
    assert_eq!(b.rotate_keys(&owner).await.unwrap(), 5);
    assert_eq!(read(&b, &owner, "b.txt").await.unwrap(), b"beta");
}

#[tokio::test]
async fn rotation_reaches_other_processes_sqlite() {
    rotation_reaches_other_processes(false).await;
}

#[tokio::test]
async fn rotation_reaches_other_processes_postgres() {
    rotation_reaches_other_processes(true).await;
}

/// Only the owner and admins act before grants exist; strangers never.
#[tokio::test]
async fn actors_are_checked_at_the_door() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    assert_eq!(owner.email, "owner@example.com");
    vault
        .add_document(&owner, "secret.txt", Label::Restricted, &b"s"[..])
        .await
        .unwrap();
    let assistant = vault
        .invite(&owner, "alex@example.com", "Alex", Role::Assistant, None)
        .await
        .unwrap()
        .person;
    let as_assistant = Actor {
        person: assistant.id,
        workspace: assistant.workspace,
        email: assistant.email.clone(),
        name: assistant.name.clone(),
        role: Role::Assistant,
        has_second_factor: true,
        device: None,
    };
    // Need to know: without a grant the document does not exist for them.
    assert!(matches!(
        read(&vault, &as_assistant, "secret.txt").await,
        Err(VaultError::NotFound(_))
    ));
    assert!(vault.documents(&as_assistant).await.unwrap().is_empty());
    assert!(matches!(
        vault.rotate_keys(&as_assistant).await,
        Err(VaultError::Forbidden(_))
    ));
    let stranger = Actor {
        workspace: confidant_core::WorkspaceId::random(&mut OsRng),
        ..owner.clone()
    };
    assert!(matches!(
        vault.documents(&stranger).await,
        Err(VaultError::Forbidden(_))
    ));
    // Every refusal is on the record, with who tried and why.
    let denied: Vec<_> = vault
        .ledger_log(&owner, Some("alex@example.com"), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.decision == confidant_ledger::Decision::Deny)
        .collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert!(
        denied[0].1.reason.contains("denied by policy"),
        "{}",
        denied[0].1.reason
    );
    assert!(denied[1].1.reason.contains("only the owner or an admin"));
    // An invited assistant has no password yet, so cannot sign in.
    let err = vault
        .sign_in(
            "alex@example.com",
            &SecretString::from("whatever it is"),
            None,
            &web(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden(_)));
}

#[tokio::test]
async fn tokens_sign_in_and_expire() {
    let setup = Setup::new(false).await.unwrap();
    let store = confidant_store::connect(&setup.url).await.unwrap();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let unlock = Unlock::KeyFile(KeyFile::parse(&setup.key).unwrap());
    let early = Vault::open(
        store.clone(),
        setup.blobs.clone(),
        Arc::new(FixedClock(now)),
        &unlock,
    )
    .await
    .unwrap();
    let issued = early
        .sign_in(
            "OWNER@example.com",
            &SecretString::from("a long owner password"),
            None,
            &web(),
        )
        .await
        .unwrap();
    let SignIn::Done(issued) = issued else {
        panic!("an owner without a second factor signs in with the password")
    };
    assert_eq!(
        early.authenticate(&issued.token, false).await.unwrap().role,
        Role::Owner
    );
    assert!(
        early.authenticate(&issued.token, true).await.is_err(),
        "a web session is not an API token"
    );
    let wrong = early
        .sign_in(
            "owner@example.com",
            &SecretString::from("a wrong password!!"),
            None,
            &web(),
        )
        .await
        .unwrap_err();
    let unknown = early
        .sign_in(
            "nobody@example.com",
            &SecretString::from("a wrong password!!"),
            None,
            &web(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        wrong.to_string(),
        unknown.to_string(),
        "no hint which addresses exist"
    );

    let later = now + SessionPolicy::default().web_lifetime + time::Duration::seconds(1);
    let late = Vault::open(
        store,
        setup.blobs.clone(),
        Arc::new(FixedClock(later)),
        &unlock,
    )
    .await
    .unwrap();
    assert!(matches!(
        late.authenticate(&issued.token, false).await,
        Err(VaultError::Forbidden(_))
    ));
    // Expired tokens are removed, so even the early clock refuses it now.
    assert!(early.authenticate(&issued.token, false).await.is_err());
    early.sign_out(&issued.token).await.unwrap();
}

#[tokio::test]
async fn interrupted_uploads_are_swept() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    vault
        .add_document(&owner, "kept.txt", Label::Internal, &b"kept"[..])
        .await
        .unwrap();
    // A body whose row never got written (a crash between the two).
    let ws = vault.workspace();
    let orphan =
        confidant_store::BlobKey::document(ws, confidant_core::ItemId::random(&mut OsRng), "0123")
            .unwrap();
    let mut writer = setup.blobs.writer(&orphan).await.unwrap();
    writer
        .write(bytes::Bytes::from_static(b"orphan"))
        .await
        .unwrap();
    writer.finish().await.unwrap();
    assert_eq!(vault.sweep_orphan_blobs().await.unwrap(), 1);
    assert_eq!(vault.sweep_orphan_blobs().await.unwrap(), 0);
    assert_eq!(read(&vault, &owner, "kept.txt").await.unwrap(), b"kept");
}

/// Guessing is slowed down per account and per client address, and an
/// unknown account is throttled exactly like a known one.
#[tokio::test]
async fn repeated_failures_are_throttled() {
    let setup = Setup::new(false).await.unwrap();
    let store = confidant_store::connect(&setup.url).await.unwrap();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let unlock = Unlock::KeyFile(KeyFile::parse(&setup.key).unwrap());
    let vault = Vault::open(
        store,
        setup.blobs.clone(),
        Arc::new(FixedClock(now)),
        &unlock,
    )
    .await
    .unwrap();
    let wrong = SecretString::from("not the password at all");
    let right = SecretString::from("a long owner password");
    let ip: std::net::IpAddr = "192.0.2.10".parse().unwrap();
    for _ in 0..3 {
        let err = vault
            .sign_in("owner@example.com", &wrong, Some(ip), &web())
            .await
            .unwrap_err();
        assert!(matches!(err, VaultError::Forbidden(_)), "{err}");
    }
    // Now even the right password waits, from any address.
    let err = vault
        .sign_in("owner@example.com", &right, None, &web())
        .await
        .unwrap_err();
    let VaultError::RateLimited { retry_after, .. } = err else {
        panic!("expected RateLimited, got {err}")
    };
    assert_eq!(retry_after, time::Duration::seconds(1));
    // The address is held back for other accounts too.
    let err = vault
        .sign_in("other@example.com", &wrong, Some(ip), &web())
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::RateLimited { .. }), "{err}");

    // Unknown accounts behave the same: three plain refusals, then a wait.
    for _ in 0..3 {
        let err = vault
            .sign_in("nobody@example.com", &wrong, None, &web())
            .await
            .unwrap_err();
        assert!(matches!(err, VaultError::Forbidden(_)), "{err}");
    }
    let err = vault
        .sign_in("nobody@example.com", &wrong, None, &web())
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::RateLimited { .. }), "{err}");
}

/// Uploads are scanned: the findings suggest the label when none is given,
/// and the owner's label wins when one is.
#[tokio::test]
async fn uploads_are_scanned_and_labelled() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let letter = b"Dear Ann Lee,\nyour card 4111 1111 1111 1111 was charged.\nann@example.com\n";
    let meta = vault
        .add_document(&owner, "letter.txt", None, &letter[..])
        .await
        .unwrap();
    assert_eq!(meta.label, Label::Restricted);
    let scan = meta.scan.clone().unwrap();
    assert_eq!(scan.kinds.get("card_number"), Some(&1));
    assert!(scan.complete && !scan.binary);
    assert_eq!(scan.scanned_bytes, letter.len() as u64);

    let notes = b"Ship the boiler on Tuesday.\n";
    let meta = vault
        .add_document(&owner, "notes.txt", None, &notes[..])
        .await
        .unwrap();
    assert_eq!(meta.label, Label::Internal);

    // The owner's choice stands; the suggestion is kept beside it.
    let meta = vault
        .add_document(&owner, "chosen.txt", Label::Public, &letter[..])
        .await
        .unwrap();
    assert_eq!(meta.label, Label::Public);
    assert_eq!(meta.scan.unwrap().suggested_label, Label::Restricted);

    // A new version brings a new scan; the label stays the owner's.
    let meta = vault
        .replace_document(&owner, &DocRef::Name("notes.txt".into()), &letter[..])
        .await
        .unwrap();
    assert_eq!(meta.label, Label::Internal);
    assert_eq!(meta.scan.unwrap().suggested_label, Label::Restricted);
    let meta = vault
        .set_document_label(&owner, &DocRef::Name("notes.txt".into()), Label::Restricted)
        .await
        .unwrap();
    assert_eq!(meta.label, Label::Restricted);
    let listed = vault.documents(&owner).await.unwrap();
    let notes = listed.iter().find(|d| d.name == "notes.txt").unwrap();
    assert_eq!(notes.label, Label::Restricted);

    // Binary bodies are not read; they are kept Confidential. A body that
    // claims to be a PDF but is none is unreadable, and the scan says so.
    let pdf = b"%PDF-1.7\n\x00\x01binary 4111 1111 1111 1111";
    let meta = vault
        .add_document(&owner, "scan.pdf", None, &pdf[..])
        .await
        .unwrap();
    assert_eq!(meta.label, Label::Confidential);
    let scan = meta.scan.unwrap();
    assert!(scan.binary && scan.kinds.is_empty());
    assert!(
        scan.unreadable
            .as_deref()
            .is_some_and(|why| why.starts_with("the PDF file could not be read")),
        "{scan:?}"
    );
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR card 4111 1111 1111 1111";
    let meta = vault
        .add_document(&owner, "photo.png", None, &png[..])
        .await
        .unwrap();
    assert_eq!(meta.label, Label::Confidential);
    let scan = meta.scan.unwrap();
    assert!(scan.binary && scan.unreadable.is_none() && scan.extracted.is_none());

    // The label change is on the record.
    let edits: Vec<_> = vault
        .ledger_log(&owner, None, Some("notes.txt"))
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.reason.contains("label internal -> restricted"))
        .collect();
    assert_eq!(edits.len(), 1);
}

fn pdf_body(lines: &[&str]) -> Vec<u8> {
    confidant_testkit::office::pdf_with_lines(lines).unwrap()
}

/// A DOCX body holding these paragraphs.
fn docx_body(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<w:p><w:r><w:t xml:space=\"preserve\">{p}</w:t></w:r></w:p>"))
        .collect();
    let xml = format!(
        r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    confidant_testkit::office::zip_with(&[("word/document.xml", &xml)]).unwrap()
}

/// PDF, DOCX and XLSX uploads are scanned through their text: the label
/// follows what they hold (Restricted for cards, bank accounts and
/// national ids; Confidential for other personal data; Internal
/// otherwise), and the scan says the text was extracted. A damaged one is
/// reported as unreadable.
#[tokio::test]
async fn pdf_docx_and_xlsx_uploads_are_scanned_through_their_text() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let add = |name: &'static str, body: Vec<u8>| {
        let vault = &vault;
        let owner = &owner;
        async move {
            let meta = vault
                .add_document(owner, name, None, &body[..])
                .await
                .unwrap();
            (meta.label, meta.scan.unwrap())
        }
    };

    let (label, scan) = add(
        "statement.pdf",
        pdf_body(&["Statement for Ms Priya Shah", "Card 4111 1111 1111 1111"]),
    )
    .await;
    assert_eq!(label, Label::Restricted, "{scan:?}");
    assert_eq!(scan.extracted.as_deref(), Some("pdf"));
    assert_eq!(scan.kinds.get("card_number"), Some(&1), "{scan:?}");
    assert!(scan.complete && !scan.binary && scan.unreadable.is_none());

    let (label, scan) = add(
        "minutes.pdf",
        pdf_body(&[
            "Minutes of the weekly meeting",
            "Ship the boiler on Tuesday.",
        ]),
    )
    .await;
    assert_eq!((label, scan.kinds.len()), (Label::Internal, 0), "{scan:?}");

    let (label, scan) = add(
        "letter.docx",
        docx_body(&["Dear Mr Okafor,", "we will call you on +44 20 7946 0958."]),
    )
    .await;
    assert_eq!(label, Label::Confidential, "{scan:?}");
    assert_eq!(scan.extracted.as_deref(), Some("docx"));
    assert_eq!(scan.kinds.get("phone"), Some(&1), "{scan:?}");

    let sheet = confidant_mark::write_xlsx(
        "customers",
        &["name", "ssn", "email"],
        &[
            vec![
                "Ann Lee".into(),
                "536 22 1234".into(),
                "ann@example.com".into(),
            ],
            vec![
                "Bob Marsh".into(),
                "123 45 6789".into(),
                "bob@example.com".into(),
            ],
        ],
    )
    .unwrap();
    let (label, scan) = add("customers.xlsx", sheet).await;
    assert_eq!(label, Label::Restricted, "{scan:?}");
    assert_eq!(scan.extracted.as_deref(), Some("xlsx"));
    assert_eq!(scan.kinds.get("ssn"), Some(&2), "{scan:?}");
    assert_eq!(scan.kinds.get("email"), Some(&2), "{scan:?}");

    // A zip that is no DOCX: unreadable, kept Confidential, with the reason.
    let mut broken = docx_body(&["x"]);
    broken.truncate(broken.len() / 2);
    let (label, scan) = add("broken.docx", broken).await;
    assert_eq!(label, Label::Confidential);
    assert!(scan.binary && !scan.complete, "{scan:?}");
    let why = scan.unreadable.unwrap();
    assert!(
        why.starts_with("the DOCX file could not be read: "),
        "{why}"
    );
}

/// Concurrent accesses are committed in groups, yet each is recorded once,
/// in one verifiable chain, before its caller gets an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accesses_are_each_recorded_once() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let before = vault.verify_ledger(&owner).await.unwrap().entries;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let vault = vault.clone();
        let owner = owner.clone();
        tasks.spawn(async move { vault.documents(&owner).await.map(|_| ()) });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let report = vault.verify_ledger(&owner).await.unwrap();
    assert_eq!(report.entries, before + 64);
    assert_eq!(report.checkpoint_size, report.entries);
}
