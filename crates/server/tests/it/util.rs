//! Shared helpers: a fresh workspace per test (with a clock the test
//! moves and an owner whose authenticator the test plays), a browser that
//! keeps cookies, and small request builders.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, header};
use confidant_core::Role;
use confidant_server::{ServerOptions, router};
use confidant_vault::{
    Clock, InitOptions, KdfParams, KeyFile, SessionRequest, Tenants, Unlock, Vault, code_at,
};
use rand_core::OsRng;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

pub const EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery staple";
pub const WORKSPACE: &str = "Acme Bookkeeping";
/// The second workspace of [`TestApp::with_two_workspaces`].
pub const OTHER_WORKSPACE: &str = "Beta Dental";
pub const OTHER_EMAIL: &str = "bea@beta.example";
pub const OTHER_PASSWORD: &str = "another owner passphrase";

/// A clock the test moves.
#[derive(Debug)]
pub struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    fn new() -> Result<Arc<TestClock>> {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
        Ok(Arc::new(TestClock(Mutex::new(now))))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// A person who can sign in: the test holds their password and plays their
/// authenticator app.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub password: String,
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// A workspace in a temporary directory and the router over it.
pub struct TestApp {
    pub router: Router,
    pub dir: TempDir,
    pub clock: Arc<TestClock>,
    /// The first workspace, as the server holds it.
    pub vault: Vault,
    pub owner: Member,
    /// The second workspace and its owner, when there is one.
    pub other: Option<(Vault, Member)>,
}

/// Enrolls `actor`'s authenticator through the vault; returns the secret
/// and the recovery codes.
async fn enroll(vault: &Vault, clock: &TestClock, email: &str) -> Result<(String, Vec<String>)> {
    let actor = vault.owner().await?;
    assert_eq!(actor.email, email);
    let setup = vault.new_totp_setup(email)?;
    let secret = setup.secret.expose_secret().to_owned();
    let code = code_at(&secret, clock.now())?;
    let codes = vault.enroll_second_factor(&actor, &secret, &code).await?;
    Ok((
        secret,
        codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
    ))
}

fn init_options(
    name: &str,
    email: &str,
    owner: &str,
    password: &str,
    key: &KeyFile,
) -> Result<InitOptions> {
    Ok(InitOptions {
        workspace_name: name.into(),
        owner_email: email.into(),
        owner_name: owner.into(),
        owner_password: SecretString::from(password),
        unlock: Unlock::KeyFile(KeyFile::parse(&key.to_text())?),
        kdf: KdfParams::default(),
    })
}

impl TestApp {
    pub async fn new() -> Result<TestApp> {
        TestApp::build(ServerOptions::default(), false).await
    }

    pub async fn with_options(options: ServerOptions) -> Result<TestApp> {
        TestApp::build(options, false).await
    }

    /// Two workspaces on one store and one server: [`WORKSPACE`] and
    /// [`OTHER_WORKSPACE`].
    pub async fn with_two_workspaces() -> Result<TestApp> {
        TestApp::build(ServerOptions::default(), true).await
    }

    async fn build(options: ServerOptions, two: bool) -> Result<TestApp> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("confidant.db").display());
        let store = confidant_store::connect(&url).await?;
        let blobs = confidant_store::BlobStore::local(&dir.path().join("blobs"))?;
        let clock = TestClock::new()?;
        let key = KeyFile::generate(&mut OsRng);
        let first = Vault::init(
            store.clone(),
            blobs.clone(),
            clock.clone(),
            init_options(WORKSPACE, EMAIL, "Olive Owner", PASSWORD, &key)?,
        )
        .await?;
        let (secret, codes) = enroll(&first, &clock, EMAIL).await?;
        let owner = Member {
            id: first.owner().await?.person.to_string(),
            email: EMAIL.into(),
            password: PASSWORD.into(),
            secret,
            recovery_codes: codes,
        };
        let (tenants, other) = if two {
            let beta = Vault::add_workspace(
                store.clone(),
                blobs.clone(),
                clock.clone(),
                init_options(
                    OTHER_WORKSPACE,
                    OTHER_EMAIL,
                    "Bea Beta",
                    OTHER_PASSWORD,
                    &key,
                )?,
            )
            .await?;
            let (secret, codes) = enroll(&beta, &clock, OTHER_EMAIL).await?;
            let beta_owner = Member {
                id: beta.owner().await?.person.to_string(),
                email: OTHER_EMAIL.into(),
                password: OTHER_PASSWORD.into(),
                secret,
                recovery_codes: codes,
            };
            let unlock = Unlock::KeyFile(KeyFile::parse(&key.to_text())?);
            let vaults = Vault::open_all(store, blobs, clock.clone(), &unlock).await?;
            assert_eq!(vaults.len(), 2);
            let tenants = Tenants::new(vaults)?;
            let beta = tenants
                .get(beta.workspace())
                .context("the second workspace is served")?
                .clone();
            (tenants, Some((beta, beta_owner)))
        } else {
            (Tenants::new(vec![first.clone()])?, None)
        };
        let vault = tenants
            .get(first.workspace())
            .context("the first workspace is served")?
            .clone();
        Ok(TestApp {
            router: router(tenants, options),
            dir,
            clock,
            vault,
            owner,
            other,
        })
    }

    pub async fn send(&self, request: Request<Body>) -> Result<Response<Body>> {
        Ok(self.router.clone().oneshot(request).await?)
    }

    /// The authenticator's code for `secret` in a fresh 30 s step (each
    /// code works once).
    pub fn fresh_code(&self, secret: &str) -> Result<String> {
        self.clock.advance(Duration::seconds(30));
        Ok(code_at(secret, self.clock.now())?)
    }

    /// The authenticator's code for `secret` now, without moving the clock.
    pub fn code_now(&self, secret: &str) -> Result<String> {
        Ok(code_at(secret, self.clock.now())?)
    }

    /// Signs the owner in through the API and returns the bearer token.
    pub async fn token(&self) -> Result<String> {
        self.token_of(&self.owner).await
    }

    /// Signs `member` in through the API (password and a fresh code).
    pub async fn token_of(&self, member: &Member) -> Result<String> {
        let code = self.fresh_code(&member.secret)?;
        let body = serde_json::json!({
            "email": member.email,
            "password": member.password,
            "code": code,
            "label": "tests",
        });
        let response = self
            .send(json_request("POST", "/api/v1/tokens", None, &body)?)
            .await?;
        if response.status() != 200 {
            bail!(
                "sign-in of {} failed with {}: {}",
                member.email,
                response.status(),
                text(response).await?
            );
        }
        let signed_in: confidant_protocol::SignInResponse = json(response).await?;
        Ok(signed_in.token)
    }

    /// Invites a person through the vault and accepts the invitation
    /// through the vault, as their authenticator app would.
    pub async fn add_member(&self, email: &str, name: &str, role: Role) -> Result<Member> {
        let owner = self.vault.owner().await?;
        let invitation = self.vault.invite(&owner, email, name, role, None).await?;
        let setup = self.vault.new_totp_setup(email)?;
        let secret = setup.secret.expose_secret().to_owned();
        let code = code_at(&secret, self.clock.now())?;
        let password = format!("{role} walks the quiet orchard");
        let welcome = self
            .vault
            .accept_invitation(
                &invitation.token,
                &SecretString::from(password.clone()),
                &secret,
                &code,
                None,
                &SessionRequest::web("setup"),
            )
            .await?;
        // That session is not needed.
        self.vault.sign_out(&welcome.session.token).await?;
        Ok(Member {
            id: invitation.person.id.to_string(),
            email: invitation.person.email,
            password,
            secret,
            recovery_codes: welcome
                .recovery_codes
                .iter()
                .map(|c| c.expose_secret().to_owned())
                .collect(),
        })
    }

    /// Every finished blob file under the blob folder.
    pub fn blob_files(&self) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        walk(&self.dir.path().join("blobs"), &mut files)?;
        files.retain(|f| !f.to_string_lossy().contains('#'));
        Ok(files)
    }
}

/// A browser's view of one site: the cookies it holds.
#[derive(Default, Clone)]
pub struct Browser {
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Takes the cookies a response sets (and drops those it clears).
    fn absorb(&mut self, headers: &HeaderMap) {
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap_or_default();
            let pair = set.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(k, _)| k != name);
            if !set.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// Sends `req` with this browser's cookies and keeps what it sets.
    pub async fn send(&mut self, app: &TestApp, mut req: Request<Body>) -> Result<Response<Body>> {
        if !self.cookies.is_empty() {
            req.headers_mut()
                .insert(header::COOKIE, self.cookie_header().parse()?);
        }
        let response = app.send(req).await?;
        self.absorb(response.headers());
        Ok(response)
    }

    pub async fn get(&mut self, app: &TestApp, uri: &str) -> Result<Response<Body>> {
        let req = request("GET", uri, None, Body::empty())?;
        self.send(app, req).await
    }

    pub async fn post_form(
        &mut self,
        app: &TestApp,
        uri: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Result<Response<Body>> {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        self.post_raw(app, uri, body.join("&").into_bytes(), origin)
            .await
    }

    /// Posts `body` as a form, byte for byte.
    pub async fn post_raw(
        &mut self,
        app: &TestApp,
        uri: &str,
        body: Vec<u8>,
        origin: Option<&str>,
    ) -> Result<Response<Body>> {
        let length = body.len();
        let mut req = request("POST", uri, None, Body::from(body))?;
        let headers = req.headers_mut();
        // As browsers send it.
        headers.insert(header::CONTENT_LENGTH, length.into());
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse()?,
        );
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse()?);
        }
        self.send(app, req).await
    }

    /// Posts a multipart form (as a browser's file upload does): the text
    /// `fields` in order, then the file `(field, file name, bytes)`.
    pub async fn post_multipart(
        &mut self,
        app: &TestApp,
        uri: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Result<Response<Body>> {
        let boundary = "----confidant-test-b0undary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (name, file_name, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let length = body.len();
        let mut req = request("POST", uri, None, Body::from(body))?;
        let headers = req.headers_mut();
        headers.insert(header::CONTENT_LENGTH, length.into());
        headers.insert(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}").parse()?,
        );
        self.send(app, req).await
    }

    /// Opens the sign-in page and returns its form's anti-forgery token.
    pub async fn open_login(&mut self, app: &TestApp) -> Result<String> {
        let response = self.get(app, "/login").await?;
        assert_eq!(response.status(), 200);
        hidden_csrf(&text(response).await?)
    }

    /// The first step of signing in: e-mail address and password.
    pub async fn post_password(
        &mut self,
        app: &TestApp,
        email: &str,
        password: &str,
    ) -> Result<Response<Body>> {
        let csrf = self.open_login(app).await?;
        let fields = [("email", email), ("password", password), ("csrf", &csrf)];
        self.post_form(app, "/login", &fields, Some("http://localhost"))
            .await
    }

    /// The second step: the code form, as the page serves it.
    pub async fn post_code(&mut self, app: &TestApp, code: &str) -> Result<Response<Body>> {
        let page = self.get(app, "/login/code").await?;
        assert_eq!(page.status(), 200, "the code form is shown");
        let csrf = hidden_csrf(&text(page).await?)?;
        self.post_form(app, "/login/code", &[("code", code), ("csrf", &csrf)], None)
            .await
    }

    /// Signs `member` in through the forms: password, then a fresh code.
    pub async fn sign_in_as(&mut self, app: &TestApp, member: &Member) -> Result<()> {
        let response = self
            .post_password(app, &member.email, &member.password)
            .await?;
        assert_eq!(response.status(), 303, "{}", member.email);
        assert_eq!(location(&response), Some("/login/code"));
        assert!(self.cookie("confidant_session").is_none(), "not yet");
        let code = app.fresh_code(&member.secret)?;
        let response = self.post_code(app, &code).await?;
        assert_eq!(response.status(), 303, "{}", member.email);
        assert_eq!(location(&response), Some("/"));
        assert!(self.cookie("confidant_session").is_some());
        assert!(self.cookie("confidant_pending").is_none());
        Ok(())
    }

    /// Signs the owner in through the forms.
    pub async fn sign_in(&mut self, app: &TestApp) -> Result<()> {
        self.sign_in_as(app, &app.owner).await
    }

    /// The anti-forgery token of this browser's session, from its account
    /// page.
    pub async fn session_csrf(&mut self, app: &TestApp) -> Result<String> {
        let page = self.get(app, "/account").await?;
        assert_eq!(page.status(), 200);
        hidden_csrf(&text(page).await?)
    }
}

pub fn hidden_csrf(html: &str) -> Result<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).context("the page has no csrf field")? + marker.len();
    let end = html[start..].find('"').context("unterminated csrf field")?;
    Ok(html[start..start + end].to_owned())
}

pub fn location(response: &Response<Body>) -> Option<&str> {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
}

pub fn set_cookies(response: &Response<Body>) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

pub fn request(method: &str, uri: &str, token: Option<&str>, body: Body) -> Result<Request<Body>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "localhost");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    Ok(builder.body(body)?)
}

pub fn json_request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> Result<Request<Body>> {
    let mut request = request(method, uri, token, Body::from(serde_json::to_vec(body)?))?;
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(request)
}

pub async fn bytes(response: Response<Body>) -> Result<Vec<u8>> {
    Ok(axum::body::to_bytes(response.into_body(), usize::MAX)
        .await?
        .to_vec())
}

pub async fn text(response: Response<Body>) -> Result<String> {
    Ok(String::from_utf8(bytes(response).await?)?)
}

pub async fn json<T: DeserializeOwned>(response: Response<Body>) -> Result<T> {
    let bytes = bytes(response).await?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("not the expected JSON: {}", String::from_utf8_lossy(&bytes)))
}

/// Asserts an API error: its status and `error` kind; returns the message.
pub async fn expect_error(response: Response<Body>, status: u16, kind: &str) -> Result<String> {
    let got = response.status();
    let body: confidant_protocol::ErrorBody = json(response).await?;
    assert_eq!(
        (got.as_u16(), body.error.as_str()),
        (status, kind),
        "{}",
        body.message
    );
    Ok(body.message)
}

/// Deterministic bytes that are not all alike.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._*".contains(&b) {
                char::from(b).to_string()
            } else if b == b' ' {
                "+".to_owned()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
