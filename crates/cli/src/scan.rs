//! `confidant scan PATH...`: finds sensitive data in files and folders,
//! offline (no data dir, no passphrase).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use confidant_detect::{Detector, Finding, Kind, StreamSummary};
use serde::Serialize;

use crate::output::{self, Format};
use confidant_detect::extract::Format as Extracted;

/// The most text (or XML) a DOCX, XLSX or PDF file may unpack to before
/// it is reported as unreadable instead (zip bombs).
const MAX_UNPACKED: u64 = 256 * 1024 * 1024;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and folders to scan. Folders are walked recursively, skipping
    /// what .gitignore, .ignore and .confidantignore files exclude (hidden
    /// files such as .env are scanned; .git folders are not). DOCX, XLSX
    /// and PDF files are scanned through their extracted text.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// text: a table per file; json: one JSON object per finding and line,
    /// then a summary line.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Exit with status 1 when any of these kinds is found, or when a file
    /// could not be read (its contents are unknown). Kinds: card_number,
    /// iban, routing_number, ssn, national_id, phone, email, postal_address,
    /// date_of_birth, secret, person_name.
    #[arg(long, value_name = "KIND,...", value_delimiter = ',')]
    fail_on: Vec<Kind>,
    /// Write a redacted copy of every scanned plain-text file under this
    /// folder, at the same path relative to the PATH it was found under,
    /// with each finding masked (DOCX, XLSX and PDF files are not copied).
    #[arg(long, value_name = "OUT_DIR")]
    redact: Option<PathBuf>,
}

/// One JSON line per finding. Field order is part of the format.
#[derive(Debug, Serialize)]
struct FindingLine<'a> {
    path: String,
    start: u64,
    end: u64,
    line: u64,
    kind: Kind,
    score: f32,
    masked: &'a str,
    /// Present for DOCX, XLSX and PDF files: offsets are into the extracted
    /// text.
    #[serde(skip_serializing_if = "Option::is_none")]
    offsets: Option<&'static str>,
}

#[derive(Debug, Default, Serialize)]
struct Summary {
    files: u64,
    bytes: u64,
    findings: u64,
    by_kind: BTreeMap<Kind, u64>,
    unreadable: Vec<Unreadable>,
    skipped_binary: Vec<String>,
    /// With --redact: files scanned but not copied (DOCX, XLSX, PDF).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_redacted: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Unreadable {
    path: String,
    error: String,
}

#[derive(Debug, Serialize)]
struct SummaryLine<'a> {
    summary: &'a Summary,
}

/// A file to scan and where its redacted copy goes, relative to OUT_DIR.
#[derive(Debug)]
struct Entry {
    path: PathBuf,
    relative: PathBuf,
}

pub fn run(args: ScanArgs) -> anyhow::Result<()> {
    let out_dir = match &args.redact {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the redaction folder {}", dir.display()))?;
            Some(dir.canonicalize().with_context(|| {
                format!("cannot resolve the redaction folder {}", dir.display())
            })?)
        }
        None => None,
    };
    if let Some(out) = &out_dir {
        // A redacted copy must never replace the file it was made from.
        for root in &args.paths {
            if root.canonicalize().is_ok_and(|r| r.starts_with(out)) {
                bail!(
                    "{} is inside the redaction folder {}: choose an OUT_DIR outside what is scanned",
                    root.display(),
                    out.display()
                );
            }
        }
    }
    let detector = Detector::new();
    let mut summary = Summary::default();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let progress = progress_bar();

    for root in &args.paths {
        for entry in walk(root, out_dir.as_deref(), &mut summary) {
            progress.set_message(entry.path.display().to_string());
            scan_file(
                &detector,
                &entry,
                args.format,
                out_dir.as_deref(),
                &mut out,
                &mut summary,
                &progress,
            )?;
            progress.inc(1);
        }
    }
    progress.finish_and_clear();

    match args.format {
        Format::Json => {
            serde_json::to_writer(&mut out, &SummaryLine { summary: &summary })?;
            writeln!(out)?;
        }
        Format::Text => print_text_summary(&mut out, &summary)?,
    }
    out.flush()?;
    drop(out);

    let hit: Vec<&str> = args
        .fail_on
        .iter()
        .filter(|k| summary.by_kind.contains_key(k))
        .map(|k| k.as_str())
        .collect();
    if !hit.is_empty() {
        bail!("found {} (--fail-on)", hit.join(", "));
    }
    if !args.fail_on.is_empty() && !summary.unreadable.is_empty() {
        bail!(
            "{} file(s) could not be read, so --fail-on cannot vouch for them",
            summary.unreadable.len()
        );
    }
    Ok(())
}

/// Scans one file. JSON lines and the redacted copy are written as the
/// findings arrive, so memory stays flat however many there are (the text
/// table collects a file's rows to align them).
fn scan_file(
    detector: &Detector,
    entry: &Entry,
    format: Format,
    out_dir: Option<&Path>,
    out: &mut impl Write,
    summary: &mut Summary,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let shown = entry.path.display().to_string();
    let extracted = Extracted::of_path(&entry.path);
    let mut redactor = match (out_dir, extracted) {
        (Some(dir), None) => {
            let target = dir.join(&entry.relative);
            Some(Redactor::new(&entry.path, &target).with_context(|| {
                format!(
                    "cannot write the redacted copy of {shown} to {}",
                    target.display()
                )
            })?)
        }
        _ => None,
    };
    let mut rows: Vec<Finding> = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    let mut on_finding = |f: Finding| {
        if failure.is_some() {
            return;
        }
        summary.findings += 1;
        *summary.by_kind.entry(f.kind).or_default() += 1;
        let written = (|| -> anyhow::Result<()> {
            if let Some(r) = redactor.as_mut() {
                r.apply(&f)?;
            }
            match format {
                Format::Json => {
                    let line = FindingLine {
                        path: shown.clone(),
                        start: f.start,
                        end: f.end,
                        line: f.line,
                        kind: f.kind,
                        score: f.score,
                        masked: &f.masked,
                        offsets: extracted.map(|_| "extracted_text"),
                    };
                    serde_json::to_writer(&mut *out, &line)?;
                    writeln!(out)?;
                }
                Format::Text => rows.push(f),
            }
            Ok(())
        })();
        if let Err(e) = written {
            failure = Some(e);
        }
    };
    let scanned = match extracted {
        Some(kind) => kind
            .text_of_file(&entry.path, MAX_UNPACKED)
            .map_err(anyhow::Error::from)
            .map(|text| {
                for f in detector.scan_text(&text) {
                    on_finding(f);
                }
                StreamSummary {
                    bytes: text.len() as u64,
                    binary: false,
                }
            }),
        None => File::open(&entry.path)
            .and_then(|f| detector.scan_reader(f, &mut on_finding))
            .map_err(anyhow::Error::from),
    };
    if let Some(e) = failure {
        return Err(e.context(format!("while scanning {shown}")));
    }
    let stats = match scanned {
        Ok(stats) => stats,
        Err(e) => {
            // Findings printed before a read error stay printed and counted;
            // the file is listed as unreadable, its redacted copy dropped.
            summary.unreadable.push(Unreadable {
                path: shown,
                error: format!("{e:#}"),
            });
            return Ok(());
        }
    };
    if stats.binary {
        summary.skipped_binary.push(shown);
        return Ok(());
    }
    summary.files += 1;
    summary.bytes += stats.bytes;
    if format == Format::Text && !rows.is_empty() {
        let title = if extracted.is_some() {
            format!("{shown} (offsets and lines in the extracted text)")
        } else {
            shown.clone()
        };
        progress.suspend(|| print_file_table(out, &title, &rows))?;
    }
    match redactor {
        Some(r) => r
            .finish()
            .with_context(|| format!("cannot write the redacted copy of {shown}"))?,
        // A masked DOCX, XLSX or PDF would need the format rewritten.
        None if out_dir.is_some() => summary.not_redacted.push(shown),
        None => {}
    }
    Ok(())
}

/// A spinner on stderr when it is a terminal; hidden otherwise, so scripts
/// and pipes see only the report.
fn progress_bar() -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {pos} files {wide_msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The files under `root` (or `root` itself), in a stable order. Entries the
/// walk cannot read are recorded as unreadable, not skipped silently.
fn walk(root: &Path, out_dir: Option<&Path>, summary: &mut Summary) -> Vec<Entry> {
    let root_is_file = std::fs::metadata(root).is_ok_and(|m| !m.is_dir());
    let out_dir = out_dir.map(Path::to_path_buf);
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .add_custom_ignore_filename(".confidantignore")
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            if is_dir && e.file_name() == ".git" {
                return false;
            }
            // Never scan the redacted copies being written.
            match (&out_dir, is_dir) {
                (Some(out), true) => e.path().canonicalize().map_or(true, |p| p != *out),
                _ => true,
            }
        });
    let mut entries = Vec::new();
    for result in builder.build() {
        let entry = match result {
            Ok(entry) => entry,
            Err(e) => {
                summary.unreadable.push(Unreadable {
                    path: error_path(&e).unwrap_or_else(|| root.display().to_string()),
                    error: e.to_string(),
                });
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            continue;
        }
        let path = entry.into_path();
        if !file_type.is_file() {
            // A symlink is scanned when it leads to a file; one that leads
            // nowhere is unreadable. Links to folders are not followed (no
            // loops), and pipes or devices are not files to scan.
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => {}
                Ok(_) => continue,
                Err(e) => {
                    summary.unreadable.push(Unreadable {
                        path: path.display().to_string(),
                        error: e.to_string(),
                    });
                    continue;
                }
            }
        }
        let relative = if root_is_file {
            path.file_name().map(PathBuf::from).unwrap_or_default()
        } else {
            path.strip_prefix(root)
                .map(Path::to_path_buf)
                .unwrap_or_default()
        };
        entries.push(Entry { path, relative });
    }
    entries
}

fn error_path(e: &ignore::Error) -> Option<String> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn print_file_table(out: &mut impl Write, path: &str, findings: &[Finding]) -> io::Result<()> {
    writeln!(out, "{}", output::clean(path))?;
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            vec![
                f.line.to_string(),
                f.kind.to_string(),
                format!("{:.2}", f.score),
                f.masked.clone(),
            ]
        })
        .collect();
    output::table_to(out, &["LINE", "KIND", "SCORE", "VALUE"], &rows)?;
    writeln!(out)
}

fn print_text_summary(out: &mut impl Write, s: &Summary) -> io::Result<()> {
    for u in &s.unreadable {
        writeln!(
            out,
            "unreadable: {}: {}",
            output::clean(&u.path),
            output::clean(&u.error)
        )?;
    }
    for b in &s.skipped_binary {
        writeln!(out, "skipped (binary): {}", output::clean(b))?;
    }
    for n in &s.not_redacted {
        writeln!(out, "not redacted (DOCX/XLSX/PDF): {}", output::clean(n))?;
    }
    let kinds = if s.by_kind.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!(" ({})", parts.join(", "))
    };
    writeln!(
        out,
        "scanned {} files ({}): {} findings{kinds}, {} unreadable, {} binary skipped",
        s.files,
        output::size(s.bytes),
        s.findings,
        s.unreadable.len(),
        s.skipped_binary.len()
    )
}

/// Writes a copy of `source` to `target` with every finding replaced by its
/// masked value, as the findings arrive (in order, without overlaps),
/// through a temporary file renamed into place by [`Redactor::finish`], so
/// a half-written copy is never visible; dropped unfinished, it leaves
/// nothing.
struct Redactor {
    input: io::BufReader<File>,
    output: BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
    pos: u64,
}

impl Redactor {
    fn new(source: &Path, target: &Path) -> anyhow::Result<Redactor> {
        let parent = target
            .parent()
            .context("the redacted copy has no parent folder")?;
        std::fs::create_dir_all(parent)?;
        Ok(Redactor {
            input: io::BufReader::new(File::open(source)?),
            output: BufWriter::new(tempfile::NamedTempFile::new_in(parent)?),
            target: target.to_path_buf(),
            pos: 0,
        })
    }

    fn apply(&mut self, f: &Finding) -> io::Result<()> {
        // INVARIANT: findings arrive sorted and do not overlap.
        let gap = f.start.saturating_sub(self.pos);
        io::copy(&mut (&mut self.input).take(gap), &mut self.output)?;
        io::copy(
            &mut (&mut self.input).take(f.end.saturating_sub(f.start)),
            &mut io::sink(),
        )?;
        self.output.write_all(f.masked.as_bytes())?;
        self.pos = f.end;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        io::copy(&mut self.input, &mut self.output)?;
        let temp = self.output.into_inner().map_err(|e| e.into_error())?;
        temp.persist(&self.target)?;
        Ok(())
    }
}
