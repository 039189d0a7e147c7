//! The web UI's people pages: signing in (password, then the second
//! factor), accepting an invitation (password and authenticator in one
//! step, recovery codes shown once), the people list with the invite form,
//! a person's page with the offboard button, and one's own account
//! (sessions, second factor).
//!
//! Every form works without JavaScript. Forms of a signed-in person carry
//! the session's anti-forgery token; the sign-in forms carry a token bound
//! to a cookie (or to the pending sign-in); an invitation form is bound to
//! the link's own secret.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use confidant_core::{PersonStatus, Role};
use confidant_vault::{
    InvitationView, PersonDetail, SessionInfo, SessionRequest, SignIn, TotpSetup, VaultError,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::{
    ClientAddr, LOGIN_COOKIE, PENDING_COOKIE, SESSION_COOKIE, Session, clear_cookie, cookie,
    csrf_token, random_token, set_cookie, tokens_match,
};
use crate::web::{Chrome, PageError, WebForm, render, sentence, when};
use crate::{AppError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/code", get(code_form).post(code))
        .route("/logout", post(logout))
        .route("/join/{token}", get(join_form).post(join))
        .route("/people", get(people).post(invite))
        .route("/people/{id}", get(person))
        .route("/people/{id}/offboard", post(offboard))
        .route("/account", get(account))
        .route("/account/stamps", post(set_stamps))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/second-factor", get(enroll_form).post(enroll))
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| {
            // A short, readable label: the product tokens a person knows.
            let known = ["Firefox", "Edg", "Chrome", "Safari"];
            let browser = known
                .iter()
                .find(|k| ua.contains(*k))
                .map_or("browser", |k| if *k == "Edg" { "Edge" } else { k });
            let os = ["Windows", "Mac OS", "Android", "iPhone", "Linux"]
                .iter()
                .find(|k| ua.contains(*k))
                .copied()
                .unwrap_or("");
            format!("{browser} {os}").trim().to_owned()
        })
        .unwrap_or_else(|| "browser".to_owned())
}

fn with_cookies(mut response: Response, cookies: Vec<axum::http::HeaderValue>) -> Response {
    for c in cookies {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// `Retry-After` (whole seconds, at least 1) on a throttled page, as the
/// API sends it.
fn with_retry_after(mut response: Response, wait: time::Duration) -> Response {
    let seconds = wait.whole_seconds().max(1);
    if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

// Signing in.

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    chrome: Chrome,
    csrf: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

/// What the sign-in pages show as the workspace: its name when the server
/// has one, nothing when it hosts several (a page before sign-in must not
/// tell one tenant about another).
fn anonymous_chrome(state: &AppState) -> Chrome {
    Chrome {
        workspace: (state.tenants.len() == 1)
            .then(|| state.tenants.first().workspace_name().to_owned()),
        user: None,
    }
}

/// The sign-in form with a fresh anti-forgery token (kept in a cookie and
/// in a hidden field; a forged form cannot know it).
fn login_page(
    state: &AppState,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
    csrf: Option<&str>,
) -> Result<Response, AppError> {
    let fresh;
    let csrf = match csrf {
        Some(csrf) => csrf,
        None => {
            fresh = random_token()?;
            &fresh
        }
    };
    let page = LoginPage {
        chrome: anonymous_chrome(state),
        csrf,
        email,
        error,
    };
    let mut response = (status, render(&page)?).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, csrf, state.options.secure_cookies)?,
    );
    Ok(response)
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && state
            .tenants
            .authenticate(&SecretString::from(token), false)
            .await
            .is_ok()
    {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(login_page(&state, StatusCode::OK, "", None, None)?)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    WebForm(form): WebForm<LoginForm>,
) -> Result<Response, PageError> {
    let password = SecretString::from(form.password);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !tokens_match(&expected, &form.csrf) {
        let message =
            "The sign-in form expired or did not come from this site. Please sign in again.";
        return Ok(login_page(
            &state,
            StatusCode::FORBIDDEN,
            &form.email,
            Some(message),
            None,
        )?);
    }
    let request = SessionRequest::web(&user_agent(&headers));
    let secure = state.options.secure_cookies;
    match state
        .tenants
        .sign_in(&form.email, &password, client.0, &request)
        .await
    {
        Ok((_, SignIn::Done(issued))) => Ok(with_cookies(
            Redirect::to("/").into_response(),
            vec![
                set_cookie(SESSION_COOKIE, issued.token.expose_secret(), secure)?,
                clear_cookie(LOGIN_COOKIE, secure),
            ],
        )),
        Ok((_, SignIn::SecondFactor { pending })) => Ok(with_cookies(
            Redirect::to("/login/code").into_response(),
            vec![
                set_cookie(PENDING_COOKIE, pending.expose_secret(), secure)?,
                clear_cookie(LOGIN_COOKIE, secure),
            ],
        )),
        Err(VaultError::Forbidden(message)) => Ok(login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            &form.email,
            Some(&sentence(&message)),
            Some(&expected),
        )?),
        Err(VaultError::RateLimited {
            message,
            retry_after,
        }) => Ok(with_retry_after(
            login_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &form.email,
                Some(&sentence(&message)),
                Some(&expected),
            )?,
            retry_after,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage<'a> {
    chrome: Chrome,
    csrf: &'a str,
    error: Option<&'a str>,
}

async fn code_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(pending) = cookie(&headers, PENDING_COOKIE) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let csrf = csrf_token(&SecretString::from(pending));
    let page = CodePage {
        chrome: anonymous_chrome(&state),
        csrf: &csrf,
        error: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

async fn code(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    WebForm(form): WebForm<CodeForm>,
) -> Result<Response, PageError> {
    let secure = state.options.secure_cookies;
    let Some(pending) = cookie(&headers, PENDING_COOKIE) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let pending = SecretString::from(pending);
    let csrf = csrf_token(&pending);
    if !tokens_match(&csrf, &form.csrf) {
        return Err(PageError::from(AppError::Forbidden(
            "the code form is not valid (it may be from another site): sign in again".into(),
        )));
    }
    let request = SessionRequest::web(&user_agent(&headers));
    let again = |status: StatusCode, message: &str| -> Result<Response, AppError> {
        let page = CodePage {
            chrome: anonymous_chrome(&state),
            csrf: &csrf,
            error: Some(message),
        };
        Ok((status, render(&page)?).into_response())
    };
    match state
        .tenants
        .complete_sign_in(&pending, &form.code, client.0, &request)
        .await
    {
        Ok((_, issued)) => Ok(with_cookies(
            Redirect::to("/").into_response(),
            vec![
                set_cookie(SESSION_COOKIE, issued.token.expose_secret(), secure)?,
                clear_cookie(PENDING_COOKIE, secure),
            ],
        )),
        Err(VaultError::Forbidden(message)) if message.contains("sign in again") => {
            let response = login_page(
                &state,
                StatusCode::UNAUTHORIZED,
                "",
                Some(&sentence(&message)),
                None,
            )?;
            Ok(with_cookies(
                response,
                vec![clear_cookie(PENDING_COOKIE, secure)],
            ))
        }
        Err(VaultError::Forbidden(message)) => {
            Ok(again(StatusCode::UNAUTHORIZED, &sentence(&message))?)
        }
        Err(VaultError::RateLimited {
            message,
            retry_after,
        }) => Ok(with_retry_after(
            again(StatusCode::TOO_MANY_REQUESTS, &sentence(&message))?,
            retry_after,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(crate) fn check_csrf(session: &Session, given: &str) -> Result<(), AppError> {
    if tokens_match(&session.csrf(), given) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "the form is not valid (it may be old, or from another site): reload the page and \
             try again"
                .into(),
        ))
    }
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, PageError> {
    let Some(token) = cookie(&headers, SESSION_COOKIE) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let token = SecretString::from(token);
    if !tokens_match(&csrf_token(&token), &form.csrf) {
        return Err(PageError::from(AppError::Forbidden(
            "the sign-out form is not valid (it may be from another site): reload the page and \
             sign out again"
                .into(),
        )));
    }
    state.tenants.sign_out(&token).await?;
    Ok(with_cookies(
        Redirect::to("/login").into_response(),
        vec![clear_cookie(SESSION_COOKIE, state.options.secure_cookies)],
    ))
}

// Invitations.

/// A QR code of `text` as inline SVG (no script, no external image).
fn qr_svg(text: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| AppError::Internal(format!("making the QR code failed: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // The XML declaration is not allowed inside HTML.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage<'a> {
    chrome: Chrome,
    token: &'a str,
    invitation: &'a InvitationView,
    role_words: &'static str,
    expires: String,
    secret: &'a str,
    qr: String,
    error: Option<&'a str>,
}

fn role_words(role: Role) -> &'static str {
    match role {
        Role::Owner => "the workspace owner",
        Role::Admin => "an admin: you will manage people and data",
        Role::Assistant => "an assistant: you will see what the owner grants you, for its purpose",
        Role::Vendor => "a vendor: you will see what the owner grants you, for its purpose",
        Role::Associate => "an associate: you will see what the owner grants you, for its purpose",
        Role::Auditor => {
            "an auditor: you will read the access record and reports, no customer data"
        }
    }
}

fn join_page(
    status: StatusCode,
    token: &str,
    invitation: &InvitationView,
    setup: &TotpSetup,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let page = JoinPage {
        chrome: Chrome {
            workspace: Some(invitation.workspace_name.clone()),
            user: None,
        },
        token,
        invitation,
        role_words: role_words(invitation.role),
        expires: when(invitation.expires_at),
        secret: setup.secret.expose_secret(),
        qr: qr_svg(setup.uri.expose_secret())?,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn join_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let secret = SecretString::from(token.clone());
    let vault = state.tenants.vault_of_invitation(&secret).await?;
    let invitation = vault.invitation(&secret).await?;
    let setup = vault.new_totp_setup(&invitation.email)?;
    Ok(join_page(
        StatusCode::OK,
        &token,
        &invitation,
        &setup,
        None,
    )?)
}

#[derive(Deserialize)]
struct JoinForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    chrome: Chrome,
    heading: &'static str,
    codes: Vec<String>,
}

async fn join(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    WebForm(form): WebForm<JoinForm>,
) -> Result<Response, PageError> {
    let secret_token = SecretString::from(token.clone());
    let vault = state.tenants.vault_of_invitation(&secret_token).await?;
    let invitation = vault.invitation(&secret_token).await?;
    // On a mistake the same authenticator secret is shown again, so an
    // app that scanned it keeps working.
    let setup = match vault.totp_setup_for(&invitation.email, &form.secret) {
        Ok(setup) => setup,
        Err(_) => vault.new_totp_setup(&invitation.email)?,
    };
    if form.password != form.password_again {
        return Ok(join_page(
            StatusCode::BAD_REQUEST,
            &token,
            &invitation,
            &setup,
            Some("The two passwords differ. Type the same password twice."),
        )?);
    }
    let password = SecretString::from(form.password);
    let request = SessionRequest::web(&user_agent(&headers));
    match vault
        .accept_invitation(
            &secret_token,
            &password,
            &form.secret,
            &form.code,
            client.0,
            &request,
        )
        .await
    {
        Ok(welcome) => {
            let page = RecoveryCodesPage {
                chrome: Chrome {
                    workspace: Some(vault.workspace_name().to_owned()),
                    user: None,
                },
                heading: "Welcome: you are signed in",
                codes: welcome
                    .recovery_codes
                    .iter()
                    .map(|c| c.expose_secret().to_owned())
                    .collect(),
            };
            let response = render(&page)?.into_response();
            Ok(with_cookies(
                response,
                vec![set_cookie(
                    SESSION_COOKIE,
                    welcome.session.token.expose_secret(),
                    state.options.secure_cookies,
                )?],
            ))
        }
        Err(VaultError::InvalidInput(message)) => Ok(join_page(
            StatusCode::BAD_REQUEST,
            &token,
            &invitation,
            &setup,
            Some(&sentence(&message)),
        )?),
        Err(e) => Err(e.into()),
    }
}

// People.

struct PersonRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage<'a> {
    chrome: Chrome,
    csrf: String,
    people: Vec<PersonRow>,
    roles: Vec<&'static str>,
    error: Option<&'a str>,
    form_email: &'a str,
    form_name: &'a str,
    form_role: &'a str,
}

fn roles_for(actor_role: Role) -> Vec<&'static str> {
    Role::ALL
        .into_iter()
        .filter(|r| actor_role.may_manage(*r))
        .map(Role::as_str)
        .collect()
}

async fn people_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    error: Option<&str>,
    form: Option<&InviteForm>,
) -> Result<Response, AppError> {
    let people = session.vault.people(&session.actor).await?;
    let page = PeoplePage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        people: people
            .iter()
            .map(|p| PersonRow {
                id: p.id.to_string(),
                name: p.name.clone(),
                email: p.email.clone(),
                role: p.role.as_str(),
                status: p.status.as_str(),
            })
            .collect(),
        roles: roles_for(session.actor.role),
        error,
        form_email: form.map_or("", |f| f.email.as_str()),
        form_name: form.map_or("", |f| f.name.as_str()),
        form_role: form.map_or("assistant", |f| f.role.as_str()),
    };
    Ok((status, render(&page)?).into_response())
}

async fn people(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    Ok(people_page(&state, &session, StatusCode::OK, None, None).await?)
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Template)]
#[template(path = "invited.html")]
struct InvitedPage {
    chrome: Chrome,
    name: String,
    email: String,
    role: &'static str,
    link: String,
    expires: String,
}

async fn invite(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<InviteForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let role = match form.role.parse::<Role>() {
        Ok(role) => role,
        Err(e) => {
            return Ok(people_page(
                &state,
                &session,
                StatusCode::BAD_REQUEST,
                Some(&sentence(&e.to_string())),
                Some(&form),
            )
            .await?);
        }
    };
    match session
        .vault
        .invite(&session.actor, &form.email, &form.name, role, None)
        .await
    {
        Ok(invitation) => {
            let page = InvitedPage {
                chrome: Chrome::signed_in(&state, &session),
                name: invitation.person.name.clone(),
                email: invitation.person.email.clone(),
                role: invitation.person.role.as_str(),
                link: state.invite_url(invitation.token.expose_secret()),
                expires: when(invitation.expires_at),
            };
            Ok(render(&page)?.into_response())
        }
        Err(VaultError::InvalidInput(m) | VaultError::Conflict(m)) => Ok(people_page(
            &state,
            &session,
            StatusCode::BAD_REQUEST,
            Some(&sentence(&m)),
            Some(&form),
        )
        .await?),
        Err(e) => Err(e.into()),
    }
}

struct SessionRow {
    id: String,
    kind: &'static str,
    label: String,
    created: String,
    last_used: String,
    expires: String,
}

fn session_rows(sessions: &[SessionInfo]) -> Vec<SessionRow> {
    sessions
        .iter()
        .map(|s| SessionRow {
            id: s.id.clone(),
            kind: if s.api { "API token" } else { "web" },
            label: s.label.clone(),
            created: when(s.created_at),
            last_used: when(s.last_used_at),
            expires: when(s.expires_at),
        })
        .collect()
}

struct EntryRow {
    time: String,
    action: String,
    about: String,
    decision: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    email: String,
    role: &'static str,
    status: &'static str,
    active: bool,
    created: String,
    second_factor: bool,
    codes_left: u64,
    offboarded: Option<String>,
    reason: Option<String>,
    may_offboard: bool,
    sessions: Vec<SessionRow>,
    recent: Vec<EntryRow>,
    /// For the owner and admins: what the person can reach now, from the
    /// same decisions every read makes, and what blocks them.
    reach: Option<Vec<(String, String)>>,
    blockers: Vec<String>,
}

fn person_page(state: &AppState, session: &Session, detail: PersonDetail) -> PersonPage {
    let person = &detail.person;
    PersonPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        id: person.id.to_string(),
        name: person.name.clone(),
        email: person.email.clone(),
        role: person.role.as_str(),
        status: person.status.as_str(),
        active: person.status != PersonStatus::Offboarded,
        created: when(detail.created_at),
        second_factor: detail.has_second_factor,
        codes_left: detail.recovery_codes_left,
        offboarded: detail.offboarded_at.map(when),
        reason: detail.offboard_reason.clone(),
        may_offboard: person.status != PersonStatus::Offboarded
            && person.id != session.actor.person
            && session.actor.role.may_manage(person.role),
        sessions: session_rows(&detail.sessions),
        recent: detail
            .recent
            .iter()
            .map(|(_, e)| EntryRow {
                time: when(e.time.to_datetime()),
                action: e.action.to_string().replace('_', " "),
                about: e.target.id.kind().to_string().replace('_', " "),
                decision: e.decision.to_string(),
                reason: e.reason.clone(),
            })
            .collect(),
        reach: None,
        blockers: Vec::new(),
    }
}

async fn person(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let detail = session.vault.person_detail(&session.actor, &id).await?;
    let email = detail.person.email.clone();
    let active = detail.person.status == PersonStatus::Active;
    let mut page = person_page(&state, &session, detail);
    if session.actor.role.manages_people() && active {
        let reach = session.vault.what_can(&session.actor, &email).await?;
        page.reach = Some(
            reach
                .into_iter()
                .map(|(item, actions)| {
                    let actions: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
                    (item, actions.join(", "))
                })
                .collect(),
        );
        page.blockers = session
            .vault
            .blocked_people(&session.actor)
            .await?
            .into_iter()
            .find(|b| b.email == email)
            .map(|b| b.reasons)
            .unwrap_or_default();
    }
    Ok(render(&page)?)
}

#[derive(Deserialize)]
struct OffboardForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

struct AccessedRow {
    kind: String,
    name: String,
    actions: String,
    last: String,
}

#[derive(Template)]
#[template(path = "offboarded.html")]
struct OffboardedPage {
    chrome: Chrome,
    id: String,
    name: String,
    email: String,
    sessions_ended: u64,
    invites_cancelled: u64,
    devices_revoked: u64,
    role_access: String,
    accessed: Vec<AccessedRow>,
}

async fn offboard(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    WebForm(form): WebForm<OffboardForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let done = session
        .vault
        .offboard(&session.actor, &id, &form.reason)
        .await?;
    let page = OffboardedPage {
        chrome: Chrome::signed_in(&state, &session),
        id: done.person.id.to_string(),
        name: done.person.name.clone(),
        email: done.person.email.clone(),
        sessions_ended: done.sessions_ended,
        invites_cancelled: done.invites_cancelled,
        devices_revoked: done.devices_revoked,
        role_access: done.role_access.clone(),
        accessed: done
            .accessed
            .iter()
            .map(|a| AccessedRow {
                kind: a.kind.replace('_', " "),
                name: a.name.clone().unwrap_or_else(|| a.id.clone()),
                actions: a
                    .actions
                    .iter()
                    .map(|(action, n)| format!("{} ×{n}", action.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join(", "),
                last: when(a.last),
            })
            .collect(),
    };
    Ok(render(&page)?.into_response())
}

// One's own account.

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    csrf: String,
    second_factor: bool,
    sessions: Vec<SessionRow>,
    /// For the owner: whether their own copies are stamped.
    owner_stamps: Option<bool>,
}

async fn account(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, PageError> {
    let sessions = session.vault.my_sessions(&session.actor).await?;
    let page = AccountPage {
        chrome: Chrome::signed_in(&state, &session),
        csrf: session.csrf(),
        second_factor: session.actor.has_second_factor,
        sessions: session_rows(&sessions),
        owner_stamps: if session.actor.role == confidant_core::Role::Owner {
            Some(session.vault.owner_copies_stamped().await?)
        } else {
            None
        },
    };
    Ok(render(&page)?)
}

#[derive(Deserialize)]
struct StampsForm {
    csrf: String,
    #[serde(default)]
    stamped: String,
}

async fn set_stamps(
    session: Session,
    WebForm(form): WebForm<StampsForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    let stamped = match form.stamped.as_str() {
        "on" => true,
        "off" => false,
        other => {
            return Err(AppError::InvalidInput(format!(
                "{other:?} is not a choice: say on or off"
            ))
            .into());
        }
    };
    session
        .vault
        .set_owner_copies_stamped(&session.actor, stamped)
        .await?;
    Ok(Redirect::to("/account").into_response())
}

async fn end_session(
    State(_state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    WebForm(form): WebForm<CsrfForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    session.vault.end_my_session(&session.actor, &id).await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Template)]
#[template(path = "enroll.html")]
struct EnrollPage<'a> {
    chrome: Chrome,
    csrf: String,
    first: bool,
    secret: &'a str,
    qr: String,
    error: Option<&'a str>,
}

fn enroll_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    setup: &TotpSetup,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let page = EnrollPage {
        chrome: Chrome::signed_in(state, session),
        csrf: session.csrf(),
        first: !session.actor.has_second_factor,
        secret: setup.secret.expose_secret(),
        qr: qr_svg(setup.uri.expose_secret())?,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn enroll_form(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    let setup = session.vault.new_totp_setup(&session.actor.email)?;
    Ok(enroll_page(&state, &session, StatusCode::OK, &setup, None)?)
}

#[derive(Deserialize)]
struct EnrollForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

async fn enroll(
    State(state): State<AppState>,
    session: Session,
    WebForm(form): WebForm<EnrollForm>,
) -> Result<Response, PageError> {
    check_csrf(&session, &form.csrf)?;
    match session
        .vault
        .enroll_second_factor(&session.actor, &form.secret, &form.code)
        .await
    {
        Ok(codes) => {
            let page = RecoveryCodesPage {
                chrome: Chrome::signed_in(&state, &session),
                heading: "Your authenticator app is set up",
                codes: codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
            };
            Ok(render(&page)?.into_response())
        }
        Err(VaultError::InvalidInput(message)) => {
            let setup = match session
                .vault
                .totp_setup_for(&session.actor.email, &form.secret)
            {
                Ok(setup) => setup,
                Err(_) => session.vault.new_totp_setup(&session.actor.email)?,
            };
            Ok(enroll_page(
                &state,
                &session,
                StatusCode::BAD_REQUEST,
                &setup,
                Some(&sentence(&message)),
            )?)
        }
        Err(e) => Err(e.into()),
    }
}
