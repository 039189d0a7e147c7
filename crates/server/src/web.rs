//! The web UI: server-rendered pages (askama templates under `templates/`)
//! that work without JavaScript. Sign-in sets a cookie holding a vault
//! token; every page resolves it with `Vault::authenticate`, like the API.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use confidant_core::{DocumentMeta, Label, RecordSetMeta};
use confidant_vault::{Actor, DocRef, VaultError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;
use tower_http::limit::RequestBodyLimitLayer;

use crate::auth::{
    LOGIN_COOKIE, SESSION_COOKIE, Session, clear_cookie, cookie, csrf_token, random_token,
    set_cookie, tokens_match,
};
use crate::error::human_size;
use crate::stream::download;
use crate::{AppError, AppState};

/// Rows on one page of a record set.
const PAGE_ROWS: u64 = 100;
/// The largest form body the UI reads.
const FORM_BODY_LIMIT: usize = 16 * 1024;

const STYLESHEET: &str = include_str!("../static/style.css");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/documents/{doc}", get(download_document))
        .route("/records/{set}", get(records))
        .route("/ledger", get(ledger))
        .route("/static/style.css", get(stylesheet))
        .layer(RequestBodyLimitLayer::new(FORM_BODY_LIMIT))
}

/// An error answered with a page.
pub(crate) struct PageError(AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        page_error(&self.0)
    }
}

/// The page for an error: its status, and a message that never shows
/// internals (see [`AppError::shown`]).
pub(crate) fn page_error(error: &AppError) -> Response {
    let shown = error.shown();
    let page = ErrorPage {
        chrome: Chrome::default(),
        status: shown.status.as_u16(),
        reason: shown.status.canonical_reason().unwrap_or("Error"),
        message: &sentence(&shown.message),
    };
    match page.render() {
        Ok(html) => (shown.status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the error page failed");
            (shown.status, shown.message).into_response()
        }
    }
}

/// Messages are lower-case clauses (the house style for errors); a page
/// shows them as a sentence.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => {
            let end = if message.ends_with(['.', '!', '?']) {
                ""
            } else {
                "."
            };
            format!("{}{}{end}", first.to_uppercase(), chars.as_str())
        }
        None => String::new(),
    }
}

fn render(template: &impl Template) -> Result<Html<String>, AppError> {
    template
        .render()
        .map(Html)
        .map_err(|e| AppError::Internal(format!("rendering a page failed: {e}")))
}

/// What every page shows around its content.
#[derive(Default)]
struct Chrome {
    workspace: Option<String>,
    user: Option<UserChrome>,
}

struct UserChrome {
    name: String,
    email: String,
    role: &'static str,
    /// The session's anti-forgery token, for the sign-out form.
    csrf: String,
}

impl Chrome {
    fn signed_in(state: &AppState, session: &Session) -> Chrome {
        Chrome {
            workspace: Some(state.vault.workspace_name().to_owned()),
            user: Some(UserChrome {
                name: session.actor.name.clone(),
                email: session.actor.email.clone(),
                role: session.actor.role.as_str(),
                csrf: session.csrf(),
            }),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    chrome: Chrome,
    csrf: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

struct DocumentRow {
    id: String,
    name: String,
    label: Label,
    size: String,
    updated: String,
}

struct ColumnCell {
    name: String,
    category: &'static str,
    indexed: bool,
}

struct RecordSetRow {
    name: String,
    label: Label,
    columns: Vec<ColumnCell>,
    rows: u64,
    customers: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    chrome: Chrome,
    actor: &'a Actor,
    documents: Vec<DocumentRow>,
    record_sets: Vec<RecordSetRow>,
}

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage {
    chrome: Chrome,
    set: RecordSetRow,
    rows: Vec<Vec<String>>,
    summary: String,
    previous: Option<u64>,
    next: Option<u64>,
}

fn when(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

fn document_row(meta: &DocumentMeta) -> DocumentRow {
    DocumentRow {
        id: meta.id.to_string(),
        name: meta.name.clone(),
        label: meta.label,
        size: human_size(meta.size),
        updated: when(meta.updated_at),
    }
}

fn record_set_row(meta: &RecordSetMeta) -> RecordSetRow {
    RecordSetRow {
        name: meta.name.clone(),
        label: meta.label,
        columns: meta
            .columns
            .iter()
            .map(|c| ColumnCell {
                name: c.name.clone(),
                category: c.category.as_str(),
                indexed: c.indexed,
            })
            .collect(),
        rows: meta.row_count,
        customers: meta.rows_are_customers,
    }
}

async fn home(State(state): State<AppState>, session: Session) -> Result<Html<String>, PageError> {
    let documents = state.vault.documents(&session.actor).await?;
    let sets = state.vault.record_sets(&session.actor).await?;
    let page = HomePage {
        chrome: Chrome::signed_in(&state, &session),
        actor: &session.actor,
        documents: documents.iter().map(document_row).collect(),
        record_sets: sets.iter().map(record_set_row).collect(),
    };
    Ok(render(&page)?)
}

/// The session of a request, if its cookie holds a live token.
async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, AppError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let token = SecretString::from(token);
    match state.vault.authenticate(&token).await {
        Ok(actor) => Ok(Some(Session { actor, token })),
        Err(VaultError::Forbidden(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The sign-in form with a fresh anti-forgery token (kept in a cookie and
/// in a hidden field; a forged form cannot know it).
fn login_page(
    state: &AppState,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
    csrf: Option<&str>,
) -> Result<Response, AppError> {
    let fresh;
    let csrf = match csrf {
        Some(csrf) => csrf,
        None => {
            fresh = random_token()?;
            &fresh
        }
    };
    let page = LoginPage {
        chrome: Chrome {
            workspace: Some(state.vault.workspace_name().to_owned()),
            user: None,
        },
        csrf,
        email,
        error,
    };
    let mut response = (status, render(&page)?).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, csrf, state.options.secure_cookies)?,
    );
    Ok(response)
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if current_session(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(login_page(&state, StatusCode::OK, "", None, None)?)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(state): State<AppState>,
    client: crate::auth::ClientAddr,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form?;
    let password = SecretString::from(form.password);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !tokens_match(&expected, &form.csrf) {
        let message =
            "The sign-in form expired or did not come from this site. Please sign in again.";
        return Ok(login_page(
            &state,
            StatusCode::FORBIDDEN,
            &form.email,
            Some(message),
            None,
        )?);
    }
    match state.vault.sign_in(&form.email, &password, client.0).await {
        Ok(issued) => {
            let secure = state.options.secure_cookies;
            let mut response = Redirect::to("/").into_response();
            let session = set_cookie(SESSION_COOKIE, issued.token.expose_secret(), secure)?;
            response.headers_mut().append(header::SET_COOKIE, session);
            response
                .headers_mut()
                .append(header::SET_COOKIE, clear_cookie(LOGIN_COOKIE, secure));
            Ok(response)
        }
        Err(VaultError::Forbidden(message)) => Ok(login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            &form.email,
            Some(&sentence(&message)),
            Some(&expected),
        )?),
        Err(VaultError::RateLimited { message, .. }) => Ok(login_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &form.email,
            Some(&sentence(&message)),
            Some(&expected),
        )?),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form?;
    let Some(token) = cookie(&headers, SESSION_COOKIE) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let token = SecretString::from(token);
    if !tokens_match(&csrf_token(&token), &form.csrf) {
        return Err(PageError(AppError::Forbidden(
            "the sign-out form is not valid (it may be from another site): reload the page and \
             sign out again"
                .into(),
        )));
    }
    state.vault.sign_out(&token).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(SESSION_COOKIE, state.options.secure_cookies),
    );
    Ok(response)
}

async fn download_document(
    State(state): State<AppState>,
    session: Session,
    Path(doc): Path<String>,
) -> Result<Response, PageError> {
    let (meta, stream) = state
        .vault
        .open_document(&session.actor, &DocRef::parse(&doc))
        .await?;
    Ok(download(&meta, stream).await?)
}

#[derive(Deserialize)]
struct RecordsQuery {
    #[serde(default)]
    offset: u64,
}

async fn records(
    State(state): State<AppState>,
    session: Session,
    Path(set): Path<String>,
    query: Result<Query<RecordsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, PageError> {
    let Query(query) = query?;
    let page = state
        .vault
        .show_records(&session.actor, &set, query.offset, PAGE_ROWS)
        .await?;
    let shown = page.rows.len() as u64;
    let total = page.set.row_count;
    let page = RecordsPage {
        chrome: Chrome::signed_in(&state, &session),
        set: record_set_row(&page.set),
        summary: match (shown, total) {
            (_, 0) => "No rows.".to_owned(),
            (0, _) => format!("No rows here: the set has {total}."),
            _ => format!(
                "Rows {}–{} of {total}.",
                page.offset + 1,
                page.offset + shown
            ),
        },
        // Back one page, or to the last page from past the end.
        previous: (page.offset > 0).then(|| {
            let last_page = total.saturating_sub(1) / PAGE_ROWS * PAGE_ROWS;
            page.offset.saturating_sub(PAGE_ROWS).min(last_page)
        }),
        next: (page.offset + shown < total && shown > 0).then_some(page.offset + shown),
        rows: page.rows.into_iter().map(|r| r.values).collect(),
    };
    Ok(render(&page)?)
}

#[derive(Deserialize)]
struct LedgerQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    denied: Option<String>,
}

struct LedgerRow {
    index: u64,
    time: String,
    who: String,
    action: String,
    about: String,
    decision: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    chrome: Chrome,
    status: String,
    person: String,
    item: String,
    denied: bool,
    error: Option<String>,
    entries: Vec<LedgerRow>,
}

/// The most entries one page shows, newest first.
const LEDGER_ROWS: usize = 500;

/// The access record: who did what, newest first, filtered by person, item
/// or refusals, with the result of verifying the whole ledger.
async fn ledger(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<LedgerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, PageError> {
    let Query(query) = query?;
    let actor = &session.actor;
    let person = query.person.trim().to_owned();
    let item = query.item.trim().to_owned();
    let denied = query.denied.is_some();
    // One read of the ledger serves both the verification and the list.
    let overview = state
        .vault
        .ledger_overview(
            actor,
            (!person.is_empty()).then_some(person.as_str()),
            (!item.is_empty()).then_some(item.as_str()),
        )
        .await?;
    let status = match overview.verified {
        Ok(report) => format!(
            "{} entries; the whole record verifies against the signed checkpoint of {} entries.",
            report.entries, report.checkpoint_size
        ),
        Err(VaultError::Integrity(message)) => format!("Warning: {}", sentence(&message)),
        Err(e) => return Err(e.into()),
    };
    let (entries, error) = match overview.entries {
        Ok(entries) => (entries, None),
        Err(VaultError::NotFound(m) | VaultError::InvalidInput(m)) => {
            (Vec::new(), Some(sentence(&m)))
        }
        Err(e) => return Err(e.into()),
    };
    let people: std::collections::HashMap<_, _> = state
        .vault
        .people(actor)
        .await?
        .into_iter()
        .map(|p| (p.id, p.email))
        .collect();
    let rows = entries
        .iter()
        .rev()
        .filter(|(_, e)| !denied || e.decision == confidant_vault::LedgerDecision::Deny)
        .take(LEDGER_ROWS)
        .map(|(index, e)| LedgerRow {
            index: *index,
            time: when(e.time.to_datetime()),
            who: e
                .actor
                .map(|id| people.get(&id).cloned().unwrap_or_else(|| id.to_string()))
                .unwrap_or_else(|| "(unknown)".into()),
            action: e.action.to_string().replace('_', " "),
            about: match e.target.rows.len() {
                0 => e.target.id.kind().to_string().replace('_', " "),
                n => format!(
                    "{} ({n} rows)",
                    e.target.id.kind().to_string().replace('_', " ")
                ),
            },
            decision: e.decision.to_string(),
            reason: e.reason.clone(),
        })
        .collect();
    let page = LedgerPage {
        chrome: Chrome::signed_in(&state, &session),
        status,
        person,
        item,
        denied,
        error,
        entries: rows,
    };
    Ok(render(&page)?)
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
}
