//! Text of documents for `scan`: DOCX (the body's paragraphs), XLSX (every
//! sheet's cells) and PDF (each page's text, as lopdf extracts it). Offsets
//! of findings in such files are byte offsets into the text extracted here,
//! not into the file.
//!
//! Unlike plain files these are read whole into memory (a sheet must be
//! unpacked, a PDF's cross references resolved), so inputs are capped: a
//! DOCX body of more than [`MAX_TEXT`] bytes of XML is refused rather than
//! unpacked (zip bombs), and lopdf limits each decompressed PDF stream.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, bail};
use calamine::{Reader, Xlsx};
use quick_xml::events::Event;

/// The largest DOCX body (uncompressed XML) read, in bytes.
pub const MAX_TEXT: u64 = 256 * 1024 * 1024;

/// A format whose text is extracted before scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extracted {
    Docx,
    Xlsx,
    Pdf,
}

impl Extracted {
    /// The format of `path` by its extension, if it is one we extract.
    pub fn of(path: &Path) -> Option<Extracted> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "docx" => Some(Extracted::Docx),
            "xlsx" | "xlsm" => Some(Extracted::Xlsx),
            "pdf" => Some(Extracted::Pdf),
            _ => None,
        }
    }

    pub fn text(self, path: &Path) -> anyhow::Result<String> {
        match self {
            Extracted::Docx => docx_text(path),
            Extracted::Xlsx => xlsx_text(path),
            Extracted::Pdf => {
                // A malformed PDF must not end the whole scan: a panic in
                // the parser makes this one file unreadable.
                let path = path.to_path_buf();
                std::panic::catch_unwind(move || pdf_text(&path))
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the PDF parser failed on this file")))
            }
        }
    }
}

/// The paragraphs of `word/document.xml`, one per line; tabs and breaks
/// kept as `\t` and `\n`.
fn docx_text(path: &Path) -> anyhow::Result<String> {
    let mut archive =
        zip::ZipArchive::new(BufReader::new(File::open(path)?)).context("not a DOCX (zip) file")?;
    let body = archive
        .by_name("word/document.xml")
        .context("not a DOCX file: no word/document.xml")?;
    if body.size() > MAX_TEXT {
        bail!("the document body is larger than {MAX_TEXT} bytes unpacked");
    }
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(body.take(MAX_TEXT)));
    let mut text = String::new();
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        match reader
            .read_event_into(&mut buf)
            .context("the document body is not valid XML")?
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
fn xlsx_text(path: &Path) -> anyhow::Result<String> {
    let mut book: Xlsx<_> = calamine::open_workbook(path).context("not a readable XLSX file")?;
    let mut text = String::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .with_context(|| format!("cannot read sheet {name:?}"))?;
        text.push_str("# sheet ");
        text.push_str(&name);
        text.push('\n');
        for row in range.rows() {
            let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
            text.push_str(&cells.join("\t"));
            text.push('\n');
        }
    }
    Ok(text)
}

/// Each page's text, pages separated by a form feed and a newline.
fn pdf_text(path: &Path) -> anyhow::Result<String> {
    let doc = lopdf::Document::load(path).context("not a readable PDF file")?;
    let mut text = String::new();
    for (n, _) in doc.get_pages() {
        let page = doc
            .extract_text(&[n])
            .with_context(|| format!("cannot extract the text of page {n}"))?;
        if !text.is_empty() {
            text.push_str("\u{c}\n");
        }
        text.push_str(&page);
    }
    Ok(text)
}
