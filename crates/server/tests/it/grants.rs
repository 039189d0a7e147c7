//! Need to know through the web UI: the owner grants on the grants page,
//! the assistant sees exactly that (masked outside it), and the owner ends
//! it.

use anyhow::{Context, Result};
use axum::body::Body;
use confidant_core::Role;

use crate::util::{Browser, TestApp, location, request, text};

#[tokio::test]
async fn a_grant_made_on_the_web_shows_the_assistant_masked_rows() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let csv = "name,phone,card\nAnn Lee,+44 20 7946 0958,4111111111111111\n";
    let uri = "/api/v1/record-sets?name=customers&columns=name%3Dname%2Cphone%3Dphone%2Ccard%3Dcard_number";
    let response = app
        .send(request("POST", uri, Some(&token), Body::from(csv))?)
        .await?;
    assert_eq!(response.status(), 201);
    let alex = app
        .add_member("alex@example.com", "Alex Doe", Role::Assistant)
        .await?;

    let mut alex_browser = Browser::default();
    alex_browser.sign_in_as(&app, &alex).await?;
    let missing = alex_browser.get(&app, "/records/customers").await?;
    assert_eq!(
        missing.status(),
        404,
        "no grant: the set does not exist for them"
    );

    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let csrf = owner.session_csrf(&app).await?;
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(7))
        .date()
        .to_string();
    // A mistake shows the form again with the reason.
    let response = owner
        .post_form(
            &app,
            "/grants",
            &[
                ("csrf", &csrf),
                ("person", "alex@example.com"),
                ("kind", "records"),
                ("item", "customers"),
                ("columns", "name,city"),
                ("view", "1"),
                ("purpose", "schedule appointments"),
                ("until", &until),
            ],
            None,
        )
        .await?;
    assert_eq!(response.status(), 400);
    assert!(text(response).await?.contains("no column"));
    let response = owner
        .post_form(
            &app,
            "/grants",
            &[
                ("csrf", &csrf),
                ("person", "alex@example.com"),
                ("kind", "records"),
                ("item", "customers"),
                ("columns", "name,card"),
                ("view", "1"),
                ("purpose", "schedule appointments"),
                ("until", &until),
            ],
            None,
        )
        .await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/grants"));

    // Alex sees the grant, the set, the name in the clear, the rest masked.
    let page = text(alex_browser.get(&app, "/grants").await?).await?;
    assert!(page.contains("record set customers: card, name"), "{page}");
    assert!(page.contains("schedule appointments"));
    let home = text(alex_browser.get(&app, "/").await?).await?;
    assert!(home.contains("customers"));
    assert!(home.contains("Before you can open anything"), "{home}");
    let owner_home = text(owner.get(&app, "/").await?).await?;
    assert!(
        owner_home.contains("alex@example.com is blocked until they"),
        "{owner_home}"
    );

    // The grant alone opens nothing: Alex is told what to do first.
    let blocked = alex_browser.get(&app, "/records/customers").await?;
    assert_eq!(blocked.status(), 403);
    let blocked = text(blocked).await?;
    assert!(blocked.contains("One more step"), "{blocked}");
    assert!(blocked.contains("Open Agreements"));
    // Alex reads and signs the NDA and acknowledges the handbook.
    let alex_csrf = alex_browser.session_csrf(&app).await?;
    let agreements = text(alex_browser.get(&app, "/agreements").await?).await?;
    assert!(agreements.contains("CONFIDENTIALITY AGREEMENT"));
    let ids: Vec<String> = agreements
        .split("action=\"/agreements/")
        .skip(1)
        .filter_map(|rest| rest.split('/').next().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 2, "the NDA and the handbook");
    for id in &ids {
        // Without the consent box ticked: refused, nothing signed.
        let response = alex_browser
            .post_form(
                &app,
                &format!("/agreements/{id}/sign"),
                &[("csrf", &alex_csrf), ("typed_name", "Alex Doe")],
                None,
            )
            .await?;
        assert_eq!(response.status(), 400);
        let response = alex_browser
            .post_form(
                &app,
                &format!("/agreements/{id}/sign"),
                &[
                    ("csrf", &alex_csrf),
                    ("typed_name", "Alex Doe"),
                    ("consent", "yes"),
                ],
                None,
            )
            .await?;
        assert_eq!(response.status(), 303);
    }
    // Now only today's passcode is missing; the owner issues it.
    let blocked = text(alex_browser.get(&app, "/records/customers").await?).await?;
    assert!(blocked.contains("name=\"passcode\""), "{blocked}");
    assert!(!blocked.contains("Open Agreements"));
    let listed = text(owner.get(&app, "/grants").await?).await?;
    let grant = listed
        .split("/grants/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .context("an end form names the grant")?
        .to_owned();
    let passcode = issue_passcode(&app, &mut owner, &csrf, &grant).await?;
    let wrong = enter_passcode(&app, &mut alex_browser, &alex_csrf, "AAAA-BBBB-CCCC").await?;
    assert_eq!(wrong.status(), 403);
    assert!(text(wrong).await?.contains("4 tries left"));
    // The owner's home: Alex signed everything; only the device is left.
    let owner_home = text(owner.get(&app, "/").await?).await?;
    assert!(!owner_home.contains("not yet done"), "{owner_home}");
    assert!(
        owner_home.contains("alex@example.com is blocked until they: for Confidential items: work from an enrolled device"),
        "{owner_home}"
    );
    let response = enter_passcode(&app, &mut alex_browser, &alex_csrf, &passcode).await?;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), Some("/records/customers"));
    // Last, the device: this browser is not linked to one yet.
    let blocked = alex_browser.get(&app, "/records/customers").await?;
    assert_eq!(blocked.status(), 403);
    let blocked = text(blocked).await?;
    assert!(blocked.contains("Open My devices"), "{blocked}");
    assert!(blocked.contains("agent link"), "{blocked}");
    let mut laptop = crate::devices::enroll(&app, &mut owner, "alex@example.com").await?;
    crate::devices::send_report(&app, &mut laptop, crate::devices::NO_FIREWALL).await?;
    crate::devices::link_browser(&app, &mut alex_browser, &laptop).await?;
    let blocked = text(alex_browser.get(&app, "/records/customers").await?).await?;
    assert!(blocked.contains("firewall check says fail"), "{blocked}");
    assert!(blocked.contains("run: fix-firewall"), "{blocked}");
    crate::devices::send_report(&app, &mut laptop, crate::devices::PASS).await?;
    let alex_home = text(alex_browser.get(&app, "/").await?).await?;
    assert!(!alex_home.contains("Before you can open anything"));
    let owner_home = text(owner.get(&app, "/").await?).await?;
    assert!(!owner_home.contains("is blocked until"), "{owner_home}");
    let rows = alex_browser.get(&app, "/records/customers").await?;
    assert_eq!(rows.status(), 200);
    let rows = text(rows).await?;
    assert!(rows.contains("Ann Lee"));
    assert!(rows.contains("••••••1111"));
    assert!(
        !rows.contains("4111111111111111"),
        "the card number never leaves"
    );
    assert!(!rows.contains("7946"), "nor the ungranted phone");

    // The owner ends it; Alex's next page says the set is not there.
    let listed = text(owner.get(&app, "/grants").await?).await?;
    let id = listed
        .split("/grants/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .context("an end form names the grant")?
        .to_owned();
    let response = owner
        .post_form(
            &app,
            &format!("/grants/{id}/end"),
            &[("csrf", &csrf), ("reason", "done")],
            None,
        )
        .await?;
    assert_eq!(response.status(), 303);
    let gone = alex_browser.get(&app, "/records/customers").await?;
    assert_eq!(gone.status(), 404);

    // Alex asks again, with a reason; the owner approves on the page.
    let alex_csrf = alex_browser.session_csrf(&app).await?;
    let response = alex_browser
        .post_form(
            &app,
            "/grants/requests",
            &[
                ("csrf", &alex_csrf),
                ("kind", "records"),
                ("item", "customers"),
                ("columns", "name"),
                ("view", "1"),
                ("purpose", "schedule appointments"),
                ("reason", "the December rota"),
                ("until", &until),
            ],
            None,
        )
        .await?;
    assert_eq!(response.status(), 303);
    let listed = text(owner.get(&app, "/grants").await?).await?;
    assert!(listed.contains("asked: the December rota"), "{listed}");
    let id = approve_id(&listed).context("an approve form names the request")?;
    let response = owner
        .post_form(
            &app,
            &format!("/grants/{id}/approve"),
            &[("csrf", &csrf)],
            None,
        )
        .await?;
    assert_eq!(response.status(), 303);
    // The ended grant's passcode ended with it: the new grant needs its own.
    let blocked = alex_browser.get(&app, "/records/customers").await?;
    assert_eq!(blocked.status(), 403);
    let passcode = issue_passcode(&app, &mut owner, &csrf, &id).await?;
    let response = enter_passcode(&app, &mut alex_browser, &alex_csrf, &passcode).await?;
    assert_eq!(response.status(), 303);
    let rows = text(alex_browser.get(&app, "/records/customers").await?).await?;
    assert!(rows.contains("Ann Lee"));

    // A request for a record set that does not exist is taken like any
    // other (asking tells nothing); approving it tells the owner why not.
    let response = alex_browser
        .post_form(
            &app,
            "/grants/requests",
            &[
                ("csrf", &alex_csrf),
                ("kind", "records"),
                ("item", "payroll"),
                ("columns", "salary"),
                ("view", "1"),
                ("purpose", "checks"),
                ("reason", "asked to"),
                ("until", &until),
            ],
            None,
        )
        .await?;
    assert_eq!(response.status(), 303);
    let listed = text(owner.get(&app, "/grants").await?).await?;
    assert!(
        listed.contains("record set &#34;payroll&#34;: salary (as asked)"),
        "{listed}"
    );
    let id = approve_id(&listed).context("an approve form names the request")?;
    let refused = owner
        .post_form(
            &app,
            &format!("/grants/{id}/approve"),
            &[("csrf", &csrf)],
            None,
        )
        .await?;
    assert_eq!(refused.status(), 400);
    let page = text(refused).await?;
    assert!(page.contains("cannot be approved as asked"), "{page}");
    assert!(page.contains("no record set &#34;payroll&#34;"), "{page}");
    Ok(())
}

/// The owner issues today's passcode for a grant on the Passcodes page and
/// reads it off the page (shown once).
async fn issue_passcode(
    app: &TestApp,
    owner: &mut Browser,
    csrf: &str,
    grant: &str,
) -> Result<String> {
    let issued = text(
        owner
            .post_form(
                app,
                "/passcodes/issue",
                &[("csrf", csrf), ("grant", grant)],
                None,
            )
            .await?,
    )
    .await?;
    Ok(issued
        .split("<code class=\"passcode\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .context("the passcode is shown once")?
        .to_owned())
}

/// The assistant enters a passcode for the customers set.
async fn enter_passcode(
    app: &TestApp,
    browser: &mut Browser,
    csrf: &str,
    passcode: &str,
) -> Result<axum::response::Response<Body>> {
    browser
        .post_form(
            app,
            "/passcode",
            &[
                ("csrf", csrf),
                ("kind", "records"),
                ("item", "customers"),
                ("passcode", passcode),
            ],
            None,
        )
        .await
}

/// The grant id of the first Approve form on a page.
fn approve_id(page: &str) -> Option<String> {
    page.split("/grants/").find_map(|rest| {
        let (id, after) = rest.split_once('/')?;
        after.starts_with("approve").then(|| id.to_owned())
    })
}

/// The owner's policies page validates before saving (a mistake names its
/// line and changes nothing), and a person's page says what they can reach
/// now and what blocks them.
#[tokio::test]
async fn policies_page_and_what_a_person_can_reach() -> Result<()> {
    let app = TestApp::new().await?;
    app.add_member("alex@example.com", "Alex Doe", Role::Assistant)
        .await?;
    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let csrf = owner.session_csrf(&app).await?;
    let page = text(owner.get(&app, "/policies").await?).await?;
    assert!(page.contains("need-to-know"), "the defaults are shown");
    let bad = owner
        .post_form(
            &app,
            "/policies",
            &[
                ("csrf", &csrf),
                (
                    "text",
                    "forbid (principal, action, resource)\nwhen { principal.rol == \"vendor\" };",
                ),
            ],
            None,
        )
        .await?;
    assert_eq!(bad.status(), 400);
    let bad = text(bad).await?;
    assert!(bad.contains("Line 2, column 8"), "{bad}");
    assert!(bad.contains("principal.rol"), "the text stays in the form");
    let policy = "@id(\"vendors-never-see-card-numbers\")\nforbid (principal, action, resource)\nwhen { principal.role == \"vendor\" && resource.categories.contains(\"card_number\") };";
    let saved = owner
        .post_form(
            &app,
            "/policies",
            &[("csrf", &csrf), ("text", policy)],
            None,
        )
        .await?;
    assert_eq!(saved.status(), 200);
    assert!(text(saved).await?.contains("policies in force"));
    assert_eq!(
        app.vault.owner_policies(&app.vault.owner().await?).await?,
        policy
    );

    let people = text(owner.get(&app, "/people").await?).await?;
    let mut page = String::new();
    for candidate in people
        .split("href=\"/people/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
    {
        let body = text(owner.get(&app, &format!("/people/{candidate}")).await?).await?;
        if body.contains("alex@example.com") {
            page = body;
            break;
        }
    }
    assert!(page.contains("What Alex Doe can reach now"), "{page}");
    assert!(page.contains("Blocked until they"), "{page}");
    assert!(
        page.contains("sign the confidentiality agreement"),
        "{page}"
    );
    Ok(())
}

/// The owner uploads a leaked copy on the Trace page (a multipart form over
/// the forms' small body limit) and learns whose copy it was.
#[tokio::test]
async fn the_trace_page_names_the_recipient_of_a_leaked_copy() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    // A Restricted document of about 100 KiB; the owner's own copy is
    // stamped for them.
    let mut memo = String::new();
    for i in 0..2_000 {
        memo.push_str(&format!(
            "line {i}: the merger closes on Friday, tell nobody\n"
        ));
    }
    let response = app
        .send(request(
            "POST",
            "/api/v1/documents?name=memo.txt&label=restricted",
            Some(&token),
            Body::from(memo),
        )?)
        .await?;
    assert_eq!(response.status(), 201);
    let copy = crate::util::bytes(
        app.send(request(
            "GET",
            "/api/v1/documents/memo.txt",
            Some(&token),
            Body::empty(),
        )?)
        .await?,
    )
    .await?;
    assert!(copy.len() > 64 * 1024);

    let mut owner = Browser::default();
    owner.sign_in(&app).await?;
    let csrf = owner.session_csrf(&app).await?;
    let boundary = "confidant-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leak.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&copy);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut req = request("POST", "/trace", None, Body::from(body))?;
    req.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}").parse()?,
    );
    let response = owner.send(&app, req).await?;
    assert_eq!(response.status(), 200);
    let page = text(response).await?;
    assert!(page.contains("leak.txt"), "{page}");
    assert!(page.contains("owner@example.com"), "the recipient: {page}");
    assert!(page.contains("document memo.txt (download)"), "{page}");
    assert!(page.contains("verified in the signed tree"), "{page}");
    // A button opens an incident for the delivery; against one's own copy
    // it is refused and shown back, and nothing is opened.
    assert!(page.contains("action=\"/incidents/delivery\""), "{page}");
    let delivery = page
        .split("name=\"delivery\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the delivery in the form")?
        .to_owned();
    let own = owner
        .post_form(
            &app,
            "/incidents/delivery",
            &[
                ("csrf", &csrf),
                ("delivery", &delivery),
                ("reason", "The memo was posted online."),
            ],
            None,
        )
        .await?;
    assert_eq!(own.status(), 400);
    assert!(
        text(own).await?.contains("accesses, not your own"),
        "refused"
    );
    let owner_actor = app.vault.owner().await?;
    assert!(app.vault.incidents(&owner_actor).await?.is_empty());

    // An assistant has no Trace page.
    let alex = app
        .add_member("alex@example.com", "Alex Doe", Role::Assistant)
        .await?;
    let mut browser = Browser::default();
    browser.sign_in_as(&app, &alex).await?;
    assert_eq!(browser.get(&app, "/trace").await?.status(), 403);
    Ok(())
}
