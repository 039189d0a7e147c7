//! Scores the detector on a labelled set: JSON lines of
//! `{"text": ..., "labels": [{"start", "end", "kind"}]}` (byte offsets, end
//! exclusive), as `crates/detect/eval/generate.py` writes them. Prints one
//! JSON object: true positives, false positives and false negatives per
//! kind, and the bytes scanned and seconds spent in `scan_text` (single
//! thread; reading and parsing the file are not timed, nor is a first scan
//! of one sentence that warms up one-time loads, as the Presidio script
//! does).
//!
//! A finding is a true positive when an unmatched label of the same kind
//! overlaps it; other findings are false positives; labels left unmatched
//! are false negatives. With a second argument, the misses (false negatives
//! and false positives with their text) are written there as JSON lines.
//!
//! `cargo run --release -p confidant-detect --example eval -- SET.jsonl [MISSES.jsonl]`

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::time::Instant;

use confidant_detect::{Detector, Finding, Kind};
use serde_json::{Value, json};

struct Label {
    start: u64,
    end: u64,
    kind: Kind,
}

fn labels(doc: &Value) -> Vec<Label> {
    let Some(list) = doc.get("labels").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|l| {
            Some(Label {
                start: l.get("start")?.as_u64()?,
                end: l.get("end")?.as_u64()?,
                kind: l.get("kind")?.as_str()?.parse().ok()?,
            })
        })
        .collect()
}

#[derive(Default)]
struct Counts {
    tp: u64,
    fp: u64,
    fn_: u64,
}

fn snippet(text: &str, start: u64, end: u64) -> String {
    text.get(start as usize..end as usize)
        .unwrap_or_default()
        .to_owned()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: eval SET.jsonl [MISSES.jsonl]")?;
    let mut misses = match args.next() {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    let detector = Detector::new();
    // Warm up as presidio_score.py does: one-time loads (libphonenumber's
    // metadata, the regex engines' first states) are not timed.
    detector.scan_text("Call +1 212 555 0100 or write to a@example.com, card 4111 1111 1111 1111.");
    let mut counts: BTreeMap<Kind, Counts> =
        Kind::ALL.iter().map(|&k| (k, Counts::default())).collect();
    let mut bytes = 0u64;
    let mut seconds = 0f64;
    let mut docs = 0u64;
    for line in BufReader::new(std::fs::File::open(&path)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let doc: Value = serde_json::from_str(&line)?;
        let text = doc.get("text").and_then(Value::as_str).unwrap_or_default();
        let labels = labels(&doc);
        let started = Instant::now();
        let findings: Vec<Finding> = detector.scan_text(text);
        seconds += started.elapsed().as_secs_f64();
        bytes += text.len() as u64;
        docs += 1;
        let mut matched = vec![false; labels.len()];
        for f in &findings {
            let hit = labels.iter().enumerate().position(|(i, l)| {
                !matched[i] && l.kind == f.kind && l.start < f.end && f.start < l.end
            });
            let c = counts.entry(f.kind).or_default();
            match hit {
                Some(i) => {
                    matched[i] = true;
                    c.tp += 1;
                }
                None => {
                    c.fp += 1;
                    if let Some(w) = misses.as_mut() {
                        writeln!(
                            w,
                            "{}",
                            json!({"doc": docs - 1, "miss": "fp", "kind": f.kind, "value": snippet(text, f.start, f.end)})
                        )?;
                    }
                }
            }
        }
        for (l, _) in labels.iter().zip(&matched).filter(|(_, m)| !**m) {
            counts.entry(l.kind).or_default().fn_ += 1;
            if let Some(w) = misses.as_mut() {
                let from = l.start.saturating_sub(40);
                let context = String::from_utf8_lossy(
                    &text.as_bytes()[from as usize..(l.end as usize + 10).min(text.len())],
                )
                .into_owned();
                writeln!(
                    w,
                    "{}",
                    json!({"doc": docs - 1, "miss": "fn", "kind": l.kind, "value": snippet(text, l.start, l.end), "context": context})
                )?;
            }
        }
    }
    let per_kind: serde_json::Map<String, Value> = counts
        .iter()
        .map(|(k, c)| (k.to_string(), json!({"tp": c.tp, "fp": c.fp, "fn": c.fn_})))
        .collect();
    println!(
        "{}",
        json!({"docs": docs, "bytes": bytes, "seconds": seconds, "per_kind": per_kind})
    );
    Ok(())
}
