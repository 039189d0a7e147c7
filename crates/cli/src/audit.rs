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
        /// Verify an exported ledger (from `audit export`) instead of a data
        /// dir: needs nothing but the file, a checkpoint and the key.
        #[arg(long, value_name = "FILE", requires_all = ["checkpoint", "verifier_key"])]
        export: Option<PathBuf>,
        /// With --export: the signed checkpoint to check against.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// With --export: the workspace's verifier key, as `audit key` prints it.
        #[arg(long, value_name = "KEY")]
        verifier_key: Option<String>,
    },
    /// Print the latest signed checkpoint (a C2SP signed note).
    Checkpoint,
    /// Print the verifier key of the workspace's checkpoints
    /// (`<name>+<key hash>+<base64>`).
    Key,
    /// Show entries, oldest first, optionally by a person or about an item.
    Log {
        /// Only entries by this person (e-mail address).
        #[arg(long, value_name = "EMAIL")]
        person: Option<String>,
        /// Only entries about this document or record set (name or id).
        #[arg(long, value_name = "NAME_OR_ID")]
        item: Option<String>,
        /// Only entries at or after this time (YYYY-MM-DD, UTC, or RFC 3339).
        #[arg(long, value_name = "WHEN", value_parser = parse_when)]
        since: Option<time::OffsetDateTime>,
        /// Only entries before this time (YYYY-MM-DD, UTC, or RFC 3339).
        #[arg(long, value_name = "WHEN", value_parser = parse_when)]
        until: Option<time::OffsetDateTime>,
        /// Only refused attempts.
        #[arg(long)]
        denied: bool,
        /// Only entries that touched this customer row (a row id from
        /// `records show`).
        #[arg(long, value_name = "ROW_ID")]
        row: Option<confidant_core::RowId>,
        #[arg(long, value_enum, default_value_t)]
        format: crate::output::Format,
    },
    /// What each person opened on one business day, with rows per data
    /// category, and their refusals (the owner's daily digest).
    Digest {
        /// The business day (YYYY-MM-DD, named by its local date in the
        /// workspace's time zone); the current one by default.
        #[arg(long, value_name = "DAY")]
        day: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: crate::output::Format,
    },
    /// The threshold alerts raised by `serve`'s schedule, newest first,
    /// with their e-mail and webhook deliveries.
    Alerts {
        #[arg(long, value_enum, default_value_t)]
        format: crate::output::Format,
    },
    /// An inclusion proof of entry N in the latest signed checkpoint (JSON).
    Prove {
        #[arg(long, value_name = "N")]
        index: u64,
    },
    /// Write the ledger as JSON lines in ledger order; each line carries the
    /// entry's exact leaf bytes, base64, in `leaf`.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub async fn run(global: &Global, command: AuditCommand) -> anyhow::Result<()> {
    if let AuditCommand::Verify {
        export: Some(export),
        checkpoint: Some(checkpoint),
        verifier_key: Some(key),
        ..
    } = &command
    {
        return verify_offline(export, checkpoint, key);
    }
    let (vault, owner) = open_as_owner(global).await?;
    match command {
        AuditCommand::Verify {
            since_checkpoint, ..
        } => {
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
        AuditCommand::Log {
            person,
            item,
            since,
            until,
            denied,
            row,
            format,
        } => {
            let mut entries = vault
                .ledger_log(&owner, person.as_deref(), item.as_deref())
                .await?;
            entries.retain(|(_, e)| {
                let at = e.time.to_datetime();
                since.is_none_or(|s| at >= s)
                    && until.is_none_or(|u| at < u)
                    && (!denied || e.decision == confidant_ledger::Decision::Deny)
                    && row.is_none_or(|r| e.target.rows.contains(&r))
            });
            match format {
                crate::output::Format::Json => {
                    let lines = entries
                        .iter()
                        .map(|(index, entry)| entry_json(*index, &entry.to_leaf()))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    crate::output::json(&lines)?;
                }
                crate::output::Format::Text => {
                    let names = Names::of(&vault, &owner).await?;
                    let rows: Vec<Vec<String>> = entries
                        .iter()
                        .map(|(index, e)| {
                            let who = names.who(e.actor, "-");
                            let rows = if e.target.rows.is_empty() {
                                String::new()
                            } else {
                                format!(" ({} rows)", e.target.rows.len())
                            };
                            vec![
                                index.to_string(),
                                crate::output::time(e.time.to_datetime()),
                                who,
                                e.action.to_string(),
                                format!("{}{rows}", e.target.id.kind()),
                                e.decision.to_string(),
                                e.reason.clone(),
                            ]
                        })
                        .collect();
                    crate::output::table(
                        &["#", "TIME", "WHO", "ACTION", "TARGET", "DECISION", "REASON"],
                        &rows,
                    )?;
                }
            }
        }
        AuditCommand::Digest { day, format } => {
            let digest = vault.access_digest(&owner, day.as_deref()).await?;
            match format {
                crate::output::Format::Json => crate::output::json(&digest)?,
                crate::output::Format::Text => {
                    println!(
                        "access on the business day {} ({} to {}, {}){}",
                        digest.day,
                        crate::output::time(digest.start),
                        crate::output::time(digest.end),
                        digest.time_zone,
                        if digest.complete { "" } else { ", so far" }
                    );
                    let join = |m: &std::collections::BTreeMap<String, u64>| {
                        m.iter()
                            .map(|(k, v)| format!("{k} {v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let rows: Vec<Vec<String>> = digest
                        .people
                        .iter()
                        .map(|d| {
                            vec![
                                d.email.clone(),
                                d.opened.to_string(),
                                d.rows.to_string(),
                                d.items.to_string(),
                                join(&d.categories),
                                d.denied.to_string(),
                            ]
                        })
                        .collect();
                    crate::output::table(
                        &[
                            "WHO",
                            "OPENED",
                            "ROWS",
                            "ITEMS",
                            "ROWS BY CATEGORY",
                            "REFUSED",
                        ],
                        &rows,
                    )?;
                }
            }
        }
        AuditCommand::Alerts { format } => {
            let alerts = vault.alerts(&owner, 200).await?;
            let status = |s: Option<confidant_vault::schedule::RunStatus>| {
                s.map_or_else(|| "-".to_owned(), |s| s.as_str().to_owned())
            };
            match format {
                crate::output::Format::Json => crate::output::json(
                    &alerts
                        .iter()
                        .map(|a| {
                            serde_json::json!({
                                "rule": a.rule.as_str(),
                                "subject": a.subject,
                                "email": a.email,
                                "window": a.window,
                                "raised_at": crate::output::time(a.raised_at),
                                "summary": a.summary,
                                "mail": a.mail.map(|s| s.as_str()),
                                "webhook": a.hook.map(|s| s.as_str()),
                            })
                        })
                        .collect::<Vec<_>>(),
                )?,
                crate::output::Format::Text if alerts.is_empty() => {
                    println!(
                        "no alerts raised: serve checks the thresholds every minute (see [alerts] in the README)"
                    );
                }
                crate::output::Format::Text => {
                    let rows: Vec<Vec<String>> = alerts
                        .iter()
                        .map(|a| {
                            vec![
                                crate::output::time(a.raised_at),
                                a.rule.as_str().to_owned(),
                                a.email.clone().unwrap_or_else(|| a.subject.clone()),
                                a.window.clone(),
                                a.summary.clone(),
                                status(a.mail),
                                status(a.hook),
                            ]
                        })
                        .collect();
                    crate::output::table(
                        &[
                            "RAISED", "RULE", "WHO", "WINDOW", "WHAT", "E-MAIL", "WEBHOOK",
                        ],
                        &rows,
                    )?;
                }
            }
        }
        AuditCommand::Prove { index } => {
            let proof = vault.inclusion_proof(&owner, index).await?;
            let b64 = base64::engine::general_purpose::STANDARD;
            crate::output::json(&serde_json::json!({
                "index": proof.index,
                "tree_size": proof.size,
                "leaf": b64.encode(&proof.leaf),
                "proof": proof.proof.iter().map(|h| b64.encode(h)).collect::<Vec<_>>(),
                "checkpoint": proof.checkpoint,
            }))?;
        }
        AuditCommand::Export { out } => {
            let leaves = vault.ledger_leaves(&owner).await?;
            let tmp = out.with_extension("partial");
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot write {}", tmp.display()))?,
            );
            for (index, leaf) in leaves.iter().enumerate() {
                serde_json::to_writer(&mut file, &entry_json(index as u64, leaf)?)?;
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

/// An entry as one JSON object: its fields, its `index`, and its exact leaf
/// bytes (base64) in `leaf`, so anyone can recompute the tree.
fn entry_json(index: u64, leaf: &[u8]) -> anyhow::Result<serde_json::Value> {
    let mut line: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(leaf).context("a ledger entry is not JSON")?;
    line.insert("index".into(), index.into());
    line.insert(
        "leaf".into(),
        base64::engine::general_purpose::STANDARD
            .encode(leaf)
            .into(),
    );
    Ok(serde_json::Value::Object(line))
}

/// Checks an exported ledger against a signed checkpoint with nothing but
/// the workspace's verifier key: no data dir, no passphrase, no server.
fn verify_offline(
    export: &std::path::Path,
    checkpoint: &std::path::Path,
    key: &str,
) -> anyhow::Result<()> {
    use confidant_ledger::{Checkpoint, LogVerifier};
    let note = std::fs::read_to_string(checkpoint)
        .with_context(|| format!("cannot read {}", checkpoint.display()))?;
    let checkpoint = Checkpoint::verify(&note, key.trim())
        .map_err(|e| anyhow::anyhow!("the checkpoint does not verify with this key: {e}"))?;
    let text = std::fs::read_to_string(export)
        .with_context(|| format!("cannot read {}", export.display()))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut leaves = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not JSON", export.display(), n + 1))?;
        let leaf = value
            .get("leaf")
            .and_then(|l| l.as_str())
            .with_context(|| format!("{} line {}: no `leaf` field", export.display(), n + 1))?;
        leaves.push(b64.decode(leaf).with_context(|| {
            format!("{} line {}: `leaf` is not base64", export.display(), n + 1)
        })?);
    }
    LogVerifier::new(&checkpoint)
        .verify(leaves.iter().map(Ok::<_, std::convert::Infallible>))
        .map_err(|e| anyhow::anyhow!("the exported ledger does not match the checkpoint: {e}"))?;
    println!(
        "exported ledger verified: {} entries; the checkpoint covers {} of them",
        leaves.len(),
        checkpoint.size()
    );
    Ok(())
}

/// `2026-11-01` (midnight UTC) or an RFC 3339 time.
fn parse_when(text: &str) -> Result<time::OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

/// Who a ledger entry's actor is, by e-mail address.
struct Names(std::collections::HashMap<confidant_core::PersonId, String>);

impl Names {
    async fn of(
        vault: &confidant_vault::Vault,
        owner: &confidant_vault::Actor,
    ) -> anyhow::Result<Names> {
        let people = vault.people(owner).await?;
        Ok(Names(people.into_iter().map(|p| (p.id, p.email)).collect()))
    }

    /// The e-mail address of `actor` (its id if no longer a member), or
    /// `anonymous` for an attempt without an actor.
    fn who(&self, actor: Option<confidant_core::PersonId>, anonymous: &str) -> String {
        match actor {
            Some(id) => self.0.get(&id).cloned().unwrap_or_else(|| id.to_string()),
            None => anonymous.to_owned(),
        }
    }
}
