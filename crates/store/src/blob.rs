//! Blob storage for encrypted document bodies, through the `object_store`
//! crate: a local folder by default, any S3-compatible bucket for scale-out.
//!
//! Blobs are written as multipart uploads, so a blob of any size passes
//! through a few MiB of memory, and nothing is visible at a key until its
//! writer finishes: the local folder stages an upload in a `KEY#N` file
//! (which listings skip) and renames it into place on completion; S3 shows
//! an object only once its multipart upload completes.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use confidant_core::{ItemId, WorkspaceId};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart};
use std::io::SeekFrom;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::StoreError;

/// Where a blob lives: a relative path of segments made of ASCII letters,
/// digits, `.`, `-` and `_`, such as `ws/<workspace>/docs/<item>/<blob>`.
/// Such a key means the same on every object store and cannot leave the
/// store's folder.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

/// Long enough for any key we make, short enough for every object store.
const MAX_KEY_LEN: usize = 512;

impl BlobKey {
    /// The key of a blob of a document: `ws/<workspace>/docs/<item>/<blob_id>`.
    /// Fails when `blob_id` is not a single valid segment.
    pub fn document(
        workspace: WorkspaceId,
        item: ItemId,
        blob_id: &str,
    ) -> Result<BlobKey, StoreError> {
        if blob_id.contains('/') {
            return Err(invalid_key(blob_id, "the blob id contains '/'"));
        }
        BlobKey::parse(&format!("ws/{workspace}/docs/{item}/{blob_id}"))
    }

    /// Checks a key read from storage or a database. Keys with empty, `.` or
    /// `..` segments, a leading `/` or other characters are refused (as
    /// [`StoreError::Corrupt`]: a bad key is bad stored data or a bug).
    pub fn parse(key: &str) -> Result<BlobKey, StoreError> {
        check_segments(key, false)?;
        Ok(BlobKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn path(&self) -> Path {
        // The key's grammar is a subset of object_store's path grammar, so
        // this neither fails nor changes the key.
        Path::from_iter(self.0.split('/'))
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid_key(key: &str, why: &str) -> StoreError {
    StoreError::Corrupt(format!("blob key {key:?} is not valid: {why}"))
}

/// Checks `key` segment by segment; an empty key is allowed only as a
/// listing prefix.
fn check_segments(key: &str, allow_empty: bool) -> Result<(), StoreError> {
    if key.is_empty() {
        return if allow_empty {
            Ok(())
        } else {
            Err(invalid_key(key, "it is empty"))
        };
    }
    if key.len() > MAX_KEY_LEN {
        return Err(invalid_key(key, "it is too long"));
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return Err(invalid_key(key, "it has an empty segment or a leading '/'"));
        }
        if segment == "." || segment == ".." {
            return Err(invalid_key(key, "it has a '.' or '..' segment"));
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(invalid_key(
                key,
                "use only letters, digits, '.', '-' and '_'",
            ));
        }
    }
    Ok(())
}

/// Upload parts in flight per writer; with one more part being filled this
/// bounds a writer's memory to three parts.
const PARTS_IN_FLIGHT: usize = 2;
/// S3 refuses parts under 5 MiB (but the last).
const REMOTE_PART_SIZE: usize = 5 * 1024 * 1024;
const LOCAL_PART_SIZE: usize = 1024 * 1024;
const LOCAL_READ_SIZE: usize = 256 * 1024;

/// Blob storage: cheap to clone, safe to share.
#[derive(Clone, Debug)]
pub struct BlobStore {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    Object {
        store: Arc<dyn ObjectStore>,
        part_size: usize,
    },
    /// Finished blobs as the chunks they were written in: nothing is copied
    /// on write or read.
    Memory(MemoryBlobs),
}

type MemoryBlobs = Arc<std::sync::Mutex<std::collections::BTreeMap<String, Arc<Vec<Bytes>>>>>;

fn lock(
    blobs: &MemoryBlobs,
) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, Arc<Vec<Bytes>>>> {
    // A panic while holding the lock cannot leave the map half-changed:
    // every change is one insert or remove.
    blobs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl BlobStore {
    /// Blobs in a local folder, created when missing. Writes are synced to
    /// disk before they are acknowledged.
    pub fn local(dir: &std::path::Path) -> Result<Self, StoreError> {
        let unavailable = |e: &dyn fmt::Display| {
            StoreError::Unavailable(format!("blob folder {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| unavailable(&e))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| unavailable(&e))?
            // A document row may refer to a blob only once the blob is on
            // disk for good.
            .with_fsync(true)
            // Removes the per-document folders a deletion leaves empty.
            .with_automatic_cleanup(true);
        Ok(Self {
            backend: Backend::Object {
                store: Arc::new(store),
                part_size: LOCAL_PART_SIZE,
            },
        })
    }

    /// Blobs in any object store (S3-compatible, in-memory for tests).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            backend: Backend::Object {
                store,
                part_size: REMOTE_PART_SIZE,
            },
        }
    }

    /// Blobs in this process's memory, gone when it exits: for tests,
    /// benchmarks and throwaway workspaces. Unlike object_store's in-memory
    /// store it keeps a blob as the chunks it was written in, so neither
    /// writing nor reading copies it.
    pub fn memory() -> Self {
        Self {
            backend: Backend::Memory(MemoryBlobs::default()),
        }
    }

    /// Starts writing the blob at `key`. Nothing is visible at `key` until
    /// [`BlobWriter::finish`] succeeds; a writer that is aborted or dropped
    /// leaves nothing behind (on the local folder; on S3 a dropped writer's
    /// parts are removed in the background, or by the bucket's lifecycle
    /// rule for incomplete uploads). Finishing replaces an existing blob.
    pub async fn writer(&self, key: &BlobKey) -> Result<BlobWriter, StoreError> {
        let (store, part_size) = match &self.backend {
            Backend::Object { store, part_size } => (store, *part_size),
            Backend::Memory(blobs) => {
                return Ok(BlobWriter {
                    upload: None,
                    memory: Some((blobs.clone(), Vec::new())),
                    part_size: 0,
                    key: key.clone(),
                });
            }
        };
        let upload = store
            .put_multipart(&key.path())
            .await
            .map_err(|e| blob_error("starting to write", key, e))?;
        Ok(BlobWriter {
            upload: Some(WriteMultipart::new_with_chunk_size(upload, part_size)),
            memory: None,
            part_size,
            key: key.clone(),
        })
    }

    /// Streams the blob at `key` in chunks, in constant memory.
    pub async fn read(
        &self,
        key: &BlobKey,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let store = match &self.backend {
            Backend::Object { store, .. } => store,
            Backend::Memory(blobs) => {
                let chunks = lock(blobs)
                    .get(key.as_str())
                    .cloned()
                    .ok_or_else(|| StoreError::BlobNotFound(key.to_string()))?;
                let chunks: Vec<Result<Bytes, StoreError>> =
                    chunks.iter().cloned().map(Ok).collect();
                return Ok(futures::stream::iter(chunks).boxed());
            }
        };
        let result = store
            .get(&key.path())
            .await
            .map_err(|e| blob_error("reading", key, e))?;
        let failed = {
            let key = key.clone();
            move |e: &dyn fmt::Display| StoreError::Unavailable(format!("reading blob {key}: {e}"))
        };
        Ok(match result.payload {
            // object_store reads a local file 8 KiB per blocking task, which
            // caps reads near 300 MB/s; larger reads go several times faster.
            GetResultPayload::File(file, _) => {
                let mut file = tokio::fs::File::from_std(file);
                file.seek(SeekFrom::Start(result.range.start))
                    .await
                    .map_err(|e| failed(&e))?;
                let len = result.range.end - result.range.start;
                ReaderStream::with_capacity(file.take(len), LOCAL_READ_SIZE)
                    .map_err(move |e| failed(&e))
                    .boxed()
            }
            GetResultPayload::Stream(stream) => stream.map_err(move |e| failed(&e)).boxed(),
        })
    }

    /// Deletes the blob at `key`; a missing blob is not an error.
    pub async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        let store = match &self.backend {
            Backend::Object { store, .. } => store,
            Backend::Memory(blobs) => {
                lock(blobs).remove(key.as_str());
                return Ok(());
            }
        };
        match store.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(blob_error("deleting", key, e)),
        }
    }

    /// Every finished blob whose key starts with the whole segments of
    /// `prefix` (`ws/<workspace>` lists `ws/<workspace>/...`, not
    /// `ws/<workspace>x/...`), sorted. Files that are not valid keys are
    /// skipped.
    pub async fn list(&self, prefix: &str) -> Result<Vec<BlobKey>, StoreError> {
        let prefix = prefix.trim_end_matches('/');
        check_segments(prefix, true)?;
        let store = match &self.backend {
            Backend::Object { store, .. } => store,
            Backend::Memory(blobs) => {
                let keys = lock(blobs)
                    .keys()
                    .filter(|k| {
                        prefix.is_empty()
                            || k.strip_prefix(prefix)
                                .is_some_and(|rest| rest.starts_with('/'))
                    })
                    .filter_map(|k| BlobKey::parse(k).ok())
                    .collect();
                return Ok(keys);
            }
        };
        let path = (!prefix.is_empty()).then(|| Path::from_iter(prefix.split('/')));
        let mut objects = store.list(path.as_ref());
        let mut keys = Vec::new();
        while let Some(meta) = objects.next().await {
            let meta = meta.map_err(|e| {
                StoreError::Unavailable(format!("listing blobs under {prefix:?}: {e}"))
            })?;
            match BlobKey::parse(meta.location.as_ref()) {
                Ok(key) => keys.push(key),
                Err(error) => tracing::warn!(%error, "skipping a file in blob storage"),
            }
        }
        keys.sort();
        Ok(keys)
    }
}

/// A blob being written. Call [`finish`](Self::finish) to make it visible;
/// dropping the writer discards what was written.
#[derive(Debug)]
pub struct BlobWriter {
    /// `None` once finished or aborted, and for memory blobs.
    upload: Option<WriteMultipart>,
    /// The memory store and the chunks written so far, for memory blobs.
    memory: Option<(MemoryBlobs, Vec<Bytes>)>,
    part_size: usize,
    key: BlobKey,
}

impl BlobWriter {
    /// Appends `bytes`, waiting while too many parts are in flight, so a
    /// fast producer cannot fill memory.
    pub async fn write(&mut self, mut bytes: Bytes) -> Result<(), StoreError> {
        if let Some((_, chunks)) = self.memory.as_mut() {
            chunks.push(bytes);
            return Ok(());
        }
        let Some(upload) = self.upload.as_mut() else {
            return Err(StoreError::Unavailable(format!(
                "blob {} is already closed",
                self.key
            )));
        };
        while !bytes.is_empty() {
            upload
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(|e| blob_error("writing", &self.key, e))?;
            // One part at a time, so backpressure applies within a large
            // write too.
            let piece = bytes.split_to(bytes.len().min(self.part_size));
            upload.put(piece);
        }
        Ok(())
    }

    /// Writes what is buffered and publishes the blob at its key.
    pub async fn finish(mut self) -> Result<(), StoreError> {
        if let Some((blobs, chunks)) = self.memory.take() {
            lock(&blobs).insert(self.key.as_str().to_owned(), Arc::new(chunks));
            return Ok(());
        }
        let Some(upload) = self.upload.take() else {
            return Err(StoreError::Unavailable(format!(
                "blob {} is already closed",
                self.key
            )));
        };
        upload
            .finish()
            .await
            .map_err(|e| blob_error("finishing", &self.key, e))?;
        Ok(())
    }

    /// Discards the upload and what was written of it.
    pub async fn abort(mut self) {
        if let Some(upload) = self.upload.take()
            && let Err(error) = upload.abort().await
        {
            tracing::warn!(key = %self.key, %error, "could not clean up an aborted blob upload");
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        // Dropping the upload removes the local folder's staged file by
        // itself; an explicit abort also releases an S3 upload's parts.
        // Both need a runtime, which a writer is dropped within.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

fn blob_error(op: &str, key: &BlobKey, err: object_store::Error) -> StoreError {
    match err {
        object_store::Error::NotFound { .. } => StoreError::BlobNotFound(key.to_string()),
        other => StoreError::Unavailable(format!("{op} blob {key}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn keys_are_relative_paths_of_plain_segments() {
        for good in ["a", "ws/x/docs/y/v1.bin", "A-b_c.d/e"] {
            assert_eq!(BlobKey::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", "a\\b", "a b", "a#1", "é", "C:/x",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(BlobKey::parse(&"a".repeat(MAX_KEY_LEN + 1)).is_err());
    }

    #[test]
    fn document_keys() {
        let ws: WorkspaceId = "0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d".parse().unwrap();
        let item: ItemId = "1b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d".parse().unwrap();
        let key = BlobKey::document(ws, item, "v1").unwrap();
        assert_eq!(key.to_string(), format!("ws/{ws}/docs/{item}/v1"));
        assert_eq!(key.path().as_ref(), key.as_str());
        assert!(BlobKey::document(ws, item, "../v1").is_err());
        assert!(BlobKey::document(ws, item, "a/b").is_err());
        assert!(BlobKey::document(ws, item, "").is_err());
    }
}
