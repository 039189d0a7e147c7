//! Shared helpers: a fresh workspace per test and small request builders.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use confidant_server::{ServerOptions, router};
use confidant_vault::{InitOptions, KdfParams, KeyFile, SystemClock, Unlock, Vault};
use rand_core::OsRng;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use tempfile::TempDir;
use tower::ServiceExt;

pub const EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery staple";
pub const WORKSPACE: &str = "Acme Bookkeeping";

/// A workspace in a temporary directory and the router over it.
pub struct TestApp {
    pub router: Router,
    pub dir: TempDir,
}

impl TestApp {
    pub async fn new() -> Result<TestApp> {
        TestApp::with_options(ServerOptions::default()).await
    }

    pub async fn with_options(options: ServerOptions) -> Result<TestApp> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("confidant.db").display());
        let store = confidant_store::connect(&url).await?;
        let blobs = confidant_store::BlobStore::local(&dir.path().join("blobs"))?;
        let vault = Vault::init(
            store,
            blobs,
            Arc::new(SystemClock),
            InitOptions {
                workspace_name: WORKSPACE.into(),
                owner_email: EMAIL.into(),
                owner_name: "Olive Owner".into(),
                owner_password: SecretString::from(PASSWORD),
                unlock: Unlock::KeyFile(KeyFile::generate(&mut OsRng)),
                kdf: KdfParams::default(),
            },
        )
        .await?;
        Ok(TestApp {
            router: router(vault, options),
            dir,
        })
    }

    pub async fn send(&self, request: Request<Body>) -> Result<Response<Body>> {
        Ok(self.router.clone().oneshot(request).await?)
    }

    /// Signs in through the API and returns the bearer token.
    pub async fn token(&self) -> Result<String> {
        let body = serde_json::json!({ "email": EMAIL, "password": PASSWORD });
        let response = self
            .send(json_request("POST", "/api/v1/tokens", None, &body)?)
            .await?;
        if response.status() != 200 {
            bail!("sign-in failed with {}", response.status());
        }
        let signed_in: confidant_protocol::SignInResponse = json(response).await?;
        Ok(signed_in.token)
    }

    /// Every finished blob file under the blob folder.
    pub fn blob_files(&self) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        walk(&self.dir.path().join("blobs"), &mut files)?;
        files.retain(|f| !f.to_string_lossy().contains('#'));
        Ok(files)
    }
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
