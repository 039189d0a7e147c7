//! `confidant access explain`: may this person do this with this item, and
//! which policies and grants decide it, in plain words. The owner's
//! question at the console; nothing is read or opened.

use clap::{Args, Subcommand};
use confidant_core::Access;
use confidant_vault::{DocRef, ExplainItem};

use crate::datadir::{Global, open_as_owner};
use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Allowed or denied, and why.
    Explain(ExplainArgs),
    /// Who can reach an item, and with which actions.
    Who(ItemArgs),
    /// What a person can reach, and with which actions.
    What {
        /// The person (e-mail address or id).
        who: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the owner's own policies.
    Show,
    /// Check a policy file against the schema without saving it.
    Check { file: std::path::PathBuf },
    /// Replace the owner's own policies with a file (checked first; a
    /// mistake is reported with its line and column and nothing changes).
    Set { file: std::path::PathBuf },
}

fn read_policy(file: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context as _;
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// `confidant policy show|check|set`.
pub async fn policy(global: &Global, command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Check { file } => {
            let text = read_policy(&file)?;
            let engine = confidant_policy::Engine::with_owner_policies(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!(
                "{}: valid ({} policies with the defaults)",
                file.display(),
                engine.policy_count()
            );
            Ok(())
        }
        PolicyCommand::Show => {
            let (vault, owner) = open_as_owner(global).await?;
            let text = vault.owner_policies(&owner).await?;
            if text.trim().is_empty() {
                println!("// no policies of your own: the defaults apply (docs/policy.md)");
            } else {
                println!("{text}");
            }
            Ok(())
        }
        PolicyCommand::Set { file } => {
            let text = read_policy(&file)?;
            let (vault, owner) = open_as_owner(global).await?;
            let count = vault
                .set_owner_policies(&owner, &text)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e} (nothing was changed)", file.display()))?;
            println!("saved: {count} policies in force with the defaults");
            Ok(())
        }
    }
}

#[derive(Debug, Args)]
pub struct ItemArgs {
    /// A document, by name or id.
    #[arg(long, conflicts_with = "records", required_unless_present = "records")]
    document: Option<String>,
    /// A record set, by name; with --column.
    #[arg(long, requires = "column")]
    records: Option<String>,
    /// The record set's column.
    #[arg(long)]
    column: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

fn item(
    document: &Option<String>,
    records: &Option<String>,
    column: &Option<String>,
) -> anyhow::Result<ExplainItem> {
    Ok(match (document, records, column) {
        (Some(doc), _, _) => ExplainItem::Document(DocRef::parse(doc)),
        (None, Some(set), Some(column)) => ExplainItem::Column {
            set: set.clone(),
            column: column.clone(),
        },
        _ => anyhow::bail!("name a document (--document) or a column (--records SET --column C)"),
    })
}

fn print(header: &str, lines: &[(String, Vec<Access>)], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => output::json(
            &lines
                .iter()
                .map(|(who, actions)| {
                    serde_json::json!({
                        header.to_lowercase(): who,
                        "actions": actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                    })
                })
                .collect::<Vec<_>>(),
        ),
        Format::Text => output::table(
            &[header, "ACTIONS"],
            &lines
                .iter()
                .map(|(who, actions)| {
                    vec![
                        who.clone(),
                        actions
                            .iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    }
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The person (e-mail address or id).
    who: String,
    /// A document, by name or id.
    #[arg(long, conflicts_with = "records", required_unless_present = "records")]
    document: Option<String>,
    /// A record set, by name; with --column.
    #[arg(long, requires = "column")]
    records: Option<String>,
    /// The record set's column.
    #[arg(long)]
    column: Option<String>,
    /// view, download, export, edit or reveal.
    #[arg(long, default_value = "view")]
    action: Access,
}

pub async fn run(global: &Global, command: AccessCommand) -> anyhow::Result<()> {
    let (vault, owner) = open_as_owner(global).await?;
    match command {
        AccessCommand::Explain(args) => {
            let item = item(&args.document, &args.records, &args.column)?;
            let decision = vault
                .explain_access(&owner, &args.who, &item, args.action)
                .await?;
            println!("{}", decision.explain());
            Ok(())
        }
        AccessCommand::Who(args) => {
            let item = item(&args.document, &args.records, &args.column)?;
            let lines = vault.who_can(&owner, &item).await?;
            print("PERSON", &lines, args.format)
        }
        AccessCommand::What { who, format } => {
            let lines = vault.what_can(&owner, &who).await?;
            print("ITEM", &lines, format)
        }
    }
}
