//! confidant's HTTP server: the JSON API under `/api/v1` and a small
//! server-rendered web UI, both thin over [`confidant_vault::Vault`].
//!
//! Handlers only translate: they read a request, call one vault method with
//! the caller's [`confidant_vault::Actor`] and turn the answer (or the
//! [`confidant_vault::VaultError`]) into a response. Every decision about
//! who may see what, and every byte of encryption, stays in the vault.
//! Document bodies travel as streams in both directions, so a file of any
//! size passes through in constant memory; a body whose integrity check
//! fails part-way aborts the response instead of completing it.
//!
//! What it deliberately leaves out: business rules (the vault), the choice
//! of database and blob store (the `cli` composition root builds the vault),
//! TLS termination and listening sockets (the caller hands in a bound
//! listener), and any JavaScript: every
//! page works with plain HTML forms. CSV imports are spooled to an unnamed
//! temporary file first, encrypted under a key held only in memory.

mod api;
mod api_devices;
mod auth;
mod error;
mod headers;
mod stream;
mod web;
mod web_devices;
mod web_digest;
mod web_gates;
mod web_grants;
mod web_incidents;
mod web_items;
mod web_people;
pub mod wire;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use confidant_vault::Tenants;

pub use error::AppError;

/// How the server behaves beyond what the vault decides.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Marks cookies `Secure`; set it when the server is reached over TLS.
    pub secure_cookies: bool,
    /// The largest document or CSV file accepted in one upload, in bytes.
    pub max_upload_bytes: u64,
    /// Sends `Strict-Transport-Security`; set it when the server is reached
    /// only over TLS.
    pub hsts: bool,
    /// Where people reach the server (`https://vault.example.com`), for the
    /// links in invitations.
    pub public_url: String,
    /// What `serve` does on its schedule (the Passcodes page says whether
    /// tomorrow's passcodes are sent, and how).
    pub schedule: confidant_vault::schedule::ScheduleSettings,
}

/// The default upload limit: 16 GiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 16 * 1024 * 1024 * 1024;

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            secure_cookies: false,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            hsts: false,
            public_url: "http://127.0.0.1:8080".to_owned(),
            schedule: confidant_vault::schedule::ScheduleSettings::default(),
        }
    }
}

/// What every handler gets: the served workspaces and the server's
/// options. Handlers reach a workspace only through the caller's session
/// (or invitation link), never through anything the client names.
#[derive(Clone, Debug)]
pub struct AppState {
    pub tenants: Tenants,
    pub options: Arc<ServerOptions>,
    /// CSV files uploaded on the web, waiting for their columns to be
    /// confirmed.
    pub(crate) staged: Arc<web_items::StagedImports>,
}

impl AppState {
    /// The link of an invitation token.
    pub(crate) fn invite_url(&self, token: &str) -> String {
        format!(
            "{}/join/{token}",
            self.options.public_url.trim_end_matches('/')
        )
    }
}

/// The whole application: API, web UI, health check and the middleware
/// around them.
pub fn router(tenants: Tenants, options: ServerOptions) -> Router {
    let hsts = options.hsts;
    let state = AppState {
        tenants,
        options: Arc::new(options),
        staged: Arc::default(),
    };
    let app = Router::new()
        .route("/healthz", get(healthz))
        .merge(api::routes())
        .merge(web::routes())
        .fallback(error::fallback);
    headers::layers(app, hsts).with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
