//! `cargo xtask bench`: the vault's throughput and memory figures (and the
//! ledger's append and verify rates) beside
//! `openssl speed` for the same cipher (AES-256-GCM) on the same machine, in
//! the same run, so the report can state ratios.

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// `openssl speed -evp aes-256-gcm` on 64 KiB blocks (our chunk size), in
/// MB/s (10^6 bytes).
fn openssl_mb_s() -> Result<f64> {
    let out = Command::new("openssl")
        .args([
            "speed",
            "-evp",
            "aes-256-gcm",
            "-bytes",
            "65536",
            "-seconds",
            "3",
        ])
        .output()
        .context("cannot run openssl (apt-get install openssl)")?;
    if !out.status.success() {
        bail!(
            "openssl speed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // The last line: "AES-256-GCM   4567890.12k" (thousands of bytes per second).
    let figure = text
        .lines()
        .rev()
        .find_map(|l| {
            l.split_whitespace()
                .last()
                .and_then(|f| f.strip_suffix('k'))
        })
        .and_then(|f| f.parse::<f64>().ok())
        .with_context(|| format!("cannot read openssl's output: {text}"))?;
    Ok(figure / 1000.0)
}

fn bench(root: &std::path::Path, args: &[&str]) -> Result<Value> {
    bench_with(root, args, &[])
}

fn bench_with(root: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Result<Value> {
    bench_in(root, ("confidant-vault", "throughput"), args, env)
}

fn bench_in(
    root: &std::path::Path,
    (package, bench): (&str, &str),
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<Value> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .envs(env.iter().copied())
        .args(["bench", "--quiet", "-p", package, "--bench", bench, "--"])
        .args(args)
        .output()
        .context("cannot run cargo bench")?;
    if !out.status.success() {
        bail!(
            "the benchmark {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("the benchmark printed no result")?;
    Ok(serde_json::from_str(line)?)
}

fn f(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

pub fn run(root: &std::path::Path) -> Result<()> {
    // openssl and wrk are among the packages the test command installs.
    crate::install::ensure_packages()?;
    eprintln!("== building and running the benchmarks (release profile; a few minutes)");
    let openssl = openssl_mb_s()?;
    let cipher = bench(root, &["cipher", "1024"])?;
    // glibc returns freed heap to the kernel, so every GiB stored in a fresh
    // process lands on pages the kernel must fault in and zero. Keeping
    // freed memory (as a long-running server's heap does) shows the vault's
    // own cost; the cold figure is reported beside it.
    let memory = bench_with(
        root,
        &["memory", "1024"],
        &[
            ("MALLOC_TRIM_THRESHOLD_", "4294967296"),
            ("MALLOC_MMAP_THRESHOLD_", "4294967296"),
        ],
    )?;
    let disk = bench(root, &["disk", "1024"])?;
    let big = bench(root, &["disk", "2048"])?;
    let import = bench(root, &["import", "100000"])?;
    let masked = bench(root, &["masked-page", "50"])?;
    let append = bench(root, &["ledger-append", "2000"])?;
    let append_pg = ledger_append_postgres(root, 2000)?;
    let verify = bench(root, &["ledger-verify", "1000000"])?;
    let openssl_again = openssl_mb_s()?;
    let openssl = (openssl + openssl_again) / 2.0;

    println!("openssl speed -evp aes-256-gcm (64 KiB blocks): {openssl:.0} MB/s");
    for (name, v) in [
        ("bare cipher, 1 GiB", &cipher),
        ("vault, in memory, 1 GiB", &memory),
        ("vault, to disk, 1 GiB", &disk),
    ] {
        println!(
            "{name:<26} encrypt {:>6.0} MB/s ({:.2}x openssl)   decrypt {:>6.0} MB/s ({:.2}x openssl)",
            f(v, "encrypt_mb_s"),
            f(v, "encrypt_mb_s") / openssl,
            f(v, "decrypt_mb_s"),
            f(v, "decrypt_mb_s") / openssl,
        );
    }
    println!(
        "vault, to disk, 2 GiB      add + read peak RSS {:.1} MiB (target < 64 MiB)",
        f(&big, "peak_rss_kib") / 1024.0
    );
    println!(
        "import 100,000 rows x 8 columns: {:.0} rows/s ({:.1} s), peak RSS {:.1} MiB",
        f(&import, "rows_per_s"),
        f(&import, "seconds"),
        f(&import, "peak_rss_kib") / 1024.0
    );
    println!(
        "a 1,000-row page for an assistant ({} of 8 columns masked, each column a policy decision): p50 {:.1} ms, {:.0} rows/s; the owner's unmasked page {:.1} ms ({:.2}x)",
        f(&masked, "masked_columns"),
        f(&masked, "masked_p50_ms"),
        f(&masked, "masked_rows_per_s"),
        f(&masked, "owner_p50_ms"),
        f(&masked, "masked_vs_owner")
    );
    println!(
        "ledger appends (SQLite, each durable, with a document lookup): {:.0}/s, {:.2}x the raw rate of fsync-ed single-row inserts ({:.0}/s)",
        f(&append, "appends_per_s"),
        f(&append, "ratio"),
        f(&append, "raw_inserts_per_s")
    );
    println!(
        "ledger appends (PostgreSQL {}, fsync {}, each durable, with a document lookup): {:.0}/s, {:.2}x the raw rate of fsync-ed single-row inserts ({:.0}/s); 16 concurrent requests (group commit) {:.0}/s, {:.2}x",
        append_pg
            .get("server")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        append_pg
            .get("fsync")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        f(&append_pg, "appends_per_s"),
        f(&append_pg, "ratio"),
        f(&append_pg, "raw_inserts_per_s"),
        f(&append_pg, "concurrent_appends_per_s"),
        f(&append_pg, "concurrent_ratio")
    );
    println!(
        "audit verify of 1,000,000 entries: {:.2} s ({:.0} entries/s; target under 5 s)",
        f(&verify, "seconds"),
        f(&verify, "entries_per_s")
    );
    let verify_password = bench_in(root, ("confidant-server", "signin"), &["verify"], &[])?;
    println!(
        "one password check (Argon2id {}): median {:.0} ms, min {:.0} ms, max {:.0} ms (target 50-250 ms)",
        verify_password
            .get("params")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        f(&verify_password, "median_ms"),
        f(&verify_password, "min_ms"),
        f(&verify_password, "max_ms")
    );
    let page = bench_in(root, ("confidant-server", "signin"), &["page"], &[])?;
    let part = |name: &str| page.get(name).cloned().unwrap_or(Value::Null);
    let (alone, loaded, burst) = (
        part("alone"),
        part("during_sign_in_burst"),
        part("sign_in_burst"),
    );
    println!(
        "authenticated page, 64 connections (wrk): p50 {:.1} ms, p99 {:.1} ms, {:.0} requests/s",
        f(&alone, "p50_ms"),
        f(&alone, "p99_ms"),
        f(&alone, "requests_per_s")
    );
    println!(
        "  the same during a burst of 64 connections signing in: p50 {:.1} ms, p99 {:.1} ms, {:.0} requests/s ({:.0} sign-ins/s, p99 {:.0} ms); peak RSS {:.0} MiB",
        f(&loaded, "p50_ms"),
        f(&loaded, "p99_ms"),
        f(&loaded, "requests_per_s"),
        f(&burst, "requests_per_s"),
        f(&burst, "p99_ms"),
        f(&page, "peak_rss_kib") / 1024.0
    );
    let backup = backup_bench(root)?;
    let report = serde_json::json!({
        "backup": backup,
        "password_verify": verify_password, "page": page,
        "ledger_append": append, "ledger_append_postgres": append_pg, "ledger_verify": verify, "masked_page": masked,
        "openssl_aes_256_gcm_mb_s": openssl,
        "cipher": cipher, "memory": memory, "disk": disk, "disk_2gib": big, "import": import,
    });
    let path = root.join("target").join("bench-report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("(written to {})", path.display());
    Ok(())
}

/// `cargo xtask bench ledger`: the ledger's figures alone.
pub fn run_ledger(root: &std::path::Path) -> Result<()> {
    crate::install::ensure_packages()?;
    let append = bench(root, &["ledger-append", "2000"])?;
    let append_pg = ledger_append_postgres(root, 2000)?;
    let verify = bench(root, &["ledger-verify", "1000000"])?;
    println!("{append}\n{append_pg}\n{verify}");
    let path = root.join("target").join("bench-ledger-report.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&serde_json::json!({
            "ledger_append": append, "ledger_append_postgres": append_pg, "ledger_verify": verify,
        }))?,
    )?;
    println!("(written to {})", path.display());
    Ok(())
}

/// The ledger append benchmark on a throwaway PostgreSQL cluster with fsync
/// on (`-F` is what the tests' cluster runs with; a benchmark of durable
/// writes needs the real thing). `cargo xtask bench ledger-postgres` runs
/// this one alone.
pub fn ledger_append_postgres(root: &std::path::Path, n: u64) -> Result<Value> {
    let cluster = crate::postgres::Cluster::start_durable()?;
    let url = cluster.url();
    let mut v = bench_with(
        root,
        &["ledger-append-postgres", &n.to_string()],
        &[("CONFIDANT_BENCH_DATABASE_URL", url.as_str())],
    )?;
    if let Some(map) = v.as_object_mut() {
        map.insert("server".into(), cluster.version().into());
    }
    Ok(v)
}

/// `confidant backup` against restic on the same data dir: 20,000 small
/// documents and 20 files of 20 MiB (`CONFIDANT_BENCH_BACKUP="DOCS FILES
/// MIB"` for another size).
fn backup_bench(root: &std::path::Path) -> Result<Value> {
    let size = std::env::var("CONFIDANT_BENCH_BACKUP").unwrap_or_else(|_| "20000 20 20".into());
    let args: Vec<&str> = size.split_whitespace().collect();
    let b = bench_in(root, ("confidant-vault", "backup"), &args, &[])?;
    println!(
        "backup of {:.0} MB ({} documents + {} x {} MiB): {:.0} MB/s, peak {:.0} MiB; restic backup {:.0} MB/s ({:.2}x), peak {:.0} MiB",
        f(&b, "input_mb"),
        f(&b, "small_docs"),
        f(&b, "big_files"),
        f(&b, "big_mib"),
        f(&b, "backup_mb_s"),
        f(&b, "backup_peak_mib"),
        f(&b, "restic_backup_mb_s"),
        f(&b, "backup_mb_s") / f(&b, "restic_backup_mb_s"),
        f(&b, "restic_backup_peak_mib"),
    );
    println!(
        "verify (full read): {:.0} MB/s, peak {:.0} MiB; restic check --read-data {:.0} MB/s ({:.2}x), peak {:.0} MiB",
        f(&b, "verify_mb_s"),
        f(&b, "verify_peak_mib"),
        f(&b, "restic_check_mb_s"),
        f(&b, "verify_mb_s") / f(&b, "restic_check_mb_s"),
        f(&b, "restic_check_peak_mib"),
    );
    Ok(b)
}
