//! Known-answer vectors for the stream format, written by an independent
//! implementation of docs/encryption.md, and what arbitrary input does to
//! the decryptor.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lc_rs::digest;
use confidant_crypto::{CryptoError, DataKey, Decryptor, Encryptor};
use proptest::prelude::*;
use rand_core::{CryptoRng, RngCore};

/// An "RNG" that hands out fixed bytes: how a test makes a known key.
struct Fixed(Vec<u8>);

impl RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let n = dest.len();
        dest.copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Fixed {}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn encrypt(key: &DataKey, context: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut enc = Encryptor::new(key, context).unwrap();
    let mut out = Vec::new();
    // Uneven pieces, so buffering is exercised too.
    for piece in plain.chunks(9_999) {
        enc.update(piece, &mut out).unwrap();
    }
    enc.finish(&mut out).unwrap();
    out
}

fn decrypt(key: &DataKey, context: &[u8], blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut dec = Decryptor::new(key, context);
    let mut out = Vec::new();
    dec.update(blob, &mut out)?;
    out.extend_from_slice(&dec.finish()?);
    Ok(out)
}

#[test]
fn stream_known_answer_vectors() {
    let text = include_str!("data/stream-v1.txt");
    let field =
        |line: &str, name: &str| line.strip_prefix(&format!("{name} = ")).map(str::to_owned);
    let mut key = None;
    let mut context = Vec::new();
    let mut plaintext: Option<Vec<u8>> = None;
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(v) = field(line, "key") {
            key = Some(DataKey::generate(&mut Fixed(unhex(&v))));
        } else if let Some(v) = field(line, "context") {
            context = unhex(&v);
        } else if let Some(v) = field(line, "plaintext") {
            plaintext = Some(unhex(&v));
        } else if let Some(v) = field(line, "pattern_len") {
            let n: usize = v.parse().unwrap();
            plaintext = Some((0..n).map(|i| (i % 251) as u8).collect());
        } else if let Some(v) = field(line, "blob") {
            let (key, plain) = (key.as_ref().unwrap(), plaintext.take().unwrap());
            let blob = encrypt(key, &context, &plain);
            assert_eq!(hex(&blob), v);
            assert_eq!(decrypt(key, &context, &unhex(&v)).unwrap(), plain);
            checked += 1;
        } else if let Some(v) = field(line, "blob_sha256") {
            let (key, plain) = (key.as_ref().unwrap(), plaintext.take().unwrap());
            let blob = encrypt(key, &context, &plain);
            assert_eq!(
                hex(digest::digest(&digest::SHA256, &blob).as_ref()),
                v,
                "{} bytes",
                plain.len()
            );
            assert_eq!(decrypt(key, &context, &blob).unwrap(), plain);
            checked += 1;
        }
    }
    assert_eq!(checked, 5, "every vector in the file was checked");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes never panic the decryptor and never decrypt.
    #[test]
    fn garbage_never_decrypts(blob in proptest::collection::vec(any::<u8>(), 0..200_000)) {
        let key = DataKey::generate(&mut Fixed(vec![7; 32]));
        prop_assert!(decrypt(&key, b"ctx", &blob).is_err());
    }

    /// A valid blob with any one byte changed never decrypts.
    #[test]
    fn any_flipped_byte_is_caught(len in 0usize..150_000, at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let key = DataKey::generate(&mut Fixed(vec![9; 32]));
        let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut blob = encrypt(&key, b"ctx", &plain);
        let i = at.index(blob.len());
        blob[i] ^= 1 << bit;
        prop_assert!(decrypt(&key, b"ctx", &blob).is_err());
    }
}
