//! The web UI: pages, the sign-in flow, cookies and forgery defences.

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::header;
use confidant_server::ServerOptions;

use crate::util::{
    Browser, EMAIL, PASSWORD, TestApp, WORKSPACE, bytes, hidden_csrf, location, request,
    set_cookies, text,
};

/// Adds a document and a record set through the API.
async fn seed(app: &TestApp, rows: usize) -> Result<String> {
    let token = app.token().await?;
    let uri = "/api/v1/documents?name=%3Cb%3Ebold%3C%2Fb%3E%20plan.txt&label=internal";
    let response = app
        .send(request("POST", uri, Some(&token), Body::from("the plan"))?)
        .await?;
    assert_eq!(response.status(), 201);
    let doc: confidant_protocol::DocumentInfo = crate::util::json(response).await?;
    let mut csv = String::from("name,email\n");
    for i in 0..rows {
        csv.push_str(&format!("Customer {i:03},c{i}@example.com\n"));
    }
    let uri = "/api/v1/record-sets?name=customers&columns=name%3Dname%2Cemail%3Demail&index=email&customers=true";
    let response = app
        .send(request("POST", uri, Some(&token), Body::from(csv))?)
        .await?;
    assert_eq!(response.status(), 201);
    Ok(doc.id)
}

#[tokio::test]
async fn pages_redirect_to_sign_in_without_a_session() -> Result<()> {
    let app = TestApp::new().await?;
    let mut browser = Browser::default();
    for uri in ["/", "/records/customers", "/documents/x"] {
        let response = browser.get(&app, uri).await?;
        assert_eq!(response.status(), 303, "{uri}");
        assert_eq!(location(&response), Some("/login"), "{uri}");
    }
    // A stale cookie is cleared on the way.
    browser
        .cookies
        .push(("confidant_session".into(), "cfd_stale".into()));
    let response = browser.get(&app, "/").await?;
    assert_eq!(location(&response), Some("/login"));
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("confidant_session=;") && c.contains("Max-Age=0"))
    );
    assert!(browser.cookie("confidant_session").is_none());
    Ok(())
}

#[tokio::test]
async fn every_page_carries_the_security_headers() -> Result<()> {
    let app = TestApp::new().await?;
    seed(&app, 3).await?;
    let mut browser = Browser::default();
    let login = browser.get(&app, "/login").await?;
    browser.sign_in(&app).await?;
    let home = browser.get(&app, "/").await?;
    let records = browser.get(&app, "/records/customers").await?;
    let missing = browser.get(&app, "/no/such/page").await?;
    assert_eq!(missing.status(), 404);
    for response in [&login, &home, &records, &missing] {
        let h = response.headers();
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "same-origin");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert!(h[header::CONTENT_TYPE].to_str()?.starts_with("text/html"));
    }
    let html = text(missing).await?;
    assert!(!html.contains("<script"), "no scripts on any page");
    Ok(())
}

#[tokio::test]
async fn signing_in_sets_a_strict_cookie_and_shows_the_home_page() -> Result<()> {
    let app = TestApp::new().await?;
    let doc_id = seed(&app, 3).await?;
    let mut browser = Browser::default();
    let csrf = browser.open_login(&app).await?;
    assert_eq!(csrf.len(), 64);
    assert_eq!(browser.cookie("confidant_login"), Some(csrf.as_str()));

    let fields = [
        ("email", EMAIL),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    let response = browser.post_form(&app, "/login", &fields, None).await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/login/code"));
    assert!(
        browser.cookie("confidant_session").is_none(),
        "the password alone opens nothing"
    );
    let pending = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("confidant_pending=cfd_"))
        .context("no pending sign-in cookie")?;
    assert!(pending.contains("HttpOnly") && pending.contains("SameSite=Strict"));
    let code = app.fresh_code(&app.owner.secret)?;
    let response = browser.post_code(&app, &code).await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/"));
    let cookies = set_cookies(&response);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("confidant_session=cfd_"))
        .context("no session cookie")?;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            session.split("; ").any(|a| a == attribute),
            "{attribute} missing: {session}"
        );
    }
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    assert!(
        browser.cookie("confidant_login").is_none(),
        "the sign-in token is used up"
    );
    assert!(
        browser.cookie("confidant_pending").is_none(),
        "the pending sign-in is used up"
    );
    assert_ne!(
        browser.cookie("confidant_session"),
        Some(&pending["confidant_pending=".len()..pending.find(';').unwrap_or(pending.len())]),
        "a new id at sign-in"
    );

    let response = browser.get(&app, "/").await?;
    assert_eq!(response.status(), 200);
    let html = text(response).await?;
    assert!(html.contains(WORKSPACE));
    assert!(html.contains("Olive Owner") && html.contains(EMAIL));
    assert!(
        html.contains("&#60;b&#62;bold&#60;/b&#62; plan.txt"),
        "names are escaped"
    );
    assert!(!html.contains("<b>bold</b>"));
    assert!(html.contains(&format!("href=\"/documents/{doc_id}\"")));
    assert!(html.contains("href=\"/records/customers\""));
    assert!(html.contains("searchable"), "indexed columns are marked");

    // Signed in, the sign-in page sends you home.
    let response = browser.get(&app, "/login").await?;
    assert_eq!(location(&response), Some("/"));

    // Downloads work with the cookie.
    let response = browser.get(&app, &format!("/documents/{doc_id}")).await?;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()?
            .starts_with("attachment;")
    );
    assert_eq!(bytes(response).await?, b"the plan");
    let response = browser.get(&app, "/documents/unknown.txt").await?;
    assert_eq!(response.status(), 404);
    assert!(text(response).await?.contains("unknown.txt"));

    // Shown in the browser, and made view only from its page.
    let view = format!("/documents/{doc_id}/view");
    let page = text(browser.get(&app, &view).await?).await?;
    assert!(
        page.contains("the plan") && page.contains("Make it view only"),
        "{page}"
    );
    let csrf = browser.session_csrf(&app).await?;
    let response = browser
        .post_form(
            &app,
            &format!("/documents/{doc_id}/view-only"),
            &[("csrf", &csrf), ("view_only", "on")],
            None,
        )
        .await?;
    assert_eq!(location(&response), Some(view.as_str()));
    let page = text(browser.get(&app, &view).await?).await?;
    assert!(page.contains("never offered for download"), "{page}");
    assert!(page.contains("Allow downloads again"), "{page}");

    // The page says what scanning found and what it suggests; the owner
    // sets the label there, and a label that does not exist is refused.
    assert!(page.contains("Found: nothing sensitive found"), "{page}");
    let response = browser
        .post_form(
            &app,
            &format!("/documents/{doc_id}/label"),
            &[("csrf", &csrf), ("label", "restricted")],
            None,
        )
        .await?;
    assert_eq!(location(&response), Some(view.as_str()));
    let page = text(browser.get(&app, &view).await?).await?;
    assert!(
        page.contains("the content suggests <strong>internal</strong>"),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="restricted" selected>"#),
        "{page}"
    );
    let response = browser
        .post_form(
            &app,
            &format!("/documents/{doc_id}/label"),
            &[("csrf", &csrf), ("label", "secret")],
            None,
        )
        .await?;
    assert_eq!(response.status(), 400);
    Ok(())
}

#[tokio::test]
async fn secure_cookies_when_served_over_tls() -> Result<()> {
    let app = TestApp::with_options(ServerOptions {
        secure_cookies: true,
        ..ServerOptions::default()
    })
    .await?;
    let mut browser = Browser::default();
    let csrf = browser.open_login(&app).await?;
    let fields = [
        ("email", EMAIL),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    let response = browser.post_form(&app, "/login", &fields, None).await?;
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("confidant_pending=cfd_") && c.ends_with("; Secure"))
    );
    let code = app.fresh_code(&app.owner.secret)?;
    let response = browser.post_code(&app, &code).await?;
    let cookies = set_cookies(&response);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("confidant_session=cfd_"))
        .context("no session cookie")?;
    assert!(session.ends_with("; Secure"), "{session}");
    Ok(())
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again() -> Result<()> {
    let app = TestApp::new().await?;
    let mut browser = Browser::default();
    let csrf = browser.open_login(&app).await?;
    let fields = [
        ("email", EMAIL),
        ("password", "not the password"),
        ("csrf", csrf.as_str()),
    ];
    let response = browser.post_form(&app, "/login", &fields, None).await?;
    assert_eq!(response.status(), 401);
    assert!(
        set_cookies(&response)
            .iter()
            .all(|c| !c.starts_with("confidant_session"))
    );
    let html = text(response).await?;
    assert!(html.contains("password is wrong"));
    assert!(
        html.contains(&format!("value=\"{EMAIL}\"")),
        "the e-mail is kept"
    );
    assert!(
        !html.contains("not the password"),
        "the password is never echoed"
    );
    // The same form can be sent again.
    assert_eq!(hidden_csrf(&html)?, csrf);
    let fields = [
        ("email", EMAIL),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    let response = browser.post_form(&app, "/login", &fields, None).await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/login/code"));
    Ok(())
}

#[tokio::test]
async fn sign_in_forms_without_the_token_are_refused() -> Result<()> {
    let app = TestApp::new().await?;
    let mut browser = Browser::default();
    // No token at all (a forged form on another site cannot read ours).
    let fields = [("email", EMAIL), ("password", PASSWORD)];
    let response = browser.post_form(&app, "/login", &fields, None).await?;
    assert_eq!(response.status(), 403);
    assert!(browser.cookie("confidant_session").is_none());

    // A token that does not match the cookie.
    browser.open_login(&app).await?;
    let fields = [("email", EMAIL), ("password", PASSWORD), ("csrf", "00")];
    let response = browser.post_form(&app, "/login", &fields, None).await?;
    assert_eq!(response.status(), 403);
    assert!(browser.cookie("confidant_session").is_none());
    Ok(())
}

#[tokio::test]
async fn cross_origin_form_posts_are_refused() -> Result<()> {
    let app = TestApp::new().await?;
    let mut browser = Browser::default();
    let csrf = browser.open_login(&app).await?;
    let fields = [
        ("email", EMAIL),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    let response = browser
        .post_form(&app, "/login", &fields, Some("https://evil.example"))
        .await?;
    assert_eq!(response.status(), 403);
    assert!(text(response).await?.contains("another site"));
    assert!(browser.cookie("confidant_session").is_none());

    browser.sign_in(&app).await?;
    let token = browser
        .cookie("confidant_session")
        .context("signed in")?
        .to_owned();
    let html = text(browser.get(&app, "/").await?).await?;
    let csrf = hidden_csrf(&html)?;
    let response = browser
        .post_form(
            &app,
            "/logout",
            &[("csrf", &csrf)],
            Some("http://evil.example"),
        )
        .await?;
    assert_eq!(response.status(), 403);
    assert_eq!(
        browser.cookie("confidant_session"),
        Some(token.as_str()),
        "still signed in"
    );
    assert_eq!(browser.get(&app, "/").await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn signing_out_needs_the_session_token_and_ends_the_session() -> Result<()> {
    let app = TestApp::new().await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let token = browser
        .cookie("confidant_session")
        .context("signed in")?
        .to_owned();
    let html = text(browser.get(&app, "/").await?).await?;
    let csrf = hidden_csrf(&html)?;

    for fields in [&[][..], &[("csrf", "deadbeef")][..]] {
        let response = browser.post_form(&app, "/logout", fields, None).await?;
        assert_eq!(response.status(), 403);
        assert_eq!(
            browser.get(&app, "/").await?.status(),
            200,
            "still signed in"
        );
    }

    let response = browser
        .post_form(
            &app,
            "/logout",
            &[("csrf", &csrf)],
            Some("http://localhost"),
        )
        .await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/login"));
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("confidant_session=;") && c.contains("Max-Age=0"))
    );
    assert!(browser.cookie("confidant_session").is_none());

    // The token itself is dead, not only forgotten by the browser.
    browser
        .cookies
        .push(("confidant_session".into(), token.clone()));
    assert_eq!(browser.get(&app, "/").await?.status(), 303);
    let response = app
        .send(request(
            "GET",
            "/api/v1/documents",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert_eq!(response.status(), 401);
    Ok(())
}

#[tokio::test]
async fn record_pages_show_rows_a_hundred_at_a_time() -> Result<()> {
    let app = TestApp::new().await?;
    seed(&app, 150).await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;

    let html = text(browser.get(&app, "/records/customers").await?).await?;
    assert!(html.contains("Rows 1–100 of 150"));
    assert_eq!(html.matches("<td>Customer ").count(), 100);
    assert!(html.contains("Customer 000") && html.contains("Customer 099"));
    assert!(!html.contains("Customer 100"));
    assert!(html.contains("href=\"/records/customers?offset=100\""));
    assert!(!html.contains("rel=\"prev\""));

    let html = text(browser.get(&app, "/records/customers?offset=100").await?).await?;
    assert!(html.contains("Rows 101–150 of 150"));
    assert_eq!(html.matches("<td>Customer ").count(), 50);
    assert!(html.contains("c149@example.com"));
    assert!(html.contains("href=\"/records/customers?offset=0\""));
    assert!(!html.contains("rel=\"next\""));

    let html = text(browser.get(&app, "/records/customers?offset=400").await?).await?;
    assert!(html.contains("No rows here: the set has 150."));
    assert!(
        html.contains("href=\"/records/customers?offset=100\""),
        "back to the last page"
    );

    let response = browser.get(&app, "/records/nothing").await?;
    assert_eq!(response.status(), 404);
    Ok(())
}

#[tokio::test]
async fn the_stylesheet_is_served() -> Result<()> {
    let app = TestApp::new().await?;
    let response = app
        .send(request("GET", "/static/style.css", None, Body::empty())?)
        .await?;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()?
            .starts_with("text/css")
    );
    assert!(text(response).await?.contains("--accent"));
    Ok(())
}

#[tokio::test]
async fn the_access_record_page_lists_and_filters_entries() -> Result<()> {
    let app = TestApp::new().await?;
    seed(&app, 3).await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    browser.get(&app, "/records/customers").await?;
    let page = browser.get(&app, "/ledger").await?;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
    let html = text(page).await?;
    assert!(html.contains("the whole record verifies"), "{html}");
    assert!(
        html.contains("sign in") && html.contains("import") && html.contains("record set (3 rows)"),
        "{html}"
    );
    assert!(html.contains(EMAIL), "entries name who acted: {html}");
    // Filtering by a document that does not exist says so.
    let html = text(browser.get(&app, "/ledger?item=nothing-here").await?).await?;
    assert!(html.contains("No document or record set"), "{html}");
    // Only refusals: none yet.
    let html = text(browser.get(&app, "/ledger?denied=1").await?).await?;
    assert!(html.contains("No entries match."), "{html}");
    Ok(())
}

/// The owner opens an incident from the Incidents page: bad input is shown
/// back and creates nothing; a good one offboards the person and shows the
/// exposure, the timeline, the 72-hour clock and the regulator draft.
#[tokio::test]
async fn the_owner_opens_an_incident_in_the_browser() -> Result<()> {
    let app = TestApp::new().await?;
    app.add_member(
        "alex@example.com",
        "Alex Doe",
        confidant_core::Role::Assistant,
    )
    .await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let html = text(browser.get(&app, "/incidents").await?).await?;
    assert!(html.contains("Open an incident"), "{html}");
    let csrf = hidden_csrf(&html)?;
    let bad = browser
        .post_form(
            &app,
            "/incidents",
            &[
                ("csrf", &csrf),
                ("person", "alex@example.com"),
                ("since", "not a day"),
                ("reason", "A laptop was stolen."),
            ],
            None,
        )
        .await?;
    assert_eq!(bad.status(), 400);
    assert!(text(bad).await?.contains("is not a day"));
    let owner = app.vault.owner().await?;
    assert!(app.vault.incidents(&owner).await?.is_empty());
    let since = (time::OffsetDateTime::now_utc() - time::Duration::days(2))
        .date()
        .to_string();
    let opened = browser
        .post_form(
            &app,
            "/incidents",
            &[
                ("csrf", &csrf),
                ("person", "alex@example.com"),
                ("since", &since),
                ("reason", "A laptop was stolen."),
                ("offboard", "yes"),
            ],
            None,
        )
        .await?;
    assert_eq!(opened.status(), 303);
    let to = location(&opened).context("redirect")?.to_owned();
    let html = text(browser.get(&app, &to).await?).await?;
    assert!(html.contains("0 customers reached"), "{html}");
    assert!(html.contains("Offboarded in the same step: yes"), "{html}");
    assert!(html.contains("hours left"), "{html}");
    assert!(html.contains("(a) Nature of the breach"), "{html}");
    assert!(html.contains("offboarded: "), "the timeline: {html}");

    // The exposure report downloads as a PDF; no letter is due.
    let id = to.trim_start_matches("/incidents?id=").to_owned();
    let report = browser
        .get(&app, &format!("/incidents/report.pdf?id={id}"))
        .await?;
    assert_eq!(report.status(), 200);
    assert_eq!(report.headers()[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(report.headers()[header::CACHE_CONTROL], "no-store");
    let bytes = crate::util::bytes(report).await?;
    assert!(bytes.starts_with(b"%PDF-"));
    let csrf = hidden_csrf(&html)?;
    let letters = browser
        .post_form(
            &app,
            "/incidents/letters",
            &[("csrf", &csrf), ("id", &id)],
            None,
        )
        .await?;
    assert_eq!(letters.status(), 400);
    assert!(text(letters).await?.contains("letter is due"));
    // A delivery id that is not one: shown back, nothing opened.
    let bad = browser
        .post_form(
            &app,
            "/incidents/delivery",
            &[("csrf", &csrf), ("delivery", "nope"), ("reason", "x")],
            None,
        )
        .await?;
    assert_eq!(bad.status(), 400);
    assert!(
        text(bad).await?.contains("is not a delivery id"),
        "shown back"
    );
    // A bounce upload that is not a delivery status notification.
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{id}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.eml\"\r\n\
         Content-Type: message/rfc822\r\n\r\nSubject: hello\r\n\r\nhi\r\n--{boundary}--\r\n"
    );
    let mut req = request("POST", "/incidents/bounce", None, Body::from(body))?;
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}").parse()?,
    );
    let bounced = browser.send(&app, req).await?;
    assert_eq!(bounced.status(), 400);
    assert!(
        text(bounced)
            .await?
            .contains("not a delivery status notification"),
        "shown back"
    );
    // An item instead of a person: a record set nobody reached.
    let records = browser
        .post_form(
            &app,
            "/incidents",
            &[
                ("csrf", &csrf),
                ("item", "nothing-called-this"),
                ("since", &since),
                ("reason", "A list was found online."),
            ],
            None,
        )
        .await?;
    assert_eq!(records.status(), 400);
    let shown = text(records).await?;
    assert!(shown.contains("nothing-called-this"), "{shown}");
    assert_eq!(app.vault.incidents(&owner).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_passcodes_page_says_whether_tomorrows_are_sent() -> Result<()> {
    use confidant_vault::schedule::{PasscodeDelivery, ScheduleSettings};
    let app = TestApp::new().await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let page = text(browser.get(&app, "/passcodes").await?).await?;
    assert!(page.contains("not sent automatically"), "{page}");

    let app = TestApp::with_options(ServerOptions {
        schedule: ScheduleSettings {
            passcodes: PasscodeDelivery::Hook,
            passcode_lead: time::Duration::minutes(45),
            ..ScheduleSettings::default()
        },
        ..ServerOptions::default()
    })
    .await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let page = text(browser.get(&app, "/passcodes").await?).await?;
    assert!(
        page.contains("issued 45 minutes before the day ends (18:00 UTC)")
            && page.contains("passcode hook"),
        "{page}"
    );

    // A digest whose hook fails: the page says so, and what to do.
    a_grant_whose_passcodes_are_due(&app).await?;
    let settings = ScheduleSettings {
        passcodes: PasscodeDelivery::Hook,
        passcode_lead: time::Duration::minutes(45),
        ..ScheduleSettings::default()
    };
    let report = app.vault.run_schedule(&settings, &FailingHook).await?;
    assert_eq!(report.runs.len(), 1, "{report:?}");
    let page = text(browser.get(&app, "/passcodes").await?).await?;
    assert!(
        page.contains("could not be delivered (1 tries: the hook exited with status 3)")
            && page.contains("were revoked"),
        "{page}"
    );
    Ok(())
}

/// A grant that needs a passcode, in a workspace whose day ends in half an
/// hour (so tomorrow's passcodes are due now).
async fn a_grant_whose_passcodes_are_due(app: &TestApp) -> Result<()> {
    use confidant_vault::Clock as _;
    let owner = app.vault.owner().await?;
    // The day ends in half an hour, so tomorrow's passcodes are due now.
    let minute =
        (u32::from(app.clock.now().hour()) * 60 + u32::from(app.clock.now().minute()) + 30) % 1440;
    app.vault
        .set_business_day(
            &owner,
            "UTC",
            &format!("{:02}:{:02}", minute / 60, minute % 60),
        )
        .await?;
    app.vault
        .add_document(
            &owner,
            "plan.txt",
            confidant_core::Label::Internal,
            &b"plan"[..],
        )
        .await?;
    app.vault
        .invite(
            &owner,
            "ann@example.com",
            "Ann",
            confidant_core::Role::Assistant,
            None,
        )
        .await?;
    app.vault
        .grant(
            &owner,
            "ann@example.com",
            &confidant_vault::GrantRequest {
                target: confidant_vault::GrantTarget::Document(confidant_vault::DocRef::Name(
                    "plan.txt".into(),
                )),
                actions: [confidant_core::Access::View].into(),
                purpose: "planning".into(),
                until: app.clock.now() + time::Duration::days(7),
                require_passcode: true,
            },
        )
        .await?;
    Ok(())
}

/// The schedule's edge for page tests: a hook that fails.
struct FailingHook;

impl confidant_vault::schedule::ScheduleEdge for FailingHook {
    fn passcode_hook<'a>(
        &'a self,
        _: &'a str,
        _: &'a secrecy::SecretString,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Err("the hook exited with status 3".to_owned()) })
    }
    fn backup(&self) -> futures::future::BoxFuture<'_, Result<String, String>> {
        Box::pin(async { Ok(String::new()) })
    }
}

#[tokio::test]
async fn kept_passcodes_are_shown_on_the_page_once() -> Result<()> {
    use confidant_vault::schedule::{PasscodeDelivery, ScheduleSettings};
    let settings = ScheduleSettings {
        passcodes: PasscodeDelivery::Notify,
        passcode_lead: time::Duration::minutes(45),
        ..ScheduleSettings::default()
    };
    let app = TestApp::with_options(ServerOptions {
        schedule: settings.clone(),
        ..ServerOptions::default()
    })
    .await?;
    a_grant_whose_passcodes_are_due(&app).await?;
    app.vault.run_schedule(&settings, &FailingHook).await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    let page = text(browser.get(&app, "/passcodes").await?).await?;
    assert!(
        page.contains("kept here for you, sealed, to be shown once")
            && page.contains("are ready (1 passcodes issued and kept sealed")
            && page.contains("Show the kept passcodes (once)"),
        "{page}"
    );
    let csrf = crate::util::hidden_csrf(&page)?;
    let shown = text(
        browser
            .post_form(&app, "/passcodes/kept", &[("csrf", csrf.as_str())], None)
            .await?,
    )
    .await?;
    assert!(
        shown.contains("Shown once") && shown.contains("ann@example.com"),
        "{shown}"
    );
    assert!(shown.contains("<code class=\"passcode\">"), "{shown}");
    assert!(!shown.contains("Show the kept passcodes"), "{shown}");
    let again = text(
        browser
            .post_form(&app, "/passcodes/kept", &[("csrf", csrf.as_str())], None)
            .await?,
    )
    .await?;
    assert!(!again.contains("<code class=\"passcode\">"), "{again}");
    Ok(())
}

#[tokio::test]
async fn the_digest_page_shows_the_day_per_person_and_the_alerts() -> Result<()> {
    use confidant_vault::alerts::{AlertRules, AlertSettings, Burst};
    use confidant_vault::schedule::ScheduleSettings;
    let settings = ScheduleSettings {
        alerts: AlertSettings {
            enabled: true,
            rules: AlertRules {
                bulk_rows: None,
                bulk_factor: None,
                working_hours: None,
                wrong_passcodes: None,
                denials: Some(Burst {
                    count: 1,
                    within: time::Duration::minutes(10),
                }),
                ..AlertRules::default()
            },
            email: true,
            webhook: None,
        },
        ..ScheduleSettings::default()
    };
    let app = TestApp::with_options(ServerOptions {
        schedule: settings.clone(),
        ..ServerOptions::default()
    })
    .await?;
    seed(&app, 3).await?;
    let mut browser = Browser::default();
    browser.sign_in(&app).await?;
    browser.get(&app, "/records/customers").await?;
    // A refused sign-in, and the schedule's tick that raises its alert.
    let mut stranger = Browser::default();
    let csrf = stranger.open_login(&app).await?;
    let fields = [
        ("email", EMAIL),
        ("password", "not the password"),
        ("csrf", csrf.as_str()),
    ];
    let response = stranger.post_form(&app, "/login", &fields, None).await?;
    assert_eq!(response.status(), 401);
    let report = app.vault.run_schedule(&settings, &FailingHook).await?;
    assert_eq!(report.runs.len(), 1, "{report:?}");

    let page = browser.get(&app, "/ledger/digest").await?;
    assert_eq!(page.status(), 200);
    let html = text(page).await?;
    assert!(html.contains("Digest of "), "{html}");
    assert!(
        html.contains(EMAIL) && html.contains("<svg class=\"chart\""),
        "{html}"
    );
    assert!(html.contains("email 3"), "rows per category: {html}");
    assert!(html.contains("repeated denials"), "{html}");
    assert!(html.contains("Alerts are listed here only"), "{html}");
    assert!(
        html.contains("repeated refusals: 1 within 10 minutes"),
        "{html}"
    );
    // Another day, and a day that is not one.
    let html = text(browser.get(&app, "/ledger/digest?day=2001-01-01").await?).await?;
    assert!(
        html.contains("Digest of 2001-01-01") && html.contains("Nobody used"),
        "{html}"
    );
    assert!(html.contains("?day=2000-12-31"), "{html}");
    let html = text(browser.get(&app, "/ledger/digest?day=soon").await?).await?;
    assert!(html.contains("is not a date: use YYYY-MM-DD"), "{html}");
    Ok(())
}
