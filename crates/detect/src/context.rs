//! Context words: words shortly before (or after) a candidate that make it
//! more or less likely to be what it looks like ("card", "SSN", "DOB" raise;
//! "order", "invoice", "tracking", "ISBN" lower).

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::Kind;

/// How far before a candidate context words are looked for, in bytes.
pub(crate) const BEFORE: usize = 48;
/// How far after a candidate context words are looked for, in bytes.
pub(crate) const AFTER: usize = 16;

use Kind::*;

/// How many kinds there are, for tables indexed by `Kind as usize`.
pub(crate) const KINDS: usize = Kind::ALL.len();

const NUMERIC: &[Kind] = &[CardNumber, RoutingNumber, Ssn, NationalId, Phone, Iban];

/// (word, kinds it speaks for, score delta).
const WORDS: &[(&str, &[Kind], f32)] = &[
    ("card", &[CardNumber], 0.15),
    ("credit", &[CardNumber], 0.15),
    ("debit", &[CardNumber], 0.15),
    ("visa", &[CardNumber], 0.15),
    ("mastercard", &[CardNumber], 0.15),
    ("amex", &[CardNumber], 0.15),
    ("cc", &[CardNumber], 0.15),
    ("pan", &[CardNumber], 0.15),
    ("cardholder", &[CardNumber], 0.15),
    ("iban", &[Iban], 0.1),
    ("routing", &[RoutingNumber], 0.45),
    ("aba", &[RoutingNumber], 0.45),
    ("rtn", &[RoutingNumber], 0.45),
    ("transit", &[RoutingNumber], 0.4),
    ("bank", &[RoutingNumber, Iban], 0.35),
    ("ach", &[RoutingNumber], 0.35),
    ("wire", &[RoutingNumber], 0.3),
    ("ssn", &[Ssn], 0.35),
    ("ss#", &[Ssn], 0.35),
    ("social security", &[Ssn], 0.35),
    ("soc sec", &[Ssn], 0.35),
    ("taxpayer", &[Ssn], 0.2),
    ("nino", &[NationalId], 0.3),
    ("national insurance", &[NationalId], 0.3),
    ("ni number", &[NationalId], 0.3),
    ("sin", &[NationalId], 0.35),
    ("social insurance", &[NationalId], 0.35),
    ("phone", &[Phone], 0.25),
    ("tel", &[Phone], 0.25),
    ("telephone", &[Phone], 0.25),
    ("mobile", &[Phone], 0.25),
    ("cell", &[Phone], 0.25),
    ("fax", &[Phone], 0.25),
    ("call", &[Phone], 0.25),
    ("whatsapp", &[Phone], 0.25),
    ("reach us", &[Phone], 0.25),
    ("reach me", &[Phone], 0.25),
    ("dial", &[Phone], 0.25),
    ("dob", &[DateOfBirth], 0.6),
    ("d.o.b", &[DateOfBirth], 0.6),
    ("date of birth", &[DateOfBirth], 0.6),
    ("birth", &[DateOfBirth], 0.6),
    ("birthday", &[DateOfBirth], 0.6),
    ("birthdate", &[DateOfBirth], 0.6),
    ("born", &[DateOfBirth], 0.6),
    ("address", &[PostalAddress], 0.3),
    ("postcode", &[PostalAddress], 0.3),
    ("zip", &[PostalAddress], 0.3),
    // Numbers that merely look like ids.
    ("order", NUMERIC, -0.45),
    ("invoice", NUMERIC, -0.45),
    ("tracking", NUMERIC, -0.45),
    ("isbn", NUMERIC, -0.6),
    ("ref", NUMERIC, -0.45),
    ("reference", NUMERIC, -0.45),
    ("transaction", NUMERIC, -0.45),
    ("txn", NUMERIC, -0.45),
    ("serial", NUMERIC, -0.45),
    ("sku", NUMERIC, -0.45),
    ("confirmation", NUMERIC, -0.45),
    ("ticket", NUMERIC, -0.45),
    ("shipment", NUMERIC, -0.45),
    ("timestamp", NUMERIC, -0.6),
    ("uuid", NUMERIC, -0.6),
    ("guid", NUMERIC, -0.6),
    (
        "version",
        &[
            CardNumber,
            RoutingNumber,
            Ssn,
            NationalId,
            Phone,
            Iban,
            DateOfBirth,
        ],
        -0.45,
    ),
];

/// The text between a lowering word and a candidate ends a line or a
/// sentence: the word is about something else ("Thanks for your order.
/// 4111 1111 1111 1111 was charged").
fn ends_sentence(gap: &[u8]) -> bool {
    gap.contains(&b'\n')
        || gap
            .windows(2)
            .any(|w| matches!(w, [b'.' | b'!' | b'?', b' ' | b'\t']))
}

/// A column label as lowercase words separated by spaces: `_` and `-`
/// separate words, and so do camel humps ("dateOfBirth" is "date of
/// birth").
pub(crate) fn label_words(label: &[u8]) -> Vec<u8> {
    let mut words = Vec::with_capacity(label.len() + 4);
    let mut prev = b' ';
    for &b in label {
        if b.is_ascii_uppercase() && prev.is_ascii_lowercase() {
            words.push(b' ');
        }
        words.push(match b {
            b'_' | b'-' => b' ',
            _ => b.to_ascii_lowercase(),
        });
        prev = b;
    }
    words
}

#[derive(Debug)]
pub(crate) struct Context {
    automaton: AhoCorasick,
    /// Per kind (by `Kind as usize`): whether any word speaks for it. For
    /// the others (e-mail addresses, secrets, names) no word, in the text
    /// or in a column's header, changes a score.
    spoken_for: [bool; KINDS],
}

impl Context {
    #[expect(
        clippy::expect_used,
        reason = "the word list is a constant; every test builds it"
    )]
    pub(crate) fn new() -> Context {
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(WORDS.iter().map(|(w, _, _)| w))
            .expect("context words build");
        let mut spoken_for = [false; KINDS];
        for (_, kinds, _) in WORDS {
            for k in *kinds {
                spoken_for[*k as usize] = true;
            }
        }
        Context {
            automaton,
            spoken_for,
        }
    }

    /// Whether any context word speaks for `kind`: when none does,
    /// [`Context::delta`] is 0 for it.
    pub(crate) fn speaks_for(&self, kind: Kind) -> bool {
        self.spoken_for[kind as usize]
    }

    /// The context words in `hay`, whole words only ("sin" must not match
    /// "business"): (start, end, kinds, delta) each.
    fn words<'a>(
        &'a self,
        hay: &'a [u8],
    ) -> impl Iterator<Item = (usize, usize, &'static [Kind], f32)> + 'a {
        self.automaton.find_iter(hay).filter_map(move |m| {
            let before_ok = m.start() == 0 || !hay[m.start() - 1].is_ascii_alphanumeric();
            let after_ok = m.end() == hay.len() || !hay[m.end()].is_ascii_alphanumeric();
            let (_, kinds, d) = WORDS[m.pattern().as_usize()];
            (before_ok && after_ok).then_some((m.start(), m.end(), kinds, d))
        })
    }

    /// The score change per kind (indexed by `Kind as usize`) that a
    /// column's header label gives the values below it: for each kind, the
    /// last context word of the label that speaks for it (in "card_order"
    /// the column holds orders, in "order_card" cards). The label is read
    /// as words: `_` and `-` separate words and so do camel humps
    /// ("dateOfBirth", "date_of_birth" and "Date of birth" are alike).
    pub(crate) fn column(&self, label: &[u8]) -> [f32; KINDS] {
        let words = label_words(label);
        let mut out = [0.0; KINDS];
        for (_, _, kinds, d) in self.words(&words) {
            for k in kinds {
                out[*k as usize] = d;
            }
        }
        out
    }

    /// The score change for `kind` from words near `text[start..end]`: the
    /// strongest raise or the strongest lowering, whichever word stands
    /// nearer the candidate; a lowering word counts only in the candidate's
    /// own line and sentence, and so does a raising word after it. So
    /// "order 12. SIN: 130 692 544" is about the SIN, and "paid on
    /// 01/28/2021. Born in Ohio" says nothing about the date.
    ///
    /// Words are looked for only inside `bounds` (a table row keeps to its
    /// own row: the header's words speak through `column` instead, each for
    /// its own column). `column` is the header's word for the candidate's
    /// column, if any; it counts as the farthest word, so a word in the row
    /// itself overrules it.
    pub(crate) fn delta(
        &self,
        text: &[u8],
        (start, end): (usize, usize),
        kind: Kind,
        bounds: Range<usize>,
        column: f32,
    ) -> f32 {
        let from = start.saturating_sub(BEFORE).max(bounds.start);
        let to = (end + AFTER).min(text.len()).min(bounds.end).max(end);
        let mut up = column.max(0.0);
        let mut down = column.min(0.0);
        // Distances (in bytes) from the candidate to the nearest word of
        // each sign; the column's word is farther than any.
        let mut nearest_up = usize::MAX;
        let mut nearest_down = usize::MAX;
        for (lo, hi, before) in [(from, start.max(from), true), (end, to, false)] {
            let hay = &text[lo..hi];
            for (ws, we, kinds, d) in self.words(hay) {
                if !kinds.contains(&kind) {
                    continue;
                }
                let (gap, distance) = if before {
                    (&hay[we..], hay.len() - we)
                } else {
                    (&hay[..ws], ws)
                };
                if d > 0.0 && (before || !ends_sentence(gap)) {
                    up = up.max(d);
                    nearest_up = nearest_up.min(distance);
                } else if d < 0.0 && !ends_sentence(gap) {
                    down = down.min(d);
                    nearest_down = nearest_down.min(distance);
                }
            }
        }
        // The nearer word decides when both kinds of word are present.
        if up > 0.0 && down < 0.0 {
            if nearest_up < nearest_down {
                down = 0.0;
            } else {
                up = 0.0;
            }
        }
        up + down
    }
}
