//! `confidant backup`: keygen, create, verify, restore, prune, list and
//! break-glass.
//!
//! Backups are owner operations on a data dir (like `docs` or `keys`):
//! opening the data dir with its passphrase or key file is the proof of
//! ownership. With `--as EMAIL` a person signs in for the one command and
//! the vault decides for them (an admin needs a break-glass grant; see
//! backup_access.rs). The destination is a folder or an `s3://` bucket
//! (backup_dest.rs). `create` is cron-friendly: with the settings `keygen` saved
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

use crate::backup_access::{Acting, AsArgs};
use crate::backup_dest::{BackupConfig, Destination};
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
    /// Delete old backups of a folder or bucket, keeping some per day,
    /// week, month.
    Prune(PruneArgs),
    /// List the backups of a folder or bucket, oldest first.
    List(ListArgs),
    /// Time-limited access to backups for an admin: grant, approve, end, list.
    #[command(subcommand)]
    BreakGlass(crate::backup_access::BreakGlassCommand),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The backup folder or s3://BUCKET/PREFIX (default: the saved destination).
    #[arg(long, value_name = "DIR_OR_URL")]
    pub dir: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the identity (keep it offline: it decrypts every backup).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Also save this folder or s3://BUCKET/PREFIX as the default
    /// destination of `backup create`.
    #[arg(long, value_name = "DIR_OR_URL")]
    pub destination: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The folder or s3://BUCKET/PREFIX to write the backup into
    /// (default: the saved destination).
    #[arg(long, value_name = "DIR_OR_URL")]
    pub to: Option<String>,
    /// Encrypt to this age recipient (repeatable; default: the saved ones).
    #[arg(long, value_name = "age1...")]
    pub recipient: Vec<String>,
    /// zstd compression level (1-19).
    #[arg(long, default_value_t = 3)]
    pub level: i32,
    #[command(flatten)]
    pub acting: AsArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup file or s3://BUCKET/PREFIX/NAME.age (FILE.sig beside it
    /// is its signature).
    pub file: String,
    /// Decrypt with this identity and check everything inside.
    #[arg(long, value_name = "KEY")]
    pub identity: Option<PathBuf>,
    /// The backup signing key you trust (base64, printed by keygen and
    /// create); default: the one named in the identity file.
    #[arg(long, value_name = "KEY")]
    pub public_key: Option<String>,
    #[command(flatten)]
    pub acting: AsArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file or s3://BUCKET/PREFIX/NAME.age.
    pub file: String,
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
    #[command(flatten)]
    pub acting: AsArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The backup folder or s3://BUCKET/PREFIX (default: the saved destination).
    #[arg(long, value_name = "DIR_OR_URL")]
    pub dir: Option<String>,
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
    /// A folder or s3://BUCKET/PREFIX.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
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
        BackupCommand::Verify(args) => verify(global, args).await,
        BackupCommand::Restore(args) => restore(global, args).await,
        BackupCommand::Prune(args) => prune(global, args).await,
        BackupCommand::List(args) => list(global, args).await,
        BackupCommand::BreakGlass(cmd) => crate::backup_access::run(global, cmd).await,
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
    if let Some(dest) = &args.destination {
        // Checked first, so a typo shows here (changing nothing) and not at
        // the first backup.
        Destination::parse(dest, backup_config(Some(dir)).as_ref())?;
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

/// `[backup]` of the data dir's confidant.toml, when there is one.
fn backup_config(dir: Option<&Path>) -> Option<BackupConfig> {
    dir.and_then(|d| datadir::read_config(d).ok())
        .and_then(|c| c.backup)
}

/// The destination `given`, else the saved one.
fn destination(
    dir: Option<&Path>,
    given: Option<&str>,
    saved: Option<&str>,
    missing: &str,
) -> anyhow::Result<Destination> {
    let text = given.or(saved).context(missing.to_owned())?;
    Destination::parse(text, backup_config(dir).as_ref())
}

async fn create(global: &Global, args: CreateArgs) -> anyhow::Result<()> {
    let dir = datadir::data_dir(global)?;
    let settings = read_settings(dir)?;
    let dest = destination(
        Some(dir),
        args.to.as_deref(),
        settings.destination.as_deref(),
        "no destination: pass --to DIR (or s3://BUCKET/PREFIX) or save one with `backup keygen --destination DIR`",
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
    let first = vaults.first().context("the data dir holds no workspace")?;
    // The server's signing key is opened by the console (the passphrase or
    // key file is the owner's proof); who may back up what is decided per
    // workspace below.
    let console = (first.clone(), first.owner().await?);
    // The whole server by default; one workspace with --workspace NAME
    // (or when --as names a person of a single-workspace server).
    let only = match &global.workspace {
        Some(_) => Some(datadir::open(global).await?),
        None if args.acting.as_person.is_some() && vaults.len() > 1 => bail!(
            "a backup of the whole server is made by its owners; with --as, name the person's workspace (--workspace NAME)"
        ),
        None => None,
    };
    let mut owned = Vec::new();
    let mut signed_in = Vec::new();
    match &only {
        Some(vault) => {
            let acting = Acting::new(vault, args.acting.as_person.as_deref()).await?;
            owned.push((vault.clone(), acting.actor.clone()));
            signed_in.push((vault.clone(), acting));
        }
        None => {
            for vault in vaults {
                let acting = Acting::new(&vault, args.acting.as_person.as_deref()).await?;
                owned.push((vault.clone(), acting.actor.clone()));
                signed_in.push((vault, acting));
            }
        }
    }
    let result = make_backup(
        dir,
        &console,
        &owned,
        only.is_some(),
        &dest,
        &recipients,
        args.level,
        true,
    )
    .await;
    for (vault, acting) in signed_in {
        acting.finish(&vault).await?;
    }
    let (created, shown, public_key) = result?;
    let m = &created.manifest;
    println!("backup {} written to {shown}", m.backup_id);
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
/// (a folder: under a temporary name, renamed when complete; a bucket: a
/// multipart upload, visible when complete) with its signature and the
/// signing public key beside it. Returns where it went.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site each for create and the schedule"
)]
pub(crate) async fn make_backup(
    dir: &Path,
    console: &(Vault, confidant_vault::Actor),
    owned: &[(Vault, confidant_vault::Actor)],
    only_these_workspaces: bool,
    dest: &Destination,
    recipients: &[String],
    level: i32,
    progress_bar: bool,
) -> anyhow::Result<(backup::Created, String, BackupPublicKey)> {
    let mut settings = read_settings(dir)?;
    let recipients = recipients
        .iter()
        .map(|r| backup::parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    dest.prepare()?;
    let (first, owner) = console;
    let signer = signer(dir, first, owner, &mut settings)?;
    let settings_text = fs::read(dir.join(SETTINGS_FILE)).unwrap_or_default();
    // A document replaced while the backup runs can take its old blob
    // away; a second try sees the new state.
    let mut attempt = 0;
    let (created, shown) = loop {
        attempt += 1;
        let name = backup_name(OffsetDateTime::now_utc());
        let (out, upload) = dest.begin(&name).await?;
        let progress = if progress_bar {
            bar(None)
        } else {
            indicatif::ProgressBar::hidden()
        };
        progress.set_message(name.clone());
        let shown = progress.clone();
        // The server's backup settings travel with a whole-server backup
        // only: they are not one workspace's.
        let files = if settings_text.is_empty() || only_these_workspaces {
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
            only_these_workspaces,
        };
        let result = backup::create(owned, options, out).await;
        progress.finish_and_clear();
        match result {
            Ok((created, out)) => {
                upload.finish(out).await?;
                dest.put_small(&format!("{name}.sig"), created.signature.as_bytes())
                    .await?;
                dest.put_small(
                    PUBLIC_KEY_FILE,
                    format!("{}\n", signer.public_key()).as_bytes(),
                )
                .await?;
                break (created, dest.show(&name));
            }
            Err(VaultError::Conflict(m)) if attempt < 3 => {
                upload.discard();
                eprintln!("{m}: trying again");
            }
            Err(e) => {
                upload.discard();
                return Err(e).context("the backup failed; no backup file was left behind");
            }
        }
    };
    Ok((created, shown, signer.public_key()))
}

/// `serve`'s daily backup: into the saved destination (a folder or a
/// bucket), to the saved recipients, then pruned by `keep`. Returns what it
/// did in ids and counts (for the ledger).
pub(crate) async fn scheduled_backup(
    dir: &Path,
    owned: &[(Vault, confidant_vault::Actor)],
    keep: Keep,
) -> anyhow::Result<String> {
    let settings = read_settings(dir)?;
    let dest = destination(
        Some(dir),
        None,
        settings.destination.as_deref(),
        "no backup destination: run `confidant backup keygen --out KEY --destination DIR` once",
    )?;
    if settings.recipients.is_empty() {
        bail!("no backup recipient: run `confidant backup keygen --out KEY` once");
    }
    let console = owned.first().context("the data dir holds no workspace")?;
    let (created, _, _) = make_backup(
        dir,
        console,
        owned,
        false,
        &dest,
        &settings.recipients,
        3,
        false,
    )
    .await?;
    let (deleted, kept) = prune_destination(&dest, keep, false).await?;
    Ok(format!(
        "backup {} made ({} bytes); {} old backups pruned, {kept} kept",
        created.manifest.backup_id,
        created.size,
        deleted.len()
    ))
}

/// Checks the detached signature of the backup `name` in `dest` and
/// returns it.
async fn check_outer(
    dest: &Destination,
    name: &str,
    trusted: Option<&BackupPublicKey>,
) -> anyhow::Result<OuterSignature> {
    let sig_name = format!("{name}.sig");
    let bytes = dest.get_small(&sig_name).await?.with_context(|| {
        format!(
            "cannot read the signature {}: it belongs beside the backup",
            dest.show(&sig_name)
        )
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not a signature file", dest.show(&sig_name)))?;
    let sig = OuterSignature::parse_and_check(&text)?;
    let shown = dest.show(name);
    if let Some(trusted) = trusted
        && trusted != &sig.key
    {
        bail!(
            "{shown} was signed by key {}, not by the key you trust ({trusted}): do not restore it",
            sig.key
        );
    }
    let (sha256, size) = dest.hash(name).await?;
    if size != sig.size {
        bail!(
            "{shown} has {size} bytes, its signature says {}: it was truncated or extended; do not restore it",
            sig.size
        );
    }
    if sha256 != sig.sha256 {
        bail!(
            "{shown} does not match its signature (SHA-256 differs): it was changed; do not restore it"
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
    dest: &Destination,
    name: &str,
    identity: IdentityFile,
) -> anyhow::Result<(BackupReader, indicatif::ProgressBar)> {
    let (input, total) = dest.open(name).await?;
    let progress = bar(Some(total));
    let shown = progress.clone();
    let reader = BackupReader::open(
        input,
        identity.identities,
        Some(Box::new(move |n| shown.set_position(n))),
    )
    .await?;
    Ok((reader, progress))
}

async fn verify(global: &Global, args: VerifyArgs) -> anyhow::Result<()> {
    let identity = args.identity.as_deref().map(read_identity).transpose()?;
    let trusted = trusted_key(args.public_key.as_deref(), identity.as_ref())?;
    let (dest, name) =
        Destination::parse_file(&args.file, backup_config(global.data.as_deref()).as_ref())?;
    if args.acting.as_person.is_some() && global.data.is_none() {
        bail!("--as needs the data dir (--data DIR) whose ledger records the check");
    }
    let outer = check_outer(&dest, &name, trusted.as_ref()).await?;
    // With the data dir at hand (and its passphrase or key file), the check
    // is authorized for the person and recorded in their workspace's ledger
    // before anything is decrypted.
    let can_unlock =
        global.key_file.is_some() || std::env::var_os("CONFIDANT_PASSPHRASE").is_some();
    if global.data.is_some() && (can_unlock || args.acting.as_person.is_some()) {
        let vault = datadir::open(global).await?;
        let acting = Acting::new(&vault, args.acting.as_person.as_deref()).await?;
        let result = vault
            .record_backup_verify(&acting.actor, &outer.backup_id)
            .await;
        acting.finish(&vault).await?;
        result?;
    }
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
    let (reader, progress) = open_reader(&dest, &name, identity).await?;
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
    let can_unlock =
        global.key_file.is_some() || std::env::var_os("CONFIDANT_PASSPHRASE").is_some();
    if args.acting.as_person.is_some() && !can_unlock {
        bail!(
            "--as needs the passphrase (CONFIDANT_PASSPHRASE) or key file (--key-file): the person signs in on the restored workspace before it is moved into place"
        );
    }
    let identity = read_identity(&args.identity)?;
    let trusted = trusted_key(args.public_key.as_deref(), Some(&identity))?;
    // The target is new, so only the environment (AWS_*) says how to reach
    // a bucket.
    let (dest, file_name) = Destination::parse_file(&args.file, None)?;
    let outer = if dest.get_small(&format!("{file_name}.sig")).await?.is_some() {
        Some(check_outer(&dest, &file_name, trusted.as_ref()).await?)
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
    let (reader, progress) = open_reader(&dest, &file_name, identity).await?;
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
    // The rows are in the target now. Whatever refuses or fails from here
    // on leaves nothing behind: the staging folder goes with `staging`, and
    // rows loaded into a PostgreSQL target are deleted again.
    let settled: anyhow::Result<()> = async {
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
        // With --as, the person signs in on the restored workspace and must be
        // allowed (the owner, or an admin whose break-glass grant is in the
        // backup and still active); otherwise the staging dir is removed and
        // nothing is moved into place.
        if let Some(email) = &args.acting.as_person {
            if report.manifest.workspaces.len() != 1 {
                bail!(
                    "this backup holds {} workspaces: a restore of several is made by the owner's console, without --as (nothing was restored)",
                    report.manifest.workspaces.len()
                );
            }
            let staged = Global {
                data: Some(staging_path.clone()),
                key_file: global.key_file.clone(),
                workspace: None,
            };
            let vault = datadir::open(&staged).await?;
            let owner = vault.owner().await?;
            vault.verify_ledger(&owner).await?;
            let acting = Acting::new(&vault, Some(email)).await?;
            let recorded = vault
                .record_restore(&acting.actor, &report.manifest.backup_id)
                .await;
            acting.finish(&vault).await?;
            recorded.context("nothing was restored")?;
        }
        if target.exists() {
            fs::remove_dir(&target)
                .with_context(|| format!("cannot replace {}", target.display()))?;
        }
        fs::rename(&staging_path, &target)
            .with_context(|| format!("cannot move the restore into {}", target.display()))?;
        Ok(())
    }
    .await;
    if let Err(e) = settled {
        let Some(url) = &args.database else {
            return Err(e);
        };
        let undone = match confidant_store::connect(url).await {
            Ok(store) => store.discard_restore().await,
            Err(err) => Err(err),
        };
        return Err(match undone {
            Ok(()) => e.context("nothing was restored: the rows loaded into the target database were deleted again"),
            Err(undo) => e.context(format!(
                "the rows loaded into the target database could not be deleted again ({undo}): empty it by hand before another restore"
            )),
        });
    }
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
    if args.acting.as_person.is_some() {
        println!("the restore is recorded in the workspace's ledger, naming you");
    } else if can_unlock {
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

async fn prune(global: &Global, args: PruneArgs) -> anyhow::Result<()> {
    let settings = match global.data.as_deref() {
        Some(dir) => read_settings(dir)?,
        None => Settings::default(),
    };
    let dest = destination(
        global.data.as_deref(),
        args.dir.as_deref(),
        settings.destination.as_deref(),
        "no backup folder: pass --dir DIR (or s3://BUCKET/PREFIX)",
    )?;
    let saved = settings.keep.unwrap_or_default();
    let keep = Keep {
        last: args.keep_last.unwrap_or(saved.last),
        daily: args.keep_daily.unwrap_or(saved.daily),
        weekly: args.keep_weekly.unwrap_or(saved.weekly),
        monthly: args.keep_monthly.unwrap_or(saved.monthly),
    };
    let (deleted, kept) = prune_destination(&dest, keep, args.dry_run).await?;
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

/// The backups of `dest` (name, time, size), oldest first.
async fn backups_in(dest: &Destination) -> anyhow::Result<Vec<(String, OffsetDateTime, u64)>> {
    let mut found: Vec<(String, OffsetDateTime, u64)> = dest
        .names()
        .await?
        .into_iter()
        .filter_map(|(name, size)| parse_backup_name(&name).map(|at| (name, at, size)))
        .collect();
    found.sort_by_key(|(_, at, _)| *at);
    Ok(found)
}

async fn list(global: &Global, args: ListArgs) -> anyhow::Result<()> {
    let settings = match global.data.as_deref() {
        Some(dir) => read_settings(dir)?,
        None => Settings::default(),
    };
    let dest = destination(
        global.data.as_deref(),
        args.dir.as_deref(),
        settings.destination.as_deref(),
        "no backup folder: pass --dir DIR (or s3://BUCKET/PREFIX)",
    )?;
    let found = backups_in(&dest).await?;
    let names: std::collections::BTreeSet<String> =
        dest.names().await?.into_iter().map(|(n, _)| n).collect();
    for (name, at, size) in &found {
        let signed = if names.contains(&format!("{name}.sig")) {
            "signed"
        } else {
            "NO SIGNATURE"
        };
        println!(
            "{name}  {}  {size} bytes  {signed}",
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        );
    }
    println!("{} backups in {dest}", found.len());
    Ok(())
}

/// Deletes the backups of `dest` (and their signatures) that no rule of
/// `keep` keeps; returns the names deleted (or, with `dry_run`, that would
/// be) and how many are kept.
pub(crate) async fn prune_destination(
    dest: &Destination,
    keep: Keep,
    dry_run: bool,
) -> anyhow::Result<(Vec<String>, usize)> {
    if keep == Keep::default() {
        bail!(
            "no keep rule: pass --keep-daily, --keep-weekly, --keep-monthly or --keep-last (nothing was deleted)"
        );
    }
    let found = backups_in(dest).await?;
    let times: Vec<OffsetDateTime> = found.iter().map(|(_, t, _)| *t).collect();
    let kept = keep_set(&times, keep);
    let mut deleted = Vec::new();
    for ((name, _, _), keep) in found.iter().zip(kept) {
        if keep {
            continue;
        }
        if !dry_run {
            dest.delete(name).await?;
            dest.delete(&format!("{name}.sig")).await?;
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
