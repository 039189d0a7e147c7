//! `confidant docs ...`

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use confidant_core::{Label, ScanSummary};
use confidant_server::wire;
use confidant_vault::DocRef;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::datadir::{Global, open_as_owner};
use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Add a document (encrypted with its own key).
    Add {
        path: PathBuf,
        /// The document's name in the workspace (default: the file name).
        #[arg(long)]
        name: Option<String>,
        /// public, internal, confidential or restricted (default: what
        /// scanning the content suggests).
        #[arg(long)]
        label: Option<Label>,
    },
    /// Change a document's label.
    Label { name_or_id: String, label: Label },
    /// List documents.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Write a document's content to a file, or to stdout with `--out -`.
    Get {
        name_or_id: String,
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
    /// Replace a document's content with a file (a new version).
    Replace { name_or_id: String, path: PathBuf },
    /// Delete a document and its content.
    Rm { name_or_id: String },
}

/// What a scan found, in a few words for a table cell.
fn found(scan: Option<&ScanSummary>) -> String {
    match scan {
        None => "-".to_owned(),
        Some(ScanSummary {
            unreadable: Some(why),
            ..
        }) => format!("unreadable, not scanned: {why}"),
        Some(s) if s.binary => "not text, not scanned".to_owned(),
        Some(s) => {
            let what = if s.kinds.is_empty() {
                "nothing sensitive".to_owned()
            } else {
                let kinds: Vec<String> = s
                    .kinds
                    .iter()
                    .map(|(kind, n)| format!("{kind} x{n}"))
                    .collect();
                let more = if s.complete { "" } else { " (first 64 MiB)" };
                format!("{}{more}", kinds.join(", "))
            };
            match &s.extracted {
                Some(format) => format!("{what} (in the {format}'s text)"),
                None => what,
            }
        }
    }
}

/// The label the content suggests, when it is not the label.
fn suggested(scan: Option<&ScanSummary>, label: Label) -> String {
    scan.map(|s| s.suggested_label)
        .filter(|s| *s != label)
        .map_or_else(|| "-".to_owned(), |s| s.to_string())
}

/// The line `docs add` prints about the scan and the label.
fn scan_line(scan: &ScanSummary, label: Label, chosen_by_scan: bool) -> String {
    let what = found(Some(scan));
    if chosen_by_scan {
        format!(
            "found: {what}; labelled {label} (change it with `confidant docs label NAME LABEL`)"
        )
    } else if scan.suggested_label != label {
        format!(
            "found: {what}; the content suggests {}, you chose {label}",
            scan.suggested_label
        )
    } else {
        format!("found: {what}")
    }
}

async fn open_input(path: &Path) -> anyhow::Result<tokio::fs::File> {
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    if file.metadata().await?.is_dir() {
        bail!("{} is a folder: add files one at a time", path.display());
    }
    Ok(file)
}

pub async fn run(global: &Global, command: DocsCommand) -> anyhow::Result<()> {
    let (vault, owner) = open_as_owner(global).await?;
    match command {
        DocsCommand::Add { path, name, label } => {
            let name = match name {
                Some(name) => name,
                None => path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_owned)
                    .with_context(|| {
                        format!("cannot take a name from {}: pass --name", path.display())
                    })?,
            };
            let file = open_input(&path).await?;
            let meta = vault.add_document(&owner, &name, label, file).await?;
            println!(
                "added {:?} ({}, {}, {})",
                meta.name,
                meta.id,
                meta.label,
                output::size(meta.size)
            );
            if let Some(scan) = &meta.scan {
                println!("{}", scan_line(scan, meta.label, label.is_none()));
            }
        }
        DocsCommand::Label { name_or_id, label } => {
            let meta = vault
                .set_document_label(&owner, &DocRef::parse(&name_or_id), label)
                .await?;
            println!("{:?} is now {}", meta.name, meta.label);
        }
        DocsCommand::List { format } => {
            let docs = vault.documents(&owner).await?;
            match format {
                Format::Json => {
                    output::json(&docs.iter().map(wire::document_info).collect::<Vec<_>>())?
                }
                Format::Text => output::table(
                    &[
                        "NAME",
                        "LABEL",
                        "SUGGESTED",
                        "FOUND",
                        "SIZE",
                        "VERSION",
                        "UPDATED",
                        "ID",
                    ],
                    &docs
                        .iter()
                        .map(|d| {
                            vec![
                                d.name.clone(),
                                d.label.to_string(),
                                suggested(d.scan.as_ref(), d.label),
                                found(d.scan.as_ref()),
                                output::size(d.size),
                                d.version.to_string(),
                                output::time(d.updated_at),
                                d.id.to_string(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                )?,
            }
        }
        DocsCommand::Get { name_or_id, out } => {
            let (meta, mut stream) = vault
                .open_document(&owner, &DocRef::parse(&name_or_id))
                .await?;
            if out.as_os_str() == "-" {
                let mut stdout = tokio::io::stdout();
                while let Some(chunk) = stream.next().await {
                    stdout.write_all(&chunk?).await?;
                }
                stdout.flush().await?;
            } else {
                write_atomically(&out, &mut stream).await?;
                eprintln!(
                    "wrote {:?} ({}) to {}",
                    meta.name,
                    output::size(meta.size),
                    out.display()
                );
            }
        }
        DocsCommand::Replace { name_or_id, path } => {
            let file = open_input(&path).await?;
            let meta = vault
                .replace_document(&owner, &DocRef::parse(&name_or_id), file)
                .await?;
            println!(
                "replaced {:?}: now version {} ({})",
                meta.name,
                meta.version,
                output::size(meta.size)
            );
        }
        DocsCommand::Rm { name_or_id } => {
            let meta = vault
                .delete_document(&owner, &DocRef::parse(&name_or_id))
                .await?;
            println!("deleted {:?} ({})", meta.name, meta.id);
        }
    }
    Ok(())
}

/// Writes the stream to a temporary file beside `out` and renames it into
/// place only when every chunk was authenticated, so a damaged document
/// never leaves a partial file behind.
async fn write_atomically(
    out: &Path,
    stream: &mut confidant_vault::DocumentStream,
) -> anyhow::Result<()> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = out
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("document");
    let tmp = dir.join(format!(".{file_name}.confidant-partial"));
    let result: anyhow::Result<()> = async {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .await
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await?;
        }
        file.sync_all().await?;
        tokio::fs::rename(&tmp, out)
            .await
            .with_context(|| format!("cannot write {}", out.display()))?;
        Ok(())
    }
    .await;
    if result.is_err() {
        tokio::fs::remove_file(&tmp).await.ok();
    }
    result
}
