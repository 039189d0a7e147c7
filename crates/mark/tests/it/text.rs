//! Text, Markdown, CSV, TSV and JSON: banners, syntax kept, scripts kept.

use std::io::Read;

use confidant_mark::{Format, MarkError, fingerprint, stamp, stamp_text_stream, trace};

use crate::util::{delivery, stamp_for};

pub const SCRIPTS: &str = "Latin: The customer asked for a callback about the renewal.\n\
Accents: Zoë Müller, café owner in Zürich, prefers e-mail.\n\
Cyrillic: Алексей Иванов просил перезвонить по поводу продления договора.\n\
Greek: Ο πελάτης ζήτησε επιστροφή κλήσης για την ανανέωση.\n\
CJK: 王小明先生要求回电讨论续约事宜。山田太郎様は更新について電話を希望しています。\n\
Korean: 김민수 고객님이 갱신에 대해 전화를 요청했습니다.\n\
Arabic: طلب العميل محمد معاودة الاتصال بشأن التجديد.\n\
Hebrew: הלקוח ביקש שיחה חוזרת לגבי החידוש.\n\
Emoji: 👩‍💻 called ☎️ about 🔁 renewal 👍🏽 and 🇩🇪 office.\n";

fn stamped(format: Format, input: &str, n: u8) -> String {
    String::from_utf8(stamp(format, input.as_bytes(), &stamp_for(n)).unwrap()).unwrap()
}

#[test]
fn text_in_many_scripts_survives_unchanged_but_for_the_stamp() {
    let input = SCRIPTS.repeat(5);
    let out = stamped(Format::Text, &input, 1);
    let plain = fingerprint::strip(&out);
    let line = stamp_for(1).line().unwrap();
    assert_eq!(plain, format!("{line}\n\n{input}\n{line}\n"));
    // Emoji sequences are not touched: no fingerprint inside or next to them.
    for emoji in ["👩‍💻", "☎️", "👍🏽", "🇩🇪"] {
        assert_eq!(out.matches(emoji).count(), 5, "{emoji}");
    }
    // Every script got fingerprints somewhere.
    for script in [
        "Latin:",
        "Cyrillic:",
        "Greek:",
        "CJK:",
        "Korean:",
        "Arabic:",
        "Hebrew:",
    ] {
        assert!(
            out.lines()
                .filter(|l| l.starts_with(script))
                .any(|l| !fingerprint::decode_all(l).is_empty()),
            "no fingerprint in {script} lines"
        );
    }
    assert!(fingerprint::decode_all(&out).len() >= 10);
    assert_eq!(trace(out.as_bytes()).deliveries(), vec![delivery(1)]);
}

#[test]
fn markdown_keeps_its_structure() {
    let input = "---\ntitle: Notes\n---\n# Customer notes\n\nSome prose with **bold** words and a [link](https://example.com/a b).\n\n```sh\necho keep these words as they are\n```\n\n| name | city |\n|---|---|\n| Alex Doe | New York |\n\nInline `code with spaces` stays.\n";
    let out = stamped(Format::Markdown, input, 2);
    let plain = fingerprint::strip(&out);
    assert!(plain.starts_with(
        "---\ntitle: Notes\n---\n**CONFIDENTIAL** - for Alex Doe \\<alex@example.com\\>"
    ));
    assert!(plain.contains(input.split_once("---\n# ").unwrap().1));
    assert!(out.contains("```sh\necho keep these words as they are\n```"));
    assert!(out.contains("`code with spaces`"));
    assert_eq!(trace(out.as_bytes()).deliveries(), vec![delivery(2)]);
}

#[test]
fn csv_still_parses_strictly_with_the_banner_first() {
    let mut input = String::from("name,email,city,amount\n");
    for i in 0..200 {
        input.push_str(&format!(
            "\"Doe, Alex {i}\",alex{i}@example.com,New York City,{i}.50\nZoë Müller,\"zoe{i}@example.org\",\"Zürich \"\"am\"\" See\",7\n"
        ));
    }
    let out = stamped(Format::Csv, &input, 3);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(out.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 402);
    assert!(records[0][0].starts_with("CONFIDENTIAL - for Alex Doe"));
    assert_eq!(&records[0][1], "");
    assert_eq!(
        records[1].iter().collect::<Vec<_>>(),
        ["name", "email", "city", "amount"]
    );
    // E-mails and numbers are exactly as they were; names and cities carry
    // the fingerprint.
    let mut original = csv::Reader::from_reader(input.as_bytes());
    for (row, orig) in records[2..].iter().zip(original.records()) {
        let orig = orig.unwrap();
        assert_eq!(&row[1], &orig[1]);
        assert_eq!(&row[3], &orig[3]);
        assert_eq!(fingerprint::strip(&row[0]), &orig[0]);
        assert_eq!(fingerprint::strip(&row[2]), &orig[2]);
    }
    assert!(fingerprint::decode_all(&out).len() >= 20);
}

#[test]
fn tsv_gets_a_banner_row_too() {
    let input = "name\tcity\nAlex Doe\tNew York\n";
    let out = stamped(Format::Tsv, input, 4);
    let plain = fingerprint::strip(&out);
    let first = plain.lines().next().unwrap();
    assert!(first.starts_with("CONFIDENTIAL - for Alex Doe") && first.ends_with('\t'));
    assert_eq!(
        plain.lines().skip(1).collect::<Vec<_>>(),
        ["name\tcity", "Alex Doe\tNew York"]
    );
}

#[test]
fn json_stays_valid() {
    let object =
        r#"{"customers": [{"name": "Alex Doe", "note": "call back after three"}], "count": 1.50}"#;
    let out = stamped(Format::Json, object, 5);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["confidential"]
            .as_str()
            .unwrap()
            .contains(&delivery(5).to_string())
    );
    assert_eq!(
        fingerprint::strip(v["customers"][0]["name"].as_str().unwrap()),
        "Alex Doe"
    );
    assert!(out.contains("1.50"));
    let array = r#"[{"name": "Алексей Иванов"}, 2]"#;
    let out = stamped(Format::Json, array, 6);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"][1], 2);
    assert_eq!(trace(out.as_bytes()).deliveries(), vec![delivery(6)]);
    let err = stamp(Format::Json, b"{\"a\": [1, 2}", &stamp_for(1)).unwrap_err();
    assert!(matches!(err, MarkError::Malformed { .. }), "{err:?}");
}

/// A reader that hands out a few bytes at a time.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(7);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn streaming_gives_the_same_copy_as_stamping_whole() {
    let input = SCRIPTS.repeat(3000);
    for format in [Format::Text, Format::Markdown, Format::Csv, Format::Tsv] {
        let whole = stamp(format, input.as_bytes(), &stamp_for(7)).unwrap();
        let mut streamed = Vec::new();
        let n = stamp_text_stream(
            format,
            Trickle(input.as_bytes()),
            &mut streamed,
            &stamp_for(7),
            Some(input.len() as u64),
        )
        .unwrap();
        assert_eq!(n, streamed.len() as u64);
        assert!(whole == streamed, "{format}: streaming differs");
    }
    let err =
        stamp_text_stream(Format::Json, &b"{}"[..], Vec::new(), &stamp_for(7), None).unwrap_err();
    assert!(matches!(err, MarkError::Unsupported { .. }));
}

#[test]
fn non_utf8_text_is_refused() {
    let err = stamp(Format::Text, b"caf\xE9 au lait", &stamp_for(1)).unwrap_err();
    assert!(
        matches!(err, MarkError::NotUtf8 { offset: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("iconv"));
}
