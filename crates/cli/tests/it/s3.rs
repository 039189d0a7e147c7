//! Backups to an S3-compatible bucket, against a real S3 server (moto's
//! `moto_server`, which `cargo xtask test` installs into `target/s3-venv`):
//! create (a multipart upload), list, verify, restore, a changed object in
//! the bucket caught, prune deleting the right objects, and `serve`'s daily
//! backup and retention into the bucket.
//!
//! There is no skip: without the server these tests fail and say how to get
//! it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::ObjectStoreExt as _;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use predicates::prelude::*;

use crate::util::{Workspace, noise};

const KEY_ID: &str = "confidant-test";
const SECRET: &str = "confidant-test-secret";

/// A moto S3 server on a free port, stopped when dropped.
struct S3Server {
    child: Child,
    port: u16,
}

fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("CONFIDANT_TEST_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let path = target.join("s3-venv/bin/moto_server");
    assert!(
        path.exists(),
        "no S3 test server at {}: run `cargo xtask test` (it installs moto[server] there), \
         or set CONFIDANT_TEST_MOTO_SERVER to a moto_server",
        path.display()
    );
    path
}

impl S3Server {
    fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let mut server = S3Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("moto_server stopped at once ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server.request("PUT", "/confidant-backups", b"");
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A plain HTTP request (moto does not check signatures for this).
    fn request(&self, method: &str, path: &str, body: &[u8]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        )
        .unwrap();
        stream.write_all(body).unwrap();
        let mut response = String::new();
        BufReader::new(stream)
            .read_to_string(&mut response)
            .unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        response
    }

    fn store(&self) -> object_store::aws::AmazonS3 {
        AmazonS3Builder::new()
            .with_bucket_name("confidant-backups")
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(SECRET)
            .build()
            .unwrap()
    }

    /// The object names under `prefix`, sorted.
    fn names(&self, prefix: &str) -> Vec<String> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = self.store();
        let mut names: Vec<String> = rt.block_on(async {
            use futures::TryStreamExt as _;
            use object_store::ObjectStore as _;
            store
                .list(Some(&ObjectPath::from(prefix)))
                .map_ok(|m| m.location.filename().unwrap_or_default().to_owned())
                .try_collect()
                .await
                .unwrap()
        });
        names.sort();
        names
    }

    fn get(&self, key: &str) -> Vec<u8> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = self.store();
        rt.block_on(async {
            store
                .get(&ObjectPath::from(key))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec()
        })
    }

    fn put(&self, key: &str, bytes: Vec<u8>) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = self.store();
        rt.block_on(async {
            store
                .put(&ObjectPath::from(key), bytes.into())
                .await
                .unwrap();
        });
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `confidant` for `ws` with the bucket's credentials in the environment.
fn s3_cmd(ws: &Workspace, s3: &S3Server) -> assert_cmd::Command {
    let mut cmd = ws.cmd();
    cmd.env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", s3.endpoint())
        .env("AWS_ALLOW_HTTP", "true");
    cmd
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn backups_to_a_bucket_round_trip_and_catch_a_changed_object() {
    let s3 = S3Server::start();
    let ws = Workspace::new();
    ws.write("letter.txt", b"Dear Ann, your card 4111 1111 1111 1111");
    ws.ok(&["docs", "add", ws.path("letter.txt").to_str().unwrap()]);
    // A large incompressible document: the backup is uploaded in several parts.
    ws.write("scan.bin", &noise(20 * 1024 * 1024, 7));
    ws.ok(&["docs", "add", ws.path("scan.bin").to_str().unwrap()]);
    let key = ws.path("backup.key");
    let url = "s3://confidant-backups/daily";
    // A bad URL is refused before anything is written.
    s3_cmd(&ws, &s3)
        .args(["backup", "keygen", "--out"])
        .arg(&key)
        .args(["--destination", "s3://Not_A_Bucket/x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("does not name a bucket"));
    assert!(!key.exists());
    s3_cmd(&ws, &s3)
        .args(["backup", "keygen", "--out"])
        .arg(&key)
        .args(["--destination", url])
        .assert()
        .success();
    let out = s3_cmd(&ws, &s3)
        .args(["backup", "create"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("written to s3://confidant-backups/daily/confidant-"),
        "{text}"
    );
    let names = s3.names("daily");
    assert_eq!(names.len(), 3, "backup, signature, public key: {names:?}");
    let backup = names.iter().find(|n| n.ends_with(".age")).unwrap().clone();
    assert!(names.contains(&format!("{backup}.sig")));
    assert!(names.contains(&"backup-signing.pub".to_owned()));
    let object = s3.get(&format!("daily/{backup}"));
    assert!(object.len() > 20 * 1024 * 1024, "{}", object.len());

    // list, verify with and without the identity.
    let listed = stdout(&s3_cmd(&ws, &s3).args(["backup", "list"]).output().unwrap());
    assert!(
        listed.contains(&backup) && listed.contains("signed"),
        "{listed}"
    );
    assert!(
        listed.contains("1 backups in s3://confidant-backups/daily"),
        "{listed}"
    );
    let file_url = format!("{url}/{backup}");
    s3_cmd(&ws, &s3)
        .args(["backup", "verify", &file_url])
        .assert()
        .success()
        .stdout(predicate::str::contains("signature: good"));
    s3_cmd(&ws, &s3)
        .args(["backup", "verify", &file_url, "--identity"])
        .arg(&key)
        .assert()
        .success()
        .stdout(predicate::str::contains("contents: good"));

    // Restore from the bucket into a new data dir: the documents are back.
    let target = ws.path("restored");
    s3_cmd(&ws, &s3)
        .args(["backup", "restore", &file_url, "--identity"])
        .arg(&key)
        .arg("--data")
        .arg(&target)
        .assert()
        .success()
        .stdout(predicate::str::contains("matches the manifest"));
    ws.cmd()
        .args(["docs", "get", "scan.bin", "--out"])
        .arg(ws.path("scan.out"))
        .arg("--data")
        .arg(&target)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(ws.path("scan.out")).unwrap(),
        noise(20 * 1024 * 1024, 7)
    );

    // One flipped byte in the bucket's object: verify and restore refuse,
    // and nothing is restored.
    let mut changed = object.clone();
    let i = changed.len() / 3;
    changed[i] ^= 0x01;
    s3.put(&format!("daily/{backup}"), changed);
    s3_cmd(&ws, &s3)
        .args(["backup", "verify", &file_url])
        .assert()
        .failure()
        .stderr(predicate::str::contains("was changed"));
    let second = ws.path("restored-2");
    s3_cmd(&ws, &s3)
        .args(["backup", "restore", &file_url, "--identity"])
        .arg(&key)
        .arg("--data")
        .arg(&second)
        .assert()
        .failure();
    assert!(!second.exists());
    // Truncated: caught by size.
    s3.put(
        &format!("daily/{backup}"),
        object[..object.len() - 100].to_vec(),
    );
    s3_cmd(&ws, &s3)
        .args(["backup", "verify", &file_url])
        .assert()
        .failure()
        .stderr(predicate::str::contains("truncated"));
    // Put back, it verifies again.
    s3.put(&format!("daily/{backup}"), object);
    s3_cmd(&ws, &s3)
        .args(["backup", "verify", &file_url])
        .assert()
        .success();

    // Prune: older backups (with signatures) by a keep policy; the newest
    // and the newest of each kept day stay, and nothing else is touched.
    let sig = s3.get(&format!("daily/{backup}.sig"));
    for old in [
        "confidant-20250101T020000Z.age",
        "confidant-20250101T140000Z.age",
        "confidant-20250102T020000Z.age",
        "confidant-20250103T020000Z.age",
    ] {
        s3.put(&format!("daily/{old}"), b"old".to_vec());
        s3.put(&format!("daily/{old}.sig"), sig.clone());
    }
    s3.put("daily/notes.txt", b"not a backup".to_vec());
    s3.put(
        "other/confidant-20250101T020000Z.age",
        b"elsewhere".to_vec(),
    );
    let pruned = stdout(
        &s3_cmd(&ws, &s3)
            .args(["backup", "prune", "--keep-last", "1", "--keep-daily", "2"])
            .output()
            .unwrap(),
    );
    assert!(pruned.contains("2 backups kept, 3 deleted"), "{pruned}");
    let mut expected = vec![
        "backup-signing.pub".to_owned(),
        backup.clone(),
        format!("{backup}.sig"),
        "confidant-20250103T020000Z.age".to_owned(),
        "confidant-20250103T020000Z.age.sig".to_owned(),
        "notes.txt".to_owned(),
    ];
    expected.sort();
    assert_eq!(s3.names("daily"), expected);
    assert_eq!(s3.names("other"), ["confidant-20250101T020000Z.age"]);

    // Every backup is in the ledger (ids only).
    let log = ws.ok(&["audit", "log"]);
    assert!(log.contains("backup"), "{log}");
    assert!(
        !log.contains("confidant-backups"),
        "no bucket in the ledger"
    );
    ws.ok(&["audit", "verify"]);
}

#[test]
fn serve_backs_up_daily_into_a_bucket_and_prunes_it() {
    let s3 = S3Server::start();
    let ws = Workspace::new();
    let key = ws.path("backup.key");
    s3_cmd(&ws, &s3)
        .args(["backup", "keygen", "--out"])
        .arg(&key)
        .args(["--destination", "s3://confidant-backups/nightly"])
        .assert()
        .success();
    for old in [
        "confidant-20250101T020000Z.age",
        "confidant-20250102T020000Z.age",
    ] {
        s3.put(&format!("nightly/{old}"), b"old".to_vec());
    }
    // The endpoint from confidant.toml, credentials from the environment.
    let config = ws.data.join("confidant.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[schedule]\ntick_seconds = 1\nbackup = true\nkeep_daily = 1\nkeep_weekly = 0\n\
         keep_monthly = 0\n\n[backup]\ns3_endpoint = \"{}\"\ns3_region = \"us-east-1\"\n\
         s3_allow_http = true\n",
        s3.endpoint()
    ));
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("confidant"))
        .args(["serve", "--port", "0"])
        .env("CONFIDANT_DATA", &ws.data)
        .env("CONFIDANT_KEY_FILE", &ws.key)
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = BufReader::new(child.stderr.take().unwrap());
    // Keep reading stderr so serve never blocks on a full pipe.
    let lines = std::thread::spawn(move || err.lines().map_while(Result::ok).collect::<Vec<_>>());
    let backups = || -> Vec<String> {
        s3.names("nightly")
            .into_iter()
            .filter(|n| n.ends_with(".age"))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && (backups().len() != 1 || backups().iter().any(|n| n.starts_with("confidant-2025")))
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    child.kill().unwrap();
    child.wait().unwrap();
    let logged = lines.join().unwrap().join("\n");
    let kept = backups();
    assert_eq!(kept.len(), 1, "the new backup only: {kept:?}\n{logged}");
    assert!(s3.names("nightly").contains(&format!("{}.sig", kept[0])));
    s3_cmd(&ws, &s3)
        .env_remove("CONFIDANT_DATA")
        .args(["backup", "verify"])
        .arg(format!("s3://confidant-backups/nightly/{}", kept[0]))
        .arg("--identity")
        .arg(&key)
        .assert()
        .success()
        .stdout(predicate::str::contains("contents: good"));
    let log = ws.ok(&["audit", "log"]);
    assert_eq!(log.matches("scheduled backup for").count(), 1, "{log}");
    assert!(log.contains("2 old backups pruned, 1 kept"), "{log}");
    ws.ok(&["audit", "verify"]);
}
