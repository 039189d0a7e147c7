//! Text of documents that are not plain text: DOCX (the body's
//! paragraphs), XLSX (every sheet's cells, tab-separated) and PDF (each
//! page's text, as lopdf extracts it). Offsets of findings in such files
//! are byte offsets into the text extracted here, not into the file. The
//! CLI's `scan` reads files from disk with [`Format::text_of_file`]; the
//! vault extracts uploads it holds in memory with [`Format::text_of`].
//!
//! Unlike plain text these are read whole into memory (a sheet must be
//! unpacked, a PDF's cross references resolved), so inputs are capped by
//! the caller's `max_unpacked`: a DOCX body or XLSX sheet of more than that
//! many bytes of XML is refused rather than unpacked (zip bombs), and so is
//! extracted text longer than that; lopdf limits each decompressed PDF
//! stream. A parser that panics on a malformed file makes that one file
//! unreadable, never the caller.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use calamine::{Reader, Xlsx};
use quick_xml::events::Event;

/// A document could not be read: what was wrong, for the person who
/// uploaded or scanned it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExtractError(pub String);

fn err(message: impl Into<String>) -> ExtractError {
    ExtractError(message.into())
}

/// A format whose text is extracted before scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Docx,
    Xlsx,
    Pdf,
}

impl Format {
    /// The format's name in reports: `docx`, `xlsx`, `pdf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Docx => "docx",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }

    /// The format of a file named `name`, by its extension.
    pub fn of_name(name: &str) -> Option<Format> {
        let (_, ext) = name.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "docx" => Some(Format::Docx),
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// The format of `path`, by its extension.
    pub fn of_path(path: &Path) -> Option<Format> {
        Format::of_name(path.file_name()?.to_str()?)
    }

    /// The format of a body that starts with `head`, named `name`: a PDF by
    /// its `%PDF-` signature wherever it is named; a zip archive (DOCX and
    /// XLSX are both) by the name's extension.
    pub fn sniff(name: &str, head: &[u8]) -> Option<Format> {
        let by_name = Format::of_name(name);
        if head.starts_with(b"%PDF-") {
            Some(Format::Pdf)
        } else if head.starts_with(b"PK\x03\x04") {
            by_name.filter(|f| *f != Format::Pdf)
        } else {
            None
        }
    }

    /// The text of a document held in memory.
    pub fn text_of(self, body: &[u8], max_unpacked: u64) -> Result<String, ExtractError> {
        guarded(|| match self {
            Format::Docx => docx_text(Cursor::new(body), max_unpacked),
            Format::Xlsx => xlsx_text(Cursor::new(body), max_unpacked),
            Format::Pdf => pdf_text(
                lopdf::Document::load_mem(body)
                    .map_err(|e| err(format!("not a readable PDF: {e}")))?,
                max_unpacked,
            ),
        })
    }

    /// The text of the document at `path`.
    pub fn text_of_file(self, path: &Path, max_unpacked: u64) -> Result<String, ExtractError> {
        let open = || {
            File::open(path)
                .map(BufReader::new)
                .map_err(|e| err(format!("cannot open the file: {e}")))
        };
        guarded(|| match self {
            Format::Docx => docx_text(open()?, max_unpacked),
            Format::Xlsx => xlsx_text(open()?, max_unpacked),
            Format::Pdf => pdf_text(
                lopdf::Document::load(path).map_err(|e| err(format!("not a readable PDF: {e}")))?,
                max_unpacked,
            ),
        })
    }
}

/// Runs a parser; a panic in it makes this one document unreadable.
fn guarded(
    parse: impl FnOnce() -> Result<String, ExtractError> + std::panic::UnwindSafe,
) -> Result<String, ExtractError> {
    std::panic::catch_unwind(parse)
        .unwrap_or_else(|_| Err(err("the parser failed on this file (it is malformed)")))
}

fn too_long(max: u64) -> ExtractError {
    err(format!(
        "its text is longer than {} MiB unpacked: split it into smaller files",
        max / (1024 * 1024)
    ))
}

/// The paragraphs of `word/document.xml`, one per line; tabs and breaks
/// kept as `\t` and `\n`.
fn docx_text(file: impl Read + Seek, max: u64) -> Result<String, ExtractError> {
    let mut archive =
        zip::ZipArchive::new(file).map_err(|_| err("not a DOCX file: it is not a zip archive"))?;
    let body = archive
        .by_name("word/document.xml")
        .map_err(|_| err("not a DOCX file: it has no word/document.xml"))?;
    if body.size() > max {
        return Err(too_long(max));
    }
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(body.take(max)));
    let mut text = String::new();
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| err(format!("the document body is not valid XML: {e}")))?
        {
            Event::Start(e) if e.local_name().as_ref() == "t" => in_text = true,
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_text = false,
                "p" => text.push('\n'),
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "tab" => text.push('\t'),
                "br" | "cr" => text.push('\n'),
                _ => {}
            },
            Event::Text(e) if in_text => {
                text.push_str(&e.xml_content(quick_xml::XmlVersion::Implicit1_0));
            }
            Event::GeneralRef(e) if in_text => {
                if let Ok(Some(c)) = e.resolve_char_ref() {
                    text.push(c);
                } else {
                    text.push_str(match &*e {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(text)
}

/// Every sheet: a `# sheet NAME` line, then one line per row with cells
/// separated by tabs.
fn xlsx_text(mut file: impl Read + Seek, max: u64) -> Result<String, ExtractError> {
    // calamine unpacks whole sheets: check what the archive says they hold
    // first.
    {
        let mut archive = zip::ZipArchive::new(&mut file)
            .map_err(|_| err("not an XLSX file: it is not a zip archive"))?;
        let mut unpacked = 0u64;
        for i in 0..archive.len() {
            let entry = archive
                .by_index_raw(i)
                .map_err(|e| err(format!("not a readable XLSX file: {e}")))?;
            if entry.name().is_ok_and(|n| n.starts_with("xl/")) {
                unpacked = unpacked.saturating_add(entry.size());
            }
        }
        if unpacked > max {
            return Err(too_long(max));
        }
    }
    file.rewind()
        .map_err(|e| err(format!("cannot read the file: {e}")))?;
    let mut book: Xlsx<_> =
        Xlsx::new(file).map_err(|e| err(format!("not a readable XLSX file: {e}")))?;
    let mut text = String::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| err(format!("cannot read sheet {name:?}: {e}")))?;
        text.push_str("# sheet ");
        text.push_str(&name);
        text.push('\n');
        for row in range.rows() {
            let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
            text.push_str(&cells.join("\t"));
            text.push('\n');
            if text.len() as u64 > max {
                return Err(too_long(max));
            }
        }
    }
    Ok(text)
}

/// Each page's text, pages separated by a form feed and a newline.
fn pdf_text(doc: lopdf::Document, max: u64) -> Result<String, ExtractError> {
    if doc.is_encrypted() {
        return Err(err(
            "the PDF is encrypted: upload or scan a copy without a password",
        ));
    }
    let mut text = String::new();
    for (n, _) in doc.get_pages() {
        let page = doc
            .extract_text(&[n])
            .map_err(|e| err(format!("cannot extract the text of page {n}: {e}")))?;
        if !text.is_empty() {
            text.push_str("\u{c}\n");
        }
        text.push_str(&page);
        if text.len() as u64 > max {
            return Err(too_long(max));
        }
    }
    Ok(text)
}
