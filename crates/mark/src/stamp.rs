//! What a stamp says, and the one entry point that stamps a file.

use std::io::{Read, Write};

use confidant_core::delivery::DeliveryId;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::{Format, MarkError, fingerprint, image, office, pdf, text};

/// The visible stamp of one delivery: the item's label, who it is for, when
/// and which delivery. The caller (the vault) draws the delivery id from its
/// RNG and reads the time from its clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The item's label as shown, e.g. "CONFIDENTIAL".
    pub label: String,
    pub recipient_name: String,
    pub recipient_email: String,
    pub delivery: DeliveryId,
    pub issued_at: OffsetDateTime,
}

/// The pieces of a stamp line, each already cleaned of control and
/// invisible characters (so a recipient name cannot hide or reorder the
/// stamp, or forge a fingerprint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampParts {
    /// "CONFIDENTIAL"
    pub label: String,
    /// "for Alex Doe <alex@example.com>"
    pub recipient: String,
    /// "2026-11-29 14:03 UTC"
    pub time: String,
    /// "delivery 0K3F9Q2M7XW4HBN8C5RVTD6ZGA"
    pub delivery: String,
}

/// Longest label, name and e-mail kept in a stamp (in characters).
const MAX_LABEL: usize = 40;
const MAX_NAME: usize = 80;
const MAX_EMAIL: usize = 120;

impl Stamp {
    /// The stamp's pieces, cleaned; fails when the label is empty.
    pub fn parts(&self) -> Result<StampParts, MarkError> {
        let label = clean(&self.label, MAX_LABEL);
        if label.is_empty() {
            return Err(MarkError::InvalidStamp(
                "the label is empty; give the item a label such as CONFIDENTIAL".to_owned(),
            ));
        }
        let name = clean(&self.recipient_name, MAX_NAME);
        let email = clean(&self.recipient_email, MAX_EMAIL);
        let recipient = match (name.is_empty(), email.is_empty()) {
            (false, false) => format!("for {name} <{email}>"),
            (false, true) => format!("for {name}"),
            (true, false) => format!("for <{email}>"),
            (true, true) => {
                return Err(MarkError::InvalidStamp(
                    "the recipient has neither a name nor an e-mail address".to_owned(),
                ));
            }
        };
        Ok(StampParts {
            label,
            recipient,
            time: format_time(self.issued_at),
            delivery: format!("delivery {}", self.delivery),
        })
    }

    /// The one-line stamp: "CONFIDENTIAL - for Alex Doe <alex@example.com> -
    /// 2026-11-29 14:03 UTC - delivery 0K3F...".
    pub fn line(&self) -> Result<String, MarkError> {
        Ok(self.parts()?.line())
    }
}

impl StampParts {
    /// The parts joined into one line.
    pub fn line(&self) -> String {
        format!(
            "{} - {} - {} - {}",
            self.label, self.recipient, self.time, self.delivery
        )
    }
}

/// The time in UTC to the minute: "2026-11-29 14:03 UTC".
fn format_time(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]");
    match utc.format(&format) {
        Ok(text) => format!("{text} UTC"),
        // Only years beyond 9999 fail to format; say so rather than fail.
        Err(_) => format!("{} UTC", utc.unix_timestamp()),
    }
}

/// Drops control, bidirectional and invisible characters, collapses runs
/// of whitespace and cuts to `max` characters.
fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible(c) {
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(3)).collect();
        out.push_str("...");
    }
    out
}

/// Format characters that change how text is shown without being seen:
/// bidirectional controls, zero-width characters (ours included), BOMs.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
        || fingerprint::is_fingerprint_char(c)
}

/// Stamps a copy of `input` (a whole file of `format`) for the stamp's
/// recipient. The result is the stamped copy; on any error there is no copy
/// at all, never the original.
pub fn stamp(format: Format, input: &[u8], stamp: &Stamp) -> Result<Vec<u8>, MarkError> {
    let parts = stamp.parts()?;
    let out = match format {
        Format::Pdf => pdf::stamp(input, stamp, &parts)?,
        Format::Png | Format::Jpeg => image::stamp(format, input, stamp, &parts)?,
        Format::Text | Format::Markdown | Format::Csv | Format::Tsv => {
            let mut out = Vec::with_capacity(input.len() + input.len() / 4 + 1024);
            stamp_text_stream(format, input, &mut out, stamp, Some(input.len() as u64))?;
            out
        }
        Format::Json => text::stamp_json(input, stamp, &parts)?,
        Format::Docx | Format::Xlsx => office::stamp(format, input, stamp, &parts)?,
    };
    Ok(out)
}

/// Stamps UTF-8 text, Markdown, CSV or TSV from a reader to a writer in
/// constant memory (64 KiB chunks), for large files. `size_hint` (the input
/// length when known) sets how densely the fingerprint is repeated; without
/// it the densest spacing that stays cheap for large files is used. Returns
/// the number of bytes written.
///
/// On error, whatever was already written is an incomplete copy: the caller
/// must discard it (e.g. write to a staged upload that is never published).
pub fn stamp_text_stream<R: Read, W: Write>(
    format: Format,
    reader: R,
    writer: W,
    stamp: &Stamp,
    size_hint: Option<u64>,
) -> Result<u64, MarkError> {
    let parts = stamp.parts()?;
    text::stamp_stream(format, reader, writer, stamp, &parts, size_hint)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::datetime;

    fn sample() -> Stamp {
        Stamp {
            label: "CONFIDENTIAL".to_owned(),
            recipient_name: "Alex Doe".to_owned(),
            recipient_email: "alex@example.com".to_owned(),
            delivery: DeliveryId::from_bytes([1; 16]),
            issued_at: datetime!(2026-11-29 15:03 +01:00),
        }
    }

    #[test]
    fn the_line_reads_as_documented() {
        let line = sample().line().unwrap();
        assert_eq!(
            line,
            format!(
                "CONFIDENTIAL - for Alex Doe <alex@example.com> - 2026-11-29 14:03 UTC - delivery {}",
                DeliveryId::from_bytes([1; 16])
            )
        );
    }

    #[test]
    fn names_cannot_hide_or_reorder_the_stamp() {
        let mut s = sample();
        s.recipient_name = "Al\u{202E}ex\n\tDoe\u{200B}\u{2063}".to_owned();
        let parts = s.parts().unwrap();
        assert_eq!(parts.recipient, "for Alex Doe <alex@example.com>");
        s.recipient_name = "x".repeat(500);
        assert!(s.parts().unwrap().recipient.len() < 220);
    }

    #[test]
    fn empty_label_or_recipient_is_refused() {
        let mut s = sample();
        s.label = " \u{200B} ".to_owned();
        assert!(matches!(s.parts(), Err(MarkError::InvalidStamp(_))));
        let mut s = sample();
        s.recipient_name.clear();
        s.recipient_email.clear();
        assert!(matches!(s.parts(), Err(MarkError::InvalidStamp(_))));
        let mut s = sample();
        s.recipient_name.clear();
        assert_eq!(s.parts().unwrap().recipient, "for <alex@example.com>");
    }
}
