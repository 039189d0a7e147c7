//! The invisible fingerprint of text copies: the delivery id written in
//! zero-width characters, repeated throughout the text, so that an excerpt
//! (or an excerpt pasted into another text) still names its delivery.
//!
//! One frame is 74 characters, none of them visible:
//!
//! ```text
//! U+2063 (start)  72 symbols of 2 bits  U+200C (end)
//! ```
//!
//! The symbols are U+200B, U+200D, U+2060 and U+2061 for 0-3, carrying 18
//! bytes, most significant bits first: the 16 bytes of the delivery id and
//! a 2-byte check (the first two bytes of SHA-256 over a domain string and
//! the id), so a damaged frame is ignored rather than misread (a random
//! frame passes with odds of 1 in 65,536). The end mark U+200C
//! (zero-width non-joiner) keeps a following Arabic or Indic letter in the
//! form it had after the space the frame follows.
//!
//! Frames go only where they change nothing visible: after a space between
//! two words (or between two CJK characters, which have no spaces), never
//! next to an emoji (U+200D would join emoji), never inside a Markdown code
//! block or span, an HTML tag, a CSV header or a JSON key. [`Marker`] places
//! them in one pass, as a stream.

use aws_lc_rs::digest;
use confidant_core::delivery::DeliveryId;

/// First character of a frame.
pub(crate) const START: char = '\u{2063}';
/// Last character of a frame.
pub(crate) const END: char = '\u{200C}';
/// The 2-bit symbols.
const SYMBOLS: [char; 4] = ['\u{200B}', '\u{200D}', '\u{2060}', '\u{2061}'];
/// Bytes carried by a frame: the id and the check.
const PAYLOAD: usize = 18;
/// Symbols in a frame.
const FRAME_SYMBOLS: usize = PAYLOAD * 4;
/// Characters in a frame, start and end included.
pub const FRAME_CHARS: usize = FRAME_SYMBOLS + 2;

/// Whether `c` is one of the characters frames are made of.
pub fn is_fingerprint_char(c: char) -> bool {
    c == START || c == END || SYMBOLS.contains(&c)
}

fn check(id: &DeliveryId) -> [u8; 2] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"confidant fingerprint v1\0");
    ctx.update(id.as_bytes());
    let d = ctx.finish();
    let bytes = d.as_ref();
    [bytes[0], bytes[1]]
}

/// The frame of a delivery id.
pub fn encode(id: &DeliveryId) -> String {
    let mut payload = [0u8; PAYLOAD];
    payload[..16].copy_from_slice(id.as_bytes());
    payload[16..].copy_from_slice(&check(id));
    let mut out = String::with_capacity(FRAME_CHARS * 3);
    out.push(START);
    for byte in payload {
        for shift in [6, 4, 2, 0] {
            out.push(SYMBOLS[usize::from((byte >> shift) & 3)]);
        }
    }
    out.push(END);
    out
}

fn symbol_value(c: char) -> Option<u8> {
    SYMBOLS
        .iter()
        .position(|&s| s == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// Every valid frame in `text`, in order of appearance.
pub fn decode_all(text: &str) -> Vec<DeliveryId> {
    let mut found = Vec::new();
    let mut chars = text.char_indices();
    while let Some((start, c)) = chars.next() {
        if c != START {
            continue;
        }
        if let Some(id) = decode_at(&text[start + START.len_utf8()..]) {
            found.push(id);
            // Skip the frame's symbols and end mark.
            for _ in 0..=FRAME_SYMBOLS {
                chars.next();
            }
        }
    }
    found
}

/// A frame's symbols and end mark at the start of `rest`.
fn decode_at(rest: &str) -> Option<DeliveryId> {
    let mut payload = [0u8; PAYLOAD];
    let mut chars = rest.chars();
    for i in 0..FRAME_SYMBOLS {
        let value = symbol_value(chars.next()?)?;
        payload[i / 4] = (payload[i / 4] << 2) | value;
    }
    if chars.next()? != END {
        return None;
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&payload[..16]);
    let id = DeliveryId::from_bytes(id);
    (check(&id) == payload[16..]).then_some(id)
}

/// `text` without its fingerprint frames (whole frames only: zero-width
/// joiners in emoji sequences, or non-joiners in Persian or Indic words, are
/// the text's own and stay).
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(START) {
        out.push_str(&rest[..i]);
        let after = &rest[i + START.len_utf8()..];
        match frame_len(after) {
            Some(len) => rest = &after[len..],
            None => {
                out.push(START);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Byte length of a frame's symbols and end mark at the start of `rest`,
/// whether or not its check holds.
fn frame_len(rest: &str) -> Option<usize> {
    let mut len = 0;
    let mut chars = rest.chars();
    for _ in 0..FRAME_SYMBOLS {
        let c = chars.next()?;
        symbol_value(c)?;
        len += c.len_utf8();
    }
    (chars.next()? == END).then_some(len + END.len_utf8())
}

/// How many bytes of original text lie between two frames, for a text of
/// `len` bytes: about 24 frames per text, at least one every 4 KiB, and no
/// denser than one per 120 bytes. A fifth of the text then holds four or
/// more frames.
pub(crate) fn interval_for(len: Option<u64>) -> usize {
    const MIN: u64 = 120;
    const MAX: u64 = 4096;
    let interval = len.map_or(MAX, |len| (len / 24).clamp(MIN, MAX));
    usize::try_from(interval).unwrap_or(4096)
}

/// CJK ideographs, kana and hangul: scripts written without spaces.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

/// The syntax the text is written in, which says where frames may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// Plain text.
    Prose,
    /// Markdown: not in code blocks, code spans or HTML tags.
    Markdown,
    /// CSV or TSV with this delimiter: inside fields of records after the
    /// first (the header), between words or at the end of a field with
    /// letters and no `@`, `/` or `:` (so e-mails, URLs, times and numbers
    /// stay as they are).
    Delimited(char),
    /// JSON: inside string values only, between words.
    Json,
}

/// Places frames into a text as it streams through.
#[derive(Debug)]
pub(crate) struct Marker {
    frame: String,
    interval: usize,
    /// Original bytes since the last frame.
    since: usize,
    syntax: Syntax,
    /// The last two characters seen (`'\n'` at the start).
    prev1: char,
    prev2: char,
    // Markdown
    line_start: bool,
    line_lead: String,
    in_fence: bool,
    in_code_span: bool,
    in_tag: bool,
    // Delimited
    record: u64,
    in_quotes: bool,
    quote_pending: bool,
    field_len: usize,
    field_letter: bool,
    field_bad: bool,
    // JSON
    stack: Vec<bool>,
    expect_key: bool,
    in_string: bool,
    string_is_value: bool,
    escape: bool,
}

impl Marker {
    pub(crate) fn new(id: &DeliveryId, syntax: Syntax, interval: usize) -> Self {
        Marker {
            frame: encode(id),
            interval,
            // The first good place gets a frame, so short texts have one.
            since: interval,
            syntax,
            prev1: '\n',
            prev2: '\n',
            line_start: true,
            line_lead: String::new(),
            in_fence: false,
            in_code_span: false,
            in_tag: false,
            record: 0,
            in_quotes: false,
            quote_pending: false,
            field_len: 0,
            field_letter: false,
            field_bad: false,
            stack: Vec::new(),
            expect_key: false,
            in_string: false,
            string_is_value: false,
            escape: false,
        }
    }

    /// The frame this marker writes.
    pub(crate) fn frame(&self) -> &str {
        &self.frame
    }

    /// Whether a frame may go between the last character and `c`.
    fn word_boundary(&self, c: char) -> bool {
        (self.prev1 == ' ' && !self.prev2.is_whitespace() && c.is_alphanumeric())
            || (is_cjk(self.prev1) && is_cjk(c))
    }

    fn emit_frame(&mut self, out: &mut String) {
        out.push_str(&self.frame);
        self.since = 0;
    }

    fn due(&self) -> bool {
        self.since >= self.interval
    }

    /// Copies `text` to `out`, adding frames.
    pub(crate) fn push(&mut self, text: &str, out: &mut String) {
        for c in text.chars() {
            match self.syntax {
                Syntax::Prose => {
                    if self.due() && self.word_boundary(c) {
                        self.emit_frame(out);
                    }
                    out.push(c);
                }
                Syntax::Markdown => self.push_markdown(c, out),
                Syntax::Delimited(delimiter) => self.push_delimited(c, delimiter, out),
                Syntax::Json => self.push_json(c, out),
            }
            self.since += c.len_utf8();
            self.prev2 = self.prev1;
            self.prev1 = c;
        }
    }

    /// Ends the text (a CSV field still open at the end may take a frame).
    pub(crate) fn finish(&mut self, out: &mut String) {
        if let Syntax::Delimited(_) = self.syntax {
            if self.quote_pending {
                if self.field_may_end_with_frame() {
                    self.emit_frame(out);
                }
                out.push('"');
                self.quote_pending = false;
            } else if !self.in_quotes && self.field_may_end_with_frame() {
                self.emit_frame(out);
            }
        }
    }

    fn push_markdown(&mut self, c: char, out: &mut String) {
        if c == '\n' {
            self.line_start = true;
            self.line_lead.clear();
            self.in_tag = false;
            out.push(c);
            return;
        }
        if self.line_start {
            if c == ' ' && self.line_lead.is_empty() {
                out.push(c);
                return;
            }
            let continues = self.line_lead.is_empty() || self.line_lead.ends_with(c);
            if matches!(c, '`' | '~') && continues && self.line_lead.len() < 3 {
                self.line_lead.push(c);
                if self.line_lead == "```" || self.line_lead == "~~~" {
                    self.in_fence = !self.in_fence;
                    self.line_start = false;
                }
                out.push(c);
                return;
            }
            // Not a fence after all: its backticks open and close code spans.
            if !self.in_fence {
                for _ in self.line_lead.matches('`') {
                    self.in_code_span = !self.in_code_span;
                }
            }
            self.line_start = false;
        }
        let may = !self.in_fence && !self.in_code_span && !self.in_tag;
        if may && self.due() && self.word_boundary(c) {
            self.emit_frame(out);
        }
        match c {
            '`' if !self.in_fence => self.in_code_span = !self.in_code_span,
            '<' if !self.in_code_span && !self.in_fence => self.in_tag = true,
            '>' => self.in_tag = false,
            _ => {}
        }
        out.push(c);
    }

    fn field_may_end_with_frame(&self) -> bool {
        self.record > 0
            && self.due()
            && self.field_len > 0
            && self.field_letter
            && !self.field_bad
            && !self.prev1.is_whitespace()
    }

    fn end_field(&mut self) {
        self.field_len = 0;
        self.field_letter = false;
        self.field_bad = false;
    }

    fn push_delimited(&mut self, c: char, delimiter: char, out: &mut String) {
        if self.quote_pending {
            self.quote_pending = false;
            if c == '"' {
                // An escaped quote inside a quoted field.
                out.push_str("\"\"");
                self.field_len += 1;
                // Make the pair count as one quote character for `prev`.
                return;
            }
            // The quote closed the field: a frame may go before it.
            if self.field_may_end_with_frame() {
                self.emit_frame(out);
            }
            out.push('"');
            self.in_quotes = false;
        }
        if self.in_quotes {
            if c == '"' {
                self.quote_pending = true;
                return;
            }
            self.field_char(c, out);
            return;
        }
        if c == delimiter || c == '\n' || c == '\r' {
            if self.field_may_end_with_frame() {
                self.emit_frame(out);
            }
            self.end_field();
            if c == '\n' {
                self.record += 1;
            }
            out.push(c);
            return;
        }
        if c == '"' && self.field_len == 0 {
            self.in_quotes = true;
            out.push(c);
            return;
        }
        self.field_char(c, out);
    }

    fn field_char(&mut self, c: char, out: &mut String) {
        if self.record > 0 && self.due() && self.field_len > 0 && self.word_boundary(c) {
            self.emit_frame(out);
        }
        if c.is_alphabetic() {
            self.field_letter = true;
        }
        if matches!(c, '@' | '/' | ':' | '=') {
            self.field_bad = true;
        }
        self.field_len += 1;
        out.push(c);
    }

    fn push_json(&mut self, c: char, out: &mut String) {
        if self.in_string {
            if self.escape {
                self.escape = false;
                out.push(c);
                return;
            }
            match c {
                '\\' => self.escape = true,
                '"' => self.in_string = false,
                _ => {
                    if self.string_is_value && self.due() && self.word_boundary(c) {
                        self.emit_frame(out);
                    }
                }
            }
            out.push(c);
            return;
        }
        match c {
            '"' => {
                self.in_string = true;
                let in_object = self.stack.last().copied().unwrap_or(false);
                self.string_is_value = !(in_object && self.expect_key);
            }
            '{' => {
                self.stack.push(true);
                self.expect_key = true;
            }
            '[' => {
                self.stack.push(false);
                self.expect_key = false;
            }
            '}' | ']' => {
                self.stack.pop();
                self.expect_key = false;
            }
            ':' => self.expect_key = false,
            ',' => self.expect_key = self.stack.last().copied().unwrap_or(false),
            _ => {}
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn id(n: u8) -> DeliveryId {
        DeliveryId::from_bytes([n; 16])
    }

    fn mark(text: &str, syntax: Syntax, interval: usize) -> String {
        let mut m = Marker::new(&id(9), syntax, interval);
        let mut out = String::new();
        m.push(text, &mut out);
        m.finish(&mut out);
        out
    }

    #[test]
    fn a_frame_round_trips_and_is_invisible() {
        let frame = encode(&id(3));
        assert_eq!(frame.chars().count(), FRAME_CHARS);
        assert!(frame.chars().all(is_fingerprint_char));
        assert_eq!(decode_all(&format!("a{frame}b{frame}")), vec![id(3), id(3)]);
    }

    #[test]
    fn a_damaged_frame_is_ignored() {
        let frame = encode(&id(3));
        let mut chars: Vec<char> = frame.chars().collect();
        chars[10] = if chars[10] == SYMBOLS[0] {
            SYMBOLS[1]
        } else {
            SYMBOLS[0]
        };
        let damaged: String = chars.iter().collect();
        assert!(decode_all(&damaged).is_empty());
        let cut: String = frame.chars().take(40).collect();
        assert!(decode_all(&cut).is_empty());
        // A frame right after a cut one is still read.
        assert_eq!(decode_all(&format!("{cut}{frame}")), vec![id(3)]);
    }

    #[test]
    fn prose_frames_go_between_words_only() {
        let text = "Hello world, this is a test of the marker. 👩 💻 done";
        let out = mark(text, Syntax::Prose, 10);
        assert_eq!(strip(&out), text);
        assert!(!decode_all(&out).is_empty());
        for (i, c) in out.char_indices() {
            if c == START {
                let before = out[..i].chars().last().unwrap();
                assert_eq!(before, ' ', "{out:?}");
            }
        }
    }

    #[test]
    fn cjk_gets_frames_without_spaces() {
        let text = "机密文件内容不得外传机密文件内容不得外传机密文件内容不得外传";
        let out = mark(text, Syntax::Prose, 12);
        assert_eq!(strip(&out), text);
        assert!(decode_all(&out).len() >= 2);
    }

    #[test]
    fn markdown_code_stays_untouched() {
        let text = "Some words here\n```\nlet a = b c d e f g;\n```\nand `x y z w` more words <span class=\"a b\">q</span> end\n`p q r` after span at line start";
        let out = mark(text, Syntax::Markdown, 1);
        assert_eq!(strip(&out), text);
        let fence = out.find("```").unwrap();
        let fence_end = out.rfind("```").unwrap();
        assert!(!out[fence..fence_end].contains(START));
        let span = out.find("`x").unwrap();
        assert!(out[span..].starts_with("`x y z w`"));
        assert!(out.contains("class=\"a b\""));
        assert!(out.contains("`p q r`"));
        assert!(!decode_all(&out).is_empty());
    }

    #[test]
    fn csv_keeps_header_emails_numbers_and_quotes() {
        let text = "First Name,email,amount\n\"Doe, Alex\",alex@example.com,12.5\nAnn Lee,\"a\"\"b c\",7\nZed,z@x.y,8";
        let out = mark(text, Syntax::Delimited(','), 1);
        assert_eq!(strip(&out), text);
        let first_line = out.lines().next().unwrap();
        assert!(!first_line.contains(START));
        assert!(out.contains("alex@example.com,12.5"));
        assert!(decode_all(&out).len() >= 3, "{out:?}");
    }

    #[test]
    fn json_frames_only_in_values() {
        let text = r#"{"full name": "Alex Doe", "list": ["a b", {"k k": "v w"}], "n": 1}"#;
        let out = mark(text, Syntax::Json, 1);
        assert_eq!(strip(&out), text);
        assert!(out.contains("\"full name\""));
        assert!(out.contains("\"k k\""));
        assert_eq!(decode_all(&out).len(), 3);
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    }

    proptest! {
        #[test]
        fn excerpts_of_a_fifth_still_decode(
            words in proptest::collection::vec("[a-zA-Zа-яё]{1,9}", 200..600),
            start_frac in 0.0f64..0.8,
        ) {
            let text = words.join(" ");
            let interval = interval_for(Some(text.len() as u64));
            let out = mark(&text, Syntax::Prose, interval);
            prop_assert_eq!(strip(&out), text);
            // A fifth of the original text, wherever it starts.
            let chars: Vec<char> = out.chars().collect();
            let visible: Vec<usize> = chars
                .iter()
                .enumerate()
                .filter(|(_, c)| !is_fingerprint_char(**c))
                .map(|(i, _)| i)
                .collect();
            let n = visible.len();
            let from = visible[(start_frac * n as f64) as usize];
            let to = visible[((start_frac + 0.2) * n as f64) as usize];
            let excerpt: String = chars[from..to].iter().collect();
            let pasted = format!("Some other text before. {excerpt} And after.");
            let found = decode_all(&pasted);
            prop_assert!(!found.is_empty(), "no frame in a 20% excerpt");
            prop_assert!(found.iter().all(|f| *f == id(9)));
        }

        #[test]
        fn random_text_never_decodes_to_a_wrong_id(text in "\\PC{0,400}") {
            for found in decode_all(&text) {
                // Only real frames decode, and random text has none.
                prop_assert!(text.contains(&encode(&found)));
            }
        }
    }
}
