//! Text for the PDF standard fonts: WinAnsi bytes (what Helvetica with
//! `/Encoding /WinAnsiEncoding` shows) and Helvetica's advance widths.
//!
//! Characters outside WinAnsi (Cyrillic, Greek, CJK, Arabic, emoji, ...)
//! are transliterated to Latin with `deunicode` ("Алексей" -> "Aleksei",
//! "王小明" -> "Wang Xiao Ming"), and what has no transliteration becomes
//! `?`. The delivery id is ASCII, so it is always exact.

/// WinAnsi's bytes 0x80-0x9F.
const HIGH: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8A),
    ('‹', 0x8B),
    ('Œ', 0x8C),
    ('Ž', 0x8E),
    ('\u{2018}', 0x91),
    ('\u{2019}', 0x92),
    ('\u{201C}', 0x93),
    ('\u{201D}', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9A),
    ('›', 0x9B),
    ('œ', 0x9C),
    ('ž', 0x9E),
    ('Ÿ', 0x9F),
];

fn byte_of(c: char) -> Option<u8> {
    let code = u32::from(c);
    if (0x20..=0x7E).contains(&code) || (0xA0..=0xFF).contains(&code) {
        return u8::try_from(code).ok();
    }
    HIGH.iter().find(|(h, _)| *h == c).map(|(_, b)| *b)
}

fn char_of(byte: u8) -> char {
    HIGH.iter()
        .find(|(_, b)| *b == byte)
        .map_or(char::from(byte), |(c, _)| *c)
}

/// `text` as WinAnsi bytes, transliterating what WinAnsi lacks.
pub(crate) fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut Vec<u8>| {
        if run.is_empty() {
            return;
        }
        let latin = deunicode::deunicode_with_tofu(run, "?");
        let latin = latin.trim();
        let latin = if latin.is_empty() { "?" } else { latin };
        for c in latin.chars() {
            out.push(byte_of(c).unwrap_or(b'?'));
        }
        run.clear();
    };
    for c in text.chars() {
        match byte_of(c) {
            Some(b) => {
                flush(&mut run, &mut out);
                out.push(b);
            }
            None => run.push(c),
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Helvetica's widths for 0x20-0x7E, in 1/1000 em.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Helvetica-Bold's widths for 0x20-0x7E, in 1/1000 em.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Width of WinAnsi `bytes` at 1 pt, in points. Accented letters count as
/// their base letter, other signs as a digit (close enough to place a line).
pub(crate) fn width(bytes: &[u8], bold: bool) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let of_ascii = |b: u8| -> u16 {
        if (0x20..=0x7E).contains(&b) {
            table[usize::from(b - 0x20)]
        } else {
            556
        }
    };
    let mut total = 0u32;
    for &b in bytes {
        if b < 0x80 {
            total += u32::from(of_ascii(b));
        } else {
            let base = deunicode::deunicode_char(char_of(b)).unwrap_or("0");
            let base = base.as_bytes().first().copied().unwrap_or(b'0');
            total += u32::from(of_ascii(base));
        }
    }
    total as f32 / 1000.0
}

/// A PDF literal string `( ... )` of `bytes`, escaped.
pub(crate) fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            0x20..=0x7E => out.push(b),
            _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
        }
    }
    out.push(b')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_and_winansi_stay_and_others_are_transliterated() {
        assert_eq!(encode("Zoë Müller"), b"Zo\xEB M\xFCller".to_vec());
        assert_eq!(encode("€ – “x”"), b"\x80 \x96 \x93x\x94".to_vec());
        assert_eq!(encode("Алексей Иванов"), b"Aleksei Ivanov".to_vec());
        assert_eq!(encode("王小明"), b"Wang Xiao Ming".to_vec());
        let arabic = encode("محمد");
        assert!(
            !arabic.is_empty() && arabic.iter().all(u8::is_ascii_alphabetic),
            "{arabic:?}"
        );
        assert_eq!(encode("a 🦀 b"), b"a crab b".to_vec());
    }

    #[test]
    fn widths_and_escaping() {
        assert!((width(b"A", false) - 0.667).abs() < 1e-6);
        assert!((width(b"\xC4", false) - 0.667).abs() < 1e-6);
        assert!(width(b"CONFIDENTIAL", true) > width(b"CONFIDENTIAL", false));
        assert_eq!(literal(b"a(b)\\c\xE9"), b"(a\\(b\\)\\\\c\\351)".to_vec());
    }
}
