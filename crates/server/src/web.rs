//! The web UI: server-rendered pages (askama templates under `templates/`)
//! that work without JavaScript. Sign-in sets a cookie holding a vault
//! token; every page resolves it with `Vault::authenticate`, like the API.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use confidant_core::{DocumentMeta, Label, RecordSetMeta};
use confidant_vault::{Actor, DocRef, VaultError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::auth::Session;
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
        .route("/documents/{doc}", get(download_document))
        .route("/documents/{doc}/view", get(view_document))
        .route(
            "/documents/{doc}/view-only",
            axum::routing::post(set_view_only),
        )
        .route("/documents/{doc}/label", axum::routing::post(set_label))
        .route("/records/{set}", get(records))
        .route("/ledger", get(ledger))
        .route("/static/style.css", get(stylesheet))
        .merge(crate::web_people::routes())
        .merge(crate::web_grants::routes())
        .merge(crate::web_gates::routes())
        .merge(crate::web_devices::routes())
        .merge(crate::web_digest::routes())
        .merge(crate::web_incidents::routes())
        .merge(crate::web_items::routes())
        // Enforced by the body extractors, so an oversized form gets a page
        // (413) like any other error.
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .merge(crate::web_gates::upload_routes())
        .merge(crate::web_items::upload_routes())
}

/// A form body (`application/x-www-form-urlencoded`), refused with a clear
/// error when it is over the limit (413), not a form, or not valid UTF-8,
/// raw or once percent-decoded: axum's `Form` alone would quietly turn
/// such bytes into U+FFFD and act on a value nobody typed.
pub(crate) struct WebForm<T>(pub(crate) T);

impl<T, S> FromRequest<S> for WebForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PageError> {
        let (parts, body) = request.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge(format!(
                        "the form is too large (over {} KiB): nothing was changed",
                        FORM_BODY_LIMIT / 1024
                    ))
                } else {
                    AppError::InvalidInput(rejection.body_text())
                }
            })?;
        if !form_is_utf8(&bytes) {
            return Err(PageError(AppError::InvalidInput(
                "the form is not valid UTF-8 text: nothing was changed; send it again from                  the page"
                    .into(),
            )));
        }
        let request = Request::from_parts(parts, Body::from(bytes));
        let Form(value) = Form::<T>::from_request(request, state)
            .await
            .map_err(AppError::from)?;
        Ok(WebForm(value))
    }
}

/// Whether a form body is UTF-8 both as sent and with every `%XX`
/// decoded.
fn form_is_utf8(body: &[u8]) -> bool {
    if std::str::from_utf8(body).is_err() {
        return false;
    }
    let mut decoded = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (body[i], body.get(i + 1), body.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                decoded.push(u8::try_from(value).unwrap_or(0));
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// An error answered with a page.
pub(crate) struct PageError(pub(crate) AppError);

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
pub(crate) fn sentence(message: &str) -> String {
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

pub(crate) fn render(template: &impl Template) -> Result<Html<String>, AppError> {
    template
        .render()
        .map(Html)
        .map_err(|e| AppError::Internal(format!("rendering a page failed: {e}")))
}

/// What every page shows around its content.
#[derive(Default)]
pub(crate) struct Chrome {
    pub(crate) workspace: Option<String>,
    pub(crate) user: Option<UserChrome>,
}

pub(crate) struct UserChrome {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) role: &'static str,
    /// The session's anti-forgery token, for the sign-out form.
    pub(crate) csrf: String,
    /// Whether the navigation shows People and the access record.
    pub(crate) reads_ledger: bool,
    /// The owner or an admin (the navigation shows Passcodes).
    pub(crate) manages: bool,
    /// No menu until an owner has enrolled a second factor.
    pub(crate) enrolled: bool,
}

impl Chrome {
    pub(crate) fn signed_in(_state: &AppState, session: &Session) -> Chrome {
        let role = session.actor.role;
        Chrome {
            workspace: Some(session.vault.workspace_name().to_owned()),
            user: Some(UserChrome {
                name: session.actor.name.clone(),
                email: session.actor.email.clone(),
                role: role.as_str(),
                csrf: session.csrf(),
                reads_ledger: role.manages_people() || role == confidant_core::Role::Auditor,
                manages: role.manages_people(),
                enrolled: session.actor.has_second_factor,
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

struct DocumentRow {
    id: String,
    name: String,
    label: Label,
    /// What scanning found, in a few words.
    found: String,
    /// The label the content suggests, when it differs from the label.
    suggested: Option<Label>,
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
    manager: bool,
    documents: Vec<DocumentRow>,
    record_sets: Vec<RecordSetRow>,
    /// For the owner and admins: what needs attention.
    attention: Vec<String>,
    /// For everyone else: the agreements they still have to sign.
    to_sign: Vec<String>,
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

pub(crate) fn when(at: OffsetDateTime) -> String {
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
        found: match &meta.scan {
            None => String::new(),
            Some(scan) => match &scan.unreadable {
                Some(why) => format!("could not be read, not scanned: {why}"),
                None if scan.binary => "not text, not scanned".to_owned(),
                None => {
                    let mut words: Vec<String> = scan
                        .categories
                        .iter()
                        .map(|c| c.as_str().replace('_', " "))
                        .collect();
                    if scan.kinds.contains_key("secret") {
                        words.push("secrets".to_owned());
                    }
                    let what = if words.is_empty() {
                        "nothing sensitive found".to_owned()
                    } else {
                        words.join(", ")
                    };
                    match &scan.extracted {
                        Some(format) => format!("{what} (in its {} text)", format.to_uppercase()),
                        None => what,
                    }
                }
            },
        },
        suggested: meta
            .scan
            .as_ref()
            .map(|s| s.suggested_label)
            .filter(|l| *l != meta.label),
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
    // The owner and admins see every item; everyone else what their
    // grants cover (the vault decides which).
    let manager = session.actor.role.manages_people();
    let (documents, sets) = if session.actor.role == confidant_core::Role::Auditor {
        (Vec::new(), Vec::new())
    } else {
        (
            session.vault.documents(&session.actor).await?,
            session.vault.record_sets(&session.actor).await?,
        )
    };
    let mut attention = Vec::new();
    let mut to_sign = Vec::new();
    if manager {
        for blocked in session.vault.blocked_people(&session.actor).await? {
            attention.push(format!(
                "{} is blocked until they: {}",
                blocked.email,
                blocked.reasons.join("; ")
            ));
        }
        // Alerts of the last day, newest first.
        let since = session.vault.now() - time::Duration::days(1);
        for alert in session.vault.alerts(&session.actor, 5).await? {
            if alert.raised_at >= since {
                attention.push(format!(
                    "Alert ({}): {} (see Access record, Digest)",
                    alert.rule.as_str().replace('_', " "),
                    alert.email.as_deref().map_or_else(
                        || alert.summary.clone(),
                        |email| alert.summary.replacen(&alert.subject, email, 1)
                    )
                ));
            }
        }
        for state in session.vault.passcode_states(&session.actor).await? {
            if state.locked {
                attention.push(format!(
                    "{}'s passcode for {} is locked for today after five wrong tries",
                    state.email, state.item
                ));
            } else if state.valid_until.is_none() {
                attention.push(format!(
                    "{} has no passcode for today for {}",
                    state.email, state.item
                ));
            }
        }
    } else {
        for due in session.vault.my_agreements(&session.actor).await? {
            if let Some(why) = due.standing.blocker(due.agreement.kind) {
                to_sign.push(sentence(&why));
            }
        }
    }
    let page = HomePage {
        chrome: Chrome::signed_in(&state, &session),
        actor: &session.actor,
        manager,
        documents: documents.iter().map(document_row).collect(),
        record_sets: sets.iter().map(record_set_row).collect(),
        attention,
        to_sign,
    };
    Ok(render(&page)?)
}

async fn download_document(
    State(state): State<AppState>,
    session: Session,
    Path(doc): Path<String>,
) -> Result<Response, PageError> {
    let (meta, stream) = match session
        .vault
        .open_document(&session.actor, &DocRef::parse(&doc))
        .await
    {
        Err(confidant_vault::VaultError::Blocked(blocker)) => {
            return Ok(crate::web_gates::blocked_page(
                &state, &session, &blocker, "document", &doc, None,
            )?);
        }
        // View only: its page shows it instead.
        Err(confidant_vault::VaultError::ViewOnly(_)) => {
            return Ok(axum::response::Redirect::to(&format!(
                "/documents/{}/view",
                crate::web_gates::urlencode(&doc)
            ))
            .into_response());
        }
        other => other?,
    };
    Ok(download(&meta, stream).await?)
}

#[derive(Template)]
#[template(path = "view.html")]
struct ViewPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    label: String,
    manages: bool,
    view_only: bool,
    /// What scanning found, and the label it suggests when that is not
    /// the label (for the owner's label form).
    found: String,
    suggested: Option<String>,
    labels: [&'static str; 4],
    text: Option<String>,
    /// `data:` URLs of the pictures (a picture, or a PDF's pages).
    images: Vec<String>,
    more: bool,
}

/// A document shown in the browser, stamped for the viewer.
async fn view_document(
    State(state): State<AppState>,
    session: Session,
    Path(doc): Path<String>,
) -> Result<Response, PageError> {
    use base64::Engine as _;
    let (meta, rendered, view_only) = match session
        .vault
        .view_document(&session.actor, &DocRef::parse(&doc))
        .await
    {
        Err(confidant_vault::VaultError::Blocked(blocker)) => {
            return Ok(crate::web_gates::blocked_page(
                &state, &session, &blocker, "document", &doc, None,
            )?);
        }
        other => other?,
    };
    let data_url = |mime: &str, bytes: &[u8]| {
        format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    };
    let (text, images, more) = match rendered {
        confidant_vault::Rendered::Text(text) => (Some(text), Vec::new(), false),
        confidant_vault::Rendered::Image { mime, bytes } => {
            (None, vec![data_url(mime, &bytes)], false)
        }
        confidant_vault::Rendered::Pages { pngs, more } => (
            None,
            pngs.iter().map(|p| data_url("image/png", p)).collect(),
            more,
        ),
    };
    let page = ViewPage {
        chrome: Chrome::signed_in(&state, &session),
        csrf: session.csrf(),
        id: meta.id.to_string(),
        name: meta.name.clone(),
        label: meta.label.as_str().to_owned(),
        manages: session.actor.role.manages_people(),
        view_only,
        found: {
            let found = document_row(&meta).found;
            if found.is_empty() {
                "not scanned (stored before scanning existed)".to_owned()
            } else {
                found
            }
        },
        suggested: document_row(&meta).suggested.map(|l| l.as_str().to_owned()),
        labels: [
            Label::Public.as_str(),
            Label::Internal.as_str(),
            Label::Confidential.as_str(),
            Label::Restricted.as_str(),
        ],
        text,
        images,
        more,
    };
    // A stamped copy for one viewer: never cached.
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        render(&page)?,
    )
        .into_response())
}

#[derive(Deserialize)]
struct LabelForm {
    csrf: String,
    label: String,
}

/// The owner sets a document's label (after reading what its content
/// suggests on the view page).
async fn set_label(
    session: Session,
    Path(doc): Path<String>,
    crate::web::WebForm(form): crate::web::WebForm<LabelForm>,
) -> Result<Response, PageError> {
    crate::web_people::check_csrf(&session, &form.csrf)?;
    let label: Label = form
        .label
        .parse()
        .map_err(|e: confidant_core::UnknownLabelError| AppError::InvalidInput(e.to_string()))?;
    session
        .vault
        .set_document_label(&session.actor, &DocRef::parse(&doc), label)
        .await?;
    Ok(axum::response::Redirect::to(&format!(
        "/documents/{}/view",
        crate::web_gates::urlencode(&doc)
    ))
    .into_response())
}

#[derive(Deserialize)]
struct ViewOnlyForm {
    csrf: String,
    #[serde(default)]
    view_only: String,
}

async fn set_view_only(
    session: Session,
    Path(doc): Path<String>,
    crate::web::WebForm(form): crate::web::WebForm<ViewOnlyForm>,
) -> Result<Response, PageError> {
    crate::web_people::check_csrf(&session, &form.csrf)?;
    let on = match form.view_only.as_str() {
        "on" => true,
        "off" => false,
        other => {
            return Err(AppError::InvalidInput(format!(
                "{other:?} is not a choice: say on or off"
            ))
            .into());
        }
    };
    session
        .vault
        .set_view_only(&session.actor, &DocRef::parse(&doc), on)
        .await?;
    Ok(axum::response::Redirect::to(&format!(
        "/documents/{}/view",
        crate::web_gates::urlencode(&doc)
    ))
    .into_response())
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
) -> Result<Response, PageError> {
    let Query(query) = query?;
    let page = match session
        .vault
        .show_records(&session.actor, &set, query.offset, PAGE_ROWS)
        .await
    {
        Err(confidant_vault::VaultError::Blocked(blocker)) => {
            return Ok(crate::web_gates::blocked_page(
                &state, &session, &blocker, "records", &set, None,
            )?);
        }
        other => other?,
    };
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
    Ok(render(&page)?.into_response())
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
    let overview = session
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
    let people: std::collections::HashMap<_, _> = session
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
