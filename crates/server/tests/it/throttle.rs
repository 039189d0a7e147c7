//! Brute force and account enumeration: an unknown account and a known one
//! get the same status and body for a wrong password, on the API and the
//! web; repeated failures are slowed down (429 with Retry-After) per
//! account and per client address, known or not.

use std::net::SocketAddr;

use anyhow::Result;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, header};
use confidant_core::Role;
use time::Duration;

use crate::util::{Browser, EMAIL, PASSWORD, TestApp, bytes, hidden_csrf, json_request, text};

fn api_sign_in(email: &str, password: &str, from: Option<&str>) -> Result<Request<Body>> {
    let body = serde_json::json!({ "email": email, "password": password });
    let mut req = json_request("POST", "/api/v1/tokens", None, &body)?;
    if let Some(ip) = from {
        let addr: SocketAddr = format!("{ip}:40000").parse()?;
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    Ok(req)
}

/// Status, Retry-After and body of a response.
async fn seen(response: Response<Body>) -> Result<(u16, Option<u64>, String)> {
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = String::from_utf8(bytes(response).await?)?;
    Ok((status, retry, body))
}

#[tokio::test]
async fn the_api_answers_alike_for_unknown_and_known_accounts() -> Result<()> {
    let app = TestApp::with_two_workspaces().await?;
    // An invited person (no password yet) and an offboarded one.
    let owner = app.vault.owner().await?;
    app.vault
        .invite(
            &owner,
            "invited@example.com",
            "In Vited",
            Role::Vendor,
            None,
        )
        .await?;
    let gone = app
        .add_member("gone@example.com", "Gone Away", Role::Assistant)
        .await?;
    app.vault.offboard(&owner, &gone.email, "left").await?;

    let mut answers = Vec::new();
    for (email, password) in [
        (EMAIL, "wrong password here"),
        ("nobody@example.com", "wrong password here"),
        ("not an address", "wrong password here"),
        ("invited@example.com", "wrong password here"),
        (gone.email.as_str(), gone.password.as_str()),
        // The other workspace's owner with this workspace owner's password.
        (crate::util::OTHER_EMAIL, PASSWORD),
    ] {
        let (status, retry, body) =
            seen(app.send(api_sign_in(email, password, None)?).await?).await?;
        assert!(!body.contains(email), "the address is not echoed");
        answers.push((status, retry, body));
    }
    let first = &answers[0];
    assert_eq!(first.0, 401);
    assert!(first.2.contains("password is wrong"), "{}", first.2);
    for answer in &answers {
        assert_eq!(answer, first, "every wrong sign-in looks the same");
    }
    Ok(())
}

#[tokio::test]
async fn the_api_throttles_unknown_and_known_accounts_alike() -> Result<()> {
    let app = TestApp::new().await?;
    let mut last = Vec::new();
    for email in [EMAIL, "nobody@example.com"] {
        for _ in 0..3 {
            let (status, _, _) = seen(
                app.send(api_sign_in(email, "wrong password here", None)?)
                    .await?,
            )
            .await?;
            assert_eq!(status, 401, "{email}");
        }
        let (status, retry, body) = seen(
            app.send(api_sign_in(email, "wrong password here", None)?)
                .await?,
        )
        .await?;
        assert_eq!(status, 429, "{email}");
        assert_eq!(retry, Some(1), "{email}");
        assert!(body.contains("\"error\":\"rate_limited\""), "{body}");
        last.push((status, retry, body));
    }
    assert_eq!(
        last[0], last[1],
        "a throttled unknown account looks the same"
    );
    // While throttled even the right password is turned away...
    let (status, _, _) = seen(app.send(api_sign_in(EMAIL, PASSWORD, None)?).await?).await?;
    assert_eq!(status, 429);
    // ... and the wait grows with each failure after it ends.
    app.clock.advance(Duration::seconds(1));
    let (status, _, _) = seen(
        app.send(api_sign_in(EMAIL, "wrong password here", None)?)
            .await?,
    )
    .await?;
    assert_eq!(status, 401);
    let (status, retry, _) = seen(
        app.send(api_sign_in(EMAIL, "wrong password here", None)?)
            .await?,
    )
    .await?;
    assert_eq!((status, retry), (429, Some(2)));
    // After the wait, the right password (and code) work again.
    app.clock.advance(Duration::seconds(2));
    app.token().await?;
    Ok(())
}

#[tokio::test]
async fn one_client_address_guessing_many_accounts_is_throttled() -> Result<()> {
    let app = TestApp::new().await?;
    let guesser = "192.0.2.7";
    for n in 0..3 {
        let email = format!("guess{n}@example.com");
        let req = api_sign_in(&email, "wrong password here", Some(guesser))?;
        assert_eq!(app.send(req).await?.status(), 401);
    }
    // A fresh account from the same address waits; from another address
    // it does not.
    let req = api_sign_in("fresh@example.com", "wrong password here", Some(guesser))?;
    let (status, retry, _) = seen(app.send(req).await?).await?;
    assert_eq!((status, retry), (429, Some(1)));
    let req = api_sign_in(
        "fresh@example.com",
        "wrong password here",
        Some("198.51.100.9"),
    )?;
    assert_eq!(app.send(req).await?.status(), 401);
    // The owner at the guesser's address waits too (the guesser could be
    // trying them); from their own address they sign in.
    let req = api_sign_in(EMAIL, PASSWORD, Some(guesser))?;
    assert_eq!(app.send(req).await?.status(), 429);
    let req = api_sign_in(EMAIL, PASSWORD, Some("203.0.113.5"))?;
    let (status, _, body) = seen(app.send(req).await?).await?;
    assert_eq!(status, 401);
    assert!(body.contains("second_factor_required"), "{body}");
    Ok(())
}

/// Signs in through the web form with a wrong password; returns the
/// status, Retry-After and the page with the address and the form's token
/// taken out (the form keeps both, for another try).
async fn web_attempt(app: &TestApp, email: &str) -> Result<(u16, Option<u64>, String)> {
    let mut browser = Browser::default();
    let csrf = browser.open_login(app).await?;
    let fields = [
        ("email", email),
        ("password", "wrong password here"),
        ("csrf", csrf.as_str()),
    ];
    let response = browser.post_form(app, "/login", &fields, None).await?;
    assert!(browser.cookie("confidant_session").is_none());
    assert!(browser.cookie("confidant_pending").is_none());
    let (status, retry, html) = seen(response).await?;
    assert_eq!(hidden_csrf(&html)?, csrf, "the same form can be sent again");
    Ok((
        status,
        retry,
        html.replace(email, "EMAIL").replace(&csrf, "CSRF"),
    ))
}

#[tokio::test]
async fn the_web_form_answers_and_throttles_alike() -> Result<()> {
    let app = TestApp::new().await?;
    let known = web_attempt(&app, EMAIL).await?;
    let unknown = web_attempt(&app, "nobody@example.com").await?;
    assert_eq!(known.0, 401);
    assert!(known.2.contains("password is wrong"), "{}", known.2);
    assert_eq!(known, unknown, "the same page for an unknown account");
    for email in [EMAIL, "nobody@example.com"] {
        for _ in 0..2 {
            assert_eq!(web_attempt(&app, email).await?.0, 401);
        }
    }
    let known = web_attempt(&app, EMAIL).await?;
    let unknown = web_attempt(&app, "nobody@example.com").await?;
    assert_eq!((known.0, known.1), (429, Some(1)), "{}", known.2);
    assert!(known.2.contains("too many failed sign-ins") || known.2.contains("Too many"));
    assert_eq!(known, unknown, "the same page for an unknown account");
    Ok(())
}

#[tokio::test]
async fn wrong_codes_are_throttled_too() -> Result<()> {
    let app = TestApp::new().await?;
    let mut browser = Browser::default();
    browser
        .post_password(&app, &app.owner.email, &app.owner.password)
        .await?;
    for _ in 0..3 {
        let response = browser.post_code(&app, "000000").await?;
        assert_eq!(response.status(), 401);
        assert!(text(response).await?.contains("code is wrong"));
    }
    let code = app.fresh_code(&app.owner.secret)?;
    // The clock moved 30 s: the 1 s wait is over; fail once more.
    let response = browser.post_code(&app, "000000").await?;
    assert_eq!(response.status(), 401);
    let response = browser.post_code(&app, &code).await?;
    let (status, retry, html) = seen(response).await?;
    assert_eq!((status, retry), (429, Some(2)), "{html}");
    assert!(browser.cookie("confidant_session").is_none());
    app.clock.advance(Duration::seconds(2));
    let response = browser.post_code(&app, &code).await?;
    assert_eq!(response.status(), 303, "the right code after the wait");
    Ok(())
}
