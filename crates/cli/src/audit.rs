//! `confidant audit ...`: the access ledger from the owner's console.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use base64::Engine as _;
use clap::Subcommand;

use crate::datadir::{Global, open_as_owner};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the whole ledger and check it against the latest signed
    /// checkpoint; names the first entry that was changed, removed,
    /// inserted or reordered.
    Verify {
        /// Also prove the ledger extends this older checkpoint (a signed
        /// note kept outside the server), so history was not rewritten.
        #[arg(long, value_name = "FILE")]
        since_checkpoint: Option<PathBuf>,
    },
    /// Print the latest signed checkpoint (a C2SP signed note).
    Checkpoint,
    /// Print the verifier key of the workspace's checkpoints
    /// (`<name>+<key hash>+<base64>`).
    Key,
    /// Write the ledger as JSON lines in ledger order; each line carries the
    /// entry's exact leaf bytes, base64, in `leaf`.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub async fn run(global: &Global, command: AuditCommand) -> anyhow::Result<()> {
    let (vault, owner) = open_as_owner(global).await?;
    match command {
        AuditCommand::Verify { since_checkpoint } => {
            let report = vault.verify_ledger(&owner).await?;
            println!(
                "ledger verified: {} entries; the latest signed checkpoint covers {} of them",
                report.entries, report.checkpoint_size
            );
            if let Some(path) = since_checkpoint {
                let note = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let (old, new) = vault.verify_ledger_since(&owner, &note).await?;
                println!(
                    "the ledger of {new} entries extends the checkpoint of {old} entries in {}",
                    path.display()
                );
            }
        }
        AuditCommand::Checkpoint => match vault.latest_checkpoint(&owner).await? {
            Some(note) => print!("{note}"),
            None => anyhow::bail!("the ledger has no checkpoint yet: nothing has been recorded"),
        },
        AuditCommand::Key => println!("{}", vault.ledger_verifier_key()?),
        AuditCommand::Export { out } => {
            let leaves = vault.ledger_leaves(&owner).await?;
            let tmp = out.with_extension("partial");
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot write {}", tmp.display()))?,
            );
            let b64 = base64::engine::general_purpose::STANDARD;
            for (index, leaf) in leaves.iter().enumerate() {
                let mut line: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(leaf).context("a ledger entry is not JSON")?;
                line.insert("index".into(), index.into());
                line.insert("leaf".into(), b64.encode(leaf).into());
                serde_json::to_writer(&mut file, &line)?;
                file.write_all(b"\n")?;
            }
            file.flush()?;
            drop(file);
            std::fs::rename(&tmp, &out)
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!("wrote {} entries to {}", leaves.len(), out.display());
        }
    }
    Ok(())
}
