//! Chunked streaming encryption of document bodies (a STREAM construction,
//! as in age and Tink).
//!
//! ```text
//! blob   = header || chunk_0 || ... || chunk_n
//! header = "CFDS" || version (1) || log2(chunk size) (1) || 0x0000
//! chunk  = AES-256-GCM(data key, nonce_i, aad_i, plaintext_i) (|plaintext_i| + 16 bytes)
//! nonce_i = i as u64 big-endian || final flag (0 or 1) || 0x000000
//! aad_i   = "confidant.stream.v1" || header || len(context) || context || i || final flag
//! ```
//!
//! Every chunk but the last holds exactly [`CHUNK_SIZE`] plaintext bytes; the
//! last holds 1..=CHUNK_SIZE bytes (0 only for an empty stream) and carries
//! the final flag. So a blob cut
//! at a chunk boundary fails (its new last chunk lacks the flag), reordered
//! chunks fail (the index is in the nonce and AAD), and a chunk moved from
//! another object fails (the context, which names the workspace, item and
//! version, is in the AAD, and every object version has its own data key).
//! Nonces never repeat because a data key encrypts exactly one stream.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce};

use crate::aead::cipher;
use crate::{CryptoError, DataKey};

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
pub const TAG_LEN: usize = crate::aead::TAG_LEN;
pub const HEADER_LEN: usize = 8;
const SEALED_CHUNK: usize = CHUNK_SIZE + TAG_LEN;
const MAGIC: &[u8; 4] = b"CFDS";
const VERSION: u8 = 1;
const HEADER: [u8; HEADER_LEN] = [b'C', b'F', b'D', b'S', VERSION, 16, 0, 0];
const DOMAIN: &[u8] = b"confidant.stream.v1";

/// The size of the blob that encrypting `plaintext_len` bytes produces.
pub fn encrypted_len(plaintext_len: u64) -> u64 {
    // Every chunk adds a tag; an empty stream still has one (empty) chunk.
    let chunks = plaintext_len.div_ceil(CHUNK_SIZE as u64).max(1);
    HEADER_LEN as u64 + plaintext_len + chunks * TAG_LEN as u64
}

#[derive(Debug)]
struct ChunkCipher {
    key: LessSafeKey,
    /// `DOMAIN || header || len(context) || context`; index and flag follow.
    aad: Vec<u8>,
    aad_prefix_len: usize,
    next_index: u64,
    finished: bool,
}

impl ChunkCipher {
    fn new(key: &DataKey, context: &[u8]) -> Result<Self, CryptoError> {
        let mut aad = Vec::with_capacity(DOMAIN.len() + HEADER_LEN + 8 + context.len() + 9);
        aad.extend_from_slice(DOMAIN);
        aad.extend_from_slice(&HEADER);
        aad.extend_from_slice(&(context.len() as u64).to_be_bytes());
        aad.extend_from_slice(context);
        let aad_prefix_len = aad.len();
        Ok(ChunkCipher {
            key: cipher(key.bytes())?,
            aad,
            aad_prefix_len,
            next_index: 0,
            finished: false,
        })
    }

    /// The nonce and AAD of the next chunk.
    fn next(&mut self, last: bool) -> Result<Nonce, CryptoError> {
        if self.finished {
            return Err(CryptoError::Integrity("data after the final chunk"));
        }
        let index = self.next_index;
        self.next_index = index
            .checked_add(1)
            .ok_or(CryptoError::Malformed("stream length"))?;
        self.finished = last;
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&index.to_be_bytes());
        nonce[8] = u8::from(last);
        self.aad.truncate(self.aad_prefix_len);
        self.aad.extend_from_slice(&index.to_be_bytes());
        self.aad.push(u8::from(last));
        Ok(Nonce::assume_unique_for_key(nonce))
    }
}

/// Seals chunks one at a time, for callers that read input in exact
/// [`CHUNK_SIZE`] pieces (no copying).
#[derive(Debug)]
pub struct ChunkSealer(ChunkCipher);

impl ChunkSealer {
    pub fn new(key: &DataKey, context: &[u8]) -> Result<Self, CryptoError> {
        ChunkCipher::new(key, context).map(ChunkSealer)
    }

    /// The blob header, written before the first chunk.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        HEADER
    }

    /// Encrypts `chunk` in place and appends its tag. A chunk that is not
    /// `last` must hold exactly [`CHUNK_SIZE`] bytes.
    pub fn seal(&mut self, chunk: &mut Vec<u8>, last: bool) -> Result<(), CryptoError> {
        if chunk.len() > CHUNK_SIZE || (!last && chunk.len() != CHUNK_SIZE) {
            return Err(CryptoError::Malformed("chunk size"));
        }
        let nonce = self.0.next(last)?;
        let tag = self
            .0
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(&self.0.aad), chunk)
            .map_err(|_| CryptoError::Cipher)?;
        chunk.extend_from_slice(tag.as_ref());
        Ok(())
    }

    pub fn is_finished(&self) -> bool {
        self.0.finished
    }
}

/// Opens chunks one at a time; the counterpart of [`ChunkSealer`].
#[derive(Debug)]
pub struct ChunkOpener(ChunkCipher);

impl ChunkOpener {
    /// Checks the blob header and prepares to open its chunks.
    pub fn new(key: &DataKey, context: &[u8], header: &[u8]) -> Result<Self, CryptoError> {
        if header.len() != HEADER_LEN || &header[..4] != MAGIC {
            return Err(CryptoError::Malformed("encrypted blob header"));
        }
        if header != HEADER {
            return Err(CryptoError::Malformed("encrypted blob version"));
        }
        ChunkCipher::new(key, context).map(ChunkOpener)
    }

    /// Decrypts a sealed chunk in place (removing its tag). Only plaintext
    /// that passed authentication is ever left in `chunk`; on failure it is
    /// cleared.
    pub fn open(&mut self, chunk: &mut Vec<u8>, last: bool) -> Result<(), CryptoError> {
        if chunk.len() < TAG_LEN
            || chunk.len() > SEALED_CHUNK
            || (!last && chunk.len() != SEALED_CHUNK)
        {
            chunk.clear();
            return Err(CryptoError::Integrity("chunk has the wrong length"));
        }
        let nonce = self.0.next(last)?;
        match self
            .0
            .key
            .open_in_place(nonce, Aad::from(&self.0.aad), chunk)
        {
            Ok(plain) => {
                let len = plain.len();
                chunk.truncate(len);
                Ok(())
            }
            Err(_) => {
                chunk.clear();
                Err(CryptoError::Integrity(
                    "a chunk was changed, reordered, truncated or moved from another object",
                ))
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        self.0.finished
    }
}

/// Encrypts a stream of arbitrarily sized pieces of plaintext.
#[derive(Debug)]
pub struct Encryptor {
    sealer: ChunkSealer,
    pending: Vec<u8>,
    header_written: bool,
}

impl Encryptor {
    pub fn new(key: &DataKey, context: &[u8]) -> Result<Self, CryptoError> {
        Ok(Encryptor {
            sealer: ChunkSealer::new(key, context)?,
            pending: Vec::with_capacity(SEALED_CHUNK),
            header_written: false,
        })
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if !self.header_written {
            out.extend_from_slice(&HEADER);
            self.header_written = true;
        }
    }

    /// Consumes `input` and appends every chunk that is complete to `out`.
    /// A full chunk is held back until more input shows it is not the last.
    pub fn update(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        self.write_header(out);
        loop {
            if self.pending.len() == CHUNK_SIZE && !input.is_empty() {
                self.sealer.seal(&mut self.pending, false)?;
                out.extend_from_slice(&self.pending);
                self.pending.clear();
            }
            if input.is_empty() {
                return Ok(());
            }
            let n = (CHUNK_SIZE - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..n]);
            input = &input[n..];
        }
    }

    /// Seals the final chunk (possibly empty) and appends it to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        self.write_header(out);
        self.sealer.seal(&mut self.pending, true)?;
        out.extend_from_slice(&self.pending);
        Ok(())
    }
}

/// Decrypts a stream of arbitrarily sized pieces of a blob.
#[derive(Debug)]
pub struct Decryptor {
    key: DataKey,
    context: Vec<u8>,
    opener: Option<ChunkOpener>,
    pending: Vec<u8>,
}

impl Decryptor {
    pub fn new(key: &DataKey, context: &[u8]) -> Self {
        Decryptor {
            key: key.clone(),
            context: context.to_vec(),
            opener: None,
            pending: Vec::with_capacity(SEALED_CHUNK),
        }
    }

    /// Consumes a prefix of `input` and returns how many bytes it took and,
    /// when a chunk was completed, that chunk's authenticated plaintext.
    /// Stops after one chunk, so a caller that yields each chunk keeps
    /// memory flat however large `input` is. A full sealed chunk is held
    /// back until more input shows it is not the last.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Vec<u8>>), CryptoError> {
        let mut taken = 0;
        let opener = match &mut self.opener {
            Some(opener) => opener,
            None => {
                let n = (HEADER_LEN - self.pending.len()).min(input.len());
                self.pending.extend_from_slice(&input[..n]);
                taken += n;
                if self.pending.len() < HEADER_LEN {
                    return Ok((taken, None));
                }
                let opener = ChunkOpener::new(&self.key, &self.context, &self.pending)?;
                self.pending.clear();
                self.opener.insert(opener)
            }
        };
        let input = &input[taken..];
        if self.pending.len() == SEALED_CHUNK && !input.is_empty() {
            let mut chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(SEALED_CHUNK));
            opener.open(&mut chunk, false)?;
            return Ok((taken, Some(chunk)));
        }
        let n = (SEALED_CHUNK - self.pending.len()).min(input.len());
        self.pending.extend_from_slice(&input[..n]);
        Ok((taken + n, None))
    }

    /// Consumes all of `input`, appending authenticated plaintext to `out`.
    pub fn update(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        while !input.is_empty() {
            let (taken, chunk) = self.feed(input)?;
            input = &input[taken..];
            if let Some(chunk) = chunk {
                out.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }

    /// Opens the final chunk and returns its plaintext; fails when the blob
    /// was truncated.
    pub fn finish(mut self) -> Result<Vec<u8>, CryptoError> {
        let Some(opener) = &mut self.opener else {
            return Err(CryptoError::Integrity(
                "the blob is truncated before its header ends",
            ));
        };
        opener.open(&mut self.pending, true)?;
        Ok(self.pending)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::aead::tests::TestRng;

    fn encrypt(key: &DataKey, ctx: &[u8], plain: &[u8], piece: usize) -> Vec<u8> {
        let mut enc = Encryptor::new(key, ctx).expect("encryptor");
        let mut out = Vec::new();
        for p in plain.chunks(piece.max(1)) {
            enc.update(p, &mut out).expect("update");
        }
        enc.finish(&mut out).expect("finish");
        out
    }

    fn decrypt(
        key: &DataKey,
        ctx: &[u8],
        blob: &[u8],
        piece: usize,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut dec = Decryptor::new(key, ctx);
        let mut out = Vec::new();
        for p in blob.chunks(piece.max(1)) {
            dec.update(p, &mut out)?;
        }
        out.extend_from_slice(&dec.finish()?);
        Ok(out)
    }

    fn key(seed: u64) -> DataKey {
        DataKey::generate(&mut TestRng::new(seed))
    }

    #[test]
    fn sizes_at_chunk_boundaries_round_trip() {
        let k = key(7);
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let blob = encrypt(&k, b"ctx", &plain, 10_000);
            assert_eq!(blob.len() as u64, encrypted_len(len as u64), "len {len}");
            assert_eq!(
                decrypt(&k, b"ctx", &blob, 7_777).as_deref(),
                Ok(&plain[..]),
                "len {len}"
            );
        }
    }

    #[test]
    fn tampering_is_detected() {
        let k = key(8);
        let plain = vec![42u8; 3 * CHUNK_SIZE + 10];
        let blob = encrypt(&k, b"ws/item/1", &plain, CHUNK_SIZE);
        let c = SEALED_CHUNK;
        let h = HEADER_LEN;

        let mut flipped = blob.clone();
        flipped[h + c + 100] ^= 0x01;
        assert!(matches!(
            decrypt(&k, b"ws/item/1", &flipped, 4096),
            Err(CryptoError::Integrity(_))
        ));

        // Truncated at a chunk boundary: the new last chunk lacks the final flag.
        let truncated = &blob[..h + 2 * c];
        assert!(matches!(
            decrypt(&k, b"ws/item/1", truncated, 4096),
            Err(CryptoError::Integrity(_))
        ));

        // The final chunk dropped entirely.
        let cut = &blob[..h + 3 * c];
        assert!(decrypt(&k, b"ws/item/1", cut, 4096).is_err());

        // Two chunks swapped.
        let mut swapped = blob[..h].to_vec();
        swapped.extend_from_slice(&blob[h + c..h + 2 * c]);
        swapped.extend_from_slice(&blob[h..h + c]);
        swapped.extend_from_slice(&blob[h + 2 * c..]);
        assert!(decrypt(&k, b"ws/item/1", &swapped, 4096).is_err());

        // The same key and bytes under another object's context.
        assert!(decrypt(&k, b"ws/item/2", &blob, 4096).is_err());

        // A chunk taken from another item (same position, other key).
        let other = encrypt(&key(9), b"ws/item/2", &plain, CHUNK_SIZE);
        let mut spliced = blob.clone();
        spliced[h + c..h + 2 * c].copy_from_slice(&other[h + c..h + 2 * c]);
        assert!(decrypt(&k, b"ws/item/1", &spliced, 4096).is_err());

        // Bytes appended after the final chunk.
        let mut longer = blob.clone();
        longer.extend_from_slice(&[0u8; 20]);
        assert!(decrypt(&k, b"ws/item/1", &longer, 4096).is_err());

        // A wrong header.
        let mut bad_header = blob;
        bad_header[0] = b'X';
        assert!(matches!(
            decrypt(&k, b"ws/item/1", &bad_header, 4096),
            Err(CryptoError::Malformed(_))
        ));
        assert!(decrypt(&k, b"ws/item/1", &[], 1).is_err());
    }

    #[test]
    fn chunk_sealer_and_decryptor_agree() {
        let k = key(10);
        let plain = vec![7u8; CHUNK_SIZE * 2 + 5];
        let mut sealer = ChunkSealer::new(&k, b"c").expect("sealer");
        let mut blob = sealer.header().to_vec();
        let mut pieces = plain.chunks(CHUNK_SIZE).peekable();
        while let Some(p) = pieces.next() {
            let mut buf = p.to_vec();
            sealer
                .seal(&mut buf, pieces.peek().is_none())
                .expect("seal");
            blob.extend_from_slice(&buf);
        }
        assert!(sealer.is_finished());
        assert_eq!(decrypt(&k, b"c", &blob, 1000).as_deref(), Ok(&plain[..]));
        let mut short = vec![0u8; 10];
        assert!(
            sealer.seal(&mut short, true).is_err(),
            "no chunk after the last"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn any_input_in_any_pieces_round_trips(
            plain in proptest::collection::vec(any::<u8>(), 0..(3 * CHUNK_SIZE)),
            wpiece in 1usize..100_000,
            rpiece in 1usize..100_000,
        ) {
            let k = key(11);
            let blob = encrypt(&k, b"p", &plain, wpiece);
            prop_assert_eq!(decrypt(&k, b"p", &blob, rpiece), Ok(plain));
        }
    }
}
