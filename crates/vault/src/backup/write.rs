//! Making a backup: one snapshot of the database, the blobs its rows refer
//! to, and the settings files, framed, compressed, encrypted and signed.
//! The database and blobs are read on the async side; compression,
//! encryption and writing run on a thread of their own, so the two overlap.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use confidant_store::{BlobKey, StoreError, Value};
use futures::StreamExt as _;
use sha2::Digest as _;

use super::format::{self, HashingWriter, MAGIC, MAX_DATA, PartKind};
use super::inspect::Inspector;
use super::{
    BackupSigner, Header, Manifest, OuterSignature, PartEntry, manifest_message, record_backup,
};
use crate::{Actor, Vault, VaultError};

/// What to back up to whom.
pub struct CreateOptions<'a> {
    /// Who can decrypt the backup (at least one).
    pub recipients: Vec<age::x25519::Recipient>,
    pub signer: &'a BackupSigner,
    /// Small files of the data dir to carry along (name, contents).
    pub files: Vec<(String, Vec<u8>)>,
    /// The backup file's name, for its detached signature.
    pub file_name: String,
    /// Called with the number of plaintext bytes written so far.
    pub progress: Option<Box<dyn Fn(u64) + Send + Sync>>,
    /// zstd level (3 is zstd's default).
    pub level: i32,
    /// Only the rows (and blobs) of the workspaces given to [`create`], not
    /// the whole server: a per-workspace backup of a multi-workspace
    /// server.
    pub only_these_workspaces: bool,
}

impl std::fmt::Debug for CreateOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateOptions")
            .field("recipients", &self.recipients.len())
            .field("file_name", &self.file_name)
            .finish_non_exhaustive()
    }
}

/// A finished backup.
#[derive(Debug, Clone)]
pub struct Created {
    pub manifest: Manifest,
    /// Size and hex SHA-256 of the encrypted file.
    pub size: u64,
    pub sha256: String,
    /// The text of the detached signature file.
    pub signature: String,
    /// Plaintext bytes before compression.
    pub plaintext: u64,
}

/// Sends framed bytes to the writer thread in batches and hashes parts.
struct Emitter {
    buf: Vec<u8>,
    tx: SyncSender<Vec<u8>>,
    parts: Vec<PartEntry>,
    part: Option<(PartEntry, sha2::Sha256)>,
    total: u64,
    progress: Option<Box<dyn Fn(u64) + Send + Sync>>,
}

const BATCH: usize = 512 * 1024;

fn writer_gone() -> VaultError {
    VaultError::Unavailable("the backup writer stopped".into())
}

impl Emitter {
    fn frame(&mut self, tag: u8, payload: &[u8]) -> Result<(), VaultError> {
        format::write_frame(&mut self.buf, tag, payload)?;
        self.total += payload.len() as u64 + 5;
        if self.buf.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), VaultError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH + MAX_DATA));
        self.tx.send(batch).map_err(|_| writer_gone())?;
        if let Some(progress) = &self.progress {
            progress(self.total);
        }
        Ok(())
    }

    fn begin(
        &mut self,
        kind: PartKind,
        name: &str,
        columns: Vec<String>,
    ) -> Result<(), VaultError> {
        let index = u32::try_from(self.parts.len())
            .map_err(|_| VaultError::Internal("too many parts in one backup".into()))?;
        self.frame(format::TAG_PART, &format::part_payload(index, kind, name))?;
        self.part = Some((
            PartEntry {
                index,
                kind,
                name: name.to_owned(),
                size: 0,
                sha256: String::new(),
                columns,
                rows: None,
            },
            sha2::Sha256::new(),
        ));
        Ok(())
    }

    fn data(&mut self, mut bytes: &[u8]) -> Result<(), VaultError> {
        while !bytes.is_empty() {
            let (piece, rest) = bytes.split_at(bytes.len().min(MAX_DATA));
            if let Some((entry, hasher)) = self.part.as_mut() {
                hasher.update(piece);
                entry.size += piece.len() as u64;
            }
            self.frame(format::TAG_DATA, piece)?;
            bytes = rest;
        }
        Ok(())
    }

    fn end(&mut self, rows: Option<u64>) -> Result<(), VaultError> {
        let (mut entry, hasher) = self
            .part
            .take()
            .ok_or_else(|| VaultError::Internal("a part ended twice".into()))?;
        entry.sha256 = hex::encode(hasher.finalize());
        entry.rows = rows;
        self.parts.push(entry);
        self.frame(format::TAG_END_PART, &[])
    }
}

/// The writer thread: zstd, then age, then the file (hashed).
fn write_out<W: Write>(
    rx: &Receiver<Vec<u8>>,
    out: W,
    recipients: &[age::x25519::Recipient],
    level: i32,
) -> Result<(W, String, u64), VaultError> {
    let failed =
        |e: std::io::Error| VaultError::Unavailable(format!("cannot write the backup: {e}"));
    let hashing = HashingWriter {
        inner: out,
        hasher: sha2::Sha256::new(),
        len: 0,
    };
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| {
                VaultError::InvalidInput(format!("cannot encrypt to these recipients: {e}"))
            })?;
    let encrypted = encryptor.wrap_output(hashing).map_err(failed)?;
    let mut zstd = zstd::Encoder::new(encrypted, level).map_err(failed)?;
    zstd.include_checksum(true).map_err(failed)?;
    while let Ok(batch) = rx.recv() {
        zstd.write_all(&batch).map_err(failed)?;
    }
    let encrypted = zstd.finish().map_err(failed)?;
    let mut hashing = encrypted.finish().map_err(failed)?;
    hashing.flush().map_err(failed)?;
    Ok((
        hashing.inner,
        hex::encode(hashing.hasher.finalize()),
        hashing.len,
    ))
}

fn store_error(e: VaultError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Makes a backup of the whole database behind `vaults` (every workspace
/// of the server, each given with its owner) into `out`. Each workspace's
/// ledger records the backup first, so the backup holds that entry.
/// Returns the backup's description and `out`.
pub async fn create<W: Write + Send + 'static>(
    vaults: &[(Vault, Actor)],
    options: CreateOptions<'_>,
    out: W,
) -> Result<(Created, W), VaultError> {
    let (first, _) = vaults
        .first()
        .ok_or_else(|| VaultError::InvalidInput("there is no workspace to back up".into()))?;
    if options.recipients.is_empty() {
        return Err(VaultError::InvalidInput(
            "a backup needs at least one recipient: pass --recipient age1... or run `confidant backup keygen`".into(),
        ));
    }
    let mut id = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
    let backup_id = uuid::Builder::from_random_bytes(id).into_uuid().to_string();
    let now = first.inner.clock.now();
    let created_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| VaultError::Internal(format!("formatting the time: {e}")))?;
    // Each workspace's owner, or an admin of it under a break-glass grant
    // (the use recorded); every refusal is recorded too, and nothing is
    // written unless all are allowed.
    let mut grants = Vec::with_capacity(vaults.len());
    for (vault, actor) in vaults {
        grants.push(
            vault
                .authorize_backup(actor, super::BackupUse::Create)
                .await?,
        );
    }
    for ((vault, actor), grant) in vaults.iter().zip(grants) {
        record_backup(vault, actor, &backup_id, grant).await?;
    }

    let only: Option<std::collections::BTreeSet<String>> =
        options.only_these_workspaces.then(|| {
            vaults
                .iter()
                .map(|(v, _)| v.workspace().to_string())
                .collect()
        });
    let store = first.inner.store.clone();
    let blobs = first.inner.blobs.clone();
    let mut dump = store.begin_dump().await?;
    let header = Header {
        format: 1,
        backup_id: backup_id.clone(),
        created_at: created_at.clone(),
        schema_version: dump.schema_version(),
        source: match store.backend() {
            confidant_store::Backend::Sqlite => "sqlite".into(),
            confidant_store::Backend::Postgres => "postgres".into(),
        },
    };
    let header_json = serde_json::to_vec(&header)
        .map_err(|e| VaultError::Internal(format!("the backup header: {e}")))?;

    let (tx, rx) = sync_channel::<Vec<u8>>(4);
    let recipients = options.recipients.clone();
    let level = options.level;
    let writer = std::thread::Builder::new()
        .name("backup-writer".into())
        .spawn(move || write_out(&rx, out, &recipients, level))
        .map_err(|e| VaultError::Internal(format!("cannot start the backup writer: {e}")))?;

    let mut emitter = Emitter {
        buf: Vec::with_capacity(BATCH + MAX_DATA),
        tx,
        parts: Vec::new(),
        part: None,
        total: 0,
        progress: options.progress,
    };
    let result = async {
        emitter.buf.extend_from_slice(MAGIC);
        emitter.total += MAGIC.len() as u64;
        emitter.frame(format::TAG_HEADER, &header_json)?;
        let mut inspector = Inspector::default();
        let tables = dump.tables().to_vec();
        for table in &tables {
            let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            let role = Inspector::role(&table.name, &columns)?;
            // INVARIANT: in a per-workspace backup every row passes this
            // filter (its workspace column names one of the workspaces
            // backed up); a table without such a column is refused rather
            // than copied whole.
            let filter = match &only {
                None => None,
                Some(ids) => {
                    let column = if table.name == "workspaces" {
                        "id"
                    } else {
                        "workspace_id"
                    };
                    let index = columns.iter().position(|c| c == column).ok_or_else(|| {
                        VaultError::Internal(format!(
                            "table {} has no {column} column: a per-workspace backup cannot \
                             split it; back up the whole server instead",
                            table.name
                        ))
                    })?;
                    Some((index, ids))
                }
            };
            emitter.begin(PartKind::Table, &table.name, columns.clone())?;
            emitter.data(&format::column_header(&columns)?)?;
            let mut rows_buf = Vec::with_capacity(MAX_DATA);
            let mut check: Result<(), VaultError> = Ok(());
            let mut emitted = 0u64;
            let count = {
                let emitter = &mut emitter;
                let inspector = &mut inspector;
                let check = &mut check;
                let rows_buf = &mut rows_buf;
                let emitted = &mut emitted;
                let filter = &filter;
                let mut sink = move |row: Vec<Value>| -> Result<(), StoreError> {
                    if let Some((index, ids)) = filter {
                        let keep = match row.get(*index) {
                            Some(Value::Text(ws)) => ids.contains(ws),
                            _ => false,
                        };
                        if !keep {
                            return Ok(());
                        }
                    }
                    *emitted += 1;
                    if let Err(e) = inspector.row(&role, &row) {
                        *check = Err(e);
                        return Err(StoreError::Corrupt("a backup check failed".into()));
                    }
                    format::encode_row(&row, rows_buf);
                    if rows_buf.len() >= MAX_DATA {
                        emitter.data(rows_buf).map_err(store_error)?;
                        rows_buf.clear();
                    }
                    Ok(())
                };
                dump.read_table(&table.name, &mut sink).await
            };
            check?;
            count?;
            emitter.data(&rows_buf)?;
            emitter.end(Some(emitted))?;
        }
        for key in inspector.blob_keys().clone() {
            let blob_key = BlobKey::parse(&key)?;
            let mut stream = blobs.read(&blob_key).await.map_err(|e| match e {
                StoreError::BlobNotFound(_) => VaultError::Conflict(format!(
                    "blob {key} went away while the backup ran (a document was replaced or \
                     deleted): run the backup again"
                )),
                other => other.into(),
            })?;
            emitter.begin(PartKind::Blob, &key, Vec::new())?;
            while let Some(chunk) = stream.next().await {
                emitter.data(&chunk?)?;
            }
            emitter.end(None)?;
        }
        for (name, contents) in &options.files {
            emitter.begin(PartKind::File, name, Vec::new())?;
            emitter.data(contents)?;
            emitter.end(None)?;
        }
        let manifest = Manifest {
            format: 1,
            backup_id: backup_id.clone(),
            created_at,
            confidant_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version: header.schema_version,
            source: header.source.clone(),
            header_sha256: hex::encode(sha2::Sha256::digest(&header_json)),
            signing_key: options.signer.public_key().to_base64(),
            workspaces: inspector.finish()?,
            parts: std::mem::take(&mut emitter.parts),
        };
        let manifest_json = serde_json::to_vec(&manifest)
            .map_err(|e| VaultError::Internal(format!("the backup manifest: {e}")))?;
        emitter.frame(format::TAG_MANIFEST, &manifest_json)?;
        let signature = options.signer.sign(&manifest_message(&manifest_json));
        emitter.frame(format::TAG_SIGNATURE, &signature)?;
        emitter.frame(format::TAG_END, &[])?;
        emitter.flush()?;
        Ok::<_, VaultError>(manifest)
    }
    .await;
    drop(dump);
    let plaintext = emitter.total;
    drop(emitter);
    let written = writer
        .join()
        .map_err(|_| VaultError::Internal("the backup writer panicked".into()))?;
    // The writer's own error explains a failed send better than the send.
    let (out, sha256, size) = written?;
    let manifest = result?;
    let signature = OuterSignature {
        file: options.file_name,
        size,
        sha256: sha256.clone(),
        backup_id,
        key: options.signer.public_key(),
    }
    .sign(options.signer);
    Ok((
        Created {
            manifest,
            size,
            sha256,
            signature,
            plaintext,
        },
        out,
    ))
}
