//! The data dir: its config file, database, blob folder, and unsealing.
//!
//! ```text
//! DIR/confidant.toml   which database (SQLite in DIR by default) and where to listen
//! DIR/confidant.db     the SQLite database (with -wal/-shm beside it)
//! DIR/blobs/           encrypted document bodies
//! ```

use std::fs;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use confidant_store::BlobStore;
use confidant_vault::{
    Actor, InitOptions, KdfParams, KeyFile, MIN_SECRET_CHARS, SystemClock, Unlock, Vault,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "confidant.toml";
const DB_FILE: &str = "confidant.db";
const BLOB_DIR: &str = "blobs";

/// Options every command shares.
#[derive(Debug)]
pub struct Global {
    pub data: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Which workspace of the data dir (default: the first one created).
    pub workspace: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The owner's e-mail address (their sign-in name).
    #[arg(long, env = "CONFIDANT_OWNER_EMAIL")]
    pub owner_email: String,
    /// The owner's full name.
    #[arg(long, env = "CONFIDANT_OWNER_NAME")]
    pub owner_name: String,
    /// The business's name, shown in the web UI.
    #[arg(long, default_value = "My business")]
    pub workspace_name: String,
    /// Keep metadata in PostgreSQL instead of SQLite in the data dir
    /// (postgres://USER:PASSWORD@HOST/DB).
    #[arg(long, env = "CONFIDANT_DATABASE", value_name = "URL")]
    pub database: Option<String>,
}

/// DIR/confidant.toml.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A database URL; absent means SQLite in the data dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Where `serve` listens, e.g. "127.0.0.1:8080".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Where people reach the server, e.g. "https://vault.example.com"
    /// (for invitation links; https also makes cookies Secure and turns on
    /// HSTS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// How long sessions and API tokens live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionsConfig>,
    /// Where breach notices are sent from (`confidant incident notices --send`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<crate::incidents::SmtpConfig>,
    /// What `serve` does on its own schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::schedule::ScheduleConfig>,
    /// How backups reach an S3-compatible bucket (`backup create --to s3://...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<crate::backup_dest::BackupConfig>,
    /// Threshold alerts over the access record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<crate::schedule::AlertsConfig>,
}

/// `[sessions]` in confidant.toml; every field optional.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// A web session ends after this many minutes without a request (30).
    pub web_idle_minutes: Option<u32>,
    /// A web session ends this many hours after sign-in (12).
    pub web_lifetime_hours: Option<u32>,
    /// An API token ends after this many days unused (7).
    pub api_idle_days: Option<u32>,
    /// An API token ends this many days after `confidant login` (30).
    pub api_lifetime_days: Option<u32>,
}

impl SessionsConfig {
    pub fn policy(&self) -> anyhow::Result<confidant_vault::SessionPolicy> {
        use time::Duration;
        let defaults = confidant_vault::SessionPolicy::default();
        let pick =
            |value: Option<u32>, unit: fn(i64) -> Duration, default: Duration, what: &str| {
                match value {
                    None => Ok(default),
                    Some(0) => bail!("[sessions] {what} in {CONFIG_FILE} must be at least 1"),
                    Some(n) => Ok(unit(i64::from(n))),
                }
            };
        let policy = confidant_vault::SessionPolicy {
            web_idle: pick(
                self.web_idle_minutes,
                Duration::minutes,
                defaults.web_idle,
                "web_idle_minutes",
            )?,
            web_lifetime: pick(
                self.web_lifetime_hours,
                Duration::hours,
                defaults.web_lifetime,
                "web_lifetime_hours",
            )?,
            api_idle: pick(
                self.api_idle_days,
                Duration::days,
                defaults.api_idle,
                "api_idle_days",
            )?,
            api_lifetime: pick(
                self.api_lifetime_days,
                Duration::days,
                defaults.api_lifetime,
                "api_lifetime_days",
            )?,
        };
        if policy.web_idle > policy.web_lifetime || policy.api_idle > policy.api_lifetime {
            bail!(
                "[sessions] in {CONFIG_FILE}: an idle timeout longer than the lifetime has no effect; shorten it"
            );
        }
        Ok(policy)
    }
}

/// The server's public address from the config, or where it listens.
pub fn public_url(config: &Config) -> String {
    match (&config.public_url, &config.listen) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(listen)) => format!("http://{listen}"),
        (None, None) => "http://127.0.0.1:8080".to_owned(),
    }
}

pub fn data_dir(global: &Global) -> anyhow::Result<&Path> {
    global
        .data
        .as_deref()
        .context("no data dir given: pass --data DIR or set CONFIDANT_DATA")
}

fn database_url(dir: &Path, config: &Config) -> String {
    match &config.database {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", dir.join(DB_FILE).display()),
    }
}

pub fn read_config(dir: &Path) -> anyhow::Result<Config> {
    let path = dir.join(CONFIG_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} is not a confidant data dir (no {CONFIG_FILE}): run `confidant init --data {}` first",
            dir.display(),
            dir.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// Reads a secret from the environment, or asks on the terminal.
fn secret_from(env: &str, prompt: &str, confirm: bool) -> anyhow::Result<SecretString> {
    if let Ok(value) = std::env::var(env) {
        return Ok(SecretString::from(value));
    }
    if !std::io::stdin().is_terminal() {
        bail!("{env} is not set and there is no terminal to ask on: set {env}");
    }
    let first = rpassword::prompt_password(format!("{prompt}: "))
        .context("cannot read from the terminal")?;
    if confirm {
        let again = rpassword::prompt_password(format!("{prompt} (again): "))
            .context("cannot read from the terminal")?;
        if first != again {
            bail!("the two entries differ: nothing was changed");
        }
    }
    Ok(SecretString::from(first))
}

/// Reads a key file, refusing one that others can read (as ssh does).
pub fn read_key_file(path: &Path) -> anyhow::Result<KeyFile> {
    let meta =
        fs::metadata(path).with_context(|| format!("cannot read key file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "key file {} can be read by others (mode {mode:04o}): run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    KeyFile::parse(&text).map_err(|_| {
        anyhow::anyhow!(
            "{} is not a confidant key file (expected one line starting confidant-key-file-v1)",
            path.display()
        )
    })
}

pub fn unlock(global: &Global) -> anyhow::Result<Unlock> {
    match &global.key_file {
        Some(path) => Ok(Unlock::KeyFile(read_key_file(path)?)),
        None => Ok(Unlock::Passphrase(secret_from(
            "CONFIDANT_PASSPHRASE",
            "Passphrase",
            false,
        )?)),
    }
}

/// The store, blobs and URL of a data dir.
pub async fn connect(
    dir: &Path,
    config: &Config,
) -> anyhow::Result<(Arc<dyn confidant_store::Store>, BlobStore)> {
    let url = database_url(dir, config);
    let store = confidant_store::connect(&url)
        .await
        .with_context(|| format!("cannot open the database of {}", dir.display()))?;
    let blobs = BlobStore::local(&dir.join(BLOB_DIR))
        .with_context(|| format!("cannot open the blob folder of {}", dir.display()))?;
    Ok((store, blobs))
}

/// Opens the workspace of the data dir (`--workspace`, or the first).
pub async fn open(global: &Global) -> anyhow::Result<Vault> {
    let dir = data_dir(global)?;
    let config = read_config(dir)?;
    let unlock = unlock(global)?;
    let (store, blobs) = connect(dir, &config).await?;
    Ok(Vault::open_named(
        store,
        blobs,
        Arc::new(SystemClock),
        &unlock,
        global.workspace.as_deref(),
    )
    .await?)
}

/// Opens every workspace of the data dir, for `serve`.
pub async fn open_all(global: &Global) -> anyhow::Result<Vec<Vault>> {
    let dir = data_dir(global)?;
    let config = read_config(dir)?;
    let unlock = unlock(global)?;
    let (store, blobs) = connect(dir, &config).await?;
    Ok(Vault::open_all(store, blobs, Arc::new(SystemClock), &unlock).await?)
}

#[derive(Debug, Args)]
pub struct AddWorkspaceArgs {
    /// The new workspace's (business's) name; unique on this server.
    #[arg(long)]
    pub name: String,
    /// Its owner's e-mail address.
    #[arg(long)]
    pub owner_email: String,
    /// Its owner's full name.
    #[arg(long)]
    pub owner_name: String,
}

/// `confidant workspace add`: another tenant in the same data dir, sealed
/// with the same passphrase or key file.
pub async fn add_workspace(global: &Global, args: AddWorkspaceArgs) -> anyhow::Result<()> {
    let dir = data_dir(global)?;
    let config = read_config(dir)?;
    let unlock = unlock(global)?;
    let owner_password = secret_from("CONFIDANT_OWNER_PASSWORD", "The new owner's password", true)?;
    let (store, blobs) = connect(dir, &config).await?;
    let vault = Vault::add_workspace(
        store,
        blobs,
        Arc::new(SystemClock),
        InitOptions {
            workspace_name: args.name.clone(),
            owner_email: args.owner_email,
            owner_name: args.owner_name,
            owner_password,
            unlock,
            kdf: KdfParams::default(),
        },
    )
    .await?;
    let owner = vault.owner().await?;
    println!(
        "created workspace {:?} with owner {} <{}>; `confidant serve` serves it beside the others",
        vault.workspace_name(),
        owner.name,
        owner.email
    );
    Ok(())
}

/// `confidant workspace list`.
pub async fn list_workspaces(global: &Global) -> anyhow::Result<()> {
    let vaults = open_all(global).await?;
    let mut rows = Vec::new();
    for vault in &vaults {
        let owner = vault.owner().await?;
        rows.push(vec![vault.workspace_name().to_owned(), owner.email]);
    }
    crate::output::table(&["WORKSPACE", "OWNER"], &rows)
}

pub async fn open_as_owner(global: &Global) -> anyhow::Result<(Vault, Actor)> {
    let vault = open(global).await?;
    let owner = vault.owner().await?;
    Ok((vault, owner))
}

/// Writes a file that only its owner may read, failing if it exists.
pub fn write_private_new(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// Removes what a failed `init` created, so a second try starts clean.
struct Cleanup {
    paths: Vec<(PathBuf, bool)>,
    armed: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.armed {
            for (path, is_dir) in self.paths.iter().rev() {
                if *is_dir {
                    fs::remove_dir_all(path).ok();
                } else {
                    fs::remove_file(path).ok();
                }
            }
        }
    }
}

pub async fn init(global: &Global, args: InitArgs) -> anyhow::Result<()> {
    let dir = data_dir(global)?;
    let options = InitSecrets::gather(global)?;
    let created = create_workspace(dir, global.key_file.as_deref(), &args, options).await?;
    println!(
        "created workspace {:?} in {}",
        args.workspace_name,
        dir.display()
    );
    println!("owner: {} <{}>", created.owner_name, created.owner_email);
    println!("workspace public key (ed25519): {}", created.public_key);
    if let Some(path) = &global.key_file {
        println!(
            "key file: {} (keep a copy somewhere safe and off this machine: without it the data cannot be read)",
            path.display()
        );
    } else {
        println!("the root key is sealed by your passphrase: without it the data cannot be read");
    }
    println!("next: confidant serve --data {}", dir.display());
    Ok(())
}

/// The secrets `init` needs, gathered before anything is written.
pub struct InitSecrets {
    pub owner_password: SecretString,
    pub passphrase: Option<SecretString>,
}

impl InitSecrets {
    fn gather(global: &Global) -> anyhow::Result<Self> {
        let owner_password = secret_from("CONFIDANT_OWNER_PASSWORD", "Owner's password", true)?;
        let passphrase = match global.key_file {
            Some(_) => None,
            None => Some(secret_from(
                "CONFIDANT_PASSPHRASE",
                "Passphrase for the data dir",
                true,
            )?),
        };
        for (what, secret) in [
            ("owner password", Some(&owner_password)),
            ("passphrase", passphrase.as_ref()),
        ] {
            if let Some(secret) = secret {
                let n = secret.expose_secret().chars().count();
                if n < MIN_SECRET_CHARS {
                    bail!(
                        "the {what} has {n} characters: use at least {MIN_SECRET_CHARS} (nothing was changed)"
                    );
                }
            }
        }
        Ok(InitSecrets {
            owner_password,
            passphrase,
        })
    }
}

pub struct Created {
    pub owner_email: String,
    pub owner_name: String,
    /// Hex of the workspace's Ed25519 public key.
    pub public_key: String,
}

/// Creates the data dir and the workspace; on any failure removes what it
/// created and leaves existing files alone.
pub async fn create_workspace(
    dir: &Path,
    key_file: Option<&Path>,
    args: &InitArgs,
    secrets: InitSecrets,
) -> anyhow::Result<Created> {
    if dir.join(CONFIG_FILE).exists() {
        bail!(
            "{} already holds a workspace ({CONFIG_FILE} exists): nothing was changed",
            dir.display()
        );
    }
    let mut cleanup = Cleanup {
        paths: Vec::new(),
        armed: true,
    };
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{} is not empty: choose a new or empty folder for the data dir (nothing was changed)",
                    dir.display()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            cleanup.paths.push((dir.to_path_buf(), true));
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", dir.display()))?;

    let unlock = match (key_file, secrets.passphrase) {
        (Some(path), _) => {
            if path.exists() {
                bail!(
                    "key file {} already exists: init creates a new key file; choose another path (nothing was changed)",
                    path.display()
                );
            }
            let file = KeyFile::generate(&mut rand_core::OsRng);
            write_private_new(path, file.to_text().as_bytes())?;
            cleanup.paths.push((path.to_path_buf(), false));
            Unlock::KeyFile(file)
        }
        (None, Some(passphrase)) => Unlock::Passphrase(passphrase),
        (None, None) => {
            bail!("no passphrase and no key file: set CONFIDANT_PASSPHRASE or pass --key-file")
        }
    };
    let config = Config {
        database: args.database.clone(),
        ..Config::default()
    };
    // The database files are created inside `dir`; when `dir` existed (and
    // was empty) they are removed on failure too.
    if cleanup.paths.first().is_none_or(|(p, _)| p != dir) {
        for name in [DB_FILE, "confidant.db-wal", "confidant.db-shm", CONFIG_FILE] {
            cleanup.paths.push((dir.join(name), false));
        }
        cleanup.paths.push((dir.join(BLOB_DIR), true));
    }
    let (store, blobs) = connect(dir, &config).await?;
    let vault = Vault::init(
        store,
        blobs,
        Arc::new(SystemClock),
        InitOptions {
            workspace_name: args.workspace_name.clone(),
            owner_email: args.owner_email.clone(),
            owner_name: args.owner_name.clone(),
            owner_password: secrets.owner_password,
            unlock,
            kdf: KdfParams::default(),
        },
    )
    .await?;
    let owner = vault.owner().await?;
    let public_key: String = vault
        .public_key()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // The config file is written last: its presence marks a finished init.
    let text = format!(
        "# confidant data dir: see README.md (Configure).\n{}",
        toml::to_string(&config).context("cannot write the config")?
    );
    write_private_new(&dir.join(CONFIG_FILE), text.as_bytes())?;
    cleanup.armed = false;
    Ok(Created {
        owner_email: owner.email,
        owner_name: owner.name,
        public_key,
    })
}
