//! PDF: a header and a footer on every page with the whole stamp line, a
//! light diagonal watermark with the label, and the delivery id in the
//! document information dictionary (`/ConfidantDelivery`) and in the XMP
//! metadata (`confidant:delivery`).
//!
//! The original page content is kept byte for byte: each page's content
//! becomes `[q] + original streams + [Q, stamp]`, so nothing the original
//! leaves in the graphics state can move or hide the stamp. The stamp is
//! drawn in the page's visible box (CropBox, else MediaBox, both inherited
//! through the page tree like Resources and Rotate) and turned with the
//! page's /Rotate so it reads upright on screen. It uses Helvetica (a
//! standard 14 font every reader has, nothing embedded) under resource
//! names the page does not use yet.
//!
//! The file is rewritten whole, never as an incremental update: an appended
//! update would leave the unstamped original in the file for anyone who cuts
//! it off at the previous `%%EOF`.
//!
//! Encrypted PDFs (even those that open without a password) are refused:
//! stamping would have to drop their protection, and the owner should
//! decide that.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream, StringFormat};

use crate::office::xml_escape;
use crate::stamp::StampParts;
use crate::trace::Scan;
use crate::{Format, MarkError, Stamp, winansi};

/// The most a single stream may inflate to (stamping and tracing).
const MAX_STREAM: usize = 256 * 1024 * 1024;

/// Key of the delivery id in the document information dictionary.
pub(crate) const INFO_KEY: &[u8] = b"ConfidantDelivery";
/// Key of the whole stamp line in the document information dictionary.
const INFO_STAMP_KEY: &[u8] = b"ConfidantStamp";
/// The XMP namespace of our properties.
const XMP_NS: &str = "https://confidant.invalid/ns/mark/1.0/";

fn malformed(detail: impl std::fmt::Display) -> MarkError {
    MarkError::Malformed {
        format: Format::Pdf,
        detail: detail.to_string(),
    }
}

/// Whether the bytes mention encryption (to tell "needs a password" from
/// "damaged" when loading fails).
fn mentions_encrypt(bytes: &[u8]) -> bool {
    bytes.windows(8).any(|w| w == b"/Encrypt")
}

fn load(input: &[u8]) -> Result<Document, lopdf::Error> {
    let options = LoadOptions {
        max_decompressed_size: Some(MAX_STREAM),
        ..LoadOptions::default()
    };
    Document::load_mem_with_options(input, options)
}

pub(crate) fn stamp(input: &[u8], stamp: &Stamp, parts: &StampParts) -> Result<Vec<u8>, MarkError> {
    let mut doc = match load(input) {
        Ok(doc) => doc,
        Err(_) if mentions_encrypt(input) => {
            return Err(MarkError::Encrypted {
                format: Format::Pdf,
            });
        }
        Err(e) => return Err(malformed(e)),
    };
    if doc.is_encrypted() || doc.was_encrypted() {
        return Err(MarkError::Encrypted {
            format: Format::Pdf,
        });
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(malformed("it has no pages"));
    }

    let shared = Shared::add(&mut doc);
    let text = StampText::new(parts);
    for page_id in pages.values() {
        stamp_page(&mut doc, *page_id, &shared, &text)?;
    }
    set_info(&mut doc, stamp, parts)?;
    set_xmp(&mut doc, stamp, parts);
    doc.prune_objects();

    let mut out = Vec::with_capacity(input.len() + pages.len() * 1024 + 4096);
    doc.save_to(&mut out).map_err(|e| MarkError::Encode {
        format: Format::Pdf,
        detail: e.to_string(),
    })?;
    Ok(out)
}

/// Objects every page refers to.
struct Shared {
    font: ObjectId,
    bold: ObjectId,
    gs: ObjectId,
    open: ObjectId,
}

impl Shared {
    fn add(doc: &mut Document) -> Self {
        let font_dict = |base: &str| {
            let mut d = Dictionary::new();
            d.set("Type", Object::Name(b"Font".to_vec()));
            d.set("Subtype", Object::Name(b"Type1".to_vec()));
            d.set("BaseFont", Object::Name(base.as_bytes().to_vec()));
            d.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
            d
        };
        let font = doc.add_object(font_dict("Helvetica"));
        let bold = doc.add_object(font_dict("Helvetica-Bold"));
        let mut gs = Dictionary::new();
        gs.set("Type", Object::Name(b"ExtGState".to_vec()));
        gs.set("ca", Object::Real(0.16));
        gs.set("CA", Object::Real(0.16));
        let gs = doc.add_object(gs);
        let open = doc.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
        Shared {
            font,
            bold,
            gs,
            open,
        }
    }
}

/// The stamp's text in WinAnsi, as one line and as two.
struct StampText {
    line: Vec<u8>,
    first: Vec<u8>,
    second: Vec<u8>,
    label: Vec<u8>,
}

impl StampText {
    fn new(parts: &StampParts) -> Self {
        StampText {
            line: winansi::encode(&parts.line()),
            first: winansi::encode(&format!("{} - {}", parts.label, parts.recipient)),
            second: winansi::encode(&format!("{} - {}", parts.time, parts.delivery)),
            label: winansi::encode(&parts.label),
        }
    }
}

/// The value of `key` on the page or the nearest ancestor that has it
/// (MediaBox, CropBox, Rotate, Resources are inherited).
fn inherited<'a>(
    doc: &'a Document,
    page_id: ObjectId,
    key: &[u8],
) -> Option<(ObjectId, &'a Object)> {
    let mut node_id = page_id;
    for _ in 0..64 {
        let node = doc.get_dictionary(node_id).ok()?;
        if let Ok(value) = node.get(key) {
            return Some((node_id, value));
        }
        node_id = node.get(b"Parent").and_then(Object::as_reference).ok()?;
    }
    None
}

fn resolve<'a>(doc: &'a Document, object: &'a Object) -> &'a Object {
    doc.dereference(object).map_or(object, |(_, o)| o)
}

fn number(doc: &Document, object: &Object) -> Option<f32> {
    resolve(doc, object)
        .as_float()
        .ok()
        .filter(|f| f.is_finite())
}

/// A rectangle as (x0, y0, x1, y1) with x0 < x1 and y0 < y1.
fn rect(doc: &Document, object: &Object) -> Option<[f32; 4]> {
    let array = resolve(doc, object).as_array().ok()?;
    if array.len() != 4 {
        return None;
    }
    let v: Vec<f32> = array.iter().filter_map(|o| number(doc, o)).collect();
    if v.len() != 4 {
        return None;
    }
    let r = [
        v[0].min(v[2]),
        v[1].min(v[3]),
        v[0].max(v[2]),
        v[1].max(v[3]),
    ];
    (r[2] - r[0] > 0.0 && r[3] - r[1] > 0.0).then_some(r)
}

/// Where the page shows, and how it is turned.
struct Geometry {
    bbox: [f32; 4],
    rotate: i64,
}

fn geometry(doc: &Document, page_id: ObjectId) -> Geometry {
    let media = inherited(doc, page_id, b"MediaBox")
        .and_then(|(_, o)| rect(doc, o))
        .unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let crop = inherited(doc, page_id, b"CropBox").and_then(|(_, o)| rect(doc, o));
    let bbox = match crop {
        Some(c) => {
            let r = [
                c[0].max(media[0]),
                c[1].max(media[1]),
                c[2].min(media[2]),
                c[3].min(media[3]),
            ];
            if r[2] > r[0] && r[3] > r[1] { r } else { media }
        }
        None => media,
    };
    let rotate = inherited(doc, page_id, b"Rotate")
        .and_then(|(_, o)| resolve(doc, o).as_i64().ok())
        .map_or(0, |r| r.rem_euclid(360));
    let rotate = if rotate % 90 == 0 { rotate } else { 0 };
    Geometry { bbox, rotate }
}

/// Where the page's effective /Resources dictionary lives.
enum ResourcesAt {
    /// Written directly into this node (the page or an ancestor).
    Inline(ObjectId),
    /// An indirect object.
    Object(ObjectId),
    /// Nowhere: the page has none.
    Missing,
}

fn resources_at(doc: &Document, page_id: ObjectId) -> Result<ResourcesAt, MarkError> {
    match inherited(doc, page_id, b"Resources") {
        None => Ok(ResourcesAt::Missing),
        Some((node, Object::Dictionary(_))) => Ok(ResourcesAt::Inline(node)),
        Some((_, Object::Reference(id))) => match doc.get_object(*id) {
            Ok(Object::Dictionary(_)) => Ok(ResourcesAt::Object(*id)),
            _ => Err(malformed("a page's /Resources is not a dictionary")),
        },
        Some(_) => Err(malformed("a page's /Resources is not a dictionary")),
    }
}

fn resources_mut<'a>(
    doc: &'a mut Document,
    at: &ResourcesAt,
) -> Result<&'a mut Dictionary, MarkError> {
    let found = match at {
        ResourcesAt::Inline(node) => doc
            .get_dictionary_mut(*node)
            .and_then(|n| n.get_mut(b"Resources"))
            .and_then(Object::as_dict_mut),
        ResourcesAt::Object(id) => doc.get_dictionary_mut(*id),
        ResourcesAt::Missing => return Err(malformed("a page lost its /Resources")),
    };
    found.map_err(|e| malformed(format!("cannot edit a page's /Resources: {e}")))
}

/// Adds `value` to the `category` sub-dictionary (Font, ExtGState) of the
/// resources at `at`, under a name starting with `prefix` that is not
/// taken by anything else, and returns the name.
fn add_resource(
    doc: &mut Document,
    at: &ResourcesAt,
    category: &[u8],
    prefix: &str,
    value: ObjectId,
) -> Result<Vec<u8>, MarkError> {
    let current = match resources_mut(doc, at)?.get(category) {
        Ok(Object::Reference(id)) => Some(Some(*id)),
        Ok(Object::Dictionary(_)) => Some(None),
        _ => None,
    };
    let sub_ref = match current {
        Some(found) => found,
        None => {
            resources_mut(doc, at)?.set(category, Object::Dictionary(Dictionary::new()));
            None
        }
    };
    let sub: &mut Dictionary = match sub_ref {
        Some(id) => doc.get_dictionary_mut(id).map_err(|_| {
            malformed(format!(
                "the page's /{} resources are not a dictionary",
                String::from_utf8_lossy(category)
            ))
        })?,
        None => resources_mut(doc, at)?
            .get_mut(category)
            .and_then(Object::as_dict_mut)
            .map_err(|e| malformed(e.to_string()))?,
    };
    let mut n = 1u32;
    loop {
        let name = format!("{prefix}{n}").into_bytes();
        match sub.get(&name) {
            Ok(Object::Reference(id)) if *id == value => return Ok(name),
            Ok(_) => n += 1,
            Err(_) => {
                sub.set(name.clone(), Object::Reference(value));
                return Ok(name);
            }
        }
    }
}

fn stamp_page(
    doc: &mut Document,
    page_id: ObjectId,
    shared: &Shared,
    text: &StampText,
) -> Result<(), MarkError> {
    let geometry = geometry(doc, page_id);
    let mut at = resources_at(doc, page_id)?;
    if let ResourcesAt::Missing = at {
        doc.get_dictionary_mut(page_id)
            .map_err(|e| malformed(e.to_string()))?
            .set("Resources", Object::Dictionary(Dictionary::new()));
        at = ResourcesAt::Inline(page_id);
    }
    let font = add_resource(doc, &at, b"Font", "CnfdF", shared.font)?;
    let bold = add_resource(doc, &at, b"Font", "CnfdB", shared.bold)?;
    let gs = add_resource(doc, &at, b"ExtGState", "CnfdGS", shared.gs)?;
    let names = Names {
        font: &font,
        bold: &bold,
        gs: &gs,
    };
    let content = stamp_content(&geometry, &names, text);

    let mut contents = vec![Object::Reference(shared.open)];
    let page = doc
        .get_dictionary(page_id)
        .map_err(|e| malformed(e.to_string()))?;
    match page.get(b"Contents") {
        Ok(Object::Reference(id)) => match doc.get_object(*id) {
            Ok(Object::Array(items)) => contents.extend(items.iter().cloned()),
            Ok(Object::Stream(_)) => contents.push(Object::Reference(*id)),
            _ => return Err(malformed("a page's /Contents is not a stream")),
        },
        Ok(Object::Array(items)) => contents.extend(items.iter().cloned()),
        Ok(Object::Null) | Err(_) => {}
        Ok(_) => return Err(malformed("a page's /Contents is not a stream")),
    }
    // Content that saves the graphics state more often than it restores
    // it would make our Q restore its state instead of ours: close those.
    let mut depth = 0usize;
    for item in &contents[1..] {
        if let Object::Reference(id) = item
            && let Ok(Object::Stream(s)) = doc.get_object(*id)
        {
            let plain = s
                .get_plain_content_with_limit(MAX_STREAM)
                .map_err(|e| malformed(format!("cannot read a page's content: {e}")))?;
            depth = save_depth(&plain, depth);
        }
    }
    let content = if depth > 0 {
        let mut closed = b"\n".to_vec();
        closed.extend(std::iter::repeat_n(b"Q\n".as_slice(), depth).flatten());
        closed.extend_from_slice(&content);
        closed
    } else {
        content
    };
    let mut stream = Stream::new(Dictionary::new(), content);
    // A smaller file when it helps; the stamp reads the same either way.
    let _ = stream.compress();
    let stamp_id = doc.add_object(stream);
    contents.push(Object::Reference(stamp_id));
    doc.get_dictionary_mut(page_id)
        .map_err(|e| malformed(e.to_string()))?
        .set("Contents", Object::Array(contents));
    Ok(())
}

/// The graphics state nesting after `content`, starting at `depth`:
/// counts the `q` and `Q` operators, skipping strings, comments and inline
/// image data. A `Q` with nothing saved is ignored, as readers do.
fn save_depth(content: &[u8], mut depth: usize) -> usize {
    let delimiter = |b: u8| b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b);
    let mut i = 0;
    let n = content.len();
    while i < n {
        match content[i] {
            b'%' => {
                while i < n && content[i] != b'\n' && content[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => {
                let mut nest = 0usize;
                while i < n {
                    match content[i] {
                        b'\\' => i += 1,
                        b'(' => nest += 1,
                        b')' => {
                            nest -= 1;
                            if nest == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
            }
            b'<' => {
                while i < n && content[i] != b'>' {
                    i += 1;
                }
                i += 1;
            }
            b if delimiter(b) => i += 1,
            _ => {
                let start = i;
                while i < n && !delimiter(content[i]) {
                    i += 1;
                }
                match &content[start..i] {
                    b"q" => depth += 1,
                    b"Q" => depth = depth.saturating_sub(1),
                    b"ID" => {
                        // Inline image data runs to a whitespace-delimited EI.
                        while i + 2 < n
                            && !(content[i].is_ascii_whitespace()
                                && &content[i + 1..i + 3] == b"EI"
                                && (i + 3 == n || delimiter(content[i + 3])))
                        {
                            i += 1;
                        }
                        i += 3;
                    }
                    _ => {}
                }
            }
        }
    }
    depth
}

struct Names<'a> {
    font: &'a [u8],
    bold: &'a [u8],
    gs: &'a [u8],
}

fn fmt_num(v: f32) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// One line of text at (x, y) in display space.
fn text_line(out: &mut Vec<u8>, font: &[u8], size: f32, x: f32, y: f32, text: &[u8]) {
    out.extend_from_slice(b"BT /");
    out.extend_from_slice(font);
    out.extend_from_slice(
        format!(
            " {} Tf 1 0 0 1 {} {} Tm ",
            fmt_num(size),
            fmt_num(x),
            fmt_num(y)
        )
        .as_bytes(),
    );
    out.extend_from_slice(&winansi::literal(text));
    out.extend_from_slice(b" Tj ET\n");
}

/// The stamp's content stream for one page.
fn stamp_content(g: &Geometry, names: &Names<'_>, text: &StampText) -> Vec<u8> {
    let [x0, y0, x1, y1] = g.bbox;
    let (w, h) = (x1 - x0, y1 - y0);
    // Display space: (0, 0) at the bottom left of the page as shown.
    let (cm, dw, dh) = match g.rotate {
        90 => ([0.0, 1.0, -1.0, 0.0, x0 + w, y0], h, w),
        180 => ([-1.0, 0.0, 0.0, -1.0, x0 + w, y0 + h], w, h),
        270 => ([0.0, -1.0, 1.0, 0.0, x0, y0 + h], h, w),
        _ => ([1.0, 0.0, 0.0, 1.0, x0, y0], w, h),
    };
    let mut out = Vec::with_capacity(1024);
    // The leading newline keeps our Q apart from the original's last token.
    out.extend_from_slice(b"\nQ\nq\n");
    let cm: Vec<String> = cm.iter().map(|v| fmt_num(*v)).collect();
    out.extend_from_slice(format!("{} cm\n", cm.join(" ")).as_bytes());
    out.extend_from_slice(b"0 Tc 0 Tw 100 Tz 0 Tr 0 Ts\n");

    // Header and footer: the whole line, or two lines on narrow pages.
    let margin = (dh.min(dw) * 0.025).clamp(2.0, 14.0);
    let room = (dw - 2.0 * margin).max(1.0);
    let one = room / winansi::width(&text.line, false).max(0.01);
    let lines: Vec<&[u8]> = if one >= 5.0 {
        vec![&text.line]
    } else {
        vec![&text.first, &text.second]
    };
    let widest = lines
        .iter()
        .map(|l| winansi::width(l, false))
        .fold(0.01f32, f32::max);
    let size = (room / widest).clamp(1.0, 8.0);
    let leading = size * 1.2;
    out.extend_from_slice(b"0.6 0 0 rg\n");
    for (i, line) in lines.iter().enumerate() {
        let x = ((dw - winansi::width(line, false) * size) / 2.0).max(margin.min(dw / 10.0));
        let top = dh - margin - size - leading * i as f32;
        text_line(&mut out, names.font, size, x, top, line);
    }
    for (i, line) in lines.iter().enumerate() {
        let x = ((dw - winansi::width(line, false) * size) / 2.0).max(margin.min(dw / 10.0));
        let bottom = margin + leading * (lines.len() - 1 - i) as f32;
        text_line(&mut out, names.font, size, x, bottom, line);
    }

    // The watermark: the label across the page, light and transparent.
    let angle = dh.atan2(dw);
    let (sin, cos) = angle.sin_cos();
    let diagonal = (dw * dw + dh * dh).sqrt();
    let label_w = winansi::width(&text.label, true).max(0.01);
    let wsize = (diagonal * 0.6 / label_w).clamp(4.0, 160.0);
    let half = label_w * wsize / 2.0;
    let lift = wsize * 0.35;
    let tx = dw / 2.0 - cos * half + sin * lift;
    let ty = dh / 2.0 - sin * half - cos * lift;
    out.extend_from_slice(b"/");
    out.extend_from_slice(names.gs);
    out.extend_from_slice(b" gs 0.45 0.45 0.45 rg BT /");
    out.extend_from_slice(names.bold);
    out.extend_from_slice(
        format!(
            " {} Tf {} {} {} {} {} {} Tm ",
            fmt_num(wsize),
            fmt_num(cos),
            fmt_num(sin),
            fmt_num(-sin),
            fmt_num(cos),
            fmt_num(tx),
            fmt_num(ty)
        )
        .as_bytes(),
    );
    out.extend_from_slice(&winansi::literal(&text.label));
    out.extend_from_slice(b" Tj ET\nQ\n");
    out
}

/// A PDF text string: PDFDocEncoding-compatible ASCII as is, anything else
/// as UTF-16BE with a byte order mark.
fn text_string(text: &str) -> Object {
    if text.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return Object::String(text.as_bytes().to_vec(), StringFormat::Literal);
    }
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

fn set_info(doc: &mut Document, stamp: &Stamp, parts: &StampParts) -> Result<(), MarkError> {
    let delivery = Object::String(
        stamp.delivery.to_string().into_bytes(),
        StringFormat::Literal,
    );
    let line = text_string(&parts.line());
    let existing = match doc.trailer.get(b"Info") {
        Ok(Object::Reference(id)) if doc.get_dictionary(*id).is_ok() => Some(*id),
        _ => None,
    };
    let info_id = match existing {
        Some(id) => id,
        None => {
            let id = doc.add_object(Dictionary::new());
            doc.trailer.set("Info", Object::Reference(id));
            id
        }
    };
    let info = doc
        .get_dictionary_mut(info_id)
        .map_err(|e| malformed(e.to_string()))?;
    info.set(INFO_KEY, delivery);
    info.set(INFO_STAMP_KEY, line);
    Ok(())
}

fn xmp_description(stamp: &Stamp, parts: &StampParts) -> String {
    format!(
        "<rdf:Description rdf:about=\"\" xmlns:confidant=\"{XMP_NS}\">\
         <confidant:delivery>{}</confidant:delivery>\
         <confidant:stamp>{}</confidant:stamp></rdf:Description>",
        stamp.delivery,
        xml_escape(&parts.line())
    )
}

/// Adds our properties to the catalog's XMP packet, or makes one. A packet
/// that cannot be decoded is left alone (the Info dictionary still carries
/// the id).
fn set_xmp(doc: &mut Document, stamp: &Stamp, parts: &StampParts) {
    let description = xmp_description(stamp, parts);
    let existing = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Metadata").ok())
        .and_then(|o| o.as_reference().ok());
    if let Some(id) = existing {
        if let Ok(Object::Stream(stream)) = doc.get_object_mut(id)
            && let Ok(plain) = stream.get_plain_content_with_limit(MAX_STREAM)
            && let Ok(text) = String::from_utf8(plain)
            && let Some(at) = text.rfind("</rdf:RDF>")
        {
            let mut xml = text;
            xml.insert_str(at, &description);
            stream.set_plain_content(xml.into_bytes());
            return;
        }
        return;
    }
    let packet = format!(
        "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">{description}\
         </rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>"
    );
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"Metadata".to_vec()));
    dict.set("Subtype", Object::Name(b"XML".to_vec()));
    let id = doc.add_object(Stream::new(dict, packet.into_bytes()));
    if let Ok(catalog) = doc.catalog_mut() {
        catalog.set("Metadata", Object::Reference(id));
    }
}

/// Decodes a PDF string: UTF-16BE with a BOM, else bytes as Latin-1.
fn decode_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Collects every string in an object tree (not following references).
fn strings_in(object: &Object, out: &mut Vec<String>) {
    match object {
        Object::String(bytes, _) => out.push(decode_string(bytes)),
        Object::Array(items) => items.iter().for_each(|o| strings_in(o, out)),
        Object::Dictionary(d) => d.iter().for_each(|(_, o)| strings_in(o, out)),
        Object::Stream(s) => s.dict.iter().for_each(|(_, o)| strings_in(o, out)),
        _ => {}
    }
}

/// Looks through a PDF for delivery ids: the Info dictionary, the XMP
/// packet, the text of every page's content, and every other string and
/// stream. Falls back to the raw bytes when the file cannot be parsed.
pub(crate) fn trace(bytes: &[u8], scan: &mut Scan) {
    let doc = match load(bytes) {
        Ok(doc) => doc,
        Err(e) => {
            scan.note(format!(
                "the PDF could not be parsed ({e}); searched its raw bytes instead"
            ));
            scan.text(&String::from_utf8_lossy(bytes), "raw PDF bytes");
            return;
        }
    };
    if doc.was_encrypted() {
        scan.note(
            "the PDF was encrypted; it opened without a password and was searched".to_owned(),
        );
    }
    // Which page shows which content stream.
    let mut page_of: BTreeMap<ObjectId, u32> = BTreeMap::new();
    for (number, page_id) in doc.get_pages() {
        for id in doc.get_page_contents(page_id) {
            page_of.entry(id).or_insert(number);
        }
    }
    let info_id = doc.trailer.get(b"Info").and_then(Object::as_reference).ok();
    let xmp_id = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Metadata").ok())
        .and_then(|o| o.as_reference().ok());

    for (id, object) in &doc.objects {
        let mut strings = Vec::new();
        strings_in(object, &mut strings);
        let mut place = if Some(*id) == info_id {
            "the PDF document information".to_owned()
        } else {
            format!("PDF object {} {}", id.0, id.1)
        };
        if Some(*id) == info_id
            && let Ok(Object::Dictionary(info)) = doc.get_object(*id)
            && let Ok(Object::String(value, _)) = info.get(INFO_KEY)
        {
            scan.metadata(
                &decode_string(value),
                "PDF document information /ConfidantDelivery",
            );
        }
        for s in &strings {
            scan.text(s, &place);
        }
        if let Object::Stream(stream) = object {
            let Ok(plain) = stream.get_plain_content_with_limit(MAX_STREAM) else {
                continue;
            };
            if Some(*id) == xmp_id {
                place = "the PDF's XMP metadata".to_owned();
                let xml = String::from_utf8_lossy(&plain);
                for value in xml_values(&xml, "confidant:delivery") {
                    scan.metadata(&value, "PDF XMP confidant:delivery");
                }
            } else if let Some(page) = page_of.get(id) {
                place = format!("page {page}");
            }
            let text = match std::str::from_utf8(&plain) {
                Ok(t) => t.to_owned(),
                Err(_) => plain.iter().map(|&b| char::from(b)).collect(),
            };
            scan.text(&text, &place);
        }
    }
}

/// The text of every `<tag>value</tag>` in `xml`.
pub(crate) fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        if let Some(j) = rest.find(&close) {
            out.push(rest[..j].trim().to_owned());
            rest = &rest[j..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_depth_counts_operators_only() {
        let cases: &[(&[u8], usize)] = &[
            (b"q q Q", 1),
            (b"Q Q q", 1),
            (b"q (q q q) Tj <7171> Tj % q q\nQ", 0),
            (b"q (a \\) q) Tj", 1),
            (b"qq Q0 q", 1),
            (b"q BI /W 1 /H 1 ID q q q\nEI Q", 0),
            (b"q\nq\n", 2),
        ];
        for (content, want) in cases {
            assert_eq!(
                save_depth(content, 0),
                *want,
                "{}",
                String::from_utf8_lossy(content)
            );
        }
    }
}
