//! `confidant trace LEAKED_FILE`: which delivery a leaked copy came from,
//! to whom, when, what, with the ledger entry and its inclusion proof
//! (owner, on the data dir).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::datadir::{Global, open_as_owner};
use crate::output::Format;

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The leaked file (a whole copy, a part of one, or a document that
    /// quotes one).
    file: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub async fn run(global: &Global, args: TraceArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let (vault, owner) = open_as_owner(global).await?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let report = vault.trace(&owner, name.as_deref(), &bytes).await?;
    match args.format {
        Format::Json => crate::output::json(&serde_json::json!({
            "format": report.format,
            "deliveries": report.deliveries.iter().map(|d| serde_json::json!({
                "delivery": d.delivery.to_string(),
                "evidence": d.evidence,
                "recipient": d.sent.as_ref().map(|s| s.email.clone()),
                "name": d.sent.as_ref().map(|s| s.name.clone()),
                "item": d.sent.as_ref().map(|s| s.item.clone()),
                "action": d.sent.as_ref().map(|s| s.entry.action.to_string()),
                "time": d.sent.as_ref().map(|s| s.entry.time.to_string()),
                "ledger_index": d.sent.as_ref().map(|s| s.index),
                "inclusion_proof": d.sent.as_ref().and_then(|s| s.proof.as_ref().ok()).map(|p| serde_json::json!({
                    "tree_size": p.size,
                    "hashes": p.proof.iter().map(|h| h.iter().map(|b| format!("{b:02x}")).collect::<String>()).collect::<Vec<_>>(),
                    "checkpoint": p.checkpoint,
                })),
            })).collect::<Vec<_>>(),
            "honey_records": report.honey.iter().map(|(what, d)| serde_json::json!({
                "value": what, "delivery": d.to_string(),
            })).collect::<Vec<_>>(),
            "notes": report.notes,
        })),
        Format::Text => {
            if report.is_empty() {
                println!(
                    "nothing found: {} carries no fingerprint, stamp, delivery id or honey record \
                     of this workspace{}",
                    args.file.display(),
                    if report.notes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", report.notes.join("; "))
                    }
                );
                return Ok(());
            }
            for d in &report.deliveries {
                println!("delivery {}", d.delivery);
                for e in &d.evidence {
                    println!("  found: {e}");
                }
                match &d.sent {
                    Some(s) => {
                        println!("  to: {} <{}>", s.name, s.email);
                        println!("  what: {} ({})", s.item, s.entry.action);
                        println!("  when: {}", s.entry.time);
                        println!("  ledger entry: #{}", s.index);
                        match &s.proof {
                            Ok(p) => println!(
                                "  inclusion proof: {} hashes, verified against the signed \
                                 checkpoint of {} entries",
                                p.proof.len(),
                                p.size
                            ),
                            Err(why) => println!("  inclusion proof: not yet ({why})"),
                        }
                    }
                    None => println!(
                        "  no delivery of this workspace has this id: a copy from elsewhere, or a \
                         forged id"
                    ),
                }
            }
            for note in &report.notes {
                println!("note: {note}");
            }
            Ok(())
        }
    }
}
