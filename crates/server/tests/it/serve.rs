//! The server on a real socket: what a client sees on the wire.

use anyhow::{Context, Result};
use axum::body::Body;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::util::{TestApp, pattern, request};

/// What a raw client saw: the response head (when it arrived whole) and
/// the body bytes after it.
struct Wire {
    head: Option<String>,
    body: Vec<u8>,
}

/// Sends one raw HTTP/1.1 request and reads until the server closes or
/// resets the connection. A reset can discard bytes the client had not read
/// yet (even the head), so callers must accept a missing head after one.
async fn raw_get(addr: std::net::SocketAddr, path: &str, token: &str) -> Result<Wire> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // A reset connection is an acceptable end too; keep what arrived.
    let _ = stream.read_to_end(&mut response).await;
    Ok(match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(split) => Wire {
            head: Some(String::from_utf8(response[..split].to_vec())?),
            body: response[split + 4..].to_vec(),
        },
        None => Wire {
            head: None,
            body: Vec::new(),
        },
    })
}

#[tokio::test]
async fn a_damaged_document_is_cut_short_on_the_wire_and_shutdown_is_graceful() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let content = pattern(300 * 1024);
    let req = request(
        "POST",
        "/api/v1/documents?name=long.bin&label=internal",
        Some(&token),
        Body::from(content.clone()),
    )?;
    assert_eq!(app.send(req).await?.status(), 201);

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(confidant_server::serve(
        listener,
        app.router.clone(),
        async {
            stopped.await.ok();
        },
    ));

    // Intact: the whole body, exactly.
    let intact = raw_get(addr, "/api/v1/documents/long.bin", &token).await?;
    let head = intact.head.context("the intact response has a head")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {}", content.len()))
    );
    assert!(intact.body == content, "the intact download differs");

    // Damaged near the end: the status line went out, but the body stops
    // short of its declared length and the connection ends.
    let blobs = app.blob_files()?;
    let mut data = std::fs::read(&blobs[0])?;
    let at = data.len() - 100;
    data[at] ^= 0x01;
    std::fs::write(&blobs[0], data)?;
    // Whatever arrived is never the whole body, and is a prefix of the
    // authenticated plaintext (a reset may even have swallowed the head).
    let damaged = raw_get(addr, "/api/v1/documents/long.bin", &token).await?;
    if let Some(head) = &damaged.head {
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    let body = damaged.body;
    assert!(
        body.len() < content.len(),
        "got {} of {} bytes",
        body.len(),
        content.len()
    );
    assert_eq!(
        body[..],
        content[..body.len()],
        "what arrived is authenticated plaintext"
    );

    stop.send(()).ok();
    tokio::time::timeout(std::time::Duration::from_secs(10), server).await???;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
    Ok(())
}
