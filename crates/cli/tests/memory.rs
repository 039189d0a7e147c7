//! Memory stays flat for any document size: adding and reading a large
//! document keeps the process's peak RSS under 64 MiB. (The benchmark,
//! `cargo xtask bench`, does the same with 2 GiB.) This file holds one test
//! so that the peak RSS of this process's children is that of the commands
//! under test alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use nix::sys::resource::{UsageWho, getrusage};

const SIZE: u64 = 512 << 20;
const LIMIT_KIB: i64 = 64 * 1024;

fn confidant(data: &std::path::Path, key: &std::path::Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("confidant"));
    cmd.env("CONFIDANT_DATA", data)
        .env("CONFIDANT_KEY_FILE", key)
        .env("CONFIDANT_OWNER_PASSWORD", "owner password for tests")
        .env_remove("CONFIDANT_PASSPHRASE");
    cmd
}

/// A data dir made in this process, as `confidant init` makes one: `init`
/// hashes the owner's password with Argon2id at 64 MiB, which would count
/// as a child's peak (getrusage keeps the largest child's) and is not what
/// this test measures.
fn init_here(data: &std::path::Path, key: &std::path::Path) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(data).unwrap();
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let file = confidant_vault::KeyFile::generate(&mut rand_core::OsRng);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(key)
        .unwrap()
        .write_all(file.to_text().as_bytes())
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let url = format!("sqlite://{}", data.join("confidant.db").display());
        let store = confidant_store::connect(&url).await.unwrap();
        let blobs = confidant_store::BlobStore::local(&data.join("blobs")).unwrap();
        confidant_vault::Vault::init(
            store,
            blobs,
            std::sync::Arc::new(confidant_vault::SystemClock),
            confidant_vault::InitOptions {
                workspace_name: "Memory".into(),
                owner_email: "o@example.com".into(),
                owner_name: "O".into(),
                owner_password: secrecy::SecretString::from("owner password for tests"),
                unlock: confidant_vault::Unlock::KeyFile(file),
                kdf: confidant_vault::KdfParams::default(),
            },
        )
        .await
        .unwrap();
    });
    std::fs::write(data.join("confidant.toml"), "# made by the memory test\n").unwrap();
    // A spawned child's peak RSS starts from this process's peak (Linux
    // keeps the pre-exec high-water mark): reset it after the hashing.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

#[test]
fn adding_and_reading_a_large_document_keeps_peak_rss_under_64_mib() {
    let temp = tempfile::TempDir::new().unwrap();
    let data = temp.path().join("data");
    let key = temp.path().join("k");
    init_here(&data, &key);

    // A sparse file: reading it costs no disk, and its size is real.
    let input = temp.path().join("big.bin");
    let mut file = std::fs::File::create(&input).unwrap();
    file.write_all(b"start").unwrap();
    file.set_len(SIZE).unwrap();
    drop(file);

    let status = confidant(&data, &key)
        .args(["docs", "add"])
        .arg(&input)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let peak_add = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss();

    // Read it back to a pipe and count the bytes without keeping them.
    let mut child = confidant(&data, &key)
        .args(["docs", "get", "big.bin", "--out", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let copied = std::io::copy(&mut out, &mut std::io::sink()).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(copied, SIZE);
    let peak_all = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss();

    eprintln!(
        "peak RSS: add {peak_add} KiB, add+get {peak_all} KiB, for a {} MiB document",
        SIZE >> 20
    );
    assert!(peak_add < LIMIT_KIB, "docs add peaked at {peak_add} KiB");
    assert!(peak_all < LIMIT_KIB, "docs get peaked at {peak_all} KiB");
}
