//! The JSON API under /api/v1.

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::{Response, header};
use confidant_protocol::{
    DocumentInfo, RecordPageInfo, RecordSetInfo, RotateResponse, SignInResponse,
};
use confidant_server::ServerOptions;

use crate::util::{
    EMAIL, PASSWORD, TestApp, bytes, expect_error, json, json_request, pattern, request, text,
};

/// A document's identity and content fields (timestamps aside: the store
/// keeps them to the millisecond).
fn doc_key(d: &DocumentInfo) -> (String, String, String, u64, u64) {
    (
        d.id.clone(),
        d.name.clone(),
        d.label.clone(),
        d.size,
        d.version,
    )
}

async fn upload(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> Result<Response<Body>> {
    app.send(request(
        "POST",
        &format!("/api/v1/documents?{query}"),
        Some(token),
        Body::from(body),
    )?)
    .await
}

async fn download(app: &TestApp, token: &str, doc: &str) -> Result<Response<Body>> {
    app.send(request(
        "GET",
        &format!("/api/v1/documents/{doc}"),
        Some(token),
        Body::empty(),
    )?)
    .await
}

const CUSTOMERS_CSV: &str = "name,email,card\n\
    Ann Lee,ann@example.com,4111 1111 1111 1111\n\
    Bob Stone,bob@example.com,5500 0000 0000 0004\n\
    \"Cy, Jr.\",cy@example.com,\n";

const IMPORT_QUERY: &str = "name=customers&columns=name%3Dname%2Cemail%3Demail%2Ccard%3Dcard_number\
    &index=email&customers=true&contact_column=email&label=restricted";

async fn import(app: &TestApp, token: &str, query: &str, csv: &str) -> Result<Response<Body>> {
    let uri = format!("/api/v1/record-sets?{query}");
    app.send(request(
        "POST",
        &uri,
        Some(token),
        Body::from(csv.to_owned()),
    )?)
    .await
}

#[tokio::test]
async fn health_check_needs_no_sign_in() -> Result<()> {
    let app = TestApp::new().await?;
    let response = app
        .send(request("GET", "/healthz", None, Body::empty())?)
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await?, "ok");
    Ok(())
}

#[tokio::test]
async fn sign_in_issues_a_token_only_for_the_right_password() -> Result<()> {
    let app = TestApp::new().await?;
    // The password alone is not enough: the owner has a second factor.
    let no_code = serde_json::json!({ "email": "Owner@Example.com", "password": PASSWORD });
    let response = app
        .send(json_request("POST", "/api/v1/tokens", None, &no_code)?)
        .await?;
    let message = expect_error(response, 401, "second_factor_required").await?;
    assert!(message.contains("code"), "{message}");
    let wrong_code = serde_json::json!({
        "email": "Owner@Example.com", "password": PASSWORD, "code": "000000"
    });
    let response = app
        .send(json_request("POST", "/api/v1/tokens", None, &wrong_code)?)
        .await?;
    let message = expect_error(response, 401, "unauthorized").await?;
    assert!(message.contains("code is wrong"), "{message}");

    let code = app.fresh_code(&app.owner.secret)?;
    let good = serde_json::json!({
        "email": "Owner@Example.com", "password": PASSWORD, "code": code, "label": "laptop"
    });
    let response = app
        .send(json_request("POST", "/api/v1/tokens", None, &good)?)
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let signed_in: SignInResponse = json(response).await?;
    assert!(signed_in.token.starts_with("cfd_"));
    assert_eq!(signed_in.person.email, EMAIL);
    assert_eq!(signed_in.person.role, "owner");
    // The same code again, even inside its window, is refused.
    let response = app
        .send(json_request("POST", "/api/v1/tokens", None, &good)?)
        .await?;
    expect_error(response, 401, "unauthorized").await?;
    // The token is an API token with its label.
    let response = app
        .send(request(
            "GET",
            "/api/v1/sessions",
            Some(&signed_in.token),
            Body::empty(),
        )?)
        .await?;
    let sessions: Vec<confidant_protocol::SessionInfo> = json(response).await?;
    assert_eq!(
        sessions
            .iter()
            .map(|s| (s.kind.as_str(), s.label.as_str()))
            .collect::<Vec<_>>(),
        [("api", "laptop")]
    );

    let bad = serde_json::json!({ "email": EMAIL, "password": "wrong password here" });
    let response = app
        .send(json_request("POST", "/api/v1/tokens", None, &bad)?)
        .await?;
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    let message = expect_error(response, 401, "unauthorized").await?;
    assert!(message.contains("password is wrong"), "{message}");

    let malformed = serde_json::json!({ "email": EMAIL });
    let response = app
        .send(json_request("POST", "/api/v1/tokens", None, &malformed)?)
        .await?;
    expect_error(response, 400, "invalid_input").await?;
    Ok(())
}

#[tokio::test]
async fn requests_without_a_valid_token_are_unauthorized() -> Result<()> {
    let app = TestApp::new().await?;
    for token in [None, Some("cfd_0000"), Some("not-a-token")] {
        let response = app
            .send(request("GET", "/api/v1/documents", token, Body::empty())?)
            .await?;
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        expect_error(response, 401, "unauthorized").await?;
    }
    // A session cookie is not an API credential.
    let token = app.token().await?;
    let mut req = request("GET", "/api/v1/documents", None, Body::empty())?;
    req.headers_mut().insert(
        header::COOKIE,
        format!("confidant_session={token}").parse()?,
    );
    expect_error(app.send(req).await?, 401, "unauthorized").await?;
    Ok(())
}

#[tokio::test]
async fn signing_out_ends_the_token() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let response = app
        .send(request(
            "DELETE",
            "/api/v1/tokens/current",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert_eq!(response.status(), 204);
    let response = app
        .send(request(
            "GET",
            "/api/v1/documents",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    expect_error(response, 401, "unauthorized").await?;
    Ok(())
}

#[tokio::test]
async fn documents_round_trip() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let content = b"Quarterly figures: confidential.\n".to_vec();

    let response = upload(
        &app,
        &token,
        "name=Q3%20r%C3%A9sum%C3%A9.txt&label=internal",
        content.clone(),
    )
    .await?;
    assert_eq!(response.status(), 201);
    let added: DocumentInfo = json(response).await?;
    assert_eq!(added.name, "Q3 résumé.txt");
    assert_eq!(added.label, "internal");
    assert_eq!(added.size, content.len() as u64);
    assert_eq!(added.version, 1);

    let response = app
        .send(request(
            "GET",
            "/api/v1/documents",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    let listed: Vec<DocumentInfo> = json(response).await?;
    assert_eq!(
        listed.iter().map(doc_key).collect::<Vec<_>>(),
        vec![doc_key(&added)]
    );

    let response = download(&app, &token, &added.id).await?;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(
        headers[header::CONTENT_LENGTH],
        content.len().to_string().as_str()
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"Q3 r_sum_.txt\"; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.txt"
    );
    assert_eq!(bytes(response).await?, content);

    // By name as well as by id.
    let response = download(&app, &token, "Q3%20r%C3%A9sum%C3%A9.txt").await?;
    assert_eq!(bytes(response).await?, content);

    let uri = format!("/api/v1/documents/{}/meta", added.id);
    let meta: DocumentInfo = json(
        app.send(request("GET", &uri, Some(&token), Body::empty())?)
            .await?,
    )
    .await?;
    assert_eq!(doc_key(&meta), doc_key(&added));

    let replacement = b"Quarterly figures, corrected.".to_vec();
    let uri = format!("/api/v1/documents/{}", added.id);
    let response = app
        .send(request(
            "PUT",
            &uri,
            Some(&token),
            Body::from(replacement.clone()),
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    let replaced: DocumentInfo = json(response).await?;
    assert_eq!(
        (replaced.id.as_str(), replaced.version),
        (added.id.as_str(), 2)
    );
    assert_eq!(replaced.size, replacement.len() as u64);
    assert_eq!(
        bytes(download(&app, &token, &added.id).await?).await?,
        replacement
    );
    // The old body is gone from the blob folder: one blob per document.
    assert_eq!(app.blob_files()?.len(), 1);

    let response = app
        .send(request("DELETE", &uri, Some(&token), Body::empty())?)
        .await?;
    assert_eq!(response.status(), 200);
    let deleted: DocumentInfo = json(response).await?;
    assert_eq!(deleted.id, added.id);
    expect_error(download(&app, &token, &added.id).await?, 404, "not_found").await?;
    assert!(app.blob_files()?.is_empty());
    Ok(())
}

#[tokio::test]
async fn large_documents_stream_through_unchanged() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let content = pattern(5 * 1024 * 1024 + 12_345);
    // Sent in uneven pieces without a declared length, as a streaming client would.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        content.chunks(100_003).map(|c| Ok(c.to_vec())).collect();
    let body = Body::from_stream(futures::stream::iter(pieces));
    let response = app
        .send(request(
            "POST",
            "/api/v1/documents?name=big.bin",
            Some(&token),
            body,
        )?)
        .await?;
    assert_eq!(response.status(), 201);
    let added: DocumentInfo = json(response).await?;
    assert_eq!(added.size, content.len() as u64);
    assert_eq!(added.label, "confidential", "the default label");

    let response = download(&app, &token, "big.bin").await?;
    assert_eq!(
        response.headers()[header::CONTENT_LENGTH],
        content.len().to_string().as_str()
    );
    let back = bytes(response).await?;
    assert!(
        back == content,
        "the downloaded bytes differ from the uploaded ones"
    );
    Ok(())
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused_and_leave_nothing() -> Result<()> {
    let options = ServerOptions {
        max_upload_bytes: 100_000,
        ..ServerOptions::default()
    };
    let app = TestApp::with_options(options).await?;
    let token = app.token().await?;

    // Declared too large: refused before reading.
    let response = upload(&app, &token, "name=a.bin", vec![7; 100_001]).await?;
    expect_error(response, 413, "invalid_input").await?;

    // Streamed past the limit without a declared length.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..30).map(|_| Ok(vec![1u8; 10_000])).collect();
    let body = Body::from_stream(futures::stream::iter(pieces));
    let response = app
        .send(request(
            "POST",
            "/api/v1/documents?name=b.bin",
            Some(&token),
            body,
        )?)
        .await?;
    expect_error(response, 413, "invalid_input").await?;

    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..30).map(|_| Ok(b"a,b\n1,2\n".repeat(500))).collect();
    let body = Body::from_stream(futures::stream::iter(pieces));
    let uri = "/api/v1/record-sets?name=big&columns=a%3Dother%2Cb%3Dother";
    let response = app.send(request("POST", uri, Some(&token), body)?).await?;
    expect_error(response, 413, "invalid_input").await?;

    let response = app
        .send(request(
            "GET",
            "/api/v1/documents",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert!(json::<Vec<DocumentInfo>>(response).await?.is_empty());
    let response = app
        .send(request(
            "GET",
            "/api/v1/record-sets",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert!(json::<Vec<RecordSetInfo>>(response).await?.is_empty());
    assert!(app.blob_files()?.is_empty());

    // Just under the limit is fine.
    let response = upload(&app, &token, "name=c.bin", vec![7; 100_000]).await?;
    assert_eq!(response.status(), 201);
    Ok(())
}

#[tokio::test]
async fn error_statuses() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;

    let message = expect_error(
        download(&app, &token, "nothing-here.pdf").await?,
        404,
        "not_found",
    )
    .await?;
    assert!(message.contains("nothing-here.pdf"), "{message}");
    let unknown_id = "0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d";
    expect_error(download(&app, &token, unknown_id).await?, 404, "not_found").await?;

    assert_eq!(
        upload(&app, &token, "name=a.txt", b"one".to_vec())
            .await?
            .status(),
        201
    );
    let message = expect_error(
        upload(&app, &token, "name=a.txt", b"two".to_vec()).await?,
        409,
        "conflict",
    )
    .await?;
    assert!(message.contains("already exists"), "{message}");

    expect_error(
        upload(&app, &token, "name=b.txt&label=secret", vec![]).await?,
        400,
        "invalid_input",
    )
    .await?;
    expect_error(
        upload(&app, &token, "label=public", vec![]).await?,
        400,
        "invalid_input",
    )
    .await?;
    expect_error(
        upload(&app, &token, "name=%20", vec![]).await?,
        400,
        "invalid_input",
    )
    .await?;

    // Routes that do not exist, and methods a route does not take, answer in JSON too.
    let response = app
        .send(request(
            "GET",
            "/api/v1/nothing",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    expect_error(response, 404, "not_found").await?;
    let response = app
        .send(request(
            "PATCH",
            "/api/v1/documents",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    expect_error(response, 405, "invalid_input").await?;
    Ok(())
}

#[tokio::test]
async fn record_sets_import_show_find_and_delete() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;

    // Before the import, the server suggests each column's category from
    // a sample of its values; a sample out of range is refused.
    let response = app
        .send(request(
            "POST",
            "/api/v1/column-suggestions?sample=50",
            Some(&token),
            Body::from(CUSTOMERS_CSV),
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    let suggested: confidant_protocol::ColumnSuggestions = json(response).await?;
    assert_eq!(suggested.argument, "name=name,email=email,card=card_number");
    assert_eq!(
        suggested.columns[2].summary,
        "column 3 (card): card_number, 100% of 2 values valid"
    );
    let response = app
        .send(request(
            "POST",
            "/api/v1/column-suggestions?sample=0",
            Some(&token),
            Body::from(CUSTOMERS_CSV),
        )?)
        .await?;
    assert_eq!(response.status(), 400);

    let response = import(&app, &token, IMPORT_QUERY, CUSTOMERS_CSV).await?;
    assert_eq!(response.status(), 201);
    let set: RecordSetInfo = json(response).await?;
    assert_eq!(
        (set.name.as_str(), set.label.as_str(), set.row_count),
        ("customers", "restricted", 3)
    );
    assert!(set.rows_are_customers);
    assert_eq!(set.contact_column.as_deref(), Some("email"));
    let columns: Vec<(&str, &str, bool)> = set
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.category.as_str(), c.indexed))
        .collect();
    assert_eq!(
        columns,
        [
            ("name", "name", false),
            ("email", "email", true),
            ("card", "card_number", false)
        ]
    );

    let response = app
        .send(request(
            "GET",
            "/api/v1/record-sets",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    let listed: Vec<RecordSetInfo> = json(response).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!((&listed[0].id, &listed[0].columns), (&set.id, &set.columns));

    let response = app
        .send(request(
            "GET",
            "/api/v1/record-sets/customers",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    let page: RecordPageInfo = json(response).await?;
    assert_eq!(page.offset, 0);
    assert_eq!(page.rows.len(), 3);
    assert_eq!(page.rows[0].values["name"], "Ann Lee");
    assert_eq!(page.rows[0].values["card"], "4111 1111 1111 1111");
    assert_eq!(page.rows[2].values["name"], "Cy, Jr.");
    assert_eq!(page.rows[2].values["card"], "");

    let uri = "/api/v1/record-sets/customers?offset=1&limit=1";
    let page: RecordPageInfo = json(
        app.send(request("GET", uri, Some(&token), Body::empty())?)
            .await?,
    )
    .await?;
    assert_eq!(page.offset, 1);
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].values["email"], "bob@example.com");

    let uri = "/api/v1/record-sets/customers?limit=1001";
    let response = app
        .send(request("GET", uri, Some(&token), Body::empty())?)
        .await?;
    expect_error(response, 400, "invalid_input").await?;

    // Exact match after normalization; the value travels in the body.
    let find = serde_json::json!({ "column": "email", "value": " BOB@example.COM " });
    let uri = "/api/v1/record-sets/customers/find";
    let response = app
        .send(json_request("POST", uri, Some(&token), &find)?)
        .await?;
    assert_eq!(response.status(), 200);
    let found: RecordPageInfo = json(response).await?;
    assert_eq!(found.rows.len(), 1);
    assert_eq!(found.rows[0].values["name"], "Bob Stone");

    let find = serde_json::json!({ "column": "email", "value": "nobody@example.com" });
    let found: RecordPageInfo = json(
        app.send(json_request("POST", uri, Some(&token), &find)?)
            .await?,
    )
    .await?;
    assert!(found.rows.is_empty());

    let find = serde_json::json!({ "column": "card", "value": "4111111111111111" });
    let message = expect_error(
        app.send(json_request("POST", uri, Some(&token), &find)?)
            .await?,
        400,
        "invalid_input",
    )
    .await?;
    assert!(message.contains("no search index"), "{message}");

    // The same name again is a conflict.
    expect_error(
        import(&app, &token, IMPORT_QUERY, CUSTOMERS_CSV).await?,
        409,
        "conflict",
    )
    .await?;

    let response = app
        .send(request(
            "DELETE",
            "/api/v1/record-sets/customers",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(json::<RecordSetInfo>(response).await?.id, set.id);
    let response = app
        .send(request(
            "GET",
            "/api/v1/record-sets/customers",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    expect_error(response, 404, "not_found").await?;
    Ok(())
}

#[tokio::test]
async fn bad_csv_is_refused_naming_the_line_and_imports_nothing() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let ragged = "name,email,card\nAnn,ann@example.com,4111\nBob,bob@example.com\n";
    let message = expect_error(
        import(&app, &token, IMPORT_QUERY, ragged).await?,
        400,
        "invalid_input",
    )
    .await?;
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("nothing was imported"), "{message}");

    let query = "name=customers&columns=name%3Dname";
    let message = expect_error(
        import(&app, &token, query, CUSTOMERS_CSV).await?,
        400,
        "invalid_input",
    )
    .await?;
    assert!(message.contains("line 1"), "{message}");

    let query = "name=customers&columns=name%3Dssn";
    let message = expect_error(
        import(&app, &token, query, CUSTOMERS_CSV).await?,
        400,
        "invalid_input",
    )
    .await?;
    assert!(message.contains("unknown data category"), "{message}");

    let response = app
        .send(request(
            "GET",
            "/api/v1/record-sets",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert!(json::<Vec<RecordSetInfo>>(response).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn key_rotation_keeps_everything_readable() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    assert_eq!(
        upload(&app, &token, "name=a.txt", b"alpha".to_vec())
            .await?
            .status(),
        201
    );
    assert_eq!(
        import(&app, &token, IMPORT_QUERY, CUSTOMERS_CSV)
            .await?
            .status(),
        201
    );

    let response = app
        .send(request(
            "POST",
            "/api/v1/keys/rotate",
            Some(&token),
            Body::empty(),
        )?)
        .await?;
    assert_eq!(response.status(), 200);
    let rotated: RotateResponse = json(response).await?;
    // The signing key, the names key, one document and one record set.
    assert_eq!(rotated.rewrapped_keys, 4);

    assert_eq!(
        bytes(download(&app, &token, "a.txt").await?).await?,
        b"alpha"
    );
    let page: RecordPageInfo = json(
        app.send(request(
            "GET",
            "/api/v1/record-sets/customers",
            Some(&token),
            Body::empty(),
        )?)
        .await?,
    )
    .await?;
    assert_eq!(page.rows.len(), 3);
    Ok(())
}

fn flip_byte_at(path: &std::path::Path, position: impl Fn(u64) -> u64) -> Result<()> {
    let mut data = std::fs::read(path)?;
    let at = usize::try_from(position(data.len() as u64))?;
    data[at] ^= 0x01;
    std::fs::write(path, data)?;
    Ok(())
}

#[tokio::test]
async fn a_changed_small_document_is_an_integrity_error_not_wrong_bytes() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let secret = b"card 4111 1111 1111 1111 belongs to Ann".to_vec();
    assert_eq!(
        upload(&app, &token, "name=secret.txt", secret.clone())
            .await?
            .status(),
        201
    );
    let blobs = app.blob_files()?;
    assert_eq!(blobs.len(), 1);
    flip_byte_at(&blobs[0], |len| len - 5)?;

    let response = download(&app, &token, "secret.txt").await?;
    let message = expect_error(response, 500, "integrity").await?;
    assert!(
        message.contains("secret.txt"),
        "the message names the item: {message}"
    );
    assert!(
        !message.contains("4111"),
        "the message never contains the data: {message}"
    );
    Ok(())
}

#[tokio::test]
async fn a_document_changed_part_way_aborts_the_download() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let content = pattern(300 * 1024);
    assert_eq!(
        upload(
            &app,
            &token,
            "name=long.bin&label=internal",
            content.clone()
        )
        .await?
        .status(),
        201
    );
    let blobs = app.blob_files()?;
    assert_eq!(blobs.len(), 1);
    // Damage the last chunk: the first chunks are fine, so the response has
    // started. (An Internal file streams; a Confidential one is stamped,
    // which reads it whole first: its damage is found before a byte goes.)
    flip_byte_at(&blobs[0], |len| len - 100)?;

    let response = download(&app, &token, "long.bin").await?;
    assert_eq!(
        response.status(),
        200,
        "the first chunk authenticates, so the answer starts"
    );
    let result = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    assert!(
        result.is_err(),
        "the body must end in an error, never complete"
    );
    Ok(())
}

#[tokio::test]
async fn cross_origin_requests_are_refused() -> Result<()> {
    let app = TestApp::new().await?;
    let body = serde_json::json!({ "email": EMAIL, "password": PASSWORD });
    let mut req = json_request("POST", "/api/v1/tokens", None, &body)?;
    req.headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse()?);
    expect_error(app.send(req).await?, 403, "forbidden").await?;

    let mut req = json_request("POST", "/api/v1/tokens", None, &body)?;
    req.headers_mut()
        .insert("sec-fetch-site", "cross-site".parse()?);
    expect_error(app.send(req).await?, 403, "forbidden").await?;

    let code = app.fresh_code(&app.owner.secret)?;
    let body = serde_json::json!({ "email": EMAIL, "password": PASSWORD, "code": code });
    let mut req = json_request("POST", "/api/v1/tokens", None, &body)?;
    req.headers_mut()
        .insert(header::ORIGIN, "http://localhost".parse()?);
    assert_eq!(app.send(req).await?.status(), 200, "same origin passes");
    Ok(())
}

#[tokio::test]
async fn repeated_failed_sign_ins_get_429_with_retry_after() -> Result<()> {
    let app = TestApp::new().await?;
    let attempt = |password: &str| {
        json_request(
            "POST",
            "/api/v1/tokens",
            None,
            &serde_json::json!({"email": EMAIL, "password": password}),
        )
    };
    for _ in 0..3 {
        let response = app.send(attempt("wrong password here")?).await?;
        assert_eq!(response.status(), 401);
    }
    let response = app.send(attempt("wrong password here")?).await?;
    assert_eq!(response.status(), 429);
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(retry.is_some_and(|s| s >= 1), "{retry:?}");
    Ok(())
}

/// An upload without a label gets the one its content suggests; the owner
/// changes it with `PUT .../label`.
#[tokio::test]
async fn uploads_are_labelled_by_their_content() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let letter = b"Customer: Ann Lee\nIBAN GB82 WEST 1234 5698 7654 32\n".to_vec();
    let response = upload(&app, &token, "name=letter.txt", letter).await?;
    assert_eq!(response.status(), 201);
    let added: DocumentInfo = json(response).await?;
    assert_eq!(added.label, "restricted");
    let scan = added.scan.clone().context("scanned")?;
    assert_eq!(scan.kinds.get("iban"), Some(&1));
    assert!(scan.categories.contains(&"bank_account".to_owned()));

    let path = format!("/api/v1/documents/{}/label", added.id);
    let body = serde_json::json!({ "label": "confidential" });
    let response = app
        .send(json_request("PUT", &path, Some(&token), &body)?)
        .await?;
    assert_eq!(response.status(), 200);
    let changed: DocumentInfo = json(response).await?;
    assert_eq!(changed.label, "confidential");
    assert_eq!(
        changed.scan.map(|s| s.suggested_label).as_deref(),
        Some("restricted"),
        "the suggestion is kept beside the owner's choice"
    );
    let body = serde_json::json!({ "label": "top secret" });
    let response = app
        .send(json_request("PUT", &path, Some(&token), &body)?)
        .await?;
    assert_eq!(response.status(), 400);
    Ok(())
}
