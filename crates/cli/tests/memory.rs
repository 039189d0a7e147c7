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

#[test]
fn adding_and_reading_a_large_document_keeps_peak_rss_under_64_mib() {
    let temp = tempfile::TempDir::new().unwrap();
    let data = temp.path().join("data");
    let key = temp.path().join("k");
    let status = confidant(&data, &key)
        .args([
            "init",
            "--owner-email",
            "o@example.com",
            "--owner-name",
            "O",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

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
