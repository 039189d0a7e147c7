//! The formats that can be stamped, and telling them apart.

use std::fmt;
use std::io::Cursor;

/// A file format that can be stamped and traced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Format {
    Pdf,
    Png,
    Jpeg,
    Text,
    Markdown,
    Csv,
    Tsv,
    Json,
    Docx,
    Xlsx,
}

impl Format {
    /// Every format, in a stable order.
    pub const ALL: [Format; 10] = [
        Format::Pdf,
        Format::Png,
        Format::Jpeg,
        Format::Text,
        Format::Markdown,
        Format::Csv,
        Format::Tsv,
        Format::Json,
        Format::Docx,
        Format::Xlsx,
    ];

    /// A short name for messages ("PDF", "CSV").
    pub fn name(self) -> &'static str {
        match self {
            Format::Pdf => "PDF",
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Text => "text",
            Format::Markdown => "Markdown",
            Format::Csv => "CSV",
            Format::Tsv => "TSV",
            Format::Json => "JSON",
            Format::Docx => "DOCX",
            Format::Xlsx => "XLSX",
        }
    }

    /// The media type of a stamped copy (for a download's Content-Type).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Text => "text/plain; charset=utf-8",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Tsv => "text/tab-separated-values; charset=utf-8",
            Format::Json => "application/json",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// Whether the format is UTF-8 text (and so can be stamped as a stream).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Format::Text | Format::Markdown | Format::Csv | Format::Tsv | Format::Json
        )
    }

    /// The format a file name's extension suggests.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "pdf" => Format::Pdf,
            "png" => Format::Png,
            "jpg" | "jpeg" | "jpe" | "jfif" => Format::Jpeg,
            "txt" | "text" | "log" => Format::Text,
            "md" | "markdown" | "mdown" | "mkd" => Format::Markdown,
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "json" => Format::Json,
            "docx" => Format::Docx,
            "xlsx" => Format::Xlsx,
            _ => return None,
        })
    }

    /// The format of a file from its content and, for text formats whose
    /// bytes look alike, its name. Binary signatures win over the name (a
    /// PNG called `x.pdf` is a PNG); for UTF-8 text the name picks between
    /// text, Markdown, CSV, TSV and JSON, and without a name text that
    /// parses as a JSON object or array is JSON, any other UTF-8 is text.
    /// `None` when the content is of no supported format.
    pub fn detect(name: Option<&str>, bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(b"PK\x03\x04") {
            // A zip: DOCX, XLSX, or nothing we know.
            return office_format(bytes);
        }
        if let Some(binary) = binary_format(bytes) {
            return Some(binary);
        }
        if looks_binary(bytes) {
            return None;
        }
        let by_name = name.and_then(Format::from_file_name);
        match by_name {
            Some(f) if f.is_text() => Some(f),
            // A name promising a binary format with text inside: not that
            // format, and not something to guess about.
            Some(_) => None,
            None => {
                let trimmed = bytes
                    .strip_prefix(b"\xEF\xBB\xBF")
                    .unwrap_or(bytes)
                    .trim_ascii_start();
                if matches!(trimmed.first(), Some(b'{' | b'['))
                    && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
                {
                    Some(Format::Json)
                } else {
                    Some(Format::Text)
                }
            }
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// PDF, PNG, JPEG, DOCX or XLSX by their signatures.
fn binary_format(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Format::Jpeg);
    }
    // Readers accept "%PDF-" anywhere in the first kilobyte.
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Some(Format::Pdf);
    }
    None
}

/// DOCX or XLSX by the parts inside the zip.
pub(crate) fn office_format(bytes: &[u8]) -> Option<Format> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let has = |wanted: &str| archive.file_names().flatten().any(|n| n == wanted);
    if has("word/document.xml") {
        Some(Format::Docx)
    } else if has("xl/workbook.xml") {
        Some(Format::Xlsx)
    } else {
        None
    }
}

/// NUL bytes in the first 8 KiB: not text.
fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_table() {
        let cases: &[(Option<&str>, &[u8], Option<Format>)] = &[
            (None, b"%PDF-1.7\n", Some(Format::Pdf)),
            (Some("x.txt"), b"%PDF-1.4\n", Some(Format::Pdf)),
            (None, b"\x89PNG\r\n\x1a\n....", Some(Format::Png)),
            (Some("a.pdf"), b"\xFF\xD8\xFF\xE0", Some(Format::Jpeg)),
            (None, b"hello", Some(Format::Text)),
            (None, b"{\"a\": 1}", Some(Format::Json)),
            (None, b"[1, 2", Some(Format::Text)),
            (Some("people.CSV"), b"a,b\n1,2\n", Some(Format::Csv)),
            (Some("people.tsv"), b"a\tb\n", Some(Format::Tsv)),
            (Some("notes.md"), b"# Title\n", Some(Format::Markdown)),
            (Some("data.json"), b"{}", Some(Format::Json)),
            (Some("x.bin"), b"\0\x01\x02", None),
            (Some("x.pdf"), b"just text", None),
            (None, b"PK\x03\x04 not a zip", None),
        ];
        for (name, bytes, want) in cases {
            assert_eq!(Format::detect(*name, bytes), *want, "{name:?} {bytes:?}");
        }
    }

    #[test]
    fn names_and_media_types() {
        for f in Format::ALL {
            assert!(!f.name().is_empty());
            assert!(f.media_type().contains('/'));
        }
        assert_eq!(Format::from_file_name("A.JPEG"), Some(Format::Jpeg));
        assert_eq!(Format::from_file_name("noext"), None);
    }
}
