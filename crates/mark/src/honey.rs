//! Honey records: a few plausible fake customers added to a record-set
//! export, unique to its delivery, so a leaked list names its source even
//! when banners and fingerprints were stripped and the rows shuffled.
//!
//! Everything is derived with HMAC-SHA256 from a key the vault holds and
//! the delivery id, so the same delivery always gets the same records and
//! nobody without the key can tell them from real ones or forge another
//! delivery's. The values are chosen to harm nobody:
//!
//! - e-mail addresses are at the owner's honey domain (mail to them reaches
//!   the owner), `first.last` plus four digits;
//! - card numbers are Luhn-valid numbers in issuers' published test ranges
//!   (4111 11, 4242 42, 5555 55, 2223 00, 3782 82, 6011 11, ...), which no
//!   real card uses;
//! - phone numbers are US 555-0100 to 555-0199, reserved for fiction;
//! - national ids are in the 9xx area (never issued as SSNs), IBANs are GB
//!   IBANs with a valid check for the made-up bank code CNFD;
//! - names, streets and cities come from small bundled lists.
//!
//! The vault keeps [`honey_tags`] of every delivery's records (their e-mail
//! addresses and card numbers, normalized) to recognise them in a
//! [`crate::Trace`] later.

use aws_lc_rs::hmac;
use confidant_core::{Column, DataCategory, delivery::DeliveryId};
use serde::{Deserialize, Serialize};

/// A column of a record-set export: its name and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: String,
    pub category: DataCategory,
}

impl From<&Column> for ColumnSpec {
    fn from(column: &Column) -> Self {
        ColumnSpec {
            name: column.name.clone(),
            category: column.category,
        }
    }
}

/// A value that identifies a honey record when it shows up in a leaked
/// file: its category and its value in the form of
/// [`DataCategory::normalize_for_lookup`] (lower-case e-mail, card digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HoneyTag {
    pub category: DataCategory,
    pub value: String,
}

impl HoneyTag {
    /// The tag of `value` read as `category`.
    pub fn new(category: DataCategory, value: &str) -> Self {
        HoneyTag {
            category,
            value: category.normalize_for_lookup(value),
        }
    }
}

const FIRST_NAMES: [&str; 64] = [
    "Maria", "James", "Anna", "David", "Laura", "Daniel", "Sofia", "Michael", "Emma", "Thomas",
    "Julia", "Robert", "Clara", "Peter", "Nina", "Andrew", "Olivia", "Mark", "Helen", "Paul",
    "Sarah", "Lucas", "Grace", "Martin", "Alice", "Samuel", "Irene", "George", "Chloe", "Simon",
    "Ella", "Victor", "Hannah", "Oscar", "Lena", "Adrian", "Rosa", "Felix", "Diana", "Hugo", "Eva",
    "Philip", "Nora", "Jonas", "Ruth", "Leon", "Amelia", "Carl", "Vera", "Ethan", "Mila", "Brian",
    "Ines", "Kevin", "Lucy", "Noah", "Carmen", "Owen", "Tessa", "Ivan", "Alma", "Ruben", "Lily",
    "Max",
];

const LAST_NAMES: [&str; 64] = [
    "Keller",
    "Morgan",
    "Fischer",
    "Bennett",
    "Novak",
    "Walsh",
    "Moreau",
    "Hayes",
    "Lindqvist",
    "Porter",
    "Romano",
    "Hughes",
    "Schmidt",
    "Foster",
    "Kowalski",
    "Reed",
    "Jensen",
    "Palmer",
    "Weber",
    "Turner",
    "Costa",
    "Barker",
    "Larsen",
    "Sutton",
    "Meyer",
    "Dixon",
    "Varga",
    "Lowe",
    "Brandt",
    "Chapman",
    "Rossi",
    "Fleming",
    "Becker",
    "Holt",
    "Nilsen",
    "Garner",
    "Wagner",
    "Marsh",
    "Silva",
    "Doyle",
    "Hoffmann",
    "Pearce",
    "Moretti",
    "Shaw",
    "Bauer",
    "Quinn",
    "Haas",
    "Lambert",
    "Kaiser",
    "Rhodes",
    "Vogel",
    "Walton",
    "Ortega",
    "Bishop",
    "Lorenz",
    "Conway",
    "Dumont",
    "Steele",
    "Richter",
    "Ferris",
    "Sommer",
    "Blake",
    "Engel",
    "Harper",
];

const STREETS: [&str; 16] = [
    "Maple", "Oak", "Cedar", "Elm", "Willow", "Birch", "Chestnut", "Hawthorn", "Juniper", "Linden",
    "Meadow", "Orchard", "Park", "River", "Spruce", "Sycamore",
];

const STREET_KINDS: [&str; 6] = ["Street", "Avenue", "Road", "Lane", "Drive", "Court"];

const CITIES: [&str; 16] = [
    "Springfield",
    "Riverton",
    "Fairview",
    "Greenville",
    "Madison",
    "Clinton",
    "Franklin",
    "Georgetown",
    "Salem",
    "Arlington",
    "Ashland",
    "Burlington",
    "Dayton",
    "Milford",
    "Oxford",
    "Newport",
];

const NOTES: [&str; 8] = [
    "Prefers contact by e-mail",
    "Call back after 3 pm",
    "Renewal due next quarter",
    "Asked about the premium plan",
    "Moved to the new address in spring",
    "Referred by an existing customer",
    "Invoice sent, awaiting payment",
    "Wants paper statements",
];

/// US area codes for 555-01xx numbers.
const AREA_CODES: [&str; 16] = [
    "201", "206", "212", "213", "305", "312", "404", "415", "503", "512", "614", "617", "702",
    "713", "720", "808",
];

/// Issuer test ranges: prefix and card length.
const TEST_BINS: [(&str, usize); 8] = [
    ("411111", 16),
    ("424242", 16),
    ("400005", 16),
    ("555555", 16),
    ("222300", 16),
    ("510510", 16),
    ("378282", 15),
    ("601111", 16),
];

/// Whether a card number (digits only) is in one of the test ranges honey
/// records use and passes the Luhn check.
pub(crate) fn is_honey_card(digits: &str) -> bool {
    TEST_BINS
        .iter()
        .any(|(bin, len)| digits.len() == *len && digits.starts_with(bin))
        && luhn_valid(digits)
}

/// The Luhn check over a string of ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    luhn_sum(digits.bytes().rev().map(|b| u32::from(b - b'0')), false) % 10 == 0
}

/// Luhn sum of digits given right to left; `double_first` when the first
/// digit given is the one next to a missing check digit.
fn luhn_sum(digits: impl Iterator<Item = u32>, double_first: bool) -> u32 {
    digits
        .enumerate()
        .map(|(i, d)| {
            if (i % 2 == 0) == double_first {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum()
}

/// Bytes derived from the key for one purpose.
struct Derived {
    key: hmac::Key,
    context: Vec<u8>,
    block: [u8; 32],
    used: usize,
    counter: u32,
}

impl Derived {
    fn new(key: &[u8], context: Vec<u8>) -> Self {
        Derived {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            context,
            block: [0; 32],
            used: 32,
            counter: 0,
        }
    }

    fn byte(&mut self) -> u8 {
        if self.used == 32 {
            let mut ctx = hmac::Context::with_key(&self.key);
            ctx.update(&self.context);
            ctx.update(&self.counter.to_be_bytes());
            self.block.copy_from_slice(ctx.sign().as_ref());
            self.counter += 1;
            self.used = 0;
        }
        let b = self.block[self.used];
        self.used += 1;
        b
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.byte()))
    }

    /// A number in `0..n` (n > 0; the bias of 64 bits mod n is negligible).
    fn below(&mut self, n: usize) -> usize {
        let n64 = n.max(1) as u64;
        usize::try_from(self.u64() % n64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn digits(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| char::from(b'0' + u8::try_from(self.below(10)).unwrap_or(0)))
            .collect()
    }
}

/// The honey domain, cleaned ("@Example.COM " -> "example.com").
fn clean_domain(domain: &str) -> String {
    let d = domain.trim().trim_start_matches('@').to_ascii_lowercase();
    if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c == '@') {
        "honey.invalid".to_owned()
    } else {
        d
    }
}

fn card(rng: &mut Derived) -> String {
    let (bin, len) = TEST_BINS[rng.below(TEST_BINS.len())];
    let mut digits = bin.to_owned();
    digits.push_str(&rng.digits(len - 1 - bin.len()));
    let sum = luhn_sum(digits.bytes().rev().map(|b| u32::from(b - b'0')), true);
    let check = (10 - sum % 10) % 10;
    digits.push(char::from(b'0' + u8::try_from(check).unwrap_or(0)));
    // Group as printed on cards: 4-6-5 for 15 digits, 4-4-4-4 otherwise.
    let groups: &[usize] = if len == 15 { &[4, 6, 5] } else { &[4, 4, 4, 4] };
    let mut out = String::new();
    let mut at = 0;
    for g in groups {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&digits[at..at + g]);
        at += g;
    }
    out
}

/// A GB IBAN for the made-up bank CNFD, with a valid check.
fn iban(rng: &mut Derived) -> String {
    let bban = format!("CNFD{}{}", rng.digits(6), rng.digits(8));
    let rearranged = format!("{bban}GB00");
    let mut rem = 0u32;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap_or(0);
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    let check = 98 - rem;
    let iban = format!("GB{check:02}{bban}");
    let mut out = String::new();
    for (i, c) in iban.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `n` honey records for one delivery, one value per column, each record a
/// different plausible person. Deterministic: the same key, delivery and
/// columns give the same records.
pub fn honey_records(
    key: &[u8; 32],
    delivery: DeliveryId,
    columns: &[ColumnSpec],
    honey_domain: &str,
    n: usize,
) -> Vec<Vec<String>> {
    let domain = clean_domain(honey_domain);
    (0..n)
        .map(|record| {
            let mut context = b"confidant honey record v1\0".to_vec();
            context.extend_from_slice(delivery.as_bytes());
            context.extend_from_slice(&u64::try_from(record).unwrap_or(u64::MAX).to_be_bytes());
            let mut rng = Derived::new(key, context);
            let first = rng.pick(&FIRST_NAMES);
            let last = rng.pick(&LAST_NAMES);
            let email = format!(
                "{}.{}{}@{domain}",
                first.to_ascii_lowercase(),
                last.to_ascii_lowercase(),
                rng.digits(4)
            );
            columns
                .iter()
                .map(|column| value_for(column, first, last, &email, &mut rng))
                .collect()
        })
        .collect()
}

fn value_for(
    column: &ColumnSpec,
    first: &str,
    last: &str,
    email: &str,
    rng: &mut Derived,
) -> String {
    let name = column.name.to_ascii_lowercase();
    match column.category {
        DataCategory::Name => {
            if name.contains("first") || name.contains("given") {
                first.to_owned()
            } else if name.contains("last") || name.contains("sur") || name.contains("family") {
                last.to_owned()
            } else {
                format!("{first} {last}")
            }
        }
        DataCategory::Email => email.to_owned(),
        DataCategory::CardNumber => card(rng),
        DataCategory::Phone => format!("+1 {}-555-01{}", rng.pick(&AREA_CODES), rng.digits(2)),
        DataCategory::PostalAddress => format!(
            "{} {} {}, {}",
            10 + rng.below(980),
            rng.pick(&STREETS),
            rng.pick(&STREET_KINDS),
            rng.pick(&CITIES)
        ),
        DataCategory::DateOfBirth => format!(
            "{}-{:02}-{:02}",
            1950 + rng.below(54),
            1 + rng.below(12),
            1 + rng.below(28)
        ),
        DataCategory::NationalId => {
            format!("9{}-7{}-{}", rng.digits(2), rng.digits(1), rng.digits(4))
        }
        DataCategory::BankAccount => iban(rng),
        DataCategory::FreeText => rng.pick(&NOTES).to_owned(),
        DataCategory::Other => format!("C{}", rng.digits(6)),
    }
}

/// The tags by which honey `records` (as made by [`honey_records`] for
/// `columns`) are recognised in a trace: their e-mail addresses and card
/// numbers, normalized. Phones, names and the rest repeat across
/// deliveries and are left out.
pub fn honey_tags(columns: &[ColumnSpec], records: &[Vec<String>]) -> Vec<HoneyTag> {
    let mut tags = Vec::new();
    for record in records {
        for (column, value) in columns.iter().zip(record) {
            if matches!(
                column.category,
                DataCategory::Email | DataCategory::CardNumber
            ) {
                tags.push(HoneyTag::new(column.category, value));
            }
        }
    }
    tags.sort();
    tags.dedup();
    tags
}

/// The seed of [`insert_honey`] for a delivery: positions then differ per
/// delivery and cannot be predicted without the key.
pub fn honey_seed(key: &[u8; 32], delivery: DeliveryId) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&k);
    ctx.update(b"confidant honey positions v1\0");
    ctx.update(delivery.as_bytes());
    let mut seed = [0u8; 32];
    seed.copy_from_slice(ctx.sign().as_ref());
    seed
}

/// Inserts `honey` into `rows` (data rows, without a header) at
/// pseudo-random positions drawn from `seed`, and returns where the honey
/// records ended up (sorted indexes into the new `rows`).
pub fn insert_honey<T>(rows: &mut Vec<T>, honey: Vec<T>, seed: &[u8; 32]) -> Vec<usize> {
    let mut rng = Derived::new(seed, b"confidant honey insert v1\0".to_vec());
    let mut positions: Vec<usize> = Vec::with_capacity(honey.len());
    for record in honey {
        let at = rng.below(rows.len() + 1);
        for p in &mut positions {
            if *p >= at {
                *p += 1;
            }
        }
        rows.insert(at, record);
        positions.push(at);
    }
    positions.sort_unstable();
    positions
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn columns() -> Vec<ColumnSpec> {
        [
            ("first_name", DataCategory::Name),
            ("last_name", DataCategory::Name),
            ("email", DataCategory::Email),
            ("card", DataCategory::CardNumber),
            ("phone", DataCategory::Phone),
            ("address", DataCategory::PostalAddress),
            ("born", DataCategory::DateOfBirth),
            ("ssn", DataCategory::NationalId),
            ("iban", DataCategory::BankAccount),
            ("notes", DataCategory::FreeText),
            ("ref", DataCategory::Other),
        ]
        .into_iter()
        .map(|(name, category)| ColumnSpec {
            name: name.to_owned(),
            category,
        })
        .collect()
    }

    #[test]
    fn records_are_deterministic_unique_and_plausible() {
        let key = [7u8; 32];
        let a = DeliveryId::from_bytes([1; 16]);
        let b = DeliveryId::from_bytes([2; 16]);
        let cols = columns();
        let ra = honey_records(&key, a, &cols, "@Honey.Example.ORG", 5);
        assert_eq!(ra, honey_records(&key, a, &cols, "honey.example.org", 5));
        let rb = honey_records(&key, b, &cols, "honey.example.org", 5);
        assert_ne!(ra, rb);
        assert_ne!(
            ra,
            honey_records(&[8u8; 32], a, &cols, "honey.example.org", 5)
        );
        for record in &ra {
            assert_eq!(record.len(), cols.len());
            let email = &record[2];
            assert!(email.ends_with("@honey.example.org"), "{email}");
            assert!(email.starts_with(&format!(
                "{}.{}",
                record[0].to_ascii_lowercase(),
                record[1].to_ascii_lowercase()
            )));
            let digits: String = record[3].chars().filter(char::is_ascii_digit).collect();
            assert!(is_honey_card(&digits), "{}", record[3]);
            assert!(record[4].contains("-555-01"), "{}", record[4]);
            assert!(record[7].starts_with('9'));
            assert!(record[8].starts_with("GB") && record[8].contains("CNFD"));
        }
        let tags_a = honey_tags(&cols, &ra);
        let tags_b = honey_tags(&cols, &rb);
        assert_eq!(tags_a.len(), 10);
        assert!(tags_a.iter().all(|t| !tags_b.contains(t)));
    }

    #[test]
    fn ibans_pass_mod_97() {
        let key = [3u8; 32];
        let cols = vec![ColumnSpec {
            name: "iban".to_owned(),
            category: DataCategory::BankAccount,
        }];
        for record in honey_records(
            &key,
            DeliveryId::from_bytes([4; 16]),
            &cols,
            "h.example",
            20,
        ) {
            let compact: String = record[0].chars().filter(|c| !c.is_whitespace()).collect();
            let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
            let rem = rearranged.chars().fold(0u32, |rem, c| {
                let v = c.to_digit(36).unwrap();
                if v >= 10 {
                    (rem * 100 + v) % 97
                } else {
                    (rem * 10 + v) % 97
                }
            });
            assert_eq!(rem, 1, "{compact}");
        }
    }

    #[test]
    fn luhn_known_answers() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("378282246310005"));
        assert!(luhn_valid("5555555555554444"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid(""));
        assert!(is_honey_card("4242424242424242"));
        assert!(!is_honey_card("4000000000000002"));
    }

    #[test]
    fn honey_goes_to_recorded_positions() {
        let mut rows: Vec<String> = (0..50).map(|i| format!("row{i}")).collect();
        let honey: Vec<String> = (0..4).map(|i| format!("honey{i}")).collect();
        let seed = honey_seed(&[1; 32], DeliveryId::from_bytes([9; 16]));
        let positions = insert_honey(&mut rows, honey, &seed);
        assert_eq!(rows.len(), 54);
        assert_eq!(positions.len(), 4);
        for p in &positions {
            assert!(rows[*p].starts_with("honey"));
        }
        let originals: Vec<&String> = rows.iter().filter(|r| r.starts_with("row")).collect();
        let expected: Vec<String> = (0..50).map(|i| format!("row{i}")).collect();
        assert!(originals.iter().zip(&expected).all(|(a, b)| *a == b));
        let mut again: Vec<String> = (0..50).map(|i| format!("row{i}")).collect();
        let honey: Vec<String> = (0..4).map(|i| format!("honey{i}")).collect();
        assert_eq!(insert_honey(&mut again, honey, &seed), positions);
    }
}
