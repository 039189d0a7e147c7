//! `confidant grant` and `confidant grants ...`: need-to-know access. On a
//! data dir (`--data`) the owner works at the server's console; otherwise
//! the command goes to the server of `confidant login` as the signed-in
//! person (an assistant asks with `grants request`).

use clap::{Args, Subcommand};
use confidant_protocol::{EndGrantRequest, GrantInfo, GrantRequestBody};
use confidant_server::wire;

use crate::datadir::Global;
use crate::output::{self, Format};
use crate::people::{Target, segment, target};

/// What a grant covers and allows.
#[derive(Debug, Args)]
pub struct Scope {
    /// A document, by name or id.
    #[arg(long, conflicts_with_all = ["folder", "records"])]
    document: Option<String>,
    /// Every document under a folder path, like invoices/.
    #[arg(long, conflicts_with = "records")]
    folder: Option<String>,
    /// A record set, by name; with --columns.
    #[arg(long, requires = "columns")]
    records: Option<String>,
    /// The record set's columns it covers (the others stay masked).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Only rows where COLUMN holds VALUE (COLUMN=VALUE).
    #[arg(long, value_name = "COLUMN=VALUE")]
    rows: Option<String>,
    /// Among view, download, export, edit, reveal (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    actions: Vec<String>,
    /// What it is for (required; shown to the person and in reports).
    #[arg(long)]
    purpose: String,
    /// The last day (YYYY-MM-DD, through the end of that day UTC) or an
    /// RFC 3339 time; at most 30 days ahead.
    #[arg(long)]
    until: String,
    /// Ask for the day passcode on every access, whatever the item's label
    /// (Confidential and Restricted items always need one).
    #[arg(long)]
    require_passcode: bool,
}

impl Scope {
    fn body(&self, person: String, reason: Option<String>) -> GrantRequestBody {
        GrantRequestBody {
            person,
            document: self.document.clone(),
            folder: self.folder.clone(),
            records: self.records.clone(),
            columns: self.columns.clone(),
            rows: self.rows.clone(),
            actions: self.actions.clone(),
            purpose: self.purpose.clone(),
            until: self.until.clone(),
            reason,
            require_passcode: self.require_passcode,
        }
    }
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The person (e-mail address or id).
    who: String,
    #[command(flatten)]
    scope: Scope,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// Grants and requests, newest first (yours, or everyone's for the
    /// owner, admins and auditors).
    List {
        /// Only this person's.
        #[arg(long)]
        person: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Ask the owner for access, with a reason (on a server).
    Request {
        #[command(flatten)]
        scope: Scope,
        /// Why you need it.
        #[arg(long)]
        reason: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Put a requested grant in force.
    Approve {
        id: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// End a grant (or refuse a request) now.
    End {
        id: String,
        /// Why (kept with the grant).
        #[arg(long)]
        reason: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

fn print(grants: &[GrantInfo], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => output::json(&grants),
        Format::Text => output::table(
            &[
                "ID", "PERSON", "ITEM", "ACTIONS", "PURPOSE", "STATUS", "UNTIL",
            ],
            &grants
                .iter()
                .map(|g| {
                    vec![
                        g.id.clone(),
                        g.person.clone(),
                        g.item.clone(),
                        g.actions.join(","),
                        g.purpose.clone(),
                        if g.status == "active" && !g.live {
                            "expired".to_owned()
                        } else {
                            g.status.clone()
                        },
                        output::time(g.expires_at),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    }
}

fn grant_id(text: &str) -> anyhow::Result<confidant_core::GrantId> {
    text.trim().parse().map_err(|_| {
        anyhow::anyhow!("{text:?} is not a grant id: `confidant grants list` shows them")
    })
}

/// `confidant grant WHO ...`
pub async fn grant(global: &Global, args: GrantArgs) -> anyhow::Result<()> {
    let body = args.scope.body(args.who.clone(), None);
    let info = match target(global).await? {
        Target::DataDir(vault, owner, _) => {
            let request = wire::grant_request(&body).map_err(anyhow::Error::msg)?;
            let view = vault.grant(&owner, &args.who, &request).await?;
            wire::grant_info(&view, time::OffsetDateTime::now_utc())
        }
        Target::Server(client) => client.post("/api/v1/grants", &body).await?,
    };
    match args.format {
        Format::Json => output::json(&info),
        Format::Text => {
            println!(
                "granted {} {} on {} until {} (grant {})",
                info.person,
                info.actions.join(","),
                info.item,
                output::time(info.expires_at),
                info.id
            );
            Ok(())
        }
    }
}

pub async fn run(global: &Global, command: GrantsCommand) -> anyhow::Result<()> {
    let target = target(global).await?;
    let now = time::OffsetDateTime::now_utc();
    match command {
        GrantsCommand::List { person, format } => {
            let grants: Vec<GrantInfo> = match &target {
                Target::DataDir(vault, owner, _) => vault
                    .grants(owner, person.as_deref())
                    .await?
                    .iter()
                    .map(|g| wire::grant_info(g, now))
                    .collect(),
                Target::Server(client) => {
                    let path = match &person {
                        Some(who) => format!("/api/v1/grants?person={}", segment(who)),
                        None => "/api/v1/grants".to_owned(),
                    };
                    client.get(&path).await?
                }
            };
            print(&grants, format)
        }
        GrantsCommand::Request {
            scope,
            reason,
            format,
        } => {
            let Target::Server(client) = &target else {
                anyhow::bail!(
                    "requests are made by the person who needs access, on the server: \
                     `confidant login` first (the owner grants directly with `confidant grant`)"
                );
            };
            let info: GrantInfo = client
                .post(
                    "/api/v1/grants/requests",
                    &scope.body(String::new(), Some(reason)),
                )
                .await?;
            print(&[info], format)
        }
        GrantsCommand::Approve { id, format } => {
            let info: GrantInfo = match &target {
                Target::DataDir(vault, owner, _) => {
                    wire::grant_info(&vault.approve_grant(owner, grant_id(&id)?).await?, now)
                }
                Target::Server(client) => {
                    client
                        .post(
                            &format!("/api/v1/grants/{}/approve", segment(&id)),
                            &serde_json::json!({}),
                        )
                        .await?
                }
            };
            print(&[info], format)
        }
        GrantsCommand::End { id, reason, format } => {
            let info: GrantInfo = match &target {
                Target::DataDir(vault, owner, _) => {
                    wire::grant_info(&vault.end_grant(owner, grant_id(&id)?, &reason).await?, now)
                }
                Target::Server(client) => {
                    client
                        .post(
                            &format!("/api/v1/grants/{}/end", segment(&id)),
                            &EndGrantRequest { reason },
                        )
                        .await?
                }
            };
            print(&[info], format)
        }
    }
}
