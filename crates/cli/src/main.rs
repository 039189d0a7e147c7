//! The `confidant` command: `init` and `serve`, the owner's commands
//! working directly on a data dir (`docs`, `records`, `keys`, `audit`,
//! `workspace`), `people` (on a data dir or, after `login`, on a server),
//! and the offline `scan`.
//!
//! This is the composition root: the only crate that names a concrete store
//! adapter (through the data dir's database URL), reads the terminal, the
//! environment and the user's files, and picks the clock and RNG.

mod access;
mod agent;
mod audit;
mod backup;
mod backup_access;
mod backup_dest;
mod client;
mod datadir;
mod demo;
mod devices;
mod docs;
mod gates;
mod grants;
mod incidents;
mod output;
mod people;
mod records;
mod scan;
mod schedule;
mod serve;
mod trace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "confidant",
    version,
    about = "Share confidential customer data with assistants, and keep control of it."
)]
struct Cli {
    /// The data dir of the workspace.
    #[arg(long, global = true, env = "CONFIDANT_DATA", value_name = "DIR")]
    data: Option<PathBuf>,

    /// Unseal with this key file instead of a passphrase (on `init`: create
    /// it). The passphrase otherwise comes from CONFIDANT_PASSPHRASE or a
    /// prompt on a terminal.
    #[arg(long, global = true, env = "CONFIDANT_KEY_FILE", value_name = "PATH")]
    key_file: Option<PathBuf>,

    /// Which workspace of the data dir, when it holds several (default:
    /// the first one created).
    #[arg(long, global = true, env = "CONFIDANT_WORKSPACE", value_name = "NAME")]
    workspace: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a workspace in a new data dir: owner, root key, keys.
    Init(datadir::InitArgs),
    /// Run the HTTP server (JSON API and web UI).
    Serve(serve::ServeArgs),
    /// Documents: add, list, get, replace, remove.
    #[command(subcommand)]
    Docs(docs::DocsCommand),
    /// Record sets (tables of customer data): import, list, show, find.
    #[command(subcommand)]
    Records(records::RecordsCommand),
    /// Workspace keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The access ledger: verify, checkpoint, key, export.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Backups of the whole server: keygen, create, verify, restore, prune.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Find sensitive data (cards, bank accounts, national ids, contact
    /// data, secrets) in files and folders. Offline: needs no data dir.
    Scan(scan::ScanArgs),
    /// People: list, invite, show, offboard. On a data dir (--data) or on
    /// the server of `confidant login`.
    #[command(subcommand)]
    People(people::PeopleCommand),
    /// Grant a person need-to-know access to a document, a folder or
    /// columns of a record set, for a purpose, until a day.
    Grant(grants::GrantArgs),
    /// Grants and requests: list, request, approve, end.
    #[command(subcommand)]
    Grants(grants::GrantsCommand),
    /// The NDA and handbook you sign before any access: list, show, sign
    /// (on the server of `confidant login`).
    #[command(subcommand)]
    Agreements(gates::AgreementsCommand),
    /// Day passcodes: issue (for a grant), rotate (the next business day's).
    #[command(subcommand)]
    Passcodes(gates::PasscodesCommand),
    /// Incidents: open (exposure from the ledger, optional offboarding),
    /// list, show, notices (preview, send), template, regulator draft.
    #[command(subcommand)]
    Incident(incidents::IncidentCommand),
    /// Which delivery a leaked file came from: to whom, when, what, with the
    /// ledger entry and its inclusion proof (owner, on the data dir).
    Trace(trace::TraceArgs),
    /// Enter today's passcode for an item and read it:
    /// `confidant open "Q3 invoices.pdf" --passcode K7F3-9QXM-2HDP`.
    Open(gates::OpenArgs),
    /// Who may do what: `access explain WHO --document X --action view`.
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// The owner's own access policies (Cedar): show, check, set.
    #[command(subcommand)]
    Policy(access::PolicyCommand),
    /// Sign in to a server once; later commands use the saved API token.
    Login(client::LoginArgs),
    /// End the saved API token and forget it.
    Logout,
    /// Workspaces (tenants) of a data dir: add, list.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Enrolled devices: enroll (a code for a person), list, revoke, and
    /// the posture policy (which checks each label needs).
    #[command(subcommand)]
    Devices(devices::DevicesCommand),
    /// The device posture agent: `check` this computer (firewall, disk
    /// encryption, screen lock, OS updates; needs no enrollment), `enroll`
    /// it with a code from the owner, `report` or keep reporting (`run`),
    /// `link` a session to it.
    #[command(subcommand)]
    Agent(agent::AgentCommand),
}

#[derive(Debug, Subcommand)]
enum WorkspaceCommand {
    /// Add another workspace (a business served by the same server), sealed
    /// with the same passphrase or key file.
    Add(datadir::AddWorkspaceArgs),
    /// Every workspace of the data dir with its owner.
    List,
    /// The workspace's time zone and the time its business day ends: day
    /// passcodes end then, and time-of-day policies read this zone.
    SetDay {
        /// An IANA time zone such as Europe/Berlin or America/New_York.
        #[arg(long)]
        time_zone: String,
        /// HH:MM, e.g. 18:00.
        #[arg(long, default_value = "18:00")]
        ends: String,
    },
    /// Whether the owner's own copies (`docs get`, downloads) of
    /// Confidential and Restricted documents are stamped like everyone
    /// else's (on by default). Everyone else's are always stamped.
    StampOwnCopies {
        #[arg(value_enum)]
        setting: OnOff,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new key-encryption key, rewrap every data key under it and
    /// destroy the old one.
    Rotate,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || matches!(
                    e.kind(),
                    ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            {
                // Help goes to stdout in full; `e.print` picks the stream.
                let _ = e.print();
                return if e.use_stderr() {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // Scripts read one line: the reason, without clap's usage footer.
            let text = e.render().to_string();
            let reason = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("error: {reason} (see confidant --help)");
            return ExitCode::from(2);
        }
    };
    // The server logs warnings by default; a command's failure is its one
    // line on stderr, so commands log nothing unless CONFIDANT_LOG asks.
    let default_filter = if matches!(cli.command, Command::Serve(_)) {
        "warn"
    } else {
        "off"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONFIDANT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of contexts, most general first.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = datadir::Global {
        data: cli.data,
        key_file: cli.key_file,
        workspace: cli.workspace,
    };
    match cli.command {
        Command::Init(args) => datadir::init(&global, args).await,
        Command::Serve(args) => serve::run(&global, args).await,
        Command::Docs(cmd) => docs::run(&global, cmd).await,
        Command::Records(cmd) => records::run(&global, cmd).await,
        Command::Audit(cmd) => audit::run(&global, cmd).await,
        Command::Backup(cmd) => backup::run(&global, cmd).await,
        Command::Scan(args) => scan::run(args),
        Command::Agent(cmd) => agent::run(cmd).await,
        Command::Devices(cmd) => devices::run(&global, cmd).await,
        Command::People(cmd) => people::run(&global, cmd).await,
        Command::Login(args) => client::login(args).await,
        Command::Grant(args) => grants::grant(&global, args).await,
        Command::Grants(cmd) => grants::run(&global, cmd).await,
        Command::Agreements(cmd) => gates::agreements(cmd).await,
        Command::Passcodes(cmd) => gates::passcodes(&global, cmd).await,
        Command::Open(args) => gates::open(args).await,
        Command::Trace(args) => trace::run(&global, args).await,
        Command::Incident(cmd) => incidents::run(&global, cmd).await,
        Command::Access(cmd) => access::run(&global, cmd).await,
        Command::Policy(cmd) => access::policy(&global, cmd).await,
        Command::Logout => client::logout().await,
        Command::Workspace(WorkspaceCommand::Add(args)) => {
            datadir::add_workspace(&global, args).await
        }
        Command::Workspace(WorkspaceCommand::List) => datadir::list_workspaces(&global).await,
        Command::Workspace(WorkspaceCommand::SetDay { time_zone, ends }) => {
            let (vault, owner) = datadir::open_as_owner(&global).await?;
            let day = vault.set_business_day(&owner, &time_zone, &ends).await?;
            println!(
                "business days of {} now end at {} ({})",
                vault.workspace_name(),
                day.ends_at_text(),
                day.time_zone()
            );
            Ok(())
        }
        Command::Workspace(WorkspaceCommand::StampOwnCopies { setting }) => {
            let (vault, owner) = datadir::open_as_owner(&global).await?;
            let on = setting == OnOff::On;
            vault.set_owner_copies_stamped(&owner, on).await?;
            println!(
                "the owner's own copies of Confidential and Restricted documents are {}",
                if on {
                    "stamped, like everyone else's"
                } else {
                    "no longer stamped (the access record says so each time)"
                }
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let (vault, owner) = datadir::open_as_owner(&global).await?;
            let count = vault.rotate_keys(&owner).await?;
            println!(
                "rotated the key-encryption key: {count} data keys rewrapped, the old key destroyed"
            );
            Ok(())
        }
    }
}
