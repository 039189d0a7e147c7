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
