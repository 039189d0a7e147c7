//! The phone number candidates of a text, found without the regex engine.
//!
//! The candidate pattern ([`PATTERN`]) is a digit run: a `+`, a `(` or a
//! digit at a word start, then 6 to 15 more digits, each after at most two
//! of ` .-()`, and a word boundary after the last. Between two digits the
//! separators allow one way on only (two separators then a digit, one, or
//! none), so from a start there is one chain of digits, and the regex
//! engine's answer is the longest prefix of it, of 7 to 16 digits, that a
//! word boundary ends. Walking that chain by hand costs a fraction of the
//! engine's forward and reverse searches on text full of numbers; a
//! proptest checks that both give the same matches.

use std::ops::Range;

/// The candidate pattern this module follows, in the `regex` crate's
/// syntax (the detector makes its word boundaries ASCII ones).
pub(crate) const PATTERN: &str = r"(?:\+[0-9]|\([0-9]|\b[0-9])(?:[ .\-()]{0,2}[0-9]){6,15}\b";

/// Fewest and most digits of a candidate.
const MIN_DIGITS: usize = 7;
const MAX_DIGITS: usize = 16;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'.' | b'-' | b'(' | b')')
}

/// The matches of [`PATTERN`] that start on `lines` (sorted, not
/// overlapping), as `find_iter` over the whole text would give them; a
/// match never runs past the end of its line range.
pub(crate) fn phone_runs(text: &[u8], lines: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for r in lines {
        let mut at = r.start;
        while at < r.end {
            match match_at(text, at, r.end) {
                Some(end) => {
                    out.push(at..end);
                    at = end;
                }
                None => at += 1,
            }
        }
    }
    out
}

/// The end of the match that starts at `start`, if one does, in a
/// haystack that ends at `until`.
fn match_at(text: &[u8], start: usize, until: usize) -> Option<usize> {
    let digit_at = |i: usize| i < until && text[i].is_ascii_digit();
    let first = match text[start] {
        b'+' | b'(' if digit_at(start + 1) => start + 1,
        b if b.is_ascii_digit() && (start == 0 || !is_word(text[start - 1])) => start,
        _ => return None,
    };
    // The chain's digits, each's position; the last at most MAX_DIGITS.
    let mut ends = [0usize; MAX_DIGITS];
    ends[0] = first;
    let mut n = 1;
    while n < MAX_DIGITS {
        let last = ends[n - 1];
        let next = if digit_at(last + 1) {
            last + 1
        } else if digit_at(last + 2) && is_separator(text[last + 1]) {
            last + 2
        } else if digit_at(last + 3) && is_separator(text[last + 1]) && is_separator(text[last + 2])
        {
            last + 3
        } else {
            break;
        };
        ends[n] = next;
        n += 1;
    }
    // The longest prefix of at least MIN_DIGITS digits that a word
    // boundary ends (the last byte is a digit, a word byte).
    (MIN_DIGITS..=n)
        .rev()
        .map(|k| ends[k - 1] + 1)
        .find(|&end| end >= until || !is_word(text[end]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::compile;
    use proptest::prelude::*;

    fn by_regex(text: &[u8]) -> Vec<Range<usize>> {
        let re = compile(PATTERN);
        let mut out = Vec::new();
        let ends = memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
        let mut start = 0;
        for end in ends {
            out.extend(
                re.find_iter(&text[..end])
                    .filter(|m| m.start() >= start)
                    .map(|m| m.range()),
            );
            start = end + 1;
        }
        out
    }

    fn lines_of(text: &[u8]) -> Vec<Range<usize>> {
        let ends = memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
        let mut start = 0;
        ends.map(|end| {
            let r = start..end;
            start = end + 1;
            r
        })
        .collect()
    }

    #[test]
    fn numbers_are_found_as_the_pattern_finds_them() {
        let text =
            b"call +44 20 7946 0958 or (415) 555-0123, not 12345 or x1234567\n1 2 3 4 5 6 7 8";
        let found = phone_runs(text, &lines_of(text));
        assert_eq!(found, by_regex(text));
        let values: Vec<&[u8]> = found.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(
            values,
            [
                &b"+44 20 7946 0958"[..],
                b"(415) 555-0123",
                b"1 2 3 4 5 6 7 8"
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// The walk finds what the regex finds, line by line.
        #[test]
        fn walk_agrees_with_the_regex(text in "[0-9 .()+\\-a_\n]{0,80}") {
            let text = text.as_bytes();
            prop_assert_eq!(phone_runs(text, &lines_of(text)), by_regex(text));
        }

        /// Long runs of digits and separators, where the longest-prefix
        /// rule matters.
        #[test]
        fn walk_agrees_on_long_runs(text in "[0-9 -]{0,60}[0-9a. ]{0,3}") {
            let text = text.as_bytes();
            prop_assert_eq!(phone_runs(text, &lines_of(text)), by_regex(text));
        }
    }
}
