//! The device gate end to end, with every part real: `confidant serve`, the
//! assistant's `confidant login`, `agent enroll`, `agent report` and
//! `open` all run inside a network namespace made by the test, whose
//! nftables ruleset the agent reads. With no firewall the assistant is
//! refused the Confidential document with the reason; after the test loads
//! a drop-by-default ruleset and the agent reports again, it opens.
//!
//! Needs root, `ip` and `nft` (`cargo xtask test` installs them); outside
//! CI, `CONFIDANT_SKIP_NETNS=1` skips it with a message.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use confidant_core::{Access, Role};
use confidant_vault::{
    DocRef, GrantRequest, GrantTarget, KeyFile, SessionRequest, Signing, SystemClock, Unlock,
    Vault, code_at,
};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::util::Workspace;

const PASSWORD: &str = "velvet lantern orbit mosaic";

/// A namespace deleted on drop.
struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The namespace, or `None` when skipping was asked for (never in CI).
fn namespace() -> Option<Namespace> {
    let why = if !is_root() {
        "the device end-to-end test needs root".to_owned()
    } else if !has("ip") || !has("nft") {
        "the device end-to-end test needs ip and nft (apt-get install iproute2 nftables)".to_owned()
    } else {
        let name = format!("confidant-e2e-{}", std::process::id());
        let made = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        if made {
            let ns = Namespace(name);
            let up = Command::new("ip")
                .args(["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(up, "cannot bring up lo in {}", ns.0);
            return Some(ns);
        }
        "could not make a network namespace".to_owned()
    };
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    if !in_ci && std::env::var("CONFIDANT_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("SKIPPED: device end-to-end test (CONFIDANT_SKIP_NETNS=1): {why}");
        return None;
    }
    panic!("{why}; run `cargo xtask test`, or set CONFIDANT_SKIP_NETNS=1 outside CI");
}

/// Alex, invited, joined, agreements signed, granted the document; returns
/// a recovery code (to sign in with) and today's passcode.
async fn prepare(ws: &Workspace) -> (String, String) {
    let store = confidant_store::connect(&format!(
        "sqlite://{}",
        ws.data.join("confidant.db").display()
    ))
    .await
    .unwrap();
    let blobs = confidant_store::BlobStore::local(&ws.data.join("blobs")).unwrap();
    let key = std::fs::read_to_string(&ws.key).unwrap();
    let unlock = Unlock::KeyFile(KeyFile::parse(&key).unwrap());
    let vault = Vault::open(store, blobs, Arc::new(SystemClock), &unlock)
        .await
        .unwrap();
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
    let welcome = vault
        .accept_invitation(
            &invitation.token,
            &SecretString::from(PASSWORD),
            &secret,
            &code_at(&secret, OffsetDateTime::now_utc()).unwrap(),
            None,
            &SessionRequest::web("test"),
        )
        .await
        .unwrap();
    let alex = welcome.session.actor.clone();
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
    let grant = vault
        .grant(
            &owner,
            "alex@example.com",
            &GrantRequest {
                target: GrantTarget::Document(DocRef::Name("invoices.txt".into())),
                actions: [Access::View, Access::Download].into_iter().collect(),
                purpose: "reconcile the Q3 invoices".into(),
                until: OffsetDateTime::now_utc() + Duration::days(7),
                require_passcode: false,
            },
        )
        .await
        .unwrap()
        .grant
        .id;
    let passcode = vault.issue_passcode(&owner, grant, None).await.unwrap();
    (
        welcome.recovery_codes[0].expose_secret().to_owned(),
        passcode.passcode.expose_secret().to_owned(),
    )
}

/// `confidant ARGS` inside the namespace, as Alex (their own config dir).
fn as_alex(ws: &Workspace, ns: &Namespace, args: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(assert_cmd::cargo::cargo_bin("confidant"))
        .args(args)
        .env("CONFIDANT_CONFIG_DIR", ws.path("alex-config"))
        .env_remove("CONFIDANT_DATA")
        .env_remove("CONFIDANT_KEY_FILE")
        .output()
        .expect("runs")
}

fn out(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Input dropped unless it belongs to a connection or comes over loopback:
/// a firewall that is on.
const FIREWALL_ON: &str = "table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    iif \"lo\" accept
    ct state established,related accept
  }
}
";

#[test]
fn a_failing_device_is_refused_until_its_firewall_is_on() {
    let Some(ns) = namespace() else {
        return;
    };
    let ws = Workspace::new();
    let doc = ws.write("invoices.txt", b"Q3 invoices: 4 paid, 1 open\n");
    ws.ok(&[
        "docs",
        "add",
        doc.to_str().unwrap(),
        "--label",
        "confidential",
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (recovery, passcode) = rt.block_on(prepare(&ws));

    // The server, inside the namespace.
    let url = "http://127.0.0.1:18443";
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(assert_cmd::cargo::cargo_bin("confidant"))
        .args(["serve", "--port", "18443"])
        .env("CONFIDANT_DATA", &ws.data)
        .env("CONFIDANT_KEY_FILE", &ws.key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start confidant serve");
    let stdout = child.stdout.take().unwrap();
    let _server = Killed(child);
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("at http://127.0.0.1:18443/"), "{line:?}");
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = stdout.read_to_end(&mut sink);
    });

    // Alex signs in on their computer (the namespace).
    let login = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(assert_cmd::cargo::cargo_bin("confidant"))
        .args(["login", url, "--email", "alex@example.com"])
        .env("CONFIDANT_CONFIG_DIR", ws.path("alex-config"))
        .env("CONFIDANT_PASSWORD", PASSWORD)
        .env("CONFIDANT_CODE", &recovery)
        .output()
        .unwrap();
    assert!(login.status.success(), "{}", out(&login));

    // Without a device: refused, told to enroll or link one.
    let refused = as_alex(&ws, &ns, &["open", "invoices.txt", "--passcode", &passcode]);
    assert!(!refused.status.success());
    assert!(out(&refused).contains("agent link"), "{}", out(&refused));

    // The owner makes an enrollment code; Alex enrolls with no firewall.
    let code = ws.json(&["devices", "enroll", "alex@example.com", "--format", "json"]);
    let code = code["code"].as_str().unwrap().to_owned();
    let enrolled = as_alex(&ws, &ns, &["agent", "enroll", url, &code]);
    let text = out(&enrolled);
    assert!(enrolled.status.success(), "{text}");
    assert!(text.contains("confidential: blocked"), "{text}");
    assert!(text.contains("firewall check says fail"), "{text}");
    assert!(text.contains("token is linked"), "{text}");
    // The code was for one device only.
    let again = as_alex(&ws, &ns, &["agent", "enroll", url, &code]);
    assert!(!again.status.success());
    assert!(out(&again).contains("used already"), "{}", out(&again));

    // Refused with the reason and the fix.
    let refused = as_alex(&ws, &ns, &["open", "invoices.txt", "--passcode", &passcode]);
    assert!(!refused.status.success());
    let text = out(&refused);
    assert!(text.contains("firewall check says fail"), "{text}");
    assert!(!text.contains("Q3 invoices: 4 paid"), "{text}");

    // The firewall on, a new report: it opens, stamped for Alex.
    let rules = ws.write("firewall.nft", FIREWALL_ON.as_bytes());
    let loaded = Command::new("ip")
        .args(["netns", "exec", &ns.0, "nft", "-f"])
        .arg(&rules)
        .status()
        .unwrap();
    assert!(loaded.success());
    let reported = as_alex(&ws, &ns, &["agent", "report"]);
    let text = out(&reported);
    assert!(reported.status.success(), "{text}");
    assert!(
        text.contains("confidential: this device may open such items"),
        "{text}"
    );
    let opened = as_alex(&ws, &ns, &["open", "invoices.txt", "--passcode", &passcode]);
    let text = out(&opened);
    assert!(opened.status.success(), "{text}");
    assert!(text.contains("invoices: 4 paid, 1 open"), "{text}");
    assert!(text.contains("CONFIDENTIAL"), "{text}");

    // The owner sees the device passing, and every step is in the ledger.
    let listed = ws.json(&["devices", "list", "--format", "json"]);
    assert_eq!(listed[0]["status"], "partial", "{listed}");
    let firewall = listed[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "firewall")
        .cloned()
        .unwrap();
    assert_eq!(firewall["status"], "pass", "{firewall}");
    let log = ws.ok(&["audit", "log", "--format", "json"]);
    for action in ["device_enroll", "device_report", "device_link"] {
        assert!(log.contains(action), "{action} missing from the ledger");
    }
    drop(ns);
}
