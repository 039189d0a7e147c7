//! The detector: cheap regexes find candidates, validators (checksums,
//! number ranges, libphonenumber) and context words score them, and
//! overlapping candidates are resolved in favour of the best score.

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumber, Region as Country};
use std::ops::Range;

use regex::bytes::{Captures, Match, Regex};

use crate::context::Context;
use crate::lines::{LineCache, LineSet};
use crate::phone_runs::{self, phone_runs};
use crate::table::{Header, Layout};
use crate::validate;
use crate::{Finding, Kind, mask};

/// Candidates scoring below this are not reported.
pub const THRESHOLD: f32 = 0.5;

/// How far a private key block may run before its END line, in bytes.
pub(crate) const PEM_MAX: usize = 12 * 1024;

/// A finding before line numbers and masks are worked out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) score: f32,
}

/// Finds sensitive data in text. Build one and reuse it: building compiles
/// the patterns (a few milliseconds); scanning needs only `&self`.
#[derive(Debug)]
pub struct Detector {
    card: Regex,
    iban: Regex,
    nine: Regex,
    ssn: Regex,
    sin: Regex,
    nino: Regex,
    phone: Regex,
    email: Regex,
    street: Regex,
    postcode: Regex,
    date: Regex,
    pem: Regex,
    pem_end: Regex,
    token: Regex,
    config: Regex,
    name_after: Regex,
    given: Regex,
    next_cap: Regex,
    /// All the line patterns at once (see [`LineSet::hot_lines`]).
    lines: LineSet,
    context: Context,
    regions: Vec<Country>,
}

/// Street suffixes common enough in US and UK addresses that a house
/// number, a capitalised name and one of these make an address on their own.
const STREET_SUFFIX: &str = "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|\
    Way|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Close|Crescent|Square|Sq|\
    Gardens|Grove|Mews|Row|Hill|Walk|Green";

/// The rest of the USPS street suffixes (Publication 28, appendix C1) and
/// some British ones. Many are also ordinary words ("Point", "Key",
/// "Park"), so a street with one of these is an address only with a unit
/// (`Apt. 5`), a town and ZIP code or postcode after it, or a context word.
const STREET_SUFFIX_MORE: &str = "Alley|Aly|Bend|Bluff|Bluffs|Bottom|Branch|Bridge|Brook|Brooks|Burg|Burgs|\
    Bypass|Camp|Canyon|Cape|Causeway|Center|Centre|Centers|Circles|Cliff|Cliffs|Club|Common|Commons|Corner|\
    Corners|Course|Courts|Cove|Coves|Creek|Crest|Crossing|Crossroad|Curve|Dale|Dam|Divide|Drives|\
    Estate|Estates|Expressway|Expy|Extension|Extensions|Fall|Falls|Ferry|Field|Fields|Flat|Flats|Ford|\
    Fords|Forest|Forge|Forges|Fork|Forks|Fort|Freeway|Fwy|Garden|Gateway|Glen|Glens|Greens|Groves|\
    Harbor|Harbour|Harbors|Haven|Heights|Hills|Hollow|Inlet|Island|Islands|Isle|Junction|Junctions|\
    Key|Keys|Knoll|Knolls|Lake|Lakes|Land|Landing|Light|Lights|Loaf|Lock|Locks|Lodge|Loop|Mall|\
    Manor|Manors|Meadow|Meadows|Mill|Mills|Mission|Motorway|Mount|Mountain|Mountains|Neck|Orchard|\
    Oval|Overpass|Park|Parks|Parkways|Pass|Passage|Path|Pike|Pine|Pines|Plain|Plains|Plaza|Point|\
    Points|Port|Ports|Prairie|Radial|Ramp|Ranch|Rapid|Rapids|Rest|Ridge|Ridges|River|Roads|Route|\
    Rue|Run|Shoal|Shoals|Shore|Shores|Skyway|Spring|Springs|Spur|Spurs|Squares|Station|Stravenue|\
    Stream|Streets|Summit|Throughway|Trace|Track|Trafficway|Trail|Trl|Tunnel|Turnpike|Underpass|Union|Unions|\
    Valley|Valleys|Via|Viaduct|View|Views|Village|Villages|Ville|Vista|Walks|Wall|Ways|Well|Wells|\
    Rise|Vale|Parade|Gate|Wharf|Yard|Chase|Drove|Embankment|Broadway";

/// USPS state and territory codes, for the `ST 12345` end of a US address.
const US_STATE: &str = "A[KLRZASEP]|C[AOT]|D[CE]|F[LM]|G[AU]|HI|I[ADLN]|K[SY]|LA|M[ADEHINOPST]|\
    N[CDEHJMVY]|O[HKR]|P[AWR]|RI|S[CD]|T[NX]|UT|V[AIT]|W[AIVY]";

const UK_POSTCODE: &str = "(?:GIR 0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|\
    [A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})";

const MONTH: &str = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]{0,6}\\.?";

/// Common given names (English-speaking, French, German, Spanish, Italian,
/// Dutch, Polish, Indian, Chinese and Arabic usage), kept short on purpose:
/// a name from this list followed by a capitalised word is reported as a
/// person's name. Words that are also common English words (Will, May,
/// Rose, Grace, Bill) are left out.
const GIVEN_NAMES: &[&str] = &[
    "Aaron",
    "Abdul",
    "Adam",
    "Ahmed",
    "Aisha",
    "Alan",
    "Alberto",
    "Alejandro",
    "Alex",
    "Alexander",
    "Alice",
    "Alicia",
    "Amanda",
    "Amy",
    "Ana",
    "Andrea",
    "Andrew",
    "Angela",
    "Ann",
    "Anna",
    "Anne",
    "Anthony",
    "Antonio",
    "Arjun",
    "Barbara",
    "Ben",
    "Benjamin",
    "Brian",
    "Carlos",
    "Carmen",
    "Catherine",
    "Charles",
    "Charlotte",
    "Chen",
    "Chloe",
    "Chris",
    "Christian",
    "Christina",
    "Christopher",
    "Claire",
    "Claude",
    "Daniel",
    "David",
    "Deborah",
    "Diana",
    "Diego",
    "Dmitri",
    "Donald",
    "Edward",
    "Elena",
    "Elizabeth",
    "Emily",
    "Emma",
    "Eric",
    "Fatima",
    "Francesca",
    "Francis",
    "Frank",
    "Gabriel",
    "Gary",
    "George",
    "Giulia",
    "Giuseppe",
    "Hannah",
    "Hans",
    "Harry",
    "Helen",
    "Henry",
    "Ian",
    "Isabel",
    "Isabella",
    "Jack",
    "Jacob",
    "James",
    "Jan",
    "Jane",
    "Jason",
    "Javier",
    "Jean",
    "Jennifer",
    "Jessica",
    "Joan",
    "Johann",
    "John",
    "Jonathan",
    "Jose",
    "Joseph",
    "Juan",
    "Julia",
    "Julie",
    "Karen",
    "Katarzyna",
    "Kevin",
    "Laura",
    "Lauren",
    "Li",
    "Linda",
    "Lisa",
    "Luca",
    "Lucas",
    "Lucy",
    "Luis",
    "Maria",
    "Marie",
    "Mario",
    "Martin",
    "Mary",
    "Matthew",
    "Mei",
    "Michael",
    "Michelle",
    "Mohammed",
    "Muhammad",
    "Nancy",
    "Nicole",
    "Noah",
    "Oliver",
    "Olivia",
    "Omar",
    "Pablo",
    "Patricia",
    "Paul",
    "Peter",
    "Pierre",
    "Piotr",
    "Priya",
    "Rachel",
    "Rahul",
    "Rebecca",
    "Richard",
    "Robert",
    "Ryan",
    "Sam",
    "Samuel",
    "Sandra",
    "Sarah",
    "Sophie",
    "Stefan",
    "Stephanie",
    "Steven",
    "Susan",
    "Thomas",
    "Timothy",
    "Wei",
    "William",
    "Yuki",
    "Zhang",
];

/// A US or UK street address: an optional unit first (`Flat 4,`), a
/// house number (or a P.O. box), a capitalised street name and a suffix, an
/// optional unit (`Apt. 5`), then up to two places (town, county) and a US
/// state and ZIP code or a UK postcode, separated by commas or line breaks.
/// Without a house number (`Flat 4, Byrne Points, ...`) the postcode or ZIP
/// code must be there; the detector checks that.
fn street_pattern() -> String {
    let word = "[A-Z][A-Za-z']*[a-z]";
    let place = format!("{word}(?: {word}){{0,2}}");
    let sep = r"(?:,? |,?\r?\n)";
    let tail = format!(r"(?:{US_STATE}) [0-9]{{5}}(?:-[0-9]{{4}})?|{UK_POSTCODE}");
    format!(
        r"\b(?:(?P<box>P\.? ?O\.? Box [0-9]{{1,6}})|(?P<unit1>(?:Flat|Studio|Apartment|Apt\.?|Unit|Suite|Ste\.?) [0-9]{{1,5}}[A-Za-z]?,? )?(?:(?P<num>[0-9]{{1,6}}[A-Za-z]?) )?(?:(?:[NSEW]\.?|North|South|East|West) )?(?:{word}|[0-9]{{1,3}}(?:st|nd|rd|th))(?: {word}){{0,3}} (?:(?P<common>{STREET_SUFFIX})|{STREET_SUFFIX_MORE})\b\.?(?P<unit2>,? (?:(?:Apt|Apartment|Suite|Ste|Unit|Flat)\b\.?|\#) ?[0-9A-Za-z-]{{1,6}})?)(?:(?:{sep}{place}){{0,2}}{sep}(?P<tail>{tail})|(?:, {place}){{0,2}})?\b"
    )
}

/// Words after a trigger ("Dear ...") that are not names.
const NOT_NAMES: &[&str] = &[
    "Sir",
    "Madam",
    "Customer",
    "Customers",
    "Team",
    "All",
    "Friends",
    "Friend",
    "Colleague",
    "Colleagues",
    "Valued",
    "Hiring",
    "Manager",
    "Member",
    "Members",
    "Client",
    "Clients",
    "Parent",
    "Parents",
    "Applicant",
    "User",
    "Users",
    "Reader",
    // A second title ("Mr. Dr. Fowler").
    "Dr",
    "Mr",
    "Mrs",
    "Ms",
    "Prof",
    "The",
    "Our",
    "Your",
    // Company names ("Martin Ltd").
    "Ltd",
    "Limited",
    "Inc",
    "Corp",
    "Co",
    "Group",
    "Company",
];

/// The candidate patterns that match within a line (all but the private
/// key markers and e-mail addresses, which have literal parts the regex
/// engine finds fast on its own, and `password = ...`, searched on the
/// lines [`setting_lines`] picks): [`LineSet::hot_lines`] runs them
/// together.
#[derive(Debug, Clone, Copy)]
enum LinePattern {
    Card,
    Iban,
    Nine,
    Ssn,
    Sin,
    Nino,
    Phone,
    Street,
    Postcode,
    Date,
    Token,
    NameAfter,
    Given,
}

impl LinePattern {
    const ALL: [LinePattern; 13] = [
        LinePattern::Card,
        LinePattern::Iban,
        LinePattern::Nine,
        LinePattern::Ssn,
        LinePattern::Sin,
        LinePattern::Nino,
        LinePattern::Phone,
        LinePattern::Street,
        LinePattern::Postcode,
        LinePattern::Date,
        LinePattern::Token,
        LinePattern::NameAfter,
        LinePattern::Given,
    ];
}

/// Phone number candidates already checked with libphonenumber in a scan
/// (its parse and validation cost about a microsecond a number), and the
/// length of the valid number each starts with. A B-tree rather than a
/// HashMap: std's hasher seeds itself from the OS RNG, which this crate
/// does not touch. Bounded: cleared when full.
#[derive(Debug, Default)]
pub(crate) struct PhoneMemo(std::collections::BTreeMap<Vec<u8>, Option<usize>>);

impl PhoneMemo {
    const MAX: usize = 1 << 16;
}

/// What a scan keeps from one window of a stream to the next.
pub(crate) struct Scratch<'a> {
    memo: PhoneMemo,
    lines: LineCache<'a>,
}

/// Where the search for a match starting on a line that ends at
/// `line_end` may stop: the line's end, or for a street address, up to
/// three lines on (two places and a postcode or ZIP code on lines of their
/// own).
fn search_end(text: &[u8], line_end: usize, p: LinePattern) -> usize {
    let mut end = line_end;
    if matches!(p, LinePattern::Street) {
        for _ in 0..3 {
            if end >= text.len() {
                break;
            }
            end = memchr::memchr(b'\n', &text[end + 1..]).map_or(text.len(), |i| end + 1 + i);
        }
    }
    end
}

/// The matches of `re` that start on `lines` (sorted, not overlapping),
/// as `find_iter` over the whole text would give them when no match
/// starts elsewhere. A search from a line may run on to `reach(line_end)`.
fn finds_on<'t>(
    re: &Regex,
    text: &'t [u8],
    lines: &[Range<usize>],
    reach: impl Fn(usize) -> usize,
) -> Vec<Match<'t>> {
    on_lines(lines, reach, |until, at| {
        re.find_at(&text[..until], at).map(|m| (m.range(), m))
    })
}

/// [`finds_on`] with capture groups.
fn captures_on<'t>(
    re: &Regex,
    text: &'t [u8],
    lines: &[Range<usize>],
    reach: impl Fn(usize) -> usize,
) -> Vec<Captures<'t>> {
    on_lines(lines, reach, |until, at| {
        let c = re.captures_at(&text[..until], at)?;
        Some((c.get(0)?.range(), c))
    })
}

/// What `search(until, at)` (the next match at or after `at`, looking no
/// further than `until`, with its range) finds starting on `lines`, as
/// [`finds_on`] says.
fn on_lines<T>(
    lines: &[Range<usize>],
    reach: impl Fn(usize) -> usize,
    mut search: impl FnMut(usize, usize) -> Option<(Range<usize>, T)>,
) -> Vec<T> {
    let mut out = Vec::new();
    let mut at = 0;
    for r in lines {
        let until = reach(r.end);
        at = at.max(r.start);
        while at <= r.end {
            let Some((m, found)) = search(until, at) else {
                break;
            };
            if m.start > r.end {
                break;
            }
            at = m.end.max(m.start + 1);
            out.push(found);
        }
    }
    out
}

/// The lines (without their line break) that may hold a `password = ...`
/// setting: a `:` or `=` there follows, after blanks and a quote, a letter
/// that ends one of the setting's keys (`password`, `pwd`, `secret`,
/// `api_key`, `auth_token` all end in `d`, `t`, `y` or `n`, in either
/// case). `:` and `=` are rare in most text and found fast, so the setting
/// pattern, which has no literal to look for first, runs only there.
fn setting_lines(text: &[u8]) -> Vec<Range<usize>> {
    let mut lines: Vec<Range<usize>> = Vec::new();
    for pos in memchr::memchr2_iter(b':', b'=', text) {
        if lines.last().is_some_and(|l| pos <= l.end) {
            continue;
        }
        let mut key_end = pos;
        while key_end > 0 && matches!(text[key_end - 1], b' ' | b'\t') {
            key_end -= 1;
        }
        if key_end > 0 && matches!(text[key_end - 1], b'"' | b'\'') {
            key_end -= 1;
        }
        let ends_a_key = key_end > 0
            && matches!(
                text[key_end - 1].to_ascii_lowercase(),
                b'd' | b't' | b'y' | b'n'
            );
        if ends_a_key {
            let start = memchr::memrchr(b'\n', &text[..pos]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i);
            lines.push(start..end);
        }
    }
    lines
}

#[cfg(test)]
#[test]
fn setting_lines_are_those_with_a_key_before_a_colon_or_equals_sign() {
    let text = b"Name: Ann\npassword = x\n\"api_key\" :\"y\"\nat 10:00\nAUTH_TOKEN='z'";
    let lines: Vec<&[u8]> = setting_lines(text).into_iter().map(|r| &text[r]).collect();
    assert_eq!(
        lines,
        [
            &b"password = x"[..],
            b"\"api_key\" :\"y\"",
            b"AUTH_TOKEN='z'"
        ]
    );
}

/// Loads libphonenumber's metadata (once per process) when a detector is
/// built rather than at the first phone number of the first scan.
fn load_phone_metadata() {
    std::sync::LazyLock::force(&PHONE_NUMBER_UTIL);
}

/// libphonenumber's parse and validation of `s`, with `region` for a
/// number written without a country code.
fn valid_phone(s: &str, region: Option<Country>) -> bool {
    let valid = |n: PhoneNumber| PHONE_NUMBER_UTIL.is_valid_number(&n);
    PHONE_NUMBER_UTIL.parse(s, region).is_ok_and(valid)
}

pub(crate) fn compile(pattern: &str) -> Regex {
    // ASCII word boundaries let the regex engine use its fast DFA on any
    // input; Unicode ones make it fall back to a slower engine on non-ASCII
    // text.
    let pattern = pattern.replace(r"\b", r"(?-u:\b)");
    #[expect(
        clippy::expect_used,
        reason = "the patterns are constants; every test builds them"
    )]
    Regex::new(&pattern).expect("detector pattern compiles")
}

impl Default for Detector {
    fn default() -> Self {
        Detector::new()
    }
}

impl Detector {
    /// A detector that reads national phone numbers as US, then UK numbers.
    pub fn new() -> Detector {
        Detector::with_regions(vec![Country::US, Country::GB])
    }

    /// A detector that reads phone numbers without a `+` country code as
    /// numbers of these regions, in order.
    pub fn with_regions(regions: Vec<Country>) -> Detector {
        load_phone_metadata();
        let mut d = Detector {
            card: compile(r"\b[0-9](?:[ -]?[0-9]){12,18}\b"),
            iban: compile(
                r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b",
            ),
            nine: compile(r"\b[0-9]{9}\b"),
            ssn: compile(r"\b[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}\b"),
            sin: compile(r"\b[0-9]{3}[- ][0-9]{3}[- ][0-9]{3}\b"),
            nino: compile(
                r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b",
            ),
            phone: compile(phone_runs::PATTERN),
            email: compile(
                r"\b[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b",
            ),
            street: compile(&street_pattern()),
            postcode: compile(&format!(r"\b{UK_POSTCODE}\b")),
            date: compile(&format!(
                r"\b(?:(?P<y1>[0-9]{{4}})-(?P<m1>[0-9]{{1,2}})-(?P<d1>[0-9]{{1,2}})|(?P<a2>[0-9]{{1,2}})[/.-](?P<b2>[0-9]{{1,2}})[/.-](?P<y2>[0-9]{{4}}|[0-9]{{2}})|(?P<d3>[0-9]{{1,2}})(?:st|nd|rd|th)? {MONTH},? (?P<y3>[0-9]{{4}})|{MONTH} (?P<d4>[0-9]{{1,2}})(?:st|nd|rd|th)?,? (?P<y4>[0-9]{{4}}))\b"
            )),
            pem: compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
            pem_end: compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
            token: compile(
                r"\b(?:(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,240}|xox[abposr]-[A-Za-z0-9-]{10,240}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,240})\b|\bAIza[0-9A-Za-z_-]{35}",
            ),
            config: compile(
                r#"(?i)\b(?:[a-z0-9]+[_.-]){0,3}(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?key)["']?[ \t]*[:=][ \t]*["']?(?P<v>[^\s"',;<>]{6,})"#,
            ),
            name_after: compile(
                r"(?:\b(?P<label>[Nn]ame|NAME|[Ff]ull [Nn]ame|[Cc]ustomer|[Pp]atient|[Cc]lient|[Cc]ardholder|[Aa]ccount [Hh]older|[Cc]ontact|[Ee]mployee|[Tt]enant)[ \t]*[:=][ \t]*|\b(?:Dear )?(?P<title>(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.? ){1,2}|\bDear )(?P<n>[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?(?: [A-Z]\.)?(?: [A-Z][a-z]+(?:[-'][A-Z][a-z]+)?){0,2})",
            ),
            given: compile(&format!(r"\b(?:{})\b", GIVEN_NAMES.join("|"))),
            next_cap: compile(r"\A [A-Z][a-z]+(?:[-'][A-Z][a-z]+)?\b"),
            lines: LineSet::new(&[]),
            context: Context::new(),
            regions,
        };
        let patterns: Vec<&str> = LinePattern::ALL
            .iter()
            .map(|p| d.line_regex(*p).as_str())
            .collect();
        d.lines = LineSet::new(&patterns);
        d
    }

    /// Working memory for scans, reused from one window of a stream to the
    /// next.
    pub(crate) fn scratch(&self) -> Scratch<'_> {
        Scratch {
            memo: PhoneMemo::default(),
            lines: self.lines.cache(),
        }
    }

    fn line_regex(&self, p: LinePattern) -> &Regex {
        match p {
            LinePattern::Card => &self.card,
            LinePattern::Iban => &self.iban,
            LinePattern::Nine => &self.nine,
            LinePattern::Ssn => &self.ssn,
            LinePattern::Sin => &self.sin,
            LinePattern::Nino => &self.nino,
            LinePattern::Phone => &self.phone,
            LinePattern::Street => &self.street,
            LinePattern::Postcode => &self.postcode,
            LinePattern::Date => &self.date,
            LinePattern::Token => &self.token,
            LinePattern::NameAfter => &self.name_after,
            LinePattern::Given => &self.given,
        }
    }

    /// The matches of line pattern `p` in `text`, as `find_iter` over the
    /// whole text would give them, searching only `lines` (plus, for
    /// street addresses, the lines a town and postcode may take after).
    fn finds<'t>(&self, p: LinePattern, text: &'t [u8], lines: &[Range<usize>]) -> Vec<Match<'t>> {
        finds_on(self.line_regex(p), text, lines, |end| {
            search_end(text, end, p)
        })
    }

    /// [`Detector::finds`] with capture groups.
    fn captures<'t>(
        &self,
        p: LinePattern,
        text: &'t [u8],
        lines: &[Range<usize>],
    ) -> Vec<Captures<'t>> {
        captures_on(self.line_regex(p), text, lines, |end| {
            search_end(text, end, p)
        })
    }

    /// Every finding in `text`, in order of position. Offsets are byte
    /// offsets into `text` and always fall on character boundaries.
    pub fn scan_text(&self, text: &str) -> Vec<Finding> {
        let bytes = text.as_bytes();
        let candidates = self.candidates(bytes);
        finish(bytes, &candidates, 0, 1)
    }

    /// The regular expressions that find candidates (in the `regex`
    /// crate's syntax), for comparing the
    /// detector's speed with a tool that runs the same patterns, such as
    /// ripgrep. Validators, context words and the follow-up searches run
    /// from a candidate (a private key's END line, a given name's family
    /// name) are not among them.
    pub fn candidate_patterns(&self) -> Vec<&str> {
        [
            &self.card,
            &self.iban,
            &self.nine,
            &self.ssn,
            &self.sin,
            &self.nino,
            &self.phone,
            &self.email,
            &self.street,
            &self.postcode,
            &self.date,
            &self.pem,
            &self.token,
            &self.config,
            &self.name_after,
            &self.given,
        ]
        .into_iter()
        .map(Regex::as_str)
        .collect()
    }

    /// Every candidate in `text` with a score at or above the threshold,
    /// overlaps resolved, sorted by start.
    pub(crate) fn candidates(&self, text: &[u8]) -> Vec<Candidate> {
        self.candidates_in(text, true, None, text.len(), &mut self.scratch())
            .0
    }

    /// [`Detector::candidates`] for a text that may start inside a larger
    /// one: `at_line_start` and `carried` say whether `text[0]` starts a
    /// line and which table header is in effect at the first line start
    /// (see [`Layout::scan`]); also returns the header in effect at the
    /// first line start at or after `hand_on_at`. `scratch` is carried from
    /// window to window (it remembers the phone numbers already checked).
    pub(crate) fn candidates_in(
        &self,
        text: &[u8],
        at_line_start: bool,
        carried: Option<Header>,
        hand_on_at: usize,
        scratch: &mut Scratch<'_>,
    ) -> (Vec<Candidate>, Option<Header>) {
        let (layout, handed_on) =
            Layout::scan(&self.context, text, at_line_start, carried, hand_on_at);
        let scorer = Scorer {
            context: &self.context,
            layout: &layout,
            text,
        };
        let hot = self.lines.hot_lines(text, &mut scratch.lines);
        let lines = |p: LinePattern| hot[p as usize].as_slice();
        let mut all = Vec::new();
        self.cards(text, lines(LinePattern::Card), &mut all);
        self.ibans(text, lines(LinePattern::Iban), &mut all);
        self.nine_digits(text, lines(LinePattern::Nine), &mut all);
        self.ssns(text, lines(LinePattern::Ssn), &mut all);
        self.sins(text, lines(LinePattern::Sin), &mut all);
        self.ninos(text, lines(LinePattern::Nino), &mut all);
        self.phones(
            text,
            lines(LinePattern::Phone),
            &scorer,
            &mut scratch.memo,
            &mut all,
        );
        self.emails(text, &mut all);
        self.addresses(text, &hot, &mut all);
        self.dates(text, lines(LinePattern::Date), &mut all);
        self.secrets(text, lines(LinePattern::Token), &mut all);
        self.names(text, &hot, &mut all);
        self.name_cells(text, &layout, &mut all);
        // Phone numbers were scored with their context already (it decides
        // whether libphonenumber is asked).
        for c in all.iter_mut().filter(|c| c.kind != Kind::Phone) {
            c.score = scored(c.score, scorer.delta(c.start, c.end, c.kind));
        }
        all.retain(|c| c.score >= THRESHOLD);
        (resolve_overlaps(all), handed_on)
    }

    fn cards(&self, text: &[u8], lines: &[Range<usize>], out: &mut Vec<Candidate>) {
        for m in self.finds(LinePattern::Card, text, lines) {
            let raw = m.as_bytes();
            if glued(text, m.start(), m.end()) || !card_grouping(raw) {
                continue;
            }
            let d = validate::digits(raw);
            if validate::card_network(&d).is_some() && validate::luhn(&d) {
                out.push(cand(Kind::CardNumber, m.start(), m.end(), 0.8));
            }
        }
    }

    fn ibans(&self, text: &[u8], lines: &[Range<usize>], out: &mut Vec<Candidate>) {
        for m in self.finds(LinePattern::Iban, text, lines) {
            if glued(text, m.start(), m.end()) {
                continue;
            }
            let raw = m.as_bytes();
            // The grouped form may run into a following word of capitals:
            // try the longest prefix that ends at a group boundary first.
            let mut ends: Vec<usize> = raw
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b' ')
                .map(|(i, _)| i)
                .collect();
            ends.push(raw.len());
            for &end in ends.iter().rev() {
                let compact: String = raw[..end]
                    .iter()
                    .filter(|b| **b != b' ')
                    .map(|b| char::from(*b))
                    .collect();
                if compact.len() >= 15 && compact.parse::<iban::Iban>().is_ok() {
                    out.push(cand(Kind::Iban, m.start(), m.start() + end, 0.9));
                    break;
                }
            }
        }
    }

    /// Bare nine-digit numbers: routing numbers, SSNs and SINs, each only
    /// with a context word (alone they are far too common).
    fn nine_digits(&self, text: &[u8], lines: &[Range<usize>], out: &mut Vec<Candidate>) {
        for m in self.finds(LinePattern::Nine, text, lines) {
            if glued(text, m.start(), m.end()) {
                continue;
            }
            let d = validate::digits(m.as_bytes());
            if validate::aba(&d) {
                out.push(cand(Kind::RoutingNumber, m.start(), m.end(), 0.25));
            }
            if validate::ssn(&d) {
                out.push(cand(Kind::Ssn, m.start(), m.end(), 0.15));
            }
            if validate::sin(&d) {
                out.push(cand(Kind::NationalId, m.start(), m.end(), 0.15));
            }
        }
    }

    fn ssns(&self, text: &[u8], lines: &[Range<usize>], out: &mut Vec<Candidate>) {
        for m in self.finds(LinePattern::Ssn, text, lines) {
            let raw = m.as_bytes();
            if glued(text, m.start(), m.end()) || raw[3] != raw[6] {
                continue;
            }
            if validate::ssn(&validate::digits(raw)) {
                let base = if raw[3] == b'-' { 0.6 } else { 0.45 };
                out.push(cand(Kind::Ssn, m.start(), m.end(), base));
            }
        }
    }

    fn sins(&self, text: &[u8], lines: &[Range<usize>], out: &mut Vec<Candidate>) {
        for m in self.finds(LinePattern::Sin, text, lines) {
            let raw = m.as_bytes();
            if glued(text, m.start(), m.end()) || raw[3] != raw[7] {
                continue;
            }
            if validate::sin(&validate::digits(raw)) {
                out.push(cand(Kind::NationalId, m.start(), m.end(), 0.5));
            }
        }
    }

    fn ninos(&self, text: &[u8], lines: &[Range<usize>], out: &mut Vec<Candidate>) {
        for m in self.finds(LinePattern::Nino, text, lines) {
            if validate::nino_prefix(&m.as_bytes()[..2]) && !glued(text, m.start(), m.end()) {
                out.push(cand(Kind::NationalId, m.start(), m.end(), 0.7));
            }
        }
    }

    fn phones(
        &self,
        text: &[u8],
        lines: &[Range<usize>],
        scorer: &Scorer<'_>,
        memo: &mut PhoneMemo,
        out: &mut Vec<Candidate>,
    ) {
        // The same matches as `self.finds(LinePattern::Phone, ..)`, faster.
        for Range { start, end } in phone_runs(text, lines) {
            let raw = &text[start..end];
            let n_digits = raw.iter().filter(|b| b.is_ascii_digit()).count();
            if !(7..=16).contains(&n_digits) || glued(text, start, end) {
                continue;
            }
            if start > 0 && text[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            let Ok(s) = std::str::from_utf8(raw) else {
                continue;
            };
            // A national number needs the length and grouping of one of
            // the regions' numbers (checked first: it is cheap, and most
            // runs of digits fail it).
            if !s.starts_with('+') && !self.national_shape_of_any(raw) {
                continue;
            }
            // Dates and times are not phone numbers. (A date of digits
            // needs a `-`, `.` or `/` between its parts, and a candidate
            // holds no letters for a month's name: most candidates need not
            // be searched.)
            if raw.iter().any(|b| matches!(b, b'-' | b'.'))
                && self.date.find(raw).is_some_and(|d| d.len() == raw.len())
            {
                continue;
            }
            let separated = raw.iter().any(|b| !b.is_ascii_digit());
            let base = if s.starts_with('+') {
                0.7
            } else if separated {
                0.6
            } else if in_running_text(text, start) && !scorer.layout.in_row(start, end) {
                // In running text or a log line, a bare run of digits that
                // libphonenumber calls a valid number is reported, at the
                // threshold: a lowering word ("order", "confirmation") takes
                // it below.
                BARE_PHONE
            } else {
                // In a table, a list or a delimited line a bare number is
                // as often an id: only a word or a column header ("phone")
                // makes it a phone number.
                0.4
            };
            // Parsing with libphonenumber's metadata is the expensive step:
            // skip it for candidates that context words already rule out,
            // and for national numbers that cannot belong to a region.
            let delta = scorer.delta(start, end, Kind::Phone);
            if base + delta < THRESHOLD {
                continue;
            }
            // The same number often recurs (a signature, a switchboard, a
            // customer's rows): libphonenumber is asked once per distinct
            // candidate in a scan (up to the memo's size).
            let valid_len = match memo.0.get(raw) {
                Some(known) => *known,
                None => {
                    let len = self.phone_len(raw, s);
                    if memo.0.len() >= PhoneMemo::MAX {
                        memo.0.clear();
                    }
                    memo.0.insert(raw.to_vec(), len);
                    len
                }
            };
            // Phone numbers leave here with their context counted (see
            // `candidates_in`).
            if let Some(len) = valid_len {
                let delta = if len == raw.len() {
                    delta
                } else {
                    scorer.delta(start, start + len, Kind::Phone)
                };
                out.push(cand(Kind::Phone, start, start + len, scored(base, delta)));
            } else if scorer.layout.column(start, end, Kind::Phone) > 0.0
                && self.possible_national(raw.strip_prefix(b"+1").unwrap_or(raw))
            {
                // In a column headed "phone" or "tel", a number written the
                // way the region writes them counts even when its area code
                // is not (yet) in use: exports and test data hold such
                // numbers, and the header leaves little doubt.
                out.push(cand(Kind::Phone, start, end, scored(base, delta)));
            }
        }
    }

    /// `raw` (a national number) has the length and grouping of a number
    /// of one of the regions, whether or not its area code is assigned.
    fn possible_national(&self, raw: &[u8]) -> bool {
        let d = validate::digits(raw);
        self.regions.iter().any(|r| {
            national_shape(*r, &d)
                && match r {
                    Country::US | Country::CA => nanp_grouping(raw) && nanp_exchange(&d),
                    Country::GB => true,
                    _ => false,
                }
        })
    }

    /// The length of the valid phone number `raw` starts with, if any.
    fn phone_len(&self, raw: &[u8], s: &str) -> Option<usize> {
        if s.starts_with('+') {
            // An international number may run into a number after it
            // ("+44 20 7946 0958 12"): try shorter prefixes ending at a
            // space, longest first.
            let mut ends: Vec<usize> = raw
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b' ')
                .map(|(i, _)| i)
                .collect();
            ends.push(raw.len());
            ends.iter().rev().take(3).copied().find(|&e| {
                let digits = raw[..e].iter().filter(|b| b.is_ascii_digit()).count();
                digits >= 7 && valid_phone(&s[..e], None)
            })
        } else {
            let d = validate::digits(raw);
            let valid = self
                .regions
                .iter()
                .any(|r| national_shape_of(*r, raw, &d) && valid_phone(s, Some(*r)));
            valid.then_some(raw.len())
        }
    }

    /// Whether `raw` (a national number) can be a number of one of the
    /// regions at all: see [`national_shape_of`].
    fn national_shape_of_any(&self, raw: &[u8]) -> bool {
        // A phone candidate holds at most 16 digits: kept on the stack.
        let mut buf = [0u8; 16];
        let mut n = 0;
        for b in raw.iter().filter(|b| b.is_ascii_digit()) {
            let Some(slot) = buf.get_mut(n) else {
                return false;
            };
            *slot = b - b'0';
            n += 1;
        }
        let d = &buf[..n];
        self.regions.iter().any(|r| national_shape_of(*r, raw, d))
    }

    fn emails(&self, text: &[u8], out: &mut Vec<Candidate>) {
        for m in self.email.find_iter(text) {
            out.push(cand(Kind::Email, m.start(), m.end(), 0.9));
        }
    }

    fn addresses(&self, text: &[u8], hot: &[Vec<Range<usize>>], out: &mut Vec<Candidate>) {
        for c in self.captures(
            LinePattern::Street,
            text,
            &hot[LinePattern::Street as usize],
        ) {
            let Some(m) = c.get(0) else { continue };
            let numbered = c.name("num").is_some();
            let tail = c.name("tail").is_some();
            let base = if tail && (numbered || c.name("unit1").is_some() || c.name("box").is_some())
            {
                0.85
            } else if !numbered {
                // A street name alone, or a P.O. box or flat without a town
                // and postcode, is not an address.
                continue;
            } else if c.name("common").is_some() || c.name("unit2").is_some() {
                0.6
            } else {
                0.4
            };
            out.push(cand(Kind::PostalAddress, m.start(), m.end(), base));
        }
        // A postcode on its own is part of an address too, but a weaker
        // signal: it needs a context word ("address", "postcode").
        for m in self.finds(
            LinePattern::Postcode,
            text,
            &hot[LinePattern::Postcode as usize],
        ) {
            out.push(cand(Kind::PostalAddress, m.start(), m.end(), 0.45));
        }
    }

    fn dates(&self, text: &[u8], lines: &[Range<usize>], out: &mut Vec<Candidate>) {
        for c in self.captures(LinePattern::Date, text, lines) {
            let Some(m) = c.get(0) else { continue };
            if glued(text, m.start(), m.end()) || is_timestamp(text, m.end()) {
                continue;
            }
            if plausible_date(&c) {
                // Only a birth/DOB context word makes a date a date of birth.
                out.push(cand(Kind::DateOfBirth, m.start(), m.end(), 0.2));
            }
        }
    }

    fn secrets(&self, text: &[u8], token_lines: &[Range<usize>], out: &mut Vec<Candidate>) {
        // The END line after each BEGIN line, searched once: a file of
        // BEGIN lines without END lines must not make each one search on.
        let mut next_end: Option<Option<(usize, usize)>> = None;
        for m in self.pem.find_iter(text) {
            let stale = match next_end {
                None => true,
                Some(Some((s, _))) => s < m.end(),
                Some(None) => false,
            };
            if stale {
                next_end = Some(
                    self.pem_end
                        .find_at(text, m.end())
                        .map(|e| (e.start(), e.end())),
                );
            }
            let end = match next_end {
                Some(Some((_, e))) if e - m.start() <= PEM_MAX => e,
                _ => m.end(),
            };
            out.push(cand(Kind::Secret, m.start(), end, 0.95));
        }
        for m in self.finds(LinePattern::Token, text, token_lines) {
            out.push(cand(Kind::Secret, m.start(), m.end(), 0.9));
        }
        // A setting never runs over a line break: the pattern runs only on
        // the lines that may hold one.
        let lines = setting_lines(text);
        for c in captures_on(&self.config, text, &lines, |end| end) {
            let (Some(all), Some(v)) = (c.get(0), c.name("v")) else {
                continue;
            };
            // A full stop that ends the sentence is not part of the value.
            let (v_start, mut v_end) = (v.start(), v.end());
            if text[v_end - 1] == b'.' && text.get(v_end).is_none_or(u8::is_ascii_whitespace) {
                v_end -= 1;
            }
            let value = &text[v_start..v_end];
            // The value's length is checked here, not in the pattern: a
            // bounded repetition of a Unicode class makes the automaton
            // large and the scan slow. In config-like places any value
            // counts; elsewhere ("... and db_password = Xk0mY3oN. Then
            // ...") a value that looks made by a machine or a careful
            // person: letters and digits, or both cases, mixed.
            if value.len() <= 200
                && (config_like(text, all.start()) || looks_generated(value))
                && !placeholder(value)
            {
                out.push(cand(Kind::Secret, v_start, v_end, 0.75));
            }
        }
    }

    fn names(&self, text: &[u8], hot: &[Vec<Range<usize>>], out: &mut Vec<Candidate>) {
        for c in self.captures(
            LinePattern::NameAfter,
            text,
            &hot[LinePattern::NameAfter as usize],
        ) {
            let Some(n) = c.name("n") else { continue };
            let first = n
                .as_bytes()
                .split(|b| *b == b' ')
                .next()
                .unwrap_or_default();
            if NOT_NAMES.iter().any(|w| w.as_bytes() == first) {
                continue;
            }
            let base = if c.name("label").is_some() {
                0.75
            } else if c.name("title").is_some() {
                0.7
            } else {
                0.6
            };
            out.push(cand(Kind::PersonName, n.start(), n.end(), base));
        }
        for m in self.finds(LinePattern::Given, text, &hot[LinePattern::Given as usize]) {
            if let Some(next) = self.next_cap.find(&text[m.end()..]) {
                let family = &next.as_bytes()[1..];
                if NOT_NAMES.iter().any(|w| w.as_bytes() == family) {
                    continue;
                }
                out.push(cand(
                    Kind::PersonName,
                    m.start(),
                    m.end() + next.end(),
                    0.55,
                ));
            }
        }
    }
}

impl Detector {
    /// People's names in the cells of a table column that holds them
    /// (`full_name`, `customer`, or `name` beside personal data): a cell
    /// of one to five capitalised words, not a company's name.
    fn name_cells(&self, text: &[u8], layout: &Layout, out: &mut Vec<Candidate>) {
        for (cell, words) in layout.name_cells() {
            let raw = &text[cell.clone()];
            let lead = raw.len() - raw.trim_ascii_start().len();
            let mut value = raw.trim_ascii();
            let mut start = cell.start + lead;
            if let [b'"', inner @ .., b'"'] = value {
                value = inner;
                start += 1;
            }
            let Ok(s) = std::str::from_utf8(value) else {
                continue;
            };
            if looks_like_a_name(s, words) {
                out.push(cand(Kind::PersonName, start, start + value.len(), 0.7));
            }
        }
    }
}

/// Words that make a cell a company's name rather than a person's.
const COMPANY: &[&str] = &[
    "Ltd",
    "Ltd.",
    "Limited",
    "Inc",
    "Inc.",
    "Corp",
    "Corp.",
    "Co",
    "Co.",
    "Group",
    "Company",
    "LLC",
    "LLP",
    "PLC",
    "GmbH",
    "AG",
    "KG",
    "KGaA",
    "OHG",
    "GbR",
    "SA",
    "S.A.",
    "SARL",
    "S.A.R.L.",
    "SAS",
    "S.A.S.",
    "BV",
    "NV",
    "Bank",
    "University",
];

/// Lowercase particles inside family names ("de la", "van der", "bin").
const PARTICLES: &[&str] = &[
    "al", "bin", "binti", "da", "das", "de", "del", "della", "den", "der", "des", "di", "do",
    "dos", "du", "la", "le", "ter", "van", "von", "y", "zu",
];

/// `min` to six words, each a capital letter then letters (and `.'-`),
/// or a particle ("de", "van") between two such words; none a word of a
/// company's name ("Ltd", "GmbH").
fn looks_like_a_name(s: &str, min: usize) -> bool {
    let words: Vec<&str> = s.split(' ').collect();
    let last = words.len().saturating_sub(1);
    (min.max(1)..=6).contains(&words.len())
        && s.len() <= 80
        && words.iter().enumerate().all(|(i, w)| {
            let mut chars = w.chars();
            let capitalised = chars.next().is_some_and(char::is_uppercase)
                && chars.all(|c| c.is_alphabetic() || matches!(c, '.' | '\'' | '-'));
            (capitalised && !COMPANY.contains(w)) || (i > 0 && i < last && PARTICLES.contains(w))
        })
}

#[cfg(test)]
#[test]
fn given_names_are_sorted_for_binary_search() {
    assert!(GIVEN_NAMES.windows(2).all(|w| w[0] < w[1]));
}

/// Whether `d` (digits only) can be a national number of `region` at all,
/// checked before asking libphonenumber. Regions without a rule here are
/// left to libphonenumber.
fn national_shape(region: Country, d: &[u8]) -> bool {
    match region {
        // NANP: NXX-XXX-XXXX, optionally with the trunk prefix 1. The
        // exchange is left to libphonenumber: most regions' exchanges start
        // with 2-9, but not all (the Dominican Republic's 829-1XX).
        Country::US | Country::CA => match d {
            [a, ..] if d.len() == 10 => *a >= 2,
            [1, a, ..] if d.len() == 11 => *a >= 2,
            _ => false,
        },
        // UK national numbers start with the trunk prefix 0.
        Country::GB => d.first() == Some(&0) && (10..=11).contains(&d.len()),
        _ => true,
    }
}

/// Context for candidates in one text: words near them, and the header of
/// their column when they sit in a table.
struct Scorer<'a> {
    context: &'a Context,
    layout: &'a Layout,
    text: &'a [u8],
}

impl Scorer<'_> {
    fn delta(&self, start: usize, end: usize, kind: Kind) -> f32 {
        if !self.context.speaks_for(kind) {
            return 0.0;
        }
        let bounds = self.layout.bounds(start, end, self.text.len());
        let column = self.layout.column(start, end, kind);
        self.context
            .delta(self.text, (start, end), kind, bounds, column)
    }
}

/// The score of a national phone number written as one run of digits in
/// running text, without context.
const BARE_PHONE: f32 = THRESHOLD;

/// Whether the candidate at `start` stands in running text: after a space
/// that follows something other than a line break, a blank or a cell
/// delimiter (so not alone on its line nor a cell of delimited text).
fn in_running_text(text: &[u8], start: usize) -> bool {
    start >= 2
        && text[start - 1] == b' '
        && !matches!(
            text[start - 2],
            b'\n' | b'\r' | b' ' | b'\t' | b',' | b';' | b'|'
        )
}

/// A base score changed by context, kept within 0..=1.
fn scored(base: f32, delta: f32) -> f32 {
    (base + delta).clamp(0.0, 1.0)
}

fn cand(kind: Kind, start: usize, end: usize, score: f32) -> Candidate {
    Candidate {
        kind,
        start,
        end,
        score,
    }
}

/// The match is part of a larger token: a UUID, a version string, a
/// decimal, a hyphenated or dotted id.
fn glued(text: &[u8], start: usize, end: usize) -> bool {
    let joiner = |b: u8| matches!(b, b'-' | b'.' | b'/' | b'_' | b':');
    let before = start > 0
        && (text[start - 1].is_ascii_alphanumeric()
            || (joiner(text[start - 1]) && start > 1 && text[start - 2].is_ascii_alphanumeric()));
    let after = end < text.len()
        && (text[end].is_ascii_alphanumeric()
            || (joiner(text[end])
                && end + 1 < text.len()
                && text[end + 1].is_ascii_alphanumeric()));
    before || after
}

/// Card numbers are written as one run of digits or in the groups cards
/// print: fours (4-4-4-4, 4-4-4-4-3, the last group shorter), or 4-6-5
/// (Amex) and 4-6-4 (Diners), with one kind of separator. Random numbers
/// that happen to sit next to each other rarely group like that.
fn card_grouping(raw: &[u8]) -> bool {
    let seps: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_digit())
        .collect();
    if seps.is_empty() {
        return true;
    }
    if seps.iter().any(|s| *s != seps[0]) {
        return false;
    }
    let groups: Vec<usize> = raw.split(|b| *b == seps[0]).map(<[u8]>::len).collect();
    let fours = groups.split_last().is_some_and(|(last, rest)| {
        rest.iter().all(|g| *g == 4) && (1..=4).contains(last) && rest.len() >= 3
    });
    fours || groups == [4, 6, 5] || groups == [4, 6, 4]
}

/// [`national_shape`], and for the NANP also [`nanp_grouping`]: what a
/// national number `raw` (digits `d`) must pass before libphonenumber is
/// asked.
fn national_shape_of(region: Country, raw: &[u8], d: &[u8]) -> bool {
    national_shape(region, d)
        && (!matches!(region, Country::US | Country::CA) || nanp_grouping(raw))
}

/// The exchange (the three digits after the area code) of a NANP number
/// `d` (digits, optionally after the trunk prefix 1) starts with 2-9, as in
/// the United States and Canada.
fn nanp_exchange(d: &[u8]) -> bool {
    let exchange = if d.len() == 11 { d.get(4) } else { d.get(3) };
    exchange.is_some_and(|e| *e >= 2)
}

/// Phone numbers of the NANP without a `+` are written 3-3-4 (with an
/// optional leading 1 and parentheses) or as one run of digits; other
/// groupings of ten digits are more likely two numbers side by side.
fn nanp_grouping(raw: &[u8]) -> bool {
    let groups: Vec<usize> = raw
        .split(|b| !b.is_ascii_digit())
        .map(<[u8]>::len)
        .filter(|n| *n > 0)
        .collect();
    matches!(
        groups.as_slice(),
        [10] | [11] | [3, 3, 4] | [1, 3, 3, 4] | [3, 7]
    )
}

/// A date followed by a time of day is a timestamp, not a birthday.
fn is_timestamp(text: &[u8], end: usize) -> bool {
    let rest = &text[end..text.len().min(end + 4)];
    matches!(rest, [b'T', d, ..] if d.is_ascii_digit())
        || matches!(rest, [b' ', a, b':', ..] | [b' ', a, _, b':'] if a.is_ascii_digit())
}

fn plausible_date(c: &Captures<'_>) -> bool {
    let num = |name: &str| -> Option<u32> {
        c.name(name)
            .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
            .and_then(|s| s.parse().ok())
    };
    let year_ok = |y: u32| (1900..=2030).contains(&y) || y < 100;
    if let (Some(y), Some(m), Some(d)) = (num("y1"), num("m1"), num("d1")) {
        return year_ok(y) && (1..=12).contains(&m) && (1..=31).contains(&d);
    }
    if let (Some(a), Some(b), Some(y)) = (num("a2"), num("b2"), num("y2")) {
        // Day and month in either order (US or European).
        let ok = |m: u32, d: u32| (1..=12).contains(&m) && (1..=31).contains(&d);
        return year_ok(y) && (ok(a, b) || ok(b, a));
    }
    let d = num("d3").or_else(|| num("d4"));
    let y = num("y3").or_else(|| num("y4"));
    matches!((d, y), (Some(d), Some(y)) if (1..=31).contains(&d) && year_ok(y))
}

/// `password = ...` counts in config-like text: the key starts a line (after
/// indentation, a quote, `export ` or a YAML `- `) or follows a separator of
/// a query string or an inline object.
fn config_like(text: &[u8], key_start: usize) -> bool {
    let line_start = text[..key_start]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let before = &text[line_start..key_start];
    let trimmed: Vec<u8> = before
        .iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'-'))
        .collect();
    trimmed.is_empty()
        || trimmed == b"export"
        || matches!(before.last(), Some(b'&' | b'?' | b';' | b',' | b'{'))
        || before.ends_with(b", ")
        || before.ends_with(b"; ")
}

/// A value with letters and digits mixed, or upper and lower case letters
/// mixed, of eight characters or more: a password or key rather than a
/// word ("password: forgotten").
fn looks_generated(v: &[u8]) -> bool {
    let has = |f: fn(&u8) -> bool| v.iter().any(f);
    let letters = has(u8::is_ascii_alphabetic);
    let digits = has(u8::is_ascii_digit);
    // "Forgotten" is a word; "xK0mYoNt" is not.
    let mixed_case = v.iter().skip(1).any(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase);
    v.len() >= 8 && ((letters && digits) || mixed_case)
}

/// Values that are clearly not a real secret: templates, references,
/// masks.
fn placeholder(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    let words: [&[u8]; 10] = [
        b"null",
        b"none",
        b"true",
        b"false",
        b"changeme",
        b"redacted",
        b"password",
        b"required",
        b"optional",
        b"example",
    ];
    v.starts_with(b"$")
        || v.starts_with(b"{{")
        || v.starts_with(b"%(")
        || v.starts_with(b"<")
        || v.iter().all(|b| *b == v[0])
        || words.iter().any(|w| lower == *w)
}

/// Keeps the best of overlapping candidates (higher score, then longer),
/// sorted by position. Most candidates overlap none: the text is cut into
/// runs of candidates that overlap one another (in order of start, each
/// starts before the furthest end so far), and only runs of more than one
/// are resolved, each on its own.
fn resolve_overlaps(mut all: Vec<Candidate>) -> Vec<Candidate> {
    all.sort_by_key(|c| (c.start, c.end));
    let mut kept = Vec::with_capacity(all.len());
    let mut run_start = 0;
    while run_start < all.len() {
        let mut reach = all[run_start].end;
        let mut run_end = run_start + 1;
        while let Some(c) = all.get(run_end).filter(|c| c.start < reach) {
            reach = reach.max(c.end);
            run_end += 1;
        }
        match &all[run_start..run_end] {
            [one] => kept.push(*one),
            run => kept.extend(resolve_run(run.to_vec())),
        }
        run_start = run_end;
    }
    kept
}

/// [`resolve_overlaps`] for one run: the best candidate first, then each
/// next best that overlaps none kept. Kept candidates never overlap, so
/// ordered by start they are ordered by end too, and the only one a new
/// candidate can overlap is the last kept one starting before its end: one
/// lookup in a B-tree, so the work is O(n log n) even when every candidate
/// overlaps its neighbours.
fn resolve_run(mut run: Vec<Candidate>) -> Vec<Candidate> {
    run.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
            .then(a.kind.cmp(&b.kind))
    });
    let mut kept: std::collections::BTreeMap<usize, Candidate> = std::collections::BTreeMap::new();
    for c in run {
        let clash = kept
            .range(..c.end)
            .next_back()
            .is_some_and(|(_, k)| k.end > c.start);
        if !clash {
            kept.insert(c.start, c);
        }
    }
    kept.into_values().collect()
}

/// Turns candidates into findings: global offsets (`base` is the offset of
/// `text[0]`), 1-based line numbers (`first_line` is the line of
/// `text[0]`), masked values.
pub(crate) fn finish(
    text: &[u8],
    candidates: &[Candidate],
    base: u64,
    first_line: u64,
) -> Vec<Finding> {
    let mut line = first_line;
    let mut pos = 0;
    candidates
        .iter()
        .map(|c| {
            line += memchr::memchr_iter(b'\n', &text[pos..c.start]).count() as u64;
            pos = c.start;
            let value = String::from_utf8_lossy(&text[c.start..c.end]);
            Finding {
                kind: c.kind,
                start: base + c.start as u64,
                end: base + c.end as u64,
                line,
                score: (c.score * 100.0).round() / 100.0,
                masked: mask(c.kind, &value),
            }
        })
        .collect()
}

#[cfg(test)]
mod line_set_tests {
    use proptest::prelude::*;

    use super::Detector;

    /// Pieces of lines that start or end the detector's candidates.
    const PIECES: &[&str] = &[
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "123-45-6789",
        "130 692 544",
        "AB 12 34 56 C",
        "+44 20 7946 0958",
        "(415) 555-0123",
        "1600 Pennsylvania Avenue",
        "Flat 4, ",
        "SW1A 1AA",
        "12/03/1985",
        "3rd March, 1985",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_",
        "Name: Ann Lee",
        "Dear Mr. ",
        "Priya Shah",
        " Main St",
        "é",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The line set's DFA says which patterns match on a line exactly
        /// as the `RegexSet` of the same patterns does.
        #[test]
        fn dfa_agrees_with_the_set_on_the_detector_patterns(
            parts in prop::collection::vec(
                prop_oneof![
                    prop::sample::select(PIECES).prop_map(str::to_owned),
                    "[0-9A-Za-z .,:/()+#'_-]{0,12}",
                ],
                0..8,
            )
        ) {
            let detector = Detector::new();
            prop_assert!(detector.lines.agree_on(parts.concat().as_bytes()));
        }
    }
}
