//! `confidant incident` at the console, on a SQLite data dir: an
//! assistant's accesses (made through the vault library on the same data
//! dir, as the server would), an incident opened with --offboard, its
//! exposure as a table and JSON, notices previewed and sent to a real SMTP
//! server on 127.0.0.1 (the testkit's sink) exactly once each, and bad
//! input refused without a change.

use std::sync::Arc;

use confidant_core::{Access, Role};
use confidant_testkit::smtp::{Sink, closed_port};
use confidant_vault::{
    GrantRequest, GrantTarget, KeyFile, SessionRequest, Signing, SystemClock, Unlock, Vault,
    code_at,
};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::util::Workspace;

/// The data dir's workspace through the vault library, as the server
/// opens it.
pub(crate) async fn open_vault(ws: &Workspace) -> Vault {
    let store = confidant_store::connect(&format!(
        "sqlite://{}",
        ws.data.join("confidant.db").display()
    ))
    .await
    .unwrap();
    let blobs = confidant_store::BlobStore::local(&ws.data.join("blobs")).unwrap();
    let key = std::fs::read_to_string(&ws.key).unwrap();
    let unlock = Unlock::KeyFile(KeyFile::parse(&key).unwrap());
    Vault::open(store, blobs, Arc::new(SystemClock), &unlock)
        .await
        .unwrap()
}

/// Alex views three customers (names in the clear, cards masked) and
/// reveals Ann's card.
async fn assistant_accesses(ws: &Workspace) {
    let vault = open_vault(ws).await;
    let owner = vault.owner().await.unwrap();
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
            &SecretString::from("velvet lantern orbit mosaic"),
            &secret,
            &code_at(&secret, OffsetDateTime::now_utc()).unwrap(),
            None,
            &SessionRequest::web("test"),
        )
        .await
        .unwrap()
        .session
        .actor;
    vault
        .grant(
            &owner,
            "alex@example.com",
            &GrantRequest {
                target: GrantTarget::Records {
                    set: "customers".into(),
                    columns: vec!["name".into(), "card".into()],
                    rows: None,
                },
                actions: [Access::View, Access::Reveal].into_iter().collect(),
                purpose: "answer calls".into(),
                until: OffsetDateTime::now_utc() + Duration::days(7),
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
                &Signing {
                    typed_name: alex.name.clone(),
                    consent: true,
                    client: None,
                    user_agent: "test".into(),
                },
            )
            .await
            .unwrap();
    }
    let page = vault.show_records(&alex, "customers", 0, 3).await.unwrap();
    vault
        .reveal(&alex, "customers", page.rows[0].id, "card")
        .await
        .unwrap();
}

/// A data dir with customers Ann, Bo (e-mail addresses), Cy (none) and
/// Di, and Alex's accesses.
pub(crate) fn prepared(rt: &tokio::runtime::Runtime) -> Workspace {
    let ws = Workspace::new();
    let csv = ws.write(
        "customers.csv",
        b"name,email,card\nAnn Lee,ann@example.net,4111111111111111\n\
          Bo Chan,bo@example.net,5500000000000004\nCy Diaz,,4012888888881881\n\
          Di Ek,di@example.net,4222222222222\n",
    );
    ws.ok(&[
        "records",
        "import",
        csv.to_str().unwrap(),
        "--name",
        "customers",
        "--columns",
        "name=name,email=email,card=card_number",
        "--customers",
        "--contact-column",
        "email",
        "--label",
        "internal",
    ]);
    rt.block_on(assistant_accesses(&ws));
    ws
}

#[test]
fn an_incident_at_the_console() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ws = prepared(&rt);

    // Bad input is refused and changes nothing.
    let err = ws.fails(&[
        "incident",
        "open",
        "--person",
        "alex@example.com",
        "--since",
        "2999-01-01",
        "--reason",
        "x",
    ]);
    assert!(err.contains("window is empty"), "{err}");
    let err = ws.fails(&[
        "incident",
        "open",
        "--person",
        "nobody@example.com",
        "--since",
        "2026-01-01",
        "--reason",
        "x",
    ]);
    assert!(err.contains("nobody@example.com"), "{err}");
    ws.fails(&[
        "incident",
        "open",
        "--person",
        "alex@example.com",
        "--since",
        "yesterday",
        "--reason",
        "x",
    ]);
    assert!(ws.ok(&["incident", "list"]).contains("no incidents"));

    let since = (OffsetDateTime::now_utc() - Duration::days(1))
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
        "--offboard",
        "--format",
        "json",
    ]);
    let id = opened["id"].as_str().unwrap().to_owned();
    assert_eq!(opened["offboarded"], true);
    assert_eq!(opened["summary"]["customers"], 3, "{opened}");
    assert_eq!(opened["summary"]["customers_in_the_clear"], 3);
    assert_eq!(opened["summary"]["categories"]["name"], 3);
    assert_eq!(opened["summary"]["categories"]["card_number"], 1);
    assert!(
        (71..=72).contains(&opened["regulator_hours_left"].as_i64().unwrap()),
        "{opened}"
    );
    let people = ws.ok(&["people", "list"]);
    assert!(people.contains("offboarded"), "{people}");

    let shown = ws.ok(&["incident", "show", &id]);
    assert!(
        shown.contains("3 customers (3 in the clear, 0 only masked)"),
        "{shown}"
    );
    assert!(shown.contains("card_number, name"), "{shown}");
    assert!(shown.contains("revealed 1"), "{shown}");
    assert!(ws.ok(&["incident", "list"]).contains(&id));
    let draft = ws.ok(&["incident", "regulator", &id]);
    assert!(draft.contains("(a) Nature of the breach"), "{draft}");
    assert!(draft.contains("payment card number (1 people)"), "{draft}");

    // Cy has no e-mail address: two notices, Cy listed for a letter.
    let preview = ws.json(&["incident", "notices", &id, "--preview", "--format", "json"]);
    assert_eq!(preview.as_array().unwrap().len(), 3);
    assert_eq!(
        preview
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["to"].is_null())
            .count(),
        1
    );

    // The template: a bad one is refused, a good one used.
    let bad = ws.write("bad.txt", b"Subject: x\n{{nope}} {{categories}}\n");
    let err = ws.fails(&["incident", "template", "--set", bad.to_str().unwrap()]);
    assert!(err.contains("{{nope}}"), "{err}");
    let good = ws.write(
        "good.txt",
        b"Subject: About your data at {{business}}\nDear {{name}}, your {{categories}} was {{how}}.\n",
    );
    ws.ok(&["incident", "template", "--set", good.to_str().unwrap()]);

    // No SMTP server configured: a clear error, nothing queued.
    let err = ws.fails(&["incident", "notices", &id, "--send"]);
    assert!(err.contains("CONFIDANT_SMTP_HOST"), "{err}");
    assert!(
        ws.ok(&["incident", "notices", &id])
            .contains("no notices queued")
    );

    // The server is down: queued and failed, then delivered once it is up.
    let port = rt.block_on(closed_port());
    let send = |retry: bool| {
        let mut cmd = ws.cmd();
        cmd.env("CONFIDANT_SMTP_HOST", "127.0.0.1")
            .env("CONFIDANT_SMTP_PORT", port.to_string())
            .env("CONFIDANT_SMTP_SECURITY", "plain")
            .env("CONFIDANT_SMTP_FROM", "Privacy <privacy@business.example>")
            .args(["incident", "notices", &id, "--send", "--format", "json"]);
        if retry {
            cmd.arg("--retry-now");
        }
        cmd.output().unwrap()
    };
    let down = send(false);
    assert!(!down.status.success());
    let report: serde_json::Value = serde_json::from_slice(&down.stdout).unwrap();
    assert_eq!(
        (report["queued"].as_u64(), report["sent"].as_u64()),
        (Some(2), Some(0))
    );
    let status = ws.json(&["incident", "notices", &id, "--format", "json"]);
    assert!(
        status
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["status"] == "failed")
    );

    let sink = rt.block_on(Sink::start(port));
    let up = send(true);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let again = send(true);
    assert!(again.status.success());
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["sent"], 0);
    let received = sink.received();
    assert_eq!(received.len(), 2, "one notice each");
    let mut to: Vec<_> = received.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    assert_eq!(to, ["ann@example.net", "bo@example.net"]);
    for m in &received {
        let body = m.body();
        let want = if m.to[0] == "ann@example.net" {
            "your payment card number and name was"
        } else {
            "your name was viewed on screen."
        };
        assert!(body.contains(want), "{body}");
        assert_eq!(
            m.header("Subject").as_deref(),
            Some("About your data at My business")
        );
    }
    let status = ws.json(&["incident", "notices", &id, "--format", "json"]);
    assert!(
        status
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["status"] == "sent")
    );
    let shown = ws.ok(&["incident", "show", &id]);
    assert!(shown.contains("notices: 2 sent"), "{shown}");
    assert!(shown.contains("notices sent: 2 sent"), "{shown}");

    paper_and_bounces(&ws, &id, &received);
}

fn pdf_text(path: &std::path::Path) -> String {
    let check = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(path)
        .output()
        .expect("qpdf (cargo xtask test installs it)");
    assert!(check.status.success(), "qpdf --check failed");
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (cargo xtask test installs poppler-utils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Letters for Cy (no e-mail address), the exposure report as a PDF, and
/// Ann's notice bounced, then printed as a letter too.
fn paper_and_bounces(ws: &Workspace, id: &str, received: &[confidant_testkit::smtp::Received]) {
    // A folder that does not exist: refused before anything is exported.
    let err = ws.fails(&["incident", "letters", id, "--out", "/nonexistent/l.pdf"]);
    assert!(err.contains("nothing was exported"), "{err}");
    let status = ws.json(&["incident", "notices", id, "--format", "json"]);
    assert_eq!(status.as_array().unwrap().len(), 2, "no letter marked");

    let letters = ws.data.join("../letters.pdf");
    let out = ws.ok(&[
        "incident",
        "letters",
        id,
        "--out",
        letters.to_str().unwrap(),
    ]);
    assert!(out.contains("1 letters written"), "{out}");
    assert!(out.contains("no postal address"), "{out}");
    let text = pdf_text(&letters);
    assert!(text.contains("Dear Cy Diaz"), "{text}");
    assert!(!text.contains("Ann Lee"), "{text}");

    let report = ws.data.join("../report.pdf");
    ws.ok(&["incident", "report", id, "--pdf", report.to_str().unwrap()]);
    let text = pdf_text(&report);
    assert!(text.contains("Exposure report"), "{text}");
    assert!(text.contains("payment card number: 1"), "{text}");
    assert!(text.contains("letter: 1"), "{text}");

    // Bounces: not a report, then Ann's.
    let junk = ws.write("junk.eml", b"Subject: hi\r\n\r\nhello\r\n");
    let err = ws.fails(&["incident", "bounce", junk.to_str().unwrap()]);
    assert!(err.contains("not a delivery status notification"), "{err}");
    let ann = received
        .iter()
        .find(|m| m.to[0] == "ann@example.net")
        .unwrap();
    let mid = ann.header("Message-ID").unwrap();
    let dsn = format!(
        "Content-Type: multipart/report; report-type=delivery-status; boundary=zz\r\n\r\n\
         --zz\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
         Final-Recipient: rfc822; ann@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n\
         --zz\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {mid}\r\n\r\n--zz--\r\n"
    );
    let dsn = ws.write("bounce.eml", dsn.as_bytes());
    let out = ws.ok(&["incident", "bounce", dsn.to_str().unwrap()]);
    assert!(out.contains("bounced (status 5.2.2)"), "{out}");
    let listed = ws.ok(&["incident", "notices", id]);
    assert!(listed.contains("bounced"), "{listed}");
    assert!(!listed.contains("ann@"), "{listed}");
    let out = ws.ok(&[
        "incident",
        "letters",
        id,
        "--out",
        letters.to_str().unwrap(),
    ]);
    assert!(
        out.contains("2 letters written") && out.contains("1 bounced"),
        "{out}"
    );
    assert!(pdf_text(&letters).contains("Dear Ann Lee"));

    // Opening from a delivery or a honey record: bad input, clear errors.
    let err = ws.fails(&["incident", "open", "--delivery", "nope", "--reason", "x"]);
    assert!(err.contains("is not a delivery id"), "{err}");
    ws.fails(&[
        "incident",
        "open",
        "--delivery",
        "nope",
        "--person",
        "a@b.c",
        "--reason",
        "x",
    ]);
    let err = ws.fails(&["incident", "honey", "nobody", "--reason", "x"]);
    assert!(err.contains("not an e-mail address"), "{err}");
    let err = ws.fails(&["incident", "honey", "stranger@example.org", "--reason", "x"]);
    assert!(err.contains("no honey record"), "{err}");
    assert_eq!(
        ws.json(&["incident", "list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // An incident about the record set: everyone's accesses to it.
    let since = (OffsetDateTime::now_utc() - Duration::days(1))
        .date()
        .to_string();
    ws.fails(&[
        "incident",
        "open",
        "--item",
        "customers",
        "--since",
        &since,
        "--reason",
        "x",
        "--offboard",
    ]);
    let item = ws.json(&[
        "incident",
        "open",
        "--item",
        "customers",
        "--since",
        &since,
        "--reason",
        "The customer list was found on a forum.",
        "--format",
        "json",
    ]);
    assert_eq!(item["item"], "record set customers", "{item}");
    assert_eq!(item["summary"]["customers"], 3, "{item}");
    assert!(item["person"].is_null());
}

/// kill -9 of `incident notices --send` while the SMTP server holds the
/// first notice without answering: after a restart, the notice the
/// killed sender handed over is held as uncertain (not sent again), the
/// others are sent, and every customer has exactly one copy.
#[test]
fn kill_9_while_sending_never_sends_twice() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ws = prepared(&rt);
    let since = (OffsetDateTime::now_utc() - Duration::days(1))
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
        "A laptop was stolen.",
        "--format",
        "json",
    ]);
    let id = opened["id"].as_str().unwrap().to_owned();
    let sink = rt.block_on(Sink::start(0));
    sink.set_stall(true);
    let smtp_env = |cmd: &mut std::process::Command| {
        cmd.env_remove("CONFIDANT_PASSPHRASE")
            .env("CONFIDANT_DATA", &ws.data)
            .env("CONFIDANT_KEY_FILE", &ws.key)
            .env("CONFIDANT_SMTP_HOST", "127.0.0.1")
            .env("CONFIDANT_SMTP_PORT", sink.port.to_string())
            .env("CONFIDANT_SMTP_SECURITY", "plain")
            .env("CONFIDANT_SMTP_FROM", "Privacy <privacy@business.example>");
    };
    let mut sender = std::process::Command::new(assert_cmd::cargo::cargo_bin("confidant"));
    smtp_env(&mut sender);
    let mut child = sender
        .args(["incident", "notices", &id, "--send"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while sink.received().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sender never sent"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SIGKILL: the server has the message, the sender never heard back.
    child.kill().unwrap();
    child.wait().unwrap();
    sink.set_stall(false);
    let status = ws.json(&["incident", "notices", &id, "--format", "json"]);
    let states: Vec<&str> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "sending").count(),
        1,
        "{status}"
    );

    // Restarted after the lease.
    let mut again = std::process::Command::new(assert_cmd::cargo::cargo_bin("confidant"));
    smtp_env(&mut again);
    let out = again
        .args([
            "incident",
            "notices",
            &id,
            "--send",
            "--lease-seconds",
            "0",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sent"], 1, "{report}");
    assert_eq!(report["uncertain"], 1, "{report}");
    let received = sink.received();
    assert_eq!(received.len(), 2, "one copy each");
    let mut to: Vec<_> = received.iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    assert_eq!(to, ["ann@example.net", "bo@example.net"]);
    let status = ws.json(&["incident", "notices", &id, "--format", "json"]);
    let mut states: Vec<&str> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    states.sort();
    assert_eq!(states, ["sent", "uncertain"]);
}
