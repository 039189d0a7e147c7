//! The server on a real socket: what a client sees on the wire.

use anyhow::{Context, Result};
use axum::body::Body;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::util::{TestApp, pattern, request};

/// Sends one raw HTTP/1.1 request and reads until the server closes.
async fn raw_get(addr: std::net::SocketAddr, path: &str, token: &str) -> Result<(String, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // A reset connection is an acceptable end too; keep what arrived.
    let _ = stream.read_to_end(&mut response).await;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no header end")?;
    let head = String::from_utf8(response[..split].to_vec())?;
    Ok((head, response[split + 4..].to_vec()))
}

#[tokio::test]
async fn a_damaged_document_is_cut_short_on_the_wire_and_shutdown_is_graceful() -> Result<()> {
    let app = TestApp::new().await?;
    let token = app.token().await?;
    let content = pattern(300 * 1024);
    let req = request(
        "POST",
        "/api/v1/documents?name=long.bin",
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
    let (head, body) = raw_get(addr, "/api/v1/documents/long.bin", &token).await?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {}", content.len()))
    );
    assert!(body == content, "the intact download differs");

    // Damaged near the end: the status line went out, but the body stops
    // short of its declared length and the connection ends.
    let blobs = app.blob_files()?;
    let mut data = std::fs::read(&blobs[0])?;
    let at = data.len() - 100;
    data[at] ^= 0x01;
    std::fs::write(&blobs[0], data)?;
    let (head, body) = raw_get(addr, "/api/v1/documents/long.bin", &token).await?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
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
