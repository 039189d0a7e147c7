//! Devices in the web UI: everyone sees their own devices with their last
//! report and exactly what to fix, and links this browser's session to a
//! device (a one-time code the device signs with `confidant agent link`);
//! the owner and admins see every device per person, make enrollment codes
//! (shown once), revoke devices and set the posture policy. Plain forms.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use confidant_core::Label;
use confidant_core::device::{POSTURE_CHECKS, PosturePolicy};
use confidant_vault::DeviceView;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::auth::Session;
use crate::web::{Chrome, PageError, WebForm, render, when};
use crate::web_people::check_csrf;
use crate::{AppError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/devices", get(devices))
        .route("/devices/link-code", post(link_code))
        .route("/devices/enroll", post(enroll))
        .route("/devices/revoke", post(revoke))
        .route("/devices/policy", post(policy))
}

struct CheckRow {
    name: String,
    status: &'static str,
    detail: String,
    fix: String,
}

struct DeviceRow {
    id: String,
    person: String,
    name: String,
    os: String,
    enrolled: String,
    checked: String,
    status: &'static str,
    revoked: bool,
    this_session: bool,
    checks: Vec<CheckRow>,
    /// "Confidential: fix ..." lines for what the device cannot open now.
    blocked: Vec<String>,
}

struct RequirementRow {
    check: &'static str,
    /// The lowest label the check is required for ("" = never).
    label: &'static str,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    chrome: Chrome,
    csrf: String,
    manages: bool,
    linked: bool,
    devices: Vec<DeviceRow>,
    people: Vec<(String, String)>,
    link_code: Option<String>,
    enrollment: Option<(String, String)>,
    public_url: String,
    requirements: Vec<RequirementRow>,
    max_age_hours: u32,
    labels: Vec<&'static str>,
}

fn device_row(view: &DeviceView, current: Option<confidant_core::DeviceId>) -> DeviceRow {
    DeviceRow {
        id: view.id.to_string(),
        person: format!("{} ({})", view.person_name, view.person_email),
        name: view.name.clone(),
        os: view.os.clone(),
        enrolled: when(view.enrolled_at),
        checked: view.checked_at.map(when).unwrap_or_default(),
        status: view.status(),
        revoked: view.revoked_at.is_some(),
        this_session: current == Some(view.id),
        checks: view
            .report
            .as_ref()
            .map(|r| {
                r.checks
                    .iter()
                    .map(|c| CheckRow {
                        name: c.name.replace('_', " "),
                        status: c.status.as_str(),
                        detail: c.detail.clone(),
                        fix: c.fix.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        blocked: if view.revoked_at.is_some() {
            Vec::new()
        } else {
            view.labels
                .iter()
                .filter(|(_, problems)| !problems.is_empty())
                .map(|(label, problems)| {
                    let steps: Vec<String> = problems.iter().map(|p| p.step()).collect();
                    format!("{} items: {}", capitalized(*label), steps.join("; "))
                })
                .collect()
        },
    }
}

fn capitalized(label: Label) -> String {
    let text = label.as_str();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

async fn page(
    state: &AppState,
    session: &Session,
    link_code: Option<String>,
    enrollment: Option<(String, String)>,
) -> Result<Response, AppError> {
    let manages = session.actor.role.manages_people();
    let views = session.vault.devices(&session.actor).await?;
    let current = session.actor.device;
    let linked =
        current.is_some_and(|id| views.iter().any(|v| v.id == id && v.revoked_at.is_none()));
    let (people, requirements, max_age_hours) = if manages {
        let people = session
            .vault
            .people(&session.actor)
            .await?
            .into_iter()
            .filter(|p| p.status != confidant_core::PersonStatus::Offboarded)
            .filter(|p| !p.role.manages_people())
            .map(|p| (p.email.clone(), format!("{} ({})", p.name, p.email)))
            .collect();
        let policy = session.vault.posture_policy().await?;
        let requirements = POSTURE_CHECKS
            .into_iter()
            .map(|check| RequirementRow {
                check,
                label: policy.required.get(check).map(|l| l.as_str()).unwrap_or(""),
            })
            .collect();
        (people, requirements, policy.max_age_hours)
    } else {
        (Vec::new(), Vec::new(), 0)
    };
    let page = DevicesPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        manages,
        linked,
        devices: views.iter().map(|v| device_row(v, current)).collect(),
        people,
        link_code,
        enrollment,
        public_url: state.options.public_url.trim_end_matches('/').to_owned(),
        requirements,
        max_age_hours,
        labels: Label::ALL.iter().map(|l| l.as_str()).collect(),
    };
    // Codes are shown once: never cached.
    Ok(([(header::CACHE_CONTROL, "no-store")], render(&page)?).into_response())
}

async fn devices(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    Ok(page(&state, &session, None, None).await?)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn link_code(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let code = session
        .vault
        .new_link_code(&session.actor, &session.token)
        .await?;
    let code = code.code.expose_secret().to_owned();
    Ok(page(&state, &session, Some(code), None).await?)
}

#[derive(Deserialize)]
struct EnrollForm {
    csrf: String,
    #[serde(default)]
    person: String,
}

async fn enroll(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<EnrollForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let (code, email) = session
        .vault
        .new_enrollment_code(&session.actor, &form.person)
        .await?;
    let code = code.code.expose_secret().to_owned();
    Ok(page(&state, &session, None, Some((email, code))).await?)
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    reason: String,
}

async fn revoke(
    session: Session,
    WebForm(form): WebForm<RevokeForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    session
        .vault
        .revoke_device(&session.actor, &form.device, &form.reason)
        .await?;
    Ok(Redirect::to("/devices").into_response())
}

#[derive(Deserialize)]
struct PolicyForm {
    csrf: String,
    #[serde(default)]
    firewall: String,
    #[serde(default)]
    disk_encryption: String,
    #[serde(default)]
    screen_lock: String,
    #[serde(default)]
    os_updates: String,
    #[serde(default)]
    max_age_hours: String,
}

async fn policy(
    session: Session,
    WebForm(form): WebForm<PolicyForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let pairs: Vec<String> = [
        ("firewall", &form.firewall),
        ("disk_encryption", &form.disk_encryption),
        ("screen_lock", &form.screen_lock),
        ("os_updates", &form.os_updates),
    ]
    .into_iter()
    .filter(|(_, label)| !label.trim().is_empty())
    .map(|(check, label)| format!("{check}={}", label.trim()))
    .collect();
    let hours: u32 = form.max_age_hours.trim().parse().map_err(|_| {
        AppError::InvalidInput(format!(
            "{:?} is not a number of hours: say how long a report counts (1 to 168)",
            form.max_age_hours.trim()
        ))
    })?;
    let policy = PosturePolicy::parse(&pairs.join(","), hours)
        .map_err(|e| AppError::InvalidInput(e.to_string()))?;
    session
        .vault
        .set_posture_policy(&session.actor, &policy)
        .await?;
    Ok(Redirect::to("/devices").into_response())
}
