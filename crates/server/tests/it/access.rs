//! The access matrix: every route (API and web) against every kind of
//! caller: nobody, each role, the owner of another workspace on the same
//! server, and an offboarded admin replaying their old token and cookie.
//! Each refusal has the specified status and never carries customer data;
//! afterwards nothing has changed.
//!
//! Adding a route is one line in [`ROUTES`].

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::{Request, header};
use confidant_core::Role;
use confidant_protocol::{DocumentInfo, PersonDetailInfo, PersonInfo, RecordSetInfo, SessionInfo};

use crate::util::{
    Browser, Member, TestApp, WORKSPACE, bytes, json, json_request, location, request,
};

/// Strings planted by the owner that only the owner and admins may see.
const DOC_NAME: &str = "Sentinel-Doc-7731.txt";
/// An id that names nothing in either workspace.
const MISSING: &str = "0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d";
const DOC_BODY: &str = "sentinel body 9931";
const CUSTOMER: &str = "Sentinel Customer 4417";
const CUSTOMER_EMAIL: &str = "sentinel4417@example.com";
const SENTINELS: [&str; 3] = [DOC_NAME, DOC_BODY, CUSTOMER];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    Owner,
    Admin,
    Assistant,
    Vendor,
    Associate,
    Auditor,
    /// The owner of the other workspace on the same server.
    OtherOwner,
    /// An admin offboarded after signing in, replaying their credentials.
    Offboarded,
    /// Assistants who signed their agreements and hold grants on the planted
    /// document that no longer count: one expired, one ended ...
    ExpiredGrant,
    EndedGrant,
    /// ... and one with a live grant on another document only.
    OtherGrant,
}

impl Who {
    fn signed_in(self) -> bool {
        !matches!(self, Who::Anonymous | Who::Offboarded)
    }

    /// May see this workspace's customer data.
    fn entitled(self) -> bool {
        matches!(self, Who::Owner | Who::Admin)
    }
}

/// Who may use a route.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// No credentials involved: everyone gets this status.
    Public(u16),
    /// The sign-in page: this status without a session, home with one.
    SignedOut(u16),
    /// Anyone signed in (the other workspace's owner on their own).
    Member,
    /// The owner only (the other workspace's owner on their own).
    OwnerOnly,
    /// The owner and admins; the other workspace's owner on their own
    /// workspace (lists, invitations).
    Manager,
    /// An item of this workspace: the owner and admins; 404 for the other
    /// workspace's owner.
    ManagerItem,
    /// The access record and people (no customer data): the owner, admins
    /// and auditors; the other workspace's owner on their own workspace.
    Reader,
    /// A person of this workspace, read: as `Reader`, 404 for the other
    /// workspace's owner.
    ReaderItem,
    /// One of the owner's own sessions: 404 for everyone else.
    OwnerSession,
    /// A grant of this workspace: the owner and admins; 404 for everyone
    /// else (whether it exists is not theirs to learn).
    ManagerOr404,
    /// An item read under need to know: the owner and admins; for
    /// everyone else without a grant (and the other workspace's owner) it
    /// does not exist: 404, like a missing one.
    Granted,
}

#[derive(Clone, Copy, Debug)]
enum Payload {
    None,
    /// A JSON body; placeholders are filled in.
    Json(&'static str),
    /// A form body; `{csrf}` is the caller's anti-forgery token.
    Form(&'static str),
    /// Raw bytes (uploads).
    Raw(&'static str),
}

#[derive(Clone, Copy, Debug)]
struct Route {
    method: &'static str,
    /// With placeholders: {doc}, {set}, {person}, {victim}, {session}.
    path: &'static str,
    payload: Payload,
    rule: Rule,
    /// The status when allowed.
    ok: u16,
    /// Changes state when allowed: only refusals are sent (the allowed
    /// case is covered by the tests of that feature).
    mutates: bool,
    /// The owner's answer shows customer data (a check that the leak check
    /// can fail).
    shows_data: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    payload: Payload,
    rule: Rule,
    ok: u16,
) -> Route {
    Route {
        method,
        path,
        payload,
        rule,
        ok,
        mutates: false,
        shows_data: false,
    }
}

impl Route {
    const fn mutating(mut self) -> Route {
        self.mutates = true;
        self
    }

    const fn data(mut self) -> Route {
        self.shows_data = true;
        self
    }

    fn is_api(&self) -> bool {
        self.path.starts_with("/api/")
    }
}

use Payload::{Form, Json, Raw};
use Rule::{
    Granted, Manager, ManagerItem, ManagerOr404, Member as Signed, OwnerOnly, OwnerSession, Public,
    Reader, ReaderItem, SignedOut,
};

const NO: Payload = Payload::None;

const ROUTES: &[Route] = &[
    // The JSON API.
    route("GET", "/healthz", NO, Public(200), 200),
    route(
        "POST",
        "/api/v1/tokens",
        Json(r#"{"email":"x@example.com"}"#),
        Public(400),
        200,
    ),
    route("GET", "/api/v1/no-such-route", NO, Public(404), 404),
    route("GET", "/api/v1/me", NO, Signed, 200),
    route("GET", "/api/v1/sessions", NO, Signed, 200),
    route(
        "DELETE",
        "/api/v1/sessions/{session}",
        NO,
        OwnerSession,
        204,
    )
    .mutating(),
    route("DELETE", "/api/v1/tokens/current", NO, Signed, 204).mutating(),
    route("GET", "/api/v1/people", NO, Reader, 200),
    route(
        "POST",
        "/api/v1/people",
        Json(r#"{"email":"newcomer@example.com","name":"New Comer","role":"assistant"}"#),
        Manager,
        201,
    )
    .mutating(),
    route("GET", "/api/v1/people/{person}", NO, ReaderItem, 200),
    route(
        "POST",
        "/api/v1/people/{victim}/offboard",
        Json(r#"{"reason":"matrix"}"#),
        ManagerItem,
        200,
    )
    .mutating(),
    // Lists: everyone signed in gets what their grants cover (nothing here).
    route("GET", "/api/v1/documents", NO, Signed, 200).data(),
    route(
        "POST",
        "/api/v1/documents?name=matrix.txt",
        Raw("matrix"),
        Manager,
        201,
    )
    .mutating(),
    route("GET", "/api/v1/documents/{doc}", NO, Granted, 200).data(),
    route("GET", "/api/v1/documents/{doc}/meta", NO, Granted, 200).data(),
    route(
        "PUT",
        "/api/v1/documents/{doc}",
        Raw("overwritten"),
        ManagerItem,
        200,
    )
    .mutating(),
    route(
        "PUT",
        "/api/v1/documents/{doc}/label",
        Json(r#"{"label":"public"}"#),
        ManagerItem,
        200,
    )
    .mutating(),
    route("DELETE", "/api/v1/documents/{doc}", NO, ManagerItem, 200).mutating(),
    route("GET", "/api/v1/record-sets", NO, Signed, 200),
    route(
        "POST",
        "/api/v1/record-sets?name=matrix&columns=a%3Dother",
        Raw("a\n1\n"),
        Manager,
        201,
    )
    .mutating(),
    route(
        "POST",
        "/api/v1/column-suggestions",
        Raw("a\n1\n"),
        Manager,
        200,
    ),
    route("GET", "/api/v1/record-sets/{set}", NO, Granted, 200).data(),
    route(
        "POST",
        "/api/v1/record-sets/{set}/reveal",
        Json(r#"{"row":"{row}","column":"name"}"#),
        Granted,
        200,
    )
    .data(),
    route(
        "POST",
        "/api/v1/record-sets/{set}/find",
        Json(r#"{"column":"email","value":"sentinel4417@example.com"}"#),
        ManagerItem,
        200,
    )
    .data(),
    route("DELETE", "/api/v1/record-sets/{set}", NO, ManagerItem, 200).mutating(),
    route("POST", "/api/v1/keys/rotate", NO, Manager, 200),
    route("GET", "/api/v1/grants", NO, Signed, 200),
    route("GET", "/api/v1/policies", NO, Reader, 200),
    route(
        "PUT",
        "/api/v1/policies",
        Json(r#"{"text":""}"#),
        Manager,
        200,
    )
    .mutating(),
    route(
        "POST",
        "/api/v1/grants",
        Json(
            r#"{"person":"victim@example.com","document":"{doc}","actions":["view"],"purpose":"matrix","until":"2099-01-01"}"#,
        ),
        Manager,
        201,
    )
    .mutating(),
    route(
        "POST",
        "/api/v1/grants/requests",
        Json(
            r#"{"document":"{doc}","actions":["view"],"purpose":"matrix","until":"2099-01-01","reason":"matrix"}"#,
        ),
        Signed,
        201,
    )
    .mutating(),
    route(
        "POST",
        "/api/v1/grants/{grant}/approve",
        Json("{}"),
        ManagerItem,
        200,
    )
    .mutating(),
    route(
        "POST",
        "/api/v1/grants/{grant}/end",
        Json(r#"{"reason":"matrix"}"#),
        ManagerOr404,
        200,
    )
    .mutating(),
    route("GET", "/api/v1/agreements", NO, Signed, 200),
    route("GET", "/api/v1/record-sets/{set}/export", NO, Granted, 200).data(),
    route(
        "POST",
        "/api/v1/agreements/{grant}/sign",
        Json(r#"{"typed_name":"Matrix Person","consent":true}"#),
        Signed,
        201,
    )
    .mutating(),
    route(
        "POST",
        "/api/v1/passcodes",
        Json(r#"{"grant":"{grant}"}"#),
        ManagerItem,
        201,
    )
    .mutating(),
    route(
        "POST",
        "/api/v1/passcodes/enter",
        Json(r#"{"document":"{doc}","passcode":"AAAA-BBBB-CCCC"}"#),
        Granted,
        200,
    )
    .mutating(),
    // Devices: enrollment, reports and links carry their own credentials
    // (a one-time code, the device's signature), so everyone gets the same
    // refusal for a bad one.
    route(
        "POST",
        "/api/v1/devices/enroll",
        Json(
            r#"{"code":"AAAA-BBBB-CCCC","public_key":"eA==","name":"n","os":"linux","signature":"eA=="}"#,
        ),
        Public(403),
        200,
    ),
    route(
        "POST",
        "/api/v1/devices/report",
        Json(r#"{"device":"{doc}","seq":1,"body":"{}","signature":"eA=="}"#),
        Public(403),
        200,
    ),
    route(
        "POST",
        "/api/v1/devices/link",
        Json(r#"{"device":"{doc}","code":"AAAA-BBBB-CCCC","signature":"eA=="}"#),
        Public(403),
        200,
    ),
    route("POST", "/api/v1/devices/link-code", NO, Signed, 200).mutating(),
    route("GET", "/api/v1/devices", NO, Signed, 200),
    route(
        "POST",
        "/api/v1/devices/enrollments",
        Json(r#"{"person":"{person}"}"#),
        ManagerItem,
        200,
    )
    .mutating(),
    route("GET", "/api/v1/devices/policy", NO, Manager, 200),
    route(
        "PUT",
        "/api/v1/devices/policy",
        Json(r#"{"requirements":"firewall=confidential","max_age_hours":12}"#),
        Manager,
        200,
    )
    .mutating(),
    route(
        "POST",
        "/api/v1/devices/{doc}/revoke",
        Json(r#"{"reason":"matrix"}"#),
        ManagerItem,
        200,
    )
    .mutating(),
    // The web UI.
    route("GET", "/static/style.css", NO, Public(200), 200),
    route("GET", "/devices", NO, Signed, 200),
    route(
        "POST",
        "/account/stamps",
        Form("stamped=off&csrf={csrf}"),
        OwnerOnly,
        303,
    )
    .mutating(),
    route("POST", "/devices/link-code", Form("csrf={csrf}"), Signed, 200).mutating(),
    route(
        "POST",
        "/devices/enroll",
        Form("person={person}&csrf={csrf}"),
        ManagerItem,
        200,
    )
    .mutating(),
    route(
        "POST",
        "/devices/revoke",
        Form("device={doc}&reason=matrix&csrf={csrf}"),
        ManagerItem,
        303,
    )
    .mutating(),
    route(
        "POST",
        "/devices/policy",
        Form("firewall=confidential&max_age_hours=12&csrf={csrf}"),
        Manager,
        303,
    )
    .mutating(),
    route("GET", "/agreements", NO, Signed, 200),
    route("GET", "/records/{set}/export", NO, Granted, 200).data(),
    route("GET", "/trace", NO, Reader, 200),
    route("POST", "/trace", Raw("x"), Signed, 200).mutating(),
    route("GET", "/add", NO, Manager, 200),
    route("POST", "/documents/{doc}/replace", Raw("x"), ManagerItem, 400).mutating(),
    route(
        "POST",
        "/documents/{doc}/delete",
        Form("confirm=yes&csrf={csrf}"),
        ManagerItem,
        303,
    )
    .mutating(),
    route("POST", "/documents", Raw("x"), Manager, 400).mutating(),
    route("POST", "/records/import", Raw("x"), Manager, 400).mutating(),
    route(
        "POST",
        "/records/import/{grant}",
        Form("name=matrix&category-1=name&label=internal&csrf={csrf}"),
        ManagerOr404,
        404,
    )
    .mutating(),
    route(
        "POST",
        "/records/import/{grant}/cancel",
        Form("csrf={csrf}"),
        ManagerOr404,
        404,
    )
    .mutating(),
    route("GET", "/incidents", NO, Manager, 200),
    route(
        "POST",
        "/incidents",
        Form("person=x%40example.com&since=2026-01-01&reason=matrix&csrf={csrf}"),
        Manager,
        303,
    )
    .mutating(),
    route("GET", "/incidents/report.pdf?id=none", NO, Manager, 404),
    route(
        "POST",
        "/incidents/letters",
        Form("id=none&csrf={csrf}"),
        Manager,
        404,
    )
    .mutating(),
    route(
        "POST",
        "/incidents/delivery",
        Form("delivery=none&reason=matrix&csrf={csrf}"),
        Manager,
        400,
    )
    .mutating(),
    route("POST", "/incidents/bounce", Raw("x"), Signed, 400).mutating(),
    route("GET", "/policies", NO, Reader, 200),
    route(
        "POST",
        "/policies",
        Form("text=&csrf={csrf}"),
        Manager,
        200,
    )
    .mutating(),
    route(
        "POST",
        "/agreements/publish",
        Form("kind=nda&audience=assistant&title=T&text=X&csrf={csrf}"),
        Manager,
        200,
    )
    .mutating(),
    route(
        "POST",
        "/agreements/{grant}/sign",
        Form("typed_name=Matrix+Person&consent=yes&csrf={csrf}"),
        Signed,
        303,
    )
    .mutating(),
    route("GET", "/signatures/{grant}/pdf", NO, ManagerItem, 200).mutating(),
    route("GET", "/passcodes", NO, Manager, 200),
    route(
        "POST",
        "/passcodes/issue",
        Form("grant={grant}&csrf={csrf}"),
        ManagerItem,
        200,
    )
    .mutating(),
    route("POST", "/passcodes/rotate", Form("csrf={csrf}"), Manager, 200).mutating(),
    route("POST", "/passcodes/kept", Form("csrf={csrf}"), Manager, 200).mutating(),
    route(
        "POST",
        "/passcode",
        Form("kind=document&item={doc}&passcode=AAAA-BBBB-CCCC&csrf={csrf}"),
        Granted,
        303,
    )
    .mutating(),
    route("GET", "/no/such/page", NO, Public(404), 404),
    route("GET", "/login", NO, SignedOut(200), 303),
    route("GET", "/login/code", NO, Public(303), 303),
    route("GET", "/join/cfd_0123456789abcdef", NO, Public(403), 403),
    route("GET", "/", NO, Signed, 200).data(),
    route("GET", "/documents/{doc}", NO, Granted, 200).data(),
    route("GET", "/documents/{doc}/view", NO, Granted, 200).data(),
    route(
        "POST",
        "/documents/{doc}/view-only",
        Form("view_only=on&csrf={csrf}"),
        ManagerItem,
        303,
    )
    .mutating(),
    route(
        "POST",
        "/documents/{doc}/label",
        Form("label=restricted&csrf={csrf}"),
        ManagerItem,
        303,
    )
    .mutating(),
    route("GET", "/records/{set}", NO, Granted, 200).data(),
    route("GET", "/ledger", NO, Reader, 200),
    route("GET", "/ledger/digest", NO, Reader, 200),
    route("GET", "/people", NO, Reader, 200),
    route(
        "POST",
        "/people",
        Form("email=newcomer%40example.com&name=New+Comer&role=assistant&csrf={csrf}"),
        Manager,
        200,
    )
    .mutating(),
    route("GET", "/people/{person}", NO, ReaderItem, 200),
    route(
        "POST",
        "/people/{victim}/offboard",
        Form("reason=matrix&csrf={csrf}"),
        ManagerItem,
        200,
    )
    .mutating(),
    route("GET", "/grants", NO, Signed, 200),
    route(
        "POST",
        "/grants",
        Form("person=victim%40example.com&kind=document&item={doc}&view=1&purpose=matrix&until=2099-01-01&csrf={csrf}"),
        Manager,
        303,
    )
    .mutating(),
    route(
        "POST",
        "/grants/requests",
        Form("kind=document&item={doc}&view=1&purpose=matrix&reason=matrix&until=2099-01-01&csrf={csrf}"),
        Signed,
        303,
    )
    .mutating(),
    route(
        "POST",
        "/grants/{grant}/approve",
        Form("csrf={csrf}"),
        ManagerItem,
        303,
    )
    .mutating(),
    route(
        "POST",
        "/grants/{grant}/end",
        Form("reason=matrix&csrf={csrf}"),
        ManagerOr404,
        303,
    )
    .mutating(),
    route("GET", "/account", NO, Signed, 200),
    route(
        "POST",
        "/account/sessions/{session}/end",
        Form("csrf={csrf}"),
        OwnerSession,
        303,
    )
    .mutating(),
    route("GET", "/account/second-factor", NO, Signed, 200),
    // A wrong code: allowed, refused as invalid, changes nothing.
    route(
        "POST",
        "/account/second-factor",
        Form("secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&code=000000&csrf={csrf}"),
        Signed,
        400,
    ),
    route("POST", "/logout", Form("csrf={csrf}"), Signed, 303).mutating(),
];

/// What a caller holds.
struct Caller {
    who: Who,
    token: Option<String>,
    cookie: Option<String>,
    csrf: String,
    /// Strings this caller must never see.
    forbidden: Vec<String>,
}

/// The ids the placeholders stand for.
#[derive(Clone)]
struct Ids {
    doc: String,
    set: String,
    row: String,
    person: String,
    victim: String,
    session: String,
    grant: String,
}

impl Ids {
    fn fill(&self, template: &str, csrf: &str) -> String {
        template
            .replace("{doc}", &self.doc)
            .replace("{set}", &self.set)
            .replace("{row}", &self.row)
            .replace("{person}", &self.person)
            .replace("{victim}", &self.victim)
            .replace("{session}", &self.session)
            .replace("{grant}", &self.grant)
            .replace("{csrf}", csrf)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Status(u16),
    /// A 303 to this location.
    Redirect(&'static str),
    Skip,
}

fn expected(route: &Route, who: Who) -> Expect {
    let allowed = |ok| {
        if route.mutates {
            Expect::Skip
        } else {
            Expect::Status(ok)
        }
    };
    match route.rule {
        Public(status) => Expect::Status(status),
        SignedOut(_) if who.signed_in() => Expect::Redirect("/"),
        SignedOut(status) => Expect::Status(status),
        _ if !who.signed_in() => {
            if route.is_api() {
                Expect::Status(401)
            } else {
                Expect::Redirect("/login")
            }
        }
        Signed => allowed(route.ok),
        Manager => match who {
            Who::Owner | Who::Admin | Who::OtherOwner => allowed(route.ok),
            _ => Expect::Status(403),
        },
        OwnerOnly => match who {
            Who::Owner | Who::OtherOwner => allowed(route.ok),
            _ => Expect::Status(403),
        },
        ManagerItem => match who {
            Who::Owner | Who::Admin => allowed(route.ok),
            Who::OtherOwner => Expect::Status(404),
            _ => Expect::Status(403),
        },
        Reader => match who {
            Who::Owner | Who::Admin | Who::Auditor | Who::OtherOwner => allowed(route.ok),
            _ => Expect::Status(403),
        },
        ReaderItem => match who {
            Who::Owner | Who::Admin | Who::Auditor => allowed(route.ok),
            Who::OtherOwner => Expect::Status(404),
            _ => Expect::Status(403),
        },
        OwnerSession => match who {
            Who::Owner => allowed(route.ok),
            _ => Expect::Status(404),
        },
        Granted => match who {
            Who::Owner | Who::Admin => allowed(route.ok),
            _ => Expect::Status(404),
        },
        ManagerOr404 => match who {
            Who::Owner | Who::Admin => allowed(route.ok),
            Who::OtherOwner
            | Who::Assistant
            | Who::Vendor
            | Who::Associate
            | Who::Auditor
            | Who::ExpiredGrant
            | Who::EndedGrant
            | Who::OtherGrant => Expect::Status(404),
            _ => Expect::Status(403),
        },
    }
}

fn build(route: &Route, caller: &Caller, ids: &Ids) -> Result<Request<Body>> {
    let path = ids.fill(route.path, "");
    let token = if route.is_api() {
        caller.token.as_deref()
    } else {
        None
    };
    let mut req = match route.payload {
        Payload::None => request(route.method, &path, token, Body::empty())?,
        Json(body) => {
            let value: serde_json::Value = serde_json::from_str(&ids.fill(body, ""))?;
            json_request(route.method, &path, token, &value)?
        }
        Raw(body) => request(route.method, &path, token, Body::from(body))?,
        Form(body) => {
            let mut req = request(
                route.method,
                &path,
                token,
                Body::from(ids.fill(body, &caller.csrf)),
            )?;
            req.headers_mut().insert(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded".parse()?,
            );
            req
        }
    };
    if !route.is_api()
        && let Some(cookie) = &caller.cookie
    {
        req.headers_mut().insert(
            header::COOKIE,
            format!("confidant_session={cookie}").parse()?,
        );
    }
    Ok(req)
}

/// Signs `member` in through the API and the web forms.
async fn credentials(app: &TestApp, member: &Member) -> Result<(String, String, String)> {
    let token = app.token_of(member).await?;
    let mut browser = Browser::default();
    browser.sign_in_as(app, member).await?;
    let cookie = browser
        .cookie("confidant_session")
        .context("signed in")?
        .to_owned();
    let csrf = browser.session_csrf(app).await?;
    Ok((token, cookie, csrf))
}

#[tokio::test]
async fn every_route_refuses_whoever_may_not_and_leaks_nothing() -> Result<()> {
    let app = TestApp::with_two_workspaces().await?;
    let (_, other) = app.other.as_ref().context("two workspaces")?;
    let owner_token = app.token().await?;

    // The owner plants a document, a record set and a pending invitation.
    let uri = format!("/api/v1/documents?name={DOC_NAME}&label=restricted");
    let response = app
        .send(request(
            "POST",
            &uri,
            Some(&owner_token),
            Body::from(DOC_BODY),
        )?)
        .await?;
    assert_eq!(response.status(), 201);
    let doc: DocumentInfo = json(response).await?;
    let csv = format!("name,email\n{CUSTOMER},{CUSTOMER_EMAIL}\n");
    let uri = "/api/v1/record-sets?name=clients&columns=name%3Dname%2Cemail%3Demail&index=email";
    let response = app
        .send(request("POST", uri, Some(&owner_token), Body::from(csv))?)
        .await?;
    assert_eq!(response.status(), 201);
    let set: RecordSetInfo = json(response).await?;
    let page: confidant_protocol::RecordPageInfo = json(
        app.send(request(
            "GET",
            &format!("/api/v1/record-sets/{}", set.id),
            Some(&owner_token),
            Body::empty(),
        )?)
        .await?,
    )
    .await?;
    let row = page.rows.first().context("the set has a row")?.id.clone();
    let owner_actor = app.vault.owner().await?;
    let victim = app
        .vault
        .invite(
            &owner_actor,
            "victim@example.com",
            "Vic Tim",
            Role::Vendor,
            None,
        )
        .await?;
    // A grant (for the invited vendor), which the grant routes name.
    let grant = app
        .vault
        .grant(
            &owner_actor,
            "victim@example.com",
            &confidant_vault::GrantRequest {
                target: confidant_vault::GrantTarget::Document(confidant_vault::DocRef::Id(
                    doc.id.parse()?,
                )),
                actions: [confidant_core::Access::View].into(),
                purpose: "matrix".into(),
                until: time::OffsetDateTime::now_utc() + time::Duration::days(7),
                require_passcode: false,
            },
        )
        .await?;
    // A second owner token, whose id the session routes name.
    let code = app.fresh_code(&app.owner.secret)?;
    let body = serde_json::json!({
        "email": app.owner.email, "password": app.owner.password, "code": code, "label": "spare"
    });
    let response = app
        .send(json_request("POST", "/api/v1/tokens", None, &body)?)
        .await?;
    assert_eq!(response.status(), 200);
    let sessions: Vec<SessionInfo> = json(
        app.send(request(
            "GET",
            "/api/v1/sessions",
            Some(&owner_token),
            Body::empty(),
        )?)
        .await?,
    )
    .await?;
    let spare = sessions
        .iter()
        .find(|s| s.label == "spare")
        .context("the spare token is listed")?
        .id
        .clone();

    // Three assistants whose grants on the planted document do not count
    // (expired, ended) or are for another document. They sign their
    // agreements, so only need to know stands between them and the data.
    let other_doc: DocumentInfo = json(
        app.send(request(
            "POST",
            "/api/v1/documents?name=other-notes.txt&label=internal",
            Some(&owner_token),
            Body::from("unrelated notes"),
        )?)
        .await?,
    )
    .await?;
    let mut holders = Vec::new();
    for (who, email) in [
        (Who::ExpiredGrant, "expired@acme.example"),
        (Who::EndedGrant, "ended@acme.example"),
        (Who::OtherGrant, "othergrant@acme.example"),
    ] {
        let member = app
            .add_member(email, "Grant Holder", Role::Assistant)
            .await?;
        let token = app.token_of(&member).await?;
        let due: Vec<confidant_protocol::AgreementInfo> = json(
            app.send(request(
                "GET",
                "/api/v1/agreements",
                Some(&token),
                Body::empty(),
            )?)
            .await?,
        )
        .await?;
        for agreement in due {
            let response = app
                .send(json_request(
                    "POST",
                    &format!("/api/v1/agreements/{}/sign", agreement.id),
                    Some(&token),
                    &serde_json::json!({"typed_name": "Grant Holder", "consent": true}),
                )?)
                .await?;
            assert_eq!(response.status(), 201);
        }
        let (target, days) = match who {
            Who::ExpiredGrant => (doc.id.clone(), 1),
            Who::EndedGrant => (doc.id.clone(), 7),
            _ => (other_doc.id.clone(), 7),
        };
        let granted = app
            .vault
            .grant(
                &owner_actor,
                email,
                &confidant_vault::GrantRequest {
                    target: confidant_vault::GrantTarget::Document(confidant_vault::DocRef::Id(
                        target.parse()?,
                    )),
                    actions: [
                        confidant_core::Access::View,
                        confidant_core::Access::Download,
                    ]
                    .into(),
                    purpose: "matrix".into(),
                    until: confidant_vault::Clock::now(app.clock.as_ref())
                        + time::Duration::days(days),
                    require_passcode: false,
                },
            )
            .await?;
        if who == Who::EndedGrant {
            app.vault
                .end_grant(&owner_actor, granted.grant.id, "matrix")
                .await?;
        }
        holders.push((who, member));
    }
    // Two days later the expired grant is over (API tokens and invitations
    // still run; web sessions are made below).
    app.clock.advance(time::Duration::days(2));

    // Everyone who will call.
    let mut members = Vec::new();
    for (role, who) in [
        (Role::Admin, Who::Admin),
        (Role::Assistant, Who::Assistant),
        (Role::Vendor, Who::Vendor),
        (Role::Associate, Who::Associate),
        (Role::Auditor, Who::Auditor),
    ] {
        let email = format!("{role}@acme.example");
        let member = app.add_member(&email, &format!("Ann {role}"), role).await?;
        members.push((who, member));
    }
    let gone = app
        .add_member("gone@acme.example", "Gone Admin", Role::Admin)
        .await?;
    let ids = Ids {
        doc: doc.id.clone(),
        set: set.id.clone(),
        row: row.clone(),
        person: members[1].1.id.clone(),
        victim: victim.person.id.to_string(),
        session: spare.clone(),
        grant: grant.grant.id.to_string(),
    };
    let data: Vec<String> = SENTINELS.iter().map(|s| (*s).to_owned()).collect();
    // The other workspace must see nothing of this one at all.
    let mut ours = data.clone();
    ours.push(WORKSPACE.to_owned());
    ours.extend(members.iter().map(|(_, m)| m.email.clone()));
    ours.push("victim@example.com".to_owned());

    let mut callers = vec![Caller {
        who: Who::Anonymous,
        token: None,
        cookie: None,
        csrf: "00".into(),
        forbidden: data.clone(),
    }];
    let (token, cookie, csrf) = credentials(&app, &app.owner).await?;
    callers.push(Caller {
        who: Who::Owner,
        token: Some(token),
        cookie: Some(cookie),
        csrf,
        forbidden: Vec::new(),
    });
    for (who, member) in &members {
        let (token, cookie, csrf) = credentials(&app, member).await?;
        callers.push(Caller {
            who: *who,
            token: Some(token),
            cookie: Some(cookie),
            csrf,
            forbidden: if who.entitled() {
                Vec::new()
            } else {
                data.clone()
            },
        });
    }
    for (who, member) in &holders {
        let (token, cookie, csrf) = credentials(&app, member).await?;
        callers.push(Caller {
            who: *who,
            token: Some(token),
            cookie: Some(cookie),
            csrf,
            forbidden: data.clone(),
        });
    }
    let (token, cookie, csrf) = credentials(&app, other).await?;
    callers.push(Caller {
        who: Who::OtherOwner,
        token: Some(token),
        cookie: Some(cookie),
        csrf,
        forbidden: ours,
    });
    // The admin signs in, then is offboarded; their credentials are replayed.
    let (token, cookie, csrf) = credentials(&app, &gone).await?;
    let uri = format!("/api/v1/people/{}/offboard", gone.id);
    let response = app
        .send(json_request(
            "POST",
            &uri,
            Some(&owner_token),
            &serde_json::json!({"reason": "left the firm"}),
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    callers.push(Caller {
        who: Who::Offboarded,
        token: Some(token),
        cookie: Some(cookie),
        csrf,
        forbidden: data.clone(),
    });

    let mut failures = Vec::new();
    let mut checked = 0;
    for route in ROUTES {
        for caller in &callers {
            let expect = expected(route, caller.who);
            if expect == Expect::Skip {
                continue;
            }
            checked += 1;
            let what = format!("{} {} as {:?}", route.method, route.path, caller.who);
            let response = app.send(build(route, caller, &ids)?).await?;
            let status = response.status().as_u16();
            let to = location(&response).map(str::to_owned);
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            // Stamped copies carry invisible fingerprints between their
            // words: the leak checks read the text without them.
            let body = confidant_mark::fingerprint::strip(&String::from_utf8_lossy(
                &bytes(response).await?,
            ));
            match expect {
                Expect::Status(want) if status != want => {
                    failures.push(format!("{what}: {status}, expected {want}: {body:.200}"));
                }
                Expect::Redirect(want) if status != 303 || to.as_deref() != Some(want) => {
                    failures.push(format!(
                        "{what}: {status} to {to:?}, expected 303 to {want}"
                    ));
                }
                _ => {}
            }
            // Refusals by the API say why, in JSON.
            if route.is_api() && matches!(status, 401 | 403 | 404) && route.rule_needs_caller() {
                let kind = match status {
                    401 => "\"error\":\"unauthorized\"",
                    403 => "\"error\":\"forbidden\"",
                    _ => "\"error\":\"not_found\"",
                };
                if !content_type.starts_with("application/json") || !body.contains(kind) {
                    failures.push(format!("{what}: not a JSON {kind} body: {body:.200}"));
                }
            }
            for secret in &caller.forbidden {
                if body.contains(secret.as_str()) {
                    failures.push(format!("{what}: the answer shows {secret:?}"));
                }
            }
            if caller.who == Who::Owner
                && route.shows_data
                && !SENTINELS.iter().any(|s| body.contains(s))
            {
                failures.push(format!("{what}: the owner should see the planted data"));
            }
            // Not allowed answers exactly like does not exist: the same
            // request for an id that names nothing gets the same status and
            // the same body (but for the id itself).
            if matches!(route.rule, Granted | ManagerOr404)
                && caller.who.signed_in()
                && !caller.who.entitled()
                && !route.mutates
            {
                let missing = Ids {
                    doc: MISSING.into(),
                    set: MISSING.into(),
                    grant: MISSING.into(),
                    ..ids.clone()
                };
                let response = app.send(build(route, caller, &missing)?).await?;
                let missing_status = response.status().as_u16();
                let missing_body = String::from_utf8_lossy(&bytes(response).await?).into_owned();
                let plain = |b: &str| {
                    b.replace(&ids.doc, "ID")
                        .replace(&ids.set, "ID")
                        .replace(&ids.grant, "ID")
                        .replace(DOC_NAME, "ID")
                        .replace(MISSING, "ID")
                };
                if missing_status != status || plain(&missing_body) != plain(&body) {
                    failures.push(format!(
                        "{what}: not allowed ({status}: {body:.160}) differs from missing \
                         ({missing_status}: {missing_body:.160})"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 300, "only {checked} requests were checked");

    // Nothing changed: the document, the record set, the invitation, the
    // spare token, and nobody new was invited.
    let get = |uri: String| request("GET", &uri, Some(&owner_token), Body::empty());
    let docs: Vec<DocumentInfo> = json(app.send(get("/api/v1/documents".into())?).await?).await?;
    assert_eq!(docs.len(), 2, "the planted document and the other one");
    let planted = docs.iter().find(|d| d.id == doc.id).context("planted")?;
    assert_eq!(planted.version, 1);
    let body = bytes(
        app.send(get(format!("/api/v1/documents/{}", doc.id))?)
            .await?,
    )
    .await?;
    // The owner's copy of the Restricted document is stamped for them.
    let body = String::from_utf8(body)?;
    assert!(body.starts_with("RESTRICTED - for Olive Owner"), "{body}");
    assert!(confidant_mark::fingerprint::strip(&body).contains(DOC_BODY));
    assert_eq!(app.blob_files()?.len(), 2, "the two documents' bodies");
    let sets: Vec<RecordSetInfo> =
        json(app.send(get("/api/v1/record-sets".into())?).await?).await?;
    assert_eq!(
        sets.iter()
            .map(|s| (s.name.as_str(), s.row_count))
            .collect::<Vec<_>>(),
        [("clients", 1)]
    );
    let victim: PersonDetailInfo = json(
        app.send(get(format!("/api/v1/people/{}", ids.victim))?)
            .await?,
    )
    .await?;
    assert_eq!(victim.person.status, "invited");
    let people: Vec<PersonInfo> = json(app.send(get("/api/v1/people".into())?).await?).await?;
    assert!(people.iter().all(|p| p.email != "newcomer@example.com"));
    let sessions: Vec<SessionInfo> = json(app.send(get("/api/v1/sessions".into())?).await?).await?;
    assert!(
        sessions.iter().any(|s| s.id == spare),
        "the spare token lives"
    );
    // The other workspace did not gain anything either.
    let (beta, _) = app.other.as_ref().context("two workspaces")?;
    let beta_owner = beta.owner().await?;
    assert!(beta.documents(&beta_owner).await?.is_empty());
    assert_eq!(beta.people(&beta_owner).await?.len(), 1);
    Ok(())
}

impl Route {
    /// Whether the route's answer depends on who calls (not a public one).
    fn rule_needs_caller(&self) -> bool {
        !matches!(self.rule, Public(_) | SignedOut(_))
    }
}

#[test]
fn the_matrix_covers_every_route_of_the_router() {
    // Every route pattern registered in the server's sources is in the
    // table (so a new route cannot be forgotten here).
    // Every source file of the server, so a new module's routes are
    // checked too.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            sources.push(std::fs::read_to_string(&path).unwrap());
        }
    }
    assert!(
        sources.len() >= 8,
        "the server's sources: {}",
        dir.display()
    );
    let mut missing = Vec::new();
    for source in &sources {
        let mut rest = source.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let start = rest.find('"').map(|i| i + 1).unwrap_or(0);
            let end = rest[start..].find('"').map_or(start, |i| start + i);
            let pattern = &rest[start..end];
            let normalized = |p: &str| {
                p.split('?')
                    .next()
                    .unwrap_or_default()
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
                    .collect::<Vec<_>>()
                    .join("/")
            };
            let wanted = normalized(pattern);
            let covered = ROUTES.iter().any(|r| {
                normalized(r.path) == wanted
                    || (wanted == "/join/{}" && r.path.starts_with("/join/"))
            });
            if !covered {
                missing.push(pattern.to_owned());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the matrix: {missing:?}"
    );
}
