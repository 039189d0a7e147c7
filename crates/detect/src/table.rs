//! Column context in delimited text (CSV, TSV and the like): a header cell
//! that names a kind (`ssn`, `date_of_birth`, `Phone #`, `card`) counts as a
//! context word for the values in its column on every later row of the
//! table, however far below the header they are.
//!
//! A header is a line of at least two non-empty cells separated by a tab,
//! comma, semicolon or pipe (whichever it holds most of), every non-empty
//! cell a short label (at most [`LABEL_MAX`] bytes and five words of
//! letters, digits, spaces and `_-.,/#()`, starting with a letter), at least
//! one of them holding a context word. The table then runs over the lines
//! after it while each holds that delimiter: a line without it (an empty
//! line, a sentence) ends the table, and a line that is itself such a header
//! starts a new one. A row with as many cells as the header gets the
//! header's words for its cells; a ragged row gets none. In every row of a
//! table, the other context words that count are those of the row itself:
//! words on other rows, the header's words for other columns among them, say
//! nothing about its values.
//!
//! Cells are split as RFC 4180 says (a cell that starts with `"` runs to the
//! closing quote, `""` inside it is a quote), but a record is one line: a
//! quoted cell holding a line break makes its row ragged, and the line after
//! it usually ends the table.
//!
//! Each line is looked at once, so the work is linear in the text. A scan
//! that starts inside a text (the streaming scanner's windows) passes in the
//! header in effect where it starts and gets back the header in effect at a
//! later line start, to hand on to the next window.

use std::ops::Range;

use crate::Kind;
use crate::context::{Context, KINDS, label_words};

/// Longest header label, in bytes.
pub(crate) const LABEL_MAX: usize = 48;
/// Longest line looked at as a possible header, in bytes.
const HEADER_LINE_MAX: usize = 8 * 1024;
/// The delimiters a table may use, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b'\t', b',', b';', b'|'];

/// A table's header: its delimiter, how many cells it has, and each
/// column's context (the score change per kind, by `Kind as usize`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    delimiter: u8,
    cells: usize,
    columns: Vec<[f32; KINDS]>,
    /// Per column: 0 when it does not hold people's names (see
    /// [`person_label`]), else how many words a cell needs to count as one
    /// (2 under a bare "name", where a single word is as likely a
    /// company's name; 1 under "first_name", "surname", "customer" ...).
    people: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Cell {
    start: usize,
    end: usize,
    header: usize,
    column: usize,
}

/// Where the tables of a text are: every table row, and every cell of a
/// column whose header holds a context word.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    rows: Vec<Range<usize>>,
    header_lines: Vec<Range<usize>>,
    cells: Vec<Cell>,
    headers: Vec<Header>,
}

impl Layout {
    /// Finds the tables in `text`. `carried` is the header in effect at the
    /// first line start of `text` (offset 0 when `at_line_start`, else just
    /// after the first `\n`); a line cut by the start of `text` is not
    /// looked at. Returns the layout and the header in effect at the first
    /// line start at or after `hand_on_at` (`None` when no line starts
    /// there or no table runs there).
    pub(crate) fn scan(
        context: &Context,
        text: &[u8],
        at_line_start: bool,
        carried: Option<Header>,
        hand_on_at: usize,
    ) -> (Layout, Option<Header>) {
        let mut layout = Layout::default();
        let mut pos = if at_line_start {
            0
        } else {
            match text.iter().position(|b| *b == b'\n') {
                Some(i) => i + 1,
                None => return (layout, None),
            }
        };
        let mut current: Option<usize> = carried.map(|h| {
            layout.headers.push(h);
            0
        });
        let mut handed_on: Option<Option<Header>> = None;
        let mut spans: Vec<Range<usize>> = Vec::new();
        while pos < text.len() {
            if handed_on.is_none() && pos >= hand_on_at {
                handed_on = Some(current.and_then(|i| layout.headers.get(i).cloned()));
            }
            let facts = line_facts(text, pos);
            let next = facts.next;
            let mut line = &text[pos..next];
            while let [rest @ .., b'\n' | b'\r'] = line {
                line = rest;
            }
            if let Some(h) = facts
                .maybe_header()
                .then(|| header(context, line))
                .flatten()
            {
                layout.header_lines.push(pos..pos + line.len());
                layout.headers.push(h);
                current = Some(layout.headers.len() - 1);
            } else if let Some((i, h)) = current.and_then(|i| Some((i, layout.headers.get(i)?))) {
                if facts.holds(h.delimiter) {
                    layout.rows.push(pos..pos + line.len());
                    split(line, h.delimiter, &mut spans);
                    if spans.len() == h.cells {
                        for (column, span) in spans.iter().enumerate() {
                            if h.columns[column].iter().any(|d| *d != 0.0) || h.people[column] > 0 {
                                layout.cells.push(Cell {
                                    start: pos + span.start,
                                    end: pos + span.end,
                                    header: i,
                                    column,
                                });
                            }
                        }
                    }
                } else {
                    current = None;
                }
            }
            pos = next;
        }
        // A text that ends with a line break has a line start at its end.
        if handed_on.is_none() && text.last() == Some(&b'\n') && hand_on_at <= text.len() {
            handed_on = Some(current.and_then(|i| layout.headers.get(i).cloned()));
        }
        (layout, handed_on.unwrap_or_default())
    }

    /// Where context words for `start..end` may be looked for: its table
    /// row when it sits in one; otherwise the text between the header lines
    /// around it (a header's words speak only for its columns).
    pub(crate) fn bounds(&self, start: usize, end: usize, len: usize) -> Range<usize> {
        let i = self.rows.partition_point(|r| r.start <= start);
        if let Some(r) = i.checked_sub(1).and_then(|i| self.rows.get(i))
            && end <= r.end
        {
            return r.clone();
        }
        let i = self.header_lines.partition_point(|h| h.end <= start);
        let from = i
            .checked_sub(1)
            .and_then(|i| self.header_lines.get(i))
            .map_or(0, |h| h.end);
        let to = self.header_lines.get(i).map_or(len, |h| h.start.max(end));
        from..to
    }

    /// Whether `start..end` lies in a table row (one that matches its
    /// header's cells or not).
    pub(crate) fn in_row(&self, start: usize, end: usize) -> bool {
        let i = self.rows.partition_point(|r| r.start <= start);
        i.checked_sub(1)
            .and_then(|i| self.rows.get(i))
            .is_some_and(|r| end <= r.end)
    }

    /// The cells of columns that hold people's names, as ranges of the
    /// text, each with the number of words it needs to count as a name.
    pub(crate) fn name_cells(&self) -> impl Iterator<Item = (Range<usize>, usize)> + '_ {
        self.cells.iter().filter_map(|c| {
            let h = self.headers.get(c.header)?;
            let words = *h.people.get(c.column)?;
            (words > 0).then_some((c.start..c.end, usize::from(words)))
        })
    }

    /// The score change for `kind` from the header of the column whose cell
    /// holds `start..end` (0 outside such a cell).
    pub(crate) fn column(&self, start: usize, end: usize, kind: Kind) -> f32 {
        let i = self.cells.partition_point(|c| c.start <= start);
        let Some(c) = i.checked_sub(1).and_then(|i| self.cells.get(i)) else {
            return 0.0;
        };
        if end > c.end {
            return 0.0;
        }
        self.headers
            .get(c.header)
            .and_then(|h| h.columns.get(c.column))
            .map_or(0.0, |d| d[kind as usize])
    }
}

/// What one pass over a line tells: where the next line starts, how many
/// of each delimiter it holds, and whether all its other bytes may stand in
/// a header.
struct LineFacts {
    next: usize,
    delimiters: [usize; DELIMITERS.len()],
    label_bytes: bool,
}

impl LineFacts {
    fn maybe_header(&self) -> bool {
        self.label_bytes && self.delimiters.iter().any(|n| *n > 0)
    }

    fn holds(&self, delimiter: u8) -> bool {
        DELIMITERS
            .iter()
            .position(|d| *d == delimiter)
            .is_some_and(|i| self.delimiters[i] > 0)
    }
}

/// Byte classes for [`line_facts`]: `LABEL` may stand in a header (in a
/// label, quoting one, or before the line break), `1 + i` is
/// `DELIMITERS[i]`, `NEWLINE` ends the line, `OTHER` cannot stand in a
/// header.
const LABEL: u8 = 0;
const NEWLINE: u8 = 5;
const OTHER: u8 = 6;
const CLASSES: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                b' ' | b'_' | b'-' | b'.' | b',' | b'/' | b'#' | b'(' | b')' | b'"' | b'\r'
            )
        {
            t[b] = LABEL;
        }
        b += 1;
    }
    let mut i = 0;
    while i < DELIMITERS.len() {
        t[DELIMITERS[i] as usize] = 1 + i as u8;
        i += 1;
    }
    t[b'\n' as usize] = NEWLINE;
    t
};

/// One pass over the line that starts at `pos`. Most lines of most texts
/// hold no delimiter, and that is all there is to know about them: they
/// are found with `memchr` and not looked at byte by byte.
fn line_facts(text: &[u8], pos: usize) -> LineFacts {
    let mut facts = LineFacts {
        next: text.len(),
        delimiters: [0; DELIMITERS.len()],
        label_bytes: true,
    };
    let end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i);
    let line = &text[pos..end];
    let [tab, comma, semicolon, pipe] = DELIMITERS;
    if memchr::memchr3(tab, comma, semicolon, line).is_none()
        && memchr::memchr(pipe, line).is_none()
    {
        facts.next = (end + 1).min(text.len());
        return facts;
    }
    for (i, b) in text[pos..].iter().enumerate() {
        match CLASSES[usize::from(*b)] {
            LABEL => {}
            NEWLINE => {
                facts.next = pos + i + 1;
                break;
            }
            OTHER => facts.label_bytes = false,
            d => {
                if let Some(n) = facts.delimiters.get_mut(usize::from(d - 1)) {
                    *n += 1;
                }
            }
        }
    }
    facts
}

/// The cells of `line` split at `delimiter` outside quotes, as ranges into
/// `line`, into `out`.
fn split(line: &[u8], delimiter: u8, out: &mut Vec<Range<usize>>) {
    out.clear();
    let mut start = 0;
    let mut i = 0;
    let mut quoted = false;
    while i < line.len() {
        let b = line[i];
        if quoted {
            if b == b'"' {
                if line.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if b == delimiter {
            out.push(start..i);
            start = i + 1;
        } else if b == b'"' && line[start..i].iter().all(|c| *c == b' ') {
            quoted = true;
        }
        i += 1;
    }
    out.push(start..line.len());
}

/// `line` read as a header: its delimiter is the one it holds most of; each
/// non-empty cell must be a label, and at least one must hold a context
/// word.
fn header(context: &Context, line: &[u8]) -> Option<Header> {
    if line.len() > HEADER_LINE_MAX {
        return None;
    }
    let delimiter = DELIMITERS
        .iter()
        .copied()
        .map(|d| (line.iter().filter(|b| **b == d).count(), d))
        .filter(|(n, _)| *n > 0)
        .reduce(|best, next| if next.0 > best.0 { next } else { best })?
        .1;
    let mut spans = Vec::new();
    split(line, delimiter, &mut spans);
    let mut labels = 0;
    let mut columns = Vec::with_capacity(spans.len());
    let mut people = Vec::with_capacity(spans.len());
    let mut any = false;
    // A column named just "name" holds people's names when another column
    // holds personal data (an SSN, a phone number, an e-mail address ...).
    let mut plain_name = Vec::new();
    let mut personal = false;
    for (column, span) in spans.iter().enumerate() {
        let label = trim_label(&line[span.clone()]);
        if label.is_empty() {
            columns.push([0.0; KINDS]);
            people.push(0);
            continue;
        }
        if !is_label(label) {
            return None;
        }
        labels += 1;
        let deltas = context.column(label);
        let raises = deltas.iter().any(|d| *d > 0.0);
        any |= raises || deltas.iter().any(|d| *d < 0.0);
        let words = label_words(label);
        personal |= raises
            || words
                .split(|b| *b == b' ')
                .any(|w| matches!(w, b"email" | b"mail"));
        match person_label(&words) {
            PersonLabel::Yes => {
                any = true;
                people.push(1);
            }
            PersonLabel::IfPersonal => {
                plain_name.push(column);
                people.push(0);
            }
            PersonLabel::No => people.push(0),
        }
        columns.push(deltas);
    }
    if personal && !plain_name.is_empty() {
        any = true;
        for column in plain_name {
            people[column] = 2;
        }
    }
    (labels >= 2 && any).then_some(Header {
        delimiter,
        cells: spans.len(),
        columns,
        people,
    })
}

enum PersonLabel {
    Yes,
    IfPersonal,
    No,
}

/// Whether a column label (as [`label_words`]) names people: "full name",
/// "first_name", "Surname", "customer", "cardholder", "patient name" do;
/// "name" alone does when the table holds personal data; "product name",
/// "username" and "file name" do not.
fn person_label(words: &[u8]) -> PersonLabel {
    const PERSON: &[&[u8]] = &[
        b"full",
        b"first",
        b"last",
        b"given",
        b"family",
        b"middle",
        b"customer",
        b"client",
        b"patient",
        b"employee",
        b"contact",
        b"cardholder",
        b"holder",
        b"person",
        b"member",
        b"student",
        b"tenant",
        b"guest",
        b"passenger",
        b"applicant",
        b"recipient",
        b"beneficiary",
        b"owner",
        b"legal",
    ];
    let words: Vec<&[u8]> = words
        .split(|b| *b == b' ')
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        [b"name"] => PersonLabel::IfPersonal,
        [b"surname" | b"forename" | b"forenames" | b"cardholder" | b"customer" | b"patient"] => {
            PersonLabel::Yes
        }
        [rest @ .., b"name" | b"names" | b"surname"]
            if !rest.is_empty() && rest.iter().all(|w| PERSON.contains(w)) =>
        {
            PersonLabel::Yes
        }
        _ => PersonLabel::No,
    }
}

fn trim_label(cell: &[u8]) -> &[u8] {
    let cell = cell.trim_ascii();
    match cell {
        [b'"', inner @ .., b'"'] => inner.trim_ascii(),
        _ => cell,
    }
}

/// A column name rather than a value: short, a few words, starting with a
/// letter, of letters, digits, spaces and `_-.,/#()`.
fn is_label(label: &[u8]) -> bool {
    label.len() <= LABEL_MAX
        && label.first().is_some_and(u8::is_ascii_alphabetic)
        && label.iter().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b' ' | b'_' | b'-' | b'.' | b',' | b'/' | b'#' | b'(' | b')'
                )
        })
        && label
            .split(|b| *b == b' ')
            .filter(|w| !w.is_empty())
            .count()
            <= 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let context = Context::new();
        // (line, its delimiter and cell count when it is a header)
        let cases: &[(&str, Option<(u8, usize)>)] = &[
            ("name,ssn,dob", Some((b',', 3))),
            ("id\tPhone Number\tnotes", Some((b'\t', 3))),
            ("\"Card #\";\"Name\";", Some((b';', 3))),
            ("a|b|date_of_birth (MM/DD/YYYY)", Some((b'|', 3))),
            // Tabs win over the commas inside a label.
            ("ssn\tname, full", Some((b'\t', 2))),
            // No label names a kind.
            ("title,email,city", None),
            // Values, not labels.
            ("SSN: 536-22-1234, DOB: 1985-03-12", None),
            ("Ann,536-22-1234,ssn", None),
            ("2fa,ssn", None),
            // One cell, or one label and empty cells.
            ("ssn", None),
            ("ssn,,", None),
            // A label of more than five words: a sentence.
            ("We asked about the phone bill, and then left", None),
        ];
        for (line, want) in cases {
            let got = header(&context, line.as_bytes()).map(|h| (h.delimiter, h.cells));
            assert_eq!(got, *want, "{line:?}");
        }
        let h = header(&context, b"order_id,ssn,dateOfBirth,Phone #")
            .unwrap_or_else(|| panic!("a header"));
        let d = |column: usize, kind: Kind| h.columns[column][kind as usize];
        assert!(d(0, Kind::CardNumber) < 0.0);
        assert!(d(1, Kind::Ssn) > 0.0 && d(1, Kind::CardNumber) == 0.0);
        assert!(d(2, Kind::DateOfBirth) > 0.0);
        assert!(d(3, Kind::Phone) > 0.0);
    }

    #[test]
    fn person_columns() {
        let context = Context::new();
        // (header line, the words a name needs per column, 0 for none; None:
        // no header)
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("first_name,last_name,city", Some(&[1, 1, 0])),
            ("Full Name\tCardholder\tnotes", Some(&[1, 1, 0])),
            ("customerName;Surname;x", Some(&[1, 1, 0])),
            // "name" alone: only beside personal data, and two words.
            ("name,ssn", Some(&[2, 0])),
            ("name,e-mail,order_id", Some(&[2, 0, 0])),
            ("name,order_id", Some(&[0, 0])),
            ("name,price", None),
            // Names of other things.
            ("product_name,username,file name,ssn", Some(&[0, 0, 0, 0])),
        ];
        for (line, want) in cases {
            let got = header(&context, line.as_bytes()).map(|h| h.people);
            assert_eq!(got.as_deref(), *want, "{line:?}");
        }
    }

    #[test]
    fn cells_split_outside_quotes() {
        let mut spans = Vec::new();
        let cells = |line: &str, spans: &mut Vec<Range<usize>>| {
            split(line.as_bytes(), b',', spans);
            spans
                .iter()
                .map(|r| line[r.clone()].to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(cells("a,b,,c", &mut spans), ["a", "b", "", "c"]);
        assert_eq!(
            cells(r#""Lee, Ann","say ""hi"", ok",x"#, &mut spans),
            [r#""Lee, Ann""#, r#""say ""hi"", ok""#, "x"]
        );
        // A quote inside a cell does not open a quoted cell.
        assert_eq!(cells(r#"5'10",x,y"#, &mut spans), [r#"5'10""#, "x", "y"]);
        // An unclosed quote runs to the end of the line.
        assert_eq!(cells(r#"a,"b,c"#, &mut spans), ["a", r#""b,c"#]);
    }

    /// The header handed on is the one in effect at the first line start
    /// at or after the offset asked for; a scan that starts there with it
    /// finds the same cells.
    #[test]
    fn headers_are_handed_on() {
        let context = Context::new();
        let text = b"x\nname,ssn\nAnn,1\nBob,2\n\nCid,3\n";
        let (whole, _) = Layout::scan(&context, text, true, None, 0);
        for at in 0..text.len() {
            let (_, handed) = Layout::scan(&context, text, true, None, at);
            let start = text[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map(|i| at + i + 1);
            let line_start = if at == 0 || text[at - 1] == b'\n' {
                Some(at)
            } else {
                start
            };
            let in_table = line_start.is_some_and(|s| (11..24).contains(&s));
            assert_eq!(handed.is_some(), in_table, "at {at}");
            if let Some(s) = line_start {
                let (part, _) = Layout::scan(&context, &text[s..], true, handed, 0);
                let shifted: Vec<(usize, usize)> = part
                    .cells
                    .iter()
                    .map(|c| (c.start + s, c.end + s))
                    .collect();
                let expected: Vec<(usize, usize)> = whole
                    .cells
                    .iter()
                    .filter(|c| c.start >= s)
                    .map(|c| (c.start, c.end))
                    .collect();
                assert_eq!(shifted, expected, "from {s}");
            }
        }
    }
}
