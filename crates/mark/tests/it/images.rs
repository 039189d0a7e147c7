//! PNG and JPEG of several sizes and colour types.

use std::io::Cursor;

use confidant_mark::{EvidenceKind, Format, MarkError, stamp, trace};
use image::{
    DynamicImage, GenericImageView, GrayImage, ImageDecoder, ImageEncoder, ImageFormat,
    ImageReader, Luma, Rgb, RgbImage, Rgba, RgbaImage,
};

use crate::util::{data, delivery, stamp_for};

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

fn jpeg(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
        .unwrap();
    out
}

fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

/// A picture with some structure: a gradient with a dark and a light half.
fn picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = u8::try_from((x * 255) / w.max(1)).unwrap();
        if y < h / 2 {
            Rgb([v, 200, 255 - v])
        } else {
            Rgb([v / 4, 10, 40])
        }
    })
}

/// Share of pixels that differ between two pictures of one size.
fn changed(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (a, b) = (a.to_rgba8(), b.to_rgba8());
    assert_eq!(a.dimensions(), b.dimensions());
    let differ = a
        .pixels()
        .zip(b.pixels())
        .filter(|(p, q)| p.0.iter().zip(q.0.iter()).any(|(x, y)| x.abs_diff(*y) > 12))
        .count();
    differ as f64 / f64::from(a.width() * a.height())
}

fn assert_traced(out: &[u8], n: u8, place: &str) {
    let t = trace(out);
    assert_eq!(t.deliveries(), vec![delivery(n)], "{t}");
    assert!(
        t.findings[0]
            .evidence
            .iter()
            .any(|e| e.kind == EvidenceKind::Metadata && e.place.contains(place)),
        "{t}"
    );
}

#[test]
fn pngs_of_several_sizes_and_colour_types_keep_format_and_size() {
    let cases: Vec<(&str, DynamicImage)> = vec![
        ("rgb 1200x800", DynamicImage::ImageRgb8(picture(1200, 800))),
        ("rgb 300x2000", DynamicImage::ImageRgb8(picture(300, 2000))),
        ("rgb 64x48", DynamicImage::ImageRgb8(picture(64, 48))),
        ("rgb 1x1", DynamicImage::ImageRgb8(picture(1, 1))),
        (
            "rgba transparent 400x300",
            DynamicImage::ImageRgba8(RgbaImage::from_pixel(400, 300, Rgba([0, 0, 0, 0]))),
        ),
        (
            "gray 500x500",
            DynamicImage::ImageLuma8(GrayImage::from_fn(500, 500, |x, _| {
                Luma([u8::try_from(x % 256).unwrap()])
            })),
        ),
        (
            "rgb16 200x150",
            DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(picture(200, 150)).to_rgb16()),
        ),
    ];
    for (i, (name, img)) in cases.into_iter().enumerate() {
        let n = u8::try_from(i).unwrap() + 10;
        let input = png(&img);
        let out =
            stamp(Format::Png, &input, &stamp_for(n)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(Format::detect(None, &out), Some(Format::Png), "{name}");
        let stamped = decode(&out);
        assert_eq!(stamped.dimensions(), img.dimensions(), "{name}");
        assert_eq!(stamped.color(), img.color(), "{name}");
        if img.width() >= 64 {
            let share = changed(&img, &stamped);
            assert!(
                share > 0.03 && share < 0.6,
                "{name}: {share} of the pixels changed"
            );
        }
        assert_traced(&out, n, "PNG text chunk Confidant-Delivery");
    }
}

#[test]
fn the_overlay_shows_on_dark_and_light_parts() {
    let img = DynamicImage::ImageRgb8(picture(900, 900));
    let out = stamp(Format::Png, &png(&img), &stamp_for(1)).unwrap();
    let stamped = decode(&out);
    let top = changed(
        &img.crop_imm(0, 0, 900, 450),
        &stamped.crop_imm(0, 0, 900, 450),
    );
    let bottom = changed(
        &img.crop_imm(0, 450, 900, 450),
        &stamped.crop_imm(0, 450, 900, 450),
    );
    assert!(top > 0.03 && bottom > 0.03, "top {top}, bottom {bottom}");
}

#[test]
fn jpegs_keep_format_and_size() {
    for (i, (w, h)) in [(1600, 1200), (640, 480), (33, 17)].into_iter().enumerate() {
        let n = u8::try_from(i).unwrap() + 20;
        let img = DynamicImage::ImageRgb8(picture(w, h));
        let out = stamp(Format::Jpeg, &jpeg(&img), &stamp_for(n)).unwrap();
        assert_eq!(Format::detect(None, &out), Some(Format::Jpeg));
        let stamped = decode(&out);
        assert_eq!(stamped.dimensions(), (w, h));
        assert_traced(&out, n, "JPEG comment");
    }
}

#[test]
fn real_encoder_outputs() {
    let out = stamp(Format::Jpeg, &data("libjpeg-page.jpg"), &stamp_for(30)).unwrap();
    assert_eq!(
        decode(&out).dimensions(),
        decode(&data("libjpeg-page.jpg")).dimensions()
    );
    assert_traced(&out, 30, "JPEG comment");
    let out = stamp(Format::Png, &data("libpng-page.png"), &stamp_for(31)).unwrap();
    assert_eq!(
        decode(&out).dimensions(),
        decode(&data("libpng-page.png")).dimensions()
    );
    assert_traced(&out, 31, "PNG");
}

/// EXIF (TIFF, little-endian) with one entry: orientation 6 (rotate 90).
fn exif_orientation_6() -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&0x0112u16.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&6u16.to_le_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

#[test]
fn a_jpeg_turned_by_exif_is_stamped_upright() {
    let img = picture(400, 200);
    let mut input = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut input, 90);
    encoder.set_exif_metadata(exif_orientation_6()).unwrap();
    encoder
        .write_image(img.as_raw(), 400, 200, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut decoder = ImageReader::with_format(Cursor::new(&input), ImageFormat::Jpeg)
        .into_decoder()
        .unwrap();
    assert_eq!(
        decoder.orientation().unwrap(),
        image::metadata::Orientation::Rotate90
    );
    let out = stamp(Format::Jpeg, &input, &stamp_for(40)).unwrap();
    // Shown as the viewer showed the original: 200 wide, 400 high.
    assert_eq!(decode(&out).dimensions(), (200, 400));
}

#[test]
fn malformed_images_get_a_clear_error() {
    let good = png(&DynamicImage::ImageRgb8(picture(100, 100)));
    let cases: Vec<(Format, Vec<u8>)> = vec![
        (Format::Png, good[..good.len() / 2].to_vec()),
        (Format::Png, b"\x89PNG\r\n\x1a\nnot really".to_vec()),
        (Format::Jpeg, vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0]),
        (Format::Jpeg, b"plain text".to_vec()),
    ];
    for (format, bytes) in cases {
        let err = stamp(format, &bytes, &stamp_for(1)).unwrap_err();
        assert!(
            matches!(err, MarkError::Malformed { .. }),
            "{format}: {err:?}"
        );
        assert!(err.to_string().contains("upload the new copy"), "{err}");
    }
}

#[test]
fn huge_dimensions_are_refused_before_decoding() {
    // A valid PNG header announcing 30000 x 30000 pixels.
    let img = DynamicImage::ImageLuma8(GrayImage::new(1, 1));
    let mut bytes = png(&img);
    bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.finalize().to_be_bytes());
    let err = stamp(Format::Png, &bytes, &stamp_for(1)).unwrap_err();
    assert!(matches!(err, MarkError::TooLarge { .. }), "{err:?}");
}

#[test]
fn non_latin_names_render_in_pictures() {
    let mut s = stamp_for(50);
    s.recipient_name = "Алексей 王小明 محمد 🦀".to_owned();
    let img = DynamicImage::ImageRgb8(picture(600, 400));
    let out = stamp(Format::Png, &png(&img), &s).unwrap();
    assert!(changed(&img, &decode(&out)) > 0.03);
    let t = trace(&out);
    assert_eq!(t.deliveries(), vec![delivery(50)]);
}
