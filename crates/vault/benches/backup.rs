//! Backup and verify throughput and peak memory, beside `restic backup` and
//! `restic check --read-data` on the same data dir in the same run. Run
//! through `cargo xtask bench`, or directly:
//! `cargo bench -p confidant-vault --bench backup -- [SMALL_DOCS] [BIG_FILES] [BIG_MIB]`
//! (default 20000 small documents and 20 files of 20 MiB). Prints one JSON
//! line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use confidant_core::Label;
use confidant_store::BlobStore;
use confidant_vault::backup::{self, BackupReader, CreateOptions};
use confidant_vault::{InitOptions, KdfParams, KeyFile, SystemClock, Unlock, Vault};
use rand_core::{OsRng, RngCore};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(path).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            dir_size(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

/// Runs a command and returns (seconds, peak RSS KiB of the child).
fn timed(cmd: &mut Command) -> (f64, u64) {
    let start = Instant::now();
    let out = cmd
        .arg("--quiet")
        .output()
        .expect("restic is installed (apt-get install restic)");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ru_maxrss of the largest child so far: each restic run is larger
    // than the last one's setup, and they run one at a time.
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map(|u| u.max_rss() as u64)
        .unwrap_or(0);
    (secs, usage)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let small: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let big: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let big_mib: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);

    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = format!("sqlite://{}", data.join("confidant.db").display());
    let store = confidant_store::connect(&url).await.unwrap();
    let blobs = BlobStore::local(&data.join("blobs")).unwrap();
    let key = KeyFile::generate(&mut OsRng).to_text().to_string();
    let vault = Vault::init(
        store,
        blobs,
        Arc::new(SystemClock),
        InitOptions {
            workspace_name: "Bench".into(),
            owner_email: "owner@example.com".into(),
            owner_name: "Olivia".into(),
            owner_password: secrecy::SecretString::from("a long owner password for the bench"),
            unlock: Unlock::KeyFile(KeyFile::parse(&key).unwrap()),
            kdf: KdfParams::default(),
        },
    )
    .await
    .unwrap();
    let owner = vault.owner().await.unwrap();
    let setup = Instant::now();
    for i in 0..small {
        let body = format!("Customer note {i}: call back about order {}. ", i * 7).repeat(20);
        vault
            .add_document(
                &owner,
                &format!("note-{i}.txt"),
                Label::Internal,
                body.as_bytes(),
            )
            .await
            .unwrap();
    }
    let mut buf = vec![0u8; big_mib << 20];
    for i in 0..big {
        OsRng.fill_bytes(&mut buf);
        vault
            .add_document(
                &owner,
                &format!("big-{i}.bin"),
                Label::Confidential,
                &buf[..],
            )
            .await
            .unwrap();
    }
    drop(buf);
    eprintln!("setup: {:.1}s", setup.elapsed().as_secs_f64());
    let input_bytes = dir_size(&data);

    let sealed = vault.new_backup_key(&owner).unwrap();
    let signer = vault.open_backup_key(&owner, &sealed).unwrap();
    let identity = age::x25519::Identity::generate();
    let out_path = temp.path().join("b.age");
    reset_peak();
    let start = Instant::now();
    let file = std::fs::File::create(&out_path).unwrap();
    let (created, out) = backup::create(
        &[(vault.clone(), owner.clone())],
        CreateOptions {
            recipients: vec![identity.to_public()],
            signer: &signer,
            files: Vec::new(),
            file_name: "b.age".into(),
            progress: None,
            level: 3,
            only_these_workspaces: false,
        },
        std::io::BufWriter::with_capacity(1 << 20, file),
    )
    .await
    .unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    let backup_secs = start.elapsed().as_secs_f64();
    let backup_rss = peak_rss_kib();

    reset_peak();
    let start = Instant::now();
    let reader = BackupReader::open(
        std::fs::File::open(&out_path).unwrap(),
        vec![identity],
        None,
    )
    .await
    .unwrap();
    reader.run(Some(signer.public_key()), None).await.unwrap();
    let verify_secs = start.elapsed().as_secs_f64();
    let verify_rss = peak_rss_kib();

    // restic on the same data dir.
    let repo = temp.path().join("restic");
    let restic = |args: &[&str]| {
        let mut c = Command::new("restic");
        c.env("RESTIC_PASSWORD", "bench password")
            .env("RESTIC_CACHE_DIR", temp.path().join("restic-cache"))
            .arg("-r")
            .arg(&repo)
            .args(args);
        c
    };
    timed(&mut restic(&["init"]));
    let (restic_backup_secs, restic_backup_rss) = timed(restic(&["backup"]).arg(&data));
    let (restic_check_secs, restic_check_rss) = timed(&mut restic(&["check", "--read-data"]));
    let mb = input_bytes as f64 / 1e6;
    println!(
        "{}",
        serde_json::json!({
            "small_docs": small,
            "big_files": big,
            "big_mib": big_mib,
            "input_mb": mb,
            "backup_mb": created.size as f64 / 1e6,
            "backup_mb_s": mb / backup_secs,
            "backup_peak_mib": backup_rss as f64 / 1024.0,
            "verify_mb_s": mb / verify_secs,
            "verify_peak_mib": verify_rss as f64 / 1024.0,
            "restic_backup_mb_s": mb / restic_backup_secs,
            "restic_backup_peak_mib": restic_backup_rss as f64 / 1024.0,
            "restic_check_mb_s": mb / restic_check_secs,
            "restic_check_peak_mib": restic_check_rss as f64 / 1024.0,
            "restic_repo_mb": dir_size(&repo) as f64 / 1e6,
        })
    );
}
