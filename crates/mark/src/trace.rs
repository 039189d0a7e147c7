//! Tracing a leaked copy: every fingerprint, delivery id and honey
//! candidate in a file, or in part of one.
//!
//! A trace gathers evidence only. Which person, item and ledger entry a
//! delivery id belongs to, and whether a candidate e-mail or card is one of
//! a delivery's honey records, is for the vault to look up.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use confidant_core::DataCategory;
use confidant_core::delivery::{DELIVERY_ID_LEN, DeliveryId};

use crate::honey::{HoneyTag, is_honey_card};
use crate::{Format, fingerprint, image, office, pdf};

/// What kind of evidence names a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EvidenceKind {
    /// The invisible zero-width fingerprint (checksummed).
    Fingerprint,
    /// "delivery <id>" as written by a visible stamp.
    StampText,
    /// A bare 26-character id without the word "delivery" next to it
    /// (weaker: the vault should only trust it if it names a delivery).
    BareId,
    /// A metadata field written by the stamp (PDF Info/XMP, PNG text chunk,
    /// JPEG comment, DOCX/XLSX custom property).
    Metadata,
}

impl EvidenceKind {
    fn describe(self) -> &'static str {
        match self {
            EvidenceKind::Fingerprint => "invisible fingerprint",
            EvidenceKind::StampText => "stamp text",
            EvidenceKind::BareId => "delivery id without its label",
            EvidenceKind::Metadata => "metadata",
        }
    }
}

/// One kind of evidence in one place, and how often it was seen there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// Where in the file: "page 3", "PNG text chunk Confidant-Delivery",
    /// "word/document.xml", "text".
    pub place: String,
    pub count: usize,
}

/// Everything found for one delivery id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub delivery: DeliveryId,
    pub evidence: Vec<Evidence>,
}

impl Finding {
    /// How many times the id was seen in all.
    pub fn total(&self) -> usize {
        self.evidence.iter().map(|e| e.count).sum()
    }
}

/// A value that may be a honey record's: look its tag up in the table of
/// honey tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoneyCandidate {
    pub tag: HoneyTag,
    /// Where it was first seen.
    pub place: String,
    pub count: usize,
}

/// What a trace found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The file's format, when recognised (else it was searched as text).
    pub format: Option<Format>,
    /// Deliveries named in the file, the most evidence first.
    pub findings: Vec<Finding>,
    /// E-mail addresses (all, or those at the honey domains asked for) and
    /// card numbers in the honey test ranges.
    pub honey_candidates: Vec<HoneyCandidate>,
    /// What could not be searched, and why.
    pub notes: Vec<String>,
}

impl Trace {
    /// Whether nothing at all was found.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.honey_candidates.is_empty()
    }

    /// The delivery ids found, the most evidence first.
    pub fn deliveries(&self) -> Vec<DeliveryId> {
        self.findings.iter().map(|f| f.delivery).collect()
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = self
            .format
            .map_or("unrecognised (searched as text)", Format::name);
        writeln!(f, "format: {format}")?;
        if self.is_empty() {
            writeln!(
                f,
                "nothing found: no fingerprint, no delivery id and no honey record candidate \
                 in this file"
            )?;
        }
        for finding in &self.findings {
            writeln!(
                f,
                "delivery {} ({} times)",
                finding.delivery,
                finding.total()
            )?;
            for e in &finding.evidence {
                writeln!(f, "  {} in {}: {}", e.kind.describe(), e.place, e.count)?;
            }
        }
        if !self.honey_candidates.is_empty() {
            writeln!(
                f,
                "{} honey record candidate(s) (look them up among the deliveries' honey tags)",
                self.honey_candidates.len()
            )?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}

/// Options of a trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceOptions {
    /// Report only e-mail addresses at these domains (the workspace's honey
    /// domains); empty reports every e-mail address found.
    pub honey_domains: Vec<String>,
    /// The file's name, which helps tell CSV from text.
    pub file_name: Option<String>,
}

/// Traces a file with default options.
pub fn trace(bytes: &[u8]) -> Trace {
    trace_with(bytes, &TraceOptions::default())
}

/// Traces a file: PDF through its strings, streams and metadata, PNG and
/// JPEG through their metadata, DOCX and XLSX through their parts, anything
/// else as text (lossily decoded, so a damaged or partial file is searched
/// too).
pub fn trace_with(bytes: &[u8], options: &TraceOptions) -> Trace {
    let format = Format::detect(options.file_name.as_deref(), bytes);
    let mut scan = Scan::new(options);
    match format {
        Some(Format::Pdf) => pdf::trace(bytes, &mut scan),
        Some(Format::Png | Format::Jpeg) => image::trace(bytes, &mut scan),
        Some(Format::Docx | Format::Xlsx) => office::trace(bytes, &mut scan),
        _ => {
            if bytes.starts_with(b"PK\x03\x04") {
                office::trace(bytes, &mut scan);
            } else {
                scan.text(&String::from_utf8_lossy(bytes), "text");
            }
        }
    }
    scan.finish(format)
}

/// Evidence as it is gathered.
#[derive(Debug)]
pub(crate) struct Scan {
    honey_domains: Vec<String>,
    evidence: BTreeMap<(DeliveryId, EvidenceKind, String), usize>,
    honey: BTreeMap<HoneyTag, (String, usize)>,
    notes: Vec<String>,
}

impl Scan {
    fn new(options: &TraceOptions) -> Self {
        Scan {
            honey_domains: options
                .honey_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            evidence: BTreeMap::new(),
            honey: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    fn add(&mut self, id: DeliveryId, kind: EvidenceKind, place: &str) {
        *self
            .evidence
            .entry((id, kind, place.to_owned()))
            .or_insert(0) += 1;
    }

    pub(crate) fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// A metadata value that should hold a delivery id.
    pub(crate) fn metadata(&mut self, value: &str, place: &str) {
        if let Ok(id) = value.trim().parse::<DeliveryId>() {
            self.add(id, EvidenceKind::Metadata, place);
        }
    }

    /// Searches text: fingerprints, delivery ids, honey candidates.
    pub(crate) fn text(&mut self, text: &str, place: &str) {
        for id in fingerprint::decode_all(text) {
            self.add(id, EvidenceKind::Fingerprint, place);
        }
        let has_fingerprint_chars = text.chars().any(fingerprint::is_fingerprint_char);
        let plain;
        let text = if has_fingerprint_chars {
            plain = fingerprint::strip(text);
            plain.as_str()
        } else {
            text
        };
        for (id, labelled) in delivery_ids(text) {
            let kind = if labelled {
                EvidenceKind::StampText
            } else {
                EvidenceKind::BareId
            };
            self.add(id, kind, place);
        }
        for email in emails(text) {
            let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
            let wanted = self.honey_domains.is_empty()
                || self
                    .honey_domains
                    .iter()
                    .any(|h| domain == h || domain.ends_with(&format!(".{h}")));
            if wanted {
                self.candidate(HoneyTag::new(DataCategory::Email, &email), place);
            }
        }
        for card in cards(text) {
            self.candidate(HoneyTag::new(DataCategory::CardNumber, &card), place);
        }
    }

    fn candidate(&mut self, tag: HoneyTag, place: &str) {
        self.honey
            .entry(tag)
            .or_insert_with(|| (place.to_owned(), 0))
            .1 += 1;
    }

    fn finish(self, format: Option<Format>) -> Trace {
        let mut by_id: BTreeMap<DeliveryId, Vec<Evidence>> = BTreeMap::new();
        for ((id, kind, place), count) in self.evidence {
            by_id
                .entry(id)
                .or_default()
                .push(Evidence { kind, place, count });
        }
        let mut findings: Vec<Finding> = by_id
            .into_iter()
            .map(|(delivery, mut evidence)| {
                evidence.sort_by(|a, b| a.kind.cmp(&b.kind).then(b.count.cmp(&a.count)));
                Finding { delivery, evidence }
            })
            .collect();
        // Strong evidence first, then the most of it.
        let strength = |f: &Finding| {
            f.evidence
                .iter()
                .filter(|e| e.kind != EvidenceKind::BareId)
                .map(|e| e.count)
                .sum::<usize>()
        };
        findings.sort_by(|a, b| {
            strength(b)
                .cmp(&strength(a))
                .then(b.total().cmp(&a.total()))
        });
        let honey_candidates = self
            .honey
            .into_iter()
            .map(|(tag, (place, count))| HoneyCandidate { tag, place, count })
            .collect();
        Trace {
            format,
            findings,
            honey_candidates,
            notes: self.notes,
        }
    }
}

/// Delivery ids written as text: runs of exactly 26 Crockford characters
/// starting with 0-7, with digits and letters both, and whether the word
/// "delivery" stands right before.
fn delivery_ids(text: &str) -> Vec<(DeliveryId, bool)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i - start != DELIVERY_ID_LEN {
            continue;
        }
        let token = &text[start..i];
        let canonical = token
            .chars()
            .all(|c| !matches!(c.to_ascii_uppercase(), 'I' | 'L' | 'O' | 'U'));
        let digits = token.bytes().filter(u8::is_ascii_digit).count();
        // All hex digits: a hash or a PDF glyph string, not an id (a random
        // id is all hex with odds of 1 in 30 million).
        let hex = token.bytes().all(|b| b.is_ascii_hexdigit());
        if !canonical || hex || !(2..=DELIVERY_ID_LEN - 2).contains(&digits) {
            continue;
        }
        let Ok(id) = token.parse::<DeliveryId>() else {
            continue;
        };
        let before = text[..start].trim_end_matches([' ', ':', '#', '\u{a0}']);
        let labelled = before
            .get(before.len().saturating_sub(8)..)
            .is_some_and(|w| w.eq_ignore_ascii_case("delivery"));
        out.push((id, labelled));
    }
    out
}

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// E-mail addresses, lower-cased.
fn emails(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > 0 && is_local_char(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < bytes.len() && is_domain_char(bytes[end]) {
            end += 1;
        }
        let local = text[start..at].trim_start_matches('.');
        let domain = text[at + 1..end].trim_end_matches(['.', '-']);
        let Some((_, tld)) = domain.rsplit_once('.') else {
            continue;
        };
        if local.is_empty() || tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
            continue;
        }
        out.push(format!("{local}@{domain}").to_ascii_lowercase());
    }
    out
}

/// Card numbers in the honey test ranges: 13-19 digits, single spaces or
/// dashes allowed between them.
fn cards(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let mut digits = String::new();
        let mut j = i;
        while j < bytes.len() && digits.len() <= 19 {
            if bytes[j].is_ascii_digit() {
                digits.push(char::from(bytes[j]));
                j += 1;
            } else if matches!(bytes[j], b' ' | b'-')
                && j + 1 < bytes.len()
                && bytes[j + 1].is_ascii_digit()
                && bytes[j - 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        if (13..=19).contains(&digits.len()) && is_honey_card(&digits) {
            out.push(digits);
        }
        i = j.max(i + 1);
    }
    out
}

/// Reads at most `limit` bytes of a part (a zip entry): bigger parts are
/// searched up to the limit.
pub(crate) fn read_limited<R: Read>(reader: R, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_are_found_with_and_without_their_label() {
        let id = DeliveryId::from_bytes([0x5a; 16]);
        let text = format!("see delivery {id}. Also {id}, and not ABCDEFGHJKMNPQRSTVWXYZABCD.");
        let found = delivery_ids(&text);
        assert_eq!(found, vec![(id, true), (id, false)]);
    }

    #[test]
    fn emails_and_cards() {
        let text = "Mail Ann.Lee@Example.COM, or x@y; card 4111 1111 1111 1111 or 4111-1111-1111-1112 or 4242424242424242.";
        assert_eq!(emails(text), vec!["ann.lee@example.com".to_owned()]);
        assert_eq!(
            cards(text),
            vec!["4111111111111111".to_owned(), "4242424242424242".to_owned()]
        );
    }

    #[test]
    fn nothing_found_is_said_plainly() {
        let t = trace(b"just an ordinary letter with nothing in it");
        assert!(t.is_empty());
        assert!(t.to_string().contains("nothing found"));
    }
}
