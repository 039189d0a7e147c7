//! Backups over real stores: round trips on SQLite and PostgreSQL and
//! across them, tampering of every kind, and a backup taken while writes
//! go on.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use confidant_core::Label;
use confidant_store::{BlobStore, Store, Value};
use confidant_vault::backup::{
    self, BackupReader, BackupSigner, CreateOptions, OuterSignature, ReadReport, RestoreTarget,
};
use confidant_vault::{Actor, KeyFile, SystemClock, Unlock, Vault};
use rand_core::{OsRng, RngCore};
use tempfile::TempDir;

use super::{Setup, mapping, read};

struct Keys {
    identity: age::x25519::Identity,
    signer: BackupSigner,
}

fn keys(vault: &Vault, owner: &Actor) -> Keys {
    let sealed = vault.new_backup_key(owner).unwrap();
    Keys {
        identity: age::x25519::Identity::generate(),
        signer: vault.open_backup_key(owner, &sealed).unwrap(),
    }
}

async fn populate(vault: &Vault, owner: &Actor, n: usize) {
    for i in 0..n {
        let body = format!("document {i}: card 4111 1111 1111 1111 ").repeat(i * 50 + 1);
        vault
            .add_document(
                owner,
                &format!("doc-{i}.txt"),
                // Internal: reads return the stored bytes, so the restored
                // bodies compare byte for byte (a Confidential copy is
                // stamped anew, with a new delivery id, on every read).
                Label::Internal,
                body.as_bytes(),
            )
            .await
            .unwrap();
    }
    vault
        .import_records(
            owner,
            "customers",
            std::io::Cursor::new(
                b"name,email\nAnn,ann@example.com\nBo,bo@example.com\nCy,cy@example.com\n".to_vec(),
            ),
            mapping(),
        )
        .await
        .unwrap();
    vault
        .invite(
            owner,
            "alex@example.com",
            "Alex",
            confidant_core::Role::Assistant,
            None,
        )
        .await
        .unwrap();
}

async fn make_backup(vaults: &[(Vault, Actor)], keys: &Keys) -> (backup::Created, Vec<u8>) {
    let options = CreateOptions {
        recipients: vec![keys.identity.to_public()],
        signer: &keys.signer,
        files: vec![("backup.toml".into(), b"# settings\n".to_vec())],
        file_name: "test.age".into(),
        progress: None,
        level: 3,
        only_these_workspaces: false,
    };
    backup::create(vaults, options, Vec::new()).await.unwrap()
}

async fn read_backup(
    bytes: Vec<u8>,
    keys: &Keys,
    target: Option<RestoreTarget>,
) -> Result<ReadReport, confidant_vault::VaultError> {
    let identity: age::x25519::Identity =
        secrecy::ExposeSecret::expose_secret(&keys.identity.to_string())
            .parse()
            .unwrap();
    let reader = BackupReader::open(std::io::Cursor::new(bytes), vec![identity], None).await?;
    reader.run(Some(keys.signer.public_key()), target).await
}

/// A restore target: a fresh database (`postgres` or SQLite in `dir`).
async fn target(dir: &TempDir, postgres: bool, version: i64) -> (String, RestoreTarget) {
    let url = if postgres {
        confidant_testkit::postgres_url().await.unwrap().unwrap()
    } else {
        format!("sqlite://{}", dir.path().join("restored.db").display())
    };
    let store = confidant_store::connect_for_load(&url, version)
        .await
        .unwrap();
    let loader = store.begin_load(version).await.unwrap();
    let blobs = BlobStore::local(&dir.path().join("restored-blobs")).unwrap();
    (url, RestoreTarget { loader, blobs })
}

/// Every row of every table, values normalized across backends (booleans
/// as integers), sorted.
async fn contents(store: &dyn Store) -> BTreeMap<String, Vec<Vec<Value>>> {
    let mut dump = store.begin_dump().await.unwrap();
    let names: Vec<String> = dump.tables().iter().map(|t| t.name.clone()).collect();
    let mut out = BTreeMap::new();
    for name in names {
        let mut rows = Vec::new();
        dump.read_table(&name, &mut |row| {
            rows.push(
                row.into_iter()
                    .map(|v| match v {
                        Value::Bool(b) => Value::Integer(i64::from(b)),
                        other => other,
                    })
                    .collect::<Vec<_>>(),
            );
            Ok(())
        })
        .await
        .unwrap();
        rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out.insert(name, rows);
    }
    out
}

/// The tables of a database, straight from its catalog.
async fn catalog_tables(url: &str) -> Vec<String> {
    use sqlx::Connection as _;
    let mut names: Vec<String> = if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    };
    names.retain(|n| n != "_sqlx_migrations");
    names.sort();
    names
}

async fn open(url: &str, blobs: BlobStore, key: &str) -> Vec<(Vault, Actor)> {
    let store = confidant_store::connect(url).await.unwrap();
    let unlock = Unlock::KeyFile(KeyFile::parse(key).unwrap());
    let vaults = Vault::open_all(store, blobs, Arc::new(SystemClock), &unlock)
        .await
        .unwrap();
    let mut out = Vec::new();
    for v in vaults {
        let owner = v.owner().await.unwrap();
        out.push((v, owner));
    }
    out
}

async fn documents_of(vault: &Vault, owner: &Actor) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for doc in vault.documents(owner).await.unwrap() {
        out.insert(
            doc.name.clone(),
            read(vault, owner, &doc.name).await.unwrap(),
        );
    }
    out
}

/// Backs up `from`, restores into a new database, and checks that every
/// table, row, document, record and ledger entry came back identical.
/// Returns the restored database's URL and blobs.
async fn round_trip(
    from_url: &str,
    from: &[(Vault, Actor)],
    key: &str,
    dir: &TempDir,
    to_postgres: bool,
) -> (String, BlobStore) {
    let (vault, owner) = &from[0];
    let keys = keys(vault, owner);
    let (created, bytes) = make_backup(from, &keys).await;
    // Every table of the schema is in the backup.
    let tables: Vec<String> = created
        .manifest
        .parts
        .iter()
        .filter(|p| p.kind == backup::PartKind::Table)
        .map(|p| p.name.clone())
        .collect();
    let mut sorted = tables.clone();
    sorted.sort();
    assert_eq!(sorted, catalog_tables(from_url).await);
    let version = created.manifest.schema_version;
    let (url, restore) = target(dir, to_postgres, version).await;
    let report = read_backup(bytes, &keys, Some(restore)).await.unwrap();
    assert_eq!(report.manifest, created.manifest);
    assert_eq!(
        report.files,
        vec![("backup.toml".to_owned(), b"# settings\n".to_vec())]
    );
    let blobs = BlobStore::local(&dir.path().join("restored-blobs")).unwrap();
    let restored = open(&url, blobs.clone(), key).await;
    let restored_store = confidant_store::connect(&url).await.unwrap();
    let source_store = confidant_store::connect(from_url).await.unwrap();
    assert_eq!(
        contents(restored_store.as_ref()).await,
        contents(source_store.as_ref()).await,
        "every row of every table is identical"
    );
    for ((a, ao), (b, bo)) in from.iter().zip(&restored) {
        assert_eq!(documents_of(a, ao).await, documents_of(b, bo).await);
        let ra = a.show_records(ao, "customers", 0, 100).await.unwrap();
        let rb = b.show_records(bo, "customers", 0, 100).await.unwrap();
        assert_eq!(format!("{:?}", ra.rows), format!("{:?}", rb.rows));
        // The restored ledger verifies and its root is the manifest's.
        let report = b.verify_ledger(bo).await.unwrap();
        let listed = created
            .manifest
            .workspaces
            .iter()
            .find(|w| w.id == b.workspace().to_string())
            .unwrap();
        assert!(report.entries >= listed.entries);
    }
    (url, blobs)
}

#[tokio::test]
async fn round_trip_on_sqlite() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    populate(&vault, &owner, 5).await;
    let dir = TempDir::new().unwrap();
    round_trip(&setup.url, &[(vault, owner)], &setup.key, &dir, false).await;
}

#[tokio::test]
async fn round_trip_on_postgres() {
    let Some(setup) = Setup::new(true).await else {
        return;
    };
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    populate(&vault, &owner, 5).await;
    let dir = TempDir::new().unwrap();
    round_trip(&setup.url, &[(vault, owner)], &setup.key, &dir, true).await;
}

/// The upgrade path and back: SQLite -> PostgreSQL -> SQLite.
#[tokio::test]
async fn sqlite_to_postgres_and_back() {
    let setup = Setup::new(false).await.unwrap();
    if confidant_testkit::postgres_url()
        .await
        .ok()
        .flatten()
        .is_none()
    {
        eprintln!("SKIPPED: PostgreSQL (CONFIDANT_SKIP_POSTGRES=1)");
        return;
    }
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    populate(&vault, &owner, 4).await;
    let original = documents_of(&vault, &owner).await;
    let dir_pg = TempDir::new().unwrap();
    let (pg_url, pg_blobs) =
        round_trip(&setup.url, &[(vault, owner)], &setup.key, &dir_pg, true).await;
    let on_pg = open(&pg_url, pg_blobs, &setup.key).await;
    let dir_back = TempDir::new().unwrap();
    let (back_url, back_blobs) = round_trip(&pg_url, &on_pg, &setup.key, &dir_back, false).await;
    let back = open(&back_url, back_blobs, &setup.key).await;
    assert_eq!(documents_of(&back[0].0, &back[0].1).await, original);
}

/// A small backup and what it decrypts to.
struct Sample {
    keys: Keys,
    bytes: Vec<u8>,
    created: backup::Created,
    _setup: Setup,
}

async fn sample() -> Sample {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    populate(&vault, &owner, 3).await;
    let keys = keys(&vault, &owner);
    let (created, bytes) = make_backup(&[(vault, owner)], &keys).await;
    Sample {
        keys,
        bytes,
        created,
        _setup: setup,
    }
}

fn decrypt(bytes: &[u8], identity: &age::x25519::Identity) -> Vec<u8> {
    let d = age::Decryptor::new(bytes).unwrap();
    let mut r = d
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .unwrap();
    let mut compressed = Vec::new();
    r.read_to_end(&mut compressed).unwrap();
    zstd::decode_all(&compressed[..]).unwrap()
}

fn encrypt(plain: &[u8], identity: &age::x25519::Identity) -> Vec<u8> {
    let compressed = zstd::encode_all(plain, 1).unwrap();
    let recipient = identity.to_public();
    let e = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .unwrap();
    let mut out = Vec::new();
    let mut w = e.wrap_output(&mut out).unwrap();
    w.write_all(&compressed).unwrap();
    w.finish().unwrap();
    out
}

/// The frames after the magic line: (start, end) of each.
fn frames(plain: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut at = b"CONFIDANT-BACKUP-1\n".len();
    let mut out = Vec::new();
    while at < plain.len() {
        let tag = plain[at];
        let len = u32::from_be_bytes(plain[at + 1..at + 5].try_into().unwrap()) as usize;
        out.push((tag, at, at + 5 + len));
        at += 5 + len;
    }
    out
}

/// Byte ranges of whole parts (P through E).
fn parts(plain: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (tag, s, e) in frames(plain) {
        match tag {
            b'P' => start = Some(s),
            b'E' => out.push((start.take().unwrap(), e)),
            _ => {}
        }
    }
    out
}

fn random_below(n: usize) -> usize {
    (OsRng.next_u64() % n as u64) as usize
}

/// The detached signature catches every flipped byte and every truncation
/// of the encrypted file without any key.
#[tokio::test]
async fn the_outer_signature_catches_every_change() {
    let s = sample().await;
    let sig = OuterSignature::parse_and_check(&s.created.signature).unwrap();
    let (hash, size) = backup::hash_reader(&s.bytes[..]).unwrap();
    assert_eq!((hash.as_str(), size), (sig.sha256.as_str(), sig.size));
    for _ in 0..1000 {
        let mut bytes = s.bytes.clone();
        let i = random_below(bytes.len());
        bytes[i] ^= 1 << random_below(8);
        let (hash, _) = backup::hash_reader(&bytes[..]).unwrap();
        assert_ne!(hash, sig.sha256);
    }
    // A changed signature file does not verify either: a flipped bit in
    // every byte of its ASCII text.
    for i in 0..s.created.signature.len() {
        {
            let bit = random_below(7);
            let mut text = s.created.signature.clone().into_bytes();
            text[i] ^= 1 << bit;
            if let Ok(text) = String::from_utf8(text) {
                assert!(
                    OuterSignature::parse_and_check(&text).is_err(),
                    "byte {i} bit {bit}"
                );
            }
        }
    }
}

/// Tampering with the encrypted file or with the plaintext inside (then
/// re-encrypted to the same recipient, as anyone with the public recipient
/// could) is detected, and nothing is committed to the restore target.
#[tokio::test]
async fn tampering_is_detected_and_nothing_is_restored() {
    let s = sample().await;
    let dir = TempDir::new().unwrap();
    let version = s.created.manifest.schema_version;
    // The untouched backup reads.
    read_backup(s.bytes.clone(), &s.keys, None).await.unwrap();
    // Flipped bytes in the ciphertext: age authenticates every chunk.
    for _ in 0..100 {
        let mut bytes = s.bytes.clone();
        let i = random_below(bytes.len());
        bytes[i] ^= 1 << random_below(8);
        assert!(read_backup(bytes, &s.keys, None).await.is_err());
    }
    // Truncations.
    for _ in 0..30 {
        let len = random_below(s.bytes.len());
        assert!(
            read_backup(s.bytes[..len].to_vec(), &s.keys, None)
                .await
                .is_err()
        );
    }
    let plain = decrypt(&s.bytes, &s.keys.identity);
    // Flipped bytes inside, re-encrypted: the manifest and its signature
    // catch them. Every tenth goes into a real restore target.
    for round in 0..300 {
        let mut p = plain.clone();
        let i = random_below(p.len());
        p[i] ^= 1 << random_below(8);
        let bytes = encrypt(&p, &s.keys.identity);
        if round % 10 == 0 {
            let (url, restore) = target(&dir, false, version).await;
            assert!(
                read_backup(bytes, &s.keys, Some(restore)).await.is_err(),
                "flip at {i}"
            );
            // Nothing was committed: the target is still empty.
            let store = confidant_store::connect_for_load(&url, version)
                .await
                .unwrap();
            store.begin_load(version).await.unwrap();
        } else {
            assert!(
                read_backup(bytes, &s.keys, None).await.is_err(),
                "flip at {i}"
            );
        }
    }
    // Truncated plaintext, re-encrypted.
    for _ in 0..30 {
        let len = random_below(plain.len());
        let bytes = encrypt(&plain[..len], &s.keys.identity);
        assert!(read_backup(bytes, &s.keys, None).await.is_err());
    }
    // Two parts swapped.
    let ranges = parts(&plain);
    for _ in 0..20 {
        let (a, b) = (random_below(ranges.len()), random_below(ranges.len()));
        let (a, b) = (a.min(b), a.max(b));
        if plain[ranges[a].0..ranges[a].1] == plain[ranges[b].0..ranges[b].1] || a == b {
            continue;
        }
        let mut p = plain[..ranges[a].0].to_vec();
        p.extend_from_slice(&plain[ranges[b].0..ranges[b].1]);
        p.extend_from_slice(&plain[ranges[a].1..ranges[b].0]);
        p.extend_from_slice(&plain[ranges[a].0..ranges[a].1]);
        p.extend_from_slice(&plain[ranges[b].1..]);
        let err = read_backup(encrypt(&p, &s.keys.identity), &s.keys, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("part"), "{err}");
    }
    // A part dropped.
    let (a, b) = ranges[1];
    let mut p = plain[..a].to_vec();
    p.extend_from_slice(&plain[b..]);
    assert!(
        read_backup(encrypt(&p, &s.keys.identity), &s.keys, None)
            .await
            .is_err()
    );
}

/// Parts of another backup of the same server, whole manifests of another
/// backup, and backups signed by another key are refused.
#[tokio::test]
async fn parts_from_another_backup_are_refused() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    populate(&vault, &owner, 2).await;
    let keys = keys(&vault, &owner);
    let pair = [(vault.clone(), owner.clone())];
    let (_, first) = make_backup(&pair, &keys).await;
    vault
        .add_document(&owner, "later.txt", Label::Internal, &b"later"[..])
        .await
        .unwrap();
    let (_, second) = make_backup(&pair, &keys).await;
    let p1 = decrypt(&first, &keys.identity);
    let p2 = decrypt(&second, &keys.identity);
    let (r1, r2) = (parts(&p1), parts(&p2));
    // Each table part of the second backup put in place of the first's.
    let mut tried = 0;
    for (i, (a, b)) in r1.iter().enumerate() {
        let Some((c, d)) = r2.get(i) else { continue };
        if p1[*a..*b] == p2[*c..*d] {
            continue;
        }
        let mut p = p1[..*a].to_vec();
        p.extend_from_slice(&p2[*c..*d]);
        p.extend_from_slice(&p1[*b..]);
        let err = read_backup(encrypt(&p, &keys.identity), &keys, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("nothing was restored"), "{err}");
        tried += 1;
    }
    assert!(tried > 0);
    // The first's parts with the second's manifest and signature.
    let tail1 = frames(&p1).iter().find(|f| f.0 == b'M').unwrap().1;
    let tail2 = frames(&p2).iter().find(|f| f.0 == b'M').unwrap().1;
    let mut p = p1[..tail1].to_vec();
    p.extend_from_slice(&p2[tail2..]);
    assert!(
        read_backup(encrypt(&p, &keys.identity), &keys, None)
            .await
            .is_err()
    );
    // Signed by another key: refused when the right key is pinned.
    let other = self::keys(&vault, &owner);
    let forged = Keys {
        identity: keys.identity.clone(),
        signer: other.signer,
    };
    let (_, forged_bytes) = make_backup(&pair, &forged).await;
    let err = read_backup(forged_bytes, &keys, None).await.unwrap_err();
    assert!(
        err.to_string().contains("not by the key you trust"),
        "{err}"
    );
}

/// A backup taken while documents are added and read restores to a state
/// that passes every check.
#[tokio::test]
async fn a_backup_during_writes_restores_consistently() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    populate(&vault, &owner, 3).await;
    let keys = keys(&vault, &owner);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (vault, owner, stop) = (vault.clone(), owner.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                vault
                    .add_document(
                        &owner,
                        &format!("busy-{i}.txt"),
                        Label::Internal,
                        vec![7u8; 10_000].as_slice(),
                    )
                    .await
                    .unwrap();
                read(&vault, &owner, &format!("busy-{i}.txt"))
                    .await
                    .unwrap();
                i += 1;
                tokio::task::yield_now().await;
            }
            i
        })
    };
    let mut backups = Vec::new();
    for _ in 0..3 {
        backups.push(make_backup(&[(vault.clone(), owner.clone())], &keys).await);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0);
    for (created, bytes) in backups {
        let dir = TempDir::new().unwrap();
        let (url, restore) = target(&dir, false, created.manifest.schema_version).await;
        read_backup(bytes, &keys, Some(restore)).await.unwrap();
        let blobs = BlobStore::local(&dir.path().join("restored-blobs")).unwrap();
        let restored = open(&url, blobs, &setup.key).await;
        let (v, o) = &restored[0];
        let report = v.verify_ledger(o).await.unwrap();
        assert_eq!(report.entries, created.manifest.workspaces[0].entries);
        // Every document it holds opens and authenticates.
        for doc in v.documents(o).await.unwrap() {
            read(v, o, &doc.name).await.unwrap();
        }
    }
}

async fn backup_by(
    vaults: &[(Vault, Actor)],
    keys: &Keys,
    only_these_workspaces: bool,
) -> Result<(backup::Created, Vec<u8>), confidant_vault::VaultError> {
    let options = CreateOptions {
        recipients: vec![keys.identity.to_public()],
        signer: &keys.signer,
        files: Vec::new(),
        file_name: "test.age".into(),
        progress: None,
        level: 3,
        only_these_workspaces,
    };
    backup::create(vaults, options, Vec::new()).await
}

/// The ledger entries of `vault` with this action, as (allowed, reason).
async fn entries(vault: &Vault, owner: &Actor, action: &str) -> Vec<(bool, String)> {
    vault
        .ledger_log(owner, None, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.action.to_string() == action)
        .map(|(_, e)| {
            (
                e.decision == confidant_vault::LedgerDecision::Allow,
                e.reason,
            )
        })
        .collect()
}

#[tokio::test]
async fn only_the_owner_or_an_admin_under_an_approved_break_glass_grant_touches_backups() {
    use confidant_core::Role;
    use confidant_vault::VaultError;
    use confidant_vault::backup::BreakGlassStatus;
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    populate(&vault, &owner, 1).await;
    let keys = keys(&vault, &owner);
    let admin = crate::grants::member(&vault, "ada@example.com", Role::Admin).await;
    let second = crate::grants::member(&vault, "sam@example.com", Role::Admin).await;
    let assistant = crate::grants::member(&vault, "va@example.com", Role::Assistant).await;
    let now = time::OffsetDateTime::now_utc();
    let later = now + time::Duration::hours(4);

    // No grant: the admin and the assistant are refused, and the refusals
    // are in the ledger.
    for who in [&admin, &assistant] {
        let err = backup_by(&[(vault.clone(), who.clone())], &keys, false)
            .await
            .unwrap_err();
        assert!(matches!(err, VaultError::Forbidden(_)), "{err}");
    }
    let refused = entries(&vault, &owner, "backup").await;
    assert_eq!(
        refused.iter().filter(|(ok, _)| !ok).count(),
        2,
        "{refused:?}"
    );

    // Grants are for named admins, with a reason and a near expiry.
    let bad = [
        vault
            .issue_break_glass(&owner, "va@example.com", "restore test", later)
            .await,
        vault
            .issue_break_glass(&owner, "owner@example.com", "restore test", later)
            .await,
        vault
            .issue_break_glass(&owner, "ada@example.com", "  ", later)
            .await,
        vault
            .issue_break_glass(
                &owner,
                "ada@example.com",
                "restore test",
                now - time::Duration::hours(1),
            )
            .await,
        vault
            .issue_break_glass(
                &owner,
                "ada@example.com",
                "restore test",
                now + time::Duration::days(8),
            )
            .await,
        vault
            .issue_break_glass(&owner, "nobody@example.com", "restore test", later)
            .await,
    ];
    for result in bad {
        let err = result.unwrap_err();
        assert!(
            matches!(err, VaultError::InvalidInput(_) | VaultError::NotFound(_)),
            "{err}"
        );
    }
    let err = vault
        .issue_break_glass(&assistant, "ada@example.com", "restore test", later)
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden(_)), "{err}");
    assert!(vault.break_glass_grants(&owner).await.unwrap().is_empty());

    // By default a second person approves: until then it is not usable.
    let grant = vault
        .issue_break_glass(&owner, "ada@example.com", "quarterly restore test", later)
        .await
        .unwrap();
    assert!(grant.needs_approval);
    assert_eq!(
        backup::break_glass_status(&grant, now),
        BreakGlassStatus::AwaitingApproval
    );
    let err = backup_by(&[(vault.clone(), admin.clone())], &keys, false)
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden(_)), "{err}");
    // Neither the holder nor the issuer approves; an assistant never does.
    for who in [&admin, &owner, &assistant] {
        let err = vault.approve_break_glass(who, grant.id).await.unwrap_err();
        assert!(matches!(err, VaultError::Forbidden(_)), "{err}");
    }
    let approved = vault.approve_break_glass(&second, grant.id).await.unwrap();
    assert_eq!(approved.approved_by, Some(second.person));
    assert!(matches!(
        vault
            .approve_break_glass(&second, grant.id)
            .await
            .unwrap_err(),
        VaultError::Conflict(_)
    ));
    // Now the admin makes a backup, and it is a good one.
    let (created, bytes) = backup_by(&[(vault.clone(), admin.clone())], &keys, false)
        .await
        .unwrap();
    let report = read_backup(bytes, &keys, None).await.unwrap();
    assert_eq!(report.manifest, created.manifest);
    vault
        .record_backup_verify(&admin, &created.manifest.backup_id)
        .await
        .unwrap();
    // The assistant still cannot, grant or not.
    assert!(
        vault
            .record_backup_verify(&assistant, &created.manifest.backup_id)
            .await
            .is_err()
    );
    // Ended by its holder: refused again.
    vault.end_break_glass(&admin, grant.id).await.unwrap();
    let err = backup_by(&[(vault.clone(), admin.clone())], &keys, false)
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden(_)), "{err}");
    assert!(matches!(
        vault.end_break_glass(&owner, grant.id).await.unwrap_err(),
        VaultError::Conflict(_)
    ));

    // The owner may turn the second approval off (an admin may not): a
    // new grant is active at once.
    assert!(matches!(
        vault
            .set_break_glass_approval(&admin, false)
            .await
            .unwrap_err(),
        VaultError::Forbidden(_)
    ));
    vault.set_break_glass_approval(&owner, false).await.unwrap();
    assert!(!vault.break_glass_approval_required(&owner).await.unwrap());
    let direct = vault
        .issue_break_glass(&second, "ada@example.com", "move to PostgreSQL", later)
        .await
        .unwrap();
    assert!(!direct.needs_approval);
    backup_by(&[(vault.clone(), admin.clone())], &keys, false)
        .await
        .unwrap();

    // Every issue, approval, end and use is in the ledger, with ids only.
    let glass = entries(&vault, &owner, "break_glass").await;
    let reasons: Vec<&str> = glass.iter().map(|(_, r)| r.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("issued to person")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.ends_with("approved")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.ends_with("ended")), "{reasons:?}");
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("used to make a backup"))
            .count(),
        2,
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("used to check a backup")));
    for (_, reason) in &glass {
        assert!(!reason.contains('@'), "no e-mail in the ledger: {reason}");
        assert!(
            !reason.contains("restore test"),
            "no free text in the ledger: {reason}"
        );
    }
    let made = entries(&vault, &owner, "backup").await;
    assert!(
        made.iter()
            .any(|(ok, r)| *ok && r.contains("under break-glass grant"))
    );
    assert!(entries(&vault, &owner, "backup_verify").await.len() >= 2);
    vault.verify_ledger(&owner).await.unwrap();
}

#[tokio::test]
async fn a_workspace_of_a_multi_workspace_server_backs_up_and_restores_alone() {
    use confidant_vault::{InitOptions, KdfParams};
    let setup = Setup::new(false).await.unwrap();
    let alpha = setup.open().await;
    let alpha_owner = alpha.owner().await.unwrap();
    populate(&alpha, &alpha_owner, 2).await;
    let store = confidant_store::connect(&setup.url).await.unwrap();
    let beta = Vault::add_workspace(
        store,
        setup.blobs.clone(),
        Arc::new(SystemClock),
        InitOptions {
            workspace_name: "Beta Dental".into(),
            owner_email: "bea@example.com".into(),
            owner_name: "Bea".into(),
            owner_password: secrecy::SecretString::from("another owner passphrase"),
            unlock: Unlock::KeyFile(KeyFile::parse(&setup.key).unwrap()),
            kdf: KdfParams::default(),
        },
    )
    .await
    .unwrap();
    let beta_owner = beta.owner().await.unwrap();
    populate(&beta, &beta_owner, 3).await;
    let keys = keys(&alpha, &alpha_owner);
    // Beta's owner backs up Beta alone: no consent from Alpha's owner is
    // needed, and nothing of Alpha is inside.
    let (created, bytes) = backup_by(&[(beta.clone(), beta_owner.clone())], &keys, true)
        .await
        .unwrap();
    assert_eq!(created.manifest.workspaces.len(), 1);
    assert_eq!(
        created.manifest.workspaces[0].id,
        beta.workspace().to_string()
    );
    let alpha_id = alpha.workspace().to_string();
    for part in &created.manifest.parts {
        assert!(!part.name.contains(&alpha_id), "{}", part.name);
    }
    let blobs = created
        .manifest
        .parts
        .iter()
        .filter(|p| p.kind == backup::PartKind::Blob)
        .count();
    assert_eq!(blobs, 3, "Beta's three documents only");
    // Without the flag, one workspace's owner cannot take the whole server.
    // (The whole server stays the default for the CLI, with every owner.)
    let dir = TempDir::new().unwrap();
    let (url, restore) = target(&dir, false, created.manifest.schema_version).await;
    read_backup(bytes, &keys, Some(restore)).await.unwrap();
    let restored_blobs = BlobStore::local(&dir.path().join("restored-blobs")).unwrap();
    let restored = open(&url, restored_blobs, &setup.key).await;
    assert_eq!(restored.len(), 1, "one workspace restored");
    let (b, bo) = &restored[0];
    assert_eq!(b.workspace(), beta.workspace());
    assert_eq!(
        documents_of(&beta, &beta_owner).await,
        documents_of(b, bo).await
    );
    b.verify_ledger(bo).await.unwrap();
    let restored_store = confidant_store::connect(&url).await.unwrap();
    let rows = contents(restored_store.as_ref()).await;
    for (table, rows) in &rows {
        for row in rows {
            assert!(
                !row.contains(&Value::Text(alpha_id.clone())),
                "a row of Alpha in {table}"
            );
        }
    }
}
