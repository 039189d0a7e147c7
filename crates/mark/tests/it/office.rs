//! DOCX and XLSX made by LibreOffice.

use std::io::{Cursor, Read};

use calamine::{Reader, Xlsx, open_workbook_from_rs};
use confidant_mark::{EvidenceKind, Format, MarkError, fingerprint, stamp, trace};

use crate::util::{data, delivery, stamp_for};

fn part(zip_bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn metadata_traced(out: &[u8], n: u8) {
    let t = trace(out);
    assert_eq!(t.deliveries(), vec![delivery(n)], "{t}");
    let kinds: Vec<EvidenceKind> = t.findings[0].evidence.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EvidenceKind::Metadata), "{t}");
    assert!(kinds.contains(&EvidenceKind::Fingerprint), "{t}");
    assert!(kinds.contains(&EvidenceKind::StampText), "{t}");
}

#[test]
fn docx_gets_banner_paragraphs_a_fingerprint_and_a_property() {
    let input = data("libreoffice.docx");
    let out = stamp(Format::Docx, &input, &stamp_for(1)).unwrap();
    assert_eq!(Format::detect(None, &out), Some(Format::Docx));
    let document = part(&out, "word/document.xml");
    let plain = fingerprint::strip(&document);
    let line = stamp_for(1)
        .line()
        .unwrap()
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert_eq!(plain.matches(&line).count(), 2);
    let body = plain.find("<w:body>").unwrap();
    assert!(plain[body..].starts_with("<w:body><w:p><w:pPr><w:jc w:val=\"center\"/>"));
    assert!(plain.contains("Quarterly customer notes"));
    // Still well-formed XML where it matters: the body ends with its sectPr.
    let sect = plain.rfind("<w:sectPr").unwrap();
    assert!(plain[sect..].contains("</w:sectPr></w:body>"));
    assert!(part(&out, "docProps/custom.xml").contains(&delivery(1).to_string()));
    assert!(part(&out, "[Content_Types].xml").contains("/docProps/custom.xml"));
    assert!(part(&out, "_rels/.rels").contains("custom-properties"));
    // Unchanged parts are byte for byte the same.
    assert_eq!(
        part(&out, "word/styles.xml"),
        part(&input, "word/styles.xml")
    );
    metadata_traced(&out, 1);
}

#[test]
fn xlsx_gets_a_banner_sheet_first_and_keeps_its_data() {
    let input = data("libreoffice.xlsx");
    let out = stamp(Format::Xlsx, &input, &stamp_for(2)).unwrap();
    assert_eq!(Format::detect(None, &out), Some(Format::Xlsx));
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(out.clone())).unwrap();
    assert_eq!(book.sheet_names(), ["CONFIDENTIAL", "Customers", "Notes"]);
    let banner = book.worksheet_range("CONFIDENTIAL").unwrap();
    assert_eq!(
        banner.get_value((0, 0)).unwrap().to_string(),
        "CONFIDENTIAL"
    );
    assert_eq!(
        banner.get_value((3, 0)).unwrap().to_string(),
        format!("delivery {}", delivery(2))
    );
    let customers = book.worksheet_range("Customers").unwrap();
    let cell = |r, c| fingerprint::strip(&customers.get_value((r, c)).unwrap().to_string());
    assert_eq!(cell(1, 0), "Alex Doe");
    assert_eq!(cell(1, 1), "alex@example.com");
    assert_eq!(cell(3, 0), "Алексей Иванов");
    assert_eq!(customers.get_value((3, 2)).unwrap().to_string(), "42");
    // The print area still belongs to Customers, now the second sheet; the
    // workbook still opens on it.
    let workbook = part(&out, "xl/workbook.xml");
    assert!(workbook.contains("localSheetId=\"1\""), "{workbook}");
    assert!(workbook.contains("activeTab=\"1\""));
    metadata_traced(&out, 2);
}

#[test]
fn damaged_packages_get_a_clear_error() {
    let input = data("libreoffice.xlsx");
    let err = stamp(Format::Xlsx, &input[..input.len() / 2], &stamp_for(1)).unwrap_err();
    assert!(matches!(err, MarkError::Malformed { .. }), "{err:?}");
    let docx_as_xlsx = stamp(Format::Xlsx, &data("libreoffice.docx"), &stamp_for(1)).unwrap_err();
    assert!(
        matches!(docx_as_xlsx, MarkError::Malformed { .. }),
        "{docx_as_xlsx:?}"
    );
}
