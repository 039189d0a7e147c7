//! PDFs from several producers: stamped, checked with qpdf and pdftotext,
//! traced back.

use confidant_mark::{EvidenceKind, Format, MarkError, stamp, trace};
use lopdf::Document;

use crate::util::{
    data, delivery, inherited_rotated, lopdf_pages, pdftotext_pages, qpdf_check, qpdf_transform,
    stamp_for,
};

/// Stamps `input` and checks everything a stamped PDF must be; returns the
/// stamped copy's page texts.
fn stamp_and_check(name: &str, input: &[u8], n: u8) -> Vec<String> {
    let s = stamp_for(n);
    let out = stamp(Format::Pdf, input, &s).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_ne!(out, input, "{name}: unchanged");
    qpdf_check(&out);
    let before = Document::load_mem(input).unwrap().get_pages().len();
    let pages = pdftotext_pages(&out);
    assert_eq!(pages.len(), before, "{name}: page count changed");
    let id = delivery(n).to_string();
    for (i, text) in pages.iter().enumerate() {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        // Header and footer: the stamp twice on every page, plus the watermark.
        assert!(
            flat.matches(&format!("delivery {id}")).count() >= 2,
            "{name} page {}: stamp missing in {flat:?}",
            i + 1
        );
        assert!(
            flat.contains("CONFIDENTIAL - for Alex Doe <alex@example.com> - 2026-11-29 14:03 UTC"),
            "{name} page {}: {flat:?}",
            i + 1
        );
    }
    // The original text is all still there.
    let original = pdftotext_pages(input);
    for (i, (before, after)) in original.iter().zip(&pages).enumerate() {
        for word in before.split_whitespace().filter(|w| w.len() > 3).take(40) {
            assert!(after.contains(word), "{name} page {}: lost {word:?}", i + 1);
        }
    }
    // Rewritten whole: the original bytes are not a prefix (an incremental
    // update would leave them there, unstamped).
    assert!(
        !out.starts_with(&input[..input.len() / 2]),
        "{name}: incremental update"
    );
    // The id is in the metadata and on every page.
    let t = trace(&out);
    assert_eq!(t.format, Some(Format::Pdf));
    assert_eq!(t.deliveries(), vec![delivery(n)], "{name}: {t}");
    let evidence = &t.findings[0].evidence;
    let metadata: Vec<&str> = evidence
        .iter()
        .filter(|e| e.kind == EvidenceKind::Metadata)
        .map(|e| e.place.as_str())
        .collect();
    assert!(
        metadata.iter().any(|p| p.contains("/ConfidantDelivery")),
        "{name}: {t}"
    );
    assert!(metadata.iter().any(|p| p.contains("XMP")), "{name}: {t}");
    for page in 1..=before {
        assert!(
            evidence
                .iter()
                .any(|e| e.kind == EvidenceKind::StampText && e.place == format!("page {page}")),
            "{name}: no stamp text traced on page {page}: {t}"
        );
    }
    pages
}

#[test]
fn libreoffice_pdf() {
    let pages = stamp_and_check("libreoffice.pdf", &data("libreoffice.pdf"), 1);
    assert!(pages[0].contains("Quarterly customer notes"));
}

#[test]
fn cairo_pdf() {
    stamp_and_check("cairo.pdf", &data("cairo.pdf"), 2);
}

#[test]
fn qpdf_object_streams_and_rotated_pages() {
    stamp_and_check(
        "qpdf-objstm-rotated.pdf",
        &data("qpdf-objstm-rotated.pdf"),
        3,
    );
}

#[test]
fn linearized_pdf_is_rewritten_whole() {
    let input = qpdf_transform(&data("libreoffice.pdf"), &["--linearize"]);
    stamp_and_check("linearized", &input, 9);
}

#[test]
fn scanned_image_only_pdf() {
    let pages = stamp_and_check("img2pdf-scan.pdf", &data("img2pdf-scan.pdf"), 4);
    assert_eq!(pages.len(), 1);
}

#[test]
fn rust_writer_pdf_with_a_clashing_font_name() {
    let input = lopdf_pages(3);
    let pages = stamp_and_check("lopdf", &input, 5);
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains(&format!("Rust writer page {}", i + 1)));
        assert!(page.contains("Courier under the name CnfdF1"));
    }
    // The page's own CnfdF1 still names Courier.
    let out = stamp(Format::Pdf, &input, &stamp_for(5)).unwrap();
    let doc = Document::load_mem(&out).unwrap();
    let page = *doc.get_pages().values().next().unwrap();
    let fonts = doc.get_page_fonts(page).unwrap();
    assert_eq!(
        fonts[b"CnfdF1".as_slice()]
            .get(b"BaseFont")
            .unwrap()
            .as_name()
            .unwrap(),
        b"Courier"
    );
    assert_eq!(
        fonts[b"CnfdF2".as_slice()]
            .get(b"BaseFont")
            .unwrap()
            .as_name()
            .unwrap(),
        b"Helvetica"
    );
}

#[test]
fn inherited_boxes_resources_rotation_and_odd_content() {
    let input = inherited_rotated();
    qpdf_check(&input);
    let pages = stamp_and_check("inherited", &input, 6);
    assert!(pages[0].contains("Inherited part one") && pages[0].contains("Inherited part two"));
    assert!(pages[1].contains("Own resources rotated 270"));
    assert!(pages[3].contains("Scaled and never restored"));
}

#[test]
fn non_latin_names_are_transliterated_and_the_id_is_exact() {
    let mut s = stamp_for(7);
    s.recipient_name = "Алексей Иванов 王小明".to_owned();
    let out = stamp(Format::Pdf, &data("libreoffice.pdf"), &s).unwrap();
    qpdf_check(&out);
    for page in pdftotext_pages(&out) {
        let flat = page.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("for Aleksei Ivanov Wang Xiao Ming <alex@example.com>"),
            "{flat}"
        );
        assert!(flat.contains(&format!("delivery {}", delivery(7))));
    }
}

#[test]
fn encrypted_pdfs_are_refused() {
    for name in ["encrypted-password.pdf", "encrypted-no-user-password.pdf"] {
        let err = stamp(Format::Pdf, &data(name), &stamp_for(1)).unwrap_err();
        assert!(
            matches!(err, MarkError::Encrypted { .. }),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("qpdf --decrypt"), "{err}");
    }
}

#[test]
fn malformed_pdfs_get_a_clear_error() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage",
            b"%PDF-1.4\n this is not a PDF at all \x00\x01\x02".to_vec(),
        ),
        ("header only", b"%PDF-1.7\n".to_vec()),
        ("no pages", {
            let mut doc = Document::with_version("1.5");
            let pages = doc
                .add_object(lopdf::dictionary! {"Type" => "Pages", "Kids" => vec![], "Count" => 0});
            let catalog =
                doc.add_object(lopdf::dictionary! {"Type" => "Catalog", "Pages" => pages});
            doc.trailer.set("Root", catalog);
            let mut out = Vec::new();
            doc.save_to(&mut out).unwrap();
            out
        }),
    ];
    for (name, bytes) in cases {
        let err = stamp(Format::Pdf, &bytes, &stamp_for(1)).unwrap_err();
        assert!(
            matches!(err, MarkError::Malformed { .. }),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("export it again"), "{err}");
    }
}

#[test]
fn a_truncated_pdf_is_refused_or_stamped_never_passed_through() {
    let full = data("libreoffice.pdf");
    for cut in [full.len() / 3, full.len() / 2, full.len() - 200] {
        match stamp(Format::Pdf, &full[..cut], &stamp_for(8)) {
            Err(e) => assert!(matches!(e, MarkError::Malformed { .. }), "{e:?}"),
            Ok(out) => {
                // Whatever could be recovered carries the stamp on every page.
                qpdf_check(&out);
                for page in pdftotext_pages(&out) {
                    assert!(page.contains(&delivery(8).to_string()));
                }
            }
        }
    }
}

#[test]
fn stamping_twice_leaves_both_deliveries_traceable() {
    let once = stamp(Format::Pdf, &data("cairo.pdf"), &stamp_for(1)).unwrap();
    let twice = stamp(Format::Pdf, &once, &stamp_for(2)).unwrap();
    qpdf_check(&twice);
    let t = trace(&twice);
    let found = t.deliveries();
    assert!(
        found.contains(&delivery(1)) && found.contains(&delivery(2)),
        "{t}"
    );
}
