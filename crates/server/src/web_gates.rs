//! The gates in the web UI: Agreements (a person reads the full text,
//! types their name and ticks consent; the owner publishes versions, sees
//! who signed what and who is blocked, and downloads signed PDFs) and
//! Passcodes (the owner issues and rotates day passcodes, shown once; a
//! person enters one for an item). Plain forms, no JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use confidant_core::{AgreementKind, Label, Role};
use confidant_vault::{AgreementDraft, Blocker, PasscodeItem, Signing, VaultError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::{ClientAddr, Session};
use crate::web::{Chrome, PageError, WebForm, render, sentence, when};
use crate::web_people::check_csrf;
use crate::{AppError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/agreements", get(agreements))
        .route("/agreements/publish", post(publish))
        .route("/agreements/{id}/sign", post(sign))
        .route("/signatures/{id}/pdf", get(signature_pdf))
        .route("/passcodes", get(passcodes))
        .route("/passcodes/issue", post(issue))
        .route("/passcodes/rotate", post(rotate))
        .route("/passcodes/kept", post(kept))
        .route("/passcode", post(enter))
        .route("/records/{set}/export", get(export))
}

/// The largest file the Trace page takes (a leaked PDF or picture).
pub(crate) const TRACE_UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// Routes that take uploads, with their own body limit (the web forms'
/// limit is a few KiB).
pub(crate) fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/trace", get(trace_form).post(trace))
        .layer(axum::extract::DefaultBodyLimit::max(TRACE_UPLOAD_LIMIT))
}

struct DueRow {
    id: String,
    title: String,
    kind: &'static str,
    verb: &'static str,
    /// "Signed" or "Acknowledged".
    done_word: &'static str,
    version: u32,
    text: String,
    done: bool,
    status: String,
}

struct VersionRow {
    kind: &'static str,
    audience: String,
    version: u32,
    title: String,
    published: String,
    covers: String,
}

struct SignatureRow {
    id: String,
    who: String,
    title: String,
    version: u32,
    typed_name: String,
    signed: String,
    seal_ok: bool,
}

struct BlockedRow {
    who: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "agreements.html")]
struct AgreementsPage<'a> {
    chrome: Chrome,
    csrf: String,
    manager: bool,
    due: Vec<DueRow>,
    versions: Vec<VersionRow>,
    signatures: Vec<SignatureRow>,
    blocked: Vec<BlockedRow>,
    draft_text: String,
    draft_title: String,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

async fn agreements_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, AppError> {
    let vault = &session.vault;
    let actor = &session.actor;
    let manager = actor.role.manages_people();
    let due = vault
        .my_agreements(actor)
        .await?
        .into_iter()
        .map(|d| DueRow {
            id: d.agreement.id.to_string(),
            title: d.agreement.title.clone(),
            kind: d.agreement.kind.as_str(),
            verb: if d.agreement.kind == AgreementKind::Nda {
                "Sign"
            } else {
                "Acknowledge"
            },
            done_word: if d.agreement.kind == AgreementKind::Nda {
                "Signed"
            } else {
                "Acknowledged"
            },
            version: d.agreement.version,
            text: d.agreement.text.clone(),
            done: d.standing.is_signed(),
            status: match d.standing.blocker(d.agreement.kind) {
                None => "done".to_owned(),
                Some(why) => sentence(&why),
            },
        })
        .collect();
    let (versions, signatures, blocked, draft_title, draft_text) = if manager {
        let versions = vault
            .agreement_versions(actor)
            .await?
            .into_iter()
            .rev()
            .map(|a| VersionRow {
                kind: a.kind.as_str(),
                audience: a.audience.to_string(),
                version: a.version,
                title: a.title,
                published: when(a.published_at),
                covers: a.covers.to_string(),
            })
            .collect();
        let signatures = vault
            .signatures(actor)
            .await?
            .into_iter()
            .map(|s| SignatureRow {
                id: s.signature.id.to_string(),
                who: s.email,
                title: s.title,
                version: s.signature.version,
                typed_name: s.signature.typed_name.clone(),
                signed: when(s.signature.signed_at),
                seal_ok: s.seal_ok,
            })
            .collect();
        let blocked = vault
            .blocked_people(actor)
            .await?
            .into_iter()
            .map(|b| BlockedRow {
                who: format!("{} ({})", b.email, b.role),
                reasons: b.reasons.join("; "),
            })
            .collect();
        let (title, text) = vault
            .default_agreement(actor, AgreementKind::Nda, Role::Assistant)
            .await?;
        (versions, signatures, blocked, title, text)
    } else {
        Default::default()
    };
    let page = AgreementsPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        manager,
        due,
        versions,
        signatures,
        blocked,
        draft_text,
        draft_title,
        error,
        notice,
    };
    Ok((status, render(&page)?).into_response())
}

async fn agreements(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    Ok(agreements_page(&state, &session, StatusCode::OK, None, None).await?)
}

#[derive(Deserialize)]
struct SignForm {
    csrf: String,
    #[serde(default)]
    typed_name: String,
    #[serde(default)]
    consent: Option<String>,
}

async fn sign(
    State(state): State<AppState>,
    session: Session,
    client: ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    WebForm(form): WebForm<SignForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let id = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("no agreement {id:?}")))?;
    let signing = Signing {
        typed_name: form.typed_name,
        consent: form.consent.is_some(),
        client: client.0,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    };
    match session
        .vault
        .sign_agreement(&session.actor, id, &signing)
        .await
    {
        Ok(_) => Ok(Redirect::to("/agreements").into_response()),
        Err(VaultError::InvalidInput(m) | VaultError::Conflict(m)) => Ok(agreements_page(
            &state,
            &session,
            StatusCode::BAD_REQUEST,
            Some(&sentence(&m)),
            None,
        )
        .await?),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct PublishForm {
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    covers: String,
    #[serde(default)]
    valid_days: String,
    #[serde(default)]
    grace_days: String,
}

fn draft(form: &PublishForm) -> Result<AgreementDraft, String> {
    let days = |text: &str, what: &str| -> Result<Option<u32>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| format!("{what} {text:?} is not a number of days"))
    };
    Ok(AgreementDraft {
        kind: form.kind.parse().map_err(|e| format!("{e}"))?,
        audience: form.audience.parse().map_err(|e| format!("{e}"))?,
        title: form.title.clone(),
        text: form.text.clone(),
        covers: if form.covers.trim().is_empty() {
            Label::Restricted
        } else {
            form.covers.parse().map_err(|e| format!("{e}"))?
        },
        valid_days: days(&form.valid_days, "the validity")?,
        grace_days: days(&form.grace_days, "the grace period")?.unwrap_or(0),
    })
}

async fn publish(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<PublishForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let result = match draft(&form) {
        Ok(draft) => session
            .vault
            .publish_agreement(&session.actor, &draft)
            .await
            .map_err(|e| match e {
                VaultError::InvalidInput(m) => Ok(m),
                other => Err(other),
            }),
        Err(m) => Err(Ok(m)),
    };
    match result {
        Ok(a) => Ok(agreements_page(
            &state,
            &session,
            StatusCode::OK,
            None,
            Some(&format!(
                "Published version {} of {} for {}s: they sign it before their next access{}.",
                a.version,
                a.kind,
                a.audience,
                if a.grace_days > 0 {
                    format!(" (within {} days)", a.grace_days)
                } else {
                    String::new()
                }
            )),
        )
        .await?),
        Err(Ok(m)) => Ok(agreements_page(
            &state,
            &session,
            StatusCode::BAD_REQUEST,
            Some(&sentence(&m)),
            None,
        )
        .await?),
        Err(Err(e)) => Err(e.into()),
    }
}

async fn signature_pdf(session: Session, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("no signature {id:?}")))?;
    let pdf = session.vault.signature_pdf(&session.actor, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"signature-{id}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}

struct StateRow {
    grant: String,
    who: String,
    item: String,
    valid_until: String,
    next: bool,
    failures: u32,
    locked: bool,
}

struct IssuedRow {
    who: String,
    item: String,
    passcode: String,
    window: String,
}

#[derive(Template)]
#[template(path = "passcodes.html")]
struct PasscodesPage {
    chrome: Chrome,
    csrf: String,
    day: String,
    /// Whether and how tomorrow's passcodes are sent automatically.
    delivery: String,
    /// What became of the latest scheduled digest, if any.
    last_digest: String,
    /// A kept digest waits to be shown.
    kept: bool,
    states: Vec<StateRow>,
    issued: Vec<IssuedRow>,
}

/// The latest scheduled passcode digest, in words (empty when there was
/// none).
async fn last_digest(
    vault: &confidant_vault::Vault,
    actor: &confidant_vault::Actor,
) -> Result<String, AppError> {
    use confidant_vault::schedule::RunStatus;
    let job = confidant_vault::schedule::Job::PasscodeDigest.as_str();
    let runs = vault.schedule_runs(actor, 50).await?;
    let Some(run) = runs.iter().find(|r| r.job == job) else {
        return Ok(String::new());
    };
    let detail = run.detail.clone().unwrap_or_default();
    Ok(match run.status {
        RunStatus::Done if run.sealed => format!(
            "The passcodes for {} are ready ({detail}): show them with the button below, once.",
            run.period
        ),
        RunStatus::Done => format!(
            "The digest for {} went out {}: {detail}.",
            run.period,
            run.finished_at.map(when).unwrap_or_default()
        ),
        RunStatus::Running => format!("The digest for {} is being sent.", run.period),
        RunStatus::Failed => format!(
            "The digest for {} could not be delivered ({} tries: {detail}). Its passcodes were \
             revoked; it is tried again from {} until the day ends, or issue tomorrow's here.",
            run.period,
            run.attempts,
            when(run.next_attempt_at)
        ),
        RunStatus::Uncertain => format!(
            "The digest for {} was handed over, but the server stopped before it heard back, so \
             it is not sent again. If it did not arrive, issue those passcodes here.",
            run.period
        ),
    })
}

async fn passcodes_page(
    state: &AppState,
    session: &Session,
    issued: Vec<confidant_vault::IssuedPasscode>,
) -> Result<Response, AppError> {
    let day = session.vault.business_day().await?;
    let states = session
        .vault
        .passcode_states(&session.actor)
        .await?
        .into_iter()
        .map(|s| StateRow {
            grant: s.grant.to_string(),
            who: s.email,
            item: s.item,
            valid_until: s.valid_until.map(when).unwrap_or_default(),
            next: s.next_issued,
            failures: s.failures,
            locked: s.locked,
        })
        .collect();
    let page = PasscodesPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        day: format!(
            "Business days end at {} ({}).",
            day.ends_at_text(),
            day.time_zone()
        ),
        delivery: state.options.schedule.passcode_delivery_text(&day),
        last_digest: last_digest(&session.vault, &session.actor).await?,
        kept: session
            .vault
            .schedule_runs(&session.actor, 50)
            .await?
            .iter()
            .any(|r| r.job == confidant_vault::schedule::Job::PasscodeDigest.as_str() && r.sealed),
        states,
        issued: issued
            .into_iter()
            .map(|i| IssuedRow {
                who: i.email,
                item: i.item,
                passcode: i.passcode.expose_secret().to_owned(),
                window: format!("{} to {}", when(i.valid_from), when(i.valid_until)),
            })
            .collect(),
    };
    // Passcodes are shown once: never cached.
    Ok(([(header::CACHE_CONTROL, "no-store")], render(&page)?).into_response())
}

async fn passcodes(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    Ok(passcodes_page(&state, &session, Vec::new()).await?)
}

#[derive(Deserialize)]
struct IssueForm {
    csrf: String,
    #[serde(default)]
    grant: String,
    #[serde(default)]
    hours: String,
}

async fn issue(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<IssueForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let grant = form
        .grant
        .parse()
        .map_err(|_| AppError::NotFound(format!("no grant {:?}", form.grant)))?;
    let hours = match form.hours.trim() {
        "" => None,
        h => Some(
            h.parse()
                .map_err(|_| AppError::InvalidInput(format!("{h:?} is not a number of hours")))?,
        ),
    };
    let issued = session
        .vault
        .issue_passcode(&session.actor, grant, hours)
        .await?;
    Ok(passcodes_page(&state, &session, vec![issued]).await?)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// Shows the passcodes the schedule kept for the owner, once.
async fn kept(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let issued = session
        .vault
        .take_passcode_digest(&session.actor)
        .await?
        .map(|(_, issued)| issued)
        .unwrap_or_default();
    Ok(passcodes_page(&state, &session, issued).await?)
}

async fn rotate(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let issued = session.vault.rotate_passcodes(&session.actor).await?;
    Ok(passcodes_page(&state, &session, issued).await?)
}

#[derive(Template)]
#[template(path = "blocked.html")]
struct BlockedPage<'a> {
    chrome: Chrome,
    csrf: String,
    steps: Vec<String>,
    agreements: bool,
    passcode: bool,
    device: bool,
    kind: &'a str,
    item: &'a str,
    error: Option<&'a str>,
}

/// The page for an item the person's grant covers but the gates block:
/// what to do, with the passcode form right there.
pub(crate) fn blocked_page(
    state: &AppState,
    session: &Session,
    blocker: &Blocker,
    kind: &str,
    item: &str,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let page = BlockedPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        steps: blocker.steps.iter().map(|s| sentence(s)).collect(),
        agreements: blocker.agreement || blocker.handbook,
        passcode: blocker.passcode,
        device: blocker.device,
        kind,
        item,
        error,
    };
    Ok((StatusCode::FORBIDDEN, render(&page)?).into_response())
}

#[derive(Deserialize)]
struct EnterForm {
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    passcode: String,
}

async fn enter(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<EnterForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let (item, back) = match form.kind.as_str() {
        "document" => (
            PasscodeItem::Document(confidant_vault::DocRef::parse(&form.item)),
            format!("/documents/{}", urlencode(&form.item)),
        ),
        "records" => (
            PasscodeItem::RecordSet(form.item.clone()),
            format!("/records/{}", urlencode(&form.item)),
        ),
        _ => {
            return Err(AppError::InvalidInput(
                "say which item the passcode is for (a document or a record set)".into(),
            )
            .into());
        }
    };
    let passcode = SecretString::from(form.passcode);
    match session
        .vault
        .enter_passcode(&session.actor, &item, &passcode)
        .await
    {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(e @ (VaultError::InvalidInput(_) | VaultError::RateLimited { .. })) => {
            let blocker = Blocker {
                agreement: false,
                handbook: false,
                passcode: true,
                device: false,
                steps: vec!["enter today's passcode for this item".to_owned()],
            };
            Ok(blocked_page(
                &state,
                &session,
                &blocker,
                &form.kind,
                &form.item,
                Some(&sentence(&e.to_string())),
            )?)
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A CSV export as a download.
pub(crate) fn csv_download(export: confidant_vault::Export) -> Response {
    let file: String = export
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                export.format.content_type().to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        export.bytes,
    )
        .into_response();
    if let Some(delivery) = export.delivery
        && let Ok(value) = delivery.to_string().parse()
    {
        response.headers_mut().insert("x-confidant-delivery", value);
    }
    response
}

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    #[serde(default)]
    format: Option<String>,
}

impl ExportQuery {
    pub(crate) fn format(&self) -> Result<confidant_vault::ExportFormat, VaultError> {
        match &self.format {
            None => Ok(confidant_vault::ExportFormat::Csv),
            Some(f) => confidant_vault::ExportFormat::parse(f),
        }
    }
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    Path(set): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ExportQuery>,
) -> Result<Response, PageError> {
    let format = query.format()?;
    match session
        .vault
        .export_records_as(&session.actor, &set, format)
        .await
    {
        Ok(export) => Ok(csv_download(export)),
        Err(VaultError::Blocked(blocker)) => Ok(blocked_page(
            &state, &session, &blocker, "records", &set, None,
        )?),
        Err(e) => Err(e.into()),
    }
}

struct TracedRow {
    delivery: String,
    /// A delivery of this workspace (an incident can be opened from it).
    known: bool,
    evidence: String,
    recipient: String,
    item: String,
    action: String,
    time: String,
    entry: String,
    proof: String,
}

#[derive(Template)]
#[template(path = "trace.html")]
struct TracePage {
    chrome: Chrome,
    csrf: String,
    traced: Option<Vec<TracedRow>>,
    file: String,
    notes: Vec<String>,
}

async fn trace_form(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    // Who may trace is the vault's to say.
    session.vault.may_trace(&session.actor)?;
    let page = TracePage {
        chrome: Chrome::signed_in(&state, &session),
        csrf: session.csrf(),
        traced: None,
        file: String::new(),
        notes: Vec::new(),
    };
    Ok(render(&page)?.into_response())
}

/// The owner uploads a leaked file (multipart: `csrf`, `file`).
async fn trace(
    State(state): State<AppState>,
    session: Session,
    mut form: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let mut csrf = String::new();
    let mut file = None;
    let mut name = String::new();
    let limit = state
        .options
        .max_upload_bytes
        .min(TRACE_UPLOAD_LIMIT as u64);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::InvalidInput(format!("the upload is not a valid form: {e}")))?
    {
        match field.name() {
            Some("csrf") => {
                csrf = field.text().await.map_err(|e| {
                    AppError::InvalidInput(format!("the upload is not a valid form: {e}"))
                })?;
            }
            Some("file") => {
                name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(|e| {
                    AppError::InvalidInput(format!("the file could not be read: {e}"))
                })?;
                if bytes.len() as u64 > limit {
                    return Err(AppError::TooLarge(format!(
                        "the file is over the upload limit of {limit} bytes"
                    ))
                    .into());
                }
                file = Some(bytes);
            }
            _ => {}
        }
    }
    check_csrf(&session, &csrf)?;
    let Some(bytes) = file else {
        return Err(AppError::InvalidInput("choose the leaked file to trace".into()).into());
    };
    let report = session
        .vault
        .trace(
            &session.actor,
            Some(&name).filter(|n| !n.is_empty()).map(String::as_str),
            &bytes,
        )
        .await?;
    let traced = report
        .deliveries
        .iter()
        .map(|d| TracedRow {
            delivery: d.delivery.to_string(),
            known: d.sent.is_some(),
            evidence: d.evidence.join("; "),
            recipient: d.sent.as_ref().map_or_else(
                || "unknown: not a delivery of this workspace".to_owned(),
                |s| format!("{} <{}>", s.name, s.email),
            ),
            item: d.sent.as_ref().map(|s| s.item.clone()).unwrap_or_default(),
            action: d
                .sent
                .as_ref()
                .map(|s| s.entry.action.to_string())
                .unwrap_or_default(),
            time: d
                .sent
                .as_ref()
                .map(|s| s.entry.time.to_string())
                .unwrap_or_default(),
            entry: d
                .sent
                .as_ref()
                .map(|s| format!("#{}", s.index))
                .unwrap_or_default(),
            proof: d
                .sent
                .as_ref()
                .map_or_else(String::new, |s| match &s.proof {
                    Ok(p) => format!("verified in the signed tree of {} entries", p.size),
                    Err(why) => format!("not yet: {why}"),
                }),
        })
        .collect();
    let page = TracePage {
        chrome: Chrome::signed_in(&state, &session),
        csrf: session.csrf(),
        traced: Some(traced),
        file: name,
        notes: report.notes,
    };
    Ok(render(&page)?.into_response())
}
