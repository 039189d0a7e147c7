//! Bodies in and out, in constant memory: uploads stream into the vault,
//! CSV files spool to an encrypted temporary file first, and downloads
//! stream out of the vault with an abort on any integrity failure.

use std::io::{self, Read, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_lc_rs::cipher::{
    AES_256, DecryptionContext, EncryptionContext, StreamingDecryptingKey, StreamingEncryptingKey,
    UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use confidant_core::DocumentMeta;
use confidant_vault::{DocumentStream, VaultError};
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::StreamReader;
use zeroize::Zeroizing;

use crate::AppError;

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A request body (or one file of a form) as a reader for the vault, cut
/// off after `limit` bytes.
pub(crate) struct Upload<'a> {
    pub reader:
        StreamReader<futures::stream::BoxStream<'a, io::Result<bytes::Bytes>>, bytes::Bytes>,
    exceeded: Arc<AtomicBool>,
    limit: u64,
}

impl Upload<'static> {
    /// Refuses at once a body that declares a length over `limit`; a body
    /// that grows past it on the way ends the read with an error.
    pub(crate) fn new(
        headers: &HeaderMap,
        body: Body,
        limit: u64,
    ) -> Result<Upload<'static>, AppError> {
        if declared_length(headers).is_some_and(|len| len > limit) {
            return Err(AppError::too_large(limit));
        }
        Ok(Upload::from_stream(body.into_data_stream(), limit))
    }
}

impl<'a> Upload<'a> {
    /// The chunks of `stream`; one that grows past `limit` ends the read
    /// with an error.
    pub(crate) fn from_stream<E>(
        stream: impl futures::Stream<Item = Result<bytes::Bytes, E>> + Send + 'a,
        limit: u64,
    ) -> Upload<'a>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let exceeded = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&exceeded);
        let mut seen = 0u64;
        let stream = stream
            .map(move |chunk| {
                let chunk = chunk.map_err(io::Error::other)?;
                seen = seen.saturating_add(chunk.len() as u64);
                if seen > limit {
                    flag.store(true, Ordering::Relaxed);
                    return Err(io::Error::other("the upload is over the size limit"));
                }
                Ok(chunk)
            })
            .boxed();
        Upload {
            reader: StreamReader::new(stream),
            exceeded,
            limit,
        }
    }

    /// The error to answer with when the vault failed while reading: a
    /// body over the limit is 413, whatever the vault made of it.
    pub(crate) fn error(&self, e: VaultError) -> AppError {
        if self.exceeded.load(Ordering::Relaxed) {
            AppError::too_large(self.limit)
        } else {
            e.into()
        }
    }
}

/// A body written to an unnamed temporary file (gone when closed), under a
/// random AES-256-CTR key that exists only in this process's memory: the
/// customer data in it never reaches the disk in plaintext. It can be read
/// any number of times ([`Spool::reader`]), so a web import can suggest
/// column categories from it and import it after the owner confirmed them.
pub(crate) struct Spool {
    file: Arc<std::fs::File>,
    key: Zeroizing<[u8; 32]>,
    iv: [u8; 16],
    len: u64,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

const SPOOL_BUFFER: usize = 64 * 1024;

fn cipher_failed() -> AppError {
    AppError::Internal("setting up the spool cipher failed".into())
}

impl Spool {
    /// Writes `body` (at most `limit` bytes) to a spool.
    pub(crate) async fn write(
        headers: &HeaderMap,
        body: Body,
        limit: u64,
    ) -> Result<Spool, AppError> {
        if declared_length(headers).is_some_and(|len| len > limit) {
            return Err(AppError::too_large(limit));
        }
        Spool::from_stream(body.into_data_stream(), limit).await
    }

    /// Writes the chunks of `stream` (at most `limit` bytes) to a spool.
    pub(crate) async fn from_stream<E: std::fmt::Display>(
        mut stream: impl futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        limit: u64,
    ) -> Result<Spool, AppError> {
        let disk = |e: io::Error| {
            AppError::Vault(VaultError::Unavailable(format!(
                "spooling an upload to a temporary file failed: {e}"
            )))
        };
        let file = tokio::task::spawn_blocking(tempfile::tempfile)
            .await
            .map_err(|e| AppError::Internal(format!("creating a temporary file failed: {e}")))?
            .map_err(disk)?;
        let mut key = Zeroizing::new([0u8; 32]);
        let mut iv = [0u8; 16];
        aws_lc_rs::rand::fill(key.as_mut()).map_err(|_| cipher_failed())?;
        aws_lc_rs::rand::fill(&mut iv).map_err(|_| cipher_failed())?;
        let mut encrypting = StreamingEncryptingKey::less_safe_ctr(
            UnboundCipherKey::new(&AES_256, key.as_ref()).map_err(|_| cipher_failed())?,
            EncryptionContext::Iv128(FixedLength::from(iv)),
        )
        .map_err(|_| cipher_failed())?;
        let mut file = tokio::fs::File::from_std(file);
        let mut seen = 0u64;
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::InvalidInput(format!(
                    "reading the upload failed: {e} (nothing was imported)"
                ))
            })?;
            seen = seen.saturating_add(chunk.len() as u64);
            if seen > limit {
                return Err(AppError::too_large(limit));
            }
            out.resize(chunk.len() + AES_256.block_len(), 0);
            let written = encrypting
                .update(&chunk, &mut out)
                .map_err(|_| AppError::Internal("encrypting the spool failed".into()))?
                .written()
                .len();
            file.write_all(&out[..written]).await.map_err(disk)?;
        }
        // INVARIANT: CTR is a stream mode, so `update` has already written
        // every byte and `finish` has nothing left to add.
        file.flush().await.map_err(disk)?;
        file.seek(SeekFrom::Start(0)).await.map_err(disk)?;
        Ok(Spool {
            file: Arc::new(file.into_std().await),
            key,
            iv,
            len: seen,
        })
    }

    /// The spooled bytes' length.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// A reader of the spooled bytes from the start, independent of any
    /// other reader.
    pub(crate) fn reader(&self) -> Result<SpoolReader, AppError> {
        let key = StreamingDecryptingKey::ctr(
            UnboundCipherKey::new(&AES_256, self.key.as_ref()).map_err(|_| cipher_failed())?,
            DecryptionContext::Iv128(FixedLength::from(self.iv)),
        )
        .map_err(|_| cipher_failed())?;
        Ok(SpoolReader {
            file: Arc::clone(&self.file),
            offset: 0,
            key,
            ciphertext: vec![0; SPOOL_BUFFER],
            plaintext: Vec::new(),
            position: 0,
        })
    }
}

/// Reads a [`Spool`] from the start.
pub(crate) struct SpoolReader {
    file: Arc<std::fs::File>,
    /// The next byte to read from the file (readers share the file, so
    /// each keeps its own place).
    offset: u64,
    key: StreamingDecryptingKey,
    ciphertext: Vec<u8>,
    plaintext: Vec<u8>,
    position: usize,
}

impl Read for SpoolReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        while self.position == self.plaintext.len() {
            let read = self.file.read_at(&mut self.ciphertext, self.offset)?;
            if read == 0 {
                return Ok(0);
            }
            self.offset += read as u64;
            self.plaintext.resize(read + AES_256.block_len(), 0);
            let written = self
                .key
                .update(&self.ciphertext[..read], &mut self.plaintext)
                .map_err(|_| io::Error::other("decrypting the spool failed"))?
                .written()
                .len();
            self.plaintext.truncate(written);
            self.position = 0;
        }
        let n = out.len().min(self.plaintext.len() - self.position);
        out[..n].copy_from_slice(&self.plaintext[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

/// Encodes a filename for `Content-Disposition: attachment; filename*=`
/// (RFC 8187): every byte outside the attr-char set is percent-encoded.
pub(crate) fn rfc8187_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The `Content-Disposition` of a download: the last part of the
/// document's name, with a plain ASCII fallback for old clients.
pub(crate) fn content_disposition(name: &str) -> String {
    let file = name
        .rsplit('/')
        .find(|part| !part.trim().is_empty())
        .unwrap_or("document");
    let ascii: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        rfc8187_encode(file)
    )
}

/// A download: the document's plaintext as it is authenticated, chunk by
/// chunk. The first chunk is read before answering, so a body damaged at
/// its start (every small document) gets a clean error response; damage
/// further in ends the stream with an error, which aborts the response
/// (the connection is reset), so a client never gets a complete-looking
/// file with wrong bytes.
pub(crate) async fn download(
    meta: &DocumentMeta,
    mut stream: DocumentStream,
) -> Result<Response, AppError> {
    let first = stream.next().await.transpose()?;
    let rest = stream.map_err(|e| {
        // Log here: the client only sees a reset connection.
        tracing::error!(error = %e, "a document stream failed part-way; aborting the response");
        io::Error::other(e.to_string())
    });
    let body = match first {
        Some(first) => Body::from_stream(futures::stream::once(async { Ok(first) }).chain(rest)),
        None => Body::empty(),
    };
    let disposition = HeaderValue::from_str(&content_disposition(&meta.name))
        .map_err(|_| AppError::Internal("the download's file name is not a header value".into()))?;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::CONTENT_LENGTH, meta.size)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(body)
        .map_err(|e| AppError::Internal(format!("building the download response failed: {e}")))
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn filenames_are_percent_encoded() {
        assert_eq!(rfc8187_encode("q3.pdf"), "q3.pdf");
        assert_eq!(
            rfc8187_encode("Q3 invoices (final).pdf"),
            "Q3%20invoices%20%28final%29.pdf"
        );
        assert_eq!(
            rfc8187_encode("résumé\";.txt"),
            "r%C3%A9sum%C3%A9%22%3B.txt"
        );
        assert_eq!(
            content_disposition("invoices/2026/Café \"x\".pdf"),
            "attachment; filename=\"Caf_ _x_.pdf\"; filename*=UTF-8''Caf%C3%A9%20%22x%22.pdf"
        );
        assert_eq!(
            content_disposition("a/"),
            "attachment; filename=\"a\"; filename*=UTF-8''a"
        );
    }

    #[tokio::test]
    async fn spools_round_trip_and_hide_the_plaintext() -> Result<(), AppError> {
        use std::os::unix::fs::FileExt;
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let body = Body::from(data.clone());
        let spool = Spool::write(&HeaderMap::new(), body, 1 << 20).await?;
        assert_eq!(spool.len(), data.len() as u64);
        let mut on_disk = vec![0u8; data.len() + 1];
        let stored = spool
            .file
            .read_at(&mut on_disk, 0)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        on_disk.truncate(stored);
        assert_eq!(on_disk.len(), data.len());
        assert_ne!(on_disk, data);
        // Two readers, interleaved, each from the start: odd-sized reads
        // exercise the buffering.
        let (mut first, mut second) = (spool.reader()?, spool.reader()?);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut buf = [0u8; 777];
        loop {
            let n = first
                .read(&mut buf)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            a.extend_from_slice(&buf[..n]);
            let m = second
                .read(&mut buf[..500])
                .map_err(|e| AppError::Internal(e.to_string()))?;
            b.extend_from_slice(&buf[..m]);
            if n == 0 && m == 0 {
                break;
            }
        }
        assert_eq!(a, data);
        assert_eq!(b, data);
        Ok(())
    }

    #[tokio::test]
    async fn spools_refuse_bodies_over_the_limit() {
        let result = Spool::write(&HeaderMap::new(), Body::from(vec![0u8; 1001]), 1000).await;
        assert!(matches!(result, Err(AppError::TooLarge(_))));
    }
}
