//! The web UI end to end, in a real browser: headless Debian chromium driven
//! through chromedriver (WebDriver, with fantoccini) against a real
//! `confidant serve` process on a fresh data dir.
//!
//! The owner signs in and enrolls an authenticator, invites Alex on the
//! people page; Alex, in a second browser with its own cookies, accepts the
//! invitation (password and authenticator, the test playing the app with
//! the secret the page shows), sees the recovery codes, signs out, signs in
//! again (a replayed code is refused, the next step's code works); the owner
//! offboards Alex with `confidant people offboard` and Alex's very next page
//! load lands on the sign-in page.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`cargo xtask test`
//! installs them). Without them the test fails with the install hint, except
//! outside CI with `CONFIDANT_SKIP_BROWSER=1`, where it says SKIPPED.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::{Client, ClientBuilder, Locator};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;
use tempfile::TempDir;

use crate::util::{OWNER_PASSWORD, Workspace};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Set to `1` to skip this test on a machine without chromium (ignored, and
/// chromium required, in CI).
const SKIP_VAR: &str = "CONFIDANT_SKIP_BROWSER";
const INSTALL_HINT: &str = "install them with `apt-get install -y --no-install-recommends \
                            chromium chromium-driver`, or run `cargo xtask test`, which does";

const ALEX_EMAIL: &str = "alex@example.com";
const ALEX_NAME: &str = "Alex Doe";
const ALEX_PASSWORD: &str = "violet lantern harbour quartz 1987";
/// How long a page may take to show what a step expects.
const PAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// The TOTP time step (RFC 6238 default, what confidant uses).
const TOTP_STEP_SECS: u64 = 30;

/// What to do when chromium or chromedriver is missing.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Run,
    Skip,
    Fail,
}

fn plan(installed: bool, skip: Option<&str>, ci: Option<&str>) -> Plan {
    let in_ci = ci.is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    match (installed, skip) {
        (true, _) => Plan::Run,
        (false, _) if in_ci => Plan::Fail,
        (false, Some("1")) => Plan::Skip,
        (false, _) => Plan::Fail,
    }
}

/// Whether the test can run here; panics (CI, or skipping not asked for)
/// or says SKIPPED when chromium or chromedriver is missing.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).is_file())
        .collect();
    let env = |name| std::env::var(name).ok();
    match plan(
        missing.is_empty(),
        env(SKIP_VAR).as_deref(),
        env("CI").as_deref(),
    ) {
        Plan::Run => true,
        Plan::Skip => {
            eprintln!(
                "SKIPPED: the browser end-to-end test ({SKIP_VAR}=1): not found: {}; {INSTALL_HINT}",
                missing.join(", ")
            );
            false
        }
        Plan::Fail => panic!(
            "the browser end-to-end test needs Debian's chromium and chromium-driver; not found: \
             {}. {INSTALL_HINT} (or set {SKIP_VAR}=1 to skip it outside CI)",
            missing.join(", ")
        ),
    }
}

#[test]
fn skipping_is_asked_for_and_never_in_ci() {
    assert_eq!(plan(true, None, None), Plan::Run);
    assert_eq!(plan(true, Some("1"), Some("true")), Plan::Run);
    assert_eq!(plan(false, None, None), Plan::Fail);
    assert_eq!(plan(false, Some("1"), None), Plan::Skip);
    assert_eq!(plan(false, Some("0"), None), Plan::Fail);
    assert_eq!(plan(false, Some("1"), Some("true")), Plan::Fail);
    assert_eq!(plan(false, Some("1"), Some("1")), Plan::Fail);
    assert_eq!(plan(false, Some("1"), Some("false")), Plan::Skip);
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A child process killed when dropped (with every process of its group
/// when it leads one), also when the test panics; its log is shown then.
struct Killed {
    what: &'static str,
    child: Child,
    group: bool,
    log: std::path::PathBuf,
}

impl Drop for Killed {
    fn drop(&mut self) {
        if self.group {
            // chromedriver leads its own group, and the chromium processes
            // it starts stay in it: none outlives the test.
            if let Ok(pid) = i32::try_from(self.child.id()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- the end of {}'s log ({}):\n{}",
                self.what,
                self.log.display(),
                tail(&self.log)
            );
        }
    }
}

/// `confidant serve` on a free port of 127.0.0.1; returns the guard and its
/// base URL.
fn serve(ws: &Workspace) -> (Killed, String) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log = ws.path("serve.log");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("confidant"))
        .args(["serve", "--port", &port.to_string(), "--public-url", &url])
        .env("CONFIDANT_DATA", &ws.data)
        .env("CONFIDANT_KEY_FILE", &ws.key)
        .env_remove("CONFIDANT_PASSPHRASE")
        .env_remove("CONFIDANT_DATABASE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("create the serve log"))
        .spawn()
        .expect("start confidant serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let guard = Killed {
        what: "confidant serve",
        child,
        group: false,
        log,
    };
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read serve's output");
    assert!(
        line.contains(&format!("at {url}/")),
        "confidant serve did not start: {line:?}\n{}",
        tail(&guard.log)
    );
    // Keep draining stdout so that the server never blocks on it.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = stdout.read_to_end(&mut sink);
    });
    (guard, url)
}

/// chromedriver on a free port, in its own process group; returns the
/// guard and its URL once it accepts connections.
fn chromedriver(temp: &Path) -> (Killed, String) {
    let port = free_port();
    let log = temp.join("chromedriver.log");
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(File::create(&log).expect("create the chromedriver log"))
        .stderr(Stdio::from(
            File::options()
                .append(true)
                .open(&log)
                .expect("open the chromedriver log"),
        ))
        .process_group(0)
        .spawn()
        .expect("start chromedriver");
    let guard = Killed {
        what: "chromedriver",
        child,
        group: true,
        log,
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen on port {port}:\n{}",
            tail(&guard.log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, format!("http://127.0.0.1:{port}"))
}

/// The seconds since the epoch, with the fraction.
fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
}

/// Plays the authenticator app: the code for `secret` now, and its step.
fn totp_now(secret: &str) -> (String, u64) {
    let now = time::OffsetDateTime::now_utc();
    let step = u64::try_from(now.unix_timestamp()).expect("after 1970") / TOTP_STEP_SECS;
    let code = confidant_vault::code_at(secret, now).expect("a code for the page's secret");
    (code, step)
}

/// Sleeps until the TOTP step after `step` has begun (a code is accepted
/// once per person, so a new sign-in needs a later step).
async fn wait_for_step_after(step: u64) {
    let next = ((step + 1) * TOTP_STEP_SECS) as f64;
    let wait = next - now_secs();
    if wait > 0.0 {
        eprintln!("browser test: waiting {wait:.1} s for the next TOTP step");
        // A little past the boundary: the server reads the same clock.
        tokio::time::sleep(Duration::from_secs_f64(wait + 0.05)).await;
    }
}

/// One browser: a chromium with its own profile (so its own cookies).
struct Browser {
    who: &'static str,
    client: Client,
    base: String,
    _profile: TempDir,
}

impl Browser {
    async fn open(who: &'static str, driver: &str, base: &str) -> Browser {
        let profile = TempDir::new().expect("a chromium profile dir");
        let mut options = serde_json::Map::new();
        options.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::rustls()
            .expect("a WebDriver client")
            .capabilities(options)
            .connect(driver)
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start chromium for {who}: {e}"));
        Browser {
            who,
            client,
            base: base.to_owned(),
            _profile: profile,
        }
    }

    async fn close(self) {
        self.client
            .close()
            .await
            .unwrap_or_else(|e| panic!("closing {}'s browser: {e}", self.who));
    }

    async fn goto(&self, path_or_url: &str) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("{} could not open {url}: {e}", self.who));
    }

    async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("{}'s URL: {e}", self.who))
            .path()
            .to_owned()
    }

    /// The visible text of the page.
    async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page is at `path` and shows every one of `texts`;
    /// returns the page's text.
    async fn expect(&self, path: &str, texts: &[&str]) -> String {
        let started = Instant::now();
        loop {
            let (at, text) = (self.path().await, self.text().await);
            if at == path && texts.iter().all(|t| text.contains(t)) {
                return text;
            }
            if started.elapsed() > PAGE_TIMEOUT {
                panic!(
                    "{} expected {path} showing {texts:?}, but is at {at} showing:\n{text}",
                    self.who
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the page's alert (an error shown to the person) and
    /// returns its text.
    async fn alert(&self) -> String {
        let started = Instant::now();
        loop {
            if let Ok(alert) = self.client.find(Locator::Css("[role=alert]")).await
                && let Ok(text) = alert.text().await
            {
                return text;
            }
            if started.elapsed() > PAGE_TIMEOUT {
                panic!(
                    "{} expected an error at {}, but the page shows:\n{}",
                    self.who,
                    self.path().await,
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| {
                panic!("{}: no `{css}` on this page: {e}", self.who);
            })
    }

    async fn type_into(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("{}: clearing `{css}`: {e}", self.who));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("{}: typing into `{css}`: {e}", self.who));
    }

    /// Picks the option with `value` in the `<select>` at `css`.
    async fn choose(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{}: choosing {value} in `{css}`: {e}", self.who));
    }

    /// Puts the local file `path` into the file input at `css`.
    async fn attach(&self, css: &str, path: &Path) {
        let path = path.to_str().expect("a UTF-8 path");
        self.find(css)
            .await
            .send_keys(path)
            .await
            .unwrap_or_else(|e| panic!("{}: attaching {path} to `{css}`: {e}", self.who));
    }

    /// Waits until the page has left `path` (a form was submitted and
    /// answered); returns where it is now.
    async fn left(&self, path: &str) -> String {
        let started = Instant::now();
        loop {
            let at = self.path().await;
            if at != path {
                return at;
            }
            if started.elapsed() > PAGE_TIMEOUT {
                panic!(
                    "{} is still at {path}, showing:\n{}",
                    self.who,
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("{}: clicking `{css}`: {e}", self.who));
    }

    async fn secret_shown(&self) -> String {
        let secret = self
            .find("#totp-secret")
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("{}: the secret's text: {e}", self.who));
        assert!(
            secret.trim().len() >= 26,
            "{}: a TOTP secret of at least 128 bits is shown, got {secret:?}",
            self.who
        );
        secret.trim().to_owned()
    }

    /// Signs in with a password on /login (as a person would type it).
    async fn sign_in(&self, email: &str, password: &str) {
        self.goto("/login").await;
        self.expect("/login", &["Sign in", "E-mail address", "Password"])
            .await;
        self.type_into("#email", email).await;
        self.type_into("#password", password).await;
        self.click("form[action='/login'] button[type=submit]")
            .await;
    }

    async fn sign_out(&self) {
        self.click("form[action='/logout'] button[type=submit]")
            .await;
    }
}

fn people_status(ws: &Workspace, email: &str) -> String {
    let people = ws.json(&["people", "list", "--format", "json"]);
    let person = people
        .as_array()
        .expect("a list of people")
        .iter()
        .find(|p| p["email"] == email)
        .unwrap_or_else(|| panic!("{email} is not in {people}"));
    person["status"].as_str().expect("a status").to_owned()
}

#[test]
fn invite_join_sign_in_sign_out_and_offboard_in_a_browser() {
    if !browser_available() {
        return;
    }
    let started = Instant::now();
    let ws = Workspace::new();
    // Declared first, dropped last: chromedriver and its browsers go first.
    let (_server, base) = serve(&ws);
    let (_driver, driver_url) = chromedriver(ws.temp.path());
    eprintln!(
        "browser test: set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(journey(&ws, &base, &driver_url));
    eprintln!(
        "browser test: the whole journey took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn journey(ws: &Workspace, base: &str, driver: &str) {
    // Both browsers start together (chromium's start-up is the slow part).
    let (owner, alex) = tokio::join!(
        Browser::open("the owner", driver, base),
        Browser::open("Alex", driver, base)
    );

    // The owner signs in; with no second factor yet, every page leads to
    // setting one up.
    owner.sign_in("owner@example.com", OWNER_PASSWORD).await;
    owner
        .expect("/account/second-factor", &["Set up your authenticator app"])
        .await;
    owner.goto("/people").await;
    owner
        .expect("/account/second-factor", &["Set up your authenticator app"])
        .await;
    let secret = owner.secret_shown().await;
    let (code, _) = totp_now(&secret);
    owner.type_into("#code", &code).await;
    owner
        .click("form[action='/account/second-factor'] button[type=submit]")
        .await;
    let text = owner
        .expect(
            "/account/second-factor",
            &[
                "Your authenticator app is set up",
                "Save your recovery codes",
            ],
        )
        .await;
    let codes = owner
        .client
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .expect("codes");
    assert_eq!(codes.len(), 10, "the owner gets 10 recovery codes:\n{text}");
    owner.click("a[href='/']").await;
    owner
        .expect(
            "/",
            &["Signed in as Olivia Owner", "Documents", "Record sets"],
        )
        .await;

    // The owner invites Alex on the people page.
    owner.click("nav a[href='/people']").await;
    owner.expect("/people", &["People", "Invite someone"]).await;
    owner.type_into("#invite-email", ALEX_EMAIL).await;
    owner.type_into("#invite-name", ALEX_NAME).await;
    owner
        .find("#invite-role")
        .await
        .select_by_value("assistant")
        .await
        .expect("select the assistant role");
    owner
        .click("form[action='/people'] button[type=submit]")
        .await;
    owner
        .expect("/people", &["Alex Doe is invited", ALEX_EMAIL, "assistant"])
        .await;
    let link = owner
        .find("#invite-link")
        .await
        .prop("value")
        .await
        .expect("the link's value")
        .expect("a link");
    assert!(
        link.starts_with(&format!("{base}/join/cfd_")),
        "the invitation link is on the public URL: {link}"
    );
    assert_eq!(people_status(ws, ALEX_EMAIL), "invited");

    // Alex, in another browser, accepts: a password and the authenticator
    // (the test reads the key the page shows, as one types it into an app).
    alex.goto(&link).await;
    let path = alex.path().await;
    assert!(path.starts_with("/join/"), "{path}");
    alex.expect(
        &path,
        &[
            "Join",
            "Olivia Owner invited Alex Doe (alex@example.com)",
            "Choose a password",
            "Set up your authenticator app",
        ],
    )
    .await;
    let qr = alex.find(".qr svg").await;
    assert!(
        qr.is_displayed().await.expect("visibility"),
        "a QR code is shown"
    );
    let alex_secret = alex.secret_shown().await;
    assert_ne!(alex_secret, secret, "every person gets their own secret");
    alex.type_into("#password", ALEX_PASSWORD).await;
    alex.type_into("#password_again", ALEX_PASSWORD).await;
    let (code, joined_step) = totp_now(&alex_secret);
    alex.type_into("#code", &code).await;
    alex.click("form[action^='/join/'] button[type=submit]")
        .await;
    let text = alex
        .expect(
            &path,
            &["Welcome: you are signed in", "Save your recovery codes"],
        )
        .await;
    let codes = alex
        .client
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .expect("codes");
    assert_eq!(codes.len(), 10, "Alex gets 10 recovery codes:\n{text}");
    alex.click("a[href='/']").await;
    let home = alex
        .expect(
            "/",
            &[
                "Signed in as Alex Doe (alex@example.com), assistant",
                "My work",
            ],
        )
        .await;
    assert!(
        !home.contains("Record sets"),
        "an assistant sees no data:\n{home}"
    );
    assert!(
        alex.client
            .find(Locator::Css("nav a[href='/people']"))
            .await
            .is_err(),
        "an assistant has no People page in the menu"
    );
    assert_eq!(people_status(ws, ALEX_EMAIL), "active");

    // The invitation link worked once.
    alex.goto(&link).await;
    let replayed = alex
        .expect(&path, &["invitation link is not valid", "used already"])
        .await;
    assert!(
        !replayed.contains("Choose a password"),
        "a used invitation link shows no form again:\n{replayed}"
    );

    // Alex signs out and back in.
    alex.goto("/").await;
    alex.expect("/", &["My work"]).await;
    alex.sign_out().await;
    alex.expect("/login", &["Sign in"]).await;
    alex.goto("/").await;
    alex.expect("/login", &["Sign in"]).await;
    alex.sign_in(ALEX_EMAIL, ALEX_PASSWORD).await;
    alex.expect("/login/code", &["Enter your code"]).await;
    // The code used to join is refused a second time ...
    alex.type_into("#code", &code).await;
    alex.click("form[action='/login/code'] button[type=submit]")
        .await;
    let error = alex.alert().await;
    assert!(error.contains("was used already"), "{error}");
    alex.expect("/login/code", &["Enter your code"]).await;
    // ... and the app's next code works.
    wait_for_step_after(joined_step).await;
    let (code, _) = totp_now(&alex_secret);
    alex.type_into("#code", &code).await;
    alex.click("form[action='/login/code'] button[type=submit]")
        .await;
    alex.expect("/", &["Signed in as Alex Doe", "My work"])
        .await;

    // The owner grants Alex a Confidential document at the console; Alex
    // signs the NDA, acknowledges the handbook, enters today's passcode and
    // opens it, all in the browser.
    // The owner uploads the document in the browser, choosing its label.
    let q3 = ws.temp.path().join("q3.txt");
    std::fs::write(&q3, "Q3 invoices: 42 paid, 3 open\n").expect("write q3.txt");
    owner.goto("/").await;
    owner.click("a.button[href='/add']").await;
    owner
        .expect("/add", &["Upload a document", "Import a record set"])
        .await;
    owner.attach("#doc-file", &q3).await;
    owner.choose("#doc-label", "confidential").await;
    owner
        .click("form[action='/documents'] button[type=submit]")
        .await;
    let at = owner.left("/add").await;
    assert!(
        at.starts_with("/documents/") && at.ends_with("/view"),
        "the upload leads to the document's page, not {at}"
    );
    owner.expect(&at, &["q3.txt", "confidential"]).await;

    // ... and imports a customer list: the columns' suggested categories
    // are shown first; the owner changes one and imports.
    let csv = ws.temp.path().join("customers.csv");
    std::fs::write(
        &csv,
        "name,email,card,notes\n\
         Ann Lee,ann@example.com,4111 1111 1111 1111,called Monday\n\
         Tom Berg,tom@example.com,5555-5555-5555-4444,prefers e-mail\n\
         Li Wei,li@example.com,378282246310005,new\n",
    )
    .expect("write customers.csv");
    owner.goto("/add").await;
    owner.attach("#set-file", &csv).await;
    owner
        .click("form[action='/records/import'] button[type=submit]")
        .await;
    let confirm = owner.left("/add").await;
    owner
        .expect(
            &confirm,
            &[
                "Import customers.csv",
                "column 3 (card): card_number, 100% of 3 values valid",
            ],
        )
        .await;
    assert_eq!(
        owner
            .find("#category-3")
            .await
            .prop("value")
            .await
            .expect("the card column's category"),
        Some("card_number".to_owned()),
        "the suggestion is preselected"
    );
    owner.choose("#category-4", "free_text").await;
    owner.click("#confirm button[type=submit]").await;
    owner
        .expect("/records/customers", &["Ann Lee", "Li Wei"])
        .await;
    let sets = ws.json(&["records", "list", "--format", "json"]);
    let categories: Vec<&str> = sets[0]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["category"].as_str())
        .collect();
    assert_eq!(categories, ["name", "email", "card_number", "free_text"]);
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(7))
        .date()
        .to_string();
    ws.ok(&[
        "grant",
        ALEX_EMAIL,
        "--document",
        "q3.txt",
        "--actions",
        "view,download",
        "--purpose",
        "bookkeeping",
        "--until",
        &until,
    ]);
    alex.goto("/documents/q3.txt").await;
    alex.expect(
        "/documents/q3.txt",
        &[
            "One more step",
            "Sign the current confidentiality agreement",
        ],
    )
    .await;
    alex.click("a.button[href='/agreements']").await;
    alex.expect(
        "/agreements",
        &["CONFIDENTIALITY AGREEMENT", "CONFIDENTIALITY HANDBOOK"],
    )
    .await;
    for kind in ["nda", "handbook"] {
        alex.type_into(&format!("#name-{kind}"), ALEX_NAME).await;
        alex.click(&format!("#agreement-{kind} input[name=consent]"))
            .await;
        alex.click(&format!("#agreement-{kind} button[type=submit]"))
            .await;
        alex.expect("/agreements", &["Agreements"]).await;
    }
    let signed = alex
        .expect("/agreements", &["Signed: done", "Acknowledged: done"])
        .await;
    assert!(!signed.contains("Type your full name"), "{signed}");
    let grants: serde_json::Value = serde_json::from_str(
        &ws.ok(&["grants", "list", "--person", ALEX_EMAIL, "--format", "json"]),
    )
    .expect("grants as JSON");
    let grant = grants[0]["id"].as_str().expect("a grant id").to_owned();
    let issued: serde_json::Value =
        serde_json::from_str(&ws.ok(&["passcodes", "issue", &grant, "--format", "json"]))
            .expect("the passcode as JSON");
    let passcode = issued[0]["passcode"]
        .as_str()
        .expect("a passcode")
        .to_owned();
    alex.goto("/documents/q3.txt").await;
    alex.expect(
        "/documents/q3.txt",
        &["One more step", "Today's passcode", "Open My devices"],
    )
    .await;
    // Alex's computer: enrolled with a code the owner made at the console,
    // reporting a passing posture (the agent's own signing code; the real
    // checks on real rulesets are in devices.rs), and this browser linked
    // to it from the Devices page.
    let device = enroll_device(ws, base).await;
    alex.click("#open-devices").await;
    alex.expect("/devices", &["not linked to an enrolled device"])
        .await;
    alex.click("#get-link-code").await;
    alex.expect("/devices/link-code", &["confidant agent link"])
        .await;
    let command = alex
        .find("#link-command")
        .await
        .text()
        .await
        .expect("the link command");
    let code = command.split_whitespace().last().expect("a code");
    let linked = reqwest::Client::new()
        .post(format!("{base}/api/v1/devices/link"))
        .json(&device.link_request(code))
        .send()
        .await
        .expect("link");
    assert_eq!(linked.status(), 200);
    alex.goto("/devices").await;
    alex.expect("/devices", &["This session is linked", "alex-laptop"])
        .await;
    alex.goto("/documents/q3.txt").await;
    alex.expect("/documents/q3.txt", &["One more step", "Today's passcode"])
        .await;
    alex.type_into("#passcode", &passcode).await;
    // The right passcode redirects to the document, which the browser
    // downloads (the page's CSP allows no script to read it back): the
    // access record shows the passcode used and the document served to
    // Alex's session.
    alex.click("form[action='/passcode'] button[type=submit]")
        .await;
    let mut served = false;
    for _ in 0..50 {
        let log: serde_json::Value = serde_json::from_str(
            &ws.ok(&["audit", "log", "--person", ALEX_EMAIL, "--format", "json"]),
        )
        .expect("the log as JSON");
        let entries = log.as_array().expect("a list of entries");
        let allowed = |action: &str| {
            entries
                .iter()
                .any(|e| e["action"] == action && e["decision"] == "allow")
        };
        if allowed("passcode_use") && (allowed("download") || allowed("view")) {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        served,
        "Alex's browser was served the document after the passcode"
    );

    // The owner sees Alex active, with a session.
    owner.goto("/people").await;
    owner.expect("/people", &[ALEX_NAME, "active"]).await;
    // Alex's page, by the link with their name.
    owner
        .client
        .find(Locator::LinkText(ALEX_NAME))
        .await
        .expect("a link to Alex's page")
        .click()
        .await
        .expect("open Alex's page");
    let alex_page = owner.path().await;
    owner
        .expect(
            &alex_page,
            &["Alex Doe", ALEX_EMAIL, "assistant", "Offboard Alex Doe"],
        )
        .await;
    let status = owner
        .find("#person-status")
        .await
        .text()
        .await
        .expect("status text");
    assert_eq!(status, "active");

    // The owner offboards Alex at the console; it takes effect on Alex's
    // very next request.
    let out = ws.ok(&[
        "people",
        "offboard",
        ALEX_EMAIL,
        "--reason",
        "left the agency",
    ]);
    assert!(
        out.contains("offboarded Alex Doe <alex@example.com>: 1 sessions and tokens ended"),
        "{out}"
    );
    alex.goto("/").await;
    alex.expect("/login", &["Sign in"]).await;
    // And Alex cannot sign in again.
    alex.sign_in(ALEX_EMAIL, ALEX_PASSWORD).await;
    let error = alex.alert().await;
    assert!(
        error.contains("e-mail address or password is wrong"),
        "an offboarded person's sign-in is refused like any wrong password: {error}"
    );
    alex.expect("/login", &["Sign in"]).await;
    assert_eq!(people_status(ws, ALEX_EMAIL), "offboarded");

    owner.goto(&alex_page).await;
    owner
        .expect(&alex_page, &["Offboarded", "left the agency"])
        .await;
    let status = owner
        .find("#person-status")
        .await
        .text()
        .await
        .expect("status text");
    assert_eq!(status, "offboarded");

    tokio::join!(owner.close(), alex.close());
}

/// Enrolls a device for Alex with a code from `confidant devices enroll`
/// and sends a passing, signed report, as `confidant agent` would.
async fn enroll_device(ws: &Workspace, base: &str) -> confidant_agent::identity::DeviceIdentity {
    let code: serde_json::Value =
        serde_json::from_str(&ws.ok(&["devices", "enroll", ALEX_EMAIL, "--format", "json"]))
            .expect("the code as JSON");
    let code = code["code"].as_str().expect("a code");
    let mut device =
        confidant_agent::identity::DeviceIdentity::generate(base, &mut rand_core::OsRng);
    let http = reqwest::Client::new();
    let enrolled: confidant_protocol::device::EnrolledDevice = http
        .post(format!("{base}/api/v1/devices/enroll"))
        .json(&device.enroll_request(code, "alex-laptop", "linux"))
        .send()
        .await
        .expect("enroll")
        .json()
        .await
        .expect("the enrolled device");
    device.device = enrolled.device;
    let now = time::OffsetDateTime::now_utc();
    let report = confidant_testkit::posture::report(now, confidant_testkit::posture::PASS);
    let signed = device.sign_report(&report, now).expect("sign");
    let answer = http
        .post(format!("{base}/api/v1/devices/report"))
        .json(&signed)
        .send()
        .await
        .expect("report");
    assert_eq!(answer.status(), 200);
    device
}
