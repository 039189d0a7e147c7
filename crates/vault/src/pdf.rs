//! Plain PDFs written with lopdf: A4 pages of wrapped text in Helvetica,
//! for signed agreements and breach-notice letters, and a small layout
//! ([`Layout`]) of text and vector graphics for the exposure report. Characters outside the font's WinAnsi encoding
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
    ops.extend(footer(title, page, pages));
    Content { operations: ops }
}

/// A PDF of `text` followed by a page of `certificate` lines.
pub(crate) fn agreement_pdf(
    title: &str,
    text: &str,
    certificate: &[String],
) -> Result<Vec<u8>, VaultError> {
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
    let count = pages.len();
    let contents = pages
        .iter()
        .enumerate()
        .map(|(i, lines)| page_content(title, lines, i + 1, count).operations)
        .collect();
    assemble(title, contents)
}

/// One letter of [`letters_pdf`]: the lines above the text (sender,
/// date, recipient's name and address), the text, and the footer of its
/// pages.
pub(crate) struct Letter {
    pub head: Vec<String>,
    pub text: String,
    pub footer: String,
}

/// Letters, each starting on a new page (a page set per letter), numbered
/// within the letter so the set can be split after printing.
pub(crate) fn letters_pdf(title: &str, letters: &[Letter]) -> Result<Vec<u8>, VaultError> {
    let mut contents = Vec::new();
    for letter in letters {
        let mut lines: Vec<String> = letter
            .head
            .iter()
            .flat_map(|l| wrap(l, LINE_CHARS))
            .collect();
        lines.push(String::new());
        lines.extend(wrap(&letter.text, LINE_CHARS));
        let pages: Vec<&[String]> = lines.chunks(LINES_PER_PAGE).collect();
        let count = pages.len();
        for (i, chunk) in pages.into_iter().enumerate() {
            contents.push(page_content(&letter.footer, chunk, i + 1, count).operations);
        }
    }
    if contents.is_empty() {
        return Err(VaultError::InvalidInput(
            "there is no letter to write".into(),
        ));
    }
    assemble(title, contents)
}

/// A page being laid out top to bottom: text lines in Helvetica (F1) or
/// Helvetica-Bold (F2) and vector graphics, with a new page when the
/// next block does not fit.
pub(crate) struct Layout {
    pages: Vec<Vec<Operation>>,
    y: i64,
}

impl Layout {
    pub(crate) const LEFT: i64 = MARGIN;
    pub(crate) const WIDTH: i64 = PAGE_WIDTH - 2 * MARGIN;

    pub(crate) fn new() -> Self {
        Layout {
            pages: vec![Vec::new()],
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    /// Starts a new page unless `height` points still fit on this one.
    pub(crate) fn room(&mut self, height: i64) {
        if self.y - height < MARGIN {
            self.pages.push(Vec::new());
            self.y = PAGE_HEIGHT - MARGIN;
        }
    }

    fn ops(&mut self) -> &mut Vec<Operation> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// One line of text at `x` (from the left margin), `size` points.
    pub(crate) fn text_at(&mut self, x: i64, y: i64, text: &str, size: i64, bold: bool) {
        self.ops().extend([
            Operation::new("BT", vec![]),
            Operation::new(
                "Tf",
                vec![if bold { "F2" } else { "F1" }.into(), size.into()],
            ),
            Operation::new("Td", vec![x.into(), y.into()]),
            Operation::new("Tj", vec![Object::string_literal(win_ansi(text))]),
            Operation::new("ET", vec![]),
        ]);
    }

    /// Wrapped text, a line per `size + 4` points.
    pub(crate) fn text(&mut self, text: &str, size: i64, bold: bool) {
        // Helvetica averages about half the size per character.
        let width = usize::try_from(Self::WIDTH * 2 / size.max(1)).unwrap_or(LINE_CHARS);
        for line in wrap(text, width) {
            self.room(size + 4);
            self.y -= size + 4;
            let y = self.y;
            self.text_at(MARGIN, y, &line, size, bold);
        }
    }

    pub(crate) fn gap(&mut self, points: i64) {
        self.y -= points;
    }

    /// Reserves `height` points (on a new page if needed) and returns
    /// the y of its bottom edge, for drawing.
    pub(crate) fn block(&mut self, height: i64) -> i64 {
        self.room(height);
        self.y -= height;
        self.y
    }

    /// A filled rectangle in grey level `grey` (0 black, 1 white).
    pub(crate) fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, grey: f32) {
        self.ops().extend([
            Operation::new("q", vec![]),
            Operation::new("g", vec![grey.into()]),
            Operation::new("re", vec![x.into(), y.into(), w.into(), h.into()]),
            Operation::new("f", vec![]),
            Operation::new("Q", vec![]),
        ]);
    }

    /// A straight line, half a point wide.
    pub(crate) fn line(&mut self, from: (i64, i64), to: (i64, i64)) {
        self.ops().extend([
            Operation::new("q", vec![]),
            Operation::new("w", vec![0.5.into()]),
            Operation::new("m", vec![from.0.into(), from.1.into()]),
            Operation::new("l", vec![to.0.into(), to.1.into()]),
            Operation::new("S", vec![]),
            Operation::new("Q", vec![]),
        ]);
    }

    /// The document, with `title` and page numbers in every footer.
    pub(crate) fn finish(mut self, title: &str) -> Result<Vec<u8>, VaultError> {
        let count = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            page.extend(footer(title, i + 1, count));
        }
        assemble(title, self.pages)
    }
}

fn footer(title: &str, page: usize, pages: usize) -> [Operation; 5] {
    [
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
    ]
}

/// A whole PDF of A4 pages with the given content operations, Helvetica
/// as F1 and Helvetica-Bold as F2.
fn assemble(title: &str, pages: Vec<Vec<Operation>>) -> Result<Vec<u8>, VaultError> {
    let failed = |e: lopdf::Error| VaultError::Internal(format!("writing the PDF failed: {e}"));
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = |base: &str| {
        dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => base.to_owned(),
            "Encoding" => "WinAnsiEncoding",
        }
    };
    let regular = doc.add_object(font("Helvetica"));
    let bold = doc.add_object(font("Helvetica-Bold"));
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
    });
    let count = pages.len();
    let mut kids = Vec::with_capacity(count);
    for operations in pages {
        let content = Content { operations }.encode().map_err(failed)?;
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
