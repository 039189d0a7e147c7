//! A tiny SMTP server for tests: speaks enough SMTP (EHLO/HELO, MAIL,
//! RCPT, DATA, RSET, NOOP, QUIT) on 127.0.0.1 for lettre, and records every
//! message it accepts. [`Sink::start`] speaks plain SMTP;
//! [`Sink::start_starttls`] also offers STARTTLS with a certificate for
//! `localhost` and 127.0.0.1 issued by a test CA ([`ca_file`]; the
//! certificates are in `crates/testkit/data`, valid until 2126).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test helper: a failure here is a failed test"
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Clone, Debug)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
    /// It came over TLS (after STARTTLS).
    pub tls: bool,
}

impl Received {
    /// A header's value (unfolded, first occurrence).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The body, with quoted-printable soft line breaks and escapes undone
    /// (enough for the ASCII text of a notice).
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let joined = body.replace("=\r\n", "");
        let mut out = String::new();
        let mut chars = joined.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '=' {
                let hex: String = chars.by_ref().take(2).collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) => out.push(b as char),
                    Err(_) => {
                        out.push('=');
                        out.push_str(&hex);
                    }
                }
            } else {
                out.push(c);
            }
        }
        out.replace("\r\n", "\n")
    }
}

/// The test CA that issued the sink's certificate: what a client must
/// trust to send over STARTTLS.
pub fn ca_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/smtp-ca.pem")
}

/// A CA that issued nothing the sink uses: trusting only it, a client
/// must refuse the sink's certificate.
pub fn other_ca_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/other-ca.pem")
}

fn acceptor() -> TlsAcceptor {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(data.join("smtp-cert.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(data.join("smtp-key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

#[derive(Debug)]
pub struct Sink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<Received>>>,
    /// When set, a message is recorded at the end of its DATA but never
    /// answered: the client waits for the server's verdict forever (to
    /// kill it at the worst moment).
    stall: Arc<AtomicBool>,
    /// TLS handshakes that failed (a client that refused the certificate).
    pub failed_handshakes: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Shared {
    store: Arc<Mutex<Vec<Received>>>,
    stall: Arc<AtomicBool>,
    tls: Option<TlsAcceptor>,
    failed: Arc<Mutex<Vec<String>>>,
}

impl Sink {
    /// Listens on `port` (0: any free port), plain SMTP only.
    pub async fn start(port: u16) -> Sink {
        Self::listen(port, None).await
    }

    /// Listens on `port` (0: any free port) and offers STARTTLS with the
    /// test CA's certificate for localhost and 127.0.0.1.
    pub async fn start_starttls(port: u16) -> Sink {
        Self::listen(port, Some(acceptor())).await
    }

    async fn listen(port: u16, tls: Option<TlsAcceptor>) -> Sink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Shared {
            store: Arc::new(Mutex::new(Vec::new())),
            stall: Arc::new(AtomicBool::new(false)),
            tls,
            failed: Arc::new(Mutex::new(Vec::new())),
        };
        Sink {
            port,
            messages: shared.store.clone(),
            stall: shared.stall.clone(),
            failed_handshakes: shared.failed.clone(),
            task: tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let _ = session(stream, shared).await;
                    });
                }
            }),
        }
    }

    /// Stops (or resumes) answering at the end of DATA.
    pub fn set_stall(&self, stall: bool) {
        self.stall.store(stall, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}

/// A port nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn session(stream: TcpStream, shared: Shared) -> std::io::Result<()> {
    let mut plain = BufReader::new(stream);
    plain.write_all(b"220 sink ESMTP ready\r\n").await?;
    if !converse(&mut plain, &shared, false).await? {
        return Ok(());
    }
    // STARTTLS was answered with 220: the client starts its handshake.
    let Some(acceptor) = shared.tls.clone() else {
        return Ok(());
    };
    match acceptor.accept(plain.into_inner()).await {
        Ok(tls) => {
            let mut tls = BufReader::new(tls);
            converse(&mut tls, &shared, true).await?;
        }
        Err(e) => shared.failed.lock().unwrap().push(e.to_string()),
    }
    Ok(())
}

/// Speaks SMTP until QUIT or the end of the connection (false) or an
/// accepted STARTTLS (true).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    shared: &Shared,
    tls: bool,
) -> std::io::Result<bool> {
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Ok(false);
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" if shared.tls.is_some() && !tls => {
                conn.write_all(b"250-sink\r\n250-8BITMIME\r\n250 STARTTLS\r\n")
                    .await?;
            }
            "EHLO" => conn.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?,
            "STARTTLS" if shared.tls.is_some() && !tls => {
                conn.write_all(b"220 go ahead\r\n").await?;
                conn.flush().await?;
                return Ok(true);
            }
            "HELO" | "NOOP" => conn.write_all(b"250 OK\r\n").await?,
            "MAIL" => {
                to.clear();
                conn.write_all(b"250 OK\r\n").await?;
            }
            "RCPT" => {
                let addr = command
                    .split_once(':')
                    .map(|(_, a)| a.trim().trim_matches(['<', '>']).to_owned())
                    .unwrap_or_default();
                to.push(addr);
                conn.write_all(b"250 OK\r\n").await?;
            }
            "DATA" => {
                conn.write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if conn.read_line(&mut line).await? == 0 {
                        return Ok(false);
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    let l = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(l);
                }
                shared.store.lock().unwrap().push(Received {
                    to: std::mem::take(&mut to),
                    data,
                    tls,
                });
                if shared.stall.load(Ordering::SeqCst) {
                    // Hold the connection open without a verdict.
                    std::future::pending::<()>().await;
                }
                conn.write_all(b"250 OK queued\r\n").await?;
            }
            "RSET" => {
                to.clear();
                conn.write_all(b"250 OK\r\n").await?;
            }
            "QUIT" => {
                conn.write_all(b"221 bye\r\n").await?;
                return Ok(false);
            }
            _ => conn.write_all(b"502 not implemented\r\n").await?,
        }
        conn.flush().await?;
    }
}
