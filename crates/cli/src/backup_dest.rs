//! Where backups live: a local folder or an S3-compatible bucket, behind
//! one small API (list, write a backup as a stream, write and read the
//! small files beside it, read a backup as a stream, delete).
//!
//! A bucket is named `s3://BUCKET/PREFIX`. Its endpoint, region and
//! credentials come from the standard `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, ...), and `[backup]` in
//! confidant.toml may name the endpoint, region and whether plain http is
//! allowed (for a local server); credentials are never read from a file.
//!
//! A backup is uploaded in parts (multipart upload, 8 MiB parts, at most
//! four in flight), so memory stays bounded whatever its size, and it
//! becomes visible only when the upload completes: like a folder's rename,
//! a listed backup is always whole. A failed upload is aborted.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, WriteMultipart};
use serde::{Deserialize, Serialize};

/// `[backup]` in confidant.toml: how to reach an S3-compatible bucket.
/// Credentials stay in the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// The S3 endpoint, e.g. "https://s3.eu-central-1.amazonaws.com" or
    /// "http://127.0.0.1:9000" (default: AWS_ENDPOINT_URL, else AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region (default: AWS_REGION, else us-east-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_region: Option<String>,
    /// Allow a plain-http endpoint (a server on this machine or network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_allow_http: Option<bool>,
}

/// The size of one uploaded part.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight at once.
const CONCURRENCY: usize = 4;

/// A backup destination.
#[derive(Clone)]
pub enum Destination {
    Folder(PathBuf),
    Bucket(Bucket),
}

/// A prefix of an S3-compatible bucket.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    /// The key prefix (no leading or trailing slash; may be empty).
    prefix: String,
    /// `s3://BUCKET/PREFIX` as given, for messages.
    url: String,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Folder(p) => write!(f, "{}", p.display()),
            Destination::Bucket(b) => f.write_str(&b.url),
        }
    }
}

/// Whether `text` names a bucket rather than a folder.
pub fn is_bucket(text: &str) -> bool {
    text.starts_with("s3://")
}

/// Splits `s3://BUCKET/PREFIX` into the bucket and the prefix.
fn split_url(text: &str) -> anyhow::Result<(String, String)> {
    let rest = text
        .strip_prefix("s3://")
        .context("a bucket destination starts with s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty()
        || !bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        bail!(
            "{text:?} does not name a bucket: write s3://BUCKET/PREFIX (a bucket name is lowercase letters, digits, '-' and '.')"
        );
    }
    let prefix = prefix.trim_matches('/').to_owned();
    if prefix.split('/').any(|s| s == "." || s == "..") || prefix.contains("//") {
        bail!("{text:?} has an empty, '.' or '..' segment in its prefix: write s3://BUCKET/PREFIX");
    }
    Ok((bucket.to_owned(), prefix))
}

impl Destination {
    /// A folder path, or an `s3://BUCKET/PREFIX` URL reached with the
    /// `AWS_*` environment and `config`.
    pub fn parse(text: &str, config: Option<&BackupConfig>) -> anyhow::Result<Self> {
        if !is_bucket(text) {
            if text.contains("://") {
                bail!(
                    "{text:?}: backups go to a folder or to s3://BUCKET/PREFIX (no other URL scheme)"
                );
            }
            return Ok(Destination::Folder(PathBuf::from(text)));
        }
        let (bucket, prefix) = split_url(text)?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
        if let Some(config) = config {
            if let Some(endpoint) = &config.s3_endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            if let Some(region) = &config.s3_region {
                builder = builder.with_region(region);
            }
            if let Some(allow) = config.s3_allow_http {
                builder = builder.with_allow_http(allow);
            }
        }
        let store = builder.build().map_err(|e| {
            anyhow::anyhow!(
                "cannot reach {text}: {e} (set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION, \
                 and for a server other than AWS AWS_ENDPOINT_URL or s3_endpoint in [backup] of confidant.toml)"
            )
        })?;
        Ok(Destination::Bucket(Bucket {
            store: Arc::new(store),
            prefix,
            url: text.trim_end_matches('/').to_owned(),
        }))
    }

    /// Splits a backup's location (a file path or an `s3://` URL ending in
    /// the backup's name) into its destination and its name.
    pub fn parse_file(text: &str, config: Option<&BackupConfig>) -> anyhow::Result<(Self, String)> {
        if is_bucket(text) {
            let (parent, name) = text
                .rsplit_once('/')
                .filter(|(p, n)| !n.is_empty() && p.len() > "s3:/".len())
                .with_context(|| {
                    format!("{text:?} does not name a backup: write s3://BUCKET/PREFIX/confidant-....age")
                })?;
            return Ok((Destination::parse(parent, config)?, name.to_owned()));
        }
        let path = Path::new(text);
        let name = path
            .file_name()
            .with_context(|| format!("{text:?} does not name a backup file"))?
            .to_string_lossy()
            .into_owned();
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok((Destination::Folder(parent), name))
    }

    /// Where `name` is, for messages.
    pub fn show(&self, name: &str) -> String {
        match self {
            Destination::Folder(p) => p.join(name).display().to_string(),
            Destination::Bucket(b) => format!("{}/{name}", b.url),
        }
    }

    fn key(bucket: &Bucket, name: &str) -> ObjectPath {
        if bucket.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", bucket.prefix))
        }
    }

    /// Makes the folder (a bucket needs nothing).
    pub fn prepare(&self) -> anyhow::Result<()> {
        if let Destination::Folder(dir) = self {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Ok(())
    }

    /// The names of the objects or files directly under the destination.
    pub async fn names(&self) -> anyhow::Result<Vec<(String, u64)>> {
        match self {
            Destination::Folder(dir) => {
                let mut found = Vec::new();
                for entry in std::fs::read_dir(dir)
                    .with_context(|| format!("cannot read {}", dir.display()))?
                {
                    let entry = entry?;
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    found.push((entry.file_name().to_string_lossy().into_owned(), size));
                }
                Ok(found)
            }
            Destination::Bucket(b) => {
                let prefix = (!b.prefix.is_empty()).then(|| ObjectPath::from(b.prefix.as_str()));
                let listed = b
                    .store
                    .list_with_delimiter(prefix.as_ref())
                    .await
                    .with_context(|| format!("cannot list {}", b.url))?;
                Ok(listed
                    .objects
                    .into_iter()
                    .filter_map(|o| o.location.filename().map(|n| (n.to_owned(), o.size)))
                    .collect())
            }
        }
    }

    /// Starts writing the backup `name`: a hidden partial file renamed by
    /// [`Upload::finish`], or a multipart upload completed by it.
    pub async fn begin(&self, name: &str) -> anyhow::Result<(DestWriter, Upload)> {
        match self {
            Destination::Folder(dir) => {
                let partial = dir.join(format!(".{name}.partial"));
                let file = std::fs::File::create(&partial)
                    .with_context(|| format!("cannot create {}", partial.display()))?;
                Ok((
                    DestWriter::File(std::io::BufWriter::with_capacity(1 << 20, file)),
                    Upload::File {
                        partial,
                        path: dir.join(name),
                    },
                ))
            }
            Destination::Bucket(b) => {
                let key = Self::key(b, name);
                let upload =
                    b.store.put_multipart(&key).await.with_context(|| {
                        format!("cannot start uploading to {}", self.show(name))
                    })?;
                Ok((
                    DestWriter::Bucket(BucketWriter {
                        upload: Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)),
                        handle: tokio::runtime::Handle::current(),
                    }),
                    Upload::Bucket {
                        shown: self.show(name),
                    },
                ))
            }
        }
    }

    /// Writes a small file beside the backups (a signature, the public key).
    pub async fn put_small(&self, name: &str, contents: &[u8]) -> anyhow::Result<()> {
        match self {
            Destination::Folder(dir) => {
                crate::backup::write_atomic(&dir.join(name), contents, 0o644)
            }
            Destination::Bucket(b) => {
                b.store
                    .put(&Self::key(b, name), Bytes::copy_from_slice(contents).into())
                    .await
                    .with_context(|| format!("cannot write {}", self.show(name)))?;
                Ok(())
            }
        }
    }

    /// Reads a small file (at most 1 MiB); `None` when there is none.
    pub async fn get_small(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        const LIMIT: u64 = 1024 * 1024;
        match self {
            Destination::Folder(dir) => {
                let path = dir.join(name);
                match std::fs::metadata(&path) {
                    Ok(m) if m.len() > LIMIT => bail!("{} is too large", path.display()),
                    Ok(_) => {
                        Ok(Some(std::fs::read(&path).with_context(|| {
                            format!("cannot read {}", path.display())
                        })?))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
                }
            }
            Destination::Bucket(b) => match b.store.get(&Self::key(b, name)).await {
                Ok(got) => {
                    if got.meta.size > LIMIT {
                        bail!("{} is too large", self.show(name));
                    }
                    let bytes = got
                        .bytes()
                        .await
                        .with_context(|| format!("cannot read {}", self.show(name)))?;
                    Ok(Some(bytes.to_vec()))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("cannot read {}", self.show(name))),
            },
        }
    }

    /// Opens the backup `name` for reading, with its size. The reader
    /// blocks: use it on a thread of its own (the backup reader's).
    pub async fn open(&self, name: &str) -> anyhow::Result<(Box<dyn Read + Send>, u64)> {
        match self {
            Destination::Folder(dir) => {
                let path = dir.join(name);
                let file = std::fs::File::open(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                Ok((Box::new(file), size))
            }
            Destination::Bucket(b) => {
                let got = b
                    .store
                    .get(&Self::key(b, name))
                    .await
                    .with_context(|| format!("cannot read {}", self.show(name)))?;
                let size = got.meta.size;
                Ok((
                    Box::new(StreamReader {
                        stream: got.into_stream(),
                        current: Bytes::new(),
                        handle: tokio::runtime::Handle::current(),
                    }),
                    size,
                ))
            }
        }
    }

    /// Hex SHA-256 and size of the backup `name`, read as a stream.
    pub async fn hash(&self, name: &str) -> anyhow::Result<(String, u64)> {
        use sha2::Digest as _;
        match self {
            Destination::Folder(dir) => {
                let path = dir.join(name);
                let input = std::fs::File::open(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Ok(
                    confidant_vault::backup::hash_reader(std::io::BufReader::new(input))
                        .with_context(|| format!("cannot read {}", path.display()))?,
                )
            }
            Destination::Bucket(b) => {
                let got = b
                    .store
                    .get(&Self::key(b, name))
                    .await
                    .with_context(|| format!("cannot read {}", self.show(name)))?;
                let mut stream = got.into_stream();
                let mut hasher = sha2::Sha256::new();
                let mut len = 0u64;
                while let Some(chunk) = stream.next().await {
                    let chunk =
                        chunk.with_context(|| format!("cannot read {}", self.show(name)))?;
                    hasher.update(&chunk);
                    len += chunk.len() as u64;
                }
                Ok((hex::encode(hasher.finalize()), len))
            }
        }
    }

    /// Deletes `name`; a missing one is not an error.
    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Destination::Folder(dir) => match std::fs::remove_file(dir.join(name)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e).with_context(|| format!("cannot delete {name}")),
            },
            Destination::Bucket(b) => match b.store.delete(&Self::key(b, name)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e).with_context(|| format!("cannot delete {}", self.show(name))),
            },
        }
    }
}

/// How a started backup is made visible (or taken back).
pub enum Upload {
    File { partial: PathBuf, path: PathBuf },
    Bucket { shown: String },
}

impl Upload {
    /// Makes the backup visible under its name.
    pub async fn finish(self, writer: DestWriter) -> anyhow::Result<()> {
        match (self, writer) {
            (Upload::File { partial, path }, DestWriter::File(out)) => {
                let file = out
                    .into_inner()
                    .map_err(|e| anyhow::anyhow!("cannot write the backup: {e}"))?;
                file.sync_all()?;
                std::fs::rename(&partial, &path)
                    .with_context(|| format!("cannot write {}", path.display()))
            }
            (Upload::Bucket { shown }, DestWriter::Bucket(mut out)) => {
                let upload = out
                    .upload
                    .take()
                    .context("the upload was already finished")?;
                upload
                    .finish()
                    .await
                    .with_context(|| format!("cannot complete the upload of {shown}"))?;
                Ok(())
            }
            _ => bail!("a backup writer of another destination"),
        }
    }

    /// Removes what a failed backup left (a partial file; an unfinished
    /// upload is aborted when its writer is dropped).
    pub fn discard(self) {
        if let Upload::File { partial, .. } = self {
            std::fs::remove_file(partial).ok();
        }
    }
}

/// The encrypted backup's bytes go here (on the backup writer's thread).
pub enum DestWriter {
    File(std::io::BufWriter<std::fs::File>),
    Bucket(BucketWriter),
}

impl Write for DestWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            DestWriter::File(f) => f.write(buf),
            DestWriter::Bucket(b) => b.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            DestWriter::File(f) => f.flush(),
            DestWriter::Bucket(_) => Ok(()),
        }
    }
}

/// A multipart upload written through `std::io::Write` from a thread
/// outside the runtime: each full part is sent as its own task, and a
/// write waits while [`CONCURRENCY`] parts are in flight.
pub struct BucketWriter {
    upload: Option<WriteMultipart>,
    handle: tokio::runtime::Handle,
}

impl BucketWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the upload was finished"))?;
        // INVARIANT: this runs on the backup writer's own thread, never on
        // a runtime thread, so blocking on the runtime here is allowed.
        self.handle
            .block_on(upload.wait_for_capacity(CONCURRENCY))
            .map_err(std::io::Error::other)?;
        let _entered = self.handle.enter();
        upload.write(buf);
        Ok(buf.len())
    }
}

impl Drop for BucketWriter {
    fn drop(&mut self) {
        // An upload that did not finish is aborted, so no parts are left
        // behind in the bucket.
        if let Some(upload) = self.upload.take() {
            self.handle.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

/// A downloaded object read through `std::io::Read` from a thread outside
/// the runtime.
struct StreamReader {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
    handle: tokio::runtime::Handle,
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            // INVARIANT: called on the backup reader's own thread.
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let chunk = self.current.split_to(n);
        buf.get_mut(..n)
            .ok_or_else(|| std::io::Error::other("short buffer"))?
            .copy_from_slice(&chunk);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_urls_split_into_bucket_and_prefix() {
        assert_eq!(
            split_url("s3://backups/confidant/daily/").unwrap(),
            ("backups".into(), "confidant/daily".into())
        );
        assert_eq!(
            split_url("s3://backups").unwrap(),
            ("backups".into(), String::new())
        );
        for bad in [
            "s3://",
            "s3:///x",
            "s3://Back_Ups/x",
            "s3://b/../x",
            "s3://b/a//c",
        ] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
        assert!(Destination::parse("ftp://x/y", None).is_err());
        let (dest, name) =
            Destination::parse_file("s3://b/p/confidant-20261101T020000Z.age", None).unwrap();
        assert_eq!(name, "confidant-20261101T020000Z.age");
        assert_eq!(dest.to_string(), "s3://b/p");
        let (dest, name) = Destination::parse_file("/tmp/x/confidant-1.age", None).unwrap();
        assert_eq!(name, "confidant-1.age");
        assert_eq!(dest.to_string(), "/tmp/x");
    }
}
