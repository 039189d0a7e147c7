//! The owner's Digest page (`/ledger/digest`): what each person opened on
//! one business day, with rows per data category and refusals, a small
//! chart drawn by the server as inline SVG, navigation by day, the alerts
//! raised with their deliveries, and the alert thresholds in effect.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;

use confidant_vault::VaultError;

use crate::AppState;
use crate::auth::Session;
use crate::web::{Chrome, PageError, render, sentence, when};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/ledger/digest", get(digest))
}

#[derive(Deserialize)]
struct DigestQuery {
    #[serde(default)]
    day: String,
}

struct PersonRow {
    email: String,
    /// The e-mail, URL-encoded for the access record's filter.
    link: String,
    opened: u64,
    rows: u64,
    items: u64,
    categories: String,
    denied: u64,
    refused: String,
}

/// One bar of the chart: rows opened (and refusals) by a person.
struct Bar {
    label: String,
    y: u32,
    width: u32,
    denied_width: u32,
    text: String,
}

struct AlertRow {
    raised: String,
    rule: String,
    who: String,
    window: String,
    summary: String,
    mail: String,
    hook: String,
}

#[derive(Template)]
#[template(path = "digest.html")]
struct DigestPage {
    chrome: Chrome,
    day: String,
    previous: String,
    next: String,
    span: String,
    complete: bool,
    error: Option<String>,
    people: Vec<PersonRow>,
    bars: Vec<Bar>,
    chart_height: u32,
    alerts: Vec<AlertRow>,
    rules: Vec<String>,
    delivery: String,
}

const BAR_WIDTH: u32 = 360;

fn join(m: &std::collections::BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{} {v}", k.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The digest of a business day and the alerts (owner, admins, auditors).
async fn digest(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<DigestQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Html<String>, PageError> {
    let Query(query) = query?;
    let vault = &session.vault;
    let actor = &session.actor;
    let asked = query.day.trim();
    let (digest, error) = match vault
        .access_digest(actor, (!asked.is_empty()).then_some(asked))
        .await
    {
        Ok(d) => (d, None),
        Err(VaultError::InvalidInput(m)) => {
            (vault.access_digest(actor, None).await?, Some(sentence(&m)))
        }
        Err(e) => return Err(e.into()),
    };
    let most = digest
        .people
        .iter()
        .map(|p| p.rows + p.denied)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u64| u32::try_from(n * u64::from(BAR_WIDTH) / most).unwrap_or(BAR_WIDTH);
    let bars: Vec<Bar> = digest
        .people
        .iter()
        .take(12)
        .enumerate()
        .map(|(i, p)| Bar {
            label: p.email.clone(),
            y: u32::try_from(i).unwrap_or(0) * 28,
            width: scale(p.rows),
            denied_width: scale(p.denied),
            text: format!("{} rows, {} refused", p.rows, p.denied),
        })
        .collect();
    let chart_height = u32::try_from(bars.len()).unwrap_or(0) * 28;
    let people = digest
        .people
        .iter()
        .map(|p| PersonRow {
            link: crate::web_gates::urlencode(&p.email),
            email: p.email.clone(),
            opened: p.opened,
            rows: p.rows,
            items: p.items,
            categories: join(&p.categories),
            denied: p.denied,
            refused: join(&p.denied_actions),
        })
        .collect();
    let status = |s: Option<confidant_vault::schedule::RunStatus>| {
        s.map_or_else(|| "not configured".to_owned(), |s| s.as_str().to_owned())
    };
    let alerts = vault
        .alerts(actor, 100)
        .await?
        .into_iter()
        .map(|a| AlertRow {
            raised: when(a.raised_at),
            rule: a.rule.as_str().replace('_', " "),
            who: a.email.clone().unwrap_or_else(|| a.subject.clone()),
            window: a.window.clone(),
            summary: a.summary.clone(),
            mail: status(a.mail),
            hook: status(a.hook),
        })
        .collect();
    let settings = &state.options.schedule;
    let alert_settings = &settings.alerts;
    let (rules, delivery) = if alert_settings.enabled && !alert_settings.rules.is_off() {
        let to = match (
            alert_settings.email && settings.smtp.is_some(),
            alert_settings.webhook.is_some(),
        ) {
            (true, true) => "Alerts are e-mailed to the owner and posted to the webhook.",
            (true, false) => "Alerts are e-mailed to the owner.",
            (false, true) => "Alerts are posted to the webhook.",
            (false, false) => "Alerts are listed here only: no [smtp] and no webhook_url.",
        };
        (alert_settings.rules.describe(), to.to_owned())
    } else {
        (
            Vec::new(),
            "Alerts are off ([alerts] enabled = false in confidant.toml).".to_owned(),
        )
    };
    let page = DigestPage {
        chrome: Chrome::signed_in(&state, &session),
        span: format!(
            "{} to {} ({})",
            when(digest.start),
            when(digest.end),
            digest.time_zone
        ),
        day: digest.day,
        previous: digest.previous,
        next: digest.next,
        complete: digest.complete,
        error,
        people,
        bars,
        chart_height,
        alerts,
        rules,
        delivery,
    };
    Ok(render(&page)?)
}
