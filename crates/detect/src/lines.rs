//! Which of the line patterns match on each line of a text, all patterns
//! at once: the answer a `RegexSet` gives line by line, from one pass of a
//! lazy DFA that the detector drives itself, byte by byte, starting afresh
//! at each line break. So each pattern then runs only on the lines where it
//! matches (most lines of most texts hold none of them), and the pass costs
//! no more than one search per line in the `regex` crate's own loop, without
//! that crate's setup for each of millions of short lines.

use std::ops::Range;
use std::panic::{RefUnwindSafe, UnwindSafe};

use regex::bytes::{RegexSet, RegexSetBuilder};
use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::pool::{Pool, PoolGuard};
use regex_automata::{Input, MatchKind};

/// The most patterns a [`LineSet`] holds (one bit each).
pub(crate) const MAX_PATTERNS: usize = 32;

/// How much memory the lazy DFA may use for its states, in bytes.
const DFA_CACHE: usize = 32 << 20;

/// The line patterns, as one lazy DFA that reports every pattern matching
/// anywhere in a line; and as a `RegexSet`, for a line on which the DFA
/// gives up (it does not with the detector's patterns, which use ASCII word
/// boundaries only; the set is there so that no input can make a scan
/// fail).
#[derive(Debug)]
pub(crate) struct LineSet {
    dfa: DFA,
    set: RegexSet,
    /// The DFA's working memory, kept from one scan to the next (a fresh
    /// one has to build its states again, which a short text would pay
    /// for many times over), one per thread that scans at once.
    caches: Pool<Cache, CacheFn>,
}

type CacheFn = Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// The DFA's working memory for one scan, taken from the set's pool and
/// given back when dropped.
pub(crate) type LineCache<'a> = PoolGuard<'a, Cache, CacheFn>;

/// The bits of the patterns that match on a line (bit `i` for pattern `i`).
type Found = u32;

impl LineSet {
    /// Builds the set. Panics when a pattern does not compile or there are
    /// more than [`MAX_PATTERNS`]: the patterns are the detector's
    /// constants, and every test builds them.
    #[expect(
        clippy::expect_used,
        reason = "the patterns are constants; every test builds them"
    )]
    pub(crate) fn new(patterns: &[&str]) -> LineSet {
        assert!(patterns.len() <= MAX_PATTERNS, "too many line patterns");
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(DFA_CACHE),
            )
            .build_many(patterns)
            .expect("line patterns compile as one DFA");
        let set = RegexSetBuilder::new(patterns)
            .dfa_size_limit(DFA_CACHE)
            .build()
            .expect("line patterns compile as a set");
        let for_pool = dfa.clone();
        let caches = Pool::new(Box::new(move || for_pool.create_cache()) as CacheFn);
        LineSet { dfa, set, caches }
    }

    /// The DFA's working memory for a scan (its states are built as the
    /// scan needs them, and kept for the next scan).
    pub(crate) fn cache(&self) -> LineCache<'_> {
        self.caches.get()
    }

    /// For each pattern, the lines (without their line break) on which it
    /// matches, adjacent lines merged.
    pub(crate) fn hot_lines(&self, text: &[u8], cache: &mut Cache) -> Vec<Vec<Range<usize>>> {
        let mut hot: Vec<Vec<Range<usize>>> = vec![Vec::new(); self.set.len()];
        let ends = memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
        let mut start = 0;
        for end in ends {
            let line = &text[start..end];
            if !line.is_empty() {
                let found = self
                    .dfa_matches(cache, line)
                    .unwrap_or_else(|| self.set_matches(line));
                for (i, lines) in hot.iter_mut().enumerate() {
                    if found & (1 << i) == 0 {
                        continue;
                    }
                    match lines.last_mut() {
                        Some(last) if last.end + 1 == start => last.end = end,
                        _ => lines.push(start..end),
                    }
                }
            }
            start = end + 1;
        }
        hot
    }

    /// The patterns matching in `line`, by the DFA; `None` when it gives up.
    fn dfa_matches(&self, cache: &mut Cache, line: &[u8]) -> Option<Found> {
        let mut found = 0;
        let mut sid = self
            .dfa
            .start_state_forward(cache, &Input::new(line))
            .ok()?;
        for &b in line {
            sid = self.step(cache, sid, b)?;
            if sid.is_tagged() {
                if sid.is_match() {
                    found |= self.patterns_of(cache, sid);
                } else if sid.is_dead() {
                    return Some(found);
                } else if sid.is_quit() {
                    return None;
                }
            }
        }
        sid = self.dfa.next_eoi_state(cache, sid).ok()?;
        if sid.is_match() {
            found |= self.patterns_of(cache, sid);
        }
        Some(found)
    }

    /// The state after `b`: a lookup in the transition table when the
    /// state and its transition are known, else the DFA computes it.
    fn step(&self, cache: &mut Cache, sid: LazyStateID, b: u8) -> Option<LazyStateID> {
        if !sid.is_tagged() {
            let next = self.dfa.next_state_untagged(cache, sid, b);
            if !next.is_unknown() {
                return Some(next);
            }
        }
        self.dfa.next_state(cache, sid, b).ok()
    }

    /// The patterns a match state reports.
    fn patterns_of(&self, cache: &Cache, sid: LazyStateID) -> Found {
        (0..self.dfa.match_len(cache, sid))
            .map(|i| 1 << self.dfa.match_pattern(cache, sid, i).as_usize())
            .fold(0, |a, b| a | b)
    }

    /// Whether the DFA and the `RegexSet` say the same of `line`.
    #[cfg(test)]
    pub(crate) fn agree_on(&self, line: &[u8]) -> bool {
        self.dfa_matches(&mut self.cache(), line) == Some(self.set_matches(line))
    }

    /// The patterns matching in `line`, by the `RegexSet`.
    fn set_matches(&self, line: &[u8]) -> Found {
        self.set
            .matches(line)
            .iter()
            .fold(0, |found, i| found | (1 << i))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample() -> LineSet {
        LineSet::new(&[r"(?-u:\b)[0-9]{3}(?-u:\b)", r"ab+c", r"[A-Z][a-z]+ St"])
    }

    #[test]
    fn lines_are_found_per_pattern_and_merged() {
        let set = sample();
        let text = b"x 123 abbc\nnone\nMain St 99\nMain St\n\n123";
        let hot = set.hot_lines(text, &mut set.cache());
        // Whole lines; the two street lines side by side are one range.
        assert_eq!(hot[0], [0..10, 36..39]);
        assert_eq!(hot[1], vec![0..10]);
        assert_eq!(hot[2], vec![16..34]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The DFA says what the `RegexSet` says, on every line.
        #[test]
        fn dfa_agrees_with_the_set(line in "[0-9a-cA-Z St\\-é]{0,40}") {
            prop_assert!(sample().agree_on(line.as_bytes()));
        }
    }
}
