//! Throughput and memory of the vault's data paths. Run through
//! `cargo xtask bench`, which compares the figures with `openssl speed` on
//! the same machine; or directly:
//! `cargo bench -p confidant-vault --bench throughput -- MODE [SIZE_MIB]`
//! with MODE one of `cipher`, `memory`, `object-memory`, `disk`, `import`,
//! `masked-page`, `ledger-append`, `ledger-verify`. Prints one JSON
//! line per measurement.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use confidant_core::Label;
use confidant_store::BlobStore;
use confidant_vault::{
    ColumnMapping, DocRef, InitOptions, KdfParams, KeyFile, SystemClock, Unlock, Vault,
};
use futures::StreamExt;
use rand_core::{OsRng, RngCore};
use tokio::io::{AsyncRead, ReadBuf};

/// An endless-looking input: `len` bytes cycled from a random 1 MiB buffer,
/// so producing it costs nothing next to encrypting it.
struct Pattern {
    buf: Vec<u8>,
    pos: usize,
    left: u64,
}

impl Pattern {
    fn new(len: u64) -> Self {
        let mut buf = vec![0u8; 1 << 20];
        OsRng.fill_bytes(&mut buf);
        Pattern {
            buf,
            pos: 0,
            left: len,
        }
    }
}

impl AsyncRead for Pattern {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = out
            .remaining()
            .min(self.buf.len() - self.pos)
            .min(self.left as usize);
        let pos = self.pos;
        out.put_slice(&self.buf[pos..pos + n]);
        self.pos = (pos + n) % self.buf.len();
        self.left -= n as u64;
        Poll::Ready(Ok(()))
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn vault(blobs: BlobStore, dir: &std::path::Path) -> Vault {
    let store = confidant_store::connect(&format!("sqlite://{}", dir.join("bench.db").display()))
        .await
        .unwrap();
    let vault = Vault::init(
        store,
        blobs,
        Arc::new(SystemClock),
        InitOptions {
            workspace_name: "bench".into(),
            owner_email: "owner@example.com".into(),
            owner_name: "Owner".into(),
            owner_password: "a long bench password".to_owned().into(),
            unlock: Unlock::KeyFile(KeyFile::generate(&mut OsRng)),
            kdf: KdfParams::default(),
        },
    )
    .await
    .unwrap();
    // Hashing the owner's password (Argon2id, 64 MiB) is not what the
    // memory figures are about: reset the peak (Linux: clear_refs 5).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    vault
}

async fn documents(mode: &str, size: u64) {
    let dir = tempfile::tempdir().unwrap();
    let blobs = match mode {
        "memory" => BlobStore::memory(),
        "object-memory" => BlobStore::new(Arc::new(object_store::memory::InMemory::new())),
        _ => BlobStore::local(&dir.path().join("blobs")).unwrap(),
    };
    let vault = vault(blobs, dir.path()).await;
    let owner = vault.owner().await.unwrap();

    // A first document of the same size, timed separately: in a fresh
    // process every byte stored lands on a page the kernel has to fault in
    // and zero, which the in-memory store's copies make dominate. A
    // long-running server is in the warm state measured next.
    let start = Instant::now();
    vault
        .add_document(
            &owner,
            "warm-up.bin",
            Label::Confidential,
            Pattern::new(size),
        )
        .await
        .unwrap();
    let cold = start.elapsed().as_secs_f64();
    vault
        .delete_document(&owner, &DocRef::Name("warm-up.bin".into()))
        .await
        .unwrap();

    let start = Instant::now();
    vault
        .add_document(&owner, "bench.bin", Label::Confidential, Pattern::new(size))
        .await
        .unwrap();
    let encrypt = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let (_, mut stream) = vault
        .open_document(&owner, &DocRef::Name("bench.bin".into()))
        .await
        .unwrap();
    let mut read = 0u64;
    while let Some(chunk) = stream.next().await {
        read += chunk.unwrap().len() as u64;
    }
    let decrypt = start.elapsed().as_secs_f64();
    assert_eq!(read, size);
    let mb = size as f64 / 1e6;
    println!(
        "{{\"mode\":\"{mode}\",\"bytes\":{size},\"encrypt_cold_mb_s\":{:.1},\"encrypt_mb_s\":{:.1},\"decrypt_mb_s\":{:.1},\"peak_rss_kib\":{}}}",
        mb / cold,
        mb / encrypt,
        mb / decrypt,
        peak_rss_kib()
    );
}

/// The bare cipher path: each 64 KiB chunk copied into a reused buffer and
/// sealed (or opened) in place, as the vault does; the ceiling for the
/// vault's own figures.
fn cipher(size: u64) {
    use confidant_crypto::{CHUNK_SIZE, ChunkOpener, ChunkSealer, DataKey, TAG_LEN};
    let key = DataKey::generate(&mut OsRng);
    let chunks = size / CHUNK_SIZE as u64;
    let mut plain = vec![0u8; CHUNK_SIZE];
    OsRng.fill_bytes(&mut plain);
    let mut buf = Vec::with_capacity(CHUNK_SIZE + TAG_LEN);
    let mut sealer = ChunkSealer::new(&key, b"bench").unwrap();
    let start = Instant::now();
    for i in 0..chunks {
        buf.clear();
        buf.extend_from_slice(&plain);
        sealer.seal(&mut buf, i + 1 == chunks).unwrap();
    }
    let encrypt = start.elapsed().as_secs_f64();
    // Open the same number of chunks: a sealed sequence made once, cycled.
    let mut sealed = Vec::new();
    let mut sealer = ChunkSealer::new(&key, b"bench").unwrap();
    for _ in 0..16 {
        buf.clear();
        buf.extend_from_slice(&plain);
        sealer.seal(&mut buf, false).unwrap();
        sealed.push(buf.clone());
    }
    let start = Instant::now();
    let mut opener = ChunkOpener::new(&key, b"bench", &sealer.header()).unwrap();
    for i in 0..chunks {
        if i % 16 == 0 {
            opener = ChunkOpener::new(&key, b"bench", &sealer.header()).unwrap();
        }
        buf.clear();
        buf.extend_from_slice(&sealed[(i % 16) as usize]);
        opener.open(&mut buf, false).unwrap();
    }
    let decrypt = start.elapsed().as_secs_f64();
    let mb = (chunks * CHUNK_SIZE as u64) as f64 / 1e6;
    println!(
        "{{\"mode\":\"cipher\",\"bytes\":{},\"encrypt_mb_s\":{:.1},\"decrypt_mb_s\":{:.1}}}",
        chunks * CHUNK_SIZE as u64,
        mb / encrypt,
        mb / decrypt
    );
}

/// Writes `rows` made-up customers, 8 columns, as CSV.
fn write_customers(csv_path: &std::path::Path, rows: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(csv_path).unwrap());
    writeln!(
        f,
        "name,email,phone,address,city,card_number,date_of_birth,notes"
    )
    .unwrap();
    for i in 0..rows {
        writeln!(
        f,
        "Customer {i},customer{i}@example.com,+1 555 {:04} {:04},\"{} Oak Street\",Springfield,40000012{:08},19{:02}-0{}-1{},regular customer since 20{:02}",
        i % 10_000,
        (i * 7) % 10_000,
        i % 999,
        i,
        50 + i % 50,
        1 + i % 9,
        i % 10,
        i % 25
        )
        .unwrap();
    }
}

async fn import(rows: u64) {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("customers.csv");
    write_customers(&csv_path, rows);
    let bytes = std::fs::metadata(&csv_path).unwrap().len();
    let vault = vault(
        BlobStore::local(&dir.path().join("blobs")).unwrap(),
        dir.path(),
    )
    .await;
    let owner = vault.owner().await.unwrap();
    let mapping = customers_mapping();
    let rss_before = peak_rss_kib();
    let start = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(&csv_path).unwrap());
    let meta = vault
        .import_records(&owner, "customers", file, mapping)
        .await
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(meta.row_count, rows);
    println!(
        "{{\"mode\":\"import\",\"rows\":{rows},\"columns\":8,\"csv_bytes\":{bytes},\"seconds\":{secs:.2},\"rows_per_s\":{:.0},\"peak_rss_kib\":{},\"peak_rss_before_kib\":{rss_before}}}",
        rows as f64 / secs,
        peak_rss_kib()
    );
}

fn customers_mapping() -> ColumnMapping {
    use confidant_core::DataCategory as C;
    ColumnMapping {
        categories: vec![
            ("name".into(), C::Name),
            ("email".into(), C::Email),
            ("phone".into(), C::Phone),
            ("address".into(), C::PostalAddress),
            ("city".into(), C::PostalAddress),
            ("card_number".into(), C::CardNumber),
            ("date_of_birth".into(), C::DateOfBirth),
            ("notes".into(), C::FreeText),
        ],
        indexed: vec!["email".into()],
        rows_are_customers: true,
        contact_column: Some("email".into()),
        label: Label::Confidential,
    }
}

/// A page of a 1,000-row record set for an assistant whose grant covers 3
/// of its 8 columns (each column decided by the policy engine, the rest
/// masked, the view on the record), beside the owner's unmasked page.
async fn masked_page(pages: u32) {
    use confidant_core::{Access, Role};
    use secrecy::ExposeSecret;
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("customers.csv");
    write_customers(&csv_path, 1_000);
    let vault = vault(
        BlobStore::local(&dir.path().join("blobs")).unwrap(),
        dir.path(),
    )
    .await;
    let owner = vault.owner().await.unwrap();
    let file = std::io::BufReader::new(std::fs::File::open(&csv_path).unwrap());
    vault
        .import_records(&owner, "customers", file, customers_mapping())
        .await
        .unwrap();
    let invitation = vault
        .invite(
            &owner,
            "alex@example.com",
            "Alex Doe",
            Role::Assistant,
            None,
        )
        .await
        .unwrap();
    let setup = vault.new_totp_setup("alex@example.com").unwrap();
    let secret = setup.secret.expose_secret().to_owned();
    let alex = vault
        .accept_invitation(
            &invitation.token,
            &"velvet lantern orbit mosaic".to_owned().into(),
            &secret,
            &confidant_vault::code_at(&secret, time::OffsetDateTime::now_utc()).unwrap(),
            None,
            &confidant_vault::SessionRequest::web("bench"),
        )
        .await
        .unwrap()
        .session
        .actor;
    // Alex works from an enrolled device with a passing report (the device
    // gate is part of every decision the page makes).
    let mut alex = alex;
    let (code, _) = vault
        .new_enrollment_code(&owner, "alex@example.com")
        .await
        .unwrap();
    let mut device =
        confidant_agent::identity::DeviceIdentity::generate("http://bench", &mut rand_core::OsRng);
    let request = device.enroll_request(code.code.expose_secret(), "bench-laptop", "linux");
    let enrolled = vault
        .enroll_device(&confidant_vault::DeviceEnrollment {
            code: request.code,
            public_key: request.public_key,
            name: request.name,
            os: request.os,
            signature: request.signature,
        })
        .await
        .unwrap();
    device.device = enrolled.device.to_string();
    let signed = device
        .sign_report(
            &confidant_testkit::posture::report(vault.now(), confidant_testkit::posture::PASS),
            vault.now(),
        )
        .unwrap();
    vault
        .receive_report(&confidant_vault::IncomingReport {
            device: signed.device,
            seq: signed.seq,
            body: signed.body,
            signature: signed.signature,
        })
        .await
        .unwrap();
    alex.device = Some(enrolled.device);
    let granted = vault
        .grant(
            &owner,
            "alex@example.com",
            &confidant_vault::GrantRequest {
                target: confidant_vault::GrantTarget::Records {
                    set: "customers".into(),
                    columns: vec!["name".into(), "email".into(), "city".into()],
                    rows: None,
                },
                actions: [Access::View].into(),
                purpose: "bench".into(),
                until: time::OffsetDateTime::now_utc() + time::Duration::days(7),
                require_passcode: false,
            },
        )
        .await
        .unwrap();
    for due in vault.my_agreements(&alex).await.unwrap() {
        vault
            .sign_agreement(
                &alex,
                due.agreement.id,
                &confidant_vault::Signing {
                    typed_name: "Alex Doe".into(),
                    consent: true,
                    client: None,
                    user_agent: "bench".into(),
                },
            )
            .await
            .unwrap();
    }
    let issued = vault
        .issue_passcode(&owner, granted.grant.id, None)
        .await
        .unwrap();
    vault
        .enter_passcode(
            &alex,
            &confidant_vault::PasscodeItem::RecordSet("customers".into()),
            &issued.passcode,
        )
        .await
        .unwrap();
    let time_pages = async |who: &confidant_vault::Actor| {
        // One page to warm caches, then the timed ones.
        let page = vault
            .show_records(who, "customers", 0, 1_000)
            .await
            .unwrap();
        assert_eq!(page.rows.len(), 1_000);
        let mut times = Vec::with_capacity(pages as usize);
        for _ in 0..pages {
            let start = Instant::now();
            let page = vault
                .show_records(who, "customers", 0, 1_000)
                .await
                .unwrap();
            times.push(start.elapsed().as_secs_f64());
            assert_eq!(page.rows.len(), 1_000);
        }
        times.sort_by(f64::total_cmp);
        (times[times.len() / 2], page.masked.len())
    };
    let (masked_p50, masked_columns) = time_pages(&alex).await;
    let (owner_p50, _) = time_pages(&owner).await;
    println!(
        "{{\"mode\":\"masked-page\",\"rows\":1000,\"columns\":8,\"masked_columns\":{masked_columns},\"pages\":{pages},\"masked_p50_ms\":{:.2},\"masked_pages_per_s\":{:.1},\"masked_rows_per_s\":{:.0},\"owner_p50_ms\":{:.2},\"owner_pages_per_s\":{:.1},\"masked_vs_owner\":{:.2}}}",
        masked_p50 * 1e3,
        1.0 / masked_p50,
        1_000.0 / masked_p50,
        owner_p50 * 1e3,
        1.0 / owner_p50,
        owner_p50 / masked_p50
    );
}

/// Requests that each append one durable ledger entry (`vault.document`,
/// which looks a document up and records the view), against the raw rate
/// of single-row inserts, each committed durably, on the same SQLite
/// settings (WAL, synchronous=FULL).
async fn ledger_append(n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault(BlobStore::memory(), dir.path()).await;
    let owner = vault.owner().await.unwrap();
    vault
        .add_document(&owner, "x", Label::Internal, &b"x"[..])
        .await
        .unwrap();
    let doc = DocRef::Name("x".into());
    let start = Instant::now();
    for _ in 0..n {
        vault.document(&owner, &doc).await.unwrap();
    }
    let ours = n as f64 / start.elapsed().as_secs_f64();

    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("raw.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE raw (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    let leaf = vec![7u8; 400];
    let start = Instant::now();
    for i in 0..n as i64 {
        sqlx::query("INSERT INTO raw (idx, leaf) VALUES (?, ?)")
            .bind(i)
            .bind(&leaf)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let raw = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"ledger-append\",\"backend\":\"sqlite\",\"appends\":{n},\"appends_per_s\":{ours:.0},\"raw_inserts_per_s\":{raw:.0},\"ratio\":{:.2}}}",
        ours / raw
    );
}

/// The same on PostgreSQL (`CONFIDANT_BENCH_DATABASE_URL`, a server with
/// fsync on, as `cargo xtask bench` starts one): `n` requests one after
/// another, each appending one durable entry, then `n` spread over 16
/// concurrent requests (group commit: one transaction and one fsync for
/// whatever queued meanwhile), against single-row inserts each committed
/// durably on the same server.
async fn ledger_append_postgres(n: u64) {
    use sqlx::Connection;
    let url = std::env::var("CONFIDANT_BENCH_DATABASE_URL").expect(
        "CONFIDANT_BENCH_DATABASE_URL names a PostgreSQL server (cargo xtask bench starts one)",
    );
    let name = format!("bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let fsync: (String,) = sqlx::query_as("SHOW fsync")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let (server, _) = url
        .rsplit_once('/')
        .expect("the database URL ends in a database name");
    let db_url = format!("{server}/{name}");
    let store = confidant_store::connect(&db_url).await.unwrap();
    let vault = Vault::init(
        store,
        BlobStore::memory(),
        Arc::new(SystemClock),
        InitOptions {
            workspace_name: "bench".into(),
            owner_email: "owner@example.com".into(),
            owner_name: "Owner".into(),
            owner_password: "a long bench password".to_owned().into(),
            unlock: Unlock::KeyFile(KeyFile::generate(&mut OsRng)),
            kdf: KdfParams::default(),
        },
    )
    .await
    .unwrap();
    let owner = vault.owner().await.unwrap();
    vault
        .add_document(&owner, "x", Label::Internal, &b"x"[..])
        .await
        .unwrap();
    let doc = DocRef::Name("x".into());
    let start = Instant::now();
    for _ in 0..n {
        vault.document(&owner, &doc).await.unwrap();
    }
    let ours = n as f64 / start.elapsed().as_secs_f64();

    const TASKS: u64 = 16;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (vault, owner, doc) = (vault.clone(), owner.clone(), doc.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..n / TASKS {
                vault.document(&owner, &doc).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = (n / TASKS * TASKS) as f64 / start.elapsed().as_secs_f64();

    let mut conn = sqlx::PgConnection::connect(&db_url).await.unwrap();
    sqlx::query("CREATE TABLE raw (idx BIGINT PRIMARY KEY, leaf BYTEA NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    let leaf = vec![7u8; 400];
    let start = Instant::now();
    for i in 0..n as i64 {
        sqlx::query("INSERT INTO raw (idx, leaf) VALUES ($1, $2)")
            .bind(i)
            .bind(&leaf)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let raw = n as f64 / start.elapsed().as_secs_f64();
    drop(conn);
    drop(vault);
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    println!(
        "{{\"mode\":\"ledger-append\",\"backend\":\"postgres\",\"fsync\":\"{}\",\"appends\":{n},\"appends_per_s\":{ours:.0},\"concurrent_tasks\":{TASKS},\"concurrent_appends_per_s\":{concurrent:.0},\"raw_inserts_per_s\":{raw:.0},\"ratio\":{:.2},\"concurrent_ratio\":{:.2}}}",
        fsync.0,
        ours / raw,
        concurrent / raw
    );
}

/// `audit verify` over `n` realistic entries: decode every entry
/// canonically and recompute the tree against a signed checkpoint.
fn ledger_verify(n: u64) {
    use confidant_ledger::{
        Action, Checkpoint, Decision, Entry, Frontier, KnownAction, LogVerifier, NoteSigner,
        Target, TargetId, Timestamp,
    };
    struct Signer(confidant_crypto::SigningKey, String);
    impl NoteSigner for Signer {
        fn name(&self) -> &str {
            &self.1
        }
        fn public_key(&self) -> [u8; 32] {
            self.0.verifying_key().to_bytes()
        }
        fn sign(&self, msg: &[u8]) -> [u8; 64] {
            self.0.sign(msg)
        }
    }
    let rng = &mut OsRng;
    let ws = confidant_core::WorkspaceId::random(rng);
    let person = confidant_core::PersonId::random(rng);
    let set = confidant_core::RecordSetId::random(rng);
    let rows: Vec<confidant_core::RowId> =
        (0..5).map(|_| confidant_core::RowId::random(rng)).collect();
    let mut leaves = Vec::with_capacity(n as usize);
    let mut frontier = Frontier::new();
    for i in 0..n {
        let entry = Entry {
            time: Timestamp::from_unix_millis(1_790_000_000_000 + i as i64).unwrap(),
            workspace: ws,
            actor: Some(person),
            device: None,
            client: Some("192.0.2.7".parse().unwrap()),
            action: Action::from(KnownAction::View),
            target: Target {
                id: TargetId::RecordSet(set),
                rows: rows.clone(),
                columns: vec!["name".into(), "email".into(), "phone".into()],
            },
            decision: Decision::Allow,
            reason: "the workspace owner".into(),
            categories: ["email", "name", "phone"]
                .iter()
                .map(|c| confidant_ledger::Name::new(c).unwrap())
                .collect(),
            delivery: None,
            keyed: Default::default(),
        };
        let leaf = entry.to_leaf();
        frontier.append(&leaf);
        leaves.push(leaf);
    }
    let signer = Signer(
        confidant_crypto::SigningKey::from_seed(&confidant_crypto::DataKey::generate(rng)),
        Checkpoint::workspace_origin("confidant.local", ws),
    );
    let note = Checkpoint::new(&signer.1, frontier.size(), frontier.root())
        .unwrap()
        .sign(&signer)
        .unwrap();
    let key = confidant_ledger::VerifierKey::of_signer(&signer)
        .unwrap()
        .to_string();
    let bytes: usize = leaves.iter().map(Vec::len).sum();
    let start = Instant::now();
    let checkpoint = Checkpoint::verify(&note, &key).unwrap();
    LogVerifier::new(&checkpoint)
        .verify(leaves.iter().map(Ok::<_, std::convert::Infallible>))
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"ledger-verify\",\"entries\":{n},\"bytes\":{bytes},\"seconds\":{secs:.2},\"entries_per_s\":{:.0}}}",
        n as f64 / secs
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mode = args.first().map(String::as_str).unwrap_or("cipher");
    let mib: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match mode {
        "cipher" => cipher(mib << 20),
        "memory" | "object-memory" | "disk" => runtime.block_on(documents(mode, mib << 20)),
        "import" => runtime.block_on(import(
            args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000),
        )),
        "masked-page" => runtime.block_on(masked_page(
            args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50),
        )),
        "ledger-append" => runtime.block_on(ledger_append(
            args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2_000),
        )),
        "ledger-append-postgres" => runtime.block_on(ledger_append_postgres(
            args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2_000),
        )),
        "ledger-verify" => ledger_verify(
            args.get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000),
        ),
        other => {
            eprintln!(
                "unknown mode {other}: use cipher, memory, object-memory, disk, import, masked-page, ledger-append, ledger-append-postgres or ledger-verify"
            );
            std::process::exit(2);
        }
    }
}
