//! `confidant serve` as a real process answering real HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::util::Workspace;

fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_answers_http_and_signs_in_the_owner() {
    let ws = Workspace::new();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("confidant"))
        .args(["serve", "--port", "0"])
        .env("CONFIDANT_DATA", &ws.data)
        .env("CONFIDANT_KEY_FILE", &ws.key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('/')
        .to_owned();

    let health = http(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let body = format!(
        r#"{{"email":"owner@example.com","password":"{}"}}"#,
        crate::util::OWNER_PASSWORD
    );
    let signin = http(
        &addr,
        &format!(
            "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(signin.starts_with("HTTP/1.1 200"), "{signin}");
    let token = signin
        .split("\"token\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let list = http(
        &addr,
        &format!(
            "GET /api/v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(
        list.starts_with("HTTP/1.1 200") && list.ends_with("[]"),
        "{list}"
    );
    let denied = http(
        &addr,
        "GET /api/v1/documents HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");

    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn serve_publishes_checkpoints_to_a_folder() {
    let ws = Workspace::new();
    let doc = ws.write("a.txt", b"alpha");
    ws.ok(&["docs", "add", doc.to_str().unwrap()]);
    let dir = ws.path("published");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("confidant"))
        .args([
            "serve",
            "--port",
            "0",
            "--publish-interval",
            "1",
            "--publish-checkpoints",
        ])
        .arg(&dir)
        .env("CONFIDANT_DATA", &ws.data)
        .env("CONFIDANT_KEY_FILE", &ws.key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait_for = |path: std::path::PathBuf| {
        let start = std::time::Instant::now();
        while !path.exists() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "{} never appeared",
                path.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_for(dir.join("1.note"));
    ws.ok(&["docs", "get", "a.txt", "--out", "-"]);
    wait_for(dir.join("2.note"));
    child.kill().unwrap();
    child.wait().unwrap();
    let latest = std::fs::read_to_string(dir.join("latest.note")).unwrap();
    assert_eq!(latest.lines().nth(1), Some("2"));
    // A published checkpoint is exactly what `audit checkpoint` prints, and
    // it proves the ledger later on.
    assert_eq!(latest, ws.ok(&["audit", "checkpoint"]));
    let first = dir.join("1.note");
    let out = ws.ok(&[
        "audit",
        "verify",
        "--since-checkpoint",
        first.to_str().unwrap(),
    ]);
    assert!(out.contains("extends the checkpoint of 1 entries"), "{out}");
}

/// `serve` runs its schedule on its own: the incident notices that were
/// queued go out to the SMTP server, the latest signed checkpoint is
/// e-mailed to the address in the settings, and a backup is taken into
/// the saved destination with older ones pruned by the keep policy, each
/// once, each in the ledger. (The business day that ended last is
/// yesterday's, so these are due at the first tick.)
#[test]
fn serve_runs_its_schedule() {
    use confidant_testkit::smtp::Sink;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ws = crate::incidents::prepared(&rt);
    let since = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .date()
        .to_string();
    let opened = ws.json(&[
        "incident",
        "open",
        "--person",
        "alex@example.com",
        "--since",
        &since,
        "--reason",
        "An assistant's laptop was stolen.",
        "--format",
        "json",
    ]);
    let id = opened["id"].as_str().unwrap().to_owned();
    rt.block_on(async {
        let vault = crate::incidents::open_vault(&ws).await;
        let owner = vault.owner().await.unwrap();
        let (added, _) = vault.queue_notices(&owner, &id).await.unwrap();
        assert_eq!(added, 2, "Ann and Bo have addresses");
    });
    let dest = ws.path("backups");
    ws.ok(&[
        "backup",
        "keygen",
        "--out",
        ws.path("backup.key").to_str().unwrap(),
        "--destination",
        dest.to_str().unwrap(),
    ]);
    // Two old backups that the keep policy (one a day) lets go.
    std::fs::create_dir_all(&dest).unwrap();
    for old in [
        "confidant-20250101T020000Z.age",
        "confidant-20250102T020000Z.age",
    ] {
        std::fs::write(dest.join(old), b"old").unwrap();
    }
    let config = ws.data.join("confidant.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[schedule]\ntick_seconds = 1\nbackup = true\nkeep_daily = 1\nkeep_weekly = 0\n\
         keep_monthly = 0\ncheckpoint_to = \"offsite@example.net\"\n",
    );
    std::fs::write(&config, text).unwrap();

    let sink = rt.block_on(Sink::start(0));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("confidant"))
        .args(["serve", "--port", "0"])
        .env("CONFIDANT_DATA", &ws.data)
        .env("CONFIDANT_KEY_FILE", &ws.key)
        .env("CONFIDANT_SMTP_HOST", "127.0.0.1")
        .env("CONFIDANT_SMTP_PORT", sink.port.to_string())
        .env("CONFIDANT_SMTP_SECURITY", "plain")
        .env("CONFIDANT_SMTP_FROM", "Test <privacy@business.example>")
        .env_remove("CONFIDANT_SMTP_USERNAME")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    while lines.len() < 5 {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "serve stopped: {lines:?}"
        );
        if line.starts_with("schedule: ") {
            lines.push(line);
        }
    }
    let started = lines.join("");
    assert!(
        started.contains("schedule: backups: after each business day, keeping 1 daily"),
        "{started}"
    );
    // By default tomorrow's passcodes are issued and kept for the page.
    assert!(
        started.contains("schedule: tomorrow's passcodes: issued 60 minutes before each day ends, kept for the Passcodes page"),
        "{started}"
    );

    let backups = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("confidant-") && n.ends_with(".age"))
            .collect();
        names.sort();
        names
    };
    // Wait for the process (not for a time of day): at most a minute.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline
        && (sink.received().len() < 4 || backups().iter().any(|n| n.starts_with("confidant-2025")))
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A few more ticks: nothing is done twice.
    std::thread::sleep(std::time::Duration::from_secs(3));
    child.kill().unwrap();
    child.wait().unwrap();

    let received = sink.received();
    let mut to: Vec<String> = received.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "ann@example.net",
            "bo@example.net",
            "offsite@example.net",
            "owner@example.com"
        ],
        "each notice once, the checkpoint once, yesterday's access digest once"
    );
    let digest = received
        .iter()
        .find(|m| m.to[0] == "owner@example.com")
        .unwrap();
    assert!(
        digest
            .header("Subject")
            .unwrap()
            .contains("access digest for"),
        "{:?}",
        digest.header("Subject")
    );
    let checkpoint = received
        .iter()
        .find(|m| m.to[0] == "offsite@example.net")
        .unwrap();
    assert!(
        checkpoint.body().contains("Verifier key: "),
        "{}",
        checkpoint.body()
    );
    let kept = backups();
    assert_eq!(kept.len(), 1, "the new backup only: {kept:?}");
    assert!(dest.join(format!("{}.sig", kept[0])).exists());
    ws.ok(&[
        "backup",
        "verify",
        dest.join(&kept[0]).to_str().unwrap(),
        "--identity",
        ws.path("backup.key").to_str().unwrap(),
    ]);

    let log = ws.ok(&["audit", "log"]);
    assert_eq!(log.matches("scheduled backup for").count(), 1, "{log}");
    assert!(log.contains("2 old backups pruned, 1 kept"), "{log}");
    assert_eq!(
        log.matches("scheduled checkpoint_mail for").count(),
        1,
        "{log}"
    );
    assert!(log.contains("notices sent"), "{log}");
    assert!(
        !log.contains("offsite@example.net"),
        "no address in the ledger"
    );
    ws.ok(&["audit", "verify"]);
}

/// `[alerts]` end to end: `serve` reads the thresholds and the webhook from
/// confidant.toml, two refused sign-ins raise one alert, and a local HTTP
/// server receives it once, signed: `openssl dgst -hmac` (another
/// implementation) computes the same HMAC-SHA256 over the body.
#[test]
fn serve_posts_alerts_to_a_signed_webhook_once() {
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};
    let ws = Workspace::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    /// The head and body of each POST the receiver got.
    type Posts = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let posts: Posts = Arc::default();
    let seen = posts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push((head, body));
            let mut stream = reader.into_inner();
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
        }
    });
    let config = ws.data.join("confidant.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[schedule]\ntick_seconds = 1\npasscodes = \"off\"\n\n[alerts]\ndenied_count = 2\n\
         denied_minutes = 10\nemail = false\nwebhook_url = \"{hook}\"\n\
         webhook_secret = \"cli-test-secret-0123\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("confidant"))
        .args(["serve", "--port", "0"])
        .env("CONFIDANT_DATA", &ws.data)
        .env("CONFIDANT_KEY_FILE", &ws.key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('/')
        .to_owned();
    let body = r#"{"email":"owner@example.com","password":"not the password"}"#;
    for _ in 0..2 {
        let refused = http(
            &addr,
            &format!(
                "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        );
        assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline && posts.lock().unwrap().is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A few more ticks: it is not posted again.
    std::thread::sleep(std::time::Duration::from_secs(3));
    child.kill().unwrap();
    child.wait().unwrap();

    let posts = posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let (head, body) = &posts[0];
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["schema"], "confidant.alert.v1");
    assert_eq!(json["rule"], "repeated_denials");
    assert_eq!(json["count"], 2);
    let signature = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-confidant-signature:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap();
    let file = ws.write("body.json", body);
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", "cli-test-secret-0123", "-r"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let expected = String::from_utf8(out.stdout).unwrap();
    let expected = expected.split_whitespace().next().unwrap();
    assert_eq!(signature, format!("sha256={expected}"));

    let alerts = ws.json(&["audit", "alerts", "--format", "json"]);
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
    assert_eq!(alerts[0]["rule"], "repeated_denials");
    assert_eq!(alerts[0]["webhook"], "done");
    assert_eq!(alerts[0]["mail"], serde_json::Value::Null);
    let log = ws.ok(&["audit", "log"]);
    assert!(!log.contains("@example.com\n"), "{log}");
    ws.ok(&["audit", "verify"]);
}
