//! Finds sensitive data in text: payment card numbers, IBANs, US routing
//! numbers, US SSNs, national ids (UK NINO, Canadian SIN), phone numbers,
//! e-mail addresses, US and UK postal addresses, dates of birth, secrets
//! (private keys, API tokens, passwords in config-like lines, or anywhere
//! when the value looks generated) and people's names; and masks what it
//! finds.
//!
//! How it works: linear-time regexes (the `regex` crate, so no input can
//! make a scan backtrack catastrophically) find cheap candidates, first all
//! together (one lazy DFA of all the line patterns, driven byte by byte
//! and restarted at each line break, says which patterns match on each
//! line: the `lines` module), then each pattern on its lines (phone
//! numbers by a hand-written walk over digit runs that gives the same
//! matches as their pattern: `phone_runs`; `password = ...` only on lines
//! where a `:` or `=` follows a key's last letter);
//! validators keep only plausible ones (Luhn and issuer ranges for cards,
//! mod-97 and the country's length for IBANs, the ABA checksum, the SSN
//! area/group/serial rules, the NINO prefix rules, Luhn for SINs, Google's
//! libphonenumber metadata through the `rlibphonenumber` crate); context words
//! near a candidate (found with `aho-corasick`) raise or lower its score, so
//! "card 4111 ..." scores higher and "order 4111 ..." drops below the
//! reporting threshold. Routing numbers, bare nine-digit SSNs/SINs, UK
//! postcodes on their own and dates of birth are reported only with a
//! context word. In delimited text (CSV, TSV) a column's header counts as a
//! context word for every value in its column ("ssn", "date_of_birth",
//! "Phone #"), and only for its column; the streaming scanner hands a
//! table's header on from window to window (see the `table` module).
//!
//! Postal addresses are US and UK street addresses: a house number, a
//! capitalised street name and a street suffix (the USPS list and common
//! British ones), optionally a unit, town, US state and ZIP code or UK
//! postcode; also `Flat 4, ...` and P.O. boxes when a postcode or ZIP code
//! ends them. Suffixes that are also ordinary words ("Point", "Park") need
//! a unit, a postcode or ZIP code, or a context word.
//!
//! Person names are best effort: a capitalised name after a label
//! (`Name:`, `Customer:`, `Cardholder:` ...), after `Dear`, or after a title
//! (`Mr`, `Ms`, `Dr` ...); or a given name from a small bundled list
//! followed by a capitalised word ("Priya Shah"); or a cell of one to six
//! capitalised words (particles such as "de" or "van" allowed inside) in a
//! table column named for people (`full_name`, `first_name`, `surname`,
//! `customer`, `cardholder` ...), or in a column named just `name` when
//! the table also holds personal data (then two words at least, since a
//! single word there is as often a company's name). Names in running text
//! without such a cue are missed.
//!
//! With the `extract` feature, the `extract` module gives the text of PDF,
//! DOCX and XLSX files (bounded in size) so the CLI and the vault scan them
//! alike.
//!
//! What it leaves out: no machine-learned recognizers, and it knows nothing of the
//! vault's labels or data categories (the caller maps [`Kind`]s to those).

mod context;
mod detector;
#[cfg(feature = "extract")]
pub mod extract;
mod kind;
mod lines;
mod mask;
mod phone_runs;
mod stream;
mod table;
pub mod validate;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use detector::{Detector, THRESHOLD};
pub use kind::{Kind, UnknownKindError};
pub use mask::mask;
pub use rlibphonenumber::Region as Country;
pub use stream::{MARGIN, StreamSummary, WINDOW, looks_binary};

/// One piece of sensitive data found in a text. The raw value is not kept:
/// `start..end` locates it in the input, `masked` shows it safely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    /// Byte offset of the first byte, from the start of the input.
    pub start: u64,
    /// Byte offset one past the last byte.
    pub end: u64,
    /// 1-based line of `start`.
    pub line: u64,
    /// Confidence in 0..=1, after context words.
    pub score: f32,
    /// The value masked with [`mask`].
    pub masked: String,
}
