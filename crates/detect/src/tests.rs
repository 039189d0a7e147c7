use proptest::prelude::*;

use std::sync::LazyLock;

use crate::{Detector, Finding, Kind, MARGIN};

/// Built once: compiling the patterns is the slow part in debug builds.
static DETECTOR: LazyLock<Detector> = LazyLock::new(Detector::new);

fn kinds_in(text: &str) -> Vec<(Kind, String)> {
    let detector = &*DETECTOR;
    detector
        .scan_text(text)
        .into_iter()
        .map(|f| (f.kind, text[f.start as usize..f.end as usize].to_owned()))
        .collect()
}

/// Each text must yield exactly one finding: this kind, this value.
#[test]
fn positives() {
    let cases: &[(&str, Kind, &str)] = &[
        // Cards, every network, with and without separators.
        (
            "card: 4111 1111 1111 1111 exp 12/29",
            Kind::CardNumber,
            "4111 1111 1111 1111",
        ),
        (
            "paid with 4111-1111-1111-1111.",
            Kind::CardNumber,
            "4111-1111-1111-1111",
        ),
        ("cc=5555555555554444", Kind::CardNumber, "5555555555554444"),
        (
            "mc 2221 0000 0000 0009",
            Kind::CardNumber,
            "2221 0000 0000 0009",
        ),
        (
            "amex 3782 822463 10005",
            Kind::CardNumber,
            "3782 822463 10005",
        ),
        (
            "discover 6011111111111117",
            Kind::CardNumber,
            "6011111111111117",
        ),
        ("jcb 3530111333300000", Kind::CardNumber, "3530111333300000"),
        (
            "diners 3056 930902 5904",
            Kind::CardNumber,
            "3056 930902 5904",
        ),
        (
            "unionpay 6200000000000005",
            Kind::CardNumber,
            "6200000000000005",
        ),
        // IBANs, print and electronic format.
        (
            "IBAN DE89 3704 0044 0532 0130 00",
            Kind::Iban,
            "DE89 3704 0044 0532 0130 00",
        ),
        (
            "to GB82WEST12345698765432 today",
            Kind::Iban,
            "GB82WEST12345698765432",
        ),
        (
            "FR14 2004 1010 0505 0001 3M02 606 THANKS",
            Kind::Iban,
            "FR14 2004 1010 0505 0001 3M02 606",
        ),
        // Routing numbers only with context.
        (
            "ABA routing number: 021000021",
            Kind::RoutingNumber,
            "021000021",
        ),
        ("Bank routing 011000015", Kind::RoutingNumber, "011000015"),
        // SSNs.
        ("SSN 123-45-6789", Kind::Ssn, "123-45-6789"),
        ("her number is 536-22-1234", Kind::Ssn, "536-22-1234"),
        ("social security number: 536221234", Kind::Ssn, "536221234"),
        ("SSN: 536 22 1234", Kind::Ssn, "536 22 1234"),
        // National ids.
        ("NI number AB 12 34 56 C", Kind::NationalId, "AB 12 34 56 C"),
        ("nino: JG103759A", Kind::NationalId, "JG103759A"),
        ("SIN 130 692 544", Kind::NationalId, "130 692 544"),
        ("social insurance 130692544", Kind::NationalId, "130692544"),
        // Phones.
        ("call +44 20 7946 0958 now", Kind::Phone, "+44 20 7946 0958"),
        ("tel: (415) 555-2671", Kind::Phone, "(415) 555-2671"),
        ("mobile 07911 123456", Kind::Phone, "07911 123456"),
        ("+1-202-555-0143", Kind::Phone, "+1-202-555-0143"),
        (
            "call +44 20 7946 0958 12 times",
            Kind::Phone,
            "+44 20 7946 0958",
        ),
        ("phone 2025550143", Kind::Phone, "2025550143"),
        // A bare number that libphonenumber calls valid, in running text
        // or a log line.
        ("less. 8336910573. Wide", Kind::Phone, "8336910573"),
        ("GET /tag 201 1866ms 3477286146", Kind::Phone, "3477286146"),
        // Area codes of recent metadata (274: Wisconsin, 2023), and a
        // Dominican Republic number whose exchange starts with 1.
        ("+1 (274) 471-6080", Kind::Phone, "+1 (274) 471-6080"),
        ("1-829-185-0497", Kind::Phone, "1-829-185-0497"),
        // E-mail.
        (
            "write to ann.lee+vip@mail.example.co.uk.",
            Kind::Email,
            "ann.lee+vip@mail.example.co.uk",
        ),
        // Addresses.
        (
            "ship to 1600 Pennsylvania Avenue, Washington, DC 20500",
            Kind::PostalAddress,
            "1600 Pennsylvania Avenue, Washington, DC 20500",
        ),
        (
            "lives at 221B Baker Street, London NW1 6XE.",
            Kind::PostalAddress,
            "221B Baker Street, London NW1 6XE",
        ),
        ("12 N Main St", Kind::PostalAddress, "12 N Main St"),
        ("Postcode: SW1A 1AA", Kind::PostalAddress, "SW1A 1AA"),
        // Any USPS suffix with a town and ZIP code; a UK flat without a
        // house number with its postcode; an address over two lines.
        (
            "lives at 2600 Melissa Course, Lake Stevenport, IL 06875.",
            Kind::PostalAddress,
            "2600 Melissa Course, Lake Stevenport, IL 06875",
        ),
        (
            "9829 Carter Throughway Suite 784, Collinston, DC 55898",
            Kind::PostalAddress,
            "9829 Carter Throughway Suite 784, Collinston, DC 55898",
        ),
        (
            "Flat 4, Byrne Points, Hussainmouth, EC1N 2FE",
            Kind::PostalAddress,
            "Flat 4, Byrne Points, Hussainmouth, EC1N 2FE",
        ),
        (
            "Send it to:\n350 Fifth Avenue\nNew York, NY 10118\nThanks",
            Kind::PostalAddress,
            "350 Fifth Avenue\nNew York, NY 10118",
        ),
        (
            "PO Box 1142, Austin, TX 78767",
            Kind::PostalAddress,
            "PO Box 1142, Austin, TX 78767",
        ),
        (
            "home address: 17 O'Connell Park",
            Kind::PostalAddress,
            "17 O'Connell Park",
        ),
        // Dates of birth.
        ("DOB: 1985-03-12", Kind::DateOfBirth, "1985-03-12"),
        ("Date of birth 12/03/1985", Kind::DateOfBirth, "12/03/1985"),
        ("born on 3 March 1985", Kind::DateOfBirth, "3 March 1985"),
        (
            "Birthday: March 3rd, 1985",
            Kind::DateOfBirth,
            "March 3rd, 1985",
        ),
        // Secrets.
        (
            "aws_access_key_id AKIAIOSFODNN7EXAMPLE",
            Kind::Secret,
            "AKIAIOSFODNN7EXAMPLE",
        ),
        (
            "token ghp_0123456789abcdefghijABCDEFGHIJ012345",
            Kind::Secret,
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        ),
        (
            "xoxb-123456789012-abcdefABCDEF",
            Kind::Secret,
            "xoxb-123456789012-abcdefABCDEF",
        ),
        (
            "STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            Kind::Secret,
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ),
        ("password = hunter22", Kind::Secret, "hunter22"),
        (
            "  api_key: \"a8f5f167f44f4964e6c998dee827110c\"",
            Kind::Secret,
            "a8f5f167f44f4964e6c998dee827110c",
        ),
        (
            "export DB_PASSWORD=S3cr3t!pass",
            Kind::Secret,
            "S3cr3t!pass",
        ),
        // `password = ...` anywhere, when the value looks generated; a
        // full stop that ends the sentence is not part of it.
        (
            "the old server. db_password = cnRSkinq2uSC8pYr. Then we left",
            Kind::Secret,
            "cnRSkinq2uSC8pYr",
        ),
        (
            "GET /login 200 12ms password = Jy3tfwg3Cj7Gxcn",
            Kind::Secret,
            "Jy3tfwg3Cj7Gxcn",
        ),
        // A Google API key may end in `-`.
        (
            "Bearer AIzaCrpXl7ODVMSIyMLWfu4QtdaWshiSRRaslp-\n",
            Kind::Secret,
            "AIzaCrpXl7ODVMSIyMLWfu4QtdaWshiSRRaslp-",
        ),
        // Names.
        ("Name: Priya Shah", Kind::PersonName, "Priya Shah"),
        ("met Mr. Dr. Fowler", Kind::PersonName, "Fowler"),
        ("Dear Mrs. Okafor-Smith,", Kind::PersonName, "Okafor-Smith"),
        ("Dear Bartholomew,", Kind::PersonName, "Bartholomew"),
        (
            "assigned to Olivia Brown today",
            Kind::PersonName,
            "Olivia Brown",
        ),
    ];
    for (text, kind, value) in cases {
        let found = kinds_in(text);
        assert_eq!(found, vec![(*kind, (*value).to_owned())], "in {text:?}");
    }
}

/// None of these may be reported as the kind named.
#[test]
fn hard_negatives() {
    let cases: &[(&str, Kind)] = &[
        // Card-like numbers that are not cards.
        ("card 4111 1111 1111 1112", Kind::CardNumber),
        ("order number 4111111111111111", Kind::CardNumber),
        ("Invoice 5555555555554444", Kind::CardNumber),
        ("tracking: 4532015112830366", Kind::CardNumber),
        ("ISBN 978-0-306-40615-7", Kind::CardNumber),
        ("ISBN 9780306406157", Kind::CardNumber),
        ("ts=1700000000123", Kind::CardNumber),
        ("at 20240115103000123", Kind::CardNumber),
        ("UPS 1Z999AA10123456784", Kind::CardNumber),
        ("USPS 9400111899223100000000", Kind::CardNumber),
        ("id 4111111111111111-7", Kind::CardNumber),
        (
            "uuid 41111111-1111-1111-1111-111111111111",
            Kind::CardNumber,
        ),
        ("550e8400-e29b-41d4-a716-446655440000", Kind::CardNumber),
        ("v4111.1111.1111.1111", Kind::CardNumber),
        ("12 34 56 78 90 12 34 56", Kind::CardNumber),
        // Three numbers side by side that pass Luhn and an issuer range.
        ("about 5396 512743 142437 please", Kind::CardNumber),
        ("account 358059 28931 850205", Kind::CardNumber),
        // IBAN-like.
        ("DE89 3704 0044 0532 0130 01", Kind::Iban),
        ("XX89370400440532013000", Kind::Iban),
        // Routing numbers need context.
        ("021000021", Kind::RoutingNumber),
        ("order 021000021", Kind::RoutingNumber),
        // SSNs.
        ("SSN 000-12-3456", Kind::Ssn),
        ("SSN 666-12-3456", Kind::Ssn),
        ("SSN 912-12-3456", Kind::Ssn),
        ("SSN 123-00-4567", Kind::Ssn),
        ("SSN 123-45-0000", Kind::Ssn),
        ("536221234", Kind::Ssn),
        ("order 536-22-1234", Kind::Ssn),
        ("2024-123-45-6789", Kind::Ssn),
        ("536-22 1234", Kind::Ssn),
        // National ids.
        ("GB 12 34 56 C", Kind::NationalId),
        ("BG123456A", Kind::NationalId),
        ("SIN 130 692 545", Kind::NationalId),
        ("130692544", Kind::NationalId),
        ("ref 130 692 544", Kind::NationalId),
        // Phones: dates, times, versions, counts.
        ("2024-01-15", Kind::Phone),
        ("15/01/2024", Kind::Phone),
        ("1700000000", Kind::Phone),
        ("192.168.100.200", Kind::Phone),
        ("version 1.2.3456789", Kind::Phone),
        ("order 2025550143", Kind::Phone),
        ("confirmation code 8336910573", Kind::Phone),
        // Bare numbers as ids: a cell, a ragged table row, a list.
        ("Toussaint,8335337121,x", Kind::Phone),
        (
            "supplier,order_id,created\nToussaint,8335337121,February 15, 2019",
            Kind::Phone,
        ),
        ("ids:\n8336910573\n3477286146\n", Kind::Phone),
        // Two numbers side by side that make a valid NANP number.
        ("tomorrow 9397 355603 the", Kind::Phone),
        ("total 40592 96071 Monday", Kind::Phone),
        // Dates without birth context, and timestamps.
        ("meeting 1985-03-12", Kind::DateOfBirth),
        ("DOB 2024-01-15T10:00:00Z", Kind::DateOfBirth),
        ("DOB 1985-13-45", Kind::DateOfBirth),
        ("paid on 01/28/2021. Born in Ohio", Kind::DateOfBirth),
        // Secrets.
        ("password = ${DB_PASSWORD}", Kind::Secret),
        ("password: ********", Kind::Secret),
        ("Please reset your password: click the link", Kind::Secret),
        ("the api key is rotated yearly", Kind::Secret),
        // Mid-sentence, a word is not taken for a password.
        ("we said the password: forgotten again", Kind::Secret),
        ("my password = Something else", Kind::Secret),
        // Names.
        ("Dear Customer,", Kind::PersonName),
        ("Dear Sir or Madam", Kind::PersonName),
        ("The Quick Brown Fox", Kind::PersonName),
        // Addresses.
        ("We have 3 Big Ideas", Kind::PostalAddress),
        // Numbered title-case phrases ending in a word that is also a
        // street suffix, and a street suffix after a code that is no US
        // state.
        ("Apollo 11 Mission", Kind::PostalAddress),
        ("Top 10 Beach Resorts", Kind::PostalAddress),
        ("Terminal 5 Bus Station", Kind::PostalAddress),
        ("Chapter 7 Data Key", Kind::PostalAddress),
        ("Terminal 5 Bus Station. Step two", Kind::PostalAddress),
        ("see 3 Main Points, XY 12345", Kind::PostalAddress),
        ("Flat 4, Byrne Points", Kind::PostalAddress),
        ("PO Box 1142", Kind::PostalAddress),
        // Versions are not birth dates, even after "born".
        ("born here. version 3.26.21", Kind::DateOfBirth),
        // Company names are not people.
        ("paid to Martin Ltd", Kind::PersonName),
    ];
    for (text, kind) in cases {
        let found = kinds_in(text);
        assert!(
            found.iter().all(|(k, _)| k != kind),
            "{kind} reported in {text:?}: {found:?}"
        );
    }
}

#[test]
fn context_words_move_scores() {
    let d = &*DETECTOR;
    let score = |t: &str| d.scan_text(t).first().map(|f| f.score);
    let plain = score("4111 1111 1111 1111").unwrap_or(0.0);
    let with_card = score("card 4111 1111 1111 1111").unwrap_or(0.0);
    assert!(with_card > plain, "{with_card} > {plain}");
    assert_eq!(score("order 4111 1111 1111 1111"), None);
    // A lowering word counts only on the candidate's own line, and not when
    // a word for the kind stands closer.
    let kinds = |t: &str| {
        d.scan_text(t)
            .into_iter()
            .map(|f| f.kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds("name,card,order\nAnn,4111 1111 1111 1111,A-17"),
        [Kind::CardNumber]
    );
    assert_eq!(
        kinds("paid the base order. SIN: 130 692 544"),
        [Kind::NationalId]
    );
    assert!(
        kinds("card for order 4111 1111 1111 1111").is_empty(),
        "the nearer word decides"
    );
    // Nor in an earlier sentence.
    assert_eq!(
        kinds("Thanks for your order. 4111 1111 1111 1111 was charged"),
        [Kind::CardNumber]
    );
    // Whole words only: "business" does not hold "sin".
    assert_eq!(score("business 130692544"), None);
}

/// A header cell is context for its column on every later row of the
/// table, and only for its column: (text, the findings expected, as kind
/// and value).
#[test]
fn column_headers_are_context() {
    use Kind::*;
    let many_rows: String = std::iter::once("name,ssn\n".to_owned())
        .chain((0..200).map(|i| format!("Ann Lee {i},536 22 1234\n")))
        .collect();
    let cases: &[(&str, &[(Kind, &str)])] = &[
        // Without a header, a space-separated SSN or a bare date says
        // nothing; below one, it is an SSN or a date of birth.
        ("536 22 1234,1985-03-12", &[]),
        // Under a phone header, a number written as the region writes
        // them counts even with an area code not in use (472); elsewhere
        // libphonenumber decides.
        (
            "company,phone\nWalters Ltd,472.594.6752\nMyers Group,(273)941-8369\n",
            &[(Phone, "472.594.6752"), (Phone, "(273)941-8369")],
        ),
        ("company,ref\nWalters Ltd,472.594.6752\n", &[]),
        (
            "name,ssn,dob\nAnn Okafor,536 22 1234,1985-03-12\nBob Marsh,123 45 6789,12/03/1985",
            &[
                (PersonName, "Ann Okafor"),
                (Ssn, "536 22 1234"),
                (DateOfBirth, "1985-03-12"),
                (PersonName, "Bob Marsh"),
                (Ssn, "123 45 6789"),
                (DateOfBirth, "12/03/1985"),
            ],
        ),
        // Labels as exports write them; tabs; camel case; CRLF.
        (
            "Full Name\tSocial_Security_Number\tdateOfBirth\r\nAnn\t536 22 1234\t1985-03-12\r\n",
            &[
                (PersonName, "Ann"),
                (Ssn, "536 22 1234"),
                (DateOfBirth, "1985-03-12"),
            ],
        ),
        ("id;Phone Number\n7;2025550143\n", &[(Phone, "2025550143")]),
        // The header's word speaks for its own column only: the date under
        // `created` is not a birth date, though `dob` stands near it.
        (
            "dob,created\n1985-03-12,2021-03-04\n",
            &[(DateOfBirth, "1985-03-12")],
        ),
        // A lowering word in a header lowers its own column only.
        (
            "order_id,ssn\n536-22-1234,123-45-6789\n",
            &[(Ssn, "123-45-6789")],
        ),
        // Quoted cells may hold the delimiter.
        (
            "name,address,ssn\n\"Lee, Ann\",\"1 Elm Street, Springfield\",536 22 1234\n",
            &[
                (PostalAddress, "1 Elm Street, Springfield"),
                (Ssn, "536 22 1234"),
            ],
        ),
        // A column of people's names: named so, or "name" beside personal
        // data; not product or company names.
        (
            "name,email\nOlufemi Adeyemi,femi@example.com\n",
            &[(PersonName, "Olufemi Adeyemi"), (Email, "femi@example.com")],
        ),
        (
            "full_name\tssn\nJan van der Berg\t536 22 1234\n\"Zoë Ní Bhriain\"\t123 45 6789\n",
            &[
                (PersonName, "Jan van der Berg"),
                (Ssn, "536 22 1234"),
                (PersonName, "Zoë Ní Bhriain"),
                (Ssn, "123 45 6789"),
            ],
        ),
        ("name,price,order_id\nWidget Pro,9.99,17\n", &[]),
        // Under a bare "name", one word is as likely a company's name.
        (
            "name,email\nWagner,info@wagner.example\n",
            &[(Email, "info@wagner.example")],
        ),
        (
            "product_name,ssn\nWidget Pro,536 22 1234\n",
            &[(Ssn, "536 22 1234")],
        ),
        (
            "customer,card\nAcme Corp,4111 1111 1111 1111\n",
            &[(CardNumber, "4111 1111 1111 1111")],
        ),
        (
            "customer,card\nC-1042,4111 1111 1111 1111\n",
            &[(CardNumber, "4111 1111 1111 1111")],
        ),
        // A ragged row (a cell too many) gets no column context; a line
        // without the delimiter ends the table.
        ("name,ssn\nAnn,Lee,536 22 1234\n", &[]),
        (
            "id,ssn\n7,536 22 1234\n\n8,123 45 6789\n",
            &[(Ssn, "536 22 1234")],
        ),
    ];
    for (text, want) in cases {
        let found = kinds_in(text);
        let want: Vec<(Kind, String)> = want.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        assert_eq!(found, want, "in {text:?}");
    }
    // However far below the header.
    let found = kinds_in(&many_rows);
    assert_eq!(found.iter().filter(|(k, _)| *k == Ssn).count(), 200);
}

#[test]
fn pem_private_key_block_is_one_secret() {
    let text = "config\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAbCd==\n-----END RSA PRIVATE KEY-----\nrest\n";
    let found = DETECTOR.scan_text(text);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.kind, Kind::Secret);
    assert_eq!(f.line, 2);
    assert!(text[f.start as usize..f.end as usize].ends_with("-----END RSA PRIVATE KEY-----"));
    assert!(!f.masked.contains("MIIEow"));
}

#[test]
fn lines_and_offsets() {
    let text = "é first line\nName: Ann Lee\n\nssn 123-45-6789 and ann@example.com\n";
    let found = DETECTOR.scan_text(text);
    let summary: Vec<(Kind, u64, &str)> = found
        .iter()
        .map(|f| (f.kind, f.line, &text[f.start as usize..f.end as usize]))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Kind::PersonName, 2, "Ann Lee"),
            (Kind::Ssn, 4, "123-45-6789"),
            (Kind::Email, 4, "ann@example.com"),
        ]
    );
    assert_eq!(found[1].masked, "***-**-6789");
    assert_eq!(found[2].masked, "a**@example.com");
}

#[test]
fn kinds_serialize_with_their_names() {
    for k in Kind::ALL {
        assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        assert_eq!(k.as_str().parse::<Kind>().ok(), Some(k));
    }
    assert!("bank_account".parse::<Kind>().is_err());
}

/// A text with findings at many positions, scanned with windows small
/// enough that many matches straddle a boundary, gives the same findings as
/// one scan of the whole text.
#[test]
fn streaming_matches_whole_text_scan() {
    let mut text = String::new();
    for i in 0..120 {
        text.push_str(&"x".repeat(i % 37));
        text.push_str(match i % 5 {
            0 => " card 4111 1111 1111 1111\n",
            1 => " mail ann@example.com ",
            2 => " SSN 123-45-6789\n",
            3 => " IBAN DE89 3704 0044 0532 0130 00 ",
            _ => " phone +44 20 7946 0958\n",
        });
    }
    let d = &*DETECTOR;
    let whole = d.scan_text(&text);
    assert_eq!(whole.len(), 120);
    for (window, margin) in [
        (5usize, 256usize),
        (7, 256),
        (64, 128),
        (1000, 256),
        (4096, MARGIN),
    ] {
        let mut streamed: Vec<Finding> = Vec::new();
        let summary = d
            .scan_reader_with(text.as_bytes(), window, margin, |f| streamed.push(f))
            .unwrap();
        assert_eq!(summary.bytes, text.len() as u64);
        assert!(!summary.binary);
        assert_eq!(streamed, whole, "window {window}, margin {margin}");
    }
}

/// With windows larger than the margin too: matches across real window
/// boundaries far into the input keep global offsets and lines.
#[test]
fn streaming_far_offsets() {
    let filler = "lorem ipsum dolor sit amet\n".repeat(3000);
    let text = format!("{filler}card 4111 1111 1111 1111\n{filler}SSN 123-45-6789\n");
    let d = &*DETECTOR;
    let whole = d.scan_text(&text);
    assert_eq!(whole.len(), 2);
    let mut streamed = Vec::new();
    d.scan_reader_with(text.as_bytes(), 20_000, MARGIN, |f| streamed.push(f))
        .unwrap();
    assert_eq!(streamed, whole);
    assert_eq!(streamed[1].line, 6002);
}

/// The header of a table far longer than a window still counts on every
/// row: the scanner hands it from window to window.
#[test]
fn streaming_carries_table_headers_across_windows() {
    let mut text = String::from("intro line, not a table\nname,ssn,dob\n");
    for i in 0..3000 {
        text.push_str(&format!("Ann Lee {i},536 22 1234,1985-03-12\n"));
    }
    text.push_str("\nafter the table: 536 22 1234, 1985-03-12\n");
    text.push_str("id\tcard\tdate_of_birth\n");
    for _ in 0..500 {
        text.push_str("7\t4111 1111 1111 1111\t12/03/1985\n");
    }
    let d = &*DETECTOR;
    let whole = d.scan_text(&text);
    let count = |found: &[Finding], kind: Kind| found.iter().filter(|f| f.kind == kind).count();
    assert_eq!(count(&whole, Kind::Ssn), 3000);
    assert_eq!(count(&whole, Kind::DateOfBirth), 3500);
    assert_eq!(count(&whole, Kind::CardNumber), 500);
    for (window, margin) in [
        (4096usize, 1024usize),
        (20_000, MARGIN),
        (1000, 64),
        (7, 256),
    ] {
        let mut streamed: Vec<Finding> = Vec::new();
        d.scan_reader_with(text.as_bytes(), window, margin, |f| streamed.push(f))
            .unwrap();
        assert_eq!(streamed, whole, "window {window}, margin {margin}");
    }
}

#[test]
fn binary_input_is_flagged_not_scanned() {
    let mut data = b"PK\x03\x04\x00\x00".to_vec();
    data.extend_from_slice(b"4111 1111 1111 1111");
    let mut n = 0;
    let summary = DETECTOR.scan_reader(&data[..], |_| n += 1).unwrap();
    assert!(summary.binary);
    assert_eq!(summary.bytes, data.len() as u64);
    assert_eq!(n, 0);
}

fn check_findings(text: &str, found: &[Finding]) {
    let mut last_end = 0;
    for f in found {
        let (s, e) = (f.start as usize, f.end as usize);
        assert!(s < e && e <= text.len(), "{f:?}");
        assert!(
            text.is_char_boundary(s) && text.is_char_boundary(e),
            "{f:?}"
        );
        assert!(s >= last_end, "overlap {f:?}");
        assert!((0.0..=1.0).contains(&f.score));
        last_end = e;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random long inputs made of pieces that look like sensitive data
    /// never panic, and every finding lies in bounds on char boundaries.
    #[test]
    fn never_panics_and_offsets_are_sound(
        pieces in proptest::collection::vec(
            prop_oneof![
                "[0-9 \\-+().]{1,30}",
                "[A-Za-z0-9@._\\-]{1,30}",
                "\\PC{1,20}",
                Just("4111 1111 1111 1111".to_owned()),
                Just("Name: Ann Lee".to_owned()),
                Just("-----BEGIN PRIVATE KEY-----".to_owned()),
                Just("password=".to_owned()),
                Just("\n".to_owned()),
                Just("DOB ".to_owned()),
                Just("é".to_owned()),
            ],
            0..400,
        )
    ) {
        let text: String = pieces.concat();
        let d = &*DETECTOR;
        let found = d.scan_text(&text);
        check_findings(&text, &found);
        let mut streamed = Vec::new();
        d.scan_reader_with(text.as_bytes(), 97, 200, |f| streamed.push(f)).unwrap();
        check_findings(&text, &streamed);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4000)) {
        let d = &*DETECTOR;
        let mut n = 0u64;
        let summary = d.scan_reader_with(&data[..], 300, 300, |f| {
            assert!(f.end as usize <= data.len());
            n += 1;
        }).unwrap();
        prop_assert_eq!(summary.bytes, data.len() as u64);
    }
}

/// Inputs built to be slow (chains of overlapping candidates, BEGIN lines
/// without END lines, long runs) scan in time proportional to their length:
/// four times the input may take at most about four times as long (8x
/// allowed for noise). Quadratic behaviour would show as 16x.
#[test]
fn adversarial_inputs_scan_in_linear_time() {
    let units = [
        "4111 ",
        "1-",
        "Ann ",
        "Name: Ann ",
        "-----BEGIN PRIVATE KEY-----\n",
        "password=",
        "+1 ",
        "12 Main ",
        "ssn,dob\n",
        "ssn,\"",
        "ssn,",
        "a,b\n1,2,3\n",
    ];
    let d = &*DETECTOR;
    let time = |text: &str| {
        let started = std::time::Instant::now();
        let mut n = 0;
        d.scan_reader(text.as_bytes(), |_| n += 1).unwrap();
        started.elapsed().as_secs_f64()
    };
    // A complexity check, not a speed target: 8 times the input must take
    // about 8 times as long (a quadratic scan would take 64 times), so the
    // bound of 24 times leaves room for a loaded machine.
    for unit in units {
        let small = unit.repeat(16 * 1024 / unit.len());
        let large = unit.repeat(128 * 1024 / unit.len());
        // The best of five runs each, against scheduling noise.
        let best = |t: &str| (0..5).map(|_| time(t)).fold(f64::MAX, f64::min);
        let (ts, tl) = (best(&small), best(&large));
        assert!(
            tl < 24.0 * ts + 0.1,
            "{unit:?}: {ts:.3}s for 16 KiB, {tl:.3}s for 128 KiB"
        );
    }
}

/// One detector serves many threads at once (the vault's request handlers,
/// the CLI's scan), and a panic elsewhere leaves it usable: its scan
/// caches are pooled per thread, not shared mutably.
#[test]
fn a_detector_is_shared_between_threads() {
    fn shareable<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    shareable::<Detector>();
    let text = "call +44 20 7946 0958 or card 4111 1111 1111 1111\n".repeat(50);
    let alone = DETECTOR.scan_text(&text);
    let together: Vec<Vec<Finding>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| DETECTOR.scan_text(&text)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    assert_eq!(alone.len(), 100);
    assert!(together.iter().all(|found| *found == alone));
}
