//! Talking to a confidant server: `confidant login` keeps a scoped,
//! revocable API token in the user's config dir (a file only they can
//! read), and commands that are not pointed at a data dir use it.
//!
//! The token file is `$CONFIDANT_CONFIG_DIR/credentials.toml`, else
//! `$XDG_CONFIG_HOME/confidant/credentials.toml`, else
//! `~/.config/confidant/credentials.toml`, written with mode 0600 through a
//! temporary file.

use std::fs;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use confidant_protocol::{ErrorBody, SignInRequest, SignInResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const CREDENTIALS_FILE: &str = "credentials.toml";

/// What `confidant login` saves.
#[derive(Serialize, Deserialize)]
struct Credentials {
    server: String,
    email: String,
    token: String,
    expires_at: String,
}

pub(crate) fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CONFIDANT_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("confidant"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("cannot find your config dir: set CONFIDANT_CONFIG_DIR or HOME")?;
    Ok(PathBuf::from(home).join(".config").join("confidant"))
}

fn credentials_path() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join(CREDENTIALS_FILE))
}

/// A signed-in HTTP client of one server.
pub struct Client {
    http: reqwest::Client,
    server: String,
    token: SecretString,
}

pub(crate) fn http() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("confidant-cli/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .context("cannot start the HTTP client")
}

/// The server's base URL from what the user typed: scheme required,
/// trailing slash dropped; plain http only for this machine.
pub(crate) fn server_url(input: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(input.trim()).with_context(|| {
        format!("{input:?} is not a server address: give it like https://vault.example.com")
    })?;
    let loopback = url.host_str().is_some_and(|host| {
        host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => bail!(
            "{input} is plain http: your password and the data would cross the network in the \
             clear. Use https:// (plain http works only for this machine)"
        ),
        other => bail!("{other}:// is not a server address: use https://"),
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Turns a non-success answer into the server's own message.
pub(crate) async fn check(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(ServerError {
            status: status.as_u16(),
            kind: body.error,
            message: body.message,
        }
        .into()),
        Err(_) => bail!("the server answered {status}"),
    }
}

/// An error the server explained.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ServerError {
    pub status: u16,
    pub kind: String,
    pub message: String,
}

impl Client {
    /// The client of the saved login; an error saying to log in when there
    /// is none.
    pub fn from_saved() -> anyhow::Result<Client> {
        let path = credentials_path()?;
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "not signed in to a server: run `confidant login https://HOST` (or pass --data DIR \
                 to work on a data dir at the server's console)"
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let saved: Credentials = toml::from_str(&text).with_context(|| {
            format!("{} is damaged: run `confidant login` again", path.display())
        })?;
        Ok(Client {
            http: http()?,
            server: saved.server,
            token: SecretString::from(saved.token),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let response = request
            .bearer_auth(self.token.expose_secret())
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.server))?;
        match check(response).await {
            Err(e)
                if e.downcast_ref::<ServerError>()
                    .is_some_and(|s| s.status == 401) =>
            {
                Err(e.context("signed out: run `confidant login` again"))
            }
            other => other,
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self.send(self.http.get(self.url(path))).await?;
        Ok(response.json().await?)
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let response = self.send(self.http.post(self.url(path)).json(body)).await?;
        Ok(response.json().await?)
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let response = self.send(self.http.put(self.url(path)).json(body)).await?;
        Ok(response.json().await?)
    }

    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self.send(self.http.get(self.url(path))).await?;
        Ok(response.bytes().await?.to_vec())
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.send(self.http.delete(self.url(path))).await?;
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server, e.g. https://vault.example.com.
    server: String,
    /// Your e-mail address (asked when not given).
    #[arg(long, env = "CONFIDANT_EMAIL")]
    email: Option<String>,
    /// What to call this token in your session list (default: "cli on HOSTNAME").
    #[arg(long)]
    label: Option<String>,
}

pub(crate) fn prompt_line(prompt: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("{prompt} is needed and there is no terminal to ask on");
    }
    let mut out = std::io::stderr();
    write!(out, "{prompt}: ")?;
    out.flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

pub(crate) fn secret(env: &str, prompt: &str) -> anyhow::Result<SecretString> {
    if let Ok(value) = std::env::var(env) {
        return Ok(SecretString::from(value));
    }
    if !std::io::stdin().is_terminal() {
        bail!("{env} is not set and there is no terminal to ask on: set {env}");
    }
    Ok(SecretString::from(
        rpassword::prompt_password(format!("{prompt}: "))
            .context("cannot read from the terminal")?,
    ))
}

/// `confidant login URL`: signs in (password, then the authenticator code)
/// and saves the API token.
pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let server = server_url(&args.server)?;
    let email = match args.email {
        Some(email) => email,
        None => prompt_line("E-mail address")?,
    };
    let password = secret("CONFIDANT_PASSWORD", "Password")?;
    let label = args.label.unwrap_or_else(|| {
        let host = fs::read_to_string("/etc/hostname").unwrap_or_default();
        match host.trim() {
            "" => "cli".to_owned(),
            host => format!("cli on {host}"),
        }
    });
    let http = http()?;
    let mut request = SignInRequest {
        email: email.clone(),
        password: password.expose_secret().to_owned(),
        code: std::env::var("CONFIDANT_CODE").ok(),
        label: Some(label),
    };
    let url = format!("{server}/api/v1/tokens");
    let response = match sign_in(&http, &url, &request).await {
        Err(e)
            if request.code.is_none()
                && e.downcast_ref::<ServerError>()
                    .is_some_and(|s| s.kind == "second_factor_required") =>
        {
            request.code = Some(prompt_line(
                "Code from your authenticator app (or a recovery code)",
            )?);
            sign_in(&http, &url, &request).await?
        }
        other => other?,
    };
    let signed_in: SignInResponse = response.json().await?;
    let path = credentials_path()?;
    let dir = path.parent().context("the config dir has no parent")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let saved = Credentials {
        server: server.clone(),
        email: signed_in.person.email.clone(),
        token: signed_in.token,
        expires_at: signed_in
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    let text = format!(
        "# confidant login: an API token, as secret as your password. `confidant logout` ends it.\n{}",
        toml::to_string(&saved)?
    );
    let tmp = dir.join(format!(".{CREDENTIALS_FILE}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "signed in to {server} as {} ({}); the token is in {} until {}",
        signed_in.person.name,
        signed_in.person.role,
        path.display(),
        crate::output::time(signed_in.expires_at)
    );
    // On an enrolled computer, the new token counts as coming from it.
    if crate::agent::identity_path(&server).is_ok_and(|p| p.exists()) {
        match crate::agent::link_saved_login(&server).await {
            Ok(name) => {
                println!("this token is linked to this computer's enrolled device ({name})")
            }
            Err(e) => {
                eprintln!("warning: the token is not linked to this computer's device: {e:#}")
            }
        }
    }
    Ok(())
}

async fn sign_in(
    http: &reqwest::Client,
    url: &str,
    request: &SignInRequest,
) -> anyhow::Result<reqwest::Response> {
    let response = http
        .post(url)
        .json(request)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    check(response).await
}

/// `confidant logout`: ends the token on the server and forgets it.
pub async fn logout() -> anyhow::Result<()> {
    let path = credentials_path()?;
    if !path.exists() {
        println!("not signed in");
        return Ok(());
    }
    let client = Client::from_saved()?;
    match client.delete("/api/v1/tokens/current").await {
        Ok(()) => {}
        Err(e) if e.downcast_ref::<ServerError>().is_some() => {}
        Err(e) if e.chain().any(|c| c.to_string().contains("signed out")) => {}
        Err(e) => return Err(e.context("the token could not be ended on the server; it was kept")),
    }
    fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    println!("signed out of {}", client.server);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses() {
        assert_eq!(
            server_url("https://vault.example.com/").unwrap(),
            "https://vault.example.com"
        );
        assert_eq!(
            server_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(server_url("http://vault.example.com").is_err());
        assert!(server_url("vault.example.com").is_err());
        assert!(server_url("ftp://x").is_err());
    }
}
