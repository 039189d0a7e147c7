//! A plain text PDF (lopdf): A4 pages of wrapped text in Helvetica, used
//! for signed agreements. Characters outside the font's WinAnsi encoding
//! are written as `\u{...}` escapes, so nothing is silently dropped.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

use crate::VaultError;

const PAGE_WIDTH: i64 = 595;
const PAGE_HEIGHT: i64 = 842;
const MARGIN: i64 = 56;
const FONT_SIZE: i64 = 10;
const LEADING: i64 = 14;
/// Helvetica at 10 pt averages about 5 pt a character; 90 fit in the
/// 483 pt between the margins with room to spare.
const LINE_CHARS: usize = 90;
const LINES_PER_PAGE: usize = ((PAGE_HEIGHT - 2 * MARGIN) / LEADING) as usize - 2;

/// Wraps `text` at word boundaries into lines of at most `width` chars.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let indent: String = paragraph.chars().take_while(|c| *c == ' ').collect();
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_owned();
            // A word longer than a line is cut.
            while word.chars().count() > width {
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                out.push(head);
            }
            let extra = usize::from(!line.is_empty()) + word.chars().count();
            if line.chars().count() + extra > width {
                out.push(std::mem::take(&mut line));
            }
            if line.is_empty() {
                line.push_str(&indent);
            } else {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    out
}

/// The bytes of `text` in WinAnsiEncoding (Latin-1 for what matters
/// here), with anything else escaped.
fn win_ansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match u32::from(c) {
            0x20..=0x7e | 0xa0..=0xff => out.push(u8::try_from(u32::from(c)).unwrap_or(b'?')),
            0x2018 | 0x2019 => out.push(b'\''),
            0x201c | 0x201d => out.push(b'"'),
            0x2013 | 0x2014 => out.push(b'-'),
            _ => out.extend(format!("\\u{{{:x}}}", u32::from(c)).bytes()),
        }
    }
    out
}

fn page_content(title: &str, lines: &[String], page: usize, pages: usize) -> Content {
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), FONT_SIZE.into()]),
        Operation::new("TL", vec![LEADING.into()]),
        Operation::new("Td", vec![MARGIN.into(), (PAGE_HEIGHT - MARGIN).into()]),
    ];
    for line in lines {
        ops.push(Operation::new(
            "Tj",
            vec![Object::string_literal(win_ansi(line))],
        ));
        ops.push(Operation::new("T*", vec![]));
    }
    ops.push(Operation::new("ET", vec![]));
    // The footer: title and page number.
    ops.extend([
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 8.into()]),
        Operation::new("Td", vec![MARGIN.into(), (MARGIN / 2).into()]),
        Operation::new(
            "Tj",
            vec![Object::string_literal(win_ansi(&format!(
                "{title} - page {page} of {pages}"
            )))],
        ),
        Operation::new("ET", vec![]),
    ]);
    Content { operations: ops }
}

/// A PDF of `text` followed by a page of `certificate` lines.
pub(crate) fn agreement_pdf(
    title: &str,
    text: &str,
    certificate: &[String],
) -> Result<Vec<u8>, VaultError> {
    let failed = |e: lopdf::Error| VaultError::Internal(format!("writing the PDF failed: {e}"));
    let mut pages: Vec<Vec<String>> = wrap(text, LINE_CHARS)
        .chunks(LINES_PER_PAGE)
        .map(<[String]>::to_vec)
        .collect();
    let certificate_lines: Vec<String> = certificate
        .iter()
        .flat_map(|l| wrap(l, LINE_CHARS))
        .collect();
    pages.extend(
        certificate_lines
            .chunks(LINES_PER_PAGE)
            .map(<[String]>::to_vec),
    );

    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let count = pages.len();
    let mut kids = Vec::with_capacity(count);
    for (i, lines) in pages.iter().enumerate() {
        let content = page_content(title, lines, i + 1, count)
            .encode()
            .map_err(failed)?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => i64::try_from(count).unwrap_or(i64::MAX),
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), PAGE_WIDTH.into(), PAGE_HEIGHT.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    let info_id = doc.add_object(dictionary! {
        "Title" => Object::string_literal(win_ansi(title)),
        "Producer" => Object::string_literal("confidant"),
    });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| VaultError::Internal(format!("writing the PDF failed: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_at_words_and_keep_their_indent() {
        let lines = wrap("   a) one two three four", 12);
        assert_eq!(lines, ["   a) one", "   two three", "   four"]);
        assert_eq!(wrap("a\n\nb", 10), ["a", "", "b"]);
        let long = "x".repeat(25);
        assert_eq!(wrap(&long, 10).len(), 3);
    }

    #[test]
    fn text_outside_the_font_is_escaped_not_dropped() {
        assert_eq!(win_ansi("Zoë"), b"Zo\xeb".to_vec());
        assert_eq!(
            win_ansi("Иван"),
            b"\\u{418}\\u{432}\\u{430}\\u{43d}".to_vec()
        );
    }
}
