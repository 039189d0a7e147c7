//! Scans a generated mixed corpus (prose, CSV tables, log lines, some
//! sensitive values) of the given size in MB, single thread, through the
//! streaming scanner, and prints MB/s and the findings per kind, then the
//! same as one JSON line. Memory use does not grow with the size: run it
//! under `/usr/bin/time -v` with 100 and 1000 to compare the maximum
//! resident set size.
//!
//! `cargo run --release -p confidant-detect --example throughput -- 100`
//!
//! With `--corpus PATH` after the size it writes the corpus to PATH first
//! and scans that file (the read is timed with the scan), so another tool
//! can search the same bytes. `patterns` prints the detector's candidate
//! patterns one per line as ripgrep reads them (`rg -f`): each in its own
//! group, named groups made plain, and the line-break alternatives of multi-line addresses dropped,
//! since ripgrep matches within lines. `cargo xtask eval-detect` uses both to
//! compare with ripgrep.
//!
//! With `adversarial [MB]` it scans inputs made to be slow, at two sizes, so
//! the rates show whether time grows linearly.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::time::Instant;

use confidant_detect::{Detector, Kind};

/// Yields `remaining` bytes of generated text, line by line: prose with
/// numbers and sensitive values, and now and then a CSV table.
struct Corpus {
    remaining: u64,
    table_rows: u64,
    line: Vec<u8>,
    at: usize,
    x: u64,
}

const WORDS: &[&str] = &[
    "the", "customer", "asked", "about", "their", "order", "invoice", "shipping", "account",
    "please", "update", "record", "meeting", "tomorrow", "report", "total", "balance", "Paris",
    "London", "Monday", "support", "ticket", "status", "pending", "résumé", "naïve", "données",
];

const SENSITIVE: &[&str] = &[
    "card 4111 1111 1111 1111",
    "IBAN DE89 3704 0044 0532 0130 00",
    "SSN 123-45-6789",
    "call +44 20 7946 0958",
    "ann.lee@example.com",
    "Name: Priya Shah",
    "DOB: 1985-03-12",
    "ship to 1600 Pennsylvania Avenue, Washington, DC 20500",
    "password = hunter22",
    "order 4111111111111111",
    "2024-01-15T10:00:00Z GET /api/v1/items 200 1532ms",
];

impl Corpus {
    fn next(&mut self) -> u64 {
        self.x ^= self.x << 13;
        self.x ^= self.x >> 7;
        self.x ^= self.x << 17;
        self.x
    }

    fn refill(&mut self) {
        self.line.clear();
        self.at = 0;
        if self.table_rows > 0 {
            self.table_rows -= 1;
            let r = self.next();
            let row = format!(
                "{},{} {:04},19{}-0{}-1{},+44 20 7946 {:04}\n",
                ["Ann Lee", "Priya Shah", "Tom Berg", "Li Wei"][(r % 4) as usize],
                ["536 22", "123 45", "219 09"][(r >> 3) as usize % 3],
                1000 + (r >> 8) % 9000,
                50 + (r >> 20) % 50,
                1 + (r >> 30) % 9,
                (r >> 40) % 10,
                (r >> 44) % 10_000,
            );
            self.line.extend_from_slice(row.as_bytes());
            return;
        }
        if self.next().is_multiple_of(400) {
            self.line
                .extend_from_slice(b"name,ssn,date_of_birth,phone\n");
            self.table_rows = 10 + self.next() % 40;
            return;
        }
        let words = 6 + self.next() % 14;
        for i in 0..words {
            if i > 0 {
                self.line.push(b' ');
            }
            let r = self.next();
            if r.is_multiple_of(40) {
                self.line
                    .extend_from_slice(SENSITIVE[(r / 40) as usize % SENSITIVE.len()].as_bytes());
            } else if r.is_multiple_of(7) {
                self.line
                    .extend_from_slice((r % 1_000_000).to_string().as_bytes());
            } else {
                self.line
                    .extend_from_slice(WORDS[(r >> 8) as usize % WORDS.len()].as_bytes());
            }
        }
        self.line.push(b'\n');
    }
}

impl Read for Corpus {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        if self.at == self.line.len() {
            self.refill();
        }
        let n = buf
            .len()
            .min(self.line.len() - self.at)
            .min(self.remaining as usize);
        buf[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Inputs built to be slow: long chains of overlapping candidates, markers
/// without ends, digit runs. Each scans at a steady rate if the detector is
/// linear in its input.
const ADVERSARIAL: &[&str] = &[
    "4111 ",
    "1 ",
    "0123456789",
    "1-",
    "Ann ",
    "Name: Ann ",
    "-----BEGIN PRIVATE KEY-----\n",
    "password=",
    "a.",
    "a@",
    "+1 ",
    "(1) ",
    "12 Main ",
    "DOB ",
    "é",
    "ssn,dob\n",
    "name,ssn\nAnn Lee,1\n",
    "ssn,\"",
];

fn adversarial(mb: usize) {
    let detector = Detector::new();
    for unit in ADVERSARIAL {
        let mut rates = Vec::new();
        for size in [mb * 1_000_000 / 4, mb * 1_000_000] {
            let text = unit.repeat(size / unit.len());
            let started = Instant::now();
            let mut n = 0u64;
            let summary = detector
                .scan_reader(text.as_bytes(), |_| n += 1)
                .unwrap_or_default();
            let secs = started.elapsed().as_secs_f64();
            rates.push(format!(
                "{:.1} MB in {secs:.2} s ({:.1} MB/s, {n} findings)",
                summary.bytes as f64 / 1e6,
                summary.bytes as f64 / 1e6 / secs
            ));
        }
        println!("{unit:?}: {}", rates.join("; "));
    }
}

/// The detector's candidate patterns as ripgrep reads them.
fn rg_patterns(detector: &Detector) -> Vec<String> {
    detector
        .candidate_patterns()
        .into_iter()
        .map(|p| {
            let mut out = String::with_capacity(p.len());
            let mut rest = p;
            // `(?P<name>` becomes `(?:`: names repeat across patterns.
            while let Some(i) = rest.find("(?P<") {
                out.push_str(&rest[..i]);
                out.push_str("(?:");
                let after = &rest[i + 4..];
                rest = after.find('>').map_or("", |j| &after[j + 1..]);
            }
            out.push_str(rest);
            // Each in a group of its own: ripgrep joins the lines with `|`,
            // and an inline flag such as `(?i)` would run on into the next.
            format!("(?:{})", out.replace(r"|,?\r?\n)", ")"))
        })
        .collect()
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("adversarial") => {
            let mb = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8);
            adversarial(mb);
            return Ok(());
        }
        Some("patterns") => {
            for p in rg_patterns(&Detector::new()) {
                println!("{p}");
            }
            return Ok(());
        }
        _ => {}
    }
    let mb: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    let corpus = Corpus {
        remaining: mb * 1_000_000,
        table_rows: 0,
        line: Vec::new(),
        at: 0,
        x: 0x9E37_79B9_7F4A_7C15,
    };
    let detector = Detector::new();
    // Counted by kind, named at the end: the count is timed with the scan.
    let mut counts: BTreeMap<Kind, u64> = BTreeMap::new();
    let mut count = |f: confidant_detect::Finding| {
        *counts.entry(f.kind).or_default() += 1;
    };
    let (summary, secs) = match args.iter().position(|a| a == "--corpus") {
        Some(i) => {
            let path = args.get(i + 1).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "--corpus needs a path")
            })?;
            let mut out = BufWriter::new(std::fs::File::create(path)?);
            std::io::copy(&mut { corpus }, &mut out)?;
            out.flush()?;
            drop(out);
            let started = Instant::now();
            let summary = detector.scan_reader(std::fs::File::open(path)?, &mut count)?;
            (summary, started.elapsed().as_secs_f64())
        }
        None => {
            let started = Instant::now();
            let summary = detector.scan_reader(corpus, &mut count)?;
            (summary, started.elapsed().as_secs_f64())
        }
    };
    let by_kind: BTreeMap<String, u64> = counts.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    println!(
        "{} bytes in {secs:.2} s: {:.1} MB/s; findings {by_kind:?}",
        summary.bytes,
        summary.bytes as f64 / 1e6 / secs
    );
    println!(
        "{}",
        serde_json::json!({"bytes": summary.bytes, "seconds": secs, "by_kind": by_kind})
    );
    Ok(())
}
