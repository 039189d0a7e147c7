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
    // A header and a footer on every page of the (one) section.
    assert!(plain[sect..].starts_with("<w:sectPr><w:headerReference w:type=\"default\" r:id=\"rIdCnfd1\"/><w:footerReference w:type=\"default\" r:id=\"rIdCnfd2\"/>"), "{}", &plain[sect..]);
    for (name, root) in [
        ("word/confidant-header.xml", "w:hdr"),
        ("word/confidant-footer.xml", "w:ftr"),
    ] {
        let xml = fingerprint::strip(&part(&out, name));
        assert!(
            xml.contains(&line) && xml.contains(&format!("</{root}>")),
            "{xml}"
        );
    }
    assert!(part(&out, "word/_rels/document.xml.rels").contains("Target=\"confidant-header.xml\""));
    assert!(part(&out, "[Content_Types].xml").contains("/word/confidant-footer.xml"));
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
    // Printed pages carry the stamp.
    for sheet in ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"] {
        let xml = part(&out, sheet);
        assert!(xml.contains(&format!("<oddHeader>&amp;CCONFIDENTIAL - for Alex Doe &lt;alex@example.com&gt; - 2026-11-29 14:03 UTC - delivery {}</oddHeader>", delivery(2))), "{xml}");
    }
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

/// The LibreOffice DOCX with a header of its own on every page and another
/// on the first page.
fn docx_with_headers() -> Vec<u8> {
    use std::io::Write;
    let input = data("libreoffice.docx");
    let mut archive = zip::ZipArchive::new(Cursor::new(&input)).unwrap();
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let w = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().into_owned();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        let text = match name.as_str() {
            "word/document.xml" => text.replace(
                "<w:sectPr>",
                "<w:sectPr><w:headerReference w:type=\"default\" r:id=\"rId8\"/><w:headerReference w:type=\"first\" r:id=\"rId9\"/><w:titlePg/>",
            ),
            "word/_rels/document.xml.rels" => text.replace(
                "</Relationships>",
                "<Relationship Id=\"rId8\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/header\" Target=\"header1.xml\"/><Relationship Id=\"rId9\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/header\" Target=\"header2.xml\"/></Relationships>",
            ),
            "[Content_Types].xml" => text.replace(
                "</Types>",
                "<Override PartName=\"/word/header1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml\"/><Override PartName=\"/word/header2.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml\"/></Types>",
            ),
            _ => text,
        };
        writer.start_file(name, options).unwrap();
        writer.write_all(text.as_bytes()).unwrap();
    }
    for (name, words) in [
        ("word/header1.xml", "Acme internal"),
        ("word/header2.xml", "Acme title page"),
    ] {
        writer.start_file(name, options).unwrap();
        write!(writer, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:hdr {w}><w:p><w:r><w:t>{words}</w:t></w:r></w:p></w:hdr>").unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn docx_headers_of_its_own_get_the_stamp_too() {
    let out = stamp(Format::Docx, &docx_with_headers(), &stamp_for(3)).unwrap();
    let line = stamp_for(3)
        .line()
        .unwrap()
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    for (name, words) in [
        ("word/header1.xml", "Acme internal"),
        ("word/header2.xml", "Acme title page"),
    ] {
        let xml = fingerprint::strip(&part(&out, name));
        assert!(xml.contains(words) && xml.contains(&line), "{name}: {xml}");
    }
    // The section keeps its own default header and gets our footer only.
    let document = part(&out, "word/document.xml");
    let sect = &document[document.rfind("<w:sectPr>").unwrap()..];
    assert_eq!(
        sect.matches("w:headerReference w:type=\"default\"").count(),
        1,
        "{sect}"
    );
    assert_eq!(
        sect.matches("w:footerReference w:type=\"default\"").count(),
        1,
        "{sect}"
    );
    assert!(sect.contains("r:id=\"rId8\""));
    metadata_traced(&out, 3);
}
