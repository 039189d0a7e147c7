//! The JSON API under `/api/v1`: one handler per route, each a translation
//! of one vault call.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use confidant_core::{Label, Role, parse_column_categories};
use confidant_protocol::{
    DocumentInfo, EndGrantRequest, FindRequest, GrantInfo, GrantRequestBody, InviteRequest,
    InviteResponse, LabelRequest, OffboardRequest, OffboardResponse, PersonDetailInfo, PersonInfo,
    PoliciesBody, RecordPageInfo, RecordSetInfo, RevealRequest, RevealResponse, RotateResponse,
    SessionInfo as ProtoSession, SignInRequest, SignInResponse,
};
use confidant_vault::{ColumnMapping, DocRef, SessionRequest, SignIn, VaultError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tower_http::limit::RequestBodyLimitLayer;

use crate::auth::ApiCaller;
use crate::stream::{Spool, Upload, download};
use crate::{AppError, AppState, wire};

/// The largest JSON body the API reads (sign-in, find).
const JSON_BODY_LIMIT: usize = 64 * 1024;
/// The most rows one page may ask for.
pub(crate) const MAX_PAGE_ROWS: u64 = 1000;

/// `Json` with the API's own error body on rejection.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub(crate) struct ApiJson<T>(pub(crate) T);

/// `Query` with the API's own error body on rejection.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
struct ApiQuery<T>(T);

/// `Path` with the API's own error body on rejection.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub(crate) struct ApiPath<T>(pub(crate) T);

pub(crate) fn routes() -> Router<AppState> {
    // Uploads stream with their own limit (`max_upload_bytes`, checked as
    // the bytes arrive); everything else is small and capped here.
    let uploads = Router::new()
        .route("/api/v1/documents", post(add_document))
        .route(
            "/api/v1/documents/{doc}",
            axum::routing::put(replace_document),
        )
        .route("/api/v1/record-sets", post(import_records))
        .route("/api/v1/column-suggestions", post(suggest_columns));
    let small = Router::new()
        .merge(crate::api_devices::routes())
        .route("/api/v1/tokens", post(sign_in))
        .route("/api/v1/tokens/current", delete(sign_out))
        .route("/api/v1/me", get(me))
        .route("/api/v1/sessions", get(my_sessions))
        .route("/api/v1/sessions/{id}", delete(end_my_session))
        .route("/api/v1/people", get(list_people).post(invite))
        .route("/api/v1/people/{who}", get(show_person))
        .route("/api/v1/people/{who}/offboard", post(offboard))
        .route("/api/v1/grants", get(list_grants).post(create_grant))
        .route("/api/v1/policies", get(get_policies).put(set_policies))
        .route("/api/v1/grants/requests", post(request_grant))
        .route("/api/v1/grants/{id}/approve", post(approve_grant))
        .route("/api/v1/grants/{id}/end", post(end_grant))
        .route("/api/v1/documents", get(list_documents))
        .route(
            "/api/v1/documents/{doc}",
            get(get_document).delete(delete_document),
        )
        .route("/api/v1/documents/{doc}/meta", get(document_meta))
        .route(
            "/api/v1/documents/{doc}/label",
            axum::routing::put(set_label),
        )
        .route("/api/v1/record-sets", get(list_record_sets))
        .route(
            "/api/v1/record-sets/{set}",
            get(show_records).delete(delete_record_set),
        )
        .route("/api/v1/record-sets/{set}/find", post(find_records))
        .route("/api/v1/record-sets/{set}/reveal", post(reveal))
        .route("/api/v1/record-sets/{set}/export", get(export_records))
        .route("/api/v1/keys/rotate", post(rotate_keys))
        .route("/api/v1/agreements", get(my_agreements))
        .route("/api/v1/agreements/{id}/sign", post(sign_agreement))
        .route("/api/v1/passcodes", post(issue_passcode))
        .route("/api/v1/passcodes/enter", post(enter_passcode))
        .layer(RequestBodyLimitLayer::new(JSON_BODY_LIMIT));
    small.merge(uploads).layer(axum::middleware::map_response(
        crate::error::json_error_bodies,
    ))
}

/// `POST /api/v1/tokens`: an API token for the CLI. With a second factor
/// enrolled, `code` is required; without it the answer is 401 with error
/// `second_factor_required`.
async fn sign_in(
    State(state): State<AppState>,
    client: crate::auth::ClientAddr,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<Json<SignInResponse>, AppError> {
    let password = SecretString::from(request.password);
    let label = request
        .label
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| "API token".to_owned());
    let wanted = SessionRequest::api(&label);
    let unauthorized = |e: VaultError| match e {
        VaultError::Forbidden(message) => AppError::Unauthorized(message),
        other => other.into(),
    };
    let (vault, outcome) = state
        .tenants
        .sign_in(&request.email, &password, client.0, &wanted)
        .await
        .map_err(unauthorized)?;
    let issued = match outcome {
        SignIn::Done(issued) => issued,
        SignIn::SecondFactor { pending } => {
            let Some(code) = request.code.filter(|c| !c.trim().is_empty()) else {
                // The half-session is of no use to this client: end it.
                vault.sign_out(&pending).await?;
                return Err(AppError::SecondFactorRequired(
                    "this account needs the code from its authenticator app: send it as `code` \
                     (or a recovery code)"
                        .into(),
                ));
            };
            vault
                .complete_sign_in(&pending, &code, client.0, &wanted)
                .await
                .map_err(unauthorized)?
        }
    };
    Ok(Json(SignInResponse {
        token: issued.token.expose_secret().to_owned(),
        expires_at: issued.expires_at,
        person: wire::actor_info(&issued.actor),
    }))
}

async fn sign_out(caller: ApiCaller) -> Result<StatusCode, AppError> {
    caller.vault.sign_out(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: ApiCaller) -> Json<PersonInfo> {
    Json(wire::actor_info(&caller.actor))
}

async fn my_sessions(caller: ApiCaller) -> Result<Json<Vec<ProtoSession>>, AppError> {
    let sessions = caller.vault.my_sessions(&caller.actor).await?;
    Ok(Json(sessions.iter().map(wire::session_info).collect()))
}

async fn end_my_session(
    caller: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    caller.vault.end_my_session(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_people(caller: ApiCaller) -> Result<Json<Vec<PersonInfo>>, AppError> {
    let people = caller.vault.people(&caller.actor).await?;
    Ok(Json(people.iter().map(wire::person_info).collect()))
}

async fn invite(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(request): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<InviteResponse>), AppError> {
    let role: Role = request
        .role
        .parse()
        .map_err(|e: confidant_core::UnknownRoleError| AppError::InvalidInput(e.to_string()))?;
    let valid_for = request
        .valid_hours
        .map(|h| time::Duration::hours(i64::from(h)));
    let invitation = caller
        .vault
        .invite(
            &caller.actor,
            &request.email,
            &request.name,
            role,
            valid_for,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(InviteResponse {
            person: wire::person_info(&invitation.person),
            invite_url: state.invite_url(invitation.token.expose_secret()),
            expires_at: invitation.expires_at,
        }),
    ))
}

#[derive(Deserialize)]
struct GrantsQuery {
    person: Option<String>,
}

async fn list_grants(
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<GrantsQuery>,
) -> Result<Json<Vec<GrantInfo>>, AppError> {
    let grants = caller
        .vault
        .grants(&caller.actor, query.person.as_deref())
        .await?;
    let now = time::OffsetDateTime::now_utc();
    Ok(Json(
        grants.iter().map(|g| wire::grant_info(g, now)).collect(),
    ))
}

async fn create_grant(
    caller: ApiCaller,
    ApiJson(body): ApiJson<GrantRequestBody>,
) -> Result<(StatusCode, Json<GrantInfo>), AppError> {
    let request = wire::grant_request(&body).map_err(AppError::InvalidInput)?;
    let view = caller
        .vault
        .grant(&caller.actor, &body.person, &request)
        .await?;
    let now = time::OffsetDateTime::now_utc();
    Ok((StatusCode::CREATED, Json(wire::grant_info(&view, now))))
}

async fn request_grant(
    caller: ApiCaller,
    ApiJson(body): ApiJson<GrantRequestBody>,
) -> Result<(StatusCode, Json<GrantInfo>), AppError> {
    let request = wire::grant_request(&body).map_err(AppError::InvalidInput)?;
    let reason = body.reason.clone().unwrap_or_default();
    let view = caller
        .vault
        .request_grant(&caller.actor, &request, &reason)
        .await?;
    let now = time::OffsetDateTime::now_utc();
    Ok((StatusCode::CREATED, Json(wire::grant_info(&view, now))))
}

fn grant_id(text: &str) -> Result<confidant_core::GrantId, AppError> {
    text.parse().map_err(|_| {
        AppError::NotFound("there is no such grant: `confidant grants list` shows them".into())
    })
}

async fn approve_grant(
    caller: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<GrantInfo>, AppError> {
    let view = caller
        .vault
        .approve_grant(&caller.actor, grant_id(&id)?)
        .await?;
    Ok(Json(wire::grant_info(
        &view,
        time::OffsetDateTime::now_utc(),
    )))
}

async fn end_grant(
    caller: ApiCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EndGrantRequest>,
) -> Result<Json<GrantInfo>, AppError> {
    let view = caller
        .vault
        .end_grant(&caller.actor, grant_id(&id)?, &body.reason)
        .await?;
    Ok(Json(wire::grant_info(
        &view,
        time::OffsetDateTime::now_utc(),
    )))
}

async fn reveal(
    caller: ApiCaller,
    ApiPath(set): ApiPath<String>,
    ApiJson(body): ApiJson<RevealRequest>,
) -> Result<Json<RevealResponse>, AppError> {
    let row = body
        .row
        .parse()
        .map_err(|_| AppError::NotFound(format!("no row {:?} in this record set", body.row)))?;
    let value = caller
        .vault
        .reveal(&caller.actor, &set, row, &body.column)
        .await?;
    Ok(Json(RevealResponse { value }))
}

async fn get_policies(caller: ApiCaller) -> Result<Json<PoliciesBody>, AppError> {
    let text = caller.vault.owner_policies(&caller.actor).await?;
    Ok(Json(PoliciesBody { text }))
}

async fn set_policies(
    caller: ApiCaller,
    ApiJson(body): ApiJson<PoliciesBody>,
) -> Result<Json<PoliciesBody>, AppError> {
    caller
        .vault
        .set_owner_policies(&caller.actor, &body.text)
        .await?;
    Ok(Json(body))
}

async fn show_person(
    caller: ApiCaller,
    ApiPath(who): ApiPath<String>,
) -> Result<Json<PersonDetailInfo>, AppError> {
    let detail = caller.vault.person_detail(&caller.actor, &who).await?;
    Ok(Json(wire::person_detail_info(&detail)))
}

async fn offboard(
    caller: ApiCaller,
    ApiPath(who): ApiPath<String>,
    ApiJson(request): ApiJson<OffboardRequest>,
) -> Result<Json<OffboardResponse>, AppError> {
    let done = caller
        .vault
        .offboard(&caller.actor, &who, &request.reason)
        .await?;
    Ok(Json(wire::offboard_info(&done)))
}

async fn list_documents(
    State(_): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<DocumentInfo>>, AppError> {
    let documents = caller.vault.documents(&caller.actor).await?;
    Ok(Json(documents.iter().map(wire::document_info).collect()))
}

#[derive(Deserialize)]
struct AddDocumentQuery {
    name: String,
    label: Option<String>,
}

/// A label from a query or body; `None` when absent.
fn parse_label(label: Option<&str>) -> Result<Option<Label>, AppError> {
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(label) => label
            .parse()
            .map(Some)
            .map_err(|e: confidant_core::UnknownLabelError| AppError::InvalidInput(e.to_string())),
    }
}

/// `PUT /api/v1/documents/{doc}/label`: the owner's label for a document.
async fn set_label(
    caller: ApiCaller,
    ApiPath(doc): ApiPath<String>,
    ApiJson(request): ApiJson<LabelRequest>,
) -> Result<Json<DocumentInfo>, AppError> {
    let label = parse_label(Some(&request.label))?.ok_or_else(|| {
        AppError::InvalidInput(
            "the label is empty: use public, internal, confidential or restricted".into(),
        )
    })?;
    let meta = caller
        .vault
        .set_document_label(&caller.actor, &DocRef::parse(&doc), label)
        .await?;
    Ok(Json(wire::document_info(&meta)))
}

async fn add_document(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<AddDocumentQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DocumentInfo>), AppError> {
    let label = parse_label(query.label.as_deref())?;
    let mut upload = Upload::new(&headers, body, state.options.max_upload_bytes)?;
    let meta = caller
        .vault
        .add_document(&caller.actor, &query.name, label, &mut upload.reader)
        .await
        .map_err(|e| upload.error(e))?;
    Ok((StatusCode::CREATED, Json(wire::document_info(&meta))))
}

async fn replace_document(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(doc): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<DocumentInfo>, AppError> {
    let mut upload = Upload::new(&headers, body, state.options.max_upload_bytes)?;
    let meta = caller
        .vault
        .replace_document(&caller.actor, &DocRef::parse(&doc), &mut upload.reader)
        .await
        .map_err(|e| upload.error(e))?;
    Ok(Json(wire::document_info(&meta)))
}

async fn get_document(
    State(_): State<AppState>,
    caller: ApiCaller,
    ApiPath(doc): ApiPath<String>,
) -> Result<Response, AppError> {
    let (meta, stream) = caller
        .vault
        .open_document(&caller.actor, &DocRef::parse(&doc))
        .await?;
    download(&meta, stream).await
}

async fn document_meta(
    State(_): State<AppState>,
    caller: ApiCaller,
    ApiPath(doc): ApiPath<String>,
) -> Result<Json<DocumentInfo>, AppError> {
    let meta = caller
        .vault
        .document(&caller.actor, &DocRef::parse(&doc))
        .await?;
    Ok(Json(wire::document_info(&meta)))
}

async fn delete_document(
    State(_): State<AppState>,
    caller: ApiCaller,
    ApiPath(doc): ApiPath<String>,
) -> Result<Json<DocumentInfo>, AppError> {
    let meta = caller
        .vault
        .delete_document(&caller.actor, &DocRef::parse(&doc))
        .await?;
    Ok(Json(wire::document_info(&meta)))
}

async fn list_record_sets(
    State(_): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<RecordSetInfo>>, AppError> {
    let sets = caller.vault.record_sets(&caller.actor).await?;
    Ok(Json(sets.iter().map(wire::record_set_info).collect()))
}

#[derive(Deserialize)]
struct ImportQuery {
    name: String,
    /// `column=category,...` for every column of the file.
    columns: String,
    /// Columns to index for exact-match search, comma-separated.
    index: Option<String>,
    #[serde(default)]
    customers: bool,
    contact_column: Option<String>,
    label: Option<String>,
}

fn comma_list(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn import_records(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<RecordSetInfo>), AppError> {
    let categories = parse_column_categories(&query.columns)
        .map_err(|e| AppError::InvalidInput(format!("columns: {e}")))?;
    let mapping = ColumnMapping {
        categories,
        indexed: comma_list(query.index.as_deref()),
        rows_are_customers: query.customers,
        contact_column: query
            .contact_column
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        label: parse_label(query.label.as_deref())?.unwrap_or_default(),
    };
    // The file is spooled first so that a slow client never holds the
    // database's import transaction open.
    let spool = Spool::write(&headers, body, state.options.max_upload_bytes).await?;
    let meta = caller
        .vault
        .import_records(&caller.actor, &query.name, spool.reader()?, mapping)
        .await?;
    Ok((StatusCode::CREATED, Json(wire::record_set_info(&meta))))
}

#[derive(Deserialize)]
struct SuggestQuery {
    /// Rows to sample (default 500, at most 10,000).
    sample: Option<usize>,
}

/// `POST /api/v1/column-suggestions`: the body is a CSV file about to be
/// imported; the answer suggests each column's category from a sample of
/// its values, and the `columns` argument of the import they make.
async fn suggest_columns(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(query): ApiQuery<SuggestQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<confidant_protocol::ColumnSuggestions>, AppError> {
    let sample = query
        .sample
        .unwrap_or(confidant_vault::columns::DEFAULT_SAMPLE);
    if !(1..=10_000).contains(&sample) {
        return Err(AppError::InvalidInput(format!(
            "sample {sample} is out of range: ask for 1 to 10000 rows"
        )));
    }
    let spool = Spool::write(&headers, body, state.options.max_upload_bytes).await?;
    let suggestions = caller
        .vault
        .suggest_import_columns(&caller.actor, spool.reader()?, sample)
        .await?;
    Ok(Json(wire::column_suggestions(&suggestions)))
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    offset: u64,
    limit: Option<u64>,
}

async fn show_records(
    State(_): State<AppState>,
    caller: ApiCaller,
    ApiPath(set): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<RecordPageInfo>, AppError> {
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE_ROWS {
        return Err(AppError::InvalidInput(format!(
            "limit {limit} is out of range: ask for 1 to {MAX_PAGE_ROWS} rows and page with offset"
        )));
    }
    let page = caller
        .vault
        .show_records(&caller.actor, &set, query.offset, limit)
        .await?;
    Ok(Json(wire::record_page_info(&page)))
}

async fn find_records(
    State(_): State<AppState>,
    caller: ApiCaller,
    ApiPath(set): ApiPath<String>,
    ApiJson(request): ApiJson<FindRequest>,
) -> Result<Json<RecordPageInfo>, AppError> {
    let page = caller
        .vault
        .find_records(&caller.actor, &set, &request.column, &request.value)
        .await?;
    Ok(Json(wire::record_page_info(&page)))
}

async fn delete_record_set(
    State(_): State<AppState>,
    caller: ApiCaller,
    ApiPath(set): ApiPath<String>,
) -> Result<Json<RecordSetInfo>, AppError> {
    let meta = caller.vault.delete_record_set(&caller.actor, &set).await?;
    Ok(Json(wire::record_set_info(&meta)))
}

async fn rotate_keys(
    State(_): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<RotateResponse>, AppError> {
    let count = caller.vault.rotate_keys(&caller.actor).await?;
    Ok(Json(RotateResponse {
        rewrapped_keys: u64::try_from(count).unwrap_or(u64::MAX),
    }))
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn my_agreements(
    caller: ApiCaller,
) -> Result<Json<Vec<confidant_protocol::AgreementInfo>>, AppError> {
    let due = caller.vault.my_agreements(&caller.actor).await?;
    Ok(Json(
        due.into_iter()
            .map(|d| confidant_protocol::AgreementInfo {
                id: d.agreement.id.to_string(),
                kind: d.agreement.kind.as_str().to_owned(),
                version: d.agreement.version,
                title: d.agreement.title.clone(),
                text_sha256: hex(&confidant_vault::text_sha256(&d.agreement.text)),
                text: d.agreement.text.clone(),
                signed: d.standing.is_signed(),
                todo: d.standing.blocker(d.agreement.kind),
            })
            .collect(),
    ))
}

async fn sign_agreement(
    caller: ApiCaller,
    client: crate::auth::ClientAddr,
    headers: axum::http::HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<confidant_protocol::SignAgreementRequest>,
) -> Result<(StatusCode, Json<confidant_protocol::SignatureInfo>), AppError> {
    let id = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("no agreement {id:?}")))?;
    let signature = caller
        .vault
        .sign_agreement(
            &caller.actor,
            id,
            &confidant_vault::Signing {
                typed_name: body.typed_name,
                consent: body.consent,
                client: client.0,
                user_agent: headers
                    .get(axum::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(confidant_protocol::SignatureInfo {
            id: signature.id.to_string(),
            kind: signature.kind.as_str().to_owned(),
            version: signature.version,
            text_sha256: hex(&signature.text_sha256),
            typed_name: signature.typed_name,
            signed_at: rfc3339(signature.signed_at),
        }),
    ))
}

async fn issue_passcode(
    caller: ApiCaller,
    ApiJson(body): ApiJson<confidant_protocol::IssuePasscodeRequest>,
) -> Result<(StatusCode, Json<confidant_protocol::IssuedPasscodeInfo>), AppError> {
    let grant = grant_id(&body.grant)?;
    let issued = caller
        .vault
        .issue_passcode(&caller.actor, grant, body.hours)
        .await?;
    use secrecy::ExposeSecret as _;
    Ok((
        StatusCode::CREATED,
        Json(confidant_protocol::IssuedPasscodeInfo {
            passcode: issued.passcode.expose_secret().to_owned(),
            grant: issued.grant.to_string(),
            person: issued.email,
            item: issued.item,
            valid_from: rfc3339(issued.valid_from),
            valid_until: rfc3339(issued.valid_until),
        }),
    ))
}

async fn enter_passcode(
    caller: ApiCaller,
    ApiJson(body): ApiJson<confidant_protocol::EnterPasscodeRequest>,
) -> Result<Json<confidant_protocol::EnterPasscodeResponse>, AppError> {
    let item = match (body.document, body.records) {
        (Some(doc), None) => {
            confidant_vault::PasscodeItem::Document(confidant_vault::DocRef::parse(&doc))
        }
        (None, Some(set)) => confidant_vault::PasscodeItem::RecordSet(set),
        _ => {
            return Err(AppError::InvalidInput(
                "name exactly one item: a document or a record set".into(),
            ));
        }
    };
    let until = caller
        .vault
        .enter_passcode(&caller.actor, &item, &SecretString::from(body.passcode))
        .await?;
    Ok(Json(confidant_protocol::EnterPasscodeResponse {
        open_until: rfc3339(until),
    }))
}

/// `GET /api/v1/record-sets/{set}/export[?format=xlsx]`: the set as CSV
/// or XLSX (the `export` action), stamped for the caller when Confidential
/// or Restricted.
async fn export_records(
    caller: ApiCaller,
    ApiPath(set): ApiPath<String>,
    ApiQuery(query): ApiQuery<crate::web_gates::ExportQuery>,
) -> Result<axum::response::Response, AppError> {
    let format = query.format()?;
    let export = caller
        .vault
        .export_records_as(&caller.actor, &set, format)
        .await?;
    Ok(crate::web_gates::csv_download(export))
}
