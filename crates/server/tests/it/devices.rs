//! Devices over HTTP: the owner makes an enrollment code on the Devices
//! page, the device (the agent's own signing code) enrolls and reports
//! through the API without signing in, a browser session and an API token
//! are linked to it with one-time codes, and forged or replayed reports
//! are refused with the API's error body.

use anyhow::{Context, Result};
use confidant_agent::identity::DeviceIdentity;
use confidant_protocol::device::{EnrolledDevice, LinkCode, ReportVerdict};
use confidant_protocol::{CheckStatus, PostureReport};
use rand_core::OsRng;

use crate::util::{Browser, TestApp, expect_error, json, json_request, text};

/// A report with these statuses made now on the server's clock.
pub fn report(app: &TestApp, statuses: [CheckStatus; 4]) -> PostureReport {
    confidant_testkit::posture::report(app.vault.now(), statuses)
}

pub use confidant_testkit::posture::{NO_FIREWALL, PASS};

/// The code in `<code id="ID">... CODE</code>` of a page.
pub fn code_in(page: &str, id: &str) -> Result<String> {
    let start = page
        .find(&format!("id=\"{id}\""))
        .with_context(|| format!("no #{id} in the page"))?;
    let rest = &page[start..];
    let inner = &rest[rest.find('>').context("tag")? + 1..rest.find("</code>").context("end")?];
    Ok(inner
        .split_whitespace()
        .last()
        .context("empty command")?
        .to_owned())
}

/// Enrolls a device for `email` with a code from the owner's Devices page.
pub async fn enroll(app: &TestApp, owner: &mut Browser, email: &str) -> Result<DeviceIdentity> {
    let csrf = owner.session_csrf(app).await?;
    let page = owner
        .post_form(
            app,
            "/devices/enroll",
            &[("csrf", &csrf), ("person", email)],
            None,
        )
        .await?;
    assert_eq!(page.status(), 200);
    let page = text(page).await?;
    assert!(page.contains("confidant agent enroll http://"), "{page}");
    let code = code_in(&page, "enroll-command")?;
    let mut identity = DeviceIdentity::generate("http://localhost", &mut OsRng);
    let request = identity.enroll_request(&code, "alex-laptop", "linux");
    let response = app
        .send(json_request(
            "POST",
            "/api/v1/devices/enroll",
            None,
            &serde_json::to_value(&request)?,
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    let enrolled: EnrolledDevice = json(response).await?;
    assert_eq!(enrolled.person, email);
    identity.device = enrolled.device;
    Ok(identity)
}

/// Signs and sends a report; the raw response.
pub async fn send_report(
    app: &TestApp,
    identity: &mut DeviceIdentity,
    statuses: [CheckStatus; 4],
) -> Result<axum::response::Response> {
    let signed = identity.sign_report(&report(app, statuses), app.vault.now())?;
    app.send(json_request(
        "POST",
        "/api/v1/devices/report",
        None,
        &serde_json::to_value(&signed)?,
    )?)
    .await
}

/// Links a browser session to the device: "Link this browser" on the
/// Devices page, then the device signs the code it shows.
pub async fn link_browser(
    app: &TestApp,
    browser: &mut Browser,
    identity: &DeviceIdentity,
) -> Result<()> {
    let csrf = browser.session_csrf(app).await?;
    let page = browser
        .post_form(app, "/devices/link-code", &[("csrf", &csrf)], None)
        .await?;
    let page = text(page).await?;
    let code = code_in(&page, "link-command")?;
    let response = app
        .send(json_request(
            "POST",
            "/api/v1/devices/link",
            None,
            &serde_json::to_value(identity.link_request(&code))?,
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    let page = text(browser.get(app, "/devices").await?).await?;
    assert!(page.contains("This session is linked"), "{page}");
    Ok(())
}

#[tokio::test]
async fn devices_enroll_report_and_link_over_http() -> Result<()> {
    let app = TestApp::new().await?;
    let alex = app
        .add_member(
            "alex@example.com",
            "Alex Doe",
            confidant_core::Role::Assistant,
        )
        .await?;
    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let mut laptop = enroll(&app, &mut owner, "alex@example.com").await?;

    // A failing report is taken; the answer says what to fix per label.
    let response = send_report(&app, &mut laptop, NO_FIREWALL).await?;
    assert_eq!(response.status(), 200);
    let verdict: ReportVerdict = json(response).await?;
    assert_eq!(verdict.labels[0].label, "confidential");
    assert!(!verdict.labels[0].ok);
    assert!(verdict.labels[0].steps[0].contains("run: fix-firewall"));

    // Replayed, forged and unsigned reports get the API's error body.
    let signed = laptop.sign_report(&report(&app, PASS), app.vault.now())?;
    let body = serde_json::to_value(&signed)?;
    let first = app
        .send(json_request("POST", "/api/v1/devices/report", None, &body)?)
        .await?;
    assert_eq!(first.status(), 200);
    let again = app
        .send(json_request("POST", "/api/v1/devices/report", None, &body)?)
        .await?;
    assert!(
        expect_error(again, 403, "forbidden")
            .await?
            .contains("replay")
    );
    let mut forged = laptop.sign_report(&report(&app, PASS), app.vault.now())?;
    forged.body = forged.body.replace("alex-laptop", "another-host");
    let response = app
        .send(json_request(
            "POST",
            "/api/v1/devices/report",
            None,
            &serde_json::to_value(&forged)?,
        )?)
        .await?;
    assert!(
        expect_error(response, 403, "forbidden")
            .await?
            .contains("does not verify")
    );
    let mut unsigned =
        serde_json::to_value(laptop.sign_report(&report(&app, PASS), app.vault.now())?)?;
    unsigned["signature"] = serde_json::json!("");
    let response = app
        .send(json_request(
            "POST",
            "/api/v1/devices/report",
            None,
            &unsigned,
        )?)
        .await?;
    assert!(
        expect_error(response, 403, "forbidden")
            .await?
            .contains("not signed")
    );
    let response = app
        .send(json_request(
            "POST",
            "/api/v1/devices/report",
            None,
            &serde_json::json!({"device": "nonsense"}),
        )?)
        .await?;
    assert_eq!(response.status(), 400, "a body missing fields is bad input");

    // An API token linked with a code it asked for.
    let token = app.token_of(&alex).await?;
    let response = app
        .send(json_request(
            "POST",
            "/api/v1/devices/link-code",
            Some(&token),
            &serde_json::json!({}),
        )?)
        .await?;
    let code: LinkCode = json(response).await?;
    let response = app
        .send(json_request(
            "POST",
            "/api/v1/devices/link",
            None,
            &serde_json::to_value(laptop.link_request(&code.code))?,
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    let mine: Vec<confidant_protocol::device::DeviceInfo> = json(
        app.send(crate::util::request(
            "GET",
            "/api/v1/devices",
            Some(&token),
            axum::body::Body::empty(),
        )?)
        .await?,
    )
    .await?;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status, "pass");

    // The owner's Devices page lists it; a revoke refuses its reports.
    let page = text(owner.get(&app, "/devices").await?).await?;
    assert!(
        page.contains("alex-laptop") && page.contains("alex@example.com"),
        "{page}"
    );
    let csrf = owner.session_csrf(&app).await?;
    let response = owner
        .post_form(
            &app,
            "/devices/revoke",
            &[
                ("csrf", &csrf),
                ("device", &laptop.device),
                ("reason", "lost"),
            ],
            None,
        )
        .await?;
    assert_eq!(response.status(), 303);
    let response = send_report(&app, &mut laptop, PASS).await?;
    assert!(
        expect_error(response, 403, "forbidden")
            .await?
            .contains("revoked")
    );

    // Only the owner sets the posture policy; a bad one says why.
    let response = app
        .send(json_request(
            "PUT",
            "/api/v1/devices/policy",
            Some(&token),
            &serde_json::json!({"requirements": "none", "max_age_hours": 12}),
        )?)
        .await?;
    assert_eq!(response.status(), 403);
    let owner_token = app.token().await?;
    let response = app
        .send(json_request(
            "PUT",
            "/api/v1/devices/policy",
            Some(&owner_token),
            &serde_json::json!({"requirements": "antivirus=public", "max_age_hours": 12}),
        )?)
        .await?;
    assert!(
        expect_error(response, 400, "invalid_input")
            .await?
            .contains("firewall")
    );
    Ok(())
}
