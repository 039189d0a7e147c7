//! What a backup's rows must agree with: every workspace's ledger (its
//! leaves recomputed into the RFC 6962 root of its latest signed
//! checkpoint) and the blobs that rows refer to (any column named
//! `blob_key`, in any table). The same checks run when a backup is made and
//! when it is verified or restored, in constant memory per workspace.

use std::collections::{BTreeMap, BTreeSet};

use confidant_core::WorkspaceId;
use confidant_ledger::{Checkpoint, Entry, Frontier, VerifierKey};
use confidant_store::Value;
use serde::{Deserialize, Serialize};

use super::format::corrupt;
use crate::VaultError;

/// A workspace's ledger as a backup holds it (listed in the manifest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceLedger {
    pub id: String,
    pub name: String,
    /// Hex of the workspace's Ed25519 public key (the checkpoint key).
    pub public_key: String,
    /// How many ledger entries the backup holds.
    pub entries: u64,
    /// Hex of the RFC 6962 root over those entries.
    pub root: String,
    /// The latest signed checkpoint (a C2SP signed note), if any.
    pub checkpoint: Option<String>,
}

#[derive(Debug, Default)]
struct Ledger {
    name: String,
    public_key: Vec<u8>,
    frontier: Frontier,
    /// The checkpoint of the largest size seen.
    checkpoint: Option<(i64, String)>,
}

/// Which columns of a table matter to the checks.
#[derive(Debug, Clone)]
pub(crate) struct TableRole {
    kind: Role,
    blob_key: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Workspaces { id: usize, name: usize, key: usize },
    Leaves { ws: usize, idx: usize, leaf: usize },
    Checkpoints { ws: usize, size: usize, note: usize },
    Other,
}

fn position(columns: &[String], name: &str, table: &str) -> Result<usize, VaultError> {
    columns.iter().position(|c| c == name).ok_or_else(|| {
        VaultError::Internal(format!(
            "table {table} has no column {name}: the backup checks need updating"
        ))
    })
}

/// Accumulates the checks over the rows of a backup.
#[derive(Debug, Default)]
pub(crate) struct Inspector {
    ledgers: BTreeMap<String, Ledger>,
    blob_keys: BTreeSet<String>,
}

impl Inspector {
    pub(crate) fn role(table: &str, columns: &[String]) -> Result<TableRole, VaultError> {
        let p = |name| position(columns, name, table);
        let kind = match table {
            "workspaces" => Role::Workspaces {
                id: p("id")?,
                name: p("name")?,
                key: p("signing_public_key")?,
            },
            "ledger_leaves" => Role::Leaves {
                ws: p("workspace_id")?,
                idx: p("idx")?,
                leaf: p("leaf")?,
            },
            "ledger_checkpoints" => Role::Checkpoints {
                ws: p("workspace_id")?,
                size: p("size")?,
                note: p("note")?,
            },
            _ => Role::Other,
        };
        Ok(TableRole {
            kind,
            blob_key: columns.iter().position(|c| c == "blob_key"),
        })
    }

    pub(crate) fn row(&mut self, role: &TableRole, row: &[Value]) -> Result<(), VaultError> {
        let text = |i: usize| match row.get(i) {
            Some(Value::Text(s)) => Ok(s.as_str()),
            _ => Err(corrupt(
                "a ledger or workspace row has a value of the wrong type",
            )),
        };
        let int = |i: usize| match row.get(i) {
            Some(Value::Integer(v)) => Ok(*v),
            _ => Err(corrupt("a ledger row has a value of the wrong type")),
        };
        let bytes = |i: usize| match row.get(i) {
            Some(Value::Bytes(b)) => Ok(b.as_slice()),
            _ => Err(corrupt(
                "a ledger or workspace row has a value of the wrong type",
            )),
        };
        match role.kind {
            Role::Workspaces { id, name, key } => {
                let ledger = self.ledgers.entry(text(id)?.to_owned()).or_default();
                ledger.name = text(name)?.to_owned();
                ledger.public_key = bytes(key)?.to_vec();
            }
            Role::Leaves { ws, idx, leaf } => {
                let ledger = self.ledgers.entry(text(ws)?.to_owned()).or_default();
                let idx = int(idx)?;
                if u64::try_from(idx).ok() != Some(ledger.frontier.size()) {
                    return Err(corrupt(format!(
                        "the ledger of workspace {} has entry {idx} where entry {} belongs \
                         (an entry was removed, added or moved)",
                        text(ws)?,
                        ledger.frontier.size()
                    )));
                }
                let leaf = bytes(leaf)?;
                let ws = text(ws)?;
                Entry::from_leaf(leaf).map_err(|e| {
                    corrupt(format!(
                        "ledger entry {idx} of workspace {ws} does not decode: {e}"
                    ))
                })?;
                ledger.frontier.append(leaf);
            }
            Role::Checkpoints { ws, size, note } => {
                let ledger = self.ledgers.entry(text(ws)?.to_owned()).or_default();
                let size = int(size)?;
                if ledger.checkpoint.as_ref().is_none_or(|(s, _)| size > *s) {
                    ledger.checkpoint = Some((size, text(note)?.to_owned()));
                }
            }
            Role::Other => {}
        }
        if let Some(i) = role.blob_key {
            match row.get(i) {
                Some(Value::Text(key)) => {
                    self.blob_keys.insert(key.clone());
                }
                Some(Value::Null) => {}
                _ => return Err(corrupt("a blob key is not text")),
            }
        }
        Ok(())
    }

    /// Every blob key the rows refer to.
    pub(crate) fn blob_keys(&self) -> &BTreeSet<String> {
        &self.blob_keys
    }

    /// Checks every workspace's ledger against its latest signed
    /// checkpoint and returns them as the manifest lists them.
    pub(crate) fn finish(&self) -> Result<Vec<WorkspaceLedger>, VaultError> {
        let mut out = Vec::with_capacity(self.ledgers.len());
        for (id, ledger) in &self.ledgers {
            let ws: WorkspaceId = id
                .parse()
                .map_err(|_| corrupt(format!("workspace id {id:?} is not valid")))?;
            let key: [u8; 32] = ledger.public_key.as_slice().try_into().map_err(|_| {
                corrupt(format!(
                    "workspace {id} has no valid public key (its row is missing or damaged)"
                ))
            })?;
            let origin = Checkpoint::workspace_origin(crate::audit::ORIGIN_HOST, ws);
            let verifier = VerifierKey::from_parts(&origin, key)
                .map_err(|e| corrupt(format!("workspace {id}'s verifier key: {e}")))?;
            let root = ledger.frontier.root();
            let entries = ledger.frontier.size();
            if let Some((_, note)) = &ledger.checkpoint {
                let cp = Checkpoint::verify_with(note, &verifier).map_err(|e| {
                    corrupt(format!(
                        "the latest ledger checkpoint of workspace {id} does not verify: {e}"
                    ))
                })?;
                if cp.size() != entries || cp.root() != &root {
                    return Err(corrupt(format!(
                        "the ledger of workspace {id} does not match its signed checkpoint \
                         ({entries} entries held, {} signed): entries were changed, removed or added",
                        cp.size()
                    )));
                }
            } else if entries > 0 {
                return Err(corrupt(format!(
                    "the ledger of workspace {id} has {entries} entries but no signed checkpoint"
                )));
            }
            out.push(WorkspaceLedger {
                id: id.clone(),
                name: ledger.name.clone(),
                public_key: hex::encode(key),
                entries,
                root: hex::encode(root),
                checkpoint: ledger.checkpoint.as_ref().map(|(_, n)| n.clone()),
            });
        }
        Ok(out)
    }
}
