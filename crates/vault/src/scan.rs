//! Scanning document bodies for sensitive data while they are stored.
//!
//! Text bodies: the plaintext chunks on their way to the cipher are also
//! handed, through a small bounded channel, to the streaming detector on a
//! blocking thread, so a scan costs no extra read of the body and no more
//! memory than a few chunks. Only the first [`SCAN_LIMIT`] bytes are
//! scanned, so a huge upload is not slowed to the detector's speed.
//!
//! PDF, DOCX and XLSX bodies (a PDF by its signature, the others by the
//! document's name and the zip signature) are kept in memory up to
//! [`EXTRACT_LIMIT`] bytes; once stored, their text is extracted (at most
//! [`SCAN_LIMIT`] bytes of it, see `confidant_detect::extract`) and
//! scanned. One that is larger, or cannot be read (damaged, encrypted),
//! is recorded as unreadable with the reason. Other binary bodies (images,
//! archives) are not scanned. What the scan found (counts per kind, never
//! values) suggests the label; the owner can change it.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use confidant_core::{DataCategory, Label, ScanSummary};
use confidant_detect::extract::Format;
use confidant_detect::{Detector, Kind, looks_binary};
use tokio::sync::mpsc;

/// How much of a body is scanned: enough for any real letter, spreadsheet
/// export or log, at the detector's 20-30 MB/s a few seconds at most. For
/// PDF, DOCX and XLSX bodies, the most text extracted.
pub const SCAN_LIMIT: u64 = 64 * 1024 * 1024;

/// The largest PDF, DOCX or XLSX body whose text is extracted (it is held
/// in memory while it is stored).
pub const EXTRACT_LIMIT: u64 = 32 * 1024 * 1024;

/// The data category a detector kind belongs to.
pub fn category_of(kind: Kind) -> DataCategory {
    match kind {
        Kind::CardNumber => DataCategory::CardNumber,
        Kind::Iban | Kind::RoutingNumber => DataCategory::BankAccount,
        Kind::Ssn | Kind::NationalId => DataCategory::NationalId,
        Kind::Phone => DataCategory::Phone,
        Kind::Email => DataCategory::Email,
        Kind::PostalAddress => DataCategory::PostalAddress,
        Kind::DateOfBirth => DataCategory::DateOfBirth,
        Kind::PersonName => DataCategory::Name,
        _ => DataCategory::Other,
    }
}

/// How a body was read for the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRead {
    /// As text.
    Text,
    /// Through the text extracted from this format.
    Extracted(Format),
    /// Not text, not a format whose text is extracted.
    Binary,
    /// It looked like a PDF, DOCX or XLSX file but could not be read.
    Unreadable(String),
}

/// The summary of a scan's findings. Binary and unreadable bodies get
/// Confidential: their contents are unknown, so assume the worst short of
/// Restricted.
pub fn summarize(
    kinds: &BTreeMap<Kind, u64>,
    scanned_bytes: u64,
    complete: bool,
    read: &BodyRead,
) -> ScanSummary {
    let mut categories: Vec<DataCategory> = kinds
        .keys()
        .map(|k| category_of(*k))
        .filter(|c| *c != DataCategory::Other)
        .collect();
    categories.sort();
    categories.dedup();
    let secrets = kinds.contains_key(&Kind::Secret);
    let unknown = matches!(read, BodyRead::Binary | BodyRead::Unreadable(_));
    let suggested_label = if unknown {
        Label::Confidential
    } else {
        Label::suggested(&categories, secrets)
    };
    ScanSummary {
        kinds: kinds
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), *n))
            .collect(),
        categories,
        suggested_label,
        scanned_bytes,
        complete: complete && !unknown,
        binary: unknown,
        extracted: match read {
            BodyRead::Extracted(f) => Some(f.as_str().to_owned()),
            _ => None,
        },
        unreadable: match read {
            BodyRead::Unreadable(why) => Some(why.clone()),
            _ => None,
        },
    }
}

/// The detector, built once per process.
pub(crate) fn detector() -> Arc<Detector> {
    static DETECTOR: OnceLock<Arc<Detector>> = OnceLock::new();
    DETECTOR.get_or_init(|| Arc::new(Detector::new())).clone()
}

/// Reads the chunks a [`BodyScan`] sends, on the blocking thread.
struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len() - self.pos);
        out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A scan running beside a body being stored.
pub(crate) struct BodyScan {
    name: String,
    state: State,
    seen: u64,
}

enum State {
    /// Waiting for the first chunk, to tell text from binary.
    Start,
    Running {
        tx: Option<mpsc::Sender<Vec<u8>>>,
        task: tokio::task::JoinHandle<std::io::Result<BTreeMap<Kind, u64>>>,
    },
    /// A PDF, DOCX or XLSX body, kept whole until it is stored; `None` once
    /// it grew past [`EXTRACT_LIMIT`].
    Extracting {
        format: Format,
        body: Option<Vec<u8>>,
    },
    Binary,
}

impl BodyScan {
    /// A scan of the body of a document named `name` (its extension tells
    /// a DOCX from an XLSX file).
    pub(crate) fn new(name: &str) -> BodyScan {
        BodyScan {
            name: name.to_owned(),
            state: State::Start,
            seen: 0,
        }
    }

    /// Hands the next plaintext chunk to the scan (a copy, up to the limit).
    pub(crate) async fn feed(&mut self, chunk: &[u8]) {
        let offset = self.seen;
        self.seen += chunk.len() as u64;
        if matches!(self.state, State::Start) {
            if let Some(format) = Format::sniff(&self.name, chunk) {
                self.state = State::Extracting {
                    format,
                    body: Some(Vec::new()),
                };
            } else if looks_binary(chunk) {
                self.state = State::Binary;
                return;
            } else {
                self.state = start_text_scan();
            }
        }
        match &mut self.state {
            State::Running { tx, .. } => {
                let room = SCAN_LIMIT.saturating_sub(offset);
                let take = usize::try_from(room.min(chunk.len() as u64)).unwrap_or(0);
                if take == 0 {
                    *tx = None;
                    return;
                }
                let sent = match tx {
                    Some(sender) => sender.send(chunk[..take].to_vec()).await.is_ok(),
                    None => true,
                };
                if !sent || take < chunk.len() {
                    // The scanner ended early, or the limit is reached.
                    *tx = None;
                }
            }
            State::Extracting { body, .. } => {
                if self.seen > EXTRACT_LIMIT {
                    *body = None;
                } else if let Some(body) = body {
                    body.extend_from_slice(chunk);
                }
            }
            State::Start | State::Binary => {}
        }
    }

    /// Waits for the scan and sums it up; `None` when the scan failed
    /// (which never stops the body from being stored).
    pub(crate) async fn finish(self) -> Option<ScanSummary> {
        let total = self.seen;
        let none = BTreeMap::new();
        match self.state {
            State::Start => Some(summarize(&none, 0, true, &BodyRead::Text)),
            State::Binary => Some(summarize(&none, 0, false, &BodyRead::Binary)),
            State::Extracting { format, body: None } => Some(summarize(
                &none,
                0,
                false,
                &BodyRead::Unreadable(format!(
                    "the {} file is larger than {} MiB, the most whose text is extracted for the scan",
                    format.as_str().to_uppercase(),
                    EXTRACT_LIMIT / (1024 * 1024)
                )),
            )),
            State::Extracting {
                format,
                body: Some(body),
            } => {
                let task = tokio::task::spawn_blocking(move || {
                    let text = format.text_of(&body, SCAN_LIMIT)?;
                    drop(body);
                    let mut kinds: BTreeMap<Kind, u64> = BTreeMap::new();
                    detector()
                        .scan_reader(text.as_bytes(), |finding| {
                            *kinds.entry(finding.kind).or_default() += 1;
                        })
                        .map_err(|e| confidant_detect::extract::ExtractError(e.to_string()))?;
                    Ok::<_, confidant_detect::extract::ExtractError>((kinds, text.len() as u64))
                });
                match task.await {
                    Ok(Ok((kinds, bytes))) => {
                        Some(summarize(&kinds, bytes, true, &BodyRead::Extracted(format)))
                    }
                    Ok(Err(e)) => Some(summarize(
                        &none,
                        0,
                        false,
                        &BodyRead::Unreadable(format!(
                            "the {} file could not be read: {e}",
                            format.as_str().to_uppercase()
                        )),
                    )),
                    Err(e) => {
                        tracing::warn!(error = %e, "the document scanner stopped");
                        None
                    }
                }
            }
            State::Running { tx, task } => {
                drop(tx);
                match task.await {
                    Ok(Ok(kinds)) => Some(summarize(
                        &kinds,
                        total.min(SCAN_LIMIT),
                        total <= SCAN_LIMIT,
                        &BodyRead::Text,
                    )),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "scanning a document failed");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the document scanner stopped");
                        None
                    }
                }
            }
        }
    }
}

/// Starts the streaming detector on a blocking thread, fed through a
/// bounded channel.
fn start_text_scan() -> State {
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let task = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        };
        let mut kinds: BTreeMap<Kind, u64> = BTreeMap::new();
        detector().scan_reader(reader, |finding| {
            *kinds.entry(finding.kind).or_default() += 1;
        })?;
        Ok(kinds)
    });
    State::Running { tx: Some(tx), task }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn scan(chunks: &[&[u8]]) -> ScanSummary {
        let mut scan = BodyScan::new("notes.txt");
        for chunk in chunks {
            scan.feed(chunk).await;
        }
        scan.finish().await.unwrap()
    }

    #[tokio::test]
    async fn findings_across_chunks_suggest_a_label() {
        let s = scan(&[
            b"Customer: Ann Lee\ncard 4111 1111 ",
            b"1111 1111\nann@example.com\n",
        ])
        .await;
        assert_eq!(s.kinds.get("card_number"), Some(&1));
        assert_eq!(s.kinds.get("email"), Some(&1));
        assert_eq!(s.suggested_label, Label::Restricted);
        assert!(s.complete && !s.binary);
        assert_eq!(s.scanned_bytes, 59);

        let s = scan(&[b"Phone: +44 20 7946 0958\n"]).await;
        assert_eq!(s.suggested_label, Label::Confidential);
        let s = scan(&[b"Meeting notes: ship the boiler on Tuesday.\n"]).await;
        assert_eq!(s.suggested_label, Label::Internal);
        assert!(s.kinds.is_empty());
        let s = scan(&[]).await;
        assert_eq!(s.suggested_label, Label::Internal);
    }

    #[tokio::test]
    async fn binary_bodies_are_not_scanned() {
        let s = scan(&[b"\x89PNG\r\n\x1a\n\0\x01\x02 card 4111 1111 1111 1111"]).await;
        assert!(s.binary && !s.complete);
        assert!(s.kinds.is_empty() && s.unreadable.is_none());
        assert_eq!(s.suggested_label, Label::Confidential);
    }

    #[tokio::test]
    async fn office_files_past_the_limit_are_unreadable() {
        let mut scan = BodyScan::new("big.xlsx");
        let chunk = vec![b'x'; 1024 * 1024];
        scan.feed(b"PK\x03\x04").await;
        for _ in 0..=EXTRACT_LIMIT / chunk.len() as u64 {
            scan.feed(&chunk).await;
        }
        let s = scan.finish().await.unwrap();
        assert!(s.binary && !s.complete && s.kinds.is_empty());
        assert_eq!(s.suggested_label, Label::Confidential);
        let why = s.unreadable.unwrap();
        assert!(why.contains("larger than 32 MiB"), "{why}");
        // A zip named for no format whose text is extracted is binary.
        let mut scan = BodyScan::new("photos.zip");
        scan.feed(b"PK\x03\x04\0\0").await;
        let s = scan.finish().await.unwrap();
        assert!(s.binary && s.unreadable.is_none());
    }
}
