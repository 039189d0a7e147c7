//! Shared helpers: stamps, fixtures, PDFs made with lopdf, and the real
//! tools (`qpdf`, `pdftotext`) the stamped copies are checked with.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use confidant_mark::{DeliveryId, Stamp};
use lopdf::{Dictionary, Document, Object, Stream, StringFormat};
use time::macros::datetime;

pub fn delivery(n: u8) -> DeliveryId {
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = n
            .wrapping_mul(31)
            .wrapping_add(u8::try_from(i).unwrap() * 7);
    }
    DeliveryId::from_bytes(bytes)
}

pub fn stamp_for(n: u8) -> Stamp {
    Stamp {
        label: "CONFIDENTIAL".to_owned(),
        recipient_name: "Alex Doe".to_owned(),
        recipient_email: "alex@example.com".to_owned(),
        delivery: delivery(n),
        issued_at: datetime!(2026-11-29 14:03 UTC),
    }
}

pub fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name)
}

pub fn data(name: &str) -> Vec<u8> {
    std::fs::read(data_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn temp_file(bytes: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    file
}

fn tool(name: &str, package: &str) -> Command {
    let found = Command::new("which")
        .arg(name)
        .output()
        .map(|o| o.status.success());
    assert!(
        matches!(found, Ok(true)),
        "`{name}` is needed by this test: apt-get install {package} (cargo xtask test installs it)"
    );
    Command::new(name)
}

/// `qpdf --check`: panics with qpdf's output unless it exits 0.
pub fn qpdf_check(pdf: &[u8]) {
    let file = temp_file(pdf, ".pdf");
    let out = tool("qpdf", "qpdf")
        .arg("--check")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "qpdf --check failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text of each page, by `pdftotext`.
pub fn pdftotext_pages(pdf: &[u8]) -> Vec<String> {
    let file = temp_file(pdf, ".pdf");
    let pages = Document::load_mem(pdf).unwrap().get_pages().len();
    (1..=pages)
        .map(|page| {
            let out = tool("pdftotext", "poppler-utils")
                .args(["-f", &page.to_string(), "-l", &page.to_string()])
                .arg(file.path())
                .arg("-")
                .output()
                .unwrap();
            assert!(out.status.success(), "pdftotext failed on page {page}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect()
}

fn font(base: &str) -> Dictionary {
    let mut d = Dictionary::new();
    d.set("Type", Object::Name(b"Font".to_vec()));
    d.set("Subtype", Object::Name(b"Type1".to_vec()));
    d.set("BaseFont", Object::Name(base.as_bytes().to_vec()));
    d
}

fn rect(r: [f32; 4]) -> Object {
    Object::Array(r.iter().map(|v| Object::Real(*v)).collect())
}

fn content(text: &str) -> Stream {
    Stream::new(Dictionary::new(), text.as_bytes().to_vec())
}

fn save(mut doc: Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A PDF written by lopdf: `pages` pages of text, the font resources on the
/// page tree (inherited), and a font already named `CnfdF1`, the name the
/// stamp would pick first.
pub fn lopdf_pages(pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let helv = doc.add_object(font("Helvetica"));
    let courier = doc.add_object(font("Courier"));
    let mut fonts = Dictionary::new();
    fonts.set("F1", Object::Reference(helv));
    fonts.set("CnfdF1", Object::Reference(courier));
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    let resources_id = doc.add_object(resources);
    let mut kids = Vec::new();
    for n in 1..=pages {
        let text = format!(
            "BT /F1 14 Tf 72 700 Td (Rust writer page {n}) Tj ET\nBT /CnfdF1 10 Tf 72 680 Td (Courier under the name CnfdF1) Tj ET\n"
        );
        let content_id = doc.add_object(content(&text));
        let mut page = Dictionary::new();
        page.set("Type", Object::Name(b"Page".to_vec()));
        page.set("Parent", Object::Reference(pages_id));
        page.set("Contents", Object::Reference(content_id));
        kids.push(Object::Reference(doc.add_object(page)));
    }
    let mut tree = Dictionary::new();
    tree.set("Type", Object::Name(b"Pages".to_vec()));
    tree.set("Count", Object::Integer(i64::try_from(pages).unwrap()));
    tree.set("Kids", Object::Array(kids));
    tree.set("Resources", Object::Reference(resources_id));
    tree.set("MediaBox", rect([0.0, 0.0, 595.0, 842.0]));
    doc.objects.insert(pages_id, Object::Dictionary(tree));
    let mut catalog = Dictionary::new();
    catalog.set("Type", Object::Name(b"Catalog".to_vec()));
    catalog.set("Pages", Object::Reference(pages_id));
    let catalog_id = doc.add_object(catalog);
    doc.trailer.set("Root", Object::Reference(catalog_id));
    let mut info = Dictionary::new();
    info.set(
        "Producer",
        Object::String(b"lopdf test writer".to_vec(), StringFormat::Literal),
    );
    let info_id = doc.add_object(info);
    doc.trailer.set("Info", Object::Reference(info_id));
    save(doc)
}

/// A page tree that leans on inheritance: MediaBox, Rotate and Resources on
/// the root, a CropBox on a middle node; pages with a content array, with
/// their own rotation and resources, with no content at all, and with
/// content that leaves the graphics state scaled and unbalanced.
pub fn inherited_rotated() -> Vec<u8> {
    let mut doc = Document::with_version("1.4");
    let root_id = doc.new_object_id();
    let middle_id = doc.new_object_id();
    let helv = doc.add_object(font("Helvetica"));
    let times = doc.add_object(font("Times-Roman"));
    let mut fonts = Dictionary::new();
    fonts.set("F1", Object::Reference(helv));
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    let resources_id = doc.add_object(resources);

    let page = |parent, contents: Option<Object>, extra: &[(&str, Object)]| {
        let mut d = Dictionary::new();
        d.set("Type", Object::Name(b"Page".to_vec()));
        d.set("Parent", Object::Reference(parent));
        if let Some(c) = contents {
            d.set("Contents", c);
        }
        for (k, v) in extra {
            d.set(*k, v.clone());
        }
        d
    };
    let a1 = doc.add_object(content(
        "BT /F1 12 Tf 100 500 Td (Inherited part one) Tj ET",
    ));
    let a2 = doc.add_object(content(
        "BT /F1 12 Tf 100 480 Td (Inherited part two) Tj ET",
    ));
    let page_a = page(
        middle_id,
        Some(Object::Array(vec![
            Object::Reference(a1),
            Object::Reference(a2),
        ])),
        &[],
    );
    let b = doc.add_object(content(
        "BT /T1 12 Tf 100 500 Td (Own resources rotated 270) Tj ET",
    ));
    let mut own_fonts = Dictionary::new();
    own_fonts.set("T1", Object::Reference(times));
    let own_fonts_id = doc.add_object(own_fonts);
    let mut own_resources = Dictionary::new();
    own_resources.set("Font", Object::Reference(own_fonts_id));
    let page_b = page(
        middle_id,
        Some(Object::Reference(b)),
        &[
            ("Rotate", Object::Integer(270)),
            ("Resources", Object::Dictionary(own_resources)),
        ],
    );
    let page_c = page(root_id, None, &[("Rotate", Object::Integer(-180))]);
    let d = doc.add_object(content(
        "q 1 0 0 1 0 0 cm Q 3 0 0 3 0 0 cm BT /F1 8 Tf 30 100 Td (Scaled and never restored) Tj ET q",
    ));
    let page_d = page(
        root_id,
        Some(Object::Reference(d)),
        &[("Rotate", Object::Integer(0))],
    );
    let ids: Vec<_> = [page_a, page_b]
        .into_iter()
        .map(|p| doc.add_object(p))
        .collect();
    let c_id = doc.add_object(page_c);
    let d_id = doc.add_object(page_d);

    let mut middle = Dictionary::new();
    middle.set("Type", Object::Name(b"Pages".to_vec()));
    middle.set("Parent", Object::Reference(root_id));
    middle.set("Count", Object::Integer(2));
    middle.set(
        "Kids",
        Object::Array(ids.iter().map(|id| Object::Reference(*id)).collect()),
    );
    middle.set("CropBox", rect([50.0, 50.0, 450.0, 650.0]));
    doc.objects.insert(middle_id, Object::Dictionary(middle));
    let mut root = Dictionary::new();
    root.set("Type", Object::Name(b"Pages".to_vec()));
    root.set("Count", Object::Integer(4));
    root.set(
        "Kids",
        Object::Array(vec![
            Object::Reference(middle_id),
            Object::Reference(c_id),
            Object::Reference(d_id),
        ]),
    );
    root.set("MediaBox", rect([0.0, 0.0, 500.0, 700.0]));
    root.set("Rotate", Object::Integer(90));
    root.set("Resources", Object::Reference(resources_id));
    doc.objects.insert(root_id, Object::Dictionary(root));
    let mut catalog = Dictionary::new();
    catalog.set("Type", Object::Name(b"Catalog".to_vec()));
    catalog.set("Pages", Object::Reference(root_id));
    let catalog_id = doc.add_object(catalog);
    doc.trailer.set("Root", Object::Reference(catalog_id));
    save(doc)
}

/// `qpdf ARGS in out` on `pdf`, the output's bytes.
pub fn qpdf_transform(pdf: &[u8], args: &[&str]) -> Vec<u8> {
    let input = temp_file(pdf, ".pdf");
    let output = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    let out = tool("qpdf", "qpdf")
        .args(args)
        .arg(input.path())
        .arg(output.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "qpdf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(output.path()).unwrap()
}
