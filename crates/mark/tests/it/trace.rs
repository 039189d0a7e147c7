//! Tracing leaked copies: whole, in part, pasted elsewhere, stripped and
//! shuffled.

use confidant_core::DataCategory;
use confidant_mark::{
    ColumnSpec, EvidenceKind, Format, TraceOptions, fingerprint, honey_records, honey_seed,
    honey_tags, insert_honey, stamp, trace, trace_with,
};

use crate::text::SCRIPTS;
use crate::util::{delivery, stamp_for};

fn long_text() -> String {
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(&format!(
            "Paragraph {i}: the customer file says that the renewal is due and the notes are private. "
        ));
        if i % 5 == 4 {
            text.push('\n');
        }
    }
    text.push_str(SCRIPTS);
    text
}

/// Characters `from..to` (as fractions) of the visible text, with whatever
/// invisible characters lie between them.
fn excerpt(stamped: &str, from: f64, to: f64) -> String {
    let chars: Vec<char> = stamped.chars().collect();
    let visible: Vec<usize> = (0..chars.len())
        .filter(|i| !fingerprint::is_fingerprint_char(chars[*i]))
        .collect();
    let n = visible.len() as f64;
    let a = visible[(from * n) as usize];
    let b = visible[((to * n) as usize).min(visible.len() - 1)];
    chars[a..b].iter().collect()
}

#[test]
fn a_full_copy_names_its_delivery_with_all_evidence() {
    let out =
        String::from_utf8(stamp(Format::Text, long_text().as_bytes(), &stamp_for(1)).unwrap())
            .unwrap();
    let t = trace(out.as_bytes());
    assert_eq!(t.deliveries(), vec![delivery(1)]);
    let kinds: Vec<EvidenceKind> = t.findings[0].evidence.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EvidenceKind::Fingerprint) && kinds.contains(&EvidenceKind::StampText));
    assert!(t.findings[0].total() > 20, "{t}");
}

#[test]
fn a_fifth_of_the_text_from_anywhere_is_enough() {
    let out =
        String::from_utf8(stamp(Format::Text, long_text().as_bytes(), &stamp_for(2)).unwrap())
            .unwrap();
    for start in [0.05, 0.2, 0.41, 0.6, 0.79] {
        let part = excerpt(&out, start, start + 0.2);
        assert!(
            !part.contains("delivery "),
            "the excerpt should be banner-free"
        );
        let t = trace(part.as_bytes());
        assert_eq!(t.deliveries(), vec![delivery(2)], "from {start}: {t}");
        assert!(
            t.findings[0]
                .evidence
                .iter()
                .all(|e| e.kind == EvidenceKind::Fingerprint)
        );
    }
}

#[test]
fn an_excerpt_pasted_into_another_text_is_found() {
    let a = String::from_utf8(stamp(Format::Text, long_text().as_bytes(), &stamp_for(3)).unwrap())
        .unwrap();
    let b =
        String::from_utf8(stamp(Format::Markdown, long_text().as_bytes(), &stamp_for(4)).unwrap())
            .unwrap();
    let letter = format!(
        "Dear colleague,\n\nas discussed, here is what I found:\n\n{}\n\nand also\n\n{}\n\nBest regards\n",
        excerpt(&a, 0.3, 0.5),
        excerpt(&b, 0.6, 0.8)
    );
    let t = trace(letter.as_bytes());
    let mut found = t.deliveries();
    found.sort();
    let mut want = vec![delivery(3), delivery(4)];
    want.sort();
    assert_eq!(found, want, "{t}");
}

#[test]
fn nothing_is_said_plainly() {
    let t = trace(long_text().as_bytes());
    assert!(t.findings.is_empty());
    assert!(t.to_string().contains("nothing found"), "{t}");
    let t = trace(b"\x00\x01\x02 binary junk");
    assert!(t.is_empty());
}

fn columns() -> Vec<ColumnSpec> {
    [
        ("name", DataCategory::Name),
        ("email", DataCategory::Email),
        ("card", DataCategory::CardNumber),
        ("phone", DataCategory::Phone),
        ("city", DataCategory::PostalAddress),
    ]
    .into_iter()
    .map(|(name, category)| ColumnSpec {
        name: name.to_owned(),
        category,
    })
    .collect()
}

#[test]
fn a_csv_without_banner_and_fingerprints_and_shuffled_is_named_by_its_honey() {
    let key = [42u8; 32];
    let cols = columns();
    let export = |n: u8| -> (String, Vec<confidant_mark::HoneyTag>) {
        let mut rows: Vec<Vec<String>> = (0..300)
            .map(|i| {
                vec![
                    format!("Customer {i}"),
                    format!("customer{i}@shop.example"),
                    String::new(),
                    format!("+1 212-555-{:04}", 2000 + i),
                    format!("{i} Main Street, Springfield"),
                ]
            })
            .collect();
        let honey = honey_records(&key, delivery(n), &cols, "honey.shop.example", 3);
        let tags = honey_tags(&cols, &honey);
        insert_honey(&mut rows, honey, &honey_seed(&key, delivery(n)));
        let mut csv = String::from("name,email,card,phone,city\n");
        for row in rows {
            csv.push_str(
                &row.iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            csv.push('\n');
        }
        let stamped = stamp(Format::Csv, csv.as_bytes(), &stamp_for(n)).unwrap();
        (String::from_utf8(stamped).unwrap(), tags)
    };
    let (leaked, tags) = export(5);
    let (_, other_tags) = export(6);

    // The leaker drops the banner row, cleans out invisible characters and
    // shuffles the rows.
    let cleaned = fingerprint::strip(&leaked);
    let mut lines: Vec<&str> = cleaned.lines().skip(2).collect();
    lines.reverse();
    lines.rotate_left(97);
    let shuffled = format!("name,email,card,phone,city\n{}\n", lines.join("\n"));
    let options = TraceOptions {
        honey_domains: vec!["honey.shop.example".to_owned()],
        file_name: Some("leak.csv".to_owned()),
    };
    let t = trace_with(shuffled.as_bytes(), &options);
    assert!(t.findings.is_empty(), "{t}");
    let found: Vec<_> = t.honey_candidates.iter().map(|c| c.tag.clone()).collect();
    // Every honey tag of delivery 5 is found, none of delivery 6.
    for tag in &tags {
        assert!(found.contains(tag), "{tag:?} not in {found:?}");
    }
    assert!(other_tags.iter().all(|tag| !found.contains(tag)));
    // Only honey-domain addresses and test-range cards are candidates.
    assert_eq!(found.len(), tags.len(), "{found:?}");
}
