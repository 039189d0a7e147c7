//! Scanning document bodies for sensitive data while they are stored.
//!
//! The plaintext chunks on their way to the cipher are also handed, through
//! a small bounded channel, to the streaming detector on a blocking thread,
//! so a scan costs no extra read of the body and no more memory than a few
//! chunks. Only the first [`SCAN_LIMIT`] bytes are scanned, so a huge upload
//! is not slowed to the detector's speed; binary bodies (PDF, images,
//! office files) are not scanned at all: extracting their text is the
//! `scan` command's job. What the scan found (counts per kind, never
//! values) suggests the label; the owner can change it.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use confidant_core::{DataCategory, Label, ScanSummary};
use confidant_detect::{Detector, Kind, looks_binary};
use tokio::sync::mpsc;

/// How much of a body is scanned: enough for any real letter, spreadsheet
/// export or log, at the detector's 20-30 MB/s a few seconds at most.
pub const SCAN_LIMIT: u64 = 64 * 1024 * 1024;

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

/// The summary of a scan's findings.
pub fn summarize(
    kinds: &BTreeMap<Kind, u64>,
    scanned_bytes: u64,
    complete: bool,
    binary: bool,
) -> ScanSummary {
    let mut categories: Vec<DataCategory> = kinds
        .keys()
        .map(|k| category_of(*k))
        .filter(|c| *c != DataCategory::Other)
        .collect();
    categories.sort();
    categories.dedup();
    let secrets = kinds.contains_key(&Kind::Secret);
    let suggested_label = if binary {
        // Not read: assume the worst short of Restricted.
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
        complete,
        binary,
    }
}

fn detector() -> Arc<Detector> {
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
    Binary,
}

impl BodyScan {
    pub(crate) fn new() -> BodyScan {
        BodyScan {
            state: State::Start,
            seen: 0,
        }
    }

    /// Hands the next plaintext chunk to the scan (a copy, up to the limit).
    pub(crate) async fn feed(&mut self, chunk: &[u8]) {
        let offset = self.seen;
        self.seen += chunk.len() as u64;
        if matches!(self.state, State::Start) {
            if looks_binary(chunk) {
                self.state = State::Binary;
                return;
            }
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
            self.state = State::Running { tx: Some(tx), task };
        }
        if let State::Running { tx, .. } = &mut self.state {
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
    }

    /// Waits for the scan and sums it up; `None` when the scan failed
    /// (which never stops the body from being stored).
    pub(crate) async fn finish(self) -> Option<ScanSummary> {
        let total = self.seen;
        match self.state {
            State::Start => Some(summarize(&BTreeMap::new(), 0, true, false)),
            State::Binary => Some(summarize(&BTreeMap::new(), 0, false, true)),
            State::Running { tx, task } => {
                drop(tx);
                match task.await {
                    Ok(Ok(kinds)) => Some(summarize(
                        &kinds,
                        total.min(SCAN_LIMIT),
                        total <= SCAN_LIMIT,
                        false,
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn scan(chunks: &[&[u8]]) -> ScanSummary {
        let mut scan = BodyScan::new();
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
        let s = scan(&[b"%PDF-1.7\n\0\x01\x02 card 4111 1111 1111 1111"]).await;
        assert!(s.binary && !s.complete);
        assert!(s.kinds.is_empty());
        assert_eq!(s.suggested_label, Label::Confidential);
    }
}
