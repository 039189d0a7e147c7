//! PNG and JPEG: the stamp line drawn across the whole picture as a tiled,
//! semi-transparent diagonal overlay (dark text with a light edge, so it
//! shows on light and dark pictures), and the delivery id in the file's
//! metadata: PNG text chunks `Confidant-Delivery` (tEXt) and
//! `Confidant-Stamp` (iTXt, UTF-8), a JPEG comment (COM) segment
//! `Confidant-Delivery: <id>; <stamp line>`.
//!
//! The format and the dimensions as shown are kept. A JPEG's EXIF
//! orientation is applied before drawing (so the stamp reads upright) and
//! the copy is written upright without EXIF, which also drops camera
//! metadata such as GPS positions; the ICC colour profile is kept. JPEGs
//! are re-encoded at quality 90, PNGs losslessly in their colour type
//! (palette images become RGB or RGBA).
//!
//! The text uses the bundled DejaVu Sans (Bitstream Vera licence, see
//! `assets/DejaVuSans-LICENSE.txt`). Characters it lacks, and scripts that
//! need shaping it cannot do here (Arabic, Hebrew, Indic, CJK), are
//! transliterated to Latin, so a name is always readable.

use std::io::Cursor;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{
    ColorType, DynamicImage, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader,
    Limits, RgbaImage,
};

use crate::stamp::StampParts;
use crate::trace::Scan;
use crate::{Format, MarkError, Stamp};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Largest width or height stamped.
const MAX_SIDE: u32 = 20_000;
/// Most memory an image may take while decoding.
const MAX_ALLOC: u64 = 1 << 30;

/// Keyword of the PNG text chunk holding the delivery id.
pub(crate) const PNG_KEY: &str = "Confidant-Delivery";
/// Start of the JPEG comment holding the delivery id.
pub(crate) const JPEG_PREFIX: &str = "Confidant-Delivery: ";

fn decode_error(format: Format, e: ImageError) -> MarkError {
    match e {
        ImageError::Limits(l) => MarkError::TooLarge {
            format,
            detail: format!(
                "the picture is larger than stamping allows ({l}; at most {MAX_SIDE} pixels a side)"
            ),
        },
        other => MarkError::Malformed {
            format,
            detail: other.to_string(),
        },
    }
}

pub(crate) fn stamp(
    format: Format,
    input: &[u8],
    stamp: &Stamp,
    parts: &StampParts,
) -> Result<Vec<u8>, MarkError> {
    let image_format = match format {
        Format::Png => ImageFormat::Png,
        _ => ImageFormat::Jpeg,
    };
    let mut reader = ImageReader::with_format(Cursor::new(input), image_format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(format, e))?;
    let orientation = decoder.orientation().map_err(|e| decode_error(format, e))?;
    let icc = decoder.icc_profile().ok().flatten();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(format, e))?;
    img.apply_orientation(orientation);
    let color = img.color();

    let mut rgba = img.to_rgba8();
    draw_overlay(&mut rgba, &parts.line())?;
    let drawn = DynamicImage::ImageRgba8(rgba);
    let encode_error = |e: ImageError| MarkError::Encode {
        format,
        detail: e.to_string(),
    };
    let mut out = Vec::with_capacity(input.len() + input.len() / 4 + 1024);
    match format {
        Format::Png => {
            let img = match color {
                ColorType::L8 => DynamicImage::ImageLuma8(drawn.to_luma8()),
                ColorType::La8 => DynamicImage::ImageLumaA8(drawn.to_luma_alpha8()),
                ColorType::Rgb8 => DynamicImage::ImageRgb8(drawn.to_rgb8()),
                ColorType::L16 => DynamicImage::ImageLuma16(drawn.to_luma16()),
                ColorType::La16 => DynamicImage::ImageLumaA16(drawn.to_luma_alpha16()),
                ColorType::Rgb16 => DynamicImage::ImageRgb16(drawn.to_rgb16()),
                ColorType::Rgba16 => DynamicImage::ImageRgba16(drawn.to_rgba16()),
                _ => drawn,
            };
            encode(image::codecs::png::PngEncoder::new(&mut out), &img, icc)
                .map_err(encode_error)?;
            let text = png_text_chunks(stamp, parts);
            insert_after_ihdr(&out, &text).ok_or_else(|| MarkError::Encode {
                format,
                detail: "the encoder wrote no IHDR chunk".to_owned(),
            })
        }
        _ => {
            let img = match color {
                ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16 => {
                    DynamicImage::ImageLuma8(drawn.to_luma8())
                }
                _ => DynamicImage::ImageRgb8(drawn.to_rgb8()),
            };
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
            encode(encoder, &img, icc).map_err(encode_error)?;
            let comment = format!("{JPEG_PREFIX}{}; {}", stamp.delivery, parts.line());
            Ok(insert_jpeg_comment(&out, comment.as_bytes()))
        }
    }
}

/// Writes `img` with `encoder`, with the original's colour profile.
fn encode(
    mut encoder: impl ImageEncoder,
    img: &DynamicImage,
    icc: Option<Vec<u8>>,
) -> Result<(), ImageError> {
    if let Some(icc) = icc {
        // A profile the encoder refuses is dropped, not a failure.
        let _ = encoder.set_icc_profile(icc);
    }
    encoder.write_image(
        img.as_bytes(),
        img.width(),
        img.height(),
        img.color().into(),
    )
}

/// Whether a character can be drawn as is: the font has it and it needs no
/// shaping (Latin, Greek, Cyrillic and common signs).
fn drawable(font: &FontRef<'_>, c: char) -> bool {
    let code = u32::from(c);
    let simple_script =
        code < 0x0590 || (0x1E00..=0x20CF).contains(&code) || (0x2100..=0x22FF).contains(&code);
    simple_script && font.glyph_id(c).0 != 0
}

/// The text with undrawable runs transliterated.
fn drawable_text(font: &FontRef<'_>, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if drawable(font, c) {
            if !run.is_empty() {
                out.push_str(deunicode::deunicode_with_tofu(&run, "?").trim());
                run.clear();
            }
            out.push(c);
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() {
        out.push_str(deunicode::deunicode_with_tofu(&run, "?").trim());
    }
    out
}

/// A line of text rendered as coverage (0..1), row by row.
struct Mask {
    width: usize,
    height: usize,
    coverage: Vec<f32>,
}

impl Mask {
    fn at(&self, x: isize, y: isize) -> f32 {
        if x < 0 || y < 0 {
            return 0.0;
        }
        let (x, y) = (x.unsigned_abs(), y.unsigned_abs());
        if x >= self.width || y >= self.height {
            return 0.0;
        }
        self.coverage[y * self.width + x]
    }
}

fn render(font: &FontRef<'_>, text: &str, px: f32) -> Mask {
    let scale = PxScale::from(px);
    let scaled = font.as_scaled(scale);
    let ascent = scaled.ascent();
    let height = (ascent - scaled.descent()).ceil().max(1.0);
    let mut x = 0.0f32;
    let mut glyphs = Vec::new();
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scale, point(x, ascent)));
        x += scaled.h_advance(id);
        previous = Some(id);
    }
    let width = x.ceil().max(1.0);
    // Both are small positive numbers (a line of text at most 48 px high).
    let (width, height) = (width as usize, height as usize);
    let mut coverage = vec![0.0f32; width * height];
    for glyph in glyphs {
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, c| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px >= 0 && py >= 0 {
                let (px, py) = (px.unsigned_abs() as usize, py.unsigned_abs() as usize);
                if px < width && py < height {
                    let cell = &mut coverage[py * width + px];
                    *cell = (*cell + c).min(1.0);
                }
            }
        });
    }
    Mask {
        width,
        height,
        coverage,
    }
}

/// Draws the stamp line tiled across the picture, at 30 degrees.
fn draw_overlay(img: &mut RgbaImage, line: &str) -> Result<(), MarkError> {
    let font = FontRef::try_from_slice(FONT).map_err(|e| MarkError::Encode {
        format: Format::Png,
        detail: format!("the bundled font cannot be read: {e}"),
    })?;
    let (w, h) = img.dimensions();
    let px = (w.min(h) as f32 / 28.0).clamp(11.0, 48.0);
    let text = format!("{}   ", drawable_text(&font, line));
    let mask = render(&font, &text, px);
    let tile_w = mask.width as f32;
    let row = mask.height as f32 * 3.2;
    let (sin, cos) = (30f32).to_radians().sin_cos();
    for (x, y, pixel) in img.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        // Along the text (up and to the right) and across it.
        let u = fx * cos - fy * sin;
        let v = fx * sin + fy * cos;
        let r = (v / row).floor();
        let mv = v - r * row;
        let mu = (u + r * tile_w * 0.37).rem_euclid(tile_w);
        let (iu, iv) = (mu as isize, mv as isize);
        let dark = mask.at(iu, iv);
        let light = mask.at(iu - 1, iv - 1).max(mask.at(iu + 1, iv + 1));
        if dark == 0.0 && light == 0.0 {
            continue;
        }
        let mut blend = |target: f32, alpha: f32| {
            for channel in 0..3 {
                let c = f32::from(pixel.0[channel]);
                pixel.0[channel] = (c + (target - c) * alpha).round().clamp(0.0, 255.0) as u8;
            }
        };
        blend(255.0, light * 0.30);
        blend(20.0, dark * 0.42);
        // A transparent pixel under the text becomes partly opaque, so the
        // stamp shows on transparent backgrounds too.
        let a = f32::from(pixel.0[3]);
        let cover = dark.max(light) * 0.42;
        pixel.0[3] = (a + (255.0 - a) * cover).round().clamp(0.0, 255.0) as u8;
    }
    Ok(())
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(data.len() + 12);
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    chunk.extend_from_slice(&len.to_be_bytes());
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    chunk.extend_from_slice(&crc.finalize().to_be_bytes());
    chunk
}

fn png_text_chunks(stamp: &Stamp, parts: &StampParts) -> Vec<u8> {
    let mut text = PNG_KEY.as_bytes().to_vec();
    text.push(0);
    text.extend_from_slice(stamp.delivery.to_string().as_bytes());
    let mut out = png_chunk(b"tEXt", &text);
    let mut itxt = b"Confidant-Stamp".to_vec();
    // Keyword end, not compressed, method 0, no language, no translation.
    itxt.extend_from_slice(&[0, 0, 0, 0, 0]);
    itxt.extend_from_slice(parts.line().as_bytes());
    out.extend_from_slice(&png_chunk(b"iTXt", &itxt));
    out
}

/// `png` with `chunks` right after its IHDR chunk.
fn insert_after_ihdr(png: &[u8], chunks: &[u8]) -> Option<Vec<u8>> {
    // Signature (8), IHDR length (4) and type (4), 13 bytes of data, CRC (4).
    const END_OF_IHDR: usize = 8 + 4 + 4 + 13 + 4;
    if png.len() < END_OF_IHDR || &png[12..16] != b"IHDR" {
        return None;
    }
    let mut out = Vec::with_capacity(png.len() + chunks.len());
    out.extend_from_slice(&png[..END_OF_IHDR]);
    out.extend_from_slice(chunks);
    out.extend_from_slice(&png[END_OF_IHDR..]);
    Some(out)
}

/// `jpeg` with a COM segment after its leading APPn segments.
fn insert_jpeg_comment(jpeg: &[u8], comment: &[u8]) -> Vec<u8> {
    let comment = &comment[..comment.len().min(65_000)];
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && (0xE0..=0xEF).contains(&jpeg[at + 1]) {
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        at += 2 + len;
    }
    let at = at.min(jpeg.len());
    let mut out = Vec::with_capacity(jpeg.len() + comment.len() + 4);
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    let len = u16::try_from(comment.len() + 2).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(comment);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// Searches a PNG's text chunks or a JPEG's comment and APP segments.
pub(crate) fn trace(bytes: &[u8], scan: &mut Scan) {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        trace_png(bytes, scan);
    } else {
        trace_jpeg(bytes, scan);
    }
    scan.note(
        "in pictures only metadata is searched: the drawn stamp is not read back (no OCR)"
            .to_owned(),
    );
}

fn trace_png(bytes: &[u8], scan: &mut Scan) {
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let kind = &bytes[at + 4..at + 8];
        let Some(end) = (at + 8).checked_add(len).filter(|e| *e <= bytes.len()) else {
            scan.note("the PNG is cut short; searched what was there".to_owned());
            break;
        };
        let data = &bytes[at + 8..end];
        match kind {
            b"tEXt" => {
                if let Some(nul) = data.iter().position(|b| *b == 0) {
                    let keyword = String::from_utf8_lossy(&data[..nul]);
                    let text: String = data[nul + 1..].iter().map(|&b| char::from(b)).collect();
                    let place = format!("PNG text chunk {keyword}");
                    if keyword == PNG_KEY {
                        scan.metadata(&text, &place);
                    }
                    scan.text(&text, &place);
                }
            }
            b"iTXt" => {
                if let Some(nul) = data.iter().position(|b| *b == 0) {
                    let keyword = String::from_utf8_lossy(&data[..nul]);
                    let rest = &data[nul + 1..];
                    let compressed = rest.first().copied().unwrap_or(0) != 0;
                    // Skip the flags, the language tag and the translated keyword.
                    let mut fields = rest.get(2..).unwrap_or(&[]).splitn(3, |b| *b == 0);
                    let _language = fields.next();
                    let _translated = fields.next();
                    let text = fields.next().unwrap_or(&[]);
                    if compressed {
                        scan.note(format!("compressed PNG text chunk {keyword} not searched"));
                    } else {
                        scan.text(
                            &String::from_utf8_lossy(text),
                            &format!("PNG text chunk {keyword}"),
                        );
                    }
                }
            }
            b"IEND" => break,
            _ => {}
        }
        at = end + 4;
    }
}

fn trace_jpeg(bytes: &[u8], scan: &mut Scan) {
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            break;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            break;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            at += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let end = (at + 2 + len).min(bytes.len());
        let data = bytes.get(at + 4..end).unwrap_or(&[]);
        if marker == 0xFE {
            let text = String::from_utf8_lossy(data);
            if let Some(rest) = text.strip_prefix(JPEG_PREFIX) {
                let id = rest.split(';').next().unwrap_or("");
                scan.metadata(id, "JPEG comment");
            }
            scan.text(&text, "JPEG comment");
        } else if (0xE0..=0xEF).contains(&marker) {
            scan.text(
                &String::from_utf8_lossy(data),
                &format!("JPEG APP{} segment", marker - 0xE0),
            );
        }
        at = end;
    }
}
