//! Incidents in the web UI, for the owner and admins: the list, opening
//! one (optionally offboarding the person), and an incident's exposure
//! with counts, a chart of accesses per day (inline SVG), the customers
//! and documents reached, the notices and their delivery, the timeline and
//! the regulator draft with its 72-hour clock; the exposure report and the
//! letters as PDF downloads, bounces uploaded as .eml files, and incidents
//! opened from a delivery (the Trace page's button). Sending notices stays
//! with `confidant incident notices --send`, where the SMTP settings live.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use confidant_vault::VaultError;
use confidant_vault::incidents::{DeliveryIncident, IncidentRequest, IncidentView, LetterScope};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::auth::Session;
use crate::web::{Chrome, PageError, WebForm, render, sentence, when};
use crate::web_people::check_csrf;
use crate::{AppError, AppState};

/// The largest bounce accepted (a delivery status notification is small).
const BOUNCE_UPLOAD_LIMIT: usize = 4 * 1024 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(incidents).post(open))
        .route("/incidents/report.pdf", get(report_pdf))
        .route("/incidents/letters", post(letters))
        .route("/incidents/delivery", post(open_from_delivery))
        .route(
            "/incidents/bounce",
            post(bounce).layer(axum::extract::DefaultBodyLimit::max(
                BOUNCE_UPLOAD_LIMIT + 64 * 1024,
            )),
        )
}

fn pdf(name: String, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

async fn report_pdf(
    session: Session,
    Query(query): Query<IncidentQuery>,
) -> Result<Response, PageError> {
    let id = query
        .id
        .ok_or_else(|| AppError::InvalidInput("which incident? (?id=...)".into()))?;
    let bytes = session
        .vault
        .incident_report_pdf(&session.actor, &id)
        .await?;
    Ok(pdf(format!("exposure-{}.pdf", short(&id)), bytes))
}

/// The first eight characters of an id, for file names.
fn short(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect()
}

#[derive(Deserialize)]
struct LettersForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    all: Option<String>,
}

async fn letters(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<LettersForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let scope = if form.all.is_some() {
        LetterScope::All
    } else {
        LetterScope::Needed
    };
    match session
        .vault
        .notice_letters(&session.actor, &form.id, scope)
        .await
    {
        Ok(export) => Ok(pdf(format!("letters-{}.pdf", short(&form.id)), export.pdf)),
        Err(VaultError::InvalidInput(m)) => shown_back(&state, &session, Some(&form.id), &m).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct DeliveryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    delivery: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    offboard: Option<String>,
}

async fn open_from_delivery(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<DeliveryForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let request = DeliveryIncident {
        delivery: form.delivery.clone(),
        around: time::Duration::hours(24),
        reason: form.reason.clone(),
        aware_at: None,
        offboard: form.offboard.is_some(),
    };
    match session
        .vault
        .open_incident_for_delivery(&session.actor, &request)
        .await
    {
        Ok(view) => Ok(Redirect::to(&format!("/incidents?id={}", view.id)).into_response()),
        Err(VaultError::InvalidInput(m) | VaultError::Conflict(m) | VaultError::NotFound(m)) => {
            shown_back(&state, &session, None, &m).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A bounce uploaded on an incident's page (multipart: `csrf`, `id`,
/// `file`).
async fn bounce(
    State(state): State<AppState>,
    session: Session,
    mut form: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::InvalidInput(format!("the upload is not a valid form: {e}"))
    };
    let mut csrf = String::new();
    let mut id = String::new();
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(bad)?,
            Some("id") => id = field.text().await.map_err(bad)?,
            Some("file") => {
                let bytes = field.bytes().await.map_err(bad)?;
                if bytes.len() > BOUNCE_UPLOAD_LIMIT {
                    return Err(AppError::TooLarge(format!(
                        "a bounce is at most {BOUNCE_UPLOAD_LIMIT} bytes: save only the \
                         delivery status notification"
                    ))
                    .into());
                }
                file = Some(bytes);
            }
            _ => {}
        }
    }
    check_csrf(&session, &csrf)?;
    let incident = Some(id.as_str()).filter(|i| !i.is_empty());
    let error = match file {
        None => "choose the bounce (.eml) to upload".to_owned(),
        Some(bytes) => match session
            .vault
            .record_bounce(&session.actor, &bytes, incident)
            .await
        {
            Ok(outcome) => {
                return Ok(Redirect::to(&format!(
                    "/incidents?id={}#notices",
                    outcome.notice.incident
                ))
                .into_response());
            }
            Err(
                VaultError::InvalidInput(m) | VaultError::Conflict(m) | VaultError::NotFound(m),
            ) => m,
            Err(e) => return Err(e.into()),
        },
    };
    shown_back(&state, &session, incident, &error).await
}

struct Bar {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    label: String,
    short: String,
    count: u32,
}

struct IncidentShown {
    id: String,
    person: String,
    window: String,
    reason: String,
    offboarded: &'static str,
    aware: String,
    due: String,
    clock: String,
    late: bool,
    customers: usize,
    clear: usize,
    masked: usize,
    documents: usize,
    entries: u64,
    categories: Vec<(String, u64)>,
    bars: Vec<Bar>,
    chart_width: u32,
    rows: Vec<(String, String, String, String, String, String)>,
    docs: Vec<String>,
    notices: Vec<(String, String, u32, String, String)>,
    /// Notices bounced or customers without an e-mail address wait for a
    /// letter.
    letters_due: bool,
    timeline: Vec<String>,
    regulator: String,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    chrome: Chrome,
    csrf: String,
    error: Option<String>,
    list: Vec<(String, String)>,
    incident: Option<IncidentShown>,
}

fn cats(set: &std::collections::BTreeSet<confidant_core::DataCategory>) -> String {
    if set.is_empty() {
        "-".into()
    } else {
        set.iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn shown(v: &IncidentView, regulator: String, now: OffsetDateTime) -> IncidentShown {
    let (due, left) = confidant_core::incident::regulator_clock(v.aware_at, now);
    let e = &v.exposure;
    let clear = e.intelligible().count();
    let max = e.by_day.values().copied().max().unwrap_or(1).max(1);
    let bars: Vec<Bar> = e
        .by_day
        .iter()
        .enumerate()
        .map(|(i, (day, n))| {
            let h = (u64::from(*n) * 100 / u64::from(max)).max(1) as u32;
            Bar {
                x: 4 + i as u32 * 28,
                y: 110 - h,
                w: 22,
                h,
                label: day.to_string(),
                short: format!("{:02}-{:02}", u8::from(day.month()), day.day()),
                count: *n,
            }
        })
        .collect();
    IncidentShown {
        id: v.id.to_string(),
        person: match &v.item {
            Some(item) => format!("Everyone's accesses to {item} (but the owner's and admins')"),
            None => v.person_email.clone(),
        },
        window: format!("{} to {}", when(v.since), when(v.until)),
        reason: v.reason.clone(),
        offboarded: if v.offboarded { "yes" } else { "no" },
        aware: when(v.aware_at),
        due: when(due),
        clock: if left.is_negative() {
            format!("late by {} hours", (-left).whole_hours())
        } else {
            format!("{} hours left", left.whole_hours())
        },
        late: left.is_negative(),
        customers: e.customers.len(),
        clear,
        masked: e.customers.len() - clear,
        documents: e.documents.len(),
        entries: e.entries,
        categories: e
            .category_counts()
            .into_iter()
            .map(|(c, n)| (c.as_str().to_owned(), n))
            .collect(),
        chart_width: (bars.len() as u32 * 28 + 8).max(120),
        bars,
        rows: v
            .customers
            .iter()
            .map(|c| {
                (
                    c.set_name
                        .clone()
                        .unwrap_or_else(|| c.exposure.set.to_string()),
                    c.exposure.row.to_string(),
                    cats(&c.exposure.clear),
                    cats(&c.exposure.masked_only),
                    c.exposure
                        .channels
                        .iter()
                        .map(|(ch, n)| format!("{} {n}", ch.words()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    when(c.exposure.last),
                )
            })
            .collect(),
        docs: v
            .documents
            .iter()
            .map(|d| {
                format!(
                    "{}: copied {} times, last {}",
                    d.name.clone().unwrap_or_else(|| d.exposure.id.to_string()),
                    d.exposure.channels.values().sum::<u32>(),
                    when(d.exposure.last)
                )
            })
            .collect(),
        letters_due: v
            .notices
            .iter()
            .any(|n| n.status == confidant_vault::incidents::NoticeStatus::Bounced),
        notices: v
            .notices
            .iter()
            .map(|n| {
                (
                    n.id.to_string(),
                    n.status.as_str().to_owned(),
                    n.attempts,
                    n.sent_at.map(when).unwrap_or_default(),
                    n.last_error.clone().unwrap_or_default(),
                )
            })
            .collect(),
        timeline: v
            .timeline
            .iter()
            .map(|s| format!("{}: {}: {}", when(s.at), s.kind, s.detail))
            .collect(),
        regulator,
    }
}

#[derive(Deserialize)]
struct IncidentQuery {
    id: Option<String>,
}

/// The page again with `message` on it, as a 400: bad input shown back.
async fn shown_back(
    state: &AppState,
    session: &Session,
    id: Option<&str>,
    message: &str,
) -> Result<Response, PageError> {
    page(
        state,
        session,
        id,
        Some(sentence(message)),
        StatusCode::BAD_REQUEST,
    )
    .await
}

async fn page(
    state: &AppState,
    session: &Session,
    id: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let vault = &session.vault;
    let list = vault
        .incidents(&session.actor)
        .await?
        .into_iter()
        .map(|i| {
            (
                i.id.to_string(),
                format!(
                    "{} (opened {}; window {} to {})",
                    i.id,
                    when(i.opened_at),
                    when(i.since),
                    when(i.until)
                ),
            )
        })
        .collect();
    let incident = match id {
        Some(id) => {
            let view = vault.incident(&session.actor, id).await?;
            let draft = vault.regulator_draft(&session.actor, id).await?;
            Some(shown(&view, draft, OffsetDateTime::now_utc()))
        }
        None => None,
    };
    let page = IncidentsPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        error,
        list,
        incident,
    };
    Ok((status, render(&page)?).into_response())
}

async fn incidents(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<IncidentQuery>,
) -> Result<Response, PageError> {
    page(&state, &session, query.id.as_deref(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person: String,
    /// Instead of a person: a document or record set.
    #[serde(default)]
    item: String,
    /// Instead of a person: an enrolled device (a lost laptop).
    #[serde(default)]
    device: String,
    /// With a device: revoke it in the same step.
    #[serde(default)]
    revoke_device: Option<String>,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    offboard: Option<String>,
}

fn day(text: &str, end: bool, what: &str) -> Result<OffsetDateTime, AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text.trim(), &format).map_err(|_| {
        AppError::InvalidInput(format!("{what} {text:?} is not a day such as 2026-11-01"))
    })?;
    let start = day.midnight().assume_utc();
    Ok(if end {
        start + time::Duration::days(1)
    } else {
        start
    })
}

async fn open(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<OpenForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    // Who may open one is the vault's to say, before the form is read.
    session.vault.incidents(&session.actor).await?;
    let item = !form.item.trim().is_empty();
    let device = !form.device.trim().is_empty();
    let request = (|| {
        let named = [!form.person.trim().is_empty(), item, device];
        if named.iter().filter(|n| **n).count() > 1 {
            return Err(AppError::InvalidInput(
                "give the person, the item or the device, only one of them".into(),
            ));
        }
        Ok::<_, AppError>(IncidentRequest {
            person: if item {
                form.item.clone()
            } else {
                form.person.clone()
            },
            since: day(&form.since, false, "the first day")?,
            until: if form.until.trim().is_empty() {
                None
            } else {
                Some(day(&form.until, true, "the last day")?)
            },
            reason: form.reason.clone(),
            aware_at: None,
            offboard: form.offboard.is_some(),
        })
    })();
    let request = match request {
        Ok(r) => r,
        Err(AppError::InvalidInput(m)) => {
            return shown_back(&state, &session, None, &m).await;
        }
        Err(e) => return Err(e.into()),
    };
    let opened = if device {
        session
            .vault
            .open_device_incident(
                &session.actor,
                &form.device,
                &request,
                form.revoke_device.is_some(),
            )
            .await
    } else if item {
        session
            .vault
            .open_item_incident(&session.actor, &request)
            .await
    } else {
        session.vault.open_incident(&session.actor, &request).await
    };
    match opened {
        Ok(view) => Ok(Redirect::to(&format!("/incidents?id={}", view.id)).into_response()),
        Err(VaultError::InvalidInput(m) | VaultError::Conflict(m) | VaultError::NotFound(m)) => {
            shown_back(&state, &session, None, &m).await
        }
        Err(e) => Err(e.into()),
    }
}
