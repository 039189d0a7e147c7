//! Context words: words shortly before (or after) a candidate that make it
//! more or less likely to be what it looks like ("card", "SSN", "DOB" raise;
//! "order", "invoice", "tracking", "ISBN" lower).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::Kind;

/// How far before a candidate context words are looked for, in bytes.
pub(crate) const BEFORE: usize = 48;
/// How far after a candidate context words are looked for, in bytes.
pub(crate) const AFTER: usize = 16;

use Kind::*;

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
    ("version", NUMERIC, -0.45),
];

#[derive(Debug)]
pub(crate) struct Context {
    automaton: AhoCorasick,
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
        Context { automaton }
    }

    /// The score change for `kind` from words near `text[start..end]`: the
    /// strongest raise or the strongest lowering, whichever word stands
    /// nearer the candidate; a lowering word counts only on the candidate's
    /// own line. So a CSV header naming an `order`
    /// column says nothing about the card numbers below it, and "order 12.
    /// SIN: 130 692 544" is about the SIN.
    pub(crate) fn delta(&self, text: &[u8], start: usize, end: usize, kind: Kind) -> f32 {
        let from = start.saturating_sub(BEFORE);
        let to = (end + AFTER).min(text.len());
        let mut up = 0.0f32;
        let mut down = 0.0f32;
        // Distances (in bytes) from the candidate to the nearest word of each sign.
        let mut nearest_up = usize::MAX;
        let mut nearest_down = usize::MAX;
        for (lo, hi, before) in [(from, start, true), (end, to, false)] {
            let hay = &text[lo..hi];
            for m in self.automaton.find_iter(hay) {
                // Whole words only: "sin" must not match "business".
                let before_ok = m.start() == 0 || !hay[m.start() - 1].is_ascii_alphanumeric();
                let after_ok = m.end() == hay.len() || !hay[m.end()].is_ascii_alphanumeric();
                if !(before_ok && after_ok) {
                    continue;
                }
                let (_, kinds, d) = WORDS[m.pattern().as_usize()];
                if !kinds.contains(&kind) {
                    continue;
                }
                let (gap, distance) = if before {
                    (&hay[m.end()..], hay.len() - m.end())
                } else {
                    (&hay[..m.start()], m.start())
                };
                if d > 0.0 {
                    up = up.max(d);
                    nearest_up = nearest_up.min(distance);
                } else if !gap.contains(&b'\n') {
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
