//! People through the web UI, end to end: invite, accept (password and
//! authenticator), sign out, sign in with a code or a recovery code,
//! offboard, and the offboarded session refused.

use anyhow::{Context, Result};
use axum::body::Body;
use confidant_core::PersonStatus;
use confidant_protocol::PersonDetailInfo;

use crate::util::{Browser, TestApp, hidden_csrf, json, location, request, set_cookies, text};

const ALEX: &str = "alex@example.com";
const ALEX_PASSWORD: &str = "velvet lantern orbit mosaic";

/// The text between `start` and the next `end` after it.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Result<&'a str> {
    let from = html
        .find(start)
        .with_context(|| format!("no {start:?} in the page"))?
        + start.len();
    let to = html[from..]
        .find(end)
        .with_context(|| format!("no {end:?} after {start:?}"))?;
    Ok(&html[from..from + to])
}

/// The owner invites through the people page's form; returns the link's
/// path (`/join/cfd_...`).
pub async fn invite_through_the_form(
    app: &TestApp,
    owner: &mut Browser,
    email: &str,
    name: &str,
    role: &str,
) -> Result<String> {
    let page = owner.get(app, "/people").await?;
    assert_eq!(page.status(), 200);
    let csrf = hidden_csrf(&text(page).await?)?;
    let fields = [
        ("email", email),
        ("name", name),
        ("role", role),
        ("csrf", csrf.as_str()),
    ];
    let response = owner.post_form(app, "/people", &fields, None).await?;
    assert_eq!(response.status(), 200);
    let html = text(response).await?;
    assert!(html.contains(&format!("{name} is invited")), "{html}");
    let link = between(
        &html,
        "id=\"invite-link\" type=\"text\" readonly value=\"",
        "\"",
    )?;
    let path = link
        .strip_prefix("http://127.0.0.1:8080")
        .with_context(|| format!("the link is on the public address: {link}"))?;
    assert!(path.starts_with("/join/cfd_"), "{path}");
    Ok(path.to_owned())
}

/// Alex's status, read through the vault.
async fn status_of(app: &TestApp, email: &str) -> Result<PersonStatus> {
    let owner = app.vault.owner().await?;
    let people = app.vault.people(&owner).await?;
    Ok(people
        .iter()
        .find(|p| p.email == email)
        .context("the person is listed")?
        .status)
}

#[tokio::test]
async fn invite_accept_sign_in_and_offboard_through_the_web() -> Result<()> {
    let app = TestApp::new().await?;
    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let link = invite_through_the_form(&app, &mut owner, ALEX, "Alex Doe", "assistant").await?;
    let html = text(owner.get(&app, "/people").await?).await?;
    assert!(
        html.contains(ALEX) && html.contains("status-invited"),
        "{html}"
    );

    // The link page: who invited whom, a QR code and the secret to type.
    let mut alex = Browser::default();
    let page = alex.get(&app, &link).await?;
    assert_eq!(page.status(), 200);
    let html = text(page).await?;
    assert!(
        html.contains("Olive Owner invited <strong>Alex Doe</strong>"),
        "{html}"
    );
    assert!(html.contains("an assistant"));
    assert!(html.contains("<svg"), "a QR code, inline");
    let secret = between(&html, "id=\"totp-secret\">", "</code>")?.to_owned();
    assert_eq!(
        between(&html, "name=\"secret\" value=\"", "\"")?,
        secret,
        "the form sends the secret shown"
    );
    assert!(!html.contains("<script"));

    // Mistakes show the form again with a clear message and the same
    // secret, and change nothing.
    let code = app.code_now(&secret)?;
    let mismatched = "velvet lantern orbit mosaics";
    for (password, again, code, status, message) in [
        (
            "password1234",
            "password1234",
            code.as_str(),
            400,
            "too easy to guess",
        ),
        ("short", "short", code.as_str(), 400, "at least 12"),
        (
            ALEX_PASSWORD,
            mismatched,
            code.as_str(),
            400,
            "The two passwords differ",
        ),
        (
            ALEX_PASSWORD,
            ALEX_PASSWORD,
            "000000",
            400,
            "does not match",
        ),
        (ALEX_PASSWORD, ALEX_PASSWORD, "", 400, "does not match"),
    ] {
        let fields = [
            ("password", password),
            ("password_again", again),
            ("secret", secret.as_str()),
            ("code", code),
        ];
        let response = alex.post_form(&app, &link, &fields, None).await?;
        assert_eq!(response.status(), status, "{password}/{code}");
        let html = text(response).await?;
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(html.contains(message), "{message}: {html}");
        assert!(html.contains(&secret), "the same secret again");
        assert!(
            !html.contains(password) || password == "short",
            "never echoed"
        );
        assert!(alex.cookie("confidant_session").is_none());
        assert_eq!(status_of(&app, ALEX).await?, PersonStatus::Invited);
    }
    assert_eq!(alex.get(&app, &link).await?.status(), 200, "still valid");

    // Accepting: ten recovery codes, shown once, and signed in.
    let fields = [
        ("password", ALEX_PASSWORD),
        ("password_again", ALEX_PASSWORD),
        ("secret", secret.as_str()),
        ("code", code.as_str()),
    ];
    let response = alex.post_form(&app, &link, &fields, None).await?;
    assert_eq!(response.status(), 200);
    let html = text(response).await?;
    let list = between(&html, "id=\"recovery-codes\">", "</ol>")?;
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .filter_map(|c| c.split("</code>").next())
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{html}");
    assert!(codes.iter().all(|c| c.len() == 19), "{codes:?}");
    assert!(alex.cookie("confidant_session").is_some());
    assert_eq!(status_of(&app, ALEX).await?, PersonStatus::Active);
    let html = text(alex.get(&app, "/").await?).await?;
    assert!(
        html.contains("Alex Doe") && html.contains("assistant"),
        "{html}"
    );
    assert!(!html.contains(&codes[0]), "the codes are shown only once");

    // The link is used up, for viewing and for posting.
    let mut stranger = Browser::default();
    let response = stranger.get(&app, &link).await?;
    assert_eq!(response.status(), 403);
    assert!(text(response).await?.contains("not valid"));
    let response = stranger.post_form(&app, &link, &fields, None).await?;
    assert_eq!(response.status(), 403);
    assert!(stranger.cookie("confidant_session").is_none());

    // Sign out.
    let csrf = alex.session_csrf(&app).await?;
    let response = alex
        .post_form(&app, "/logout", &[("csrf", &csrf)], None)
        .await?;
    assert_eq!(location(&response), Some("/login"));
    assert_eq!(alex.get(&app, "/").await?.status(), 303);

    // Sign in: the code used at enrollment is spent, even in its window.
    let response = alex.post_password(&app, ALEX, ALEX_PASSWORD).await?;
    assert_eq!(location(&response), Some("/login/code"));
    let response = alex.post_code(&app, &code).await?;
    assert_eq!(response.status(), 401);
    let html = text(response).await?;
    assert!(html.contains("used already"), "{html}");
    assert!(alex.cookie("confidant_session").is_none());
    // A recovery code works (typed in capitals, even).
    let response = alex.post_code(&app, &codes[0].to_uppercase()).await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/"));
    assert_eq!(alex.get(&app, "/").await?.status(), 200);
    let csrf = alex.session_csrf(&app).await?;
    alex.post_form(&app, "/logout", &[("csrf", &csrf)], None)
        .await?;
    // ... once.
    alex.post_password(&app, ALEX, ALEX_PASSWORD).await?;
    let response = alex.post_code(&app, &codes[0]).await?;
    assert_eq!(response.status(), 401);
    let fresh = app.fresh_code(&secret)?;
    let response = alex.post_code(&app, &fresh).await?;
    assert_eq!(location(&response), Some("/"));
    let alex_cookie = alex
        .cookie("confidant_session")
        .context("signed in")?
        .to_owned();

    let token = app.token().await?;
    let alex_id = app
        .vault
        .people(&app.vault.owner().await?)
        .await?
        .into_iter()
        .find(|p| p.email == ALEX)
        .context("listed")?
        .id
        .to_string();
    let uri = format!("/api/v1/people/{alex_id}");
    let detail: PersonDetailInfo = json(
        app.send(request("GET", &uri, Some(&token), Body::empty())?)
            .await?,
    )
    .await?;
    assert!(detail.second_factor);
    assert_eq!(detail.recovery_codes_left, 9);
    assert_eq!(detail.sessions.len(), 1, "{:?}", detail.sessions);

    // The owner offboards Alex from the person page.
    let page = owner.get(&app, &format!("/people/{alex_id}")).await?;
    assert_eq!(page.status(), 200);
    let html = text(page).await?;
    assert!(
        html.contains(&format!("action=\"/people/{alex_id}/offboard\"")),
        "{html}"
    );
    let csrf = hidden_csrf(&html)?;
    let response = owner
        .post_form(
            &app,
            &format!("/people/{alex_id}/offboard"),
            &[("reason", "contract ended"), ("csrf", &csrf)],
            Some("http://localhost"),
        )
        .await?;
    assert_eq!(response.status(), 200);
    let html = text(response).await?;
    assert!(html.contains("Alex Doe is offboarded"), "{html}");
    assert!(html.contains("1 sessions and tokens ended"), "{html}");
    assert_eq!(status_of(&app, ALEX).await?, PersonStatus::Offboarded);

    // Alex's cookie is refused on the very next request, and cleared.
    let response = alex.get(&app, "/").await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/login"));
    assert!(
        set_cookies(&response)
            .iter()
            .any(|c| c.starts_with("confidant_session=;"))
    );
    alex.cookies
        .push(("confidant_session".into(), alex_cookie.clone()));
    assert_eq!(alex.get(&app, "/account").await?.status(), 303);
    // And the password no longer signs in, with the answer of any wrong one.
    let response = alex.post_password(&app, ALEX, ALEX_PASSWORD).await?;
    assert_eq!(response.status(), 401);
    assert!(text(response).await?.contains("password is wrong"));
    // The person page says what happened.
    let html = text(owner.get(&app, &format!("/people/{alex_id}")).await?).await?;
    assert!(html.contains("status-offboarded") && html.contains("contract ended"));
    assert!(!html.contains("/offboard\""), "no second offboard button");
    Ok(())
}

#[tokio::test]
async fn replacing_the_authenticator_needs_a_code_from_the_new_one() -> Result<()> {
    let app = TestApp::new().await?;
    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let page = owner.get(&app, "/account/second-factor").await?;
    assert_eq!(page.status(), 200);
    let html = text(page).await?;
    let secret = between(&html, "name=\"secret\" value=\"", "\"")?.to_owned();
    let csrf = hidden_csrf(&html)?;
    // A wrong code shows the page again with the same secret.
    let fields = [
        ("secret", secret.as_str()),
        ("code", "000000"),
        ("csrf", &csrf),
    ];
    let response = owner
        .post_form(&app, "/account/second-factor", &fields, None)
        .await?;
    assert_eq!(response.status(), 400);
    let html = text(response).await?;
    assert!(
        html.contains("does not match") && html.contains(&secret),
        "{html}"
    );
    // The old authenticator still works (nothing changed).
    let old = app.fresh_code(&app.owner.secret)?;
    let mut other = Browser::default();
    other
        .post_password(&app, &app.owner.email, &app.owner.password)
        .await?;
    assert_eq!(location(&other.post_code(&app, &old).await?), Some("/"));
    // The right code replaces it: new recovery codes, the old app is done.
    let code = app.fresh_code(&secret)?;
    let fields = [
        ("secret", secret.as_str()),
        ("code", code.as_str()),
        ("csrf", &csrf),
    ];
    let response = owner
        .post_form(&app, "/account/second-factor", &fields, None)
        .await?;
    assert_eq!(response.status(), 200);
    let html = text(response).await?;
    assert_eq!(html.matches("<li><code>").count(), 10, "{html}");
    let stale = app.fresh_code(&app.owner.secret)?;
    let mut third = Browser::default();
    third
        .post_password(&app, &app.owner.email, &app.owner.password)
        .await?;
    assert_eq!(third.post_code(&app, &stale).await?.status(), 401);
    let response = third.post_code(&app, &app.owner.recovery_codes[0]).await?;
    assert_eq!(response.status(), 401, "old recovery codes are replaced");
    let fresh = app.fresh_code(&secret)?;
    assert_eq!(location(&third.post_code(&app, &fresh).await?), Some("/"));
    Ok(())
}
