//! Text, Markdown, CSV, TSV and JSON: a visible banner where the format
//! allows one, and the invisible fingerprint throughout (see
//! [`crate::fingerprint`]).
//!
//! - Text: the stamp line and a blank line at the top, and the stamp line
//!   again at the end.
//! - Markdown: the stamp as a paragraph (`**CONFIDENTIAL** - for ...`) at
//!   the top, after any YAML front matter, and again at the end.
//! - CSV and TSV: a first row holding the stamp line in its first cell,
//!   padded with empty cells to the width of the header, so strict parsers
//!   (same number of fields per record) still read the file and a
//!   spreadsheet shows the stamp in A1 above the header. Importers that
//!   expect the header on the first line need "skip 1 row".
//! - JSON: a top-level object gets a first member `"confidential": "<stamp
//!   line>"` (`"_confidential"` and so on if that name is taken); anything
//!   else (an array, a string, a number) is wrapped as
//!   `{"confidential": "<stamp line>", "data": <the original>}`. The
//!   original bytes are kept as they were (no reformatting, numbers as
//!   written).

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::de::IgnoredAny;

use crate::fingerprint::{self, Marker, Syntax};
use crate::stamp::StampParts;
use crate::{Format, MarkError, Stamp};

/// Chunk size of streaming.
const CHUNK: usize = 64 * 1024;

/// Streams a text format through the marker, with its banner.
pub(crate) fn stamp_stream<R: Read, W: Write>(
    format: Format,
    mut reader: R,
    mut writer: W,
    stamp: &Stamp,
    parts: &StampParts,
    size_hint: Option<u64>,
) -> Result<u64, MarkError> {
    let syntax = match format {
        Format::Text => Syntax::Prose,
        Format::Markdown => Syntax::Markdown,
        Format::Csv => Syntax::Delimited(','),
        Format::Tsv => Syntax::Delimited('\t'),
        other => {
            return Err(MarkError::Unsupported {
                what: format!(
                    "{other} files cannot be stamped as a stream (only text, Markdown, CSV \
                     and TSV can); stamp the whole file at once"
                ),
            });
        }
    };
    let mut marker = Marker::new(
        &stamp.delivery,
        syntax,
        fingerprint::interval_for(size_hint),
    );
    let mut decoder = Utf8Decoder::new(format);
    let mut written = 0u64;
    let mut out = String::with_capacity(CHUNK + CHUNK / 2);

    // The head decides the newline style, the front matter and the CSV width.
    let mut buf = vec![0u8; CHUNK];
    let head_len = read_full(&mut reader, &mut buf)?;
    let at_eof = head_len < CHUNK;
    let head = decoder.decode(&buf[..head_len], at_eof)?;
    let mut rest: &str = &head;
    if let Some(body) = rest.strip_prefix('\u{FEFF}') {
        out.push('\u{FEFF}');
        rest = body;
    }
    let newline = if rest.contains("\r\n") { "\r\n" } else { "\n" };
    match format {
        Format::Markdown => {
            let front = front_matter_len(rest);
            out.push_str(&rest[..front]);
            rest = &rest[front..];
            out.push_str(&markdown_banner(parts, marker.frame()));
            out.push_str(newline);
            out.push_str(newline);
        }
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { ',' } else { '\t' };
            let width = first_record_width(rest, delimiter);
            let cell = format!("{}{}", parts.line(), marker.frame());
            out.push_str(&delimited_cell(&cell, delimiter));
            for _ in 1..width {
                out.push(delimiter);
            }
            out.push_str(newline);
        }
        _ => {
            out.push_str(&parts.line());
            out.push_str(marker.frame());
            out.push_str(newline);
            out.push_str(newline);
        }
    }
    let mut last = rest.chars().last();
    marker.push(rest, &mut out);
    written += write_out(&mut writer, &mut out)?;
    let mut done = at_eof;
    while !done {
        let n = read_full(&mut reader, &mut buf)?;
        done = n < CHUNK;
        let chunk = decoder.decode(&buf[..n], done)?;
        if let Some(c) = chunk.chars().last() {
            last = Some(c);
        }
        marker.push(&chunk, &mut out);
        written += write_out(&mut writer, &mut out)?;
    }
    marker.finish(&mut out);
    match format {
        Format::Text => {
            if !matches!(last, None | Some('\n')) {
                out.push_str(newline);
            }
            out.push_str(newline);
            out.push_str(&parts.line());
            out.push_str(marker.frame());
            out.push_str(newline);
        }
        Format::Markdown => {
            if !matches!(last, None | Some('\n')) {
                out.push_str(newline);
            }
            out.push_str(newline);
            out.push_str(&markdown_banner(parts, marker.frame()));
            out.push_str(newline);
        }
        _ => {}
    }
    written += write_out(&mut writer, &mut out)?;
    writer.flush()?;
    Ok(written)
}

fn write_out<W: Write>(writer: &mut W, out: &mut String) -> Result<u64, MarkError> {
    writer.write_all(out.as_bytes())?;
    let n = out.len() as u64;
    out.clear();
    Ok(n)
}

/// Reads until `buf` is full or the input ends.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<usize, MarkError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

/// UTF-8 decoding across chunk boundaries.
struct Utf8Decoder {
    format: Format,
    pending: Vec<u8>,
    offset: u64,
}

impl Utf8Decoder {
    fn new(format: Format) -> Self {
        Self {
            format,
            pending: Vec::new(),
            offset: 0,
        }
    }

    fn decode(&mut self, bytes: &[u8], last: bool) -> Result<String, MarkError> {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) => {
                if e.error_len().is_some() || last {
                    return Err(MarkError::NotUtf8 {
                        format: self.format,
                        offset: self.offset + e.valid_up_to() as u64,
                    });
                }
                e.valid_up_to()
            }
        };
        let tail = self.pending.split_off(valid);
        let text = String::from_utf8(std::mem::replace(&mut self.pending, tail)).map_err(|e| {
            MarkError::NotUtf8 {
                format: self.format,
                offset: self.offset + e.utf8_error().valid_up_to() as u64,
            }
        })?;
        self.offset += valid as u64;
        Ok(text)
    }
}

/// Length of YAML front matter (`---` ... `---` or `...`) at the start.
fn front_matter_len(text: &str) -> usize {
    let Some(first_nl) = text.find('\n') else {
        return 0;
    };
    if text[..first_nl].trim_end_matches('\r') != "---" {
        return 0;
    }
    let mut pos = first_nl + 1;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let line = text[pos..end].trim_end_matches(['\r', '\n']);
        if line == "---" || line == "..." {
            return end;
        }
        pos = end;
    }
    0
}

fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '`' | '#' | '|' | '~' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn markdown_banner(parts: &StampParts, frame: &str) -> String {
    format!(
        "**{}** - {} - {} - {}{frame}",
        markdown_escape(&parts.label),
        markdown_escape(&parts.recipient),
        parts.time,
        parts.delivery
    )
}

/// Number of fields in the first record (delimiters outside quotes).
fn first_record_width(text: &str, delimiter: char) -> usize {
    let mut width = 1;
    let mut in_quotes = false;
    for c in text.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\n' | '\r' if !in_quotes => break,
            c if c == delimiter && !in_quotes => width += 1,
            _ => {}
        }
    }
    width
}

/// A CSV/TSV cell, quoted when it must be.
fn delimited_cell(cell: &str, delimiter: char) -> String {
    if cell.contains([delimiter, '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// Stamps a JSON document (see the module doc).
pub(crate) fn stamp_json(
    input: &[u8],
    stamp: &Stamp,
    parts: &StampParts,
) -> Result<Vec<u8>, MarkError> {
    let text = std::str::from_utf8(input).map_err(|e| MarkError::NotUtf8 {
        format: Format::Json,
        offset: e.valid_up_to() as u64,
    })?;
    let malformed = |e: serde_json::Error| MarkError::Malformed {
        format: Format::Json,
        detail: e.to_string(),
    };
    let mut out = String::with_capacity(text.len() + text.len() / 4 + 512);
    let mut body = text;
    if let Some(rest) = body.strip_prefix('\u{FEFF}') {
        out.push('\u{FEFF}');
        body = rest;
    }
    let mut marker = Marker::new(
        &stamp.delivery,
        Syntax::Json,
        fingerprint::interval_for(Some(body.len() as u64)),
    );
    let banner =
        serde_json::to_string(&format!("{}{}", parts.line(), marker.frame())).map_err(|e| {
            MarkError::Encode {
                format: Format::Json,
                detail: e.to_string(),
            }
        })?;
    let lead = body.len() - body.trim_start().len();
    if body[lead..].starts_with('{') {
        let members: BTreeMap<String, IgnoredAny> =
            serde_json::from_str(body).map_err(malformed)?;
        let mut key = "confidential".to_owned();
        while members.contains_key(&key) {
            key.insert(0, '_');
        }
        let brace = lead + 1;
        marker.push(&body[..brace], &mut out);
        out.push_str("\n  ");
        out.push_str(&serde_json::to_string(&key).map_err(malformed)?);
        out.push_str(": ");
        out.push_str(&banner);
        if !members.is_empty() {
            out.push(',');
        }
        marker.push(&body[brace..], &mut out);
    } else {
        serde_json::from_str::<IgnoredAny>(body).map_err(malformed)?;
        out.push_str("{\n  \"confidential\": ");
        out.push_str(&banner);
        out.push_str(",\n  \"data\": ");
        marker.push(body.trim(), &mut out);
        out.push_str("\n}\n");
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use confidant_core::delivery::DeliveryId;
    use time::macros::datetime;

    fn stamp() -> Stamp {
        Stamp {
            label: "CONFIDENTIAL".to_owned(),
            recipient_name: "Doe, Alex *x*".to_owned(),
            recipient_email: "alex@example.com".to_owned(),
            delivery: DeliveryId::from_bytes([5; 16]),
            issued_at: datetime!(2026-11-29 14:03 UTC),
        }
    }

    fn run(format: Format, input: &str) -> String {
        let s = stamp();
        let mut out = Vec::new();
        stamp_stream(
            format,
            input.as_bytes(),
            &mut out,
            &s,
            &s.parts().unwrap(),
            Some(input.len() as u64),
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_gets_a_banner_on_top_and_at_the_end() {
        let out = run(Format::Text, "line one\nline two");
        let plain = fingerprint::strip(&out);
        let line = stamp().line().unwrap();
        assert_eq!(plain, format!("{line}\n\nline one\nline two\n\n{line}\n"));
        assert!(fingerprint::decode_all(&out).len() >= 2);
    }

    #[test]
    fn crlf_and_bom_are_kept() {
        let out = run(Format::Text, "\u{FEFF}a b\r\nc d\r\n");
        assert!(out.starts_with('\u{FEFF}'));
        assert!(fingerprint::strip(&out).contains("\r\n\r\na b\r\nc d\r\n"));
    }

    #[test]
    fn markdown_banner_goes_after_front_matter_and_is_escaped() {
        let out = run(
            Format::Markdown,
            "---\ntitle: x\n---\n# Title\n\nSome text here.\n",
        );
        let plain = fingerprint::strip(&out);
        assert!(plain.starts_with(
            "---\ntitle: x\n---\n**CONFIDENTIAL** - for Doe, Alex \\*x\\* \\<alex@example.com\\>"
        ));
        assert!(plain.ends_with("\n"));
    }

    #[test]
    fn csv_banner_row_is_padded_and_quoted() {
        let out = run(Format::Csv, "name,email,city\nAnn Lee,ann@x.org,New York\n");
        let plain = fingerprint::strip(&out);
        let first = plain.lines().next().unwrap();
        assert!(
            first.starts_with("\"CONFIDENTIAL - for Doe, Alex"),
            "{first}"
        );
        assert!(first.ends_with("\",,"), "{first}");
        assert_eq!(plain.lines().nth(1), Some("name,email,city"));
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_offset() {
        let s = stamp();
        let mut input = vec![b'a'; 70_000];
        input[66_000] = 0xFF;
        let err = stamp_stream(
            Format::Text,
            &input[..],
            Vec::new(),
            &s,
            &s.parts().unwrap(),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(err, MarkError::NotUtf8 { offset: 66_000, .. }),
            "{err:?}"
        );
        // A truncated character at the very end is refused too.
        let err = stamp_stream(
            Format::Text,
            &b"abc\xE2\x82"[..],
            Vec::new(),
            &s,
            &s.parts().unwrap(),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(err, MarkError::NotUtf8 { offset: 3, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn multibyte_characters_across_chunks_survive() {
        let text = "жёлтый 機密 ".repeat(20_000);
        let out = run(Format::Text, &text);
        assert!(fingerprint::strip(&out).contains(&text));
    }

    #[test]
    fn json_objects_get_a_member_and_others_are_wrapped() {
        let s = stamp();
        let parts = s.parts().unwrap();
        let out = stamp_json(br#"{"confidential": 1, "a": "b c"}"#, &s, &parts).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["confidential"], 1);
        assert!(
            v["_confidential"]
                .as_str()
                .unwrap()
                .starts_with("CONFIDENTIAL")
        );
        let out = stamp_json(b"{}", &s, &parts).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
        let out = stamp_json(b" [1, 2.50, \"x y\"] ", &s, &parts).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["data"][0], 1);
        assert!(String::from_utf8(out).unwrap().contains("2.50"));
        let err = stamp_json(b"{\"a\": ", &s, &parts).unwrap_err();
        assert!(matches!(err, MarkError::Malformed { .. }));
    }
}
