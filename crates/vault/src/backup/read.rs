//! Reading a backup: decrypt and decompress on a thread of its own, check
//! every part, row, blob, ledger and the signed manifest on the async side,
//! and (for a restore) load into a staging target that is committed only
//! when every check has passed. Nothing of a backup that fails a check is
//! ever committed.

use std::collections::BTreeSet;
use std::io::{BufReader, Read};

use bytes::Bytes;
use confidant_store::{BlobKey, BlobStore, BlobWriter, DumpLoader, Value};
use sha2::Digest as _;
use tokio::sync::mpsc;

use super::format::{self, PartKind, corrupt};
use super::inspect::{Inspector, TableRole};
use super::{BackupPublicKey, Header, Manifest, PartEntry, manifest_message};
use crate::VaultError;

/// Where a restore goes: a loader on an empty database (one transaction)
/// and a staging blob store.
pub struct RestoreTarget {
    pub loader: Box<dyn DumpLoader>,
    pub blobs: BlobStore,
}

impl RestoreTarget {
    /// Opens the (empty) database at `url` at the backup's schema version
    /// and begins one load transaction there; blobs go to `blobs`.
    pub async fn prepare(
        url: &str,
        schema_version: i64,
        blobs: BlobStore,
    ) -> Result<RestoreTarget, VaultError> {
        let store = confidant_store::connect_for_load(url, schema_version).await?;
        let loader = store.begin_load(schema_version).await?;
        Ok(RestoreTarget { loader, blobs })
    }
}

impl std::fmt::Debug for RestoreTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreTarget").finish_non_exhaustive()
    }
}

/// What a full read of a backup found (everything checked).
#[derive(Debug, Clone)]
pub struct ReadReport {
    pub manifest: Manifest,
    /// True when the manifest was signed by the key the caller trusts;
    /// false when only by the key the manifest names.
    pub pinned: bool,
    /// The small files the backup carries (name, contents).
    pub files: Vec<(String, Vec<u8>)>,
    /// Plaintext bytes read.
    pub plaintext: u64,
}

enum Event {
    Frame(u8, Vec<u8>),
    Error(VaultError),
    Eof,
}

/// An open backup whose header has been read.
pub struct BackupReader {
    rx: mpsc::Receiver<Event>,
    header: Header,
    header_bytes: Vec<u8>,
}

impl std::fmt::Debug for BackupReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupReader")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// Counts what is read and reports it every MiB.
struct Counting<R> {
    inner: R,
    count: u64,
    reported: u64,
    progress: Option<Box<dyn Fn(u64) + Send>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Some(p) = &self.progress
            && self.count - self.reported >= 1024 * 1024
        {
            self.reported = self.count;
            p(self.count);
        }
        Ok(n)
    }
}

fn decrypt_thread<R: Read>(
    input: R,
    identities: &[age::x25519::Identity],
    progress: Option<Box<dyn Fn(u64) + Send>>,
    tx: &mpsc::Sender<Event>,
) -> Result<(), VaultError> {
    let input = Counting {
        inner: input,
        count: 0,
        reported: 0,
        progress,
    };
    let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(1 << 20, input))
        .map_err(|e| corrupt(format!("it is not a valid age file ({e})")))?;
    let plain = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => VaultError::InvalidInput(
                "the identity does not decrypt this backup: use the identity file whose \
                 recipient the backup was made for"
                    .into(),
            ),
            other => corrupt(format!("its age header does not decrypt ({other})")),
        })?;
    let mut plain =
        zstd::Decoder::new(plain).map_err(|e| VaultError::Internal(format!("zstd: {e}")))?;
    format::check_magic(&mut plain)?;
    let mut buf = Vec::new();
    loop {
        match format::read_frame(&mut plain, &mut buf)? {
            Some(tag) => {
                if tx
                    .blocking_send(Event::Frame(tag, std::mem::take(&mut buf)))
                    .is_err()
                {
                    // The reader stopped listening (it found an error).
                    return Ok(());
                }
            }
            None => {
                let _ = tx.blocking_send(Event::Eof);
                return Ok(());
            }
        }
    }
}

/// A part being read.
struct Current {
    entry: PartEntry,
    hasher: sha2::Sha256,
    /// For tables: undecoded bytes, then the role once columns are known.
    pending: Vec<u8>,
    table: Option<TableState>,
    blob: Option<BlobWriter>,
    file: Vec<u8>,
}

struct TableState {
    role: TableRole,
    batch: Vec<Vec<Value>>,
    batch_bytes: usize,
    rows: u64,
}

const BATCH_ROWS: usize = 2000;
const BATCH_BYTES: usize = 8 * 1024 * 1024;
const MAX_FILE: usize = 1024 * 1024;

impl BackupReader {
    /// Starts decrypting `input` with `identities` and reads the header.
    pub async fn open<R: Read + Send + 'static>(
        input: R,
        identities: Vec<age::x25519::Identity>,
        progress: Option<Box<dyn Fn(u64) + Send>>,
    ) -> Result<Self, VaultError> {
        let (tx, mut rx) = mpsc::channel(16);
        std::thread::Builder::new()
            .name("backup-reader".into())
            .spawn(move || {
                if let Err(e) = decrypt_thread(input, &identities, progress, &tx) {
                    let _ = tx.blocking_send(Event::Error(e));
                }
            })
            .map_err(|e| VaultError::Internal(format!("cannot start the backup reader: {e}")))?;
        let header_bytes = match rx.recv().await {
            Some(Event::Frame(format::TAG_HEADER, bytes)) => bytes,
            Some(Event::Error(e)) => return Err(e),
            _ => return Err(corrupt("it does not start with a header")),
        };
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|e| corrupt(format!("its header is not valid ({e})")))?;
        if header.format != 1 {
            return Err(VaultError::InvalidInput(format!(
                "the backup has format {}, which this confidant does not read: use a newer one",
                header.format
            )));
        }
        Ok(BackupReader {
            rx,
            header,
            header_bytes,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    async fn next(&mut self) -> Result<Option<(u8, Vec<u8>)>, VaultError> {
        match self.rx.recv().await {
            Some(Event::Frame(tag, bytes)) => Ok(Some((tag, bytes))),
            Some(Event::Eof) => Ok(None),
            Some(Event::Error(e)) => Err(e),
            None => Err(VaultError::Internal("the backup reader stopped".into())),
        }
    }

    /// Reads and checks the whole backup; with a target, loads it there
    /// and commits only when every check passed. `trusted` is the signing
    /// key the caller expects (from the identity file or `--public-key`).
    pub async fn run(
        mut self,
        trusted: Option<BackupPublicKey>,
        mut target: Option<RestoreTarget>,
    ) -> Result<ReadReport, VaultError> {
        let mut observed: Vec<PartEntry> = Vec::new();
        let mut inspector = Inspector::default();
        let mut blob_names: BTreeSet<String> = BTreeSet::new();
        let mut files = Vec::new();
        let mut manifest_bytes: Option<Vec<u8>> = None;
        let mut signature: Option<Vec<u8>> = None;
        let mut current: Option<Current> = None;
        let mut plaintext = (format::MAGIC.len() + 5 + self.header_bytes.len()) as u64;
        let mut ended = false;
        loop {
            let Some((tag, bytes)) = self.next().await? else {
                break;
            };
            plaintext += bytes.len() as u64 + 5;
            if ended {
                return Err(corrupt("there are bytes after its end"));
            }
            let in_part = current.is_some();
            match tag {
                format::TAG_PART if !in_part && manifest_bytes.is_none() => {
                    let (index, kind, name) = format::parse_part_payload(&bytes)?;
                    if index as usize != observed.len() {
                        return Err(corrupt(format!(
                            "part {index} ({name}) is where part {} belongs: parts were swapped, \
                             removed or added",
                            observed.len()
                        )));
                    }
                    let blob = match (kind, target.as_ref()) {
                        (PartKind::Blob, Some(t)) => {
                            let key = BlobKey::parse(&name).map_err(|_| {
                                corrupt(format!("blob part {name:?} has a bad key"))
                            })?;
                            Some(t.blobs.writer(&key).await?)
                        }
                        _ => None,
                    };
                    if kind == PartKind::Blob && !blob_names.insert(name.clone()) {
                        return Err(corrupt(format!("blob {name} is in it twice")));
                    }
                    current = Some(Current {
                        entry: PartEntry {
                            index,
                            kind,
                            name,
                            size: 0,
                            sha256: String::new(),
                            columns: Vec::new(),
                            rows: None,
                        },
                        hasher: sha2::Sha256::new(),
                        pending: Vec::new(),
                        table: None,
                        blob,
                        file: Vec::new(),
                    });
                }
                format::TAG_DATA if in_part => {
                    let Some(part) = current.as_mut() else {
                        return Err(corrupt("data outside a part"));
                    };
                    part.hasher.update(&bytes);
                    part.entry.size += bytes.len() as u64;
                    match part.entry.kind {
                        PartKind::Table => {
                            part.pending.extend_from_slice(&bytes);
                            table_data(part, &mut inspector, target.as_mut()).await?;
                        }
                        PartKind::Blob => {
                            if let Some(writer) = part.blob.as_mut() {
                                writer.write(Bytes::from(bytes)).await?;
                            }
                        }
                        PartKind::File => {
                            if part.file.len() + bytes.len() > MAX_FILE {
                                return Err(corrupt("a settings file in it is too large"));
                            }
                            part.file.extend_from_slice(&bytes);
                        }
                    }
                }
                format::TAG_END_PART if in_part => {
                    let Some(mut part) = current.take() else {
                        return Err(corrupt("a part ends twice"));
                    };
                    if part.entry.kind == PartKind::Table {
                        let Some(table) = part.table.as_mut() else {
                            return Err(corrupt(format!(
                                "table {} has no column list",
                                part.entry.name
                            )));
                        };
                        if !part.pending.is_empty() {
                            return Err(corrupt(format!(
                                "table {} ends in the middle of a row",
                                part.entry.name
                            )));
                        }
                        flush(&part.entry, table, target.as_mut()).await?;
                        part.entry.rows = Some(table.rows);
                    }
                    if let Some(writer) = part.blob.take() {
                        writer.finish().await?;
                    }
                    if part.entry.kind == PartKind::File {
                        files.push((part.entry.name.clone(), std::mem::take(&mut part.file)));
                    }
                    part.entry.sha256 = hex::encode(part.hasher.finalize());
                    observed.push(part.entry);
                }
                format::TAG_MANIFEST if !in_part && manifest_bytes.is_none() => {
                    manifest_bytes = Some(bytes);
                }
                format::TAG_SIGNATURE
                    if !in_part && manifest_bytes.is_some() && signature.is_none() =>
                {
                    signature = Some(bytes);
                }
                format::TAG_END if !in_part && signature.is_some() => ended = true,
                other => {
                    return Err(corrupt(format!(
                        "a frame {:?} is out of place",
                        char::from(other)
                    )));
                }
            }
        }
        if !ended {
            return Err(corrupt("it ends before its end mark (truncated)"));
        }
        let (Some(manifest_bytes), Some(signature)) = (manifest_bytes, signature) else {
            return Err(corrupt("it has no signed manifest"));
        };
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| corrupt(format!("its manifest is not valid ({e})")))?;
        let named = BackupPublicKey::parse(&manifest.signing_key)
            .map_err(|_| corrupt("its manifest names no valid signing key"))?;
        if let Some(trusted) = trusted
            && trusted != named
        {
            return Err(VaultError::Integrity(format!(
                "the backup was signed by key {named}, not by the key you trust ({trusted}): \
                 it was not made by this server, or was replaced; nothing was restored"
            )));
        }
        if !named.verify(&manifest_message(&manifest_bytes), &signature) {
            return Err(corrupt("its manifest signature does not verify"));
        }
        self.check_manifest(&manifest, &observed, &inspector, &blob_names)?;
        if let Some(target) = target {
            target.loader.commit().await?;
        }
        Ok(ReadReport {
            manifest,
            pinned: trusted.is_some(),
            files,
            plaintext,
        })
    }

    fn check_manifest(
        &self,
        manifest: &Manifest,
        observed: &[PartEntry],
        inspector: &Inspector,
        blob_names: &BTreeSet<String>,
    ) -> Result<(), VaultError> {
        let header = &self.header;
        if manifest.format != header.format
            || manifest.backup_id != header.backup_id
            || manifest.created_at != header.created_at
            || manifest.schema_version != header.schema_version
            || manifest.source != header.source
            || manifest.header_sha256 != hex::encode(sha2::Sha256::digest(&self.header_bytes))
        {
            return Err(corrupt(
                "its header does not match its manifest (parts of two backups were put together)",
            ));
        }
        if manifest.parts.len() != observed.len() {
            return Err(corrupt(format!(
                "the manifest lists {} parts, the file holds {}",
                manifest.parts.len(),
                observed.len()
            )));
        }
        for (want, got) in manifest.parts.iter().zip(observed) {
            if want != got {
                return Err(corrupt(format!(
                    "part {} ({:?} {}) does not match the manifest: its contents, size or place \
                     differ (it was changed, swapped or comes from another backup)",
                    got.index, got.kind, got.name
                )));
            }
        }
        if inspector.blob_keys() != blob_names {
            let missing: Vec<&String> = inspector.blob_keys().difference(blob_names).collect();
            return Err(corrupt(format!(
                "the blobs do not match the rows that refer to them (missing: {missing:?})"
            )));
        }
        let ledgers = inspector.finish()?;
        if ledgers != manifest.workspaces {
            return Err(corrupt(
                "the ledgers it holds do not match the checkpoints its manifest lists",
            ));
        }
        Ok(())
    }
}

/// Decodes what it can of a table part's pending bytes.
async fn table_data(
    part: &mut Current,
    inspector: &mut Inspector,
    target: Option<&mut RestoreTarget>,
) -> Result<(), VaultError> {
    if part.table.is_none() {
        let Some((columns, used)) = format::parse_column_header(&part.pending)? else {
            return Ok(());
        };
        if columns.is_empty() {
            return Err(corrupt(format!("table {} has no columns", part.entry.name)));
        }
        part.pending.drain(..used);
        let role = Inspector::role(&part.entry.name, &columns)
            .map_err(|e| corrupt(format!("table {}: {e}", part.entry.name)))?;
        part.entry.columns = columns;
        part.table = Some(TableState {
            role,
            batch: Vec::new(),
            batch_bytes: 0,
            rows: 0,
        });
    }
    let Some(table) = part.table.as_mut() else {
        return Ok(());
    };
    let (rows, used) = format::decode_rows(&part.pending, part.entry.columns.len())?;
    part.pending.drain(..used);
    for row in rows {
        inspector.row(&table.role, &row)?;
        table.rows += 1;
        if target.is_some() {
            table.batch_bytes += row
                .iter()
                .map(|v| match v {
                    Value::Text(s) => s.len(),
                    Value::Bytes(b) => b.len(),
                    _ => 8,
                })
                .sum::<usize>();
            table.batch.push(row);
        }
    }
    if let Some(target) = target
        && (table.batch.len() >= BATCH_ROWS || table.batch_bytes >= BATCH_BYTES)
    {
        flush(&part.entry, table, Some(target)).await?;
    }
    Ok(())
}

async fn flush(
    entry: &PartEntry,
    table: &mut TableState,
    target: Option<&mut RestoreTarget>,
) -> Result<(), VaultError> {
    if let Some(target) = target
        && !table.batch.is_empty()
    {
        target
            .loader
            .insert(&entry.name, &entry.columns, &table.batch)
            .await
            .map_err(|e| match e {
                confidant_store::StoreError::Corrupt(m) => corrupt(m),
                other => other.into(),
            })?;
    }
    table.batch.clear();
    table.batch_bytes = 0;
    Ok(())
}
