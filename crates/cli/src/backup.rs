//! `confidant backup`: keygen, create, verify, restore, prune.
//!
//! Backups are owner operations on a data dir (like `docs` or `keys`):
//! opening the data dir with its passphrase or key file is the proof of
//! ownership. `create` is cron-friendly: with the settings `keygen` saved
//! in `DIR/backup.toml` it needs no arguments, names each file by its UTC
//! time, writes it under a temporary name and renames it only when
//! complete, and exits non-zero on any failure.
//!
//! ```text
//! DIR/backup.toml                          destination, recipients, keep policy, sealed signing key
//! DEST/confidant-20261101T020000Z.age      the backup (age; zstd inside)
//! DEST/confidant-20261101T020000Z.age.sig  its detached signature
//! DEST/backup-signing.pub                  the signing public key
//! ```

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use confidant_vault::backup::{
    self, BackupPublicKey, BackupReader, CreateOptions, IdentityFile, OuterSignature,
    RestoreTarget, SealedBackupKey,
};
use confidant_vault::{Vault, VaultError};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::datadir::{self, Global};

const SETTINGS_FILE: &str = "backup.toml";
const PUBLIC_KEY_FILE: &str = "backup-signing.pub";
const PREFIX: &str = "confidant-";
const SUFFIX: &str = ".age";

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Make an age identity (X25519) for backups, written with mode 0600;
    /// prints its recipient and saves it in the data dir's backup settings.
    /// Also makes the server's backup signing key on first use.
    Keygen(KeygenArgs),
    /// Back up the whole server (every workspace, its blobs and ledger)
    /// while it keeps serving.
    Create(CreateArgs),
    /// Check a backup: its detached signature (no key needed) and, with
    /// --identity, every part, the manifest and every ledger.
    Verify(VerifyArgs),
    /// Restore a backup into a new data dir (--data), on SQLite or
    /// PostgreSQL (--database). The target must be empty.
    Restore(RestoreArgs),
    /// Delete old backups of a folder, keeping some per day, week, month.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the identity (keep it offline: it decrypts every backup).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Also save this folder as the default destination of `backup create`.
    #[arg(long, value_name = "DIR")]
    pub destination: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The folder to write the backup into (default: the saved destination).
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Encrypt to this age recipient (repeatable; default: the saved ones).
    #[arg(long, value_name = "age1...")]
    pub recipient: Vec<String>,
    /// zstd compression level (1-19).
    #[arg(long, default_value_t = 3)]
    pub level: i32,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup file (FILE.sig beside it is its signature).
    pub file: PathBuf,
    /// Decrypt with this identity and check everything inside.
    #[arg(long, value_name = "KEY")]
    pub identity: Option<PathBuf>,
    /// The backup signing key you trust (base64, printed by keygen and
    /// create); default: the one named in the identity file.
    #[arg(long, value_name = "KEY")]
    pub public_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file.
    pub file: PathBuf,
    /// The identity that decrypts it.
    #[arg(long, value_name = "KEY")]
    pub identity: PathBuf,
    /// The backup signing key you trust (default: the one in the identity file).
    #[arg(long, value_name = "KEY")]
    pub public_key: Option<String>,
    /// Restore the metadata into this (empty) PostgreSQL database instead of
    /// SQLite in the new data dir.
    #[arg(long, env = "CONFIDANT_DATABASE", value_name = "URL")]
    pub database: Option<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The backup folder (default: the saved destination).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub keep_last: Option<usize>,
    #[arg(long)]
    pub keep_daily: Option<usize>,
    #[arg(long)]
    pub keep_weekly: Option<usize>,
    #[arg(long)]
    pub keep_monthly: Option<usize>,
    /// Only say what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
}

/// DIR/backup.toml.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<Keep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SealedBackupKey>,
}

/// How many backups to keep: the newest `last`, and the newest of each of
/// the latest `daily` days, `weekly` ISO weeks and `monthly` months.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Keep {
    #[serde(default)]
    pub last: usize,
    #[serde(default)]
    pub daily: usize,
    #[serde(default)]
    pub weekly: usize,
    #[serde(default)]
    pub monthly: usize,
}

fn read_settings(dir: &Path) -> anyhow::Result<Settings> {
    let path = dir.join(SETTINGS_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_settings(dir: &Path, settings: &Settings) -> anyhow::Result<()> {
    let text = format!(
        "# confidant backup settings: see README.md (Backups).\n{}",
        toml::to_string(settings).context("cannot write the backup settings")?
    );
    write_atomic(&dir.join(SETTINGS_FILE), text.as_bytes(), 0o600)
}

/// Writes `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn bar(total: Option<u64>) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let template = if total.is_some() {
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {wide_msg}"
    } else {
        "{spinner} {bytes} {binary_bytes_per_sec} {wide_msg}"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub async fn run(global: &Global, cmd: BackupCommand) -> anyhow::Result<()> {
    match cmd {
        BackupCommand::Keygen(args) => keygen(global, args).await,
        BackupCommand::Create(args) => create(global, args).await,
        BackupCommand::Verify(args) => verify(args).await,
        BackupCommand::Restore(args) => restore(global, args).await,
        BackupCommand::Prune(args) => prune(global, args),
    }
}

/// The server's backup signer, made and saved on first use.
fn signer(
    dir: &Path,
    first: &Vault,
    owner: &confidant_vault::Actor,
    settings: &mut Settings,
) -> anyhow::Result<backup::BackupSigner> {
    let sealed = match &settings.signing_key {
        Some(sealed) => sealed.clone(),
        None => {
            let sealed = first.new_backup_key(owner)?;
            settings.signing_key = Some(sealed.clone());
            write_settings(dir, settings)?;
            sealed
        }
    };
    Ok(first.open_backup_key(owner, &sealed)?)
}

async fn keygen(global: &Global, args: KeygenArgs) -> anyhow::Result<()> {
    let dir = datadir::data_dir(global)?;
    if args.out.exists() {
        bail!(
            "{} exists: choose a new path for the identity (nothing was changed)",
            args.out.display()
        );
    }
    let vaults = datadir::open_all(global).await?;
    let first = vaults.first().context("the data dir holds no workspace")?;
    let owner = first.owner().await?;
    let mut settings = read_settings(dir)?;
    let signer = signer(dir, first, &owner, &mut settings)?;
    let now = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let (text, recipient) = IdentityFile::generate(&signer.public_key(), &now);
    datadir::write_private_new(&args.out, text.expose_secret().as_bytes())?;
    if !settings.recipients.contains(&recipient) {
        settings.recipients.push(recipient.clone());
    }
    if let Some(dest) = args.destination {
        settings.destination = Some(dest);
    }
    write_settings(dir, &settings)?;
    println!(
        "identity: {} (mode 0600; keep it offline: it decrypts every backup)",
        args.out.display()
    );
    println!(
        "recipient: {recipient} (saved in {})",
        dir.join(SETTINGS_FILE).display()
    );
    println!("backup signing key: {}", signer.public_key());
    println!(
        "restoring needs this identity and the data dir's passphrase or key file (the root key is not in a backup)"
    );
    Ok(())
}

fn backup_name(at: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    format!(
        "{PREFIX}{}{SUFFIX}",
        at.to_offset(time::UtcOffset::UTC)
            .format(&f)
            .unwrap_or_default()
    )
}

fn parse_backup_name(name: &str) -> Option<OffsetDateTime> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(stamp, &f)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

async fn create(global: &Global, args: CreateArgs) -> anyhow::Result<()> {
    let dir = datadir::data_dir(global)?;
    let settings = read_settings(dir)?;
    let dest = args
        .to
        .clone()
        .or_else(|| settings.destination.clone())
        .context(
            "no destination: pass --to DIR or save one with `backup keygen --destination DIR`",
        )?;
    let recipients: Vec<String> = if args.recipient.is_empty() {
        settings.recipients.clone()
    } else {
        args.recipient.clone()
    };
    if recipients.is_empty() {
        bail!(
            "no recipient: pass --recipient age1... or run `confidant backup keygen --out KEY` first"
        );
    }
    let vaults = datadir::open_all(global).await?;
    let mut owned = Vec::new();
    for vault in vaults {
        let owner = vault.owner().await?;
        owned.push((vault, owner));
    }
    let (created, path, public_key) =
        make_backup(dir, &owned, &dest, &recipients, args.level, true).await?;
    let m = &created.manifest;
    println!("backup {} written to {}", m.backup_id, path.display());
    println!(
        "{} parts, {} bytes encrypted ({} before compression), sha256 {}",
        m.parts.len(),
        created.size,
        created.plaintext,
        created.sha256
    );
    for ws in &m.workspaces {
        println!(
            "workspace {:?}: ledger {} entries, root {}",
            ws.name, ws.entries, ws.root
        );
    }
    println!("signed by backup key {public_key}");
    Ok(())
}

/// Writes a backup of every workspace of the data dir `dir` into `dest`
/// (under a temporary name, renamed when complete) with its signature and
/// the signing public key beside it.
pub(crate) async fn make_backup(
    dir: &Path,
    owned: &[(Vault, confidant_vault::Actor)],
    dest: &Path,
    recipients: &[String],
    level: i32,
    progress_bar: bool,
) -> anyhow::Result<(backup::Created, PathBuf, BackupPublicKey)> {
    let mut settings = read_settings(dir)?;
    let recipients = recipients
        .iter()
        .map(|r| backup::parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let (first, owner) = owned.first().context("the data dir holds no workspace")?;
    let signer = signer(dir, first, owner, &mut settings)?;
    let settings_text = fs::read(dir.join(SETTINGS_FILE)).unwrap_or_default();
    // A document replaced while the backup runs can take its old blob
    // away; a second try sees the new state.
    let mut attempt = 0;
    let (created, path) = loop {
        attempt += 1;
        let name = backup_name(OffsetDateTime::now_utc());
        let path = dest.join(&name);
        let partial = dest.join(format!(".{name}.partial"));
        let file = fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let progress = if progress_bar {
            bar(None)
        } else {
            indicatif::ProgressBar::hidden()
        };
        progress.set_message(name.clone());
        let shown = progress.clone();
        let files = if settings_text.is_empty() {
            Vec::new()
        } else {
            vec![(SETTINGS_FILE.to_owned(), settings_text.clone())]
        };
        let options = CreateOptions {
            recipients: recipients.clone(),
            signer: &signer,
            files,
            file_name: name.clone(),
            progress: Some(Box::new(move |n| shown.set_position(n))),
            level,
        };
        let result = backup::create(
            owned,
            options,
            std::io::BufWriter::with_capacity(1 << 20, file),
        )
        .await;
        progress.finish_and_clear();
        match result {
            Ok((created, out)) => {
                let file = out
                    .into_inner()
                    .map_err(|e| anyhow::anyhow!("cannot write the backup: {e}"))?;
                file.sync_all()?;
                fs::rename(&partial, &path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                write_atomic(
                    &dest.join(format!("{name}.sig")),
                    created.signature.as_bytes(),
                    0o644,
                )?;
                write_atomic(
                    &dest.join(PUBLIC_KEY_FILE),
                    format!("{}\n", signer.public_key()).as_bytes(),
                    0o644,
                )?;
                break (created, path);
            }
            Err(VaultError::Conflict(m)) if attempt < 3 => {
                fs::remove_file(&partial).ok();
                eprintln!("{m}: trying again");
            }
            Err(e) => {
                fs::remove_file(&partial).ok();
                return Err(e).context("the backup failed; no backup file was left behind");
            }
        }
    };
    Ok((created, path, signer.public_key()))
}

/// `serve`'s daily backup: into the saved destination, to the saved
/// recipients, then pruned by `keep`. Returns what it did in ids and
/// counts (for the ledger).
pub(crate) async fn scheduled_backup(
    dir: &Path,
    owned: &[(Vault, confidant_vault::Actor)],
    keep: Keep,
) -> anyhow::Result<String> {
    let settings = read_settings(dir)?;
    let dest = settings.destination.clone().context(
        "no backup destination: run `confidant backup keygen --out KEY --destination DIR` once",
    )?;
    if settings.recipients.is_empty() {
        bail!("no backup recipient: run `confidant backup keygen --out KEY` once");
    }
    let (created, _, _) = make_backup(dir, owned, &dest, &settings.recipients, 3, false).await?;
    let (deleted, kept) = prune_folder(&dest, keep, false)?;
    Ok(format!(
        "backup {} made ({} bytes); {} old backups pruned, {kept} kept",
        created.manifest.backup_id,
        created.size,
        deleted.len()
    ))
}

fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Checks the detached signature of `file` and returns it.
fn check_outer(file: &Path, trusted: Option<&BackupPublicKey>) -> anyhow::Result<OuterSignature> {
    let sig_path = signature_path(file);
    let text = fs::read_to_string(&sig_path).with_context(|| {
        format!(
            "cannot read the signature {}: it belongs beside the backup",
            sig_path.display()
        )
    })?;
    let sig = OuterSignature::parse_and_check(&text)?;
    if let Some(trusted) = trusted
        && trusted != &sig.key
    {
        bail!(
            "{} was signed by key {}, not by the key you trust ({trusted}): do not restore it",
            file.display(),
            sig.key
        );
    }
    let input = fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (sha256, size) = backup::hash_reader(std::io::BufReader::new(input))
        .with_context(|| format!("cannot read {}", file.display()))?;
    if size != sig.size {
        bail!(
            "{} has {size} bytes, its signature says {}: it was truncated or extended; do not restore it",
            file.display(),
            sig.size
        );
    }
    if sha256 != sig.sha256 {
        bail!(
            "{} does not match its signature (SHA-256 differs): it was changed; do not restore it",
            file.display()
        );
    }
    Ok(sig)
}

fn trusted_key(
    public_key: Option<&str>,
    identity: Option<&IdentityFile>,
) -> anyhow::Result<Option<BackupPublicKey>> {
    Ok(match public_key {
        Some(text) => Some(BackupPublicKey::parse(text)?),
        None => identity.and_then(|i| i.pinned),
    })
}

fn read_identity(path: &Path) -> anyhow::Result<IdentityFile> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the identity {}", path.display()))?;
    IdentityFile::parse(&text).with_context(|| format!("{}", path.display()))
}

async fn open_reader(
    file: &Path,
    identity: IdentityFile,
) -> anyhow::Result<(BackupReader, indicatif::ProgressBar)> {
    let input = fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let total = input.metadata().map(|m| m.len()).ok();
    let progress = bar(total);
    let shown = progress.clone();
    let reader = BackupReader::open(
        input,
        identity.identities,
        Some(Box::new(move |n| shown.set_position(n))),
    )
    .await?;
    Ok((reader, progress))
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let identity = args.identity.as_deref().map(read_identity).transpose()?;
    let trusted = trusted_key(args.public_key.as_deref(), identity.as_ref())?;
    let outer = check_outer(&args.file, trusted.as_ref())?;
    println!(
        "signature: good, {} bytes, sha256 {}, backup {}, signed by {}",
        outer.size, outer.sha256, outer.backup_id, outer.key
    );
    if trusted.is_none() {
        println!(
            "note: compare {} with the backup signing key printed by `backup keygen` (or pass --public-key)",
            outer.key
        );
    }
    let Some(identity) = identity else {
        println!("contents not checked: pass --identity KEY to decrypt and check every part");
        return Ok(());
    };
    let (reader, progress) = open_reader(&args.file, identity).await?;
    let result = reader.run(Some(trusted.unwrap_or(outer.key)), None).await;
    progress.finish_and_clear();
    let report = result?;
    if report.manifest.backup_id != outer.backup_id {
        bail!(
            "the signature file belongs to backup {}, the file holds {}: do not restore it",
            outer.backup_id,
            report.manifest.backup_id
        );
    }
    let m = &report.manifest;
    println!(
        "contents: good, {} parts checked ({} bytes), manifest signature good",
        m.parts.len(),
        report.plaintext
    );
    for ws in &m.workspaces {
        println!(
            "workspace {:?}: ledger {} entries verified against its signed checkpoint, root {}",
            ws.name, ws.entries, ws.root
        );
    }
    Ok(())
}

/// Removes the staging dir unless disarmed.
struct Staging {
    path: PathBuf,
    armed: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.armed {
            fs::remove_dir_all(&self.path).ok();
        }
    }
}

fn check_empty_target(dir: &Path) -> anyhow::Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{} is not empty: a backup restores only into a new or empty folder (nothing was changed)",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
}

async fn restore(global: &Global, args: RestoreArgs) -> anyhow::Result<()> {
    let target = datadir::data_dir(global)?.to_path_buf();
    check_empty_target(&target)?;
    let identity = read_identity(&args.identity)?;
    let trusted = trusted_key(args.public_key.as_deref(), Some(&identity))?;
    let outer = if signature_path(&args.file).exists() {
        Some(check_outer(&args.file, trusted.as_ref())?)
    } else {
        eprintln!(
            "warning: no signature file beside the backup; the signed manifest inside is checked instead"
        );
        None
    };
    let trusted = trusted.or(outer.as_ref().map(|o| o.key));
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .context("the target data dir needs a name")?
        .to_string_lossy()
        .into_owned();
    let staging_path = parent.join(format!(".{name}.restore-{}", std::process::id()));
    fs::create_dir_all(&staging_path)
        .with_context(|| format!("cannot create {}", staging_path.display()))?;
    let mut staging = Staging {
        path: staging_path.clone(),
        armed: true,
    };
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&staging_path, fs::Permissions::from_mode(0o700))?;
    }
    let (reader, progress) = open_reader(&args.file, identity).await?;
    let header = reader.header().clone();
    // The header is checked against the signed manifest before anything
    // is committed; here it must also be the backup the signature names.
    if let Some(outer) = &outer
        && outer.backup_id != header.backup_id
    {
        bail!("the signature file belongs to another backup: nothing was restored");
    }
    let sqlite_url = |dir: &Path| format!("sqlite://{}", dir.join("confidant.db").display());
    let load_url = args
        .database
        .clone()
        .unwrap_or_else(|| sqlite_url(&staging_path));
    let blobs = confidant_store::BlobStore::local(&staging_path.join("blobs"))?;
    let restore_target = RestoreTarget::prepare(&load_url, header.schema_version, blobs)
        .await
        .context("cannot open the target database")?;
    let result = reader.run(trusted, Some(restore_target)).await;
    progress.finish_and_clear();
    let report = result.context("the restore failed and changed nothing")?;
    // Later migrations of this build, then the config, then the rename.
    confidant_store::connect(&load_url)
        .await
        .context("cannot bring the restored database up to date")?;
    for (file, contents) in &report.files {
        if file == SETTINGS_FILE {
            write_atomic(&staging_path.join(SETTINGS_FILE), contents, 0o600)?;
        }
    }
    let config = datadir::Config {
        database: args.database.clone(),
        ..datadir::Config::default()
    };
    let text = format!(
        "# confidant data dir: see README.md (Configure).\n{}",
        toml::to_string(&config).context("cannot write the config")?
    );
    datadir::write_private_new(&staging_path.join(datadir::CONFIG_FILE), text.as_bytes())?;
    if target.exists() {
        fs::remove_dir(&target).with_context(|| format!("cannot replace {}", target.display()))?;
    }
    fs::rename(&staging_path, &target)
        .with_context(|| format!("cannot move the restore into {}", target.display()))?;
    staging.armed = false;
    let m = &report.manifest;
    println!(
        "restored backup {} (made {} on {}) into {}",
        m.backup_id,
        m.created_at,
        m.source,
        target.display()
    );
    for ws in &m.workspaces {
        println!(
            "workspace {:?}: ledger {} entries, root {} (matches the manifest)",
            ws.name, ws.entries, ws.root
        );
    }
    if !report.pinned {
        println!(
            "note: the manifest was checked with the key it names; pass --public-key to pin it"
        );
    }
    // With the passphrase or key file at hand, open every workspace (which
    // proves the restore is usable) and record the restore in its ledger.
    let can_unlock =
        global.key_file.is_some() || std::env::var_os("CONFIDANT_PASSPHRASE").is_some();
    if can_unlock {
        let vaults = datadir::open_all(global).await?;
        for vault in &vaults {
            let owner = vault.owner().await?;
            vault.verify_ledger(&owner).await?;
            vault.record_restore(&owner, &m.backup_id).await?;
        }
        println!("opened with your passphrase or key file; the restore is recorded in each ledger");
    } else {
        println!(
            "open it with the original passphrase or key file (the root key is not in a backup): confidant audit verify --data {}",
            target.display()
        );
    }
    Ok(())
}

/// The period a backup falls in (day, ISO week or month).
type Bucket = fn(OffsetDateTime) -> (i32, u32);

/// Which backups to keep, newest first: index i is kept when any rule
/// keeps it.
pub fn keep_set(times: &[OffsetDateTime], keep: Keep) -> Vec<bool> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]));
    let mut kept = vec![false; times.len()];
    for (i, &idx) in order.iter().enumerate() {
        if i < keep.last {
            kept[idx] = true;
        }
    }
    let buckets: [(usize, Bucket); 3] = [
        (keep.daily, |t| (t.year(), u32::from(t.ordinal()))),
        (keep.weekly, |t| {
            let (y, w, _) = t.to_iso_week_date();
            (y, u32::from(w))
        }),
        (keep.monthly, |t| (t.year(), u32::from(u8::from(t.month())))),
    ];
    for (count, bucket) in buckets {
        let mut seen = std::collections::BTreeSet::new();
        for &idx in &order {
            if seen.len() >= count {
                break;
            }
            if seen.insert(bucket(times[idx])) {
                kept[idx] = true;
            }
        }
    }
    kept
}

fn prune(global: &Global, args: PruneArgs) -> anyhow::Result<()> {
    let settings = match global.data.as_deref() {
        Some(dir) => read_settings(dir)?,
        None => Settings::default(),
    };
    let dir = args
        .dir
        .clone()
        .or(settings.destination.clone())
        .context("no backup folder: pass --dir DIR")?;
    let saved = settings.keep.unwrap_or_default();
    let keep = Keep {
        last: args.keep_last.unwrap_or(saved.last),
        daily: args.keep_daily.unwrap_or(saved.daily),
        weekly: args.keep_weekly.unwrap_or(saved.weekly),
        monthly: args.keep_monthly.unwrap_or(saved.monthly),
    };
    let (deleted, kept) = prune_folder(&dir, keep, args.dry_run)?;
    for name in &deleted {
        if args.dry_run {
            println!("would delete {name}");
        } else {
            println!("deleted {name}");
        }
    }
    println!(
        "{kept} backups kept, {} {}",
        deleted.len(),
        if args.dry_run {
            "would be deleted"
        } else {
            "deleted"
        }
    );
    Ok(())
}

/// Deletes the backups of `dir` (and their signatures) that no rule of
/// `keep` keeps; returns the names deleted (or, with `dry_run`, that would
/// be) and how many are kept.
pub(crate) fn prune_folder(
    dir: &Path,
    keep: Keep,
    dry_run: bool,
) -> anyhow::Result<(Vec<String>, usize)> {
    if keep == Keep::default() {
        bail!(
            "no keep rule: pass --keep-daily, --keep-weekly, --keep-monthly or --keep-last (nothing was deleted)"
        );
    }
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(at) = parse_backup_name(&name) {
            found.push((name, at));
        }
    }
    let times: Vec<OffsetDateTime> = found.iter().map(|(_, t)| *t).collect();
    let kept = keep_set(&times, keep);
    let mut deleted = Vec::new();
    for ((name, _), keep) in found.iter().zip(kept) {
        if keep {
            continue;
        }
        if !dry_run {
            fs::remove_file(dir.join(name)).with_context(|| format!("cannot delete {name}"))?;
            fs::remove_file(dir.join(format!("{name}.sig"))).ok();
        }
        deleted.push(name.clone());
    }
    Ok((deleted.clone(), found.len() - deleted.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let at = time::macros::datetime!(2026-11-01 02:00:00 UTC);
        let name = backup_name(at);
        assert_eq!(name, "confidant-20261101T020000Z.age");
        assert_eq!(parse_backup_name(&name), Some(at));
        assert_eq!(parse_backup_name("confidant-x.age"), None);
        assert_eq!(
            parse_backup_name("confidant-20261101T020000Z.age.sig"),
            None
        );
    }

    #[test]
    fn keep_rules_pick_the_newest_of_each_period() {
        let start = time::macros::datetime!(2026-01-01 03:00:00 UTC);
        // Two backups a day for 120 days.
        let times: Vec<OffsetDateTime> = (0..240)
            .map(|i| start + time::Duration::hours(12 * i))
            .collect();
        let kept = keep_set(
            &times,
            Keep {
                last: 0,
                daily: 7,
                weekly: 4,
                monthly: 12,
            },
        );
        let kept_times: Vec<OffsetDateTime> = times
            .iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(t, _)| *t)
            .collect();
        // 7 days, plus the weeks and months not already covered.
        assert!(kept_times.contains(times.last().unwrap_or(&start)));
        assert!(kept_times.len() >= 7 && kept_times.len() <= 7 + 4 + 12);
        // The newest of each of the last 7 days is kept, the older one of a day is not.
        assert!(kept[239] && !kept[238] && kept[237]);
        // January's newest backup (month bucket) is kept.
        let jan_last = times
            .iter()
            .rposition(|t| t.month() == time::Month::January)
            .unwrap_or(0);
        assert!(kept[jan_last]);
        assert!(!kept[0]);
        let none = keep_set(&times, Keep::default());
        assert!(none.iter().all(|k| !k));
    }
}
