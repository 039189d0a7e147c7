//! Adding data from the browser (owner and admins): upload a document, and
//! import a CSV file as a record set in two steps: the file is spooled
//! (encrypted, see [`Spool`]) and each column's category is suggested from
//! a sample of its values; the owner checks or changes them, and only then
//! is anything imported. Between the two steps the spool is kept in memory
//! for the same person, at most [`STAGED_MINUTES`] minutes and
//! [`MAX_STAGED`] at a time; nothing about it is stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use confidant_core::{DataCategory, Label, PersonId, WorkspaceId};
use confidant_vault::columns::{ColumnSuggestion, DEFAULT_SAMPLE};
use confidant_vault::{ColumnMapping, DocRef};
use futures::TryStreamExt;

use crate::auth::Session;
use crate::stream::{Spool, Upload};
use crate::web::{Chrome, PageError, WebForm, render};
use crate::web_gates::urlencode;
use crate::web_people::check_csrf;
use crate::{AppError, AppState};

/// How long a file waits for its columns to be confirmed.
pub(crate) const STAGED_MINUTES: u64 = 30;

/// Files waiting for confirmation, across the server.
pub(crate) const MAX_STAGED: usize = 16;

/// CSV files waiting for the owner to confirm their columns, by a random
/// id that only the page shown to their uploader carries.
#[derive(Default)]
pub(crate) struct StagedImports(Mutex<HashMap<String, Arc<Staged>>>);

pub(crate) struct Staged {
    person: PersonId,
    workspace: WorkspaceId,
    at: Instant,
    file_name: String,
    spool: Spool,
    suggestions: Vec<ColumnSuggestion>,
}

impl std::fmt::Debug for StagedImports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let waiting = self.0.lock().map(|m| m.len()).unwrap_or_default();
        f.debug_struct("StagedImports")
            .field("waiting", &waiting)
            .finish()
    }
}

impl StagedImports {
    /// Keeps `staged`; returns its id and the kept file.
    fn put(&self, staged: Staged) -> Result<(String, Arc<Staged>), AppError> {
        let mut id = [0u8; 16];
        aws_lc_rs::rand::fill(&mut id)
            .map_err(|_| AppError::Internal("drawing an import id failed".into()))?;
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = self
            .0
            .lock()
            .map_err(|_| AppError::Internal("the staged imports are unavailable".into()))?;
        let ttl = Duration::from_secs(STAGED_MINUTES * 60);
        map.retain(|_, s| s.at.elapsed() < ttl);
        if map.len() >= MAX_STAGED {
            return Err(AppError::Vault(confidant_vault::VaultError::Conflict(
                format!(
                    "{MAX_STAGED} imports are already waiting for their columns to be confirmed: \
                 finish or cancel one, or try again in {STAGED_MINUTES} minutes"
                ),
            )));
        }
        let staged = Arc::new(staged);
        map.insert(id.clone(), Arc::clone(&staged));
        Ok((id, staged))
    }

    /// The staged file `id` of the person signed in, if it has not expired.
    /// Another person's id is answered like an unknown one.
    fn get(&self, id: &str, actor: &confidant_vault::Actor) -> Result<Arc<Staged>, AppError> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| AppError::Internal("the staged imports are unavailable".into()))?;
        // Expired files go (and their spools with them) whenever one is
        // looked for.
        map.retain(|_, s| s.at.elapsed() < Duration::from_secs(STAGED_MINUTES * 60));
        map.get(id)
            .filter(|s| s.person == actor.person && s.workspace == actor.workspace)
            .cloned()
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "this import is no longer waiting (it was finished, cancelled, or left for \
                     over {STAGED_MINUTES} minutes): upload the file again"
                ))
            })
    }

    fn remove(&self, id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(id);
        }
    }
}

/// Routes that take files: their bodies are limited by the server's upload
/// limit as they stream, not by the small limit of the other forms.
pub(crate) fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/documents", post(upload_document))
        .route("/records/import", post(stage_import))
        .route("/documents/{doc}/replace", post(replace_document))
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// Routes with small forms.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/add", get(add_page))
        .route("/records/import/{id}", post(import))
        .route("/records/import/{id}/cancel", post(cancel))
        .route("/documents/{doc}/delete", post(delete_document))
}

#[derive(Template)]
#[template(path = "add.html")]
struct AddPage {
    chrome: Chrome,
    csrf: String,
    labels: [Label; 4],
    limit: String,
}

async fn add_page(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    session.vault.may_add(&session.actor)?;
    let page = AddPage {
        chrome: Chrome::signed_in(&state, &session),
        csrf: session.csrf(),
        labels: Label::ALL,
        limit: crate::error::human_size(state.options.max_upload_bytes),
    };
    Ok(render(&page)?.into_response())
}

/// The longest text field of an upload form (a name, a label, the
/// anti-forgery token); the body's limit is the file's, so each text field
/// needs its own.
const MAX_TEXT_FIELD: usize = 4 * 1024;

/// Reads a text field of a multipart form, at most [`MAX_TEXT_FIELD`]
/// bytes.
async fn text_field(mut field: axum::extract::multipart::Field<'_>) -> Result<String, AppError> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(AppError::TooLarge(format!(
                "the form's {name:?} field is over {} KiB (nothing was stored)",
                MAX_TEXT_FIELD / 1024
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| {
        AppError::InvalidInput(format!(
            "the form's {name:?} field is not valid UTF-8 (nothing was stored)"
        ))
    })
}

/// The multipart form of a request (checked by the caller first, so a
/// refusal comes before a byte of the body is read).
async fn multipart(state: &AppState, request: Request) -> Result<Multipart, AppError> {
    Multipart::from_request(request, state).await.map_err(|e| {
        AppError::InvalidInput(format!(
            "the upload is not a valid form: {} (nothing was stored)",
            e.body_text()
        ))
    })
}

/// Reads the form's text fields up to the file (a browser sends them in
/// the form's order, the file last), checks the anti-forgery token, and
/// hands the fields and the unread file to `use_file`.
async fn with_file(
    form: &mut Multipart,
    session: &Session,
    use_file: impl for<'f> AsyncFnOnce(
        Fields,
        axum::extract::multipart::Field<'f>,
    ) -> Result<Response, PageError>,
) -> Result<Response, PageError> {
    let mut fields = Fields::default();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            fields.read(field).await?;
            continue;
        }
        check_csrf(session, fields.csrf.as_deref().unwrap_or_default())?;
        return use_file(fields, field).await;
    }
    Err(no_file().into())
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    AppError::InvalidInput(format!(
        "the upload is not a valid form: {e} (nothing was stored)"
    ))
}

/// The form's fields before the file (`csrf` first), checked before a
/// byte of the file is read.
#[derive(Default)]
struct Fields {
    csrf: Option<String>,
    name: String,
    label: String,
}

impl Fields {
    /// Keeps a text field sent before the file (a browser sends the
    /// fields in the form's order, the file last); others are skipped.
    async fn read(&mut self, field: axum::extract::multipart::Field<'_>) -> Result<(), AppError> {
        match field.name() {
            Some("csrf") => self.csrf = Some(text_field(field).await?),
            Some("name") => self.name = text_field(field).await?,
            Some("label") => self.label = text_field(field).await?,
            _ => {}
        }
        Ok(())
    }
}

fn no_file() -> AppError {
    AppError::InvalidInput("choose a file to upload (nothing was stored)".into())
}

fn parse_label(text: &str) -> Result<Option<Label>, AppError> {
    match text.trim() {
        "" | "suggested" => Ok(None),
        other => other
            .parse()
            .map(Some)
            .map_err(|e: confidant_core::UnknownLabelError| AppError::InvalidInput(e.to_string())),
    }
}

/// `POST /documents` (multipart: `csrf`, `name`, `label`, `file`): the
/// file streams into the vault, which scans, encrypts and stores it; then
/// the document's page shows what the scan found and the label.
async fn upload_document(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, PageError> {
    session.vault.check_upload(&session.actor).await?;
    let mut form = multipart(&state, request).await?;
    with_file(&mut form, &session, async |fields, file| {
        add_document(&state, &session, &fields, file).await
    })
    .await
}

/// Streams the form's file into the vault as a document.
async fn add_document(
    state: &AppState,
    session: &Session,
    fields: &Fields,
    field: axum::extract::multipart::Field<'_>,
) -> Result<Response, PageError> {
    let label = parse_label(&fields.label)?;
    let file_name = field.file_name().unwrap_or_default().to_owned();
    let name = match fields.name.trim() {
        "" => file_name,
        typed => typed.to_owned(),
    };
    if name.is_empty() {
        return Err(
            AppError::InvalidInput("choose a file to upload (nothing was stored)".into()).into(),
        );
    }
    let mut upload = Upload::from_stream(field, state.options.max_upload_bytes);
    let meta = session
        .vault
        .add_document(&session.actor, &name, label, &mut upload.reader)
        .await
        .map_err(|e| upload.error(e))?;
    Ok(Redirect::to(&format!(
        "/documents/{}/view",
        urlencode(&meta.id.to_string())
    ))
    .into_response())
}

/// `POST /documents/{doc}/replace` (multipart: `csrf`, `file`): the file
/// becomes the document's new version (streamed, scanned, encrypted; the
/// old version stays until the new one is stored), and the document's page
/// shows it.
async fn replace_document(
    State(state): State<AppState>,
    session: Session,
    Path(doc): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let doc = DocRef::parse(&doc);
    // Refused, or not found (another workspace's, or none), before the
    // body is read.
    session.vault.check_replace(&session.actor, &doc).await?;
    let mut form = multipart(&state, request).await?;
    with_file(&mut form, &session, async |_, file| {
        let mut upload = Upload::from_stream(file, state.options.max_upload_bytes);
        let meta = session
            .vault
            .replace_document(&session.actor, &doc, &mut upload.reader)
            .await
            .map_err(|e| upload.error(e))?;
        Ok(Redirect::to(&format!(
            "/documents/{}/view",
            urlencode(&meta.id.to_string())
        ))
        .into_response())
    })
    .await
}

#[derive(serde::Deserialize)]
struct DeleteForm {
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /documents/{doc}/delete` (`csrf`, `confirm=yes`): deletes the
/// document and its versions; the access record keeps what happened to it.
async fn delete_document(
    session: Session,
    Path(doc): Path<String>,
    WebForm(form): WebForm<DeleteForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    if form.confirm != "yes" {
        return Err(AppError::InvalidInput(
            "tick the box to confirm the deletion (nothing was deleted)".into(),
        )
        .into());
    }
    session
        .vault
        .delete_document(&session.actor, &DocRef::parse(&doc))
        .await?;
    Ok(Redirect::to("/").into_response())
}

/// `POST /records/import` (multipart: `csrf`, `name`, `file`): spools the
/// CSV file, suggests each column's category, and shows them to confirm.
async fn stage_import(
    State(state): State<AppState>,
    session: Session,
    request: Request,
) -> Result<Response, PageError> {
    session.vault.check_upload(&session.actor).await?;
    let mut form = multipart(&state, request).await?;
    with_file(&mut form, &session, async |fields, file| {
        stage(&state, &session, &fields, file).await
    })
    .await
}

/// Spools the form's CSV file, suggests its columns' categories, keeps it
/// waiting and shows the confirmation form.
async fn stage(
    state: &AppState,
    session: &Session,
    fields: &Fields,
    field: axum::extract::multipart::Field<'_>,
) -> Result<Response, PageError> {
    let file_name = field.file_name().unwrap_or_default().to_owned();
    let spool = Spool::from_stream(
        field.map_err(|e| e.body_text()),
        state.options.max_upload_bytes,
    )
    .await?;
    if spool.len() == 0 {
        return Err(AppError::InvalidInput(
            "the file is empty: choose a CSV file with a header row".into(),
        )
        .into());
    }
    let suggestions = session
        .vault
        .suggest_import_columns(&session.actor, spool.reader()?, DEFAULT_SAMPLE)
        .await?;
    let name = match fields.name.trim() {
        "" => set_name_from(&file_name),
        typed => typed.to_owned(),
    };
    let staged = Staged {
        person: session.actor.person,
        workspace: session.actor.workspace,
        at: Instant::now(),
        file_name,
        spool,
        suggestions,
    };
    let choices = Choices::suggested(&staged, name);
    let (id, staged) = state.staged.put(staged)?;
    confirm_page(state, session, &id, &staged, &choices, None)
}

/// A record-set name from a file name: `Customers 2026.csv` gives
/// `customers-2026`.
fn set_name_from(file_name: &str) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    let mut name = String::new();
    for c in stem.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    name.trim_end_matches('-').to_owned()
}

/// What the confirmation form holds: the suggestions at first, then what
/// the owner chose.
struct Choices {
    name: String,
    label: Label,
    customers: bool,
    contact: String,
    /// A category per column, in file order.
    categories: Vec<DataCategory>,
    indexed: Vec<bool>,
}

impl Choices {
    fn suggested(staged: &Staged, name: String) -> Choices {
        let categories: Vec<DataCategory> = staged.suggestions.iter().map(|s| s.category).collect();
        let contact = staged
            .suggestions
            .iter()
            .find(|s| s.category == DataCategory::Email)
            .map(|s| s.column.clone())
            .unwrap_or_default();
        Choices {
            name,
            label: Label::suggested(&categories, false),
            // Rows with names, contacts or addresses are about people.
            customers: categories.iter().any(|c| {
                matches!(
                    c,
                    DataCategory::Name
                        | DataCategory::Email
                        | DataCategory::Phone
                        | DataCategory::PostalAddress
                )
            }),
            contact,
            indexed: vec![false; categories.len()],
            categories,
        }
    }

    /// The owner's choices from the confirmation form (`category-N`,
    /// `index-N` for the Nth column, 1-based).
    fn from_form(staged: &Staged, form: &[(String, String)]) -> Result<Choices, AppError> {
        let value = |key: &str| {
            form.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_owned())
        };
        let label = match value("label").as_deref() {
            Some(text) => text
                .parse()
                .map_err(|e: confidant_core::UnknownLabelError| {
                    AppError::InvalidInput(e.to_string())
                })?,
            None => Label::default(),
        };
        let mut categories = Vec::new();
        let mut indexed = Vec::new();
        for s in &staged.suggestions {
            let text = value(&format!("category-{}", s.position)).ok_or_else(|| {
                AppError::InvalidInput(format!(
                    "choose a category for column {} ({}) (nothing was imported)",
                    s.position, s.column
                ))
            })?;
            categories.push(
                text.parse()
                    .map_err(|e: confidant_core::UnknownCategoryError| {
                        AppError::InvalidInput(format!("column {} ({}): {e}", s.position, s.column))
                    })?,
            );
            indexed.push(value(&format!("index-{}", s.position)).is_some());
        }
        Ok(Choices {
            name: value("name").unwrap_or_default(),
            label,
            customers: value("customers").is_some(),
            contact: value("contact").unwrap_or_default(),
            categories,
            indexed,
        })
    }

    fn mapping(&self, staged: &Staged) -> ColumnMapping {
        let columns = staged.suggestions.iter();
        ColumnMapping {
            categories: columns
                .clone()
                .zip(&self.categories)
                .map(|(s, c)| (s.column.clone(), *c))
                .collect(),
            indexed: columns
                .zip(&self.indexed)
                .filter(|(_, on)| **on)
                .map(|(s, _)| s.column.clone())
                .collect(),
            rows_are_customers: self.customers,
            contact_column: Some(self.contact.clone()).filter(|c| !c.is_empty()),
            label: self.label,
        }
    }
}

struct ColumnRow {
    position: usize,
    name: String,
    evidence: String,
    category: DataCategory,
    indexed: bool,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ConfirmPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    file_name: String,
    error: Option<String>,
    name: String,
    label: Label,
    labels: [Label; 4],
    categories: [DataCategory; 10],
    customers: bool,
    contact: String,
    columns: Vec<ColumnRow>,
}

fn confirm_page(
    state: &AppState,
    session: &Session,
    id: &str,
    staged: &Staged,
    choices: &Choices,
    error: Option<String>,
) -> Result<Response, PageError> {
    let columns = staged
        .suggestions
        .iter()
        .zip(choices.categories.iter().zip(&choices.indexed))
        .map(|(s, (category, indexed))| ColumnRow {
            position: s.position,
            name: s.column.clone(),
            evidence: s.describe(),
            category: *category,
            indexed: *indexed,
        })
        .collect();
    let status = if error.is_some() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    let page = ConfirmPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        id: id.to_owned(),
        file_name: staged.file_name.clone(),
        error,
        name: choices.name.clone(),
        label: choices.label,
        labels: Label::ALL,
        categories: DataCategory::ALL,
        customers: choices.customers,
        contact: choices.contact.clone(),
        columns,
    };
    Ok((status, render(&page)?).into_response())
}

/// `POST /records/import/{id}`: imports the staged file with the columns
/// as confirmed. On an error (a taken name, a ragged row) nothing is
/// imported and the form comes back with the error and the choices.
async fn import(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    check_csrf(&session, csrf.unwrap_or_default())?;
    let staged = state.staged.get(&id, &session.actor)?;
    let choices = Choices::from_form(&staged, &form)?;
    let result = session
        .vault
        .import_records(
            &session.actor,
            &choices.name,
            staged.spool.reader()?,
            choices.mapping(&staged),
        )
        .await;
    match result {
        Ok(meta) => {
            state.staged.remove(&id);
            Ok(Redirect::to(&format!("/records/{}", urlencode(&meta.name))).into_response())
        }
        Err(
            e @ (confidant_vault::VaultError::InvalidInput(_)
            | confidant_vault::VaultError::Conflict(_)),
        ) => confirm_page(
            &state,
            &session,
            &id,
            &staged,
            &choices,
            Some(e.to_string()),
        ),
        Err(e) => Err(AppError::from(e).into()),
    }
}

#[derive(serde::Deserialize)]
struct CancelForm {
    csrf: String,
}

async fn cancel(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    WebForm(form): WebForm<CancelForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    state.staged.get(&id, &session.actor)?;
    state.staged.remove(&id);
    Ok(Redirect::to("/add").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_come_from_file_names() {
        assert_eq!(set_name_from("Customers 2026.csv"), "customers-2026");
        assert_eq!(set_name_from("west_region.CSV"), "west_region");
        assert_eq!(set_name_from("--a  b--.csv"), "a-b");
        assert_eq!(set_name_from("noext"), "noext");
    }
}
