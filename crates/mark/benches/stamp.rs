//! Stamping throughput against serving the same bytes unstamped:
//! `cargo bench -p confidant-mark --bench stamp`.
//!
//! - `pdf_200_pages`: a 200-page text PDF (40 lines a page, written with
//!   lopdf), pages per second;
//! - `text_4mb`, `csv_4mb`: UTF-8 text and CSV, bytes per second;
//! - `png_1600x1200`: one picture;
//! - each group's `unstamped` case copies the same bytes (what serving the
//!   file as it is costs in memory), the baseline the stamp is a ratio to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use confidant_mark::{DeliveryId, Format, Stamp, stamp};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lopdf::{Dictionary, Document, Object, Stream};
use time::macros::datetime;

fn sample_stamp() -> Stamp {
    Stamp {
        label: "CONFIDENTIAL".to_owned(),
        recipient_name: "Alex Doe".to_owned(),
        recipient_email: "alex@example.com".to_owned(),
        delivery: DeliveryId::from_bytes([7; 16]),
        issued_at: datetime!(2026-11-29 14:03 UTC),
    }
}

fn pdf(pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Subtype", Object::Name(b"Type1".to_vec()));
    font.set("BaseFont", Object::Name(b"Helvetica".to_vec()));
    let font_id = doc.add_object(font);
    let mut fonts = Dictionary::new();
    fonts.set("F1", Object::Reference(font_id));
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    let resources_id = doc.add_object(resources);
    let mut kids = Vec::new();
    for n in 0..pages {
        let mut text = String::from("BT /F1 10 Tf 12 TL 56 780 Td\n");
        for line in 0..40 {
            text.push_str(&format!(
                "(Page {n} line {line}: customer notes that stay confidential, renewal due.) '\n"
            ));
        }
        text.push_str("ET\n");
        let mut stream = Stream::new(Dictionary::new(), text.into_bytes());
        stream.compress().unwrap();
        let content = doc.add_object(stream);
        let mut page = Dictionary::new();
        page.set("Type", Object::Name(b"Page".to_vec()));
        page.set("Parent", Object::Reference(pages_id));
        page.set("Contents", Object::Reference(content));
        kids.push(Object::Reference(doc.add_object(page)));
    }
    let mut tree = Dictionary::new();
    tree.set("Type", Object::Name(b"Pages".to_vec()));
    tree.set("Count", Object::Integer(i64::try_from(pages).unwrap()));
    tree.set("Kids", Object::Array(kids));
    tree.set("Resources", Object::Reference(resources_id));
    tree.set(
        "MediaBox",
        Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
    );
    doc.objects.insert(pages_id, Object::Dictionary(tree));
    let mut catalog = Dictionary::new();
    catalog.set("Type", Object::Name(b"Catalog".to_vec()));
    catalog.set("Pages", Object::Reference(pages_id));
    let catalog_id = doc.add_object(catalog);
    doc.trailer.set("Root", Object::Reference(catalog_id));
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn text(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 200);
    let mut i = 0;
    while out.len() < bytes {
        out.push_str(&format!(
            "Line {i}: Alex Doe called about the renewal; Алексей просил перезвонить; 王小明要求回电.\n"
        ));
        i += 1;
    }
    out
}

fn csv(bytes: usize) -> String {
    let mut out = String::from("name,email,city,amount\n");
    let mut i = 0;
    while out.len() < bytes {
        out.push_str(&format!(
            "\"Doe, Alex {i}\",alex{i}@example.com,New York City,{i}.50\n"
        ));
        i += 1;
    }
    out
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn benches(c: &mut Criterion) {
    let s = sample_stamp();

    let input = pdf(200);
    let mut group = c.benchmark_group("pdf_200_pages");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(200));
    group.bench_function("stamped", |b| {
        b.iter(|| stamp(Format::Pdf, black_box(&input), &s).unwrap())
    });
    group.bench_function("unstamped", |b| b.iter(|| black_box(&input).to_vec()));
    group.finish();

    for (name, format, input) in [
        ("text_4mb", Format::Text, text(4 << 20)),
        ("csv_4mb", Format::Csv, csv(4 << 20)),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("stamped", |b| {
            b.iter(|| stamp(format, black_box(input.as_bytes()), &s).unwrap())
        });
        group.bench_function("unstamped", |b| {
            b.iter(|| black_box(input.as_bytes()).to_vec())
        });
        group.finish();
    }

    let input = png(1600, 1200);
    let mut group = c.benchmark_group("png_1600x1200");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("stamped", |b| {
        b.iter(|| stamp(Format::Png, black_box(&input), &s).unwrap())
    });
    group.bench_function("unstamped", |b| b.iter(|| black_box(&input).to_vec()));
    group.finish();
}

criterion_group!(stamp_benches, benches);
criterion_main!(stamp_benches);
