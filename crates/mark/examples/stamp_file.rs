//! Stamps a file for a made-up recipient, or traces one, to look at the
//! result by hand:
//! `cargo run -p confidant-mark --example stamp_file -- IN OUT` or
//! `cargo run -p confidant-mark --example stamp_file -- --trace FILE`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use confidant_mark::{DeliveryId, Format, Stamp, stamp, trace};
use time::OffsetDateTime;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--trace") {
        let bytes = std::fs::read(&args[1]).expect("read the file");
        print!("{}", trace(&bytes));
        return;
    }
    let [input, output] = args.as_slice() else {
        eprintln!("usage: stamp_file IN OUT | --trace FILE");
        std::process::exit(2);
    };
    let bytes = std::fs::read(input).expect("read the input");
    let format = Format::detect(Some(input), &bytes).expect("a supported format");
    let s = Stamp {
        label: "CONFIDENTIAL".to_owned(),
        recipient_name: std::env::var("NAME").unwrap_or_else(|_| "Alex Doe".to_owned()),
        recipient_email: "alex@example.com".to_owned(),
        delivery: DeliveryId::from_bytes(*b"example delivery"),
        issued_at: OffsetDateTime::UNIX_EPOCH,
    };
    let out = stamp(format, &bytes, &s).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    std::fs::write(output, out).expect("write the output");
}
