//! `confidant access explain`: may this person do this with this item, and
//! which policies and grants decide it, in plain words. The owner's
//! question at the console; nothing is read or opened.

use clap::{Args, Subcommand};
use confidant_core::Access;
use confidant_vault::{DocRef, ExplainItem};

use crate::datadir::{Global, open_as_owner};

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Allowed or denied, and why.
    Explain(ExplainArgs),
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
    let AccessCommand::Explain(args) = command;
    let (vault, owner) = open_as_owner(global).await?;
    let item = match (&args.document, &args.records, &args.column) {
        (Some(doc), _, _) => ExplainItem::Document(DocRef::parse(doc)),
        (None, Some(set), Some(column)) => ExplainItem::Column {
            set: set.clone(),
            column: column.clone(),
        },
        _ => anyhow::bail!("name a document (--document) or a column (--records SET --column C)"),
    };
    let decision = vault
        .explain_access(&owner, &args.who, &item, args.action)
        .await?;
    println!("{}", decision.explain());
    Ok(())
}
