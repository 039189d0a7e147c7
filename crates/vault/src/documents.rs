//! Documents: encrypted bodies in blob storage, encrypted names in the store.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use confidant_core::{DocumentMeta, ItemId, Label, ScanSummary, validate_document_name};
use confidant_crypto::{CHUNK_SIZE, ChunkSealer, DataKey, Decryptor, FieldKeys};
use confidant_store::{BlobKey, DocumentRecord, KeyOwner, StoreError};
use futures::stream::{BoxStream, Stream, StreamExt};
use rand_core::{OsRng, RngCore};
use tokio::io::{AsyncRead, AsyncReadExt};

use confidant_ledger::{KnownAction, Target, TargetId};

use crate::audit::Attempt;
use crate::keys::key_context;
use crate::scan::BodyScan;
use crate::{Actor, Vault, VaultError};

/// How a caller names a document: by id or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocRef {
    Id(ItemId),
    Name(String),
}

impl DocRef {
    /// Reads an id when the text is one, a name otherwise.
    pub fn parse(text: &str) -> DocRef {
        match text.parse::<ItemId>() {
            Ok(id) => DocRef::Id(id),
            Err(_) => DocRef::Name(text.trim().to_owned()),
        }
    }
}

impl std::fmt::Display for DocRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocRef::Id(id) => write!(f, "{id}"),
            DocRef::Name(name) => write!(f, "{name:?}"),
        }
    }
}

fn name_context(doc: &DocumentRecord) -> [&[u8]; 3] {
    [
        b"document-name",
        doc.workspace.as_bytes(),
        doc.id.as_bytes(),
    ]
}

fn name_index(names: &FieldKeys, name: &str) -> Vec<u8> {
    names.blind_index(&[b"document-name"], name.as_bytes())
}

/// The stream context binds a body to its workspace, item and blob (one per
/// version), so chunks cannot move between documents or versions.
fn stream_context(doc: &DocumentRecord) -> Vec<u8> {
    [
        doc.workspace.as_bytes().as_slice(),
        doc.id.as_bytes(),
        doc.blob.as_str().as_bytes(),
    ]
    .concat()
}

/// Reads until `buf` holds `CHUNK_SIZE` bytes or the input ends.
async fn fill_chunk(body: &mut (impl AsyncRead + Unpin), buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    buf.reserve(CHUNK_SIZE + confidant_crypto::TAG_LEN);
    let mut limited = body.take(CHUNK_SIZE as u64);
    while buf.len() < CHUNK_SIZE {
        if limited.read_buf(buf).await? == 0 {
            break;
        }
    }
    Ok(())
}

/// The answer for a document that is missing or not the reader's to see.
pub(crate) fn not_found(doc: &DocRef) -> VaultError {
    VaultError::NotFound(format!(
        "no document {doc} in this workspace: `confidant docs list` shows them"
    ))
}

fn scan_json(scan: Option<&ScanSummary>) -> Option<String> {
    scan.and_then(|s| serde_json::to_string(s).ok())
}

impl Vault {
    /// Changes a document's label (the owner's call; the scan only
    /// suggests one).
    pub async fn set_document_label(
        &self,
        actor: &Actor,
        doc: &DocRef,
        label: Label,
    ) -> Result<DocumentMeta, VaultError> {
        self.gate(actor, "change a label", KnownAction::Edit)
            .await?;
        let mut found = self.find_document(doc).await?;
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::Edit,
            Target::whole(TargetId::Document(found.id)),
        );
        attempt.reason = format!("{}: label {} -> {}", attempt.reason, found.label, label);
        self.record(&[attempt]).await?;
        if !self
            .store()
            .set_document_label(self.workspace(), found.id, label)
            .await?
        {
            return Err(VaultError::NotFound(
                "the document was removed meanwhile".into(),
            ));
        }
        found.label = label;
        let keys = self.keys_for(found.kek_id).await?;
        self.doc_meta(&found, &keys.names)
    }

    /// The decrypted name of document `id` (for reports to the owner).
    pub(crate) async fn document_name(
        &self,
        id: confidant_core::ItemId,
    ) -> Result<String, VaultError> {
        let doc = self
            .store()
            .document(self.workspace(), id)
            .await?
            .ok_or_else(|| VaultError::NotFound(format!("no document {id}")))?;
        let keys = self.keys_for(doc.kek_id).await?;
        Ok(self.doc_meta(&doc, &keys.names)?.name)
    }

    pub(crate) fn doc_meta(
        &self,
        doc: &DocumentRecord,
        names: &FieldKeys,
    ) -> Result<DocumentMeta, VaultError> {
        let name = names
            .open(&name_context(doc), &doc.name_ct)
            .map_err(|e| VaultError::crypto(&format!("the name of document {}", doc.id), e))
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    VaultError::Integrity(format!("the name of document {} is not text", doc.id))
                })
            })?;
        Ok(DocumentMeta {
            id: doc.id,
            workspace: doc.workspace,
            name,
            label: doc.label,
            size: doc.size,
            version: doc.version,
            created_at: doc.created_at,
            updated_at: doc.updated_at,
            scan: doc.scan.as_deref().and_then(|json| {
                serde_json::from_str(json)
                    .map_err(|e| tracing::warn!(error = %e, "a stored scan summary is unreadable"))
                    .ok()
            }),
        })
    }

    pub(crate) async fn find_document(&self, doc: &DocRef) -> Result<DocumentRecord, VaultError> {
        let ws = self.workspace();
        let found = match doc {
            DocRef::Id(id) => match self.store().document(ws, *id).await? {
                Some(found) => Some(found),
                // A name that happens to look like an id.
                None => {
                    let index = name_index(&self.current_keys().names, &id.to_string());
                    self.store().document_by_name_index(ws, &index).await?
                }
            },
            DocRef::Name(name) => {
                let index = name_index(&self.current_keys().names, name);
                self.store().document_by_name_index(ws, &index).await?
            }
        };
        found.ok_or_else(|| not_found(doc))
    }

    /// Encrypts `body` under a fresh data key into a new blob; returns the
    /// blob key, wrapped data key, KEK id and plaintext size. Nothing is
    /// visible until the caller stores the row; on error the blob is removed.
    async fn write_body(
        &self,
        doc: &DocumentRecord,
        name: &str,
        body: &mut (impl AsyncRead + Unpin + Send),
    ) -> Result<(Vec<u8>, confidant_core::KeyId, u64, Option<ScanSummary>), VaultError> {
        let rng = &mut OsRng;
        let mut scan = BodyScan::new(name);
        let keys = self.current_keys();
        let data_key = DataKey::generate(rng);
        let wrapped = keys
            .kek
            .wrap(
                &data_key,
                &key_context(doc.workspace, KeyOwner::Document(doc.id)),
                rng,
            )
            .map_err(|e| VaultError::Internal(format!("wrapping a data key failed: {e}")))?;
        let mut sealer = ChunkSealer::new(&data_key, &stream_context(doc))
            .map_err(|e| VaultError::Internal(format!("cipher setup failed: {e}")))?;
        let mut writer = self.inner.blobs.writer(&doc.blob).await?;
        let result: Result<u64, VaultError> = async {
            writer
                .write(Bytes::copy_from_slice(&sealer.header()))
                .await?;
            let mut size = 0u64;
            let mut current = Vec::new();
            let mut next = Vec::new();
            fill_chunk(body, &mut current).await.map_err(read_error)?;
            loop {
                // A full chunk is the last one only when nothing follows it.
                let last = if current.len() < CHUNK_SIZE {
                    true
                } else {
                    fill_chunk(body, &mut next).await.map_err(read_error)?;
                    next.is_empty()
                };
                size += current.len() as u64;
                scan.feed(&current).await;
                sealer
                    .seal(&mut current, last)
                    .map_err(|e| VaultError::Internal(format!("encryption failed: {e}")))?;
                writer
                    .write(Bytes::from(std::mem::take(&mut current)))
                    .await?;
                if last {
                    return Ok(size);
                }
                std::mem::swap(&mut current, &mut next);
            }
        }
        .await;
        match result {
            Ok(size) => {
                writer.finish().await?;
                Ok((wrapped, keys.kek_id, size, scan.finish().await))
            }
            Err(e) => {
                writer.abort().await;
                Err(e)
            }
        }
    }

    /// Whether `actor` may add documents and import record sets (the
    /// owner and admins), for a page that offers the upload. Nothing is
    /// recorded: the upload itself is.
    pub fn may_add(&self, actor: &Actor) -> Result<(), VaultError> {
        self.require_owner(actor, "add documents or record sets")
    }

    /// As [`Vault::may_add`], recording a refusal: for a form that must
    /// say no before it reads an upload.
    pub async fn check_upload(&self, actor: &Actor) -> Result<(), VaultError> {
        self.gate(actor, "add documents or record sets", KnownAction::Add)
            .await
    }

    /// As [`Vault::check_upload`], for replacing the content of `doc`,
    /// which must exist (not found otherwise, like a missing one).
    pub async fn check_replace(&self, actor: &Actor, doc: &DocRef) -> Result<(), VaultError> {
        self.gate(actor, "replace a document", KnownAction::Replace)
            .await?;
        self.find_document(doc).await.map(|_| ())
    }

    /// Adds a document. The name must be new in the workspace. The body is
    /// read, scanned for sensitive data (see [`crate::scan`]), encrypted and
    /// stored in constant memory; the document becomes visible only once all
    /// of it is stored. Without a label (`None`) it gets the label its
    /// content suggests.
    pub async fn add_document(
        &self,
        actor: &Actor,
        name: &str,
        label: impl Into<Option<Label>>,
        mut body: impl AsyncRead + Unpin + Send,
    ) -> Result<DocumentMeta, VaultError> {
        let label: Option<Label> = label.into();
        self.gate(actor, "add a document", KnownAction::Add).await?;
        let name =
            validate_document_name(name).map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let keys = self.current_keys();
        let index = name_index(&keys.names, name);
        if self
            .store()
            .document_by_name_index(self.workspace(), &index)
            .await?
            .is_some()
        {
            return Err(name_taken(name));
        }
        let rng = &mut OsRng;
        let now = self.inner.clock.now();
        let id = ItemId::random(rng);
        let mut doc = DocumentRecord {
            id,
            workspace: self.workspace(),
            name_ct: Vec::new(),
            name_index: index,
            label: label.unwrap_or(Label::Confidential),
            size: 0,
            version: 1,
            blob: BlobKey::document(self.workspace(), id, &blob_id(rng))?,
            data_key_wrapped: Vec::new(),
            kek_id: keys.kek_id,
            created_at: now,
            updated_at: now,
            scan: None,
        };
        doc.name_ct = keys
            .names
            .seal(&name_context(&doc), name.as_bytes(), rng)
            .map_err(|e| VaultError::Internal(format!("encrypting the name failed: {e}")))?;
        let (wrapped, kek_id, size, scan) = self.write_body(&doc, name, &mut body).await?;
        doc.data_key_wrapped = wrapped;
        doc.kek_id = kek_id;
        doc.size = size;
        if label.is_none()
            && let Some(scan) = &scan
        {
            doc.label = scan.suggested_label;
        }
        doc.scan = scan_json(scan.as_ref());
        let target = Target::whole(TargetId::Document(doc.id));
        if let Err(e) = self.allow(actor, KnownAction::Add, target, []).await {
            self.inner.blobs.delete(&doc.blob).await.ok();
            return Err(e);
        }
        if let Err(e) = self.store().insert_document(&doc).await {
            self.inner.blobs.delete(&doc.blob).await.ok();
            return Err(match e {
                StoreError::Conflict(_) => {
                    // Either the name was taken meanwhile, or the keys were
                    // rotated while the body was written.
                    let index = &doc.name_index;
                    match self.store().document_by_name_index(self.workspace(), index).await {
                        Ok(Some(_)) => name_taken(name),
                        _ => VaultError::Conflict(
                            "the workspace's keys were rotated while the document was stored: add it again (nothing was stored)".into(),
                        ),
                    }
                }
                other => other.into(),
            });
        }
        self.doc_meta(&doc, &keys.names)
    }

    /// Replaces a document's body (a new version with a new data key). The
    /// old body is deleted once the new one is in place.
    pub async fn replace_document(
        &self,
        actor: &Actor,
        doc: &DocRef,
        mut body: impl AsyncRead + Unpin + Send,
    ) -> Result<DocumentMeta, VaultError> {
        self.gate(actor, "replace a document", KnownAction::Replace)
            .await?;
        let old = self.find_document(doc).await?;
        let rng = &mut OsRng;
        let mut new = old.clone();
        new.version = old.version + 1;
        new.blob = BlobKey::document(old.workspace, old.id, &blob_id(rng))?;
        new.updated_at = self.inner.clock.now();
        // The name tells a DOCX from an XLSX upload.
        let name = self.doc_meta(&old, &self.current_keys().names)?.name;
        let (wrapped, kek_id, size, scan) = self.write_body(&new, &name, &mut body).await?;
        new.data_key_wrapped = wrapped;
        new.kek_id = kek_id;
        new.size = size;
        new.scan = scan_json(scan.as_ref());
        let target = Target::whole(TargetId::Document(new.id));
        if let Err(e) = self.allow(actor, KnownAction::Replace, target, []).await {
            self.inner.blobs.delete(&new.blob).await.ok();
            return Err(e);
        }
        match self.store().replace_document(&new).await {
            Ok(Some(replaced)) => {
                self.inner.blobs.delete(&replaced.blob).await.ok();
            }
            Ok(None) => {
                self.inner.blobs.delete(&new.blob).await.ok();
                return Err(VaultError::NotFound(format!(
                    "document {doc} was deleted meanwhile"
                )));
            }
            Err(e) => {
                self.inner.blobs.delete(&new.blob).await.ok();
                return Err(match e {
                    StoreError::Conflict(_) => VaultError::Conflict(format!(
                        "document {doc} was replaced by someone else meanwhile: fetch it and try again"
                    )),
                    other => other.into(),
                });
            }
        }
        let keys = self.keys_for(new.kek_id).await?;
        self.doc_meta(&new, &keys.names)
    }

    pub async fn documents(&self, actor: &Actor) -> Result<Vec<DocumentMeta>, VaultError> {
        if !self.is_manager(actor) {
            return self.granted_documents(actor).await;
        }
        self.gate(actor, "list documents", KnownAction::View)
            .await?;
        let records = self.store().documents(self.workspace()).await?;
        let names = &self.current_keys().names;
        let metas = records
            .iter()
            .map(|d| self.doc_meta(d, names))
            .collect::<Result<Vec<_>, _>>()?;
        let target = Target::whole(TargetId::Workspace(self.workspace()));
        self.allow(actor, KnownAction::View, target, []).await?;
        Ok(metas)
    }

    pub async fn document(&self, actor: &Actor, doc: &DocRef) -> Result<DocumentMeta, VaultError> {
        if !self.is_manager(actor) {
            let (record, meta, decision) = self
                .authorize_document(actor, doc, confidant_core::Access::View)
                .await?;
            let mut attempt = Attempt::allowed(
                actor,
                KnownAction::View,
                Target::whole(TargetId::Document(record.id)),
            );
            attempt.reason = crate::access::ledger_reason(&decision);
            self.record(&[attempt]).await?;
            return Ok(meta);
        }
        self.gate(actor, "see a document", KnownAction::View)
            .await?;
        let record = self.find_document(doc).await?;
        let meta = self.doc_meta(&record, &self.current_keys().names)?;
        let target = Target::whole(TargetId::Document(record.id));
        self.allow(actor, KnownAction::View, target, []).await?;
        Ok(meta)
    }

    /// Opens a document for reading: its metadata and a stream of its
    /// plaintext. Every chunk is authenticated before it is yielded; a
    /// changed, truncated or swapped body ends the stream with an
    /// `Integrity` error naming the document, so a caller that writes the
    /// stream to a file must discard the file on error.
    pub async fn open_document(
        &self,
        actor: &Actor,
        doc: &DocRef,
    ) -> Result<(DocumentMeta, DocumentStream), VaultError> {
        let (record, meta, reason) = if self.is_manager(actor) {
            self.gate(actor, "open a document", KnownAction::Download)
                .await?;
            let record = self.find_document(doc).await?;
            let keys = self.keys_for(record.kek_id).await?;
            let meta = self.doc_meta(&record, &keys.names)?;
            (record, meta, None)
        } else {
            let (record, meta, decision) = self
                .authorize_document(actor, doc, confidant_core::Access::Download)
                .await?;
            (record, meta, Some(crate::access::ledger_reason(&decision)))
        };
        if !self.is_manager(actor) && self.store().view_only(self.workspace(), record.id).await? {
            let target = Target::whole(TargetId::Document(record.id));
            return Err(self
                .refused(
                    actor,
                    KnownAction::Download,
                    target,
                    VaultError::ViewOnly(format!(
                        "{:?} is view only: read it on its page in the browser; it is not \
                         offered for download",
                        meta.name
                    )),
                )
                .await);
        }
        let (stream, what) = self.body_stream(&record, &meta).await?;
        let target = Target::whole(TargetId::Document(record.id));
        let mut attempt = Attempt::allowed(actor, KnownAction::Download, target);
        if let Some(reason) = reason {
            attempt.reason = reason;
        }
        if !record.label.requires_stamp() {
            // INVARIANT: the download is on the record before a byte leaves.
            self.record(&[attempt]).await?;
            return Ok((meta, stream));
        }
        self.finish_copy(actor, record.label, meta, stream, &what, attempt)
            .await
    }

    /// The decrypting stream of a document's current body, and how errors
    /// name it.
    pub(crate) async fn body_stream(
        &self,
        record: &DocumentRecord,
        meta: &DocumentMeta,
    ) -> Result<(DocumentStream, String), VaultError> {
        let keys = self.keys_for(record.kek_id).await?;
        let what = format!("document {:?} ({})", meta.name, meta.id);
        let data_key = keys
            .kek
            .unwrap(
                &record.data_key_wrapped,
                &key_context(record.workspace, KeyOwner::Document(record.id)),
            )
            .map_err(|e| VaultError::crypto(&what, e))?;
        let blob = self
            .inner
            .blobs
            .read(&record.blob)
            .await
            .map_err(|e| match e {
                StoreError::BlobNotFound(_) => VaultError::Integrity(format!(
                    "the encrypted body of {what} is missing from blob storage"
                )),
                other => other.into(),
            })?;
        let decryptor = Decryptor::new(&data_key, &stream_context(record));
        let stream = DocumentStream::new(blob, decryptor, what.clone());
        Ok((stream, what))
    }

    /// A Confidential or Restricted copy on its way to `actor`: stamped
    /// (or, for the owner who turned stamps off, the original), recorded
    /// with `attempt` before it is returned.
    pub(crate) async fn finish_copy(
        &self,
        actor: &Actor,
        label: Label,
        meta: DocumentMeta,
        stream: DocumentStream,
        what: &str,
        mut attempt: Attempt,
    ) -> Result<(DocumentMeta, DocumentStream), VaultError> {
        if actor.role == confidant_core::Role::Owner
            && !self.store().owner_copies_stamped(self.workspace()).await?
        {
            attempt.reason = format!(
                "{}; unstamped: the owner turned off stamps on their own copies",
                attempt.reason
            );
            self.record(&[attempt]).await?;
            return Ok((meta, stream));
        }
        // A Confidential or Restricted copy leaves only stamped for its
        // recipient, with a delivery id on the record; when it cannot be
        // stamped, it does not leave at all.
        match self.stamp_copy(actor, &meta, label, stream, what).await? {
            Copy::Stamped(copy, delivery) => {
                attempt.delivery = Some(delivery.to_string());
                attempt.reason = format!("{}; stamped copy, delivery {delivery}", attempt.reason);
                self.record(&[attempt]).await?;
                let mut meta = meta;
                meta.size = copy.len() as u64;
                Ok((meta, DocumentStream::ready(copy, what.to_owned())))
            }
            Copy::Unstamped(stream) => {
                attempt.reason = format!(
                    "{}; unstamped: the owner's side reading a kind of file no stamp fits",
                    attempt.reason
                );
                self.record(&[attempt]).await?;
                Ok((meta, *stream))
            }
        }
    }

    /// Stamps a copy for `actor`: decrypts the whole body (authenticated),
    /// stamps it and returns it with a fresh delivery id. A kind of file
    /// no stamp fits goes back unstamped, streaming, to the owner and
    /// admins only; anyone else is refused.
    async fn stamp_copy(
        &self,
        actor: &Actor,
        meta: &DocumentMeta,
        label: confidant_core::Label,
        mut stream: DocumentStream,
        what: &str,
    ) -> Result<Copy, VaultError> {
        // The first chunk (64 KiB) is enough to know the format.
        let first = match stream.next().await {
            Some(chunk) => chunk?,
            None => Bytes::new(),
        };
        let Some(format) = confidant_mark::Format::detect(Some(&meta.name), &first) else {
            if self.is_manager(actor) {
                stream.ready = Some(first);
                return Ok(Copy::Unstamped(Box::new(stream)));
            }
            return Err(VaultError::InvalidInput(format!(
                "{what} is {} and copies of it must carry a stamp for their recipient, but \
                 confidant cannot stamp this kind of file (it stamps PDF, PNG, JPEG, text, \
                 Markdown, CSV, TSV, JSON, DOCX and XLSX): it is not served unstamped; the owner \
                 can convert it, or lower its label",
                label.as_str()
            )));
        };
        if meta.size > MAX_STAMPED_BYTES {
            return Err(VaultError::InvalidInput(format!(
                "{what} is {} bytes; {} copies are stamped for their recipient, which confidant \
                 does up to {MAX_STAMPED_BYTES} bytes: split the file, or have the owner lower its \
                 label",
                meta.size,
                label.as_str()
            )));
        }
        let mut body = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
        body.extend_from_slice(&first);
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk?);
        }
        let delivery = confidant_core::delivery::DeliveryId::random(&mut OsRng);
        let stamp = confidant_mark::Stamp {
            label: label.as_str().to_uppercase(),
            recipient_name: actor.name.clone(),
            recipient_email: actor.email.clone(),
            delivery,
            issued_at: self.inner.clock.now(),
        };
        let what = what.to_owned();
        let stamped = tokio::task::spawn_blocking(move || {
            confidant_mark::stamp(format, &body, &stamp)
        })
        .await
        .map_err(|e| VaultError::Internal(format!("stamping {what} failed: {e}")))?
        .map_err(|e| {
            VaultError::InvalidInput(format!(
                "{what} cannot be stamped for its recipient ({e}); it is not served unstamped"
            ))
        })?;
        Ok(Copy::Stamped(Bytes::from(stamped), delivery))
    }

    /// Deletes a document and its body.
    pub async fn delete_document(
        &self,
        actor: &Actor,
        doc: &DocRef,
    ) -> Result<DocumentMeta, VaultError> {
        self.gate(actor, "delete a document", KnownAction::Delete)
            .await?;
        let record = self.find_document(doc).await?;
        let keys = self.keys_for(record.kek_id).await?;
        let meta = self.doc_meta(&record, &keys.names)?;
        let target = Target::whole(TargetId::Document(record.id));
        self.allow(actor, KnownAction::Delete, target, []).await?;
        let deleted = self
            .store()
            .delete_document(self.workspace(), record.id)
            .await?
            .ok_or_else(|| VaultError::NotFound(format!("document {doc} was deleted meanwhile")))?;
        self.inner.blobs.delete(&deleted.blob).await?;
        Ok(meta)
    }

    /// Removes blobs that no document refers to: bodies of additions or
    /// replacements that crashed before their row was stored. Returns how
    /// many were removed. Run at server start.
    pub async fn sweep_orphan_blobs(&self) -> Result<usize, VaultError> {
        let ws = self.workspace();
        let referenced: std::collections::HashSet<String> = self
            .store()
            .referenced_blobs(ws)
            .await?
            .into_iter()
            .map(|k| k.as_str().to_owned())
            .collect();
        let mut removed = 0;
        for key in self.inner.blobs.list(&format!("ws/{ws}/docs")).await? {
            if !referenced.contains(key.as_str()) {
                self.inner.blobs.delete(&key).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn blob_id(rng: &mut OsRng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn name_taken(name: &str) -> VaultError {
    VaultError::Conflict(format!(
        "a document named {name:?} already exists: choose another --name, or replace its content with `confidant docs replace`"
    ))
}

fn read_error(e: std::io::Error) -> VaultError {
    VaultError::InvalidInput(format!(
        "reading the document's content failed: {e} (nothing was stored)"
    ))
}

/// The plaintext of a document, authenticated chunk by chunk and yielded
/// one chunk at a time, so memory stays flat whatever the blob store hands
/// over in one piece.
/// A copy on its way out.
enum Copy {
    Stamped(Bytes, confidant_core::delivery::DeliveryId),
    Unstamped(Box<DocumentStream>),
}

/// The largest body stamped for a recipient (stamping reads it whole).
pub const MAX_STAMPED_BYTES: u64 = 256 * 1024 * 1024;

pub struct DocumentStream {
    /// A whole body ready to go (a stamped copy), yielded first.
    ready: Option<Bytes>,
    blob: BoxStream<'static, Result<Bytes, StoreError>>,
    /// Input received but not yet fed to the decryptor.
    carry: Bytes,
    decryptor: Option<Decryptor>,
    what: String,
}

impl std::fmt::Debug for DocumentStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentStream")
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

impl DocumentStream {
    fn new(
        blob: BoxStream<'static, Result<Bytes, StoreError>>,
        decryptor: Decryptor,
        what: String,
    ) -> Self {
        DocumentStream {
            ready: None,
            blob,
            carry: Bytes::new(),
            decryptor: Some(decryptor),
            what,
        }
    }

    /// A stream of bytes already in memory (a stamped copy).
    fn ready(bytes: Bytes, what: String) -> Self {
        DocumentStream {
            ready: Some(bytes),
            blob: futures::stream::empty().boxed(),
            carry: Bytes::new(),
            decryptor: None,
            what,
        }
    }
}

impl Stream for DocumentStream {
    type Item = Result<Bytes, VaultError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(bytes) = this.ready.take() {
            return Poll::Ready(Some(Ok(bytes)));
        }
        loop {
            let Some(decryptor) = this.decryptor.as_mut() else {
                return Poll::Ready(None);
            };
            while !this.carry.is_empty() {
                match decryptor.feed(&this.carry) {
                    Ok((taken, chunk)) => {
                        let _ = this.carry.split_to(taken);
                        if let Some(chunk) = chunk {
                            return Poll::Ready(Some(Ok(Bytes::from(chunk))));
                        }
                    }
                    Err(e) => {
                        this.decryptor = None;
                        return Poll::Ready(Some(Err(VaultError::crypto(&this.what, e))));
                    }
                }
            }
            match this.blob.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => this.carry = bytes,
                Poll::Ready(Some(Err(e))) => {
                    this.decryptor = None;
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(None) => {
                    return match this.decryptor.take().map(Decryptor::finish) {
                        Some(Err(e)) => Poll::Ready(Some(Err(VaultError::crypto(&this.what, e)))),
                        Some(Ok(last)) if !last.is_empty() => {
                            Poll::Ready(Some(Ok(Bytes::from(last))))
                        }
                        _ => Poll::Ready(None),
                    };
                }
            }
        }
    }
}
