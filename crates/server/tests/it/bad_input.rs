//! Bad input on the web forms: malformed and oversized bodies, invalid
//! UTF-8, missing or stale anti-forgery tokens, replayed, replaced and
//! expired invitation links. Each gets a clear error page and changes
//! nothing (checked through the vault afterwards).

use anyhow::{Context, Result};
use axum::body::Body;
use confidant_core::{PersonStatus, Role};
use time::Duration;

use crate::people::{between, invite_through_the_form};
use crate::util::{Browser, TestApp, form_encode, location, request, text};

/// Everyone in the workspace, as (e-mail, status), by e-mail.
async fn people(app: &TestApp) -> Result<Vec<(String, PersonStatus)>> {
    let owner = app.vault.owner().await?;
    let mut people: Vec<_> = app
        .vault
        .people(&owner)
        .await?
        .into_iter()
        .map(|p| (p.email, p.status))
        .collect();
    people.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(people)
}

fn only_the_owner() -> Vec<(String, PersonStatus)> {
    vec![("owner@example.com".to_owned(), PersonStatus::Active)]
}

#[tokio::test]
async fn malformed_oversized_and_non_utf8_forms_change_nothing() -> Result<()> {
    let app = TestApp::new().await?;
    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let csrf = owner.session_csrf(&app).await?;
    let invite = |fields: &str| format!("{fields}&csrf={csrf}").into_bytes();

    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "a field twice",
            invite("email=a%40example.com&email=b%40example.com&name=Ann&role=assistant"),
            400,
            "duplicate field",
        ),
        (
            "an unknown role",
            invite("email=a%40example.com&name=Ann&role=emperor"),
            400,
            "emperor",
        ),
        (
            "the owner role",
            invite("email=a%40example.com&name=Ann&role=owner"),
            403,
            "cannot manage people of role owner",
        ),
        (
            "no name",
            invite("email=a%40example.com&name=+&role=assistant"),
            400,
            "name is empty",
        ),
        (
            "not an address",
            invite("email=not-an-address&name=Ann&role=assistant"),
            400,
            "e-mail",
        ),
        (
            "a name with invalid UTF-8, raw",
            invite("email=a%40example.com&name=An\u{0}n&role=assistant")
                .into_iter()
                .map(|b| if b == 0 { 0xff } else { b })
                .collect(),
            400,
            "UTF-8",
        ),
        (
            "a name with invalid UTF-8, percent-encoded",
            invite("email=a%40example.com&name=An%FFn&role=assistant"),
            400,
            "UTF-8",
        ),
        (
            "an address with an overlong UTF-8 sequence",
            invite("email=a%C0%AE%40example.com&name=Ann&role=assistant"),
            400,
            "UTF-8",
        ),
        (
            "a body over the limit",
            invite(&format!(
                "email=a%40example.com&name={}&role=assistant",
                "x".repeat(20_000)
            )),
            413,
            "too large",
        ),
    ];
    for (what, body, status, message) in cases {
        let response = owner.post_raw(&app, "/people", body, None).await?;
        assert_eq!(response.status(), status, "{what}");
        let html = text(response).await?;
        assert!(html.contains("<!doctype html>"), "{what}: a page: {html}");
        assert!(html.contains(message), "{what}: {message:?} in {html}");
        assert_eq!(people(&app).await?, only_the_owner(), "{what}");
    }

    // Not a form at all.
    let mut req = request(
        "POST",
        "/people",
        None,
        Body::from(format!(r#"{{"email":"a@example.com","csrf":"{csrf}"}}"#)),
    )?;
    req.headers_mut()
        .insert("content-type", "application/json".parse()?);
    let response = owner.send(&app, req).await?;
    assert_eq!(response.status(), 400);
    assert!(
        text(response)
            .await?
            .contains("application/x-www-form-urlencoded")
    );

    // The sign-in forms too: oversized, and a password that is not UTF-8
    // (never quietly turned into another password).
    let mut browser = Browser::default();
    let login_csrf = browser.open_login(&app).await?;
    let big = format!(
        "email=owner%40example.com&password={}&csrf={login_csrf}",
        "x".repeat(20_000)
    );
    let response = browser
        .post_raw(&app, "/login", big.into_bytes(), None)
        .await?;
    assert_eq!(response.status(), 413);
    let response = browser
        .post_raw(
            &app,
            "/login",
            format!("email=owner%40example.com&password=%FF%FE&csrf={login_csrf}").into_bytes(),
            None,
        )
        .await?;
    assert_eq!(response.status(), 400);
    assert!(browser.cookie("confidant_pending").is_none());
    assert_eq!(people(&app).await?, only_the_owner());
    // Still signed in, still working.
    assert_eq!(owner.get(&app, "/people").await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn forms_without_a_current_csrf_token_are_refused() -> Result<()> {
    let app = TestApp::new().await?;
    let alex = app
        .add_member("alex@example.com", "Alex Doe", Role::Assistant)
        .await?;
    // A token from a session that has ended is stale.
    let mut old = Browser::default();
    old.sign_in(&app).await?;
    let stale = old.session_csrf(&app).await?;
    let csrf = old.session_csrf(&app).await?;
    old.post_form(&app, "/logout", &[("csrf", &csrf)], None)
        .await?;
    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let current = owner.session_csrf(&app).await?;
    assert_ne!(stale, current);
    // One of the owner's sessions to end (an API token).
    app.token().await?;
    let html = text(owner.get(&app, "/account").await?).await?;
    let session_id = between(&html, "action=\"/account/sessions/", "/end\"")?.to_owned();
    let sessions_before = html.matches("/end\"").count();

    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/people".into(),
            vec![
                ("email", "newcomer@example.com"),
                ("name", "New"),
                ("role", "vendor"),
            ],
        ),
        (
            format!("/people/{}/offboard", alex.id),
            vec![("reason", "forged")],
        ),
        (format!("/account/sessions/{session_id}/end"), vec![]),
        (
            "/account/second-factor".into(),
            vec![
                ("secret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
                ("code", "123456"),
            ],
        ),
        ("/logout".into(), vec![]),
    ];
    for (uri, fields) in &forms {
        for token in [
            None,
            Some(stale.as_str()),
            Some(""),
            Some("0".repeat(64).as_str()),
        ] {
            let mut all = fields.clone();
            if let Some(token) = token {
                all.push(("csrf", token));
            }
            let response = owner.post_form(&app, uri, &all, None).await?;
            assert_eq!(response.status(), 403, "{uri} with {token:?}");
            let html = text(response).await?;
            assert!(html.contains("not valid"), "{uri}: {html}");
        }
    }
    // Nothing happened: nobody invited or offboarded, the session lives,
    // the owner is still signed in with the same authenticator.
    assert_eq!(
        people(&app).await?,
        vec![
            ("alex@example.com".to_owned(), PersonStatus::Active),
            ("owner@example.com".to_owned(), PersonStatus::Active),
        ]
    );
    let html = text(owner.get(&app, "/account").await?).await?;
    assert_eq!(html.matches("/end\"").count(), sessions_before);
    assert!(html.contains(&session_id));
    app.token().await?;

    // The code form is bound to its pending sign-in.
    let mut browser = Browser::default();
    browser
        .post_password(&app, &app.owner.email, &app.owner.password)
        .await?;
    let code = app.fresh_code(&app.owner.secret)?;
    for token in ["", "00", stale.as_str()] {
        let response = browser
            .post_form(
                &app,
                "/login/code",
                &[("code", &code), ("csrf", token)],
                None,
            )
            .await?;
        assert_eq!(response.status(), 403);
        assert!(browser.cookie("confidant_session").is_none());
    }
    // The code was not used up by the refused forms.
    assert_eq!(location(&browser.post_code(&app, &code).await?), Some("/"));
    Ok(())
}

#[tokio::test]
async fn replayed_replaced_expired_and_tampered_invitation_links_are_refused() -> Result<()> {
    let app = TestApp::new().await?;
    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let first = invite_through_the_form(&app, &mut owner, "bo@example.com", "Bo", "vendor").await?;
    let second =
        invite_through_the_form(&app, &mut owner, "bo@example.com", "Bo", "vendor").await?;
    let mut bo = Browser::default();
    assert_eq!(bo.get(&app, &first).await?.status(), 403, "replaced");
    let html = text(bo.get(&app, &second).await?).await?;
    let secret = between(&html, "name=\"secret\" value=\"", "\"")?.to_owned();
    let password = "marble kettle summit fern";
    let accept = |secret: &str, code: &str| {
        format!(
            "password={p}&password_again={p}&secret={s}&code={c}",
            p = form_encode(password),
            s = form_encode(secret),
            c = code
        )
        .into_bytes()
    };
    let code = app.code_now(&secret)?;

    // A made-up link, a replaced link, a link that is not even text.
    for link in ["/join/cfd_00", "/join/not-a-token", first.as_str()] {
        let response = bo
            .post_raw(&app, link, accept(&secret, &code), None)
            .await?;
        assert_eq!(response.status(), 403, "{link}");
        assert!(text(response).await?.contains("not valid"));
    }
    let response = bo
        .post_raw(&app, "/join/%FF%FE", accept(&secret, &code), None)
        .await?;
    assert_eq!(response.status(), 400);
    // A secret changed on its way back.
    let response = bo
        .post_raw(&app, &second, accept("not base32!", &code), None)
        .await?;
    assert_eq!(response.status(), 400);
    assert!(text(response).await?.contains("changed on its way back"));
    // Garbage for a form.
    let response = bo
        .post_raw(&app, &second, b"password=a&password=b".to_vec(), None)
        .await?;
    assert_eq!(response.status(), 400);
    assert_eq!(
        people(&app).await?[0],
        ("bo@example.com".to_owned(), PersonStatus::Invited)
    );

    // Accepted once; replayed, it is refused and the password stays.
    let response = bo
        .post_raw(&app, &second, accept(&secret, &code), None)
        .await?;
    assert_eq!(response.status(), 200);
    let mut mallory = Browser::default();
    let other_password = "someone else entirely now";
    let replay = format!(
        "password={p}&password_again={p}&secret={s}&code={c}",
        p = form_encode(other_password),
        s = form_encode(&secret),
        c = app.fresh_code(&secret)?
    );
    let response = mallory
        .post_raw(&app, &second, replay.into_bytes(), None)
        .await?;
    assert_eq!(response.status(), 403);
    assert!(mallory.cookie("confidant_session").is_none());
    let response = mallory
        .post_password(&app, "bo@example.com", other_password)
        .await?;
    assert_eq!(response.status(), 401);
    let response = mallory
        .post_password(&app, "bo@example.com", password)
        .await?;
    assert_eq!(location(&response), Some("/login/code"));

    // An invitation past its 72 hours.
    let late = invite_through_the_form(&app, &mut owner, "cy@example.com", "Cy", "auditor").await?;
    app.clock.advance(Duration::hours(72));
    let mut cy = Browser::default();
    let response = cy.get(&app, &late).await?;
    assert_eq!(response.status(), 403);
    assert!(text(response).await?.contains("expired"));
    let status = people(&app)
        .await?
        .into_iter()
        .find(|(e, _)| e == "cy@example.com")
        .context("cy is listed")?
        .1;
    assert_eq!(status, PersonStatus::Invited);
    Ok(())
}
