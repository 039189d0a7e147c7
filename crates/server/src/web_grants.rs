//! The grants page: the owner and admins see every grant and request,
//! grant access with a form, approve requests and end grants; everyone
//! else sees their own grants (with what each is for and until when) and
//! can end one. Plain forms, no JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use confidant_protocol::GrantRequestBody;
use confidant_vault::VaultError;
use serde::Deserialize;

use crate::auth::Session;
use crate::web::{Chrome, PageError, WebForm, render, sentence, when};
use crate::web_people::check_csrf;
use crate::{AppError, AppState, wire};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/grants", get(grants).post(grant))
        .route("/grants/requests", post(request))
        .route("/grants/{id}/approve", post(approve))
        .route("/grants/{id}/end", post(end))
        .route("/policies", get(policies).post(set_policies))
}

struct GrantRow {
    id: String,
    person: String,
    item: String,
    actions: String,
    purpose: String,
    status: String,
    requested: bool,
    live: bool,
    reason: Option<String>,
    until: String,
}

#[derive(Template)]
#[template(path = "grants.html")]
struct GrantsPage<'a> {
    chrome: Chrome,
    csrf: String,
    manager: bool,
    /// Assistants, vendors and associates may ask for access.
    may_ask: bool,
    grants: Vec<GrantRow>,
    people: Vec<String>,
    error: Option<&'a str>,
}

async fn page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let manager = session.actor.role.manages_people();
    let now = time::OffsetDateTime::now_utc();
    let grants = session.vault.grants(&session.actor, None).await?;
    let people = if manager {
        session
            .vault
            .people(&session.actor)
            .await?
            .into_iter()
            .filter(|p| {
                !p.role.manages_people() && p.status != confidant_core::PersonStatus::Offboarded
            })
            .map(|p| p.email)
            .collect()
    } else {
        Vec::new()
    };
    let page = GrantsPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        manager,
        may_ask: !manager && session.actor.role != confidant_core::Role::Auditor,
        grants: grants
            .iter()
            .map(|g| {
                let info = wire::grant_info(g, now);
                GrantRow {
                    requested: info.status == "requested",
                    live: info.live,
                    status: if info.status == "active" && !info.live {
                        "expired".to_owned()
                    } else {
                        info.status.clone()
                    },
                    id: info.id,
                    person: info.person,
                    item: info.item,
                    actions: info.actions.join(", "),
                    purpose: info.purpose,
                    reason: info.request_reason,
                    until: when(info.expires_at),
                }
            })
            .collect(),
        people,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn grants(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    Ok(page(&state, &session, StatusCode::OK, None).await?)
}

#[derive(Deserialize)]
struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person: String,
    /// document, folder or records.
    #[serde(default)]
    kind: String,
    /// The document name, folder path or record set name.
    #[serde(default)]
    item: String,
    #[serde(default)]
    columns: String,
    #[serde(default)]
    rows: String,
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    download: Option<String>,
    #[serde(default)]
    export: Option<String>,
    #[serde(default)]
    edit: Option<String>,
    #[serde(default)]
    reveal: Option<String>,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    until: String,
    /// Why the person asks (requests only).
    #[serde(default)]
    reason: String,
    /// The owner asks for the day passcode whatever the item's label.
    #[serde(default)]
    require_passcode: Option<String>,
}

impl GrantForm {
    fn body(&self) -> GrantRequestBody {
        let item = self.item.trim().to_owned();
        let pick = |kind: &str| (self.kind == kind).then(|| item.clone());
        let actions = [
            ("view", &self.view),
            ("download", &self.download),
            ("export", &self.export),
            ("edit", &self.edit),
            ("reveal", &self.reveal),
        ]
        .into_iter()
        .filter(|(_, on)| on.is_some())
        .map(|(name, _)| name.to_owned())
        .collect();
        GrantRequestBody {
            person: self.person.clone(),
            document: pick("document"),
            folder: pick("folder"),
            records: pick("records"),
            columns: self
                .columns
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            rows: Some(self.rows.trim().to_owned()).filter(|r| !r.is_empty()),
            actions,
            purpose: self.purpose.clone(),
            until: self.until.clone(),
            require_passcode: self.require_passcode.is_some(),
            reason: None,
        }
    }
}

/// Where a grant form goes next: back to the list, or the page again with
/// the reason when what was asked is not acceptable.
async fn answer(
    state: &AppState,
    session: &Session,
    outcome: Result<(), VaultError>,
) -> Result<Response, PageError> {
    match outcome {
        Ok(()) => Ok(Redirect::to("/grants").into_response()),
        Err(VaultError::InvalidInput(m) | VaultError::Conflict(m) | VaultError::NotFound(m)) => {
            Ok(page(state, session, StatusCode::BAD_REQUEST, Some(&sentence(&m))).await?)
        }
        Err(e) => Err(e.into()),
    }
}

async fn grant(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<GrantForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let outcome = match wire::grant_request(&form.body()) {
        Ok(request) => session
            .vault
            .grant(&session.actor, &form.person, &request)
            .await
            .map(|_| ()),
        Err(message) => Err(VaultError::InvalidInput(message)),
    };
    answer(&state, &session, outcome).await
}

/// A person asks for access; the owner sees the request with its reason.
async fn request(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<GrantForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let outcome = match wire::grant_request(&form.body()) {
        Ok(request) => session
            .vault
            .request_grant(&session.actor, &request, &form.reason)
            .await
            .map(|_| ()),
        Err(message) => Err(VaultError::InvalidInput(message)),
    };
    answer(&state, &session, outcome).await
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

fn grant_id(id: &str) -> Result<confidant_core::GrantId, AppError> {
    id.parse()
        .map_err(|_| AppError::NotFound("there is no such grant".into()))
}

async fn approve(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    WebForm(form): WebForm<CsrfOnly>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    match session
        .vault
        .approve_grant(&session.actor, grant_id(&id)?)
        .await
    {
        // A request for something that does not exist: the owner reads
        // why on the grants page, and can refuse it there.
        Err(VaultError::InvalidInput(m)) => {
            answer(&state, &session, Err(VaultError::InvalidInput(m))).await
        }
        outcome => {
            outcome?;
            Ok(Redirect::to("/grants").into_response())
        }
    }
}

#[derive(Deserialize)]
struct EndForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn end(
    session: Session,
    Path(id): Path<String>,
    WebForm(form): WebForm<EndForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    session
        .vault
        .end_grant(&session.actor, grant_id(&id)?, &form.reason)
        .await?;
    Ok(Redirect::to("/grants").into_response())
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage<'a> {
    chrome: Chrome,
    csrf: String,
    manager: bool,
    text: String,
    defaults: &'static str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

fn policies_page(
    state: &AppState,
    session: &Session,
    text: String,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, AppError> {
    let page = PoliciesPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        manager: session.actor.role.manages_people(),
        text,
        defaults: confidant_vault::DEFAULT_POLICIES,
        error,
        notice,
    };
    Ok((status, render(&page)?).into_response())
}

/// The owner's own policies: read by the owner, admins and auditors;
/// replaced by the owner and admins after validation against the schema.
async fn policies(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    let text = session.vault.owner_policies(&session.actor).await?;
    Ok(policies_page(
        &state,
        &session,
        text,
        StatusCode::OK,
        None,
        None,
    )?)
}

#[derive(Deserialize)]
struct PoliciesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

async fn set_policies(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<PoliciesForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let text = form.text.replace("\r\n", "\n");
    match session
        .vault
        .set_owner_policies(&session.actor, &text)
        .await
    {
        Ok(count) => Ok(policies_page(
            &state,
            &session,
            text,
            StatusCode::OK,
            None,
            Some(&format!(
                "Saved: {count} policies in force, from the next request on, in every server process."
            )),
        )?),
        // A mistake names its line and column; the text stays in the form
        // and nothing changes.
        Err(VaultError::InvalidInput(m)) => Ok(policies_page(
            &state,
            &session,
            text,
            StatusCode::BAD_REQUEST,
            Some(&sentence(&m)),
            None,
        )?),
        Err(e) => Err(e.into()),
    }
}
