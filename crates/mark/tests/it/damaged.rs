//! Damaged files of every format: stamping gives a stamped copy or an
//! error, never a panic and never the original bytes.

use confidant_mark::{Format, stamp, trace};
use proptest::prelude::*;

use crate::util::{data, delivery, stamp_for};

fn fixtures() -> Vec<(Format, Vec<u8>)> {
    vec![
        (Format::Pdf, data("libreoffice.pdf")),
        (Format::Pdf, data("qpdf-objstm-rotated.pdf")),
        (Format::Pdf, data("img2pdf-scan.pdf")),
        (Format::Png, data("libpng-page.png")),
        (Format::Jpeg, data("libjpeg-page.jpg")),
        (Format::Docx, data("libreoffice.docx")),
        (Format::Xlsx, data("libreoffice.xlsx")),
        (Format::Json, br#"{"a": ["b c", 1, {"d": "e f"}]}"#.to_vec()),
        (Format::Csv, b"a,b\n\"x y\",z\n".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn damaged_files_are_stamped_or_refused(
        which in 0usize..9,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let (format, mut bytes) = fixtures().swap_remove(which);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            let keep = cut.index(bytes.len()).max(1);
            bytes.truncate(keep);
        }
        if let Ok(out) = stamp(format, &bytes, &stamp_for(9)) {
            prop_assert_ne!(&out, &bytes);
            let id = delivery(9).to_string();
            // The id is in the copy, in the clear or compressed in a PDF
            // or a package, where trace finds it.
            let found = trace(&out).deliveries().contains(&delivery(9))
                || String::from_utf8_lossy(&out).contains(&id);
            prop_assert!(found, "{format}: stamped copy without its delivery id");
        }
    }

    #[test]
    fn trace_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096), which in 0usize..9) {
        let (_, fixture) = fixtures().swap_remove(which);
        let mut input = fixture[..fixture.len().min(bytes.len())].to_vec();
        input.extend_from_slice(&bytes);
        let _ = trace(&input);
        let _ = trace(&bytes);
    }
}
