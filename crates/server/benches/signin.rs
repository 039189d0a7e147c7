//! Sign-in cost and the latency of an authenticated page under load.
//!
//! Run through `cargo xtask bench` or directly:
//! `cargo bench -p confidant-server --bench signin -- MODE` with MODE
//! `verify` (one Argon2id verification with the production parameters,
//! median of 20) or `page` (a real server on 127.0.0.1; wrk drives an
//! authenticated page with 64 connections for 10 s, first alone, then while
//! a second wrk hammers the sign-in endpoint with 64 connections, to show
//! that a burst of logins neither exhausts memory nor starves other
//! requests). Prints one JSON line per measurement. `page` needs `wrk`
//! (Debian package `wrk`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use confidant_core::Label;
use confidant_server::{ServerOptions, router};
use confidant_vault::{
    InitOptions, KdfParams, KeyFile, SessionRequest, SignIn, SystemClock, Tenants, Unlock, Vault,
    code_at,
};
use rand_core::OsRng;
use secrecy::{ExposeSecret, SecretString};

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "velvet lantern orbit mosaic";

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

fn verify() {
    let password = SecretString::from(PASSWORD);
    let hash = confidant_crypto::hash_password(&password, &mut OsRng).unwrap();
    let mut times: Vec<f64> = (0..20)
        .map(|_| {
            let start = Instant::now();
            assert!(confidant_crypto::verify_password(&password, &hash).unwrap());
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "mode": "verify",
            "params": hash.split('$').nth(3).unwrap_or(""),
            "median_ms": times[times.len() / 2],
            "min_ms": times[0],
            "max_ms": times[times.len() - 1],
        })
    );
}

/// wrk's latency percentiles (ms) and request rate.
struct WrkResult {
    p50_ms: f64,
    p99_ms: f64,
    requests_per_s: f64,
    non_2xx: u64,
}

fn millis(text: &str) -> f64 {
    let text = text.trim();
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * factor
}

fn parse_wrk(out: &str) -> WrkResult {
    let percentile = |p: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(p))
            .and_then(|l| l.split_whitespace().nth(1))
            .map_or(f64::NAN, millis)
    };
    let rate = out
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let non_2xx = out
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    WrkResult {
        p50_ms: percentile("50%"),
        p99_ms: percentile("99%"),
        requests_per_s: rate,
        non_2xx,
    }
}

fn wrk(args: &[&str]) -> std::process::Child {
    Command::new("wrk")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("wrk is installed (apt-get install wrk)")
}

fn finish(child: std::process::Child) -> WrkResult {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "wrk failed");
    parse_wrk(&String::from_utf8_lossy(&out.stdout))
}

async fn page() {
    let dir = tempfile::tempdir().unwrap();
    let store = confidant_store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    let blobs = confidant_store::BlobStore::local(&dir.path().join("blobs")).unwrap();
    let vault = Vault::init(
        store,
        blobs,
        Arc::new(SystemClock),
        InitOptions {
            workspace_name: "Bench".into(),
            owner_email: EMAIL.into(),
            owner_name: "Olive Owner".into(),
            owner_password: SecretString::from(PASSWORD),
            unlock: Unlock::KeyFile(KeyFile::generate(&mut OsRng)),
            kdf: KdfParams::default(),
        },
    )
    .await
    .unwrap();
    let owner = vault.owner().await.unwrap();
    for n in 0..20 {
        vault
            .add_document(
                &owner,
                &format!("document {n}.txt"),
                Label::Confidential,
                &b"some text"[..],
            )
            .await
            .unwrap();
    }
    // A web session with a second factor, as a browser would hold it.
    let setup = vault.new_totp_setup(EMAIL).unwrap();
    let secret = setup.secret.expose_secret().to_owned();
    let now = time::OffsetDateTime::now_utc();
    let recovery = vault
        .enroll_second_factor(&owner, &secret, &code_at(&secret, now).unwrap())
        .await
        .unwrap();
    let SignIn::SecondFactor { pending } = vault
        .sign_in(
            EMAIL,
            &SecretString::from(PASSWORD),
            None,
            &SessionRequest::web("wrk"),
        )
        .await
        .unwrap()
    else {
        panic!("second factor expected")
    };
    let session = vault
        .complete_sign_in(
            &pending,
            recovery[0].expose_secret(),
            None,
            &SessionRequest::web("wrk"),
        )
        .await
        .unwrap();
    let tenants = Tenants::new(vec![vault]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(tenants, ServerOptions::default());
    tokio::spawn(confidant_server::serve(
        listener,
        app,
        std::future::pending::<()>(),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let url = format!("http://{addr}/");
    let cookie = format!(
        "Cookie: confidant_session={}",
        session.token.expose_secret()
    );
    let page_args = ["-t2", "-c64", "-d10s", "--latency", "-H", &cookie, &url];
    let alone = tokio::task::spawn_blocking({
        let args: Vec<String> = page_args.iter().map(|s| s.to_string()).collect();
        move || finish(wrk(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    })
    .await
    .unwrap();
    assert_eq!(
        alone.non_2xx, 0,
        "the page must answer 200 to a signed-in session"
    );
    let rss_before = peak_rss_kib();

    // The same page while 64 connections sign in as fast as they can, with
    // the right password (so every request costs a full Argon2id check;
    // wrong ones would be throttled after three) and no code (so each
    // answer is 401 second_factor_required and leaves no session behind).
    let script = dir.path().join("signin.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.body = '{{\"email\":\"{EMAIL}\",\"password\":\"{PASSWORD}\"}}'\n"
        ),
    )
    .unwrap();
    let tokens = format!("http://{addr}/api/v1/tokens");
    let script_path = script.display().to_string();
    let burst = tokio::task::spawn_blocking(move || {
        finish(wrk(&[
            "-t1",
            "-c64",
            "-d10s",
            "--latency",
            "-s",
            &script_path,
            &tokens,
        ]))
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loaded = tokio::task::spawn_blocking({
        let args: Vec<String> = page_args.iter().map(|s| s.to_string()).collect();
        move || finish(wrk(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    })
    .await
    .unwrap();
    let burst = burst.await.unwrap();
    println!(
        "{}",
        serde_json::json!({
            "mode": "page",
            "connections": 64,
            "alone": {"p50_ms": alone.p50_ms, "p99_ms": alone.p99_ms, "requests_per_s": alone.requests_per_s},
            "during_sign_in_burst": {"p50_ms": loaded.p50_ms, "p99_ms": loaded.p99_ms, "requests_per_s": loaded.requests_per_s, "non_2xx": loaded.non_2xx},
            "sign_in_burst": {"p50_ms": burst.p50_ms, "p99_ms": burst.p99_ms, "requests_per_s": burst.requests_per_s},
            "peak_rss_kib_before_burst": rss_before,
            "peak_rss_kib": peak_rss_kib(),
        })
    );
}

fn main() {
    let mode = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "verify".into());
    match mode.as_str() {
        "verify" => verify(),
        "page" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(page()),
        other => panic!("unknown mode {other}: use verify or page"),
    }
}
