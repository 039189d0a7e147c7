//! Notices over SMTP with lettre: STARTTLS (the default, port 587), TLS
//! from the first byte (port 465) or plain (a local relay or a test
//! server only), rustls on aws-lc-rs with the webpki roots, or only the
//! certificates of `ca_file` (a private CA, or a server's self-signed
//! certificate) when one is set.

use confidant_core::NoticeId;
use confidant_core::incident::RenderedNotice;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::VaultError;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or a test.
    Plain,
}

impl std::str::FromStr for SmtpSecurity {
    type Err = VaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            "plain" | "none" => Ok(Self::Plain),
            other => Err(VaultError::InvalidInput(format!(
                "SMTP security {other:?} is not one of starttls, tls, plain"
            ))),
        }
    }
}

/// Where and how notices are sent.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The sender, e.g. `Dana's Plumbing <privacy@example.com>`.
    pub from: String,
    pub timeout: std::time::Duration,
    /// PEM certificates to trust instead of the public (webpki) roots.
    pub ca_file: Option<std::path::PathBuf>,
}

pub(crate) struct Failure {
    pub message: String,
    /// The server refused for good (5xx): retrying will not help.
    pub permanent: bool,
}

impl SmtpSettings {
    fn sender_mailbox(&self) -> Result<Mailbox, VaultError> {
        self.from.parse().map_err(|e| {
            VaultError::InvalidInput(format!(
                "the SMTP sender {:?} is not an address: {e}",
                self.from
            ))
        })
    }

    pub(crate) fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, VaultError> {
        self.sender_mailbox()?;
        let bad = |e: lettre::transport::smtp::Error| {
            VaultError::InvalidInput(format!("the SMTP server {:?}: {e}", self.host))
        };
        let builder = match self.security {
            SmtpSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host).map_err(bad)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host).map_err(bad)?
            }
        };
        let mut builder = builder.port(self.port).timeout(Some(self.timeout));
        if let Some(path) = &self.ca_file {
            let params = self.tls_trusting(path)?;
            builder = match self.security {
                SmtpSecurity::StartTls => builder.tls(Tls::Required(params)),
                SmtpSecurity::Tls => builder.tls(Tls::Wrapper(params)),
                SmtpSecurity::Plain => {
                    return Err(VaultError::InvalidInput(
                        "an SMTP CA file is set but security is plain: use starttls or tls, \
                         or remove the CA file"
                            .into(),
                    ));
                }
            };
        }
        if let (Some(user), Some(password)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(builder.build())
    }
}

impl SmtpSettings {
    /// TLS that trusts only the certificates in `path`.
    fn tls_trusting(&self, path: &std::path::Path) -> Result<TlsParameters, VaultError> {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|e| {
            VaultError::InvalidInput(format!("cannot read the SMTP CA file {shown}: {e}"))
        })?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(VaultError::InvalidInput(format!(
                "the SMTP CA file {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            )));
        }
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            VaultError::InvalidInput(format!(
                "the SMTP CA file {shown} is not a valid PEM certificate: {e}"
            ))
        })?;
        TlsParameters::builder(self.host.clone())
            .certificate_store(CertificateStore::None)
            .add_root_certificate(cert)
            .build_rustls()
            .map_err(|e| {
                VaultError::InvalidInput(format!("TLS with the SMTP CA file {shown}: {e}"))
            })
    }
}

/// The Message-ID of a notice: the same for every try.
pub(crate) fn message_id(notice: NoticeId, from: &Mailbox) -> String {
    format!("<notice-{notice}@{}>", from.email.domain())
}

pub(crate) async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    settings: &SmtpSettings,
    notice: NoticeId,
    to: &str,
    text: &RenderedNotice,
) -> Result<(), Failure> {
    let permanent = |message: String| Failure {
        message,
        permanent: true,
    };
    let from = settings
        .sender_mailbox()
        .map_err(|e| permanent(e.to_string()))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| permanent(format!("the customer's address is not usable: {e}")))?;
    let message = Message::builder()
        .message_id(Some(message_id(notice, &from)))
        .from(from)
        .to(to)
        .subject(text.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(text.body.clone())
        .map_err(|e| permanent(format!("the notice cannot be written as e-mail: {e}")))?;
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let mut detail = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                let text = cause.to_string();
                if !detail.contains(&text) {
                    detail = format!("{detail}: {text}");
                }
                source = cause.source();
            }
            let message = if e.is_tls() || detail.contains("certificate") {
                format!(
                    "the SMTP server's TLS certificate was refused ({detail}): if a private CA \
                     or the server itself signed it, set [smtp] ca_file (or \
                     CONFIDANT_SMTP_CA_FILE) to that CA's PEM certificate"
                )
            } else {
                format!("the SMTP server did not accept it: {detail}")
            };
            Err(Failure {
                permanent: e.is_permanent(),
                message,
            })
        }
    }
}

/// A plain-text message to one address (the owner's digests and alerts).
#[derive(Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// May hold secrets (a passcode digest): kept as a secret until it is
    /// written into the message.
    pub body: SecretString,
    /// The same for every try of the same message, so a copy sent twice is
    /// recognisable (`<...@domain>` is added).
    pub message_id: String,
}

/// Sends one plain-text message; the error says what went wrong (never the
/// body).
pub async fn send_mail(settings: &SmtpSettings, mail: &Mail) -> Result<(), String> {
    let transport = settings.transport().map_err(|e| e.to_string())?;
    let from = settings.sender_mailbox().map_err(|e| e.to_string())?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| format!("the address in the settings is not usable: {e}"))?;
    let message = Message::builder()
        .message_id(Some(format!(
            "<{}@{}>",
            mail.message_id,
            from.email.domain()
        )))
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.expose_secret().to_owned())
        .map_err(|e| format!("the message cannot be written as e-mail: {e}"))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("the SMTP server did not accept it: {e}"))
}
